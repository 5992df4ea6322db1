package reports

import (
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/loket-kinderopvang/loket/internal/geo"
)

var update = flag.Bool("update", false, "rewrite data/boundaries.geojson from the municipalities' centres")

// TestSchematicBoundariesFile: the shipped outlines parse, cover every
// municipality of the regions they were drawn for, and are what
// SchematicOutlines draws (-update rewrites them).
func TestSchematicBoundariesFile(t *testing.T) {
	var all []Outline
	for _, r := range geo.Regions() {
		var ms []geo.Municipality
		for _, m := range geo.Municipalities() {
			if m.RegionNIS == r.NIS {
				ms = append(ms, m)
			}
		}
		all = append(all, SchematicOutlines(ms)...)
	}
	b, err := writeOutlines(all)
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join("data", "boundaries.geojson")
	if *update {
		if err := os.WriteFile(file, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := parseOutlines(boundariesJSON)
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range all {
		g, ok := got[o.NIS]
		if !ok || !g.Schematic || len(g.Polygons) != 1 || len(g.Polygons[0][0]) < 4 {
			t.Errorf("outline of %s: %+v", o.NIS, g)
		}
	}
}

// TestVoronoiCells: each centre lies inside its own cell, and no other
// centre does.
func TestVoronoiCells(t *testing.T) {
	var ms []geo.Municipality
	for _, m := range geo.Municipalities() {
		if m.RegionNIS == "13000" {
			ms = append(ms, m)
		}
	}
	cells := SchematicOutlines(ms)
	if len(cells) != len(ms) {
		t.Fatalf("%d cells for %d municipalities", len(cells), len(ms))
	}
	for i, c := range cells {
		for j, m := range ms {
			in := inside(Point{m.Lon, m.Lat}, c.Polygons[0][0])
			if in != (i == j) {
				t.Errorf("centre of %s inside the cell of %s: %v", m.NameNL, c.NIS, in)
			}
		}
	}
}

func inside(p Point, ring []Point) bool {
	in := false
	for i, j := 0, len(ring)-1; i < len(ring); j, i = i, i+1 {
		a, b := ring[i], ring[j]
		if (a[1] > p[1]) != (b[1] > p[1]) && p[0] < (b[0]-a[0])*(p[1]-a[1])/(b[1]-a[1])+a[0] {
			in = !in
		}
	}
	return in
}
