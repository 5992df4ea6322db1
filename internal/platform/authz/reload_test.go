package authz

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/loket-kinderopvang/loket/internal/platform/cache"
	"github.com/loket-kinderopvang/loket/internal/platform/db"
	"github.com/loket-kinderopvang/loket/internal/platform/dbtest"
	"github.com/loket-kinderopvang/loket/internal/platform/testenv"
)

// twoReplicas opens two connections to one fresh, migrated database, as two
// replicas of Loket would have.
func twoReplicas(t *testing.T, dialect db.Dialect) (*db.DB, *db.DB) {
	t.Helper()
	tg := dbtest.NewTarget(t, dialect)
	if _, err := tg.Owner(t).MigrateUp(context.Background(), dbtest.AppRole); err != nil {
		t.Fatal(err)
	}
	return tg.App(t), tg.App(t)
}

// eventually polls cond until it holds or the deadline passes.
func eventually(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	start := time.Now()
	for time.Since(start) < within {
		if cond() {
			t.Logf("%s after %v", what, time.Since(start).Round(time.Millisecond))
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("%s: not within %v", what, within)
}

// TestTwoReplicas: a role granted (and revoked) on replica 1 takes effect on
// replica 2 within a second, through pub/sub (in-process and Redis, with
// polling switched off in effect) and through polling alone.
func TestTwoReplicas(t *testing.T) {
	buses := []struct {
		name string
		// bus returns the caches of the two replicas; nil means none.
		bus  func(t *testing.T) (cache.Cache, cache.Cache)
		poll time.Duration
	}{
		{"memory-pubsub", func(t *testing.T) (cache.Cache, cache.Cache) {
			m := cache.NewMemory()
			t.Cleanup(func() { _ = m.Close() })
			return m, m
		}, time.Hour},
		{"redis-pubsub", func(t *testing.T) (cache.Cache, cache.Cache) {
			url, prefix := testenv.Redis(t)
			open := func() cache.Cache {
				r, err := cache.NewRedis(context.Background(), url, prefix)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { _ = r.Close() })
				return r
			}
			return open(), open()
		}, time.Hour},
		{"polling-only", func(*testing.T) (cache.Cache, cache.Cache) { return nil, nil }, 200 * time.Millisecond},
	}
	for _, dialect := range []db.Dialect{db.SQLite, db.Postgres} {
		for _, bus := range buses {
			t.Run(string(dialect)+"/"+bus.name, func(t *testing.T) {
				ctx := context.Background()
				d1, d2 := twoReplicas(t, dialect)
				c1, c2 := bus.bus(t)
				a1 := newAuthorizer(t, d1, Options{Cache: c1, PollInterval: bus.poll})
				a2 := newAuthorizer(t, d2, Options{Cache: c2, PollInterval: bus.poll})
				for _, a := range []*Authorizer{a1, a2} {
					if err := a.Start(ctx); err != nil {
						t.Fatal(err)
					}
					t.Cleanup(a.Stop)
				}

				if err := a1.AssignRole(ctx, "u1", DeskWorker, "tenant:a"); err != nil {
					t.Fatal(err)
				}
				if ok, _ := a1.Allowed("u1", "tenant:a", RequestsRead); !ok {
					t.Fatal("replica 1 does not see its own write")
				}
				eventually(t, time.Second, "grant visible on replica 2", func() bool {
					ok, _ := a2.Allowed("u1", "tenant:a", RequestsRead)
					return ok
				})
				if err := a1.RemoveRole(ctx, "u1", DeskWorker, "tenant:a"); err != nil {
					t.Fatal(err)
				}
				eventually(t, time.Second, "revocation visible on replica 2", func() bool {
					ok, _ := a2.Allowed("u1", "tenant:a", RequestsRead)
					return !ok
				})
				if a2.Version() != a1.Version() {
					t.Errorf("versions differ: %d vs %d", a1.Version(), a2.Version())
				}
			})
		}
	}
}

// TestStaleReplicaWrites: a replica that has not reloaded yet must still
// write through to the database. Casbin's auto-save would skip removing a
// rule it does not have in memory, and the revocation would be lost.
func TestStaleReplicaWrites(t *testing.T) {
	dbtest.EachTarget(t, func(t *testing.T, tg dbtest.Target) {
		ctx := context.Background()
		if _, err := tg.Owner(t).MigrateUp(ctx, dbtest.AppRole); err != nil {
			t.Fatal(err)
		}
		a1 := newAuthorizer(t, tg.App(t), Options{})
		a2 := newAuthorizer(t, tg.App(t), Options{}) // never started: stale until told

		if err := a1.AssignRole(ctx, "u1", DeskAdmin, "tenant:a"); err != nil {
			t.Fatal(err)
		}
		if ok, _ := a2.Allowed("u1", "tenant:a", StaffManage); ok {
			t.Fatal("replica 2 reloaded by itself; the test needs it stale")
		}
		// Replica 2 revokes a role it has not seen yet.
		if err := a2.RemoveRole(ctx, "u1", DeskAdmin, "tenant:a"); err != nil {
			t.Fatal(err)
		}
		// Replica 1 adds a rule replica 2 then adds too: both stored once.
		if err := a1.Group(ctx, "tenant:a", "region:r1"); err != nil {
			t.Fatal(err)
		}
		if err := a2.Group(ctx, "tenant:a", "region:r1"); err != nil {
			t.Fatal(err)
		}
		for i, a := range []*Authorizer{a1, a2} {
			if err := a.Reload(ctx); err != nil {
				t.Fatal(err)
			}
			if ok, _ := a.Allowed("u1", "tenant:a", StaffManage); ok {
				t.Errorf("replica %d: the revocation was lost", i+1)
			}
		}
		// Replica 2 wrote after replica 1's change without having loaded it:
		// it must have reloaded rather than only patched its memory.
		if err := a1.AssignRole(ctx, "u2", RegionalCoordinator, "region:r1"); err != nil {
			t.Fatal(err)
		}
		if err := a2.AssignRole(ctx, "u3", DeskWorker, "tenant:b"); err != nil {
			t.Fatal(err)
		}
		if ok, _ := a2.Allowed("u2", "tenant:a", ReportsAggregate); !ok {
			t.Error("replica 2 missed replica 1's change when it wrote its own")
		}
	})
}

// TestStartWithoutRedis: a cache that cannot subscribe leaves polling on.
func TestStartWithoutRedis(t *testing.T) {
	ctx := context.Background()
	d1, d2 := twoReplicas(t, db.SQLite)
	dead, err := cache.NewRedis(ctx, "redis://127.0.0.1:1/0", "x:")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = dead.Close() })
	a1 := newAuthorizer(t, d1, Options{Cache: dead})
	a2 := newAuthorizer(t, d2, Options{Cache: dead, PollInterval: 100 * time.Millisecond})
	if err := a2.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a2.Stop)
	if err := a1.AssignRole(ctx, "u1", Operator, Platform); err != nil {
		t.Fatalf("a write must not depend on the cache: %v", err)
	}
	eventually(t, time.Second, "grant visible by polling", func() bool {
		ok, _ := a2.Allowed("u1", Platform, TenantsManage)
		return ok
	})
}

