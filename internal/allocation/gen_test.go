package allocation

import (
	"fmt"
	"math/rand/v2"
)

// genConfig shapes small random instances for property tests.
type genConfig struct {
	children, programmes, locations, maxPrefs, maxCap int
	reserve                                           bool
	siblings                                          bool
	perLocation                                       bool
}

// randomInstance builds a small random instance; every feature is
// exercised: tiers, required criteria, location criteria, reserves,
// capacity 0 and sibling groups.
func randomInstance(rng *rand.Rand, g genConfig) *Instance {
	crit := []string{"sibling", "work", "low_income", "foster", "local_resident"}
	inst := &Instance{
		Version: FormatVersion,
		Seed:    Seed(fmt.Sprintf("s%d", rng.Uint64())),
		Round:   1 + rng.IntN(3),
		DefaultPolicy: Policy{
			Tiers: []string{"sibling", "work"},
		},
		Reserve: ReservePolicy{Fill: []FillOrder{FillFirst, FillLast}[rng.IntN(2)]},
	}
	if g.perLocation {
		inst.TieBreak = TieBreakPerLocation
	}
	if rng.IntN(2) == 0 {
		inst.Reserve.Rounding = RoundHalfUp
	}
	if g.reserve {
		inst.Reserve.DefaultShare = []float64{0.2, 0.3, 0.5, 1}[rng.IntN(4)]
	}
	for l := range g.locations {
		loc := Location{ID: fmt.Sprintf("L%d", l)}
		perm := rng.Perm(len(crit))
		for _, k := range perm[:rng.IntN(4)] {
			loc.Tiers = append(loc.Tiers, crit[k])
		}
		if rng.IntN(5) == 0 {
			loc.Required = []string{crit[rng.IntN(len(crit))]}
		}
		if g.reserve && rng.IntN(3) == 0 {
			share := rng.Float64()
			loc.ReserveShare = &share
		}
		// Some locations follow the default policy.
		if rng.IntN(4) > 0 {
			inst.Locations = append(inst.Locations, loc)
		}
	}
	for p := range g.programmes {
		inst.Programmes = append(inst.Programmes, Programme{
			ID:         fmt.Sprintf("P%d", p),
			Location:   fmt.Sprintf("L%d", rng.IntN(g.locations)),
			StartMonth: "2026-01",
			Capacity:   rng.IntN(g.maxCap + 1),
		})
	}
	for i := range g.children {
		ch := Child{ID: fmt.Sprintf("k%03d", i), Vulnerable: rng.IntN(3) == 0}
		for _, p := range rng.Perm(g.programmes)[:rng.IntN(min(g.maxPrefs, g.programmes)+1)] {
			ch.Preferences = append(ch.Preferences, fmt.Sprintf("P%d", p))
		}
		for _, c := range crit {
			if rng.IntN(3) == 0 {
				ch.Criteria = append(ch.Criteria, c)
			}
		}
		if rng.IntN(6) == 0 && g.programmes > 0 {
			loc := inst.Programmes[rng.IntN(g.programmes)].Location
			ch.LocationCriteria = map[string][]string{loc: {crit[rng.IntN(len(crit))]}}
		}
		if g.siblings && i > 0 && rng.IntN(3) == 0 {
			ch.Siblings = []string{fmt.Sprintf("k%03d", rng.IntN(i))}
		}
		inst.Children = append(inst.Children, ch)
	}
	return inst
}
