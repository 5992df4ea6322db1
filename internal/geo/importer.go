package geo

import (
	"bufio"
	"bytes"
	"cmp"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// Regions of Statbel's REFNIS whose municipalities Loket serves.
const (
	refnisFlemishRegion  = "02000"
	refnisBrusselsRegion = "04000"
)

// ImportFiles are the three reference files Loket embeds, as written by
// [Import].
type ImportFiles struct {
	Municipalities, Regions, Postcodes []byte
	// Counts, for the operator.
	MunicipalityCount, RegionCount, PostcodeCount int
}

// Import builds the reference files from Statbel's REFNIS file
// (TU_COM_REFNIS.txt, pipe-separated, with a header naming LVL_REFNIS,
// CD_REFNIS, CD_SUP_REFNIS, TX_REFNIS_NL, TX_REFNIS_FR and DT_VLDT_END) and,
// optionally, a postcode list (bpost's, separated by ; or , with the columns
// Postcode, Plaatsnaam and Hoofdgemeente, or with a NIS column instead of
// Hoofdgemeente). Only current entries (valid until 31/12/9999) of the Flemish
// and Brussels regions are kept.
//
// REFNIS has no coordinates and no neighbourhoods: both are kept from the
// current data, and a municipality that is new gets the centre of its
// postcodes (when the current data knows them). A municipality left without a
// centre, or a postcode whose municipality cannot be found, is an error, so an
// import never silently loses what the search needs.
func Import(refnis io.Reader, postcodes io.Reader) (ImportFiles, error) {
	units, err := readREFNIS(refnis)
	if err != nil {
		return ImportFiles{}, err
	}
	regionOf := func(code string) string { // walks up to level 1
		for i := 0; i < 5; i++ {
			u, ok := units[code]
			if !ok {
				return ""
			}
			if u.level == 1 {
				return code
			}
			code = u.sup
		}
		return ""
	}
	var munis []Municipality
	var regions []Region
	byNL := map[string]NISCode{}
	for code, u := range units {
		if r := regionOf(code); r != refnisFlemishRegion && r != refnisBrusselsRegion {
			continue
		}
		switch u.level {
		case 3:
			regions = append(regions, Region{NIS: NISCode(code), NameNL: u.nl, NameFR: u.fr})
		case 4:
			m := Municipality{NIS: NISCode(code), NameNL: u.nl, NameFR: u.fr, RegionNIS: NISCode(u.sup)}
			if old, ok := LookupMunicipality(m.NIS); ok {
				m.Lat, m.Lon, m.Neighbourhoods = old.Lat, old.Lon, old.Neighbourhoods
			}
			munis = append(munis, m)
			byNL[foldName(u.nl)] = m.NIS
		}
	}
	if len(munis) == 0 {
		return ImportFiles{}, errors.New("geo import: the REFNIS file has no current Flemish or Brussels municipality")
	}

	var pcs []Postcode
	if postcodes != nil {
		if pcs, err = readPostcodes(postcodes, byNL); err != nil {
			return ImportFiles{}, err
		}
	} else {
		for _, p := range Postcodes() {
			if slices.ContainsFunc(munis, func(m Municipality) bool { return m.NIS == p.MunicipalityNIS }) {
				pcs = append(pcs, p)
			}
		}
	}
	// Centres: known ones stay; a new municipality gets the mean of its
	// postcodes' known centres; then a new postcode gets its municipality's.
	var errs []error
	for i := range munis {
		m := &munis[i]
		if m.Lat != 0 || m.Lon != 0 {
			continue
		}
		var n float64
		for _, p := range pcs {
			if known, ok := LookupPostcode(p.Code); ok && p.MunicipalityNIS == m.NIS {
				m.Lat, m.Lon, n = m.Lat+known.Lat, m.Lon+known.Lon, n+1
			}
		}
		if n == 0 {
			errs = append(errs, fmt.Errorf("municipality %s %s: no centre known; add lat and lon to municipalities.csv by hand", m.NIS, m.NameNL))
			continue
		}
		m.Lat, m.Lon = m.Lat/n, m.Lon/n
	}
	centre := map[NISCode]Point{}
	for _, m := range munis {
		centre[m.NIS] = Point{m.Lat, m.Lon}
	}
	for i := range pcs {
		if known, ok := LookupPostcode(pcs[i].Code); ok && known.MunicipalityNIS == pcs[i].MunicipalityNIS {
			pcs[i].Point = known.Point
		} else {
			pcs[i].Point = centre[pcs[i].MunicipalityNIS]
		}
	}
	if err := errors.Join(errs...); err != nil {
		return ImportFiles{}, fmt.Errorf("geo import: %w", err)
	}

	slices.SortFunc(munis, func(a, b Municipality) int { return cmp.Compare(a.NIS, b.NIS) })
	slices.SortFunc(regions, func(a, b Region) int { return cmp.Compare(a.NIS, b.NIS) })
	slices.SortFunc(pcs, func(a, b Postcode) int { return cmp.Compare(a.Code, b.Code) })
	out := ImportFiles{MunicipalityCount: len(munis), RegionCount: len(regions), PostcodeCount: len(pcs)}
	out.Municipalities = writeCSV(municipalityHeader, len(munis), func(i int) []string {
		m := munis[i]
		return []string{string(m.NIS), m.NameNL, m.NameFR, coord(m.Lat), coord(m.Lon), strings.Join(m.Neighbourhoods, "|"), string(m.RegionNIS)}
	})
	out.Regions = writeCSV(regionHeader, len(regions), func(i int) []string {
		return []string{string(regions[i].NIS), regions[i].NameNL, regions[i].NameFR}
	})
	out.Postcodes = writeCSV(postcodeHeader, len(pcs), func(i int) []string {
		p := pcs[i]
		return []string{p.Code, string(p.MunicipalityNIS), p.Name, coord(p.Lat), coord(p.Lon)}
	})
	// What we write must load: the same checks as the embedded data.
	if _, err := parse(out.Municipalities, out.Regions); err != nil {
		return ImportFiles{}, fmt.Errorf("geo import: result does not load: %w", err)
	}
	return out, nil
}

var postcodeHeader = []string{"postcode", "municipality_nis", "name", "lat", "lon"}

func coord(f float64) string { return strconv.FormatFloat(f, 'f', 4, 64) }

func writeCSV(header []string, n int, row func(int) []string) []byte {
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	_ = w.Write(header)
	for i := 0; i < n; i++ {
		_ = w.Write(row(i))
	}
	w.Flush()
	return b.Bytes()
}

type refnisUnit struct {
	level  int
	sup    string
	nl, fr string
}

// readREFNIS reads the current units of a REFNIS file by its header names.
func readREFNIS(r io.Reader) (map[string]refnisUnit, error) {
	cr := csv.NewReader(bufio.NewReader(r))
	cr.Comma = '|'
	cr.FieldsPerRecord = -1
	cr.LazyQuotes = true
	header, err := cr.Read()
	if err != nil {
		return nil, fmt.Errorf("geo import: REFNIS header: %w", err)
	}
	col := columns(header)
	need := []string{"LVL_REFNIS", "CD_REFNIS", "CD_SUP_REFNIS", "TX_REFNIS_NL", "TX_REFNIS_FR", "DT_VLDT_END"}
	for _, n := range need {
		if _, ok := col[n]; !ok {
			return nil, fmt.Errorf("geo import: the REFNIS file has no column %s (header %q)", n, header)
		}
	}
	units := map[string]refnisUnit{}
	for line := 2; ; line++ {
		rec, err := cr.Read()
		if err == io.EOF {
			return units, nil
		}
		if err != nil {
			return nil, fmt.Errorf("geo import: REFNIS line %d: %w", line, err)
		}
		get := func(n string) string {
			if i := col[n]; i < len(rec) {
				return strings.TrimSpace(rec[i])
			}
			return ""
		}
		if !strings.HasSuffix(get("DT_VLDT_END"), "9999") {
			continue // ended (e.g. merged in 2025)
		}
		level, err := strconv.Atoi(get("LVL_REFNIS"))
		if err != nil {
			return nil, fmt.Errorf("geo import: REFNIS line %d: level %q is not a number", line, get("LVL_REFNIS"))
		}
		code := pad5(get("CD_REFNIS"))
		if !NISCode(code).Valid() {
			return nil, fmt.Errorf("geo import: REFNIS line %d: code %q is not a NIS code", line, get("CD_REFNIS"))
		}
		units[code] = refnisUnit{level: level, sup: pad5(get("CD_SUP_REFNIS")), nl: get("TX_REFNIS_NL"), fr: get("TX_REFNIS_FR")}
	}
}

// readPostcodes reads a postcode list; the municipality is a NIS column or a
// main municipality's Dutch name.
func readPostcodes(r io.Reader, byNL map[string]NISCode) ([]Postcode, error) {
	b, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("geo import: postcodes: %w", err)
	}
	b = bytes.TrimPrefix(b, []byte("\ufeff"))
	cr := csv.NewReader(bytes.NewReader(b))
	if first, _, _ := bytes.Cut(b, []byte("\n")); bytes.Count(first, []byte(";")) > bytes.Count(first, []byte(",")) {
		cr.Comma = ';'
	}
	cr.FieldsPerRecord = -1
	header, err := cr.Read()
	if err != nil {
		return nil, fmt.Errorf("geo import: postcodes header: %w", err)
	}
	col := columns(header)
	pc, okPC := col["POSTCODE"]
	place, okPlace := col["PLAATSNAAM"]
	nis, okNIS := col["NIS"]
	if !okNIS {
		nis, okNIS = col["CD_REFNIS"]
	}
	main, okMain := col["HOOFDGEMEENTE"]
	if !okPC || !okPlace || (!okNIS && !okMain) {
		return nil, fmt.Errorf("geo import: the postcode file needs the columns Postcode, Plaatsnaam and NIS or Hoofdgemeente (header %q)", header)
	}
	seen := map[string]bool{}
	var out []Postcode
	var errs []error
	for line := 2; ; line++ {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("geo import: postcodes line %d: %w", line, err)
		}
		field := func(i int) string {
			if i < len(rec) {
				return strings.TrimSpace(rec[i])
			}
			return ""
		}
		code := field(pc)
		if len(code) != 4 || strings.Trim(code, "0123456789") != "" || seen[code] {
			continue // special postcodes (companies), repeated places: the first place names the code
		}
		var m NISCode
		if okNIS {
			m = NISCode(pad5(field(nis)))
		} else {
			m = byNL[foldName(field(main))]
		}
		if m == "" {
			if okMain && !inServedRange(code) {
				continue // a Walloon main municipality that REFNIS filtered out
			}
			errs = append(errs, fmt.Errorf("postcodes line %d: %s %s: main municipality %q is not in the REFNIS file", line, code, field(place), field(main)))
			continue
		}
		if !slices.Contains(slices.Collect(maps.Values(byNL)), m) {
			continue // outside Flanders and Brussels
		}
		seen[code] = true
		out = append(out, Postcode{Code: code, MunicipalityNIS: m, Name: titleCase(field(place))})
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("geo import: %w", err)
	}
	return out, nil
}

