package reports

import (
	"fmt"
	"slices"

	"github.com/loket-kinderopvang/loket/internal/reports/sdc"
)

// partitions are the breakdowns whose rows add up to the requests (a
// reader knows it from their definitions); priority groups overlap.
var partitions = []string{"by_channel", "by_age", "by_start_month", "by_neighbourhood", "by_day_part",
	"by_days_per_week", "by_wider_hours", "by_care_need", "by_vulnerable", "by_reason", "by_unmet_municipality"}

// partitionOf is the headline count a partition adds up to, when it is
// not the requests.
var partitionOf = map[string]string{"by_unmet_municipality": "unanswered"}

// statusParts are the headline counts that add up to the requests.
var statusParts = []string{"placed", "withdrawn", "unanswered", "open", "closed"}

// regionCell names one count of the regional view: scope is a desk's index
// or len(desks) for the region's total; id "" is a headline count (key is
// its definition id).
type regionCell struct {
	scope        int
	id, key, sub string
}

// protectRegion decides what a regional coordinator may see of the desks'
// figures and their total: every count of 1..4 hidden, and further counts
// hidden (secondary suppression, package sdc) so that none of them follows
// from what the view publishes: the desks side by side with their total
// (page, CSV, workbook), and every breakdown of the total (page). The
// relations are the ones a reader knows: each column of the desks adds up
// to the total, the statuses and every breakdown but the priority groups
// add up to the requests. A desk's breakdown rows that the view never shows
// are left out of the result.
func protectRegion(desks []Figures, total Figures) ([]Figures, Figures, error) {
	all := append(slices.Clone(desks), total)
	tot := len(desks)
	var t sdc.Table
	index := map[regionCell]int{}
	add := func(c regionCell, n int) {
		index[c] = len(t.Values)
		t.Values = append(t.Values, n)
	}
	shown := func(scope int, id, key string) bool { return scope == tot || opgroeienCells[id+"\x00"+key] }
	for s, f := range all {
		for _, h := range f.Headline() {
			add(regionCell{scope: s, key: h.ID}, h.Count.N)
		}
		for _, b := range f.Breakdowns {
			for _, r := range b.Rows {
				if shown(s, b.ID, r.Key) {
					add(regionCell{s, b.ID, r.Key, r.Sub}, r.Count.N)
				}
			}
		}
	}
	relation := func(total regionCell, parts []regionCell, values []int) {
		rel := sdc.Relation{Total: index[total]}
		for i, p := range parts {
			c, ok := index[p]
			if !ok {
				if values[i] != 0 {
					return // a part the reader never sees: no relation for her
				}
				continue
			}
			rel.Parts = append(rel.Parts, c)
		}
		t.Relations = append(t.Relations, rel)
	}
	for s, f := range all {
		req := regionCell{scope: s, key: "requests"}
		var parts []regionCell
		var values []int
		for _, h := range f.Headline() {
			if slices.Contains(statusParts, h.ID) {
				parts, values = append(parts, regionCell{scope: s, key: h.ID}), append(values, h.Count.N)
			}
		}
		relation(req, parts, values)
		for _, id := range partitions {
			parts, values = nil, nil
			for _, r := range f.Breakdown(id).Rows {
				parts, values = append(parts, regionCell{s, id, r.Key, r.Sub}), append(values, r.Count.N)
			}
			if len(parts) > 0 {
				whole := req
				if h, ok := partitionOf[id]; ok {
					whole = regionCell{scope: s, key: h}
				}
				relation(whole, parts, values)
			}
		}
	}
	// Columns: every count shown for each desk adds up to the total's.
	for c := range index {
		if c.scope != tot || (c.id != "" && !opgroeienCells[c.id+"\x00"+c.key]) {
			continue
		}
		rel := sdc.Relation{Total: index[c]}
		for s := range desks {
			if p, ok := index[regionCell{s, c.id, c.key, c.sub}]; ok {
				rel.Parts = append(rel.Parts, p)
			}
		}
		t.Relations = append(t.Relations, rel)
	}
	slices.SortFunc(t.Relations, func(a, b sdc.Relation) int { return a.Total - b.Total }) // map order must not choose the cells
	secondary, err := sdc.Protect(&t, SmallCell)
	if err != nil {
		return nil, Figures{}, fmt.Errorf("reports: protect the regional figures: %w", err)
	}
	second := map[int]bool{}
	for _, c := range secondary {
		second[c] = true
	}
	count := func(c regionCell) Count {
		i := index[c]
		if t.Hidden[i] {
			return Count{Hidden: true, Secondary: second[i]}
		}
		return Count{N: t.Values[i]}
	}
	out := make([]Figures, len(all))
	for s, f := range all {
		o := Suppress(f) // the percentiles' rule; the counts are set below
		o.Requests, o.Children = count(regionCell{scope: s, key: "requests"}), count(regionCell{scope: s, key: "children"})
		o.Placed, o.Withdrawn = count(regionCell{scope: s, key: "placed"}), count(regionCell{scope: s, key: "withdrawn"})
		o.Unanswered, o.Open = count(regionCell{scope: s, key: "unanswered"}), count(regionCell{scope: s, key: "open"})
		o.Closed, o.Answered = count(regionCell{scope: s, key: "closed"}), count(regionCell{scope: s, key: "answered"})
		o.Breakdowns = nil
		for _, b := range f.Breakdowns {
			nb := Breakdown{ID: b.ID}
			for _, r := range b.Rows {
				if shown(s, b.ID, r.Key) {
					nb.Rows = append(nb.Rows, Row{Key: r.Key, Sub: r.Sub, Count: count(regionCell{s, b.ID, r.Key, r.Sub})})
				}
			}
			if len(nb.Rows) > 0 {
				o.Breakdowns = append(o.Breakdowns, nb)
			}
		}
		out[s] = o
	}
	return out[:tot], out[tot], nil
}
