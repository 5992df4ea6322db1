package allocation

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"
	"testing/quick"
)

// instanceFromSeed draws a small random instance with every feature on
// or off at random, so one seed fully describes a test case.
func instanceFromSeed(seed uint64) *Instance {
	rng := rand.New(rand.NewPCG(seed, 0xa110c))
	return randomInstance(rng, genConfig{
		children:    1 + rng.IntN(40),
		programmes:  1 + rng.IntN(10),
		locations:   1 + rng.IntN(4),
		maxPrefs:    1 + rng.IntN(5),
		maxCap:      rng.IntN(5),
		reserve:     rng.IntN(2) == 0,
		siblings:    rng.IntN(2) == 0,
		perLocation: rng.IntN(4) == 0,
	})
}

var quickConfig = &quick.Config{MaxCount: 2000}

// TestPropertyAuditClean: on random instances the independent audit finds
// no justified envy, no waste, no capacity or eligibility problem, and a
// re-run from the seed reproduces the result.
func TestPropertyAuditClean(t *testing.T) {
	f := func(seed uint64) bool {
		inst := instanceFromSeed(seed)
		res, err := Solve(inst)
		if err != nil {
			t.Logf("seed %d: %v", seed, err)
			return false
		}
		rep := AuditWith(inst, res, AuditOptions{Reproduce: true})
		if !rep.OK {
			t.Logf("seed %d: %+v", seed, rep.Violations)
		}
		return rep.OK
	}
	if err := quick.Check(f, quickConfig); err != nil {
		t.Fatal(err)
	}
}

func TestPropertySameSeedSameResult(t *testing.T) {
	f := func(seed uint64) bool {
		a, err1 := Solve(instanceFromSeed(seed))
		b, err2 := Solve(instanceFromSeed(seed))
		return err1 == nil && err2 == nil && reflect.DeepEqual(a, b)
	}
	if err := quick.Check(f, quickConfig); err != nil {
		t.Fatal(err)
	}
}

// canonical describes a result independently of input order.
type canonical struct {
	Assignments map[string]Assignment
	Fill        map[string]ProgrammeFill
	Reserve     ReserveOutcome
	Siblings    SiblingOutcome
}

func canonicalize(res *Result) canonical {
	c := canonical{Assignments: map[string]Assignment{}, Fill: map[string]ProgrammeFill{}, Reserve: res.Reserve, Siblings: res.Siblings}
	for _, a := range res.Assignments {
		c.Assignments[a.ChildID] = a
	}
	for _, f := range res.Fill {
		c.Fill[f.ProgrammeID] = f
	}
	return c
}

// shuffled returns a deep-enough copy of inst with children, programmes,
// locations and criteria lists in a random order. Preferences keep their
// order: that is the child's ranking.
func shuffled(inst *Instance, rng *rand.Rand) *Instance {
	cp := *inst
	cp.Children = slices.Clone(inst.Children)
	cp.Programmes = slices.Clone(inst.Programmes)
	cp.Locations = slices.Clone(inst.Locations)
	rng.Shuffle(len(cp.Children), func(i, j int) { cp.Children[i], cp.Children[j] = cp.Children[j], cp.Children[i] })
	rng.Shuffle(len(cp.Programmes), func(i, j int) { cp.Programmes[i], cp.Programmes[j] = cp.Programmes[j], cp.Programmes[i] })
	rng.Shuffle(len(cp.Locations), func(i, j int) { cp.Locations[i], cp.Locations[j] = cp.Locations[j], cp.Locations[i] })
	for i := range cp.Children {
		crit := slices.Clone(cp.Children[i].Criteria)
		rng.Shuffle(len(crit), func(a, b int) { crit[a], crit[b] = crit[b], crit[a] })
		cp.Children[i].Criteria = crit
	}
	return &cp
}

func TestPropertyShuffleInvariant(t *testing.T) {
	f := func(seed uint64) bool {
		inst := instanceFromSeed(seed)
		a, err1 := Solve(inst)
		b, err2 := Solve(shuffled(inst, rand.New(rand.NewPCG(seed, 7))))
		if err1 != nil || err2 != nil {
			t.Logf("seed %d: %v %v", seed, err1, err2)
			return false
		}
		ok := reflect.DeepEqual(canonicalize(a), canonicalize(b))
		if !ok {
			t.Logf("seed %d: results differ after shuffling", seed)
		}
		return ok
	}
	if err := quick.Check(f, quickConfig); err != nil {
		t.Fatal(err)
	}
}

