package allocation

import (
	"errors"
	"testing"
)

// assignedTo maps child ID to programme ID ("" without place).
func assignedTo(res *Result) map[string]string {
	out := make(map[string]string, len(res.Assignments))
	for _, a := range res.Assignments {
		out[a.ChildID] = a.ProgrammeID
	}
	return out
}

func mustSolve(t *testing.T, inst *Instance) *Result {
	t.Helper()
	res, err := Solve(inst)
	if err != nil {
		t.Fatal(err)
	}
	if rep := Audit(inst, res); !rep.OK {
		t.Fatalf("audit failed: %+v", rep.Violations)
	}
	return res
}

func expectAssigned(t *testing.T, res *Result, want map[string]string) {
	t.Helper()
	got := assignedTo(res)
	for id, p := range want {
		if got[id] != p {
			t.Errorf("child %s: got %q, want %q (all: %v)", id, got[id], p, got)
		}
	}
}

// tieBreakInstance is the classic example of Erdil & Ergin (2008) and
// Abdulkadiroğlu, Pathak & Roth (2009): with independent lotteries per
// location, deferred acceptance can end in a "stable improvement cycle"
// where two children would both rather swap. The seed was picked so that
// the per-location draws rank b above a at X and a above b at Y.
func tieBreakInstance(tb TieBreak) *Instance {
	return &Instance{
		Version: FormatVersion, Seed: "literatuur-8", TieBreak: tb,
		Programmes: []Programme{
			{ID: "X", Location: "loc-x", StartMonth: "2026-09", Capacity: 1},
			{ID: "Y", Location: "loc-y", StartMonth: "2026-09", Capacity: 1},
		},
		Children: []Child{
			{ID: "a", Preferences: []string{"X", "Y"}},
			{ID: "b", Preferences: []string{"Y", "X"}},
			{ID: "c", Preferences: []string{"X"}},
		},
	}
}

func TestSingleVersusPerLocationTieBreak(t *testing.T) {
	single := mustSolve(t, tieBreakInstance(TieBreakSingle))
	perLoc := mustSolve(t, tieBreakInstance(TieBreakPerLocation))
	// One lottery: a and b both get their first choice.
	expectAssigned(t, single, map[string]string{"a": "X", "b": "Y", "c": ""})
	// Per-location lotteries: c outranks a at X, a outranks b at Y and b
	// outranks c at X, so a and b end at their second choice although
	// swapping would make both better off without harming anybody.
	expectAssigned(t, perLoc, map[string]string{"a": "Y", "b": "X", "c": ""})
	for _, a := range perLoc.Assignments {
		if a.ChildID != "c" && a.Choice != 2 {
			t.Errorf("per-location: %s got choice %d, want 2", a.ChildID, a.Choice)
		}
	}
}

// reserveInstance has one programme with 2 seats, 1 reserved (share 0.5),
// and three applicants. The seed was picked so that the lottery order is
// v1, n1, v2 (v = vulnerable).
func reserveInstance(fill FillOrder) *Instance {
	return &Instance{
		Version: FormatVersion, Seed: "reserve-0",
		Reserve:    ReservePolicy{DefaultShare: 0.5, Fill: fill},
		Programmes: []Programme{{ID: "P", Location: "loc", StartMonth: "2026-09", Capacity: 2}},
		Children: []Child{
			{ID: "v1", Preferences: []string{"P"}, Vulnerable: true},
			{ID: "n1", Preferences: []string{"P"}},
			{ID: "v2", Preferences: []string{"P"}, Vulnerable: true},
		},
	}
}

func TestReserveFirstVersusLast(t *testing.T) {
	first := mustSolve(t, reserveInstance(FillFirst))
	lot := map[string]uint32{}
	for _, a := range first.Assignments {
		lot[a.ChildID] = a.Lottery
	}
	if !(lot["v1"] < lot["n1"] && lot["n1"] < lot["v2"]) {
		t.Fatalf("seed no longer gives lottery order v1, n1, v2: %v", lot)
	}
	// First: the reserved seat goes to the best vulnerable child (v1), the
	// open seat to the best of the rest (n1).
	expectAssigned(t, first, map[string]string{"v1": "P", "n1": "P", "v2": ""})
	// Last: the open seat goes to the best child overall (v1), then the
	// reserved seat to the best remaining vulnerable child (v2).
	last := mustSolve(t, reserveInstance(FillLast))
	expectAssigned(t, last, map[string]string{"v1": "P", "n1": "", "v2": "P"})
	if first.Reserve.VulnerablePlaced != 1 || last.Reserve.VulnerablePlaced != 2 {
		t.Errorf("vulnerable placed: first %d, last %d; want 1 and 2", first.Reserve.VulnerablePlaced, last.Reserve.VulnerablePlaced)
	}
	if s := first.Assignments[0].Seat; s != SeatReserved {
		t.Errorf("fill first: v1 should hold the reserved seat, got %v", s)
	}
	if s := last.Assignments[2].Seat; s != SeatReserved {
		t.Errorf("fill last: v2 should hold the reserved seat, got %v", s)
	}
}

