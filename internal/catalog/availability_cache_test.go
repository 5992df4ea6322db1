package catalog

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/loket-kinderopvang/loket/internal/geo"
	"github.com/loket-kinderopvang/loket/internal/platform/cache"
	"github.com/loket-kinderopvang/loket/internal/platform/clock"
	"github.com/loket-kinderopvang/loket/internal/platform/db"
	"github.com/loket-kinderopvang/loket/internal/platform/dbtest"
	"github.com/loket-kinderopvang/loket/internal/platform/testenv"
)

const availMonth = "2027-01"

// availFixture holds a small catalogue: two locations in region 13000
// (Turnhout) and one in region 24000 (Leuven), with free places in availMonth.
type availFixture struct {
	store                *Store
	geel, turnhout, leuv LocationID
}

func newAvailFixture(t *testing.T, d *db.DB) availFixture {
	t.Helper()
	ctx := context.Background()
	if _, err := geo.Sync(ctx, d.DB); err != nil {
		t.Fatal(err)
	}
	s := NewStore(d, clock.NewFixed(time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)))
	p := &Provider{Name: "Vzw Speelhoek (test)"}
	if err := s.SaveProvider(ctx, p); err != nil {
		t.Fatal(err)
	}
	loc := func(dossier, name string, nis geo.NISCode, postcode string, lat, lon float64, ct CareType, places int) LocationID {
		l := &Location{
			DossierNumber: dossier, ProviderID: p.ID, Name: name, Street: "Teststraat 1", Postcode: postcode,
			MunicipalityNIS: nis, Lat: lat, Lon: lon, CareType: ct, SubsidyTier: TierT2A, LicensedPlaces: places,
			MaxAgeMonths: 36, OpeningHours: WeekHours{{Open: "07:00", Close: "18:00"}}, AcceptsRequests: true,
			Languages: []string{"nl"}, Email: "info@speelhoek.example",
		}
		if err := s.SaveLocation(ctx, l); err != nil {
			t.Fatal(err)
		}
		return l.ID
	}
	f := availFixture{store: s}
	f.geel = loc("AV-1", "De Kleine Reus", "13008", "2440", 51.16, 4.99, Groepsopvang, 18)
	f.turnhout = loc("AV-2", "Het Nestje", "13040", "2300", 51.32, 4.94, Gezinsopvang, 8)
	f.leuv = loc("AV-3", "Kribbe Zonnestraal", "24062", "3000", 50.88, 4.70, Groepsopvang, 14)
	if err := s.SetAvailability(ctx, "test",
		AvailabilityChange{f.geel, availMonth, Baby, 3}, AvailabilityChange{f.geel, availMonth, Toddler, 2},
		AvailabilityChange{f.turnhout, availMonth, Baby, 1},
		AvailabilityChange{f.leuv, availMonth, Baby, 4}, AvailabilityChange{f.leuv, availMonth, Toddler, 0},
	); err != nil {
		t.Fatal(err)
	}
	return f
}

// countingSource counts database reads and can hold the first one.
type countingSource struct {
	inner regionSource
	calls atomic.Int32
	hold  chan struct{} // if not nil, calls wait until it is closed
}

func (c *countingSource) RegionAvailability(ctx context.Context, region geo.NISCode, month string, band AgeBand) ([]RegionLocation, error) {
	c.calls.Add(1)
	if c.hold != nil {
		<-c.hold
	}
	return c.inner.RegionAvailability(ctx, region, month, band)
}

// newTestCache builds an AvailabilityCache on s whose database reads are counted.
func newTestCache(s *Store, c cache.Cache) (*AvailabilityCache, *countingSource) {
	a := NewAvailabilityCache(s, c, prometheus.NewRegistry(), slog.New(slog.NewTextHandler(io.Discard, nil)))
	src := &countingSource{inner: s}
	a.source = src
	return a, src
}

// cacheKinds runs fn with the in-process cache and with Redis; shared returns
// a second handle on the same cache, as another replica would have.
func cacheKinds(t *testing.T, fn func(t *testing.T, c cache.Cache, shared func() cache.Cache)) {
	t.Run("memory", func(t *testing.T) {
		m := cache.NewMemory()
		t.Cleanup(func() { _ = m.Close() })
		fn(t, m, func() cache.Cache { return m })
	})
	t.Run("redis", func(t *testing.T) {
		url, prefix := testenv.Redis(t)
		open := func() cache.Cache {
			r, err := cache.NewRedis(context.Background(), url, prefix)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() {
				_ = r.DeletePrefix(context.Background(), "")
				_ = r.Close()
			})
			return r
		}
		fn(t, open(), open)
	})
}

