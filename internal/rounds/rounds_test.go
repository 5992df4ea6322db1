package rounds_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/loket-kinderopvang/loket/frontend"
	"github.com/loket-kinderopvang/loket/internal/allocation"
	"github.com/loket-kinderopvang/loket/internal/catalog"
	"github.com/loket-kinderopvang/loket/internal/eventlog"
	"github.com/loket-kinderopvang/loket/internal/geo"
	"github.com/loket-kinderopvang/loket/internal/platform/clock"
	"github.com/loket-kinderopvang/loket/internal/platform/db"
	"github.com/loket-kinderopvang/loket/internal/platform/dbtest"
	"github.com/loket-kinderopvang/loket/internal/platform/sealed"
	"github.com/loket-kinderopvang/loket/internal/platform/tenancy"
	"github.com/loket-kinderopvang/loket/internal/platform/web"
	"github.com/loket-kinderopvang/loket/internal/requests"
	"github.com/loket-kinderopvang/loket/internal/rounds"
	"github.com/loket-kinderopvang/loket/internal/tenant"
	"github.com/loket-kinderopvang/loket/tenants"
)

type fixture struct {
	reqs   *requests.Service
	rounds *rounds.Service
	cat    *catalog.Store
	dir    *tenant.Directory
	ctx    context.Context // the Leuven desk (central mode)
	locs   []uuid.UUID
}

// newFixture: the demo desks, one provider with `locations` locations in
// Leuven, each with `free` baby places in 2027-05.
func newFixture(t testing.TB, d *db.DB, locations, free int) *fixture {
	t.Helper()
	ctx := context.Background()
	specs, err := tenant.LoadDir(tenants.Demo)
	if err != nil {
		t.Fatal(err)
	}
	clk := clock.NewFixed(time.Date(2027, 1, 11, 9, 0, 0, 0, time.UTC))
	ts := tenant.NewStore(d, clk)
	if _, err := ts.Sync(ctx, specs); err != nil {
		t.Fatal(err)
	}
	dir := tenant.NewDirectory(ts)
	if err := dir.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	cat := catalog.NewStore(d, clk)
	rs, err := requests.NewService(tenancy.NewStore(d), requests.Options{Clock: clk, DataKeys: sealed.MustRandom("test-"), Desks: dir, Catalog: cat,
		HashKey: []byte("a-test-key-of-enough-length-0123456789"), PublicURL: "https://loket.example"})
	if err != nil {
		t.Fatal(err)
	}
	desk, _ := dir.BySlug("leuven")
	f := &fixture{reqs: rs, rounds: rounds.New(tenancy.NewStore(d), rs, clk, messages(t)), cat: cat, dir: dir, ctx: tenancy.WithTenant(ctx, desk.ID)}
	p := &catalog.Provider{Name: "Vzw Rondetest"}
	if err := cat.SaveProvider(ctx, p); err != nil {
		t.Fatal(err)
	}
	var changes []catalog.AvailabilityChange
	for i := range locations {
		loc := &catalog.Location{DossierNumber: fmt.Sprintf("R-%d", i), ProviderID: p.ID, Name: fmt.Sprintf("Rondeopvang %d", i),
			Postcode: "3000", MunicipalityNIS: geo.NISCode("24062"), Lat: 50.88, Lon: 4.70, CareType: catalog.Groepsopvang,
			SubsidyTier: catalog.TierT1, LicensedPlaces: 50, MaxAgeMonths: 36, Languages: []string{"nl"}, AcceptsRequests: true}
		if err := cat.SaveLocation(ctx, loc); err != nil {
			t.Fatal(err)
		}
		changes = append(changes, catalog.AvailabilityChange{LocationID: loc.ID, StartMonth: "2027-05", AgeBand: catalog.Baby, FreePlaces: free})
		f.locs = append(f.locs, loc.ID.UUID)
	}
	if err := cat.SetAvailability(ctx, "test", changes...); err != nil {
		t.Fatal(err)
	}
	return f
}

