package allocation

import (
	"fmt"
	"reflect"
	"slices"
)

// maxListedViolations bounds the violations a report lists in words.
const maxListedViolations = 1000

// Audit check names.
const (
	CheckValid        = "valid_instance"
	CheckComplete     = "complete"
	CheckPreferences  = "assigned_to_preference"
	CheckEligible     = "eligible"
	CheckCapacity     = "capacity"
	CheckLottery      = "lottery"
	CheckFill         = "fill"
	CheckSiblingFacts = "sibling_facts"
	CheckEnvy         = "no_justified_envy"
	CheckWaste        = "no_waste"
	CheckReserveGuard = "reserve_guard"
	CheckReproducible = "reproducible"
)

// Report is the outcome of Audit.
type Report struct {
	OK         bool          `json:"ok"`
	Checks     []CheckResult `json:"checks"`
	Violations []Violation   `json:"violations"`
	// Unlisted counts violations beyond the listed ones.
	Unlisted int      `json:"unlisted,omitempty"`
	Notes    []string `json:"notes,omitempty"`
}

// CheckResult summarises one check.
type CheckResult struct {
	Name       string `json:"name"`
	OK         bool   `json:"ok"`
	Violations int    `json:"violations"`
}

// Violation is one problem found, in words.
type Violation struct {
	Check       string `json:"check"`
	ChildID     string `json:"child_id,omitempty"`
	ProgrammeID string `json:"programme_id,omitempty"`
	Message     string `json:"message"`
}

type auditor struct {
	m      *refModel
	inst   *Instance
	res    *Result
	report Report
	counts map[string]int
	// holders[p] lists the children assigned to programme p.
	holders [][]int
	// assigned[i] is the programme index of child i, or -1.
	assigned []int32
	choice   []int32 // 0-based rank of the assignment, len(preferences) without place
	groups   [][]*refGroup
	// reproduce runs the engine again (AuditOptions.Reproduce).
	reproduce bool
}

// AuditOptions select the optional audit checks.
type AuditOptions struct {
	// Reproduce solves the instance again and compares the results
	// (check "reproducible"). It doubles the cost of the audit, and
	// TestPropertySameSeedSameResult already checks determinism, so it
	// is off unless asked for (loket allocate solve --reproduce).
	Reproduce bool
}

func (a *auditor) fail(check, child, prog, format string, args ...any) {
	a.counts[check]++
	if len(a.report.Violations) >= maxListedViolations {
		a.report.Unlisted++
		return
	}
	a.report.Violations = append(a.report.Violations, Violation{
		Check: check, ChildID: child, ProgrammeID: prog, Message: fmt.Sprintf(format, args...),
	})
}

// Audit checks a result against its instance without using the engine's
// internal state: precedence, lottery numbers and seat groups are
// recomputed from the documented rules, and stability is checked in one
// pass over the preferences. It does not run the engine again; see
// AuditWith for that.
func Audit(inst *Instance, res *Result) Report {
	return AuditWith(inst, res, AuditOptions{})
}

// AuditWith is Audit with optional checks.
func AuditWith(inst *Instance, res *Result, opt AuditOptions) Report {
	if inst == nil || res == nil {
		a := &auditor{counts: make(map[string]int)}
		a.fail(CheckValid, "", "", "instance and result are both required")
		return a.finish(opt)
	}
	m, err := newRefModel(inst, res)
	if err != nil {
		a := &auditor{counts: make(map[string]int)}
		a.fail(CheckValid, "", "", "%v", err)
		return a.finish(opt)
	}
	return auditModel(m, opt)
}

// auditModel audits with a model built from a validated instance.
func auditModel(m *refModel, opt AuditOptions) Report {
	a := &auditor{m: m, inst: m.inst, res: m.res, counts: make(map[string]int), reproduce: opt.Reproduce}
	a.run()
	return a.finish(opt)
}