// inServedRange reports whether a postcode lies in the ranges of Brussels
// (1000-1299) or Flanders (1500-3999, 8000-9999).
func inServedRange(code string) bool {
	n, _ := strconv.Atoi(code)
	return (n >= 1000 && n < 1300) || (n >= 1500 && n < 4000) || n >= 8000
}

func columns(header []string) map[string]int {
	col := map[string]int{}
	for i, h := range header {
		col[strings.ToUpper(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")))] = i
	}
	return col
}

func pad5(s string) string {
	if s != "" && len(s) < 5 {
		return strings.Repeat("0", 5-len(s)) + s
	}
	return s
}

// foldName compares municipality names across files: bpost writes them in
// capitals, sometimes without accents.
func foldName(s string) string {
	var b strings.Builder
	for _, r := range norm.NFD.String(strings.ToLower(s)) {
		switch {
		case unicode.Is(unicode.Mn, r):
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			b.WriteRune(r)
		}
	}
	return b.String()
}

// titleCase turns bpost's "SINT-AMANDS" into "Sint-Amands"; mixed-case names
// are kept as they are.
func titleCase(s string) string {
	if s != strings.ToUpper(s) {
		return s
	}
	rs := []rune(strings.ToLower(s))
	for i := range rs {
		if i == 0 || !unicode.IsLetter(rs[i-1]) && rs[i-1] != '\'' {
			rs[i] = unicode.ToUpper(rs[i])
		}
	}
	return string(rs)
}
