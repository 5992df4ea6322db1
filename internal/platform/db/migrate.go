package db

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/uptrace/bun/migrate"

	"github.com/loket-kinderopvang/loket/migrations"
)

// migrationLockKey is the PostgreSQL advisory lock that serialises migrations
// when several replicas start at once (bun's own lock is a plain row).
const migrationLockKey = 7_350_283_411

func (d *DB) migrator() (*migrate.Migrator, error) {
	ms := migrate.NewMigrations()
	if err := ms.Discover(migrations.Files); err != nil {
		return nil, fmt.Errorf("db: read migrations: %w", err)
	}
	return migrate.NewMigrator(d.DB, ms,
		migrate.WithTemplateData(templateData{Dialect: string(d.Dialect)}),
		migrate.WithMarkAppliedOnSuccess(true),
	), nil
}

// templateData is what migration templates see: {{.Dialect}}, and
// {{.TenantOwned "table" …}} for the row-level security of tenant-owned tables.
type templateData struct{ Dialect string }

// TenantOwned puts tables under row-level security on PostgreSQL: each shows
// and accepts only the rows of the desk named by the transaction-local setting
// app.tenant_id; FORCE makes it hold for the owner too; NULLIF because a pooled
// connection reads ” (not NULL) after an earlier transaction set it; a
// scalar subquery, so that a statement reads the setting once (an InitPlan),
// not once per row (migration 20261207000102 changed the older policies). On
// SQLite it is empty: there the tenant-scoped store is the only boundary.
func (t templateData) TenantOwned(tables ...string) string {
	if t.Dialect != string(Postgres) {
		return ""
	}
	var b strings.Builder
	for _, table := range tables {
		ident := pgx.Identifier{table}.Sanitize()
		fmt.Fprintf(&b, "\n--bun:split\nALTER TABLE %s ENABLE ROW LEVEL SECURITY", ident)
		fmt.Fprintf(&b, "\n--bun:split\nALTER TABLE %s FORCE ROW LEVEL SECURITY", ident)
		fmt.Fprintf(&b, "\n--bun:split\nCREATE POLICY tenant_isolation ON %s"+
			" USING (tenant_id = %[2]s) WITH CHECK (tenant_id = %[2]s)", ident, tenantSetting)
	}
	return b.String()
}

// tenantSetting is the desk of the transaction, as the policies read it.
const tenantSetting = "(SELECT NULLIF(current_setting('app.tenant_id', true), '')::uuid)"

