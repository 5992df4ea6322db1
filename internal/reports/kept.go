package reports

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/loket-kinderopvang/loket/internal/platform/tenancy"
	"github.com/loket-kinderopvang/loket/internal/tenant"
)

// Kept figures (issue 14, point 7). Computing a big desk's yearly figures
// takes a few hundred milliseconds of the database's time; the page, the CSV
// and the workbook of one report each need them, and most views see the
// same data as the view before. So the figures are kept in the cache under
// a key that names the versions of the data they were computed from: the
// desk's (bumped by triggers on requests, preferences, claims, children and
// families, in the transaction of every change) and the catalogue's (the
// names of locations and providers). Any change makes a new key, so kept
// figures are never stale; the old ones expire.

// keptFor is how long unread figures stay in the cache.
const keptFor = 24 * time.Hour

// keptFormat changes when the figures' JSON does.
const keptFormat = 1

// keptFigures returns the key for desk t's figures of year at the data's
// current versions and, when they are kept, the figures. An empty key means
// nothing can be kept (no cache, or the versions could not be read).
func (s *Service) keptFigures(ctx context.Context, t tenant.Tenant, year int, munis []string) (string, *yearFigures) {
	if s.kept == nil {
		return "", nil
	}
	desk, catalogue, err := s.versions(ctx, t.ID.String())
	if err != nil {
		return "", nil // computed as if nothing were kept
	}
	key := fmt.Sprintf("reports:figures:%d:%s:%s:%d:%s:%d:%d:%d", keptFormat, s.release, t.ID, year,
		strings.Join(munis, ","), t.ProviderResponseDays, desk, catalogue)
	b, found, err := s.kept.Get(ctx, key)
	if err != nil || !found {
		return key, nil
	}
	var f yearFigures
	if json.Unmarshal(b, &f) != nil {
		return key, nil
	}
	return key, &f
}

// Warm computes and keeps this year's figures of every desk whose data
// changed since they were last kept (a periodic job): the next view of the
// page, the CSV or the workbook then finds them. It returns how many desks'
// figures it computed.
func (s *Service) Warm(ctx context.Context) (int, error) {
	if s.kept == nil {
		return 0, nil
	}
	year, n := s.clock.Now().Year(), 0
	for _, t := range s.desks.All() {
		dctx := tenancy.WithTenant(ctx, t.ID)
		munis := pageMunicipalities(t)
		key, f := s.keptFigures(dctx, t, year, munis)
		if key == "" || f != nil {
			continue
		}
		f, err := s.compute(dctx, t, year, munis)
		if err != nil {
			return n, fmt.Errorf("reports: warm %s: %w", t.Slug, err)
		}
		s.keep(dctx, key, f)
		n++
	}
	return n, nil
}

// keep stores computed figures under key (from keptFigures). A failing
// cache costs the next view a computation, nothing more.
func (s *Service) keep(ctx context.Context, key string, f *yearFigures) {
	if key == "" {
		return
	}
	if b, err := json.Marshal(f); err == nil {
		_ = s.kept.Set(ctx, key, b, keptFor)
	}
}

// versions reads the data versions of the desk and of the catalogue (zero
// before the first change). figures_versions is platform data: counters,
// no desk's rows.
func (s *Service) versions(ctx context.Context, desk string) (deskVersion, catalogue int64, err error) {
	var rows []struct {
		Scope   string `bun:"scope"`
		Version int64  `bun:"version"`
	}
	err = s.db.NewSelect().Table("figures_versions").Column("scope", "version").
		Where("scope IN (?, 'catalogue')", desk).Scan(ctx, &rows)
	if err != nil {
		return 0, 0, fmt.Errorf("reports: data versions: %w", err)
	}
	for _, r := range rows {
		if r.Scope == desk {
			deskVersion = r.Version
		} else {
			catalogue = r.Version
		}
	}
	return deskVersion, catalogue, nil
}
