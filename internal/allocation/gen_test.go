package allocation

import (
	"fmt"
	"math/rand/v2"
	"strconv"
)

// benchCriteria are invented policy criteria used by generated instances.
var benchCriteria = []string{"sibling", "foster", "work", "single_parent", "low_income", "local_resident"}

// benchInstance builds a large realistic instance with little memory:
// IDs are slices of one string and preference lists slices of one array.
// Children prefer programmes near a random home point, with some
// popular programmes, so that competition is uneven as in practice.
func benchInstance(nChildren, nPrefs, nProgs int, seed uint64) *Instance {
	rng := rand.New(rand.NewPCG(seed, 0x10c))
	inst := &Instance{
		Version:       FormatVersion,
		Seed:          SeedFromUint64(seed),
		DefaultPolicy: Policy{Tiers: []string{"sibling", "foster", "work", "single_parent", "low_income"}},
		Reserve:       ReservePolicy{DefaultShare: 0.2, Fill: FillLast},
	}
	progIDs := make([]string, nProgs)
	for i := range progIDs {
		progIDs[i] = "p" + strconv.Itoa(i)
	}
	nLoc := max(1, nProgs/4)
	locIDs := make([]string, nLoc)
	for i := range locIDs {
		locIDs[i] = "loc" + strconv.Itoa(i)
	}
	// One location in ten has its own policy; a few require local residence.
	for l := 0; l < nLoc; l += 10 {
		loc := Location{ID: locIDs[l], Policy: Policy{Tiers: []string{"foster", "sibling", "low_income", "work"}}}
		if l%50 == 0 {
			loc.Required = []string{"local_resident"}
		}
		if l%20 == 0 {
			share := 0.3
			loc.ReserveShare = &share
		}
		inst.Locations = append(inst.Locations, loc)
	}
	avgCap := max(1, nChildren*8/10/nProgs)
	inst.Programmes = make([]Programme, nProgs)
	for p := range inst.Programmes {
		inst.Programmes[p] = Programme{
			ID: progIDs[p], Location: locIDs[p/4%nLoc], AgeBand: "0-3",
			StartMonth: "2026-09", Capacity: 1 + rng.IntN(2*avgCap-1),
		}
	}
	// Criteria sets are shared slices from a pool, one per bit pattern.
	pool := make([][]string, 1<<len(benchCriteria))
	for b := range pool {
		for k, name := range benchCriteria {
			if b&(1<<k) != 0 {
				pool[b] = append(pool[b], name)
			}
		}
	}
	odds := []float64{0.04, 0.01, 0.6, 0.1, 0.15, 0.9}
	ids := make([]byte, 0, nChildren*8)
	idEnd := make([]int, nChildren)
	for i := range nChildren {
		ids = append(ids, 'c')
		ids = strconv.AppendInt(ids, int64(i), 10)
		idEnd[i] = len(ids)
	}
	idStr := string(ids)
	prefs := make([]string, nChildren*nPrefs)
	inst.Children = make([]Child, nChildren)
	window := max(4*nPrefs, 40)
	for i := range inst.Children {
		start := 0
		if i > 0 {
			start = idEnd[i-1]
		}
		ch := &inst.Children[i]
		ch.ID = idStr[start:idEnd[i]]
		twin := i > 0 && i%50 == 1 // about 2% of children apply with a sibling
		list := prefs[i*nPrefs : (i+1)*nPrefs : (i+1)*nPrefs]
		if twin {
			copy(list, inst.Children[i-1].Preferences)
			ch.Siblings = []string{inst.Children[i-1].ID}
		} else {
			home := rng.IntN(nProgs)
			for k := range list {
			retry:
				var p int
				if rng.IntN(5) == 0 {
					p = rng.IntN(nProgs/10+1) * 10 % nProgs // popular programmes
				} else {
					p = (home + rng.IntN(window) - window/2 + nProgs) % nProgs
				}
				for _, q := range list[:k] {
					if q == progIDs[p] {
						goto retry
					}
				}
				list[k] = progIDs[p]
			}
		}
		ch.Preferences = list
		bitsSet := 0
		for k, o := range odds {
			if rng.Float64() < o {
				bitsSet |= 1 << k
			}
		}
		ch.Criteria = pool[bitsSet]
		ch.Vulnerable = rng.IntN(100) < 15
		if rng.IntN(100) == 0 {
			ch.LocationCriteria = map[string][]string{locIDs[rng.IntN(nLoc)]: {"sibling"}}
		}
	}
	return inst
}

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
