// Package tenancy is the only road to tenant-owned tables. A desk (tenant)
// travels in the context; Store.Tx opens a transaction bound to it, and Tx adds
// the tenant condition to every query itself, so a handler cannot forget it.
// On PostgreSQL the transaction also sets app.tenant_id, which row-level
// security checks: a bug in a query still cannot reach another desk's rows.
package tenancy

import (
	"context"
	"errors"
	"fmt"
	"reflect"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect"

	"github.com/loket-kinderopvang/loket/internal/platform/db"
	"github.com/loket-kinderopvang/loket/internal/platform/ids"
)

type tenantKind struct{}

// ID identifies a desk.
type ID = ids.ID[tenantKind]

// NewID returns a fresh desk ID.
func NewID() ID { return ids.New[tenantKind]() }

// ParseID reads a desk ID.
func ParseID(s string) (ID, error) { return ids.Parse[tenantKind](s) }

type ctxKey struct{}

// WithTenant returns a context that acts for desk id.
func WithTenant(ctx context.Context, id ID) context.Context {
	return context.WithValue(ctx, ctxKey{}, id)
}

// FromContext returns the desk the context acts for.
func FromContext(ctx context.Context) (ID, bool) {
	id, ok := ctx.Value(ctxKey{}).(ID)
	return id, ok && !id.IsZero()
}

// ErrNoTenant means code asked for tenant data without a desk in its context.
var ErrNoTenant = errors.New("tenancy: no desk in context")

// ErrForeignTenant means a row of another desk was handed to this desk's store.
var ErrForeignTenant = errors.New("tenancy: row belongs to another desk")

// Owned is embedded by every tenant-owned model. The store fills it in.
type Owned struct {
	TenantID ID `bun:"tenant_id,pk,type:uuid" json:"-"`
}

func (o *Owned) owned() *Owned { return o }

// Owner is the desk the row belongs to.
func (o Owned) Owner() ID { return o.TenantID }

type owner interface{ owned() *Owned }

// Store opens tenant-bound transactions.
type Store struct{ db *db.DB }

// NewStore returns a store on d.
func NewStore(d *db.DB) *Store { return &Store{db: d} }

// Tx runs fn in one transaction bound to the desk in ctx.
func (s *Store) Tx(ctx context.Context, fn func(ctx context.Context, tx *Tx) error) error {
	tenant, ok := FromContext(ctx)
	if !ok {
		return ErrNoTenant
	}
	return s.db.Transact(ctx, func(ctx context.Context, btx bun.Tx) error {
		if s.db.Dialect == db.Postgres {
			// is_local=true: the setting ends with the transaction and never
			// leaks to the next user of the pooled connection.
			if _, err := btx.ExecContext(ctx, "SELECT set_config('app.tenant_id', ?, true)", tenant.String()); err != nil {
				return fmt.Errorf("tenancy: bind transaction to desk: %w", err)
			}
		}
		return fn(ctx, &Tx{tx: btx, tenant: tenant})
	})
}

// Tx is a transaction of one desk.
type Tx struct {
	tx     bun.Tx
	tenant ID
}

// Tenant is the desk this transaction belongs to.
func (t *Tx) Tenant() ID { return t.tenant }

// Select starts a query on model's table limited to this desk's rows. Joined
// tenant tables must add their own tenant_id condition (TenantFilter helps).
func (t *Tx) Select(model any) *bun.SelectQuery {
	return t.tx.NewSelect().Model(model).Where("?TableAlias.tenant_id = ?", t.tenant)
}

// From starts a query on the tenant-owned table named table, under alias,
// limited to this desk's rows: for aggregate SQL that has no model (reports).
func (t *Tx) From(table, alias string) *bun.SelectQuery {
	return t.tx.NewSelect().TableExpr("? AS ?", bun.Ident(table), bun.Ident(alias)).
		Where("?.tenant_id = ?", bun.Ident(alias), t.tenant)
}

// Join joins the tenant-owned table named table to q under alias, limited to
// this desk's rows; join is "JOIN" or "LEFT JOIN", on the rest of the
// condition. Platform tables (the catalogue) join with q.Join itself.
func (t *Tx) Join(q *bun.SelectQuery, join, table, alias, on string, args ...any) *bun.SelectQuery {
	return q.Join(join+" ? AS ?", bun.Ident(table), bun.Ident(alias)).
		JoinOn("?.tenant_id = ?", bun.Ident(alias), t.tenant).JoinOn(on, args...)
}

