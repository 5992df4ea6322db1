package catalog

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/uptrace/bun"

	"github.com/loket-kinderopvang/loket/internal/geo"
	"github.com/loket-kinderopvang/loket/internal/platform/clock"
	"github.com/loket-kinderopvang/loket/internal/platform/db"
	"github.com/loket-kinderopvang/loket/internal/platform/ids"
)

// Store reads and writes the catalogue.
type Store struct {
	db    *db.DB
	clock clock.Clock

	mu        sync.RWMutex
	listeners []func(ctx context.Context, region geo.NISCode)
}

// NewStore returns a catalogue store.
func NewStore(d *db.DB, c clock.Clock) *Store { return &Store{db: d, clock: c} }

// ErrNotFound means there is no such location.
var ErrNotFound = errors.New("catalog: not found")

// OnAvailabilityChange registers fn to hear, after commit, which region's free
// places changed (the availability cache invalidates that region only).
func (s *Store) OnAvailabilityChange(fn func(ctx context.Context, region geo.NISCode)) {
	s.mu.Lock()
	s.listeners = append(s.listeners, fn)
	s.mu.Unlock()
}

func (s *Store) notify(ctx context.Context, regions map[geo.NISCode]bool) {
	s.mu.RLock()
	ls := s.listeners
	s.mu.RUnlock()
	for r := range regions {
		for _, fn := range ls {
			fn(ctx, r)
		}
	}
}

// regionOf is the region of a municipality ("" when unknown).
func regionOf(nis geo.NISCode) geo.NISCode {
	m, _ := geo.LookupMunicipality(nis)
	return m.RegionNIS
}

// LocationDetail is a location with its provider and free places.
type LocationDetail struct {
	Location
	Provider     Provider
	Availability []Availability
}

// Get returns one location with its provider and its free places from
// fromMonth on ("" for all), by month and band.
func (s *Store) Get(ctx context.Context, id LocationID, fromMonth string) (LocationDetail, error) {
	var d LocationDetail
	err := s.db.NewSelect().Model(&d.Location).Where("id = ?", id).Scan(ctx)
	if errors.Is(err, sql.ErrNoRows) {
		return d, ErrNotFound
	}
	if err != nil {
		return d, fmt.Errorf("catalog: get location: %w", err)
	}
	if err := s.db.NewSelect().Model(&d.Provider).Where("id = ?", d.ProviderID).Scan(ctx); err != nil {
		return d, fmt.Errorf("catalog: get provider: %w", err)
	}
	q := s.db.NewSelect().Model(&d.Availability).Where("location_id = ?", id).Order("start_month", "age_band")
	if fromMonth != "" {
		q = q.Where("start_month >= ?", fromMonth)
	}
	if err := q.Scan(ctx); err != nil {
		return d, fmt.Errorf("catalog: get availability: %w", err)
	}
	return d, nil
}

// SaveProvider inserts or updates a provider (by KBO number when it has one).
func (s *Store) SaveProvider(ctx context.Context, p *Provider) error {
	if err := p.Validate(); err != nil {
		return err
	}
	now := s.clock.Now()
	if p.ID.IsZero() {
		p.ID = ids.New[providerKind]()
		p.CreatedAt = now
	}
	p.UpdatedAt = now
	_, err := s.db.NewInsert().Model(p).On("CONFLICT (id) DO UPDATE").
		Set("kbo_number = EXCLUDED.kbo_number, name = EXCLUDED.name, updated_at = EXCLUDED.updated_at").Exec(ctx)
	if err != nil {
		return fmt.Errorf("catalog: save provider: %w", err)
	}
	return nil
}

// SetAnswerByEmail records whether the provider answers requests from the
// mail's links (true) or in its inbox only.
func (s *Store) SetAnswerByEmail(ctx context.Context, id ProviderID, on bool) error {
	if _, err := s.db.NewUpdate().Model((*Provider)(nil)).Set("answer_by_email = ?", on).Set("updated_at = ?", s.clock.Now()).
		Where("id = ?", id).Exec(ctx); err != nil {
		return fmt.Errorf("catalog: answer by e-mail: %w", err)
	}
	return nil
}

// SaveLocation validates and inserts or updates one location (by dossier
// number). Bulk imports use the importer, which shares the same rules.
func (s *Store) SaveLocation(ctx context.Context, l *Location) error {
	l.PriceType = l.SubsidyTier.PriceType()
	if err := l.Validate(); err != nil {
		return err
	}
	return s.db.Transact(ctx, func(ctx context.Context, tx bun.Tx) error {
		return upsertLocations(ctx, tx, []*Location{l}, s.clock.Now())
	})
}

