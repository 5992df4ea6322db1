// Package db opens Loket's database: an SQLite file on the embedded default,
// PostgreSQL in production, both through bun. It also runs the migrations.
package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/pgdialect"
	"github.com/uptrace/bun/dialect/sqlitedialect"
	"github.com/uptrace/bun/driver/sqliteshim"
)

// Dialect names the database behind a DB.
type Dialect string

// The two databases Loket runs on.
const (
	SQLite   Dialect = "sqlite"
	Postgres Dialect = "postgres"
)

// DB is a bun database that knows its dialect.
type DB struct {
	*bun.DB
	Dialect Dialect
	// Pooler is the connection pooler found or configured (PostgreSQL).
	Pooler Pooler

	replica *replica
}

// Options say how to open the database.
type Options struct {
	// URL is a postgres:// URL; empty opens the SQLite file at SQLitePath.
	URL        string
	SQLitePath string
	// AppRole is the PostgreSQL role every connection switches to, so that
	// row-level security applies even when the login role could bypass it.
	AppRole string
	// Pooler says whether a connection pooler sits in front of PostgreSQL;
	// empty detects it (see PoolerAuto).
	Pooler Pooler
	// ReadURL is a hot standby of URL for read-only work (see
	// PreferReplica); empty sends everything to URL.
	ReadURL string
	// ReplicaWait is how long a read waits for the standby to replay the
	// person's last write before it goes to the primary (default 250 ms).
	ReplicaWait time.Duration
}

// Open connects and checks the connection.
func Open(ctx context.Context, opts Options) (*DB, error) {
	var d *DB
	var err error
	if opts.URL == "" {
		d, err = openSQLite(opts.SQLitePath)
	} else {
		d, err = openPostgres(ctx, opts)
	}
	if err != nil {
		return nil, err
	}
	pingCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := d.PingContext(pingCtx); err != nil {
		_ = d.Close()
		return nil, fmt.Errorf("db: connect to %s: %w", d.Dialect, err)
	}
	return d, nil
}

func openSQLite(path string) (*DB, error) {
	if path == "" {
		return nil, errors.New("db: no SQLite path")
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return nil, fmt.Errorf("db: create data directory: %w", err)
	}
	// WAL lets readers run beside the writer; _txlock=immediate takes the write
	// lock at BEGIN, so concurrent writers wait (busy_timeout) instead of failing.
	dsn := "file:" + path + "?_pragma=foreign_keys(1)&_pragma=journal_mode(WAL)" +
		"&_pragma=busy_timeout(10000)&_pragma=synchronous(NORMAL)&_txlock=immediate"
	sqldb, err := sql.Open(sqliteshim.ShimName, dsn)
	if err != nil {
		return nil, fmt.Errorf("db: open sqlite %s: %w", path, err)
	}
	sqldb.SetMaxOpenConns(4)
	sqldb.SetMaxIdleConns(4)
	sqldb.SetConnMaxIdleTime(0)
	return &DB{DB: bun.NewDB(sqldb, sqlitedialect.New()), Dialect: SQLite}, nil
}

func openPostgres(ctx context.Context, opts Options) (*DB, error) {
	rc, pooler, err := connector(ctx, opts.URL, opts.AppRole, opts.Pooler)
	if err != nil {
		return nil, err
	}
	d := &DB{Dialect: Postgres, Pooler: pooler}
	if opts.ReadURL != "" {
		// The standby's pooler is detected on its own: the primary may be
		// behind PgBouncer and the standby not, or the other way round.
		standby, _, err := connector(ctx, opts.ReadURL, opts.AppRole, PoolerAuto)
		if err != nil {
			// A standby that is away at start is no reason not to start.
			standby, _, err = connector(ctx, opts.ReadURL, opts.AppRole, pooler)
		}
		if err != nil {
			return nil, fmt.Errorf("db: read URL: %w", err)
		}
		wait := opts.ReplicaWait
		if wait <= 0 {
			wait = 250 * time.Millisecond
		}
		rc.replica = &replica{connector: standby, wait: wait, pause: 5 * time.Second}
		d.replica = rc.replica
	}
	sqldb := sql.OpenDB(rc)
	sqldb.SetMaxOpenConns(20)
	sqldb.SetMaxIdleConns(10)
	sqldb.SetConnMaxIdleTime(5 * time.Minute)
	d.DB = bun.NewDB(sqldb, pgdialect.New())
	return d, nil
}

