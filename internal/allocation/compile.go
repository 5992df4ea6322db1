package allocation

import (
	"cmp"
	"fmt"
	"math/bits"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// Child flags live in the top bits of childInfo.mask, above every
// criterion bit, so one load gives criteria and flags together.
const (
	flagVulnerable uint32 = 1 << 31
	flagLocFacts   uint32 = 1 << 30 // has location_criteria somewhere
	flagSibling    uint32 = 1 << 29 // member of a sibling group
)

// MaxPreferences bounds the length of a child's preference list.
const MaxPreferences = 1000

// MaxCapacity is the largest capacity a programme may have. Seats are
// counted in 32 bits; the engine's memory does not depend on capacity.
const MaxCapacity = 1 << 30

// MaxCriteria is the number of distinct criteria the policies of one
// instance may use: one bit each, below the flag bits. Masks are 32 bits
// so that a held seat fits in 16 bytes.
const MaxCriteria = 29

// childInfo is what the hot loop needs about a child, in 12 bytes.
type childInfo struct {
	mask uint32 // criteria bits and flags
	rank uint32 // single-lottery number, 1-based
	end  int32  // index of the -1 that ends the child's preference slots
}

// locFact is a criteria mask that holds for one child at one location.
type locFact struct {
	loc  int32
	mask uint32
}

// compiled is the integer-indexed form of a valid instance. It is read-only
// once built, so concurrent runs can share it.
type compiled struct {
	inst *Instance
	n, m int

	// Children, by internal index (see compileChildren).
	input     []int32 // internal child index -> index in inst.Children
	prefs     []int32 // programme indexes; each child's list ends with -1
	child     []childInfo
	rankChild []int32 // single lottery: child holding number r is rankChild[r-1]
	locFacts  map[int32][]locFact
	groups    [][]int32 // sibling groups of two or more children

	// Per-location lottery (nil under single tie-breaking).
	slotRank     []uint32 // lottery number per preference slot
	locRankStart []int32  // children ranked at location l: locRankChild[locRankStart[l]:]
	locRankChild []int32

	// Programmes, indexed like inst.Programmes.
	progLoc []int32
	progCap []int32
	progRes []int32 // reserved seats if the reserve applies
	// progListed counts the children listing each programme: no seat
	// group can ever hold more, so seat memory follows it, not capacity.
	progListed []int32

	// Locations: first those of inst.Locations, then implicit ones.
	locIDs    []string
	locNames  []string
	locPolicy []int32

	// Policies, shared by locations with identical tiers and requirements.
	tierOff        []int32 // tiers of policy q are tierMask[tierOff[q]:tierOff[q+1]]
	tierMask       []uint32
	tierNames      []string // criterion per tier, parallel to tierMask
	polReq         []uint32
	polSibRelevant []bool // the sibling criterion can change tier or eligibility
	polIdx         map[string]int32

	// Lookup tables used only while compiling.
	progIdx map[string]int32
	locIdx  map[string]int32
	hashes  []uint64 // single-lottery value per child

	criteria  []string // bit -> name
	critBit   map[string]int
	sibMask   uint32
	fillFirst bool
	maxPasses int
}

func compile(inst *Instance) (*compiled, error) {
	if inst == nil {
		return nil, fmt.Errorf("allocation: nil instance")
	}
	var l errorList
	validateHeader(inst, &l)
	c := &compiled{
		inst:      inst,
		n:         len(inst.Children),
		m:         len(inst.Programmes),
		fillFirst: inst.Reserve.fill() == FillFirst,
		maxPasses: inst.maxSiblingPasses(),
	}
	c.compileCriteria(&l)
	c.compileLocations(&l)
	if len(l.errs) > 0 {
		// Children cannot be checked against a broken policy or programme table.
		return nil, l.err()
	}
	c.compileChildren(&l)
	if len(l.errs) == 0 {
		c.compileLottery(&l)
	}
	if len(l.errs) == 0 {
		c.compileSiblings(&l)
	}
	if err := l.err(); err != nil {
		return nil, err
	}
	c.progListed = make([]int32, c.m)
	for _, p := range c.prefs {
		if p >= 0 {
			c.progListed[p]++
		}
	}
	if inst.tieBreak() == TieBreakPerLocation {
		c.compileLocationLottery()
	}
	// Release what the engine does not need.
	c.hashes, c.progIdx, c.polIdx = nil, nil, nil
	return c, nil
}

// compileCriteria gives each criterion used by any policy one bit. Criteria
// that no policy mentions cannot change anything, so they get no bit.
func (c *compiled) compileCriteria(l *errorList) {
	c.critBit = make(map[string]int)
	addAll := func(list []string) {
		for _, name := range list {
			if _, ok := c.critBit[name]; !ok && name != "" {
				c.critBit[name] = len(c.criteria)
				c.criteria = append(c.criteria, name)
			}
		}
	}
	validatePolicy("default_policy", c.inst.DefaultPolicy, l)
	addAll(c.inst.DefaultPolicy.Tiers)
	addAll(c.inst.DefaultPolicy.Required)
	for i, loc := range c.inst.Locations {
		validatePolicy(fmt.Sprintf("locations[%d]", i), loc.Policy, l)
		addAll(loc.Tiers)
		addAll(loc.Required)
	}
	if len(c.criteria) > MaxCriteria {
		l.add("locations", "at most %d distinct criteria are supported, got %d", MaxCriteria, len(c.criteria))
		return
	}
	if b, ok := c.critBit[c.inst.siblingCriterion()]; ok {
		c.sibMask = 1 << b
	}
}

func (c *compiled) maskOf(list []string) uint32 {
	var m uint32
	for _, name := range list {
		if b, ok := c.critBit[name]; ok {
			m |= 1 << b
		}
	}
	return m
}

func (c *compiled) bitOf(name string) uint32 {
	if b, ok := c.critBit[name]; ok {
		return 1 << b
	}
	return 0
}

// policyIndex interns a policy: most locations share a handful of them.
func (c *compiled) policyIndex(p Policy) int32 {
	key := strings.Join(p.Tiers, "\x00") + "\x01" + strings.Join(p.Required, "\x00")
	if q, ok := c.polIdx[key]; ok {
		return q
	}
	if c.polIdx == nil {
		c.polIdx = make(map[string]int32)
		c.tierOff = []int32{0}
	}
	q := int32(len(c.polReq))
	c.polIdx[key] = q
	req := c.maskOf(p.Required)
	relevant := req&c.sibMask != 0
	for _, t := range p.Tiers {
		c.tierMask = append(c.tierMask, c.bitOf(t))
		c.tierNames = append(c.tierNames, t)
		relevant = relevant || c.bitOf(t)&c.sibMask != 0
	}
	c.tierOff = append(c.tierOff, int32(len(c.tierMask)))
	c.polReq = append(c.polReq, req)
	c.polSibRelevant = append(c.polSibRelevant, relevant && c.sibMask != 0)
	return q
}

func (c *compiled) addLocation(id, name string, p Policy) {
	c.locIDs = append(c.locIDs, id)
	c.locNames = append(c.locNames, name)
	c.locPolicy = append(c.locPolicy, c.policyIndex(p))
}

// compileLocations builds the location and programme tables.
func (c *compiled) compileLocations(l *errorList) {
	inst := c.inst
	locIdx := make(map[string]int32, len(inst.Locations))
	shares := make([]float64, 0, len(inst.Locations))
	for i, loc := range inst.Locations {
		f := "locations[" + strconv.Itoa(i) + "]"
		if badText(loc.ID) {
			l.add(f+".id", "must be non-empty text without control characters")
		} else if j, dup := locIdx[loc.ID]; dup {
			l.add(f+".id", "duplicate location %q (also locations[%d])", loc.ID, j)
		}
		share := inst.Reserve.DefaultShare
		if loc.ReserveShare != nil {
			share = *loc.ReserveShare
			if !validShare(share) {
				l.add(f+".reserve_share", "must be within [0,1], got %v", share)
			}
		}
		locIdx[loc.ID] = int32(len(c.locIDs))
		shares = append(shares, share)
		c.addLocation(loc.ID, loc.Name, loc.Policy)
	}
	progIdx := make(map[string]int32, c.m)
	c.progLoc = make([]int32, c.m)
	c.progCap = make([]int32, c.m)
	c.progRes = make([]int32, c.m)
	rounding := inst.Reserve.rounding()
	for i, p := range inst.Programmes {
		f := "programmes[" + strconv.Itoa(i) + "]"
		if badText(p.ID) {
			l.add(f+".id", "must be non-empty text without control characters")
		} else if j, dup := progIdx[p.ID]; dup {
			l.add(f+".id", "duplicate programme %q (also programmes[%d])", p.ID, j)
		}
		progIdx[p.ID] = int32(i)
		if p.Capacity < 0 {
			l.add(f+".capacity", "must be >= 0, got %d", p.Capacity)
		} else if p.Capacity > MaxCapacity {
			l.add(f+".capacity", "at most %d, got %d", MaxCapacity, p.Capacity)
		}
		if !validMonth(p.StartMonth) {
			l.add(f+".start_month", "must be YYYY-MM, got %q", p.StartMonth)
		}
		if badText(p.Location) {
			l.add(f+".location", "must be non-empty text without control characters")
			continue
		}
		li, ok := locIdx[p.Location]
		if !ok {
			// A location without its own entry follows the default policy.
			li = int32(len(c.locIDs))
			locIdx[p.Location] = li
			shares = append(shares, inst.Reserve.DefaultShare)
			c.addLocation(p.Location, "", inst.DefaultPolicy)
		}
		c.progLoc[i] = li
		c.progCap[i] = int32(max(p.Capacity, 0))
		c.progRes[i] = int32(ReservedSeats(shares[li], max(p.Capacity, 0), rounding))
	}
	c.progIdx = progIdx
	c.locIdx = locIdx
}

// childWorker holds per-goroutine scratch space for compileChildren.
type childWorker struct {
	errs   errorList
	stamp  []int32 // stamp[p] == i+1 when child i already listed programme p
	prefix []byte
	facts  map[int32][]locFact
}

// compileChildren resolves preferences and criteria and hashes the lottery
// values. It runs on all cores because string lookups dominate the cost.
//
// Children get internal indexes sorted by first preference: children who
// compete for the same programmes then sit close together in memory, which
// makes the rejection chains of deferred acceptance cache friendly.
func (c *compiled) compileChildren(l *errorList) {
	n := c.n
	first := make([]int32, n)
	parallelFor(n, func(_, lo, hi int) {
		for i := lo; i < hi; i++ {
			first[i] = int32(c.m) // no (known) first preference: last
			if prefs := c.inst.Children[i].Preferences; len(prefs) > 0 {
				if p, ok := c.inst.prefProgramme(i, 0); ok {
					first[i] = p
				} else if p, ok := c.progIdx[prefs[0]]; ok {
					first[i] = p
				}
			}
		}
	})
	c.input = countingSortBy(first, c.m+1)
	c.rankChild = first // reuse the memory; filled by compileLottery
	c.child = make([]childInfo, n)
	total := 0
	for j, i := range c.input {
		total += len(c.inst.Children[i].Preferences)
		if total > 1<<31-2 {
			l.add("children", "too many preferences in total")
			return
		}
		c.child[j].end = int32(total)
		total++ // the -1 sentinel
	}
	c.prefs = make([]int32, total)
	c.hashes = make([]uint64, n)
	ws := make([]*childWorker, parallelism(n))
	for w := range ws {
		ws[w] = &childWorker{stamp: make([]int32, c.m)}
		ws[w].prefix = lotteryPrefix(make([]byte, 0, 256), c.inst.Seed, c.inst.round())
	}
	parallelFor(n, func(w, lo, hi int) {
		for j := lo; j < hi; j++ {
			c.compileChild(ws[w], j)
		}
	})
	for _, w := range ws {
		l.merge(&w.errs)
		for j, f := range w.facts {
			if c.locFacts == nil {
				c.locFacts = make(map[int32][]locFact)
			}
			c.locFacts[j] = f
		}
	}
}

// countingSortBy returns the indexes 0..len(keys)-1 stably sorted by key.
func countingSortBy(keys []int32, nKeys int) []int32 {
	pos := make([]int32, nKeys+1)
	for _, k := range keys {
		pos[k+1]++
	}
	for k := 1; k <= nKeys; k++ {
		pos[k] += pos[k-1]
	}
	out := make([]int32, len(keys))
	for i, k := range keys {
		out[pos[k]] = int32(i)
		pos[k]++
	}
	return out
}

// compileChild fills the internal record j of input child c.input[j].
func (c *compiled) compileChild(w *childWorker, j int) {
	i := int(c.input[j])
	ch := &c.inst.Children[i]
	if badText(ch.ID) {
		w.errs.add(fmt.Sprintf("children[%d].id", i), "must be non-empty text without control characters")
	}
	if len(ch.Preferences) > MaxPreferences {
		w.errs.add(fmt.Sprintf("children[%d].preferences", i), "at most %d preferences, got %d", MaxPreferences, len(ch.Preferences))
		return
	}
	base := c.start(int32(j))
	c.prefs[c.child[j].end] = -1
	for k, pid := range ch.Preferences {
		p, ok := c.inst.prefProgramme(i, k)
		if !ok {
			p, ok = c.progIdx[pid]
		}
		if !ok {
			w.errs.add(fmt.Sprintf("children[%d].preferences[%d]", i, k), "unknown programme %q", pid)
			continue
		}
		if w.stamp[p] == int32(j+1) {
			w.errs.add(fmt.Sprintf("children[%d].preferences[%d]", i, k), "programme %q listed twice", pid)
		}
		w.stamp[p] = int32(j + 1)
		c.prefs[base+int32(k)] = p
	}
	info := &c.child[j]
	info.mask = c.maskOf(ch.Criteria)
	if ch.Vulnerable {
		info.mask |= flagVulnerable
	}
	if len(ch.LocationCriteria) > 0 {
		var facts []locFact
		for locID, crit := range ch.LocationCriteria {
			li, ok := c.locIdx[locID]
			if !ok {
				w.errs.add(fmt.Sprintf("children[%d].location_criteria[%q]", i, locID), "unknown location")
				continue
			}
			if m := c.maskOf(crit); m != 0 {
				facts = append(facts, locFact{loc: li, mask: m})
			}
		}
		if len(facts) > 0 {
			// Map iteration order is random; the engine only ORs the masks,
			// but keep the slice canonical anyway.
			slices.SortFunc(facts, func(a, b locFact) int { return cmp.Compare(a.loc, b.loc) })
			if w.facts == nil {
				w.facts = make(map[int32][]locFact)
			}
			w.facts[int32(j)] = facts
			info.mask |= flagLocFacts
		}
	}
	c.hashes[j] = hashTail(w.prefix, ch.ID)
}

// start is the first preference slot of child j.
func (c *compiled) start(j int32) int32 {
	if j == 0 {
		return 0
	}
	return c.child[j-1].end + 1
}

// parallelFor splits [0,n) into one contiguous chunk per worker.
func parallelFor(n int, f func(worker, lo, hi int)) {
	workers := parallelism(n)
	if workers == 1 {
		f(0, 0, n)
		return
	}
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			f(w, n*w/workers, n*(w+1)/workers)
		}()
	}
	wg.Wait()
}