func messages(t testing.TB) *web.Catalog {
	t.Helper()
	m, err := web.LoadCatalog(frontend.Locales)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func (f *fixture) submit(t testing.TB, i int, claims []string, prefs ...uuid.UUID) *requests.Request {
	t.Helper()
	var ps []string
	for _, p := range prefs {
		ps = append(ps, p.String())
	}
	r, _, _, err := f.reqs.Submit(f.ctx, requests.Submission{
		Child:    requests.ChildInput{FirstName: fmt.Sprintf("Kind%d", i), LastName: "Rondetest", BirthDate: "2026-11-02"},
		Parents:  []requests.ParentInput{{FirstName: "Ouder", LastName: "Rondetest", Email: fmt.Sprintf("o%d@ouders.example", i)}},
		Language: "nl", Address: requests.AddressInput{MunicipalityNIS: "24062"}, DesiredStart: "2027-05-03",
		CarePlan:    requests.CarePlanInput{Days: []string{"mon", "tue"}, DayPart: "whole"},
		Preferences: ps, Reason: "work", PriorityClaims: claims, PrivacyVersion: requests.PrivacyVersion,
	}, requests.Actor{Kind: requests.ActorAPI}, "")
	if err != nil {
		t.Fatal(err)
	}
	return r
}

var provider = requests.Actor{Kind: requests.ActorProvider, ID: "p"}

// TestRoundLifecycle: dry run, audit, re-run from the stored seed, publish,
// provider confirm (an offer the parent accepts) and refuse (no place), the
// explanation for parents, and a later round that leaves the placement alone.
func TestRoundLifecycle(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d, 2, 2) // 4 places
		var ids []requests.RequestID
		for i := range 6 {
			var claims []string
			if i < 3 {
				claims = []string{"work_or_training"}
			}
			ids = append(ids, f.submit(t, i, claims, f.locs[i%2], f.locs[(i+1)%2]).ID)
		}
		r, err := f.rounds.DryRun(f.ctx, "2027-05", "2027-05", allocation.Seed("42"), "worker")
		if err != nil {
			t.Fatal(err)
		}
		if r.Children != 6 || r.Placed != 4 || !r.AuditOK || r.Status != rounds.StatusDryRun {
			t.Fatalf("dry run: %d children, %d placed, audit %v, %s", r.Children, r.Placed, r.AuditOK, r.Status)
		}
		if same, err := f.rounds.Rerun(f.ctx, r.ID); err != nil || !same {
			t.Errorf("re-run from the stored input: same=%v (%v)", same, err)
		}
		again, _ := f.rounds.DryRun(f.ctx, "2027-05", "2027-05", allocation.Seed("42"), "worker")
		stored, _ := f.rounds.Get(f.ctx, r.ID)
		storedAgain, _ := f.rounds.Get(f.ctx, again.ID)
		if stored.Result != storedAgain.Result {
			t.Error("the same seed and requests gave another result")
		}
		// Priority: the three with a work claim are placed before the others.
		outs, _ := f.rounds.Outcomes(f.ctx, r.ID)
		texts, err := f.rounds.Explanations(f.ctx, stored, "fr")
		if err != nil {
			t.Fatal(err)
		}
		placed := map[requests.RequestID]bool{}
		for _, o := range outs {
			placed[o.RequestID] = o.LocationID != nil
			if !strings.HasPrefix(texts[o.RequestID], "Votre enfant") {
				t.Errorf("no French explanation for %s: %q", o.RequestID, texts[o.RequestID])
			}
		}
		for _, id := range ids[:3] {
			if !placed[id] {
				t.Errorf("a child of the first priority tier got no place")
			}
		}
		n, err := f.rounds.Publish(f.ctx, r.ID, "worker")
		if err != nil || n != 4 {
			t.Fatalf("publish: %d offers (%v)", n, err)
		}
		if _, err := f.rounds.Publish(f.ctx, r.ID, "worker"); !errors.Is(err, rounds.ErrPublished) {
			t.Errorf("publishing twice: %v", err)
		}
		props, err := f.rounds.Proposals(context.Background(), []tenant.Tenant{mustDesk(t, f)}, f.locs)
		if err != nil || len(props) != 4 {
			t.Fatalf("proposals: %d (%v)", len(props), err)
		}
		if err := f.rounds.Confirm(f.ctx, r.ID, props[0].RequestID, []uuid.UUID{uuid.New()}, provider); !errors.Is(err, rounds.ErrNotFound) {
			t.Errorf("confirming for another provider's location: %v", err)
		}
		if err := f.rounds.Confirm(f.ctx, r.ID, props[0].RequestID, f.locs, provider); err != nil {
			t.Fatal(err)
		}
		got, _ := f.reqs.Get(f.ctx, props[0].RequestID)
		if got.Status != requests.StatusOffered {
			t.Fatalf("after the provider confirmed: %s", got.Status)
		}
		var rank int
		for _, p := range got.Preferences {
			if p.State == requests.PreferenceOffered {
				rank = p.Rank
			}
		}
		if err := f.reqs.Accept(f.ctx, got.ID, rank, requests.Actor{Kind: requests.ActorParent}); err != nil {
			t.Fatal(err)
		}
		if err := f.rounds.Refuse(f.ctx, r.ID, props[1].RequestID, f.locs, requests.NoPlaceDays, provider); err != nil {
			t.Fatal(err)
		}
		if err := f.rounds.Refuse(f.ctx, r.ID, props[1].RequestID, f.locs, requests.NoPlaceDays, provider); !errors.Is(err, requests.ErrTransition) {
			t.Errorf("answering a proposal twice: %v", err)
		}
		text, err := f.rounds.ExplainFor(f.ctx, props[0].RequestID, "nl")
		if err != nil || text == "" {
			t.Errorf("explanation for the parent: %q (%v)", text, err)
		}
		// A later round leaves the accepted placement alone.
		later, err := f.rounds.DryRun(f.ctx, "2027-05", "2027-05", "", "worker")
		if err != nil {
			t.Fatal(err)
		}
		laterOuts, _ := f.rounds.Outcomes(f.ctx, later.ID)
		for _, o := range laterOuts {
			if o.RequestID == props[0].RequestID {
				t.Error("a placed request is in a later round")
			}
		}
		// Two proposals are still open: those children wait, and their two
		// seats are held; one seat was taken by the acceptance; so one of the
		// four places is free for the three remaining children.
		if later.Children != 3 || later.Placed != 1 {
			t.Errorf("later round: %d children, %d placed; want 3 (one placed, two waiting) and 1", later.Children, later.Placed)
		}
		for _, o := range laterOuts {
			if o.RequestID == props[2].RequestID || o.RequestID == props[3].RequestID {
				t.Error("a child with an open proposal is in a later round")
			}
		}
		// The nightly fill publishes that one free place, and then finds none.
		filled, err := f.rounds.FillFreed(f.ctx)
		if err != nil || filled == nil || filled.Placed != 1 {
			t.Fatalf("fill: %+v (%v)", filled, err)
		}
		if got, _ := f.rounds.Get(f.ctx, filled.ID); got.Status != rounds.StatusPublished {
			t.Errorf("the fill round is %s, want published", got.Status)
		}
		if again, err := f.rounds.FillFreed(f.ctx); err != nil || again != nil {
			t.Errorf("a second fill placed someone again: %+v (%v)", again, err)
		}
	})
}

