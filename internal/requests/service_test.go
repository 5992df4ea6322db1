package requests_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/loket-kinderopvang/loket/internal/catalog"
	"github.com/loket-kinderopvang/loket/internal/eventlog"
	"github.com/loket-kinderopvang/loket/internal/geo"
	"github.com/loket-kinderopvang/loket/internal/platform/clock"
	"github.com/loket-kinderopvang/loket/internal/platform/db"
	"github.com/loket-kinderopvang/loket/internal/platform/dbtest"
	"github.com/loket-kinderopvang/loket/internal/platform/sealed"
	"github.com/loket-kinderopvang/loket/internal/platform/tenancy"
	"github.com/loket-kinderopvang/loket/internal/platform/validate"
	"github.com/loket-kinderopvang/loket/internal/requests"
	"github.com/loket-kinderopvang/loket/internal/tenant"
	"github.com/loket-kinderopvang/loket/tenants"
)

// day0 is "today" in these tests.
var day0 = time.Date(2027, 1, 11, 9, 0, 0, 0, time.UTC)

type fixture struct {
	svc     *requests.Service
	clk     *clock.Fixed
	cat     *catalog.Store
	dir     *tenant.Directory
	leuven  context.Context // desk contexts
	geel    context.Context
	locs    []uuid.UUID // three Leuven locations, 2 free baby places each in 2027-05
	mailbox *mailbox
}

type mailbox struct {
	mu      sync.Mutex
	notices []requests.Notice
}

func (m *mailbox) Notify(_ context.Context, n requests.Notice) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.notices = append(m.notices, n)
	return nil
}

func (m *mailbox) kinds() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []string
	for _, n := range m.notices {
		out = append(out, n.Kind)
	}
	return out
}

func newFixture(t testing.TB, d *db.DB) *fixture {
	t.Helper()
	ctx := context.Background()
	specs, err := tenant.LoadDir(tenants.Demo)
	if err != nil {
		t.Fatal(err)
	}
	clk := clock.NewFixed(day0)
	ts := tenant.NewStore(d, clk)
	if _, err := ts.Sync(ctx, specs); err != nil {
		t.Fatal(err)
	}
	dir := tenant.NewDirectory(ts)
	if err := dir.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	cat := catalog.NewStore(d, clk)
	f := &fixture{clk: clk, cat: cat, dir: dir, mailbox: &mailbox{}}
	f.svc, err = requests.NewService(tenancy.NewStore(d), requests.Options{Clock: clk, DataKeys: sealed.MustRandom("test-"), Desks: dir, Catalog: cat,
		HashKey: []byte("a-test-key-of-enough-length-0123456789"), PublicURL: "https://loket.example", Notifier: f.mailbox})
	if err != nil {
		t.Fatal(err)
	}
	l, _ := dir.BySlug("leuven")
	g, _ := dir.BySlug("geel-laakdal-meerhout")
	f.leuven, f.geel = tenancy.WithTenant(ctx, l.ID), tenancy.WithTenant(ctx, g.ID)
	p := &catalog.Provider{Name: "Vzw Testopvang"}
	if err := cat.SaveProvider(ctx, p); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		loc := &catalog.Location{DossierNumber: fmt.Sprintf("T-%d", i), ProviderID: p.ID, Name: fmt.Sprintf("Testopvang %d", i),
			Postcode: "3000", MunicipalityNIS: geo.NISCode("24062"), Lat: 50.88, Lon: 4.70, CareType: catalog.Groepsopvang,
			SubsidyTier: catalog.TierT1, LicensedPlaces: 18, MaxAgeMonths: 36, Languages: []string{"nl"},
			Email: fmt.Sprintf("opvang%d@test.example", i), AcceptsRequests: true}
		if err := cat.SaveLocation(ctx, loc); err != nil {
			t.Fatal(err)
		}
		if err := cat.SetAvailability(ctx, "test", catalog.AvailabilityChange{LocationID: loc.ID, StartMonth: "2027-05",
			AgeBand: catalog.Baby, FreePlaces: 2}); err != nil {
			t.Fatal(err)
		}
		f.locs = append(f.locs, loc.ID.UUID)
	}
	return f
}

