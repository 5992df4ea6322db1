// Package geo holds the geographic reference data Loket needs: municipalities
// (gemeenten) and the regions (arrondissementen) they belong to, identified by
// their NIS codes, plus a great-circle distance helper for catalogue search.
//
// The data is embedded from data/municipalities.csv, data/regions.csv and
// data/postcodes.csv: every municipality of Flanders (285 since the mergers of
// 2025) and Brussels (19), their arrondissements and postcodes, with
// approximate centre points. data/README.md says where the list comes from and
// how [Import] (the command "loket geo import") rebuilds it from Statbel's
// REFNIS file and bpost's postcode list. The CSVs are parsed once, on first
// use. A parse error in the embedded data is a programming error: it never
// panics at run time (the accessors then return no data and [Err] reports the
// problem), and the package tests fail on it.
package geo

import (
	"bytes"
	"cmp"
	"embed"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
)

//go:embed data/municipalities.csv data/regions.csv
var dataFS embed.FS

// NISCode is a Statbel REFNIS code: five digits, e.g. "24062" (Leuven) or
// "13000" (arrondissement Turnhout).
type NISCode string

// Valid reports whether c has the form of a NIS code (exactly five ASCII
// digits). It does not check that the code exists.
func (c NISCode) Valid() bool {
	if len(c) != 5 {
		return false
	}
	for i := 0; i < len(c); i++ {
		if c[i] < '0' || c[i] > '9' {
			return false
		}
	}
	return true
}

// Municipality is a gemeente.
type Municipality struct {
	NIS    NISCode
	NameNL string
	NameFR string
	// Lat and Lon are an approximate centre point (WGS84 degrees).
	Lat, Lon float64
	// Neighbourhoods are deelgemeenten/wijken used for breakdowns.
	Neighbourhoods []string
	// RegionNIS is the arrondissement the municipality belongs to.
	RegionNIS NISCode
}

// Name returns the municipality's name in lang: the French name for "fr" (or a
// French variant such as "fr-BE"), the Dutch name otherwise.
func (m Municipality) Name(lang string) string {
	if isFrench(lang) && m.NameFR != "" {
		return m.NameFR
	}
	return m.NameNL
}

// Province returns the REFNIS code of the municipality's province, or of the
// Brussels-Capital Region (04000), which has none: the first digit(s) of a
// NIS code name it.
func (m Municipality) Province() NISCode {
	switch {
	case strings.HasPrefix(string(m.NIS), "21"):
		return "04000"
	case strings.HasPrefix(string(m.NIS), "23"), strings.HasPrefix(string(m.NIS), "24"):
		return "20001" // Flemish Brabant
	case strings.HasPrefix(string(m.NIS), "25"):
		return "20002" // Walloon Brabant
	case m.NIS == "":
		return ""
	}
	return NISCode(m.NIS[:1] + "0000")
}

// Region is an arrondissement.
type Region struct {
	NIS    NISCode
	NameNL string
	NameFR string
	// Municipalities lists the NIS codes of the region's municipalities, sorted.
	Municipalities []NISCode
}

// Name returns the region's name in lang, like [Municipality.Name].
func (r Region) Name(lang string) string {
	if isFrench(lang) && r.NameFR != "" {
		return r.NameFR
	}
	return r.NameNL
}

func isFrench(lang string) bool {
	lang = strings.ToLower(strings.TrimSpace(lang))
	return lang == "fr" || strings.HasPrefix(lang, "fr-") || strings.HasPrefix(lang, "fr_")
}

type dataset struct {
	municipalities []Municipality // sorted by NIS
	regions        []Region       // sorted by NIS
	muniIndex      map[NISCode]int
	regionIndex    map[NISCode]int
}

var load = sync.OnceValues(func() (*dataset, error) {
	muni, err := dataFS.ReadFile("data/municipalities.csv")
	if err != nil {
		return &dataset{}, err
	}
	reg, err := dataFS.ReadFile("data/regions.csv")
	if err != nil {
		return &dataset{}, err
	}
	return parse(muni, reg)
})

