package allocation

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/example-result.json")

// TestExampleResult checks that the documented example solves to exactly
// the stored result. Run `go test -run TestExampleResult -update` after an
// intended change and review the diff.
func TestExampleResult(t *testing.T) {
	in, err := os.ReadFile("testdata/example-instance.json")
	if err != nil {
		t.Fatal(err)
	}
	var compact bytes.Buffer
	if _, err := SolveJSON(bytes.NewReader(in), &compact, SolveOptions{Explain: ExplainAll, Audit: AuditOptions{Reproduce: true}}); err != nil {
		t.Fatal(err)
	}
	// The output is compact; the golden file is indented for review.
	var out bytes.Buffer
	if err := json.Indent(&out, compact.Bytes(), "", "  "); err != nil {
		t.Fatal(err)
	}
	const golden = "testdata/example-result.json"
	if *update {
		if err := os.WriteFile(golden, out.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(out.Bytes(), want) {
		t.Errorf("example result differs from %s; rerun with -update and review the diff", golden)
	}
	var parsed Output
	if err := json.Unmarshal(out.Bytes(), &parsed); err != nil {
		t.Fatalf("output does not parse back: %v", err)
	}
	if !parsed.Audit.OK {
		t.Errorf("example audit failed: %+v", parsed.Audit.Violations)
	}
}

func TestSolveJSONErrors(t *testing.T) {
	cases := map[string]string{
		"syntax":        `{"version": 1,`,
		"unknown field": `{"version": 1, "seed": "x", "programmes": [], "children": [], "colour": "red"}`,
		"version":       `{"version": 2, "seed": "x", "programmes": [], "children": []}`,
		"invalid":       `{"version": 1, "seed": "x", "programmes": [{"id": "p", "location": "l", "start_month": "2026-01", "capacity": -1}], "children": []}`,
	}
	for name, in := range cases {
		if _, err := SolveJSON(strings.NewReader(in), &bytes.Buffer{}, SolveOptions{}); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

// TestAuditDetectsTampering changes a correct result in ways an auditor
// must notice.
func TestAuditDetectsTampering(t *testing.T) {
	f, err := os.Open("testdata/example-instance.json")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	inst, err := DecodeInstance(f)
	if err != nil {
		t.Fatal(err)
	}
	fresh := func() *Result {
		res, err := Solve(inst)
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	idx := func(res *Result, id string) int {
		for i, a := range res.Assignments {
			if a.ChildID == id {
				return i
			}
		}
		t.Fatalf("no child %s", id)
		return -1
	}
	cases := []struct {
		name   string
		tamper func(*Result)
		check  string
	}{
		{"drop a placed child", func(r *Result) {
			i := idx(r, "kind-12")
			r.Assignments[i] = Assignment{ChildID: "kind-12", Lottery: r.Assignments[i].Lottery}
		}, CheckWaste},
		{"swap in a child without precedence", func(r *Result) {
			// kind-01 (lottery 12) takes the open seat of kind-12 (lottery 2).
			a, b := idx(r, "kind-01"), idx(r, "kind-12")
			r.Assignments[a].ProgrammeID, r.Assignments[a].Choice, r.Assignments[a].Seat = "boomhut-baby", 1, SeatOpen
			r.Assignments[b] = Assignment{ChildID: "kind-12", Lottery: r.Assignments[b].Lottery}
		}, CheckEnvy},
		{"ineligible", func(r *Result) {
			i := idx(r, "kind-05") // lacks local_resident, required at De Vlinder
			r.Assignments[i].ProgrammeID, r.Assignments[i].Choice, r.Assignments[i].Seat = "vlinder-baby", 1, SeatOpen
		}, CheckEligible},
		{"over capacity", func(r *Result) {
			i := idx(r, "kind-05")
			r.Assignments[i].ProgrammeID, r.Assignments[i].Choice, r.Assignments[i].Seat = "boomhut-baby", 2, SeatOpen
		}, CheckCapacity},
		{"not a preference", func(r *Result) {
			i := idx(r, "kind-01")
			r.Assignments[i].ProgrammeID, r.Assignments[i].Choice = "zonnetje-flex", 1
		}, CheckPreferences},
		{"lottery", func(r *Result) { r.Assignments[0].Lottery++ }, CheckLottery},
		{"fill", func(r *Result) { r.Fill[0].Filled-- }, CheckFill},
	}
	if rep := Audit(inst, fresh()); !rep.OK {
		t.Fatalf("untouched result fails: %+v", rep.Violations)
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res := fresh()
			tc.tamper(res)
			rep := Audit(inst, res)
			if rep.OK {
				t.Fatal("audit passed a tampered result")
			}
			for _, c := range rep.Checks {
				if c.Name == tc.check && !c.OK {
					for _, v := range rep.Violations {
						if v.Message == "" {
							t.Errorf("violation without words: %+v", v)
						}
					}
					return
				}
			}
			t.Errorf("check %s did not fire: %+v", tc.check, rep.Violations)
		})
	}
}