func counter(t *testing.T, cv *prometheus.CounterVec, label string) int {
	t.Helper()
	var m dto.Metric
	if err := cv.WithLabelValues(label).Write(&m); err != nil {
		t.Fatal(err)
	}
	return int(m.GetCounter().GetValue())
}

// freePlaces decodes an answer into free places by location id and band, and
// checks the totals add up.
func freePlaces(t *testing.T, body []byte) map[string]int {
	t.Helper()
	var rep AvailabilityReport
	if err := json.Unmarshal(body, &rep); err != nil {
		t.Fatalf("decode %s: %v", body, err)
	}
	out := map[string]int{}
	total := 0
	for _, m := range rep.Municipalities {
		sum := 0
		for _, l := range m.Locations {
			out[l.LocationID.String()+"/"+string(l.AgeBand)] = l.FreePlaces
			sum += l.FreePlaces
		}
		if sum != m.FreePlaces {
			t.Errorf("municipality %s: free_places %d, locations add up to %d", m.NIS, m.FreePlaces, sum)
		}
		total += sum
	}
	if total != rep.TotalFreePlaces {
		t.Errorf("total_free_places %d, municipalities add up to %d", rep.TotalFreePlaces, total)
	}
	return out
}

func lookup(t *testing.T, a *AvailabilityCache, region geo.NISCode, band AgeBand) map[string]int {
	t.Helper()
	body, err := a.Lookup(context.Background(), region, availMonth, band)
	if err != nil {
		t.Fatalf("lookup %s: %v", region, err)
	}
	return freePlaces(t, body)
}

func TestAvailabilityReport(t *testing.T) {
	f := newAvailFixture(t, dbtest.Open(t, db.SQLite))
	a, _ := newTestCache(f.store, cache.NewMemory())
	body, err := a.Lookup(context.Background(), "13000", availMonth, "")
	if err != nil {
		t.Fatal(err)
	}
	var rep AvailabilityReport
	if err := json.Unmarshal(body, &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Region.NIS != "13000" || rep.Region.NameNL != "Arrondissement Turnhout" || rep.Month != availMonth || rep.TotalFreePlaces != 6 {
		t.Errorf("report head: %+v", rep)
	}
	r, _ := geo.LookupRegion("13000")
	if len(rep.Municipalities) != len(r.Municipalities) {
		t.Errorf("every municipality of the region must be listed: %d of %d", len(rep.Municipalities), len(r.Municipalities))
	}
	got := freePlaces(t, body)
	want := map[string]int{f.geel.String() + "/baby": 3, f.geel.String() + "/toddler": 2, f.turnhout.String() + "/baby": 1}
	if len(got) != len(want) {
		t.Errorf("locations: got %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: got %d, want %d", k, got[k], v)
		}
	}
	babies := lookup(t, a, "13000", Baby)
	if len(babies) != 2 || babies[f.geel.String()+"/baby"] != 3 {
		t.Errorf("age_band=baby: %v", babies)
	}
	if _, err := a.Lookup(context.Background(), "99000", availMonth, ""); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown region: %v", err)
	}
}

