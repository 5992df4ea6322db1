package catalog

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/uptrace/bun"

	"github.com/loket-kinderopvang/loket/internal/geo"
)

// Query is a catalogue search. Zero values mean "any".
type Query struct {
	// Municipalities limits the search to an area (a desk's, a region's or
	// one municipality); empty searches everywhere.
	Municipalities []geo.NISCode
	// Near and WithinKm limit to a distance from a point (a postcode or an
	// address); WithinKm 0 only sorts by distance.
	Near     *geo.Point
	WithinKm float64

	CareType  CareType
	PriceType PriceType
	// ChildBirth (or expected date) with StartMonth keeps locations whose
	// age range fits the child's age at the start, and picks its age band.
	ChildBirth *time.Time
	// StartMonth "YYYY-MM" is when care should start.
	StartMonth string

	EarlyHours, LateHours, Weekend bool
	InclusiveCare, OccasionalCare  bool
	// AcceptsRequests keeps locations that take requests now.
	AcceptsRequests bool
	// HasFreePlaces keeps locations with free places in StartMonth (for the
	// child's age band when known).
	HasFreePlaces bool

	Sort    string // "name" (default) or "distance" (needs Near)
	Page    int    // from 1
	PerPage int    // default 20, at most 100
}

// Hit is one search result.
type Hit struct {
	Location
	// DistanceKm is set when the query has a point.
	DistanceKm *float64
	// FreePlaces in the query's start month (and band), when it has one.
	FreePlaces *int
	// Provider is the location's provider (filled for the hits of the page).
	Provider Provider
}

// Result is one page of hits.
type Result struct {
	Hits    []Hit
	Total   int
	Page    int
	PerPage int
}

// Pages is the number of pages.
func (r Result) Pages() int { return (r.Total + r.PerPage - 1) / r.PerPage }

// Normalize fills defaults and checks the query.
func (q *Query) Normalize() error {
	var c checker
	if q.StartMonth != "" && !ValidMonth(q.StartMonth) {
		c.add("start_month", "month", "the start month must look like 2027-01 (got %q)", q.StartMonth)
	}
	if q.ChildBirth != nil && q.StartMonth == "" {
		c.add("start_month", "month_needed", "a start month is needed to know the child's age")
	}
	if q.CareType != "" && q.CareType != Gezinsopvang && q.CareType != Groepsopvang {
		c.add("type", "care_type", "the type must be gezinsopvang or groepsopvang (got %q)", q.CareType)
	}
	if q.PriceType != "" && q.PriceType != IncomeRelated && q.PriceType != FreePrice {
		c.add("price_type", "price_type_value", "the price type must be inkomenstarief or vrije_prijs (got %q)", q.PriceType)
	}
	if q.WithinKm < 0 || q.WithinKm > 200 {
		c.add("within_km", "distance", "the distance must be between 0 and 200 km")
	}
	if q.WithinKm > 0 && q.Near == nil {
		c.add("near", "near_needed", "a postcode or address is needed to search by distance")
	}
	if q.HasFreePlaces && q.StartMonth == "" {
		c.add("start_month", "month_needed", "a start month is needed to look for free places")
	}
	switch q.Sort {
	case "", "name":
		q.Sort = "name"
	case "distance":
		if q.Near == nil {
			c.add("sort", "near_needed", "a postcode or address is needed to sort by distance")
		}
	default:
		c.add("sort", "sort", "sort by name or distance (got %q)", q.Sort)
	}
	if q.Page < 1 {
		q.Page = 1
	}
	if q.PerPage <= 0 {
		q.PerPage = 20
	}
	if q.PerPage > 100 {
		q.PerPage = 100
	}
	return c.result()
}

// childBand is the age band and age of the query's child at the start.
func (q Query) childAge() (months int, band AgeBand, ok bool) {
	if q.ChildBirth == nil || q.StartMonth == "" {
		return 0, "", false
	}
	start, err := time.Parse("2006-01", q.StartMonth)
	if err != nil {
		return 0, "", false
	}
	months = max(AgeInMonths(*q.ChildBirth, start), 0)
	return months, BandForAge(months), true
}

