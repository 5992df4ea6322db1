package app

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/loket-kinderopvang/loket/internal/catalog"
	"github.com/loket-kinderopvang/loket/internal/geo"
	"github.com/loket-kinderopvang/loket/internal/platform/cache"
	"github.com/loket-kinderopvang/loket/internal/platform/db"
	"github.com/loket-kinderopvang/loket/internal/platform/dbtest"
	"github.com/loket-kinderopvang/loket/internal/platform/testenv"
	"github.com/loket-kinderopvang/loket/internal/platform/web"
	"github.com/loket-kinderopvang/loket/internal/platform/web/webtest"
)

const availPath = "/api/v1/availability?region=%s&month=2027-03"

// openInstance opens one Loket instance on tg with Redis at redisURL (empty:
// in-process cache) and returns it with its server; tg must be migrated.
func openInstance(t *testing.T, tg dbtest.Target, redisURL, prefix string) (*App, *web.Server) {
	t.Helper()
	cfg := testDataDir(t, testConfig(tg), tg)
	cfg.RedisURL, cfg.RedisPrefix = redisURL, prefix
	a, err := Open(context.Background(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = a.Close() })
	if err := a.Directory.Reload(context.Background()); err != nil {
		t.Fatal(err)
	}
	srv, err := a.Handler()
	if err != nil {
		t.Fatal(err)
	}
	return a, srv
}

// availLocations adds one location in region 13000 (Geel) and one in region
// 24000 (Leuven), with free babies' places in 2027-03.
func availLocations(t *testing.T, s *catalog.Store) (geel, leuven catalog.LocationID) {
	t.Helper()
	ctx := context.Background()
	p := &catalog.Provider{Name: "Vzw Kindertuin (test)"}
	if err := s.SaveProvider(ctx, p); err != nil {
		t.Fatal(err)
	}
	add := func(dossier string, nis geo.NISCode, postcode string, lat, lon float64) catalog.LocationID {
		l := &catalog.Location{
			DossierNumber: dossier, ProviderID: p.ID, Name: "Kindertuin " + dossier, Postcode: postcode,
			MunicipalityNIS: nis, Lat: lat, Lon: lon, CareType: catalog.Groepsopvang, SubsidyTier: catalog.TierT1,
			LicensedPlaces: 21, MaxAgeMonths: 36, Languages: []string{"nl"}, Email: "info@kindertuin.example", AcceptsRequests: true,
		}
		if err := s.SaveLocation(ctx, l); err != nil {
			t.Fatal(err)
		}
		return l.ID
	}
	geel, leuven = add("AVT-1", "13008", "2440", 51.16, 4.99), add("AVT-2", "24062", "3000", 50.88, 4.70)
	setPlaces(t, s, geel, 3)
	setPlaces(t, s, leuven, 6)
	return geel, leuven
}

func setPlaces(t *testing.T, s *catalog.Store, id catalog.LocationID, n int) {
	t.Helper()
	if err := s.SetAvailability(context.Background(), "test", catalog.AvailabilityChange{LocationID: id, StartMonth: "2027-03", AgeBand: catalog.Baby, FreePlaces: n}); err != nil {
		t.Fatal(err)
	}
}

// places asks srv for a region and returns the free places of location id.
func places(t *testing.T, srv *web.Server, region string, id catalog.LocationID) int {
	t.Helper()
	r := get(t, srv, strings.Replace(availPath, "%s", region, 1))
	if r.Status != 200 || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		t.Fatalf("availability %s: %d %s", region, r.Status, r.Body)
	}
	var rep catalog.AvailabilityReport
	if err := json.Unmarshal([]byte(r.Body), &rep); err != nil {
		t.Fatalf("availability %s: %v", region, err)
	}
	if string(rep.Region.NIS) != region || rep.Month != "2027-03" {
		t.Errorf("answer for the wrong question: %+v", rep.Region)
	}
	for _, m := range rep.Municipalities {
		for _, l := range m.Locations {
			if l.LocationID == id {
				return l.FreePlaces
			}
		}
	}
	t.Fatalf("location %s missing from region %s: %s", id, region, r.Body)
	return 0
}

