package reports

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/loket-kinderopvang/loket/internal/geo"
	"github.com/loket-kinderopvang/loket/internal/platform/authz"
	"github.com/loket-kinderopvang/loket/internal/platform/cache"
	"github.com/loket-kinderopvang/loket/internal/platform/clock"
	"github.com/loket-kinderopvang/loket/internal/platform/db"
	"github.com/loket-kinderopvang/loket/internal/platform/tenancy"
	"github.com/loket-kinderopvang/loket/internal/tenant"
)

// Desks is what the service needs of the desk directory.
type Desks interface {
	All() []tenant.Tenant
	BySlug(slug string) (tenant.Tenant, bool)
}

// Service computes the reports.
type Service struct {
	db      *db.DB
	tenants *tenancy.Store
	desks   Desks
	clock   clock.Clock
	cross   authz.CrossTenantLogger
	// kept holds computed yearly figures until their data changes (nil:
	// every report computes them); release names the code that computed them.
	kept    cache.Cache
	release string
}

// Option configures a Service.
type Option func(*Service)

// KeepFigures keeps each desk's computed yearly figures in c until the data
// they come from changes (see kept.go). release names the running code, so
// figures a different release computed are never read.
func KeepFigures(c cache.Cache, release string) Option {
	return func(s *Service) { s.kept, s.release = c, release }
}

// NewService returns the report service. cross records every desk a
// regional report reads; without it regional reports are refused.
func NewService(d *db.DB, desks Desks, c clock.Clock, cross authz.CrossTenantLogger, opts ...Option) *Service {
	s := &Service{db: d, tenants: tenancy.NewStore(d), desks: desks, clock: c, cross: cross}
	for _, o := range opts {
		o(s)
	}
	return s
}

// ErrUnknownRegion means no desk lies in the region.
var ErrUnknownRegion = errors.New("reports: unknown region")

// ErrNoCrossTenantLog means a regional report was asked without a logger.
var ErrNoCrossTenantLog = errors.New("reports: regional reports need a cross-tenant logger")

// Yearly computes the yearly figures of the desk in ctx (every breakdown),
// for one of its municipalities when municipality is set.
func (s *Service) Yearly(ctx context.Context, year int, municipality string) (Figures, error) {
	var munis []string
	if municipality != "" {
		munis = []string{municipality}
	}
	desk, per, err := s.yearly(ctx, year, munis)
	if municipality != "" {
		return per[municipality], err
	}
	return desk, err
}

func (s *Service) yearly(ctx context.Context, year int, munis []string, more ...func(context.Context) error) (desk Figures, per map[string]Figures, err error) {
	if f, err := s.stored(ctx, year); err != nil || f != nil {
		if err != nil {
			return Figures{}, nil, err
		}
		return f.Desk, f.Municipalities, nil
	}
	ss := newScopes(year, munis)
	var mu sync.Mutex
	g, gctx := errgroup.WithContext(ctx)
	// On PostgreSQL the parts run side by side, each in its own desk
	// transaction (read committed: each statement reads its own snapshot
	// anyway, as in one transaction). SQLite has one writer and gains
	// nothing: one at a time.
	g.SetLimit(1)
	if s.db.Dialect == db.Postgres {
		g.SetLimit(parallelParts)
	}
	// The extra parts (the providers' responsiveness, the longest) first.
	for _, m := range more {
		g.Go(func() error { return m(gctx) })
	}
	for _, part := range yearParts(ss) {
		g.Go(func() error {
			return s.tenants.Tx(gctx, func(ctx context.Context, tx *tenancy.Tx) error {
				q := newYearQuery(tx, year)
				q.mu = &mu
				return part(ctx, q)
			})
		})
	}
	if err := g.Wait(); err != nil {
		return Figures{}, nil, err
	}
	desk, per = ss.figures()
	return desk, per, nil
}

// parallelParts is how many parts of one report run at once on
// PostgreSQL: the 2-core machines this runs on, plus one waiting on I/O.
const parallelParts = 3

