package reports

import (
	"fmt"
	"html/template"
	"math"
	"strings"
)

// Bar is one labelled group of bars in a chart (one bar per series).
type Bar struct {
	Label  string
	Values []BarValue
}

// BarValue is one bar: its length and the text shown beside it ("<5" for a
// withheld count, which draws no bar).
type BarValue struct {
	N    int
	Text string
}

// Series names the bars of each group (a legend when there are several).
type Series struct {
	Name  string
	Class string // CSS class of the bars: chart-a, chart-b
}

// Chart geometry (user units of the viewBox; the SVG scales to its box).
const (
	chartWidth  = 640
	labelWidth  = 200
	valueWidth  = 56
	barHeight   = 18
	barGap      = 4
	groupGap    = 10
	legendSpace = 24
)

// BarChart draws a horizontal bar chart as inline SVG, on the server: it
// needs no JavaScript. role="img" with a <title> gives it an accessible name;
// the page puts a table with the same numbers beside it, which is what
// screen readers and keyboard users read.
func BarChart(id, title string, series []Series, bars []Bar) template.HTML {
	esc := template.HTMLEscapeString
	maxN := 0
	for _, b := range bars {
		for _, v := range b.Values {
			maxN = max(maxN, v.N)
		}
	}
	per := len(series)
	if per == 0 {
		per = 1
	}
	top := 0
	if len(series) > 1 {
		top = legendSpace
	}
	groupH := per*(barHeight+barGap) - barGap
	height := top + len(bars)*(groupH+groupGap)
	if height == top {
		height = top + barHeight
	}
	span := chartWidth - labelWidth - valueWidth
	var sb strings.Builder
	fmt.Fprintf(&sb, `<svg class="chart" id="%s" role="img" aria-labelledby="%s-title" viewBox="0 0 %d %d" width="100%%" preserveAspectRatio="xMinYMin meet" xmlns="http://www.w3.org/2000/svg">`,
		esc(id), esc(id), chartWidth, height)
	fmt.Fprintf(&sb, `<title id="%s-title">%s</title>`, esc(id), esc(title))
	if len(series) > 1 {
		x := labelWidth
		for _, s := range series {
			fmt.Fprintf(&sb, `<rect class="%s" x="%d" y="4" width="14" height="14"/><text x="%d" y="16">%s</text>`, esc(s.Class), x, x+20, esc(s.Name))
			x += 24 + 9*len([]rune(s.Name))
		}
	}
	y := top
	for _, b := range bars {
		fmt.Fprintf(&sb, `<text class="chart-label" x="%d" y="%d" text-anchor="end">%s</text>`, labelWidth-8, y+groupH/2+5, esc(shorten(b.Label)))
		for i, v := range b.Values {
			class := "chart-a"
			if i < len(series) {
				class = series[i].Class
			}
			w := 0
			if maxN > 0 {
				w = v.N * span / maxN
			}
			by := y + i*(barHeight+barGap)
			if w > 0 {
				fmt.Fprintf(&sb, `<rect class="%s" x="%d" y="%d" width="%d" height="%d"/>`, esc(class), labelWidth, by, w, barHeight)
			}
			fmt.Fprintf(&sb, `<text class="chart-value" x="%d" y="%d">%s</text>`, labelWidth+w+6, by+barHeight-4, esc(v.Text))
		}
		y += groupH + groupGap
	}
	sb.WriteString(`</svg>`)
	return template.HTML(sb.String()) // every text above went through HTMLEscapeString
}

// maxLabel is about what fits left of the bars; the table beside the chart
// always has the full label.
const maxLabel = 28

func shorten(s string) string {
	r := []rune(s)
	if len(r) <= maxLabel {
		return s
	}
	return string(r[:maxLabel-1]) + "…"
}

// mapClass buckets unmet demand per 100 births for the map's shading.
func mapClass(a MapArea) string {
	switch {
	case a.Births == 0:
		return "map-none"
	case a.Unmet.Hidden:
		return "map-hidden"
	case a.PerHundred.Value == 0:
		return "map-q0"
	case a.PerHundred.Value <= 1:
		return "map-q1"
	case a.PerHundred.Value <= 2.5:
		return "map-q2"
	case a.PerHundred.Value <= 5:
		return "map-q3"
	}
	return "map-q4"
}

// MapClasses are the shading classes of the map, in legend order.
var MapClasses = []string{"map-q0", "map-q1", "map-q2", "map-q3", "map-q4", "map-hidden", "map-none"}

// RegionMap draws the municipalities as inline SVG, each shaded by its
// class and named in a <title> (what a pointer shows); the table beside
// the map holds the same figures for everyone else. label names an area
// with its figure.
func RegionMap(id, title string, outlines []Outline, areas []MapArea, label func(MapArea) string) template.HTML {
	esc := template.HTMLEscapeString
	minX, minY, maxX, maxY := math.Inf(1), math.Inf(1), math.Inf(-1), math.Inf(-1)
	lat := 0.0
	n := 0
	for _, o := range outlines {
		for _, p := range o.Polygons {
			for _, pt := range p[0] {
				minX, maxX = math.Min(minX, pt[0]), math.Max(maxX, pt[0])
				minY, maxY = math.Min(minY, pt[1]), math.Max(maxY, pt[1])
				lat += pt[1]
				n++
			}
		}
	}
	if n == 0 {
		return ""
	}
	k := math.Cos(lat / float64(n) * math.Pi / 180)
	const width = 480.0
	scale := width / ((maxX - minX) * k)
	height := (maxY - minY) * scale
	byNIS := map[string]MapArea{}
	for _, a := range areas {
		byNIS[a.NIS] = a
	}
	var sb strings.Builder
	fmt.Fprintf(&sb, `<svg class="map" id="%s" role="img" aria-labelledby="%s-title" viewBox="0 0 %.0f %.0f" width="100%%" preserveAspectRatio="xMinYMin meet" xmlns="http://www.w3.org/2000/svg">`,
		esc(id), esc(id), width, math.Ceil(height))
	fmt.Fprintf(&sb, `<title id="%s-title">%s</title>`, esc(id), esc(title))
	for _, o := range outlines {
		a := byNIS[o.NIS]
		var d strings.Builder
		for _, p := range o.Polygons {
			for _, ring := range p {
				for i, pt := range ring {
					cmd := "L"
					if i == 0 {
						cmd = "M"
					}
					fmt.Fprintf(&d, "%s%.1f %.1f", cmd, (pt[0]-minX)*k*scale, (maxY-pt[1])*scale)
				}
				d.WriteString("Z")
			}
		}
		fmt.Fprintf(&sb, `<path class="%s" d="%s"><title>%s</title></path>`, mapClass(a), d.String(), esc(label(a)))
	}
	sb.WriteString(`</svg>`)
	return template.HTML(sb.String()) // every text above went through HTMLEscapeString
}
