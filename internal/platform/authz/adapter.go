package authz

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"

	"github.com/casbin/casbin/v2/model"
	"github.com/casbin/casbin/v2/persist"
	"github.com/uptrace/bun"

	"github.com/loket-kinderopvang/loket/internal/platform/db"
)

// maxFields is the number of value columns of casbin_rules (v0..v5).
const maxFields = 6

// ruleRow is one row of casbin_rules. Unused fields hold the empty string (never NULL), so
// the unique index covers the whole rule.
type ruleRow struct {
	bun.BaseModel `bun:"table:casbin_rules"`

	ID    int64  `bun:"id,pk,autoincrement"`
	PType string `bun:"ptype,notnull"`
	V0    string `bun:"v0,notnull"`
	V1    string `bun:"v1,notnull"`
	V2    string `bun:"v2,notnull"`
	V3    string `bun:"v3,notnull"`
	V4    string `bun:"v4,notnull"`
	V5    string `bun:"v5,notnull"`
}

func (r *ruleRow) values() [maxFields]string {
	return [maxFields]string{r.V0, r.V1, r.V2, r.V3, r.V4, r.V5}
}

func newRow(ptype string, rule []string) (ruleRow, error) {
	if len(rule) > maxFields {
		return ruleRow{}, fmt.Errorf("authz: rule %s %v has more than %d fields", ptype, rule, maxFields)
	}
	var v [maxFields]string
	copy(v[:], rule)
	return ruleRow{PType: ptype, V0: v[0], V1: v[1], V2: v[2], V3: v[3], V4: v[4], V5: v[5]}, nil
}

// Adapter is a Casbin persist.Adapter (also BatchAdapter and the context
// variants) storing rules in the casbin_rules table through bun, on SQLite
// and PostgreSQL alike. Every write also bumps casbin_policy_version in the
// same transaction, so replicas that poll the version see every change.
//
// Adding a rule that exists and removing one that does not are no-ops, not
// errors: several replicas may race to write the same rule.
type Adapter struct {
	db *db.DB
}

// NewAdapter returns an adapter on d (migrated).
func NewAdapter(d *db.DB) *Adapter { return &Adapter{db: d} }

var (
	_ persist.Adapter             = (*Adapter)(nil)
	_ persist.BatchAdapter        = (*Adapter)(nil)
	_ persist.ContextAdapter      = (*Adapter)(nil)
	_ persist.ContextBatchAdapter = (*Adapter)(nil)
)

// Version returns the policy version: it changes with every write.
func (a *Adapter) Version(ctx context.Context) (int64, error) {
	var v int64
	if err := a.db.NewRaw("SELECT version FROM casbin_policy_version WHERE id = 1").Scan(ctx, &v); err != nil {
		return 0, fmt.Errorf("authz: read policy version: %w", err)
	}
	return v, nil
}

// rows reads every rule, oldest first.
func (a *Adapter) rows(ctx context.Context) ([]ruleRow, error) {
	var rows []ruleRow
	if err := a.db.NewSelect().Model(&rows).Order("id").Scan(ctx); err != nil {
		return nil, fmt.Errorf("authz: load rules: %w", err)
	}
	return rows, nil
}

// loadRow adds one stored rule to m, cut to the number of fields its policy
// type has in the model. A rule of a type the model does not know is skipped:
// it may come from a newer release during a rolling update.
func loadRow(m model.Model, r *ruleRow) error {
	if r.PType == "" {
		return fmt.Errorf("authz: rule %d has no type", r.ID)
	}
	ast, ok := m[r.PType[:1]][r.PType]
	if !ok {
		return nil
	}
	n := len(ast.Tokens)
	v := r.values()
	for _, extra := range v[n:] {
		if extra != "" {
			return fmt.Errorf("authz: rule %d (%s) has more fields than the model's %d", r.ID, r.PType, n)
		}
	}
	line := make([]string, 0, n+1)
	line = append(line, r.PType)
	line = append(line, v[:n]...)
	if err := persist.LoadPolicyArray(line, m); err != nil {
		return fmt.Errorf("authz: load rule %d: %w", r.ID, err)
	}
	return nil
}

