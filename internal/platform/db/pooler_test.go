package db_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/loket-kinderopvang/loket/internal/platform/db"
	"github.com/loket-kinderopvang/loket/internal/platform/dbtest"
	"github.com/loket-kinderopvang/loket/internal/platform/tenancy"
	"github.com/loket-kinderopvang/loket/internal/platform/testenv"
)

// TestNeverTheOwnerBehindPgBouncer runs many more clients than PgBouncer has
// server connections (4, see scripts/ci/pgbouncer.sh), so transactions of
// different clients share server connections. Every statement, in a
// transaction or on its own, must run as the application role (the login
// role owns the schema and would bypass row-level security), and every desk
// transaction must see its own desk only. Halfway, the server connections
// are ended, as a failover or PgBouncer's server_lifetime does: the pooler
// opens new ones, which never saw a connection-level SET ROLE.
func TestNeverTheOwnerBehindPgBouncer(t *testing.T) {
	tg := dbtest.NewTarget(t, db.Postgres)
	tg.AppURL = testenv.PgBouncer(t, tg.URL)
	owner := tg.Owner(t)
	if _, err := owner.MigrateUp(context.Background(), dbtest.AppRole); err != nil {
		t.Fatal(err)
	}
	d := tg.App(t)
	store := tenancy.NewStore(d)
	const clients, rounds = 32, 12
	errs := make(chan error, 2*clients*rounds*3)
	run := func() {
		var wg sync.WaitGroup
		for c := range clients {
			wg.Add(1)
			go func() {
				defer wg.Done()
				client(t, c, d, store, rounds, errs)
			}()
		}
		wg.Wait()
	}
	run()
	if _, err := owner.ExecContext(context.Background(), "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"+
		" WHERE datname = current_database() AND pid <> pg_backend_pid()"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond) // PgBouncer notices the closed server connections
	run()
	close(errs)
	n := 0
	for err := range errs {
		if n++; n <= 5 {
			t.Error(err)
		}
	}
	if n > 5 {
		t.Errorf("… %d failures in all", n)
	}
}

func client(t *testing.T, c int, d *db.DB, store *tenancy.Store, rounds int, errs chan<- error) {
	desk := tenancy.NewID()
	ctx := tenancy.WithTenant(context.Background(), desk)
	for r := range rounds {
		err := store.Tx(ctx, func(ctx context.Context, tx *tenancy.Tx) error {
			var user, setting string
			if err := tx.Unscoped().NewRaw("SELECT current_user, current_setting('app.tenant_id', true)").Scan(ctx, &user, &setting); err != nil {
				return err
			}
			if user != dbtest.AppRole || setting != desk.String() {
				return fmt.Errorf("client %d round %d: desk transaction runs as %q for desk %q, want %q for %s", c, r, user, setting, dbtest.AppRole, desk)
			}
			return nil
		})
		if err != nil {
			errs <- err
		}
		var user, setting string
		if err := d.NewRaw("SELECT current_user, current_setting('app.tenant_id', true)").Scan(context.Background(), &user, &setting); err != nil {
			errs <- err
		} else if user != dbtest.AppRole || setting != "" {
			errs <- fmt.Errorf("client %d round %d: statement outside a transaction runs as %q with desk %q, want %q without desk", c, r, user, setting, dbtest.AppRole)
		}
		err = d.Transact(context.Background(), func(ctx context.Context, tx bun.Tx) error {
			return tx.NewRaw("SELECT current_user").Scan(ctx, &user)
		})
		if err != nil {
			errs <- err
		} else if user != dbtest.AppRole {
			errs <- fmt.Errorf("client %d round %d: platform transaction runs as %q", c, r, user)
		}
	}
}

// TestPoolerDetected: a server port other than the URL's means a pooler.
func TestPoolerDetected(t *testing.T) {
	direct := testenv.Postgres(t)
	for _, tc := range []struct {
		url  string
		want db.Pooler
	}{{direct, db.PoolerNone}, {testenv.PgBouncer(t, direct), db.PoolerTransaction}} {
		d, err := db.Open(context.Background(), db.Options{URL: tc.url, AppRole: ""})
		if err != nil {
			t.Fatal(err)
		}
		if d.Pooler != tc.want {
			t.Errorf("%s: pooler %q, want %q", tc.url, d.Pooler, tc.want)
		}
		_ = d.Close()
	}
}

// BenchmarkPooledStatements: what transaction pooling costs a statement
// outside a transaction (a transaction of its own: BEGIN with SET LOCAL
// ROLE, the statement, COMMIT) and a desk transaction, straight to
// PostgreSQL and through PgBouncer.
func BenchmarkPooledStatements(b *testing.B) {
	direct := dbtest.NewTarget(b, db.Postgres)
	if _, err := direct.Owner(b).MigrateUp(context.Background(), dbtest.AppRole); err != nil {
		b.Fatal(err)
	}
	pooled := direct
	pooled.AppURL = testenv.PgBouncer(b, direct.URL)
	for name, tg := range map[string]dbtest.Target{"direct": direct, "pgbouncer": pooled} {
		d := tg.App(b)
		ctx := tenancy.WithTenant(context.Background(), tenancy.NewID())
		store := tenancy.NewStore(d)
		b.Run(name+"/statement", func(b *testing.B) {
			for b.Loop() {
				var n int
				if err := d.NewRaw("SELECT 1").Scan(ctx, &n); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(name+"/desk-transaction", func(b *testing.B) {
			for b.Loop() {
				err := store.Tx(ctx, func(ctx context.Context, tx *tenancy.Tx) error {
					var n int
					return tx.Unscoped().NewRaw("SELECT 1").Scan(ctx, &n)
				})
				if err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
