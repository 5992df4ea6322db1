package catalog

// The demo catalogue and the scaled load-test catalogue: invented providers,
// locations and free places, generated deterministically (a fixed PCG seed), so
// every demo shows the same catalogue and a load test is repeatable.
//
// Everything here is invented: playful location names, no person names,
// invented streets, .example addresses, enterprise numbers in the unused KBO
// range 0190…–0199… (valid check digits, never issued) and no phone numbers
// (any Belgian number could be someone's real one).

import (
	"cmp"
	"context"
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/uptrace/bun"

	"github.com/loket-kinderopvang/loket/internal/geo"
	"github.com/loket-kinderopvang/loket/internal/platform/ids"
)

// Actors recorded on the free places the seeds write.
const (
	DemoActor   = "demo"
	ScaledActor = "loadtest"
)

// Dossier number prefixes of seeded locations; a seed recognises its own
// locations by them, which makes a second run write nothing.
const (
	DemoDossierPrefix   = "DEMO-"
	ScaledDossierPrefix = "SCALE-"
)

// MaxScaledLocations bounds SeedScaled (the invented KBO range holds 90,000
// providers).
const MaxScaledLocations = 100_000

// seedMonths is how many start months, from the current one, get free places.
const seedMonths = 12

// SeedReport counts what a seed wrote.
type SeedReport struct {
	Providers int // providers created
	Locations int // locations created
	// Availability is the number of free-place entries written; each has its
	// availability event.
	Availability int
	// Existing is the number of the seed's locations that were already there;
	// they are left as they are (a demo user may have edited them).
	Existing int
	// PerRegion counts the created locations per region (arrondissement).
	PerRegion map[geo.NISCode]int
}

// Changed reports whether the seed wrote anything.
func (r SeedReport) Changed() bool { return r.Providers+r.Locations+r.Availability > 0 }

// demoSizes is the number of demo locations per municipality, roughly by
// population: the cities get tens, the small municipalities 8 to 15. The
// scaled seed uses the same numbers as weights within a region.
var demoSizes = []seedPlan{
	{"24062", 60}, // Leuven
	{"13040", 40}, // Turnhout
	{"13008", 30}, // Geel
	{"13053", 14}, // Laakdal
	{"13021", 11}, // Meerhout
	{"13004", 15}, // Beerse
	{"13031", 12}, // Oud-Turnhout
	{"13046", 10}, // Vosselaar
	{"13017", 13}, // Kasterlee
	{"13019", 13}, // Lille
	{"13023", 9},  // Merksplas
	{"13035", 12}, // Ravels
	{"13002", 8},  // Baarle-Hertog
}

// Tier weights, in the order of Tiers (T0, T1, T2A, T2B, T3).
var (
	cityGroepTiers  = [5]int{10, 12, 22, 34, 22}
	townGroepTiers  = [5]int{12, 16, 28, 36, 8}
	cityGezinsTiers = [5]int{4, 18, 30, 38, 10}
	townGezinsTiers = [5]int{5, 25, 30, 36, 4}
	privateTiers    = [5]int{35, 40, 15, 10, 0} // private bv chains: mostly free price
	vzwTiers        = [5]int{0, 5, 25, 45, 25}  // non-profit chains: income-related, plussubsidie
	dienstTiers     = [5]int{0, 5, 35, 50, 10}  // services for gezinsopvang
)

// seedChain is a provider with many locations: one login, locations in
// several municipalities (and desks).
type seedChain struct {
	name   string // provider name
	brand  string // first word of its locations' names
	care   CareType
	munis  []geo.NISCode
	tiers  [5]int
	domain string
}

// demoChains are the invented providers with many locations. Zonnekind and
// Kindernest cross desk borders, which the provider pages must handle.
var demoChains = []seedChain{
	{"Kinderopvang Zonnekind vzw", "Zonnekind", Groepsopvang,
		[]geo.NISCode{"24062", "13008", "13040", "13004", "13021"}, vzwTiers, "zonnekind.example"},
	{"Kindernest vzw", "Kindernest", Groepsopvang,
		[]geo.NISCode{"13040", "13031", "13046", "13017", "13019", "13008", "13053", "13021"}, vzwTiers, "kindernest.example"},
	{"Speelwolk Kinderopvang vzw", "Speelwolk", Groepsopvang,
		[]geo.NISCode{"24062"}, vzwTiers, "speelwolk.example"},
	{"Klimop & Co bv", "Klimop", Groepsopvang,
		[]geo.NISCode{"24062", "13008", "13040", "13035"}, privateTiers, "klimop-en-co.example"},
	{"Babbeloe bv", "Babbeloe", Groepsopvang,
		[]geo.NISCode{"13040", "13023", "13002", "13004", "13035"}, privateTiers, "babbeloe.example"},
	{"Dienst Gezinsopvang De Kangoeroe vzw", "", Gezinsopvang,
		[]geo.NISCode{"13008", "13053", "13021", "13017", "13019"}, dienstTiers, "kangoeroe.example"},
	{"Gezinsopvang Het Warme Nest vzw", "", Gezinsopvang,
		[]geo.NISCode{"24062"}, dienstTiers, "warmenest.example"},
	{"Onthaaldienst De Vlieger vzw", "", Gezinsopvang,
		[]geo.NISCode{"13040", "13031", "13046", "13004", "13023", "13035", "13002"}, dienstTiers, "vlieger.example"},
}

