// Package rounds runs allocation rounds for a desk in central mode: it loads
// the open requests and free places of a start-month window, runs the pure
// engine (package allocation), stores input, seed, policy, result and audit so
// the round can be re-run and checked, and on publish proposes the places to
// providers; a provider's confirmation becomes an offer to the parent (with
// the desk's acceptance deadline), a refusal gives the place back.
package rounds

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/loket-kinderopvang/loket/internal/allocation"
	"github.com/loket-kinderopvang/loket/internal/catalog"
	"github.com/loket-kinderopvang/loket/internal/eventlog"
	"github.com/loket-kinderopvang/loket/internal/platform/clock"
	"github.com/loket-kinderopvang/loket/internal/platform/db"
	"github.com/loket-kinderopvang/loket/internal/platform/ids"
	"github.com/loket-kinderopvang/loket/internal/platform/tenancy"
	"github.com/loket-kinderopvang/loket/internal/platform/validate"
	"github.com/loket-kinderopvang/loket/internal/platform/web"
	"github.com/loket-kinderopvang/loket/internal/requests"
	"github.com/loket-kinderopvang/loket/internal/tenant"
)

type roundKind struct{}

// ID identifies a round.
type ID = ids.ID[roundKind]

// NewID returns a new round id.
func NewID() ID { return ids.New[roundKind]() }

// Round statuses.
const (
	StatusDryRun    = "dry_run"
	StatusPublished = "published"
)

// Offer states.
const (
	OfferProposed  = "proposed"
	OfferConfirmed = "confirmed"
	OfferRefused   = "refused"
)

// Errors.
var (
	ErrNotFound  = errors.New("rounds: not found")
	ErrPublished = errors.New("rounds: the round is already published")
)

// Round is one stored round.
type Round struct {
	bun.BaseModel `bun:"table:rounds"`
	tenancy.Owned

	ID          ID         `bun:"id,pk,type:uuid"`
	FromMonth   string     `bun:"from_month,notnull"`
	ToMonth     string     `bun:"to_month,notnull"`
	Status      string     `bun:"status,notnull"`
	Seed        string     `bun:"seed,notnull"`
	Instance    string     `bun:"instance,notnull"`
	Result      string     `bun:"result,notnull"`
	AuditOK     bool       `bun:"audit_ok,notnull"`
	Audit       string     `bun:"audit,notnull"`
	Children    int        `bun:"children,notnull"`
	Placed      int        `bun:"placed,notnull"`
	CreatedBy   string     `bun:"created_by,notnull"`
	CreatedAt   time.Time  `bun:"created_at,notnull"`
	PublishedAt *time.Time `bun:"published_at"`
}

// Offer is a place a published round proposes to a provider.
type Offer struct {
	bun.BaseModel `bun:"table:round_offers"`
	tenancy.Owned

	RoundID    ID                 `bun:"round_id,pk,type:uuid"`
	RequestID  requests.RequestID `bun:"request_id,pk,type:uuid"`
	Rank       int                `bun:"rank,notnull"`
	LocationID uuid.UUID          `bun:"location_id,notnull,type:uuid"`
	StartMonth string             `bun:"start_month,notnull"`
	AgeBand    string             `bun:"age_band,notnull"`
	State      string             `bun:"state,notnull"`
	Reason     string             `bun:"reason,notnull"`
	AnsweredBy string             `bun:"answered_by,notnull"`
	AnsweredAt *time.Time         `bun:"answered_at"`
}

// ChildOutcome is one child's outcome in a round, with the explanation.
type ChildOutcome struct {
	bun.BaseModel `bun:"table:round_children"`
	tenancy.Owned

	RoundID    ID                 `bun:"round_id,pk,type:uuid"`
	RequestID  requests.RequestID `bun:"request_id,pk,type:uuid"`
	LocationID *uuid.UUID         `bun:"location_id,type:uuid"`
	Choice     int                `bun:"choice,notnull"`
	TextNL     string             `bun:"text_nl,notnull"`
	TextEN     string             `bun:"text_en,notnull"`
}

// Policy is the desk's allocation policy: configuration, not code (the
// Flemish priority rules changed in 2024 and were annulled in 2025).
type Policy struct {
	Tiers        []string
	ReserveShare float64
	Fill         allocation.FillOrder
}

// DefaultPolicy is used until a desk configures its own.
var DefaultPolicy = Policy{
	Tiers:        []string{string(requests.ClaimSibling), "vulnerable", string(requests.ClaimWorkOrTraining), string(requests.ClaimSingleParent), string(requests.ClaimFosterChild), string(requests.ClaimLowIncome)},
	ReserveShare: 0.2,
	Fill:         allocation.FillFirst,
}

