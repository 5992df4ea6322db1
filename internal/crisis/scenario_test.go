package crisis_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"github.com/loket-kinderopvang/loket/internal/platform/sealed"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/loket-kinderopvang/loket/frontend"
	"github.com/loket-kinderopvang/loket/internal/allocation"
	"github.com/loket-kinderopvang/loket/internal/catalog"
	"github.com/loket-kinderopvang/loket/internal/crisis"
	"github.com/loket-kinderopvang/loket/internal/geo"
	"github.com/loket-kinderopvang/loket/internal/platform/clock"
	"github.com/loket-kinderopvang/loket/internal/platform/db"
	"github.com/loket-kinderopvang/loket/internal/platform/dbtest"
	"github.com/loket-kinderopvang/loket/internal/platform/tenancy"
	"github.com/loket-kinderopvang/loket/internal/platform/web"
	"github.com/loket-kinderopvang/loket/internal/reports"
	"github.com/loket-kinderopvang/loket/internal/requests"
	"github.com/loket-kinderopvang/loket/internal/rounds"
	"github.com/loket-kinderopvang/loket/internal/tenant"
	"github.com/loket-kinderopvang/loket/internal/tenant/tenanttest"
)

// Kasterlee lies in the arrondissement Turnhout, covered by two demo desks:
// stadsregio-turnhout (Kasterlee, Turnhout) and geel-laakdal-meerhout.
const closedLat, closedLon = 51.2410, 4.9660

type world struct {
	d       *db.DB
	clk     *clock.Fixed
	dir     *tenant.Directory
	cat     *catalog.Store
	reqs    *requests.Service
	rounds  *rounds.Service
	crisis  *crisis.Service
	closed  catalog.Location
	near    []catalog.Location // 2, 4, 6, 8, 10 km: 5 free baby places each
	emerg   catalog.Location   // 12 km: no free places until the emergency places
	far     catalog.Location   // 20 km: 10 free places, outside the radius
	toddler catalog.Location   // 1 km: only toddler places (the children are babies)
	leuven  catalog.Location   // another region
	prov    map[uuid.UUID]catalog.ProviderID
	n       int
}

var weekHours = catalog.WeekHours{{Open: "07:00", Close: "18:30"}, {Open: "07:00", Close: "18:30"}, {Open: "07:00", Close: "18:30"},
	{Open: "07:00", Close: "18:30"}, {Open: "07:00", Close: "18:30"}}

func (w *world) location(t testing.TB, name string, nis string, km float64) catalog.Location {
	t.Helper()
	ctx := context.Background()
	p := &catalog.Provider{Name: "Vzw " + name}
	if err := w.cat.SaveProvider(ctx, p); err != nil {
		t.Fatal(err)
	}
	w.n++
	l := &catalog.Location{DossierNumber: fmt.Sprintf("C-%d", w.n), ProviderID: p.ID, Name: name, Postcode: "2460",
		MunicipalityNIS: geo.NISCode(nis), Lat: closedLat + km/111.32, Lon: closedLon, CareType: catalog.Groepsopvang,
		SubsidyTier: catalog.TierT2A, LicensedPlaces: 60, MaxAgeMonths: 36, OpeningHours: weekHours,
		Languages: []string{"nl"}, AcceptsRequests: true}
	if err := w.cat.SaveLocation(ctx, l); err != nil {
		t.Fatal(err)
	}
	w.prov[l.ID.UUID] = p.ID
	return *l
}

func (w *world) places(t testing.TB, l catalog.Location, month string, band catalog.AgeBand, n int) {
	t.Helper()
	if err := w.cat.SetAvailability(context.Background(), "test", catalog.AvailabilityChange{LocationID: l.ID,
		StartMonth: month, AgeBand: band, FreePlaces: n}); err != nil {
		t.Fatal(err)
	}
}