func (f *fixture) submission(name string, prefs ...uuid.UUID) requests.Submission {
	var ps []string
	for _, p := range prefs {
		ps = append(ps, p.String())
	}
	return requests.Submission{
		Child:        requests.ChildInput{FirstName: name, LastName: "Testkind", BirthDate: "2026-11-02"},
		Parents:      []requests.ParentInput{{FirstName: "Ouder", LastName: name, Email: strings.ToLower(name) + "@ouders.example"}},
		Language:     "nl",
		Address:      requests.AddressInput{MunicipalityNIS: "24062"},
		DesiredStart: "2027-05-03", FlexibilityWeeks: 2,
		CarePlan:       requests.CarePlanInput{Days: []string{"tue", "mon"}, DayPart: "whole"},
		Preferences:    ps,
		Reason:         "work",
		PriorityClaims: []string{"work_or_training"},
		PrivacyVersion: requests.PrivacyVersion,
	}
}

func (f *fixture) submit(t *testing.T, ctx context.Context, sub requests.Submission) *requests.Request {
	t.Helper()
	r, url, replayed, err := f.svc.Submit(ctx, sub, requests.Actor{Kind: requests.ActorParent}, "")
	if err != nil || replayed || url == "" {
		t.Fatalf("submit: %v (replayed %v, url %q)", err, replayed, url)
	}
	return r
}

var parent = requests.Actor{Kind: requests.ActorParent}
var provider = requests.Actor{Kind: requests.ActorProvider, ID: "p1"}

func offer() requests.Answer {
	return requests.Answer{Kind: requests.AnswerOffer, OfferStart: time.Date(2027, 5, 3, 0, 0, 0, 0, time.UTC), OfferDays: []string{"mon", "tue"}}
}

// TestLifecycleTable walks every pair of statuses and states: exactly the
// listed moves are possible.
func TestLifecycleTable(t *testing.T) {
	allowed := map[[2]requests.Status]bool{}
	for from, tos := range map[requests.Status][]requests.Status{
		"submitted": {"active", "offered", "withdrawn", "unanswered", "closed"},
		"active":    {"offered", "withdrawn", "unanswered", "closed"},
		"offered":   {"placed", "active", "withdrawn", "unanswered", "closed"},
	} {
		for _, to := range tos {
			allowed[[2]requests.Status{from, to}] = true
		}
	}
	for _, from := range requests.Statuses {
		for _, to := range requests.Statuses {
			if got := requests.CanMoveRequest(from, to); got != allowed[[2]requests.Status{from, to}] {
				t.Errorf("request %s → %s: allowed = %v", from, to, got)
			}
		}
	}
	prefAllowed := map[[2]requests.PreferenceState]bool{}
	for from, tos := range map[requests.PreferenceState][]requests.PreferenceState{
		"pending":      {"offered", "waiting_list", "no_place", "forwarded", "closed"},
		"forwarded":    {"offered", "waiting_list", "no_place", "closed"},
		"waiting_list": {"offered", "no_place", "closed"},
		"offered":      {"accepted", "declined", "lapsed", "no_place", "closed"},
	} {
		for _, to := range tos {
			prefAllowed[[2]requests.PreferenceState{from, to}] = true
		}
	}
	for _, from := range requests.PreferenceStates {
		for _, to := range requests.PreferenceStates {
			if got := requests.CanMovePreference(from, to); got != prefAllowed[[2]requests.PreferenceState{from, to}] {
				t.Errorf("preference %s → %s: allowed = %v", from, to, got)
			}
		}
	}
}