// Service runs rounds for the desk in ctx.
type Service struct {
	tenants  *tenancy.Store
	requests *requests.Service
	clock    clock.Clock
	messages *web.Catalog // explanations are rendered when read, in the reader's language
	policy   Policy
	group    func(ctx context.Context, desk tenancy.ID) ([]tenancy.ID, error)
	// publisher, if set, publishes rounds another part built (a crisis
	// re-placement) its own way; see SetPublisher.
	publisher func(ctx context.Context, id ID, actor string) (handled bool, n int, err error)
}

// New returns the round service.
func New(ts *tenancy.Store, rs *requests.Service, c clock.Clock, messages *web.Catalog) *Service {
	return &Service{tenants: ts, requests: rs, clock: c, messages: messages, policy: DefaultPolicy}
}

// Window checks a start-month window ("2027-01" to "2027-03").
func Window(from, to string) validate.Errors {
	var es validate.Errors
	if !catalog.ValidMonth(from) {
		es.Add("from_month", "month", "must look like 2027-01 (got %q)", from)
	}
	if !catalog.ValidMonth(to) {
		es.Add("to_month", "month", "must look like 2027-01 (got %q)", to)
	}
	if len(es) == 0 && to < from {
		es.Add("to_month", "window", "the window ends before it starts")
	}
	return es
}

type loaded struct {
	ID           uuid.UUID  `bun:"id"`
	DesiredStart time.Time  `bun:"desired_start"`
	BirthDate    *time.Time `bun:"birth_date"`
	Expected     *time.Time `bun:"expected_date"`
	Vulnerable   bool       `bun:"vulnerable"`
}

// deskPart is what one desk brings to a round.
type deskPart struct {
	reqs     []loaded
	prefs    map[uuid.UUID][]requests.Preference
	claims   map[uuid.UUID][]string
	held     map[string]int
	waiting  map[uuid.UUID]bool
	refused  map[string]bool
	location []uuid.UUID
}

// loadDesk reads the open requests of the window, their open preferences and
// claims, and what earlier rounds still hold, of the desk in ctx: one query
// per table.
func (s *Service) loadDesk(ctx context.Context, start, end time.Time) (*deskPart, error) {
	d := &deskPart{prefs: map[uuid.UUID][]requests.Preference{}, claims: map[uuid.UUID][]string{}}
	err := s.tenants.Tx(ctx, func(ctx context.Context, tx *tenancy.Tx) error {
		open := bun.In([]requests.Status{requests.StatusSubmitted, requests.StatusActive})
		if err := tx.Select((*requests.Request)(nil)).
			ColumnExpr("request.id, request.desired_start, c.birth_date, c.expected_date, f.vulnerable").
			Join("JOIN children AS c ON c.tenant_id = request.tenant_id AND c.id = request.child_id").
			Join("JOIN families AS f ON f.tenant_id = c.tenant_id AND f.id = c.family_id").
			Where("request.status IN (?)", open).
			Where("request.desired_start >= ? AND request.desired_start < ?", start, end).
			OrderExpr("request.id").Scan(ctx, &d.reqs); err != nil {
			return fmt.Errorf("rounds: load requests: %w", err)
		}
		var prefs []requests.Preference
		if err := tx.Select(&prefs).Where("state IN (?)", bun.In([]requests.PreferenceState{requests.PreferencePending, requests.PreferenceWaitingList})).
			Where("request_id IN (SELECT r.id FROM requests AS r WHERE r.tenant_id = ? AND r.status IN (?) AND r.desired_start >= ? AND r.desired_start < ?)",
				tx.Tenant(), open, start, end).
			OrderExpr("request_id, rank").Scan(ctx); err != nil {
			return fmt.Errorf("rounds: load preferences: %w", err)
		}
		for _, p := range prefs {
			d.prefs[p.RequestID.UUID] = append(d.prefs[p.RequestID.UUID], p)
			if !slices.Contains(d.location, p.LocationID) {
				d.location = append(d.location, p.LocationID)
			}
		}
		var claims []requests.RequestClaim
		if err := tx.Select(&claims).Scan(ctx); err != nil {
			return fmt.Errorf("rounds: load claims: %w", err)
		}
		for _, c := range claims {
			d.claims[c.RequestID.UUID] = append(d.claims[c.RequestID.UUID], string(c.Claim))
		}
		var err error
		d.held, d.waiting, d.refused, err = s.holds(ctx, tx)
		return err
	})
	if err != nil {
		return nil, err
	}
	return d, nil
}