// Desk computes everything the desk's report page shows: the figures of the
// desk, of each of its municipalities (intermunicipal desks), and the unmet
// demand for the 12 months ahead. The desk is the one in ctx.
func (s *Service) Desk(ctx context.Context, t tenant.Tenant, year int) (DeskReport, error) {
	rep := DeskReport{DeskSlug: t.Slug, Year: year}
	munis := pageMunicipalities(t)
	if len(t.Municipalities) == 1 {
		rep.singleNIS = string(t.Municipalities[0])
	}
	rep.ResponseDays = t.ProviderResponseDays
	var f *yearFigures
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		var err error
		f, err = s.figuresOf(gctx, t, year, munis)
		return err
	})
	g.Go(func() error {
		var err error
		rep.Ahead, err = s.Ahead(gctx, t)
		return err
	})
	if err := g.Wait(); err != nil {
		return rep, err
	}
	rep.Desk, rep.Providers = f.Desk, f.Providers
	for _, nis := range munis {
		rep.Municipalities = append(rep.Municipalities, MunicipalityFigures{NIS: nis, Figures: f.Municipalities[nis]})
	}
	return rep, nil
}

// pageMunicipalities are the municipalities the desk's page shows apart:
// those of an intermunicipal desk, none for a desk of one.
func pageMunicipalities(t tenant.Tenant) []string {
	if len(t.Municipalities) < 2 {
		return nil
	}
	munis := make([]string, len(t.Municipalities))
	for i, nis := range t.Municipalities {
		munis[i] = string(nis)
	}
	return munis
}

// figuresOf returns the yearly figures of desk t (in ctx) for its
// municipalities munis: a closed year's stored figures (the retention purge
// removed its rows), else the kept figures while the desk's data is
// unchanged, else computed now (and kept).
func (s *Service) figuresOf(ctx context.Context, t tenant.Tenant, year int, munis []string) (*yearFigures, error) {
	if f, err := s.stored(ctx, year); err != nil || f != nil {
		return f, err
	}
	key, f := s.keptFigures(ctx, t, year, munis)
	if f != nil {
		return f, nil
	}
	f, err := s.compute(ctx, t, year, munis)
	if err != nil {
		return nil, err
	}
	s.keep(ctx, key, f)
	return f, nil
}

// compute works out every yearly figure of desk t (in ctx) from its rows.
func (s *Service) compute(ctx context.Context, t tenant.Tenant, year int, munis []string) (*yearFigures, error) {
	var f yearFigures
	var err error
	f.Desk, f.Municipalities, err = s.yearly(ctx, year, munis, func(ctx context.Context) error {
		return s.tenants.Tx(ctx, func(ctx context.Context, tx *tenancy.Tx) error {
			var err error
			f.Providers, err = responsiveness(ctx, tx, year, t.ProviderResponseDays)
			return err
		})
	})
	if err != nil {
		return nil, err
	}
	return &f, nil
}

// Ahead computes, for the desk in ctx, the open requests without a place and
// the free places known per start month, municipality and neighbourhood, for
// the 12 months from the current one (the service's clock).
func (s *Service) Ahead(ctx context.Context, t tenant.Tenant) (Ahead, error) {
	now := s.clock.Now().UTC()
	from := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC)
	to := from.AddDate(0, 12, 0)
	a := Ahead{From: from}
	for m := from; m.Before(to); m = m.AddDate(0, 1, 0) {
		a.Months = append(a.Months, m.Format("2006-01"))
	}
	munis := make([]string, len(t.Municipalities))
	for i, n := range t.Municipalities {
		munis[i] = string(n)
	}
	var demand map[[3]string]int
	err := s.tenants.Tx(ctx, func(ctx context.Context, tx *tenancy.Tx) error {
		var err error
		demand, err = aheadDemand(ctx, tx, from, to)
		return err
	})
	if err != nil {
		return a, err
	}
	// Free places are catalogue data, no desk's: read outside the desk's
	// transaction.
	supply, err := aheadSupply(ctx, s.db.DB, munis, a.Months)
	if err != nil {
		return a, err
	}
	keys := map[[3]string]bool{}
	for k := range demand {
		keys[k] = true
	}
	for k := range supply {
		keys[k] = true
	}
	totals := map[string]*AheadRow{}
	for _, m := range a.Months {
		totals[m] = &AheadRow{Month: m}
	}
	for k := range keys {
		r := AheadRow{Month: k[0], MunicipalityNIS: k[1], Neighbourhood: k[2], Requests: Count{N: demand[k]}, FreePlaces: supply[k]}
		r.Shortage = max(0, r.Requests.N-r.FreePlaces)
		a.Rows = append(a.Rows, r)
		if tot := totals[k[0]]; tot != nil {
			tot.Requests.N += r.Requests.N
			tot.FreePlaces += r.FreePlaces
			tot.Shortage += r.Shortage // shortage is per area: free places elsewhere do not help
		}
	}
	sort.Slice(a.Rows, func(i, j int) bool {
		x, y := a.Rows[i], a.Rows[j]
		if x.Month != y.Month {
			return x.Month < y.Month
		}
		if x.MunicipalityNIS != y.MunicipalityNIS {
			return x.MunicipalityNIS < y.MunicipalityNIS
		}
		return x.Neighbourhood < y.Neighbourhood
	})
	for _, m := range a.Months {
		a.Totals = append(a.Totals, *totals[m])
	}
	return a, nil
}