// TestAvailabilityInvalidatesOnlyTheChangedRegion: a change in region 13000
// makes its next read fresh, on this replica and on another one (which runs
// no subscriber, so it can only learn it from the version), while region
// 24000 stays cached.
func TestAvailabilityInvalidatesOnlyTheChangedRegion(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newAvailFixture(t, d)
		cacheKinds(t, func(t *testing.T, c cache.Cache, shared func() cache.Cache) {
			ctx := context.Background()
			a, srcA := newTestCache(f.store, c)
			// Replica B: its own store (listeners) and cache handle, same data.
			b, srcB := newTestCache(NewStore(d, clock.System{}), shared())

			lookup(t, a, "13000", "")
			lookup(t, a, "24000", "")
			if n := srcA.calls.Load(); n != 2 || counter(t, a.requests, "miss") != 2 {
				t.Fatalf("first reads: %d database reads, %d misses; want 2, 2", n, counter(t, a.requests, "miss"))
			}
			lookup(t, a, "13000", "")
			lookup(t, a, "24000", "")
			if n := srcA.calls.Load(); n != 2 || counter(t, a.layers, "local") != 2 {
				t.Fatalf("second reads must be local hits: %d database reads, %d local hits", n, counter(t, a.layers, "local"))
			}
			// B finds A's entries in the shared cache.
			lookup(t, b, "13000", "")
			lookup(t, b, "24000", "")
			if n := srcB.calls.Load(); n != 0 || counter(t, b.layers, "shared") != 2 {
				t.Fatalf("replica B: %d database reads, %d shared hits; want 0, 2", n, counter(t, b.layers, "shared"))
			}

			// The subtests share the database: change to a value not seen yet.
			want := lookup(t, a, "13000", "")[f.geel.String()+"/baby"] + 1
			if err := f.store.SetAvailability(ctx, "test", AvailabilityChange{f.geel, availMonth, Baby, want}); err != nil {
				t.Fatal(err)
			}
			if got := lookup(t, a, "13000", "")[f.geel.String()+"/baby"]; got != want {
				t.Errorf("replica A after the change: %d free places, want %d", got, want)
			}
			if got := lookup(t, b, "13000", "")[f.geel.String()+"/baby"]; got != want {
				t.Errorf("replica B after the change: %d free places, want %d", got, want)
			}
			if n := srcA.calls.Load(); n != 3 {
				t.Errorf("region 13000 must be read again once on A: %d reads", n)
			}
			if n := srcB.calls.Load(); n != 0 {
				t.Errorf("B must take A's fresh entry from the shared cache: %d database reads", n)
			}
			lookup(t, a, "24000", "")
			lookup(t, b, "24000", "")
			if srcA.calls.Load() != 3 || srcB.calls.Load() != 0 {
				t.Errorf("region 24000 must stay cached: %d and %d database reads", srcA.calls.Load(), srcB.calls.Load())
			}
		})
	})
}

// TestAvailabilityConcurrentMissesComputeOnce lines up concurrent misses (all
// have missed before the first database read may finish) and checks that the
// database is read once.
func TestAvailabilityConcurrentMissesComputeOnce(t *testing.T) {
	f := newAvailFixture(t, dbtest.Open(t, db.SQLite))
	cacheKinds(t, func(t *testing.T, c cache.Cache, _ func() cache.Cache) {
		const n = 8
		a, src := newTestCache(f.store, c)
		// The region's version exists before the misses line up: two first
		// readers of a missing version may each start one (a separate, harmless
		// race that costs one extra read), and this test is about the misses.
		if _, err := a.version(context.Background(), "13000"); err != nil {
			t.Fatal(err)
		}
		src.hold = make(chan struct{})
		var missed atomic.Int32
		a.testHookMiss = func() {
			if missed.Add(1) == n {
				close(src.hold)
			}
		}
		var wg sync.WaitGroup
		bodies := make([][]byte, n)
		errs := make([]error, n)
		for i := range n {
			wg.Go(func() { bodies[i], errs[i] = a.Lookup(context.Background(), "13000", availMonth, "") })
		}
		wg.Wait()
		for i := range n {
			if errs[i] != nil || string(bodies[i]) != string(bodies[0]) {
				t.Fatalf("request %d: %v", i, errs[i])
			}
		}
		if got := src.calls.Load(); got != 1 {
			t.Errorf("%d concurrent misses read the database %d times, want once", n, got)
		}
		// The last request to miss releases the read, so it may join after
		// the answer is in and count as a hit ("filled while we queued"):
		// what must hold is that every request is counted once.
		if miss, hit := counter(t, a.requests, "miss"), counter(t, a.requests, "hit"); miss+hit != n || miss < n-1 {
			t.Errorf("counted %d misses and %d hits for %d requests", miss, hit, n)
		}
	})
}

