package reports_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"

	"github.com/loket-kinderopvang/loket/internal/platform/db"
	"github.com/loket-kinderopvang/loket/internal/platform/dbtest"
	"github.com/loket-kinderopvang/loket/internal/reports"
	"github.com/loket-kinderopvang/loket/internal/reports/sdc"
)

// attack collects published cells and the sums a reader knows, to hand
// them to the solver (sdc.Recover). It is written apart from the report's
// own suppression: it reads what was published, nothing else.
type attack struct {
	t     sdc.Table
	cells map[string]int
	names []string
}

func newAttack() *attack { return &attack{cells: map[string]int{}} }

// cell records a published value: a number, or hidden ("<5", "x").
func (a *attack) cell(name, shown string) {
	v, hidden := 0, false
	switch shown {
	case "<5", reports.HiddenMark:
		hidden = true
	default:
		n, err := strconv.Atoi(shown)
		if err != nil {
			panic(fmt.Sprintf("cell %s: %q", name, shown))
		}
		v = n
	}
	a.cells[name] = len(a.t.Values)
	a.names = append(a.names, name)
	a.t.Values, a.t.Hidden = append(a.t.Values, v), append(a.t.Hidden, hidden)
}

// sum records "total = parts", when every cell of it was published.
func (a *attack) sum(total string, parts []string) {
	tc, ok := a.cells[total]
	if !ok || len(parts) == 0 {
		return
	}
	r := sdc.Relation{Total: tc}
	for _, p := range parts {
		pc, ok := a.cells[p]
		if !ok {
			return
		}
		r.Parts = append(r.Parts, pc)
	}
	a.t.Relations = append(a.t.Relations, r)
}

// recover returns the hidden cells the solver can tell, by name.
func (a *attack) recover(t *testing.T) []string {
	t.Helper()
	got, err := sdc.Recover(a.t)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for c, v := range got {
		out = append(out, fmt.Sprintf("%s=%d", a.names[c], v))
	}
	slices.Sort(out)
	return out
}

// tableAttack reads the desks-side-by-side table (CSV or workbook sheet):
// each column adds up over the desks to the "totaal" row, and in each row
// the statuses, the channels, the age groups and whole + half days add up
// to the requests.
func tableAttack(t *testing.T, rows [][]string) *attack {
	t.Helper()
	a := newAttack()
	head := rows[0]
	counted := func(h string) bool {
		return h != "jaar" && h != "regio_nis" && h != "loket" && !strings.Contains(h, "dagen_")
	}
	var desks []string
	for _, r := range rows[1:] {
		for i, h := range head {
			if counted(h) {
				a.cell(r[2]+"."+h, r[i])
			}
		}
		if r[2] != "totaal" {
			desks = append(desks, r[2])
		}
	}
	for _, h := range head {
		if !counted(h) {
			continue
		}
		var parts []string
		for _, d := range desks {
			parts = append(parts, d+"."+h)
		}
		a.sum("totaal."+h, parts)
	}
	for _, r := range rows[1:] {
		group := func(prefix string) []string {
			var out []string
			for _, h := range head {
				if strings.HasPrefix(h, prefix) {
					out = append(out, r[2]+"."+h)
				}
			}
			return out
		}
		a.sum(r[2]+".aanvragen", []string{r[2] + ".geplaatst", r[2] + ".ingetrokken", r[2] + ".onbeantwoord", r[2] + ".open", r[2] + ".afgesloten"})
		a.sum(r[2]+".aanvragen", group("kanaal_"))
		a.sum(r[2]+".aanvragen", group("leeftijd_"))
		a.sum(r[2]+".aanvragen", []string{r[2] + ".hele_dagen", r[2] + ".halve_dagen"})
	}
	return a
}

// figuresAttack reads the page data: the desks' counts and the total's
// every breakdown. Every breakdown but the priority groups adds up to the
// requests (unmet demand by municipality: to the unanswered ones); yes/no
// breakdowns only when both rows are there.
func figuresAttack(desks []reports.Figures, total reports.Figures) *attack {
	a := newAttack()
	all := append(slices.Clone(desks), total)
	scope := func(i int) string {
		if i == len(desks) {
			return "total"
		}
		return fmt.Sprint("desk", i)
	}
	name := func(s int, id string, r reports.Row) string {
		return fmt.Sprintf("%s.%s.%s.%s", scope(s), id, r.Key, r.Sub)
	}
	for s, f := range all {
		for _, h := range f.Headline() {
			a.cell(scope(s)+"."+h.ID, h.Count.String())
		}
		for _, b := range f.Breakdowns {
			for _, r := range b.Rows {
				a.cell(name(s, b.ID, r), r.Count.String())
			}
		}
	}
	for s, f := range all {
		p := scope(s) + "."
		a.sum(p+"requests", []string{p + "placed", p + "withdrawn", p + "unanswered", p + "open", p + "closed"})
		for _, b := range f.Breakdowns {
			if b.ID == "by_priority" || (len(b.Rows) < 2 && slices.Contains([]string{"by_wider_hours", "by_care_need", "by_vulnerable"}, b.ID)) {
				continue
			}
			var parts []string
			for _, r := range b.Rows {
				parts = append(parts, name(s, b.ID, r))
			}
			whole := p + "requests"
			if b.ID == "by_unmet_municipality" { // the unanswered requests by municipality
				whole = p + "unanswered"
			}
			a.sum(whole, parts)
		}
	}
	for _, h := range total.Headline() {
		var parts []string
		for s := range desks {
			parts = append(parts, scope(s)+"."+h.ID)
		}
		a.sum("total."+h.ID, parts)
	}
	for _, b := range total.Breakdowns {
		for _, r := range b.Rows {
			var parts []string
			for s := range desks {
				parts = append(parts, name(s, b.ID, r))
			}
			a.sum(name(len(desks), b.ID, r), parts)
		}
	}
	return a
}

