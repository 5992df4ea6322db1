package allocation

import (
	"fmt"
	"slices"
	"strings"
)

// Result is the outcome of one round. Assignments follow the order of
// Instance.Children and Fill the order of Instance.Programmes.
type Result struct {
	Version     int             `json:"version"`
	Seed        Seed            `json:"seed"`
	Round       int             `json:"round"`
	TieBreak    TieBreak        `json:"tie_break"`
	Reserve     ReserveOutcome  `json:"reserve"`
	Siblings    SiblingOutcome  `json:"siblings"`
	Assignments []Assignment    `json:"assignments"`
	Fill        []ProgrammeFill `json:"fill"`
}

// ReserveOutcome tells whether the reserve was applied.
type ReserveOutcome struct {
	Fill  FillOrder `json:"fill"`
	Guard Guard     `json:"guard"`
	// Applied is false when no seat is reserved.
	Applied          bool `json:"applied"`
	VulnerablePlaced int  `json:"vulnerable_placed"`
}

// SiblingOutcome reports the sibling fixpoint iteration.
type SiblingOutcome struct {
	Passes    int  `json:"passes"`
	Converged bool `json:"converged"`
	// Facts are the sibling criteria granted during the round and used in
	// the final pass, sorted by child ID then location ID.
	Facts []SiblingFact `json:"facts"`
}

// SiblingFact grants the sibling criterion to a child at a location.
type SiblingFact struct {
	ChildID    string `json:"child_id"`
	LocationID string `json:"location_id"`
}

// Assignment is the place of one child.
type Assignment struct {
	ChildID string `json:"child_id"`
	// ProgrammeID is empty (omitted in JSON) when the child got no place.
	ProgrammeID string `json:"programme_id,omitempty"`
	// Lottery is the child's lottery number (1 is drawn first) under single
	// tie-breaking; 0 under per-location tie-breaking.
	Lottery uint32 `json:"lottery"`
	// Choice is the 1-based rank of the programme in the child's
	// preferences; 0 without place. The small integer types keep a
	// million assignments at 40 bytes each.
	Choice uint16   `json:"choice"`
	Seat   SeatType `json:"seat,omitempty"`
}

// SeatType is the kind of seat a child holds: "open" or "reserved" in JSON.
type SeatType uint8

// Seat types.
const (
	SeatNone SeatType = iota
	SeatOpen
	SeatReserved
)

func (s SeatType) String() string {
	switch s {
	case SeatOpen:
		return "open"
	case SeatReserved:
		return "reserved"
	}
	return ""
}

// MarshalText encodes the seat type as "open" or "reserved".
func (s SeatType) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText decodes "open", "reserved" or "".
func (s *SeatType) UnmarshalText(b []byte) error {
	switch string(b) {
	case "":
		*s = SeatNone
	case "open":
		*s = SeatOpen
	case "reserved":
		*s = SeatReserved
	default:
		return fmt.Errorf("unknown seat type %q", b)
	}
	return nil
}

// ProgrammeFill describes how a programme was filled.
type ProgrammeFill struct {
	ProgrammeID string `json:"programme_id"`
	Capacity    int    `json:"capacity"`
	// Reserved seats in force (0 when the reserve was not applied).
	Reserved int `json:"reserved"`
	Filled   int `json:"filled"`
	// FilledReserved counts reserved seats held by vulnerable children,
	// ReleasedReserved those released to other children.
	FilledReserved   int `json:"filled_reserved"`
	ReleasedReserved int `json:"released_reserved"`
	// Cut-offs are the last admitted child of each seat group, set only when
	// the programme is full (otherwise nobody eligible was turned away).
	OpenCutoff     *Cutoff `json:"open_cutoff,omitempty"`
	ReservedCutoff *Cutoff `json:"reserved_cutoff,omitempty"`
}

// Cutoff identifies the precedence of the last child admitted to a seat group.
type Cutoff struct {
	// Tier is the 0-based tier index at the location; Criterion its
	// criterion, empty for the last tier (no criterion satisfied).
	Tier      int    `json:"tier"`
	Criterion string `json:"criterion,omitempty"`
	Lottery   int    `json:"lottery"`
	// Vulnerable is meaningful for reserved seats.
	Vulnerable bool `json:"vulnerable,omitempty"`
}

