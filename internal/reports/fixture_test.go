package reports_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/loket-kinderopvang/loket/internal/catalog"
	"github.com/loket-kinderopvang/loket/internal/geo"
	"github.com/loket-kinderopvang/loket/internal/platform/clock"
	"github.com/loket-kinderopvang/loket/internal/platform/db"
	"github.com/loket-kinderopvang/loket/internal/platform/tenancy"
	"github.com/loket-kinderopvang/loket/internal/requests"
	"github.com/loket-kinderopvang/loket/internal/tenant"
	"github.com/loket-kinderopvang/loket/tenants"
)

// now is the fake clock of every report test: the 12 months ahead are
// 2026-11 … 2027-10.
var now = time.Date(2026, 11, 15, 10, 0, 0, 0, time.UTC)

// world is the hand-built data set. Its figures are worked out by hand in
// reports_test.go.
type world struct {
	d          *db.DB
	dir        *tenant.Directory
	glm        tenant.Tenant // geel-laakdal-meerhout: Geel 13008, Laakdal 13053, Meerhout 13021
	turnhout   tenant.Tenant // stadsregio-turnhout (same region 13000)
	leuven     tenant.Tenant // another region (24000)
	l1, l2, l3 uuid.UUID     // locations: Geel/Bel, Meerhout/Zittaart, Kasterlee (outside the desk)
}

func day(s string) time.Time {
	t, err := time.Parse("2006-01-02", s)
	if err != nil {
		panic(err)
	}
	return t
}

func at(s string) *time.Time {
	t, err := time.Parse("2006-01-02 15:04", s)
	if err != nil {
		panic(err)
	}
	return &t
}

func plusDays(t *time.Time, d int) *time.Time {
	v := t.Add(time.Duration(d) * 24 * time.Hour)
	return &v
}

func desks(t testing.TB, d *db.DB) *tenant.Directory {
	t.Helper()
	ctx := context.Background()
	specs, err := tenant.LoadDir(tenants.Demo)
	if err != nil {
		t.Fatal(err)
	}
	ts := tenant.NewStore(d, clock.NewFixed(now))
	if _, err := ts.Sync(ctx, specs); err != nil {
		t.Fatal(err)
	}
	dir := tenant.NewDirectory(ts)
	if err := dir.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	return dir
}

func location(t testing.TB, d *db.DB, provider catalog.ProviderID, dossier, nis, neighbourhood string) uuid.UUID {
	t.Helper()
	l := &catalog.Location{ID: catalog.LocationID{UUID: uuid.Must(uuid.NewV7())}, DossierNumber: dossier, ProviderID: provider,
		Name: "Opvang " + dossier, MunicipalityNIS: geo.NISCode(nis), Neighbourhood: neighbourhood, Lat: 51, Lon: 5,
		CareType: catalog.Groepsopvang, SubsidyTier: catalog.TierT2A, PriceType: catalog.IncomeRelated, LicensedPlaces: 18,
		MaxAgeMonths: 36, Languages: []string{"nl"}, AcceptsRequests: true, CreatedAt: now, UpdatedAt: now}
	if _, err := d.NewInsert().Model(l).Exec(context.Background()); err != nil {
		t.Fatalf("insert location %s: %v", dossier, err)
	}
	return l.ID.UUID
}

// spec is one hand-built request.
type spec struct {
	child, family string // letters: the same letter is the same child / family
	vulnerable    bool
	status        requests.Status
	channel       requests.Channel
	submitted     *time.Time
	firstAnswer   int // days after submission; -1 none
	placed        int // days after submission; -1 none
	nis, wijk     string
	age           int
	days          string
	half, wider   bool
	need          bool
	reason        requests.Reason
	claims        []requests.Claim
	prefs         []uuid.UUID
	start         string
	merged        bool
	// dupOf is the 1-based position, in the same insert call, of the
	// earlier request the duplicate check tied this one to; dupState is
	// the worker's decision (kept, merged) or the open hint.
	dupOf    int
	dupState string
	// prefAnswer is, per preference, the days after submission the
	// location answered (-1 or missing: no answer); prefDue the days
	// after submission its answer was due (0 or missing: no due date).
	prefAnswer, prefDue []int
}

