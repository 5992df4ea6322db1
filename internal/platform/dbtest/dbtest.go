// Package dbtest runs the same test code against both databases Loket
// supports: a fresh SQLite file and a fresh PostgreSQL database, each migrated.
// On PostgreSQL the returned DB serves as the application role, exactly as in
// production, so row-level security binds it.
package dbtest

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/loket-kinderopvang/loket/internal/platform/db"
	"github.com/loket-kinderopvang/loket/internal/platform/testenv"
)

// AppRole is the role tests serve as on PostgreSQL.
const AppRole = "loket_app"

// Target is one database to run against.
type Target struct {
	Dialect db.Dialect
	// URL is the PostgreSQL URL (empty for SQLite).
	URL string
	// SQLitePath is the SQLite file (empty for PostgreSQL).
	SQLitePath string
	// AppURL, when set, is how the application role reaches the database:
	// through PgBouncer in transaction mode (migrations go to URL directly).
	AppURL string
}

// Each runs fn as a subtest on SQLite and on PostgreSQL.
func Each(t *testing.T, fn func(t *testing.T, d *db.DB)) {
	t.Helper()
	for _, dialect := range []db.Dialect{db.SQLite, db.Postgres} {
		t.Run(string(dialect), func(t *testing.T) {
			fn(t, Open(t, dialect))
		})
	}
}

// EachTarget runs fn on both databases with an empty, unmigrated target.
func EachTarget(t *testing.T, fn func(t *testing.T, tg Target)) {
	t.Helper()
	for _, dialect := range []db.Dialect{db.SQLite, db.Postgres} {
		t.Run(string(dialect), func(t *testing.T) { fn(t, NewTarget(t, dialect)) })
	}
}

// NewTarget creates an empty database of dialect for this test.
func NewTarget(t testing.TB, dialect db.Dialect) Target {
	t.Helper()
	if dialect == db.Postgres {
		tg := Target{Dialect: db.Postgres, URL: testenv.Postgres(t)}
		if testenv.ViaPgBouncer() {
			tg.AppURL = testenv.PgBouncer(t, tg.URL)
		}
		return tg
	}
	return Target{Dialect: db.SQLite, SQLitePath: filepath.Join(t.TempDir(), "loket.db")}
}

// Pooled returns a migrated PostgreSQL database that the application role
// reaches through PgBouncer in transaction mode; it skips loudly without one.
func Pooled(t testing.TB) *db.DB {
	t.Helper()
	tg := NewTarget(t, db.Postgres)
	tg.AppURL = testenv.PgBouncer(t, tg.URL)
	if _, err := tg.Owner(t).MigrateUp(context.Background(), AppRole); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	return tg.App(t)
}

// Open returns a migrated database of dialect, serving as the application role.
func Open(t testing.TB, dialect db.Dialect) *db.DB {
	t.Helper()
	tg := NewTarget(t, dialect)
	owner := tg.Owner(t)
	if _, err := owner.MigrateUp(context.Background(), AppRole); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	return tg.App(t)
}

// Owner connects as the schema owner (migrations, bypassing the app role).
func (tg Target) Owner(t testing.TB) *db.DB {
	t.Helper()
	d, err := db.Open(context.Background(), db.Options{URL: tg.URL, SQLitePath: tg.SQLitePath})
	if err != nil {
		t.Fatalf("open %s as owner: %v", tg.Dialect, err)
	}
	t.Cleanup(func() { _ = d.Close() })
	return d
}

// App connects as the application role (through PgBouncer when AppURL is set).
func (tg Target) App(t testing.TB) *db.DB {
	t.Helper()
	opts := db.Options{URL: tg.URL, SQLitePath: tg.SQLitePath, AppRole: AppRole}
	if tg.AppURL != "" {
		opts.URL, opts.Pooler = tg.AppURL, db.PoolerTransaction
	}
	d, err := db.Open(context.Background(), opts)
	if err != nil {
		t.Fatalf("open %s as app: %v", tg.Dialect, err)
	}
	t.Cleanup(func() { _ = d.Close() })
	return d
}
