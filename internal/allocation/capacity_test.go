package allocation

import (
	"errors"
	"runtime"
	"strings"
	"testing"
)

func hugeInstance(capacities ...int) *Instance {
	inst := &Instance{
		Version:       FormatVersion,
		Seed:          "huge",
		DefaultPolicy: Policy{Tiers: []string{"work"}},
		Reserve:       ReservePolicy{DefaultShare: 0.25},
	}
	var ids []string
	for i, c := range capacities {
		id := "p" + string(rune('a'+i))
		ids = append(ids, id)
		inst.Programmes = append(inst.Programmes, Programme{ID: id, Location: "l" + id, StartMonth: "2027-01", Capacity: c})
	}
	for _, id := range []string{"k1", "k2", "k3"} {
		inst.Children = append(inst.Children, Child{ID: id, Preferences: ids, Vulnerable: id == "k2"})
	}
	return inst
}

// TestSolveCapacityAtBound: two programmes at the documented bound are
// valid input; their seats summed used to overflow a 32-bit total and
// panic with "makeslice: len out of range".
func TestSolveCapacityAtBound(t *testing.T) {
	inst := hugeInstance(MaxCapacity, MaxCapacity)
	res, err := Solve(inst)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range res.Assignments {
		if a.ProgrammeID != "pa" {
			t.Errorf("child %s: got %q, want pa (it has room for everybody)", a.ChildID, a.ProgrammeID)
		}
	}
	if rep := Audit(inst, res); !rep.OK {
		t.Errorf("audit: %+v", rep.Violations)
	}
}

// TestSolveMemoryIndependentOfCapacity: the engine's memory depends on the
// children and their lists, not on how many places a programme has.
func TestSolveMemoryIndependentOfCapacity(t *testing.T) {
	allocated := func(capacity int) uint64 {
		inst := hugeInstance(capacity)
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		if _, err := Solve(inst); err != nil {
			t.Fatal(err)
		}
		runtime.ReadMemStats(&after)
		return after.TotalAlloc - before.TotalAlloc
	}
	small := allocated(3)
	big := allocated(1 << 22) // 64 MiB at 16 bytes a seat
	if big > small+1<<20 {
		t.Errorf("capacity 2^22 allocates %d bytes, capacity 3 allocates %d: memory grows with capacity", big, small)
	}
}

// TestCapacityAboveBoundIsFieldError: above MaxCapacity the instance is
// refused with a field error that names the bound.
func TestCapacityAboveBoundIsFieldError(t *testing.T) {
	inst := hugeInstance(3, MaxCapacity+1)
	err := Validate(inst)
	var ve *ValidationError
	if !errors.As(err, &ve) || len(ve.Errors) != 1 {
		t.Fatalf("want one field error, got %v", err)
	}
	if fe := ve.Errors[0]; fe.Field != "programmes[1].capacity" || !strings.Contains(fe.Message, "1073741824") {
		t.Errorf("got %+v, want programmes[1].capacity naming the bound 1073741824", fe)
	}
}