// connector makes the driver connector for url: the application role in
// every transaction, and what a transaction pooler needs (see Pooler).
func connector(ctx context.Context, url, appRole string, pooler Pooler) (*roleConnector, Pooler, error) {
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		return nil, "", fmt.Errorf("db: parse database URL: %w", err)
	}
	if pooler == "" || pooler == PoolerAuto {
		detectCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
		pooler, err = detectPooler(detectCtx, cfg)
		cancel()
		if err != nil {
			return nil, "", err
		}
	}
	pooled := pooler == PoolerTransaction
	if pooled {
		// No named prepared statements: the next transaction may run on
		// another server connection. bun writes the values into the SQL
		// text, so the simple protocol costs nothing.
		cfg.DefaultQueryExecMode = pgx.QueryExecModeSimpleProtocol
	}
	if appRole == cfg.User {
		appRole = ""
	}
	var options []stdlib.OptionOpenDB
	if appRole != "" && !pooled {
		// A session of its own: the role also holds for statements outside
		// a transaction, without a transaction each.
		options = append(options, stdlib.OptionAfterConnect(func(ctx context.Context, conn *pgx.Conn) error {
			if _, err := conn.Exec(ctx, "SET ROLE "+pgx.Identifier{appRole}.Sanitize()); err != nil {
				return fmt.Errorf("db: switch to role %s (run migrations first, and grant it to the login role): %w", appRole, err)
			}
			return nil
		}))
	}
	rc := &roleConnector{inner: stdlib.GetConnector(*cfg, options...), pooled: pooled}
	if appRole != "" {
		rc.setRole = "SET LOCAL ROLE " + pgx.Identifier{appRole}.Sanitize()
	}
	return rc, pooler, nil
}

// Transact runs fn in a transaction, committing when it returns nil. On
// PostgreSQL a serialization failure or deadlock is retried a few times.
func (d *DB) Transact(ctx context.Context, fn func(ctx context.Context, tx bun.Tx) error) error {
	const attempts = 3
	var err error
	for i := 0; i < attempts; i++ {
		err = d.RunInTx(ctx, nil, fn)
		if !isRetryable(err) {
			return err
		}
	}
	return fmt.Errorf("db: transaction failed after %d attempts: %w", attempts, err)
}

// TransactAs is Transact in a transaction that works as role, a narrow role
// a migration made for one job (see AsRole).
func (d *DB) TransactAs(ctx context.Context, role string, fn func(ctx context.Context, tx bun.Tx) error) error {
	return d.Transact(ctx, func(ctx context.Context, tx bun.Tx) error {
		if err := AsRole(ctx, d.Dialect, tx, role); err != nil {
			return err
		}
		return fn(ctx, tx)
	})
}

// AsRole switches the rest of tx to role, a narrow role a migration made for
// one job, which may do that job and nothing else (PostgreSQL; SQLite has no
// roles: there it does nothing).
func AsRole(ctx context.Context, dialect Dialect, tx bun.Tx, role string) error {
	if dialect != Postgres {
		return nil
	}
	if _, err := tx.ExecContext(ctx, "SET LOCAL ROLE "+pgx.Identifier{role}.Sanitize()); err != nil {
		return fmt.Errorf("db: work as %s (run the migrations): %w", role, err)
	}
	return nil
}

func isRetryable(err error) bool {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code == "40001" || pgErr.Code == "40P01"
	}
	return false
}
