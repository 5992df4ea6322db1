package requests

import (
	"errors"
	"fmt"
	"slices"
)

// ErrTransition means a change the lifecycle does not allow.
var ErrTransition = errors.New("requests: this change is not possible in the current state")

// requestMoves is the request lifecycle: from → allowed next statuses. Placed,
// withdrawn, unanswered and closed are final: a new need is a new request.
var requestMoves = map[Status][]Status{
	StatusSubmitted: {StatusActive, StatusOffered, StatusWithdrawn, StatusUnanswered, StatusClosed},
	StatusActive:    {StatusOffered, StatusWithdrawn, StatusUnanswered, StatusClosed},
	StatusOffered:   {StatusPlaced, StatusActive, StatusWithdrawn, StatusUnanswered, StatusClosed},
}

// preferenceMoves is the lifecycle of one preference. A provider answers a
// pending (or forwarded, or waiting-list) preference; the parent answers an
// offer; everything still open closes when the request ends.
var preferenceMoves = map[PreferenceState][]PreferenceState{
	PreferencePending:     {PreferenceOffered, PreferenceWaitingList, PreferenceNoPlace, PreferenceForwarded, PreferenceClosed},
	PreferenceForwarded:   {PreferenceOffered, PreferenceWaitingList, PreferenceNoPlace, PreferenceClosed},
	PreferenceWaitingList: {PreferenceOffered, PreferenceNoPlace, PreferenceClosed},
	PreferenceOffered:     {PreferenceAccepted, PreferenceDeclined, PreferenceLapsed, PreferenceNoPlace, PreferenceClosed},
}

// CanMoveRequest reports whether a request may go from one status to another.
func CanMoveRequest(from, to Status) bool { return contains(requestMoves[from], to) }

// CanMovePreference reports whether a preference may go from one state to another.
func CanMovePreference(from, to PreferenceState) bool { return contains(preferenceMoves[from], to) }

// Open reports whether a preference can still lead to a place.
func (p PreferenceState) Open() bool { return len(preferenceMoves[p]) > 0 }

func contains[T comparable](xs []T, x T) bool { return slices.Contains(xs, x) }
func checkRequestMove(from, to Status) error {
	if !CanMoveRequest(from, to) {
		return fmt.Errorf("%w: request %s → %s", ErrTransition, from, to)
	}
	return nil
}

func checkPreferenceMove(from, to PreferenceState) error {
	if !CanMovePreference(from, to) {
		return fmt.Errorf("%w: preference %s → %s", ErrTransition, from, to)
	}
	return nil
}
