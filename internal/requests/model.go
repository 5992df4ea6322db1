// Package requests owns childcare requests (opvangvragen): families, children,
// requests and their ranked preferences. This is the skeleton the request
// lifecycle builds on; every table here is tenant-owned and reached only
// through the tenant-scoped store.
package requests

import (
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/loket-kinderopvang/loket/internal/platform/ids"
	"github.com/loket-kinderopvang/loket/internal/platform/tenancy"
)

type (
	familyKind  struct{}
	childKind   struct{}
	requestKind struct{}
)

// Typed identifiers.
type (
	FamilyID  = ids.ID[familyKind]
	ChildID   = ids.ID[childKind]
	RequestID = ids.ID[requestKind]
)

// Status is where a request stands.
type Status string

// Request statuses.
const (
	StatusSubmitted  Status = "submitted"
	StatusActive     Status = "active"
	StatusOffered    Status = "offered"
	StatusPlaced     Status = "placed"
	StatusWithdrawn  Status = "withdrawn"
	StatusUnanswered Status = "unanswered"
	StatusClosed     Status = "closed"
)

// Channel is how a request reached the desk.
type Channel string

// Channels.
const (
	ChannelOnline    Channel = "online"
	ChannelCounter   Channel = "counter"
	ChannelPhone     Channel = "phone"
	ChannelPartner   Channel = "partner"
	ChannelForwarded Channel = "forwarded"
)

// PreferenceState is a provider's answer to one preference.
type PreferenceState string

// Preference states.
const (
	PreferencePending PreferenceState = "pending"
)

// Family is the household asking for care.
type Family struct {
	bun.BaseModel `bun:"table:families"`
	tenancy.Owned

	ID              FamilyID  `bun:"id,pk,type:uuid"`
	DisplayName     string    `bun:"display_name,notnull"`
	Email           string    `bun:"email,notnull"`
	Phone           string    `bun:"phone,notnull"`
	Language        string    `bun:"language,notnull"`
	MunicipalityNIS string    `bun:"municipality_nis,nullzero"`
	Neighbourhood   string    `bun:"neighbourhood,notnull"`
	Vulnerable      bool      `bun:"vulnerable,notnull"`
	CreatedAt       time.Time `bun:"created_at,notnull"`
	UpdatedAt       time.Time `bun:"updated_at,notnull"`
}

// Child is the child care is asked for.
type Child struct {
	bun.BaseModel `bun:"table:children"`
	tenancy.Owned

	ID                 ChildID    `bun:"id,pk,type:uuid"`
	FamilyID           FamilyID   `bun:"family_id,notnull,type:uuid"`
	FirstName          string     `bun:"first_name,notnull"`
	LastName           string     `bun:"last_name,notnull"`
	BirthDate          *time.Time `bun:"birth_date,type:date"`
	ExpectedDate       *time.Time `bun:"expected_date,type:date"`
	NationalNumberHash string     `bun:"national_number_hash,nullzero"`
	CreatedAt          time.Time  `bun:"created_at,notnull"`
}

// Request is one childcare request with its preferences.
type Request struct {
	bun.BaseModel `bun:"table:requests"`
	tenancy.Owned

	ID           RequestID  `bun:"id,pk,type:uuid"`
	ChildID      ChildID    `bun:"child_id,notnull,type:uuid"`
	Status       Status     `bun:"status,notnull"`
	Channel      Channel    `bun:"channel,notnull"`
	DesiredStart time.Time  `bun:"desired_start,notnull,type:date"`
	SubmittedAt  *time.Time `bun:"submitted_at"`
	CreatedAt    time.Time  `bun:"created_at,notnull"`
	UpdatedAt    time.Time  `bun:"updated_at,notnull"`

	Preferences []Preference `bun:"-"`
}

// Preference is one ranked location of a request.
type Preference struct {
	bun.BaseModel `bun:"table:preferences"`
	tenancy.Owned

	RequestID  RequestID       `bun:"request_id,pk,type:uuid"`
	Rank       int             `bun:"rank,pk"`
	LocationID uuid.UUID       `bun:"location_id,notnull,type:uuid"`
	State      PreferenceState `bun:"state,notnull"`
	UpdatedAt  time.Time       `bun:"updated_at,notnull"`
}
