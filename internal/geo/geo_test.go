package geo

import (
	"math"
	"slices"
	"strings"
	"testing"
)

func TestEmbeddedDataParses(t *testing.T) {
	if err := Err(); err != nil {
		t.Fatalf("embedded reference data is broken:\n%v", err)
	}
	// Since the mergers of 1 January 2025 Flanders has 285 municipalities
	// in 22 arrondissements; the Brussels-Capital Region has 19 in one.
	var flemish, brussels int
	for _, m := range Municipalities() {
		if m.RegionNIS == "21000" {
			brussels++
		} else {
			flemish++
		}
	}
	if flemish != 285 || brussels != 19 {
		t.Errorf("%d Flemish and %d Brussels municipalities, want 285 and 19", flemish, brussels)
	}
	if got := len(Regions()); got != 23 {
		t.Errorf("len(Regions()) = %d, want 23", got)
	}
}

// The mergers of 2025 are in: the merged municipalities' old codes are gone,
// the new ones are there with their postcodes.
func TestMergersOf2025(t *testing.T) {
	for _, old := range []NISCode{"11007", "11056", "23023", "23024", "23032", "37007", "37012", "37015", "37018",
		"44012", "44034", "44040", "44043", "44045", "44048", "44073", "46003", "46013", "46014",
		"71022", "71057", "71069", "73006", "73009", "73032", "73040", "73083"} {
		if m, ok := LookupMunicipality(old); ok {
			t.Errorf("%s %s no longer exists since 2025", old, m.NameNL)
		}
	}
	for nis, want := range map[NISCode]string{"23106": "Pajottegem", "46030": "Beveren-Kruibeke-Zwijndrecht",
		"44088": "Merelbeke-Melle", "71072": "Hasselt", "73111": "Tongeren-Borgloon", "44086": "Nazareth-De Pinte"} {
		if m, ok := LookupMunicipality(nis); !ok || m.NameNL != want {
			t.Errorf("LookupMunicipality(%s) = %q, %v; want %s", nis, m.NameNL, ok, want)
		}
	}
	// Zwijndrecht (2070) moved with its merger to East Flanders' Sint-Niklaas.
	if p, ok := LookupPostcode("2070"); !ok || p.MunicipalityNIS != "46030" {
		t.Errorf("2070 = %+v, %v; want Beveren-Kruibeke-Zwijndrecht", p, ok)
	}
}

// Every municipality has a postcode, every postcode a municipality.
func TestEveryPostcodeHasMunicipality(t *testing.T) {
	if err := PostcodesErr(); err != nil {
		t.Fatal(err)
	}
	pcs := Postcodes()
	if len(pcs) < 304 {
		t.Fatalf("only %d postcodes", len(pcs))
	}
	has := map[NISCode]bool{}
	for _, p := range pcs {
		if len(p.Code) != 4 || strings.Trim(p.Code, "0123456789") != "" {
			t.Errorf("postcode %q is not 4 digits", p.Code)
		}
		if _, ok := LookupMunicipality(p.MunicipalityNIS); !ok {
			t.Errorf("postcode %s points at unknown municipality %s", p.Code, p.MunicipalityNIS)
		}
		if p.Name == "" || DistanceKm(p.Lat, p.Lon, 50.85, 4.35) > 200 {
			t.Errorf("postcode %s: name %q, centre %v", p.Code, p.Name, p.Point)
		}
		has[p.MunicipalityNIS] = true
	}
	for _, m := range Municipalities() {
		if !has[m.NIS] {
			t.Errorf("%s %s has no postcode", m.NIS, m.NameNL)
		}
	}
}

// The demo desks' municipalities keep their neighbourhoods (figures break
// down by them).
func TestDemoMunicipalitiesKeepNeighbourhoods(t *testing.T) {
	for _, nis := range []NISCode{"13002", "13004", "13008", "13017", "13019", "13021", "13023", "13031", "13035", "13040", "13046", "13053", "24062"} {
		m, ok := LookupMunicipality(nis)
		if !ok || len(m.Neighbourhoods) == 0 {
			t.Errorf("demo municipality %s: %+v, %v", nis, m, ok)
		}
	}
}