var (
	scaledBrands   = []string{"Zonnekind", "Kindernest", "Speelwolk", "Klimop", "Babbeloe", "Boomhut", "Kwetternest", "Knuffelhuis", "Toverbal", "Pimpelmees", "Hummelhof", "Dromenland"}
	scaledDiensten = []string{"De Kangoeroe", "Het Warme Nest", "De Vlieger", "Het Wiegenhuis", "De Speelmuis", "Het Kinderhart"}

	groepNames = []string{
		"De Speelboom", "Het Kabouterhuis", "De Rupsjes", "Het Zonnetje", "De Ukkepuk", "Het Kriebelnest",
		"De Knuffelbeer", "'t Hummeltje", "De Regenboog", "Het Vlindertje", "De Pagadder", "Het Klavertje",
		"Het Boomhutje", "De Zandbak", "Het Kikkertje", "De Luchtballon", "Het Egeltje",
		"De Bengeltjes", "Het Molentje", "De Kleine Wereld", "Het Speelkasteel", "De Toverfluit",
		"Het Bijenkorfje", "De Ooievaar", "Het Wolkenhuis", "De Duizendpoot", "Het Eikeltje", "De Schommel",
		"De Tuimelaar", "Het Paddenstoeltje", "Het Klimrek", "De Springplank", "Het Notenhuisje",
		"De Zonnebloem", "Het Vogelnest", "De Speelvogel", "Het Kastanjeboompje",
	}
	gezinsNames = []string{
		"Wiegje", "Het Nestje", "Knuffeltje", "Pimpampoentje", "Het Slaapmutsje", "Bengeltje",
		"Kriebelbeestje", "Het Poppenhuisje", "Madeliefje", "Lieveheersbeestje", "Teddybeer",
		"Het Speelhoekje", "Zonnestraaltje", "De Kleine Reus", "Wolkje", "Snoezelhoekje", "Het Kuikentje",
		"Sterretje", "Het Muizenholletje", "Boomhutje", "Dribbeltje", "Het Wiegelied", "Kabouterhuisje",
		"Het Schelpje", "Tovertuintje", "Het Slakkenhuisje", "Vlindertuin", "Het Appeltje", "Kleine Beer",
		"Het Bloemetje", "Pluisje", "Het Konijntje", "Rupsje", "Het Eendje", "Zeepbelletje",
		"Het Knusse Hoekje", "Speelmuisje", "Zonnehoekje", "Het Mandje",
	}
	seedStreets = []string{
		"Speelpleinstraat", "Kabouterlaan", "Wiegstraat", "Vlinderweg", "Zonnebloemstraat", "Klaprooslaan",
		"Boomgaardstraat", "Ballonstraat", "Knikkerweg", "Tolstraat", "Hinkelpad", "Vliegerlaan",
		"Regenbooglaan", "Egelpad", "Merelstraat", "Kastanjedreef", "Eikelstraat", "Molenwiekstraat",
		"Zandbakweg", "Schommelstraat", "Kikkerpad", "Wolkenlaan", "Sterrenweg", "Maneschijnstraat",
		"Bijenkorfstraat", "Rupsenweg", "Klavertjesstraat", "Paddenstoelpad", "Vogelzangstraat",
		"Duizendpootlaan", "Appelbloesemstraat", "Notelaarstraat", "Speelgoedstraat", "Tuimelweg",
		"Slingerstraat", "Wipplankstraat",
	}
)

// seedPlan is how many locations a municipality gets.
type seedPlan struct {
	nis geo.NISCode
	n   int
}

// seedHood is a neighbourhood with the place its locations cluster around.
type seedHood struct {
	name     string
	postcode string
	anchor   geo.Point
	radiusKm float64
	weight   int
}

// seedArea is one municipality as the generator sees it.
type seedArea struct {
	muni  geo.Municipality
	hoods []seedHood
	city  bool
}

// seedLocation is a generated location and its provider.
type seedLocation struct {
	loc      Location
	provider int // index into seedGen.providers
	// index keys the free places' randomness, so a later month gets the same
	// numbers whenever it is first seeded.
	index uint64
	// keepsCurrent is false for the few locations that never filled in their
	// free places (their availability stays unknown).
	keepsCurrent bool
	// created is set when this run inserted the location.
	created bool
}

type seedGen struct {
	rng       *rand.Rand
	availSeed uint64
	prefix    string
	kboBase   int
	kboMax    int
	providers []Provider
	chains    []seedChain
	chainIdx  []int // provider index of each chain
	locs      []seedLocation
	used      map[string]bool     // location names per municipality
	locals    map[geo.NISCode]int // last independent groepsopvang provider per municipality
	counts    []int               // locations per provider
	// everyCell gives every location all 12 months × 2 bands (the load test):
	// a band a location does not take gets 0.
	everyCell bool
}

// SeedDemo loads the invented demo catalogue of the demo municipalities (the
// three demo desks): about 240 locations, from 60 in Leuven to 8 in
// Baarle-Hertog, with free places for the 12 start months from now's month.
// The reference data (municipalities) must be synced first.
//
// It is idempotent: locations already there (by their DEMO- dossier number)
// are left alone, and only free places of a month that has none yet are
// written, each with an event, so a second run writes nothing and a run a
// month later only adds the new month.
func SeedDemo(ctx context.Context, s *Store, now time.Time) (SeedReport, error) {
	g := newSeedGen(20261128, 1, DemoDossierPrefix, 1_990_000, 1_990_999)
	g.chains = demoChains
	if err := g.generate(demoSizes); err != nil {
		return SeedReport{}, err
	}
	return s.writeSeed(ctx, g, now, DemoActor)
}

