package requests

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/loket-kinderopvang/loket/internal/catalog"
	"github.com/loket-kinderopvang/loket/internal/eventlog"
	"github.com/loket-kinderopvang/loket/internal/geo"
	"github.com/loket-kinderopvang/loket/internal/platform/authz"
	"github.com/loket-kinderopvang/loket/internal/platform/cache"
	"github.com/loket-kinderopvang/loket/internal/platform/clock"
	"github.com/loket-kinderopvang/loket/internal/platform/db"
	"github.com/loket-kinderopvang/loket/internal/platform/ids"
	"github.com/loket-kinderopvang/loket/internal/platform/sealed"
	"github.com/loket-kinderopvang/loket/internal/platform/tenancy"
	"github.com/loket-kinderopvang/loket/internal/platform/validate"
	"github.com/loket-kinderopvang/loket/internal/tenant"
)

// Errors of the lifecycle that callers show to people.
var (
	ErrPlaceTaken     = errors.New("requests: the place was taken by another family in the meantime")
	ErrDeadlinePassed = errors.New("requests: the deadline to accept this offer has passed")
	ErrBadToken       = errors.New("requests: this status link is not valid (any more)")
	ErrNoDesk         = errors.New("requests: no desk in context")
)

// ActorKind says who acts.
type ActorKind string

// Actor kinds.
const (
	ActorParent   ActorKind = "parent"
	ActorDesk     ActorKind = "desk"
	ActorPartner  ActorKind = "partner"
	ActorProvider ActorKind = "provider"
	ActorAPI      ActorKind = "api"
	ActorSystem   ActorKind = "system"
)

// Actor is who makes a change, as written in the event log.
type Actor struct {
	ID   string
	Kind ActorKind
}

func (a Actor) String() string {
	if a.ID == "" {
		return string(a.Kind)
	}
	return string(a.Kind) + ":" + a.ID
}

// Desks finds desk settings (the tenant directory).
type Desks interface {
	ByID(id tenancy.ID) (tenant.Tenant, bool)
	BySlug(slug string) (tenant.Tenant, bool)
	All() []tenant.Tenant
}

// Notice is a message to a parent about their request. The notifier renders
// it in Language and sends it; the service never formats mail itself.
type Notice struct {
	Kind           string // submitted, offer_made, placed, withdrawn
	Language       string
	To             string
	DeskName       string
	StatusURL      string
	ChildFirstName string
	LocationName   string
	Deadline       *time.Time
	// AnswerURL is the signed page to answer a request without account
	// (answer_request mails to providers that answer by e-mail).
	AnswerURL string
	// Reason is the desk's reason (why it keeps data it was asked to erase).
	Reason string
}

// Notifier sends notices. Errors are logged, never fatal: the request is
// stored and the status page tells the same.
type Notifier interface {
	Notify(ctx context.Context, n Notice) error
}

// Options configure the service.
type Options struct {
	Clock   clock.Clock
	Desks   Desks
	Catalog *catalog.Store
	HashKey []byte // keyed hashes of national numbers and status-link signatures
	// DataKeys seal desk notes and care-need descriptions at rest (required).
	DataKeys  *sealed.Keyring
	PublicURL string
	Notifier  Notifier
	Log       *slog.Logger
	// Throttle, if set, limits anonymous registrations per client address
	// (see throttle.go).
	Throttle *cache.WindowCounter
	// LinkExpiry is how long after a request ended (withdrawn, closed,
	// placed, unanswered) its status links keep working; 0 means
	// DefaultLinkExpiry.
	LinkExpiry time.Duration
	// Events, if set, is told of every change of a request in the
	// transaction of the change (webhooks).
	Events EventSink
}

// Service holds the rules of the request lifecycle. Every method works on the
// desk in ctx, except the provider inbox, which crosses desks on purpose.
type Service struct {
	store    *Store
	tenants  *tenancy.Store
	opts     Options
	nnKey    []byte
	linkKey  []byte
	dupKey   []byte
	printKey []byte
	// answerKey signs the answer links mailed to providers (answer_links.go).
	answerKey []byte
	notifier  Notifier
	flying    inFlight
	writer    *batchWriter
	batches   batchMetrics
}

// NewService returns the request service.
func NewService(ts *tenancy.Store, opts Options) (*Service, error) {
	if len(opts.HashKey) < 16 {
		return nil, errors.New("requests: the hash key must be at least 16 bytes")
	}
	if opts.Log == nil {
		opts.Log = slog.Default()
	}
	derive := func(purpose string) []byte {
		m := hmac.New(sha256.New, opts.HashKey)
		m.Write([]byte(purpose))
		return m.Sum(nil)
	}
	store, err := NewStore(ts, opts.Clock, opts.DataKeys)
	if err != nil {
		return nil, err
	}
	s := &Service{store: store, tenants: ts, opts: opts,
		nnKey: derive("national-number"), linkKey: derive("status-link"), dupKey: derive("likely-duplicate"),
		printKey: derive("idempotency-fingerprint"), answerKey: derive("answer-link"), notifier: opts.Notifier}
	store.events = sinks{sinkFunc(s.answerMails), opts.Events}
	s.writer, s.batches = newBatchWriter(s.storeBatch), newBatchMetrics()
	return s, nil
}

// SetNotifier sets who sends notices (wired after construction).
func (s *Service) SetNotifier(n Notifier) { s.notifier = n }

// Store is the underlying store.
func (s *Service) Store() *Store { return s.store }

func (s *Service) desk(ctx context.Context) (tenant.Tenant, error) {
	id, ok := tenancy.FromContext(ctx)
	if !ok {
		return tenant.Tenant{}, ErrNoDesk
	}
	t, ok := s.opts.Desks.ByID(id)
	if !ok {
		return tenant.Tenant{}, fmt.Errorf("requests: unknown desk %s", id)
	}
	return t, nil
}

func (s *Service) notify(ctx context.Context, n Notice) {
	if s.notifier == nil || n.To == "" {
		return
	}
	if err := s.notifier.Notify(ctx, n); err != nil {
		s.opts.Log.WarnContext(ctx, "notice not sent", "kind", n.Kind, "err", err)
	}
}

func hashHex(key []byte, parts ...string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(strings.Join(parts, "\x00")))
	return hex.EncodeToString(m.Sum(nil))
}

// Validate checks a submission for the desk in ctx: every broken rule at
// once, including the locations (they must exist and accept requests).
func (s *Service) Validate(ctx context.Context, sub Submission) validate.Errors {
	_, es := s.validate(ctx, sub, sub.Channel != "")
	return es
}

func (s *Service) validate(ctx context.Context, sub Submission, staff bool) (checked, validate.Errors) {
	ck, es := s.shape(ctx, sub, staff)
	if len(ck.locations) == 0 {
		return ck, es
	}
	err := s.store.tenants.Tx(ctx, func(ctx context.Context, tx *tenancy.Tx) error {
		return s.checkLocations(ctx, tx, ck, &es)
	})
	if err != nil {
		es.Add("preferences", "unavailable", "the locations could not be checked; try again")
	}
	return ck, es
}

