// Package requests owns childcare requests (opvangvragen): families, children,
// requests and their ranked preferences. This is the skeleton the request
// lifecycle builds on; every table here is tenant-owned and reached only
// through the tenant-scoped store.
package requests

import (
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/loket-kinderopvang/loket/internal/platform/ids"
	"github.com/loket-kinderopvang/loket/internal/platform/sealed"
	"github.com/loket-kinderopvang/loket/internal/platform/tenancy"
)

type (
	familyKind  struct{}
	childKind   struct{}
	requestKind struct{}
	noteKind    struct{}
)

// Typed identifiers.
type (
	FamilyID  = ids.ID[familyKind]
	ChildID   = ids.ID[childKind]
	RequestID = ids.ID[requestKind]
	NoteID    = ids.ID[noteKind]
)

// Status is where a request stands.
type Status string

// Request statuses. See lifecycle.go for the allowed transitions.
const (
	StatusSubmitted  Status = "submitted"  // registered, not yet checked by the desk
	StatusActive     Status = "active"     // checked; waiting for answers
	StatusOffered    Status = "offered"    // at least one preference holds an open offer
	StatusPlaced     Status = "placed"     // the parent accepted an offer
	StatusWithdrawn  Status = "withdrawn"  // the parent (or the desk for them) withdrew
	StatusUnanswered Status = "unanswered" // the desired start passed with no place: unmet demand
	StatusClosed     Status = "closed"     // closed by the desk (merged duplicate, moved away, …)
)

// Statuses lists every status in lifecycle order.
var Statuses = []Status{StatusSubmitted, StatusActive, StatusOffered, StatusPlaced, StatusWithdrawn, StatusUnanswered, StatusClosed}

// Open reports whether a request can still lead to a placement.
func (s Status) Open() bool {
	return s == StatusSubmitted || s == StatusActive || s == StatusOffered
}

// Channel is how a request reached the desk.
type Channel string

// Channels.
const (
	ChannelOnline    Channel = "online"
	ChannelCounter   Channel = "counter"
	ChannelPhone     Channel = "phone"
	ChannelPartner   Channel = "partner"
	ChannelForwarded Channel = "forwarded"
	ChannelAPI       Channel = "api"
)

// Channels lists every channel.
var Channels = []Channel{ChannelOnline, ChannelCounter, ChannelPhone, ChannelPartner, ChannelForwarded, ChannelAPI}

// PreferenceState is where one preference stands: the provider's answer and
// then the parent's.
type PreferenceState string

// Preference states. See lifecycle.go for the allowed transitions.
const (
	PreferencePending     PreferenceState = "pending"      // waiting for the provider
	PreferenceOffered     PreferenceState = "offered"      // the provider offers a place
	PreferenceWaitingList PreferenceState = "waiting_list" // on the provider's waiting list
	PreferenceNoPlace     PreferenceState = "no_place"     // no place, with a reason
	PreferenceForwarded   PreferenceState = "forwarded"    // registry mode: provider handed it to the desk
	PreferenceAccepted    PreferenceState = "accepted"     // the parent accepted the offer
	PreferenceDeclined    PreferenceState = "declined"     // the parent declined the offer
	PreferenceLapsed      PreferenceState = "lapsed"       // the offer's deadline passed unanswered
	PreferenceClosed      PreferenceState = "closed"       // closed because the request ended or another offer was accepted
)

// PreferenceStates lists every preference state.
var PreferenceStates = []PreferenceState{PreferencePending, PreferenceOffered, PreferenceWaitingList, PreferenceNoPlace,
	PreferenceForwarded, PreferenceAccepted, PreferenceDeclined, PreferenceLapsed, PreferenceClosed}

// NoPlaceReason is the fixed list of reasons a provider gives for no place.
type NoPlaceReason string

// Reasons for no place.
const (
	NoPlaceFull         NoPlaceReason = "full"          // no free place at the asked start
	NoPlaceAge          NoPlaceReason = "age"           // the child's age does not fit
	NoPlaceDays         NoPlaceReason = "days"          // the asked days or hours are not offered
	NoPlaceCareNeed     NoPlaceReason = "care_need"     // the specific care need cannot be met
	NoPlaceNoContact    NoPlaceReason = "no_contact"    // the family could not be reached
	NoPlaceParentChoice NoPlaceReason = "parent_choice" // the parent no longer wants this location
	NoPlaceTaken        NoPlaceReason = "taken"         // the offered place was taken by another family first
)

// NoPlaceReasons lists the reasons a provider may choose.
var NoPlaceReasons = []NoPlaceReason{NoPlaceFull, NoPlaceAge, NoPlaceDays, NoPlaceCareNeed, NoPlaceNoContact, NoPlaceParentChoice}

// Reason is why a family asks for care.
type Reason string

