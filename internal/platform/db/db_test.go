package db_test

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/loket-kinderopvang/loket/internal/platform/db"
	"github.com/loket-kinderopvang/loket/internal/platform/dbtest"
)

func TestMigrationsUpDownUp(t *testing.T) {
	dbtest.EachTarget(t, func(t *testing.T, tg dbtest.Target) {
		ctx := context.Background()
		d := tg.Owner(t)
		n, err := d.PendingMigrations(ctx)
		if err != nil || n < 2 {
			t.Fatalf("pending before: %d %v", n, err)
		}
		applied, err := d.MigrateUp(ctx, dbtest.AppRole)
		if err != nil || len(applied) != n {
			t.Fatalf("up: %v %v", applied, err)
		}
		if n, _ := d.PendingMigrations(ctx); n != 0 {
			t.Fatalf("pending after up: %d", n)
		}
		if again, err := d.MigrateUp(ctx, dbtest.AppRole); err != nil || len(again) != 0 {
			t.Fatalf("second up must do nothing: %v %v", again, err)
		}
		before := tables(t, d)
		if !slices.Contains(before, "requests") || !slices.Contains(before, "tenants") {
			t.Fatalf("tables after up: %v", before)
		}
		if _, err := d.MigrateDown(ctx); err != nil {
			t.Fatalf("down: %v", err)
		}
		if slices.Contains(tables(t, d), "requests") {
			t.Fatal("down left the requests table")
		}
		if _, err := d.MigrateUp(ctx, dbtest.AppRole); err != nil {
			t.Fatalf("up after down: %v", err)
		}
		if after := tables(t, d); !slices.Equal(before, after) {
			t.Errorf("tables differ after down and up: %v vs %v", before, after)
		}
	})
}

// TestSchemasMatch applies the one migration history to both databases and
// compares every table and column, so the SQLite schema cannot drift from
// the PostgreSQL reference.
func TestSchemasMatch(t *testing.T) {
	sqlite := dbtest.Open(t, db.SQLite)
	pg := dbtest.Open(t, db.Postgres)
	a, b := columns(t, sqlite), columns(t, pg)
	if len(a) == 0 {
		t.Fatal("no columns read")
	}
	if !slices.Equal(a, b) {
		t.Errorf("schemas differ:\nsqlite:   %v\npostgres: %v", a, b)
	}
}

func tables(t *testing.T, d *db.DB) []string {
	t.Helper()
	var names []string
	for _, c := range columns(t, d) {
		name := strings.SplitN(c, ".", 2)[0]
		if !slices.Contains(names, name) {
			names = append(names, name)
		}
	}
	return names
}

// columns lists table.column of every application table, sorted.
func columns(t *testing.T, d *db.DB) []string { return dbtest.Columns(t, d) }

// TestMigrateManyDatabasesAtOnce: roles are shared by every database of a
// server, so several databases migrated at the same moment (the test
// packages in parallel, replicas starting) must not fail on the roles'
// catalogue rows ("tuple concurrently updated", seen in CI).
func TestMigrateManyDatabasesAtOnce(t *testing.T) {
	ctx := context.Background()
	var owners []*db.DB
	for range 3 {
		tg := dbtest.NewTarget(t, db.Postgres)
		owner := tg.Owner(t)
		if _, err := owner.MigrateUp(ctx, dbtest.AppRole); err != nil {
			t.Fatal(err)
		}
		owners = append(owners, owner)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 3*8)
	for _, owner := range owners {
		for range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := owner.MigrateUp(ctx, dbtest.AppRole); err != nil {
					errs <- err
				}
			}()
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