func data() *dataset {
	d, _ := load()
	return d
}

// Err reports a problem with the embedded reference data, or nil. It is non-nil
// only if the shipped CSV files are broken, which the package tests catch;
// callers may check it once at start-up.
func Err() error {
	_, err := load()
	return err
}

// Municipalities returns all known municipalities sorted by NIS code. The
// result is a copy the caller may modify.
func Municipalities() []Municipality {
	d := data()
	out := make([]Municipality, len(d.municipalities))
	for i, m := range d.municipalities {
		out[i] = m.clone()
	}
	return out
}

// Regions returns all known regions sorted by NIS code. The result is a copy
// the caller may modify.
func Regions() []Region {
	d := data()
	out := make([]Region, len(d.regions))
	for i, r := range d.regions {
		out[i] = r.clone()
	}
	return out
}

// LookupMunicipality returns the municipality with the given NIS code.
// (It is not called Municipality because that is the type's name.)
func LookupMunicipality(nis NISCode) (Municipality, bool) {
	d := data()
	i, ok := d.muniIndex[nis]
	if !ok {
		return Municipality{}, false
	}
	return d.municipalities[i].clone(), true
}

// LookupRegion returns the region with the given NIS code.
func LookupRegion(nis NISCode) (Region, bool) {
	d := data()
	i, ok := d.regionIndex[nis]
	if !ok {
		return Region{}, false
	}
	return d.regions[i].clone(), true
}

func (m Municipality) clone() Municipality {
	m.Neighbourhoods = slices.Clone(m.Neighbourhoods)
	return m
}

func (r Region) clone() Region {
	r.Municipalities = slices.Clone(r.Municipalities)
	return r
}

// earthRadiusKm is the mean Earth radius (IUGG).
const earthRadiusKm = 6371.0088

// DistanceKm returns the great-circle (haversine) distance in kilometres
// between two points given in decimal degrees.
func DistanceKm(lat1, lon1, lat2, lon2 float64) float64 {
	const rad = math.Pi / 180
	φ1, φ2 := lat1*rad, lat2*rad
	dφ := (lat2 - lat1) * rad
	dλ := (lon2 - lon1) * rad
	a := math.Sin(dφ/2)*math.Sin(dφ/2) + math.Cos(φ1)*math.Cos(φ2)*math.Sin(dλ/2)*math.Sin(dλ/2)
	a = math.Min(1, math.Max(0, a)) // guard against rounding just outside [0,1]
	return 2 * earthRadiusKm * math.Asin(math.Sqrt(a))
}

var (
	municipalityHeader = []string{"nis_code", "name_nl", "name_fr", "lat", "lon", "neighbourhoods", "region_nis"}
	regionHeader       = []string{"nis_code", "name_nl", "name_fr"}
)

