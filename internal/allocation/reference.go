package allocation

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// refModel recomputes precedence from an instance and a result with plain
// maps and sorting. Audit and Explain use it instead of the engine's
// compiled tables, so a bug in those tables cannot hide itself.
type refModel struct {
	inst      *Instance
	res       *Result
	progIndex map[string]int
	childIdx  map[string]int
	policy    map[string]refPolicy // by location ID
	locName   map[string]string
	single    map[string]int            // child ID -> lottery number
	perLoc    map[string]map[string]int // location -> child ID -> lottery number
	sibFacts  map[string]map[string]bool
	sibling   string
}

type refPolicy struct {
	tiers    []string
	required []string
	share    float64
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
	m := &refModel{
		inst:      inst,
		res:       res,
		progIndex: make(map[string]int, len(inst.Programmes)),
		childIdx:  make(map[string]int, len(inst.Children)),
		policy:    make(map[string]refPolicy),
		locName:   make(map[string]string),
		sibFacts:  make(map[string]map[string]bool),
		sibling:   inst.siblingCriterion(),
	}
	for _, loc := range inst.Locations {
		share := inst.Reserve.DefaultShare
		if loc.ReserveShare != nil {
			share = *loc.ReserveShare
		}
		m.policy[loc.ID] = refPolicy{loc.Tiers, loc.Required, share}
		m.locName[loc.ID] = loc.Name
	}
	for i, p := range inst.Programmes {
		m.progIndex[p.ID] = i
		if _, ok := m.policy[p.Location]; !ok {
			d := inst.DefaultPolicy
			m.policy[p.Location] = refPolicy{d.Tiers, d.Required, inst.Reserve.DefaultShare}
		}
	}
	for i, ch := range inst.Children {
		m.childIdx[ch.ID] = i
	}
	for _, f := range res.Siblings.Facts {
		if m.sibFacts[f.ChildID] == nil {
			m.sibFacts[f.ChildID] = make(map[string]bool)
		}
		m.sibFacts[f.ChildID][f.LocationID] = true
	}
	m.drawLottery()
	return m, nil
}

// drawLottery ranks children by (lottery value, ID) as documented.
func (m *refModel) drawLottery() {
	inst := m.inst
	type drawn struct {
		v  uint64
		id string
	}
	rank := func(ds []drawn) map[string]int {
		slices.SortFunc(ds, func(a, b drawn) int {
			if c := cmp.Compare(a.v, b.v); c != 0 {
				return c
			}
			return strings.Compare(a.id, b.id)
		})
		out := make(map[string]int, len(ds))
		for k, d := range ds {
			out[d.id] = k + 1
		}
		return out
	}
	if inst.tieBreak() == TieBreakSingle {
		ds := make([]drawn, len(inst.Children))
		for i, ch := range inst.Children {
			ds[i] = drawn{LotteryValue(inst.Seed, inst.round(), ch.ID), ch.ID}
		}
		m.single = rank(ds)
		return
	}
	byLoc := make(map[string][]drawn)
	for _, ch := range inst.Children {
		seen := make(map[string]bool)
		for _, pid := range ch.Preferences {
			loc := inst.Programmes[m.progIndex[pid]].Location
			if !seen[loc] {
				seen[loc] = true
				byLoc[loc] = append(byLoc[loc], drawn{LocationLotteryValue(inst.Seed, inst.round(), loc, ch.ID), ch.ID})
			}
		}
	}
	m.perLoc = make(map[string]map[string]int, len(byLoc))
	for loc, ds := range byLoc {
		m.perLoc[loc] = rank(ds)
	}
}

func (m *refModel) satisfies(ch *Child, loc, crit string) bool {
	return slices.Contains(ch.Criteria, crit) ||
		slices.Contains(ch.LocationCriteria[loc], crit) ||
		crit == m.sibling && m.sibFacts[ch.ID][loc]
}

// tier is the index of the first tier criterion the child satisfies.
func (m *refModel) tier(ch *Child, loc string) int {
	tiers := m.policy[loc].tiers
	for k, crit := range tiers {
		if m.satisfies(ch, loc, crit) {
			return k
		}
	}
	return len(tiers)
}

func (m *refModel) tierName(loc string, tier int) string {
	if tiers := m.policy[loc].tiers; tier < len(tiers) {
		return tiers[tier]
	}
	return ""
}

// missing lists the required criteria the child lacks at a location.
func (m *refModel) missing(ch *Child, loc string) []string {
	var out []string
	for _, crit := range m.policy[loc].required {
		if !m.satisfies(ch, loc, crit) {
			out = append(out, crit)
		}
	}
	return out
}

func (m *refModel) lottery(ch *Child, loc string) int {
	if m.single != nil {
		return m.single[ch.ID]
	}
	return m.perLoc[loc][ch.ID]
}

func (m *refModel) baseKey(ch *Child, loc string) refKey {
	return refKey{tier: m.tier(ch, loc), lottery: m.lottery(ch, loc)}
}

func (m *refModel) reservedKey(ch *Child, loc string) refKey {
	k := m.baseKey(ch, loc)
	k.nonVulnerable = !ch.Vulnerable
	return k
}

// reserved is the number of reserved seats at a programme, from its
// capacity and share alone.
func (m *refModel) reserved(p *Programme) int {
	return ReservedSeats(m.policy[p.Location].share, p.Capacity, m.inst.Reserve.rounding())
}

// refGroup is one seat group of a programme as the reference sees it.
type refGroup struct {
	seat     SeatType
	capacity int
	members  []int // child indexes, best first
}

// key is the precedence of a child on this group.
func (g *refGroup) key(m *refModel, ch *Child, loc string) refKey {
	if g.seat == SeatReserved {
		return m.reservedKey(ch, loc)
	}
	return m.baseKey(ch, loc)
}

// groups splits the holders of a programme into seat groups in processing
// order, straight from the definition: the first group takes its best
// children, the second group the best of the rest.
func (m *refModel) groups(p *Programme, holders []int) []*refGroup {
	r := m.reserved(p)
	open := &refGroup{seat: SeatOpen, capacity: p.Capacity - r}
	res := &refGroup{seat: SeatReserved, capacity: r}
	order := []*refGroup{open, res}
	if m.inst.Reserve.fill() == FillFirst {
		order = []*refGroup{res, open}
	}
	rest := slices.Clone(holders)
	for _, g := range order {
		slices.SortFunc(rest, func(a, b int) int {
			ka := g.key(m, &m.inst.Children[a], p.Location)
			kb := g.key(m, &m.inst.Children[b], p.Location)
			if ka.less(kb) {
				return -1
			}
			if kb.less(ka) {
				return 1
			}
			return 0
		})
		take := min(g.capacity, len(rest))
		g.members, rest = rest[:take], rest[take:]
	}
	// Anything left over exceeds capacity; keep it visible in the last group.
	order[1].members = append(order[1].members, rest...)
	return order
}

func (m *refModel) describe(ch *Child, loc string, k refKey) string {
	name := m.tierName(loc, k.tier)
	if name == "" {
		name = "none"
	}
	return fmt.Sprintf("%s (tier %d %q, lottery %d)", ch.ID, k.tier, name, k.lottery)
}