func mustDesk(t testing.TB, f *fixture) tenant.Tenant {
	id, _ := tenancy.FromContext(f.ctx)
	return tenant.Tenant{ID: id, Slug: "leuven", Name: "Leuven"}
}

// BenchmarkRound8000 is a whole round for a city: 8,000 requests with up to
// five preferences over 300 locations, loaded from PostgreSQL, solved,
// explained, audited and written back.
func BenchmarkRound8000(b *testing.B) {
	d := dbtest.Open(b, db.Postgres)
	f := newFixture(b, d, 300, 12)
	for i := range 8000 {
		prefs := []uuid.UUID{}
		for k := range 1 + i%5 {
			prefs = append(prefs, f.locs[(i*7+k*31)%len(f.locs)])
		}
		var claims []string
		if i%3 == 0 {
			claims = []string{"work_or_training"}
		}
		f.submit(b, i, claims, prefs...)
	}
	b.ResetTimer()
	for range b.N {
		r, err := f.rounds.DryRun(f.ctx, "2027-05", "2027-05", "", "bench")
		if err != nil || r.Children != 8000 {
			b.Fatalf("round: %v (%d children)", err, r.Children)
		}
	}
}

// TestGroupRound: Leuven and Geel share a waiting list. Leuven's round places
// the children of both desks over the same free places; each desk keeps its
// own copy, its own children's outcomes and offers, and Geel's log records
// that Leuven's round placed its children.
func TestGroupRound(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d, 1, 2) // 2 places at one Leuven location
		geelDesk := f.desk(t, "geel-laakdal-meerhout")
		geel := tenancy.WithTenant(context.Background(), geelDesk)
		leuvenDesk, _ := tenancy.FromContext(f.ctx)
		f.rounds.SetGroup(func(_ context.Context, desk tenancy.ID) ([]tenancy.ID, error) {
			if desk == leuvenDesk {
				return []tenancy.ID{geelDesk}, nil
			}
			return []tenancy.ID{leuvenDesk}, nil
		})
		mine := f.submit(t, 1, nil, f.locs[0])
		theirs := f.submitAt(t, geel, 2, []string{"work_or_training"}, f.locs[0])
		f.submitAt(t, geel, 3, nil, f.locs[0])
		r, err := f.rounds.DryRun(f.ctx, "2027-05", "2027-05", allocation.Seed("7"), "worker")
		if err != nil {
			t.Fatal(err)
		}
		if r.Children != 3 || r.Placed != 2 {
			t.Fatalf("group round: %d children, %d placed; want 3 and 2", r.Children, r.Placed)
		}
		ownOuts, _ := f.rounds.Outcomes(f.ctx, r.ID)
		geelOuts, err := f.rounds.Outcomes(geel, r.ID)
		if err != nil || len(ownOuts) != 1 || ownOuts[0].RequestID != mine.ID || len(geelOuts) != 2 {
			t.Fatalf("outcomes: Leuven %d, Geel %d (%v)", len(ownOuts), len(geelOuts), err)
		}
		n, err := f.rounds.Publish(f.ctx, r.ID, "worker")
		if err != nil || n != 2 {
			t.Fatalf("publish across the group: %d offers (%v)", n, err)
		}
		props, _ := f.rounds.Proposals(context.Background(), []tenant.Tenant{{ID: leuvenDesk, Slug: "leuven"}, {ID: geelDesk, Slug: "geel-laakdal-meerhout"}}, f.locs)
		found := false
		for _, p := range props {
			found = found || p.RequestID == theirs.ID
		}
		if len(props) != 2 || !found {
			t.Errorf("proposals: %+v", props)
		}
		if err := f.rounds.Confirm(geel, r.ID, theirs.ID, f.locs, provider); err != nil {
			t.Errorf("confirm in Geel: %v", err)
		}
		var events int
		err = tenancy.NewStore(d).Tx(geel, func(ctx context.Context, tx *tenancy.Tx) error {
			c, err := tx.Select((*eventlog.Event)(nil)).Where("kind = 'round.group_dry_run'").Count(ctx)
			events = int(c)
			return err
		})
		if err != nil || events != 1 {
			t.Errorf("Geel's log has %d group-round events (%v), want 1", events, err)
		}
	})
}

