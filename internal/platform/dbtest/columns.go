package dbtest

import (
	"context"
	"slices"
	"testing"

	"github.com/loket-kinderopvang/loket/internal/platform/db"
)

// Columns lists every table.column of d's migrated schema, sorted (the
// migration bookkeeping left out).
func Columns(t testing.TB, d *db.DB) []string {
	t.Helper()
	ctx := context.Background()
	var out []string
	switch d.Dialect {
	case db.Postgres:
		if err := d.NewRaw(`SELECT table_name || '.' || column_name FROM information_schema.columns
			WHERE table_schema = 'public' AND table_name NOT LIKE 'bun_%'`).Scan(ctx, &out); err != nil {
			t.Fatal(err)
		}
	case db.SQLite:
		if err := d.NewRaw(`SELECT m.name || '.' || p.name FROM sqlite_master m, pragma_table_info(m.name) p
			WHERE m.type = 'table' AND m.name NOT LIKE 'bun_%' AND m.name NOT LIKE 'sqlite_%'`).Scan(ctx, &out); err != nil {
			t.Fatal(err)
		}
	}
	slices.Sort(out)
	return out
}
