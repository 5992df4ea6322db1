package catalog

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/uptrace/bun"
)

// The free-places grid: what a provider keeps on the web, one location at a
// time, as start month × age band. The rules (which months, which numbers,
// when figures are stale, copying forward) live here; the page only shows
// them.

// GridMonths is how many start months the grid shows, from the current one.
const GridMonths = 12

// StaleAfter is when free places count as out of date: the reminder shows
// when the location's last change is older than this.
const StaleAfter = 31 * 24 * time.Hour

// GridLine is one start month of the grid.
type GridLine struct {
	Month string // "2027-03"
	// Places holds the free places per age band; a band without figures is
	// absent. Values are text, so a wrong entry can be shown back as typed.
	Places    map[AgeBand]string
	UpdatedAt time.Time // last change of this month's figures (zero: never)
}

// Grid is a location's free places for the coming months.
type Grid struct {
	Location   Location
	Provider   Provider
	Bands      []AgeBand
	Lines      []GridLine
	LastUpdate time.Time // last change of any figure of the location
	Stale      bool      // no change within StaleAfter

	previous map[AgeBand]string // last month's figures, for CopyForward
}

// GridCellField names a cell in field errors and as its form field id.
func GridCellField(month string, band AgeBand) string { return "places-" + month + "-" + string(band) }

// monthsFrom lists n months starting with the month of t.
func monthsFrom(t time.Time, n int) []string {
	first := time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC)
	out := make([]string, n)
	for i := range out {
		out[i] = first.AddDate(0, i, 0).Format("2006-01")
	}
	return out
}

// Grid returns the free places of a location for the GridMonths months from
// now, with when each month was last changed.
func (s *Store) Grid(ctx context.Context, id LocationID) (Grid, error) {
	now := s.clock.Now()
	months := monthsFrom(now, GridMonths)
	// The month before the grid is read too: "copy forward" starts from it.
	prev := monthsFrom(now.AddDate(0, -1, 0), 1)[0]
	d, err := s.Get(ctx, id, prev)
	if err != nil {
		return Grid{}, err
	}
	g := Grid{Location: d.Location, Provider: d.Provider, Bands: AgeBands}
	byMonth := map[string]*GridLine{}
	for _, m := range append([]string{prev}, months...) {
		byMonth[m] = &GridLine{Month: m, Places: map[AgeBand]string{}}
	}
	for _, a := range d.Availability {
		l, ok := byMonth[a.StartMonth]
		if !ok {
			continue
		}
		l.Places[a.AgeBand] = strconv.Itoa(a.FreePlaces)
		if a.ChangedAt.After(l.UpdatedAt) {
			l.UpdatedAt = a.ChangedAt
		}
	}
	for _, m := range months {
		g.Lines = append(g.Lines, *byMonth[m])
	}
	last, err := s.FreePlacesUpdated(ctx, []LocationID{id})
	if err != nil {
		return Grid{}, err
	}
	g.LastUpdate = last[id]
	g.Stale = g.LastUpdate.IsZero() || now.Sub(g.LastUpdate) > StaleAfter
	// Keep last month's figures for CopyForward, out of the shown lines.
	g.previous = byMonth[prev].Places
	return g, nil
}

// CopyForward fills every month without figures with the figures of the
// month before it (the first month takes last month's), for the provider to
// check and save: free places often stay the same from one month to the
// next. Months that have figures keep them.
func (g *Grid) CopyForward() {
	from := g.previous
	for i := range g.Lines {
		l := &g.Lines[i]
		for _, b := range g.Bands {
			if _, ok := l.Places[b]; !ok {
				if v, ok := from[b]; ok {
					l.Places[b] = v
				}
			}
		}
		from = l.Places
	}
}

// SetCells replaces the shown values with what the provider typed (after a
// save that failed, so every value stays as typed).
func (g *Grid) SetCells(cells map[string]string) {
	for i := range g.Lines {
		for _, b := range g.Bands {
			v, ok := cells[GridCellField(g.Lines[i].Month, b)]
			if !ok {
				continue
			}
			if v = strings.TrimSpace(v); v == "" {
				delete(g.Lines[i].Places, b)
			} else {
				g.Lines[i].Places[b] = v
			}
		}
	}
}