// guardInstance shows that a reserve can lower the number of vulnerable
// children placed: v1 takes the reserved seat at P1, which pushes n1 to P3,
// where n1 outranks v2, who has no other choice. Without the reserve v1
// goes to P2 and v2 keeps P3. No stable rule can avoid this; the former
// aggregate guard dropped the reserve for such a round, which made the
// outcome depend on the lists (TestStrategyProofReserveExample).
func guardInstance(guard Guard) *Instance {
	one := 1.0
	return &Instance{
		Version: FormatVersion, Seed: "guard-0",
		DefaultPolicy: Policy{Tiers: []string{"work"}},
		Reserve:       ReservePolicy{Fill: FillLast, Guard: guard},
		Locations:     []Location{{ID: "loc-1", Policy: Policy{Tiers: []string{"work"}}, ReserveShare: &one}},
		Programmes: []Programme{
			{ID: "P1", Location: "loc-1", StartMonth: "2026-09", Capacity: 1},
			{ID: "P2", Location: "loc-2", StartMonth: "2026-09", Capacity: 1},
			{ID: "P3", Location: "loc-3", StartMonth: "2026-09", Capacity: 1},
		},
		// Priorities (not the lottery) fix the order: n1 outranks v1 at
		// P1 and v2 at P3; v1 outranks n2 at P2.
		Children: []Child{
			{ID: "n1", Preferences: []string{"P1", "P3"}, Criteria: []string{"work"}},
			{ID: "v1", Preferences: []string{"P1", "P2"}, Vulnerable: true, LocationCriteria: map[string][]string{"loc-2": {"work"}}},
			{ID: "v2", Preferences: []string{"P3"}, Vulnerable: true},
			{ID: "n2", Preferences: []string{"P2"}},
		},
	}
}

func TestReserveGuard(t *testing.T) {
	for _, g := range []Guard{"", GuardNone} {
		res := mustSolve(t, guardInstance(g))
		expectAssigned(t, res, map[string]string{"v1": "P1", "n1": "P3", "v2": "", "n2": "P2"})
		if res.Reserve.VulnerablePlaced != 1 || !res.Reserve.Applied || res.Reserve.Guard != GuardNone {
			t.Errorf("guard %q: reserve %+v", g, res.Reserve)
		}
	}
	err := Validate(guardInstance(GuardAggregate))
	var ve *ValidationError
	if !errors.As(err, &ve) || ve.Errors[0].Field != "reserve.guard" {
		t.Errorf("guard aggregate must be refused on reserve.guard, got %v", err)
	}
}

// siblingInstance: twins s1 and s2 apply together for a programme with two
// seats that also attracts o1. The location gives priority to siblings.
func siblingInstance(maxPasses int) *Instance {
	return &Instance{
		Version: FormatVersion, Seed: "broers-1", MaxSiblingPasses: maxPasses,
		DefaultPolicy: Policy{Tiers: []string{"sibling", "work"}},
		Programmes: []Programme{
			{ID: "A", Location: "loc-a", StartMonth: "2026-09", Capacity: 2},
			{ID: "B", Location: "loc-b", StartMonth: "2026-09", Capacity: 3},
		},
		Children: []Child{
			{ID: "s1", Preferences: []string{"A", "B"}, Criteria: []string{"work"}, Siblings: []string{"s2"}},
			{ID: "s2", Preferences: []string{"A", "B"}, Criteria: []string{"work"}},
			{ID: "o1", Preferences: []string{"A", "B"}, Criteria: []string{"work"}},
		},
	}
}

func TestSiblingsApplyingTogether(t *testing.T) {
	// With one pass every child is placed individually by lottery: the
	// seed puts o1 and one twin in A.
	alone := mustSolve(t, siblingInstance(1))
	got := assignedTo(alone)
	if got["o1"] != "A" || (got["s1"] == "A") == (got["s2"] == "A") {
		t.Fatalf("seed no longer separates the twins in pass 1: %v", got)
	}
	if alone.Siblings.Converged {
		t.Errorf("a single pass with a pending sibling fact should not be reported as converged")
	}
	// With sibling passes the twin outside A gets the sibling criterion at
	// loc-a, outranks o1 and joins its sibling.
	together := mustSolve(t, siblingInstance(0))
	expectAssigned(t, together, map[string]string{"s1": "A", "s2": "A", "o1": "B"})
	if !together.Siblings.Converged || together.Siblings.Passes < 2 {
		t.Errorf("siblings: %+v", together.Siblings)
	}
	for _, id := range []string{"s1", "s2"} {
		found := false
		for _, f := range together.Siblings.Facts {
			found = found || f == SiblingFact{ChildID: id, LocationID: "loc-a"}
		}
		if !found {
			t.Errorf("want a sibling fact for %s at loc-a, got %+v", id, together.Siblings.Facts)
		}
	}
}
