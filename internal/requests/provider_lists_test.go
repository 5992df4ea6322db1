package requests_test

import (
	"testing"
	"time"

	"github.com/loket-kinderopvang/loket/internal/eventlog"
	"github.com/loket-kinderopvang/loket/internal/platform/db"
	"github.com/loket-kinderopvang/loket/internal/platform/dbtest"
	"github.com/loket-kinderopvang/loket/internal/requests"
)

// TestProviderInboxCursorWithEqualTimes: items that changed at the same
// instant (the fixed clock) still come once each across pages, in (updated
// at, desk, request, rank) order; an answer moves its item to the end, and
// updated_since then gives only it. Only the items of a page are logged as
// looks.
func TestProviderInboxCursorWithEqualTimes(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		var ids []requests.RequestID
		for _, name := range []string{"Een", "Twee", "Drie", "Vier", "Vijf"} {
			ids = append(ids, f.submit(t, f.leuven, f.submission(name, f.locs[0], f.locs[1])).ID)
		}
		look := requests.Look{Actor: provider, What: eventlog.LookAPIInbox}
		looksAt := func(id requests.RequestID) int {
			t.Helper()
			c, err := f.svc.Case(f.leuven, id)
			if err != nil {
				t.Fatal(err)
			}
			ls, err := f.svc.Looks(f.leuven, c.Family.ID.UUID)
			if err != nil {
				t.Fatal(err)
			}
			return len(ls)
		}
		one, _, err := f.svc.ProviderItems(t.Context(), requests.ListInbox, f.locs, look, requests.ProviderQuery{Limit: 1})
		if err != nil || len(one) != 1 {
			t.Fatalf("one item: %v %v", one, err)
		}
		for _, id := range ids {
			if want := map[bool]int{true: 1, false: 0}[id == one[0].RequestID]; looksAt(id) != want {
				t.Errorf("looks at %s: %d, want %d (only the page shown is logged)", id, looksAt(id), want)
			}
		}
		q := requests.ProviderQuery{Limit: 3}
		seen := map[string]bool{}
		var keys []string
		for pages := 0; ; pages++ {
			items, next, err := f.svc.ProviderItems(t.Context(), requests.ListInbox, f.locs, look, q)
			if err != nil || len(items) > 3 || pages > 5 {
				t.Fatalf("page %d: %d items, %v", pages, len(items), err)
			}
			for _, it := range items {
				k := it.RequestID.String() + "/" + string(rune('0'+it.Rank))
				if seen[k] {
					t.Fatalf("item %s twice", k)
				}
				seen[k] = true
				keys = append(keys, it.Key().String())
			}
			if next == nil {
				break
			}
			q.After = next
		}
		if len(seen) != 10 {
			t.Fatalf("items seen %d, want 10", len(seen))
		}
		for i := 1; i < len(keys); i++ {
			if keys[i] <= keys[i-1] {
				t.Fatalf("out of key order: %v", keys)
			}
		}
		f.clk.Advance(time.Minute)
		since := f.clk.Now()
		if err := f.svc.ProviderAnswer(f.leuven, "leuven", ids[2], 1, f.locs, requests.Answer{Kind: requests.AnswerWaitingList}, provider); err != nil {
			t.Fatal(err)
		}
		items, next, err := f.svc.ProviderItems(t.Context(), requests.ListInbox, f.locs, look, requests.ProviderQuery{Limit: 50, Since: since})
		if err != nil || next != nil || len(items) != 1 || items[0].RequestID != ids[2] || items[0].State != requests.PreferenceWaitingList {
			t.Fatalf("updated since the answer: %+v %v", items, err)
		}
		if _, _, err := f.svc.ProviderItems(t.Context(), requests.ListInbox, f.locs, look, requests.ProviderQuery{Limit: 5, After: []string{"x"}}); err != requests.ErrBadCursor {
			t.Errorf("a foreign cursor: %v", err)
		}
	})
}
