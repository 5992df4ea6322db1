package webhooks_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/uptrace/bun"

	"github.com/loket-kinderopvang/loket/internal/catalog"
	"github.com/loket-kinderopvang/loket/internal/geo"
	"github.com/loket-kinderopvang/loket/internal/platform/clock"
	"github.com/loket-kinderopvang/loket/internal/platform/db"
	"github.com/loket-kinderopvang/loket/internal/platform/dbtest"
	"github.com/loket-kinderopvang/loket/internal/platform/sealed"
	"github.com/loket-kinderopvang/loket/internal/platform/tenancy"
	"github.com/loket-kinderopvang/loket/internal/tenant/tenanttest"
	"github.com/loket-kinderopvang/loket/internal/webhooks"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// received is one request a receiver got, its signature checked.
type received struct {
	id, event, subject string
}

// receiver is an httptest server that verifies the Standard Webhooks
// signature of every request with the spec's algorithm (written out here,
// not the package's Sign) and records what it got; while down it answers 503.
type receiver struct {
	t      *testing.T
	srv    *httptest.Server
	secret string
	down   atomic.Bool
	mu     sync.Mutex
	got    []received
	bad    int
}

func newReceiver(t *testing.T) *receiver {
	rc := &receiver{t: t}
	rc.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if rc.down.Load() {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		body, _ := io.ReadAll(r.Body)
		id, ts := r.Header.Get("webhook-id"), r.Header.Get("webhook-timestamp")
		key, _ := base64.StdEncoding.DecodeString(strings.TrimPrefix(rc.secret, "whsec_"))
		mac := hmac.New(sha256.New, key)
		mac.Write([]byte(id + "." + ts + "." + string(body)))
		want := base64.StdEncoding.EncodeToString(mac.Sum(nil))
		ok := false
		for _, sig := range strings.Fields(r.Header.Get("webhook-signature")) {
			v, s, _ := strings.Cut(sig, ",")
			ok = ok || (v == "v1" && hmac.Equal([]byte(s), []byte(want)))
		}
		if _, err := strconv.ParseInt(ts, 10, 64); err != nil {
			ok = false
		}
		var payload struct {
			Type string         `json:"type"`
			Data map[string]any `json:"data"`
		}
		_ = json.Unmarshal(body, &payload)
		rc.mu.Lock()
		defer rc.mu.Unlock()
		if !ok {
			rc.bad++
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		subject, _ := payload.Data["request_id"].(string)
		if subject == "" {
			subject, _ = payload.Data["location_id"].(string) // places.stale
		}
		rc.got = append(rc.got, received{id: id, event: payload.Type, subject: subject})
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(rc.srv.Close)
	return rc
}

func (rc *receiver) received() []received {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]received(nil), rc.got...)
}

type fixture struct {
	d                *db.DB
	clk              *clock.Fixed
	desk             context.Context
	svc              *webhooks.Service
	provider, other  uuid.UUID
	location, otherL uuid.UUID
}

func setup(t *testing.T, d *db.DB) *fixture {
	t.Helper()
	ctx := context.Background()
	if _, err := geo.Sync(ctx, d.DB); err != nil {
		t.Fatal(err)
	}
	clk := clock.NewFixed(time.Date(2027, 3, 1, 9, 0, 0, 0, time.UTC))
	dir := tenanttest.SyncDemo(t, d, clk)
	leuven, _ := dir.BySlug("leuven")
	cat := catalog.NewStore(d, clk)
	svc, err := webhooks.NewService(d, clk, webhooks.Guard{AllowPrivate: true}, sealed.MustRandom("test-"))
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{d: d, clk: clk, desk: tenancy.WithTenant(ctx, leuven.ID), svc: svc}
	for i, name := range []string{"vzw De Testboom", "Onthaalouder Testmans"} {
		p := catalog.Provider{Name: name}
		if err := cat.SaveProvider(ctx, &p); err != nil {
			t.Fatal(err)
		}
		l := catalog.Location{DossierNumber: fmt.Sprintf("WH-%d", i), Name: name + " locatie", Street: "Speelpleinstraat 1",
			Postcode: "2440", MunicipalityNIS: "13008", Lat: 51.16, Lon: 4.99,
			CareType: catalog.Groepsopvang, SubsidyTier: catalog.TierT2A, LicensedPlaces: 18, MaxAgeMonths: 36,
			OpeningHours: catalog.WeekHours{{Open: "07:00", Close: "18:30"}}, AcceptsRequests: true,
			Languages: []string{"nl"}, Email: "info@testboom.example", ProviderID: p.ID}
		if err := cat.SaveLocation(ctx, &l); err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			f.provider, f.location = p.ID.UUID, l.ID.UUID
		} else {
			f.other, f.otherL = p.ID.UUID, l.ID.UUID
		}
	}
	return f
}

