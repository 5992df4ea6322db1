package crisis_test

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/loket-kinderopvang/loket/internal/allocation"
	"github.com/loket-kinderopvang/loket/internal/catalog"
	"github.com/loket-kinderopvang/loket/internal/crisis"
)

var weekdays = catalog.WeekHours{{Open: "07:00", Close: "18:00"}, {Open: "07:00", Close: "18:00"}, {Open: "07:00", Close: "18:00"},
	{Open: "07:00", Close: "18:00"}, {Open: "07:00", Close: "18:00"}}

func need(id string, lat, lon float64) crisis.Need {
	return crisis.Need{ID: id, Lat: lat, Lon: lon, Born: time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC),
		Start: time.Date(2027, 1, 4, 0, 0, 0, 0, time.UTC), Days: []string{"mon", "tue", "thu"}}
}

// TestNearbyNearestFittingFirst: only places that fit age, days, day part and
// hours within the radius, nearest first.
func TestNearbyNearestFittingFirst(t *testing.T) {
	site := func(id string, km float64, mod func(*crisis.Site)) crisis.Site {
		s := crisis.Site{ID: id, Lat: 51.0 + km/111.32, Lon: 4.5, MaxAgeMonths: 36, Hours: weekdays,
			Free: map[string]int{"2027-01|baby": 1}}
		if mod != nil {
			mod(&s)
		}
		return s
	}
	sites := []crisis.Site{
		site("far", 9, nil),
		site("near", 2, nil),
		site("outside-radius", 16, nil),
		site("too-young-only", 1, func(s *crisis.Site) { s.MaxAgeMonths = 6 }),
		site("closed-thursday", 1.5, func(s *crisis.Site) { s.Hours[3] = catalog.DayHours{} }),
		site("short-days", 1.2, func(s *crisis.Site) { s.Hours[0] = catalog.DayHours{Open: "08:00", Close: "12:00"} }),
		site("full", 0.5, func(s *crisis.Site) { s.Free = map[string]int{"2027-01|baby": 0} }),
		site("toddlers-only", 0.7, func(s *crisis.Site) { s.Free = map[string]int{"2027-01|toddler": 3} }),
		site("middle", 5, nil),
	}
	got := crisis.Nearby([]crisis.Need{need("a", 51.0, 4.5)}, sites, 15)
	var names []string
	for _, c := range got[0] {
		names = append(names, sites[c.Site].ID)
	}
	if fmt.Sprint(names) != "[near middle far]" {
		t.Fatalf("candidates = %v, want [near middle far]", names)
	}
	half := need("b", 51.0, 4.5)
	half.HalfDays = true
	if got := crisis.Nearby([]crisis.Need{half}, sites, 15); sites[got[0][0].Site].ID != "short-days" {
		t.Fatalf("a half-day need should fit the short days first, got %s", sites[got[0][0].Site].ID)
	}
	wider := need("c", 51.0, 4.5)
	wider.WiderHours = true
	sites[8].EarlyHours = true
	if got := crisis.Nearby([]crisis.Need{wider}, sites, 15); len(got[0]) != 1 || sites[got[0][0].Site].ID != "middle" {
		t.Fatalf("wider hours need a location with early or late hours, got %v", got[0])
	}
}

// region: n locations spread over about 60 × 60 km, a few places each, and
// m affected children around the centre.
func region(n, m int) ([]crisis.Site, []crisis.Need) {
	rng := rand.New(rand.NewPCG(1, 2))
	sites := make([]crisis.Site, n)
	for i := range sites {
		sites[i] = crisis.Site{ID: fmt.Sprintf("loc-%05d", i), Lat: 51.0 + rng.Float64()*0.54, Lon: 4.5 + rng.Float64()*0.86,
			MaxAgeMonths: 36, Hours: weekdays, Free: map[string]int{"2027-01|baby": rng.IntN(3), "2027-01|toddler": rng.IntN(3)}}
	}
	needs := make([]crisis.Need, m)
	for i := range needs {
		needs[i] = need(fmt.Sprintf("child-%04d", i), 51.27+rng.Float64()*0.05, 4.93+rng.Float64()*0.05)
	}
	return sites, needs
}

// TestReplacementPlacesEveryoneOnce: the engine over the candidates never
// places a child twice nor overfills a place, and the crisis tier is on top.
func TestReplacementPlacesEveryoneOnce(t *testing.T) {
	sites, needs := region(600, 200)
	inst := crisis.Instance(needs, sites, 15, []string{"vulnerable"}, "7")
	if inst.DefaultPolicy.Tiers[0] != crisis.CrisisTier {
		t.Fatalf("tiers = %v, want the crisis tier first", inst.DefaultPolicy.Tiers)
	}
	res, err := allocation.Solve(inst)
	if err != nil {
		t.Fatal(err)
	}
	if rep := allocation.Audit(inst, res); !rep.OK {
		t.Fatalf("audit: %+v", rep)
	}
	seen, load, placed := map[string]bool{}, map[string]int{}, 0
	for _, a := range res.Assignments {
		if seen[a.ChildID] {
			t.Fatalf("child %s twice", a.ChildID)
		}
		seen[a.ChildID] = true
		if a.ProgrammeID != "" {
			load[a.ProgrammeID]++
			placed++
		}
	}
	for _, p := range inst.Programmes {
		if load[p.ID] > p.Capacity {
			t.Fatalf("%s holds %d of %d places", p.ID, load[p.ID], p.Capacity)
		}
	}
	// No child is left without a place while a place within its reach is
	// free: it was placed, or every nearby place it lists is full.
	for _, ch := range inst.Children {
		if seen[ch.ID] && placedOf(res, ch.ID) != "" {
			continue
		}
		for _, p := range ch.Preferences {
			if load[p] < capacity(inst, p) {
				t.Fatalf("child %s left without a place while %s has room", ch.ID, p)
			}
		}
	}
	if placed < 100 {
		t.Fatalf("placed only %d of 200", placed)
	}
}

// BenchmarkReplacement500In6000: re-placement of 500 affected children in a
// region with 6,000 locations: the nearby search and the engine (the goal is
// well under a second).
func BenchmarkReplacement500In6000(b *testing.B) {
	sites, needs := region(6000, 500)
	b.ResetTimer()
	for b.Loop() {
		inst := crisis.Instance(needs, sites, 15, []string{"vulnerable"}, "7")
		if _, err := allocation.Solve(inst); err != nil {
			b.Fatal(err)
		}
	}
}

func placedOf(res *allocation.Result, child string) string {
	for _, a := range res.Assignments {
		if a.ChildID == child {
			return a.ProgrammeID
		}
	}
	return ""
}

func capacity(inst *allocation.Instance, programme string) int {
	for _, p := range inst.Programmes {
		if p.ID == programme {
			return p.Capacity
		}
	}
	return 0
}