// withMigrationLock runs fn while holding the migration lock.
func (d *DB) withMigrationLock(ctx context.Context, fn func(m *migrate.Migrator) error) error {
	m, err := d.migrator()
	if err != nil {
		return err
	}
	if err := m.Init(ctx); err != nil {
		return fmt.Errorf("db: init migration tables: %w", err)
	}
	if d.Dialect == Postgres {
		conn, err := d.DB.DB.Conn(ctx)
		if err != nil {
			return fmt.Errorf("db: migration lock: %w", err)
		}
		defer conn.Close()
		if _, err := conn.ExecContext(ctx, "SELECT pg_advisory_lock($1)", migrationLockKey); err != nil {
			return fmt.Errorf("db: take migration lock: %w", err)
		}
		defer conn.ExecContext(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock($1)", migrationLockKey) //nolint:errcheck
	}
	return fn(m)
}

// MigrateUp applies every pending migration and, on PostgreSQL, grants the
// application role what it needs. It returns the names it applied.
func (d *DB) MigrateUp(ctx context.Context, appRole string) ([]string, error) {
	var applied []string
	err := d.withMigrationLock(ctx, func(m *migrate.Migrator) error {
		group, err := m.Migrate(ctx)
		if err != nil {
			return fmt.Errorf("db: migrate up: %w", err)
		}
		for _, mg := range group.Migrations {
			applied = append(applied, mg.String())
		}
		// Under the lock too: every GRANT rewrites the tables' ACLs, and two
		// of one database at once fail with "tuple concurrently updated".
		if d.Dialect == Postgres && appRole != "" {
			return d.grantAppRole(ctx, appRole)
		}
		return nil
	})
	return applied, err
}

// MigrateDown rolls back the last group of migrations.
func (d *DB) MigrateDown(ctx context.Context) ([]string, error) {
	var rolled []string
	err := d.withMigrationLock(ctx, func(m *migrate.Migrator) error {
		group, err := m.Rollback(ctx)
		if err != nil {
			return fmt.Errorf("db: migrate down: %w", err)
		}
		for _, mg := range group.Migrations {
			rolled = append(rolled, mg.String())
		}
		return nil
	})
	return rolled, err
}

// MigrationStatus is one migration and whether it is applied.
type MigrationStatus struct {
	Name    string
	Applied bool
}

// MigrationsStatus lists every migration, oldest first. It does not create
// anything, so the application role may call it.
func (d *DB) MigrationsStatus(ctx context.Context) ([]MigrationStatus, error) {
	m, err := d.migrator()
	if err != nil {
		return nil, err
	}
	ms, err := m.MigrationsWithStatus(ctx)
	if err != nil {
		if strings.Contains(err.Error(), "bun_migrations") || strings.Contains(err.Error(), "no such table") {
			// Never migrated: everything is pending.
			all, err2 := d.allMigrations()
			if err2 != nil {
				return nil, err2
			}
			out := make([]MigrationStatus, len(all))
			for i, name := range all {
				out[i] = MigrationStatus{Name: name}
			}
			return out, nil
		}
		return nil, fmt.Errorf("db: migration status: %w", err)
	}
	out := make([]MigrationStatus, len(ms))
	for i, mg := range ms {
		out[i] = MigrationStatus{Name: mg.String(), Applied: mg.IsApplied()}
	}
	return out, nil
}

func (d *DB) allMigrations() ([]string, error) {
	ms := migrate.NewMigrations()
	if err := ms.Discover(migrations.Files); err != nil {
		return nil, fmt.Errorf("db: read migrations: %w", err)
	}
	var names []string
	for _, mg := range ms.Sorted() {
		names = append(names, mg.String())
	}
	return names, nil
}

// PendingMigrations counts migrations not yet applied.
func (d *DB) PendingMigrations(ctx context.Context) (int, error) {
	st, err := d.MigrationsStatus(ctx)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, s := range st {
		if !s.Applied {
			n++
		}
	}
	return n, nil
}

// appendOnlyTables are history tables the application may only add to.
var appendOnlyTables = []string{"events", "availability_events", "access_log"}

// narrowRoles are roles made by migrations for one job that crosses desks on
// purpose (the mail relay reads every desk's mail). The application role may
// switch to them inside a transaction (SET LOCAL ROLE) and can then do only
// what they are granted.
var narrowRoles = []string{"loket_mail_relay", "loket_webhook_relay", "loket_retention", "loket_reseal"}

// grantAppRole creates the application role when missing and gives it data
// access but no ownership, so row-level security binds it. The event log is
// append-only for it.
func (d *DB) grantAppRole(ctx context.Context, role string) error {
	ident := pgx.Identifier{role}.Sanitize()
	literal := "'" + strings.ReplaceAll(role, "'", "''") + "'"
	stmts := []string{
		`DO $$ BEGIN
			IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = ` + literal + `) THEN
				CREATE ROLE ` + ident + ` NOLOGIN NOSUPERUSER NOBYPASSRLS;
			END IF;
		EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
		END $$`,
		// NOINHERIT: the narrow roles are granted to the application role
		// only so that it may switch to one (SET LOCAL ROLE); it must not
		// hold their rights itself (loket_retention may delete from the
		// append-only logs).
		// Roles are shared by every database of the server: changed only
		// when needed, so that migrations of several databases at once (the
		// tests) do not update the same catalogue row ("tuple concurrently
		// updated").
		`DO $$ BEGIN
			IF EXISTS (SELECT FROM pg_roles WHERE rolname = ` + literal + ` AND rolinherit) THEN
				ALTER ROLE ` + ident + ` NOINHERIT;
			END IF;
		END $$`,
		"GRANT USAGE ON SCHEMA public TO " + ident,
		"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO " + ident,
	}
	for _, table := range appendOnlyTables {
		stmts = append(stmts, "REVOKE UPDATE, DELETE ON "+table+" FROM "+ident)
	}
	for _, narrow := range narrowRoles {
		stmts = append(stmts, `DO $$ BEGIN
			IF NOT pg_has_role(`+literal+`, `+"'"+narrow+"'"+`, 'MEMBER') THEN
				GRANT `+pgx.Identifier{narrow}.Sanitize()+` TO `+ident+`;
			END IF;
		END $$`)
	}
	for _, s := range stmts {
		// Two databases granted at the same moment (the first run of the
		// tests) may still meet on a role's row: the loser tries again.
		var err error
		for try := 0; try < 5; try++ {
			if _, err = d.DB.DB.ExecContext(ctx, s); err == nil || !concurrentCatalogUpdate(err) {
				break
			}
			time.Sleep(time.Duration(10*(try+1)) * time.Millisecond)
		}
		if err != nil {
			return fmt.Errorf("db: grant application role %s: %w", role, err)
		}
	}
	return nil
}

// concurrentCatalogUpdate reports PostgreSQL's "tuple concurrently updated"
// (or a duplicate role membership): another session changed the same
// catalogue row at the same moment; or a deadlock on the shared roles'
// locks, whose victim PostgreSQL rolled back whole (seen in CI's race run).
func concurrentCatalogUpdate(err error) bool {
	var pg *pgconn.PgError
	return isRetryable(err) || errors.As(err, &pg) && (pg.Code == "XX000" && strings.Contains(pg.Message, "concurrently") || pg.Code == "23505")
}
