// Package webhooks tells a provider's own system what happens to its
// requests. A provider admin registers endpoints (URL, events, a secret shown
// once); every change that concerns one of the provider's locations writes a
// delivery per subscribed endpoint in the transaction of the change (the
// desk's webhook_deliveries, like desk mail), and the Relay posts it, signed
// the Standard Webhooks way, at least once and in order per request.
package webhooks

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/loket-kinderopvang/loket/internal/platform/clock"
	"github.com/loket-kinderopvang/loket/internal/platform/db"
	"github.com/loket-kinderopvang/loket/internal/platform/ids"
	"github.com/loket-kinderopvang/loket/internal/platform/page"
	"github.com/loket-kinderopvang/loket/internal/platform/sealed"
	"github.com/loket-kinderopvang/loket/internal/platform/tenancy"
	"github.com/loket-kinderopvang/loket/internal/requests"
)

// The events an endpoint may subscribe to.
const (
	RequestCreated   = "request.created"
	RequestWithdrawn = "request.withdrawn"
	OfferAccepted    = "offer.accepted"
	OfferDeclined    = "offer.declined"
	OfferLapsed      = "offer.lapsed"
	ClosureConcerned = "closure.concerned"
	PlacesStale      = "places.stale"
)

// Events lists the events, in the order forms offer them.
var Events = []string{RequestCreated, OfferAccepted, OfferDeclined, OfferLapsed, RequestWithdrawn, ClosureConcerned, PlacesStale}

// SecretPrefix starts every endpoint secret (as Standard Webhooks does).
const SecretPrefix = "whsec_"

type endpointKind struct{}
type deliveryKind struct{}

// EndpointID identifies an endpoint.
type EndpointID = ids.ID[endpointKind]

// DeliveryID identifies a delivery; it is also its webhook-id.
type DeliveryID = ids.ID[deliveryKind]

// NewEndpointID returns a fresh endpoint id.
func NewEndpointID() EndpointID { return ids.New[endpointKind]() }

// NewDeliveryID returns a fresh delivery id.
func NewDeliveryID() DeliveryID { return ids.New[deliveryKind]() }

// ParseEndpointID reads an endpoint id.
func ParseEndpointID(s string) (EndpointID, error) { return ids.Parse[endpointKind](s) }

// ParseDeliveryID reads a delivery id.
func ParseDeliveryID(s string) (DeliveryID, error) { return ids.Parse[deliveryKind](s) }

// Endpoint is where a provider's system wants to hear about events.
type Endpoint struct {
	bun.BaseModel `bun:"table:webhook_endpoints"`

	ID         EndpointID `bun:"id,pk,type:uuid" json:"id"`
	ProviderID uuid.UUID  `bun:"provider_id,notnull,type:uuid" json:"-"`
	URL        string     `bun:"url,notnull" json:"url"`
	EventList  string     `bun:"events,notnull" json:"-"`
	// Secret signs every delivery: a credential, so sealed at rest (a
	// database dump alone cannot forge a provider's webhooks).
	Secret    sealed.Text `bun:"secret,notnull" json:"-"`
	Contact   string      `bun:"contact,notnull" json:"-"`
	CreatedAt time.Time   `bun:"created_at,notnull" json:"created_at"`
	Failures  int         `bun:"failures,notnull" json:"failures"`
	PausedAt  *time.Time  `bun:"paused_at" json:"paused_at,omitempty"`
}

// Events are the events the endpoint subscribed to.
func (e Endpoint) Events() []string { return strings.Split(e.EventList, ",") }

// Wants reports whether the endpoint subscribed to event.
func (e Endpoint) Wants(event string) bool { return slices.Contains(e.Events(), event) }

// Delivery is one event for one endpoint, and its log.
type Delivery struct {
	bun.BaseModel `bun:"table:webhook_deliveries"`
	tenancy.Owned

	ID            DeliveryID `bun:"id,pk,type:uuid" json:"id"`
	EndpointID    EndpointID `bun:"endpoint_id,notnull,type:uuid" json:"-"`
	EventType     string     `bun:"event_type,notnull" json:"event_type"`
	SubjectID     uuid.UUID  `bun:"subject_id,notnull,type:uuid" json:"subject_id"`
	Payload       string     `bun:"payload,notnull" json:"-"`
	CreatedAt     time.Time  `bun:"created_at,notnull" json:"created_at"`
	DeliveredAt   *time.Time `bun:"delivered_at" json:"delivered_at,omitempty"`
	GivenUpAt     *time.Time `bun:"given_up_at" json:"given_up_at,omitempty"`
	Attempts      int        `bun:"attempts,notnull" json:"attempts"`
	NextAttemptAt *time.Time `bun:"next_attempt_at" json:"next_attempt_at,omitempty"`
	LastStatus    int        `bun:"last_status,notnull" json:"last_status"`
	LastError     string     `bun:"last_error,notnull" json:"last_error,omitempty"`
}