// upsertLocations writes locations keyed by dossier number. Existing rows keep
// their id and creation time; the ids of l are set to the stored ones. It
// writes in batches of importBatch rows, so one statement stays within
// SQLite's limits however many locations an import brings.
func upsertLocations(ctx context.Context, tx bun.IDB, ls []*Location, now time.Time) error {
	for start := 0; start < len(ls); start += importBatch {
		if err := upsertLocationBatch(ctx, tx, ls[start:min(start+importBatch, len(ls))], now); err != nil {
			return err
		}
	}
	return nil
}

func upsertLocationBatch(ctx context.Context, tx bun.IDB, ls []*Location, now time.Time) error {
	if len(ls) == 0 {
		return nil
	}
	dossiers := make([]string, len(ls))
	for i, l := range ls {
		dossiers[i] = l.DossierNumber
	}
	var existing []struct {
		ID            LocationID `bun:"id"`
		DossierNumber string     `bun:"dossier_number"`
		CreatedAt     time.Time  `bun:"created_at"`
	}
	if err := tx.NewSelect().Table("locations").Column("id", "dossier_number", "created_at").
		Where("dossier_number IN (?)", bun.In(dossiers)).Scan(ctx, &existing); err != nil {
		return fmt.Errorf("catalog: read existing locations: %w", err)
	}
	known := make(map[string]int, len(existing))
	for i, e := range existing {
		known[e.DossierNumber] = i
	}
	for _, l := range ls {
		if i, ok := known[l.DossierNumber]; ok {
			l.ID, l.CreatedAt = existing[i].ID, existing[i].CreatedAt
		} else {
			l.ID, l.CreatedAt = ids.New[locationKind](), now
		}
		l.UpdatedAt = now
	}
	_, err := tx.NewInsert().Model(&ls).On("CONFLICT (dossier_number) DO UPDATE").
		Set(`provider_id = EXCLUDED.provider_id, name = EXCLUDED.name, street = EXCLUDED.street,
			postcode = EXCLUDED.postcode, municipality_nis = EXCLUDED.municipality_nis,
			neighbourhood = EXCLUDED.neighbourhood, lat = EXCLUDED.lat, lon = EXCLUDED.lon,
			care_type = EXCLUDED.care_type, subsidy_tier = EXCLUDED.subsidy_tier, price_type = EXCLUDED.price_type,
			licensed_places = EXCLUDED.licensed_places, min_age_months = EXCLUDED.min_age_months,
			max_age_months = EXCLUDED.max_age_months, opening_hours = EXCLUDED.opening_hours,
			early_hours = EXCLUDED.early_hours, late_hours = EXCLUDED.late_hours, weekend = EXCLUDED.weekend,
			inclusive_care = EXCLUDED.inclusive_care, occasional_care = EXCLUDED.occasional_care,
			accepts_requests = EXCLUDED.accepts_requests, languages = EXCLUDED.languages,
			email = EXCLUDED.email, phone = EXCLUDED.phone, website = EXCLUDED.website,
			updated_at = EXCLUDED.updated_at`).Exec(ctx)
	if err != nil {
		return fmt.Errorf("catalog: save locations: %w", err)
	}
	return nil
}

// AvailabilityChange is one new number of free places.
type AvailabilityChange struct {
	LocationID LocationID
	StartMonth string
	AgeBand    AgeBand
	FreePlaces int
}

