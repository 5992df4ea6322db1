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
	"github.com/loket-kinderopvang/loket/internal/platform/ids"
	"github.com/loket-kinderopvang/loket/internal/platform/tenancy"
)

// Store reads and writes one desk's requests. The desk comes from the context.
type Store struct {
	tenants *tenancy.Store
	clock   clock.Clock
}

// NewStore returns a request store.
func NewStore(ts *tenancy.Store, c clock.Clock) *Store { return &Store{tenants: ts, clock: c} }

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
// submission event, in one transaction of the desk in ctx.
func (s *Store) Register(ctx context.Context, in NewRequest) (*Request, error) {
	if len(in.Locations) == 0 {
		return nil, errors.New("requests: at least one preference is needed")
	}
	now := s.clock.Now()
	var out *Request
	err := s.tenants.Tx(ctx, func(ctx context.Context, tx *tenancy.Tx) error {
		fam := in.Family
		fam.ID, fam.CreatedAt, fam.UpdatedAt = ids.New[familyKind](), now, now
		if fam.Language == "" {
			fam.Language = "nl"
		}
		if err := tx.Insert(ctx, &fam); err != nil {
			return fmt.Errorf("requests: insert family: %w", err)
		}
		child := in.Child
		child.ID, child.FamilyID, child.CreatedAt = ids.New[childKind](), fam.ID, now
		if err := tx.Insert(ctx, &child); err != nil {
			return fmt.Errorf("requests: insert child: %w", err)
		}
		req := &Request{
			ID: ids.New[requestKind](), ChildID: child.ID, Status: StatusSubmitted, Channel: in.Channel,
			DesiredStart: in.DesiredStart, SubmittedAt: &now, CreatedAt: now, UpdatedAt: now,
		}
		if err := tx.Insert(ctx, req); err != nil {
			return fmt.Errorf("requests: insert request: %w", err)
		}
		for i, loc := range in.Locations {
			req.Preferences = append(req.Preferences, Preference{RequestID: req.ID, Rank: i + 1, LocationID: loc, State: PreferencePending, UpdatedAt: now})
		}
		if err := tx.Insert(ctx, &req.Preferences); err != nil {
			return fmt.Errorf("requests: insert preferences: %w", err)
		}
		if len(in.Parents) > 0 {
			parents := slices.Clone(in.Parents)
			for i := range parents {
				parents[i].FamilyID, parents[i].Position = fam.ID, i+1
			}
			if err := tx.Insert(ctx, &parents); err != nil {
				return fmt.Errorf("requests: insert parents: %w", err)
			}
		}
		if len(in.Claims) > 0 {
			claims := make([]RequestClaim, len(in.Claims))
			for i, c := range in.Claims {
				claims[i] = RequestClaim{RequestID: req.ID, Claim: c}
			}
			if err := tx.Insert(ctx, &claims); err != nil {
				return fmt.Errorf("requests: insert claims: %w", err)
			}
		}
		out = req
		return eventlog.Append(ctx, tx, &eventlog.Event{
			OccurredAt: now, Actor: in.Actor, SubjectType: "request", SubjectID: req.ID.UUID,
			Kind: "request.submitted", ToState: string(StatusSubmitted),
		})
	})
	if err != nil {
		return nil, err
	}
	return out, nil
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
	n := &Note{ID: ids.New[noteKind](), RequestID: id, Author: author, Body: body, CreatedAt: s.clock.Now()}
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
