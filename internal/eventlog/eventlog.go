// Package eventlog is the append-only record of every state change in a desk:
// who, when, what, from which state to which, and why. Reports and the audit
// trail read it. On PostgreSQL the application role may only insert and read.
package eventlog

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/loket-kinderopvang/loket/internal/platform/db"
	"github.com/loket-kinderopvang/loket/internal/platform/ids"
	"github.com/loket-kinderopvang/loket/internal/platform/sealed"
	"github.com/loket-kinderopvang/loket/internal/platform/tenancy"
)

type eventKind struct{}

// ID identifies an event.
type ID = ids.ID[eventKind]

// Event is one state change.
type Event struct {
	bun.BaseModel `bun:"table:events"`
	tenancy.Owned

	ID          ID        `bun:"id,pk,type:uuid"`
	OccurredAt  time.Time `bun:"occurred_at,notnull"`
	Actor       string    `bun:"actor,notnull"`
	SubjectType string    `bun:"subject_type,notnull"`
	SubjectID   uuid.UUID `bun:"subject_id,notnull,type:uuid"`
	Kind        string    `bun:"kind,notnull"`
	FromState   string    `bun:"from_state,notnull"`
	ToState     string    `bun:"to_state,notnull"`
	// Reason is free text staff type (why a request was closed, why the
	// desk keeps data): sealed at rest like notes (#18).
	Reason sealed.Text     `bun:"reason,notnull"`
	Data   json.RawMessage `bun:"data,type:jsonb,nullzero"`
}

// Append writes e in the desk's transaction, so the change and its event
// commit together or not at all.
func Append(ctx context.Context, tx *tenancy.Tx, e *Event) error {
	return AppendAll(ctx, tx, []*Event{e})
}

// AppendAll writes several events with one statement in the desk's transaction.
func AppendAll(ctx context.Context, tx *tenancy.Tx, es []*Event) error {
	if len(es) == 0 {
		return nil
	}
	if err := Ready(es); err != nil {
		return err
	}
	if err := tx.Insert(ctx, &es); err != nil {
		return fmt.Errorf("eventlog: append %s: %w", es[0].Kind, err)
	}
	return nil
}

// Ready gives events their ids and checks them, for a caller that inserts
// them together with other rows (tenancy.Tx.InsertAll).
func Ready(es []*Event) error {
	for _, e := range es {
		if e.ID.IsZero() {
			e.ID = ids.New[eventKind]()
		}
		if e.Actor == "" || e.Kind == "" || e.SubjectType == "" {
			return fmt.Errorf("eventlog: event needs actor, kind and subject type (got %q, %q, %q)", e.Actor, e.Kind, e.SubjectType)
		}
	}
	return nil
}

// ForSubject returns the events of one subject, oldest first.
func ForSubject(ctx context.Context, tx *tenancy.Tx, subjectType string, id uuid.UUID) ([]Event, error) {
	var es []Event
	err := tx.Select(&es).Where("subject_type = ?", subjectType).Where("subject_id = ?", id).
		Order("occurred_at", "id").Scan(ctx)
	if err != nil {
		return nil, fmt.Errorf("eventlog: read %s %s: %w", subjectType, id, err)
	}
	return es, nil
}

// CrossTenantLog writes every access that crosses a desk border (through a
// sharing agreement or a region) to the event log of the desk whose data was
// reached, so that desk can see who looked, when and under which agreement.
type CrossTenantLog struct {
	Tenants *tenancy.Store
	// Desk finds a desk's id from its slug.
	Desk func(slug string) (tenancy.ID, bool)
	Now  func() time.Time
}

// LogCrossTenant implements authz.CrossTenantLogger.
func (l CrossTenantLog) LogCrossTenant(ctx context.Context, user, fromDomain, toDomain, action, agreement string) error {
	slug, ok := strings.CutPrefix(toDomain, "tenant:")
	if !ok {
		return fmt.Errorf("eventlog: cross-tenant access to %q is not a desk", toDomain)
	}
	desk, ok := l.Desk(slug)
	if !ok {
		return fmt.Errorf("eventlog: cross-tenant access to unknown desk %q", slug)
	}
	data, err := json.Marshal(map[string]string{"from": fromDomain, "action": action, "agreement": agreement})
	if err != nil {
		return err
	}
	// OnPrimary: the log is written while serving a report, which reads
	// from the standby.
	return l.Tenants.Tx(tenancy.WithTenant(db.OnPrimary(ctx), desk), func(ctx context.Context, tx *tenancy.Tx) error {
		return Append(ctx, tx, &Event{
			OccurredAt: l.Now(), Actor: user, SubjectType: "access", SubjectID: uuid.Nil,
			Kind: "access.cross_tenant", Reason: sealed.Text(agreement), Data: data,
		})
	})
}
