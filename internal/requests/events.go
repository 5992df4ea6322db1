package requests

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/loket-kinderopvang/loket/internal/eventlog"
	"github.com/loket-kinderopvang/loket/internal/platform/tenancy"
)

// RequestEvent is a change of a request as the providers of its locations
// may hear of it: Locations are the locations it concerns (the one of a
// preference for a preference event, every chosen one otherwise).
type RequestEvent struct {
	Kind       string // the event log's kind: request.submitted, preference.accepted …
	RequestID  RequestID
	Locations  []uuid.UUID
	OccurredAt time.Time
}

// EventSink is told of request changes in the transaction of the change,
// so what it writes (webhook deliveries) commits with the change or not at
// all. An error rolls the change back.
type EventSink interface {
	RequestEventsTx(ctx context.Context, tx *tenancy.Tx, evs []RequestEvent) error
}

// tell hands the events of r's change to the sink.
func tell(ctx context.Context, sink EventSink, tx *tenancy.Tx, evs []RequestEvent) error {
	if sink == nil || len(evs) == 0 {
		return nil
	}
	if err := sink.RequestEventsTx(ctx, tx, evs); err != nil {
		return fmt.Errorf("requests: tell %s: %w", evs[0].Kind, err)
	}
	return nil
}

// requestEvent is ev of r: a preference event (its data names the rank, or
// the location for a closure) concerns that location, any other every
// chosen location.
func requestEvent(r *Request, ev *eventlog.Event) RequestEvent {
	out := RequestEvent{Kind: ev.Kind, RequestID: r.ID, OccurredAt: ev.OccurredAt}
	var data struct {
		Rank     int       `json:"rank"`
		Location uuid.UUID `json:"location_id"`
	}
	if len(ev.Data) > 0 && json.Unmarshal(ev.Data, &data) == nil && data.Location != uuid.Nil {
		// A closure: the closing location's provider only.
		return RequestEvent{Kind: ev.Kind, RequestID: r.ID, OccurredAt: ev.OccurredAt, Locations: []uuid.UUID{data.Location}}
	}
	if data.Rank > 0 {
		for _, p := range r.Preferences {
			if p.Rank == data.Rank {
				return RequestEvent{Kind: ev.Kind, RequestID: r.ID, OccurredAt: ev.OccurredAt, Locations: []uuid.UUID{p.LocationID}}
			}
		}
	}
	for _, p := range r.Preferences {
		out.Locations = append(out.Locations, p.LocationID)
	}
	return out
}
