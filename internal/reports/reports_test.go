package reports_test

import (
	"context"
	"fmt"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/loket-kinderopvang/loket/internal/eventlog"
	"github.com/loket-kinderopvang/loket/internal/platform/clock"
	"github.com/loket-kinderopvang/loket/internal/platform/db"
	"github.com/loket-kinderopvang/loket/internal/platform/dbtest"
	"github.com/loket-kinderopvang/loket/internal/platform/tenancy"
	"github.com/loket-kinderopvang/loket/internal/reports"
	"github.com/loket-kinderopvang/loket/internal/requests"
	"github.com/loket-kinderopvang/loket/internal/tenant"
)

func service(w *world) *reports.Service {
	return reports.NewService(w.d, w.dir, clock.NewFixed(now), eventlog.CrossTenantLog{Tenants: tenancy.NewStore(w.d),
		Now: func() time.Time { return now }, Desk: func(slug string) (tenancy.ID, bool) {
			t, ok := w.dir.BySlug(slug)
			return t.ID, ok
		}})
}

func deskCtx(t tenant.Tenant) context.Context {
	return tenancy.WithTenant(context.Background(), t.ID)
}

// rows renders a breakdown as "key=n" (and "key/sub=n"), zero rows included,
// so a whole breakdown is compared in one line.
func rows(b reports.Breakdown) string {
	var parts []string
	for _, r := range b.Rows {
		k := r.Key
		if r.Sub != "" {
			k += "/" + r.Sub
		}
		parts = append(parts, k+"="+r.Count.String())
	}
	return strings.Join(parts, " ")
}

func near(a, b float64) bool { return math.Abs(a-b) < 1e-6 }