// SetAvailability records new numbers of free places, each as an event, in
// one transaction, and then tells the listeners which regions changed. actor
// is the person or system that made the change.
func (s *Store) SetAvailability(ctx context.Context, actor string, changes ...AvailabilityChange) error {
	var c checker
	for i, ch := range changes {
		f := fmt.Sprintf("availability[%d].", i)
		if !ValidMonth(ch.StartMonth) {
			c.add(f+"start_month", "month", "the start month must look like 2027-01 (got %q)", ch.StartMonth)
		}
		if !ValidBand(ch.AgeBand) {
			c.add(f+"age_band", "age_band", "the age band must be baby or toddler (got %q)", ch.AgeBand)
		}
		if ch.FreePlaces < 0 {
			c.add(f+"free_places", "free_places", "free places cannot be negative (got %d)", ch.FreePlaces)
		}
	}
	if actor == "" {
		c.add("actor", "required", "who made the change is required")
	}
	if err := c.result(); err != nil {
		return err
	}
	now := s.clock.Now()
	regions := map[geo.NISCode]bool{}
	err := s.db.Transact(ctx, func(ctx context.Context, tx bun.Tx) error {
		for _, ch := range changes {
			var loc Location
			if err := tx.NewSelect().Model(&loc).Column("id", "municipality_nis", "licensed_places").
				Where("id = ?", ch.LocationID).Scan(ctx); err != nil {
				if errors.Is(err, sql.ErrNoRows) {
					return fmt.Errorf("%w: location %s", ErrNotFound, ch.LocationID)
				}
				return fmt.Errorf("catalog: set availability: %w", err)
			}
			if ch.FreePlaces > loc.LicensedPlaces {
				return ValidationErrors{{Field: "free_places", Code: "free_places_max",
					Message: fmt.Sprintf("free places (%d) cannot exceed the licensed places (%d)", ch.FreePlaces, loc.LicensedPlaces)}}
			}
			var old Availability
			var from *int
			err := tx.NewSelect().Model(&old).Where("location_id = ? AND start_month = ? AND age_band = ?",
				ch.LocationID, ch.StartMonth, ch.AgeBand).Scan(ctx)
			switch {
			case err == nil:
				if old.FreePlaces == ch.FreePlaces {
					continue // nothing changes, no event
				}
				from = &old.FreePlaces
			case !errors.Is(err, sql.ErrNoRows):
				return fmt.Errorf("catalog: set availability: %w", err)
			}
			row := Availability{LocationID: ch.LocationID, StartMonth: ch.StartMonth, AgeBand: ch.AgeBand,
				FreePlaces: ch.FreePlaces, ChangedAt: now, ChangedBy: actor}
			if _, err := tx.NewInsert().Model(&row).On("CONFLICT (location_id, start_month, age_band) DO UPDATE").
				Set("free_places = EXCLUDED.free_places, changed_at = EXCLUDED.changed_at, changed_by = EXCLUDED.changed_by").
				Exec(ctx); err != nil {
				return fmt.Errorf("catalog: set availability: %w", err)
			}
			ev := AvailabilityEvent{ID: ids.New[availabilityEventKind](), LocationID: ch.LocationID, StartMonth: ch.StartMonth,
				AgeBand: ch.AgeBand, FromPlaces: from, ToPlaces: ch.FreePlaces, ChangedAt: now, ChangedBy: actor}
			if _, err := tx.NewInsert().Model(&ev).Exec(ctx); err != nil {
				return fmt.Errorf("catalog: availability event: %w", err)
			}
			regions[regionOf(loc.MunicipalityNIS)] = true
		}
		return nil
	})
	if err != nil {
		return err
	}
	s.notify(ctx, regions)
	return nil
}

// AvailabilityHistory returns the changes of one location, oldest first.
func (s *Store) AvailabilityHistory(ctx context.Context, id LocationID) ([]AvailabilityEvent, error) {
	var evs []AvailabilityEvent
	if err := s.db.NewSelect().Model(&evs).Where("location_id = ?", id).Order("changed_at", "id").Scan(ctx); err != nil {
		return nil, fmt.Errorf("catalog: availability history: %w", err)
	}
	return evs, nil
}

// RegionLocation is one location's free places in a region availability answer.
type RegionLocation struct {
	LocationID      LocationID  `json:"location_id" bun:"location_id"`
	Name            string      `json:"name" bun:"name"`
	MunicipalityNIS geo.NISCode `json:"-" bun:"municipality_nis"`
	AgeBand         AgeBand     `json:"age_band" bun:"age_band"`
	FreePlaces      int         `json:"free_places" bun:"free_places"`
}

// RegionAvailability reads the free places of every location in region for
// month, optionally one age band, straight from the database.
func (s *Store) RegionAvailability(ctx context.Context, region geo.NISCode, month string, band AgeBand) ([]RegionLocation, error) {
	r, ok := geo.LookupRegion(region)
	if !ok {
		return nil, fmt.Errorf("%w: region %s", ErrNotFound, region)
	}
	var rows []RegionLocation
	q := s.db.NewSelect().TableExpr("availability AS a").
		Join("JOIN locations AS l ON l.id = a.location_id").
		ColumnExpr("a.location_id, l.name, l.municipality_nis, a.age_band, a.free_places").
		Where("l.municipality_nis IN (?)", bun.In(r.Municipalities)).
		Where("a.start_month = ?", month).
		Where(NotClosed("a.location_id")).
		OrderExpr("l.municipality_nis, l.name, a.age_band")
	if band != "" {
		q = q.Where("a.age_band = ?", band)
	}
	if err := q.Scan(ctx, &rows); err != nil {
		return nil, fmt.Errorf("catalog: region availability: %w", err)
	}
	return rows, nil
}

