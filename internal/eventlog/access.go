package eventlog

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/loket-kinderopvang/loket/internal/platform/ids"
	"github.com/loket-kinderopvang/loket/internal/platform/tenancy"
)

type accessKind struct{}

// AccessID identifies an access event.
type AccessID = ids.ID[accessKind]

// What a look was, for the desk's "who looked at this family".
const (
	LookCase           = "case"            // the desk's request page (staff, partner, shared list)
	LookReceipt        = "receipt"         // the receipt the desk prints for the family
	LookInbox          = "inbox"           // a provider's inbox page
	LookAnswer         = "answer"          // a provider's answer page of one request
	LookAPIInbox       = "api_inbox"       // a provider's inbox through the API
	LookAPIOffers      = "api_offers"      // a provider's offers and their outcome through the API
	LookAPIPlacements  = "api_placements"  // a provider's placements through the API
	LookAPIWithdrawals = "api_withdrawals" // withdrawals of requests for a provider's locations, through the API
	LookCrisis         = "crisis"          // the families of a crisis closure
	LookCrisisLetter   = "crisis_letter"   // a printed letter of a crisis closure
	LookWorklist       = "worklist"        // a row of the desk's worklist (names, status, deadlines)
	LookRound          = "round"           // a row of an allocation round's page (the child's name and outcome)
)

// Access is one look at a family's data: who, which family and request,
// when, what, and through which sharing agreement. Like the event log it is
// append-only for the application role, in the desk of the family.
type Access struct {
	bun.BaseModel `bun:"table:access_log"`
	tenancy.Owned

	ID         AccessID  `bun:"id,pk,type:uuid"`
	OccurredAt time.Time `bun:"occurred_at,notnull"`
	// Actor is who looked, as the event log names her (desk:<user>,
	// partner:<user>, provider:<user>, provider:apikey:<id>).
	Actor     string     `bun:"actor,notnull"`
	FamilyID  uuid.UUID  `bun:"family_id,notnull,type:uuid"`
	RequestID *uuid.UUID `bun:"request_id,type:uuid"`
	What      string     `bun:"what,notnull"`
	// Agreement is the sharing agreement the look went through, and
	// ViaDesk the desk (slug) of the person who looked through it.
	Agreement string `bun:"agreement,notnull"`
	ViaDesk   string `bun:"via_desk,notnull"`
	// Organisation is who looked as the family knows it: the desk
	// (tenant:<slug>) or the childcare provider (provider:<id>).
	Organisation string `bun:"organisation,notnull"`
}

// LogAccess writes looks in the desk's transaction, with one statement.
func LogAccess(ctx context.Context, tx *tenancy.Tx, as []*Access) error {
	if len(as) == 0 {
		return nil
	}
	for _, a := range as {
		if a.ID.IsZero() {
			a.ID = ids.New[accessKind]()
		}
		if a.Actor == "" || a.What == "" || a.FamilyID == uuid.Nil {
			return fmt.Errorf("eventlog: a look needs actor, what and family (got %q, %q, %s)", a.Actor, a.What, a.FamilyID)
		}
	}
	if err := tx.Insert(ctx, &as); err != nil {
		return fmt.Errorf("eventlog: log %d looks (%s): %w", len(as), as[0].What, err)
	}
	return nil
}

// AccessTo returns the looks at one family, newest first.
func AccessTo(ctx context.Context, tx *tenancy.Tx, family uuid.UUID) ([]Access, error) {
	var as []Access
	if err := tx.Select(&as).Where("family_id = ?", family).OrderExpr("occurred_at DESC, id").Scan(ctx); err != nil {
		return nil, fmt.Errorf("eventlog: looks at family %s: %w", family, err)
	}
	return as, nil
}