// TestYearlyFigures checks every figure and breakdown of the hand-built desk
// against the numbers worked out by hand (see fixture_test.go).
func TestYearlyFigures(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		w := build(t, d)
		s := service(w)
		f, err := s.Yearly(deskCtx(w.glm), 2026, "")
		if err != nil {
			t.Fatal(err)
		}
		// R1…R9 counted; the 2025 request, the merged duplicate and the 2027 request are not.
		// Answered: A, B, C, E, F and H have a first answer.
		want := map[string]int{"requests": 9, "children": 8, "placed": 3, "withdrawn": 1, "unanswered": 1, "open": 3, "closed": 1, "answered": 6}
		for _, h := range f.Headline() {
			if h.Count.N != want[h.ID] || h.Count.Hidden {
				t.Errorf("%s = %v, want %d", h.ID, h.Count, want[h.ID])
			}
		}
		// first answer after 1, 2, 4, 6, 8, 10 days: median 5, p90 at rank 4.5 → 9.
		// placement after 5, 10, 30 days: median 10, p90 at rank 1.8 → 10 + 0.8×20 = 26.
		for _, c := range []struct {
			id   string
			got  reports.Days
			want float64
		}{{"first_answer_median", f.FirstAnswerMedian, 5}, {"first_answer_p90", f.FirstAnswerP90, 9},
			{"placement_median", f.PlacementMedian, 10}, {"placement_p90", f.PlacementP90, 26}} {
			if !c.got.Valid || !near(c.got.Value, c.want) {
				t.Errorf("%s = %+v, want %v", c.id, c.got, c.want)
			}
		}
		wantRows := map[string]string{
			"by_channel":       "online=4 counter=1 phone=1 partner=1 forwarded=1 api=1",
			"by_age":           "unborn=1 0-5=2 6-11=1 12-17=1 18-23=1 24-35=2 36+=1",
			"by_start_month":   "2026-06=1 2026-07=1 2026-09=2 2026-10=1 2026-12=1 2027-01=2 2027-02=1",
			"by_neighbourhood": "13008/Bel=3 13008/Punt=1 13021/Zittaart=3 13053/Vorst=2",
			"by_day_part":      "whole=7 half=2",
			"by_days_per_week": "0=1 1=1 2=1 3=2 4=2 5=2 6=0 7=0",
			"by_wider_hours":   "yes=2 no=7",
			"by_care_need":     "yes=2 no=7",
			"by_priority":      "work_or_training=3 single_parent=2 low_income=1 foster_child=0 sibling=1 none=3",
			"by_vulnerable":    "yes=3 no=6",
			"by_reason":        "work=5 training=1 job_search=1 other=2",
			// D, from Laakdal, is the one unanswered request.
			"by_unmet_municipality": "13053=1",
		}
		for id, want := range wantRows {
			if got := rows(f.Breakdown(id)); got != want {
				t.Errorf("%s:\n got %s\nwant %s", id, got, want)
			}
		}
		// Every breakdown of the figures has a definition, and the other way round.
		for _, b := range f.Breakdowns {
			_ = reports.DefinitionOf(b.ID)
			if _, ok := wantRows[b.ID]; !ok {
				t.Errorf("breakdown %s is not checked by this test", b.ID)
			}
		}

		// One municipality of the intermunicipal desk: Geel has R1, R2, R3, R7.
		geel, err := s.Yearly(deskCtx(w.glm), 2026, "13008")
		if err != nil {
			t.Fatal(err)
		}
		if got := fmt.Sprint(geel.Requests, geel.Children, geel.Placed, geel.Withdrawn, geel.Open, geel.Unanswered); got != "4 4 2 1 1 0" {
			t.Errorf("Geel counts = %s", got)
		}
		// first answers 2, 4, 6, 10: median 5, p90 at rank 2.7 → 6 + 0.7×4 = 8.8.
		if !near(geel.FirstAnswerMedian.Value, 5) || !near(geel.FirstAnswerP90.Value, 8.8) {
			t.Errorf("Geel first answer = %v / %v, want 5 / 8.8", geel.FirstAnswerMedian, geel.FirstAnswerP90)
		}
		if got := rows(geel.Breakdown("by_channel")); got != "online=1 counter=1 phone=1 partner=0 forwarded=0 api=1" {
			t.Errorf("Geel by channel = %s", got)
		}

		// Another desk's data never shows: Leuven sees only its one request.
		lv, err := s.Yearly(deskCtx(w.leuven), 2026, "")
		if err != nil {
			t.Fatal(err)
		}
		if lv.Requests.N != 1 {
			t.Errorf("Leuven requests = %d, want 1", lv.Requests.N)
		}
	})
}

// TestDeskReportAndAhead checks the per-municipality figures and the unmet
// demand for the 12 months ahead with the fake clock (2026-11-15).
func TestDeskReportAndAhead(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		w := build(t, d)
		rep, err := service(w).Desk(deskCtx(w.glm), w.glm, 2026)
		if err != nil {
			t.Fatal(err)
		}
		var munis []string
		for _, m := range rep.Municipalities {
			munis = append(munis, fmt.Sprintf("%s:%v", m.NIS, m.Figures.Requests))
		}
		if got := strings.Join(munis, " "); got != "13008:4 13021:3 13053:2" {
			t.Errorf("per municipality = %s", got)
		}
		a := rep.Ahead
		if len(a.Months) != 12 || a.Months[0] != "2026-11" || a.Months[11] != "2027-10" {
			t.Fatalf("months = %v", a.Months)
		}
		var got []string
		for _, r := range a.Rows {
			got = append(got, fmt.Sprintf("%s %s/%s req=%v free=%d short=%d", r.Month, r.MunicipalityNIS, r.Neighbourhood, r.Requests, r.FreePlaces, r.Shortage))
		}
		want := []string{
			"2027-01 13008/Bel req=1 free=2 short=0",      // R7 against 1 baby + 1 toddler place
			"2027-01 13021/Zittaart req=1 free=0 short=1", // R5
			"2027-02 13021/Zittaart req=1 free=3 short=0", // R6 against 3 places at Zittaart
			"2027-03 13008/Bel req=1 free=0 short=1",      // J: submitted in 2027 but open, so ahead
		}
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("ahead rows:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
		var tot []string
		for _, r := range a.Totals {
			if r.Requests.N+r.FreePlaces > 0 {
				tot = append(tot, fmt.Sprintf("%s %v/%d/%d", r.Month, r.Requests, r.FreePlaces, r.Shortage))
			}
		}
		if got := strings.Join(tot, " "); got != "2027-01 2/2/1 2027-02 1/3/0 2027-03 1/0/1" {
			t.Errorf("ahead totals = %s", got)
		}
	})
}

