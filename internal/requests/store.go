package requests

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/loket-kinderopvang/loket/internal/eventlog"
	"github.com/loket-kinderopvang/loket/internal/platform/clock"
	"github.com/loket-kinderopvang/loket/internal/platform/db"
	"github.com/loket-kinderopvang/loket/internal/platform/ids"
	"github.com/loket-kinderopvang/loket/internal/platform/sealed"
	"github.com/loket-kinderopvang/loket/internal/platform/tenancy"
)

// Store reads and writes one desk's requests. The desk comes from the context.
type Store struct {
	tenants *tenancy.Store
	clock   clock.Clock
	events  EventSink
}

// NewStore returns a request store whose sealed text (notes, care needs) is
// sealed with kr: kr becomes the process keyring of sealed.Text (see package
// sealed for why it is one per process).
func NewStore(ts *tenancy.Store, c clock.Clock, kr *sealed.Keyring) (*Store, error) {
	if err := sealed.Use(kr); err != nil {
		return nil, fmt.Errorf("requests: data keys (notes and care needs are stored encrypted): %w", err)
	}
	return &Store{tenants: ts, clock: c}, nil
}

// NewRequest is what registering a request needs (the lifecycle issue widens it).
type NewRequest struct {
	Family       Family
	Child        Child
	Channel      Channel
	DesiredStart time.Time
	Locations    []uuid.UUID // ranked, best first
	Parents      []Parent
	Claims       []Claim
	Actor        string
}

// ErrNotFound means the desk has no such request.
var ErrNotFound = errors.New("requests: not found")

// Register stores a family, child, request and its preferences, and the
// submission event, in one transaction of the desk in ctx. It checks nothing:
// Service.Submit is the way in for people; Register serves tests and seeding.
func (s *Store) Register(ctx context.Context, in NewRequest) (*Request, error) {
	if len(in.Locations) == 0 {
		return nil, errors.New("requests: at least one preference is needed")
	}
	now := s.clock.Now()
	fam, child := in.Family, in.Child
	req := &Request{Status: StatusSubmitted, Channel: in.Channel, DesiredStart: in.DesiredStart, DayPart: DayWhole,
		Reason: ReasonOther, StatusLinkVersion: 1, MunicipalityNIS: fam.MunicipalityNIS, Neighbourhood: fam.Neighbourhood}
	rows := fill(now, &fam, &child, req, in.Parents, in.Claims, in.Locations, now)
	rows.event.Actor = in.Actor
	err := s.tenants.Tx(ctx, func(ctx context.Context, tx *tenancy.Tx) error {
		return s.insert(ctx, tx, []*newRequest{rows})
	})
	if err != nil {
		return nil, err
	}
	return req, nil
}

// newRequest is one registration's rows, made complete in memory before
// anything is written, so that many registrations can share one statement
// per table (see batch.go).
type newRequest struct {
	fam     *Family
	child   *Child
	req     *Request
	parents []Parent
	claims  []RequestClaim
	note    *Note
	event   eventlog.Event
}

// fill gives a new family, its parents, the child, the request, its
// preferences (answer due at due) and claims their ids and times, and the
// submission event (the caller sets its actor and data).
func fill(now time.Time, fam *Family, child *Child, req *Request, parents []Parent, claims []Claim,
	locations []uuid.UUID, due time.Time) *newRequest {
	fam.ID, fam.CreatedAt, fam.UpdatedAt = ids.New[familyKind](), now, now
	if fam.Language == "" {
		fam.Language = "nl"
	}
	child.ID, child.FamilyID, child.CreatedAt = ids.New[childKind](), fam.ID, now
	req.ID, req.ChildID, req.SubmittedAt, req.StatusChangedAt = ids.New[requestKind](), child.ID, &now, &now
	req.CreatedAt, req.UpdatedAt = now, now
	req.Preferences = req.Preferences[:0]
	for i, loc := range locations {
		req.Preferences = append(req.Preferences, Preference{RequestID: req.ID, Rank: i + 1, LocationID: loc,
			State: PreferencePending, AnswerDue: &due, UpdatedAt: now})
	}
	parents = slices.Clone(parents)
	for i := range parents {
		parents[i].FamilyID, parents[i].Position = fam.ID, i+1
	}
	req.Claims = claims
	rows := make([]RequestClaim, len(claims))
	for i, c := range claims {
		rows[i] = RequestClaim{RequestID: req.ID, Claim: c}
	}
	return &newRequest{fam: fam, child: child, req: req, parents: parents, claims: rows,
		event: eventlog.Event{OccurredAt: now, SubjectType: "request", SubjectID: req.ID.UUID,
			Kind: "request.submitted", ToState: string(StatusSubmitted)}}
}

