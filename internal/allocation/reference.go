package allocation

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// refModel recomputes precedence from an instance and a result with its
// own simple tables: criteria as bits of a per-child mask, lottery numbers
// drawn again from the seed by hashing and sorting. Audit and Explain use
// it instead of the engine's compiled tables, so a bug in those tables
// cannot hide itself. Everything is indexed by child, programme and
// location position, so that a million-child round is checked in one pass.
type refModel struct {
	inst      *Instance
	res       *Result
	progIndex map[string]int
	progLoc   []int32 // programme -> location index
	locIndex  map[string]int32
	locIDs    []string
	policy    []refPolicy // by location index
	bit       map[string]uint64
	childBits []uint64                   // criteria holding everywhere
	locBits   map[int32]map[int32]uint64 // child -> location -> criteria holding there
	sibFacts  map[int32]map[int32]bool   // child -> location -> sibling fact in the result
	single    []int32                    // lottery number per child (single tie-breaking)
	perLoc    []map[int32]int32          // per location: child -> lottery number
	sibling   string
	sibBit    uint64
}

type refPolicy struct {
	tiers    []string
	required []string
	share    float64
	tierBits []uint64
	reqBits  uint64
}

// refKey is a child's precedence on a seat group; smaller is better.
type refKey struct {
	nonVulnerable bool // only set on reserved seats
	tier          int
	lottery       int
}

func (a refKey) less(b refKey) bool {
	if a.nonVulnerable != b.nonVulnerable {
		return !a.nonVulnerable
	}
	if a.tier != b.tier {
		return a.tier < b.tier
	}
	return a.lottery < b.lottery
}

func newRefModel(inst *Instance, res *Result) (*refModel, error) {
	if err := Validate(inst); err != nil {
		return nil, err
	}
	return newValidRefModel(inst, res), nil
}

// newValidRefModel builds the model of an instance that has already been
// validated (the CLI pipeline solves it first), so it is not compiled twice.
func newValidRefModel(inst *Instance, res *Result) *refModel {
	m := newInstanceModel(inst)
	m.setResult(res)
	return m
}

// newInstanceModel builds everything that depends on the instance alone
// (criteria, policies, lottery), so that it can be built while the engine
// solves; setResult adds the result.
func newInstanceModel(inst *Instance) *refModel {
	m := &refModel{
		inst:      inst,
		progIndex: make(map[string]int, len(inst.Programmes)),
		progLoc:   make([]int32, len(inst.Programmes)),
		locIndex:  make(map[string]int32),
		bit:       make(map[string]uint64),
		sibFacts:  make(map[int32]map[int32]bool),
		sibling:   inst.siblingCriterion(),
	}
	m.sibBit = m.bitOf(m.sibling)
	addLoc := func(id string, pol Policy, share float64) {
		m.locIndex[id] = int32(len(m.locIDs))
		m.locIDs = append(m.locIDs, id)
		rp := refPolicy{tiers: pol.Tiers, required: pol.Required, share: share}
		for _, t := range pol.Tiers {
			rp.tierBits = append(rp.tierBits, m.bitOf(t))
		}
		for _, r := range pol.Required {
			rp.reqBits |= m.bitOf(r)
		}
		m.policy = append(m.policy, rp)
	}
	for _, loc := range inst.Locations {
		share := inst.Reserve.DefaultShare
		if loc.ReserveShare != nil {
			share = *loc.ReserveShare
		}
		addLoc(loc.ID, loc.Policy, share)
	}
	for i, p := range inst.Programmes {
		m.progIndex[p.ID] = i
		if _, ok := m.locIndex[p.Location]; !ok {
			addLoc(p.Location, inst.DefaultPolicy, inst.Reserve.DefaultShare)
		}
		m.progLoc[i] = m.locIndex[p.Location]
	}
	m.childBits = make([]uint64, len(inst.Children))
	for i := range inst.Children {
		ch := &inst.Children[i]
		m.childBits[i] = m.bitsOf(ch.Criteria)
		for locID, crit := range ch.LocationCriteria {
			l, ok := m.locIndex[locID]
			if !ok {
				continue
			}
			if m.locBits == nil {
				m.locBits = make(map[int32]map[int32]uint64)
			}
			if m.locBits[int32(i)] == nil {
				m.locBits[int32(i)] = make(map[int32]uint64)
			}
			m.locBits[int32(i)][l] |= m.bitsOf(crit)
		}
	}
	m.drawLottery()
	return m
}

