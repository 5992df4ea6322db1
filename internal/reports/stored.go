package reports

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/uptrace/bun"

	"github.com/loket-kinderopvang/loket/internal/platform/tenancy"
	"github.com/loket-kinderopvang/loket/internal/tenant"
)

// StoredYear is a desk's yearly figures of a closed year, kept before the
// retention purge removes the rows they come from (issue 18). Reports read
// it instead of computing the year again.
type StoredYear struct {
	bun.BaseModel `bun:"table:yearly_figures"`
	tenancy.Owned

	Year     int       `bun:"year,pk"`
	Report   string    `bun:"report,notnull"`
	StoredAt time.Time `bun:"stored_at,notnull"`
}

// yearFigures is what StoredYear.Report holds: everything Desk computes from
// the year's rows (not Ahead, which looks forward from today).
type yearFigures struct {
	Desk           Figures            `json:"desk"`
	Municipalities map[string]Figures `json:"municipalities"`
	Providers      []Responsiveness   `json:"providers"`
	// Cross is the year's cross-border demand (crossBorder) keyed
	// "family's NIS>location's NIS", for the regional report; nil in
	// figures stored before it was kept.
	Cross map[string]int `json:"cross,omitempty"`
}

// crossKey and crossPair turn a cross-border pair into the stored key and back.
func crossKey(k [2]string) string { return k[0] + ">" + k[1] }

func crossPair(key string) [2]string {
	from, to, _ := strings.Cut(key, ">")
	return [2]string{from, to}
}

// stored returns the stored figures of year for the desk in ctx, if any.
func (s *Service) stored(ctx context.Context, year int) (*yearFigures, error) {
	var row StoredYear
	err := s.tenants.Tx(ctx, func(ctx context.Context, tx *tenancy.Tx) error {
		return tx.Select(&row).Where("year = ?", year).Scan(ctx)
	})
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reports: stored figures of %d: %w", year, err)
	}
	var f yearFigures
	if err := json.Unmarshal([]byte(row.Report), &f); err != nil {
		return nil, fmt.Errorf("reports: stored figures of %d: %w", year, err)
	}
	return &f, nil
}

// Freeze stores the yearly figures of a closed year of desk t (in ctx), once:
// the retention purge calls it before rows the year was computed from go.
// It reports whether it stored them now.
func (s *Service) Freeze(ctx context.Context, t tenant.Tenant, year int) (bool, error) {
	if year >= s.clock.Now().Year() {
		return false, fmt.Errorf("reports: %d is not a closed year", year)
	}
	if f, err := s.stored(ctx, year); err != nil || f != nil {
		return false, err
	}
	munis := make([]string, len(t.Municipalities))
	for i, nis := range t.Municipalities {
		munis[i] = string(nis)
	}
	f, err := s.compute(ctx, t, year, munis)
	if err != nil {
		return false, err
	}
	// The regional report's cross-border counts of the year, kept as well.
	err = s.tenants.Tx(ctx, func(ctx context.Context, tx *tenancy.Tx) error {
		cb, err := crossBorder(ctx, tx, year)
		f.Cross = map[string]int{}
		for k, n := range cb {
			f.Cross[crossKey(k)] = n
		}
		return err
	})
	if err != nil {
		return false, err
	}
	b, err := json.Marshal(f)
	if err != nil {
		return false, err
	}
	err = s.tenants.Tx(ctx, func(ctx context.Context, tx *tenancy.Tx) error {
		return tx.Insert(ctx, &StoredYear{Year: year, Report: string(b), StoredAt: s.clock.Now()})
	})
	if err != nil {
		return false, fmt.Errorf("reports: store the figures of %d: %w", year, err)
	}
	return true, nil
}