// RegionDesks lists the desks with at least one municipality in the region
// (arrondissement), by slug.
func (s *Service) RegionDesks(regionNIS string) []tenant.Tenant {
	var out []tenant.Tenant
	for _, t := range s.desks.All() {
		for _, nis := range t.Municipalities {
			if m, ok := geo.LookupMunicipality(nis); ok && string(m.RegionNIS) == regionNIS {
				out = append(out, t)
				break
			}
		}
	}
	slices.SortFunc(out, func(a, b tenant.Tenant) int { return strings.Compare(a.Slug, b.Slug) })
	return out
}

// Region computes what a regional coordinator (user) sees of region
// regionNIS: each desk's yearly figures side by side, their sum, and demand
// across municipal borders. Reading a desk is crossing its border: each desk
// is read on purpose in its own tenant transaction, after the access is
// written to that desk's event log. Everything returned is suppressed: no
// count of 1..4 leaves this function, and no cross-border row under
// SmallCell. The caller must have checked ReportsAggregate in region:<nis>.
func (s *Service) Region(ctx context.Context, user, regionNIS string, year int) (RegionReport, error) {
	rep := RegionReport{RegionNIS: regionNIS, Year: year}
	if s.cross == nil {
		return rep, ErrNoCrossTenantLog
	}
	desks := s.RegionDesks(regionNIS)
	if len(desks) == 0 {
		return rep, ErrUnknownRegion
	}
	var raw []Figures
	cross := map[[2]string]int{}
	for _, t := range desks {
		if err := s.cross.LogCrossTenant(ctx, user, authz.Region(regionNIS), authz.Desk(t.Slug), string(authz.ReportsAggregate), ""); err != nil {
			return RegionReport{}, fmt.Errorf("reports: log regional access to %s: %w", t.Slug, err)
		}
		dctx := tenancy.WithTenant(ctx, t.ID)
		var f Figures
		// A closed year the retention purge reached: the desk's stored figures.
		st, err := s.stored(dctx, year)
		if err != nil {
			return RegionReport{}, err
		}
		err = s.tenants.Tx(dctx, func(ctx context.Context, tx *tenancy.Tx) error {
			var err error
			if st != nil {
				f = st.Desk
			} else if f, _, err = yearly(ctx, tx, year, nil); err != nil {
				return err
			}
			// The stored cross-border counts too: the rows they came
			// from may be purged (figures stored before they were kept
			// have none, and are counted from what rows are left).
			if st != nil && st.Cross != nil {
				for k, n := range st.Cross {
					cross[crossPair(k)] += n
				}
				return nil
			}
			cb, err := crossBorder(ctx, tx, year)
			for k, n := range cb {
				cross[k] += n
			}
			return err
		})
		if err != nil {
			return RegionReport{}, fmt.Errorf("reports: region %s, desk %s: %w", regionNIS, t.Slug, err)
		}
		raw = append(raw, f)
		rep.Desks = append(rep.Desks, RegionDesk{Slug: t.Slug, Name: t.Name})
	}
	shown, total, err := protectRegion(raw, sumFigures(year, raw))
	if err != nil {
		return RegionReport{}, err
	}
	for i := range shown {
		rep.Desks[i].Figures = shown[i]
	}
	rep.Total = total
	if rep.Outlines, err = regionOutlines(regionNIS); err != nil {
		return RegionReport{}, err
	}
	unmet := map[string]Count{}
	for _, r := range total.Breakdown("by_unmet_municipality").Rows {
		unmet[r.Key] = r.Count
	}
	for _, o := range rep.Outlines {
		a := MapArea{NIS: o.NIS, Unmet: unmet[o.NIS]}
		if b, ok := Births(o.NIS); ok {
			a.Births = b
			if !a.Unmet.Hidden {
				a.PerHundred = Days{Value: float64(a.Unmet.N) * 100 / float64(b), Valid: true}
			}
		}
		rep.Map = append(rep.Map, a)
	}
	for k, n := range cross {
		if n < SmallCell {
			rep.HiddenPairs++
			continue
		}
		rep.Cross = append(rep.Cross, CrossBorder{FromNIS: k[0], ToNIS: k[1], Requests: Count{N: n}})
	}
	sort.Slice(rep.Cross, func(i, j int) bool {
		if rep.Cross[i].Requests.N != rep.Cross[j].Requests.N {
			return rep.Cross[i].Requests.N > rep.Cross[j].Requests.N
		}
		if rep.Cross[i].FromNIS != rep.Cross[j].FromNIS {
			return rep.Cross[i].FromNIS < rep.Cross[j].FromNIS
		}
		return rep.Cross[i].ToNIS < rep.Cross[j].ToNIS
	})
	return rep, nil
}

