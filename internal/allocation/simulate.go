package allocation

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
)

// CityConfig shapes an invented city for measuring reserve policies
// (loket allocate simulate, docs/fairness.md). Every number is an
// assumption stated in docs/fairness.md; the zero value of a field takes
// the default.
type CityConfig struct {
	// Requests a year; default 8000.
	Requests int
	// Locations of childcare; default 120, one baby programme each.
	Locations int
	// Unplaced is the share of requests that should stay without a place
	// with no reserve; capacity is scaled until the solver gives it.
	// Default 0.37 (Flemish survey 2022).
	Unplaced float64
	// Vulnerable is the share of vulnerable families; default 0.20.
	Vulnerable float64
	// Siblings is the share of requests that are a second child applying
	// together with a sibling (twins); default 0.03.
	Siblings float64
	// ReserveShare is the share of seats reserved under the reserve
	// policies; default 0.20.
	ReserveShare float64
}

func (c CityConfig) withDefaults() CityConfig {
	def := func(v *float64, d float64) {
		if *v == 0 {
			*v = d
		}
	}
	if c.Requests == 0 {
		c.Requests = 8000
	}
	if c.Locations == 0 {
		c.Locations = 120
	}
	def(&c.Unplaced, 0.37)
	def(&c.Vulnerable, 0.20)
	def(&c.Siblings, 0.03)
	def(&c.ReserveShare, 0.20)
	return c
}

// ReservePolicyName names the policies Simulate compares.
type ReservePolicyName string

// Reserve policies compared by Simulate.
const (
	PolicyNone           ReservePolicyName = "none"
	PolicyReserveFirst   ReservePolicyName = "reserve_first"
	PolicyReserveLast    ReservePolicyName = "reserve_last"
	cityCriterionWork                      = "work"
	cityCriterionSibling                   = "sibling"
)

// SimPolicies are the policies in the order of the report.
var SimPolicies = []ReservePolicyName{PolicyNone, PolicyReserveFirst, PolicyReserveLast}