// Errors a form or the API shows at a field.
var (
	ErrURL      = errors.New("webhooks: the URL must be https (or http) with a host")
	ErrHost     = errors.New("webhooks: the URL's host name does not exist")
	ErrPrivate  = errors.New("webhooks: the URL points into a private, loopback or link-local network")
	ErrEvents   = errors.New("webhooks: choose at least one known event")
	ErrNotFound = errors.New("webhooks: no such endpoint")
)

// Guard decides which addresses endpoints may reach: never loopback,
// link-local, private or unspecified ones unless the operator allowed them
// (AllowPrivate, for a provider system on the same network, and tests).
type Guard struct{ AllowPrivate bool }

// Allowed reports whether ip may be reached.
func (g Guard) Allowed(ip netip.Addr) bool {
	if g.AllowPrivate {
		return true
	}
	ip = ip.Unmap()
	return !(ip.IsLoopback() || ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() || ip.IsPrivate() ||
		ip.IsUnspecified() || ip.IsMulticast() || ip.IsInterfaceLocalMulticast() ||
		netip.MustParsePrefix("100.64.0.0/10").Contains(ip)) // carrier-grade NAT
}

// Check validates raw as an endpoint URL and resolves its host: every
// address it resolves to must be allowed.
func (g Guard) Check(ctx context.Context, raw string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Hostname() == "" || u.User != nil {
		return ErrURL
	}
	if ip, err := netip.ParseAddr(u.Hostname()); err == nil {
		if !g.Allowed(ip) {
			return ErrPrivate
		}
		return nil
	}
	addrs, err := net.DefaultResolver.LookupNetIP(ctx, "ip", u.Hostname())
	if err != nil {
		return fmt.Errorf("%w: %s", ErrHost, u.Hostname())
	}
	for _, a := range addrs {
		if !g.Allowed(a) {
			return ErrPrivate
		}
	}
	return nil
}

// Service registers endpoints and reads their logs.
type Service struct {
	db    *db.DB
	clock clock.Clock
	guard Guard
}

// NewService returns the endpoint service. keys seal the endpoints'
// secrets (installed as the process keyring, as for the desks' notes).
func NewService(d *db.DB, c clock.Clock, g Guard, keys *sealed.Keyring) (*Service, error) {
	if err := sealed.Use(keys); err != nil {
		return nil, fmt.Errorf("webhooks: data keys (endpoint secrets are stored encrypted): %w", err)
	}
	return &Service{db: d, clock: c, guard: g}, nil
}

// Reseal rewrites every endpoint secret that is plain (registered before
// secrets were sealed) or sealed with a key other than kr's current one, in
// transactions of batch rows. It returns how many it rewrote.
func (s *Service) Reseal(ctx context.Context, kr *sealed.Keyring, batch int) (int, error) {
	n, err := sealed.ResealColumn(ctx, s.db.DB, kr, "webhook_endpoints", "secret", batch)
	if err != nil {
		return n, fmt.Errorf("webhooks: reseal secrets: %w", err)
	}
	return n, nil
}

// NewSecret returns a fresh endpoint secret: whsec_ and 32 random bytes.
func NewSecret() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return SecretPrefix + base64.StdEncoding.EncodeToString(b)
}

// Register adds an endpoint for provider; the returned endpoint carries its
// secret, which is shown this once.
func (s *Service) Register(ctx context.Context, provider uuid.UUID, rawURL string, events []string, contact string) (*Endpoint, error) {
	var evs []string
	for _, e := range Events {
		if slices.Contains(events, e) {
			evs = append(evs, e)
		}
	}
	if len(evs) == 0 || len(evs) != len(slices.Compact(slices.Sorted(slices.Values(events)))) {
		return nil, ErrEvents
	}
	if err := s.guard.Check(ctx, rawURL); err != nil {
		return nil, err
	}
	e := &Endpoint{ID: ids.New[endpointKind](), ProviderID: provider, URL: rawURL, EventList: strings.Join(evs, ","),
		Secret: sealed.Text(NewSecret()), Contact: contact, CreatedAt: s.clock.Now()}
	if _, err := s.db.NewInsert().Model(e).Exec(ctx); err != nil {
		return nil, fmt.Errorf("webhooks: register: %w", err)
	}
	return e, nil
}

