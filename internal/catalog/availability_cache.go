package catalog

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/utils"
	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sync/singleflight"

	"github.com/loket-kinderopvang/loket/internal/geo"
	"github.com/loket-kinderopvang/loket/internal/platform/cache"
	"github.com/loket-kinderopvang/loket/internal/platform/web"
)

// How the region availability is cached.
//
// Every region has a version counter in the shared cache (avail:ver:{region}).
// A change of free places bumps the version of its region (after commit, via
// Store.OnAvailabilityChange), so entries of that region, whose keys contain
// the version (avail:e:{region}:{month}:{band}:{version}), are never read
// again and expire; other regions keep theirs.
//
// In front of Redis each replica keeps an in-process layer with the
// ready-to-send JSON (and its gzip form) per region, month and band, tagged
// with the version it was built for. A local entry is served only after the
// region's version was read from the shared cache by a read that STARTED
// AFTER the request arrived and found equal. A change completed through any
// replica (commit, then version bump) before a request arrives is therefore
// always seen by that request: correctness never depends on pub/sub timing.
//
// That check costs one Redis GET, but not per request: concurrent requests for
// a region share version reads (versionRounds). A request joins the next read
// to be issued, never one already in flight (which may predate a change the
// request must see), so under load a replica does about one GET per region per
// round trip instead of one per request.
//
// Pub/sub (Start) only drops local entries of a changed region early, to free
// memory; a lost message costs nothing but that memory for a while.
//
// The cache is never the source of truth: when Redis fails, requests are
// answered from the database (counted as fallback) and, for a short while,
// Redis is not asked at all, so a hung Redis does not add its timeout to every
// request. A bump that fails (Redis down while a change commits) is retried
// until it succeeds, and meanwhile that region is read from the database on
// this replica. If the replica dies before the retry succeeds, other replicas
// may serve the old figures until the entries expire (availabilityTTL).
const (
	availVersionKey = "avail:ver:"
	availEntryKey   = "avail:e:"
	// AvailabilityChannel is the pub/sub channel of region invalidations.
	AvailabilityChannel = "avail:invalidate"

	// availabilityTTL bounds how long an entry lives, in Redis and locally.
	// It only matters when an invalidation could not be recorded.
	availabilityTTL = 10 * time.Minute
	// localMaxEntries and localMaxBytes bound the in-process layer (regions
	// × months × bands; a region of 6000 locations is about 1.5 MB).
	localMaxEntries = 2048
	localMaxBytes   = 64 << 20
	// cacheBackoff is how long requests skip Redis after it failed.
	cacheBackoff = 2 * time.Second
	// cacheOpTimeout bounds one cache operation made on behalf of many
	// requests, independent of the request that happened to start it.
	cacheOpTimeout = time.Second
)

// AvailabilityReport is the answer of GET /api/v1/availability.
type AvailabilityReport struct {
	Region          ReportRegion         `json:"region"`
	Month           string               `json:"month"`
	AgeBand         AgeBand              `json:"age_band,omitempty"`
	Municipalities  []ReportMunicipality `json:"municipalities"`
	TotalFreePlaces int                  `json:"total_free_places"`
	GeneratedAt     time.Time            `json:"generated_at"`
}

// ReportRegion names the region of a report.
type ReportRegion struct {
	NIS    geo.NISCode `json:"nis_code"`
	NameNL string      `json:"name_nl"`
	NameFR string      `json:"name_fr"`
}

// ReportMunicipality is one municipality of the region, with its locations'
// free places (every municipality of the region appears, also without places).
type ReportMunicipality struct {
	NIS        geo.NISCode      `json:"nis_code"`
	NameNL     string           `json:"name_nl"`
	NameFR     string           `json:"name_fr"`
	FreePlaces int              `json:"free_places"`
	Locations  []RegionLocation `json:"locations"`
}

// regionSource reads the free places of a region; *Store in production, a
// counting wrapper in tests.
type regionSource interface {
	RegionAvailability(ctx context.Context, region geo.NISCode, month string, band AgeBand) ([]RegionLocation, error)
}