// shape checks everything that needs no database.
func (s *Service) shape(ctx context.Context, sub Submission, staff bool) (checked, validate.Errors) {
	maxPrefs := 5
	if d, err := s.desk(ctx); err == nil {
		maxPrefs = d.MaxPreferences
	}
	return validateShape(sub, maxPrefs, s.opts.Clock.Now(), staff)
}

// checkLocations adds an error for every chosen location that does not exist
// or takes no requests now.
func (s *Service) checkLocations(ctx context.Context, tx *tenancy.Tx, ck checked, es *validate.Errors) error {
	open, err := lookupLocations(ctx, tx, ck.locations)
	if err != nil {
		return err
	}
	locationErrors(ck, open, es)
	return nil
}

// lookupLocations tells for each of ids that exists whether it takes
// requests now.
func lookupLocations(ctx context.Context, tx *tenancy.Tx, ids []uuid.UUID) (map[uuid.UUID]bool, error) {
	open := make(map[uuid.UUID]bool, len(ids))
	if len(ids) == 0 {
		return open, nil
	}
	var found []catalog.Location
	if err := tx.Unscoped().NewSelect().Model(&found).Column("id", "accepts_requests").
		Where("id IN (?)", bun.In(ids)).Scan(ctx); err != nil {
		return nil, fmt.Errorf("requests: check locations: %w", err)
	}
	for _, l := range found {
		open[l.ID.UUID] = l.AcceptsRequests
	}
	return open, nil
}

func locationErrors(ck checked, open map[uuid.UUID]bool, es *validate.Errors) {
	for i, id := range ck.locations {
		accepts, exists := open[id]
		field := fmt.Sprintf("preferences[%d]", ck.locationIndex[i])
		switch {
		case !exists:
			es.Add(field, "location_unknown", "no such location")
		case !accepts:
			es.Add(field, "location_closed", "this location takes no requests now")
		}
	}
}

// Submit validates a submission and stores it in one transaction: family,
// parents, child, request, preferences (with the provider's answer deadline),
// claims, a first note and the submission event. With an idempotency key
// (see idempotency.go), a second call by the same caller with the same key
// and the same submission returns the first request (replayed); with another
// submission it fails with ErrIdempotencyMismatch, and while the first is
// still being written with ErrIdempotencyInFlight.
func (s *Service) Submit(ctx context.Context, sub Submission, actor Actor, idempotencyKey string) (*Request, string, bool, error) {
	desk, err := s.desk(ctx)
	if err != nil {
		return nil, "", false, err
	}
	key, print := s.idempotency(actor, idempotencyKey, sub)
	if key != "" {
		release, err := s.flying.claim(desk.ID, key)
		if err != nil {
			return nil, "", false, err
		}
		defer release()
	}
	staff := actor.Kind == ActorDesk || actor.Kind == ActorPartner
	ck, es := s.shape(ctx, sub, staff)
	if len(es) > 0 {
		// Broken input: a replay of the very same submission still answers
		// with the first request (a rule such as "the start lies ahead" may
		// have changed since); otherwise report every error, the locations'
		// included.
		if key != "" {
			if r, err := s.byIdempotencyKey(ctx, key); err == nil {
				return s.replayOf(desk, r, print)
			} else if !errors.Is(err, ErrNotFound) {
				return nil, "", false, err
			}
		}
		_, es = s.validate(ctx, sub, staff)
		return nil, "", false, es
	}
	reg := s.newRegistration(ctx, desk, sub, ck, actor, key, print)
	if err := s.writer.do(ctx, desk.ID, reg); err != nil {
		return nil, "", false, err
	}
	return s.outcome(ctx, desk, reg)
}

// newRegistration makes every row of a valid submission in memory: ids,
// times, the submission event, the fingerprints to look up and the
// confirmation notice. key and print are the caller-bound idempotency key
// and the submission's fingerprint (see Service.idempotency).
func (s *Service) newRegistration(ctx context.Context, desk tenant.Tenant, sub Submission, ck checked, actor Actor, key, print string) *registration {
	staff := actor.Kind == ActorDesk || actor.Kind == ActorPartner
	now := s.opts.Clock.Now()
	channel := sub.Channel
	if channel == "" {
		channel = map[ActorKind]Channel{ActorAPI: ChannelAPI, ActorPartner: ChannelPartner, ActorDesk: ChannelCounter}[actor.Kind]
		if channel == "" {
			channel = ChannelOnline
		}
	}
	first := sub.Parents[0]
	fam := Family{DisplayName: strings.TrimSpace(first.FirstName + " " + first.LastName), Email: strings.TrimSpace(first.Email),
		Phone: strings.TrimSpace(first.Phone), Language: sub.Language, MunicipalityNIS: sub.Address.MunicipalityNIS,
		Neighbourhood: sub.Address.Neighbourhood, Vulnerable: staff && sub.Vulnerable, ReferredBy: sub.ReferredBy}
	child := Child{FirstName: strings.TrimSpace(sub.Child.FirstName), LastName: strings.TrimSpace(sub.Child.LastName),
		BirthDate: ck.birth, ExpectedDate: ck.expected}
	if ck.nationalNumber != "" {
		child.NationalNumberHash = hashHex(s.nnKey, ck.nationalNumber)
	}
	born := child.BornOrExpected()
	req := &Request{Status: StatusSubmitted, Channel: channel, DesiredStart: *ck.start, FlexibilityWeeks: sub.FlexibilityWeeks,
		CareDays: strings.Join(sortDays(sub.CarePlan.Days), ","), DayPart: DayPart(sub.CarePlan.DayPart), WiderHours: sub.CarePlan.WiderHours,
		Reason: Reason(sub.Reason), SpecificCareNeed: sub.SpecificCareNeed, CareNeedNote: sealed.Text(strings.TrimSpace(sub.CareNeedNote)),
		Urgent: sub.Urgent, PrivacyVersion: sub.PrivacyVersion, StatusLinkVersion: 1,
		MunicipalityNIS: sub.Address.MunicipalityNIS, Neighbourhood: sub.Address.Neighbourhood,
		AgeMonths: catalog.AgeInMonths(born, *ck.start)}
	if key != "" {
		req.IdempotencyKey, req.IdempotencyPrint = &key, &print
	}
	var parents []Parent
	for _, p := range sub.Parents {
		parents = append(parents, Parent{FirstName: strings.TrimSpace(p.FirstName), LastName: strings.TrimSpace(p.LastName),
			Email: strings.TrimSpace(p.Email), Phone: strings.TrimSpace(p.Phone)})
	}
	var claims []Claim
	for _, c := range sub.PriorityClaims {
		if !slices.Contains(claims, Claim(c)) {
			claims = append(claims, Claim(c))
		}
	}
	due := now.AddDate(0, 0, desk.ProviderResponseDays)
	fam.TenantID, child.TenantID, req.TenantID = desk.ID, desk.ID, desk.ID
	reg := &registration{ctx: ctx, ck: ck, key: key, print: print, done: make(chan struct{}),
		rows: fill(now, &fam, &child, req, parents, claims, ck.locations, due)}
	reg.rows.event.Actor, reg.rows.event.Data = actor.String(), eventData(map[string]any{"channel": channel})
	// The national number first: its match is the stronger one.
	if child.NationalNumberHash != "" {
		reg.fingerprints = append(reg.fingerprints, fingerprintKey{"nn", child.NationalNumberHash})
	}
	reg.fingerprints = append(reg.fingerprints, s.likelyFingerprints(child.FirstName, child.LastName, born, fam, parents)...)
	if note := strings.TrimSpace(sub.Note); note != "" && staff {
		reg.rows.note = &Note{ID: ids.New[noteKind](), RequestID: req.ID, Author: actor.String(), Body: sealed.Text(note), CreatedAt: now}
	}
	url := s.StatusURL(desk.Slug, req)
	reg.notice = Notice{Kind: "submitted", Language: fam.Language, To: fam.Email, DeskName: desk.DisplayName(fam.Language),
		StatusURL: url, ChildFirstName: child.FirstName}
	return reg
}