// SeedScaled loads n invented locations for load tests: about n/22 in region
// 13000 (arrondissement Turnhout, the size of a real region) and the rest in
// region 24000 (the only other region with reference data), each with free
// places for 12 months and both age bands. It writes in bulk, in one
// transaction, and like SeedDemo writes nothing for locations already there
// (dossier numbers SCALE-000001 …).
func SeedScaled(ctx context.Context, s *Store, now time.Time, n int) (SeedReport, error) {
	if n < 1 || n > MaxScaledLocations {
		return SeedReport{}, fmt.Errorf("catalog: seed scaled: the number of locations must be between 1 and %d (got %d)", MaxScaledLocations, n)
	}
	plan, err := scaledPlan(n)
	if err != nil {
		return SeedReport{}, err
	}
	g := newSeedGen(20261128, 2, ScaledDossierPrefix, 1_900_000, 1_989_999)
	g.chains = scaledChains(g.rng, plan, n)
	g.everyCell = true
	if err := g.generate(plan); err != nil {
		return SeedReport{}, err
	}
	return s.writeSeed(ctx, g, now, ScaledActor)
}

func newSeedGen(seed, stream uint64, prefix string, kboBase, kboMax int) *seedGen {
	return &seedGen{
		rng:       rand.New(rand.NewPCG(seed, stream)),
		availSeed: seed*31 + stream,
		prefix:    prefix,
		kboBase:   kboBase,
		kboMax:    kboMax,
		used:      map[string]bool{},
		locals:    map[geo.NISCode]int{},
	}
}

// scaledPlan splits n over the two regions: region 13000 gets n/22, region
// 24000 the rest, each spread over its municipalities by the demo weights.
func scaledPlan(n int) ([]seedPlan, error) {
	small := int(math.Round(float64(n) / 22))
	var plan []seedPlan
	for _, r := range []struct {
		nis geo.NISCode
		n   int
	}{{"13000", small}, {"24000", n - small}} {
		region, ok := geo.LookupRegion(r.nis)
		if !ok || len(region.Municipalities) == 0 {
			return nil, fmt.Errorf("catalog: seed scaled: region %s is not in the reference data", r.nis)
		}
		plan = append(plan, seedSpread(r.n, region.Municipalities)...)
	}
	return plan, nil
}

// spread divides n over munis by their demo weights (largest remainder).
func seedSpread(n int, munis []geo.NISCode) []seedPlan {
	weights := make([]int, len(munis))
	total := 0
	for i, m := range munis {
		weights[i] = 10
		for _, d := range demoSizes {
			if d.nis == m {
				weights[i] = d.n
			}
		}
		total += weights[i]
	}
	plan := make([]seedPlan, len(munis))
	rest := make([]int, len(munis))
	given := 0
	for i, m := range munis {
		plan[i] = seedPlan{nis: m, n: n * weights[i] / total}
		rest[i] = n * weights[i] % total
		given += plan[i].n
	}
	order := make([]int, len(munis))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(rest[b], rest[a]) })
	for k := 0; given < n; k++ {
		plan[order[k%len(order)]].n++
		given++
	}
	return plan
}

// scaledChains invents chains and gezinsopvang services in proportion to n,
// each in one to four municipalities picked by size.
func scaledChains(rng *rand.Rand, plan []seedPlan, n int) []seedChain {
	pick := func() geo.NISCode {
		total := 0
		for _, p := range plan {
			total += p.n
		}
		x := rng.IntN(max(total, 1))
		for _, p := range plan {
			if x < p.n {
				return p.nis
			}
			x -= p.n
		}
		return plan[0].nis
	}
	munis := func() []geo.NISCode {
		k := 1 + rng.IntN(4)
		var out []geo.NISCode
		for range k {
			if m := pick(); !slices.Contains(out, m) {
				out = append(out, m)
			}
		}
		return out
	}
	var chains []seedChain
	for i := range max(4, n*45/100/40) {
		brand := scaledBrands[i%len(scaledBrands)]
		name, tiers, domain := brand, vzwTiers, strings.ToLower(brand)
		if i >= len(scaledBrands) {
			name += " " + strconv.Itoa(i/len(scaledBrands)+1)
			domain += strconv.Itoa(i/len(scaledBrands) + 1)
		}
		if i%3 == 2 {
			name, tiers = name+" bv", privateTiers
		} else {
			name = "Kinderopvang " + name + " vzw"
		}
		chains = append(chains, seedChain{name, brand, Groepsopvang, munis(), tiers, domain + ".example"})
	}
	for i := range max(2, n*55/100/100) {
		base := scaledDiensten[i%len(scaledDiensten)]
		name := "Dienst Gezinsopvang " + base
		if i >= len(scaledDiensten) {
			name += " " + strconv.Itoa(i/len(scaledDiensten)+1)
		}
		chains = append(chains, seedChain{name + " vzw", "", Gezinsopvang, munis(), dienstTiers,
			seedSlug(base) + strconv.Itoa(i) + ".example"})
	}
	return chains
}

// generate builds every provider and location of plan, in a fixed order.
func (g *seedGen) generate(plan []seedPlan) error {
	for _, c := range g.chains {
		if err := g.addProvider(c.name); err != nil {
			return err
		}
		g.chainIdx = append(g.chainIdx, len(g.providers)-1)
	}
	seq := 0
	for _, p := range plan {
		area, err := newSeedArea(p.nis, p.n)
		if err != nil {
			return err
		}
		// Exactly 55% gezinsopvang per municipality, in a shuffled order.
		care := make([]CareType, p.n)
		for i := range care {
			care[i] = Groepsopvang
			if i < int(math.Round(0.55*float64(p.n))) {
				care[i] = Gezinsopvang
			}
		}
		g.rng.Shuffle(len(care), func(i, j int) { care[i], care[j] = care[j], care[i] })
		for _, ct := range care {
			seq++
			var dossier string
			if g.prefix == DemoDossierPrefix {
				dossier = fmt.Sprintf("%s%s-%03d", g.prefix, p.nis, seq)
			} else {
				dossier = fmt.Sprintf("%s%06d", g.prefix, seq)
			}
			if err := g.addLocation(area, dossier, ct, uint64(seq)); err != nil {
				return err
			}
		}
	}
	return nil
}