// Load builds the engine's instance for a window from the open requests of
// the desk in ctx and of every desk that shares its waiting list with it (see
// SetGroup), and the free places of the locations they chose. It returns the
// desks that took part.
func (s *Service) Load(ctx context.Context, from, to string, seed allocation.Seed) (*allocation.Instance, map[uuid.UUID]tenancy.ID, error) {
	if es := Window(from, to); len(es) > 0 {
		return nil, nil, es
	}
	own, ok := tenancy.FromContext(ctx)
	if !ok {
		return nil, nil, requests.ErrNoDesk
	}
	owner := map[uuid.UUID]tenancy.ID{}
	desks, err := s.groupOf(ctx, own)
	if err != nil {
		return nil, nil, err
	}
	start, _ := time.Parse("2006-01", from)
	end, _ := time.Parse("2006-01", to)
	end = end.AddDate(0, 1, 0)
	inst := &allocation.Instance{Version: allocation.FormatVersion, Seed: seed, TieBreak: allocation.TieBreakSingle,
		SiblingCriterion: "sibling", DefaultPolicy: allocation.Policy{Tiers: s.policy.Tiers},
		Reserve:    allocation.ReservePolicy{DefaultShare: s.policy.ReserveShare, Fill: s.policy.Fill},
		Programmes: []allocation.Programme{}, Children: []allocation.Child{}}
	var parts []*deskPart
	held := map[string]int{}
	var locations []uuid.UUID
	for _, d := range desks {
		part, err := s.loadDesk(tenancy.WithTenant(ctx, d), start, end)
		if err != nil {
			return nil, nil, err
		}
		parts = append(parts, part)
		for k, n := range part.held {
			held[k] += n
		}
		for _, l := range part.location {
			if !slices.Contains(locations, l) {
				locations = append(locations, l)
			}
		}
	}
	capacity := map[string]int{}
	names := map[uuid.UUID]string{}
	if len(locations) > 0 {
		// One query names the chosen locations and reads their free places
		// (a location without any still gets its name, for explanations).
		var rows []struct {
			ID         uuid.UUID      `bun:"id"`
			Name       string         `bun:"name"`
			StartMonth sql.NullString `bun:"start_month"`
			AgeBand    sql.NullString `bun:"age_band"`
			FreePlaces sql.NullInt64  `bun:"free_places"`
		}
		err := s.tenants.Tx(ctx, func(ctx context.Context, tx *tenancy.Tx) error {
			return tx.Unscoped().NewSelect().TableExpr("locations AS l").
				ColumnExpr("l.id, l.name, a.start_month, a.age_band, a.free_places").
				Join("LEFT JOIN availability AS a ON a.location_id = l.id AND a.start_month >= ? AND a.start_month <= ? AND a.free_places > 0 AND "+catalog.NotClosed("l.id"), from, to).
				Where("l.id IN (?)", bun.In(locations)).Scan(ctx, &rows)
		})
		if err != nil {
			return nil, nil, fmt.Errorf("rounds: load free places: %w", err)
		}
		for _, a := range rows {
			names[a.ID] = a.Name
			if !a.StartMonth.Valid {
				continue
			}
			id := programmeID(a.ID, a.StartMonth.String, a.AgeBand.String)
			free := int(a.FreePlaces.Int64) - held[id]
			if free <= 0 {
				continue
			}
			capacity[id] = free
			inst.Programmes = append(inst.Programmes, allocation.Programme{ID: id, Location: a.ID.String(),
				StartMonth: a.StartMonth.String, AgeBand: a.AgeBand.String, Capacity: free})
		}
	}
	// Every chosen location is named in the instance, with the desk's
	// policy, so that explanations can name it in the reader's language.
	for _, l := range locations {
		inst.Locations = append(inst.Locations, allocation.Location{ID: l.String(), Name: names[l],
			Policy: allocation.Policy{Tiers: s.policy.Tiers}})
	}
	slices.SortFunc(inst.Locations, func(a, b allocation.Location) int { return strings.Compare(a.ID, b.ID) })
	for k, part := range parts {
		for _, r := range part.reqs {
			if part.waiting[r.ID] {
				continue // a proposal of an earlier round is still open
			}
			born := r.BirthDate
			if born == nil {
				born = r.Expected
			}
			month := r.DesiredStart.Format("2006-01")
			band := catalog.BandForAge(catalog.AgeInMonths(*born, r.DesiredStart))
			ch := allocation.Child{ID: r.ID.String(), Preferences: []string{}, Vulnerable: r.Vulnerable}
			for _, claim := range part.claims[r.ID] {
				if claim != string(requests.ClaimSibling) {
					ch.Criteria = append(ch.Criteria, claim)
					continue
				}
				// "A brother or sister already goes to that childcare" holds
				// at the childcare she names, her first choice, not at every
				// location she lists (issue 15). The form does not yet ask
				// for the sibling's childcare by name.
				if prefs := part.prefs[r.ID]; len(prefs) > 0 {
					ch.LocationCriteria = map[string][]string{prefs[0].LocationID.String(): {claim}}
				}
			}
			if r.Vulnerable {
				ch.Criteria = append(ch.Criteria, "vulnerable")
			}
			for _, p := range part.prefs[r.ID] {
				pid := programmeID(p.LocationID, month, string(band))
				if part.refused[r.ID.String()+"|"+p.LocationID.String()] {
					continue // the provider refused this child there
				}
				if slices.Contains(ch.Preferences, pid) {
					continue
				}
				// A choice without free places stays on the list with
				// capacity 0, so that the parent's numbering holds and the
				// explanation says it had no places.
				if _, ok := capacity[pid]; !ok {
					capacity[pid] = 0
					inst.Programmes = append(inst.Programmes, allocation.Programme{ID: pid, Location: p.LocationID.String(),
						StartMonth: month, AgeBand: string(band)})
				}
				ch.Preferences = append(ch.Preferences, pid)
			}
			inst.Children = append(inst.Children, ch)
			owner[r.ID] = desks[k]
		}
	}
	slices.SortFunc(inst.Programmes, func(a, b allocation.Programme) int { return strings.Compare(a.ID, b.ID) })
	slices.SortFunc(inst.Children, func(a, b allocation.Child) int { return strings.Compare(a.ID, b.ID) })
	return inst, owner, nil
}