func parallelism(n int) int {
	return max(1, min(runtime.GOMAXPROCS(0), n/20000))
}

// compileLottery turns lottery values into lottery numbers 1..n: a child's
// position when all children are sorted by (value, ID). The same sort finds
// duplicate IDs (equal IDs have equal values, so they end up adjacent).
func (c *compiled) compileLottery(l *errorList) {
	id := func(j int32) string { return c.inst.Children[c.input[j]].ID }
	sortByHash(c.hashes, c.rankChild, func(a, b int32) int { return strings.Compare(id(a), id(b)) })
	for k, j := range c.rankChild {
		c.child[j].rank = uint32(k + 1)
		if k > 0 {
			prev := c.rankChild[k-1]
			if c.hashes[prev] == c.hashes[j] && id(prev) == id(j) {
				a, b := min(c.input[prev], c.input[j]), max(c.input[prev], c.input[j])
				l.add(fmt.Sprintf("children[%d].id", b), "duplicate child %q (also children[%d])", id(j), a)
			}
		}
	}
}

// sortByHash writes into out the indexes of hashes sorted by value, then
// by tie. Lottery values are uniform, so a counting sort on the top bits
// leaves small buckets to finish with a comparison sort.
func sortByHash(hashes []uint64, out []int32, tie func(a, b int32) int) {
	n := len(hashes)
	if n == 0 {
		return
	}
	width := min(bits.Len(uint(n)), 16)
	shift := 64 - width
	buckets := 1 << width
	count := make([]int32, buckets+1)
	for _, h := range hashes {
		count[(h>>shift)+1]++
	}
	for b := 1; b <= buckets; b++ {
		count[b] += count[b-1]
	}
	pos := slices.Clone(count[:buckets])
	for i, h := range hashes {
		b := h >> shift
		out[pos[b]] = int32(i)
		pos[b]++
	}
	less := func(a, b int32) int {
		if ha, hb := hashes[a], hashes[b]; ha != hb {
			return cmp.Compare(ha, hb)
		}
		return tie(a, b)
	}
	for b := range buckets {
		if lo, hi := count[b], count[b+1]; hi-lo > 1 {
			slices.SortFunc(out[lo:hi], less)
		}
	}
}

