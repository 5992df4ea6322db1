package crisis

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"time"

	"github.com/google/uuid"

	"github.com/loket-kinderopvang/loket/internal/eventlog"
	"github.com/loket-kinderopvang/loket/internal/platform/tenancy"
	"github.com/loket-kinderopvang/loket/internal/reports"
	"github.com/loket-kinderopvang/loket/internal/requests"
	"github.com/loket-kinderopvang/loket/internal/rounds"
	"github.com/loket-kinderopvang/loket/internal/tenant"
)

// Family states on the board.
const (
	StateProposed = "proposed" // a provider has the proposal
	StateOffered  = "offered"  // the provider confirmed; the parent decides
	StatePlaced   = "placed"   // the parent accepted
	StateDeclined = "declined" // refused by the provider or declined by the parent, nothing open
	StateWithout  = "without"  // no place or proposal yet
)

// Counts are the board's numbers.
type Counts struct {
	Affected, Proposed, Offered, Placed, Declined, Without int
}

func (c *Counts) add(state string) {
	c.Affected++
	switch state {
	case StateProposed:
		c.Proposed++
	case StateOffered:
		c.Offered++
	case StatePlaced:
		c.Placed++
	case StateDeclined:
		c.Declined++
	default:
		c.Without++
	}
}

// Day is the board of one day: how things stood at its end.
type Day struct {
	Date time.Time
	Counts
}

// Row is one affected family as its own desk sees it.
type Row struct {
	RequestID      requests.RequestID
	ChildFirstName string
	ChildLastName  string
	Cause          string
	State          string
	LocationID     *uuid.UUID // where the child is proposed, offered or placed
	LocationName   string
	AddedAt        time.Time
	PlacedAt       *time.Time
}

// DeskBoard is one desk's part.
type DeskBoard struct {
	Desk tenant.Tenant
	Counts
}

// Board is the closure's board over the desks the reader may see.
type Board struct {
	Closure Closure
	Total   Counts
	Desks   []DeskBoard
	Days    []Day
	// Places is how many children went where (placed), by location name.
	Places map[string]int
	// DaysToPlace is the time from being affected to placed, per placed child.
	DaysToPlace []float64
}

type rowScan struct {
	RequestID    uuid.UUID  `bun:"request_id"`
	Cause        string     `bun:"cause"`
	AddedAt      time.Time  `bun:"added_at"`
	Status       string     `bun:"status"`
	PlacedAt     *time.Time `bun:"placed_at"`
	PlacedAt2    *uuid.UUID `bun:"placed_location_id"`
	FirstName    string     `bun:"first_name"`
	LastName     string     `bun:"last_name"`
	OfferState   *string    `bun:"offer_state"`
	OfferLoc     *uuid.UUID `bun:"offer_location"`
	OfferAt      *time.Time `bun:"offer_answered"`
	Declined     bool       `bun:"declined"`
	DeclinedAt   *time.Time `bun:"declined_at"`
	LocationName *string    `bun:"location_name"`
}

// Families lists the affected families of the desk in ctx: only its own
// (desk data), with their state.
func (s *Service) Families(ctx context.Context, id ID) ([]Row, error) {
	c, err := s.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	rows, _, err := s.deskRows(ctx, c)
	return rows, err
}

// FamiliesSeen is Families for a page that shows them: each family listed
// is one look in the desk's access log.
func (s *Service) FamiliesSeen(ctx context.Context, id ID, actor requests.Actor) ([]Row, error) {
	rows, err := s.Families(ctx, id)
	if err != nil {
		return nil, err
	}
	ids := make([]requests.RequestID, len(rows))
	for i, r := range rows {
		ids[i] = r.RequestID
	}
	if err := s.o.Requests.LookedAt(ctx, requests.Look{Actor: actor, What: eventlog.LookCrisis}, ids); err != nil {
		return nil, fmt.Errorf("crisis: log the families shown: %w", err)
	}
	return rows, nil
}