// Reasons for care.
const (
	ReasonWork      Reason = "work"
	ReasonTraining  Reason = "training"
	ReasonJobSearch Reason = "job_search"
	ReasonOther     Reason = "other"
)

// Reasons lists every reason for care.
var Reasons = []Reason{ReasonWork, ReasonTraining, ReasonJobSearch, ReasonOther}

// Claim is a priority ground a parent declares on their honour. Which claims
// give priority where is allocation policy (configuration), not code.
type Claim string

// Priority claims.
const (
	ClaimWorkOrTraining Claim = "work_or_training"
	ClaimSingleParent   Claim = "single_parent"
	ClaimLowIncome      Claim = "low_income"
	ClaimFosterChild    Claim = "foster_child"
	ClaimSibling        Claim = "sibling"
)

// Claims lists every claim.
var Claims = []Claim{ClaimWorkOrTraining, ClaimSingleParent, ClaimLowIncome, ClaimFosterChild, ClaimSibling}

// Days of the care plan.
var Weekdays = []string{"mon", "tue", "wed", "thu", "fri", "sat", "sun"}

// DayPart is whole or half days.
type DayPart string

// Day parts.
const (
	DayWhole DayPart = "whole"
	DayHalf  DayPart = "half"
)

// Duplicate states of a request.
const (
	DuplicateNone      = ""
	DuplicateSuspected = "suspected" // same national number (hash) as another request
	DuplicateLikely    = "likely"    // same child name, birth date and parent contact
	DuplicateKept      = "kept"      // a worker decided it is a request of its own
	DuplicateMerged    = "merged"    // merged into duplicate_of and closed
)

// Family is the household asking for care.
type Family struct {
	bun.BaseModel `bun:"table:families"`
	tenancy.Owned

	ID              FamilyID `bun:"id,pk,type:uuid" json:"id"`
	DisplayName     string   `bun:"display_name,notnull" json:"display_name"`
	Email           string   `bun:"email,notnull" json:"email"`
	Phone           string   `bun:"phone,notnull" json:"phone"`
	Language        string   `bun:"language,notnull" json:"language"`
	MunicipalityNIS string   `bun:"municipality_nis,nullzero" json:"municipality_nis"`
	Neighbourhood   string   `bun:"neighbourhood,notnull" json:"neighbourhood"`
	Vulnerable      bool     `bun:"vulnerable,notnull" json:"vulnerable"`
	// LegalHold keeps the family past its retention period (package retention).
	LegalHold bool `bun:"legal_hold,notnull" json:"-"`
	// ErasureRequestedAt is when the parent asked for erasure (status
	// page); ErasureReason why the desk keeps the data (a legal obligation).
	ErasureRequestedAt *time.Time  `bun:"erasure_requested_at" json:"-"`
	ErasureReason      sealed.Text `bun:"erasure_reason,notnull" json:"-"` // sealed at rest (#18)
	ReferredBy         string      `bun:"referred_by,notnull" json:"-"`
	CreatedAt          time.Time   `bun:"created_at,notnull" json:"-"`
	UpdatedAt          time.Time   `bun:"updated_at,notnull" json:"-"`

	Parents []Parent `bun:"-" json:"parents"`
}

// Parent is one parent of a family (position 1 is the first contact).
type Parent struct {
	bun.BaseModel `bun:"table:parents"`
	tenancy.Owned

	FamilyID  FamilyID `bun:"family_id,pk,type:uuid" json:"-"`
	Position  int      `bun:"position,pk" json:"-"`
	FirstName string   `bun:"first_name,notnull" json:"first_name"`
	LastName  string   `bun:"last_name,notnull" json:"last_name"`
	Email     string   `bun:"email,notnull" json:"email"`
	Phone     string   `bun:"phone,notnull" json:"phone"`
}

// Child is the child care is asked for.
type Child struct {
	bun.BaseModel `bun:"table:children"`
	tenancy.Owned

	ID                 ChildID    `bun:"id,pk,type:uuid" json:"id"`
	FamilyID           FamilyID   `bun:"family_id,notnull,type:uuid" json:"-"`
	FirstName          string     `bun:"first_name,notnull" json:"first_name"`
	LastName           string     `bun:"last_name,notnull" json:"last_name"`
	BirthDate          *time.Time `bun:"birth_date,type:date" json:"birth_date,omitempty"`
	ExpectedDate       *time.Time `bun:"expected_date,type:date" json:"expected_date,omitempty"`
	NationalNumberHash string     `bun:"national_number_hash,nullzero" json:"-"`
	CreatedAt          time.Time  `bun:"created_at,notnull" json:"-"`
}

// BornOrExpected is the birth date, or the expected date before birth.
func (c Child) BornOrExpected() time.Time {
	if c.BirthDate != nil {
		return *c.BirthDate
	}
	if c.ExpectedDate != nil {
		return *c.ExpectedDate
	}
	return time.Time{}
}

