// Package catalog owns the public catalogue: providers (organisatoren), their
// childcare locations (opvanglocaties) and the free places per location, start
// month and age band. It is platform data, the same for every desk, and the
// busiest read path of Loket: parents search it across municipal borders.
package catalog

import (
	"database/sql/driver"
	"encoding/json"
	"fmt"
	"time"

	"github.com/uptrace/bun"

	"github.com/loket-kinderopvang/loket/internal/geo"
	"github.com/loket-kinderopvang/loket/internal/platform/ids"
)

type (
	providerKind struct{}
	locationKind struct{}
)

// Typed identifiers.
type (
	ProviderID = ids.ID[providerKind]
	LocationID = ids.ID[locationKind]
)

// ParseLocationID reads a location id.
func ParseLocationID(s string) (LocationID, error) { return ids.Parse[locationKind](s) }

// ParseProviderID reads a provider id from text (a path, a form).
func ParseProviderID(s string) (ProviderID, error) { return ids.Parse[providerKind](s) }

// CareType is the kind of childcare.
type CareType string

// Care types. Gezinsopvang is family-based care for at most 8 children;
// groepsopvang is group care for 9 or more.
const (
	Gezinsopvang CareType = "gezinsopvang"
	Groepsopvang CareType = "groepsopvang"
)

// SubsidyTier is a location's subsidy step (trap) from Opgroeien.
type SubsidyTier string

// Subsidy tiers.
const (
	TierT0  SubsidyTier = "T0"
	TierT1  SubsidyTier = "T1"
	TierT2A SubsidyTier = "T2A"
	TierT2B SubsidyTier = "T2B"
	TierT3  SubsidyTier = "T3"
)

// Tiers lists every subsidy tier.
var Tiers = []SubsidyTier{TierT0, TierT1, TierT2A, TierT2B, TierT3}

// PriceType is how parents pay.
type PriceType string

// Price types.
const (
	IncomeRelated PriceType = "inkomenstarief"
	FreePrice     PriceType = "vrije_prijs"
)

// PriceType follows from the tier: from tier 2 on, locations charge an
// income-related price; tiers 0 and 1 set their own price.
func (t SubsidyTier) PriceType() PriceType {
	switch t {
	case TierT2A, TierT2B, TierT3:
		return IncomeRelated
	default:
		return FreePrice
	}
}

// Plussubsidie reports whether the tier includes the extra subsidy for
// vulnerable families (tier 3), which reserves a larger share of places.
func (t SubsidyTier) Plussubsidie() bool { return t == TierT3 }

// AgeBand groups children by age at the start of care.
type AgeBand string

// The default age bands.
const (
	Baby    AgeBand = "baby"    // younger than 18 months
	Toddler AgeBand = "toddler" // 18 months or older
)

// AgeBands lists the default bands.
var AgeBands = []AgeBand{Baby, Toddler}

// BandForAge returns the default band of a child aged months.
func BandForAge(months int) AgeBand {
	if months < 18 {
		return Baby
	}
	return Toddler
}

// AgeInMonths is the age of a child born on birth at the first day of month
// start ("YYYY-MM"); negative when not yet born.
func AgeInMonths(birth time.Time, start time.Time) int {
	m := (start.Year()-birth.Year())*12 + int(start.Month()) - int(birth.Month())
	if start.Day() < birth.Day() {
		m--
	}
	return m
}

// DayHours are the opening hours of one weekday; empty when closed.
type DayHours struct {
	Open  string `json:"open,omitempty"`  // "07:00"
	Close string `json:"close,omitempty"` // "18:30"
}

// WeekHours are the opening hours Monday to Sunday.
type WeekHours [7]DayHours

// Weekdays are the Dutch weekday names, Monday first.
var Weekdays = [7]string{"maandag", "dinsdag", "woensdag", "donderdag", "vrijdag", "zaterdag", "zondag"}

// Provider is an organisator: one login for all its locations.
type Provider struct {
	bun.BaseModel `bun:"table:providers"`

	ID        ProviderID `bun:"id,pk,type:uuid" json:"id"`
	KBONumber string     `bun:"kbo_number,nullzero" json:"kbo_number,omitempty"`
	Name      string     `bun:"name,notnull" json:"name"`
	// AnswerByEmail: the provider answers requests from the mail's signed
	// links, without signing in (the smallest providers).
	AnswerByEmail bool      `bun:"answer_by_email,notnull" json:"-"`
	CreatedAt     time.Time `bun:"created_at,notnull" json:"-"`
	UpdatedAt     time.Time `bun:"updated_at,notnull" json:"-"`
}

