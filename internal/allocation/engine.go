package allocation

import (
	"slices"
)

// A precedence key orders children on one seat group; smaller is better.
// Layout: bit 63 marks a non-vulnerable child on a reserved seat (so every
// vulnerable child comes first there), bits 33-62 hold the tier, bits 1-32
// the lottery number and bit 0 the vulnerable flag. Lottery numbers are
// unique per location, so bit 0 never decides an order, and a key alone
// identifies its child.
const (
	reservedFlag = uint64(1) << 63
	noReject     = ^uint64(0)
)

func makeKey(tier int, lottery uint32, vulnerable bool) uint64 {
	k := uint64(tier)<<33 | uint64(lottery)<<1
	if vulnerable {
		k |= 1
	}
	return k
}

func keyTier(k uint64) int        { return int((k &^ reservedFlag) >> 33) }
func keyLottery(k uint64) uint32  { return uint32(k >> 1) }
func keyVulnerable(k uint64) bool { return k&1 != 0 }
func reservedKey(k uint64) uint64 {
	if keyVulnerable(k) {
		return k
	}
	return k | reservedFlag
}

// seat is a held place. It carries everything the proposal loop needs
// about its holder, so a displaced child continues without touching other
// arrays: the key, the slot it holds and its criteria.
type seat struct {
	key  uint64
	slot int32
	mask uint32
}

// progRun is the state of one programme in a run, in one cache line.
// Each programme has two seat groups filled in order: group 1 keeps the
// best proposers under its order, group 2 the best of those group 1 drops.
// A group stores min(capacity, children listing the programme) seats: a
// child holds at most one seat, so a group with that many holders has
// taken every child who could ever propose, and memory does not grow
// with capacity.
type progRun struct {
	off          int   // group 1 is seats[off:off+len1], group 2 follows
	cap1, cap2   int32 // capacities of the groups
	len1, len2   int32 // stored seats of the groups
	size1, size2 int32
	loc, pol     int32
}

// run is one execution of deferred acceptance, with or without reserve,
// including the sibling passes. Runs share the read-only compiled instance.
type run struct {
	c          *compiled
	reserve    bool
	g1Reserved bool
	prog       []progRun
	seats      []seat  // per group a max-heap by key: last admitted on top
	heldSlot   []int32 // preference slot held by each child after a pass, or the end of its list

	facts     []uint64         // sibling facts of this pass, sorted factKeys
	factList  []siblingFactIdx // the same, as pairs
	passes    int
	converged bool
}

type siblingFactIdx struct{ child, loc int32 }

func newRun(c *compiled, reserve bool) *run {
	r := &run{
		c:          c,
		reserve:    reserve,
		g1Reserved: reserve && c.fillFirst,
		prog:       make([]progRun, c.m),
		heldSlot:   make([]int32, c.n),
	}
	total := 0
	for p := range r.prog {
		capacity, res := c.progCap[p], int32(0)
		if reserve {
			res = c.progRes[p]
		}
		pr := &r.prog[p]
		pr.off, pr.loc = total, c.progLoc[p]
		pr.pol = c.locPolicy[pr.loc]
		switch {
		case !reserve:
			pr.cap1 = capacity
		case c.fillFirst:
			pr.cap1, pr.cap2 = res, capacity-res
		default:
			pr.cap1, pr.cap2 = capacity-res, res
		}
		pr.len1, pr.len2 = min(pr.cap1, c.progListed[p]), min(pr.cap2, c.progListed[p])
		total += int(pr.len1) + int(pr.len2)
	}
	r.seats = make([]seat, total)
	return r
}

// childOf returns the child holding a lottery number at a location.
func (c *compiled) childOf(loc int32, lottery uint32) int32 {
	if c.slotRank == nil {
		return c.rankChild[lottery-1]
	}
	return c.locRankChild[c.locRankStart[loc]+int32(lottery)-1]
}