// setResult attaches the result to check: its sibling facts count as
// criteria.
func (m *refModel) setResult(res *Result) {
	m.res = res
	inst := m.inst
	if res != nil {
		ids := make([]string, 0, len(res.Siblings.Facts))
		for _, f := range res.Siblings.Facts {
			ids = append(ids, f.ChildID)
		}
		idx := childIndexes(inst, ids)
		for _, f := range res.Siblings.Facts {
			i, ok := idx[f.ChildID]
			l, known := m.locIndex[f.LocationID]
			if !ok || !known {
				continue
			}
			if m.sibFacts[int32(i)] == nil {
				m.sibFacts[int32(i)] = make(map[int32]bool)
			}
			m.sibFacts[int32(i)][l] = true
		}
	}
}

// prefProgramme is the programme index of preference k of child i.
func (m *refModel) prefProgramme(i, k int) int {
	if p, ok := m.inst.prefProgramme(i, k); ok {
		return int(p)
	}
	return m.progIndex[m.inst.Children[i].Preferences[k]]
}

// bitOf gives every criterion name one bit of a uint64 mask; validation
// bounds the criteria a policy uses, and only those (and the sibling
// criterion) get bits.
func (m *refModel) bitOf(name string) uint64 {
	if b, ok := m.bit[name]; ok {
		return b
	}
	b := uint64(1) << len(m.bit)
	m.bit[name] = b
	return b
}

func (m *refModel) bitsOf(list []string) uint64 {
	var out uint64
	for _, name := range list {
		out |= m.bit[name] // criteria no policy uses cannot matter
	}
	return out
}

// childIndexes maps the given child IDs to their positions with one scan,
// without a map of every child.
func childIndexes(inst *Instance, ids []string) map[string]int {
	want := make(map[string]int, len(ids))
	for _, id := range ids {
		want[id] = -1
	}
	for i := range inst.Children {
		if k, ok := want[inst.Children[i].ID]; ok && k < 0 {
			want[inst.Children[i].ID] = i
		}
	}
	for id, k := range want {
		if k < 0 {
			delete(want, id)
		}
	}
	return want
}

// drawLottery ranks children by (lottery value, ID) as documented.
func (m *refModel) drawLottery() {
	inst := m.inst
	type drawn struct {
		v uint64
		i int32
	}
	rank := func(ds []drawn) {
		slices.SortFunc(ds, func(a, b drawn) int {
			if c := cmp.Compare(a.v, b.v); c != 0 {
				return c
			}
			return strings.Compare(inst.Children[a.i].ID, inst.Children[b.i].ID)
		})
	}
	if inst.tieBreak() == TieBreakSingle {
		ds := make([]drawn, len(inst.Children))
		parallelFor(len(ds), func(_, lo, hi int) {
			for i := lo; i < hi; i++ {
				ds[i] = drawn{LotteryValue(inst.Seed, inst.round(), inst.Children[i].ID), int32(i)}
			}
		})
		rank(ds)
		m.single = make([]int32, len(ds))
		for k, d := range ds {
			m.single[d.i] = int32(k + 1)
		}
		return
	}
	byLoc := make([][]drawn, len(m.locIDs))
	for i, ch := range inst.Children {
		seen := make(map[int32]bool)
		for _, pid := range ch.Preferences {
			l := m.progLoc[m.progIndex[pid]]
			if !seen[l] {
				seen[l] = true
				byLoc[l] = append(byLoc[l], drawn{LocationLotteryValue(inst.Seed, inst.round(), m.locIDs[l], ch.ID), int32(i)})
			}
		}
	}
	m.perLoc = make([]map[int32]int32, len(byLoc))
	for l, ds := range byLoc {
		rank(ds)
		m.perLoc[l] = make(map[int32]int32, len(ds))
		for k, d := range ds {
			m.perLoc[l][d.i] = int32(k + 1)
		}
	}
}

// mask is the criteria child i satisfies at location l, sibling facts of
// the result included.
func (m *refModel) mask(i int, l int32) uint64 {
	b := m.childBits[i]
	if m.locBits != nil {
		b |= m.locBits[int32(i)][l]
	}
	if m.sibFacts[int32(i)][l] {
		b |= m.sibBit
	}
	return b
}