// metric reads one sample from srv's /metrics.
func metric(t *testing.T, srv *web.Server, name, labels string) int {
	t.Helper()
	body := webtest.Get(t, srv.Metrics, "/metrics").Body
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(name+"{"+labels+"}") + ` (\S+)$`).FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no metric %s{%s}", name, labels)
	}
	v, _ := strconv.ParseFloat(m[1], 64)
	return int(v)
}

func cacheRequests(t *testing.T, srv *web.Server, result string) int {
	return metric(t, srv, "loket_availability_cache_requests_total", `result="`+result+`"`)
}

// TestAvailabilityTwoInstances: two servers share one database and one Redis.
// A change made through instance 1 is in instance 2's next answer, although
// instance 2 listens to no invalidation message (so it cannot be luck of
// pub/sub timing); the other region stays cached on instance 2.
func TestAvailabilityTwoInstances(t *testing.T) {
	dbtest.EachTarget(t, func(t *testing.T, tg dbtest.Target) {
		redisURL, prefix := testenv.Redis(t)
		if _, err := tg.Owner(t).MigrateUp(context.Background(), dbtest.AppRole); err != nil {
			t.Fatal(err)
		}
		a1, srv1 := openInstance(t, tg, redisURL, prefix)
		if _, err := a1.SyncTenants(context.Background()); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = a1.Cache.DeletePrefix(context.Background(), "") })
		_, srv2 := openInstance(t, tg, redisURL, prefix)
		geel, leuven := availLocations(t, a1.Catalog)

		if places(t, srv1, "13000", geel) != 3 || places(t, srv2, "13000", geel) != 3 || places(t, srv2, "24000", leuven) != 6 {
			t.Fatal("first answers are wrong")
		}
		if places(t, srv2, "13000", geel) != 3 {
			t.Fatal("second answer is wrong")
		}
		hits, misses := cacheRequests(t, srv2, "hit"), cacheRequests(t, srv2, "miss")
		if hits != 2 || misses != 1 {
			t.Fatalf("instance 2 must find instance 1's entry and then its own: %d hits, %d misses", hits, misses)
		}

		setPlaces(t, a1.Catalog, geel, 9) // through instance 1
		if got := places(t, srv2, "13000", geel); got != 9 {
			t.Errorf("instance 2 after a change through instance 1: %d free places, want 9", got)
		}
		if got := places(t, srv2, "24000", leuven); got != 6 {
			t.Errorf("region 24000: %d", got)
		}
		if h, m := cacheRequests(t, srv2, "hit"), cacheRequests(t, srv2, "miss"); h != hits+1 || m != misses+1 {
			t.Errorf("on instance 2 region 13000 must miss and region 24000 hit: hits %d→%d, misses %d→%d", hits, h, misses, m)
		}
		if got := places(t, srv1, "13000", geel); got != 9 {
			t.Errorf("instance 1 after its change: %d", got)
		}
	})
}

// TestAvailabilityRedisDownMidTest: with Redis gone the endpoint answers from
// the database (also a change made meanwhile), counts a fallback, and
// /readyz says the cache is degraded.
func TestAvailabilityRedisDownMidTest(t *testing.T) {
	redisURL, prefix := testenv.Redis(t)
	t.Cleanup(func() { // straight to Redis: the proxy is down by then
		if r, err := cache.NewRedis(context.Background(), redisURL, prefix); err == nil {
			_ = r.DeletePrefix(context.Background(), "")
			_ = r.Close()
		}
	})
	proxyAddr, stopProxy := newRedisProxy(t, redisURL)
	tg := dbtest.NewTarget(t, db.Postgres)
	if _, err := tg.Owner(t).MigrateUp(context.Background(), dbtest.AppRole); err != nil {
		t.Fatal(err)
	}
	a, srv := openInstance(t, tg, "redis://"+proxyAddr, prefix)
	if _, err := a.SyncTenants(context.Background()); err != nil {
		t.Fatal(err)
	}
	geel, _ := availLocations(t, a.Catalog)
	places(t, srv, "13000", geel)
	places(t, srv, "13000", geel)
	if cacheRequests(t, srv, "hit") != 1 || cacheRequests(t, srv, "fallback") != 0 {
		t.Fatal("with Redis up the second read must hit")
	}
	if r := get(t, srv, "/readyz"); r.Status != 200 || !strings.Contains(r.Body, `"cache":"ok"`) {
		t.Fatalf("readyz with Redis up: %d %s", r.Status, r.Body)
	}

	stopProxy()
	setPlaces(t, a.Catalog, geel, 8)
	if got := places(t, srv, "13000", geel); got != 8 {
		t.Errorf("Redis down: %d free places, want 8 from the database", got)
	}
	if n := cacheRequests(t, srv, "fallback"); n != 1 {
		t.Errorf("fallbacks counted: %d, want 1", n)
	}
	r := get(t, srv, "/readyz")
	if r.Status != 200 || !strings.Contains(r.Body, `"status":"degraded"`) || !strings.Contains(r.Body, `"cache":"degraded`) {
		t.Errorf("readyz with Redis down: %d %s", r.Status, r.Body)
	}
}