func newWorld(t testing.TB, d *db.DB) *world {
	t.Helper()
	clk := clock.NewFixed(time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC))
	w := &world{d: d, clk: clk, dir: tenanttest.SyncDemo(t, d, clk), cat: catalog.NewStore(d, clk), prov: map[uuid.UUID]catalog.ProviderID{}}
	rs, err := requests.NewService(tenancy.NewStore(d), requests.Options{Clock: clk, DataKeys: sealed.MustRandom("test-"), Desks: w.dir, Catalog: w.cat,
		HashKey: []byte("a-test-key-of-enough-length-0123456789"), PublicURL: "https://loket.example"})
	if err != nil {
		t.Fatal(err)
	}
	msgs, err := web.LoadCatalog(frontend.Locales)
	if err != nil {
		t.Fatal(err)
	}
	w.reqs, w.rounds = rs, rounds.New(tenancy.NewStore(d), rs, clk, msgs)
	w.crisis = crisis.New(crisis.Options{DB: d, Tenants: tenancy.NewStore(d), Desks: w.dir, Requests: rs, Rounds: w.rounds,
		Catalog: w.cat, Clock: clk})
	w.closed = w.location(t, "Kinderdagverblijf De Brand", "13017", 0)
	for i, km := range []float64{2, 4, 6, 8, 10} {
		l := w.location(t, fmt.Sprintf("Opvang Dichtbij %d", i+1), []string{"13017", "13040", "13008", "13040", "13008"}[i], km)
		w.places(t, l, "2027-01", catalog.Baby, 5)
		w.near = append(w.near, l)
	}
	w.emerg = w.location(t, "Opvang Noodplaatsen", "13040", 12)
	w.far = w.location(t, "Opvang Veraf", "13040", 20)
	w.places(t, w.far, "2027-01", catalog.Baby, 10)
	w.toddler = w.location(t, "Peuteropvang Om De Hoek", "13017", 1)
	w.places(t, w.toddler, "2027-01", catalog.Toddler, 10)
	w.leuven = w.location(t, "Opvang Leuven", "24062", -40)
	w.places(t, w.leuven, "2027-01", catalog.Baby, 10)
	w.places(t, w.closed, "2026-12", catalog.Baby, 40)
	return w
}

func (w *world) desk(t testing.TB, slug string) (tenant.Tenant, context.Context) {
	t.Helper()
	d, ok := w.dir.BySlug(slug)
	if !ok {
		t.Fatalf("no desk %s", slug)
	}
	return d, tenancy.WithTenant(context.Background(), d.ID)
}

var (
	deskWorker = requests.Actor{Kind: requests.ActorDesk, ID: "medewerker"}
	parent     = requests.Actor{Kind: requests.ActorParent}
	providerA  = requests.Actor{Kind: requests.ActorProvider, ID: "organisator"}
)

// place registers a child of the desk in ctx and places it at loc (offer
// from the provider, accepted by the parent).
func (w *world) place(t testing.TB, ctx context.Context, i int, nis string, loc catalog.Location) requests.RequestID {
	t.Helper()
	r, _, _, err := w.reqs.Submit(ctx, requests.Submission{
		Child:    requests.ChildInput{FirstName: fmt.Sprintf("Kind%02d", i), LastName: "Crisistest", BirthDate: "2026-05-02"},
		Parents:  []requests.ParentInput{{FirstName: "Ouder", LastName: "Crisistest", Email: fmt.Sprintf("ouder%02d@ouders.example", i)}},
		Language: "nl", Address: requests.AddressInput{MunicipalityNIS: nis}, DesiredStart: "2026-12-07",
		CarePlan:    requests.CarePlanInput{Days: []string{"mon", "tue", "thu"}, DayPart: "whole"},
		Preferences: []string{loc.ID.String()}, Reason: "work", PrivacyVersion: requests.PrivacyVersion,
	}, requests.Actor{Kind: requests.ActorAPI}, "")
	if err != nil {
		t.Fatal(err)
	}
	if err := w.reqs.Answer(ctx, r.ID, 1, requests.Answer{Kind: requests.AnswerOffer, OfferStart: time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC),
		OfferDays: []string{"mon", "tue", "thu"}}, providerA); err != nil {
		t.Fatal(err)
	}
	if err := w.reqs.Accept(ctx, r.ID, 1, parent); err != nil {
		t.Fatal(err)
	}
	return r.ID
}

