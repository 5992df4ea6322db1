package allocation

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"unsafe"
)

// FormatVersion is the version of the JSON instance and result formats.
const FormatVersion = 1

// Instance is everything the engine needs for one allocation round.
// The JSON representation is documented in docs/allocation-format.md.
type Instance struct {
	Version int  `json:"version"`
	Seed    Seed `json:"seed"`
	// Round is part of the lottery derivation so that every round draws new
	// numbers from the same published seed. Zero means 1.
	Round    int      `json:"round,omitempty"`
	TieBreak TieBreak `json:"tie_break,omitempty"`
	// SiblingCriterion names the criterion granted at a location when a
	// sibling applying together is placed there. Empty means "sibling".
	SiblingCriterion string `json:"sibling_criterion,omitempty"`
	// MaxSiblingPasses bounds the sibling fixpoint iteration. Zero means 10.
	MaxSiblingPasses int `json:"max_sibling_passes,omitempty"`
	// DefaultPolicy applies to every location without an entry in Locations.
	DefaultPolicy Policy           `json:"default_policy"`
	Locations     []Location       `json:"locations,omitempty"`
	Reserve       ReservePolicy    `json:"reserve"`
	Labels        map[string]Label `json:"labels,omitempty"`
	Programmes    []Programme      `json:"programmes"`
	Children      []Child          `json:"children"`

	// decoded holds the programme index of each preference as the
	// decoder found it, so that solving and auditing a million-child file
	// need not look ten million IDs up again (see prefProgramme).
	decoded *decodedIndex
}

// decodedIndex is filled by DecodeInstance when programmes precede the
// children: prefs[i][k] is the index of children[i].preferences[k] in
// Programmes, or -1.
type decodedIndex struct {
	prefs [][]int32
}

// prefProgramme returns the index the decoder recorded for preference k of
// child i, when it still holds: the preference is the very string the
// decoder shared with that programme's ID (same memory, same length, so
// the same text). An instance changed after decoding falls back to a map.
func (in *Instance) prefProgramme(i, k int) (int32, bool) {
	d := in.decoded
	if d == nil || i >= len(d.prefs) || k >= len(d.prefs[i]) || i >= len(in.Children) || k >= len(in.Children[i].Preferences) {
		return 0, false
	}
	p := d.prefs[i][k]
	if p < 0 || int(p) >= len(in.Programmes) {
		return 0, false
	}
	a, b := in.Programmes[p].ID, in.Children[i].Preferences[k]
	return p, len(a) == len(b) && len(a) > 0 && unsafe.StringData(a) == unsafe.StringData(b)
}

// Policy is a priority and eligibility policy. Tiers are criteria in
// priority order: a child's tier is the index of the first criterion it
// satisfies; a child satisfying none is in tier len(Tiers).
type Policy struct {
	Tiers []string `json:"tiers"`
	// Required criteria must all be satisfied to be eligible.
	Required []string `json:"required,omitempty"`
}

// Location carries the policy of one location; its programmes share it.
type Location struct {
	ID   string `json:"id"`
	Name string `json:"name,omitempty"`
	Policy
	// ReserveShare overrides Reserve.DefaultShare for this location.
	ReserveShare *float64 `json:"reserve_share,omitempty"`
}

// Programme is one group of places: a location, an age band and a start month.
type Programme struct {
	ID         string `json:"id"`
	Location   string `json:"location"`
	Name       string `json:"name,omitempty"`
	AgeBand    string `json:"age_band,omitempty"`
	StartMonth string `json:"start_month"`
	Capacity   int    `json:"capacity"`
}

// Child is one request.
type Child struct {
	ID string `json:"id"`
	// Preferences are programme IDs, most wanted first.
	Preferences []string `json:"preferences"`
	// Criteria hold at every location.
	Criteria []string `json:"criteria,omitempty"`
	// LocationCriteria hold only at the given location ID.
	LocationCriteria map[string][]string `json:"location_criteria,omitempty"`
	// Vulnerable children have precedence on reserved seats.
	Vulnerable bool `json:"vulnerable,omitempty"`
	// Siblings are IDs of children applying together with this child.
	Siblings []string `json:"siblings,omitempty"`
}