// AvailabilityCache serves free places per region and month through the cache.
type AvailabilityCache struct {
	store  *Store
	source regionSource
	cache  cache.Cache
	log    *slog.Logger

	local   localLayer
	rounds  versionRounds
	flight  singleflight.Group
	pending pendingBumps
	// cacheDownUntil (unix nanoseconds): until then requests skip the cache.
	cacheDownUntil atomic.Int64
	backoff        time.Duration

	requests *prometheus.CounterVec // result: hit, miss, fallback
	layers   *prometheus.CounterVec // layer: local, shared
	// The hot path's counters, resolved once (a label lookup per request
	// is measurable at tens of thousands of requests per second).
	hitLocal prometheus.Counter
	hits     prometheus.Counter
	errs     *prometheus.CounterVec // op
	dropped  prometheus.Counter

	// testHookMiss, if set, runs when a request missed the local layer and
	// is about to fill it (tests use it to line up concurrent misses).
	testHookMiss func()
}

// NewAvailabilityCache returns the region availability service and registers
// its metrics on reg (if not nil). It listens to the store's changes at once;
// Start adds the invalidations of other replicas.
func NewAvailabilityCache(store *Store, c cache.Cache, reg prometheus.Registerer, log *slog.Logger) *AvailabilityCache {
	if log == nil {
		log = slog.Default()
	}
	a := &AvailabilityCache{
		store: store, source: store, cache: c, log: log, backoff: cacheBackoff,
		local:   localLayer{m: map[availKey]*availEntry{}},
		rounds:  versionRounds{regions: map[geo.NISCode]*roundState{}},
		pending: pendingBumps{regions: map[geo.NISCode]bool{}},
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "loket_availability_cache_requests_total",
			Help: "Region availability requests by result: hit (from a cache layer), miss (built from the database and cached), fallback (cache unusable, answered from the database).",
		}, []string{"result"}),
		layers: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "loket_availability_cache_layer_hits_total",
			Help: "Region availability cache hits by layer: local (in-process) or shared (Redis or the in-process cache).",
		}, []string{"layer"}),
		errs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "loket_availability_cache_errors_total",
			Help: "Failed cache operations of the region availability cache, by operation.",
		}, []string{"op"}),
		dropped: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "loket_availability_cache_invalidations_total",
			Help: "Region invalidations applied to the in-process layer (own changes and messages from other replicas).",
		}),
	}
	for _, r := range []string{resultHit, resultMiss, resultFallback} {
		a.requests.WithLabelValues(r)
	}
	for _, l := range []string{"local", "shared"} {
		a.layers.WithLabelValues(l)
	}
	a.hits, a.hitLocal = a.requests.WithLabelValues(resultHit), a.layers.WithLabelValues("local")
	if reg != nil {
		reg.MustRegister(a.requests, a.layers, a.errs, a.dropped)
	}
	if store != nil {
		store.OnAvailabilityChange(a.invalidate)
	}
	return a
}

// availKey identifies one answer: region, month and band ("" for all bands).
type availKey struct {
	region geo.NISCode
	month  string
	band   AgeBand
}

func (k availKey) clone() availKey {
	return availKey{geo.NISCode(strings.Clone(string(k.region))), strings.Clone(k.month), AgeBand(strings.Clone(string(k.band)))}
}

func (k availKey) entryKey(version int64) string {
	// {region}: a Redis Cluster hash tag, so a region's version and its
	// answers live on one node and fail over together.
	return availEntryKey + "{" + string(k.region) + "}:" + k.month + ":" + string(k.band) + ":" + strconv.FormatInt(version, 10)
}

// availEntry is a ready-to-send answer.
type availEntry struct {
	version   int64
	body      []byte // JSON
	gzip      []byte // body gzip-compressed
	etag      string
	etagBytes []byte
	expires   time.Time
}