func TestMunicipalitiesSortedUniqueFiveDigits(t *testing.T) {
	ms := Municipalities()
	seen := map[NISCode]bool{}
	for i, m := range ms {
		if len(m.NIS) != 5 || strings.Trim(string(m.NIS), "0123456789") != "" {
			t.Errorf("municipality %q: NIS code is not 5 digits", m.NIS)
		}
		if seen[m.NIS] {
			t.Errorf("duplicate NIS code %s", m.NIS)
		}
		seen[m.NIS] = true
		if i > 0 && ms[i-1].NIS >= m.NIS {
			t.Errorf("not sorted by NIS: %s before %s", ms[i-1].NIS, m.NIS)
		}
		if m.NameNL == "" || m.NameFR == "" {
			t.Errorf("%s: missing name (nl %q, fr %q)", m.NIS, m.NameNL, m.NameFR)
		}
		// Flanders and Brussels lie within this box.
		if m.Lat < 50.6 || m.Lat > 51.6 || m.Lon < 2.5 || m.Lon > 6 {
			t.Errorf("%s %s: centre %.4f,%.4f is not in Flanders", m.NIS, m.NameNL, m.Lat, m.Lon)
		}
	}
}

func TestEveryMunicipalityHasExistingRegion(t *testing.T) {
	for _, m := range Municipalities() {
		r, ok := LookupRegion(m.RegionNIS)
		if !ok {
			t.Errorf("%s %s: region %q does not exist", m.NIS, m.NameNL, m.RegionNIS)
			continue
		}
		if !slices.Contains(r.Municipalities, m.NIS) {
			t.Errorf("region %s does not list its municipality %s", r.NIS, m.NIS)
		}
		// REFNIS: a municipality's first two digits are its arrondissement's.
		if m.NIS[:2] != r.NIS[:2] {
			t.Errorf("%s is in region %s: arrondissement prefix mismatch", m.NIS, r.NIS)
		}
	}
}

func TestRegions(t *testing.T) {
	rs := Regions()
	seen := map[NISCode]bool{}
	total := 0
	for _, r := range rs {
		if !r.NIS.Valid() || seen[r.NIS] {
			t.Errorf("region NIS %q invalid or duplicate", r.NIS)
		}
		seen[r.NIS] = true
		if !slices.IsSorted(r.Municipalities) {
			t.Errorf("region %s: municipalities not sorted: %v", r.NIS, r.Municipalities)
		}
		for _, nis := range r.Municipalities {
			m, ok := LookupMunicipality(nis)
			if !ok || m.RegionNIS != r.NIS {
				t.Errorf("region %s lists %s, which is not in it", r.NIS, nis)
			}
		}
		total += len(r.Municipalities)
	}
	if total != len(Municipalities()) {
		t.Errorf("regions list %d municipalities, want %d", total, len(Municipalities()))
	}

	turnhout, ok := LookupRegion("13000")
	if !ok {
		t.Fatal("LookupRegion(13000) not found")
	}
	if turnhout.NameNL != "Arrondissement Turnhout" || turnhout.NameFR != "Arrondissement de Turnhout" {
		t.Errorf("region 13000 names = %q / %q", turnhout.NameNL, turnhout.NameFR)
	}
	for _, nis := range []NISCode{"13002", "13004", "13008", "13017", "13019", "13021", "13023", "13031", "13035", "13040", "13046", "13053"} {
		if !slices.Contains(turnhout.Municipalities, nis) {
			t.Errorf("region 13000 misses %s", nis)
		}
	}
	if len(turnhout.Municipalities) != 27 {
		t.Errorf("arrondissement Turnhout has %d municipalities, want 27", len(turnhout.Municipalities))
	}
	leuven, ok := LookupRegion("24000")
	if !ok {
		t.Fatal("LookupRegion(24000) not found")
	}
	if leuven.Name("fr") != "Arrondissement de Louvain" || leuven.Name("nl") != "Arrondissement Leuven" {
		t.Errorf("region 24000 names = %q / %q", leuven.NameNL, leuven.NameFR)
	}
	if !slices.Contains(leuven.Municipalities, "24062") || len(leuven.Municipalities) != 30 {
		t.Errorf("region 24000 municipalities = %v", leuven.Municipalities)
	}
	if _, ok := LookupRegion("24062"); ok {
		t.Error("LookupRegion(24062) found a municipality as a region")
	}
}