// Location is an opvanglocatie.
type Location struct {
	bun.BaseModel `bun:"table:locations"`

	ID              LocationID  `bun:"id,pk,type:uuid"`
	DossierNumber   string      `bun:"dossier_number,notnull"`
	ProviderID      ProviderID  `bun:"provider_id,notnull,type:uuid"`
	Name            string      `bun:"name,notnull"`
	Street          string      `bun:"street,notnull"`
	Postcode        string      `bun:"postcode,notnull"`
	MunicipalityNIS geo.NISCode `bun:"municipality_nis,notnull"`
	Neighbourhood   string      `bun:"neighbourhood,notnull"`
	Lat             float64     `bun:"lat,notnull"`
	Lon             float64     `bun:"lon,notnull"`
	CareType        CareType    `bun:"care_type,notnull"`
	SubsidyTier     SubsidyTier `bun:"subsidy_tier,notnull"`
	PriceType       PriceType   `bun:"price_type,notnull"`
	LicensedPlaces  int         `bun:"licensed_places,notnull"`
	MinAgeMonths    int         `bun:"min_age_months,notnull"`
	MaxAgeMonths    int         `bun:"max_age_months,notnull"`
	OpeningHours    WeekHours   `bun:"opening_hours,type:jsonb,notnull"`
	EarlyHours      bool        `bun:"early_hours,notnull"`
	LateHours       bool        `bun:"late_hours,notnull"`
	Weekend         bool        `bun:"weekend,notnull"`
	InclusiveCare   bool        `bun:"inclusive_care,notnull"`
	OccasionalCare  bool        `bun:"occasional_care,notnull"`
	AcceptsRequests bool        `bun:"accepts_requests,notnull"`
	Languages       []string    `bun:"languages,type:jsonb,notnull"`
	Email           string      `bun:"email,notnull"`
	Phone           string      `bun:"phone,notnull"`
	Website         string      `bun:"website,notnull"`
	CreatedAt       time.Time   `bun:"created_at,notnull"`
	UpdatedAt       time.Time   `bun:"updated_at,notnull"`
}

// Availability is the number of free places of a location for children of
// one age band starting in one month.
type Availability struct {
	bun.BaseModel `bun:"table:availability"`

	LocationID LocationID `bun:"location_id,pk,type:uuid"`
	StartMonth string     `bun:"start_month,pk"` // "YYYY-MM"
	AgeBand    AgeBand    `bun:"age_band,pk"`
	FreePlaces int        `bun:"free_places,notnull"`
	ChangedAt  time.Time  `bun:"changed_at,notnull"`
	ChangedBy  string     `bun:"changed_by,notnull"`
}

type availabilityEventKind struct{}

// AvailabilityEvent records one change of free places.
type AvailabilityEvent struct {
	bun.BaseModel `bun:"table:availability_events"`

	ID         ids.ID[availabilityEventKind] `bun:"id,pk,type:uuid"`
	LocationID LocationID                    `bun:"location_id,notnull,type:uuid"`
	StartMonth string                        `bun:"start_month,notnull"`
	AgeBand    AgeBand                       `bun:"age_band,notnull"`
	FromPlaces *int                          `bun:"from_places"`
	ToPlaces   int                           `bun:"to_places,notnull"`
	ChangedAt  time.Time                     `bun:"changed_at,notnull"`
	ChangedBy  string                        `bun:"changed_by,notnull"`
}

// Value stores the week as JSON (bun does not treat arrays as JSON itself).
func (w WeekHours) Value() (driver.Value, error) {
	b, err := json.Marshal(w)
	return string(b), err
}

// Scan reads the week from JSON text or bytes.
func (w *WeekHours) Scan(src any) error {
	switch v := src.(type) {
	case nil:
		*w = WeekHours{}
		return nil
	case string:
		return json.Unmarshal([]byte(v), w)
	case []byte:
		return json.Unmarshal(v, w)
	default:
		return fmt.Errorf("catalog: cannot read opening hours from %T", src)
	}
}