// outcome answers a written registration: its request, a replay, the
// location errors or the failure.
func (s *Service) outcome(ctx context.Context, desk tenant.Tenant, reg *registration) (*Request, string, bool, error) {
	done := reg
	if reg.sameAs != nil {
		// The key came twice in one batch: the first one's answer, if the
		// bodies match.
		if reg.print != reg.sameAs.print {
			return nil, "", false, ErrIdempotencyMismatch
		}
		done = reg.sameAs
	}
	switch {
	case done.replay != nil:
		return s.replayOf(desk, done.replay, reg.print)
	case len(done.errs) > 0:
		return nil, "", false, done.errs
	case done.err != nil:
		if reg.key != "" {
			// A concurrent retry with the same key (on another replica) won
			// the race: answer with its request, if the bodies match.
			if r, err2 := s.byIdempotencyKey(ctx, reg.key); err2 == nil {
				return s.replayOf(desk, r, reg.print)
			}
		}
		return nil, "", false, done.err
	case reg.sameAs != nil:
		return done.rows.req, done.notice.StatusURL, true, nil
	}
	if !reg.mailed {
		s.notify(ctx, reg.notice)
	}
	return reg.rows.req, reg.notice.StatusURL, false, nil
}

func sortDays(days []string) []string {
	out := slices.Clone(days)
	slices.SortFunc(out, func(a, b string) int { return slices.Index(Weekdays, a) - slices.Index(Weekdays, b) })
	return out
}

func (s *Service) byIdempotencyKey(ctx context.Context, key string) (*Request, error) {
	var r Request
	err := s.tenants.Tx(ctx, func(ctx context.Context, tx *tenancy.Tx) error {
		return tx.Select(&r).Where("idempotency_key = ?", key).Scan(ctx)
	})
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("requests: idempotency lookup: %w", err)
	}
	return &r, nil
}

// Fingerprint is a keyed hash that finds the same child in any desk.
type Fingerprint struct {
	bun.BaseModel `bun:"table:request_fingerprints"`

	// The desk of the request. The table is platform data (no row-level
	// security): lookups cross desks on purpose.
	tenancy.Owned

	Kind      string    `bun:"kind,pk"`
	Digest    string    `bun:"digest,pk"`
	RequestID uuid.UUID `bun:"request_id,pk,type:uuid"`
	CreatedAt time.Time `bun:"created_at,notnull"`
}

// --- status links -----------------------------------------------------------

// StatusURL is the private link to a request's status page. It carries the
// request, its desk and the link version, signed; bumping the version revokes
// every link sent before.
func (s *Service) StatusURL(deskSlug string, r *Request) string {
	return strings.TrimRight(s.opts.PublicURL, "/") + "/" + deskSlug + "/aanvraag/" + s.token(r.TenantID, r.ID, r.StatusLinkVersion)
}

func (s *Service) token(desk tenancy.ID, id RequestID, version int) string {
	return makeToken(s.linkKey, desk, id, version)
}

// OpenStatusToken checks a status link's token and returns its desk and
// request; a forged, damaged or revoked token gives ErrBadToken, the token
// of a request that ended long ago ErrLinkExpired (see links.go).
func (s *Service) OpenStatusToken(ctx context.Context, token string) (tenancy.ID, RequestID, error) {
	desk, id, version, ok := parseToken(s.linkKey, token)
	if !ok {
		return tenancy.ID{}, RequestID{}, ErrBadToken
	}
	r, err := s.Get(tenancy.WithTenant(ctx, desk), id)
	if err != nil || r.StatusLinkVersion != version {
		return tenancy.ID{}, RequestID{}, ErrBadToken
	}
	if s.linkExpired(r, s.opts.Clock.Now()) {
		return tenancy.ID{}, RequestID{}, ErrLinkExpired
	}
	return desk, id, nil
}

// RevokeStatusLinks makes every earlier status link invalid and returns the new one.
func (s *Service) RevokeStatusLinks(ctx context.Context, id RequestID, actor Actor) (string, error) {
	desk, err := s.desk(ctx)
	if err != nil {
		return "", err
	}
	var out *Request
	err = s.change(ctx, id, actor, func(ctx context.Context, tx *tenancy.Tx, r *Request, _ time.Time) (*eventlog.Event, error) {
		r.StatusLinkVersion++
		out = r
		return &eventlog.Event{Kind: "request.status_link_revoked"}, s.updateRequest(ctx, tx, r, "status_link_version")
	})
	if err != nil {
		return "", err
	}
	return s.StatusURL(desk.Slug, out), nil
}

// --- reading ----------------------------------------------------------------

// Get returns a request of the desk in ctx with its preferences and claims.
func (s *Service) Get(ctx context.Context, id RequestID) (*Request, error) {
	var r *Request
	err := s.tenants.Tx(ctx, func(ctx context.Context, tx *tenancy.Tx) error {
		var err error
		r, err = s.store.load(ctx, tx, id, false)
		return err
	})
	return r, err
}

// Case is everything the desk sees of one request.
type Case struct {
	Request    *Request
	Child      Child
	Family     Family
	Notes      []Note
	History    []eventlog.Event
	Duplicates []DuplicateHint
	Locations  map[uuid.UUID]LocationRef
	// Viewer is who the case was made for (CaseFor); AgeMonths is the
	// child's age in whole months (negative before birth).
	Viewer    Viewer
	AgeMonths int
}

// CaseFor is Case as v may see it (see visibility.go): ErrNotFound when v
// may not see the request at all.
// When look names what is read (look.What), the read is written to the
// access log of the family's desk.
func (s *Service) CaseFor(ctx context.Context, id RequestID, v Viewer, look Look) (*Case, error) {
	cs, err := s.Case(ctx, id)
	if err != nil {
		return nil, err
	}
	if !v.may(cs) {
		return nil, ErrNotFound
	}
	if look.What != "" {
		if err := s.Looked(ctx, look, cs.Family.ID.UUID, &id.UUID); err != nil {
			return nil, err
		}
	}
	return v.redact(cs, s.opts.Clock.Now()), nil
}

// Look is a read of family data for the access log: who, what was read,
// and the sharing agreement it went through (with the reader's desk).
type Look struct {
	Actor     Actor
	What      string
	Agreement string
	ViaDesk   string
	// Organisation: tenant:<slug> or provider:<id> (eventlog.Access).
	Organisation string
}

// Looked writes one access event for the family (and request) in the desk
// of ctx. On the primary: a page may be read from the standby.
func (s *Service) Looked(ctx context.Context, look Look, family uuid.UUID, request *uuid.UUID) error {
	return s.tenants.Tx(db.OnPrimary(ctx), func(ctx context.Context, tx *tenancy.Tx) error {
		return eventlog.LogAccess(ctx, tx, []*eventlog.Access{look.access(s.opts.Clock.Now(), family, request)})
	})
}