func (f *fixture) enqueue(t *testing.T, evs ...webhooks.Event) {
	t.Helper()
	for i := range evs {
		evs[i].Data = map[string]any{"request_id": evs[i].SubjectID.String()}
	}
	err := tenancy.NewStore(f.d).Tx(f.desk, func(ctx context.Context, tx *tenancy.Tx) error {
		return webhooks.EnqueueTx(ctx, tx, f.clk.Now(), evs)
	})
	if err != nil {
		t.Fatal(err)
	}
}

func (f *fixture) register(t *testing.T, provider uuid.UUID, rc *receiver, events ...string) *webhooks.Endpoint {
	t.Helper()
	e, err := f.svc.Register(context.Background(), provider, rc.srv.URL+"/hooks", events, "beheer@testboom.example")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(e.Secret.String(), "whsec_") {
		t.Fatalf("secret %q lacks the whsec_ prefix", e.Secret)
	}
	rc.secret = e.Secret.String()
	return e
}

// TestWebhookDeliveredOnceSigned: an event for a provider's location is
// delivered once to each of its endpoints that subscribed to it, with a
// signature the Standard Webhooks algorithm accepts; other endpoints and
// other providers get nothing.
func TestWebhookDeliveredOnceSigned(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := setup(t, d)
		a, b, other, unsubscribed := newReceiver(t), newReceiver(t), newReceiver(t), newReceiver(t)
		f.register(t, f.provider, a, webhooks.RequestCreated, webhooks.OfferAccepted)
		f.register(t, f.provider, b, webhooks.RequestCreated)
		f.register(t, f.other, other, webhooks.RequestCreated)
		f.register(t, f.provider, unsubscribed, webhooks.RequestWithdrawn)
		req := uuid.New()
		f.enqueue(t, webhooks.Event{Type: webhooks.RequestCreated, SubjectID: req, Locations: []uuid.UUID{f.location}})

		relay := webhooks.NewRelay(d, f.clk, webhooks.Guard{AllowPrivate: true}, quiet)
		if n, err := relay.Deliver(context.Background()); err != nil || n != 2 {
			t.Fatalf("first round: %d delivered, %v; want 2", n, err)
		}
		f.clk.Advance(time.Hour)
		if n, err := relay.Deliver(context.Background()); err != nil || n != 0 {
			t.Fatalf("second round: %d delivered, %v; want none", n, err)
		}
		for name, rc := range map[string]*receiver{"a": a, "b": b} {
			got := rc.received()
			if len(got) != 1 || got[0].event != webhooks.RequestCreated || got[0].subject != req.String() || rc.bad != 0 {
				t.Errorf("endpoint %s got %+v (bad signatures %d), want one request.created", name, got, rc.bad)
			}
		}
		if len(other.received()) != 0 || len(unsubscribed.received()) != 0 {
			t.Errorf("another provider or an unsubscribed endpoint was told: %v %v", other.received(), unsubscribed.received())
		}
	})
}

