// Package sdc is statistical disclosure control for tables of counts:
// primary suppression of small counts, secondary suppression so that no
// hidden count follows from the published sums, and the audit that checks
// it the way an attacker would, with linear programming.
//
// A table is a list of cells (counts) and relations "total = sum of parts"
// that a reader knows hold: row and column totals, a grand total, parts of
// one breakdown adding up to the number of requests. A hidden cell is an
// unknown non-negative integer to the reader; Recover finds its smallest
// and largest value allowed by every relation. When the two meet, the cell
// is disclosed.
package sdc

import (
	"errors"
	"fmt"
	"math"
	"sort"

	"gonum.org/v1/gonum/mat"
	"gonum.org/v1/gonum/optimize/convex/lp"
)

// Relation says the value of cell Total is the sum of the cells Parts.
type Relation struct {
	Total int
	Parts []int
}

// Table is a set of counts with the relations a reader knows.
type Table struct {
	Values    []int
	Hidden    []bool
	Relations []Relation
}

// cells lists every cell of r, the total first.
func (r Relation) cells() []int { return append([]int{r.Total}, r.Parts...) }

// Protect hides every count from 1 to threshold-1 (primary suppression) and
// then further cells (secondary suppression) until Recover discloses no
// hidden cell. It returns the cells it hid for the second reason. The
// method, as statistical offices apply it: a relation with one hidden cell
// gives it away by subtraction, so each such relation gets a second hidden
// cell, the smallest published one (least information lost, a zero only
// when nothing else is left); then the audit looks for cells disclosed by
// combining relations, and each one found gets the smallest published cell
// of its relations hidden beside it; until the audit finds nothing.
func Protect(t *Table, threshold int) (secondary []int, err error) {
	if t.Hidden == nil {
		t.Hidden = make([]bool, len(t.Values))
	}
	for i, v := range t.Values {
		if v > 0 && v < threshold {
			t.Hidden[i] = true
		}
	}
	hide := func(i int) {
		t.Hidden[i] = true
		secondary = append(secondary, i)
	}
	byCell := make([][]int, len(t.Values))
	for ri, r := range t.Relations {
		for _, c := range r.cells() {
			byCell[c] = append(byCell[c], ri)
		}
	}
	for round := 0; ; round++ {
		if round > len(t.Values) {
			return secondary, errors.New("sdc: secondary suppression does not settle")
		}
		// Single hidden cells first: cheap, and most of the work.
		for changed := true; changed; {
			changed = false
			for _, r := range t.Relations {
				hidden := 0
				for _, c := range r.cells() {
					if t.Hidden[c] {
						hidden++
					}
				}
				if hidden == 1 {
					if c, ok := t.smallestPublished([]Relation{r}); ok {
						hide(c)
						changed = true
					}
				}
			}
		}
		found, err := Recover(*t)
		if err != nil {
			return secondary, err
		}
		if len(found) == 0 {
			return secondary, nil
		}
		cells := make([]int, 0, len(found))
		for c := range found {
			cells = append(cells, c)
		}
		sort.Ints(cells)
		progress := false
		for _, c := range cells {
			var rs []Relation
			for _, ri := range byCell[c] {
				rs = append(rs, t.Relations[ri])
			}
			if p, ok := t.smallestPublished(rs); ok {
				hide(p)
				progress = true
			}
		}
		if !progress {
			// Every cell beside the disclosed ones is hidden already: widen
			// to any relation that still publishes a cell.
			p, ok := t.smallestPublished(t.Relations)
			if !ok {
				return secondary, fmt.Errorf("sdc: %d cells disclosed and nothing left to hide", len(found))
			}
			hide(p)
		}
	}
}

// smallestPublished is the published cell of rs with the smallest positive
// value (a zero only when no positive one is left).
func (t *Table) smallestPublished(rs []Relation) (int, bool) {
	best, bestV := -1, 0
	rank := func(v int) int {
		if v == 0 {
			return math.MaxInt
		}
		return v
	}
	for _, r := range rs {
		for _, c := range r.cells() {
			if t.Hidden[c] {
				continue
			}
			if best < 0 || rank(t.Values[c]) < rank(bestV) || (t.Values[c] == bestV && c < best) {
				best, bestV = c, t.Values[c]
			}
		}
	}
	return best, best >= 0
}

// tol is the tolerance of the linear algebra; the values are small integers.
const tol = 1e-7