// insert writes registrations, and the desk's rows in also (pointers to
// slices), inside tx with one statement, whatever their number.
func (s *Store) insert(ctx context.Context, tx *tenancy.Tx, regs []*newRequest, also ...any) error {
	var (
		fams     = make([]*Family, 0, len(regs))
		children = make([]*Child, 0, len(regs))
		reqs     = make([]*Request, 0, len(regs))
		events   = make([]*eventlog.Event, 0, len(regs))
		prefs    []Preference
		parents  []Parent
		claims   []RequestClaim
		notes    []*Note
	)
	for _, r := range regs {
		fams, children, reqs = append(fams, r.fam), append(children, r.child), append(reqs, r.req)
		prefs, parents, claims = append(prefs, r.req.Preferences...), append(parents, r.parents...), append(claims, r.claims...)
		if r.note != nil {
			notes = append(notes, r.note)
		}
		events = append(events, &r.event)
	}
	if err := eventlog.Ready(events); err != nil {
		return err
	}
	sets := append([]any{&fams, &children, &reqs, &prefs, &parents, &claims, &notes, &events}, also...)
	if err := tx.InsertAll(ctx, sets...); err != nil {
		return fmt.Errorf("requests: insert registrations: %w", err)
	}
	evs := make([]RequestEvent, len(regs))
	for i, r := range regs {
		evs[i] = requestEvent(r.req, &r.event)
	}
	return tell(ctx, s.events, tx, evs)
}

// load reads a request with its preferences and claims inside tx; lock takes
// a row lock on PostgreSQL so concurrent changes to one request queue up.
func (s *Store) load(ctx context.Context, tx *tenancy.Tx, id RequestID, lock bool) (*Request, error) {
	var req Request
	q := tx.Select(&req).Where("id = ?", id)
	if lock && tx.Dialect() == db.Postgres {
		q = q.For("UPDATE")
	}
	err := q.Scan(ctx)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("requests: load: %w", err)
	}
	if err := tx.Select(&req.Preferences).Where("request_id = ?", id).Order("rank").Scan(ctx); err != nil {
		return nil, fmt.Errorf("requests: load preferences: %w", err)
	}
	var claims []RequestClaim
	if err := tx.Select(&claims).Where("request_id = ?", id).Scan(ctx); err != nil {
		return nil, fmt.Errorf("requests: load claims: %w", err)
	}
	for _, c := range claims {
		req.Claims = append(req.Claims, c.Claim)
	}
	return &req, nil
}

// Get returns one request of the desk in ctx with its preferences.
func (s *Store) Get(ctx context.Context, id RequestID) (*Request, error) {
	var req Request
	err := s.tenants.Tx(ctx, func(ctx context.Context, tx *tenancy.Tx) error {
		err := tx.Select(&req).Where("id = ?", id).Scan(ctx)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return fmt.Errorf("requests: get: %w", err)
		}
		return tx.Select(&req.Preferences).Where("request_id = ?", id).Order("rank").Scan(ctx)
	})
	if err != nil {
		return nil, err
	}
	return &req, nil
}

// List returns the desk's requests, newest first.
func (s *Store) List(ctx context.Context, limit int) ([]Request, error) {
	var rs []Request
	err := s.tenants.Tx(ctx, func(ctx context.Context, tx *tenancy.Tx) error {
		return tx.Select(&rs).OrderExpr("created_at DESC").Limit(int64(limit)).Scan(ctx)
	})
	if err != nil {
		return nil, fmt.Errorf("requests: list: %w", err)
	}
	return rs, nil
}

// AddNote adds a desk worker's note to a request of the desk in ctx.
func (s *Store) AddNote(ctx context.Context, id RequestID, author, body string) (*Note, error) {
	n := &Note{ID: ids.New[noteKind](), RequestID: id, Author: author, Body: sealed.Text(body), CreatedAt: s.clock.Now()}
	err := s.tenants.Tx(ctx, func(ctx context.Context, tx *tenancy.Tx) error {
		exists, err := tx.Select((*Request)(nil)).Where("id = ?", id).Exists(ctx)
		if err != nil {
			return fmt.Errorf("requests: add note: %w", err)
		}
		if !exists {
			return ErrNotFound
		}
		return tx.Insert(ctx, n)
	})
	if err != nil {
		return nil, err
	}
	return n, nil
}
