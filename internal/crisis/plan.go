package crisis

import (
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/loket-kinderopvang/loket/internal/allocation"
	"github.com/loket-kinderopvang/loket/internal/catalog"
	"github.com/loket-kinderopvang/loket/internal/geo"
)

// CrisisTier is the criterion an affected child holds at every location: it
// goes on top of the desk's usual tiers, so affected children come first and
// the usual rules order them among themselves.
const CrisisTier = "crisis"

// MaxChoices bounds how many nearby places one child lists in the engine's
// input, nearest first. Affected children of one closure live close together
// and so list the same places: the list must reach far enough to hold all of
// them, or children would stay without a place while places within the
// radius are free. The bound only guards against a pathological region.
const MaxChoices = 2000

// Need is what one affected child needs: where the family went (the closed
// location, or home), when, on which days and how.
type Need struct {
	ID         string // the request id
	Lat, Lon   float64
	Born       time.Time
	Start      time.Time // first day of care wanted
	Days       []string  // mon … sun
	HalfDays   bool
	WiderHours bool
	Vulnerable bool
	Criteria   []string // the usual priority claims
	Refused    []string // sites whose provider refused this child already
}

// Site is a location that may take affected children, with its free places
// (usual plus emergency, minus what proposals hold) per programme.
type Site struct {
	ID           string
	Name         string
	Lat, Lon     float64
	MinAgeMonths int
	MaxAgeMonths int
	Hours        catalog.WeekHours
	EarlyHours   bool
	LateHours    bool
	// Free places by "month|band".
	Free map[string]int

	open [7]int // minutes open per weekday, -1 when closed (see prepare)
}

// prepare reads the opening hours once, so that fitting a child reads numbers.
func (s *Site) prepare() {
	for i, h := range s.Hours {
		s.open[i] = -1
		if h.Open != "" && h.Close != "" {
			s.open[i] = minutes(h.Close) - minutes(h.Open)
		}
	}
}

var dayIndex = map[string]int{"mon": 0, "tue": 1, "wed": 2, "thu": 3, "fri": 4, "sat": 5, "sun": 6}

// Fits reports whether a site can take a child: age at the start, every asked
// day open, a whole day open long enough, wider hours when asked.
func (s *Site) Fits(n *Need) bool {
	s.prepare()
	return s.fits(n, catalog.AgeInMonths(n.Born, n.Start))
}

// fits is Fits for a prepared site and the child's age in months at the start.
func (s *Site) fits(n *Need, months int) bool {
	if months < s.MinAgeMonths || (s.MaxAgeMonths > 0 && months >= s.MaxAgeMonths) {
		return false
	}
	for _, d := range n.Days {
		i, ok := dayIndex[d]
		if !ok {
			return false
		}
		if s.open[i] < 0 || (!n.HalfDays && s.open[i] < 7*60) {
			return false // closed that day, or shorter than a whole day (seven hours)
		}
	}
	if n.WiderHours && !s.EarlyHours && !s.LateHours {
		return false
	}
	return true
}

func minutes(hhmm string) int {
	if len(hhmm) != 5 {
		return 0
	}
	h, _ := strconv.Atoi(hhmm[:2])
	m, _ := strconv.Atoi(hhmm[3:])
	return h*60 + m
}

// Candidate is a fitting place for a child, with its distance.
type Candidate struct {
	Site      int // index in the sites
	Programme string
	Km        float64
}

// grid buckets sites by cells of about cellKm, so that a child's search
// reads only the cells within the radius, not every site of the region.
type grid struct {
	cellKm, lat0 float64
	cells        map[[2]int][]int
}

const kmPerDegLat = 111.32

func newGrid(sites []Site, cellKm float64) *grid {
	g := &grid{cellKm: cellKm, cells: map[[2]int][]int{}}
	for _, s := range sites {
		g.lat0 += s.Lat
	}
	if len(sites) > 0 {
		g.lat0 /= float64(len(sites))
	}
	for i := range sites {
		k := g.key(sites[i].Lat, sites[i].Lon)
		g.cells[k] = append(g.cells[k], i)
	}
	return g
}

func (g *grid) key(lat, lon float64) [2]int {
	y := lat * kmPerDegLat / g.cellKm
	x := lon * kmPerDegLat * math.Cos(g.lat0*math.Pi/180) / g.cellKm
	return [2]int{int(math.Floor(y)), int(math.Floor(x))}
}