func (c *compiled) buildResult(r *run) *Result {
	inst := c.inst
	res := &Result{
		Version:  FormatVersion,
		Seed:     inst.Seed,
		Round:    inst.round(),
		TieBreak: inst.tieBreak(),
		Reserve: ReserveOutcome{
			Fill:             inst.Reserve.fill(),
			Guard:            inst.Reserve.guard(),
			Applied:          r.reserve,
			VulnerablePlaced: r.vulnerablePlaced(),
		},
		Siblings: SiblingOutcome{Passes: r.passes, Converged: r.converged, Facts: []SiblingFact{}},
	}
	res.Assignments = make([]Assignment, c.n)
	for j, i := range c.input {
		a := &res.Assignments[i]
		a.ChildID = inst.Children[i].ID
		if c.slotRank == nil {
			a.Lottery = c.child[j].rank
		}
		if p := r.held(int32(j)); p >= 0 {
			a.ProgrammeID = inst.Programmes[p].ID
			a.Choice = uint16(r.heldSlot[j]-c.start(int32(j))) + 1
		}
	}
	res.Fill = make([]ProgrammeFill, c.m)
	cutoffs := make([]Cutoff, 0, 2*c.m)
	for p := range c.m {
		f := &res.Fill[p]
		f.ProgrammeID = inst.Programmes[p].ID
		f.Capacity = int(c.progCap[p])
		pr := &r.prog[p]
		g1, g2 := r.groups(p)
		f.Filled = len(g1) + len(g2)
		openGroup, resGroup, resCap := g1, g2, pr.cap2
		if r.g1Reserved {
			openGroup, resGroup, resCap = g2, g1, pr.cap1
		}
		if !r.reserve {
			resGroup, resCap = nil, 0
		}
		f.Reserved = int(resCap)
		for _, s := range openGroup {
			res.Assignments[c.input[c.childOf(pr.loc, keyLottery(s.key))]].Seat = SeatOpen
		}
		for _, s := range resGroup {
			res.Assignments[c.input[c.childOf(pr.loc, keyLottery(s.key))]].Seat = SeatReserved
			if keyVulnerable(s.key) {
				f.FilledReserved++
			} else {
				f.ReleasedReserved++
			}
		}
		if f.Filled < f.Capacity {
			continue
		}
		// The root of each max-heap is the last admitted child of that group.
		if len(openGroup) > 0 {
			cutoffs = append(cutoffs, c.cutoff(pr.loc, openGroup[0].key))
			f.OpenCutoff = &cutoffs[len(cutoffs)-1]
		}
		if len(resGroup) > 0 {
			cutoffs = append(cutoffs, c.cutoff(pr.loc, resGroup[0].key))
			f.ReservedCutoff = &cutoffs[len(cutoffs)-1]
		}
	}
	for _, f := range r.factList {
		res.Siblings.Facts = append(res.Siblings.Facts, SiblingFact{
			ChildID:    inst.Children[c.input[f.child]].ID,
			LocationID: c.locIDs[f.loc],
		})
	}
	slices.SortFunc(res.Siblings.Facts, func(a, b SiblingFact) int {
		if a.ChildID != b.ChildID {
			return strings.Compare(a.ChildID, b.ChildID)
		}
		return strings.Compare(a.LocationID, b.LocationID)
	})
	return res
}

func (c *compiled) cutoff(loc int32, key uint64) Cutoff {
	tier := keyTier(key)
	co := Cutoff{Tier: tier, Lottery: int(keyLottery(key)), Vulnerable: keyVulnerable(key)}
	q := c.locPolicy[loc]
	if lo := c.tierOff[q]; tier < int(c.tierOff[q+1]-lo) {
		co.Criterion = c.tierNames[int(lo)+tier]
	}
	return co
}

// String summarises a result for logs.
func (r *Result) String() string {
	placed := 0
	for _, a := range r.Assignments {
		if a.ProgrammeID != "" {
			placed++
		}
	}
	return fmt.Sprintf("allocation: %d of %d children placed, reserve applied=%v, sibling passes=%d",
		placed, len(r.Assignments), r.Reserve.Applied, r.Siblings.Passes)
}