// LookedAt writes one access event per request (and its family) in the
// desk of ctx: a page that lists families (a crisis list, its letters).
func (s *Service) LookedAt(ctx context.Context, look Look, ids []RequestID) error {
	if len(ids) == 0 {
		return nil
	}
	if look.Organisation == "" {
		// The desk's own list (a crisis page): the desk looked.
		d, err := s.desk(ctx)
		if err != nil {
			return err
		}
		look.Organisation = authz.Desk(d.Slug)
	}
	now := s.opts.Clock.Now()
	return s.tenants.Tx(db.OnPrimary(ctx), func(ctx context.Context, tx *tenancy.Tx) error {
		var rows []struct {
			ID       uuid.UUID `bun:"id"`
			FamilyID uuid.UUID `bun:"family_id"`
		}
		err := tx.Select((*Request)(nil)).ColumnExpr("request.id, c.family_id").
			Join("JOIN children AS c ON c.tenant_id = request.tenant_id AND c.id = request.child_id").
			Where("request.id IN (?)", bun.In(ids)).Scan(ctx, &rows)
		if err != nil {
			return fmt.Errorf("requests: families of %d requests: %w", len(ids), err)
		}
		looks := make([]*eventlog.Access, len(rows))
		for i := range rows {
			looks[i] = look.access(now, rows[i].FamilyID, &rows[i].ID)
		}
		return eventlog.LogAccess(ctx, tx, looks)
	})
}

func (l Look) access(now time.Time, family uuid.UUID, request *uuid.UUID) *eventlog.Access {
	return &eventlog.Access{OccurredAt: now, Actor: l.Actor.String(), FamilyID: family, RequestID: request,
		What: l.What, Agreement: l.Agreement, ViaDesk: l.ViaDesk, Organisation: l.Organisation}
}

// Looks returns the access events of a family, newest first.
func (s *Service) Looks(ctx context.Context, family uuid.UUID) ([]eventlog.Access, error) {
	var out []eventlog.Access
	err := s.tenants.Tx(ctx, func(ctx context.Context, tx *tenancy.Tx) error {
		var err error
		out, err = eventlog.AccessTo(ctx, tx, family)
		return err
	})
	return out, err
}

// DuplicateHint names another request of the same child: in this desk (with
// its id) or in another desk (its name only).
type DuplicateHint struct {
	Kind      string
	RequestID *RequestID
	DeskName  string
}

// LocationRef is what a request page shows of a location.
type LocationRef struct {
	Name            string
	MunicipalityNIS string
	ProviderID      uuid.UUID
	Email           string
}

// Case returns the request with child, family, parents, notes, history,
// duplicate hints and the names of its locations.
func (s *Service) Case(ctx context.Context, id RequestID) (*Case, error) {
	c := &Case{}
	err := s.tenants.Tx(ctx, func(ctx context.Context, tx *tenancy.Tx) error {
		r, err := s.store.load(ctx, tx, id, false)
		if err != nil {
			return err
		}
		c.Request = r
		if err := tx.Select(&c.Child).Where("id = ?", r.ChildID).Scan(ctx); err != nil {
			return fmt.Errorf("requests: case child: %w", err)
		}
		if err := tx.Select(&c.Family).Where("id = ?", c.Child.FamilyID).Scan(ctx); err != nil {
			return fmt.Errorf("requests: case family: %w", err)
		}
		if err := tx.Select(&c.Family.Parents).Where("family_id = ?", c.Family.ID).Order("position").Scan(ctx); err != nil {
			return fmt.Errorf("requests: case parents: %w", err)
		}
		if err := tx.Select(&c.Notes).Where("request_id = ?", id).Order("created_at").Scan(ctx); err != nil {
			return fmt.Errorf("requests: case notes: %w", err)
		}
		if c.History, err = eventlog.ForSubject(ctx, tx, "request", id.UUID); err != nil {
			return err
		}
		if c.Locations, err = locationRefs(ctx, tx.Unscoped(), r.Preferences); err != nil {
			return err
		}
		c.Duplicates, err = s.duplicateHints(ctx, tx, r, c.Child)
		return err
	})
	if err != nil {
		return nil, err
	}
	return c, nil
}

func locationRefs(ctx context.Context, db bun.IDB, prefs []Preference) (map[uuid.UUID]LocationRef, error) {
	out := map[uuid.UUID]LocationRef{}
	if len(prefs) == 0 {
		return out, nil
	}
	var ids []uuid.UUID
	for _, p := range prefs {
		ids = append(ids, p.LocationID)
	}
	var locs []catalog.Location
	if err := db.NewSelect().Model(&locs).Column("id", "name", "municipality_nis", "provider_id", "email").
		Where("id IN (?)", bun.In(ids)).Scan(ctx); err != nil {
		return nil, fmt.Errorf("requests: location names: %w", err)
	}
	for _, l := range locs {
		out[l.ID.UUID] = LocationRef{Name: l.Name, MunicipalityNIS: string(l.MunicipalityNIS), ProviderID: l.ProviderID.UUID, Email: l.Email}
	}
	return out, nil
}

func (s *Service) duplicateHints(ctx context.Context, tx *tenancy.Tx, r *Request, child Child) ([]DuplicateHint, error) {
	var mine []Fingerprint
	if err := tx.Select(&mine).Where("request_id = ?", r.ID).Scan(ctx); err != nil {
		return nil, fmt.Errorf("requests: fingerprints: %w", err)
	}
	var out []DuplicateHint
	for _, fp := range mine {
		var others []Fingerprint
		// Crossing desks is the point: the same child at any desk (keyed
		// hashes only; TestDuplicatesAcrossDesks).
		if err := tx.Unscoped().NewSelect().Model(&others).Where("kind = ? AND digest = ? AND request_id <> ?", fp.Kind, fp.Digest, r.ID).
			Scan(ctx); err != nil {
			return nil, fmt.Errorf("requests: fingerprints: %w", err)
		}
		for _, o := range others {
			h := DuplicateHint{Kind: fp.Kind}
			if o.TenantID == tx.Tenant() {
				id := RequestID{UUID: o.RequestID}
				h.RequestID = &id
			}
			if d, ok := s.opts.Desks.ByID(o.TenantID); ok {
				h.DeskName = d.Name
			}
			out = append(out, h)
		}
	}
	return out, nil
}

// --- changing ---------------------------------------------------------------

// change runs fn on a locked request of the desk in ctx and appends the event
// fn returns (actor, time, subject and states filled in here).
func (s *Service) change(ctx context.Context, id RequestID, actor Actor,
	fn func(ctx context.Context, tx *tenancy.Tx, r *Request, now time.Time) (*eventlog.Event, error)) error {
	now := s.opts.Clock.Now()
	return s.tenants.Tx(ctx, func(ctx context.Context, tx *tenancy.Tx) error {
		r, err := s.store.load(ctx, tx, id, true)
		if err != nil {
			return err
		}
		from := r.Status
		ev, err := fn(ctx, tx, r, now)
		if err != nil {
			return err
		}
		if ev == nil {
			return nil
		}
		ev.OccurredAt, ev.Actor, ev.SubjectType, ev.SubjectID = now, actor.String(), "request", id.UUID
		if ev.FromState == "" && ev.ToState == "" && from != r.Status {
			ev.FromState, ev.ToState = string(from), string(r.Status)
		}
		if err := eventlog.Append(ctx, tx, ev); err != nil {
			return err
		}
		return tell(ctx, s.opts.Events, tx, []RequestEvent{requestEvent(r, ev)})
	})
}