// checkSuppressed walks every Count in v and fails on one a coordinator must
// not receive: a visible 1..4, or a hidden count that still carries its number.
func checkSuppressed(t *testing.T, path string, v reflect.Value) {
	t.Helper()
	switch v.Kind() {
	case reflect.Struct:
		if c, ok := v.Interface().(reports.Count); ok {
			if c.Hidden && c.N != 0 {
				t.Errorf("%s: hidden count carries %d", path, c.N)
			}
			if !c.Hidden && c.N > 0 && c.N < reports.SmallCell {
				t.Errorf("%s: small count %d sent to the coordinator", path, c.N)
			}
			return
		}
		for i := 0; i < v.NumField(); i++ {
			if v.Type().Field(i).IsExported() {
				checkSuppressed(t, path+"."+v.Type().Field(i).Name, v.Field(i))
			}
		}
	case reflect.Slice:
		for i := 0; i < v.Len(); i++ {
			checkSuppressed(t, fmt.Sprintf("%s[%d]", path, i), v.Index(i))
		}
	}
}

// TestRegionSuppressesSmallCells: a coordinator sees every desk of the region
// side by side, never a count of 1..4, never a cross-border pair under 5,
// and each desk's event log records the access.
func TestRegionSuppressesSmallCells(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		w := build(t, d)
		s := service(w)
		rep, err := s.Region(context.Background(), "coordinator-1", "13000", 2026)
		if err != nil {
			t.Fatal(err)
		}
		checkSuppressed(t, "region", reflect.ValueOf(rep))
		var names []string
		for _, d := range rep.Desks {
			names = append(names, d.Slug)
		}
		if got := strings.Join(names, ","); got != "geel-laakdal-meerhout,stadsregio-turnhout" {
			t.Fatalf("desks = %s", got)
		}
		g := rep.Desks[0].Figures
		// The statuses are all small; Turnhout's 5 open requests and the
		// region's 8 would give the 3 open ones away, so Turnhout's open
		// count is hidden too (x), then its requests (5 = the open ones),
		// then this desk's 9 (14 - 5).
		if got := fmt.Sprint(g.Requests, g.Children, g.Placed, g.Withdrawn, g.Unanswered, g.Open, g.Closed); got != "x 8 <5 <5 <5 <5 <5" {
			t.Errorf("desk figures outside the desk = %s", got)
		}
		th := rep.Desks[1].Figures
		if got := fmt.Sprint(th.Requests, th.Children, th.Placed, th.Open); got != "x 5 0 x" {
			t.Errorf("Turnhout's figures outside the desk = %s", got)
		}
		// 6 answered requests: the median may show; 3 placements: it may not.
		if !g.FirstAnswerMedian.Valid || g.PlacementMedian.Valid || g.PlacementP90.Valid {
			t.Errorf("percentiles = %v %v %v", g.FirstAnswerMedian, g.PlacementMedian, g.PlacementP90)
		}
		// A desk's breakdowns beyond the exported columns never leave the service.
		if got := rows(g.Breakdown("by_reason")); got != "" {
			t.Errorf("by reason of one desk outside the desk = %s", got)
		}
		if got := rows(rep.Total.Breakdown("by_reason")); got != "work=10 training=<5 job_search=<5 other=<5" {
			t.Errorf("by reason of the region = %s", got)
		}
		tot := rep.Total
		if got := fmt.Sprint(tot.Requests, tot.Open, tot.Placed); got != "14 8 <5" {
			t.Errorf("region total = %s", got)
		}
		// Only Turnhout → Kasterlee (5) shows; the four small pairs of the other desk are left out.
		if len(rep.Cross) != 1 || rep.Cross[0].FromNIS != "13040" || rep.Cross[0].ToNIS != "13017" || rep.Cross[0].Requests.N != 5 {
			t.Errorf("cross-border = %+v", rep.Cross)
		}
		if rep.HiddenPairs != 4 {
			t.Errorf("hidden pairs = %d, want 4", rep.HiddenPairs)
		}
		// Crossing into each desk is written to that desk's event log; Leuven is not touched.
		for _, desk := range []tenant.Tenant{w.glm, w.turnhout, w.leuven} {
			var n int64
			err := tenancy.NewStore(d).Tx(deskCtx(desk), func(ctx context.Context, tx *tenancy.Tx) error {
				var err error
				n, err = tx.Select((*eventlog.Event)(nil)).Where("kind = ?", "access.cross_tenant").Where("actor = ?", "coordinator-1").Count(ctx)
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			want := int64(1)
			if desk.Slug == "leuven" {
				want = 0
			}
			if n != want {
				t.Errorf("%s: %d cross-tenant events, want %d", desk.Slug, n, want)
			}
		}
		if _, err := s.Region(context.Background(), "coordinator-1", "99000", 2026); err == nil {
			t.Error("a region without desks gave a report")
		}
	})
}