func TestValidationListsEveryField(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		bad := f.submission("Lotte", f.locs[0], f.locs[0], uuid.New())
		bad.Child.FirstName = ""
		bad.Child.NationalNumber = "12.34.56-789.00"
		bad.Parents[0].Email = "geen-adres"
		bad.Language = "de"
		bad.Address.MunicipalityNIS = "99999"
		bad.DesiredStart = "2026-01-01"
		bad.CarePlan.Days = []string{"mon", "holiday"}
		bad.Reason = "fun"
		bad.PrivacyVersion = ""
		_, _, _, err := f.svc.Submit(f.leuven, bad, parent, "")
		es, ok := validate.As(err)
		if !ok {
			t.Fatalf("want validation errors, got %v", err)
		}
		for _, field := range []string{"child.first_name", "child.national_number", "parents[0].email", "language",
			"address.municipality_nis", "desired_start", "care_plan.days", "preferences[1]", "preferences[2]", "reason",
			"privacy_consent_version"} {
			if !es.Has(field) {
				t.Errorf("no error for %s in %v", field, es)
			}
		}
		tooMany := f.submission("Lotte", f.locs...)
		desk, _ := f.dir.BySlug("leuven")
		for len(tooMany.Preferences) <= desk.MaxPreferences {
			tooMany.Preferences = append(tooMany.Preferences, uuid.NewString())
		}
		if es := f.svc.Validate(f.leuven, tooMany); !es.Has("preferences") {
			t.Errorf("more than the desk's %d preferences accepted: %v", desk.MaxPreferences, es)
		}
		list, _ := f.svc.Store().List(f.leuven, 10)
		if len(list) != 0 {
			t.Errorf("a refused submission stored %d requests", len(list))
		}
	})
}

// TestOfferAcceptClosesOthers: the path of the acceptance test, through the
// service: three preferences, an offer, the parent accepts, the request is
// placed, the seat is taken and the other two preferences are closed.
func TestOfferAcceptClosesOthers(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		r := f.submit(t, f.leuven, f.submission("Mila", f.locs...))
		if err := f.svc.Answer(f.leuven, r.ID, 2, offer(), provider); err != nil {
			t.Fatal(err)
		}
		if err := f.svc.Answer(f.leuven, r.ID, 3, requests.Answer{Kind: requests.AnswerNoPlace, Reason: requests.NoPlaceFull}, provider); err != nil {
			t.Fatal(err)
		}
		got, _ := f.svc.Get(f.leuven, r.ID)
		if got.Status != requests.StatusOffered || got.FirstAnswerAt == nil {
			t.Fatalf("after an offer: status %s, first answer %v", got.Status, got.FirstAnswerAt)
		}
		f.clk.Advance(24 * time.Hour)
		if err := f.svc.Accept(f.leuven, r.ID, 2, parent); err != nil {
			t.Fatal(err)
		}
		c, err := f.svc.Case(f.leuven, r.ID)
		if err != nil {
			t.Fatal(err)
		}
		states := []requests.PreferenceState{}
		for _, p := range c.Request.Preferences {
			states = append(states, p.State)
		}
		if c.Request.Status != requests.StatusPlaced || !slices.Equal(states, []requests.PreferenceState{"closed", "accepted", "no_place"}) {
			t.Errorf("placed request: status %s, preferences %v", c.Request.Status, states)
		}
		if c.Request.PlacedLocationID == nil || *c.Request.PlacedLocationID != f.locs[1] || c.Request.PlacedAt == nil {
			t.Errorf("placement not recorded: %+v", c.Request)
		}
		free, _ := catalog.FreePlacesTx(context.Background(), d.DB, catalog.LocationID{UUID: f.locs[1]}, "2027-05", catalog.Baby)
		if free != 1 {
			t.Errorf("free places after accepting = %d, want 1", free)
		}
		var kinds []string
		for _, e := range c.History {
			kinds = append(kinds, e.Kind+":"+e.FromState+">"+e.ToState)
		}
		want := []string{"request.submitted:>submitted", "preference.offered:pending>offered", "preference.no_place:pending>no_place", "request.placed:offered>placed"}
		if !slices.Equal(kinds, want) {
			t.Errorf("history = %v, want %v", kinds, want)
		}
		if got := f.mailbox.kinds(); !slices.Equal(got, []string{"submitted", "offer_made", "placed"}) {
			t.Errorf("notices = %v", got)
		}
		// Placed is final.
		if err := f.svc.Withdraw(f.leuven, r.ID, "", parent); !errors.Is(err, requests.ErrTransition) {
			t.Errorf("withdrawing a placed request: %v", err)
		}
	})
}

