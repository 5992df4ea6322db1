package reports

import (
	"context"
	"database/sql"
	"fmt"
	"github.com/loket-kinderopvang/loket/internal/catalog"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/pgdialect"

	"github.com/loket-kinderopvang/loket/internal/platform/db"
	"github.com/loket-kinderopvang/loket/internal/platform/tenancy"
)

// query runs the aggregation SQL of one desk inside its tenant transaction.
// Every statement starts from the tenant store (tx.From, tx.Join), which adds
// the desk's condition to each desk table itself; on PostgreSQL row-level
// security binds it as well. Only the catalogue (platform data) is joined
// plainly.
type query struct {
	dialect db.Dialect
	tx      *tenancy.Tx
	// base is the condition on the counted requests (alias r) besides the
	// desk, and its args.
	base string
	args []any
	// mu guards the scopes when several parts of one report run at once
	// (nil: one after the other).
	mu *sync.Mutex
}

// lock holds mu while a part writes its rows into the scopes; it returns
// the unlock.
func (q *query) lock() func() {
	if q.mu == nil {
		return func() {}
	}
	q.mu.Lock()
	return q.mu.Unlock
}

func newYearQuery(tx *tenancy.Tx, year int) *query {
	from := time.Date(year, 1, 1, 0, 0, 0, 0, time.UTC)
	to := from.AddDate(1, 0, 0)
	return &query{dialect: tx.Dialect(), tx: tx,
		base: "r.submitted_at >= ? AND r.submitted_at < ? AND r.duplicate_state <> 'merged'",
		args: []any{from, to}}
}

// requests starts a query on the desk's counted requests (alias r).
func (q *query) requests() *bun.SelectQuery {
	return q.tx.From("requests", "r").Where(q.base, q.args...)
}

// days is the SQL expression of the days between two timestamp columns.
func (q *query) days(from, to string) string {
	if q.dialect == db.Postgres {
		// date_part, not EXTRACT: EXTRACT gives numeric (PostgreSQL 14 on),
		// whose arithmetic over 100,000 rows costs a third more.
		return fmt.Sprintf("(date_part('epoch', %s - %s) / 86400.0)", to, from)
	}
	return fmt.Sprintf("(julianday(%s) - julianday(%s))", to, from)
}

// month is the SQL expression "YYYY-MM" of a date column.
func (q *query) month(col string) string {
	if q.dialect == db.Postgres {
		return "to_char(" + col + ", 'YYYY-MM')"
	}
	return "substr(" + col + ", 1, 7)"
}

// ageBand groups the age at desired start (months; negative = not yet born).
func ageBand(months int) string {
	switch {
	case months < 0:
		return "unborn"
	case months < 6:
		return "0-5"
	case months < 12:
		return "6-11"
	case months < 18:
		return "12-17"
	case months < 24:
		return "18-23"
	case months < 36:
		return "24-35"
	}
	return "36+"
}

// AgeBands are the keys of the age breakdown, in order.
var AgeBands = []string{"unborn", "0-5", "6-11", "12-17", "18-23", "24-35", "36+"}

// daysPerWeek counts the days of the care plan ("mon,tue" → 2).
func daysPerWeek(careDays string) int {
	if careDays == "" {
		return 0
	}
	return strings.Count(careDays, ",") + 1
}

// scope collects the figures of the whole desk (key "") or of one of its
// municipalities while the grouped queries run.
type scope struct {
	f    Figures
	rows map[string]map[[2]string]int // breakdown id → (key, sub) → count
	// claimed is how many requests hold a priority claim: the others are
	// by_priority "none" once the requests are counted.
	claimed int
}

func (s *scope) add(id, key, sub string, n int) {
	if s.rows[id] == nil {
		s.rows[id] = map[[2]string]int{}
	}
	s.rows[id][[2]string{key, sub}] += n
}

// scopes are the desk ("") and its municipalities. Every grouped query
// groups by municipality as well: one pass gives the desk (the sum) and each
// municipality. Requests from outside the desk's municipalities count for
// the desk only.
type scopes map[string]*scope

func newScopes(year int, municipalities []string) scopes {
	ss := scopes{"": {f: Figures{Year: year}, rows: map[string]map[[2]string]int{}}}
	for _, m := range municipalities {
		ss[m] = &scope{f: Figures{Year: year, MunicipalityNIS: m}, rows: map[string]map[[2]string]int{}}
	}
	return ss
}

// each calls fn for the desk and, when it is one of the desk's, municipality m.
func (ss scopes) each(m string, fn func(*scope)) {
	fn(ss[""])
	if m != "" {
		if s, ok := ss[m]; ok {
			fn(s)
		}
	}
}

// unknownKey collects values outside a fixed breakdown's keys (bad data, a
// channel added later), so the rows still add up to the requests.
const unknownKey = "unknown"