// TestChecksDuringReloads: while the policy is reloaded and rewritten, a
// user whose roles do not change is never refused (the new policy replaces
// the old one at once, never half-built) and a change is never undone.
func TestChecksDuringReloads(t *testing.T) {
	ctx := context.Background()
	a, _ := world(t, dbtest.Open(t, db.SQLite))
	stop := make(chan struct{})
	errs := make(chan string, 100)
	var wg sync.WaitGroup
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				for _, c := range []struct {
					user, dom string
					perm      Permission
				}{
					{"desk-worker", "tenant:a", RequestsWrite},
					{"desk-worker", "tenant:c", RequestsRead},
					{"coordinator", "tenant:b", ReportsAggregate},
					{"prov-admin", "location:l2", LocationsWrite},
				} {
					if ok, err := a.Allowed(c.user, c.dom, c.perm); !ok || err != nil {
						errs <- fmt.Sprintf("%s %s on %s refused (%v)", c.user, c.perm, c.dom, err)
						return
					}
				}
			}
		}()
	}
	for i := range 20 {
		if err := a.AssignRole(ctx, fmt.Sprintf("u%d", i), DeskWorker, "tenant:b"); err != nil {
			t.Fatal(err)
		}
		if err := a.Reload(ctx); err != nil {
			t.Fatal(err)
		}
	}
	close(stop)
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	if ds, _ := a.DomainsWhere("u19", "requests", "read"); !slices.Equal(ds, []string{"tenant:b"}) {
		t.Errorf("last assignment: %v", ds)
	}
}
