package app

import (
	"context"
	"fmt"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

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