func (s *Service) updateRequest(ctx context.Context, tx *tenancy.Tx, r *Request, cols ...string) error {
	r.UpdatedAt = s.opts.Clock.Now()
	q, err := tx.Update(r)
	if err != nil {
		return err
	}
	if _, err := q.Column(append(cols, "updated_at")...).WherePK().Exec(ctx); err != nil {
		return fmt.Errorf("requests: update request: %w", err)
	}
	return nil
}

func (s *Service) updatePreference(ctx context.Context, tx *tenancy.Tx, p *Preference, cols ...string) error {
	p.UpdatedAt = s.opts.Clock.Now()
	q, err := tx.Update(p)
	if err != nil {
		return err
	}
	if _, err := q.Column(append(cols, "updated_at")...).WherePK().Exec(ctx); err != nil {
		return fmt.Errorf("requests: update preference: %w", err)
	}
	return nil
}

// setStatus moves the request and records when.
func (s *Service) setStatus(ctx context.Context, tx *tenancy.Tx, r *Request, to Status, now time.Time) error {
	if r.Status == to {
		return nil
	}
	if err := checkRequestMove(r.Status, to); err != nil {
		return err
	}
	r.Status, r.StatusChangedAt = to, &now
	cols := []string{"status", "status_changed_at"}
	if to == StatusPlaced {
		r.PlacedAt = &now
		cols = append(cols, "placed_at", "placed_location_id")
	}
	return s.updateRequest(ctx, tx, r, cols...)
}

// settle puts the request status in line with its preferences after a change:
// an open offer makes it offered; no open offer brings an offered request back
// to active.
func (s *Service) settle(ctx context.Context, tx *tenancy.Tx, r *Request, now time.Time) error {
	if !r.Status.Open() {
		return nil
	}
	offered := slices.ContainsFunc(r.Preferences, func(p Preference) bool { return p.State == PreferenceOffered })
	switch {
	case offered:
		return s.setStatus(ctx, tx, r, StatusOffered, now)
	case r.Status == StatusOffered:
		return s.setStatus(ctx, tx, r, StatusActive, now)
	}
	return nil
}

// closeOpenPreferences closes every preference that can still change.
func (s *Service) closeOpenPreferences(ctx context.Context, tx *tenancy.Tx, r *Request, except int) error {
	for i := range r.Preferences {
		p := &r.Preferences[i]
		if p.Rank == except || !CanMovePreference(p.State, PreferenceClosed) {
			continue
		}
		p.State = PreferenceClosed
		if err := s.updatePreference(ctx, tx, p, "state"); err != nil {
			return err
		}
	}
	return nil
}

func (r *Request) preference(rank int) (*Preference, error) {
	for i := range r.Preferences {
		if r.Preferences[i].Rank == rank {
			return &r.Preferences[i], nil
		}
	}
	return nil, ErrNotFound
}

// Activate marks a submitted request as checked by the desk.
func (s *Service) Activate(ctx context.Context, id RequestID, actor Actor) error {
	return s.change(ctx, id, actor, func(ctx context.Context, tx *tenancy.Tx, r *Request, now time.Time) (*eventlog.Event, error) {
		return &eventlog.Event{Kind: "request.activated"}, s.setStatus(ctx, tx, r, StatusActive, now)
	})
}

// AnswerKind is a provider's answer.
type AnswerKind string

// Answers.
const (
	AnswerOffer       AnswerKind = "offer"
	AnswerWaitingList AnswerKind = "waiting_list"
	AnswerNoPlace     AnswerKind = "no_place"
	AnswerForward     AnswerKind = "forward"
)

// Answer is a provider's answer to one preference.
type Answer struct {
	Kind       AnswerKind    `json:"kind"`
	OfferStart time.Time     `json:"offer_start"`
	OfferDays  []string      `json:"offer_days"`
	Reason     NoPlaceReason `json:"reason"`
}

// Answer records a provider's answer to a preference of a request of the desk
// in ctx. An offer needs a free place registered for its start month and the
// child's age band (the place is taken when the parent accepts); it gets the
// desk's acceptance deadline.
func (s *Service) Answer(ctx context.Context, id RequestID, rank int, a Answer, actor Actor) error {
	return s.answer(ctx, id, rank, a, actor, false)
}

// answer is Answer; pendingOnly refuses a preference answered already (an
// answer link works once).
func (s *Service) answer(ctx context.Context, id RequestID, rank int, a Answer, actor Actor, pendingOnly bool) error {
	desk, err := s.desk(ctx)
	if err != nil {
		return err
	}
	var notice *Notice
	err = s.change(ctx, id, actor, func(ctx context.Context, tx *tenancy.Tx, r *Request, now time.Time) (*eventlog.Event, error) {
		p, err := r.preference(rank)
		if err != nil {
			return nil, err
		}
		var es validate.Errors
		to := map[AnswerKind]PreferenceState{AnswerOffer: PreferenceOffered, AnswerWaitingList: PreferenceWaitingList,
			AnswerNoPlace: PreferenceNoPlace, AnswerForward: PreferenceForwarded}[a.Kind]
		switch {
		case to == "":
			es.Add("kind", "answer_kind", "must be offer, waiting_list, no_place or forward (got %q)", a.Kind)
		case a.Kind == AnswerNoPlace && !slices.Contains(NoPlaceReasons, a.Reason):
			es.Add("reason", "no_place_reason", "choose a reason from the list (got %q)", a.Reason)
		case a.Kind == AnswerForward && desk.Mode != tenant.ModeRegistry:
			es.Add("kind", "forward_central", "forwarding to the desk exists only for desks in registry mode")
		case a.Kind == AnswerOffer:
			es = append(es, s.checkOffer(ctx, tx, r, p, a, now)...)
		}
		if len(es) > 0 {
			return nil, es
		}
		from := p.State
		if pendingOnly && from != PreferencePending {
			return nil, ErrAnswerLinkUsed
		}
		if err := checkPreferenceMove(from, to); err != nil {
			return nil, err
		}
		p.State, p.AnsweredAt, p.AnsweredBy = to, &now, actor.String()
		cols := []string{"state", "answered_at", "answered_by"}
		switch a.Kind {
		case AnswerOffer:
			start := a.OfferStart.UTC()
			deadline := now.AddDate(0, 0, desk.OfferAcceptanceDays)
			p.OfferStart, p.OfferDays, p.OfferDeadline = &start, strings.Join(sortDays(a.OfferDays), ","), &deadline
			cols = append(cols, "offer_start", "offer_days", "offer_deadline")
		case AnswerNoPlace:
			p.NoPlaceReason = a.Reason
			cols = append(cols, "no_place_reason")
		}
		if err := s.updatePreference(ctx, tx, p, cols...); err != nil {
			return nil, err
		}
		if r.FirstAnswerAt == nil {
			r.FirstAnswerAt = &now
			if err := s.updateRequest(ctx, tx, r, "first_answer_at"); err != nil {
				return nil, err
			}
		}
		if err := s.settle(ctx, tx, r, now); err != nil {
			return nil, err
		}
		if a.Kind == AnswerOffer {
			if notice, err = s.parentNotice(ctx, tx, desk, r, "offer_made", p); err != nil {
				return nil, err
			}
		}
		return &eventlog.Event{Kind: "preference." + string(to), FromState: string(from), ToState: string(to),
			Reason: sealed.Text(a.Reason), Data: eventData(map[string]any{"rank": rank, "location_id": p.LocationID.String()})}, nil
	})
	if err == nil && notice != nil {
		s.notify(ctx, *notice)
	}
	return err
}