// City builds the instance of one invented city year for a seed, without
// reserve (see WithPolicy). Families live at random points of a square
// city; locations have a Zipf-like popularity (the k-th most popular is
// chosen with weight 1/k^0.8, before distance) and a capacity of 3 to 24
// places times a scale found by calibration; a family lists 1 to 5
// locations (a vulnerable family 1 to 3), drawn by popularity and
// closeness (weight exp(-distance/0.12 of the city's width)). Parents work
// or study in 75 % of families, 40 % of vulnerable ones: that criterion is
// the policy's tier after siblings applying together. The capacity scale
// is chosen by bisection so that, with no reserve, cfg.Unplaced of the
// requests stay without a place.
func City(cfg CityConfig, seed uint64) (*Instance, error) {
	cfg = cfg.withDefaults()
	if cfg.Requests < 1 || cfg.Locations < 5 {
		return nil, fmt.Errorf("allocation: city: need at least 1 request and 5 locations")
	}
	rng := rand.New(rand.NewPCG(seed, 0xc17))
	inst := &Instance{
		Version:       FormatVersion,
		Seed:          SeedFromUint64(seed),
		DefaultPolicy: Policy{Tiers: []string{cityCriterionSibling, cityCriterionWork}},
	}
	type point struct{ x, y float64 }
	locs := make([]point, cfg.Locations)
	weight := make([]float64, cfg.Locations)
	base := make([]int, cfg.Locations)
	for l := range locs {
		locs[l] = point{rng.Float64(), rng.Float64()}
		weight[l] = 1 / math.Pow(float64(l+1), 0.8) // location l is the (l+1)-th most popular
		base[l] = 3 + rng.IntN(22)
		id := "opvang-" + strconv.Itoa(l+1)
		inst.Programmes = append(inst.Programmes, Programme{
			ID: id + "-baby", Location: id, Name: "Opvang " + strconv.Itoa(l+1), AgeBand: "baby", StartMonth: "2027-09",
		})
	}
	w := make([]float64, cfg.Locations)
	for i := 0; i < cfg.Requests; i++ {
		id := "kind-" + strconv.Itoa(i+1)
		if i > 0 && rng.Float64() < cfg.Siblings {
			// A twin: same family, same list, applying together.
			prev := inst.Children[i-1]
			inst.Children = append(inst.Children, Child{ID: id, Preferences: prev.Preferences, Criteria: prev.Criteria,
				Vulnerable: prev.Vulnerable, Siblings: []string{prev.ID}})
			continue
		}
		ch := Child{ID: id, Vulnerable: rng.Float64() < cfg.Vulnerable}
		work := 0.75
		maxChoices := 5
		if ch.Vulnerable {
			work, maxChoices = 0.40, 3
		}
		if rng.Float64() < work {
			ch.Criteria = []string{cityCriterionWork}
		}
		home := point{rng.Float64(), rng.Float64()}
		total := 0.0
		for l, p := range locs {
			d := math.Hypot(p.x-home.x, p.y-home.y)
			w[l] = weight[l] * math.Exp(-d/0.12)
			total += w[l]
		}
		for range 1 + rng.IntN(maxChoices) {
			x := rng.Float64() * total
			l := 0
			for ; l < len(w)-1 && x >= w[l]; l++ {
				x -= w[l]
			}
			if w[l] == 0 {
				continue // already listed
			}
			ch.Preferences = append(ch.Preferences, inst.Programmes[l].ID)
			total -= w[l]
			w[l] = 0
		}
		inst.Children = append(inst.Children, ch)
	}
	// Calibrate the capacity scale: the unplaced share falls as it grows.
	setScale := func(f float64) {
		for l := range inst.Programmes {
			inst.Programmes[l].Capacity = int(math.Round(f * float64(base[l])))
		}
	}
	unplaced := func(f float64) (float64, error) {
		setScale(f)
		res, err := Solve(inst)
		if err != nil {
			return 0, err
		}
		n := 0
		for _, a := range res.Assignments {
			if a.ProgrammeID == "" {
				n++
			}
		}
		return float64(n) / float64(len(res.Assignments)), nil
	}
	lo, hi := 0.0, 8.0*float64(cfg.Requests)/float64(cfg.Locations)/13
	for range 30 {
		mid := (lo + hi) / 2
		u, err := unplaced(mid)
		if err != nil {
			return nil, fmt.Errorf("allocation: city: %w", err)
		}
		if u > cfg.Unplaced {
			lo = mid
		} else {
			hi = mid
		}
	}
	setScale(hi)
	return inst, nil
}

// WithPolicy returns a copy of a city instance under a reserve policy.
func WithPolicy(inst *Instance, policy ReservePolicyName, share float64) (*Instance, error) {
	out := *inst
	switch policy {
	case PolicyNone:
		out.Reserve = ReservePolicy{}
	case PolicyReserveFirst:
		out.Reserve = ReservePolicy{DefaultShare: share, Fill: FillFirst}
	case PolicyReserveLast:
		out.Reserve = ReservePolicy{DefaultShare: share, Fill: FillLast}
	default:
		return nil, fmt.Errorf("allocation: unknown reserve policy %q", policy)
	}
	return &out, nil
}

// SimOutcome is what one policy gives in one city year.
type SimOutcome struct {
	Policy ReservePolicyName `json:"policy"`
	Seed   uint64            `json:"seed"`
	// Placed is the share of requests with a place, PlacedVulnerable the
	// same among vulnerable families.
	Placed           float64 `json:"placed"`
	PlacedVulnerable float64 `json:"placed_vulnerable"`
	// FirstChoice is the share of placed children at their first choice.
	FirstChoice float64 `json:"first_choice"`
	// JustifiedEnvy counts children who prefer a programme where a child
	// of lower precedence holds a seat they could take (the audit's check);
	// Waste counts empty seats wanted by an eligible child. Both must be 0.
	JustifiedEnvy int  `json:"justified_envy"`
	Waste         int  `json:"waste"`
	AuditOK       bool `json:"audit_ok"`
	Requests      int  `json:"requests"`
	Vulnerable    int  `json:"vulnerable"`
	Seats         int  `json:"seats"`
}