// countDims are the request columns counts groups by, each with the
// municipality. The columns are grouped raw (a few hundred values at most)
// and turned into breakdown keys here, on the grouped rows: no expression
// is worked out per request in the database.
var countDims = []countDim{
	{col: "r.status", add: func(s *scope, m, v string, n int) {
		s.f.Requests.N += n
		switch v {
		case "placed":
			s.f.Placed.N += n
		case "withdrawn":
			s.f.Withdrawn.N += n
		case "unanswered":
			s.f.Unanswered.N += n
			s.add("by_unmet_municipality", m, "", n)
		case "submitted", "active", "offered":
			s.f.Open.N += n
		case "closed":
			s.f.Closed.N += n
		}
	}},
	{col: "r.channel", add: fixedKey("by_channel", ChannelKeys)},
	{col: "r.age_months", add: func(s *scope, _, v string, n int) {
		a, err := strconv.Atoi(v)
		if err != nil {
			s.add("by_age", unknownKey, "", n)
			return
		}
		s.add("by_age", ageBand(a), "", n)
	}, set: 1},
	{col: "r.day_part", add: fixedKey("by_day_part", []string{"whole", "half"})},
	{col: "r.care_days", add: func(s *scope, _, v string, n int) {
		if d := daysPerWeek(v); d <= 7 {
			s.add("by_days_per_week", strconv.Itoa(d), "", n)
		} else {
			s.add("by_days_per_week", unknownKey, "", n)
		}
	}, set: 1},
	{col: "r.wider_hours", add: yesNo("by_wider_hours")},
	{col: "r.specific_care_need", add: yesNo("by_care_need")},
	{col: "r.reason", add: fixedKey("by_reason", ReasonKeys)},
	{col: "r.desired_start", add: func(s *scope, _, v string, n int) {
		// A date reads as "2026-03-01…" (text or time) on both dialects.
		s.add("by_start_month", v[:min(7, len(v))], "", n)
	}, set: 2},
	{col: "r.neighbourhood", add: func(s *scope, m, v string, n int) { s.add("by_neighbourhood", m, v, n) }, set: 3},
}

// countDim is one column counts groups by (SQL over alias r, with its
// args) and what a grouped row adds to a scope.
type countDim struct {
	col  string
	add  func(s *scope, m, v string, n int)
	args []any
	set  int // the columns of a set are grouped together
}

// countSets are the grouping sets of countDims, in two queries that run
// side by side: the few-valued columns (one hash table of a few hundred
// groups) and the others.
var countSets = [][]int{{0}, {1, 2, 3}}

// claims counts the requests with each priority claim (a request holds a
// claim once), the requests with any claim and those with a claim outside
// ClaimKeys, per municipality: GROUPING SETS ((m, claim), (m)) over the
// claims of the counted requests (a third of them at most).
func (q *query) claims(ctx context.Context, ss scopes) error {
	inner := q.tx.Join(q.requests(), "JOIN", "request_claims", "c", "c.request_id = r.id").
		ColumnExpr("COALESCE(r.municipality_nis, '') AS m, r.id AS rid").
		ColumnExpr("CASE WHEN c.claim IN (?) THEN c.claim ELSE '' END AS k", bun.In(ClaimKeys))
	const perMunicipality = "count(DISTINCT rid), count(DISTINCT CASE WHEN k = '' THEN rid END)"
	var rows *sql.Rows
	var err error
	if q.dialect == db.Postgres {
		rows, err = q.tx.Derived(inner, "x").ColumnExpr("m, k, GROUPING(k), count(*), " + perMunicipality).
			GroupExpr("GROUPING SETS ((m, k), (m))").Rows(ctx)
	} else { // no grouping sets: the two levels one after the other
		rows, err = q.tx.Derived(inner, "x").ColumnExpr("m, k, 0, count(*), 0, 0").GroupExpr("m, k").
			UnionAll(q.tx.Derived(inner, "x").ColumnExpr("m, NULL, 1, count(*), " + perMunicipality).GroupExpr("m")).Rows(ctx)
	}
	if err != nil {
		return fmt.Errorf("reports: claims: %w", err)
	}
	defer rows.Close()
	defer q.lock()()
	for rows.Next() {
		var m string
		var k sql.NullString
		var perRequest, n, claimed, unknown int
		if err := rows.Scan(&m, &k, &perRequest, &n, &claimed, &unknown); err != nil {
			return fmt.Errorf("reports: claims: %w", err)
		}
		ss.each(m, func(s *scope) {
			switch {
			case perRequest == 1: // the municipality's requests with a claim
				s.claimed += claimed
				if unknown > 0 {
					s.add("by_priority", unknownKey, "", unknown)
				}
			case k.String != "":
				s.add("by_priority", k.String, "", n)
			}
		})
	}
	return rows.Err()
}

// fixedKey counts a column under its own value when it is one of keys,
// else under unknownKey.
func fixedKey(id string, keys []string) func(*scope, string, string, int) {
	return func(s *scope, _, v string, n int) {
		if !slices.Contains(keys, v) {
			v = unknownKey
		}
		s.add(id, v, "", n)
	}
}

// yesNo counts a boolean column (true/false on PostgreSQL, 1/0 on SQLite).
func yesNo(id string) func(*scope, string, string, int) {
	return func(s *scope, _, v string, n int) {
		k := "no"
		if v == "true" || v == "1" || v == "t" {
			k = "yes"
		}
		s.add(id, k, "", n)
	}
}