func TestAnswerRules(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		r := f.submit(t, f.leuven, f.submission("Jens", f.locs[0], f.locs[1]))
		noSeat := offer()
		noSeat.OfferStart = time.Date(2027, 9, 1, 0, 0, 0, 0, time.UTC)
		for name, a := range map[string]requests.Answer{
			"offer without a registered free place": noSeat,
			"no place without a reason":             {Kind: requests.AnswerNoPlace},
			"forward at a central desk":             {Kind: requests.AnswerForward},
			"unknown answer":                        {Kind: "maybe"},
		} {
			if _, ok := validate.As(f.svc.Answer(f.leuven, r.ID, 1, a, provider)); !ok {
				t.Errorf("%s: accepted", name)
			}
		}
		if err := f.svc.Answer(f.leuven, r.ID, 1, requests.Answer{Kind: requests.AnswerWaitingList}, provider); err != nil {
			t.Fatal(err)
		}
		if err := f.svc.Accept(f.leuven, r.ID, 1, parent); !errors.Is(err, requests.ErrTransition) {
			t.Errorf("accepting a waiting-list preference: %v", err)
		}
		// Registry desks may have a preference forwarded to them.
		g := f.submit(t, f.geel, f.submission("Wout", f.locs[2]))
		desk, _ := f.dir.ByID(mustTenant(f.geel))
		if desk.Mode == tenant.ModeRegistry {
			if err := f.svc.Answer(f.geel, g.ID, 1, requests.Answer{Kind: requests.AnswerForward}, provider); err != nil {
				t.Errorf("forward at a registry desk: %v", err)
			}
		}
		// A provider cannot answer for a location that is not theirs: not found.
		if err := f.svc.ProviderAnswer(context.Background(), "leuven", r.ID, 2, []uuid.UUID{f.locs[0]}, offer(), provider); !errors.Is(err, requests.ErrNotFound) {
			t.Errorf("answer for another provider's location: %v", err)
		}
		if err := f.svc.ProviderAnswer(context.Background(), "leuven", r.ID, 2, []uuid.UUID{f.locs[1]}, offer(), provider); err != nil {
			t.Errorf("answer for own location: %v", err)
		}
	})
}

func mustTenant(ctx context.Context) tenancy.ID {
	id, _ := tenancy.FromContext(ctx)
	return id
}