// LargestProvider returns the provider with the most locations whose dossier
// number starts with prefix ("" for all), and one of its locations.
func (s *Store) LargestProvider(ctx context.Context, prefix string) (ProviderID, LocationID, error) {
	var row struct {
		ProviderID ProviderID `bun:"provider_id"`
		LocationID LocationID `bun:"location_id"`
	}
	err := s.db.NewSelect().TableExpr("locations").
		ColumnExpr("provider_id, min(CAST(id AS TEXT)) AS location_id").
		Where("dossier_number LIKE ?", prefix+"%").
		GroupExpr("provider_id").OrderExpr("count(*) DESC, provider_id").Limit(1).Scan(ctx, &row)
	if errors.Is(err, sql.ErrNoRows) {
		return ProviderID{}, LocationID{}, ErrNotFound
	}
	if err != nil {
		return ProviderID{}, LocationID{}, fmt.Errorf("catalog: largest provider: %w", err)
	}
	return row.ProviderID, row.LocationID, nil
}

// ErrNoFreePlace means the location has no free place left for that start
// month and age band.
var ErrNoFreePlace = errors.New("catalog: no free place left")

// TakePlace takes one free place inside the caller's transaction tx (an
// accepted offer): a conditional decrement, so two families accepting the last
// place at once can never both get it (the second finds free_places = 0 once
// the first commits). It records the change in the history. After tx commits
// the caller calls PlacesChanged with the returned region.
func (s *Store) TakePlace(ctx context.Context, tx bun.IDB, loc LocationID, month string, band AgeBand, actor string) (geo.NISCode, error) {
	var left []int
	err := tx.NewUpdate().Model((*Availability)(nil)).
		Set("free_places = free_places - 1").Set("changed_at = ?", s.clock.Now()).Set("changed_by = ?", actor).
		Where("location_id = ? AND start_month = ? AND age_band = ? AND free_places > 0", loc, month, band).
		Where(NotClosed("availability.location_id")).
		Returning("free_places").Scan(ctx, &left)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return "", fmt.Errorf("catalog: take place: %w", err)
	}
	if len(left) == 0 {
		return "", ErrNoFreePlace
	}
	from := left[0] + 1
	ev := AvailabilityEvent{ID: ids.New[availabilityEventKind](), LocationID: loc, StartMonth: month, AgeBand: band,
		FromPlaces: &from, ToPlaces: left[0], ChangedAt: s.clock.Now(), ChangedBy: actor}
	if _, err := tx.NewInsert().Model(&ev).Exec(ctx); err != nil {
		return "", fmt.Errorf("catalog: availability event: %w", err)
	}
	var nis geo.NISCode
	if err := tx.NewSelect().Model((*Location)(nil)).Column("municipality_nis").Where("id = ?", loc).Scan(ctx, &nis); err != nil {
		return "", fmt.Errorf("catalog: take place: %w", err)
	}
	return regionOf(nis), nil
}

// PlacesChanged tells the listeners (the availability cache) that free places
// of a region changed outside SetAvailability.
func (s *Store) PlacesChanged(ctx context.Context, region geo.NISCode) {
	if region != "" {
		s.notify(ctx, map[geo.NISCode]bool{region: true})
	}
}

// FreePlacesTx reads the free places of a location for a start month and age
// band inside tx (0 when none are registered).
func FreePlacesTx(ctx context.Context, tx bun.IDB, loc LocationID, month string, band AgeBand) (int, error) {
	var n []int
	err := tx.NewSelect().Model((*Availability)(nil)).Column("free_places").
		Where("location_id = ? AND start_month = ? AND age_band = ?", loc, month, band).
		Where(NotClosed("availability.location_id")).Scan(ctx, &n)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return 0, fmt.Errorf("catalog: free places: %w", err)
	}
	if len(n) == 0 {
		return 0, nil
	}
	return n[0], nil
}