// ReservePolicy describes the seats reserved for vulnerable children.
type ReservePolicy struct {
	DefaultShare float64   `json:"default_share,omitempty"`
	Fill         FillOrder `json:"fill,omitempty"`
	Rounding     Rounding  `json:"rounding,omitempty"`
	Guard        Guard     `json:"guard,omitempty"`
}

// Label holds display texts for a criterion.
type Label struct {
	NL string `json:"nl,omitempty"`
	EN string `json:"en,omitempty"`
}

// TieBreak selects how lottery numbers are drawn.
type TieBreak string

// Tie-breaking methods.
const (
	// TieBreakSingle draws one number per child, used at every location.
	TieBreakSingle TieBreak = "single"
	// TieBreakPerLocation draws an independent number per child and location.
	TieBreakPerLocation TieBreak = "per_location"
)

// FillOrder says whether reserved seats are filled before or after open seats.
type FillOrder string

// Fill orders.
const (
	FillFirst FillOrder = "first"
	FillLast  FillOrder = "last"
)

// Rounding turns share*capacity into a whole number of reserved seats.
type Rounding string

// Rounding modes.
const (
	RoundDown   Rounding = "down"
	RoundHalfUp Rounding = "half_up"
)

// Guard selects the protection applied around reserves.
type Guard string

// Guards.
const (
	// GuardNone always applies the reserve: the number of reserved seats
	// follows from capacity and share alone, facts known before any family
	// ranks anything. It is the only guard.
	GuardNone Guard = "none"
	// GuardAggregate is refused by validation. It kept the reserve only if
	// the reserve placed at least as many vulnerable children as the round
	// without it; as that depends on the submitted lists, a child could get
	// a better place by ranking fewer choices (issue 15).
	GuardAggregate Guard = "aggregate"
)

// Seed is the published lottery seed. In JSON it is a string or an
// unsigned integer; an integer is kept as its decimal text, so 42 and "42"
// are the same seed.
type Seed string

// SeedFromUint64 returns the seed for an integer.
func SeedFromUint64(v uint64) Seed { return Seed(strconv.FormatUint(v, 10)) }

// UnmarshalJSON accepts a JSON string or a non-negative integer.
func (s *Seed) UnmarshalJSON(b []byte) error {
	t := strings.TrimSpace(string(b))
	if strings.HasPrefix(t, `"`) {
		var v string
		if err := json.Unmarshal(b, &v); err != nil {
			return fmt.Errorf("seed: %w", err)
		}
		*s = Seed(v)
		return nil
	}
	v, err := strconv.ParseUint(t, 10, 64)
	if err != nil {
		return fmt.Errorf("seed: must be a string or an unsigned 64-bit integer, got %s", t)
	}
	*s = SeedFromUint64(v)
	return nil
}

func (in *Instance) round() int {
	if in.Round == 0 {
		return 1
	}
	return in.Round
}

func (in *Instance) tieBreak() TieBreak {
	if in.TieBreak == "" {
		return TieBreakSingle
	}
	return in.TieBreak
}

func (in *Instance) siblingCriterion() string {
	if in.SiblingCriterion == "" {
		return "sibling"
	}
	return in.SiblingCriterion
}

func (in *Instance) maxSiblingPasses() int {
	if in.MaxSiblingPasses == 0 {
		return 10
	}
	return in.MaxSiblingPasses
}

func (r ReservePolicy) fill() FillOrder {
	if r.Fill == "" {
		return FillLast
	}
	return r.Fill
}

func (r ReservePolicy) rounding() Rounding {
	if r.Rounding == "" {
		return RoundDown
	}
	return r.Rounding
}

func (r ReservePolicy) guard() Guard {
	if r.Guard == "" {
		return GuardNone
	}
	return r.Guard
}