// Nearby lists for every need the fitting programmes with a free place within
// radiusKm, nearest first (ties by site id), at most MaxChoices per need.
func Nearby(needs []Need, sites []Site, radiusKm float64) [][]Candidate {
	g := newGrid(sites, radiusKm/2)
	reach := int(math.Ceil(radiusKm/g.cellKm)) + 1
	// A flat-earth distance, exact enough at this scale, rules most sites
	// out before the great-circle distance is computed.
	kmPerDegLon := kmPerDegLat * math.Cos(g.lat0*math.Pi/180)
	near := (radiusKm * 1.01) * (radiusKm * 1.01)
	// The free places of every site for one start month and age band, by
	// site index: one map lookup per site and slot, not per child.
	free := map[string][]int{}
	freeOf := func(slot string) []int {
		if f, ok := free[slot]; ok {
			return f
		}
		f := make([]int, len(sites))
		for i := range sites {
			f[i] = sites[i].Free[slot]
		}
		free[slot] = f
		return f
	}
	for i := range sites {
		sites[i].prepare()
	}
	out := make([][]Candidate, len(needs))
	var buf []Candidate
	for i := range needs {
		n := &needs[i]
		month := n.Start.Format("2006-01")
		age := catalog.AgeInMonths(n.Born, n.Start)
		band := string(catalog.BandForAge(age))
		slotFree := freeOf(month + "|" + band)
		c := g.key(n.Lat, n.Lon)
		buf = buf[:0]
		for dy := -reach; dy <= reach; dy++ {
			for dx := -reach; dx <= reach; dx++ {
				for _, si := range g.cells[[2]int{c[0] + dy, c[1] + dx}] {
					if slotFree[si] <= 0 {
						continue
					}
					s := &sites[si]
					fy, fx := (s.Lat-n.Lat)*kmPerDegLat, (s.Lon-n.Lon)*kmPerDegLon
					if fy*fy+fx*fx > near {
						continue
					}
					km := geo.DistanceKm(n.Lat, n.Lon, s.Lat, s.Lon)
					if km > radiusKm || !s.fits(n, age) || slices.Contains(n.Refused, s.ID) {
						continue
					}
					buf = append(buf, Candidate{Site: si, Km: km})
				}
			}
		}
		slices.SortFunc(buf, func(a, b Candidate) int {
			if a.Km != b.Km {
				if a.Km < b.Km {
					return -1
				}
				return 1
			}
			return strings.Compare(sites[a.Site].ID, sites[b.Site].ID)
		})
		k := min(len(buf), MaxChoices)
		out[i] = make([]Candidate, k)
		for j := range k {
			buf[j].Programme = programme(sites[buf[j].Site].ID, month, band)
			out[i][j] = buf[j]
		}
	}
	return out
}

func programme(site, month, band string) string { return site + "|" + month + "|" + band }

// Instance builds the engine's input for a re-placement: every need with its
// nearby places as preferences (nearest first) and the crisis criterion on
// top of the usual tiers; programmes carry the free places.
func Instance(needs []Need, sites []Site, radiusKm float64, tiers []string, seed allocation.Seed) *allocation.Instance {
	cands := Nearby(needs, sites, radiusKm)
	policy := allocation.Policy{Tiers: append([]string{CrisisTier}, tiers...)}
	inst := &allocation.Instance{Version: allocation.FormatVersion, Seed: seed, TieBreak: allocation.TieBreakSingle,
		DefaultPolicy: policy, Programmes: []allocation.Programme{}, Children: []allocation.Child{}}
	used := map[string]bool{}
	locs := map[int]bool{}
	for i, n := range needs {
		ch := allocation.Child{ID: n.ID, Preferences: []string{}, Vulnerable: n.Vulnerable,
			Criteria: append([]string{CrisisTier}, n.Criteria...)}
		if n.Vulnerable {
			ch.Criteria = append(ch.Criteria, "vulnerable")
		}
		for _, c := range cands[i] {
			ch.Preferences = append(ch.Preferences, c.Programme)
			if !used[c.Programme] {
				used[c.Programme] = true
				s := &sites[c.Site]
				month, band := c.Programme[len(s.ID)+1:len(s.ID)+8], c.Programme[len(s.ID)+9:]
				inst.Programmes = append(inst.Programmes, allocation.Programme{ID: c.Programme, Location: s.ID,
					StartMonth: month, AgeBand: band, Capacity: s.Free[month+"|"+band]})
				locs[c.Site] = true
			}
		}
		inst.Children = append(inst.Children, ch)
	}
	for si := range locs {
		inst.Locations = append(inst.Locations, allocation.Location{ID: sites[si].ID, Name: sites[si].Name, Policy: policy})
	}
	slices.SortFunc(inst.Locations, func(a, b allocation.Location) int { return strings.Compare(a.ID, b.ID) })
	slices.SortFunc(inst.Programmes, func(a, b allocation.Programme) int { return strings.Compare(a.ID, b.ID) })
	slices.SortFunc(inst.Children, func(a, b allocation.Child) int { return strings.Compare(a.ID, b.ID) })
	return inst
}