func (s *Service) checkOffer(ctx context.Context, tx *tenancy.Tx, r *Request, p *Preference, a Answer, now time.Time) validate.Errors {
	var es validate.Errors
	if a.OfferStart.IsZero() {
		es.Add("offer_start", "required", "give the start date of the offered place")
		return es
	}
	if a.OfferStart.Before(now.AddDate(0, 0, -1)) {
		es.Add("offer_start", "start_past", "lies in the past")
	}
	if len(a.OfferDays) == 0 {
		es.Add("offer_days", "days_required", "choose at least one day")
	}
	for _, d := range a.OfferDays {
		if !slices.Contains(Weekdays, d) {
			es.Add("offer_days", "days", "days must be mon … sun (got %q)", d)
			break
		}
	}
	if len(es) > 0 {
		return es
	}
	month, band, err := s.seatOf(ctx, tx, r, a.OfferStart)
	if err != nil {
		es.Add("offer_start", "unavailable", "could not be checked; try again")
		return es
	}
	free, err := catalog.FreePlacesTx(ctx, tx.Unscoped(), catalog.LocationID{UUID: p.LocationID}, month, band)
	if err != nil || free == 0 {
		es.Add("offer_start", "no_free_place", "no free place is registered for %s (%s); update your free places first", month, band)
	}
	return es
}

// seatOf is the availability row an offer starting at start takes.
func (s *Service) seatOf(ctx context.Context, tx *tenancy.Tx, r *Request, start time.Time) (string, catalog.AgeBand, error) {
	var c Child
	if err := tx.Select(&c).Where("id = ?", r.ChildID).Scan(ctx); err != nil {
		return "", "", fmt.Errorf("requests: child: %w", err)
	}
	return start.Format("2006-01"), catalog.BandForAge(catalog.AgeInMonths(c.BornOrExpected(), start)), nil
}

// Accept takes the offered place for the parent: one free place of the
// location is taken in the same transaction (ErrPlaceTaken when another
// family was first), the request is placed and every other preference closes.
func (s *Service) Accept(ctx context.Context, id RequestID, rank int, actor Actor) error {
	desk, err := s.desk(ctx)
	if err != nil {
		return err
	}
	var region geo.NISCode
	var notice *Notice
	taken := false
	err = s.change(ctx, id, actor, func(ctx context.Context, tx *tenancy.Tx, r *Request, now time.Time) (*eventlog.Event, error) {
		p, err := r.preference(rank)
		if err != nil {
			return nil, err
		}
		if p.State != PreferenceOffered {
			return nil, fmt.Errorf("%w: preference is %s", ErrTransition, p.State)
		}
		if p.OfferDeadline != nil && now.After(*p.OfferDeadline) {
			return nil, ErrDeadlinePassed
		}
		month, band, err := s.seatOf(ctx, tx, r, *p.OfferStart)
		if err != nil {
			return nil, err
		}
		region, err = s.opts.Catalog.TakePlace(ctx, tx.Unscoped(), catalog.LocationID{UUID: p.LocationID}, month, band, actor.String())
		if errors.Is(err, catalog.ErrNoFreePlace) {
			// Record that the offer fell through, then report it.
			taken = true
			p.State, p.NoPlaceReason = PreferenceNoPlace, NoPlaceTaken
			if err := s.updatePreference(ctx, tx, p, "state", "no_place_reason"); err != nil {
				return nil, err
			}
			if err := s.settle(ctx, tx, r, now); err != nil {
				return nil, err
			}
			return &eventlog.Event{Kind: "preference.no_place", FromState: string(PreferenceOffered), ToState: string(PreferenceNoPlace),
				Reason: sealed.Text(NoPlaceTaken), Data: eventData(map[string]any{"rank": rank})}, nil
		}
		if err != nil {
			return nil, err
		}
		p.State, p.RespondedAt = PreferenceAccepted, &now
		if err := s.updatePreference(ctx, tx, p, "state", "responded_at"); err != nil {
			return nil, err
		}
		if err := s.closeOpenPreferences(ctx, tx, r, rank); err != nil {
			return nil, err
		}
		loc := p.LocationID
		r.PlacedLocationID = &loc
		if err := s.setStatus(ctx, tx, r, StatusPlaced, now); err != nil {
			return nil, err
		}
		if notice, err = s.parentNotice(ctx, tx, desk, r, "placed", p); err != nil {
			return nil, err
		}
		return &eventlog.Event{Kind: "request.placed", Data: eventData(map[string]any{"rank": rank, "location_id": loc.String()})}, nil
	})
	if err != nil {
		return err
	}
	if taken {
		return ErrPlaceTaken
	}
	s.opts.Catalog.PlacesChanged(ctx, region)
	if notice != nil {
		s.notify(ctx, *notice)
	}
	return nil
}

// Decline records that the parent does not want the offered place.
func (s *Service) Decline(ctx context.Context, id RequestID, rank int, actor Actor) error {
	return s.change(ctx, id, actor, func(ctx context.Context, tx *tenancy.Tx, r *Request, now time.Time) (*eventlog.Event, error) {
		p, err := r.preference(rank)
		if err != nil {
			return nil, err
		}
		if err := checkPreferenceMove(p.State, PreferenceDeclined); err != nil {
			return nil, err
		}
		p.State, p.RespondedAt = PreferenceDeclined, &now
		if err := s.updatePreference(ctx, tx, p, "state", "responded_at"); err != nil {
			return nil, err
		}
		return &eventlog.Event{Kind: "preference.declined", FromState: string(PreferenceOffered), ToState: string(PreferenceDeclined),
			Data: eventData(map[string]any{"rank": rank})}, s.settle(ctx, tx, r, now)
	})
}

// Withdraw ends an open request at the family's wish; open preferences close.
func (s *Service) Withdraw(ctx context.Context, id RequestID, why string, actor Actor) error {
	return s.end(ctx, id, StatusWithdrawn, why, actor, "")
}

// Close ends an open request for another reason (moved away, merged duplicate).
func (s *Service) Close(ctx context.Context, id RequestID, why string, actor Actor) error {
	return s.end(ctx, id, StatusClosed, why, actor, "")
}