// kbo returns the i-th invented enterprise number of this seed, with valid
// check digits (97 minus the first eight digits modulo 97).
func (g *seedGen) kbo(i int) (string, error) {
	base := g.kboBase + i
	if base > g.kboMax {
		return "", fmt.Errorf("catalog: seed: more than %d providers", g.kboMax-g.kboBase+1)
	}
	return fmt.Sprintf("%08d%02d", base, 97-base%97), nil
}

func (g *seedGen) addProvider(name string) error {
	kbo, err := g.kbo(len(g.providers))
	if err != nil {
		return err
	}
	g.providers = append(g.providers, Provider{Name: name, KBONumber: kbo})
	g.counts = append(g.counts, 0)
	return nil
}

func seedWeighted[T any](rng *rand.Rand, items []T, weight func(T) int) T {
	total := 0
	for _, it := range items {
		total += weight(it)
	}
	x := rng.IntN(max(total, 1))
	for _, it := range items {
		if x < weight(it) {
			return it
		}
		x -= weight(it)
	}
	return items[len(items)-1]
}

// seedWeight is a choice with its relative weight.
type seedWeight struct {
	s string
	w int
}

func (g *seedGen) byWeight(ws ...seedWeight) string {
	return seedWeighted(g.rng, ws, func(x seedWeight) int { return x.w }).s
}

func (g *seedGen) chance(p float64) bool { return g.rng.Float64() < p }

func seedPick[T any](rng *rand.Rand, items []T) T { return items[rng.IntN(len(items))] }

// uniqueName returns the first candidate not yet used in the municipality
// (the last one when all are taken: real catalogues have twins too).
func (g *seedGen) uniqueName(nis geo.NISCode, candidates ...string) string {
	for _, c := range candidates {
		if !g.used[string(nis)+"|"+c] {
			g.used[string(nis)+"|"+c] = true
			return c
		}
	}
	return candidates[len(candidates)-1]
}

// addLocation invents one location in area.
func (g *seedGen) addLocation(area seedArea, dossier string, care CareType, index uint64) error {
	rng := g.rng
	nis := area.muni.NIS
	hood := seedWeighted(rng, area.hoods, func(h seedHood) int { return h.weight })
	street := seedPick(rng, seedStreets)
	l := Location{
		DossierNumber:   dossier,
		Street:          fmt.Sprintf("%s %d", street, 1+rng.IntN(180)),
		Postcode:        hood.postcode,
		MunicipalityNIS: nis,
		Neighbourhood:   hood.name,
		CareType:        care,
		AcceptsRequests: !g.chance(0.06),
		Languages:       []string{"nl"},
	}
	l.Lat, l.Lon = seedScatter(rng, hood.anchor, hood.radiusKm)

	// The provider: a chain or service where one works here, else independent.
	var chains []int
	for i, c := range g.chains {
		if c.care == l.CareType && slices.Contains(c.munis, nis) {
			chains = append(chains, i)
		}
	}
	tiers := townGroepTiers
	switch {
	case area.city && l.CareType == Groepsopvang:
		tiers = cityGroepTiers
	case area.city:
		tiers = cityGezinsTiers
	case l.CareType == Gezinsopvang:
		tiers = townGezinsTiers
	}
	provider, chain := -1, -1
	share := 0.5 // half of the group care belongs to a chain
	if l.CareType == Gezinsopvang {
		share = 0.45 // the others are independent onthaalouders
	}
	if len(chains) > 0 && g.chance(share) {
		chain = seedPick(rng, chains)
		provider, tiers = g.chainIdx[chain], g.chains[chain].tiers
	}

	var base string // name without its prefix, for the addresses
	switch {
	case l.CareType == Groepsopvang && chain >= 0:
		c := g.chains[chain]
		l.Name = g.uniqueName(nis, c.brand+" "+hood.name, c.brand+" "+street, c.brand+" "+area.muni.NameNL)
		l.Email = seedSlug(hood.name) + "@" + c.domain
		l.Website = "https://www." + c.domain
	case l.CareType == Groepsopvang:
		prefix := g.byWeight(seedWeight{"Kinderdagverblijf", 55}, seedWeight{"Kinderopvang", 30},
			seedWeight{"Crèche", 10}, seedWeight{"Babyhuis", 5})
		if local, ok := g.locals[nis]; ok && g.counts[local] < 3 && g.chance(0.12) {
			// A small local provider with a second or third house.
			provider = local
			owner := strings.TrimSuffix(strings.TrimSuffix(g.providers[local].Name, " bv"), " vzw")
			l.Name = g.uniqueName(nis, owner+" "+hood.name, owner+" "+street)
		} else {
			cands := make([]string, 0, 5)
			for range 4 {
				cands = append(cands, prefix+" "+seedPick(rng, groepNames))
			}
			l.Name = g.uniqueName(nis, append(cands, cands[3]+" "+hood.name)...)
			legal := " vzw"
			if g.chance(0.55) {
				legal = " bv"
			}
			if err := g.addProvider(l.Name + legal); err != nil {
				return err
			}
			provider = len(g.providers) - 1
			g.locals[nis] = provider
		}
		base = l.Name
		for _, p := range []string{"Kinderdagverblijf ", "Kinderopvang ", "Crèche ", "Babyhuis "} {
			base = strings.TrimPrefix(base, p)
		}
		l.Email = "info@" + seedSlug(base+" "+area.muni.NameNL) + ".example"
		if g.chance(0.45) {
			l.Website = "https://" + seedSlug(base+" "+area.muni.NameNL) + ".example"
		}
	default: // gezinsopvang
		prefix := "Gezinsopvang"
		if g.chance(0.5) {
			prefix = "Onthaalouder"
		}
		cands := make([]string, 0, 5)
		for range 4 {
			cands = append(cands, prefix+" "+seedPick(rng, gezinsNames))
		}
		l.Name = g.uniqueName(nis, append(cands, cands[3]+" "+hood.name)...)
		base = strings.TrimPrefix(l.Name, prefix+" ")
		if chain >= 0 {
			l.Email = seedSlug(base+" "+area.muni.NameNL) + "@" + g.chains[chain].domain
		} else {
			// An independent onthaalouder: the trading name is the provider.
			if err := g.addProvider(l.Name); err != nil {
				return err
			}
			provider = len(g.providers) - 1
			l.Email = "hallo@" + seedSlug(base+" "+area.muni.NameNL) + ".example"
			if g.chance(0.15) {
				l.Website = "https://" + seedSlug(base+" "+area.muni.NameNL) + ".example"
			}
		}
	}
	g.counts[provider]++

	l.SubsidyTier = Tiers[seedWeighted(rng, []int{0, 1, 2, 3, 4}, func(i int) int { return tiers[i] })]
	l.PriceType = l.SubsidyTier.PriceType()
	if l.CareType == Gezinsopvang {
		l.LicensedPlaces = 1 + seedWeighted(rng, []int{0, 1, 2, 3, 4, 5, 6, 7}, func(i int) int {
			return [8]int{1, 1, 2, 5, 6, 6, 6, 10}[i] // mostly 4 to 8
		})
	} else {
		switch x := rng.Float64(); {
		case x < 0.70:
			l.LicensedPlaces = 14 + rng.IntN(23) // typically 14–36
		case x < 0.85:
			l.LicensedPlaces = 9 + rng.IntN(5)
		default:
			l.LicensedPlaces = 37 + rng.IntN(24)
		}
	}
	switch x := rng.Float64(); {
	case x < 0.08:
		l.MinAgeMonths, l.MaxAgeMonths = 3, 36 // after the birth leave
	case x < 0.13 && l.CareType == Groepsopvang:
		l.MinAgeMonths, l.MaxAgeMonths = 18, 36 // a peutergroep
	default:
		l.MinAgeMonths, l.MaxAgeMonths = 0, 36
	}
	g.hours(&l, area.city)
	l.InclusiveCare = g.chance(map[CareType]float64{Groepsopvang: 0.10, Gezinsopvang: 0.05}[l.CareType])
	l.OccasionalCare = g.chance(map[CareType]float64{Groepsopvang: 0.12, Gezinsopvang: 0.04}[l.CareType])
	switch x := rng.Float64(); {
	case nis == "24062" && x < 0.08:
		l.Languages = []string{"nl", "en", "fr"}
	case nis == "24062" && x < 0.30, x < 0.08:
		l.Languages = []string{"nl", "en"}
	}
	g.locs = append(g.locs, seedLocation{loc: l, provider: provider, index: index, keepsCurrent: !g.chance(0.07) || g.everyCell})
	return nil
}

