package db_test

import (
	"context"
	"net/url"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/loket-kinderopvang/loket/internal/platform/db"
	"github.com/loket-kinderopvang/loket/internal/platform/dbtest"
	"github.com/loket-kinderopvang/loket/internal/platform/testenv"
)

// TestReadsGoToTheStandby: with a streaming standby (pg_basebackup, port
// 5433 in CI) as ReadURL, read-only work runs there as the application role;
// a person's own write is seen (the read waits for the standby to replay
// it); a standby that lags behind her write, or goes away, sends the read to
// the primary instead of failing it.
func TestReadsGoToTheStandby(t *testing.T) {
	tg := dbtest.NewTarget(t, db.Postgres)
	standbyURL := testenv.Standby(t, tg.URL)
	owner := tg.Owner(t)
	ctx := context.Background()
	if _, err := owner.MigrateUp(ctx, dbtest.AppRole); err != nil {
		t.Fatal(err)
	}
	if _, err := owner.ExecContext(ctx, "CREATE TABLE probe (n int); GRANT SELECT, INSERT ON probe TO "+dbtest.AppRole); err != nil {
		t.Fatal(err)
	}
	testenv.WaitForReplay(t, tg.URL, standbyURL)
	open := func(readURL string) *db.DB {
		d, err := db.Open(ctx, db.Options{URL: tg.URL, AppRole: dbtest.AppRole, ReadURL: readURL, ReplicaWait: time.Second})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = d.Close() })
		return d
	}
	d := open(standbyURL)
	// where reports which server ran a statement and as whom, outside a
	// transaction and inside one.
	where := func(ctx context.Context) (standby, inTx bool) {
		t.Helper()
		var user string
		if err := d.NewRaw("SELECT pg_is_in_recovery(), current_user").Scan(ctx, &standby, &user); err != nil {
			t.Fatal(err)
		}
		if user != dbtest.AppRole {
			t.Errorf("statement runs as %s", user)
		}
		err := d.Transact(ctx, func(ctx context.Context, tx bun.Tx) error {
			return tx.NewRaw("SELECT pg_is_in_recovery(), current_user").Scan(ctx, &inTx, &user)
		})
		if err != nil {
			t.Fatal(err)
		}
		if user != dbtest.AppRole {
			t.Errorf("transaction runs as %s", user)
		}
		return standby, inTx
	}
	if s, tx := where(ctx); s || tx {
		t.Fatalf("unmarked work ran on the standby: %v %v", s, tx)
	}
	read := db.PreferReplica(ctx)
	if s, tx := where(read); !s || !tx {
		t.Fatalf("read-only work ran on the primary: statement %v, transaction %v", !s, !tx)
	}

	// Her write, then her read: it waits for the standby to replay it.
	before := d.ReplicaStats()
	for i := range 20 {
		if _, err := d.NewRaw("INSERT INTO probe VALUES (?)", i).Exec(ctx); err != nil {
			t.Fatal(err)
		}
		lsn, err := d.CurrentLSN(ctx)
		if err != nil || !db.ValidLSN(lsn) {
			t.Fatalf("LSN %q: %v", lsn, err)
		}
		var n int
		var standby bool
		if err := d.NewRaw("SELECT count(*), pg_is_in_recovery() FROM probe").Scan(db.WithMinLSN(read, lsn), &n, &standby); err != nil {
			t.Fatal(err)
		}
		if n != i+1 {
			t.Fatalf("her read after her write %d sees %d rows (standby %v)", i+1, n, standby)
		}
	}
	// Each read ran on the standby, or (a standby slower than a second to
	// replay, on a busy machine) on the primary, counted as lag.
	st := d.ReplicaStats()
	onStandby, lagged := st.OnReplica-before.OnReplica, st.Lagging-before.Lagging
	if onStandby+lagged != 20 || onStandby < 10 {
		t.Errorf("of 20 reads after her writes %d ran on the standby and %d on the primary for lag", onStandby, lagged)
	}

	// A standby that has not replayed her write in time: the primary answers.
	lagging := open(standbyURL)
	future := db.WithMinLSN(read, "FFFFFFFF/0")
	var standby bool
	if err := lagging.NewRaw("SELECT pg_is_in_recovery()").Scan(future, &standby); err != nil || standby {
		t.Errorf("a lagging standby served the read (%v, %v)", standby, err)
	}
	if st := lagging.ReplicaStats(); st.Lagging != 1 || st.OnReplica != 0 {
		t.Errorf("lag not counted: %+v", st)
	}

	// The standby goes away: reads go to the primary, none fails.
	su, _ := url.Parse(standbyURL)
	addr, stop := testenv.TCPProxy(t, su.Host)
	su.Host = addr
	away := open(su.String())
	if err := away.NewRaw("SELECT pg_is_in_recovery()").Scan(read, &standby); err != nil || !standby {
		t.Fatalf("through the proxy: standby %v, %v", standby, err)
	}
	stop()
	for range 3 {
		if err := away.NewRaw("SELECT pg_is_in_recovery()").Scan(read, &standby); err != nil || standby {
			t.Errorf("standby gone: standby %v, err %v", standby, err)
		}
		err := away.Transact(read, func(ctx context.Context, tx bun.Tx) error {
			return tx.NewRaw("SELECT pg_is_in_recovery()").Scan(ctx, &standby)
		})
		if err != nil || standby {
			t.Errorf("standby gone, transaction: standby %v, err %v", standby, err)
		}
	}
	if st := away.ReplicaStats(); st.Unavailable == 0 {
		t.Errorf("the standby's absence is not counted: %+v", st)
	}
}