func TestLookupMunicipality(t *testing.T) {
	m, ok := LookupMunicipality("24062")
	if !ok {
		t.Fatal("LookupMunicipality(24062) not found")
	}
	if m.NameNL != "Leuven" || m.NameFR != "Louvain" || m.RegionNIS != "24000" {
		t.Errorf("24062 = %+v", m)
	}
	if !slices.Contains(m.Neighbourhoods, "Heverlee") || !slices.Contains(m.Neighbourhoods, "Kessel-Lo") {
		t.Errorf("24062 neighbourhoods = %v", m.Neighbourhoods)
	}
	if m.Lat != 50.8798 || m.Lon != 4.7005 {
		t.Errorf("24062 centre = %v,%v", m.Lat, m.Lon)
	}

	m, ok = LookupMunicipality("13031")
	if !ok || m.NameNL != "Oud-Turnhout" || m.RegionNIS != "13000" {
		t.Errorf("13031 = %+v, %v", m, ok)
	}

	for _, nis := range []NISCode{"", "99999", "2406", "24062 ", "13000"} {
		if m, ok := LookupMunicipality(nis); ok {
			t.Errorf("LookupMunicipality(%q) = %+v, want not found", nis, m)
		}
	}
}

func TestName(t *testing.T) {
	m, _ := LookupMunicipality("13002")
	for lang, want := range map[string]string{
		"fr": "Baerle-Duc", "FR": "Baerle-Duc", "fr-BE": "Baerle-Duc",
		"nl": "Baarle-Hertog", "en": "Baarle-Hertog", "": "Baarle-Hertog", "frisian": "Baarle-Hertog",
	} {
		if got := m.Name(lang); got != want {
			t.Errorf("Name(%q) = %q, want %q", lang, got, want)
		}
	}
}

func TestResultsAreCopies(t *testing.T) {
	ms := Municipalities()
	i := slices.IndexFunc(ms, func(m Municipality) bool { return m.NIS == "24062" })
	ms[i].NameNL = "changed"
	ms[i].Neighbourhoods[0] = "changed"
	m, _ := LookupMunicipality(ms[i].NIS)
	if m.NameNL == "changed" || m.Neighbourhoods[0] == "changed" {
		t.Error("modifying Municipalities() changed the reference data")
	}
	m.Neighbourhoods[0] = "changed"
	again, _ := LookupMunicipality(m.NIS)
	if again.Neighbourhoods[0] == "changed" {
		t.Error("modifying a LookupMunicipality result changed the reference data")
	}
	r, _ := LookupRegion("13000")
	r.Municipalities[0] = "00000"
	if again, _ := LookupRegion("13000"); again.Municipalities[0] == "00000" {
		t.Error("modifying a LookupRegion result changed the reference data")
	}
}

func TestDistanceKm(t *testing.T) {
	leuven, _ := LookupMunicipality("24062")
	geel, _ := LookupMunicipality("13008")
	d := DistanceKm(leuven.Lat, leuven.Lon, geel.Lat, geel.Lon)
	// Leuven–Geel is about 37 km as the crow flies.
	if d < 34 || d > 40 {
		t.Errorf("Leuven–Geel = %.1f km, want about 37 km", d)
	}
	if back := DistanceKm(geel.Lat, geel.Lon, leuven.Lat, leuven.Lon); math.Abs(back-d) > 1e-9 {
		t.Errorf("distance not symmetric: %v vs %v", d, back)
	}
	if z := DistanceKm(leuven.Lat, leuven.Lon, leuven.Lat, leuven.Lon); z != 0 {
		t.Errorf("distance to itself = %v", z)
	}
	// One degree of latitude is about 111.2 km.
	if d := DistanceKm(50, 4, 51, 4); math.Abs(d-111.2) > 0.2 {
		t.Errorf("one degree of latitude = %.2f km", d)
	}
	// Antipodes: half the circumference, no NaN.
	if d := DistanceKm(0, 0, 0, 180); math.Abs(d-math.Pi*earthRadiusKm) > 1e-6 {
		t.Errorf("antipodal distance = %v", d)
	}
	// Turnhout–Oud-Turnhout are neighbours: a few km.
	tu, _ := LookupMunicipality("13040")
	ot, _ := LookupMunicipality("13031")
	if d := DistanceKm(tu.Lat, tu.Lon, ot.Lat, ot.Lon); d < 1 || d > 5 {
		t.Errorf("Turnhout–Oud-Turnhout = %.1f km", d)
	}
}