// TestDeadlines: offers lapse after their deadline, requests whose start date
// passed become unanswered, and reminders find what falls due. Time comes
// from a fixed clock.
func TestDeadlines(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		desk, _ := f.dir.BySlug("leuven")
		a := f.submit(t, f.leuven, f.submission("Ada", f.locs[0], f.locs[1]))
		b := f.submit(t, f.leuven, f.submission("Bas", f.locs[2]))
		if due, _ := f.svc.DueAnswers(f.leuven, 48*time.Hour); len(due) != 0 {
			t.Errorf("answers due now: %d", len(due))
		}
		f.clk.Advance(time.Duration(desk.ProviderResponseDays)*24*time.Hour - 24*time.Hour)
		due, err := f.svc.DueAnswers(f.leuven, 48*time.Hour)
		if err != nil || len(due) != 3 || due[0].LocationMail == "" {
			t.Fatalf("answers due within 2 days: %d (%v) %+v", len(due), err, due)
		}
		if err := f.svc.Answer(f.leuven, a.ID, 1, offer(), provider); err != nil {
			t.Fatal(err)
		}
		f.clk.Advance(time.Duration(desk.OfferAcceptanceDays-1) * 24 * time.Hour)
		offers, _ := f.svc.DueOffers(f.leuven, 48*time.Hour)
		if len(offers) != 1 || offers[0].ParentEmail != "ada@ouders.example" || !strings.Contains(offers[0].StatusURL, "/leuven/aanvraag/") {
			t.Errorf("offers due: %+v", offers)
		}
		if n, _ := f.svc.LapseOffers(f.leuven); n != 0 {
			t.Errorf("%d offers lapsed before the deadline", n)
		}
		f.clk.Advance(25 * time.Hour)
		if n, err := f.svc.LapseOffers(f.leuven); n != 1 || err != nil {
			t.Errorf("lapsed %d (%v), want 1", n, err)
		}
		got, _ := f.svc.Get(f.leuven, a.ID)
		if got.Status != requests.StatusActive || got.Preferences[0].State != requests.PreferenceLapsed {
			t.Errorf("after lapse: %s / %s", got.Status, got.Preferences[0].State)
		}
		if err := f.svc.Accept(f.leuven, a.ID, 1, parent); !errors.Is(err, requests.ErrTransition) {
			t.Errorf("accepting a lapsed offer: %v", err)
		}
		if n, _ := f.svc.MarkUnanswered(f.leuven); n != 0 {
			t.Errorf("%d unanswered before the start date", n)
		}
		f.clk.Advance(time.Until(time.Date(2027, 5, 4, 0, 0, 0, 0, time.UTC)) - time.Until(f.clk.Now()))
		if n, err := f.svc.MarkUnanswered(f.leuven); n != 2 || err != nil {
			t.Errorf("unanswered: %d (%v), want 2", n, err)
		}
		got, _ = f.svc.Get(f.leuven, b.ID)
		if got.Status != requests.StatusUnanswered || got.Preferences[0].State != requests.PreferenceClosed {
			t.Errorf("after start date: %s / %s", got.Status, got.Preferences[0].State)
		}
		// The families heard of the lapsed offer (Ada, with the location) and
		// of the start date passing (both), once each.
		told := map[string][]string{}
		f.mailbox.mu.Lock()
		for _, n := range f.mailbox.notices {
			if n.Kind == "offer_lapsed" || n.Kind == "unanswered" {
				told[n.Kind] = append(told[n.Kind], n.To)
				if n.StatusURL == "" || (n.Kind == "offer_lapsed" && n.LocationName == "") {
					t.Errorf("%s notice lacks its link or location: %+v", n.Kind, n)
				}
			}
		}
		f.mailbox.mu.Unlock()
		if !slices.Equal(told["offer_lapsed"], []string{"ada@ouders.example"}) {
			t.Errorf("lapsed-offer notices to %v", told["offer_lapsed"])
		}
		if slices.Sort(told["unanswered"]); !slices.Equal(told["unanswered"], []string{"ada@ouders.example", "bas@ouders.example"}) {
			t.Errorf("unanswered notices to %v", told["unanswered"])
		}
	})
}

// TestOfferDeadlineRefusesLateAccept: accepting after the deadline fails even
// before the scheduler let the offer lapse.
func TestOfferDeadlineRefusesLateAccept(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		r := f.submit(t, f.leuven, f.submission("Tuur", f.locs[0]))
		if err := f.svc.Answer(f.leuven, r.ID, 1, offer(), provider); err != nil {
			t.Fatal(err)
		}
		f.clk.Advance(31 * 24 * time.Hour)
		if err := f.svc.Accept(f.leuven, r.ID, 1, parent); !errors.Is(err, requests.ErrDeadlinePassed) {
			t.Errorf("late accept: %v", err)
		}
	})
}