func TestAvailabilityHTTP(t *testing.T) {
	a, srv := newApp(t, dbtest.NewTarget(t, db.SQLite))
	geel, _ := availLocations(t, a.Catalog)

	ok := get(t, srv, "/api/v1/availability?region=13000&month=2027-03&age_band=baby", "Accept-Encoding", "gzip, br")
	if ok.Status != 200 || ok.Header.Get("Content-Encoding") != "gzip" || ok.Header.Get("ETag") == "" {
		t.Fatalf("gzip answer: %d %v", ok.Status, ok.Header)
	}
	zr, err := gzip.NewReader(bytes.NewReader([]byte(ok.Body)))
	if err != nil {
		t.Fatal(err)
	}
	plain, _ := io.ReadAll(zr)
	if !strings.Contains(string(plain), `"location_id":"`+geel.String()+`"`) || !strings.Contains(string(plain), `"age_band":"baby"`) {
		t.Errorf("gzip body: %s", plain)
	}
	if nm := get(t, srv, "/api/v1/availability?region=13000&month=2027-03&age_band=baby", "If-None-Match", ok.Header.Get("ETag")); nm.Status != 304 {
		t.Errorf("If-None-Match: %d", nm.Status)
	}
	setPlaces(t, a.Catalog, geel, 4)
	if r := get(t, srv, "/api/v1/availability?region=13000&month=2027-03&age_band=baby", "If-None-Match", ok.Header.Get("ETag")); r.Status != 200 || r.Header.Get("ETag") == ok.Header.Get("ETag") {
		t.Errorf("after a change the old ETag must not match: %d", r.Status)
	}

	for q, fields := range map[string][]string{
		"":                                       {"region", "month"},
		"region=13000":                           {"month"},
		"region=1300&month=2027-03":              {"region"},
		"region=13000&month=2027-13":             {"month"},
		"region=13000&month=2027-03&age_band=xl": {"age_band"},
		"region=abc&month=march&age_band=baby":   {"region", "month"},
	} {
		r := get(t, srv, "/api/v1/availability?"+q)
		var p web.Problem
		if r.Status != 400 || r.Header.Get("Content-Type") != "application/problem+json" || json.Unmarshal([]byte(r.Body), &p) != nil || p.Status != 400 {
			t.Errorf("?%s: want a 400 problem, got %d %s", q, r.Status, r.Body)
			continue
		}
		var got []string
		for _, e := range p.Errors {
			got = append(got, e.Field)
			if e.Message == "" {
				t.Errorf("?%s: field %s without a message", q, e.Field)
			}
		}
		if strings.Join(got, ",") != strings.Join(fields, ",") {
			t.Errorf("?%s: errors on %v, want %v", q, got, fields)
		}
	}
	r := get(t, srv, "/api/v1/availability?region=99000&month=2027-03")
	var p web.Problem
	if r.Status != 404 || r.Header.Get("Content-Type") != "application/problem+json" || json.Unmarshal([]byte(r.Body), &p) != nil || p.Title == "" {
		t.Errorf("unknown region: want a 404 problem, got %d %s", r.Status, r.Body)
	}
}

// newRedisProxy forwards TCP to Redis until stopped: Redis "goes down" mid-test.
func newRedisProxy(t *testing.T, redisURL string) (addr string, stop func()) {
	t.Helper()
	u, err := url.Parse(redisURL)
	if err != nil {
		t.Fatal(err)
	}
	target := u.Host
	if u.Port() == "" {
		target = net.JoinHostPort(u.Hostname(), "6379")
	}
	return testenv.TCPProxy(t, target)
}