// hours invents opening hours: weekdays, wider for some (early, late, a
// Saturday morning in the cities), a free Wednesday for some onthaalouders.
func (g *seedGen) hours(l *Location, city bool) {
	type w = seedWeight
	byWeight := g.byWeight
	var open string
	if l.CareType == Groepsopvang {
		open = byWeight(w{"07:00", 50}, w{"06:30", 18}, w{"07:30", 22}, w{"06:00", 5}, w{"08:00", 5})
	} else {
		open = byWeight(w{"07:00", 40}, w{"07:30", 30}, w{"06:30", 12}, w{"08:00", 18})
	}
	closing := byWeight(w{"18:00", 45}, w{"18:30", 25}, w{"17:30", 20}, w{"19:00", 7}, w{"20:00", 3})
	for d := range 5 {
		l.OpeningHours[d] = DayHours{Open: open, Close: closing}
	}
	if l.CareType == Gezinsopvang {
		switch x := g.rng.Float64(); {
		case x < 0.10:
			l.OpeningHours[2] = DayHours{}
		case x < 0.30:
			l.OpeningHours[2] = DayHours{Open: open, Close: "12:30"}
		}
	}
	saturday := 0.01
	if city {
		saturday = 0.04
	}
	if l.CareType == Groepsopvang && g.chance(saturday) {
		l.OpeningHours[5] = DayHours{Open: "08:00", Close: "13:00"}
	}
	l.EarlyHours = open < "07:00"
	l.LateHours = closing > "18:30"
	l.Weekend = l.OpeningHours[5].Open != "" || l.OpeningHours[6].Open != ""
}

// freePlaces is the seeded number of free places of location sl in month
// (months since year 0) for band; ok is false when the location does not take
// that band. Mostly 0: places are scarce. They open up mostly in September and
// January, when toddlers leave for school, and more for babies.
func (g *seedGen) freePlaces(sl seedLocation, month int, offset int, band AgeBand) (int, bool) {
	l := sl.loc
	takesBand := l.MinAgeMonths < 18
	if band == Toddler {
		takesBand = l.MaxAgeMonths > 18
	}
	if !takesBand {
		return 0, g.everyCell
	}
	bandBit := uint64(0)
	if band == Toddler {
		bandBit = 1
	}
	rng := rand.New(rand.NewPCG(g.availSeed^sl.index*0x9E3779B97F4A7C15, uint64(month)<<1|bandBit))
	p := 0.05 + 0.01*float64(offset)
	switch month%12 + 1 {
	case 9:
		p += 0.25
	case 1:
		p += 0.10
	}
	if band == Toddler {
		p /= 2
	}
	if offset == 0 {
		p = 0.02
	}
	if rng.Float64() >= p {
		return 0, true
	}
	n := seedWeighted(rng, []int{1, 2, 3}, func(i int) int { return [4]int{0, 60, 28, 12}[i] })
	if l.CareType == Gezinsopvang {
		n = min(n, 2)
	}
	return min(n, l.LicensedPlaces), true
}