func (m *refModel) satisfies(i int, l int32, crit string) bool {
	return m.mask(i, l)&m.bit[crit] != 0 && m.bit[crit] != 0
}

// tier is the index of the first tier criterion the child satisfies.
func (m *refModel) tier(i int, l int32) int {
	b := m.mask(i, l)
	pol := &m.policy[l]
	for k, t := range pol.tierBits {
		if b&t != 0 {
			return k
		}
	}
	return len(pol.tierBits)
}

func (m *refModel) tierName(l int32, tier int) string {
	if tiers := m.policy[l].tiers; tier < len(tiers) {
		return tiers[tier]
	}
	return ""
}

// eligible reports whether child i satisfies every required criterion at l.
func (m *refModel) eligible(i int, l int32) bool {
	req := m.policy[l].reqBits
	return m.mask(i, l)&req == req
}

// missing lists the required criteria the child lacks at a location.
func (m *refModel) missing(i int, l int32) []string {
	if m.eligible(i, l) {
		return nil
	}
	var out []string
	b := m.mask(i, l)
	for _, crit := range m.policy[l].required {
		if b&m.bit[crit] == 0 {
			out = append(out, crit)
		}
	}
	return out
}

func (m *refModel) lottery(i int, l int32) int {
	if m.single != nil {
		return int(m.single[i])
	}
	return int(m.perLoc[l][int32(i)])
}

func (m *refModel) baseKey(i int, l int32) refKey {
	return refKey{tier: m.tier(i, l), lottery: m.lottery(i, l)}
}

func (m *refModel) reservedKey(i int, l int32) refKey {
	k := m.baseKey(i, l)
	k.nonVulnerable = !m.inst.Children[i].Vulnerable
	return k
}

// reserved is the number of reserved seats at programme p, from its
// capacity and share alone.
func (m *refModel) reserved(p int) int {
	return ReservedSeats(m.policy[m.progLoc[p]].share, m.inst.Programmes[p].Capacity, m.inst.Reserve.rounding())
}

// refGroup is one seat group of a programme as the reference sees it.
type refGroup struct {
	seat     SeatType
	capacity int
	members  []int  // child indexes, best first
	last     refKey // key of the last member on this group
}

// key is the precedence of child i on this group.
func (g *refGroup) key(m *refModel, i int, l int32) refKey {
	if g.seat == SeatReserved {
		return m.reservedKey(i, l)
	}
	return m.baseKey(i, l)
}

// groups splits the holders of programme p into seat groups in processing
// order, straight from the definition: the first group takes its best
// children, the second group the best of the rest.
func (m *refModel) groups(p int, holders []int) []*refGroup {
	r := m.reserved(p)
	l := m.progLoc[p]
	open := &refGroup{seat: SeatOpen, capacity: m.inst.Programmes[p].Capacity - r}
	res := &refGroup{seat: SeatReserved, capacity: r}
	order := []*refGroup{open, res}
	if m.inst.Reserve.fill() == FillFirst {
		order = []*refGroup{res, open}
	}
	type keyed struct {
		k refKey
		i int
	}
	rest := make([]keyed, len(holders))
	for n, i := range holders {
		rest[n].i = i
	}
	for _, g := range order {
		for n := range rest {
			rest[n].k = g.key(m, rest[n].i, l)
		}
		slices.SortFunc(rest, func(a, b keyed) int {
			if a.k.less(b.k) {
				return -1
			}
			if b.k.less(a.k) {
				return 1
			}
			return 0
		})
		take := min(g.capacity, len(rest))
		for _, x := range rest[:take] {
			g.members = append(g.members, x.i)
		}
		if take > 0 {
			g.last = rest[take-1].k
		}
		rest = rest[take:]
	}
	// Anything left over exceeds capacity; keep it visible in the last group.
	for _, x := range rest {
		order[1].members = append(order[1].members, x.i)
	}
	return order
}

func (m *refModel) describe(i int, l int32, k refKey) string {
	name := m.tierName(l, k.tier)
	if name == "" {
		name = "none"
	}
	return fmt.Sprintf("%s (tier %d %q, lottery %d)", m.inst.Children[i].ID, k.tier, name, k.lottery)
}