// TestWebhookReceiverDownThenUp: while the receiver is down, deliveries are
// retried with growing waits and a request's later events wait for its
// earlier ones; once it is up, it gets every event, in order per request;
// failing long enough pauses the endpoint and tells its admin.
func TestWebhookReceiverDownThenUp(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := setup(t, d)
		rc := newReceiver(t)
		ep := f.register(t, f.provider, rc, webhooks.RequestCreated, webhooks.OfferAccepted, webhooks.RequestWithdrawn)
		rc.down.Store(true)
		reqs := []uuid.UUID{uuid.New(), uuid.New(), uuid.New()}
		order := []string{webhooks.RequestCreated, webhooks.OfferAccepted, webhooks.RequestWithdrawn}
		for _, typ := range order {
			for _, r := range reqs {
				f.enqueue(t, webhooks.Event{Type: typ, SubjectID: r, Locations: []uuid.UUID{f.location}})
				f.clk.Advance(time.Second)
			}
		}
		relay := webhooks.NewRelay(d, f.clk, webhooks.Guard{AllowPrivate: true}, quiet)
		relay.PauseAfter = 1000
		ctx := context.Background()
		var waits []time.Duration
		for range 5 {
			if n, err := relay.Deliver(ctx); err != nil || n != 0 {
				t.Fatalf("receiver down: %d delivered, %v", n, err)
			}
			log, err := f.svc.Deliveries(ctx, f.provider, ep.ID, 100)
			if err != nil {
				t.Fatal(err)
			}
			tried := 0
			for _, dl := range log {
				if dl.Attempts > 0 {
					tried++
					if dl.EventType != webhooks.RequestCreated || dl.LastStatus != http.StatusServiceUnavailable || dl.NextAttemptAt == nil {
						t.Fatalf("only each request's first event may be tried, and its answer kept: %+v", dl)
					}
				}
			}
			if tried != len(reqs) {
				t.Fatalf("%d deliveries tried, want %d (one per request)", tried, len(reqs))
			}
			wait := latestNext(log).Sub(f.clk.Now())
			waits = append(waits, wait)
			f.clk.Advance(wait)
		}
		for i := 1; i < len(waits); i++ {
			if waits[i] <= waits[i-1] {
				t.Errorf("waits between attempts must grow: %v", waits)
			}
		}
		rc.down.Store(false)
		for range 20 {
			if _, err := relay.Deliver(ctx); err != nil {
				t.Fatal(err)
			}
			f.clk.Advance(time.Minute)
		}
		got := rc.received()
		if len(got) != len(reqs)*len(order) || rc.bad != 0 {
			t.Fatalf("got %d events (%d badly signed), want %d", len(got), rc.bad, len(reqs)*len(order))
		}
		for _, r := range reqs {
			var seen []string
			for _, g := range got {
				if g.subject == r.String() {
					seen = append(seen, g.event)
				}
			}
			if strings.Join(seen, " ") != strings.Join(order, " ") {
				t.Errorf("request %s: events %v, want %v", r, seen, order)
			}
		}

		// Failing for good: the endpoint is paused after PauseAfter
		// failures in a row, and its admin is told once.
		rc.down.Store(true)
		relay.PauseAfter = 3
		var told []string
		relay.Paused = func(_ context.Context, e webhooks.Endpoint) { told = append(told, e.Contact) }
		f.enqueue(t, webhooks.Event{Type: webhooks.RequestCreated, SubjectID: uuid.New(), Locations: []uuid.UUID{f.location}})
		for range 6 {
			if _, err := relay.Deliver(ctx); err != nil {
				t.Fatal(err)
			}
			f.clk.Advance(3 * time.Hour)
		}
		e, err := f.svc.Endpoint(ctx, f.provider, ep.ID)
		if err != nil {
			t.Fatal(err)
		}
		if e.PausedAt == nil || len(told) != 1 || told[0] != "beheer@testboom.example" {
			t.Fatalf("a failing endpoint is paused and its admin told once: paused %v, told %v", e.PausedAt, told)
		}
		// "Send again" after the admin fixed it.
		rc.down.Store(false)
		if err := f.svc.Resume(ctx, f.provider, ep.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := relay.Deliver(ctx); err != nil {
			t.Fatal(err)
		}
		log, _ := f.svc.Deliveries(ctx, f.provider, ep.ID, 1)
		if log[0].DeliveredAt == nil || log[0].LastStatus != http.StatusNoContent {
			t.Fatalf("after resuming, the waiting delivery goes out: %+v", log[0])
		}
		before := len(rc.received())
		if err := f.svc.SendAgain(ctx, f.provider, ep.ID, log[0].ID); err != nil {
			t.Fatal(err)
		}
		if n, err := relay.Deliver(ctx); err != nil || n != 1 || len(rc.received()) != before+1 {
			t.Fatalf("send again: %d delivered, %v", n, err)
		}
	})
}

// latestNext is the latest next try in log.
func latestNext(log []webhooks.Delivery) time.Time {
	var latest time.Time
	for _, d := range log {
		if d.NextAttemptAt != nil && d.NextAttemptAt.After(latest) {
			latest = *d.NextAttemptAt
		}
	}
	return latest
}