// Endpoints lists the provider's endpoints, oldest first.
func (s *Service) Endpoints(ctx context.Context, provider uuid.UUID) ([]Endpoint, error) {
	var es []Endpoint
	if err := s.db.NewSelect().Model(&es).Where("provider_id = ?", provider).Order("created_at", "id").Scan(ctx); err != nil {
		return nil, fmt.Errorf("webhooks: endpoints: %w", err)
	}
	return es, nil
}

// Endpoint returns one endpoint of the provider.
func (s *Service) Endpoint(ctx context.Context, provider uuid.UUID, id EndpointID) (*Endpoint, error) {
	var e Endpoint
	err := s.db.NewSelect().Model(&e).Where("id = ? AND provider_id = ?", id, provider).Scan(ctx)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("webhooks: endpoint: %w", err)
	}
	return &e, nil
}

// Delete removes an endpoint of the provider with its deliveries.
func (s *Service) Delete(ctx context.Context, provider uuid.UUID, id EndpointID) error {
	res, err := s.db.NewDelete().Model((*Endpoint)(nil)).Where("id = ? AND provider_id = ?", id, provider).Exec(ctx)
	if err != nil {
		return fmt.Errorf("webhooks: delete: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrNotFound
	}
	return nil
}

// Resume lifts the pause of an endpoint (after its admin fixed it).
func (s *Service) Resume(ctx context.Context, provider uuid.UUID, id EndpointID) error {
	_, err := s.db.NewUpdate().Model((*Endpoint)(nil)).Set("paused_at = NULL").Set("failures = 0").
		Where("id = ? AND provider_id = ?", id, provider).Exec(ctx)
	return err
}

// Deliveries is the log of an endpoint of the provider, newest first. The
// deliveries are the desks' rows: they are read as the relay reads them.
func (s *Service) Deliveries(ctx context.Context, provider uuid.UUID, id EndpointID, limit int) ([]Delivery, error) {
	if _, err := s.Endpoint(ctx, provider, id); err != nil {
		return nil, err
	}
	var ds []Delivery
	err := asRelay(ctx, s.db, func(ctx context.Context, tx bun.Tx) error {
		return tx.NewSelect().Model(&ds).Where("endpoint_id = ?", id).OrderExpr("created_at DESC, id DESC").Limit(int64(limit)).Scan(ctx)
	})
	if err != nil {
		return nil, fmt.Errorf("webhooks: deliveries: %w", err)
	}
	return ds, nil
}

// ErrBadCursor is a cursor that is no key of a delivery log.
var ErrBadCursor = errors.New("webhooks: not a cursor of this delivery log")

// DeliveriesPage is a page of the log of an endpoint of the provider, newest
// first: the limit deliveries older than after (nil: the newest), and the
// key of the page's last one when more follow.
func (s *Service) DeliveriesPage(ctx context.Context, provider uuid.UUID, id EndpointID, after page.Key, limit int) ([]Delivery, page.Key, error) {
	if _, err := s.Endpoint(ctx, provider, id); err != nil {
		return nil, nil, err
	}
	var at time.Time
	var last DeliveryID
	if after != nil {
		var err, err2 error
		if len(after) != 2 {
			return nil, nil, ErrBadCursor
		}
		at, err = time.Parse("2006-01-02T15:04:05.000000000Z", after[0])
		last, err2 = ParseDeliveryID(after[1])
		if err != nil || err2 != nil {
			return nil, nil, ErrBadCursor
		}
	}
	var ds []Delivery
	err := asRelay(ctx, s.db, func(ctx context.Context, tx bun.Tx) error {
		q := tx.NewSelect().Model(&ds).Where("endpoint_id = ?", id)
		if after != nil {
			q = q.WhereGroup(" AND ", func(g *bun.SelectQuery) *bun.SelectQuery {
				return g.Where("created_at < ?", at).WhereOr("created_at = ? AND id < ?", at, last)
			})
		}
		return q.OrderExpr("created_at DESC, id DESC").Limit(int64(limit + 1)).Scan(ctx)
	})
	if err != nil {
		return nil, nil, fmt.Errorf("webhooks: deliveries: %w", err)
	}
	if len(ds) <= limit {
		return ds, nil, nil
	}
	ds = ds[:limit]
	end := ds[limit-1]
	return ds, page.Key{page.TimeKey(end.CreatedAt), end.ID.String()}, nil
}

// SendAgain puts a delivery of the provider's endpoint back in the queue,
// due now (the "send again" button).
func (s *Service) SendAgain(ctx context.Context, provider uuid.UUID, endpoint EndpointID, id DeliveryID) error {
	if _, err := s.Endpoint(ctx, provider, endpoint); err != nil {
		return err
	}
	now := s.clock.Now()
	return asRelay(ctx, s.db, func(ctx context.Context, tx bun.Tx) error {
		res, err := tx.NewUpdate().Model((*Delivery)(nil)).Set("delivered_at = NULL").Set("given_up_at = NULL").
			Set("next_attempt_at = ?", now).Where("id = ? AND endpoint_id = ?", id, endpoint).Exec(ctx)
		if err != nil {
			return fmt.Errorf("webhooks: send again: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrNotFound
		}
		return nil
	})
}

// Event is something that happened to a desk's request (or closure), for
// the providers of locations.
type Event struct {
	Type      string
	SubjectID uuid.UUID // the request (or closure): deliveries keep its order
	Locations []uuid.UUID
	Data      map[string]any
}

// EnqueueTx writes a delivery of each event to every subscribed, unpaused
// endpoint of the providers of its locations, in tx: the deliveries commit
// with the change or not at all. Two queries, however many events (a batch
// of registrations).
func EnqueueTx(ctx context.Context, tx *tenancy.Tx, now time.Time, events []Event) error {
	var all []uuid.UUID
	for _, ev := range events {
		all = append(all, ev.Locations...)
	}
	if len(all) == 0 {
		return nil
	}
	// The catalogue's locations and the endpoints are platform data (no
	// desk's): the providers of the events' locations and their endpoints
	// (TestWebhookDeliveredOnceSigned).
	var locs []struct {
		ID         uuid.UUID `bun:"id"`
		ProviderID uuid.UUID `bun:"provider_id"`
	}
	if err := tx.Unscoped().NewSelect().Table("locations").Column("id", "provider_id").
		Where("id IN (?)", bun.In(all)).Scan(ctx, &locs); err != nil {
		return fmt.Errorf("webhooks: providers of the locations: %w", err)
	}
	providerOf := map[uuid.UUID]uuid.UUID{}
	var providers []uuid.UUID
	for _, l := range locs {
		providerOf[l.ID] = l.ProviderID
		providers = append(providers, l.ProviderID)
	}
	if len(providers) == 0 {
		return nil
	}
	var eps []Endpoint
	if err := tx.Unscoped().NewSelect().Model(&eps).Where("provider_id IN (?)", bun.In(providers)).
		Where("paused_at IS NULL").Order("created_at", "id").Scan(ctx); err != nil {
		return fmt.Errorf("webhooks: endpoints: %w", err)
	}
	var ds []*Delivery
	for _, ev := range events {
		for _, ep := range eps {
			if !ep.Wants(ev.Type) {
				continue
			}
			// Only this provider's locations.
			var mine []string
			for _, l := range ev.Locations {
				if providerOf[l] == ep.ProviderID {
					mine = append(mine, l.String())
				}
			}
			if len(mine) == 0 {
				continue
			}
			data := map[string]any{"location_ids": mine}
			for k, v := range ev.Data {
				data[k] = v
			}
			body, err := json.Marshal(map[string]any{"type": ev.Type, "timestamp": now.UTC().Format(time.RFC3339), "data": data})
			if err != nil {
				return fmt.Errorf("webhooks: payload: %w", err)
			}
			ds = append(ds, &Delivery{ID: ids.New[deliveryKind](), EndpointID: ep.ID, EventType: ev.Type, SubjectID: ev.SubjectID,
				Payload: string(body), CreatedAt: now})
		}
	}
	if len(ds) == 0 {
		return nil
	}
	if err := tx.Insert(ctx, &ds); err != nil {
		return fmt.Errorf("webhooks: store deliveries: %w", err)
	}
	return nil
}

// kinds maps the event log's kinds of request changes to webhook events.
var kinds = map[string]string{
	"request.submitted":          RequestCreated,
	"preference.added":           RequestCreated,
	"preference.accepted":        OfferAccepted,
	"preference.declined":        OfferDeclined,
	"preference.lapsed":          OfferLapsed,
	"request.withdrawn":          RequestWithdrawn,
	"preference.location_closed": ClosureConcerned,
}

// Sink turns request changes into deliveries (requests.EventSink).
type Sink struct{}

// RequestEventsTx implements requests.EventSink.
func (Sink) RequestEventsTx(ctx context.Context, tx *tenancy.Tx, evs []requests.RequestEvent) error {
	var out []Event
	var at time.Time
	for _, ev := range evs {
		typ, ok := kinds[ev.Kind]
		if !ok {
			continue
		}
		at = ev.OccurredAt
		out = append(out, Event{Type: typ, SubjectID: ev.RequestID.UUID, Locations: ev.Locations,
			Data: map[string]any{"request_id": ev.RequestID.String(), "occurred_at": ev.OccurredAt.UTC().Format(time.RFC3339)}})
	}
	if len(out) == 0 {
		return nil
	}
	return EnqueueTx(ctx, tx, at, out)
}

var _ requests.EventSink = Sink{}