func (a *auditor) finish(opt AuditOptions) Report {
	checks := []string{CheckValid, CheckComplete, CheckPreferences, CheckEligible, CheckCapacity,
		CheckLottery, CheckFill, CheckSiblingFacts, CheckEnvy, CheckWaste, CheckReserveGuard}
	if opt.Reproduce {
		checks = append(checks, CheckReproducible)
	}
	a.report.OK = true
	for _, name := range checks {
		n := a.counts[name]
		a.report.Checks = append(a.report.Checks, CheckResult{Name: name, OK: n == 0, Violations: n})
		a.report.OK = a.report.OK && n == 0
	}
	if a.report.Violations == nil {
		a.report.Violations = []Violation{}
	}
	return a.report
}

func (a *auditor) run() {
	if !a.checkComplete() {
		return
	}
	a.checkAssignments()
	a.checkCapacityAndFill()
	a.checkSiblingFacts()
	a.checkStability()
	a.checkReserveGuard()
	if a.reproduce {
		a.checkReproducible()
	}
}

// checkComplete maps assignments to children and programmes; later checks
// need that mapping, so a broken result stops the audit here.
func (a *auditor) checkComplete() bool {
	inst, res := a.inst, a.res
	if len(res.Assignments) != len(inst.Children) {
		a.fail(CheckComplete, "", "", "result has %d assignments for %d children", len(res.Assignments), len(inst.Children))
		return false
	}
	a.assigned = make([]int32, len(inst.Children))
	a.choice = make([]int32, len(inst.Children))
	a.holders = make([][]int, len(inst.Programmes))
	ok := true
	for i := range res.Assignments {
		as := &res.Assignments[i]
		ch := &inst.Children[i]
		a.assigned[i], a.choice[i] = -1, int32(len(ch.Preferences))
		if as.ChildID != ch.ID {
			a.fail(CheckComplete, as.ChildID, "", "assignment %d is for %q but child %d is %q", i, as.ChildID, i, ch.ID)
			ok = false
			continue
		}
		if as.ProgrammeID == "" {
			continue
		}
		p, known := a.m.progIndex[as.ProgrammeID]
		if !known {
			a.fail(CheckComplete, ch.ID, as.ProgrammeID, "child %s is assigned to unknown programme %s", ch.ID, as.ProgrammeID)
			ok = false
			continue
		}
		a.assigned[i] = int32(p)
		a.holders[p] = append(a.holders[p], i)
	}
	return ok
}

func (a *auditor) checkAssignments() {
	for i, p := range a.assigned {
		ch := &a.inst.Children[i]
		as := &a.res.Assignments[i]
		if a.m.single != nil && int32(as.Lottery) != a.m.single[i] {
			a.fail(CheckLottery, ch.ID, "", "child %s has lottery number %d in the result but %d from the seed", ch.ID, as.Lottery, a.m.single[i])
		}
		if p < 0 {
			if as.Choice != 0 || as.Seat != SeatNone {
				a.fail(CheckPreferences, ch.ID, "", "child %s has no place but choice %d and seat %q", ch.ID, as.Choice, as.Seat)
			}
			continue
		}
		prog := &a.inst.Programmes[p]
		k := slices.Index(ch.Preferences, prog.ID)
		if k < 0 {
			a.fail(CheckPreferences, ch.ID, prog.ID, "child %s is assigned to %s, which is not among its preferences", ch.ID, prog.ID)
			continue
		}
		a.choice[i] = int32(k)
		if int(as.Choice) != k+1 {
			a.fail(CheckPreferences, ch.ID, prog.ID, "child %s is assigned to its choice %d but the result says %d", ch.ID, k+1, as.Choice)
		}
		if miss := a.m.missing(i, a.m.progLoc[p]); len(miss) > 0 {
			a.fail(CheckEligible, ch.ID, prog.ID, "child %s is assigned to %s but lacks required criteria %v", ch.ID, prog.ID, miss)
		}
	}
}

