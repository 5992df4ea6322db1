package sdc_test

import (
	"math/rand/v2"
	"testing"

	"github.com/loket-kinderopvang/loket/internal/reports/sdc"
)

// grid builds an r×c table with row totals, column totals and a grand
// total, as cells: the inner cells row by row, then the row totals, the
// column totals and the grand total.
func grid(inner [][]int) sdc.Table {
	r, c := len(inner), len(inner[0])
	var t sdc.Table
	at := func(i, j int) int { return i*c + j }
	for _, row := range inner {
		t.Values = append(t.Values, row...)
	}
	rowTot, colTot := len(t.Values), len(t.Values)+r
	grand := colTot + c
	for i := range r {
		s := 0
		var parts []int
		for j := range c {
			s += inner[i][j]
			parts = append(parts, at(i, j))
		}
		t.Values = append(t.Values, s)
		t.Relations = append(t.Relations, sdc.Relation{Total: rowTot + i, Parts: parts})
	}
	g := 0
	for j := range c {
		s := 0
		var parts []int
		for i := range r {
			s += inner[i][j]
			parts = append(parts, at(i, j))
		}
		g += s
		t.Values = append(t.Values, s)
		t.Relations = append(t.Relations, sdc.Relation{Total: colTot + j, Parts: parts})
	}
	t.Values = append(t.Values, g)
	var rp, cp []int
	for i := range r {
		rp = append(rp, rowTot+i)
	}
	for j := range c {
		cp = append(cp, colTot+j)
	}
	t.Relations = append(t.Relations, sdc.Relation{Total: grand, Parts: rp}, sdc.Relation{Total: grand, Parts: cp})
	t.Hidden = make([]bool, len(t.Values))
	return t
}

// TestRecoverBySubtraction: one hidden cell in a row with its total is
// found at once; the audit is an attacker that works.
func TestRecoverBySubtraction(t *testing.T) {
	tb := grid([][]int{{2, 10}, {7, 9}})
	tb.Hidden[0] = true
	got, err := sdc.Recover(tb)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0] != 2 {
		t.Errorf("recovered %v, want cell 0 = 2", got)
	}
	// Two hidden cells in one row, nowhere else: the column totals still give them.
	tb.Hidden[1] = true
	if got, _ := sdc.Recover(tb); len(got) != 2 {
		t.Errorf("recovered %v, want both cells of the row", got)
	}
}

// TestProtectHandCounted: the 2×2 table with its margins. The 2 is hidden;
// to hide it from both its row and its column the smallest cells beside it
// go too: 7 (its column) and 10 (its row), and then 9 closes the square.
// The margins stay published.
func TestProtectHandCounted(t *testing.T) {
	tb := grid([][]int{{2, 10}, {7, 9}})
	sec, err := sdc.Protect(&tb, 5)
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []bool{true, true, true, true, false, false, false, false, false} {
		if tb.Hidden[i] != want {
			t.Errorf("cell %d (value %d) hidden = %v, want %v", i, tb.Values[i], tb.Hidden[i], want)
		}
	}
	if len(sec) != 3 {
		t.Errorf("secondary = %v, want three cells", sec)
	}
	if got, err := sdc.Recover(tb); err != nil || len(got) != 0 {
		t.Errorf("after protection the attacker still finds %v (%v)", got, err)
	}
}

// TestProtectRandomTables: on 300 random tables of small counts, with row,
// column and grand totals and a second breakdown of every row (two
// partitions sharing one total, as the regional figures have), primary
// suppression alone gives cells away in many, and after Protect the
// attacker recovers none, while every small count stays hidden.
func TestProtectRandomTables(t *testing.T) {
	rng := rand.New(rand.NewPCG(14, 2026))
	leaky := 0
	for n := range 300 {
		r, c := 2+rng.IntN(5), 2+rng.IntN(5)
		inner := make([][]int, r)
		for i := range inner {
			inner[i] = make([]int, c)
			for j := range inner[i] {
				switch rng.IntN(4) {
				case 0:
					inner[i][j] = 0
				case 1:
					inner[i][j] = 1 + rng.IntN(4)
				default:
					inner[i][j] = rng.IntN(40)
				}
			}
		}
		tb := grid(inner)
		// A second breakdown of each row total into two parts.
		for i := range r {
			rowTot := r*c + i
			a := rng.IntN(tb.Values[rowTot] + 1)
			tb.Values = append(tb.Values, a, tb.Values[rowTot]-a)
			tb.Hidden = append(tb.Hidden, false, false)
			tb.Relations = append(tb.Relations, sdc.Relation{Total: rowTot, Parts: []int{len(tb.Values) - 2, len(tb.Values) - 1}})
		}
		primary := sdc.Table{Values: tb.Values, Hidden: make([]bool, len(tb.Values)), Relations: tb.Relations}
		for i, v := range tb.Values {
			primary.Hidden[i] = v > 0 && v < 5
		}
		if got, err := sdc.Recover(primary); err != nil {
			t.Fatal(err)
		} else if len(got) > 0 {
			leaky++
		}
		if _, err := sdc.Protect(&tb, 5); err != nil {
			t.Fatalf("table %d: %v", n, err)
		}
		for i, v := range tb.Values {
			if v > 0 && v < 5 && !tb.Hidden[i] {
				t.Fatalf("table %d: small count %d in cell %d shown", n, v, i)
			}
		}
		got, err := sdc.Recover(tb)
		if err != nil {
			t.Fatalf("table %d: %v", n, err)
		}
		if len(got) > 0 {
			t.Errorf("table %d %v: the attacker recovers %v", n, inner, got)
		}
	}
	if leaky < 100 {
		t.Errorf("primary suppression alone leaked in only %d of 300 tables: the attacker is too weak", leaky)
	}
	t.Logf("primary suppression alone leaked in %d of 300 tables", leaky)
}

// BenchmarkProtectRegionSized: a region of 10 desks side by side over 40
// columns of small counts (a large arrondissement's workbook).
func BenchmarkProtectRegionSized(b *testing.B) {
	rng := rand.New(rand.NewPCG(7, 7))
	inner := make([][]int, 10)
	for i := range inner {
		inner[i] = make([]int, 40)
		for j := range inner[i] {
			inner[i][j] = rng.IntN(30)
		}
	}
	for b.Loop() {
		tb := grid(inner)
		if _, err := sdc.Protect(&tb, 5); err != nil {
			b.Fatal(err)
		}
	}
}