// seedScatter returns a point uniformly within radiusKm of p, rounded to about a metre.
func seedScatter(rng *rand.Rand, p geo.Point, radiusKm float64) (float64, float64) {
	r := radiusKm * math.Sqrt(rng.Float64())
	a := 2 * math.Pi * rng.Float64()
	lat, lon := seedOffsetKm(p, r*math.Sin(a), r*math.Cos(a))
	return math.Round(lat*1e5) / 1e5, math.Round(lon*1e5) / 1e5
}

// seedOffsetKm moves p north and east by kilometres.
func seedOffsetKm(p geo.Point, northKm, eastKm float64) (float64, float64) {
	return p.Lat + northKm/111.0, p.Lon + eastKm/(111.0*math.Cos(p.Lat*math.Pi/180))
}

// postcodesByMunicipality reads the embedded postcodes, found by asking the
// geo package for every four-digit code (it has no list function).
var postcodesByMunicipality = sync.OnceValue(func() map[geo.NISCode][]geo.Postcode {
	out := map[geo.NISCode][]geo.Postcode{}
	for c := 1000; c <= 9999; c++ {
		if p, ok := geo.LookupPostcode(strconv.Itoa(c)); ok {
			out[p.MunicipalityNIS] = append(out[p.MunicipalityNIS], p)
		}
	}
	return out
})

// newSeedArea places a municipality's neighbourhoods: the first (the centre)
// at the centre point, one with its own postcode towards that postcode's
// centre (at most 2.5 km out), the others around the centre. Locations
// seedScatter about a kilometre around their neighbourhood, so within about 3 km
// of the centre; a municipality with many more locations than the demo (the
// scaled seed) spreads wider.
func newSeedArea(nis geo.NISCode, n int) (seedArea, error) {
	m, ok := geo.LookupMunicipality(nis)
	if !ok {
		return seedArea{}, fmt.Errorf("catalog: seed: municipality %s is not in the reference data", nis)
	}
	spreadF := min(max(math.Sqrt(float64(n)/60), 1), 5)
	pcs := postcodesByMunicipality()[nis]
	mainPC := ""
	for _, p := range pcs {
		if mainPC == "" || p.Name == m.NameNL {
			mainPC = p.Code
		}
	}
	centre := geo.Point{Lat: m.Lat, Lon: m.Lon}
	names := m.Neighbourhoods
	if len(names) == 0 {
		names = []string{m.NameNL}
	}
	area := seedArea{muni: m, city: n >= 30}
	h := fnv.New64a()
	h.Write([]byte(nis))
	turn := float64(h.Sum64()%360) * math.Pi / 180
	for i, name := range names {
		hood := seedHood{name: name, postcode: mainPC, anchor: centre, radiusKm: 1.5 * spreadF, weight: 3}
		if i > 0 {
			hood.radiusKm, hood.weight = 1.0*spreadF, 1
			north, east := 1.8*math.Sin(turn+2*math.Pi*float64(i-1)/float64(len(names)-1)),
				1.8*math.Cos(turn+2*math.Pi*float64(i-1)/float64(len(names)-1))
			for _, p := range pcs {
				if p.Name == name {
					hood.postcode = p.Code
					north, east = (p.Lat-centre.Lat)*111.0, (p.Lon-centre.Lon)*111.0*math.Cos(centre.Lat*math.Pi/180)
					if d := math.Hypot(north, east); d > 2.5 {
						north, east = north*2.5/d, east*2.5/d
					}
				}
			}
			hood.anchor.Lat, hood.anchor.Lon = seedOffsetKm(centre, north*spreadF, east*spreadF)
		}
		area.hoods = append(area.hoods, hood)
	}
	return area, nil
}

// slug makes a name fit for an e-mail address or host name.
func seedSlug(s string) string {
	s = strings.NewReplacer("è", "e", "é", "e", "ë", "e", "&", "en", "'", "").Replace(strings.ToLower(s))
	var b strings.Builder
	dash := false
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z' || r >= '0' && r <= '9':
			b.WriteRune(r)
			dash = false
		case !dash && b.Len() > 0:
			b.WriteByte('-')
			dash = true
		}
	}
	return strings.Trim(b.String(), "-")
}

// Seed batches keep each statement moderate. bun inlines the values into the
// SQL text, so no bind-parameter limit applies (SQLite's 32,766, PostgreSQL's
// 65,535), but a statement per few hundred rows stays small and fast.
const (
	seedLocationBatch = 250
	seedRowBatch      = 1000
)

type seedCellKey struct {
	id    LocationID
	month string
	band  AgeBand
}