func TestDuplicatesAcrossDesks(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		sub := f.submission("Fien", f.locs[0])
		sub.Child.NationalNumber = nationalNumber("261102", 123)
		first := f.submit(t, f.leuven, sub)
		second := f.submit(t, f.geel, sub)
		got, _ := f.svc.Get(f.geel, second.ID)
		if got.DuplicateState != requests.DuplicateSuspected || got.DuplicateOf != nil {
			t.Errorf("same national number in another desk: state %q, of %v", got.DuplicateState, got.DuplicateOf)
		}
		c, _ := f.svc.Case(f.geel, second.ID)
		if len(c.Duplicates) == 0 || c.Duplicates[0].DeskName == "" || c.Duplicates[0].RequestID != nil {
			t.Errorf("hint for a duplicate in another desk: %+v", c.Duplicates)
		}
		// Without a number, same name, birth date and contact in the same desk.
		plain := f.submission("Fien", f.locs[1])
		third := f.submit(t, f.leuven, plain)
		got, _ = f.svc.Get(f.leuven, third.ID)
		if got.DuplicateState != requests.DuplicateLikely || got.DuplicateOf == nil || *got.DuplicateOf != first.ID {
			t.Errorf("likely duplicate: state %q, of %v (first %s)", got.DuplicateState, got.DuplicateOf, first.ID)
		}
		if err := f.svc.ResolveDuplicate(f.leuven, third.ID, true, requests.Actor{Kind: requests.ActorDesk, ID: "w"}); err != nil {
			t.Fatal(err)
		}
		got, _ = f.svc.Get(f.leuven, third.ID)
		if got.Status != requests.StatusClosed || got.DuplicateState != requests.DuplicateMerged {
			t.Errorf("merged: %s %s", got.Status, got.DuplicateState)
		}
		if err := f.svc.ResolveDuplicate(f.geel, second.ID, false, requests.Actor{Kind: requests.ActorDesk, ID: "w"}); err != nil {
			t.Fatal(err)
		}
		if got, _ := f.svc.Get(f.geel, second.ID); got.DuplicateState != requests.DuplicateKept || !got.Status.Open() {
			t.Errorf("kept: %s %s", got.Status, got.DuplicateState)
		}
		// The national number itself is nowhere in the database.
		var n int
		if err := d.NewRaw("SELECT count(*) FROM children WHERE national_number_hash LIKE ?", "%"+sub.Child.NationalNumber+"%").Scan(context.Background(), &n); err != nil {
			t.Log(err) // RLS may hide the rows from the app role: that proves nothing either way
		}
		if n != 0 {
			t.Error("the national number is stored in clear")
		}
	})
}

// nationalNumber builds a valid invented national register number.
func nationalNumber(birth string, serial int) string {
	base := fmt.Sprintf("%s%03d", birth, serial)
	var n int64
	fmt.Sscan(base, &n)
	return fmt.Sprintf("%s%02d", base, 97-(2_000_000_000+n)%97)
}

func TestStatusLinks(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		r, url, _, err := f.svc.Submit(f.leuven, f.submission("Lou", f.locs[0]), parent, "")
		if err != nil {
			t.Fatal(err)
		}
		token := url[strings.LastIndex(url, "/")+1:]
		desk, id, err := f.svc.OpenStatusToken(context.Background(), token)
		if err != nil || id != r.ID || desk != mustTenant(f.leuven) {
			t.Fatalf("open own token: %v", err)
		}
		forged := []byte(token)
		forged[3] ^= 1
		if _, _, err := f.svc.OpenStatusToken(context.Background(), string(forged)); !errors.Is(err, requests.ErrBadToken) {
			t.Errorf("forged token: %v", err)
		}
		newURL, err := f.svc.RevokeStatusLinks(f.leuven, r.ID, parent)
		if err != nil || newURL == url {
			t.Fatalf("revoke: %v", err)
		}
		if _, _, err := f.svc.OpenStatusToken(context.Background(), token); !errors.Is(err, requests.ErrBadToken) {
			t.Errorf("revoked token still opens: %v", err)
		}
		if _, _, err := f.svc.OpenStatusToken(context.Background(), newURL[strings.LastIndex(newURL, "/")+1:]); err != nil {
			t.Errorf("new token: %v", err)
		}
	})
}