func newEntry(version int64, body []byte, now time.Time) *availEntry {
	e := &availEntry{version: version, body: body, expires: now.Add(availabilityTTL)}
	h := fnv.New64a()
	_, _ = h.Write(body)
	e.etag = `W/"` + strconv.FormatUint(h.Sum64(), 36) + `"`
	e.etagBytes = []byte(e.etag)
	// Compress once here rather than in the compression middleware on every
	// request: the answer of a big region is hundreds of kilobytes.
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.DefaultCompression)
	if _, err := zw.Write(body); err == nil && zw.Close() == nil && buf.Len() < len(body) {
		e.gzip = buf.Bytes()
	}
	return e
}

// Result of one lookup, as counted.
const (
	resultHit      = "hit"
	resultMiss     = "miss"
	resultFallback = "fallback"
)

// Lookup returns the JSON answer for region, month and band ("" for all
// bands), from the cache when it is current, else from the database. It
// returns ErrNotFound for an unknown region; month and band must be valid.
func (a *AvailabilityCache) Lookup(ctx context.Context, region geo.NISCode, month string, band AgeBand) ([]byte, error) {
	e, err := a.lookup(ctx, availKey{region, month, band})
	if err != nil {
		return nil, err
	}
	return e.body, nil
}

func (a *AvailabilityCache) lookup(ctx context.Context, k availKey) (*availEntry, error) {
	if _, ok := knownRegions()[k.region]; !ok {
		return nil, fmt.Errorf("%w: region %s", ErrNotFound, k.region)
	}
	if !a.cacheUsable() {
		return a.fallback(ctx, k)
	}
	if a.pending.any() {
		a.flushPending(ctx)
		if a.pending.has(k.region) {
			// This replica changed the region but could not record it:
			// no cached answer of it can be trusted.
			return a.fallback(ctx, k)
		}
	}
	ver, err := a.version(ctx, k.region)
	if err != nil {
		a.cacheFailed("version", err)
		return a.fallback(ctx, k)
	}
	if e := a.local.get(k, time.Now()); e != nil && e.version == ver {
		a.hits.Inc()
		a.hitLocal.Inc()
		return e, nil
	}
	if a.testHookMiss != nil {
		a.testHookMiss()
	}
	// Concurrent misses of the same answer and version compute once. Keying
	// by version keeps this sound: every caller read ver after its arrival.
	k = k.clone() // k outlives the request from here on (fasthttp reuses query memory)
	ch := a.flight.DoChan(k.entryKey(ver), func() (any, error) {
		return a.fill(context.WithoutCancel(ctx), k, ver)
	})
	select {
	case res := <-ch:
		if res.Err != nil {
			return nil, res.Err
		}
		f := res.Val.(filled)
		a.count(f.result, f.layer)
		return f.entry, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

type filled struct {
	entry         *availEntry
	result, layer string
}

// fill brings the answer for version ver into the local layer: from the
// shared cache if another replica built it, else from the database.
func (a *AvailabilityCache) fill(ctx context.Context, k availKey, ver int64) (filled, error) {
	now := time.Now()
	if e := a.local.get(k, now); e != nil && e.version == ver {
		return filled{e, resultHit, "local"}, nil // filled while we queued
	}
	gctx, cancel := context.WithTimeout(ctx, cacheOpTimeout)
	body, found, err := a.cache.Get(gctx, k.entryKey(ver))
	cancel()
	if err == nil && found {
		e := newEntry(ver, body, now)
		a.local.put(k, e)
		return filled{e, resultHit, "shared"}, nil
	}
	result := resultMiss
	if err != nil {
		a.cacheFailed("get", err)
		result = resultFallback
	}
	body, err = a.build(ctx, k)
	if err != nil {
		return filled{}, err
	}
	if result == resultMiss {
		sctx, cancel := context.WithTimeout(ctx, cacheOpTimeout)
		if err := a.cache.Set(sctx, k.entryKey(ver), body, availabilityTTL); err != nil {
			a.cacheFailed("set", err)
		}
		cancel()
	}
	// The data was read after ver was, so it is current for ver.
	e := newEntry(ver, body, time.Now())
	a.local.put(k, e)
	return filled{e, result, ""}, nil
}

// fallback answers from the database without the cache.
func (a *AvailabilityCache) fallback(ctx context.Context, k availKey) (*availEntry, error) {
	body, err := a.build(ctx, k)
	if err != nil {
		return nil, err
	}
	a.count(resultFallback, "")
	// It serves one request: not worth an ETag or a compressed copy (the
	// compression middleware compresses it if the client wants).
	return &availEntry{body: body}, nil
}

func (a *AvailabilityCache) count(result, layer string) {
	a.requests.WithLabelValues(result).Inc()
	if result == resultHit {
		a.layers.WithLabelValues(layer).Inc()
	}
}

// build reads the region from the database and encodes the answer.
func (a *AvailabilityCache) build(ctx context.Context, k availKey) ([]byte, error) {
	r, ok := geo.LookupRegion(k.region)
	if !ok {
		return nil, fmt.Errorf("%w: region %s", ErrNotFound, k.region)
	}
	rows, err := a.source.RegionAvailability(ctx, k.region, k.month, k.band)
	if err != nil {
		return nil, err
	}
	rep := AvailabilityReport{
		Region:         ReportRegion{NIS: r.NIS, NameNL: r.NameNL, NameFR: r.NameFR},
		Month:          k.month,
		AgeBand:        k.band,
		Municipalities: make([]ReportMunicipality, 0, len(r.Municipalities)),
		GeneratedAt:    time.Now().UTC(),
	}
	if a.store != nil {
		rep.GeneratedAt = a.store.clock.Now().UTC()
	}
	index := make(map[geo.NISCode]int, len(r.Municipalities))
	for _, nis := range r.Municipalities {
		m, _ := geo.LookupMunicipality(nis)
		index[nis] = len(rep.Municipalities)
		rep.Municipalities = append(rep.Municipalities, ReportMunicipality{NIS: nis, NameNL: m.NameNL, NameFR: m.NameFR, Locations: []RegionLocation{}})
	}
	for _, row := range rows { // ordered by municipality, name, band
		i, ok := index[row.MunicipalityNIS]
		if !ok {
			continue
		}
		m := &rep.Municipalities[i]
		m.Locations = append(m.Locations, row)
		m.FreePlaces += row.FreePlaces
		rep.TotalFreePlaces += row.FreePlaces
	}
	body, err := json.Marshal(rep)
	if err != nil {
		return nil, fmt.Errorf("catalog: encode region availability: %w", err)
	}
	return body, nil
}

// version returns the region's current version from the shared cache. With
// Redis, concurrent callers share reads (see versionRounds); the in-process
// cache is read directly.
func (a *AvailabilityCache) version(ctx context.Context, region geo.NISCode) (int64, error) {
	if a.cache.Kind() == cache.KindMemory {
		return a.readVersion(ctx, region)
	}
	return a.rounds.get(ctx, region, func() (int64, error) {
		// The read serves every request of the round, so it must not end
		// with the one that started it; Redis's own timeouts bound it.
		return a.readVersion(context.WithoutCancel(ctx), region)
	})
}

func (a *AvailabilityCache) readVersion(ctx context.Context, region geo.NISCode) (int64, error) {
	key := availVersionKey + "{" + string(region) + "}"
	b, found, err := a.cache.Get(ctx, key)
	if err != nil {
		return 0, err
	}
	if found {
		if v, err := strconv.ParseInt(string(b), 10, 64); err == nil {
			return v, nil
		}
	}
	// No version yet, or it was lost (eviction, Redis restarted without its
	// data): start from a fresh value, so entries written under an earlier
	// life of the counter can never match again.
	v := freshVersion()
	if err := a.cache.Set(ctx, key, []byte(strconv.FormatInt(v, 10)), 0); err != nil {
		return 0, err
	}
	return v, nil
}

// freshVersion is far from any value an earlier counter reached by Incr.
func freshVersion() int64 { return time.Now().UnixNano() }

// bump gives region a new version, so none of its entries is used again.
func (a *AvailabilityCache) bump(ctx context.Context, region geo.NISCode) error {
	key := availVersionKey + "{" + string(region) + "}"
	n, err := a.cache.Incr(ctx, key)
	if err != nil {
		return err
	}
	if n == 1 { // the counter was missing: see readVersion
		return a.cache.Set(ctx, key, []byte(strconv.FormatInt(freshVersion(), 10)), 0)
	}
	return nil
}

// invalidate is the store's change listener: it runs after the commit, before
// SetAvailability returns, so the change is visible to the next read on every
// replica once it returns.
func (a *AvailabilityCache) invalidate(ctx context.Context, region geo.NISCode) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cacheOpTimeout)
	defer cancel()
	a.local.dropRegion(region)
	a.dropped.Inc()
	if err := a.bump(ctx, region); err != nil {
		a.pending.add(region)
		a.cacheFailed("bump", err)
		a.log.Warn("availability cache: could not record a change; the region is read from the database until it is", "region", region, "error", err)
		return
	}
	if err := a.cache.Publish(ctx, AvailabilityChannel, []byte(region)); err != nil {
		a.errs.WithLabelValues("publish").Inc() // best effort: the version already protects readers
	}
}