// TestPropertyChildOptimal enumerates every matching of tiny instances and
// checks, with a literal slot-by-slot choice function written for this
// test, that the result is stable and that no stable matching gives any
// child a place it prefers: no child gets a place below one it was
// entitled to.
func TestPropertyChildOptimal(t *testing.T) {
	f := func(seed uint64) bool {
		rng := rand.New(rand.NewPCG(seed, 0xb7))
		inst := randomInstance(rng, genConfig{
			children: 1 + rng.IntN(6), programmes: 1 + rng.IntN(3), locations: 1 + rng.IntN(2),
			maxPrefs: 3, maxCap: 2, reserve: rng.IntN(2) == 0, perLocation: rng.IntN(3) == 0,
		})
		res, err := Solve(inst)
		if err != nil {
			return false
		}
		m, err := newRefModel(inst, res)
		if err != nil {
			return false
		}
		got := make([]int, len(inst.Children)) // rank of assignment, len(prefs) = none
		for i, a := range res.Assignments {
			got[i] = len(inst.Children[i].Preferences)
			if a.Choice > 0 {
				got[i] = int(a.Choice) - 1
			}
		}
		if !bruteStable(m, got) {
			t.Logf("seed %d: the result is not stable", seed)
			return false
		}
		ok := true
		enumerate(inst, func(match []int) {
			if ok && bruteStable(m, match) {
				for i := range match {
					if match[i] < got[i] {
						t.Logf("seed %d: child %s gets choice %d in another stable matching but %d here", seed, inst.Children[i].ID, match[i]+1, got[i]+1)
						ok = false
					}
				}
			}
		})
		return ok
	}
	if err := quick.Check(f, &quick.Config{MaxCount: 1000}); err != nil {
		t.Fatal(err)
	}
}

// enumerate calls fn with every assignment of children to one of their
// preferences or none (the rank len(prefs)).
func enumerate(inst *Instance, fn func([]int)) {
	match := make([]int, len(inst.Children))
	var rec func(i int)
	rec = func(i int) {
		if i == len(match) {
			fn(match)
			return
		}
		for k := 0; k <= len(inst.Children[i].Preferences); k++ {
			match[i] = k
			rec(i + 1)
		}
	}
	rec(0)
}

// choose is the programme's choice function, slot by slot: each slot in
// processing order takes the best remaining applicant under its order.
func choose(m *refModel, p int, applicants []int) []int {
	prog := &m.inst.Programmes[p]
	l := m.progLoc[p]
	r := m.reserved(p)
	slots := make([]SeatType, 0, prog.Capacity)
	open := slices.Repeat([]SeatType{SeatOpen}, prog.Capacity-r)
	res := slices.Repeat([]SeatType{SeatReserved}, r)
	if m.inst.Reserve.fill() == FillFirst {
		slots = append(append(slots, res...), open...)
	} else {
		slots = append(append(slots, open...), res...)
	}
	left := slices.Clone(applicants)
	var chosen []int
	for _, s := range slots {
		best := -1
		for k, i := range left {
			var ki, kb refKey
			if s == SeatReserved {
				ki = m.reservedKey(i, l)
			} else {
				ki = m.baseKey(i, l)
			}
			if best >= 0 {
				if s == SeatReserved {
					kb = m.reservedKey(left[best], l)
				} else {
					kb = m.baseKey(left[best], l)
				}
			}
			if best < 0 || ki.less(kb) {
				best = k
			}
		}
		if best < 0 {
			break
		}
		chosen = append(chosen, left[best])
		left = slices.Delete(left, best, best+1)
	}
	return chosen
}

// bruteStable checks individual rationality and the absence of blocking
// pairs for a matching given as preference ranks.
func bruteStable(m *refModel, match []int) bool {
	inst := m.inst
	holders := make(map[string][]int)
	for i, k := range match {
		ch := &inst.Children[i]
		if k < len(ch.Preferences) {
			holders[ch.Preferences[k]] = append(holders[ch.Preferences[k]], i)
		}
	}
	for p := range inst.Programmes {
		prog := &inst.Programmes[p]
		h := holders[prog.ID]
		for _, i := range h {
			if !m.eligible(i, m.progLoc[p]) {
				return false
			}
		}
		if len(choose(m, p, h)) != len(h) {
			return false
		}
	}
	for i, k := range match {
		ch := &inst.Children[i]
		for j := 0; j < k && j < len(ch.Preferences); j++ {
			p := m.progIndex[ch.Preferences[j]]
			if !m.eligible(i, m.progLoc[p]) {
				continue
			}
			if slices.Contains(choose(m, p, append(slices.Clone(holders[inst.Programmes[p].ID]), i)), i) {
				return false
			}
		}
	}
	return true
}

// FuzzSolve drives random instances from fuzzer bytes; the seed corpus
// runs with every `go test`.
func FuzzSolve(f *testing.F) {
	for _, s := range []uint64{0, 1, 2, 42, 2026, 0xdeadbeef} {
		b := make([]byte, 8)
		binary.LittleEndian.PutUint64(b, s)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var buf [8]byte
		copy(buf[:], data)
		seed := binary.LittleEndian.Uint64(buf[:])
		inst := instanceFromSeed(seed)
		res, err := Solve(inst)
		if err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
		if rep := Audit(inst, res); !rep.OK {
			t.Fatalf("seed %d: %v", seed, fmt.Sprint(rep.Violations))
		}
		if _, err := Explain(inst, res); err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
	})
}