// checkCapacityAndFill recomputes the seat groups of every programme and
// compares them with the reported fill.
func (a *auditor) checkCapacityAndFill() {
	a.groups = make([][]*refGroup, len(a.inst.Programmes))
	if len(a.res.Fill) != len(a.inst.Programmes) {
		a.fail(CheckFill, "", "", "result has %d fill entries for %d programmes", len(a.res.Fill), len(a.inst.Programmes))
	}
	for p := range a.inst.Programmes {
		prog := &a.inst.Programmes[p]
		holders := a.holders[p]
		if len(holders) > prog.Capacity {
			a.fail(CheckCapacity, "", prog.ID, "programme %s holds %d children but has capacity %d", prog.ID, len(holders), prog.Capacity)
		}
		gs := a.m.groups(p, holders)
		a.groups[p] = gs
		for _, g := range gs {
			for _, i := range g.members {
				if got := a.res.Assignments[i].Seat; got != g.seat {
					a.fail(CheckFill, a.inst.Children[i].ID, prog.ID, "child %s holds a %s seat at %s but the result says %q", a.inst.Children[i].ID, g.seat, prog.ID, got)
				}
			}
		}
		if p < len(a.res.Fill) {
			a.compareFill(p, gs, &a.res.Fill[p])
		}
	}
}

func (a *auditor) compareFill(p int, gs []*refGroup, got *ProgrammeFill) {
	prog := &a.inst.Programmes[p]
	want := ProgrammeFill{ProgrammeID: prog.ID, Capacity: prog.Capacity, Reserved: a.m.reserved(p)}
	for _, g := range gs {
		want.Filled += len(g.members)
		if g.seat != SeatReserved {
			continue
		}
		for _, i := range g.members {
			if a.inst.Children[i].Vulnerable {
				want.FilledReserved++
			} else {
				want.ReleasedReserved++
			}
		}
	}
	if want.Filled >= prog.Capacity {
		for _, g := range gs {
			if len(g.members) == 0 {
				continue
			}
			i := g.members[len(g.members)-1]
			k := a.m.baseKey(i, a.m.progLoc[p])
			co := &Cutoff{Tier: k.tier, Criterion: a.m.tierName(a.m.progLoc[p], k.tier), Lottery: k.lottery, Vulnerable: a.inst.Children[i].Vulnerable}
			if g.seat == SeatReserved {
				want.ReservedCutoff = co
			} else {
				want.OpenCutoff = co
			}
		}
	}
	if !reflect.DeepEqual(&want, got) {
		a.fail(CheckFill, "", prog.ID, "fill of %s is reported as %+v but recomputes as %+v", prog.ID, fillString(got), fillString(&want))
	}
}

func fillString(f *ProgrammeFill) string {
	s := fmt.Sprintf("capacity %d, reserved %d, filled %d, filled_reserved %d, released_reserved %d",
		f.Capacity, f.Reserved, f.Filled, f.FilledReserved, f.ReleasedReserved)
	if f.OpenCutoff != nil {
		s += fmt.Sprintf(", open cut-off %+v", *f.OpenCutoff)
	}
	if f.ReservedCutoff != nil {
		s += fmt.Sprintf(", reserved cut-off %+v", *f.ReservedCutoff)
	}
	return s
}

