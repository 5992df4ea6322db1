package app

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/loket-kinderopvang/loket/internal/platform/authz"
	"github.com/loket-kinderopvang/loket/internal/platform/cache"
	"github.com/loket-kinderopvang/loket/internal/platform/db"
	"github.com/loket-kinderopvang/loket/internal/platform/dbtest"
	"github.com/loket-kinderopvang/loket/internal/platform/testenv"
	"github.com/loket-kinderopvang/loket/internal/platform/web/webtest"
)

// TestSearchWhileARedisClusterPrimaryFailsOver: search load on a private
// Redis Cluster (three primaries, three replicas); the primary holding the
// searched region's keys is killed. Every search is answered, from
// PostgreSQL while the cluster has no primary for those slots; once a
// replica has taken over, answers come from the cache again.
func TestSearchWhileARedisClusterPrimaryFailsOver(t *testing.T) {
	clusterURL := testenv.StartRedisCluster(t, 7100)
	prefix := "loket-failover:"
	tg := dbtest.NewTarget(t, db.Postgres)
	if _, err := tg.Owner(t).MigrateUp(context.Background(), dbtest.AppRole); err != nil {
		t.Fatal(err)
	}
	a, srv := openInstance(t, tg, clusterURL, prefix)
	if _, err := a.SyncTenants(context.Background()); err != nil {
		t.Fatal(err)
	}
	geel, leuven := availLocations(t, a.Catalog)
	places(t, srv, "13000", geel)
	if places(t, srv, "13000", geel); cacheRequests(t, srv, "hit") < 1 {
		t.Fatal("before the failover the second read must hit the cache")
	}

	var ok, failed atomic.Int64
	var firstFailure atomic.Value
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for c := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			regions := []string{"13000", "24000"}
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				r := webtest.Get(t, srv.App, strings.Replace(availPath, "%s", regions[(c+i)%2], 1))
				if r.Status == 200 {
					ok.Add(1)
				} else {
					failed.Add(1)
					firstFailure.CompareAndSwap(nil, fmt.Sprintf("%d %s", r.Status, r.Body))
				}
			}
		}()
	}

	// The primary of the slot that holds region 13000's version.
	cc, err := cache.NewRedisClient(clusterURL)
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	ctx := context.Background()
	primary, err := cc.(*redis.ClusterClient).MasterForKey(ctx, prefix+"avail:ver:{13000}")
	if err != nil {
		t.Fatal(err)
	}
	addr := primary.Options().Addr
	time.Sleep(500 * time.Millisecond)
	fallbacksBefore := cacheRequests(t, srv, "fallback")
	// SHUTDOWN closes the connection without an answer: redis-cli's exit
	// status says nothing; the wait below checks that the node is gone.
	_ = exec.Command("redis-cli", "-p", addr[strings.LastIndexByte(addr, ':')+1:], "shutdown", "nosave").Run()
	killedAt := time.Now()

	// Wait for a replica to take over the slot, under load all the while.
	var failover time.Duration
	for time.Since(killedAt) < 30*time.Second {
		cc.(*redis.ClusterClient).ReloadState(ctx)
		m, err := cc.(*redis.ClusterClient).MasterForKey(ctx, prefix+"avail:ver:{13000}")
		if err == nil && m.Options().Addr != addr && m.Ping(ctx).Err() == nil {
			if info, err := m.ClusterInfo(ctx).Result(); err == nil && strings.Contains(info, "cluster_state:ok") {
				failover = time.Since(killedAt)
				break
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	if failover == 0 {
		t.Fatal("no replica took over within 30 s")
	}
	fallbacks := cacheRequests(t, srv, "fallback") - fallbacksBefore
	// After the failover the cache serves again: a change is seen, and
	// repeated reads hit.
	time.Sleep(2 * time.Second)
	hitsBefore := cacheRequests(t, srv, "hit")
	time.Sleep(time.Second)
	close(stop)
	wg.Wait()
	hitsAfter := cacheRequests(t, srv, "hit")
	t.Logf("primary %s killed; replica took over after %s; %d searches answered, %d failed; %d answered from PostgreSQL; cache hits %d → %d in the last second",
		addr, failover.Round(time.Millisecond), ok.Load(), failed.Load(), fallbacks, hitsBefore, hitsAfter)
	if failed.Load() > 0 {
		t.Errorf("%d searches failed during the failover; first: %v", failed.Load(), firstFailure.Load())
	}
	if fallbacks == 0 {
		t.Error("no search was answered from PostgreSQL while the primary was gone: the kill did not reach the searched keys")
	}
	if hitsAfter <= hitsBefore {
		t.Errorf("after the failover the cache does not serve again: hits %d → %d", hitsBefore, hitsAfter)
	}
	setPlaces(t, a.Catalog, leuven, 9)
	if got := places(t, srv, "24000", leuven); got != 9 {
		t.Errorf("a change after the failover: %d free places, want 9", got)
	}
}

// TestReportsComeFromTheStandby: with LOKET_DATABASE_READ_URL on a
// streaming standby, the report pages and exports, the public search pages
// and the availability API read there (counted per page); a signed-in
// person's pages that are not read-only stay on the primary; after her own
// change (the sign-in) her browser carries the primary's WAL position.
func TestReportsComeFromTheStandby(t *testing.T) {
	tg := dbtest.NewTarget(t, db.Postgres)
	standby := testenv.Standby(t, tg.URL)
	ctx := context.Background()
	if _, err := tg.Owner(t).MigrateUp(ctx, dbtest.AppRole); err != nil {
		t.Fatal(err)
	}
	cfg := testDataDir(t, testConfig(tg), tg)
	cfg.DatabaseReadURL = standby
	a, err := Open(ctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = a.Close() })
	if _, err := a.SyncTenants(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Seed(ctx); err != nil {
		t.Fatal(err)
	}
	srv, err := a.Handler()
	if err != nil {
		t.Fatal(err)
	}
	b := SignInDemo(t, a, srv.App, authz.DeskAdmin)
	if c := b.cookies[lsnCookie]; c == nil || !db.ValidLSN(c.Value) {
		t.Fatalf("after signing in the browser has no WAL position: %v", c)
	}
	for _, tc := range []struct {
		path    string
		standby bool
	}{
		{"/leuven/loket/cijfers?lang=nl", true},
		{"/leuven/loket/cijfers/export.csv", true},
		{"/leuven/opvang?lang=nl", true},
		{"/api/v1/availability?region=24000&month=2027-03", true},
		{"/api/v1/locations?postcode=3000", true},
		{"/werk?lang=nl", false},
		{"regional:/regio/13000/cijfers?jaar=2026&lang=nl", true},
	} {
		testenv.WaitForReplay(t, tg.URL, standby)
		before := a.DB.ReplicaStats()
		who := b
		if path, ok := strings.CutPrefix(tc.path, "regional:"); ok {
			// The regional report writes the cross-desk access to the
			// event log: on the primary, while it reads on the standby.
			who, tc.path = SignInDemo(t, a, srv.App, authz.RegionalCoordinator), path
			testenv.WaitForReplay(t, tg.URL, standby)
			before = a.DB.ReplicaStats()
		}
		r := who.Get(tc.path)
		if r.Status != 200 {
			t.Errorf("GET %s: %d %.300s", tc.path, r.Status, r.Body)
			continue
		}
		after := a.DB.ReplicaStats()
		if got := after.OnReplica > before.OnReplica; got != tc.standby {
			t.Errorf("GET %s read on the standby: %v, want %v (%+v → %+v)", tc.path, got, tc.standby, before, after)
		}
		if after.Lagging != before.Lagging || after.Unavailable != before.Unavailable {
			t.Errorf("GET %s went to the primary: %+v → %+v", tc.path, before, after)
		}
	}
	if n := metric(t, srv, "loket_db_replica_reads_total", `result="standby"`); n == 0 {
		t.Error("reads on the standby are not in the metrics")
	}
}