// end moves an open request to a final status; tell, if not empty, is the
// kind of notice the family then gets.
func (s *Service) end(ctx context.Context, id RequestID, to Status, why string, actor Actor, tell string) error {
	desk, err := s.desk(ctx)
	if err != nil {
		return err
	}
	var notice *Notice
	err = s.change(ctx, id, actor, func(ctx context.Context, tx *tenancy.Tx, r *Request, now time.Time) (*eventlog.Event, error) {
		from := r.Status
		if err := s.setStatus(ctx, tx, r, to, now); err != nil {
			return nil, err
		}
		if err := s.closeOpenPreferences(ctx, tx, r, 0); err != nil {
			return nil, err
		}
		if tell != "" {
			var err error
			if notice, err = s.parentNotice(ctx, tx, desk, r, tell, nil); err != nil {
				return nil, err
			}
		}
		return &eventlog.Event{Kind: "request." + string(to), FromState: string(from), ToState: string(to), Reason: sealed.Text(why)}, nil
	})
	if err == nil && notice != nil {
		s.notify(ctx, *notice)
	}
	return err
}

// ContactChange is what a parent may change on the status page.
type ContactChange struct {
	Email    string
	Phone    string
	Language string
}

// UpdateContact changes the first parent's contact details and the language.
func (s *Service) UpdateContact(ctx context.Context, id RequestID, c ContactChange, actor Actor) error {
	sub := Submission{Parents: []ParentInput{{FirstName: "x", LastName: "x", Email: c.Email, Phone: c.Phone}}, Language: c.Language}
	var es validate.Errors
	_, shape := validateShape(sub, 1, s.opts.Clock.Now(), false)
	for _, e := range shape {
		if strings.HasPrefix(e.Field, "parents[0].") || e.Field == "language" {
			e.Field = strings.TrimPrefix(e.Field, "parents[0].")
			es = append(es, e)
		}
	}
	if len(es) > 0 {
		return es
	}
	return s.change(ctx, id, actor, func(ctx context.Context, tx *tenancy.Tx, r *Request, now time.Time) (*eventlog.Event, error) {
		var child Child
		if err := tx.Select(&child).Where("id = ?", r.ChildID).Scan(ctx); err != nil {
			return nil, fmt.Errorf("requests: child: %w", err)
		}
		fam := Family{ID: child.FamilyID, Email: c.Email, Phone: c.Phone, Language: c.Language, UpdatedAt: now}
		q, err := tx.Update(&fam)
		if err != nil {
			return nil, err
		}
		if _, err := q.Column("email", "phone", "language", "updated_at").WherePK().Exec(ctx); err != nil {
			return nil, fmt.Errorf("requests: update contact: %w", err)
		}
		par := Parent{FamilyID: child.FamilyID, Position: 1, Email: c.Email, Phone: c.Phone}
		if q, err = tx.Update(&par); err != nil {
			return nil, err
		}
		if _, err := q.Column("email", "phone").WherePK().Exec(ctx); err != nil {
			return nil, fmt.Errorf("requests: update contact: %w", err)
		}
		return &eventlog.Event{Kind: "family.contact_changed"}, nil
	})
}

// MaxDeskNote is the longest desk note, in characters.
const MaxDeskNote = 4000

// AddNote adds a desk note to a request; notes are never shown outside the desk.
func (s *Service) AddNote(ctx context.Context, id RequestID, body string, actor Actor) (*Note, error) {
	body = strings.TrimSpace(body)
	var es validate.Errors
	switch {
	case body == "":
		es.Add("body", "required", "is required")
	case utf8.RuneCountInString(body) > MaxDeskNote:
		es.Add("body", "note_too_long", "is longer than %d characters", MaxDeskNote)
	case !Text(body):
		es.Add("body", "control", "contains a control character")
	}
	if len(es) > 0 {
		return nil, es
	}
	return s.store.AddNote(ctx, id, actor.String(), body)
}

// SetVulnerable marks or unmarks the family of a request as vulnerable.
func (s *Service) SetVulnerable(ctx context.Context, id RequestID, v bool, actor Actor) error {
	return s.setFamilyFlag(ctx, id, "vulnerable", v, actor)
}

// SetLegalHold puts the family of a request on legal hold (or takes it off):
// while held, the retention purge keeps everything of the family (a dispute,
// an inquiry). Only the desk's admins may (see the request page).
func (s *Service) SetLegalHold(ctx context.Context, id RequestID, hold bool, actor Actor) error {
	return s.setFamilyFlag(ctx, id, "legal_hold", hold, actor)
}

// RequestErasure records that the parent asks to erase her family's data
// (once; the desk decides, see EraseOrKeep). ErrTransition when already asked.
func (s *Service) RequestErasure(ctx context.Context, id RequestID) error {
	return s.change(ctx, id, Actor{Kind: ActorParent}, func(ctx context.Context, tx *tenancy.Tx, r *Request, now time.Time) (*eventlog.Event, error) {
		fam, err := familyOf(ctx, tx, r)
		if err != nil {
			return nil, err
		}
		if fam.ErasureRequestedAt != nil {
			return nil, fmt.Errorf("%w: erasure already asked", ErrTransition)
		}
		fam.ErasureRequestedAt, fam.UpdatedAt = &now, now
		q, err := tx.Update(fam)
		if err != nil {
			return nil, err
		}
		if _, err := q.Column("erasure_requested_at", "updated_at").WherePK().Exec(ctx); err != nil {
			return nil, fmt.Errorf("requests: erasure request: %w", err)
		}
		return &eventlog.Event{Kind: "family.erasure_requested"}, nil
	})
}

// KeepDespiteErasure records why the desk keeps the family's data although
// the parent asked for erasure (a legal obligation), and mails the reason
// to the parent.
func (s *Service) KeepDespiteErasure(ctx context.Context, id RequestID, reason string, actor Actor) error {
	reason = strings.TrimSpace(reason)
	if reason == "" {
		return validate.Errors{{Field: "reason", Code: "required", Message: "say which legal obligation keeps the data"}}
	}
	var notice *Notice
	err := s.change(ctx, id, actor, func(ctx context.Context, tx *tenancy.Tx, r *Request, now time.Time) (*eventlog.Event, error) {
		fam, err := familyOf(ctx, tx, r)
		if err != nil {
			return nil, err
		}
		if fam.ErasureRequestedAt == nil {
			return nil, fmt.Errorf("%w: no erasure was asked", ErrTransition)
		}
		fam.ErasureReason, fam.UpdatedAt = sealed.Text(reason), now
		q, err := tx.Update(fam)
		if err != nil {
			return nil, err
		}
		if _, err := q.Column("erasure_reason", "updated_at").WherePK().Exec(ctx); err != nil {
			return nil, fmt.Errorf("requests: keep despite erasure: %w", err)
		}
		desk, err := s.desk(ctx)
		if err != nil {
			return nil, err
		}
		if notice, err = s.parentNoticeWhy(ctx, tx, desk, r, "erasure_kept", nil, reason); err != nil {
			return nil, err
		}
		return &eventlog.Event{Kind: "family.erasure_refused", Reason: sealed.Text(reason)}, nil
	})
	if err != nil {
		return err
	}
	if notice != nil {
		s.notify(ctx, *notice)
	}
	return nil
}