func TestParseRejectsBadData(t *testing.T) {
	const regions = "nis_code,name_nl,name_fr\n13000,Arr T,Arr de T\n"
	const header = "nis_code,name_nl,name_fr,lat,lon,neighbourhoods,region_nis\n"
	cases := []struct {
		name, munis, regions, want string
	}{
		{"ok", header + "13040,Turnhout,Turnhout,51.3,4.9,A|B,13000\n", regions, ""},
		{"short nis", header + "1304,Turnhout,Turnhout,51.3,4.9,A,13000\n", regions, `nis_code "1304" is not 5 digits`},
		{"letters in nis", header + "1304x,Turnhout,Turnhout,51.3,4.9,A,13000\n", regions, `nis_code "1304x" is not 5 digits`},
		{"duplicate", header + "13040,T,T,51.3,4.9,A,13000\n13040,T,T,51.3,4.9,A,13000\n", regions, "municipalities.csv:3: duplicate nis_code 13040"},
		{"unknown region", header + "13040,T,T,51.3,4.9,A,24000\n", regions, `region_nis "24000" is not in regions.csv`},
		{"bad lat", header + "13040,T,T,north,4.9,A,13000\n", regions, `bad lat "north"`},
		{"lon out of range", header + "13040,T,T,51.3,190,A,13000\n", regions, `bad lon "190"`},
		{"empty neighbourhood", header + "13040,T,T,51.3,4.9,A||B,13000\n", regions, "empty neighbourhood name"},
		{"missing name", header + "13040,,T,51.3,4.9,A,13000\n", regions, "needs name_nl and name_fr"},
		{"wrong header", "nis,name_nl,name_fr,lat,lon,neighbourhoods,region_nis\n", regions, "header is"},
		{"wrong field count", header + "13040,T,T,51.3,4.9,13000\n", regions, "wrong number of fields"},
		{"duplicate region", header + "13040,T,T,51.3,4.9,A,13000\n", regions + "13000,X,X\n", "regions.csv:3: duplicate nis_code 13000"},
		{"empty region", header + "13040,T,T,51.3,4.9,A,13000\n", regions + "24000,L,L\n", "region 24000 has no municipalities"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d, err := parse([]byte(tc.munis), []byte(tc.regions))
			if d == nil {
				t.Fatal("parse returned a nil dataset")
			}
			if tc.want == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				if len(d.municipalities) != 1 || len(d.regions) != 1 || !slices.Equal(d.municipalities[0].Neighbourhoods, []string{"A", "B"}) {
					t.Fatalf("parsed %+v", d)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error = %v, want it to contain %q", err, tc.want)
			}
			if len(d.municipalities) != 0 || len(d.regions) != 0 {
				t.Errorf("on error the dataset must be empty, got %d municipalities", len(d.municipalities))
			}
		})
	}
}

func TestParseCollectsAllErrors(t *testing.T) {
	munis := "nis_code,name_nl,name_fr,lat,lon,neighbourhoods,region_nis\n" +
		"1,T,T,51.3,4.9,A,13000\n" +
		"13040,T,T,x,4.9,A,99000\n"
	_, err := parse([]byte(munis), []byte("nis_code,name_nl,name_fr\n13000,A,B\n"))
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{`municipalities.csv:2: nis_code "1"`, `municipalities.csv:3: municipality 13040: bad lat`, `region_nis "99000"`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
}

func TestPostcodes(t *testing.T) {
	if err := PostcodesErr(); err != nil {
		t.Fatal(err)
	}
	p, ok := LookupPostcode("2440")
	if !ok || p.MunicipalityNIS != "13008" || p.Lat < 51 || p.Lat > 51.3 {
		t.Errorf("2440: %+v %v", p, ok)
	}
	if _, ok := LookupPostcode("9999"); ok {
		t.Error("9999 must be unknown")
	}
	for _, code := range []string{"3000", "2300", "2387", "2430", "2450"} {
		p, ok := LookupPostcode(code)
		if !ok {
			t.Errorf("%s missing", code)
			continue
		}
		if _, ok := LookupMunicipality(p.MunicipalityNIS); !ok {
			t.Errorf("%s points at unknown municipality %s", code, p.MunicipalityNIS)
		}
	}
}