// SaveGrid checks every cell of the typed grid (keyed by GridCellField) and
// saves them all at once through SetAvailability (one event per changed
// figure), or nothing: each wrong cell is a field error named after the
// cell. An empty cell means "no figures" and leaves the month alone.
func (s *Store) SaveGrid(ctx context.Context, actor string, id LocationID, cells map[string]string) error {
	d, err := s.Get(ctx, id, "")
	if err != nil {
		return err
	}
	var c checker
	var changes []AvailabilityChange
	for _, m := range monthsFrom(s.clock.Now(), GridMonths) {
		for _, b := range AgeBands {
			f := GridCellField(m, b)
			v := strings.TrimSpace(cells[f])
			if v == "" {
				continue
			}
			n, err := strconv.Atoi(v)
			switch {
			case err != nil:
				c.add(f, "places_number", "must be a whole number (got %q)", v)
			case n < 0:
				c.add(f, "places_negative", "cannot be negative (got %d)", n)
			case n > d.LicensedPlaces:
				c.add(f, "places_max", "cannot exceed the %d licensed places (got %d)", d.LicensedPlaces, n)
			default:
				changes = append(changes, AvailabilityChange{LocationID: id, StartMonth: m, AgeBand: b, FreePlaces: n})
			}
		}
	}
	if err := c.result(); err != nil {
		return err
	}
	if len(changes) == 0 {
		return nil
	}
	return s.SetAvailability(ctx, actor, changes...)
}

// FreePlacesUpdated returns, per location, when its free places last
// changed; a location never updated is absent.
func (s *Store) FreePlacesUpdated(ctx context.Context, locations []LocationID) (map[LocationID]time.Time, error) {
	out := map[LocationID]time.Time{}
	if len(locations) == 0 {
		return out, nil
	}
	var rows []struct {
		LocationID LocationID `bun:"location_id"`
		Last       time.Time  `bun:"last"`
	}
	if err := s.db.NewSelect().Model((*Availability)(nil)).Column("location_id").ColumnExpr("max(changed_at) AS last").
		Where("location_id IN (?)", bun.In(locations)).Group("location_id").Scan(ctx, &rows); err != nil {
		return nil, fmt.Errorf("catalog: free places updated: %w", err)
	}
	for _, r := range rows {
		out[r.LocationID] = r.Last
	}
	return out, nil
}

// ProviderLocations returns a provider and its locations by name: the
// free-places pages a provider-wide role reaches.
func (s *Store) ProviderLocations(ctx context.Context, id ProviderID) (Provider, []Location, error) {
	var p Provider
	if err := s.db.NewSelect().Model(&p).Where("id = ?", id).Scan(ctx); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return p, nil, ErrNotFound
		}
		return p, nil, fmt.Errorf("catalog: provider: %w", err)
	}
	var ls []Location
	if err := s.db.NewSelect().Model(&ls).Where("provider_id = ?", id).Order("name", "id").Scan(ctx); err != nil {
		return p, nil, fmt.Errorf("catalog: provider locations: %w", err)
	}
	return p, ls, nil
}

// FreePlacesFrom returns the free places of the locations ids for the
// start months from fromMonth ("YYYY-MM"; empty: this month) on, by
// location, month and age band: what a provider's system reads back.
func (s *Store) FreePlacesFrom(ctx context.Context, ids []LocationID, fromMonth string) ([]Availability, error) {
	if fromMonth == "" {
		fromMonth = monthsFrom(s.clock.Now(), 1)[0]
	}
	out := []Availability{}
	if len(ids) == 0 {
		return out, nil
	}
	err := s.db.NewSelect().Model(&out).Where("location_id IN (?)", bun.In(ids)).Where("start_month >= ?", fromMonth).
		Order("location_id", "start_month", "age_band").Scan(ctx)
	if err != nil {
		return nil, fmt.Errorf("catalog: free places of %d locations: %w", len(ids), err)
	}
	return out, nil
}
