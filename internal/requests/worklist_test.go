package requests_test

import (
	"testing"
	"time"

	"github.com/loket-kinderopvang/loket/internal/platform/db"
	"github.com/loket-kinderopvang/loket/internal/platform/dbtest"
	"github.com/loket-kinderopvang/loket/internal/requests"
)

// TestWorklist runs the desk's worklist query on both databases: only this
// desk's open requests, with their flags, filters by attention, status and name.
func TestWorklist(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		urgent := f.submission("Mila", f.locs[0])
		urgent.Urgent = true
		u := f.submit(t, f.leuven, urgent)
		o := f.submit(t, f.leuven, f.submission("Noor", f.locs[1]))
		if err := f.svc.Answer(f.leuven, o.ID, 1, offer(), provider); err != nil {
			t.Fatal(err)
		}
		w := f.submit(t, f.leuven, f.submission("Lou", f.locs[2]))
		if err := f.svc.Withdraw(f.leuven, w.ID, "test", parent); err != nil {
			t.Fatal(err)
		}
		// A request at another desk (for a Leuven location: allowed) never shows.
		g := f.submission("Geelkind", f.locs[0])
		g.Address.MunicipalityNIS = "13008"
		f.submit(t, f.geel, g)

		all, err := f.svc.Worklist(f.leuven, requests.WorklistFilter{})
		if err != nil {
			t.Fatal(err)
		}
		names := map[string][]string{}
		for _, it := range all {
			names[it.ChildName] = it.Flags
		}
		if len(all) != 2 || names["Mila Testkind"] == nil {
			t.Fatalf("worklist %v", names)
		}
		if _, ok := names["Lou Testkind"]; ok {
			t.Error("a withdrawn request is on the worklist")
		}
		// The urgent request comes first (most flags) and carries its flag.
		if all[0].Request.ID != u.ID || !contains(all[0].Flags, requests.FlagUrgent) {
			t.Errorf("first item %s %v", all[0].ChildName, all[0].Flags)
		}
		// Pending answers have a deadline; the offered one has none pending.
		if all[0].NextDeadline == nil || !all[0].NextDeadline.After(day0) {
			t.Errorf("next deadline %v", all[0].NextDeadline)
		}

		only, err := f.svc.Worklist(f.leuven, requests.WorklistFilter{Attention: requests.FlagUrgent})
		if err != nil || len(only) != 1 || only[0].Request.ID != u.ID {
			t.Fatalf("urgent filter: %v %v", only, err)
		}
		offered, err := f.svc.Worklist(f.leuven, requests.WorklistFilter{Status: requests.StatusOffered})
		if err != nil || len(offered) != 1 || offered[0].Request.ID != o.ID {
			t.Fatalf("status filter: %v %v", offered, err)
		}
		byName, err := f.svc.Worklist(f.leuven, requests.WorklistFilter{Query: "noo"})
		if err != nil || len(byName) != 1 || byName[0].Request.ID != o.ID {
			t.Fatalf("name filter: %v %v", byName, err)
		}

		// Overdue: the provider's answer deadline passes on the fixed clock.
		f.clk.Advance(60 * 24 * time.Hour)
		late, err := f.svc.Worklist(f.leuven, requests.WorklistFilter{Attention: requests.FlagOverdue})
		if err != nil || len(late) != 1 || late[0].Request.ID != u.ID {
			t.Fatalf("overdue filter: %v %v", late, err)
		}
	})
}

func contains(xs []string, x string) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}