// groupOf is the desk and every desk that shares its waiting list with it.
func (s *Service) groupOf(ctx context.Context, own tenancy.ID) ([]tenancy.ID, error) {
	desks := []tenancy.ID{own}
	if s.group == nil {
		return desks, nil
	}
	others, err := s.group(ctx, own)
	if err != nil {
		return nil, fmt.Errorf("rounds: desks sharing a waiting list: %w", err)
	}
	for _, d := range others {
		if !slices.Contains(desks, d) {
			desks = append(desks, d)
		}
	}
	return desks, nil
}

// SetGroup names, for a desk, the desks that share their waiting list with it
// (sharing agreements): its rounds then place their children too, over the
// same free places. Each desk keeps its own copy of the round, its own
// children's outcomes and offers, and an event in its own log.
func (s *Service) SetGroup(fn func(ctx context.Context, desk tenancy.ID) ([]tenancy.ID, error)) {
	s.group = fn
}

func programmeID(loc uuid.UUID, month, band string) string {
	return loc.String() + "|" + month + "|" + band
}

func locationOf(programme string) uuid.UUID {
	id, _ := uuid.Parse(strings.SplitN(programme, "|", 2)[0])
	return id
}

// NewSeed draws a lottery seed.
func NewSeed() allocation.Seed {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return allocation.SeedFromUint64(binary.BigEndian.Uint64(b[:]))
}

// DryRun loads, solves, explains and audits a round and stores it; nothing
// is offered yet.
func (s *Service) DryRun(ctx context.Context, from, to string, seed allocation.Seed, actor string) (*Round, error) {
	if seed == "" {
		seed = NewSeed()
	}
	inst, owner, err := s.Load(ctx, from, to, seed)
	if err != nil {
		return nil, err
	}
	return s.StoreDryRun(ctx, inst, owner, from, to, actor)
}

// StoreDryRun solves, explains and audits an instance another part built
// (a crisis re-placement, package crisis) and stores it as a dry run of the
// desk in ctx; every desk in owner keeps a copy with its own children, as in
// a round over a shared waiting list.
func (s *Service) StoreDryRun(ctx context.Context, inst *allocation.Instance, owner map[uuid.UUID]tenancy.ID, from, to, actor string) (*Round, error) {
	seed := inst.Seed
	own, _ := tenancy.FromContext(ctx)
	res, exps, report, err := solve(inst)
	if err != nil {
		return nil, err
	}
	instJSON, _ := json.Marshal(inst)
	resJSON, _ := json.Marshal(res)
	auditJSON, _ := json.Marshal(report)
	r := &Round{ID: ids.New[roundKind](), FromMonth: from, ToMonth: to, Status: StatusDryRun, Seed: string(seed),
		Instance: string(instJSON), Result: string(resJSON), AuditOK: report.OK, Audit: string(auditJSON),
		Children: len(inst.Children), CreatedBy: actor, CreatedAt: s.clock.Now()}
	outcomes := map[tenancy.ID][]ChildOutcome{own: nil}
	for _, e := range exps {
		id, _ := uuid.Parse(e.ChildID)
		// Texts are rendered when read, in the reader's language.
		o := ChildOutcome{RoundID: r.ID, RequestID: requests.RequestID{UUID: id}, Choice: e.Choice}
		if e.ProgrammeID != "" {
			loc := locationOf(e.ProgrammeID)
			o.LocationID = &loc
			r.Placed++
		}
		outcomes[owner[id]] = append(outcomes[owner[id]], o)
	}
	// Every desk of the round keeps a copy with its own children's outcomes;
	// the other desks' logs record that this desk's round placed them.
	for desk, outs := range outcomes {
		copyOf := *r
		copyOf.Owned = tenancy.Owned{}
		err = s.tenants.Tx(tenancy.WithTenant(ctx, desk), func(ctx context.Context, tx *tenancy.Tx) error {
			if err := tx.Insert(ctx, &copyOf); err != nil {
				return fmt.Errorf("rounds: store: %w", err)
			}
			for chunk := range slices.Chunk(outs, 1000) {
				if err := tx.Insert(ctx, &chunk); err != nil {
					return fmt.Errorf("rounds: store outcomes: %w", err)
				}
			}
			kind, data := "round.dry_run", json.RawMessage(nil)
			if desk != own {
				kind, data = "round.group_dry_run", mustJSON(map[string]string{"run_by_desk": own.String()})
			}
			return eventlog.Append(ctx, tx, &eventlog.Event{OccurredAt: r.CreatedAt, Actor: actor, SubjectType: "round",
				SubjectID: r.ID.UUID, Kind: kind, ToState: StatusDryRun, Data: data})
		})
		if err != nil {
			return nil, err
		}
	}
	return r, nil
}