// insert writes the specs into desk t, directly through the tenant store.
func insert(t testing.TB, d *db.DB, desk tenant.Tenant, specs []spec) {
	t.Helper()
	ctx := tenancy.WithTenant(context.Background(), desk.ID)
	families := map[string]requests.FamilyID{}
	children := map[string]requests.ChildID{}
	var ids []requests.RequestID
	err := tenancy.NewStore(d).Tx(ctx, func(ctx context.Context, tx *tenancy.Tx) error {
		for _, s := range specs {
			if _, ok := families[s.family]; !ok {
				f := &requests.Family{ID: requests.FamilyID{UUID: uuid.Must(uuid.NewV7())}, DisplayName: "Gezin " + s.family,
					Language: "nl", Vulnerable: s.vulnerable, CreatedAt: now, UpdatedAt: now}
				if err := tx.Insert(ctx, f); err != nil {
					return err
				}
				families[s.family] = f.ID
			}
			if _, ok := children[s.child]; !ok {
				birth := day("2025-01-01")
				c := &requests.Child{ID: requests.ChildID{UUID: uuid.Must(uuid.NewV7())}, FamilyID: families[s.family], FirstName: "Kind " + s.child,
					LastName: "Test", BirthDate: &birth, CreatedAt: now}
				if err := tx.Insert(ctx, c); err != nil {
					return err
				}
				children[s.child] = c.ID
			}
			r := &requests.Request{ID: requests.RequestID{UUID: uuid.Must(uuid.NewV7())}, ChildID: children[s.child], Status: s.status,
				Channel: s.channel, DesiredStart: day(s.start), CareDays: s.days, DayPart: requests.DayWhole,
				WiderHours: s.wider, Reason: s.reason, SpecificCareNeed: s.need, MunicipalityNIS: s.nis,
				Neighbourhood: s.wijk, AgeMonths: s.age, SubmittedAt: s.submitted, StatusChangedAt: s.submitted,
				StatusLinkVersion: 1, CreatedAt: now, UpdatedAt: now}
			if s.half {
				r.DayPart = requests.DayHalf
			}
			if s.merged {
				r.DuplicateState = requests.DuplicateMerged
			}
			if s.dupOf > 0 {
				r.DuplicateState, r.DuplicateOf = s.dupState, &ids[s.dupOf-1]
			}
			ids = append(ids, r.ID)
			if s.firstAnswer >= 0 {
				r.FirstAnswerAt = plusDays(s.submitted, s.firstAnswer)
			}
			if s.placed >= 0 {
				r.PlacedAt = plusDays(s.submitted, s.placed)
			}
			if err := tx.Insert(ctx, r); err != nil {
				return err
			}
			for _, c := range s.claims {
				if err := tx.Insert(ctx, &requests.RequestClaim{RequestID: r.ID, Claim: c}); err != nil {
					return err
				}
			}
			for i, l := range s.prefs {
				p := &requests.Preference{RequestID: r.ID, Rank: i + 1, LocationID: l, State: requests.PreferencePending, UpdatedAt: now}
				if i < len(s.prefAnswer) && s.prefAnswer[i] >= 0 {
					p.State, p.AnsweredAt = requests.PreferenceWaitingList, plusDays(s.submitted, s.prefAnswer[i])
				}
				if i < len(s.prefDue) && s.prefDue[i] > 0 {
					p.AnswerDue = plusDays(s.submitted, s.prefDue[i])
				}
				if err := tx.Insert(ctx, p); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("insert requests into %s: %v", desk.Slug, err)
	}
}

// build loads the hand-built world. See reports_test.go for its figures.
func build(t testing.TB, d *db.DB) *world {
	t.Helper()
	w := &world{d: d, dir: desks(t, d)}
	w.glm, _ = w.dir.BySlug("geel-laakdal-meerhout")
	w.turnhout, _ = w.dir.BySlug("stadsregio-turnhout")
	w.leuven, _ = w.dir.BySlug("leuven")
	ctx := context.Background()
	p := &catalog.Provider{ID: catalog.ProviderID{UUID: uuid.Must(uuid.NewV7())}, Name: "Testopvang vzw", CreatedAt: now, UpdatedAt: now}
	if _, err := d.NewInsert().Model(p).Exec(ctx); err != nil {
		t.Fatal(err)
	}
	w.l1 = location(t, d, p.ID, "D1", "13008", "Bel")
	w.l2 = location(t, d, p.ID, "D2", "13021", "Zittaart")
	w.l3 = location(t, d, p.ID, "D3", "13017", "Lichtaart")
	free := []struct {
		loc   uuid.UUID
		month string
		band  catalog.AgeBand
		n     int
	}{
		{w.l1, "2027-01", catalog.Baby, 1}, {w.l1, "2027-01", catalog.Toddler, 1}, {w.l1, "2027-03", catalog.Baby, 0},
		{w.l1, "2026-10", catalog.Baby, 4}, // before the window
		{w.l2, "2027-02", catalog.Toddler, 3},
		{w.l3, "2027-01", catalog.Baby, 5}, // outside the desk
	}
	for _, f := range free {
		if _, err := d.NewInsert().Model(&catalog.Availability{LocationID: locID(f.loc), StartMonth: f.month, AgeBand: f.band,
			FreePlaces: f.n, ChangedAt: now, ChangedBy: "test"}).Exec(ctx); err != nil {
			t.Fatal(err)
		}
	}
	none := -1
	W, C, O := requests.ReasonWork, requests.ReasonTraining, requests.ReasonOther
	insert(t, d, w.glm, []spec{
		{child: "A", family: "A", vulnerable: true, status: requests.StatusPlaced, channel: requests.ChannelOnline, submitted: at("2026-01-10 09:00"),
			firstAnswer: 2, placed: 10, nis: "13008", wijk: "Bel", age: -2, days: "mon,tue,wed,thu,fri", wider: true, reason: W,
			claims: []requests.Claim{requests.ClaimWorkOrTraining, requests.ClaimSingleParent}, prefs: []uuid.UUID{w.l1}, prefAnswer: []int{2}, start: "2026-09-01"},
		{child: "B", family: "B", status: requests.StatusPlaced, channel: requests.ChannelCounter, submitted: at("2026-02-01 09:00"),
			firstAnswer: 4, placed: 30, nis: "13008", wijk: "Bel", age: 3, days: "mon,tue,wed", half: true, need: true, reason: C,
			claims: []requests.Claim{requests.ClaimLowIncome}, prefs: []uuid.UUID{w.l1, w.l3}, prefAnswer: []int{4, 20}, start: "2026-06-01"},
		{child: "C", family: "C", status: requests.StatusWithdrawn, channel: requests.ChannelPhone, submitted: at("2026-03-01 09:00"),
			firstAnswer: 6, placed: none, nis: "13008", wijk: "Punt", age: 8, days: "mon,tue", reason: W,
			prefs: []uuid.UUID{w.l3}, prefAnswer: []int{6}, start: "2026-10-01"},
		{child: "D", family: "D", vulnerable: true, status: requests.StatusUnanswered, channel: requests.ChannelPartner, submitted: at("2026-03-15 09:00"),
			firstAnswer: none, placed: none, nis: "13053", wijk: "Vorst", age: 14, days: "mon,tue,wed,thu", reason: requests.ReasonJobSearch,
			claims: []requests.Claim{requests.ClaimSingleParent}, prefs: []uuid.UUID{w.l2}, start: "2026-07-01"},
		{child: "E", family: "E", status: requests.StatusActive, channel: requests.ChannelOnline, submitted: at("2026-04-01 09:00"),
			firstAnswer: 8, placed: none, nis: "13021", wijk: "Zittaart", age: 20, days: "mon,tue,wed,thu,fri", wider: true, reason: W,
			claims: []requests.Claim{requests.ClaimWorkOrTraining}, prefs: []uuid.UUID{w.l2, w.l1}, prefAnswer: []int{8, -1}, start: "2027-01-01"},
		// E's second request came in as a new child record; the duplicate
		// check tied it to the first and the worker kept it: one child.
		{child: "E2", family: "E", status: requests.StatusSubmitted, channel: requests.ChannelOnline, submitted: at("2026-05-01 09:00"),
			firstAnswer: none, placed: none, nis: "13021", wijk: "Zittaart", age: 24, days: "mon", half: true, reason: O,
			prefs: []uuid.UUID{w.l3}, start: "2027-02-01", dupOf: 5, dupState: requests.DuplicateKept},
		{child: "F", family: "F", vulnerable: true, status: requests.StatusOffered, channel: requests.ChannelAPI, submitted: at("2026-06-01 09:00"),
			firstAnswer: 10, placed: none, nis: "13008", wijk: "Bel", age: 30, days: "mon,tue,wed", need: true, reason: W,
			claims: []requests.Claim{requests.ClaimSibling}, prefs: []uuid.UUID{w.l1}, prefAnswer: []int{10}, prefDue: []int{7}, start: "2027-01-01"},
		{child: "G", family: "G", status: requests.StatusClosed, channel: requests.ChannelForwarded, submitted: at("2026-12-31 23:00"),
			firstAnswer: none, placed: none, nis: "13053", wijk: "Vorst", age: 40, days: "", reason: O, start: "2026-12-01"},
		{child: "H", family: "H", status: requests.StatusPlaced, channel: requests.ChannelOnline, submitted: at("2026-07-01 09:00"),
			firstAnswer: 1, placed: 5, nis: "13021", wijk: "Zittaart", age: 5, days: "tue,wed,thu,fri", reason: W,
			claims: []requests.Claim{requests.ClaimWorkOrTraining}, prefs: []uuid.UUID{w.l3}, prefAnswer: []int{1}, start: "2026-09-01"},
		// Not counted in 2026: the year before, a merged duplicate, the year after.
		{child: "I", family: "I", status: requests.StatusPlaced, channel: requests.ChannelOnline, submitted: at("2025-12-31 23:59"),
			firstAnswer: 1, placed: 2, nis: "13008", wijk: "Bel", age: 10, days: "mon", reason: W, prefs: []uuid.UUID{w.l3}, start: "2026-03-01"},
		{child: "A", family: "A", status: requests.StatusClosed, channel: requests.ChannelPhone, submitted: at("2026-03-01 10:00"),
			firstAnswer: none, placed: none, nis: "13008", wijk: "Bel", age: -1, days: "mon", reason: W, prefs: []uuid.UUID{w.l3}, start: "2026-09-01", merged: true},
		{child: "J", family: "J", status: requests.StatusActive, channel: requests.ChannelOnline, submitted: at("2027-01-01 00:00"),
			firstAnswer: none, placed: none, nis: "13008", wijk: "Bel", age: 12, days: "mon", reason: W, start: "2027-03-01"},
	})
	// Five requests from Turnhout for a location in Kasterlee: a cross-border
	// pair large enough to show.
	var th []spec
	for _, c := range []string{"K", "L", "M", "N", "O"} {
		th = append(th, spec{child: c, family: c, status: requests.StatusActive, channel: requests.ChannelOnline, submitted: at("2026-05-05 09:00"),
			firstAnswer: none, placed: none, nis: "13040", wijk: "Zevendonk", age: 12, days: "mon,tue", reason: W,
			prefs: []uuid.UUID{w.l3}, start: "2027-06-01"})
	}
	insert(t, d, w.turnhout, th)
	// Leuven is another region: never part of region 13000.
	insert(t, d, w.leuven, []spec{{child: "P", family: "P", status: requests.StatusActive, channel: requests.ChannelOnline,
		submitted: at("2026-05-05 09:00"), firstAnswer: none, placed: none, nis: "24062", wijk: "Heverlee", age: 12, days: "mon",
		reason: W, prefs: []uuid.UUID{w.l3}, start: "2027-06-01"}})
	return w
}

func locID(u uuid.UUID) catalog.LocationID { return catalog.LocationID{UUID: u} }