// parse parses and cross-checks the two CSV files. It collects every problem
// it finds; on error the returned dataset is empty (never nil).
func parse(municipalitiesCSV, regionsCSV []byte) (*dataset, error) {
	var errs []error
	fail := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }

	d := &dataset{muniIndex: map[NISCode]int{}, regionIndex: map[NISCode]int{}}

	regionRows, err := readCSV(regionsCSV, regionHeader)
	if err != nil {
		fail("regions.csv: %w", err)
	}
	for _, row := range regionRows {
		r := Region{NIS: NISCode(row.field[0]), NameNL: row.field[1], NameFR: row.field[2]}
		where := fmt.Sprintf("regions.csv:%d", row.line)
		if !r.NIS.Valid() {
			fail("%s: nis_code %q is not 5 digits", where, r.NIS)
			continue
		}
		if _, dup := d.regionIndex[r.NIS]; dup {
			fail("%s: duplicate nis_code %s", where, r.NIS)
			continue
		}
		if r.NameNL == "" || r.NameFR == "" {
			fail("%s: region %s needs name_nl and name_fr", where, r.NIS)
		}
		d.regionIndex[r.NIS] = len(d.regions)
		d.regions = append(d.regions, r)
	}

	muniRows, err := readCSV(municipalitiesCSV, municipalityHeader)
	if err != nil {
		fail("municipalities.csv: %w", err)
	}
	seen := map[NISCode]bool{}
	for _, row := range muniRows {
		f := row.field
		where := fmt.Sprintf("municipalities.csv:%d", row.line)
		m := Municipality{NIS: NISCode(f[0]), NameNL: f[1], NameFR: f[2], RegionNIS: NISCode(f[6])}
		if !m.NIS.Valid() {
			fail("%s: nis_code %q is not 5 digits", where, m.NIS)
			continue
		}
		if seen[m.NIS] {
			fail("%s: duplicate nis_code %s", where, m.NIS)
			continue
		}
		seen[m.NIS] = true
		if m.NameNL == "" || m.NameFR == "" {
			fail("%s: municipality %s needs name_nl and name_fr", where, m.NIS)
		}
		if m.Lat, err = strconv.ParseFloat(f[3], 64); err != nil || m.Lat < -90 || m.Lat > 90 {
			fail("%s: municipality %s: bad lat %q", where, m.NIS, f[3])
		}
		if m.Lon, err = strconv.ParseFloat(f[4], 64); err != nil || m.Lon < -180 || m.Lon > 180 {
			fail("%s: municipality %s: bad lon %q", where, m.NIS, f[4])
		}
		if f[5] != "" {
			for _, n := range strings.Split(f[5], "|") {
				n = strings.TrimSpace(n)
				if n == "" {
					fail("%s: municipality %s: empty neighbourhood name", where, m.NIS)
					continue
				}
				m.Neighbourhoods = append(m.Neighbourhoods, n)
			}
		}
		if _, ok := d.regionIndex[m.RegionNIS]; !ok {
			fail("%s: municipality %s: region_nis %q is not in regions.csv", where, m.NIS, m.RegionNIS)
		}
		d.municipalities = append(d.municipalities, m)
	}

	slices.SortFunc(d.municipalities, func(a, b Municipality) int { return cmp.Compare(a.NIS, b.NIS) })
	slices.SortFunc(d.regions, func(a, b Region) int { return cmp.Compare(a.NIS, b.NIS) })
	clear(d.regionIndex)
	for i, r := range d.regions {
		d.regionIndex[r.NIS] = i
	}
	for i, m := range d.municipalities {
		d.muniIndex[m.NIS] = i
		if ri, ok := d.regionIndex[m.RegionNIS]; ok {
			d.regions[ri].Municipalities = append(d.regions[ri].Municipalities, m.NIS)
		}
	}
	for _, r := range d.regions {
		if len(r.Municipalities) == 0 {
			fail("regions.csv: region %s has no municipalities", r.NIS)
		}
	}

	if err := errors.Join(errs...); err != nil {
		return &dataset{muniIndex: map[NISCode]int{}, regionIndex: map[NISCode]int{}}, fmt.Errorf("geo: embedded reference data: %w", err)
	}
	return d, nil
}

type csvRow struct {
	line  int
	field []string
}

// readCSV reads a CSV file whose first line must be exactly header.
func readCSV(b []byte, header []string) ([]csvRow, error) {
	r := csv.NewReader(bytes.NewReader(b))
	r.FieldsPerRecord = len(header)
	got, err := r.Read()
	if err != nil {
		return nil, fmt.Errorf("reading header: %w", err)
	}
	if !slices.Equal(got, header) {
		return nil, fmt.Errorf("header is %q, want %q", got, header)
	}
	var rows []csvRow
	for {
		rec, err := r.Read()
		if err == io.EOF {
			return rows, nil
		}
		if err != nil {
			return nil, err
		}
		line, _ := r.FieldPos(0)
		for i := range rec {
			rec[i] = strings.TrimSpace(rec[i])
		}
		rows = append(rows, csvRow{line: line, field: rec})
	}
}