// writeSeed writes what g generated and is not in the database yet, in one
// transaction. It is for seeding only: it writes the availability and
// availability_events rows in bulk instead of through SetAvailability (still
// one event per new entry, with from_places empty), and it only adds free
// places where a month has none, so it never overwrites a change.
func (s *Store) writeSeed(ctx context.Context, g *seedGen, now time.Time, actor string) (SeedReport, error) {
	now = now.UTC()
	for i := range g.providers {
		if err := g.providers[i].Validate(); err != nil {
			return SeedReport{}, fmt.Errorf("catalog: seed provider %q: %w", g.providers[i].Name, err)
		}
	}
	wantNIS := map[geo.NISCode]bool{}
	for i := range g.locs {
		if err := g.locs[i].loc.Validate(); err != nil {
			return SeedReport{}, fmt.Errorf("catalog: seed location %s: %w", g.locs[i].loc.DossierNumber, err)
		}
		wantNIS[g.locs[i].loc.MunicipalityNIS] = true
	}
	known, err := s.db.NewSelect().Table("municipalities").Where("nis_code IN (?)", bun.In(seedKeys(wantNIS))).Count(ctx)
	if err != nil {
		return SeedReport{}, fmt.Errorf("catalog: seed: read municipalities: %w", err)
	}
	if int(known) < len(wantNIS) {
		return SeedReport{}, fmt.Errorf("catalog: seed: %d of %d municipalities are missing; sync the reference data first (loket tenants sync)", len(wantNIS)-int(known), len(wantNIS))
	}

	// What is there already: read outside the transaction, so a second run
	// only reads (on SQLite a transaction takes the write lock at once).
	var existing []struct {
		ID             LocationID `bun:"id"`
		DossierNumber  string     `bun:"dossier_number"`
		LicensedPlaces int        `bun:"licensed_places"`
		MinAgeMonths   int        `bun:"min_age_months"`
		MaxAgeMonths   int        `bun:"max_age_months"`
	}
	if err := s.db.NewSelect().Table("locations").Column("id", "dossier_number", "licensed_places", "min_age_months", "max_age_months").
		Where("dossier_number LIKE ?", g.prefix+"%").Scan(ctx, &existing); err != nil {
		return SeedReport{}, fmt.Errorf("catalog: seed: read locations: %w", err)
	}
	first := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC)
	months := make([]string, seedMonths)
	for i := range months {
		months[i] = first.AddDate(0, i, 0).Format("2006-01")
	}
	var cells []struct {
		LocationID LocationID `bun:"location_id"`
		StartMonth string     `bun:"start_month"`
		AgeBand    AgeBand    `bun:"age_band"`
	}
	if len(existing) > 0 {
		if err := s.db.NewSelect().TableExpr("availability AS a").Join("JOIN locations AS l ON l.id = a.location_id").
			ColumnExpr("a.location_id, a.start_month, a.age_band").
			Where("l.dossier_number LIKE ?", g.prefix+"%").Where("a.start_month IN (?)", bun.In(months)).
			Scan(ctx, &cells); err != nil {
			return SeedReport{}, fmt.Errorf("catalog: seed: read availability: %w", err)
		}
	}
	have := make(map[seedCellKey]bool, len(cells))
	for _, c := range cells {
		have[seedCellKey{c.LocationID, c.StartMonth, c.AgeBand}] = true
	}
	byDossier := make(map[string]int, len(existing))
	for i, e := range existing {
		byDossier[e.DossierNumber] = i
	}

	rep := SeedReport{Existing: len(existing)}
	var fresh []*seedLocation // locations to create
	var todo []*seedLocation  // locations that get free places
	for i := range g.locs {
		sl := &g.locs[i]
		if j, ok := byDossier[sl.loc.DossierNumber]; ok {
			// Seed around what the location is now, not what we invented.
			e := existing[j]
			sl.loc.ID, sl.loc.LicensedPlaces, sl.loc.MinAgeMonths, sl.loc.MaxAgeMonths = e.ID, e.LicensedPlaces, e.MinAgeMonths, e.MaxAgeMonths
		} else {
			fresh = append(fresh, sl)
		}
		if sl.keepsCurrent {
			todo = append(todo, sl)
		}
	}
	monthNo := func(i int) int { m := first.AddDate(0, i, 0); return m.Year()*12 + int(m.Month()) - 1 }
	missing := func(sl *seedLocation) []Availability {
		var out []Availability
		for i, month := range months {
			for _, band := range AgeBands {
				n, ok := g.freePlaces(*sl, monthNo(i), i, band)
				if ok && !have[seedCellKey{sl.loc.ID, month, band}] {
					out = append(out, Availability{LocationID: sl.loc.ID, StartMonth: month, AgeBand: band,
						FreePlaces: n, ChangedAt: now, ChangedBy: actor})
				}
			}
		}
		return out
	}
	if len(fresh) == 0 {
		pending := false
		for _, sl := range todo {
			if len(missing(sl)) > 0 {
				pending = true
				break
			}
		}
		if !pending {
			return rep, nil
		}
	}

	regions := map[geo.NISCode]bool{}
	err = s.db.Transact(ctx, func(ctx context.Context, tx bun.Tx) error {
		rep = SeedReport{Existing: len(existing), PerRegion: map[geo.NISCode]int{}}
		clear(regions)
		if err := s.seedProviders(ctx, tx, g, fresh, now, &rep); err != nil {
			return err
		}
		if err := seedLocations(ctx, tx, g.prefix, fresh, now, &rep); err != nil {
			return err
		}
		// Free places of a location this transaction created cannot be there
		// yet; those of an older location may have been written meanwhile.
		var onNew, onOld []Availability
		for _, sl := range todo {
			if add := missing(sl); len(add) > 0 {
				if sl.created {
					onNew = append(onNew, add...)
				} else {
					onOld = append(onOld, add...)
				}
				regions[regionOf(sl.loc.MunicipalityNIS)] = true
			}
		}
		n, err := seedAvailability(ctx, tx, onNew, false)
		if err != nil {
			return err
		}
		m, err := seedAvailability(ctx, tx, onOld, true)
		rep.Availability = n + m
		return err
	})
	if err != nil {
		return SeedReport{}, err
	}
	if rep.Availability > 0 {
		s.notify(ctx, regions)
	}
	return rep, nil
}