// Recover is the attacker: it reads every published cell and relation and
// returns each hidden cell whose value it can tell exactly, with that
// value. Hidden cells are unknown non-negative integers. For each one the
// smallest and largest values allowed by the relations are found by linear
// programming (gonum's simplex); a cell is disclosed when only one integer
// lies between them.
func Recover(t Table) (map[int]int, error) {
	vars := map[int]int{} // cell → column
	var cols []int
	type row struct {
		a map[int]float64
		b float64
	}
	var rows []row
	for _, r := range t.Relations {
		rw := row{a: map[int]float64{}}
		for k, c := range r.cells() {
			sign := 1.0 // parts
			if k == 0 {
				sign = -1 // the total: parts - total = 0
			}
			if t.Hidden[c] {
				if _, ok := vars[c]; !ok {
					vars[c] = len(cols)
					cols = append(cols, c)
				}
				rw.a[vars[c]] += sign
			} else {
				rw.b -= sign * float64(t.Values[c])
			}
		}
		if len(rw.a) > 0 {
			rows = append(rows, rw)
		}
	}
	out := map[int]int{}
	if len(cols) == 0 {
		return out, nil
	}
	// Split into independent systems (cells linked through relations):
	// smaller programs, solved one by one.
	parent := make([]int, len(cols))
	for i := range parent {
		parent[i] = i
	}
	var find func(int) int
	find = func(x int) int {
		for parent[x] != x {
			parent[x] = parent[parent[x]]
			x = parent[x]
		}
		return x
	}
	for _, rw := range rows {
		first := -1
		for v := range rw.a {
			if first < 0 {
				first = v
				continue
			}
			parent[find(v)] = find(first)
		}
	}
	groups := map[int][]int{}
	for v := range cols {
		groups[find(v)] = append(groups[find(v)], v)
	}
	for _, vs := range groups {
		local := map[int]int{}
		for i, v := range vs {
			local[v] = i
		}
		var A [][]float64
		var b []float64
		for _, rw := range rows {
			var anyV int
			for v := range rw.a {
				anyV = v
				break
			}
			if _, ok := local[anyV]; !ok {
				continue
			}
			line := make([]float64, len(vs))
			for v, x := range rw.a {
				line[local[v]] = x
			}
			A, b = append(A, line), append(b, rw.b)
		}
		A, b, err := independentRows(A, b)
		if err != nil {
			return nil, err
		}
		if len(A) == 0 {
			continue
		}
		m := mat.NewDense(len(A), len(vs), nil)
		for i := range A {
			m.SetRow(i, A[i])
		}
		// Every solution the simplex returns is a feasible table: a cell
		// seen at two values two integers apart or more is no longer
		// exact, and needs no program of its own.
		seenLo, seenHi := make([]float64, len(vs)), make([]float64, len(vs))
		for i := range vs {
			seenLo[i], seenHi[i] = math.Inf(1), math.Inf(-1)
		}
		see := func(x []float64) {
			for i, v := range x {
				seenLo[i], seenHi[i] = math.Min(seenLo[i], v), math.Max(seenHi[i], v)
			}
		}
		open := func(i int) bool { return math.Floor(seenHi[i]+1e-6)-math.Ceil(seenLo[i]-1e-6) < 1 }
		for i, v := range vs {
			if !open(i) {
				continue
			}
			c := make([]float64, len(vs))
			c[i] = 1
			lo, x, err := lp.Simplex(c, m, b, tol, nil)
			if err != nil {
				return nil, fmt.Errorf("sdc: lower bound of cell %d: %w", cols[v], err)
			}
			see(x)
			if !open(i) {
				continue
			}
			c[i] = -1
			hi, x, err := lp.Simplex(c, m, b, tol, nil)
			if errors.Is(err, lp.ErrUnbounded) {
				continue
			}
			if err != nil {
				return nil, fmt.Errorf("sdc: upper bound of cell %d: %w", cols[v], err)
			}
			see(x)
			l, h := math.Ceil(lo-1e-6), math.Floor(-hi+1e-6)
			if l == h {
				out[cols[v]] = int(l)
			}
		}
	}
	return out, nil
}

// independentRows row-reduces A x = b (Gaussian elimination with partial
// pivoting) and keeps the independent rows: the simplex needs full row rank.
func independentRows(A [][]float64, b []float64) ([][]float64, []float64, error) {
	if len(A) == 0 {
		return nil, nil, nil
	}
	n := len(A[0])
	r := 0
	for c := 0; c < n && r < len(A); c++ {
		p := r
		for i := r + 1; i < len(A); i++ {
			if math.Abs(A[i][c]) > math.Abs(A[p][c]) {
				p = i
			}
		}
		if math.Abs(A[p][c]) < tol {
			continue
		}
		A[r], A[p] = A[p], A[r]
		b[r], b[p] = b[p], b[r]
		for i := range A {
			if i == r || math.Abs(A[i][c]) < tol {
				continue
			}
			f := A[i][c] / A[r][c]
			for j := c; j < n; j++ {
				A[i][j] -= f * A[r][j]
			}
			b[i] -= f * b[r]
		}
		r++
	}
	for i := r; i < len(A); i++ {
		if math.Abs(b[i]) > 1e-6 {
			return nil, nil, errors.New("sdc: the published sums contradict each other")
		}
	}
	return A[:r], b[:r], nil
}