// TestWebhookRelaysOnReplicasDeliverEachOnce: three relays on one
// PostgreSQL outbox post 60 deliveries, each exactly once.
func TestWebhookRelaysOnReplicasDeliverEachOnce(t *testing.T) {
	d := dbtest.Open(t, db.Postgres)
	f := setup(t, d)
	rc := newReceiver(t)
	f.register(t, f.provider, rc, webhooks.RequestCreated)
	const n = 60
	for range n {
		f.enqueue(t, webhooks.Event{Type: webhooks.RequestCreated, SubjectID: uuid.New(), Locations: []uuid.UUID{f.location}})
	}
	ctx := context.Background()
	var wg sync.WaitGroup
	var sent atomic.Int64
	for range 3 {
		relay := webhooks.NewRelay(d, clock.System{}, webhooks.Guard{AllowPrivate: true}, quiet)
		relay.Batch = 5
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 30 {
				k, err := relay.Deliver(ctx)
				if err != nil {
					t.Error(err)
					return
				}
				sent.Add(int64(k))
			}
		}()
	}
	wg.Wait()
	got := rc.received()
	seen := map[string]int{}
	for _, g := range got {
		seen[g.id]++
	}
	if len(got) != n || len(seen) != n || sent.Load() != n {
		t.Fatalf("%d posts of %d distinct deliveries (%d counted sent), want each of %d once", len(got), len(seen), sent.Load(), n)
	}
}

// TestWebhookPrivateAddressRefused: a URL on loopback or a private range is
// refused at registration, whether written as an address or as a name that
// resolves to one; and the relay checks the address it connects to, so a
// name that resolves to loopback at send time is not reached either.
func TestWebhookPrivateAddressRefused(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := setup(t, d)
		ctx := context.Background()
		strict, err := webhooks.NewService(d, f.clk, webhooks.Guard{}, sealed.MustRandom("test-"))
		if err != nil {
			t.Fatal(err)
		}
		rc := newReceiver(t)
		port := rc.srv.URL[strings.LastIndex(rc.srv.URL, ":")+1:]
		for _, u := range []string{"http://127.0.0.1:" + port + "/h", "http://localhost:" + port + "/h", "https://10.1.2.3/h",
			"https://192.168.0.10/h", "https://169.254.169.254/latest", "https://[::1]/h", "https://[fe80::1]/h"} {
			if _, err := strict.Register(ctx, f.provider, u, []string{webhooks.RequestCreated}, ""); !errors.Is(err, webhooks.ErrPrivate) {
				t.Errorf("%s: %v, want refused as private", u, err)
			}
		}
		if _, err := strict.Register(ctx, f.provider, "ftp://opvang.example/h", []string{webhooks.RequestCreated}, ""); !errors.Is(err, webhooks.ErrURL) {
			t.Errorf("ftp URL: %v, want refused", err)
		}
		// A name that does not exist (a typo) is told apart from a malformed
		// URL: the provider must check the name, not the form (.invalid never
		// resolves, RFC 6761).
		_, err = strict.Register(ctx, f.provider, "https://planning.opvang.invalid/h", []string{webhooks.RequestCreated}, "")
		if !errors.Is(err, webhooks.ErrHost) || errors.Is(err, webhooks.ErrURL) {
			t.Errorf("unknown host: %v, want ErrHost", err)
		}
		// Registered while the name pointed elsewhere (here: allowed by a
		// lenient operator setting), sent by a strict relay: refused at the
		// connection.
		e, err := f.svc.Register(ctx, f.provider, "http://localhost:"+port+"/h", []string{webhooks.RequestCreated}, "")
		if err != nil {
			t.Fatal(err)
		}
		rc.secret = e.Secret.String()
		f.enqueue(t, webhooks.Event{Type: webhooks.RequestCreated, SubjectID: uuid.New(), Locations: []uuid.UUID{f.location}})
		if n, err := webhooks.NewRelay(d, f.clk, webhooks.Guard{}, quiet).Deliver(ctx); err != nil || n != 0 {
			t.Fatalf("strict relay: %d delivered, %v", n, err)
		}
		log, err := f.svc.Deliveries(ctx, f.provider, e.ID, 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(rc.received()) != 0 || len(log) != 1 || !strings.Contains(log[0].LastError, "private") {
			t.Fatalf("the relay reached a loopback address: received %v, log %+v", rc.received(), log)
		}
	})
}