// flushPending retries the bumps that failed.
func (a *AvailabilityCache) flushPending(ctx context.Context) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cacheOpTimeout)
	defer cancel()
	for _, region := range a.pending.list() {
		if err := a.bump(ctx, region); err != nil {
			a.cacheFailed("bump", err)
			return
		}
		a.pending.remove(region)
		_ = a.cache.Publish(ctx, AvailabilityChannel, []byte(region))
		a.log.Info("availability cache: recorded a change made while the cache was down", "region", region)
	}
}

func (a *AvailabilityCache) cacheUsable() bool {
	return time.Now().UnixNano() >= a.cacheDownUntil.Load()
}

func (a *AvailabilityCache) cacheFailed(op string, err error) {
	a.errs.WithLabelValues(op).Inc()
	a.cacheDownUntil.Store(time.Now().Add(a.backoff).UnixNano())
	a.log.Debug("availability cache: cache operation failed", "op", op, "error", err)
}

// Start listens for invalidations from other replicas until ctx ends, and
// retries failed bumps. Redis pub/sub has no backlog: messages published while
// this replica is disconnected are lost, and a slow subscriber drops them.
// That is harmless, because every read checks the region's version in the
// shared cache; the messages only free local memory early. After an error it
// subscribes again, with a growing pause. It returns nil when ctx ends, or the
// error once the cache is closed.
func (a *AvailabilityCache) Start(ctx context.Context) error {
	pause := 100 * time.Millisecond
	retry := time.NewTicker(time.Second)
	defer retry.Stop()
	for ctx.Err() == nil {
		msgs, stop, err := a.cache.Subscribe(ctx, AvailabilityChannel)
		if err != nil {
			if errors.Is(err, cache.ErrClosed) {
				return err
			}
			if ctx.Err() != nil {
				return nil
			}
			a.errs.WithLabelValues("subscribe").Inc()
			a.log.Warn("availability cache: cannot subscribe to invalidations; retrying", "in", pause, "error", err)
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(pause):
			}
			pause = min(pause*2, 30*time.Second)
			continue
		}
		pause = 100 * time.Millisecond
		a.listen(ctx, msgs, retry.C)
		stop()
	}
	return nil
}