// TestAvailabilityRedisDown: with Redis gone the answers come from the
// database (fallback), also for a change made meanwhile; once Redis is back,
// the change that could not be recorded is recorded, and another replica that
// still holds the old figures sees the new ones.
func TestAvailabilityRedisDown(t *testing.T) {
	f := newAvailFixture(t, dbtest.Open(t, db.SQLite))
	url, prefix := testenv.Redis(t)
	proxy := startProxy(t, url)
	open := func(target string) cache.Cache {
		r, err := cache.NewRedis(context.Background(), target, prefix)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = r.DeletePrefix(context.Background(), ""); _ = r.Close() })
		return r
	}
	a, srcA := newTestCache(f.store, open("redis://"+proxy.addr))
	b, _ := newTestCache(NewStore(f.store.db, clock.System{}), open(url)) // B keeps its Redis
	a.backoff = 0                                                         // retry Redis on every request here
	lookup(t, a, "13000", "")
	lookup(t, b, "13000", "")

	proxy.stop()
	if got := lookup(t, a, "13000", "")[f.geel.String()+"/baby"]; got != 3 || counter(t, a.requests, "fallback") != 1 {
		t.Fatalf("Redis down: %d free places, %d fallbacks", got, counter(t, a.requests, "fallback"))
	}
	if err := f.store.SetAvailability(context.Background(), "test", AvailabilityChange{f.geel, availMonth, Baby, 5}); err != nil {
		t.Fatalf("a change must succeed with Redis down: %v", err)
	}
	if !a.pending.has("13000") {
		t.Fatal("the failed bump must be remembered")
	}
	reads := srcA.calls.Load()
	if got := lookup(t, a, "13000", "")[f.geel.String()+"/baby"]; got != 5 || srcA.calls.Load() != reads+1 {
		t.Errorf("Redis down after a change: %d free places, want 5 from the database", got)
	}
	if counter(t, a.requests, "fallback") != 2 || counter(t, a.errs, "bump") < 1 {
		t.Errorf("fallbacks %d, failed bumps %d", counter(t, a.requests, "fallback"), counter(t, a.errs, "bump"))
	}

	proxy.restart()
	if got := lookup(t, a, "13000", "")[f.geel.String()+"/baby"]; got != 5 {
		t.Errorf("Redis back: %d free places, want 5", got)
	}
	if a.pending.any() {
		t.Error("the pending bump must be recorded once Redis is back")
	}
	if got := lookup(t, b, "13000", "")[f.geel.String()+"/baby"]; got != 5 {
		t.Errorf("replica B after the recorded change: %d free places, want 5", got)
	}
}

// TestAvailabilityStartDropsLocalEntries: an invalidation message from another
// replica drops the region's local entries (an optimisation: see Start).
func TestAvailabilityStartDropsLocalEntries(t *testing.T) {
	f := newAvailFixture(t, dbtest.Open(t, db.SQLite))
	cacheKinds(t, func(t *testing.T, c cache.Cache, shared func() cache.Cache) {
		a, _ := newTestCache(f.store, c)
		b, _ := newTestCache(NewStore(f.store.db, clock.System{}), shared())
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- b.Start(ctx) }()
		defer func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("Start: %v", err)
			}
		}()
		lookup(t, b, "13000", "")
		lookup(t, b, "24000", "")
		// The subscription may not be up yet: publish until B reacts.
		for i := 0; b.local.size() == 2; i++ {
			if i > 5000 {
				t.Fatal("no invalidation arrived")
			}
			a.invalidate(context.Background(), "13000")
			time.Sleep(time.Millisecond)
		}
		if b.local.get(availKey{"24000", availMonth, ""}, time.Now()) == nil || b.local.get(availKey{"13000", availMonth, ""}, time.Now()) != nil {
			t.Error("only region 13000 may be dropped")
		}
	})
}