// WithdrawForErasure prepares the erasure of the family of request id that
// the desk grants: every open request of the family is withdrawn first, the
// way a withdrawal is (its event, the providers' systems told, out of the
// providers' inboxes), so the providers it reached learn it ended before
// its rows go. It returns the mail that tells the parent her data was
// erased; send it with SendNotice once the rows are gone.
func (s *Service) WithdrawForErasure(ctx context.Context, id RequestID, actor Actor) (Notice, error) {
	desk, err := s.desk(ctx)
	if err != nil {
		return Notice{}, err
	}
	var n Notice
	var open []RequestID
	err = s.tenants.Tx(ctx, func(ctx context.Context, tx *tenancy.Tx) error {
		r, err := s.store.load(ctx, tx, id, false)
		if err != nil {
			return err
		}
		fam, err := familyOf(ctx, tx, r)
		if err != nil {
			return err
		}
		if fam.ErasureRequestedAt == nil {
			return fmt.Errorf("%w: no erasure was asked", ErrTransition)
		}
		var child Child
		if err := tx.Select(&child).Where("id = ?", r.ChildID).Scan(ctx); err != nil {
			return fmt.Errorf("requests: child: %w", err)
		}
		// No status link: it opens nothing once the family is erased.
		n = Notice{Kind: "erasure_done", Language: fam.Language, To: fam.Email, DeskName: desk.DisplayName(fam.Language),
			ChildFirstName: child.FirstName}
		var rows []struct {
			ID     RequestID `bun:"id"`
			Status Status    `bun:"status"`
		}
		q := tx.Select((*Request)(nil)).ColumnExpr("request.id, request.status")
		q = tx.Join(q, "JOIN", "children", "c", "c.id = request.child_id")
		if err := q.Where("c.family_id = ?", fam.ID).OrderExpr("request.created_at").Scan(ctx, &rows); err != nil {
			return fmt.Errorf("requests: requests of the family: %w", err)
		}
		for _, row := range rows {
			if row.Status.Open() {
				open = append(open, row.ID)
			}
		}
		return nil
	})
	if err != nil {
		return Notice{}, err
	}
	for _, rid := range open {
		if err := s.Withdraw(ctx, rid, "erasure", actor); err != nil {
			return Notice{}, fmt.Errorf("requests: withdraw before erasure: %w", err)
		}
	}
	return n, nil
}

// SendNotice sends n to the family of the desk in ctx: stored in the
// desk's outbox when there is one, otherwise through the notifier.
func (s *Service) SendNotice(ctx context.Context, n Notice) error {
	if n.To == "" {
		return nil
	}
	stored := false
	if err := s.tenants.Tx(ctx, func(ctx context.Context, tx *tenancy.Tx) error {
		var err error
		stored, err = s.storeNotices(ctx, tx, []Notice{n})
		return err
	}); err != nil {
		return err
	}
	if !stored {
		s.notify(ctx, n)
	}
	return nil
}

func familyOf(ctx context.Context, tx *tenancy.Tx, r *Request) (*Family, error) {
	var child Child
	if err := tx.Select(&child).Where("id = ?", r.ChildID).Scan(ctx); err != nil {
		return nil, fmt.Errorf("requests: child: %w", err)
	}
	fam := &Family{}
	if err := tx.Select(fam).Where("id = ?", child.FamilyID).Scan(ctx); err != nil {
		return nil, fmt.Errorf("requests: family: %w", err)
	}
	return fam, nil
}

// setFamilyFlag sets a boolean column of the request's family, with the
// event family.<column>.
func (s *Service) setFamilyFlag(ctx context.Context, id RequestID, column string, v bool, actor Actor) error {
	return s.change(ctx, id, actor, func(ctx context.Context, tx *tenancy.Tx, r *Request, now time.Time) (*eventlog.Event, error) {
		var child Child
		if err := tx.Select(&child).Where("id = ?", r.ChildID).Scan(ctx); err != nil {
			return nil, fmt.Errorf("requests: child: %w", err)
		}
		fam := Family{ID: child.FamilyID, Vulnerable: v, LegalHold: v, UpdatedAt: now}
		q, err := tx.Update(&fam)
		if err != nil {
			return nil, err
		}
		if _, err := q.Column(column, "updated_at").WherePK().Exec(ctx); err != nil {
			return nil, fmt.Errorf("requests: set %s: %w", column, err)
		}
		return &eventlog.Event{Kind: "family." + column, ToState: fmt.Sprint(v)}, nil
	})
}

// ResolveDuplicate settles a duplicate hint: merge closes this request as a
// duplicate, keep records that it is a request of its own.
func (s *Service) ResolveDuplicate(ctx context.Context, id RequestID, merge bool, actor Actor) error {
	return s.change(ctx, id, actor, func(ctx context.Context, tx *tenancy.Tx, r *Request, now time.Time) (*eventlog.Event, error) {
		if r.DuplicateState != DuplicateSuspected && r.DuplicateState != DuplicateLikely {
			return nil, fmt.Errorf("%w: no duplicate to resolve", ErrTransition)
		}
		from := r.DuplicateState
		if !merge {
			r.DuplicateState = DuplicateKept
			return &eventlog.Event{Kind: "request.duplicate_kept", FromState: from, ToState: DuplicateKept},
				s.updateRequest(ctx, tx, r, "duplicate_state")
		}
		r.DuplicateState = DuplicateMerged
		if err := s.updateRequest(ctx, tx, r, "duplicate_state"); err != nil {
			return nil, err
		}
		if err := s.setStatus(ctx, tx, r, StatusClosed, now); err != nil {
			return nil, err
		}
		return &eventlog.Event{Kind: "request.duplicate_merged", FromState: from, ToState: DuplicateMerged},
			s.closeOpenPreferences(ctx, tx, r, 0)
	})
}

// parentNotice builds a notice to the family of r about preference p. With
// an outbox notifier it is stored in tx at once, to commit with the change,
// and nil is returned; otherwise the caller sends it after the commit.
func (s *Service) parentNotice(ctx context.Context, tx *tenancy.Tx, desk tenant.Tenant, r *Request, kind string, p *Preference) (*Notice, error) {
	return s.parentNoticeWhy(ctx, tx, desk, r, kind, p, "")
}

// parentNoticeWhy is parentNotice with the desk's reason in the mail.
func (s *Service) parentNoticeWhy(ctx context.Context, tx *tenancy.Tx, desk tenant.Tenant, r *Request, kind string, p *Preference, why string) (*Notice, error) {
	var child Child
	if err := tx.Select(&child).Where("id = ?", r.ChildID).Scan(ctx); err != nil {
		return nil, err
	}
	var fam Family
	if err := tx.Select(&fam).Where("id = ?", child.FamilyID).Scan(ctx); err != nil {
		return nil, err
	}
	n := &Notice{Kind: kind, Language: fam.Language, To: fam.Email, DeskName: desk.DisplayName(fam.Language),
		StatusURL: s.StatusURL(desk.Slug, r), ChildFirstName: child.FirstName, Reason: why}
	if p != nil {
		n.Deadline = p.OfferDeadline
		if refs, err := locationRefs(ctx, tx.Unscoped(), []Preference{*p}); err == nil {
			n.LocationName = refs[p.LocationID].Name
		}
	}
	if n.To == "" {
		return n, nil
	}
	if stored, err := s.storeNotices(ctx, tx, []Notice{*n}); err != nil || stored {
		return nil, err
	}
	return n, nil
}

func eventData(m map[string]any) json.RawMessage {
	b, _ := json.Marshal(m)
	return b
}
