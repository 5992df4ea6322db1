package allocation

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"strconv"
)

// generatedCriteria are invented policy criteria used by generated instances.
var generatedCriteria = []string{"sibling", "foster", "work", "single_parent", "low_income", "local_resident"}

// Generate builds a large realistic instance with little memory, the same
// for the same arguments (loket allocate generate, the benchmarks):
// IDs are slices of one string and preference lists slices of one array.
// Children prefer programmes near a random home point, with some
// popular programmes, so that competition is uneven as in practice.
//
// It needs 1 <= nPrefs <= nProgs.
func Generate(nChildren, nPrefs, nProgs int, seed uint64) *Instance {
	if nPrefs < 1 || nProgs < nPrefs || nChildren < 0 {
		panic(fmt.Sprintf("allocation.Generate: need 1 <= preferences (%d) <= programmes (%d) and children >= 0", nPrefs, nProgs))
	}
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
	pool := make([][]string, 1<<len(generatedCriteria))
	for b := range pool {
		for k, name := range generatedCriteria {
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
					p = ((home+rng.IntN(window)-window/2)%nProgs + nProgs) % nProgs
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

// EncodeInstance writes an instance as compact JSON in the format of
// docs/allocation-format.md, one programme and one child at a time, so
// that a million-child file never sits in memory as a whole.
func EncodeInstance(w io.Writer, inst *Instance) error {
	head := *inst
	head.Programmes, head.Children = nil, nil
	b, err := json.Marshal(&head)
	if err != nil {
		return fmt.Errorf("allocation: encode instance: %w", err)
	}
	// Programmes and children are the last fields of Instance: cut them
	// off the header and stream them.
	const tail = `"programmes":null,"children":null}`
	if len(b) < len(tail) || string(b[len(b)-len(tail):]) != tail {
		return fmt.Errorf("allocation: encode instance: unexpected header %.80s", b)
	}
	bw := bufio.NewWriterSize(w, 1<<20)
	bw.Write(b[:len(b)-len(tail)])
	writeList := func(name string, n int, item func(int) any) error {
		bw.WriteString(`"` + name + `":[`)
		for i := range n {
			if i > 0 {
				bw.WriteByte(',')
			}
			b, err := json.Marshal(item(i))
			if err != nil {
				return fmt.Errorf("allocation: encode instance: %s[%d]: %w", name, i, err)
			}
			bw.Write(b)
		}
		return bw.WriteByte(']')
	}
	if err := writeList("programmes", len(inst.Programmes), func(i int) any { return &inst.Programmes[i] }); err != nil {
		return err
	}
	bw.WriteByte(',')
	if err := writeList("children", len(inst.Children), func(i int) any { return &inst.Children[i] }); err != nil {
		return err
	}
	bw.WriteString("}\n")
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("allocation: encode instance: %w", err)
	}
	return nil
}