func solve(inst *allocation.Instance) (*allocation.Result, []allocation.Explanation, allocation.Report, error) {
	res, err := allocation.Solve(inst)
	if err != nil {
		return nil, nil, allocation.Report{}, fmt.Errorf("rounds: solve: %w", err)
	}
	exps, err := allocation.Explain(inst, res)
	if err != nil {
		return nil, nil, allocation.Report{}, fmt.Errorf("rounds: explain: %w", err)
	}
	return res, exps, allocation.Audit(inst, res), nil
}

// Get reads a round of the desk in ctx.
func (s *Service) Get(ctx context.Context, id ID) (*Round, error) {
	var r Round
	err := s.tenants.Tx(ctx, func(ctx context.Context, tx *tenancy.Tx) error {
		return tx.Select(&r).Where("id = ?", id).Scan(ctx)
	})
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("rounds: get: %w", err)
	}
	return &r, nil
}

// List returns the desk's rounds, newest first.
func (s *Service) List(ctx context.Context) ([]Round, error) {
	var rs []Round
	err := s.tenants.Tx(ctx, func(ctx context.Context, tx *tenancy.Tx) error {
		return tx.Select(&rs).ExcludeColumn("instance", "result", "audit").OrderExpr("created_at DESC").Limit(50).Scan(ctx)
	})
	if err != nil {
		return nil, fmt.Errorf("rounds: list: %w", err)
	}
	return rs, nil
}

// Rerun solves the stored input again and reports whether the result is the
// stored one, byte for byte (the seed makes a round reproducible).
func (s *Service) Rerun(ctx context.Context, id ID) (bool, error) {
	r, err := s.Get(ctx, id)
	if err != nil {
		return false, err
	}
	inst, err := allocation.DecodeInstance(strings.NewReader(r.Instance))
	if err != nil {
		return false, fmt.Errorf("rounds: stored input: %w", err)
	}
	res, err := allocation.Solve(inst)
	if err != nil {
		return false, err
	}
	got, _ := json.Marshal(res)
	return bytes.Equal(got, []byte(r.Result)), nil
}

// Outcomes lists the children of a round with what they got.
func (s *Service) Outcomes(ctx context.Context, id ID) ([]ChildOutcome, error) {
	var os []ChildOutcome
	err := s.tenants.Tx(ctx, func(ctx context.Context, tx *tenancy.Tx) error {
		return tx.Select(&os).Where("round_id = ?", id).OrderExpr("choice = 0, choice, request_id").Scan(ctx)
	})
	if err != nil {
		return nil, fmt.Errorf("rounds: outcomes: %w", err)
	}
	return os, nil
}

// Publish proposes every place of a dry run to its provider. Requests that
// changed since (placed elsewhere, withdrawn, preference answered) are left
// out: a round never undoes an accepted placement.
func (s *Service) Publish(ctx context.Context, id ID, actor string) (int, error) {
	if s.publisher != nil {
		if handled, n, err := s.publisher(ctx, id, actor); handled {
			return n, err
		}
	}
	n, err := s.publishDesk(ctx, id, actor)
	if err != nil {
		return 0, err
	}
	own, _ := tenancy.FromContext(ctx)
	desks, err := s.groupOf(ctx, own)
	if err != nil {
		return n, err
	}
	for _, d := range desks[1:] {
		m, err := s.publishDesk(tenancy.WithTenant(ctx, d), id, actor)
		if errors.Is(err, ErrNotFound) || errors.Is(err, ErrPublished) {
			continue // that desk had no children in this round, or published its copy already
		}
		if err != nil {
			return n, err
		}
		n += m
	}
	return n, nil
}

