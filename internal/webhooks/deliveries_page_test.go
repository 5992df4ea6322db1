package webhooks_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/loket-kinderopvang/loket/internal/platform/db"
	"github.com/loket-kinderopvang/loket/internal/platform/dbtest"
	"github.com/loket-kinderopvang/loket/internal/platform/page"
	"github.com/loket-kinderopvang/loket/internal/webhooks"
)

// TestDeliveryLogPages: the delivery log comes newest first a page at a
// time; deliveries made at the same instant (one transaction) still come
// once each; a foreign cursor is refused.
func TestDeliveryLogPages(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := setup(t, d)
		ctx := context.Background()
		e := f.register(t, f.provider, newReceiver(t), webhooks.RequestCreated)
		var evs []webhooks.Event
		for range 5 {
			evs = append(evs, webhooks.Event{Type: webhooks.RequestCreated, SubjectID: uuid.New(), Locations: []uuid.UUID{f.location}})
		}
		f.enqueue(t, evs[:3]...)
		f.clk.Advance(time.Minute)
		f.enqueue(t, evs[3:]...)
		seen := map[string]bool{}
		var after page.Key
		var last time.Time
		for pages := 0; ; pages++ {
			ds, next, err := f.svc.DeliveriesPage(ctx, f.provider, e.ID, after, 2)
			if err != nil || len(ds) > 2 || pages > 5 {
				t.Fatalf("page %d: %d, %v", pages, len(ds), err)
			}
			for _, dl := range ds {
				if seen[dl.ID.String()] || (!last.IsZero() && dl.CreatedAt.After(last)) {
					t.Fatalf("delivery %s twice or not newest first", dl.ID)
				}
				seen[dl.ID.String()], last = true, dl.CreatedAt
			}
			if next == nil {
				break
			}
			after = next
		}
		if len(seen) != 5 {
			t.Fatalf("deliveries seen %d, want 5", len(seen))
		}
		if _, _, err := f.svc.DeliveriesPage(ctx, f.provider, e.ID, page.Key{"x"}, 2); !errors.Is(err, webhooks.ErrBadCursor) {
			t.Errorf("a foreign cursor: %v", err)
		}
	})
}
