package reports

import (
	"bytes"
	_ "embed"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strconv"
	"sync"

	"github.com/loket-kinderopvang/loket/internal/geo"
)

// Reference data of the regional map (see data/README.md): births per
// municipality and the municipalities' outlines, both replaceable by an
// operator.
var (
	//go:embed data/births.csv
	birthsCSV []byte
	//go:embed data/boundaries.geojson
	boundariesJSON []byte
)

// Point is a longitude, latitude pair (WGS84 degrees), as GeoJSON writes it.
type Point [2]float64

// Outline is a municipality's shape: polygons, each a list of rings (the
// first the outer ring).
type Outline struct {
	NIS       string
	Schematic bool
	Polygons  [][][]Point
}

type geoJSON struct {
	Type     string `json:"type"`
	Features []struct {
		Type       string `json:"type"`
		Properties struct {
			NIS    string `json:"nis"`
			Source string `json:"source"`
		} `json:"properties"`
		Geometry struct {
			Type        string          `json:"type"`
			Coordinates json.RawMessage `json:"coordinates"`
		} `json:"geometry"`
	} `json:"features"`
}

// parseOutlines reads a GeoJSON FeatureCollection of Polygons and
// MultiPolygons with properties.nis.
func parseOutlines(b []byte) (map[string]Outline, error) {
	var fc geoJSON
	if err := json.Unmarshal(b, &fc); err != nil {
		return nil, fmt.Errorf("reports: boundaries: %w", err)
	}
	out := map[string]Outline{}
	for i, f := range fc.Features {
		o := Outline{NIS: f.Properties.NIS, Schematic: f.Properties.Source != "official"}
		switch f.Geometry.Type {
		case "Polygon":
			var p [][]Point
			if err := json.Unmarshal(f.Geometry.Coordinates, &p); err != nil {
				return nil, fmt.Errorf("reports: boundaries feature %d: %w", i, err)
			}
			o.Polygons = [][][]Point{p}
		case "MultiPolygon":
			if err := json.Unmarshal(f.Geometry.Coordinates, &o.Polygons); err != nil {
				return nil, fmt.Errorf("reports: boundaries feature %d: %w", i, err)
			}
		default:
			return nil, fmt.Errorf("reports: boundaries feature %d (%s): geometry %q is no polygon", i, o.NIS, f.Geometry.Type)
		}
		if o.NIS == "" {
			return nil, fmt.Errorf("reports: boundaries feature %d has no nis", i)
		}
		out[o.NIS] = o
	}
	return out, nil
}