// findChild returns the internal index of a child ID via its lottery value.
func (c *compiled) findChild(id string) (int32, bool) {
	h := hashTail(lotteryPrefix(make([]byte, 0, 128), c.inst.Seed, c.inst.round()), id)
	k, _ := slices.BinarySearchFunc(c.rankChild, h, func(j int32, h uint64) int { return cmp.Compare(c.hashes[j], h) })
	for ; k < len(c.rankChild) && c.hashes[c.rankChild[k]] == h; k++ {
		if j := c.rankChild[k]; c.inst.Children[c.input[j]].ID == id {
			return j, true
		}
	}
	return 0, false
}

// compileSiblings joins sibling links into groups (union-find, so links
// need only be listed on one side and are transitive).
func (c *compiled) compileSiblings(l *errorList) {
	parent := make(map[int32]int32)
	var find func(x int32) int32
	find = func(x int32) int32 {
		p, ok := parent[x]
		if !ok || p == x {
			return x
		}
		r := find(p)
		parent[x] = r
		return r
	}
	for i := range c.n {
		for k, sid := range c.inst.Children[c.input[i]].Siblings {
			j, ok := c.findChild(sid)
			f := "children[" + strconv.Itoa(int(c.input[i])) + "].siblings[" + strconv.Itoa(k) + "]"
			switch {
			case !ok:
				l.add(f, "unknown child %q", sid)
				continue
			case j == int32(i):
				l.add(f, "a child cannot be its own sibling")
				continue
			}
			a, b := find(int32(i)), find(j)
			if _, ok := parent[a]; !ok {
				parent[a] = a
			}
			if _, ok := parent[b]; !ok {
				parent[b] = b
			}
			if a != b {
				parent[max(a, b)] = min(a, b)
			}
		}
	}
	members := make(map[int32][]int32)
	for x := range parent {
		r := find(x)
		members[r] = append(members[r], x)
	}
	for _, g := range members {
		slices.Sort(g)
		for _, x := range g {
			c.child[x].mask |= flagSibling
		}
		c.groups = append(c.groups, g)
	}
	slices.SortFunc(c.groups, func(a, b []int32) int { return cmp.Compare(a[0], b[0]) })
}