// LoadPolicy implements persist.Adapter.
func (a *Adapter) LoadPolicy(m model.Model) error { return a.LoadPolicyCtx(context.Background(), m) }

// LoadPolicyCtx implements persist.ContextAdapter.
func (a *Adapter) LoadPolicyCtx(ctx context.Context, m model.Model) error {
	rows, err := a.rows(ctx)
	if err != nil {
		return err
	}
	for i := range rows {
		if err := loadRow(m, &rows[i]); err != nil {
			return err
		}
	}
	return nil
}

// SavePolicy implements persist.Adapter: it replaces every stored rule with
// the model's.
func (a *Adapter) SavePolicy(m model.Model) error { return a.SavePolicyCtx(context.Background(), m) }

// SavePolicyCtx implements persist.ContextAdapter.
func (a *Adapter) SavePolicyCtx(ctx context.Context, m model.Model) error {
	var lines [][]string
	for _, sec := range []string{"p", "g"} {
		for ptype, ast := range m[sec] {
			for _, rule := range ast.Policy {
				lines = append(lines, append([]string{ptype}, rule...))
			}
		}
	}
	_, _, err := a.apply(ctx, change{clearAll: true, add: lines})
	return err
}

// AddPolicy implements persist.Adapter.
func (a *Adapter) AddPolicy(sec, ptype string, rule []string) error {
	return a.AddPolicyCtx(context.Background(), sec, ptype, rule)
}

// AddPolicyCtx implements persist.ContextAdapter.
func (a *Adapter) AddPolicyCtx(ctx context.Context, _, ptype string, rule []string) error {
	return a.AddPoliciesCtx(ctx, "", ptype, [][]string{rule})
}

// AddPolicies implements persist.BatchAdapter.
func (a *Adapter) AddPolicies(sec, ptype string, rules [][]string) error {
	return a.AddPoliciesCtx(context.Background(), sec, ptype, rules)
}

// AddPoliciesCtx implements persist.ContextBatchAdapter.
func (a *Adapter) AddPoliciesCtx(ctx context.Context, _, ptype string, rules [][]string) error {
	_, _, err := a.apply(ctx, change{add: withType(ptype, rules)})
	return err
}

// RemovePolicy implements persist.Adapter.
func (a *Adapter) RemovePolicy(sec, ptype string, rule []string) error {
	return a.RemovePolicyCtx(context.Background(), sec, ptype, rule)
}

// RemovePolicyCtx implements persist.ContextAdapter.
func (a *Adapter) RemovePolicyCtx(ctx context.Context, _, ptype string, rule []string) error {
	return a.RemovePoliciesCtx(ctx, "", ptype, [][]string{rule})
}

// RemovePolicies implements persist.BatchAdapter.
func (a *Adapter) RemovePolicies(sec, ptype string, rules [][]string) error {
	return a.RemovePoliciesCtx(context.Background(), sec, ptype, rules)
}

// RemovePoliciesCtx implements persist.ContextBatchAdapter.
func (a *Adapter) RemovePoliciesCtx(ctx context.Context, _, ptype string, rules [][]string) error {
	_, _, err := a.apply(ctx, change{remove: withType(ptype, rules)})
	return err
}

// RemoveFilteredPolicy implements persist.Adapter: it removes the rules of
// ptype whose fields from fieldIndex on equal fieldValues; an empty value
// matches anything.
func (a *Adapter) RemoveFilteredPolicy(sec, ptype string, fieldIndex int, fieldValues ...string) error {
	return a.RemoveFilteredPolicyCtx(context.Background(), sec, ptype, fieldIndex, fieldValues...)
}

// RemoveFilteredPolicyCtx implements persist.ContextAdapter.
func (a *Adapter) RemoveFilteredPolicyCtx(ctx context.Context, _, ptype string, fieldIndex int, fieldValues ...string) error {
	_, _, err := a.apply(ctx, change{filters: []filter{{ptype: ptype, index: fieldIndex, values: fieldValues}}})
	return err
}

func withType(ptype string, rules [][]string) [][]string {
	out := make([][]string, len(rules))
	for i, r := range rules {
		out[i] = append([]string{ptype}, r...)
	}
	return out
}

