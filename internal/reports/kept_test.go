package reports_test

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/loket-kinderopvang/loket/internal/eventlog"
	"github.com/loket-kinderopvang/loket/internal/platform/cache"
	"github.com/loket-kinderopvang/loket/internal/platform/clock"
	"github.com/loket-kinderopvang/loket/internal/platform/db"
	"github.com/loket-kinderopvang/loket/internal/platform/dbtest"
	"github.com/loket-kinderopvang/loket/internal/platform/tenancy"
	"github.com/loket-kinderopvang/loket/internal/reports"
	"github.com/loket-kinderopvang/loket/internal/requests"
)

// countingCache counts the figures stored: one per computation.
type countingCache struct {
	cache.Cache
	sets int
}

func (c *countingCache) Set(ctx context.Context, key string, value []byte, ttl time.Duration) error {
	c.sets++
	return c.Cache.Set(ctx, key, value, ttl)
}

// TestKeptFiguresFollowEveryChange: the desk's figures are computed once and
// kept while nothing changes; after a change to any table they come from
// (requests, preferences, claims, children, families, and the catalogue's
// names), the report equals one computed from scratch, and differs from the
// one before, so a kept report is never stale.
func TestKeptFiguresFollowEveryChange(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		w := build(t, d)
		kept := &countingCache{Cache: cache.NewMemory()}
		cross := eventlog.CrossTenantLog{Tenants: tenancy.NewStore(d), Now: func() time.Time { return now }}
		s := reports.NewService(d, w.dir, clock.NewFixed(now), cross, reports.KeepFigures(kept, "test"))
		fresh := reports.NewService(d, w.dir, clock.NewFixed(now), cross)
		ctx := deskCtx(w.glm)
		report := func() reports.DeskReport {
			t.Helper()
			r, err := s.Desk(ctx, w.glm, 2026)
			if err != nil {
				t.Fatal(err)
			}
			return r
		}
		before := report()
		if again := report(); kept.sets != 1 || !reflect.DeepEqual(again, before) {
			t.Fatalf("unchanged data: %d computations (want 1), same report: %v", kept.sets, reflect.DeepEqual(again, before))
		}
		exec := func(q string, args ...any) {
			t.Helper()
			err := tenancy.NewStore(d).Tx(ctx, func(ctx context.Context, tx *tenancy.Tx) error {
				_, err := tx.Unscoped().ExecContext(ctx, q, args...) // raw SQL as the app role, in the desk's transaction
				return err
			})
			if err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
		for _, c := range []struct {
			name   string
			change func()
		}{
			{"a new request", func() {
				insert(t, d, w.glm, []spec{{child: "Z", family: "Z", status: requests.StatusActive, channel: requests.ChannelOnline,
					submitted: at("2026-08-01 09:00"), firstAnswer: -1, placed: -1, nis: "13008", wijk: "Bel", age: 12, days: "mon",
					reason: requests.ReasonWork, start: "2027-03-01"}})
			}},
			{"a request's status", func() {
				exec("UPDATE requests SET status = 'withdrawn' WHERE tenant_id = ? AND status = 'active'", w.glm.ID)
			}},
			{"an answer", func() {
				exec("UPDATE preferences SET answered_at = ? WHERE tenant_id = ? AND answered_at IS NULL", now, w.glm.ID)
			}},
			{"a claim", func() {
				exec("DELETE FROM request_claims WHERE tenant_id = ? AND claim = 'sibling'", w.glm.ID)
			}},
			{"a family found vulnerable", func() {
				exec("UPDATE families SET vulnerable = ? WHERE tenant_id = ?", true, w.glm.ID)
			}},
			{"a child moved to another family", func() {
				exec("UPDATE families SET vulnerable = ? WHERE tenant_id = ? AND display_name = 'Gezin B'", false, w.glm.ID)
				exec("UPDATE children SET family_id = (SELECT id FROM families WHERE tenant_id = ? AND display_name = 'Gezin B') "+
					"WHERE tenant_id = ? AND first_name = 'Kind A'", w.glm.ID, w.glm.ID)
			}},
			{"a location renamed (the catalogue)", func() {
				if _, err := d.NewUpdate().Table("locations").Set("name = ?", "Opvang Zonnebloem").Where("id = ?", w.l1).
					Exec(context.Background()); err != nil {
					t.Fatal(err)
				}
			}},
		} {
			c.change()
			got := report()
			want, err := fresh.Desk(ctx, w.glm, 2026)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("after %s: the kept report differs from a fresh one:\n got %+v\nwant %+v", c.name, got.Desk, want.Desk)
			}
			if reflect.DeepEqual(got, before) {
				t.Errorf("after %s: the report did not change", c.name)
			}
			before = got
		}
	})
}

// TestWarmKeepsChangedDesks: the periodic warm-up computes the figures of
// every desk whose data changed since they were kept, and only those; the
// next view of a warmed desk computes nothing.
func TestWarmKeepsChangedDesks(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		w := build(t, d)
		kept := &countingCache{Cache: cache.NewMemory()}
		cross := eventlog.CrossTenantLog{Tenants: tenancy.NewStore(d), Now: func() time.Time { return now }}
		s := reports.NewService(d, w.dir, clock.NewFixed(now), cross, reports.KeepFigures(kept, "test"))
		ctx := context.Background()
		desks := len(w.dir.All())
		if n, err := s.Warm(ctx); err != nil || n != desks {
			t.Fatalf("first warm-up: %d desks (%v), want all %d", n, err, desks)
		}
		if n, err := s.Warm(ctx); err != nil || n != 0 {
			t.Fatalf("nothing changed: %d desks warmed (%v), want 0", n, err)
		}
		insert(t, d, w.turnhout, []spec{{child: "Y", family: "Y", status: requests.StatusActive, channel: requests.ChannelOnline,
			submitted: at("2026-08-01 09:00"), firstAnswer: -1, placed: -1, nis: "13040", wijk: "Zevendonk", age: 12, days: "mon",
			reason: requests.ReasonWork, start: "2027-03-01"}})
		if n, err := s.Warm(ctx); err != nil || n != 1 {
			t.Fatalf("one desk changed: %d desks warmed (%v), want 1", n, err)
		}
		sets := kept.sets
		rep, err := s.Desk(deskCtx(w.turnhout), w.turnhout, 2026)
		if err != nil {
			t.Fatal(err)
		}
		if kept.sets != sets || rep.Desk.Requests.N != 6 {
			t.Errorf("view after the warm-up: %d computations (want none), %d requests (want 6)", kept.sets-sets, rep.Desk.Requests.N)
		}
	})
}
