package db

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
)

// Pooler says what sits between Loket and PostgreSQL.
type Pooler string

// The connection poolers Loket knows how to work behind.
const (
	// PoolerAuto detects a pooler: when the server's port differs from the
	// port in the URL, something forwards the connection and Loket assumes
	// the worst (transaction pooling).
	PoolerAuto Pooler = "auto"
	// PoolerNone: a connection is a PostgreSQL session of its own.
	PoolerNone Pooler = "none"
	// PoolerSession: PgBouncer in session mode; the same as none for Loket.
	PoolerSession Pooler = "session"
	// PoolerTransaction: PgBouncer (or similar) in transaction mode. A server
	// connection is shared between clients from one transaction to the next,
	// so nothing may rest on session state: no SET ROLE per connection, no
	// named prepared statements, and every statement runs in a transaction
	// that sets the role itself.
	PoolerTransaction Pooler = "transaction"
)

// ParsePooler reads a pooler name; empty is auto.
func ParsePooler(s string) (Pooler, error) {
	switch p := Pooler(s); p {
	case "":
		return PoolerAuto, nil
	case PoolerAuto, PoolerNone, PoolerSession, PoolerTransaction:
		return p, nil
	}
	return "", fmt.Errorf("db: unknown pooler %q (auto, none, session or transaction)", s)
}