// Derived starts a query over sub, a query of this transaction built with
// From or Select, under alias: an aggregate over a derived table.
func (t *Tx) Derived(sub *bun.SelectQuery, alias string) *bun.SelectQuery {
	return t.tx.NewSelect().TableExpr("(?) AS ?", sub, bun.Ident(alias))
}

// WorkMem sets PostgreSQL's work_mem for the rest of the transaction (SET
// LOCAL): an aggregate whose group count the planner cannot estimate (an
// expression) may then be hashed in memory instead of sorted on disk. SQLite
// has no such setting: nothing to do.
func (t *Tx) WorkMem(ctx context.Context, size string) error {
	if t.Dialect() != db.Postgres {
		return nil
	}
	if _, err := t.tx.ExecContext(ctx, "SELECT set_config('work_mem', ?, true)", size); err != nil {
		return fmt.Errorf("tenancy: work_mem %s: %w", size, err)
	}
	return nil
}

// Dialect names the database of the transaction.
func (t *Tx) Dialect() db.Dialect {
	if t.tx.Dialect().Name() == dialect.PG {
		return db.Postgres
	}
	return db.SQLite
}

// Insert stamps model (a struct pointer or a slice of them) with this desk and
// inserts it. A row stamped with another desk is refused.
func (t *Tx) Insert(ctx context.Context, model any) error {
	if v := reflect.ValueOf(model); v.Kind() == reflect.Pointer && v.Elem().Kind() == reflect.Slice {
		return t.InsertAll(ctx, model)
	}
	q, err := t.InsertQuery(model)
	if err != nil {
		return err
	}
	_, err = q.Exec(ctx)
	return err
}

// InsertAll stamps the rows of several slices (each a pointer to a slice)
// with this desk and inserts them all with one statement (see db.InsertMany).
func (t *Tx) InsertAll(ctx context.Context, sets ...any) error {
	for _, rows := range sets {
		if err := t.stamp(rows); err != nil {
			return err
		}
	}
	return db.InsertMany(ctx, t.tx, sets...)
}

// InsertQuery stamps model like Insert and returns the query, for upserts.
func (t *Tx) InsertQuery(model any) (*bun.InsertQuery, error) {
	if err := t.stamp(model); err != nil {
		return nil, err
	}
	return t.tx.NewInsert().Model(model), nil
}

// Update starts an update of model's table limited to this desk's rows.
func (t *Tx) Update(model any) (*bun.UpdateQuery, error) {
	if err := t.stamp(model); err != nil {
		return nil, err
	}
	return t.tx.NewUpdate().Model(model).Where("?TableAlias.tenant_id = ?", t.tenant), nil
}

// Delete starts a delete on model's table limited to this desk's rows.
func (t *Tx) Delete(model any) *bun.DeleteQuery {
	return t.tx.NewDelete().Model(model).Where("?TableAlias.tenant_id = ?", t.tenant)
}

// Unscoped gives the raw transaction, without the store's tenant condition.
// It exists for the isolation tests (which bypass the store on purpose to prove
// row-level security) and for the few queries where crossing desks is the
// point; each use is listed, with its reason, in TestUnscopedUses. On SQLite
// nothing else protects the query.
func (t *Tx) Unscoped() bun.Tx { return t.tx }

// AsRole switches the rest of the transaction to a narrow role made by a
// migration for one job (PostgreSQL; SQLite has no roles). Row-level
// security still holds: the desk setting of the transaction stays.
func (t *Tx) AsRole(ctx context.Context, role string) error {
	return db.AsRole(ctx, t.Dialect(), t.tx, role)
}

// stamp sets the desk on every row of model, refusing rows of another desk.
func (t *Tx) stamp(model any) error {
	v := reflect.ValueOf(model)
	if v.Kind() == reflect.Pointer && v.Elem().Kind() == reflect.Slice {
		v = v.Elem()
	}
	if v.Kind() == reflect.Slice {
		for i := 0; i < v.Len(); i++ {
			el := v.Index(i)
			if el.Kind() != reflect.Pointer {
				el = el.Addr()
			}
			if err := t.stampOne(el.Interface()); err != nil {
				return err
			}
		}
		return nil
	}
	return t.stampOne(model)
}

func (t *Tx) stampOne(row any) error {
	o, ok := row.(owner)
	if !ok {
		return fmt.Errorf("tenancy: %T is not a tenant-owned model (embed tenancy.Owned)", row)
	}
	own := o.owned()
	switch {
	case own.TenantID.IsZero():
		own.TenantID = t.tenant
	case own.TenantID != t.tenant:
		return fmt.Errorf("%w: %T", ErrForeignTenant, row)
	}
	return nil
}