// writeOutlines writes outlines as the GeoJSON FeatureCollection that
// parseOutlines reads, sorted by NIS code.
func writeOutlines(os []Outline) ([]byte, error) {
	sort.Slice(os, func(i, j int) bool { return os[i].NIS < os[j].NIS })
	type feature struct {
		Type       string            `json:"type"`
		Properties map[string]string `json:"properties"`
		Geometry   struct {
			Type        string           `json:"type"`
			Coordinates [][][][2]float64 `json:"coordinates"`
		} `json:"geometry"`
	}
	fc := struct {
		Type     string    `json:"type"`
		Features []feature `json:"features"`
	}{Type: "FeatureCollection"}
	for _, o := range os {
		f := feature{Type: "Feature", Properties: map[string]string{"nis": o.NIS, "source": "schematic"}}
		if !o.Schematic {
			f.Properties["source"] = "official"
		}
		f.Geometry.Type = "MultiPolygon"
		for _, p := range o.Polygons {
			var rings [][][2]float64
			for _, r := range p {
				var ring [][2]float64
				for _, pt := range r {
					ring = append(ring, [2]float64{math.Round(pt[0]*1e5) / 1e5, math.Round(pt[1]*1e5) / 1e5})
				}
				rings = append(rings, ring)
			}
			f.Geometry.Coordinates = append(f.Geometry.Coordinates, rings)
		}
		fc.Features = append(fc.Features, f)
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	if err := enc.Encode(fc); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// SchematicOutlines draws a schematic map of municipalities: the Voronoi
// cell of each centre point (every place nearer to it than to any other
// centre), clipped to a frame around them. Distances are taken with
// longitude scaled by cos(latitude), so the cells are not stretched.
func SchematicOutlines(ms []geo.Municipality) []Outline {
	if len(ms) == 0 {
		return nil
	}
	lat0 := 0.0
	for _, m := range ms {
		lat0 += m.Lat
	}
	k := math.Cos(lat0 / float64(len(ms)) * math.Pi / 180)
	type xy struct{ x, y float64 }
	pts := make([]xy, len(ms))
	minX, minY, maxX, maxY := math.Inf(1), math.Inf(1), math.Inf(-1), math.Inf(-1)
	for i, m := range ms {
		pts[i] = xy{m.Lon * k, m.Lat}
		minX, maxX = math.Min(minX, pts[i].x), math.Max(maxX, pts[i].x)
		minY, maxY = math.Min(minY, pts[i].y), math.Max(maxY, pts[i].y)
	}
	margin := math.Max(0.04, 0.15*math.Max(maxX-minX, maxY-minY))
	frame := []xy{{minX - margin, minY - margin}, {maxX + margin, minY - margin}, {maxX + margin, maxY + margin}, {minX - margin, maxY + margin}}
	var out []Outline
	for i, p := range pts {
		cell := frame
		for j, q := range pts {
			if i == j || (p == q) {
				continue
			}
			// Keep the half-plane of points nearer to p than to q:
			// (x - mid)·(q - p) <= 0.
			mx, my := (p.x+q.x)/2, (p.y+q.y)/2
			dx, dy := q.x-p.x, q.y-p.y
			side := func(a xy) float64 { return (a.x-mx)*dx + (a.y-my)*dy }
			var next []xy
			for n := range cell {
				a, b := cell[n], cell[(n+1)%len(cell)]
				sa, sb := side(a), side(b)
				if sa <= 0 {
					next = append(next, a)
				}
				if (sa < 0 && sb > 0) || (sa > 0 && sb < 0) {
					t := sa / (sa - sb)
					next = append(next, xy{a.x + t*(b.x-a.x), a.y + t*(b.y-a.y)})
				}
			}
			cell = next
		}
		if len(cell) < 3 {
			continue
		}
		ring := make([]Point, 0, len(cell)+1)
		for _, c := range cell {
			ring = append(ring, Point{c.x / k, c.y})
		}
		ring = append(ring, ring[0])
		out = append(out, Outline{NIS: string(ms[i].NIS), Schematic: true, Polygons: [][][]Point{{ring}}})
	}
	return out
}

type mapData struct {
	outlines map[string]Outline
	births   map[string]int
	err      error
}

var loadMapData = sync.OnceValue(func() mapData {
	var d mapData
	d.outlines, d.err = parseOutlines(boundariesJSON)
	if d.err != nil {
		return d
	}
	d.births = map[string]int{}
	rows, err := csv.NewReader(bytes.NewReader(birthsCSV)).ReadAll()
	if err != nil {
		d.err = fmt.Errorf("reports: births: %w", err)
		return d
	}
	for i, r := range rows {
		if i == 0 {
			continue
		}
		n, err := strconv.Atoi(r[1])
		if len(r) < 2 || err != nil || n <= 0 {
			d.err = fmt.Errorf("reports: births line %d: %q", i+1, r)
			return d
		}
		d.births[r[0]] = n
	}
	return d
})

// regionOutlines are the outlines of the region's municipalities: from
// the reference file, or, when one of them is missing there, schematic
// cells for the whole region (so that the cells fit together).
func regionOutlines(regionNIS string) ([]Outline, error) {
	d := loadMapData()
	if d.err != nil {
		return nil, d.err
	}
	var ms []geo.Municipality
	for _, m := range geo.Municipalities() {
		if string(m.RegionNIS) == regionNIS {
			ms = append(ms, m)
		}
	}
	var out []Outline
	for _, m := range ms {
		o, ok := d.outlines[string(m.NIS)]
		if !ok {
			return SchematicOutlines(ms), nil
		}
		out = append(out, o)
	}
	return out, nil
}

// Births is the reference number of births per year in a municipality
// (data/births.csv), false when there is none.
func Births(nis string) (int, bool) {
	n, ok := loadMapData().births[nis]
	return n, ok
}