// Simulate solves the city year of each seed under every reserve policy
// and audits each result.
func Simulate(cfg CityConfig, seeds []uint64) ([]SimOutcome, error) {
	cfg = cfg.withDefaults()
	var out []SimOutcome
	for _, seed := range seeds {
		city, err := City(cfg, seed)
		if err != nil {
			return nil, err
		}
		for _, pol := range SimPolicies {
			inst, err := WithPolicy(city, pol, cfg.ReserveShare)
			if err != nil {
				return nil, err
			}
			res, err := Solve(inst)
			if err != nil {
				return nil, fmt.Errorf("allocation: simulate seed %d, %s: %w", seed, pol, err)
			}
			rep := Audit(inst, res)
			o := SimOutcome{Policy: pol, Seed: seed, AuditOK: rep.OK, Requests: len(inst.Children),
				JustifiedEnvy: auditViolations(rep, CheckEnvy), Waste: auditViolations(rep, CheckWaste)}
			placed, placedV, first := 0, 0, 0
			for i, a := range res.Assignments {
				v := inst.Children[i].Vulnerable
				if v {
					o.Vulnerable++
				}
				if a.ProgrammeID == "" {
					continue
				}
				placed++
				if v {
					placedV++
				}
				if a.Choice == 1 {
					first++
				}
			}
			for _, p := range inst.Programmes {
				o.Seats += p.Capacity
			}
			o.Placed = ratio(placed, o.Requests)
			o.PlacedVulnerable = ratio(placedV, o.Vulnerable)
			o.FirstChoice = ratio(first, placed)
			out = append(out, o)
		}
	}
	return out, nil
}

func ratio(a, b int) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

func auditViolations(rep Report, check string) int {
	for _, c := range rep.Checks {
		if c.Name == check {
			return c.Violations
		}
	}
	return 0
}

// SimSummary is the mean and spread of one policy's outcomes over seeds.
type SimSummary struct {
	Policy                   ReservePolicyName
	Seeds                    int
	Placed, PlacedVulnerable Spread
	FirstChoice              Spread
	JustifiedEnvy, Waste     int // summed over seeds
	AuditOK                  bool
	VulnerableAtLeastOverall int // seeds where the vulnerable rate >= the overall rate
}

// Spread is a mean with its sample standard deviation, minimum and maximum.
type Spread struct{ Mean, SD, Min, Max float64 }

func spreadOf(xs []float64) Spread {
	s := Spread{Min: math.Inf(1), Max: math.Inf(-1)}
	for _, x := range xs {
		s.Mean += x
		s.Min, s.Max = min(s.Min, x), max(s.Max, x)
	}
	s.Mean /= float64(len(xs))
	if len(xs) > 1 {
		for _, x := range xs {
			s.SD += (x - s.Mean) * (x - s.Mean)
		}
		s.SD = math.Sqrt(s.SD / float64(len(xs)-1))
	}
	return s
}

// Summarize groups outcomes by policy, in the order of SimPolicies.
func Summarize(outcomes []SimOutcome) []SimSummary {
	var out []SimSummary
	for _, pol := range SimPolicies {
		s := SimSummary{Policy: pol, AuditOK: true}
		var placed, vuln, first []float64
		for _, o := range outcomes {
			if o.Policy != pol {
				continue
			}
			s.Seeds++
			placed, vuln, first = append(placed, o.Placed), append(vuln, o.PlacedVulnerable), append(first, o.FirstChoice)
			s.JustifiedEnvy += o.JustifiedEnvy
			s.Waste += o.Waste
			s.AuditOK = s.AuditOK && o.AuditOK
			if o.PlacedVulnerable >= o.Placed {
				s.VulnerableAtLeastOverall++
			}
		}
		if s.Seeds == 0 {
			continue
		}
		s.Placed, s.PlacedVulnerable, s.FirstChoice = spreadOf(placed), spreadOf(vuln), spreadOf(first)
		out = append(out, s)
	}
	return out
}