// detectPooler asks the server which port it listens on: a proxy in between
// (PgBouncer on 6432 in front of 5432) shows as a different port.
func detectPooler(ctx context.Context, cfg *pgx.ConnConfig) (Pooler, error) {
	c := cfg.Copy()
	c.DefaultQueryExecMode = pgx.QueryExecModeSimpleProtocol
	conn, err := pgx.ConnectConfig(ctx, c)
	if err != nil {
		return "", fmt.Errorf("db: detect connection pooler: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	var port *int32
	if err := conn.QueryRow(ctx, "SELECT inet_server_port()").Scan(&port); err != nil {
		return "", fmt.Errorf("db: detect connection pooler: %w", err)
	}
	if port != nil && uint16(*port) != cfg.Port {
		return PoolerTransaction, nil
	}
	return PoolerNone, nil
}

// roleConnector hands out connections on which every transaction switches to
// the application role with SET LOCAL ROLE, in the same round trip as BEGIN.
// Behind a transaction pooler, statements outside a transaction get one of
// their own too, so no statement of the application ever runs as the login
// role (which may own the schema and so bypass row-level security).
type roleConnector struct {
	inner   driver.Connector
	setRole string // "SET LOCAL ROLE …", or empty to keep the login role
	pooled  bool
	replica *replica // the hot standby for read-only work, or nil
}

func (c *roleConnector) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := c.inner.Connect(ctx)
	if err != nil {
		return nil, err
	}
	sc, ok := conn.(*stdlib.Conn)
	if !ok {
		_ = conn.Close()
		return nil, fmt.Errorf("db: unexpected driver connection %T", conn)
	}
	return &roleConn{Conn: sc, c: c}, nil
}

func (c *roleConnector) Driver() driver.Driver { return c.inner.Driver() }

type roleConn struct {
	*stdlib.Conn
	c    *roleConnector
	inTx bool
	// standby is this connection's companion on the hot standby, opened
	// when first needed; onStandby is set while a transaction runs there.
	standby, onStandby *roleConn
}

func (rc *roleConn) Close() error {
	if rc.standby != nil {
		_ = rc.standby.Close()
	}
	return rc.Conn.Close()
}

var _ interface {
	driver.ConnBeginTx
	driver.ExecerContext
	driver.QueryerContext
	driver.ConnPrepareContext
	driver.NamedValueChecker
	driver.SessionResetter
	driver.Pinger
} = (*roleConn)(nil)

func (rc *roleConn) Begin() (driver.Tx, error) {
	return rc.BeginTx(context.Background(), driver.TxOptions{})
}

func (rc *roleConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	if s := rc.standbyFor(ctx); s != nil {
		tx, err := s.BeginTx(ctx, driver.TxOptions{Isolation: opts.Isolation, ReadOnly: true})
		if err == nil {
			rc.onStandby = s
			return &standbyTx{Tx: tx, rc: rc}, nil
		}
		rc.standbyFailed()
	}
	tx, err := rc.begin(ctx, opts)
	if err != nil {
		return nil, err
	}
	rc.inTx = true
	return &roleTx{ctx: ctx, tx: tx, rc: rc}, nil
}

func (rc *roleConn) begin(ctx context.Context, opts driver.TxOptions) (pgx.Tx, error) {
	if rc.Conn.Conn().IsClosed() {
		return nil, driver.ErrBadConn
	}
	begin := "BEGIN"
	switch sql.IsolationLevel(opts.Isolation) {
	case sql.LevelDefault:
	case sql.LevelReadUncommitted:
		begin += " ISOLATION LEVEL READ UNCOMMITTED"
	case sql.LevelReadCommitted:
		begin += " ISOLATION LEVEL READ COMMITTED"
	case sql.LevelRepeatableRead, sql.LevelSnapshot:
		begin += " ISOLATION LEVEL REPEATABLE READ"
	case sql.LevelSerializable:
		begin += " ISOLATION LEVEL SERIALIZABLE"
	default:
		return nil, fmt.Errorf("db: unsupported isolation level %v", opts.Isolation)
	}
	if opts.ReadOnly {
		begin += " READ ONLY"
	}
	// Without arguments pgx sends this with the simple protocol: both
	// statements in one round trip, and the role ends with the transaction.
	if rc.c.setRole != "" {
		begin += "; " + rc.c.setRole
	}
	return rc.Conn.Conn().BeginTx(ctx, pgx.TxOptions{BeginQuery: begin})
}

type roleTx struct {
	ctx context.Context
	tx  pgx.Tx
	rc  *roleConn
}

func (t *roleTx) Commit() error {
	t.rc.inTx = false
	return t.tx.Commit(t.ctx)
}

func (t *roleTx) Rollback() error {
	t.rc.inTx = false
	return t.tx.Rollback(t.ctx)
}

// pooledArgs replaces a cached-statement mode (InsertMany asks for one) with
// a mode that prepares an unnamed statement: a named one would stay on a
// server connection that the pooler hands to someone else.
func (rc *roleConn) pooledArgs(args []driver.NamedValue) []driver.NamedValue {
	if !rc.c.pooled || len(args) == 0 {
		return args
	}
	if m, ok := args[0].Value.(pgx.QueryExecMode); ok && (m == pgx.QueryExecModeCacheStatement || m == pgx.QueryExecModeCacheDescribe) {
		out := append([]driver.NamedValue(nil), args...)
		out[0].Value = pgx.QueryExecModeDescribeExec
		return out
	}
	return args
}

func (rc *roleConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	if rc.onStandby != nil {
		return rc.onStandby.ExecContext(ctx, query, args)
	}
	args = rc.pooledArgs(args)
	if !rc.c.pooled || rc.inTx {
		return rc.Conn.ExecContext(ctx, query, args)
	}
	tx, err := rc.begin(ctx, driver.TxOptions{})
	if err != nil {
		return nil, err
	}
	res, err := rc.Conn.ExecContext(ctx, query, args)
	if err != nil {
		_ = tx.Rollback(context.WithoutCancel(ctx))
		return nil, err
	}
	if err := tx.Commit(ctx); err != nil {
		return nil, err
	}
	return res, nil
}

func (rc *roleConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	if rc.onStandby != nil {
		return rc.onStandby.QueryContext(ctx, query, args)
	}
	if !rc.inTx && isQueryOnly(query) {
		if s := rc.standbyFor(ctx); s != nil {
			rows, err := s.QueryContext(ctx, query, args)
			if err == nil || !connectionLost(err) {
				return rows, err
			}
			rc.standbyFailed()
		}
	}
	args = rc.pooledArgs(args)
	if !rc.c.pooled || rc.inTx {
		return rc.Conn.QueryContext(ctx, query, args)
	}
	tx, err := rc.begin(ctx, driver.TxOptions{})
	if err != nil {
		return nil, err
	}
	rows, err := rc.Conn.QueryContext(ctx, query, args)
	if err != nil {
		_ = tx.Rollback(context.WithoutCancel(ctx))
		return nil, err
	}
	// database/sql keeps the connection until the rows are closed: the
	// transaction ends there.
	return &txRows{Rows: rows.(*stdlib.Rows), tx: tx, ctx: ctx}, nil
}

func (rc *roleConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	if rc.c.pooled {
		// A named prepared statement outlives the pooler's transaction.
		return nil, errors.New("db: prepared statements are not available behind a transaction pooler")
	}
	return rc.Conn.PrepareContext(ctx, query)
}

func (rc *roleConn) Prepare(query string) (driver.Stmt, error) {
	return rc.PrepareContext(context.Background(), query)
}

// txRows ends the statement's own transaction when the rows are closed. It
// keeps stdlib.Rows's column type methods, which bun and database/sql use.
type txRows struct {
	*stdlib.Rows
	tx   pgx.Tx
	ctx  context.Context
	done bool
}

func (r *txRows) Close() error {
	if r.done {
		return nil
	}
	r.done = true
	closeErr := r.Rows.Close()
	// Rows of a failed query leave the transaction aborted: COMMIT then
	// answers ROLLBACK, which pgx reports as ErrTxCommitRollback.
	if err := r.tx.Commit(context.WithoutCancel(r.ctx)); err != nil && !errors.Is(err, pgx.ErrTxCommitRollback) && closeErr == nil {
		closeErr = err
	}
	return closeErr
}
