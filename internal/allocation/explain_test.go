package allocation

import (
	"os"
	"strings"
	"testing"
)

func exampleExplanations(t *testing.T) (*Instance, *Result, map[string]Explanation) {
	t.Helper()
	f, err := os.Open("testdata/example-instance.json")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	inst, err := DecodeInstance(f)
	if err != nil {
		t.Fatal(err)
	}
	res, err := Solve(inst)
	if err != nil {
		t.Fatal(err)
	}
	list, err := Explain(inst, res)
	if err != nil {
		t.Fatal(err)
	}
	byID := make(map[string]Explanation, len(list))
	for _, e := range list {
		byID[e.ChildID] = e
	}
	return inst, res, byID
}

func TestExplanationsCoverHigherChoices(t *testing.T) {
	inst, res, byID := exampleExplanations(t)
	for i, a := range res.Assignments {
		e := byID[a.ChildID]
		want := len(inst.Children[i].Preferences)
		if a.Choice > 0 {
			want = int(a.Choice) - 1
		}
		if len(e.NotReceived) != want {
			t.Errorf("%s: %d refusals, want %d", a.ChildID, len(e.NotReceived), want)
		}
		for _, rf := range e.NotReceived {
			if rf.Reason == ReasonFull && rf.OpenCutoff == nil && rf.ReservedCutoff == nil {
				t.Errorf("%s: full without cut-off at %s", a.ChildID, rf.ProgrammeID)
			}
			// A child turned away beats no cut-off of the seats it could take.
			if co := rf.OpenCutoff; co != nil && (co.Tier > rf.Tier || co.Tier == rf.Tier && co.Lottery > rf.Lottery) {
				t.Errorf("%s: better than the open cut-off at %s", a.ChildID, rf.ProgrammeID)
			}
		}
		if e.TextNL == "" || e.TextEN == "" || e.TextNL != e.Dutch() {
			t.Errorf("%s: missing texts", a.ChildID)
		}
	}
}

func TestExplanationTexts(t *testing.T) {
	_, _, byID := exampleExplanations(t)
	cases := []struct {
		child string
		nl    []string
		en    []string
	}{
		// No place at all, both choices full with a same-tier cut-off.
		{"kind-01", []string{"geen plaats", "Alle plaatsen zijn bezet", "'ouders werken of studeren'", "lotnummer 12", "lotnummer 2", "Er was ook 1 plaats voorbehouden", "lager nummer"},
			[]string{"no place", "lottery number 12"}},
		// Not eligible at De Vlinder.
		{"kind-05", []string{"alleen voor kinderen met: 'woont in de gemeente'"}, []string{"only takes children with: 'lives in the municipality'"}},
		// Capacity 0.
		{"kind-06", []string{"geen vrije plaatsen"}, []string{"no places in this round"}},
		// A vulnerable child on a reserved seat, after a higher tier took the first choice.
		{"kind-10", []string{"voorbehouden is voor kinderen in een kwetsbare situatie", "meer voorrang", "'broer of zus in dezelfde opvang'"},
			[]string{"reserved for children in a vulnerable situation", "more priority"}},
		// First choice: no refusals.
		{"kind-12", []string{"Dat was uw 1e keuze."}, []string{"choice number 1"}},
	}
	for _, tc := range cases {
		e := byID[tc.child]
		for _, s := range tc.nl {
			if !strings.Contains(e.Dutch(), s) {
				t.Errorf("%s Dutch lacks %q:\n%s", tc.child, s, e.Dutch())
			}
		}
		for _, s := range tc.en {
			if !strings.Contains(e.English(), s) {
				t.Errorf("%s English lacks %q:\n%s", tc.child, s, e.English())
			}
		}
	}
}