// counts fills the headline counts and the breakdowns held in the requests
// themselves whose countDim is in one of sets, in one pass over the counted
// requests: on PostgreSQL one GROUPING SETS query ((municipality, columns of
// a set) for each set, hashed in one scan); SQLite has no grouping sets: the
// same rows from a UNION ALL.
// Each row says by GROUPING's bit mask which column it is grouped by.
func (q *query) counts(ctx context.Context, ss scopes, sets ...int) error {
	var dims []countDim
	for _, d := range countDims {
		if slices.Contains(sets, d.set) {
			dims = append(dims, d)
		}
	}
	cols := make([]string, len(dims))
	for i := range dims {
		cols[i] = fmt.Sprintf("c%d", i)
	}
	all := strings.Join(cols, ", ")
	// Columns of one set are grouped together (a hash table per set, not
	// per column): the few-valued ones in set 0, the others alone or in pairs.
	inSet := make([][]int, len(sets))
	for i, d := range dims {
		k := slices.Index(sets, d.set)
		inSet[k] = append(inSet[k], i)
	}
	bit := func(i int) int { return 1 << (len(dims) - 1 - i) } // GROUPING's bit of column i
	var rows *sql.Rows
	var err error
	if q.dialect == db.Postgres {
		// The planner cannot tell how many values the flags take and would
		// sort 100,000 rows for their set; the groups are a few hundred,
		// and with room for its estimate every set is hashed in one scan.
		if err := q.tx.WorkMem(ctx, "32MB"); err != nil {
			return err
		}
		inner := q.requests().ColumnExpr("COALESCE(r.municipality_nis, '') AS m")
		for i, d := range dims {
			inner = inner.ColumnExpr(fmt.Sprintf("%s AS c%d", d.col, i), d.args...)
		}
		groups := make([]string, len(inSet))
		for k, set := range inSet {
			groups[k] = "(m"
			for _, i := range set {
				groups[k] += ", " + cols[i]
			}
			groups[k] += ")"
		}
		rows, err = q.tx.Derived(inner, "x").ColumnExpr("m, GROUPING(" + all + "), " + all + ", count(*)").
			GroupExpr("GROUPING SETS (" + strings.Join(groups, ", ") + ")").Rows(ctx)
	} else {
		var union *bun.SelectQuery
		for _, set := range inSet {
			mask := 1<<len(dims) - 1
			group := "1"
			for _, i := range set {
				mask &^= bit(i)
				group += ", " + strconv.Itoa(3+i)
			}
			sel := q.requests().ColumnExpr("COALESCE(r.municipality_nis, '') AS m").ColumnExpr("?", mask)
			for j, d := range dims {
				if slices.Contains(set, j) {
					sel = sel.ColumnExpr(d.col, d.args...)
				} else {
					sel = sel.ColumnExpr("NULL")
				}
			}
			sel = sel.ColumnExpr("count(*)").GroupExpr(group)
			if union == nil {
				union = sel
			} else {
				union = union.UnionAll(sel)
			}
		}
		rows, err = union.Rows(ctx)
	}
	if err != nil {
		return fmt.Errorf("reports: counts: %w", err)
	}
	defer rows.Close()
	defer q.lock()()
	vals := make([]sql.NullString, len(dims))
	for rows.Next() {
		var m string
		var g, n int
		dest := []any{&m, &g}
		for i := range vals {
			dest = append(dest, &vals[i])
		}
		if err := rows.Scan(append(dest, &n)...); err != nil {
			return fmt.Errorf("reports: counts: %w", err)
		}
		for i, d := range dims {
			// GROUPING's bit for the first column is the highest; 0 = grouped by it.
			if g&bit(i) == 0 {
				ss.each(m, func(s *scope) { d.add(s, m, vals[i].String, n) })
			}
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("reports: counts: %w", err)
	}
	return nil
}

// scanCounts runs "SELECT m, <counts> FROM (inner) GROUP BY m" and hands
// each municipality's counts to add, for the desk and that municipality.
func (q *query) scanCounts(ctx context.Context, ss scopes, inner *bun.SelectQuery, counts string, add func(*scope, []int)) error {
	rows, err := q.tx.Derived(inner, "x").ColumnExpr("m, " + counts).GroupExpr("m").Rows(ctx)
	if err != nil {
		return fmt.Errorf("reports: counts: %w", err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return fmt.Errorf("reports: counts: %w", err)
	}
	defer q.lock()()
	for rows.Next() {
		var m string
		c := make([]int, len(cols)-1)
		dest := []any{&m}
		for i := range c {
			dest = append(dest, &c[i])
		}
		if err := rows.Scan(dest...); err != nil {
			return fmt.Errorf("reports: counts: %w", err)
		}
		ss.each(m, func(s *scope) { add(s, c) })
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("reports: counts: %w", err)
	}
	return nil
}

// children counts the unique children of the desk and of each of its
// municipalities (a child may have requests from two municipalities) in
// one scan: grouped by child, a column per municipality counts the child's
// requests there; the children are then counted, and summed per column.
// The same pass counts the requests of vulnerable families (the family is
// the child's, so it is one per group): joined to the few vulnerable
// families' children, cheaper here than in a scan of its own.
func (q *query) children(ctx context.Context, ss scopes) error {
	// The 80,000 groups of 100,000 requests fit a hash table in memory.
	if err := q.tx.WorkMem(ctx, "32MB"); err != nil {
		return err
	}
	var munis []string
	for m := range ss {
		if m != "" {
			munis = append(munis, m)
		}
	}
	sort.Strings(munis)
	vulnerableChildren := q.tx.Join(q.tx.From("children", "ch"), "JOIN", "families", "fa", "fa.id = ch.family_id").
		ColumnExpr("ch.id").Where("fa.vulnerable")
	perChild := q.requests().Join("LEFT JOIN (?) AS v ON v.id = r.child_id", vulnerableChildren).
		ColumnExpr("r.child_id, count(*) AS n, max(CASE WHEN v.id IS NULL THEN 0 ELSE 1 END) AS vul").GroupExpr("r.child_id")
	outer := "count(*), sum(n), sum(CASE WHEN vul = 1 THEN n ELSE 0 END)"
	for i, m := range munis {
		perChild = perChild.ColumnExpr(fmt.Sprintf("sum(CASE WHEN r.municipality_nis = ? THEN 1 ELSE 0 END) AS m%d", i), m)
		outer += fmt.Sprintf(", COALESCE(sum(CASE WHEN m%[1]d > 0 THEN 1 ELSE 0 END), 0), COALESCE(sum(m%[1]d), 0), "+
			"COALESCE(sum(CASE WHEN vul = 1 THEN m%[1]d ELSE 0 END), 0)", i)
	}
	rows, err := q.tx.Derived(perChild, "x").ColumnExpr(outer).Rows(ctx)
	if err != nil {
		return fmt.Errorf("reports: unique children: %w", err)
	}
	defer rows.Close()
	// Per scope (the desk, then each municipality): children, requests,
	// requests of vulnerable families.
	n := make([]sql.NullInt64, 3*(1+len(munis)))
	dest := make([]any, len(n))
	for i := range n {
		dest[i] = &n[i]
	}
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			return fmt.Errorf("reports: unique children: %w", err)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("reports: unique children: %w", err)
	}
	rows.Close()
	unlock := q.lock()
	for i, m := range append([]string{""}, munis...) {
		sc := ss[m]
		children, requests, vulnerable := int(n[3*i].Int64), int(n[3*i+1].Int64), int(n[3*i+2].Int64)
		sc.f.Children.N = children
		if vulnerable > 0 {
			sc.add("by_vulnerable", "yes", "", vulnerable)
		}
		if requests > vulnerable {
			sc.add("by_vulnerable", "no", "", requests-vulnerable)
		}
	}
	unlock()
	return q.linkChildren(ctx, ss)
}

// linkChildren corrects the unique children for requests of one child that
// are held under two child records. Every request the duplicate check tied
// to an earlier request of the desk (duplicate_of: same national number, or
// same name, birth date and parent contact) is the same child, whatever the
// worker decided (keep as a request of its own, or merge). The links form
// chains (C → B → A) that may pass through requests of other years, so they
// are joined with a union-find over all the desk's links, which are few.
func (q *query) linkChildren(ctx context.Context, ss scopes) error {
	rows, err := q.tx.Join(q.tx.From("requests", "r"), "JOIN", "requests", "d", "d.id = r.duplicate_of").
		ColumnExpr("r.child_id, d.child_id").Where("r.duplicate_of IS NOT NULL AND r.child_id <> d.child_id").Rows(ctx)
	if err != nil {
		return fmt.Errorf("reports: linked children: %w", err)
	}
	parent := map[string]string{}
	var find func(string) string
	find = func(x string) string {
		p, ok := parent[x]
		if !ok || p == x {
			return x
		}
		root := find(p)
		parent[x] = root
		return root
	}
	for rows.Next() {
		var a, b string
		if err := rows.Scan(&a, &b); err != nil {
			rows.Close()
			return fmt.Errorf("reports: linked children: %w", err)
		}
		for _, x := range []string{a, b} {
			if _, ok := parent[x]; !ok {
				parent[x] = x
			}
		}
		if ra, rb := find(a), find(b); ra != rb {
			parent[ra] = rb
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("reports: linked children: %w", err)
	}
	if len(parent) == 0 {
		return nil
	}
	nodes := make([]string, 0, len(parent))
	for n := range parent {
		nodes = append(nodes, n)
	}
	// The linked child records among the counted requests, per municipality:
	// each scope counted every record once; it should count every root once.
	crow, err := q.requests().Distinct().ColumnExpr("COALESCE(r.municipality_nis, ''), r.child_id").
		Where("r.child_id IN (?)", bun.In(nodes)).Rows(ctx)
	if err != nil {
		return fmt.Errorf("reports: linked children: %w", err)
	}
	defer crow.Close()
	type seen struct{ records, roots map[string]bool }
	per := map[string]*seen{}
	note := func(scope, child string) {
		s := per[scope]
		if s == nil {
			s = &seen{records: map[string]bool{}, roots: map[string]bool{}}
			per[scope] = s
		}
		s.records[child] = true
		s.roots[find(child)] = true
	}
	for crow.Next() {
		var m, child string
		if err := crow.Scan(&m, &child); err != nil {
			return fmt.Errorf("reports: linked children: %w", err)
		}
		note("", child)
		if _, ok := ss[m]; ok && m != "" {
			note(m, child)
		}
	}
	if err := crow.Err(); err != nil {
		return fmt.Errorf("reports: linked children: %w", err)
	}
	defer q.lock()()
	for m, s := range per {
		ss[m].f.Children.N -= len(s.records) - len(s.roots)
	}
	return nil
}

// percentiles sets the continuous median and 90th percentile of the days
// between two columns, over the counted requests where both are set, for
// every scope. On PostgreSQL percentile_cont does it (grouped by
// municipality, and once for the desk); on SQLite the value at each needed
// rank is read from an ordered query with OFFSET (two rows each), never the lot.
func (q *query) percentiles(ctx context.Context, ss scopes, fromCol, toCol string, set func(f *Figures, median, p90 Days, n int)) error {
	expr := q.days("r."+fromCol, "r."+toCol)
	both := "r." + toCol + " IS NOT NULL AND r." + fromCol + " IS NOT NULL"
	if q.dialect == db.Postgres {
		for _, grouped := range []bool{false, true} {
			if grouped && len(ss) == 1 {
				break // the desk alone: no municipality asked
			}
			key := "''"
			if grouped {
				key = "COALESCE(r.municipality_nis, '')"
			}
			sel := q.requests().Where(both).ColumnExpr(fmt.Sprintf(
				"%[2]s, count(*), percentile_cont(0.5) WITHIN GROUP (ORDER BY %[1]s), percentile_cont(0.9) WITHIN GROUP (ORDER BY %[1]s)",
				expr, key))
			if grouped {
				sel = sel.GroupExpr("1")
			}
			rows, err := sel.Rows(ctx)
			if err != nil {
				return fmt.Errorf("reports: percentiles %s: %w", toCol, err)
			}
			unlock := q.lock()
			for rows.Next() {
				var m string
				var n int
				var med, p sql.NullFloat64
				if err := rows.Scan(&m, &n, &med, &p); err != nil {
					unlock()
					rows.Close()
					return fmt.Errorf("reports: percentiles %s: %w", toCol, err)
				}
				if sc, ok := ss[m]; ok && (grouped == (m != "")) {
					set(&sc.f, Days{Value: med.Float64, Valid: med.Valid}, Days{Value: p.Float64, Valid: p.Valid}, n)
				}
			}
			unlock()
			rows.Close()
			if err := rows.Err(); err != nil {
				return fmt.Errorf("reports: percentiles %s: %w", toCol, err)
			}
		}
		return nil
	}
	for m, sc := range ss {
		sel := func() *bun.SelectQuery {
			s := q.requests().Where(both)
			if m != "" {
				s = s.Where("r.municipality_nis = ?", m)
			}
			return s
		}
		med, p90, n, err := q.sqlitePercentiles(ctx, expr, sel)
		if err != nil {
			return fmt.Errorf("reports: percentiles %s: %w", toCol, err)
		}
		unlock := q.lock()
		set(&sc.f, med, p90, n)
		unlock()
	}
	return nil
}

func setFirstAnswer(f *Figures, m, p Days, n int) {
	f.FirstAnswerMedian, f.FirstAnswerP90, f.Answered = m, p, Count{N: n}
}

func setPlacement(f *Figures, m, p Days, _ int) { f.PlacementMedian, f.PlacementP90 = m, p }

// pgPercentiles computes both percentile pairs for the desk and each of its
// municipalities in one scan: GROUPING SETS ((municipality), ()), the days
// NULL where a request has no answer or no placement (percentile_cont
// leaves NULLs out).
func (q *query) pgPercentiles(ctx context.Context, ss scopes) error {
	inner := q.requests().ColumnExpr("COALESCE(r.municipality_nis, '') AS m").
		ColumnExpr(q.days("r.submitted_at", "r.first_answer_at") + " AS fa").
		ColumnExpr(q.days("r.submitted_at", "r.placed_at") + " AS pl").
		// Requests with neither an answer nor a place add nothing (count
		// and percentile_cont leave NULLs out): not read into the groups.
		Where("r.first_answer_at IS NOT NULL OR r.placed_at IS NOT NULL")
	sets := "GROUPING SETS ((m), ())" // a desk alone: its municipality rows find no scope
	rows, err := q.tx.Derived(inner, "x").ColumnExpr(`COALESCE(m, ''), GROUPING(m), count(fa),
		percentile_cont(0.5) WITHIN GROUP (ORDER BY fa), percentile_cont(0.9) WITHIN GROUP (ORDER BY fa),
		percentile_cont(0.5) WITHIN GROUP (ORDER BY pl), percentile_cont(0.9) WITHIN GROUP (ORDER BY pl)`).
		GroupExpr(sets).Rows(ctx)
	if err != nil {
		return fmt.Errorf("reports: percentiles: %w", err)
	}
	defer rows.Close()
	defer q.lock()()
	days := func(v sql.NullFloat64) Days { return Days{Value: v.Float64, Valid: v.Valid} }
	for rows.Next() {
		var m string
		var whole, n int
		var fm, fp, pm, pp sql.NullFloat64
		if err := rows.Scan(&m, &whole, &n, &fm, &fp, &pm, &pp); err != nil {
			return fmt.Errorf("reports: percentiles: %w", err)
		}
		if whole == 1 {
			m = "" // the desk
		} else if m == "" {
			continue // no municipality: the desk only
		}
		if sc, ok := ss[m]; ok {
			setFirstAnswer(&sc.f, days(fm), days(fp), n)
			setPlacement(&sc.f, days(pm), days(pp), 0)
		}
	}
	return rows.Err()
}

// sqlitePercentiles reads the median and 90th percentile of expr over the
// requests sel selects.
func (q *query) sqlitePercentiles(ctx context.Context, expr string, sel func() *bun.SelectQuery) (median, p90 Days, n int, err error) {
	if err = sel().ColumnExpr("count(*)").Scan(ctx, &n); err != nil || n == 0 {
		return median, p90, n, err
	}
	at := func(p float64) (Days, error) {
		pos := p * float64(n-1)
		lo := int(math.Floor(pos))
		rows, err := sel().ColumnExpr(expr + " AS d").OrderExpr("d").Limit(2).Offset(int64(lo)).Rows(ctx)
		if err != nil {
			return Days{}, err
		}
		defer rows.Close()
		var vs []float64
		for rows.Next() {
			var v float64
			if err := rows.Scan(&v); err != nil {
				return Days{}, err
			}
			vs = append(vs, v)
		}
		if err := rows.Err(); err != nil || len(vs) == 0 {
			return Days{}, err
		}
		v := vs[0]
		if frac := pos - float64(lo); frac > 0 && len(vs) > 1 {
			v += (vs[1] - vs[0]) * frac
		}
		return Days{Value: v, Valid: true}, nil
	}
	if median, err = at(0.5); err != nil {
		return median, p90, n, err
	}
	p90, err = at(0.9)
	return median, p90, n, err
}

// breakdownOrder is the order of the breakdowns on the page and in exports.
var breakdownOrder = []string{"by_channel", "by_age", "by_start_month", "by_neighbourhood", "by_day_part",
	"by_days_per_week", "by_wider_hours", "by_care_need", "by_priority", "by_vulnerable", "by_reason", "by_unmet_municipality"}

// yearParts are the independent queries of the yearly figures: each writes
// its part into ss. They run one after the other in one transaction
// (yearly), or at the same time, each in a transaction of its own
// (Service.yearly on PostgreSQL, where the database then works on
// several of them at once).
func yearParts(ss scopes) []func(context.Context, *query) error {
	return []func(context.Context, *query) error{
		func(ctx context.Context, q *query) error { return q.counts(ctx, ss, countSets[0]...) },
		func(ctx context.Context, q *query) error { return q.counts(ctx, ss, countSets[1]...) },
		func(ctx context.Context, q *query) error { return q.claims(ctx, ss) },
		func(ctx context.Context, q *query) error { return q.children(ctx, ss) },
		func(ctx context.Context, q *query) error {
			if q.dialect == db.Postgres {
				return q.pgPercentiles(ctx, ss)
			}
			if err := q.percentiles(ctx, ss, "submitted_at", "first_answer_at", setFirstAnswer); err != nil {
				return err
			}
			return q.percentiles(ctx, ss, "submitted_at", "placed_at", setPlacement)
		},
	}
}

// yearly computes every yearly figure and breakdown of the desk in tx, and
// the same for each of municipalities, in one set of grouped queries.
func yearly(ctx context.Context, tx *tenancy.Tx, year int, municipalities []string) (Figures, map[string]Figures, error) {
	q := newYearQuery(tx, year)
	ss := newScopes(year, municipalities)
	for _, part := range yearParts(ss) {
		if err := part(ctx, q); err != nil {
			return Figures{}, nil, err
		}
	}
	desk, per := ss.figures()
	return desk, per, nil
}

// figures turns the collected scopes into the desk's figures and each
// municipality's.
func (ss scopes) figures() (Figures, map[string]Figures) {
	out := map[string]Figures{}
	for m, sc := range ss {
		if none := sc.f.Requests.N - sc.claimed; none > 0 {
			sc.add("by_priority", "none", "", none)
		}
		for _, id := range breakdownOrder {
			b := Breakdown{ID: id}
			for k, n := range sc.rows[id] {
				b.Rows = append(b.Rows, Row{Key: k[0], Sub: k[1], Count: Count{N: n}})
			}
			sort.Slice(b.Rows, func(i, j int) bool {
				if b.Rows[i].Key != b.Rows[j].Key {
					return b.Rows[i].Key < b.Rows[j].Key
				}
				return b.Rows[i].Sub < b.Rows[j].Sub
			})
			sc.f.Breakdowns = append(sc.f.Breakdowns, b)
		}
		normalise(&sc.f)
		if m != "" {
			out[m] = sc.f
		}
	}
	return ss[""].f, out
}

// normalise puts the rows of the fixed-key breakdowns in a stable, readable
// order and adds the zero rows, so every export has the same lines each year.
func normalise(f *Figures) {
	fixed := map[string][]string{
		"by_age":           AgeBands,
		"by_wider_hours":   {"yes", "no"},
		"by_care_need":     {"yes", "no"},
		"by_vulnerable":    {"yes", "no"},
		"by_channel":       ChannelKeys,
		"by_day_part":      {"whole", "half"},
		"by_reason":        ReasonKeys,
		"by_priority":      append(append([]string{}, ClaimKeys...), "none"),
		"by_days_per_week": {"0", "1", "2", "3", "4", "5", "6", "7"},
	}
	for i, b := range f.Breakdowns {
		keys, ok := fixed[b.ID]
		if !ok {
			continue
		}
		have := map[string]Count{}
		for _, r := range b.Rows {
			have[r.Key] = r.Count
		}
		rows := make([]Row, 0, len(keys))
		for _, k := range keys {
			rows = append(rows, Row{Key: k, Count: have[k]})
			delete(have, k)
		}
		// Keys outside the list (bad data, a new channel) are kept, at the end.
		for _, r := range b.Rows {
			if _, left := have[r.Key]; left {
				rows = append(rows, r)
			}
		}
		f.Breakdowns[i].Rows = rows
	}
}

// Keys of the fixed breakdowns, in display order (the codes of the requests package).
var (
	ChannelKeys = []string{"online", "counter", "phone", "partner", "forwarded", "api"}
	ReasonKeys  = []string{"work", "training", "job_search", "other"}
	ClaimKeys   = []string{"work_or_training", "single_parent", "low_income", "foster_child", "sibling"}
)

// aheadDemand counts the open requests per start month, municipality and
// neighbourhood for months [from, to).
func aheadDemand(ctx context.Context, tx *tenancy.Tx, from, to time.Time) (map[[3]string]int, error) {
	q := &query{dialect: tx.Dialect(), tx: tx}
	rows, err := tx.From("requests", "r").
		ColumnExpr(q.month("r.desired_start")+", COALESCE(r.municipality_nis, ''), r.neighbourhood, count(*)").
		Where("r.status IN ('submitted', 'active', 'offered') AND r.duplicate_state <> 'merged'").
		Where("r.desired_start >= ? AND r.desired_start < ?", from, to).
		GroupExpr("1, 2, 3").Rows(ctx)
	if err != nil {
		return nil, fmt.Errorf("reports: demand ahead: %w", err)
	}
	defer rows.Close()
	out := map[[3]string]int{}
	for rows.Next() {
		var k [3]string
		var n int
		if err := rows.Scan(&k[0], &k[1], &k[2], &n); err != nil {
			return nil, fmt.Errorf("reports: demand ahead: %w", err)
		}
		out[k] += n
	}
	return out, rows.Err()
}

// aheadSupply sums the free places per start month, municipality and
// neighbourhood of the catalogue (platform data, no desk's) for the given
// municipalities.
func aheadSupply(ctx context.Context, idb bun.IDB, municipalities []string, months []string) (map[[3]string]int, error) {
	out := map[[3]string]int{}
	if len(municipalities) == 0 {
		return out, nil
	}
	var rows []struct {
		Month         string `bun:"start_month"`
		Municipality  string `bun:"municipality_nis"`
		Neighbourhood string `bun:"neighbourhood"`
		Free          int    `bun:"free"`
	}
	err := idb.NewSelect().TableExpr("availability AS a").
		Join("JOIN locations AS l ON l.id = a.location_id").
		ColumnExpr("a.start_month, l.municipality_nis, l.neighbourhood, sum(a.free_places) AS free").
		Where("l.municipality_nis IN (?)", bun.In(municipalities)).
		Where("a.start_month IN (?)", bun.In(months)).
		Where(catalog.NotClosed("a.location_id")).
		GroupExpr("a.start_month, l.municipality_nis, l.neighbourhood").
		Scan(ctx, &rows)
	if err != nil {
		return nil, fmt.Errorf("reports: free places ahead: %w", err)
	}
	for _, r := range rows {
		out[[3]string{r.Month, r.Municipality, r.Neighbourhood}] += r.Free
	}
	return out, nil
}

// crossBorder counts, per pair of municipalities (family's, location's), the
// counted requests with at least one preference across the border.
func crossBorder(ctx context.Context, tx *tenancy.Tx, year int) (map[[2]string]int, error) {
	q := newYearQuery(tx, year)
	rows, err := tx.Join(q.requests(), "JOIN", "preferences", "p", "p.request_id = r.id").
		Join("JOIN locations AS l ON l.id = p.location_id"). // the catalogue: platform data
		ColumnExpr("r.municipality_nis, l.municipality_nis, count(DISTINCT r.id)").
		Where("r.municipality_nis IS NOT NULL AND l.municipality_nis <> r.municipality_nis").
		GroupExpr("1, 2").Rows(ctx)
	if err != nil {
		return nil, fmt.Errorf("reports: cross-border demand: %w", err)
	}
	defer rows.Close()
	out := map[[2]string]int{}
	for rows.Next() {
		var k [2]string
		var n int
		if err := rows.Scan(&k[0], &k[1], &n); err != nil {
			return nil, fmt.Errorf("reports: cross-border demand: %w", err)
		}
		out[k] += n
	}
	return out, rows.Err()
}

// responsiveness counts, per location and per provider, the desk's counted
// requests of the year that had the location among their preferences, how
// many of them it answered, how many in time (by the preference's due date,
// else responseDays after submission) and the median days to its answer.
//
// The database groups by location only (a hash table of a few dozen
// groups) and hands over each location's answer days; the medians, and the
// providers' rows (their locations together), are worked out here. That is
// cheaper than having the database sort every preference by provider and
// location for percentile_cont.
func responsiveness(ctx context.Context, tx *tenancy.Tx, year, responseDays int) ([]Responsiveness, error) {
	q := newYearQuery(tx, year)
	days := q.days("r.submitted_at", "p.answered_at")
	inTime := fmt.Sprintf(`CASE WHEN p.answered_at IS NULL THEN 0
		WHEN p.answer_due IS NOT NULL THEN CASE WHEN %s >= 0 THEN 1 ELSE 0 END
		WHEN %s <= %d THEN 1 ELSE 0 END`, q.days("p.answered_at", "p.answer_due"), days, responseDays)
	prefs := func() *bun.SelectQuery {
		return tx.Join(q.requests(), "JOIN", "preferences", "p", "p.request_id = r.id")
	}
	type tally struct {
		Responsiveness
		provider string // the provider's id
		days     []float64
	}
	grouped := prefs().ColumnExpr("p.location_id AS lid, count(*) AS received, count(p.answered_at) AS answered").
		ColumnExpr("sum(" + inTime + ") AS in_time").GroupExpr("p.location_id")
	cols := "a.lid, pv.id, pv.name, l.name, l.municipality_nis, a.received, a.answered, a.in_time"
	if q.dialect == db.Postgres {
		grouped = grouped.ColumnExpr("array_agg(" + days + ") FILTER (WHERE p.answered_at IS NOT NULL) AS days")
		cols += ", a.days"
	}
	// Names from the catalogue (platform data), joined to the grouped rows.
	rows, err := tx.Derived(grouped, "a").Join("JOIN locations AS l ON l.id = a.lid").
		Join("JOIN providers AS pv ON pv.id = l.provider_id").ColumnExpr(cols).Rows(ctx)
	if err != nil {
		return nil, fmt.Errorf("reports: responsiveness: %w", err)
	}
	byLocation, byProvider := map[string]*tally{}, map[string]*tally{}
	var all []*tally
	for rows.Next() {
		var lid string
		t := &tally{}
		dest := []any{&lid, &t.provider, &t.Provider, &t.Location, &t.MunicipalityNIS, &t.Received, &t.Answered, &t.InTime}
		if q.dialect == db.Postgres {
			dest = append(dest, pgdialect.Array(&t.days))
		}
		if err := rows.Scan(dest...); err != nil {
			rows.Close()
			return nil, fmt.Errorf("reports: responsiveness: %w", err)
		}
		byLocation[lid] = t
		all = append(all, t)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("reports: responsiveness: %w", err)
	}
	if q.dialect != db.Postgres {
		// SQLite has no arrays: the answered days, per location.
		rows, err := prefs().ColumnExpr("p.location_id, " + days).Where("p.answered_at IS NOT NULL").Rows(ctx)
		if err != nil {
			return nil, fmt.Errorf("reports: responsiveness: %w", err)
		}
		for rows.Next() {
			var lid string
			var d float64
			if err := rows.Scan(&lid, &d); err != nil {
				rows.Close()
				return nil, fmt.Errorf("reports: responsiveness: %w", err)
			}
			if t := byLocation[lid]; t != nil {
				t.days = append(t.days, d)
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("reports: responsiveness: %w", err)
		}
	}
	// Each provider's row: its locations together.
	for _, t := range all[:len(all):len(all)] {
		pt := byProvider[t.provider]
		if pt == nil {
			pt = &tally{provider: t.provider}
			pt.Provider = t.Provider
			byProvider[t.provider] = pt
			all = append(all, pt)
		}
		pt.Received, pt.Answered, pt.InTime = pt.Received+t.Received, pt.Answered+t.Answered, pt.InTime+t.InTime
		pt.days = append(pt.days, t.days...)
	}
	sort.Slice(all, func(i, j int) bool {
		a, b := all[i], all[j]
		if a.Provider != b.Provider {
			return a.Provider < b.Provider
		}
		if a.provider != b.provider {
			return a.provider < b.provider // two providers of one name stay apart
		}
		return a.Location < b.Location // the provider's own row ("") first
	})
	res := make([]Responsiveness, 0, len(all))
	for _, t := range all {
		slices.Sort(t.days)
		t.Median = median(t.days)
		res = append(res, t.Responsiveness)
	}
	return res, nil
}

// median of sorted values (continuous, as percentile_cont(0.5)).
func median(vs []float64) Days {
	if len(vs) == 0 {
		return Days{}
	}
	pos := 0.5 * float64(len(vs)-1)
	lo := int(math.Floor(pos))
	v := vs[lo]
	if frac := pos - float64(lo); frac > 0 {
		v += (vs[lo+1] - vs[lo]) * frac
	}
	return Days{Value: v, Valid: true}
}