// listen applies invalidations until the subscription or ctx ends.
func (a *AvailabilityCache) listen(ctx context.Context, msgs <-chan []byte, retry <-chan time.Time) {
	for {
		select {
		case <-ctx.Done():
			return
		case m, ok := <-msgs:
			if !ok {
				return
			}
			region := geo.NISCode(m)
			if region.Valid() {
				a.local.dropRegion(region)
				a.dropped.Inc()
			}
		case <-retry:
			if a.pending.any() {
				a.flushPending(ctx)
			}
		}
	}
}

// RegisterAPI adds GET /api/v1/availability.
func (a *AvailabilityCache) RegisterAPI(api fiber.Router) {
	api.Get("/availability", a.handle)
}

func (a *AvailabilityCache) handle(c *fiber.Ctx) error {
	// Copies: the key lives on in the local cache, and Fiber's strings
	// point into a buffer the next request on the connection overwrites.
	region := geo.NISCode(utils.CopyString(c.Query("region")))
	month := utils.CopyString(c.Query("month"))
	band := AgeBand(utils.CopyString(c.Query("age_band")))
	var errs []web.FieldError
	switch {
	case region == "":
		errs = append(errs, web.FieldError{Field: "region", Message: "the region (NIS code of an arrondissement, e.g. 13000) is required"})
	case !region.Valid():
		errs = append(errs, web.FieldError{Field: "region", Message: "a region is a NIS code of five digits, e.g. 13000"})
	}
	switch {
	case month == "":
		errs = append(errs, web.FieldError{Field: "month", Message: "the month (like 2027-01) is required"})
	case !ValidMonth(month):
		errs = append(errs, web.FieldError{Field: "month", Message: "the month must look like 2027-01"})
	}
	if band != "" && !ValidBand(band) {
		errs = append(errs, web.FieldError{Field: "age_band", Message: "the age band must be baby or toddler"})
	}
	if len(errs) > 0 {
		return web.SendProblem(c, web.Problem{Status: fiber.StatusBadRequest, Title: "Invalid parameters", Errors: errs})
	}
	if _, ok := knownRegions()[region]; !ok {
		return web.SendProblem(c, web.Problem{Status: fiber.StatusNotFound, Title: "Unknown region", Detail: "No region has the NIS code " + string(region) + "."})
	}
	e, err := a.lookup(c.UserContext(), availKey{region, month, band})
	if err != nil {
		return fmt.Errorf("region availability: %w", err)
	}
	// Canonical header names skip fasthttp's normalisation: this is the
	// hot path.
	h := &c.Response().Header
	h.SetCanonical(hdrVary, hdrAcceptEncoding)
	h.SetCanonical(hdrCacheControl, noCache)
	if e.etag != "" {
		h.SetCanonical(hdrETag, e.etagBytes)
		if inm := c.Request().Header.PeekBytes(hdrIfNoneMatch); len(inm) > 0 && bytes.Contains(inm, e.etagBytes) {
			return c.SendStatus(fiber.StatusNotModified)
		}
	}
	h.SetContentTypeBytes(mimeJSON)
	body := e.body
	if e.gzip != nil && acceptsGzip(c.Get(fiber.HeaderAcceptEncoding)) {
		// Sent as is; the compression middleware leaves encoded bodies alone.
		h.SetCanonical(hdrContentEncoding, gzipName)
		body = e.gzip
	}
	// The entry is immutable, so fasthttp may send it without a copy.
	c.Response().SetBodyRaw(body)
	return nil
}