func (f *fixture) desk(t testing.TB, slug string) tenancy.ID {
	t.Helper()
	d, ok := f.dir.BySlug(slug)
	if !ok {
		t.Fatalf("no desk %s", slug)
	}
	return d.ID
}

// submitAt registers a request at the desk of ctx.
func (f *fixture) submitAt(t testing.TB, ctx context.Context, i int, claims []string, prefs ...uuid.UUID) *requests.Request {
	t.Helper()
	saved := f.ctx
	f.ctx = ctx
	defer func() { f.ctx = saved }()
	return f.submit(t, i, claims, prefs...)
}

// TestSiblingClaimOnlyAtNamedLocation: "a brother or sister already goes to
// that childcare" holds at the childcare the parent names (her first
// choice), not at every location she lists. Child 1 claims it and ranks L0
// then L1; child 0 claims it too and wants only L0, so the lottery decides
// L0 between them. When child 1 misses L0, child 2 (work or training)
// outranks her at L1.
func TestSiblingClaimOnlyAtNamedLocation(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d, 2, 1)
		f.submit(t, 0, []string{"sibling"}, f.locs[0])
		r1 := f.submit(t, 1, []string{"sibling"}, f.locs[0], f.locs[1])
		r2 := f.submit(t, 2, []string{"work_or_training"}, f.locs[1])
		missed := 0
		for seed := range 12 {
			inst, _, err := f.rounds.Load(f.ctx, "2027-05", "2027-05", allocation.Seed(fmt.Sprint(seed)))
			if err != nil {
				t.Fatal(err)
			}
			for _, ch := range inst.Children {
				if ch.ID != r1.ID.String() {
					continue
				}
				for _, c := range ch.Criteria {
					if c == "sibling" {
						t.Fatalf("the sibling claim holds at every listed location: %+v", ch)
					}
				}
				if got := ch.LocationCriteria[f.locs[0].String()]; len(got) != 1 || got[0] != "sibling" {
					t.Fatalf("the sibling claim should hold at the first choice %s: %+v", f.locs[0], ch)
				}
			}
			res, err := allocation.Solve(inst)
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]string{}
			for _, a := range res.Assignments {
				got[a.ChildID] = a.ProgrammeID
			}
			if p := got[r1.ID.String()]; p == "" || !strings.HasPrefix(p, f.locs[0].String()) {
				missed++
				if q := got[r2.ID.String()]; q == "" || !strings.HasPrefix(q, f.locs[1].String()) {
					t.Errorf("seed %d: child 2 should get L1 before child 1, whose sibling claim is for L0: %v", seed, got)
				}
			}
		}
		if missed == 0 {
			t.Fatal("no seed made child 1 miss L0; the test proves nothing")
		}
	})
}