// SetPublisher lets another part publish the rounds it built: a crisis
// re-placement first adds each proposed place to the child's request and
// publishes in every desk of its families, whichever page the desk worker
// publishes from (the crisis page or the round page).
func (s *Service) SetPublisher(fn func(ctx context.Context, id ID, actor string) (handled bool, n int, err error)) {
	s.publisher = fn
}

// PublishDesks publishes the copies of a round in the given desks (a crisis
// re-placement names the desks of its families itself); it skips a desk
// without a copy or whose copy is published.
func (s *Service) PublishDesks(ctx context.Context, id ID, desks []tenancy.ID, actor string) (int, error) {
	n := 0
	for _, d := range desks {
		m, err := s.publishDesk(tenancy.WithTenant(ctx, d), id, actor)
		if errors.Is(err, ErrNotFound) || errors.Is(err, ErrPublished) {
			continue
		}
		if err != nil {
			return n, err
		}
		n += m
	}
	return n, nil
}

// Held is what open proposals and unanswered offers of the desk in ctx hold,
// per programme ("location|month|band"): a crisis re-placement leaves those
// seats alone.
func (s *Service) Held(ctx context.Context) (map[string]int, error) {
	var held map[string]int
	err := s.tenants.Tx(ctx, func(ctx context.Context, tx *tenancy.Tx) error {
		var err error
		held, _, _, err = s.holds(ctx, tx)
		return err
	})
	return held, err
}

// ProgrammeID names a group of places in an instance: a location, a start
// month and an age band.
func ProgrammeID(loc uuid.UUID, month, band string) string { return programmeID(loc, month, band) }

// publishDesk publishes the copy of the round of the desk in ctx: the places
// of its own children.
func (s *Service) publishDesk(ctx context.Context, id ID, actor string) (int, error) {
	now := s.clock.Now()
	n := 0
	err := s.tenants.Tx(ctx, func(ctx context.Context, tx *tenancy.Tx) error {
		var r Round
		q := tx.Select(&r).Where("id = ?", id)
		if tx.Dialect() == db.Postgres {
			q = q.For("UPDATE") // one publisher at a time
		}
		if err := q.Scan(ctx); errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		} else if err != nil {
			return fmt.Errorf("rounds: publish: %w", err)
		}
		if r.Status != StatusDryRun {
			return ErrPublished
		}
		var res allocation.Result
		if err := json.Unmarshal([]byte(r.Result), &res); err != nil {
			return fmt.Errorf("rounds: stored result: %w", err)
		}
		var offers []Offer
		for _, a := range res.Assignments {
			if a.ProgrammeID == "" {
				continue
			}
			reqID, _ := uuid.Parse(a.ChildID)
			loc := locationOf(a.ProgrammeID)
			var p requests.Preference
			err := tx.Select(&p).Where("request_id = ? AND location_id = ?", reqID, loc).
				Where("state IN (?)", bun.In([]requests.PreferenceState{requests.PreferencePending, requests.PreferenceWaitingList})).
				Where("EXISTS (SELECT 1 FROM requests AS r WHERE r.tenant_id = preference.tenant_id AND r.id = preference.request_id AND r.status IN (?))",
					bun.In([]requests.Status{requests.StatusSubmitted, requests.StatusActive})).
				Limit(1).Scan(ctx)
			if errors.Is(err, sql.ErrNoRows) {
				continue
			}
			if err != nil {
				return fmt.Errorf("rounds: publish: %w", err)
			}
			offers = append(offers, Offer{RoundID: id, RequestID: requests.RequestID{UUID: reqID}, Rank: p.Rank,
				LocationID: loc, StartMonth: strings.Split(a.ProgrammeID, "|")[1], AgeBand: strings.Split(a.ProgrammeID, "|")[2],
				State: OfferProposed})
		}
		for chunk := range slices.Chunk(offers, 1000) {
			if err := tx.Insert(ctx, &chunk); err != nil {
				return fmt.Errorf("rounds: store offers: %w", err)
			}
		}
		n = len(offers)
		r.Status, r.PublishedAt = StatusPublished, &now
		uq, err := tx.Update(&r)
		if err != nil {
			return err
		}
		if _, err := uq.Column("status", "published_at").WherePK().Exec(ctx); err != nil {
			return fmt.Errorf("rounds: publish: %w", err)
		}
		return eventlog.Append(ctx, tx, &eventlog.Event{OccurredAt: now, Actor: actor, SubjectType: "round", SubjectID: id.UUID,
			Kind: "round.published", FromState: StatusDryRun, ToState: StatusPublished, Data: mustJSON(map[string]int{"offers": n})})
	})
	return n, err
}

func mustJSON(v any) json.RawMessage {
	b, _ := json.Marshal(v)
	return b
}

