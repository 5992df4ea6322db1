package reports

import (
	"fmt"
	"html/template"
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
