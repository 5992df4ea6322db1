package reports

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"time"

	"github.com/uptrace/bun"

	"github.com/loket-kinderopvang/loket/internal/platform/db"
	"github.com/loket-kinderopvang/loket/internal/platform/tenancy"
)

// query runs the hand-written aggregation SQL of one desk inside its tenant
// transaction. Every statement names "tenant_id = ?" itself (on SQLite nothing
// else protects it; on PostgreSQL row-level security binds it as well).
type query struct {
	dialect db.Dialect
	tx      *tenancy.Tx
	// base is the WHERE clause of the counted requests (alias r) and its args.
	base string
	args []any
}

func newYearQuery(dialect db.Dialect, tx *tenancy.Tx, year int, municipality string) *query {
	from := time.Date(year, 1, 1, 0, 0, 0, 0, time.UTC)
	to := from.AddDate(1, 0, 0)
	q := &query{dialect: dialect, tx: tx,
		base: "r.tenant_id = ? AND r.submitted_at >= ? AND r.submitted_at < ? AND r.duplicate_state <> 'merged'",
		args: []any{tx.Tenant(), from, to}}
	if municipality != "" {
		q.base += " AND r.municipality_nis = ?"
		q.args = append(q.args, municipality)
	}
	return q
}

func (q *query) db() bun.IDB { return q.tx.Unscoped() }