// seedProviders creates the providers of the fresh locations (by KBO number:
// one already there is kept) and points the locations at them.
func (s *Store) seedProviders(ctx context.Context, tx bun.Tx, g *seedGen, fresh []*seedLocation, now time.Time, rep *SeedReport) error {
	need := map[int]bool{}
	for _, sl := range fresh {
		need[sl.provider] = true
	}
	var ps []Provider
	for i := range g.providers {
		if need[i] {
			p := g.providers[i]
			p.ID, p.CreatedAt, p.UpdatedAt = ids.New[providerKind](), now, now
			ps = append(ps, p)
		}
	}
	kbos := make([]string, len(ps))
	for i, p := range ps {
		kbos[i] = p.KBONumber
	}
	for batch := range slices.Chunk(ps, seedRowBatch) {
		res, err := tx.NewInsert().Model(&batch).On("CONFLICT (kbo_number) DO NOTHING").Returning("NULL").Exec(ctx)
		if err != nil {
			return fmt.Errorf("catalog: seed providers: %w", err)
		}
		n, _ := res.RowsAffected()
		rep.Providers += int(n)
	}
	byKBO := map[string]ProviderID{}
	for batch := range slices.Chunk(kbos, seedRowBatch) {
		var got []Provider
		if err := tx.NewSelect().Model(&got).Column("id", "kbo_number").Where("kbo_number IN (?)", bun.In(batch)).Scan(ctx); err != nil {
			return fmt.Errorf("catalog: seed: read providers: %w", err)
		}
		for _, p := range got {
			byKBO[p.KBONumber] = p.ID
		}
	}
	for _, sl := range fresh {
		id, ok := byKBO[g.providers[sl.provider].KBONumber]
		if !ok {
			return fmt.Errorf("catalog: seed: provider %s not stored", g.providers[sl.provider].KBONumber)
		}
		sl.loc.ProviderID = id
	}
	return nil
}

// seedLocations inserts the fresh locations; one that appeared meanwhile (a
// concurrent seed) is kept, and the ids are read back so free places attach
// to the stored rows.
func seedLocations(ctx context.Context, tx bun.Tx, prefix string, fresh []*seedLocation, now time.Time, rep *SeedReport) error {
	ls := make([]Location, len(fresh))
	for i, sl := range fresh {
		sl.loc.ID, sl.loc.CreatedAt, sl.loc.UpdatedAt = ids.New[locationKind](), now, now
		ls[i] = sl.loc
	}
	created := map[string]bool{}
	for batch := range slices.Chunk(ls, seedLocationBatch) {
		var got []struct {
			DossierNumber string `bun:"dossier_number"`
		}
		if _, err := tx.NewInsert().Model(&batch).On("CONFLICT (dossier_number) DO NOTHING").
			Returning("dossier_number").Exec(ctx, &got); err != nil {
			return fmt.Errorf("catalog: seed locations: %w", err)
		}
		for _, r := range got {
			created[r.DossierNumber] = true
		}
	}
	if len(created) < len(fresh) {
		var stored []Location
		if err := tx.NewSelect().Model(&stored).Column("id", "dossier_number").Where("dossier_number LIKE ?", prefix+"%").Scan(ctx); err != nil {
			return fmt.Errorf("catalog: seed: read locations: %w", err)
		}
		byDossier := make(map[string]LocationID, len(stored))
		for _, l := range stored {
			byDossier[l.DossierNumber] = l.ID
		}
		for _, sl := range fresh {
			sl.loc.ID = byDossier[sl.loc.DossierNumber]
		}
	}
	for _, sl := range fresh {
		sl.created = created[sl.loc.DossierNumber]
		if sl.created {
			rep.Locations++
			rep.PerRegion[regionOf(sl.loc.MunicipalityNIS)]++
		}
	}
	return nil
}

// seedAvailability inserts free places and an event for each row inserted,
// and returns how many it wrote. With guarded, a row already there is skipped
// (and gets no event); without, rows are inserted as they are, which is faster.
func seedAvailability(ctx context.Context, tx bun.Tx, rows []Availability, guarded bool) (int, error) {
	written := 0
	for batch := range slices.Chunk(rows, seedRowBatch) {
		inserted := batch
		if guarded {
			var got []struct {
				LocationID LocationID `bun:"location_id"`
				StartMonth string     `bun:"start_month"`
				AgeBand    AgeBand    `bun:"age_band"`
			}
			if _, err := tx.NewInsert().Model(&batch).On("CONFLICT (location_id, start_month, age_band) DO NOTHING").
				Returning("location_id, start_month, age_band").Exec(ctx, &got); err != nil {
				return written, fmt.Errorf("catalog: seed availability: %w", err)
			}
			byKey := make(map[seedCellKey]Availability, len(batch))
			for _, a := range batch {
				byKey[seedCellKey{a.LocationID, a.StartMonth, a.AgeBand}] = a
			}
			inserted = make([]Availability, len(got))
			for i, k := range got {
				inserted[i] = byKey[seedCellKey{k.LocationID, k.StartMonth, k.AgeBand}]
			}
		} else if _, err := tx.NewInsert().Model(&batch).Exec(ctx); err != nil {
			return written, fmt.Errorf("catalog: seed availability: %w", err)
		}
		evs := make([]AvailabilityEvent, 0, len(inserted))
		for _, a := range inserted {
			evs = append(evs, AvailabilityEvent{ID: ids.New[availabilityEventKind](), LocationID: a.LocationID,
				StartMonth: a.StartMonth, AgeBand: a.AgeBand, ToPlaces: a.FreePlaces, ChangedAt: a.ChangedAt, ChangedBy: a.ChangedBy})
		}
		if len(evs) > 0 {
			// Returning("NULL"): bun would otherwise read from_places back.
			if _, err := tx.NewInsert().Model(&evs).Returning("NULL").Exec(ctx); err != nil {
				return written, fmt.Errorf("catalog: seed availability events: %w", err)
			}
		}
		written += len(evs)
	}
	return written, nil
}

func seedKeys[K comparable, V any](m map[K]V) []K {
	out := make([]K, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}