var (
	hdrVary            = []byte(fiber.HeaderVary)
	hdrAcceptEncoding  = []byte(fiber.HeaderAcceptEncoding)
	hdrCacheControl    = []byte(fiber.HeaderCacheControl)
	hdrETag            = []byte(fiber.HeaderETag)
	hdrIfNoneMatch     = []byte(fiber.HeaderIfNoneMatch)
	hdrContentEncoding = []byte(fiber.HeaderContentEncoding)
	noCache            = []byte("no-cache")
	mimeJSON           = []byte(fiber.MIMEApplicationJSONCharsetUTF8)
	gzipName           = []byte("gzip")
)

// knownRegions are the regions of the reference data, looked up without the
// copy geo.LookupRegion makes.
var knownRegions = sync.OnceValue(func() map[geo.NISCode]bool {
	m := map[geo.NISCode]bool{}
	for _, r := range geo.Regions() {
		m[r.NIS] = true
	}
	return m
})

// acceptsGzip reads an Accept-Encoding header well enough for gzip: listed,
// and not refused with q=0.
func acceptsGzip(h string) bool {
	for part := range strings.SplitSeq(h, ",") {
		name, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if !strings.EqualFold(strings.TrimSpace(name), "gzip") {
			continue
		}
		q := strings.ReplaceAll(strings.TrimSpace(params), " ", "")
		return !(q == "q=0" || q == "q=0.0" || q == "q=0.00" || q == "q=0.000")
	}
	return false
}

// localLayer is the in-process layer: ready-to-send answers by key.
type localLayer struct {
	mu    sync.RWMutex
	m     map[availKey]*availEntry
	bytes int
}

