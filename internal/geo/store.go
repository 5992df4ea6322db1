package geo

import (
	"context"
	"fmt"

	"github.com/uptrace/bun"
)

type regionRow struct {
	bun.BaseModel `bun:"table:regions"`
	NIS           NISCode `bun:"nis_code,pk"`
	NameNL        string  `bun:"name_nl,notnull"`
	NameFR        string  `bun:"name_fr,notnull"`
}

type municipalityRow struct {
	bun.BaseModel `bun:"table:municipalities"`
	NIS           NISCode `bun:"nis_code,pk"`
	NameNL        string  `bun:"name_nl,notnull"`
	NameFR        string  `bun:"name_fr,notnull"`
	RegionNIS     NISCode `bun:"region_nis,notnull"`
	Lat           float64 `bun:"lat,notnull"`
	Lon           float64 `bun:"lon,notnull"`
}

type neighbourhoodRow struct {
	bun.BaseModel   `bun:"table:neighbourhoods"`
	MunicipalityNIS NISCode `bun:"municipality_nis,pk"`
	Name            string  `bun:"name,pk"`
}

// SyncReport counts the reference rows a sync wrote.
type SyncReport struct{ Inserted, Updated int }

// Changed reports whether anything was written.
func (r SyncReport) Changed() bool { return r.Inserted+r.Updated > 0 }

// Sync writes the embedded reference data into the database: missing rows are
// inserted, differing rows updated, equal rows left alone (so a second run
// writes nothing). Rows no longer in the data are kept: desks may point at them.
func Sync(ctx context.Context, db bun.IDB) (SyncReport, error) {
	if err := Err(); err != nil {
		return SyncReport{}, err
	}
	var rep SyncReport
	var regions []regionRow
	for _, r := range Regions() {
		regions = append(regions, regionRow{NIS: r.NIS, NameNL: r.NameNL, NameFR: r.NameFR})
	}
	if err := syncRows(ctx, db, regions, func(r regionRow) NISCode { return r.NIS }, &rep); err != nil {
		return rep, fmt.Errorf("geo: sync regions: %w", err)
	}
	var munis []municipalityRow
	var hoods []neighbourhoodRow
	for _, m := range Municipalities() {
		munis = append(munis, municipalityRow{NIS: m.NIS, NameNL: m.NameNL, NameFR: m.NameFR, RegionNIS: m.RegionNIS, Lat: m.Lat, Lon: m.Lon})
		for _, h := range m.Neighbourhoods {
			hoods = append(hoods, neighbourhoodRow{MunicipalityNIS: m.NIS, Name: h})
		}
	}
	if err := syncRows(ctx, db, munis, func(m municipalityRow) NISCode { return m.NIS }, &rep); err != nil {
		return rep, fmt.Errorf("geo: sync municipalities: %w", err)
	}
	type hoodKey struct {
		nis  NISCode
		name string
	}
	if err := syncRows(ctx, db, hoods, func(h neighbourhoodRow) hoodKey { return hoodKey{h.MunicipalityNIS, h.Name} }, &rep); err != nil {
		return rep, fmt.Errorf("geo: sync neighbourhoods: %w", err)
	}
	return rep, nil
}

// syncRows inserts the wanted rows that are missing and updates those that differ.
func syncRows[R comparable, K comparable](ctx context.Context, db bun.IDB, want []R, key func(R) K, rep *SyncReport) error {
	var have []R
	if err := db.NewSelect().Model(&have).Scan(ctx); err != nil {
		return err
	}
	existing := make(map[K]R, len(have))
	for _, r := range have {
		existing[key(r)] = r
	}
	var missing []R
	for _, r := range want {
		old, ok := existing[key(r)]
		switch {
		case !ok:
			missing = append(missing, r)
		case old != r:
			if _, err := db.NewUpdate().Model(&r).WherePK().Exec(ctx); err != nil {
				return err
			}
			rep.Updated++
		}
	}
	if len(missing) > 0 {
		if _, err := db.NewInsert().Model(&missing).Exec(ctx); err != nil {
			return err
		}
		rep.Inserted += len(missing)
	}
	return nil
}