// checkSiblingFacts verifies that every granted sibling fact links siblings
// applying together and, when the iteration converged, that a sibling holds
// a place at the fact's location in the final placement: the stability
// check then holds for the facts of the final placement. Without
// convergence a stale fact is only noted.
func (a *auditor) checkSiblingFacts() {
	groupOf := siblingGroups(a.inst)
	ids := make([]string, 0, len(a.res.Siblings.Facts))
	for _, f := range a.res.Siblings.Facts {
		ids = append(ids, f.ChildID)
	}
	idx := childIndexes(a.inst, ids)
	unsupported := 0
	for _, f := range a.res.Siblings.Facts {
		i, ok := idx[f.ChildID]
		if !ok {
			a.fail(CheckSiblingFacts, f.ChildID, "", "sibling fact for unknown child %s", f.ChildID)
			continue
		}
		l, ok := a.m.locIndex[f.LocationID]
		if !ok {
			a.fail(CheckSiblingFacts, f.ChildID, "", "sibling fact for unknown location %s", f.LocationID)
			continue
		}
		listed, placed := false, false
		for _, j := range groupOf[i] {
			if j == i {
				continue
			}
			for _, pid := range a.inst.Children[j].Preferences {
				listed = listed || a.m.progLoc[a.m.progIndex[pid]] == l
			}
			placed = placed || a.assigned[j] >= 0 && a.m.progLoc[a.assigned[j]] == l
		}
		switch {
		case !listed:
			a.fail(CheckSiblingFacts, f.ChildID, "", "child %s got the sibling criterion at %s but no sibling applying together asked for that location", f.ChildID, f.LocationID)
		case !placed && a.res.Siblings.Converged:
			a.fail(CheckSiblingFacts, f.ChildID, "", "child %s has the sibling criterion at %s but no sibling applying together holds a place there", f.ChildID, f.LocationID)
		case !placed:
			unsupported++
		}
	}
	if a.res.Siblings.Converged {
		// Every fact the final placement implies must have been used.
		for i, g := range groupOf {
			p := a.assigned[i]
			if g == nil || p < 0 {
				continue
			}
			l := a.m.progLoc[p]
			pol := &a.m.policy[l]
			if !slices.Contains(pol.tiers, a.m.sibling) && !slices.Contains(pol.required, a.m.sibling) {
				continue
			}
			for _, j := range g {
				if j != i && a.m.mask(j, l)&a.m.sibBit == 0 {
					a.fail(CheckSiblingFacts, a.inst.Children[j].ID, "", "child %s lacks the sibling criterion at %s although sibling %s holds a place there", a.inst.Children[j].ID, a.m.locIDs[l], a.inst.Children[i].ID)
				}
			}
		}
	}
	if unsupported > 0 {
		a.report.Notes = append(a.report.Notes, fmt.Sprintf(
			"%d sibling facts are kept from an earlier pass although the sibling ended elsewhere: no placement whose own facts are stable was found within the bound", unsupported))
	}
	if !a.res.Siblings.Converged {
		a.report.Notes = append(a.report.Notes, fmt.Sprintf(
			"the sibling iteration found no fixpoint in %d passes (its passes went round in a cycle, or reached the bound)", a.res.Siblings.Passes))
	}
}

// siblingGroups returns, per child index, the members of its sibling group
// (links are symmetric and transitive); nil for a child without siblings.
// Only the IDs that sibling links name are looked up.
func siblingGroups(inst *Instance) [][]int {
	out := make([][]int, len(inst.Children))
	var ids []string
	for i := range inst.Children {
		ids = append(ids, inst.Children[i].Siblings...)
	}
	if len(ids) == 0 {
		return out
	}
	idx := childIndexes(inst, ids)
	adj := make(map[int][]int)
	for i := range inst.Children {
		for _, sid := range inst.Children[i].Siblings {
			if j, ok := idx[sid]; ok {
				adj[i] = append(adj[i], j)
				adj[j] = append(adj[j], i)
			}
		}
	}
	for start := range adj {
		if out[start] != nil {
			continue
		}
		group := []int{start}
		seen := map[int]bool{start: true}
		for k := 0; k < len(group); k++ {
			for _, j := range adj[group[k]] {
				if !seen[j] {
					seen[j] = true
					group = append(group, j)
				}
			}
		}
		for _, j := range group {
			out[j] = group
		}
	}
	return out
}

