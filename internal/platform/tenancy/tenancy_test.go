package tenancy_test

import (
	"context"
	"slices"
	"testing"

	"github.com/loket-kinderopvang/loket/internal/platform/db"
	"github.com/loket-kinderopvang/loket/internal/platform/dbtest"
	"github.com/loket-kinderopvang/loket/internal/platform/tenancy"
)

// TestFromAndJoinStayInTheDesk: the aggregate queries of the store (From,
// Join, Derived) add the desk's condition to every desk table themselves,
// on both databases: a join whose own condition would match another desk's
// row (here the same item id in both desks) still stays in the desk.
func TestFromAndJoinStayInTheDesk(t *testing.T) {
	dbtest.EachTarget(t, func(t *testing.T, tg dbtest.Target) {
		ctx := context.Background()
		d := tg.Owner(t)
		a, b := tenancy.NewID(), tenancy.NewID()
		for _, q := range []string{
			"CREATE TABLE items (tenant_id UUID NOT NULL, id INTEGER NOT NULL, name TEXT NOT NULL, PRIMARY KEY (tenant_id, id))",
			"CREATE TABLE tags (tenant_id UUID NOT NULL, item_id INTEGER NOT NULL, tag TEXT NOT NULL)",
		} {
			if _, err := d.ExecContext(ctx, q); err != nil {
				t.Fatal(err)
			}
		}
		for _, row := range []struct {
			desk tenancy.ID
			name string
		}{{a, "a-item"}, {b, "b-item"}} {
			if _, err := d.ExecContext(ctx, "INSERT INTO items VALUES (?, 1, ?)", row.desk, row.name); err != nil {
				t.Fatal(err)
			}
			if _, err := d.ExecContext(ctx, "INSERT INTO tags VALUES (?, 1, ?)", row.desk, row.name+"-tag"); err != nil {
				t.Fatal(err)
			}
		}
		err := tenancy.NewStore(d).Tx(tenancy.WithTenant(ctx, a), func(ctx context.Context, tx *tenancy.Tx) error {
			var names []string
			if err := tx.From("items", "i").ColumnExpr("i.name").Scan(ctx, &names); err != nil {
				return err
			}
			if !slices.Equal(names, []string{"a-item"}) {
				t.Errorf("From: %v, want only desk A's item", names)
			}
			var tags []string
			if err := tx.Join(tx.From("items", "i"), "JOIN", "tags", "g", "g.item_id = i.id").ColumnExpr("g.tag").Scan(ctx, &tags); err != nil {
				return err
			}
			if !slices.Equal(tags, []string{"a-item-tag"}) {
				t.Errorf("Join: %v, want only desk A's tag", tags)
			}
			var n int
			if err := tx.Derived(tx.From("tags", "g").ColumnExpr("g.tag"), "x").ColumnExpr("count(*)").Scan(ctx, &n); err != nil {
				return err
			}
			if n != 1 {
				t.Errorf("Derived: %d rows, want 1", n)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	})
}

// TestWorkMem: WorkMem sets work_mem for the rest of the transaction only
// (PostgreSQL), and is accepted on SQLite.
func TestWorkMem(t *testing.T) {
	dbtest.EachTarget(t, func(t *testing.T, tg dbtest.Target) {
		desk := tenancy.NewID()
		ctx := tenancy.WithTenant(context.Background(), desk)
		d := tg.Owner(t)
		for _, q := range []string{"CREATE TABLE items (tenant_id UUID NOT NULL, id INTEGER NOT NULL)", "INSERT INTO items VALUES (?, 1)"} {
			if _, err := d.ExecContext(ctx, q, desk); err != nil {
				t.Fatal(err)
			}
		}
		if tg.Dialect != db.Postgres {
			err := tenancy.NewStore(d).Tx(ctx, func(ctx context.Context, tx *tenancy.Tx) error { return tx.WorkMem(ctx, "48MB") })
			if err != nil {
				t.Fatal(err)
			}
			return
		}
		var before, inside, after string
		setting := func(ctx context.Context, tx *tenancy.Tx, v *string) error {
			return tx.From("items", "i").ColumnExpr("current_setting('work_mem')").Scan(ctx, v)
		}
		err := tenancy.NewStore(d).Tx(ctx, func(ctx context.Context, tx *tenancy.Tx) error {
			if err := setting(ctx, tx, &before); err != nil {
				return err
			}
			if err := tx.WorkMem(ctx, "48MB"); err != nil {
				return err
			}
			return setting(ctx, tx, &inside)
		})
		if err == nil {
			err = tenancy.NewStore(d).Tx(ctx, func(ctx context.Context, tx *tenancy.Tx) error { return setting(ctx, tx, &after) })
		}
		if err != nil {
			t.Fatal(err)
		}
		if before == "48MB" || inside != "48MB" || after != before {
			t.Errorf("work_mem before %s, inside %s, after %s: want 48MB inside the transaction only", before, inside, after)
		}
	})
}