// change is one atomic write: removals first, then additions.
type change struct {
	clearAll bool
	remove   [][]string // full lines, ptype first
	filters  []filter
	add      [][]string // full lines, ptype first
}

type filter struct {
	ptype  string
	index  int
	values []string
}

// insertBatch keeps every INSERT well below SQLite's bound on parameters.
const insertBatch = 500

// apply writes c in one transaction and, when a row changed, bumps the policy
// version. It returns the version after the write and whether rows changed: a
// write that changes nothing (the rule was already there) leaves the version
// alone, so other replicas do not reload for nothing.
func (a *Adapter) apply(ctx context.Context, c change) (version int64, changed bool, err error) {
	err = a.db.Transact(ctx, func(ctx context.Context, tx bun.Tx) error {
		var n int64
		count := func(res sql.Result) {
			if k, err := res.RowsAffected(); err == nil {
				n += k
			} else {
				n++ // unknown: assume a change, a spare reload is harmless
			}
		}
		if c.clearAll {
			n++
			if _, err := tx.NewDelete().Model((*ruleRow)(nil)).Where("1 = 1").Exec(ctx); err != nil {
				return fmt.Errorf("authz: clear rules: %w", err)
			}
		}
		for _, line := range c.remove {
			if len(line) == 0 {
				return errors.New("authz: empty rule")
			}
			r, err := newRow(line[0], line[1:])
			if err != nil {
				return err
			}
			q := tx.NewDelete().Model((*ruleRow)(nil)).Where("ptype = ?", r.PType)
			for i, v := range r.values() {
				q = q.Where("? = ?", bun.Ident("v"+strconv.Itoa(i)), v)
			}
			res, err := q.Exec(ctx)
			if err != nil {
				return fmt.Errorf("authz: remove rule %v: %w", line, err)
			}
			count(res)
		}
		for _, f := range c.filters {
			if f.index < 0 || f.index+len(f.values) > maxFields {
				return fmt.Errorf("authz: filter on fields %d..%d is out of range", f.index, f.index+len(f.values)-1)
			}
			q := tx.NewDelete().Model((*ruleRow)(nil)).Where("ptype = ?", f.ptype)
			for i, v := range f.values {
				if v != "" {
					q = q.Where("? = ?", bun.Ident("v"+strconv.Itoa(f.index+i)), v)
				}
			}
			res, err := q.Exec(ctx)
			if err != nil {
				return fmt.Errorf("authz: remove %s rules matching %v: %w", f.ptype, f.values, err)
			}
			count(res)
		}
		rows := make([]ruleRow, 0, min(len(c.add), insertBatch))
		flush := func() error {
			if len(rows) == 0 {
				return nil
			}
			// ON CONFLICT DO NOTHING: another replica may have written the
			// same rule; RETURNING NULL keeps bun from scanning ids back.
			res, err := tx.NewInsert().Model(&rows).ExcludeColumn("id").
				On("CONFLICT DO NOTHING").Returning("NULL").Exec(ctx)
			if err != nil {
				return fmt.Errorf("authz: add rules: %w", err)
			}
			count(res)
			rows = rows[:0]
			return nil
		}
		for _, line := range c.add {
			if len(line) == 0 {
				return errors.New("authz: empty rule")
			}
			r, err := newRow(line[0], line[1:])
			if err != nil {
				return err
			}
			rows = append(rows, r)
			if len(rows) == insertBatch {
				if err := flush(); err != nil {
					return err
				}
			}
		}
		if err := flush(); err != nil {
			return err
		}
		changed = n > 0
		bump := "UPDATE casbin_policy_version SET version = version + 1 WHERE id = 1 RETURNING version"
		if !changed {
			bump = "SELECT version FROM casbin_policy_version WHERE id = 1"
		}
		if err := tx.NewRaw(bump).Scan(ctx, &version); err != nil {
			return fmt.Errorf("authz: bump policy version: %w", err)
		}
		return nil
	})
	if err != nil {
		return 0, false, err
	}
	return version, changed, nil
}