// solve runs deferred acceptance with sibling facts (a child whose sibling
// applying together holds a place at a location gets the sibling criterion
// there) until the facts used are exactly those of the placement.
//
// Phase 1 grants facts cumulatively: the fact set only grows, so it ends.
// Its fixpoint may keep stale facts, whose sibling ended elsewhere; with
// them a child could keep a seat against a child of higher priority (issue
// 15). Phase 2 therefore passes again with exactly the facts of the last
// placement until they repeat. Starting from phase 1 matters: from scratch,
// twins who each hold a place at a different location chase each other.
// If phase 2 finds no fixpoint within the bound, or meets facts it used
// before (a cycle), phase 1's result stands and converged is false.
func (r *run) solve() {
	c := r.c
	r.passes = 0
	pass := func() {
		r.passes++
		r.deferredAcceptance()
	}
	pass()
	if c.sibMask == 0 || len(c.groups) == 0 {
		r.converged = true
		return
	}
	for { // phase 1
		added, removed := r.factChanges()
		if len(added) == 0 {
			if removed == 0 {
				r.converged = true
				return
			}
			break
		}
		if r.passes >= c.maxPasses {
			// The last pass stands; its facts are the ones reported.
			r.converged = false
			return
		}
		keys := slices.Clone(r.facts)
		for _, f := range added {
			keys = append(keys, factKey(f.child, f.loc))
		}
		slices.Sort(keys)
		r.setFacts(keys)
		if !r.anyEffective(added) {
			// Inert facts leave the outcome unchanged; only the keys of
			// holders that gained a tier change.
			r.refreshKeys(added)
			if removed == 0 {
				r.converged = true
				return
			}
			break
		}
		pass()
	}
	// Phase 1's placement is kept so that falling back to it costs a copy,
	// not another pass.
	cumulative := slices.Clone(r.facts)
	saved := r.snapshot()
	seen := [][]uint64{cumulative}
	for range c.maxPasses { // phase 2
		added, removed := r.factChanges()
		if len(added) == 0 && removed == 0 {
			r.converged = true
			return
		}
		r.setFacts(r.impliedFacts())
		if removed == 0 && !r.anyEffective(added) {
			r.refreshKeys(added)
			r.converged = true
			return
		}
		// A pass is a function of the facts alone: facts seen before mean
		// the passes go round in a cycle that never reaches a fixpoint,
		// and further passes up to the bound would change nothing.
		if slices.ContainsFunc(seen, func(f []uint64) bool { return slices.Equal(f, r.facts) }) {
			break
		}
		seen = append(seen, slices.Clone(r.facts))
		pass()
	}
	r.setFacts(cumulative)
	r.restore(saved)
	r.converged = false
}

// runState is the placement of a run: seat groups and held slots.
type runState struct {
	prog     []progRun
	seats    []seat
	heldSlot []int32
}

func (r *run) snapshot() runState {
	return runState{slices.Clone(r.prog), slices.Clone(r.seats), slices.Clone(r.heldSlot)}
}

func (r *run) restore(s runState) {
	copy(r.prog, s.prog)
	copy(r.seats, s.seats)
	copy(r.heldSlot, s.heldSlot)
}

// factChanges compares the facts implied by the current placement with
// the facts of the run: the implied facts not yet granted, and how many
// granted facts are no longer implied.
func (r *run) factChanges() (added []siblingFactIdx, removed int) {
	implied := r.impliedFacts()
	kept := 0
	for _, k := range implied {
		if _, ok := slices.BinarySearch(r.facts, k); ok {
			kept++
		} else {
			added = append(added, siblingFactIdx{child: int32(k >> 32), loc: int32(uint32(k))})
		}
	}
	return added, len(r.facts) - kept
}

// anyEffective reports whether granting one of the facts may change the
// current outcome.
func (r *run) anyEffective(facts []siblingFactIdx) bool {
	for _, f := range facts {
		if !r.inert(f) {
			return true
		}
	}
	return false
}

// setFacts replaces the facts of the run by sorted fact keys.
func (r *run) setFacts(keys []uint64) {
	r.facts = keys
	r.factList = nil
	for _, k := range keys {
		r.factList = append(r.factList, siblingFactIdx{child: int32(k >> 32), loc: int32(uint32(k))})
	}
}

// inert reports whether granting fact f cannot change the current outcome:
// the child never proposes to a programme at that location, or it holds
// one with a single seat group, where a better key changes no decision.
// Replaying the same proposals under the new fact then gives the same
// decisions, and deferred acceptance does not depend on proposal order.
func (r *run) inert(f siblingFactIdx) bool {
	c := r.c
	last := r.heldSlot[f.child] // the held slot, or the end of the list
	for k := c.start(f.child); k <= last; k++ {
		p := c.prefs[k]
		if p < 0 || c.progLoc[p] != f.loc {
			continue
		}
		if k < last || r.prog[p].cap2 > 0 && r.prog[p].cap1 > 0 {
			return false
		}
	}
	return true
}