// Search runs q. The filters on columns run in SQL; the distance is computed
// exactly in Go after a bounding box in SQL narrowed the candidates.
func (s *Store) Search(ctx context.Context, q Query) (Result, error) {
	if err := q.Normalize(); err != nil {
		return Result{}, err
	}
	// The filters run on every matching row but only the columns needed to
	// sort and page are read; the page's full rows are read afterwards.
	var locs []Location
	sel := s.db.NewSelect().Model(&locs).Column("id", "name", "dossier_number", "lat", "lon")
	if len(q.Municipalities) > 0 {
		sel = sel.Where("location.municipality_nis IN (?)", bun.In(q.Municipalities))
	}
	if q.Near != nil && q.WithinKm > 0 {
		dLat := q.WithinKm / 111.0
		dLon := q.WithinKm / (111.0 * math.Cos(q.Near.Lat*math.Pi/180))
		sel = sel.Where("location.lat BETWEEN ? AND ?", q.Near.Lat-dLat, q.Near.Lat+dLat).
			Where("location.lon BETWEEN ? AND ?", q.Near.Lon-dLon, q.Near.Lon+dLon)
	}
	if q.CareType != "" {
		sel = sel.Where("location.care_type = ?", q.CareType)
	}
	if q.PriceType != "" {
		sel = sel.Where("location.price_type = ?", q.PriceType)
	}
	for col, on := range map[string]bool{
		"early_hours": q.EarlyHours, "late_hours": q.LateHours, "weekend": q.Weekend,
		"inclusive_care": q.InclusiveCare, "occasional_care": q.OccasionalCare, "accepts_requests": q.AcceptsRequests,
	} {
		if on {
			sel = sel.Where("location.? = TRUE", bun.Ident(col))
		}
	}
	months, band, hasChild := q.childAge()
	if hasChild {
		sel = sel.Where("location.min_age_months <= ?", months).Where("location.max_age_months > ?", months)
	}
	if q.HasFreePlaces {
		sub := s.db.NewSelect().Table("availability").ColumnExpr("1").
			Where("availability.location_id = location.id").
			Where("availability.start_month = ?", q.StartMonth).
			Where("availability.free_places > 0").
			Where(NotClosed("availability.location_id"))
		if hasChild {
			sub = sub.Where("availability.age_band = ?", band)
		}
		sel = sel.Where("EXISTS (?)", sub)
	}
	if err := sel.Scan(ctx); err != nil {
		return Result{}, fmt.Errorf("catalog: search: %w", err)
	}

	// Sort small keys rather than whole locations; the lower-case name is
	// computed once per row.
	type candidate struct {
		name, dossier string
		dist          float64
		i             int
	}
	cands := make([]candidate, 0, len(locs))
	for i, l := range locs {
		c := candidate{name: strings.ToLower(l.Name), dossier: l.DossierNumber, i: i}
		if q.Near != nil {
			c.dist = geo.DistanceKm(q.Near.Lat, q.Near.Lon, l.Lat, l.Lon)
			if q.WithinKm > 0 && c.dist > q.WithinKm {
				continue
			}
		}
		cands = append(cands, c)
	}
	slices.SortFunc(cands, func(a, b candidate) int {
		if q.Sort == "distance" {
			if c := cmp.Compare(a.dist, b.dist); c != 0 {
				return c
			}
		}
		if c := strings.Compare(a.name, b.name); c != 0 {
			return c
		}
		return strings.Compare(a.dossier, b.dossier)
	})
	res := Result{Total: len(cands), Page: q.Page, PerPage: q.PerPage}
	from := min((q.Page-1)*q.PerPage, len(cands))
	page := cands[from:min(from+q.PerPage, len(cands))]
	res.Hits = make([]Hit, len(page))
	for j, c := range page {
		res.Hits[j].Location = locs[c.i]
		if q.Near != nil {
			d := c.dist
			res.Hits[j].DistanceKm = &d
		}
	}
	if err := s.fillLocations(ctx, res.Hits); err != nil {
		return Result{}, err
	}
	if q.StartMonth != "" && len(res.Hits) > 0 {
		if err := s.fillFreePlaces(ctx, res.Hits, q.StartMonth, band); err != nil {
			return Result{}, err
		}
	}
	if err := s.fillProviders(ctx, res.Hits); err != nil {
		return Result{}, err
	}
	return res, nil
}

// fillLocations reads the full rows of the page's hits.
func (s *Store) fillLocations(ctx context.Context, hits []Hit) error {
	if len(hits) == 0 {
		return nil
	}
	idList := make([]LocationID, len(hits))
	for i, h := range hits {
		idList[i] = h.ID
	}
	var full []Location
	if err := s.db.NewSelect().Model(&full).Where("id IN (?)", bun.In(idList)).Scan(ctx); err != nil {
		return fmt.Errorf("catalog: search locations: %w", err)
	}
	byID := make(map[LocationID]Location, len(full))
	for _, l := range full {
		byID[l.ID] = l
	}
	for i := range hits {
		l, ok := byID[hits[i].ID]
		if !ok {
			return fmt.Errorf("catalog: search: location %s vanished", hits[i].ID)
		}
		hits[i].Location = l
	}
	return nil
}

// fillProviders sets the provider of the page's hits, so a result list can
// name it without a query per hit.
func (s *Store) fillProviders(ctx context.Context, hits []Hit) error {
	if len(hits) == 0 {
		return nil
	}
	want := map[ProviderID]bool{}
	idList := make([]ProviderID, 0, len(hits))
	for _, h := range hits {
		if !want[h.ProviderID] {
			want[h.ProviderID] = true
			idList = append(idList, h.ProviderID)
		}
	}
	var ps []Provider
	if err := s.db.NewSelect().Model(&ps).Where("id IN (?)", bun.In(idList)).Scan(ctx); err != nil {
		return fmt.Errorf("catalog: search providers: %w", err)
	}
	byID := make(map[ProviderID]Provider, len(ps))
	for _, p := range ps {
		byID[p.ID] = p
	}
	for i := range hits {
		hits[i].Provider = byID[hits[i].ProviderID]
	}
	return nil
}

// fillFreePlaces sets the free places of the page's hits for month (and band).
func (s *Store) fillFreePlaces(ctx context.Context, hits []Hit, month string, band AgeBand) error {
	idList := make([]LocationID, len(hits))
	for i, h := range hits {
		idList[i] = h.ID
	}
	var rows []Availability
	q := s.db.NewSelect().Model(&rows).Where("location_id IN (?)", bun.In(idList)).Where("start_month = ?", month)
	if band != "" {
		q = q.Where("age_band = ?", band)
	}
	if err := q.Scan(ctx); err != nil {
		return fmt.Errorf("catalog: search free places: %w", err)
	}
	free := map[LocationID]int{}
	for _, r := range rows {
		free[r.LocationID] += r.FreePlaces
	}
	for i := range hits {
		n := free[hits[i].ID]
		hits[i].FreePlaces = &n
	}
	return nil
}