func TestInboxShowsOnlyWhatProvidersNeed(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		sub := f.submission("Roos", f.locs[0], f.locs[1])
		f.submit(t, f.leuven, sub)
		f.submit(t, f.geel, f.submission("Stan", f.locs[0]))
		items, err := f.svc.Inbox(context.Background(), uuid.New(), []uuid.UUID{f.locs[0]}, requests.Look{Actor: provider, What: eventlog.LookInbox}, nil)
		if err != nil || len(items) != 2 {
			t.Fatalf("inbox: %d items (%v), want 2 from two desks", len(items), err)
		}
		desks := []string{items[0].DeskSlug, items[1].DeskSlug}
		slices.Sort(desks)
		if !slices.Equal(desks, []string{"geel-laakdal-meerhout", "leuven"}) || items[0].LocationName == "" {
			t.Errorf("inbox desks %v", desks)
		}
		// Each desk's access log records the provider's read of its request.
		var n int
		err = tenancy.NewStore(d).Tx(f.leuven, func(ctx context.Context, tx *tenancy.Tx) error {
			c, err := tx.Select((*eventlog.Access)(nil)).Where("what = ?", eventlog.LookInbox).Where("actor = ?", provider.String()).Count(ctx)
			n = int(c)
			return err
		})
		if err != nil || n != 1 {
			t.Errorf("inbox reads logged in desk: %d (%v)", n, err)
		}
	})
}

// TestConcurrentAcceptsTakeExactlyTheFreePlaces: many families accept offers
// for the same location and month at once; exactly the free places are
// taken, every other family gets ErrPlaceTaken. PostgreSQL only: that is
// where concurrent transactions really interleave.
func TestConcurrentAcceptsTakeExactlyTheFreePlaces(t *testing.T) {
	d := dbtest.Open(t, db.Postgres)
	f := newFixture(t, d)
	const families = 24
	var ids []requests.RequestID
	for i := range families {
		ctx := f.leuven
		if i%2 == 1 {
			ctx = f.geel // families of two desks compete for one location
		}
		r := f.submit(t, ctx, f.submission(fmt.Sprintf("Kind%02d", i), f.locs[0]))
		if err := f.svc.Answer(ctx, r.ID, 1, offer(), provider); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, r.ID)
	}
	var wg sync.WaitGroup
	results := make([]error, families)
	start := make(chan struct{})
	for i := range families {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx := f.leuven
			if i%2 == 1 {
				ctx = f.geel
			}
			<-start
			results[i] = f.svc.Accept(ctx, ids[i], 1, parent)
		}()
	}
	close(start)
	wg.Wait()
	placed, taken := 0, 0
	for _, err := range results {
		switch {
		case err == nil:
			placed++
		case errors.Is(err, requests.ErrPlaceTaken):
			taken++
		default:
			t.Errorf("unexpected: %v", err)
		}
	}
	free, _ := catalog.FreePlacesTx(context.Background(), d.DB, catalog.LocationID{UUID: f.locs[0]}, "2027-05", catalog.Baby)
	if placed != 2 || taken != families-2 || free != 0 {
		t.Errorf("placed %d, refused %d, free left %d; want 2, %d, 0", placed, taken, free, families-2)
	}
}

// BenchmarkSubmitPostgres registers requests one after another on PostgreSQL
// (validation, duplicates across desks, idempotency key, one transaction).
func BenchmarkSubmitPostgres(b *testing.B) {
	d := dbtest.Open(b, db.Postgres)
	f := newFixture(b, d)
	b.ResetTimer()
	for i := range b.N {
		sub := f.submission(fmt.Sprintf("Bench%d", i), f.locs...)
		if _, _, _, err := f.svc.Submit(f.leuven, sub, parent, fmt.Sprintf("key-%d", i)); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSubmitParallelPostgres registers requests from many goroutines at
// once (16 per core) on PostgreSQL: concurrent registrations share batches (batch.go).
func BenchmarkSubmitParallelPostgres(b *testing.B) {
	d := dbtest.Open(b, db.Postgres)
	f := newFixture(b, d)
	var n atomic.Int64
	b.SetParallelism(16) // × GOMAXPROCS goroutines
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := n.Add(1)
			sub := f.submission(fmt.Sprintf("Bench%d", i), f.locs...)
			if _, _, _, err := f.svc.Submit(f.leuven, sub, parent, fmt.Sprintf("key-%d", i)); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