func (e *availEntry) size() int { return len(e.body) + len(e.gzip) }

func (l *localLayer) get(k availKey, now time.Time) *availEntry {
	l.mu.RLock()
	e := l.m[k]
	l.mu.RUnlock()
	if e == nil || now.After(e.expires) {
		return nil
	}
	return e
}

func (l *localLayer) put(k availKey, e *availEntry) {
	if e.size() > localMaxBytes/4 {
		return // served, but not kept: it would crowd out everything else
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.delete(k)
	for old := range l.m { // evict arbitrary entries (map order is random)
		if len(l.m) < localMaxEntries && l.bytes+e.size() <= localMaxBytes {
			break
		}
		l.delete(old)
	}
	l.m[k] = e
	l.bytes += e.size()
}

func (l *localLayer) delete(k availKey) {
	if old, ok := l.m[k]; ok {
		l.bytes -= old.size()
		delete(l.m, k)
	}
}

func (l *localLayer) size() int {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return len(l.m)
}

func (l *localLayer) dropRegion(region geo.NISCode) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for k := range l.m {
		if k.region == region {
			l.delete(k)
		}
	}
}

// versionRounds shares reads of a region's version among concurrent requests
// without ever handing a request a value read before it arrived: at most one
// read per region is running; requests that arrive meanwhile wait for the
// next read, which starts when the running one ends, and share it.
type versionRounds struct {
	mu      sync.Mutex
	regions map[geo.NISCode]*roundState
}

type roundState struct{ running, next *versionRound }

type versionRound struct {
	done    chan struct{}
	ver     int64
	err     error
	waiters int // requests sharing this round (for tests)
}

func (vr *versionRounds) get(ctx context.Context, region geo.NISCode, read func() (int64, error)) (int64, error) {
	vr.mu.Lock()
	st := vr.regions[region]
	if st == nil {
		st = &roundState{}
		vr.regions[region] = st
	}
	if st.running == nil && st.next == nil {
		r := &versionRound{done: make(chan struct{})}
		st.running = r
		vr.mu.Unlock()
		vr.run(st, r, read)
		return r.ver, r.err
	}
	r, lead := st.next, st.next == nil
	if lead {
		r = &versionRound{done: make(chan struct{})}
		st.next = r
	}
	r.waiters++
	running := st.running
	vr.mu.Unlock()
	if lead {
		// The leader of the next round must run it even if its own request
		// is gone, or its followers would wait forever; read is bounded by
		// the cache's timeouts.
		<-running.done
		// Let requests that are ready to run join before the read is issued:
		// under load this makes rounds several times bigger for the price
		// of a yield.
		runtime.Gosched()
		vr.mu.Lock()
		st.running, st.next = r, nil // from here on, newcomers wait for a later read
		vr.mu.Unlock()
		vr.run(st, r, read)
		return r.ver, r.err
	}
	select {
	case <-r.done:
		return r.ver, r.err
	case <-ctx.Done():
		return 0, ctx.Err()
	}
}

func (vr *versionRounds) run(st *roundState, r *versionRound, read func() (int64, error)) {
	r.ver, r.err = read()
	vr.mu.Lock()
	st.running = nil // a waiting next round's leader starts it
	vr.mu.Unlock()
	close(r.done)
}

// pendingBumps are regions whose change could not be recorded in the cache.
type pendingBumps struct {
	n       atomic.Int32
	mu      sync.Mutex
	regions map[geo.NISCode]bool
}

func (p *pendingBumps) any() bool { return p.n.Load() > 0 }

func (p *pendingBumps) has(region geo.NISCode) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.regions[region]
}

func (p *pendingBumps) add(region geo.NISCode) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.regions[region] {
		p.regions[region] = true
		p.n.Add(1)
	}
}

func (p *pendingBumps) remove(region geo.NISCode) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.regions[region] {
		delete(p.regions, region)
		p.n.Add(-1)
	}
}

func (p *pendingBumps) list() []geo.NISCode {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]geo.NISCode, 0, len(p.regions))
	for r := range p.regions {
		out = append(out, r)
	}
	return out
}
