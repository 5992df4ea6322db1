package allocation

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func validInstance() *Instance {
	return &Instance{
		Version:       FormatVersion,
		Seed:          "s",
		DefaultPolicy: Policy{Tiers: []string{"sibling", "work"}},
		Programmes: []Programme{
			{ID: "p1", Location: "l1", StartMonth: "2026-09", Capacity: 2},
			{ID: "p2", Location: "l2", StartMonth: "2026-10", Capacity: 1},
		},
		Children: []Child{
			{ID: "c1", Preferences: []string{"p1", "p2"}, Siblings: []string{"c2"}},
			{ID: "c2", Preferences: []string{"p2"}},
		},
	}
}

func TestValidateFieldErrors(t *testing.T) {
	half := 1.5
	cases := []struct {
		name   string
		mutate func(*Instance)
		field  string
		text   string
	}{
		{"unknown programme", func(in *Instance) { in.Children[0].Preferences[1] = "p9" }, "children[0].preferences[1]", "unknown programme"},
		{"programme twice", func(in *Instance) { in.Children[0].Preferences[1] = "p1" }, "children[0].preferences[1]", "listed twice"},
		{"duplicate child", func(in *Instance) { in.Children[1].ID = "c1" }, "children[1].id", "duplicate child"},
		{"duplicate programme", func(in *Instance) { in.Programmes[1].ID = "p1" }, "programmes[1].id", "duplicate programme"},
		{"negative capacity", func(in *Instance) { in.Programmes[0].Capacity = -1 }, "programmes[0].capacity", ">= 0"},
		{"bad month", func(in *Instance) { in.Programmes[0].StartMonth = "2026-13" }, "programmes[0].start_month", "YYYY-MM"},
		{"share", func(in *Instance) { in.Reserve.DefaultShare = -0.1 }, "reserve.default_share", "[0,1]"},
		{"location share", func(in *Instance) { in.Locations = []Location{{ID: "l1", ReserveShare: &half}} }, "locations[0].reserve_share", "[0,1]"},
		{"fill order", func(in *Instance) { in.Reserve.Fill = "middle" }, "reserve.fill", "unknown fill order"},
		{"rounding", func(in *Instance) { in.Reserve.Rounding = "up" }, "reserve.rounding", "unknown rounding"},
		{"tie break", func(in *Instance) { in.TieBreak = "coin" }, "tie_break", "unknown value"},
		{"seed", func(in *Instance) { in.Seed = "" }, "seed", "required"},
		{"unknown sibling", func(in *Instance) { in.Children[0].Siblings = []string{"c9"} }, "children[0].siblings[0]", "unknown child"},
		{"own sibling", func(in *Instance) { in.Children[0].Siblings = []string{"c1"} }, "children[0].siblings[0]", "own sibling"},
		{"location criteria", func(in *Instance) { in.Children[0].LocationCriteria = map[string][]string{"l9": {"work"}} }, `children[0].location_criteria["l9"]`, "unknown location"},
		{"duplicate tier", func(in *Instance) { in.DefaultPolicy.Tiers = []string{"work", "work"} }, "default_policy.tiers[1]", "duplicate criterion"},
		{"newline in id", func(in *Instance) { in.Children[1].ID = "c\n2" }, "children[1].id", "control characters"},
		{"version", func(in *Instance) { in.Version = 7 }, "version", "unsupported"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			inst := validInstance()
			tc.mutate(inst)
			err := Validate(inst)
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("want a ValidationError, got %v", err)
			}
			for _, fe := range ve.Errors {
				if fe.Field == tc.field && strings.Contains(fe.Message, tc.text) {
					return
				}
			}
			t.Errorf("no error on %s containing %q in %v", tc.field, tc.text, ve.Errors)
		})
	}
	if err := Validate(validInstance()); err != nil {
		t.Errorf("valid instance: %v", err)
	}
}

func TestSolveRejectsInvalid(t *testing.T) {
	inst := validInstance()
	inst.Programmes[0].Capacity = -3
	if _, err := Solve(inst); err == nil || !strings.Contains(err.Error(), "programmes[0].capacity") {
		t.Errorf("got %v", err)
	}
}

func TestSeedJSON(t *testing.T) {
	var a, b struct{ Seed Seed }
	if err := json.Unmarshal([]byte(`{"Seed": 18446744073709551615}`), &a); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(`{"Seed": "18446744073709551615"}`), &b); err != nil {
		t.Fatal(err)
	}
	if a.Seed != b.Seed || a.Seed != SeedFromUint64(^uint64(0)) {
		t.Errorf("integer and string seeds differ: %q %q", a.Seed, b.Seed)
	}
	for _, bad := range []string{`-1`, `1.5`, `true`} {
		if err := json.Unmarshal([]byte(`{"Seed": `+bad+`}`), &a); err == nil {
			t.Errorf("seed %s accepted", bad)
		}
	}
}

func TestReservedSeats(t *testing.T) {
	cases := []struct {
		share    float64
		capacity int
		rounding Rounding
		want     int
	}{
		{0.2, 7, RoundDown, 1}, {0.3, 10, RoundDown, 3}, {0.3, 5, RoundDown, 1}, {0.3, 5, RoundHalfUp, 2},
		{0.2, 4, RoundHalfUp, 1}, {0, 9, RoundDown, 0}, {1, 3, RoundDown, 3}, {0.5, 0, RoundHalfUp, 0},
	}
	for _, tc := range cases {
		if got := ReservedSeats(tc.share, tc.capacity, tc.rounding); got != tc.want {
			t.Errorf("ReservedSeats(%v, %d, %s) = %d, want %d", tc.share, tc.capacity, tc.rounding, got, tc.want)
		}
	}
}

// TestLotteryDerivation pins the documented formula so that anyone can
// recompute a lottery value with sha256sum.
func TestLotteryDerivation(t *testing.T) {
	// printf 'loket-lottery-v1\nvoorbeeld\n1\nkind-01' | sha256sum
	if got := LotteryValue("voorbeeld", 1, "kind-01"); got != 0xfa3944c67c1ab5b0 {
		t.Errorf("LotteryValue = %#x", got)
	}
	// printf 'loket-lottery-v1\nvoorbeeld\n1\nloc-a\nkind-01' | sha256sum
	if got := LocationLotteryValue("voorbeeld", 1, "loc-a", "kind-01"); got != 0x6cd791337754b6ff {
		t.Errorf("LocationLotteryValue = %#x", got)
	}
}

func TestEmptyInstance(t *testing.T) {
	inst := &Instance{Version: FormatVersion, Seed: "leeg"}
	res, err := Solve(inst)
	if err != nil {
		t.Fatal(err)
	}
	if rep := Audit(inst, res); !rep.OK || len(res.Assignments) != 0 {
		t.Errorf("empty instance: %+v %+v", res, rep)
	}
}