// ExplainFor is the explanation of the latest published round for a request
// of the desk in ctx, in the language lang ("" when no round included it).
func (s *Service) ExplainFor(ctx context.Context, request requests.RequestID, lang string) (string, error) {
	var o []ChildOutcome
	err := s.tenants.Tx(ctx, func(ctx context.Context, tx *tenancy.Tx) error {
		return tx.Select(&o).Where("request_id = ?", request).
			Where("round_id IN (SELECT r.id FROM rounds AS r WHERE r.tenant_id = ? AND r.status = ?)", tx.Tenant(), StatusPublished).
			Join("JOIN rounds AS rd ON rd.tenant_id = child_outcome.tenant_id AND rd.id = child_outcome.round_id").
			OrderExpr("rd.published_at DESC").Limit(1).Scan(ctx)
	})
	if err != nil || len(o) == 0 {
		return "", err
	}
	if o[0].TextNL != "" {
		// A round stored before explanations were rendered when read.
		if lang == "en" {
			return o[0].TextEN, nil
		}
		return o[0].TextNL, nil
	}
	r, err := s.Get(ctx, o[0].RoundID)
	if err != nil {
		return "", err
	}
	texts, err := s.explanations(ctx, r, lang, []requests.RequestID{request})
	if err != nil {
		return "", err
	}
	return texts[request], nil
}

// Explanations renders every child's explanation of a round of the desk in
// ctx in the language lang.
func (s *Service) Explanations(ctx context.Context, r *Round, lang string) (map[requests.RequestID]string, error) {
	return s.explanations(ctx, r, lang, nil)
}

func jsonUnmarshal(s string, v any) error { return json.Unmarshal([]byte(s), v) }

// Proposal is a round's proposed place as a provider sees it: which desk,
// which location and month; the child's details are in the provider inbox.
type Proposal struct {
	DeskSlug, DeskName string
	RoundID            ID
	RequestID          requests.RequestID
	LocationID         uuid.UUID
	LocationName       string
	ChildFirstName     string
	StartMonth         string
}

// Proposals lists the proposed places for the given locations in every desk
// (a round of one desk may place a child at a location of another desk's area).
func (s *Service) Proposals(ctx context.Context, desks []tenant.Tenant, locations []uuid.UUID) ([]Proposal, error) {
	if len(locations) == 0 {
		return nil, nil
	}
	var out []Proposal
	for _, d := range desks {
		type row struct {
			Offer      `bun:",extend"`
			ChildFirst string `bun:"child_first"`
			Location   string `bun:"location_name"`
		}
		var rows []row
		err := s.tenants.Tx(tenancy.WithTenant(ctx, d.ID), func(ctx context.Context, tx *tenancy.Tx) error {
			return tx.Select(&rows).ColumnExpr("offer.*, c.first_name AS child_first, l.name AS location_name").
				Join("JOIN requests AS r ON r.tenant_id = offer.tenant_id AND r.id = offer.request_id").
				Join("JOIN children AS c ON c.tenant_id = r.tenant_id AND c.id = r.child_id").
				Join("JOIN locations AS l ON l.id = offer.location_id").
				Where("offer.state = ?", OfferProposed).Where("offer.location_id IN (?)", bun.In(locations)).
				OrderExpr("offer.start_month, c.first_name").Scan(ctx)
		})
		if err != nil {
			return nil, fmt.Errorf("rounds: proposals of %s: %w", d.Slug, err)
		}
		for _, r := range rows {
			out = append(out, Proposal{DeskSlug: d.Slug, DeskName: d.Name, RoundID: r.RoundID, RequestID: r.RequestID,
				LocationID: r.LocationID, LocationName: r.Location, ChildFirstName: r.ChildFirst, StartMonth: r.StartMonth})
		}
	}
	return out, nil
}

func (s *Service) proposed(ctx context.Context, round ID, req requests.RequestID, locations []uuid.UUID) (*Offer, error) {
	var o Offer
	err := s.tenants.Tx(ctx, func(ctx context.Context, tx *tenancy.Tx) error {
		return tx.Select(&o).Where("round_id = ? AND request_id = ?", round, req).Scan(ctx)
	})
	if errors.Is(err, sql.ErrNoRows) || (err == nil && !slices.Contains(locations, o.LocationID)) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("rounds: offer: %w", err)
	}
	if o.State != OfferProposed {
		return nil, fmt.Errorf("%w: the place was already answered", requests.ErrTransition)
	}
	return &o, nil
}

func (s *Service) settleOffer(ctx context.Context, o *Offer, state, reason, actor string) error {
	now := s.clock.Now()
	o.State, o.Reason, o.AnsweredBy, o.AnsweredAt = state, reason, actor, &now
	return s.tenants.Tx(ctx, func(ctx context.Context, tx *tenancy.Tx) error {
		q, err := tx.Update(o)
		if err != nil {
			return err
		}
		_, err = q.Column("state", "reason", "answered_by", "answered_at").WherePK().Exec(ctx)
		return err
	})
}