// days is the SQL expression of the days between two timestamp columns.
func (q *query) days(from, to string) string {
	if q.dialect == db.Postgres {
		return fmt.Sprintf("(EXTRACT(EPOCH FROM (%s - %s)) / 86400.0)", to, from)
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

// ageBands groups the age at desired start (months; negative = not yet born).
const ageBandSQL = `CASE WHEN r.age_months < 0 THEN 'unborn'
	WHEN r.age_months < 6 THEN '0-5'
	WHEN r.age_months < 12 THEN '6-11'
	WHEN r.age_months < 18 THEN '12-17'
	WHEN r.age_months < 24 THEN '18-23'
	WHEN r.age_months < 36 THEN '24-35'
	ELSE '36+' END`

// AgeBands are the keys of the age breakdown, in order.
var AgeBands = []string{"unborn", "0-5", "6-11", "12-17", "18-23", "24-35", "36+"}

// daysPerWeekSQL counts the days of the care plan ("mon,tue" → 2).
const daysPerWeekSQL = `CASE WHEN r.care_days = '' THEN 0
	ELSE length(r.care_days) - length(replace(r.care_days, ',', '')) + 1 END`

// counts fills the headline counts in one pass over the counted requests.
func (q *query) counts(ctx context.Context, f *Figures) error {
	var c struct {
		Requests, Children, Placed, Withdrawn, Unanswered, Open, Closed sql.NullInt64
	}
	err := q.db().QueryRowContext(ctx, `SELECT count(*), count(DISTINCT r.child_id),
		sum(CASE WHEN r.status = 'placed' THEN 1 ELSE 0 END),
		sum(CASE WHEN r.status = 'withdrawn' THEN 1 ELSE 0 END),
		sum(CASE WHEN r.status = 'unanswered' THEN 1 ELSE 0 END),
		sum(CASE WHEN r.status IN ('submitted', 'active', 'offered') THEN 1 ELSE 0 END),
		sum(CASE WHEN r.status = 'closed' THEN 1 ELSE 0 END)
		FROM requests r WHERE `+q.base, q.args...).
		Scan(&c.Requests, &c.Children, &c.Placed, &c.Withdrawn, &c.Unanswered, &c.Open, &c.Closed)
	if err != nil {
		return fmt.Errorf("reports: counts: %w", err)
	}
	f.Requests, f.Children = Count{N: int(c.Requests.Int64)}, Count{N: int(c.Children.Int64)}
	f.Placed, f.Withdrawn = Count{N: int(c.Placed.Int64)}, Count{N: int(c.Withdrawn.Int64)}
	f.Unanswered, f.Open, f.Closed = Count{N: int(c.Unanswered.Int64)}, Count{N: int(c.Open.Int64)}, Count{N: int(c.Closed.Int64)}
	return nil
}

// grouped runs "SELECT key, count FROM … GROUP BY key" and returns its rows.
func (q *query) grouped(ctx context.Context, id, keyExpr, join string, distinct bool) (Breakdown, error) {
	count := "count(*)"
	if distinct {
		count = "count(DISTINCT r.id)"
	}
	s := fmt.Sprintf("SELECT %s AS k, %s FROM requests r %s WHERE %s GROUP BY 1 ORDER BY 1", keyExpr, count, join, q.base)
	rows, err := q.db().QueryContext(ctx, s, q.args...)
	if err != nil {
		return Breakdown{}, fmt.Errorf("reports: breakdown %s: %w", id, err)
	}
	defer rows.Close()
	b := Breakdown{ID: id}
	for rows.Next() {
		var k sql.NullString
		var n int
		if err := rows.Scan(&k, &n); err != nil {
			return b, fmt.Errorf("reports: breakdown %s: %w", id, err)
		}
		b.Rows = append(b.Rows, Row{Key: k.String, Count: Count{N: n}})
	}
	return b, rows.Err()
}

// neighbourhoods is the breakdown by municipality and neighbourhood.
func (q *query) neighbourhoods(ctx context.Context) (Breakdown, error) {
	s := "SELECT COALESCE(r.municipality_nis, ''), r.neighbourhood, count(*) FROM requests r WHERE " + q.base +
		" GROUP BY 1, 2 ORDER BY 1, 2"
	rows, err := q.db().QueryContext(ctx, s, q.args...)
	if err != nil {
		return Breakdown{}, fmt.Errorf("reports: neighbourhoods: %w", err)
	}
	defer rows.Close()
	b := Breakdown{ID: "by_neighbourhood"}
	for rows.Next() {
		var r Row
		if err := rows.Scan(&r.Key, &r.Sub, &r.Count.N); err != nil {
			return b, fmt.Errorf("reports: neighbourhoods: %w", err)
		}
		b.Rows = append(b.Rows, r)
	}
	return b, rows.Err()
}

// percentiles returns the continuous median and 90th percentile of the days
// between two columns over the counted requests where both are set. On
// PostgreSQL percentile_cont does it; on SQLite the value at each needed rank
// is read from an ordered query with OFFSET (two rows each), never the lot.
func (q *query) percentiles(ctx context.Context, fromCol, toCol string) (median, p90 Days, n int, err error) {
	expr := q.days("r."+fromCol, "r."+toCol)
	where := q.base + " AND r." + toCol + " IS NOT NULL AND r." + fromCol + " IS NOT NULL"
	if q.dialect == db.Postgres {
		var m, p sql.NullFloat64
		err = q.db().QueryRowContext(ctx, fmt.Sprintf(
			"SELECT count(*), percentile_cont(0.5) WITHIN GROUP (ORDER BY %[1]s), percentile_cont(0.9) WITHIN GROUP (ORDER BY %[1]s) FROM requests r WHERE %[2]s",
			expr, where), q.args...).Scan(&n, &m, &p)
		if err != nil {
			return median, p90, 0, fmt.Errorf("reports: percentiles %s: %w", toCol, err)
		}
		return Days{Value: m.Float64, Valid: m.Valid}, Days{Value: p.Float64, Valid: p.Valid}, n, nil
	}
	if err = q.db().QueryRowContext(ctx, "SELECT count(*) FROM requests r WHERE "+where, q.args...).Scan(&n); err != nil {
		return median, p90, 0, fmt.Errorf("reports: percentiles %s: %w", toCol, err)
	}
	if n == 0 {
		return median, p90, 0, nil
	}
	at := func(p float64) (Days, error) {
		pos := p * float64(n-1)
		lo := int(math.Floor(pos))
		args := append(append([]any{}, q.args...), lo)
		rows, err := q.db().QueryContext(ctx, fmt.Sprintf("SELECT %s AS d FROM requests r WHERE %s ORDER BY d LIMIT 2 OFFSET ?", expr, where), args...)
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
		if err := rows.Err(); err != nil {
			return Days{}, err
		}
		if len(vs) == 0 {
			return Days{}, nil
		}
		v := vs[0]
		if frac := pos - float64(lo); frac > 0 && len(vs) > 1 {
			v += (vs[1] - vs[0]) * frac
		}
		return Days{Value: v, Valid: true}, nil
	}
	if median, err = at(0.5); err != nil {
		return median, p90, n, fmt.Errorf("reports: median %s: %w", toCol, err)
	}
	if p90, err = at(0.9); err != nil {
		return median, p90, n, fmt.Errorf("reports: p90 %s: %w", toCol, err)
	}
	return median, p90, n, nil
}

// yearly computes every yearly figure and breakdown of the desk in tx,
// limited to one municipality when municipality is set.
func yearly(ctx context.Context, dialect db.Dialect, tx *tenancy.Tx, year int, municipality string) (Figures, error) {
	q := newYearQuery(dialect, tx, year, municipality)
	f := Figures{Year: year, MunicipalityNIS: municipality}
	if err := q.counts(ctx, &f); err != nil {
		return f, err
	}
	var err error
	if f.FirstAnswerMedian, f.FirstAnswerP90, f.Answered, err = q.percentiles(ctx, "submitted_at", "first_answer_at"); err != nil {
		return f, err
	}
	if f.PlacementMedian, f.PlacementP90, _, err = q.percentiles(ctx, "submitted_at", "placed_at"); err != nil {
		return f, err
	}
	yesNo := func(col string) string { return "CASE WHEN r." + col + " THEN 'yes' ELSE 'no' END" }
	specs := []struct {
		id, key, join string
		distinct      bool
	}{
		{"by_channel", "r.channel", "", false},
		{"by_age", ageBandSQL, "", false},
		{"by_start_month", q.month("r.desired_start"), "", false},
		{"by_day_part", "r.day_part", "", false},
		{"by_days_per_week", daysPerWeekSQL, "", false},
		{"by_wider_hours", yesNo("wider_hours"), "", false},
		{"by_care_need", yesNo("specific_care_need"), "", false},
		{"by_priority", "COALESCE(c.claim, 'none')",
			"LEFT JOIN request_claims c ON c.tenant_id = r.tenant_id AND c.request_id = r.id", true},
		{"by_vulnerable", "CASE WHEN fa.vulnerable THEN 'yes' ELSE 'no' END",
			"JOIN children ch ON ch.tenant_id = r.tenant_id AND ch.id = r.child_id JOIN families fa ON fa.tenant_id = ch.tenant_id AND fa.id = ch.family_id", false},
		{"by_reason", "r.reason", "", false},
	}
	for i, sp := range specs {
		b, err := q.grouped(ctx, sp.id, sp.key, sp.join, sp.distinct)
		if err != nil {
			return f, err
		}
		f.Breakdowns = append(f.Breakdowns, b)
		if i == 2 { // neighbourhood after start month: the order of Definitions
			nb, err := q.neighbourhoods(ctx)
			if err != nil {
				return f, err
			}
			f.Breakdowns = append(f.Breakdowns, nb)
		}
	}
	normalise(&f)
	return f, nil
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
func aheadDemand(ctx context.Context, dialect db.Dialect, tx *tenancy.Tx, from, to time.Time) (map[[3]string]int, error) {
	q := &query{dialect: dialect, tx: tx}
	s := fmt.Sprintf(`SELECT %s, COALESCE(r.municipality_nis, ''), r.neighbourhood, count(*) FROM requests r
		WHERE r.tenant_id = ? AND r.status IN ('submitted', 'active', 'offered') AND r.duplicate_state <> 'merged'
		AND r.desired_start >= ? AND r.desired_start < ? GROUP BY 1, 2, 3`, q.month("r.desired_start"))
	rows, err := q.db().QueryContext(ctx, s, tx.Tenant(), from, to)
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
// neighbourhood of the catalogue (platform data) for the given municipalities.
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
func crossBorder(ctx context.Context, dialect db.Dialect, tx *tenancy.Tx, year int) (map[[2]string]int, error) {
	q := newYearQuery(dialect, tx, year, "")
	s := `SELECT r.municipality_nis, l.municipality_nis, count(DISTINCT r.id) FROM requests r
		JOIN preferences p ON p.tenant_id = r.tenant_id AND p.request_id = r.id
		JOIN locations l ON l.id = p.location_id
		WHERE ` + q.base + ` AND r.municipality_nis IS NOT NULL AND l.municipality_nis <> r.municipality_nis
		GROUP BY 1, 2`
	rows, err := q.db().QueryContext(ctx, s, q.args...)
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