// Suppress returns f as it may be shown outside the desk: every count of 1..4
// withheld, and the percentiles withheld when they rest on fewer than
// SmallCell requests.
func Suppress(f Figures) Figures {
	out := f
	out.Requests, out.Children = suppress(f.Requests.N), suppress(f.Children.N)
	out.Placed, out.Withdrawn = suppress(f.Placed.N), suppress(f.Withdrawn.N)
	out.Unanswered, out.Open, out.Closed = suppress(f.Unanswered.N), suppress(f.Open.N), suppress(f.Closed.N)
	if f.Answered.N < SmallCell {
		out.FirstAnswerMedian, out.FirstAnswerP90 = Days{}, Days{}
	}
	if f.Placed.N < SmallCell {
		out.PlacementMedian, out.PlacementP90 = Days{}, Days{}
	}
	out.Answered = suppress(f.Answered.N)
	out.Breakdowns = make([]Breakdown, len(f.Breakdowns))
	for i, b := range f.Breakdowns {
		nb := Breakdown{ID: b.ID, Rows: make([]Row, len(b.Rows))}
		for j, r := range b.Rows {
			nb.Rows[j] = Row{Key: r.Key, Sub: r.Sub, Count: suppress(r.Count.N)}
		}
		out.Breakdowns[i] = nb
	}
	return out
}

// sumFigures adds the counts of several desks (percentiles cannot be added
// and stay absent).
func sumFigures(year int, fs []Figures) Figures {
	t := Figures{Year: year}
	type key struct{ id, k, sub string }
	sums := map[key]int{}
	var order []key
	for _, f := range fs {
		t.Requests.N += f.Requests.N
		t.Children.N += f.Children.N
		t.Placed.N += f.Placed.N
		t.Withdrawn.N += f.Withdrawn.N
		t.Unanswered.N += f.Unanswered.N
		t.Open.N += f.Open.N
		t.Closed.N += f.Closed.N
		t.Answered.N += f.Answered.N
		for _, b := range f.Breakdowns {
			for _, r := range b.Rows {
				k := key{b.ID, r.Key, r.Sub}
				if _, seen := sums[k]; !seen {
					order = append(order, k)
				}
				sums[k] += r.Count.N
			}
		}
	}
	for _, k := range order {
		i := slices.IndexFunc(t.Breakdowns, func(b Breakdown) bool { return b.ID == k.id })
		if i < 0 {
			t.Breakdowns = append(t.Breakdowns, Breakdown{ID: k.id})
			i = len(t.Breakdowns) - 1
		}
		t.Breakdowns[i].Rows = append(t.Breakdowns[i].Rows, Row{Key: k.k, Sub: k.sub, Count: Count{N: sums[k]}})
	}
	for i := range t.Breakdowns {
		if t.Breakdowns[i].ID == "by_neighbourhood" || t.Breakdowns[i].ID == "by_start_month" {
			rows := t.Breakdowns[i].Rows
			sort.Slice(rows, func(a, b int) bool {
				if rows[a].Key != rows[b].Key {
					return rows[a].Key < rows[b].Key
				}
				return rows[a].Sub < rows[b].Sub
			})
		}
	}
	return t
}