// TestExplanationForParents: choices are numbered as the parent ranked
// them, a choice without free places is explained rather than dropped, and
// locations, months and age groups are named in the reader's language.
// Child A ranks L2 (no free places) then L0 and gets L0; child B ranks only
// L2.
func TestExplanationForParents(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d, 3, 1)
		if err := f.cat.SetAvailability(context.Background(), "test",
			catalog.AvailabilityChange{LocationID: catalog.LocationID{UUID: f.locs[2]}, StartMonth: "2027-05", AgeBand: catalog.Baby, FreePlaces: 0}); err != nil {
			t.Fatal(err)
		}
		a := f.submit(t, 0, nil, f.locs[2], f.locs[0])
		b := f.submit(t, 1, nil, f.locs[2])
		r, err := f.rounds.DryRun(f.ctx, "2027-05", "2027-05", allocation.Seed("7"), "worker")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.rounds.Publish(f.ctx, r.ID, "worker"); err != nil {
			t.Fatal(err)
		}
		text := func(id requests.RequestID, lang string) string {
			s, err := f.rounds.ExplainFor(f.ctx, id, lang)
			if err != nil {
				t.Fatal(err)
			}
			for _, bad := range []string{"|", "2027-05", f.locs[0].String(), f.locs[2].String()} {
				if strings.Contains(s, bad) {
					t.Errorf("%s explanation shows %q: %q", lang, bad, s)
				}
			}
			return s
		}
		want := func(s string, parts ...string) {
			t.Helper()
			for _, p := range parts {
				if !strings.Contains(s, p) {
					t.Errorf("explanation lacks %q: %q", p, s)
				}
			}
		}
		nl := text(a.ID, "nl")
		want(nl, "Rondeopvang 0", "keuze 2", "Keuze 1", "Rondeopvang 2", "mei 2027", "geen vrije plaatsen")
		fr := text(a.ID, "fr")
		want(fr, "Votre enfant", "Rondeopvang 0", "choix 2", "mai 2027")
		en := text(a.ID, "en")
		want(en, "Your child", "Rondeopvang 0", "choice 2", "May 2027")
		only := text(b.ID, "nl")
		want(only, "Rondeopvang 2", "geen vrije plaatsen")
		if strings.Contains(only, "geen opvang op") {
			t.Errorf("child B listed a childcare, the text says she did not: %q", only)
		}
		if strings.Contains(nl+only, "voorbehouden") {
			t.Errorf("no seat was reserved at these locations, the text mentions reserved seats: %q", nl+only)
		}
	})
}