// TestSuppress: every small count is withheld, zero and five stay.
func TestSuppress(t *testing.T) {
	f := reports.Figures{Requests: reports.Count{N: 4}, Children: reports.Count{N: 5}, Placed: reports.Count{N: 0}, Answered: reports.Count{N: 4},
		FirstAnswerMedian: reports.Days{Value: 3, Valid: true},
		Breakdowns:        []reports.Breakdown{{ID: "by_channel", Rows: []reports.Row{{Key: "online", Count: reports.Count{N: 1}}, {Key: "api", Count: reports.Count{N: 7}}}}}}
	s := reports.Suppress(f)
	checkSuppressed(t, "f", reflect.ValueOf(s))
	if s.Requests.String() != "<5" || s.Children.String() != "5" || s.Placed.String() != "0" || s.FirstAnswerMedian.Valid {
		t.Errorf("suppressed = %+v", s)
	}
	if got := rows(s.Breakdown("by_channel")); got != "online=<5 api=7" {
		t.Errorf("rows = %s", got)
	}
}

// TestDefinitions: every definition has three labels and three texts, ids are unique.
func TestDefinitions(t *testing.T) {
	seen := map[string]bool{}
	for _, d := range reports.Definitions {
		if seen[d.ID] {
			t.Errorf("definition %s twice", d.ID)
		}
		seen[d.ID] = true
		for _, l := range []string{"nl", "fr", "en"} {
			if d.Label[l] == "" || d.Text[l] == "" {
				t.Errorf("definition %s lacks %s", d.ID, l)
			}
		}
	}
}

