package webhooks_test

import (
	"context"
	"testing"
	"time"

	"github.com/loket-kinderopvang/loket/internal/catalog"
	"github.com/loket-kinderopvang/loket/internal/platform/db"
	"github.com/loket-kinderopvang/loket/internal/platform/dbtest"
	"github.com/loket-kinderopvang/loket/internal/webhooks"
)

// TestStalePlacesToldOncePerPeriod: free places unchanged for longer than
// the threshold give one places.stale event to the provider's subscribed
// endpoint, not a second one for the same period; fresh places give none,
// and a change starts a new period. Another provider's location (never
// entered) is not told to an endpoint that did not subscribe.
func TestStalePlacesToldOncePerPeriod(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := setup(t, d)
		ctx := context.Background()
		stale, other := newReceiver(t), newReceiver(t)
		f.register(t, f.provider, stale, webhooks.PlacesStale)
		f.register(t, f.other, other, webhooks.RequestCreated)
		cat := catalog.NewStore(d, f.clk)
		lid := catalog.LocationID{UUID: f.location}
		set := func(n int) {
			t.Helper()
			if err := cat.SetAvailability(ctx, "test", catalog.AvailabilityChange{LocationID: lid, StartMonth: "2027-09",
				AgeBand: catalog.AgeBands[0], FreePlaces: n}); err != nil {
				t.Fatal(err)
			}
		}
		relay := webhooks.NewRelay(d, f.clk, webhooks.Guard{AllowPrivate: true}, quiet)
		run := func(want int, why string) {
			t.Helper()
			n, err := f.svc.NotifyStalePlaces(ctx, catalog.StaleAfter)
			if err != nil || n != want {
				t.Fatalf("%s: told %d (%v), want %d", why, n, err, want)
			}
			if _, err := relay.Deliver(ctx); err != nil {
				t.Fatal(err)
			}
		}
		set(2)
		run(0, "fresh places")
		f.clk.Advance(catalog.StaleAfter + time.Hour)
		run(1, "stale after the threshold")
		f.clk.Advance(24 * time.Hour)
		run(0, "the same stale period the next day")
		set(3)
		run(0, "just updated")
		f.clk.Advance(catalog.StaleAfter + time.Hour)
		run(1, "stale again: a new period")
		got := stale.received()
		if len(got) != 2 || got[0].event != webhooks.PlacesStale || got[0].subject != f.location.String() || got[1].id == got[0].id || stale.bad != 0 {
			t.Fatalf("received %+v, want two places.stale for the location", got)
		}
		if len(other.received()) != 0 {
			t.Errorf("an endpoint that did not subscribe was told: %+v", other.received())
		}
	})
}
