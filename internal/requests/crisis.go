package requests

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/loket-kinderopvang/loket/internal/eventlog"
	"github.com/loket-kinderopvang/loket/internal/platform/ids"
	"github.com/loket-kinderopvang/loket/internal/platform/sealed"
	"github.com/loket-kinderopvang/loket/internal/platform/tenancy"
)

// NoPlaceClosed is the answer a preference gets when its location closes (a
// crisis closure, package crisis). Providers do not choose it themselves, so
// it is not in NoPlaceReasons.
const NoPlaceClosed NoPlaceReason = "location_closed"

// CloseAtLocation ends every open preference of a request at a location that
// closes, an open offer included ("withdrawn"): it gets no place with reason
// NoPlaceClosed, and the request goes back to active when that was its only
// offer. It reports whether anything changed.
func (s *Service) CloseAtLocation(ctx context.Context, id RequestID, location uuid.UUID, actor Actor) (bool, error) {
	changed := false
	err := s.change(ctx, id, actor, func(ctx context.Context, tx *tenancy.Tx, r *Request, now time.Time) (*eventlog.Event, error) {
		var ranks []int
		for i := range r.Preferences {
			p := &r.Preferences[i]
			if p.LocationID != location || !CanMovePreference(p.State, PreferenceNoPlace) {
				continue
			}
			p.State, p.NoPlaceReason, p.AnsweredAt, p.AnsweredBy = PreferenceNoPlace, NoPlaceClosed, &now, actor.String()
			if err := s.updatePreference(ctx, tx, p, "state", "no_place_reason", "answered_at", "answered_by"); err != nil {
				return nil, err
			}
			ranks = append(ranks, p.Rank)
		}
		if len(ranks) == 0 {
			return nil, nil
		}
		changed = true
		if err := s.settle(ctx, tx, r, now); err != nil {
			return nil, err
		}
		return &eventlog.Event{Kind: "preference.location_closed", Reason: sealed.Text(NoPlaceClosed),
			Data: eventData(map[string]any{"ranks": ranks, "location_id": location.String()})}, nil
	})
	return changed, err
}

// Replace opens a new, urgent request for the child of a placed request whose
// location closes: same family and care plan, starting at start, active at
// once (the desk knows the family), without preferences yet (the crisis
// re-placement proposes them). A placement is final, so the need is a new
// request, as everywhere else in the lifecycle.
func (s *Service) Replace(ctx context.Context, placed RequestID, start time.Time, actor Actor) (*Request, error) {
	now := s.opts.Clock.Now()
	var out *Request
	err := s.tenants.Tx(ctx, func(ctx context.Context, tx *tenancy.Tx) error {
		old, err := s.store.load(ctx, tx, placed, false)
		if err != nil {
			return err
		}
		if old.Status != StatusPlaced {
			return fmt.Errorf("%w: only a placed request is replaced (this one is %s)", ErrTransition, old.Status)
		}
		r := *old
		r.ID, r.Status, r.Channel, r.Urgent = ids.New[requestKind](), StatusActive, ChannelCounter, true
		r.DesiredStart, r.IdempotencyKey, r.IdempotencyPrint, r.ShortCode = start, nil, nil, ""
		r.SubmittedAt, r.StatusChangedAt, r.FirstAnswerAt, r.PlacedAt, r.PlacedLocationID = &now, &now, nil, nil, nil
		r.DuplicateState, r.DuplicateOf, r.StatusLinkVersion, r.CreatedAt, r.UpdatedAt = DuplicateNone, nil, 1, now, now
		r.Preferences = nil
		r.Owned = tenancy.Owned{}
		claims := make([]RequestClaim, len(old.Claims))
		for i, c := range old.Claims {
			claims[i] = RequestClaim{RequestID: r.ID, Claim: c}
		}
		ev := &eventlog.Event{OccurredAt: now, Actor: actor.String(), SubjectType: "request", SubjectID: r.ID.UUID,
			Kind: "request.submitted", ToState: string(StatusActive), Reason: sealed.Text(NoPlaceClosed),
			Data: eventData(map[string]any{"replaces": placed.String()})}
		if err := eventlog.Ready([]*eventlog.Event{ev}); err != nil {
			return err
		}
		reqs, events := []*Request{&r}, []*eventlog.Event{ev}
		if err := tx.InsertAll(ctx, &reqs, &claims, &events); err != nil {
			return fmt.Errorf("requests: replace: %w", err)
		}
		out = &r
		return nil
	})
	return out, err
}

// AddPreference adds a location at the end of a request's list, pending, on
// the desk's behalf (a crisis re-placement proposes places the parent did not
// list). It returns the new rank, or the rank the location already has.
func (s *Service) AddPreference(ctx context.Context, id RequestID, location uuid.UUID, actor Actor) (int, error) {
	desk, err := s.desk(ctx)
	if err != nil {
		return 0, err
	}
	rank := 0
	err = s.change(ctx, id, actor, func(ctx context.Context, tx *tenancy.Tx, r *Request, now time.Time) (*eventlog.Event, error) {
		for _, p := range r.Preferences {
			if p.LocationID == location && p.State.Open() {
				rank = p.Rank
				return nil, nil
			}
			rank = max(rank, p.Rank)
		}
		rank++
		due := now.AddDate(0, 0, desk.ProviderResponseDays)
		p := Preference{RequestID: id, Rank: rank, LocationID: location, State: PreferencePending, AnswerDue: &due, UpdatedAt: now}
		if err := tx.Insert(ctx, &p); err != nil {
			return nil, fmt.Errorf("requests: add preference: %w", err)
		}
		return &eventlog.Event{Kind: "preference.added", ToState: string(PreferencePending),
			Data: eventData(map[string]any{"rank": rank, "location_id": location.String()})}, nil
	})
	return rank, err
}
