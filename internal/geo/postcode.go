package geo

import (
	"bytes"
	_ "embed"
	"encoding/csv"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// Point is a position in WGS84 degrees.
type Point struct{ Lat, Lon float64 }

// Postcode is a Belgian postal code with an approximate centre, so a parent
// can search "within 5 km of 2440" without giving an address.
type Postcode struct {
	Code            string
	MunicipalityNIS NISCode
	Name            string
	Point
}

//go:embed data/postcodes.csv
var postcodesCSV []byte

var postcodes = sync.OnceValues(func() (map[string]Postcode, error) {
	rows, err := csv.NewReader(bytes.NewReader(postcodesCSV)).ReadAll()
	if err != nil {
		return nil, fmt.Errorf("geo: postcodes: %w", err)
	}
	out := make(map[string]Postcode, len(rows))
	for i, r := range rows[1:] {
		lat, err1 := strconv.ParseFloat(r[3], 64)
		lon, err2 := strconv.ParseFloat(r[4], 64)
		if len(r) != 5 || err1 != nil || err2 != nil {
			return nil, fmt.Errorf("geo: postcodes line %d: bad row %v", i+2, r)
		}
		if _, dup := out[r[0]]; dup {
			return nil, fmt.Errorf("geo: postcodes line %d: duplicate postcode %s", i+2, r[0])
		}
		out[r[0]] = Postcode{Code: r[0], MunicipalityNIS: NISCode(r[1]), Name: r[2], Point: Point{lat, lon}}
	}
	return out, nil
})

// LookupPostcode finds a postcode's centre.
func LookupPostcode(code string) (Postcode, bool) {
	m, err := postcodes()
	if err != nil {
		return Postcode{}, false
	}
	p, ok := m[code]
	return p, ok
}

// Postcodes returns every known postcode, sorted by code.
func Postcodes() []Postcode {
	m, err := postcodes()
	if err != nil {
		return nil
	}
	out := make([]Postcode, 0, len(m))
	for _, p := range m {
		out = append(out, p)
	}
	slices.SortFunc(out, func(a, b Postcode) int { return strings.Compare(a.Code, b.Code) })
	return out
}

// PostcodesOf returns the postcodes of one municipality, sorted by code.
func PostcodesOf(nis NISCode) []Postcode {
	var out []Postcode
	for _, p := range Postcodes() {
		if p.MunicipalityNIS == nis {
			out = append(out, p)
		}
	}
	return out
}

// PostcodesErr reports broken embedded postcode data (a test calls it).
func PostcodesErr() error {
	_, err := postcodes()
	return err
}