// compileLocationLottery draws per-location lottery numbers: for every
// location, the children listing one of its programmes are ranked by
// (LocationLotteryValue, ID).
func (c *compiled) compileLocationLottery() {
	type entry struct {
		loc int32
		h   uint64
		i   int32
	}
	var entries []entry
	slotEntry := make([]int32, len(c.prefs))
	buf := lotteryPrefix(make([]byte, 0, 256), c.inst.Seed, c.inst.round())
	for i := range c.n {
		lo, hi := c.start(int32(i)), c.child[i].end
		for k := lo; k < hi; k++ {
			loc := c.progLoc[c.prefs[k]]
			slotEntry[k] = -1
			for j := lo; j < k; j++ {
				if c.progLoc[c.prefs[j]] == loc {
					slotEntry[k] = slotEntry[j]
					break
				}
			}
			if slotEntry[k] >= 0 {
				continue
			}
			b := append(buf, c.locIDs[loc]...)
			b = append(b, '\n')
			slotEntry[k] = int32(len(entries))
			entries = append(entries, entry{loc, hashTail(b, c.inst.Children[c.input[i]].ID), int32(i)})
		}
	}
	order := make([]int32, len(entries))
	for k := range order {
		order[k] = int32(k)
	}
	slices.SortFunc(order, func(a, b int32) int {
		ea, eb := entries[a], entries[b]
		if ea.loc != eb.loc {
			return cmp.Compare(ea.loc, eb.loc)
		}
		if ea.h != eb.h {
			return cmp.Compare(ea.h, eb.h)
		}
		return strings.Compare(c.inst.Children[c.input[ea.i]].ID, c.inst.Children[c.input[eb.i]].ID)
	})
	entryRank := make([]uint32, len(entries))
	c.locRankStart = make([]int32, len(c.locIDs)+1)
	c.locRankChild = make([]int32, len(entries))
	var r uint32
	for k, e := range order {
		loc := entries[e].loc
		if k == 0 || entries[order[k-1]].loc != loc {
			r = 0
			c.locRankStart[loc] = int32(k)
		}
		r++
		entryRank[e] = r
		c.locRankChild[k] = entries[e].i
	}
	c.slotRank = make([]uint32, len(c.prefs))
	for i := range c.n {
		for k := c.start(int32(i)); k < c.child[i].end; k++ {
			c.slotRank[k] = entryRank[slotEntry[k]]
		}
	}
}