// refreshKeys recomputes the keys of children holding a seat at a location
// where they gained a fact, so that reported cut-offs use the final facts.
// Inert facts only touch single-group programmes, whose membership stays.
func (r *run) refreshKeys(facts []siblingFactIdx) {
	c := r.c
	for _, f := range facts {
		p := r.held(f.child)
		if p < 0 || c.progLoc[p] != f.loc {
			continue
		}
		pr := &r.prog[p]
		// An inert fact leaves exactly one seat group at p non-empty.
		g, reserved := r.groupSeats(int(p), 1), r.g1Reserved
		if pr.cap1 == 0 {
			g, reserved = r.groupSeats(int(p), 2), r.reserve && !r.g1Reserved
		}
		for k := range g {
			if c.childOf(pr.loc, keyLottery(g[k].key)) != f.child {
				continue
			}
			m := r.effectiveMask(f.child, pr.loc, g[k].mask)
			g[k].key = makeKey(c.tierOf(pr.pol, m), keyLottery(g[k].key), keyVulnerable(g[k].key))
			if reserved {
				g[k].key = reservedKey(g[k].key)
			}
			siftDown(g, int32(k)) // a better key is a smaller one: away from the top
			break
		}
	}
}

// deferredAcceptance is child-proposing deferred acceptance. The outcome
// does not depend on the order in which children propose.
func (r *run) deferredAcceptance() {
	c := r.c
	for p := range r.prog {
		r.prog[p].size1, r.prog[p].size2 = 0, 0
	}
	for i := range int32(c.n) {
		r.propose(i)
	}
	r.collectHeld()
}

// propose lets child j propose down its list; whenever a proposal
// displaces another child, that child continues in the same loop.
func (r *run) propose(j int32) {
	c := r.c
	info := c.child[j]
	cur := seat{mask: info.mask, slot: c.start(j)}
	rank := info.rank // single lottery number of cur
	for {
		p := c.prefs[cur.slot]
		if p < 0 {
			return // list exhausted
		}
		pr := &r.prog[p]
		lot := rank
		if c.slotRank != nil {
			lot = c.slotRank[cur.slot]
		}
		m := cur.mask
		if m&(flagLocFacts|flagSibling) != 0 {
			m = r.effectiveMask(c.childOf(pr.loc, lot), pr.loc, m)
		}
		if req := c.polReq[pr.pol]; m&req != req {
			cur.slot++
			continue
		}
		cur.key = makeKey(c.tierOf(pr.pol, m), lot, m&flagVulnerable != 0)
		out, rejected := r.insert(pr, cur)
		if !rejected {
			return
		}
		cur = out
		rank = keyLottery(out.key)
		cur.slot++
	}
}

// effectiveMask adds location criteria and this run's sibling facts at a
// location to the global criteria m of child i.
func (r *run) effectiveMask(i, loc int32, m uint32) uint32 {
	c := r.c
	if m&flagLocFacts != 0 {
		for _, lf := range c.locFacts[i] {
			if lf.loc == loc {
				m |= lf.mask
			}
		}
	}
	if m&flagSibling != 0 && r.hasFact(i, loc) {
		m |= c.sibMask
	}
	return m
}

// hasFact reports whether a sibling fact was granted; facts are kept as
// sorted child<<32|loc keys, which is compact and fast enough for the few
// children in sibling groups.
func (r *run) hasFact(i, loc int32) bool {
	_, ok := slices.BinarySearch(r.facts, factKey(i, loc))
	return ok
}

func factKey(i, loc int32) uint64 { return uint64(i)<<32 | uint64(uint32(loc)) }

// tierOf is the index of the first tier criterion of policy q in m, or the
// tier count.
func (c *compiled) tierOf(q int32, m uint32) int {
	lo, hi := c.tierOff[q], c.tierOff[q+1]
	for k := lo; k < hi; k++ {
		if m&c.tierMask[k] != 0 {
			return int(k - lo)
		}
	}
	return int(hi - lo)
}

// insert offers a programme to child s (s.key is its base key). It
// reports whether somebody is turned away, and who: s itself or a holder
// displaced by s, with its base key.
func (r *run) insert(pr *progRun, s seat) (seat, bool) {
	spill := s
	if c1 := pr.cap1; c1 > 0 {
		h := r.seats[pr.off : pr.off+int(pr.len1)]
		in := s
		if r.g1Reserved {
			in.key = reservedKey(in.key)
		}
		if n := pr.size1; n < c1 {
			h[n] = in
			siftUp(h, n)
			pr.size1 = n + 1
			return seat{}, false
		}
		if in.key < h[0].key {
			spill = h[0]
			spill.key &^= reservedFlag
			h[0] = in
			siftDown(h, 0)
		}
	}
	c2 := pr.cap2
	if c2 == 0 {
		return spill, true
	}
	start := pr.off + int(pr.len1)
	h := r.seats[start : start+int(pr.len2)]
	in := spill
	if r.reserve && !r.g1Reserved {
		in.key = reservedKey(in.key)
	}
	if n := pr.size2; n < c2 {
		h[n] = in
		siftUp(h, n)
		pr.size2 = n + 1
		return seat{}, false
	}
	if in.key >= h[0].key {
		return spill, true
	}
	out := h[0]
	out.key &^= reservedFlag
	h[0] = in
	siftDown(h, 0)
	return out, true
}