// checkStability looks for justified envy and waste in one pass over the
// preferences: a child that prefers programme p to its assignment, is
// eligible there, and either finds an empty seat or beats the last
// admitted child of a seat group of p under that group's order. Both
// groups are full when p is full, so a child who would enter either group
// would be chosen by p. Tiers count location criteria and the sibling
// facts of the result, as in the engine.
func (a *auditor) checkStability() {
	// Children are checked in parallel chunks; each chunk keeps its first
	// violations and counts the rest, and the chunks are merged in child
	// order, so the report is the same as a sequential pass.
	type found struct {
		check string
		i, k  int
		p     int
		g     *refGroup
		mine  refKey
	}
	type chunk struct {
		listed []found
		more   map[string]int
	}
	chunks := make([]chunk, parallelism(len(a.inst.Children)))
	parallelFor(len(a.inst.Children), func(w, lo, hi int) {
		c := &chunks[w]
		c.more = make(map[string]int)
		add := func(f found) {
			if len(c.listed) < maxListedViolations {
				c.listed = append(c.listed, f)
			} else {
				c.more[f.check]++
			}
		}
		for i := lo; i < hi; i++ {
			prefs := a.inst.Children[i].Preferences
			for k := 0; k < int(a.choice[i]) && k < len(prefs); k++ {
				p := a.m.prefProgramme(i, k)
				l := a.m.progLoc[p]
				if a.inst.Programmes[p].Capacity == 0 || !a.m.eligible(i, l) {
					continue
				}
				if len(a.holders[p]) < a.inst.Programmes[p].Capacity {
					add(found{check: CheckWaste, i: i, k: k, p: p})
					continue
				}
				for _, g := range a.groups[p] {
					if g.capacity == 0 || len(g.members) == 0 {
						continue
					}
					if mine := g.key(a.m, i, l); mine.less(g.last) {
						add(found{check: CheckEnvy, i: i, k: k, p: p, g: g, mine: mine})
						break
					}
				}
			}
		}
	})
	for _, c := range chunks {
		for _, f := range c.listed {
			ch, prog := &a.inst.Children[f.i], &a.inst.Programmes[f.p]
			if f.check == CheckWaste {
				a.fail(CheckWaste, ch.ID, prog.ID, "child %s prefers %s (choice %d) to its assignment and is eligible, but %s has %d empty seats",
					ch.ID, prog.ID, f.k+1, prog.ID, prog.Capacity-len(a.holders[f.p]))
				continue
			}
			l, last := a.m.progLoc[f.p], f.g.members[len(f.g.members)-1]
			a.fail(CheckEnvy, ch.ID, prog.ID, "child %s prefers %s (choice %d) to its assignment, and %s holds a seat of type %s there with lower precedence: %s against %s",
				ch.ID, prog.ID, f.k+1, a.inst.Children[last].ID, f.g.seat, a.m.describe(f.i, l, f.mine), a.m.describe(last, l, f.g.last))
		}
		for check, n := range c.more {
			a.counts[check] += n
			a.report.Unlisted += n
		}
	}
}

func (a *auditor) checkReserveGuard() {
	ro := a.res.Reserve
	placed := 0
	for i, p := range a.assigned {
		if p >= 0 && a.inst.Children[i].Vulnerable {
			placed++
		}
	}
	if placed != ro.VulnerablePlaced {
		a.fail(CheckReserveGuard, "", "", "the result reports %d vulnerable children placed but assigns %d", ro.VulnerablePlaced, placed)
	}
	// The reserve applies exactly when some seat is reserved: it is decided
	// from capacities and shares, never from the outcome.
	reserved := false
	for i := range a.inst.Programmes {
		reserved = reserved || a.m.reserved(i) > 0
	}
	if ro.Applied != reserved {
		a.fail(CheckReserveGuard, "", "", "the result says the reserve applied is %v, but seats reserved by capacity and share is %v", ro.Applied, reserved)
	}
}

// checkReproducible solves the instance again from its stored seed.
func (a *auditor) checkReproducible() {
	again, err := Solve(a.inst)
	if err != nil {
		a.fail(CheckReproducible, "", "", "solving again failed: %v", err)
		return
	}
	for i := range again.Assignments {
		if again.Assignments[i] != a.res.Assignments[i] {
			a.fail(CheckReproducible, again.Assignments[i].ChildID, "", "solving again gives %+v instead of %+v", again.Assignments[i], a.res.Assignments[i])
			return
		}
	}
	again.Assignments = nil
	cp := *a.res
	cp.Assignments = nil
	if !reflect.DeepEqual(again, &cp) {
		a.fail(CheckReproducible, "", "", "solving again gives the same assignments but a different fill, reserve or sibling outcome")
	}
}