// TestVersionRoundsNeverReuseAnEarlierRead: requests arriving while a read of
// the version runs wait for the next read and share it.
func TestVersionRoundsNeverReuseAnEarlierRead(t *testing.T) {
	vr := versionRounds{regions: map[geo.NISCode]*roundState{}}
	var reads atomic.Int64
	release := make(chan struct{})
	read := func() (int64, error) {
		n := reads.Add(1)
		if n == 1 {
			<-release
		}
		return n, nil
	}
	got := make([]int64, 3)
	var wg sync.WaitGroup
	wg.Go(func() { got[0], _ = vr.get(context.Background(), "13000", read) })
	waitFor(t, func() bool { return reads.Load() == 1 })
	for i := 1; i < 3; i++ {
		wg.Go(func() { got[i], _ = vr.get(context.Background(), "13000", read) })
	}
	waitFor(t, func() bool {
		vr.mu.Lock()
		defer vr.mu.Unlock()
		st := vr.regions["13000"]
		return st.next != nil && st.next.waiters == 2
	})
	close(release)
	wg.Wait()
	if got[0] != 1 || got[1] != 2 || got[2] != 2 || reads.Load() != 2 {
		t.Errorf("values %v after %d reads; want [1 2 2] after 2", got, reads.Load())
	}
	// Without contention every request reads for itself.
	if v, _ := vr.get(context.Background(), "13000", read); v != 3 {
		t.Errorf("an uncontended request got %d, want a new read (3)", v)
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for i := 0; !cond(); i++ {
		if i > 1e7 {
			t.Fatal("condition never met")
		}
		runtime.Gosched()
	}
}

func TestAcceptsGzip(t *testing.T) {
	for h, want := range map[string]bool{
		"": false, "gzip": true, "gzip, deflate, br": true, "br;q=1.0, gzip;q=0.8": true,
		"gzip;q=0": false, "identity": false, "x-gzip": false, "GZIP": true,
	} {
		if got := acceptsGzip(h); got != want {
			t.Errorf("acceptsGzip(%q) = %v", h, got)
		}
	}
}

// tcpProxy forwards to Redis until stopped, to take Redis away mid-test.
type tcpProxy struct {
	t      *testing.T
	target string
	addr   string
	mu     sync.Mutex
	ln     net.Listener
	conns  []net.Conn
}

func startProxy(t *testing.T, redisURL string) *tcpProxy {
	t.Helper()
	u, err := net.ResolveTCPAddr("tcp", hostPort(redisURL))
	if err != nil {
		t.Fatal(err)
	}
	p := &tcpProxy{t: t, target: u.String()}
	p.listen("127.0.0.1:0")
	t.Cleanup(p.stop)
	return p
}

func hostPort(redisURL string) string {
	u, err := url.Parse(redisURL)
	if err != nil {
		return redisURL
	}
	if u.Port() == "" {
		return net.JoinHostPort(u.Hostname(), "6379")
	}
	return u.Host
}

func (p *tcpProxy) listen(addr string) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		p.t.Fatal(err)
	}
	p.mu.Lock()
	p.ln, p.addr = ln, ln.Addr().String()
	p.mu.Unlock()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("tcp", p.target)
			if err != nil {
				_ = c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, up)
			p.mu.Unlock()
			go func() { _, _ = io.Copy(up, c); _ = up.Close() }()
			go func() { _, _ = io.Copy(c, up); _ = c.Close() }()
		}
	}()
}

// stop closes the listener and every connection: Redis is unreachable.
func (p *tcpProxy) stop() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		_ = p.ln.Close()
		p.ln = nil
	}
	for _, c := range p.conns {
		_ = c.Close()
	}
	p.conns = nil
}

// restart listens again on the same address.
func (p *tcpProxy) restart() { p.listen(p.addr) }

func TestLocalLayerStaysWithinBounds(t *testing.T) {
	var l localLayer
	l.m = map[availKey]*availEntry{}
	big := make([]byte, localMaxBytes/8) // shared: sizes are counted, not allocated
	far := time.Now().Add(time.Hour)
	for i := range 20 {
		l.put(availKey{"13000", fmt.Sprintf("2027-%02d", i%12+1), AgeBand(fmt.Sprint(i))}, &availEntry{body: big, expires: far})
		if l.bytes > localMaxBytes || l.bytes != len(l.m)*len(big) {
			t.Fatalf("after %d puts: %d bytes in %d entries", i+1, l.bytes, len(l.m))
		}
	}
	if len(l.m) != 8 {
		t.Errorf("%d entries of an eighth of the budget kept, want 8", len(l.m))
	}
	l.put(availKey{"24000", "2027-01", ""}, &availEntry{body: make([]byte, localMaxBytes/2), expires: far})
	if l.get(availKey{"24000", "2027-01", ""}, time.Now()) != nil {
		t.Error("an entry bigger than a quarter of the budget must not be kept")
	}
	l.dropRegion("13000")
	if l.bytes != 0 || l.size() != 0 {
		t.Errorf("after dropping the region: %d bytes, %d entries", l.bytes, l.size())
	}
	for i := range localMaxEntries + 10 {
		l.put(availKey{"13000", strconv.Itoa(i), ""}, &availEntry{body: []byte("{}"), expires: far})
	}
	if l.size() != localMaxEntries {
		t.Errorf("%d entries, want at most %d", l.size(), localMaxEntries)
	}
}