func siftUp(h []seat, i int32) {
	x := h[i]
	for i > 0 {
		parent := (i - 1) / 2
		if h[parent].key >= x.key {
			break
		}
		h[i] = h[parent]
		i = parent
	}
	h[i] = x
}

func siftDown(h []seat, i int32) {
	n := int32(len(h))
	x := h[i]
	for {
		l := 2*i + 1
		if l >= n {
			break
		}
		if r := l + 1; r < n && h[r].key > h[l].key {
			l = r
		}
		if h[l].key <= x.key {
			break
		}
		h[i] = h[l]
		i = l
	}
	h[i] = x
}

// groupSeats returns the filled part of seat group 1 or 2 of programme p.
func (r *run) groupSeats(p, group int) []seat {
	g1, g2 := r.groups(p)
	if group == 1 {
		return g1
	}
	return g2
}

// groups returns the filled part of both seat groups of programme p.
func (r *run) groups(p int) (g1, g2 []seat) {
	pr := &r.prog[p]
	start := pr.off + int(pr.len1)
	return r.seats[pr.off : pr.off+int(pr.size1)], r.seats[start : start+int(pr.size2)]
}

// collectHeld derives each child's programme from the seat heaps.
func (r *run) collectHeld() {
	for i := range r.heldSlot {
		r.heldSlot[i] = r.c.child[i].end
	}
	for p := range r.prog {
		g1, g2 := r.groups(p)
		loc := r.prog[p].loc
		for _, g := range [2][]seat{g1, g2} {
			for _, s := range g {
				r.heldSlot[r.c.childOf(loc, keyLottery(s.key))] = s.slot
			}
		}
	}
}

// held is the programme child j holds after a pass, or -1.
func (r *run) held(j int32) int32 {
	return r.c.prefs[r.heldSlot[j]] // -1 at the end of the list
}

// impliedFacts lists, as sorted fact keys, the sibling facts implied by
// the current placement: a child whose sibling holds a place at a location
// gets the sibling criterion there, unless its own criteria give it
// already. Locations whose policy does not use the criterion are skipped,
// as the fact would change nothing.
func (r *run) impliedFacts() []uint64 {
	c := r.c
	var keys []uint64
	for _, g := range c.groups {
		for _, j := range g {
			p := r.held(j)
			if p < 0 {
				continue
			}
			loc := c.progLoc[p]
			if !c.polSibRelevant[c.locPolicy[loc]] {
				continue
			}
			for _, i := range g {
				if i != j && c.ownMask(i, loc)&c.sibMask == 0 {
					keys = append(keys, factKey(i, loc))
				}
			}
		}
	}
	// Two siblings at one location imply the same fact twice.
	slices.Sort(keys)
	return slices.Compact(keys)
}

// ownMask is the criteria of child i at a location without sibling facts.
func (c *compiled) ownMask(i, loc int32) uint32 {
	m := c.child[i].mask
	if m&flagLocFacts != 0 {
		for _, lf := range c.locFacts[i] {
			if lf.loc == loc {
				m |= lf.mask
			}
		}
	}
	return m
}

func (r *run) vulnerablePlaced() int {
	n := 0
	for i := range r.heldSlot {
		if r.c.child[i].mask&flagVulnerable != 0 && r.held(int32(i)) >= 0 {
			n++
		}
	}
	return n
}

// Solve allocates places for a valid instance. It is deterministic: the
// same instance gives the same result whatever the input order.
func Solve(inst *Instance) (*Result, error) {
	c, err := compile(inst)
	if err != nil {
		return nil, err
	}
	return c.solve(), nil
}

// solve runs deferred acceptance once. Whether seats are reserved is
// decided from capacities and shares only, never from the outcome: a rule
// that dropped the reserve when it placed fewer vulnerable children made
// the outcome depend on the lists, and a child could gain by ranking fewer
// choices (issue 15, TestStrategyProof).
func (c *compiled) solve() *Result {
	r := newRun(c, c.hasReserve())
	r.solve()
	return c.buildResult(r)
}

// hasReserve reports whether any seat is reserved.
func (c *compiled) hasReserve() bool {
	for _, r := range c.progRes {
		if r > 0 {
			return true
		}
	}
	return false
}