// TestClosureScenario is the acceptance scenario of issue 16: a location
// with 40 placed children of two desks closes; 25 free places and 10
// emergency places lie within 15 km in the region; the dry run proposes a
// place to 35 children, nearest fitting first, none twice, no place
// overfilled; publish, providers confirm (one refuses), parents accept (one
// declines); the board and the crisis report count right.
func TestClosureScenario(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		w := newWorld(t, d)
		turnhout, tctx := w.desk(t, "stadsregio-turnhout")
		glm, gctx := w.desk(t, "geel-laakdal-meerhout")
		leuven, lctx := w.desk(t, "leuven")
		for i := range 40 {
			if i%2 == 0 {
				w.place(t, tctx, i, "13017", w.closed)
			} else {
				w.place(t, gctx, i, "13008", w.closed)
			}
		}
		w.clk.Advance(42 * 24 * time.Hour) // 2027-01-11: the location closes tomorrow
		ctx := context.Background()
		c, err := w.crisis.Declare(tctx, crisis.Declaration{LocationID: w.closed.ID.String(), From: "2027-01-12",
			Reason: "Brand in de keuken", Public: true}, deskWorker)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.crisis.Declare(tctx, crisis.Declaration{LocationID: w.closed.ID.String(), From: "2027-01-12", Reason: "nog eens"}, deskWorker); !isField(err, "location_id") {
			t.Fatalf("a second closure of the same location: %v, want a field error", err)
		}
		// The closed location shows no free places any more.
		w.places(t, w.closed, "2027-01", catalog.Baby, 3)
		avail, err := w.cat.RegionAvailability(ctx, "13000", "2027-01", catalog.Baby)
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range avail {
			if a.LocationID == w.closed.ID {
				t.Fatalf("the closed location still shows %d free places", a.FreePlaces)
			}
		}
		// 10 emergency places 12 km away.
		if err := w.crisis.Announce(ctx, c.ID, crisis.EmergencyInput{LocationID: w.emerg.ID.String(), StartMonth: "2027-01",
			AgeBand: "baby", Places: 10, Until: "2027-06-30"}, "provider:nood"); err != nil {
			t.Fatal(err)
		}
		// Each desk sees its own 20 families, the desk outside the region none.
		for _, dc := range []struct {
			ctx  context.Context
			want int
		}{{tctx, 20}, {gctx, 20}, {lctx, 0}} {
			rows, err := w.crisis.Families(dc.ctx, c.ID)
			if err != nil {
				t.Fatal(err)
			}
			if len(rows) != dc.want {
				t.Fatalf("families = %d, want %d", len(rows), dc.want)
			}
		}
		r, err := w.crisis.DryRun(tctx, c.ID, deskWorker.String())
		if err != nil {
			t.Fatal(err)
		}
		if !r.AuditOK {
			t.Fatalf("audit: %s", r.Audit)
		}
		if r.Children != 40 || r.Placed < 35 {
			t.Fatalf("dry run: %d children, %d placed; want 40 and at least 35", r.Children, r.Placed)
		}
		var inst allocation.Instance
		var res allocation.Result
		mustJSON(t, r.Instance, &inst)
		mustJSON(t, r.Result, &res)
		nearest := map[string]int{w.near[0].ID.String(): 0, w.near[1].ID.String(): 1, w.near[2].ID.String(): 2,
			w.near[3].ID.String(): 3, w.near[4].ID.String(): 4, w.emerg.ID.String(): 5}
		seen, load := map[string]bool{}, map[string]int{}
		for _, a := range res.Assignments {
			if seen[a.ChildID] {
				t.Fatalf("child %s placed twice", a.ChildID)
			}
			seen[a.ChildID] = true
			if a.ProgrammeID == "" {
				continue
			}
			load[a.ProgrammeID]++
			if _, ok := nearest[strings.Split(a.ProgrammeID, "|")[0]]; !ok {
				t.Fatalf("placed at %s: not a fitting place within 15 km", a.ProgrammeID)
			}
		}
		for _, p := range inst.Programmes {
			if load[p.ID] > p.Capacity {
				t.Fatalf("%s overfilled: %d of %d", p.ID, load[p.ID], p.Capacity)
			}
		}
		for _, ch := range inst.Children {
			// Nearest fitting first: the list runs from 2 km to 12 km.
			var order []int
			for _, p := range ch.Preferences {
				order = append(order, nearest[strings.Split(p, "|")[0]])
			}
			if fmt.Sprint(order) != "[0 1 2 3 4 5]" {
				t.Fatalf("child %s lists %v, want the six fitting places nearest first", ch.ID, order)
			}
			if ch.Criteria[0] != crisis.CrisisTier {
				t.Fatalf("child %s lacks the crisis tier: %v", ch.ID, ch.Criteria)
			}
		}
		n, err := w.crisis.Publish(tctx, c.ID, deskWorker)
		if err != nil {
			t.Fatal(err)
		}
		if n != 35 {
			t.Fatalf("published %d proposals, want 35", n)
		}
		// A provider sees only the families proposed to its locations.
		for _, l := range append(w.near, w.emerg) {
			props, err := w.rounds.Proposals(ctx, []tenant.Tenant{turnhout, glm, leuven}, []uuid.UUID{l.ID.UUID})
			if err != nil {
				t.Fatal(err)
			}
			want := 5
			if l.ID == w.emerg.ID {
				want = 10
			}
			if len(props) != want {
				t.Fatalf("%s sees %d proposals, want %d", l.Name, len(props), want)
			}
			for _, p := range props {
				if p.LocationID != l.ID.UUID {
					t.Fatalf("%s sees a proposal for %s", l.Name, p.LocationName)
				}
			}
		}
		// Providers confirm every proposal but one; parents accept all but one.
		props, err := w.rounds.Proposals(ctx, []tenant.Tenant{turnhout, glm}, locIDs(append(w.near, w.emerg)))
		if err != nil {
			t.Fatal(err)
		}
		refused, declined := 0, 0
		for i, p := range props {
			dctx := tctx
			if p.DeskSlug == glm.Slug {
				dctx = gctx
			}
			if i == 0 {
				if err := w.rounds.Refuse(dctx, p.RoundID, p.RequestID, []uuid.UUID{p.LocationID}, requests.NoPlaceCareNeed, providerA); err != nil {
					t.Fatal(err)
				}
				refused++
				continue
			}
			if err := w.rounds.Confirm(dctx, p.RoundID, p.RequestID, []uuid.UUID{p.LocationID}, providerA); err != nil {
				t.Fatalf("confirm %s: %v", p.ChildFirstName, err)
			}
			req, err := w.reqs.Get(dctx, p.RequestID)
			if err != nil {
				t.Fatal(err)
			}
			rank := 0
			for _, pref := range req.Preferences {
				if pref.State == requests.PreferenceOffered {
					rank = pref.Rank
				}
			}
			if i == 1 {
				if err := w.reqs.Decline(dctx, p.RequestID, rank, parent); err != nil {
					t.Fatal(err)
				}
				declined++
				continue
			}
			if err := w.reqs.Accept(dctx, p.RequestID, rank, parent); err != nil {
				t.Fatalf("accept %s: %v", p.ChildFirstName, err)
			}
		}
		w.clk.Advance(24 * time.Hour)
		b, err := w.crisis.BoardFor(ctx, c.ID, []tenant.Tenant{turnhout, glm, leuven})
		if err != nil {
			t.Fatal(err)
		}
		want := crisis.Counts{Affected: 40, Placed: 33, Declined: 2, Without: 5}
		if b.Total != want {
			t.Fatalf("board total = %+v, want %+v", b.Total, want)
		}
		if len(b.Desks) != 2 || b.Desks[0].Affected+b.Desks[1].Affected != 40 {
			t.Fatalf("board by desk = %+v", b.Desks)
		}
		if len(b.Days) != 2 || b.Days[1].Counts != want || b.Days[0].Affected != 40 {
			t.Fatalf("board by day = %+v", b.Days)
		}
		if b.Places[w.emerg.Name]+b.Places[w.near[0].Name] < 10 {
			t.Fatalf("where they went: %v", b.Places)
		}
		// The crisis report, exported like the yearly figures.
		var buf bytes.Buffer
		if err := reports.WriteSheetCSV(&buf, b.Report()[0], reports.CSVRFC); err != nil {
			t.Fatal(err)
		}
		recs, err := csv.NewReader(&buf).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		if last := recs[len(recs)-1]; strings.Join(last, ",") != "totaal,40,0,0,33,2,5" {
			t.Fatalf("report total row = %v", last)
		}
		buf.Reset()
		if err := reports.WriteSheetsXLSX(&buf, b.Report()); err != nil || buf.Len() == 0 {
			t.Fatalf("xlsx: %v", err)
		}
		// Ending the closure reopens the location and takes back the unused
		// emergency places.
		if err := w.crisis.End(ctx, c.ID, "desk:medewerker"); err != nil {
			t.Fatal(err)
		}
		avail, err = w.cat.RegionAvailability(ctx, "13000", "2027-01", catalog.Baby)
		if err != nil {
			t.Fatal(err)
		}
		reopened := false
		for _, a := range avail {
			if a.LocationID == w.closed.ID && a.FreePlaces == 3 {
				reopened = true
			}
			if a.LocationID == w.emerg.ID && a.FreePlaces != 0 {
				t.Fatalf("emergency places left after the closure: %d", a.FreePlaces)
			}
		}
		if !reopened {
			t.Fatal("the reopened location does not show its free places")
		}
	})
}

func locIDs(ls []catalog.Location) []uuid.UUID {
	var out []uuid.UUID
	for _, l := range ls {
		out = append(out, l.ID.UUID)
	}
	return out
}