// TestWebhookRelayRoleIsNarrow: on PostgreSQL the relay's role reads every
// desk's deliveries and marks them, pauses endpoints, and nothing else.
func TestWebhookRelayRoleIsNarrow(t *testing.T) {
	d := dbtest.Open(t, db.Postgres)
	f := setup(t, d)
	rc := newReceiver(t)
	f.register(t, f.provider, rc, webhooks.RequestCreated)
	f.enqueue(t, webhooks.Event{Type: webhooks.RequestCreated, SubjectID: uuid.New(), Locations: []uuid.UUID{f.location}})
	ctx := context.Background()
	var n int
	if err := d.NewRaw("SELECT count(*) FROM webhook_deliveries").Scan(ctx, &n); err != nil || n != 0 {
		t.Errorf("the application role without a desk reads %d deliveries (%v), want 0", n, err)
	}
	asRelay := func(query string) error {
		return d.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
			if _, err := tx.ExecContext(ctx, "SET LOCAL ROLE "+webhooks.RelayRole); err != nil {
				return err
			}
			_, err := tx.ExecContext(ctx, query)
			return err
		})
	}
	for _, q := range []string{
		"UPDATE webhook_deliveries SET attempts = attempts + 1, next_attempt_at = now()",
		"UPDATE webhook_endpoints SET failures = failures + 1",
	} {
		if err := asRelay(q); err != nil {
			t.Errorf("the relay cannot %s: %v", q, err)
		}
	}
	for _, q := range []string{
		"SELECT count(*) FROM families",
		"SELECT count(*) FROM requests",
		"UPDATE webhook_deliveries SET payload = 'anders'",
		"UPDATE webhook_endpoints SET url = 'https://indringer.example'",
		"DELETE FROM webhook_deliveries",
		"INSERT INTO webhook_endpoints (id, provider_id, url, events, secret, created_at) SELECT gen_random_uuid(), provider_id, url, events, secret, now() FROM webhook_endpoints",
	} {
		var pgErr *pgconn.PgError
		if err := asRelay(q); !errors.As(err, &pgErr) || pgErr.Code != "42501" {
			t.Errorf("as the relay, %s: err = %v, want permission denied (42501)", q, err)
		}
	}
}

// TestEndpointSecretSealedAtRest: the secret that signs a provider's
// deliveries is stored sealed, so a database dump alone cannot forge its
// webhooks; a secret stored plain (registered before sealing) still signs,
// and Reseal seals it without changing it.
func TestEndpointSecretSealedAtRest(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := setup(t, d)
		ctx := context.Background()
		rc := newReceiver(t)
		e := f.register(t, f.provider, rc, webhooks.RequestCreated)
		stored := func() string {
			var raw string
			if err := d.NewSelect().Table("webhook_endpoints").Column("secret").Where("id = ?", e.ID).Scan(ctx, &raw); err != nil {
				t.Fatal(err)
			}
			return raw
		}
		secret := e.Secret.String()
		if raw := stored(); !sealed.IsSealed(raw) || strings.Contains(raw, strings.TrimPrefix(secret, "whsec_")) {
			t.Fatalf("stored secret %q: want it sealed", raw)
		}

		// As registered before secrets were sealed.
		if _, err := d.NewUpdate().Table("webhook_endpoints").Set("secret = ?", secret).Where("id = ?", e.ID).Exec(ctx); err != nil {
			t.Fatal(err)
		}
		relay := webhooks.NewRelay(d, f.clk, webhooks.Guard{AllowPrivate: true}, quiet)
		f.enqueue(t, webhooks.Event{Type: webhooks.RequestCreated, SubjectID: uuid.New(), Locations: []uuid.UUID{f.location}})
		if n, err := relay.Deliver(ctx); err != nil || n != 1 {
			t.Fatalf("with the plain secret: %d delivered, %v", n, err)
		}
		kr := sealed.MustRandom("rotated-")
		if err := sealed.Use(kr); err != nil {
			t.Fatal(err)
		}
		if n, err := f.svc.Reseal(ctx, kr, 1); err != nil || n != 1 {
			t.Fatalf("reseal: %d rewritten, %v; want 1", n, err)
		}
		if raw := stored(); !strings.HasPrefix(raw, kr.CurrentPrefix()) {
			t.Fatalf("after reseal the secret is stored as %q, want sealed with the current key", raw)
		}
		if n, err := f.svc.Reseal(ctx, kr, 1); err != nil || n != 0 {
			t.Errorf("a second reseal rewrote %d, %v; want none", n, err)
		}
		f.enqueue(t, webhooks.Event{Type: webhooks.RequestCreated, SubjectID: uuid.New(), Locations: []uuid.UUID{f.location}})
		if n, err := relay.Deliver(ctx); err != nil || n != 1 {
			t.Fatalf("with the resealed secret: %d delivered, %v", n, err)
		}
		if got := rc.received(); len(got) != 2 || rc.bad != 0 {
			t.Errorf("the receiver got %d deliveries, %d with a bad signature; want 2 good ones", len(got), rc.bad)
		}
	})
}
