// Package crisis is the desk as contact point when a childcare location
// closes suddenly (a fire, an inspection): declare the closure, find every
// affected family across desks, add families the provider knows from outside
// Loket as urgent requests, let nearby providers open emergency places, and
// re-place the children with the allocation engine (a crisis tier on top of
// the usual rules) as a round the desk reviews and publishes; providers then
// confirm or refuse and parents accept as in any round (package rounds). A
// board and a report follow the outcome.
package crisis

import (
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/loket-kinderopvang/loket/internal/platform/ids"
	"github.com/loket-kinderopvang/loket/internal/platform/tenancy"
	"github.com/loket-kinderopvang/loket/internal/requests"
)

type closureKind struct{}

// ID identifies a closure.
type ID = ids.ID[closureKind]

// ParseID reads a closure id.
func ParseID(s string) (ID, error) { return ids.Parse[closureKind](s) }

// Closure is a location that closes: platform data like the location, since
// families of several desks may go there.
type Closure struct {
	bun.BaseModel `bun:"table:closures"`

	ID         ID         `bun:"id,pk,type:uuid" json:"id"`
	LocationID uuid.UUID  `bun:"location_id,notnull,type:uuid" json:"location_id"`
	RegionNIS  string     `bun:"region_nis,notnull" json:"region_nis"`
	FromDate   time.Time  `bun:"from_date,notnull,type:date" json:"from"`
	UntilDate  *time.Time `bun:"until_date,type:date" json:"until,omitempty"`
	Reason     string     `bun:"reason,notnull" json:"reason"`
	Public     bool       `bun:"public,notnull" json:"public"`
	RadiusKm   int        `bun:"radius_km,notnull" json:"radius_km"`
	RoundID    *uuid.UUID `bun:"round_id,type:uuid" json:"-"`
	DeclaredBy string     `bun:"declared_by,notnull" json:"-"`
	DeclaredAt time.Time  `bun:"declared_at,notnull" json:"declared_at"`
	EndedBy    string     `bun:"ended_by,notnull" json:"-"`
	EndedAt    *time.Time `bun:"ended_at" json:"ended_at,omitempty"`

	LocationName string `bun:"location_name,scanonly" json:"location_name"`
}

// InForce reports whether the closure has not been ended.
func (c Closure) InForce() bool { return c.EndedAt == nil }

// Emergency is a temporary group of places a nearby provider opens for the
// crisis, above its usual free places, until a date.
type Emergency struct {
	bun.BaseModel `bun:"table:emergency_places"`

	ClosureID   ID        `bun:"closure_id,pk,type:uuid"`
	LocationID  uuid.UUID `bun:"location_id,pk,type:uuid"`
	StartMonth  string    `bun:"start_month,pk"`
	AgeBand     string    `bun:"age_band,pk"`
	Places      int       `bun:"places,notnull"`
	UntilDate   time.Time `bun:"until_date,notnull,type:date"`
	AnnouncedBy string    `bun:"announced_by,notnull"`
	AnnouncedAt time.Time `bun:"announced_at,notnull"`
}

// Causes: why a family is affected.
const (
	CausePlacement  = "placement"  // the child goes there
	CauseOffer      = "offer"      // an open offer there was withdrawn
	CausePreference = "preference" // a pending choice there ended
	CauseOutside    = "outside"    // the provider's family from outside Loket
)

// Family is an affected request of one desk: desk data.
type Family struct {
	bun.BaseModel `bun:"table:closure_families"`
	tenancy.Owned

	ClosureID   ID                 `bun:"closure_id,pk,type:uuid"`
	RequestID   requests.RequestID `bun:"request_id,pk,type:uuid"`
	Cause       string             `bun:"cause,notnull"`
	FromRequest *uuid.UUID         `bun:"from_request,type:uuid"`
	AddedAt     time.Time          `bun:"added_at,notnull"`
}