// Request is one childcare request with its preferences.
type Request struct {
	bun.BaseModel `bun:"table:requests"`
	tenancy.Owned

	ID                RequestID   `bun:"id,pk,type:uuid"`
	ChildID           ChildID     `bun:"child_id,notnull,type:uuid"`
	Status            Status      `bun:"status,notnull"`
	Channel           Channel     `bun:"channel,notnull"`
	DesiredStart      time.Time   `bun:"desired_start,notnull,type:date"`
	FlexibilityWeeks  int         `bun:"flexibility_weeks,notnull"`
	CareDays          string      `bun:"care_days,notnull"`
	DayPart           DayPart     `bun:"day_part,notnull"`
	WiderHours        bool        `bun:"wider_hours,notnull"`
	Reason            Reason      `bun:"reason,notnull"`
	SpecificCareNeed  bool        `bun:"specific_care_need,notnull"`
	CareNeedNote      sealed.Text `bun:"care_need_note,notnull"` // sealed at rest (#18)
	Urgent            bool        `bun:"urgent,notnull"`
	PrivacyVersion    string      `bun:"privacy_version,notnull"`
	IdempotencyKey    *string     `bun:"idempotency_key"`
	StatusLinkVersion int         `bun:"status_link_version,notnull"`
	DuplicateState    string      `bun:"duplicate_state,notnull"`
	DuplicateOf       *RequestID  `bun:"duplicate_of,type:uuid"`
	MunicipalityNIS   string      `bun:"municipality_nis,nullzero"`
	Neighbourhood     string      `bun:"neighbourhood,notnull"`
	AgeMonths         int         `bun:"age_months,notnull"`
	SubmittedAt       *time.Time  `bun:"submitted_at"`
	StatusChangedAt   *time.Time  `bun:"status_changed_at"`
	FirstAnswerAt     *time.Time  `bun:"first_answer_at"`
	PlacedAt          *time.Time  `bun:"placed_at"`
	PlacedLocationID  *uuid.UUID  `bun:"placed_location_id,type:uuid"`
	CreatedAt         time.Time   `bun:"created_at,notnull"`
	UpdatedAt         time.Time   `bun:"updated_at,notnull"`

	// IdempotencyPrint is the keyed fingerprint of the body IdempotencyKey
	// came with: only the same body replays the first answer.
	IdempotencyPrint *string `bun:"idempotency_fingerprint"`

	Preferences []Preference `bun:"-"`
	Claims      []Claim      `bun:"-"`

	// ShortCode names the request on the phone ("K7QM-4TXA"); given when
	// the desk prints a receipt (Service.ShortCode), "" before.
	ShortCode string `bun:"short_code,notnull"`
}

// Days returns the care plan's days.
func (r Request) Days() []string {
	if r.CareDays == "" {
		return nil
	}
	return strings.Split(r.CareDays, ",")
}

// Preference is one ranked location of a request.
type Preference struct {
	bun.BaseModel `bun:"table:preferences"`
	tenancy.Owned

	RequestID     RequestID       `bun:"request_id,pk,type:uuid"`
	Rank          int             `bun:"rank,pk"`
	LocationID    uuid.UUID       `bun:"location_id,notnull,type:uuid"`
	State         PreferenceState `bun:"state,notnull"`
	AnswerDue     *time.Time      `bun:"answer_due"`
	AnsweredAt    *time.Time      `bun:"answered_at"`
	AnsweredBy    string          `bun:"answered_by,notnull"`
	NoPlaceReason NoPlaceReason   `bun:"no_place_reason,notnull"`
	OfferStart    *time.Time      `bun:"offer_start,type:date"`
	OfferDays     string          `bun:"offer_days,notnull"`
	OfferDeadline *time.Time      `bun:"offer_deadline"`
	RespondedAt   *time.Time      `bun:"responded_at"`
	UpdatedAt     time.Time       `bun:"updated_at,notnull"`
}

// RequestClaim is one priority claim of a request.
type RequestClaim struct {
	bun.BaseModel `bun:"table:request_claims"`
	tenancy.Owned

	RequestID RequestID `bun:"request_id,pk,type:uuid"`
	Claim     Claim     `bun:"claim,pk"`
}

// Note is a desk worker's note on a request; never shown to providers or parents.
type Note struct {
	bun.BaseModel `bun:"table:request_notes"`
	tenancy.Owned

	ID        NoteID      `bun:"id,pk,type:uuid"`
	RequestID RequestID   `bun:"request_id,notnull,type:uuid"`
	Author    string      `bun:"author,notnull"`
	Body      sealed.Text `bun:"body,notnull"` // sealed at rest (#18)
	CreatedAt time.Time   `bun:"created_at,notnull"`
}