// Confirm is the provider's yes to a proposed place: it becomes an offer to
// the parent (start on the desired date, or the first day of the month when
// the desired date lies before it), with the desk's acceptance deadline.
func (s *Service) Confirm(ctx context.Context, round ID, req requests.RequestID, locations []uuid.UUID, actor requests.Actor) error {
	o, err := s.proposed(ctx, round, req, locations)
	if err != nil {
		return err
	}
	r, err := s.requests.Get(ctx, req)
	if err != nil {
		return err
	}
	start, _ := time.Parse("2006-01", o.StartMonth)
	if r.DesiredStart.After(start) {
		start = r.DesiredStart
	}
	days := r.Days()
	if len(days) == 0 {
		days = []string{"mon", "tue", "wed", "thu", "fri"}
	}
	if err := s.requests.Answer(ctx, req, o.Rank, requests.Answer{Kind: requests.AnswerOffer, OfferStart: start, OfferDays: days}, actor); err != nil {
		return err
	}
	return s.settleOffer(ctx, o, OfferConfirmed, "", actor.String())
}

// Refuse is the provider's no (providers keep their admission autonomy): the
// preference gets no place with the reason, and the seat stays free for the
// next round.
func (s *Service) Refuse(ctx context.Context, round ID, req requests.RequestID, locations []uuid.UUID, reason requests.NoPlaceReason, actor requests.Actor) error {
	o, err := s.proposed(ctx, round, req, locations)
	if err != nil {
		return err
	}
	if err := s.requests.Answer(ctx, req, o.Rank, requests.Answer{Kind: requests.AnswerNoPlace, Reason: reason}, actor); err != nil {
		return err
	}
	return s.settleOffer(ctx, o, OfferRefused, string(reason), actor.String())
}

// holds finds what earlier rounds and offers still hold: a seat per open
// proposal and per offer the parent has not answered yet (the seat is taken
// from free places only when the parent accepts), the requests that wait for
// an open proposal, and the places a provider refused to a child.
func (s *Service) holds(ctx context.Context, tx *tenancy.Tx) (held map[string]int, waiting map[uuid.UUID]bool, refused map[string]bool, err error) {
	held, waiting, refused = map[string]int{}, map[uuid.UUID]bool{}, map[string]bool{}
	var offers []Offer
	if err := tx.Select(&offers).Where("state IN (?)", bun.In([]string{OfferProposed, OfferRefused})).Scan(ctx); err != nil {
		return nil, nil, nil, fmt.Errorf("rounds: load proposals: %w", err)
	}
	for _, o := range offers {
		if o.State == OfferRefused {
			refused[o.RequestID.String()+"|"+o.LocationID.String()] = true
			continue
		}
		held[programmeID(o.LocationID, o.StartMonth, o.AgeBand)]++
		waiting[o.RequestID.UUID] = true
	}
	var open []struct {
		LocationID uuid.UUID  `bun:"location_id"`
		OfferStart time.Time  `bun:"offer_start"`
		BirthDate  *time.Time `bun:"birth_date"`
		Expected   *time.Time `bun:"expected_date"`
	}
	if err := tx.Select((*requests.Preference)(nil)).ColumnExpr("preference.location_id, preference.offer_start, c.birth_date, c.expected_date").
		Join("JOIN requests AS r ON r.tenant_id = preference.tenant_id AND r.id = preference.request_id").
		Join("JOIN children AS c ON c.tenant_id = r.tenant_id AND c.id = r.child_id").
		Where("preference.state = ? AND preference.offer_start IS NOT NULL", requests.PreferenceOffered).Scan(ctx, &open); err != nil {
		return nil, nil, nil, fmt.Errorf("rounds: load open offers: %w", err)
	}
	for _, o := range open {
		born := o.BirthDate
		if born == nil {
			born = o.Expected
		}
		if born == nil {
			continue
		}
		band := catalog.BandForAge(catalog.AgeInMonths(*born, o.OfferStart))
		held[programmeID(o.LocationID, o.OfferStart.Format("2006-01"), string(band))]++
	}
	return held, waiting, refused, nil
}

// FillFreed runs and publishes a small round for the desk in ctx over the
// next twelve start months, for places freed since the last round (refused
// proposals, lapsed or declined offers, new free places). The scheduler runs
// it nightly for every desk in central mode. It publishes nothing when nobody
// can be placed.
func (s *Service) FillFreed(ctx context.Context) (*Round, error) {
	now := s.clock.Now()
	r, err := s.DryRun(ctx, now.Format("2006-01"), now.AddDate(0, 11, 0).Format("2006-01"), "", "system:fill")
	if err != nil || r.Placed == 0 {
		return nil, err
	}
	if _, err := s.Publish(ctx, r.ID, "system:fill"); err != nil {
		return nil, err
	}
	return r, nil
}