// TestUnknownValuesStillCount: a value outside a breakdown's known keys (a
// channel added later, bad data) lands in an "unknown" row, so the rows
// still add up to the requests.
func TestUnknownValuesStillCount(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		w := build(t, d)
		insert(t, d, w.leuven, []spec{{child: "Q", family: "Q", status: requests.StatusActive, channel: requests.Channel("fax"),
			submitted: at("2026-06-05 09:00"), firstAnswer: -1, placed: -1, nis: "24062", wijk: "Heverlee", age: 12, days: "mon",
			reason: requests.Reason("other-new"), start: "2027-06-01",
			// A known claim and two no longer known: the request counts once as unknown.
			claims: []requests.Claim{requests.ClaimSibling, requests.Claim("old-claim-a"), requests.Claim("old-claim-b")}}})
		f, err := service(w).Yearly(deskCtx(w.leuven), 2026, "")
		if err != nil {
			t.Fatal(err)
		}
		if got := rows(f.Breakdown("by_channel")); got != "online=1 counter=0 phone=0 partner=0 forwarded=0 api=0 unknown=1" {
			t.Errorf("by channel = %s", got)
		}
		if got := rows(f.Breakdown("by_reason")); got != "work=1 training=0 job_search=0 other=0 unknown=1" {
			t.Errorf("by reason = %s", got)
		}
		if got := rows(f.Breakdown("by_priority")); got != "work_or_training=0 single_parent=0 low_income=0 foster_child=0 sibling=1 none=1 unknown=1" {
			t.Errorf("by priority = %s", got)
		}
		if got := reports.ValueLabel("by_channel", "unknown", "nl"); got != "onbekend" {
			t.Errorf("label = %s", got)
		}
	})
}

// TestUniqueChildrenFollowDuplicateLinks: requests the duplicate check tied
// together are one child, also along a chain that passes through a request
// of another year, and whether the worker kept the link or it is still open.
func TestUniqueChildrenFollowDuplicateLinks(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		w := build(t, d)
		q := spec{family: "Q", status: requests.StatusActive, channel: requests.ChannelOnline, firstAnswer: -1, placed: -1,
			nis: "24062", wijk: "Heverlee", age: 12, days: "mon", reason: requests.ReasonWork, start: "2027-06-01"}
		q0, q1, q2 := q, q, q
		q0.child, q0.submitted = "Q0", at("2025-11-05 09:00") // last year: not counted, but it links
		q1.child, q1.submitted, q1.dupOf, q1.dupState = "Q1", at("2026-02-05 09:00"), 1, requests.DuplicateKept
		q2.child, q2.submitted, q2.dupOf, q2.dupState = "Q2", at("2026-03-05 09:00"), 2, requests.DuplicateLikely
		insert(t, d, w.leuven, []spec{q0, q1, q2})
		f, err := service(w).Yearly(deskCtx(w.leuven), 2026, "")
		if err != nil {
			t.Fatal(err)
		}
		// P, Q1 and Q2 counted; Q1 and Q2 are the child of Q0: two children.
		if f.Requests.N != 3 || f.Children.N != 2 {
			t.Errorf("requests %d, children %d; want 3 and 2", f.Requests.N, f.Children.N)
		}
	})
}

// TestProviderResponsiveness: per provider and location, the counted
// requests that asked it, how many it answered, how many before the desk's
// deadline and the median days, worked out by hand (fixture_test.go; the
// desk gives 14 days):
//
//	D1 (Geel): A 2 d, B 4 d, E no answer, F 10 d but due after 7 → 4 / 3 / 2, median 4
//	D2 (Meerhout): D no answer, E 8 d → 2 / 1 / 1, median 8
//	D3 (Kasterlee): B 20 d (late), C 6 d, E2 none, H 1 d → 4 / 3 / 2, median 6
//	the provider: 10 / 7 / 5, median of 1 2 4 6 8 10 20 = 6
func TestProviderResponsiveness(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		w := build(t, d)
		rep, err := service(w).Desk(deskCtx(w.glm), w.glm, 2026)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, r := range rep.Providers {
			got = append(got, fmt.Sprintf("%s/%s/%s %d %d %d %s", r.Provider, r.Location, r.MunicipalityNIS, r.Received, r.Answered, r.InTime, r.Median))
		}
		want := []string{
			"Testopvang vzw// 10 7 5 6.0",
			"Testopvang vzw/Opvang D1/13008 4 3 2 4.0",
			"Testopvang vzw/Opvang D2/13021 2 1 1 8.0",
			"Testopvang vzw/Opvang D3/13017 4 3 2 6.0",
		}
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("responsiveness:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
		if rep.ResponseDays != 14 {
			t.Errorf("response days = %d", rep.ResponseDays)
		}
	})
}