// TestRegionSolverRecoversNothing: a solver that takes every published sum
// and bounds each hidden cell by linear programming recovers none of them,
// in the regional page data, its CSV and its workbook (both read back).
// With only the small counts hidden (the old suppression) it recovers
// several from the same data: the solver has teeth.
func TestRegionSolverRecoversNothing(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		w := build(t, d)
		s := service(w)
		rep, err := s.Region(context.Background(), "coordinator-1", "13000", 2026)
		if err != nil {
			t.Fatal(err)
		}
		var desks []reports.Figures
		for _, dk := range rep.Desks {
			desks = append(desks, dk.Figures)
		}
		if got := figuresAttack(desks, rep.Total).recover(t); len(got) > 0 {
			t.Errorf("page data: the solver recovers %v", got)
		}

		var buf bytes.Buffer
		if err := rep.WriteCSV(&buf, reports.ExportRegionDesks, reports.CSVRFC); err != nil {
			t.Fatal(err)
		}
		rows, err := csv.NewReader(&buf).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		if got := tableAttack(t, rows).recover(t); len(got) > 0 {
			t.Errorf("CSV: the solver recovers %v", got)
		}
		buf.Reset()
		if err := rep.WriteCSV(&buf, reports.ExportRegionDesks, reports.CSVBelgian); err != nil {
			t.Fatal(err)
		}
		r := csv.NewReader(strings.NewReader(strings.TrimPrefix(buf.String(), "\ufeff")))
		r.Comma = ';'
		if rows, err = r.ReadAll(); err != nil {
			t.Fatal(err)
		}
		if got := tableAttack(t, rows).recover(t); len(got) > 0 {
			t.Errorf("Belgian CSV: the solver recovers %v", got)
		}

		buf.Reset()
		if err := rep.WriteXLSX(&buf); err != nil {
			t.Fatal(err)
		}
		x, err := excelize.OpenReader(&buf)
		if err != nil {
			t.Fatal(err)
		}
		defer x.Close()
		xrows, err := x.GetRows("Loketten")
		if err != nil {
			t.Fatal(err)
		}
		if got := tableAttack(t, xrows).recover(t); len(got) > 0 {
			t.Errorf("workbook: the solver recovers %v", got)
		}

		// The old way: each count of 1..4 hidden, nothing else.
		var raw, old []reports.Figures
		for _, desk := range []string{"geel-laakdal-meerhout", "stadsregio-turnhout"} {
			dt, _ := w.dir.BySlug(desk)
			f, err := s.Yearly(deskCtx(dt), 2026, "")
			if err != nil {
				t.Fatal(err)
			}
			raw = append(raw, f)
			old = append(old, reports.Suppress(f))
		}
		var tot reports.Figures
		for _, h := range []struct {
			dst *reports.Count
			get func(reports.Figures) reports.Count
		}{{&tot.Requests, func(f reports.Figures) reports.Count { return f.Requests }}, {&tot.Children, func(f reports.Figures) reports.Count { return f.Children }},
			{&tot.Placed, func(f reports.Figures) reports.Count { return f.Placed }}, {&tot.Withdrawn, func(f reports.Figures) reports.Count { return f.Withdrawn }},
			{&tot.Unanswered, func(f reports.Figures) reports.Count { return f.Unanswered }}, {&tot.Open, func(f reports.Figures) reports.Count { return f.Open }},
			{&tot.Closed, func(f reports.Figures) reports.Count { return f.Closed }}} {
			for _, f := range raw {
				h.dst.N += h.get(f).N
			}
		}
		tot = reports.Suppress(tot)
		for i := range old {
			old[i].Breakdowns = nil
		}
		got := figuresAttack(old, tot).recover(t)
		// Turnhout's 5 open requests and the total of 8 give Geel-Laakdal-Meerhout's 3.
		if !slices.Contains(got, "desk0.open=3") {
			t.Errorf("with small counts hidden only, the solver recovers %v; want at least desk0.open=3", got)
		}
	})
}