// deskRows reads the families of the desk in ctx with their state, and when
// the crisis round's proposals were published.
func (s *Service) deskRows(ctx context.Context, c *Closure) ([]Row, []time.Time, error) {
	var scan []rowScan
	round := uuid.Nil
	if c.RoundID != nil {
		round = *c.RoundID
	}
	var published *time.Time
	err := s.o.Tenants.Tx(ctx, func(ctx context.Context, tx *tenancy.Tx) error {
		q := tx.Select((*Family)(nil)).
			ColumnExpr("family.request_id, family.cause, family.added_at, r.status, r.placed_at, r.placed_location_id, ch.first_name, ch.last_name").
			ColumnExpr("o.state AS offer_state, o.location_id AS offer_location, o.answered_at AS offer_answered").
			ColumnExpr("EXISTS (SELECT 1 FROM preferences AS p WHERE p.tenant_id = r.tenant_id AND p.request_id = r.id AND p.state = ?) AS declined", requests.PreferenceDeclined).
			ColumnExpr("(SELECT max(p.responded_at) FROM preferences AS p WHERE p.tenant_id = r.tenant_id AND p.request_id = r.id AND p.state = ?) AS declined_at", requests.PreferenceDeclined).
			ColumnExpr("l.name AS location_name").
			Join("JOIN requests AS r ON r.tenant_id = family.tenant_id AND r.id = family.request_id").
			Join("JOIN children AS ch ON ch.tenant_id = r.tenant_id AND ch.id = r.child_id").
			Join("LEFT JOIN round_offers AS o ON o.tenant_id = family.tenant_id AND o.request_id = family.request_id AND o.round_id = ?", round).
			Join("LEFT JOIN locations AS l ON l.id = COALESCE(r.placed_location_id, o.location_id)").
			Where("family.closure_id = ?", c.ID).OrderExpr("ch.first_name, ch.last_name, family.request_id")
		if err := q.Scan(ctx, &scan); err != nil {
			return err
		}
		var rs []rounds.Round
		if err := tx.Select(&rs).Column("published_at").Where("id = ?", round).Scan(ctx); err != nil {
			return err
		}
		if len(rs) > 0 {
			published = rs[0].PublishedAt
		}
		return nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("crisis: families: %w", err)
	}
	out := make([]Row, 0, len(scan))
	var pub []time.Time
	for _, r := range scan {
		row := Row{RequestID: requests.RequestID{UUID: r.RequestID}, ChildFirstName: r.FirstName, ChildLastName: r.LastName,
			Cause: r.Cause, AddedAt: r.AddedAt, PlacedAt: r.PlacedAt}
		switch {
		case r.Status == string(requests.StatusPlaced):
			row.State, row.LocationID = StatePlaced, r.PlacedAt2
		case r.Status == string(requests.StatusOffered):
			row.State, row.LocationID = StateOffered, r.OfferLoc
		case r.OfferState != nil && *r.OfferState == rounds.OfferProposed:
			row.State, row.LocationID = StateProposed, r.OfferLoc
		case r.Declined || (r.OfferState != nil && *r.OfferState == rounds.OfferRefused):
			row.State = StateDeclined
		default:
			row.State = StateWithout
		}
		if row.LocationID != nil && r.LocationName != nil {
			row.LocationName = *r.LocationName
		}
		if r.OfferState != nil && published != nil {
			pub = append(pub, *published)
		}
		out = append(out, row)
	}
	return out, pub, nil
}

// BoardFor is the board of a closure over the given desks: a desk worker
// passes her own desk, a regional coordinator the desks of her region
// (counts only; family rows stay with each desk, see Families).
func (s *Service) BoardFor(ctx context.Context, id ID, desks []tenant.Tenant) (*Board, error) {
	c, err := s.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	b := &Board{Closure: *c, Places: map[string]int{}}
	var all []Row
	var published []time.Time
	for _, d := range desks {
		rows, pub, err := s.deskRows(tenancy.WithTenant(ctx, d.ID), c)
		if err != nil {
			return nil, err
		}
		if len(rows) == 0 {
			continue
		}
		db := DeskBoard{Desk: d}
		for _, r := range rows {
			db.add(r.State)
			b.Total.add(r.State)
			if r.State == StatePlaced {
				b.Places[r.LocationName]++
				if r.PlacedAt != nil {
					b.DaysToPlace = append(b.DaysToPlace, r.PlacedAt.Sub(r.AddedAt).Hours()/24)
				}
			}
		}
		b.Desks = append(b.Desks, db)
		all = append(all, rows...)
		published = append(published, pub...)
	}
	b.Days = s.days(c, all, published)
	return b, nil
}

// days rebuilds the board at the end of each day from the declaration to
// today from the times kept: affected, proposed (published), placed; the
// states of today for the last day.
func (s *Service) days(c *Closure, rows []Row, published []time.Time) []Day {
	first := c.DeclaredAt.UTC().Truncate(24 * time.Hour)
	last := s.o.Clock.Now().UTC().Truncate(24 * time.Hour)
	if c.EndedAt != nil && c.EndedAt.Before(last) {
		last = c.EndedAt.UTC().Truncate(24 * time.Hour)
	}
	var out []Day
	for d := first; !d.After(last) && len(out) < 366; d = d.AddDate(0, 0, 1) {
		end := d.AddDate(0, 0, 1)
		day := Day{Date: d}
		for _, r := range rows {
			if !r.AddedAt.Before(end) {
				continue
			}
			switch {
			case r.PlacedAt != nil && r.PlacedAt.Before(end):
				day.add(StatePlaced)
			case !d.Equal(last):
				if slices.ContainsFunc(published, func(t time.Time) bool { return t.Before(end) }) && r.State != StateWithout {
					day.add(StateProposed)
				} else {
					day.add(StateWithout)
				}
			default:
				day.add(r.State)
			}
		}
		out = append(out, day)
	}
	return out
}

// Report is the crisis report as sheets, exported with the code of the
// yearly figures (reports.WriteSheetsXLSX, reports.WriteSheetCSV).
func (b *Board) Report() []reports.Sheet {
	sum := [][]any{{"loket", "getroffen", "voorgesteld", "aangeboden", "geplaatst", "geweigerd", "zonder_oplossing"}}
	for _, d := range b.Desks {
		sum = append(sum, []any{d.Desk.Name, d.Affected, d.Proposed, d.Offered, d.Placed, d.Declined, d.Without})
	}
	t := b.Total
	sum = append(sum, []any{"totaal", t.Affected, t.Proposed, t.Offered, t.Placed, t.Declined, t.Without})
	days := [][]any{{"dag", "getroffen", "voorgesteld", "aangeboden", "geplaatst", "geweigerd", "zonder_oplossing"}}
	for _, d := range b.Days {
		days = append(days, []any{d.Date.Format("2006-01-02"), d.Affected, d.Proposed, d.Offered, d.Placed, d.Declined, d.Without})
	}
	where := [][]any{{"opvanglocatie", "geplaatst"}}
	names := make([]string, 0, len(b.Places))
	for n := range b.Places {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		where = append(where, []any{n, b.Places[n]})
	}
	speed := [][]any{{"maat", "dagen"}}
	if len(b.DaysToPlace) > 0 {
		ds := slices.Clone(b.DaysToPlace)
		slices.Sort(ds)
		speed = append(speed, []any{"mediaan", round1(ds[len(ds)/2])}, []any{"langste", round1(ds[len(ds)-1])})
	}
	return []reports.Sheet{{Name: "Loketten", Rows: sum}, {Name: "Per dag", Rows: days}, {Name: "Waarheen", Rows: where},
		{Name: "Snelheid", Rows: speed}}
}

func round1(f float64) float64 { return float64(int(f*10+0.5)) / 10 }
