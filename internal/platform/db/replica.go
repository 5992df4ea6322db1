package db

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// Read-only work can go to a hot standby (Options.ReadURL). A request marks
// its context with PreferReplica; beneath it, every transaction and every
// plain SELECT outside a transaction runs on the standby, as long as the
// standby answers and has replayed the primary's WAL up to the position in
// the context (WithMinLSN: read-your-writes). Otherwise it runs on the
// primary, so a standby that lags or goes away costs a little time, never an
// answer. Writes made while serving such a request must say OnPrimary.

type routeKey int

const (
	preferReplicaKey routeKey = iota
	onPrimaryKey
	minLSNKey
)

// PreferReplica marks ctx as read-only work that the standby may serve.
func PreferReplica(ctx context.Context) context.Context {
	return context.WithValue(ctx, preferReplicaKey, true)
}

// OnPrimary sends the work of ctx to the primary, also under PreferReplica:
// for a write while serving a read-only page (an audit entry).
func OnPrimary(ctx context.Context) context.Context {
	return context.WithValue(ctx, onPrimaryKey, true)
}

// WithMinLSN asks that reads of ctx see at least the WAL position lsn (as
// returned by CurrentLSN after the person's last write).
func WithMinLSN(ctx context.Context, lsn string) context.Context {
	if !ValidLSN(lsn) {
		return ctx
	}
	return context.WithValue(ctx, minLSNKey, lsn)
}

var lsnPattern = regexp.MustCompile(`^[0-9A-F]{1,8}/[0-9A-F]{1,8}$`)

// ValidLSN reports whether s is a PostgreSQL WAL position (0/16B3748).
func ValidLSN(s string) bool { return lsnPattern.MatchString(s) }

func wantsReplica(ctx context.Context) bool {
	return ctx.Value(preferReplicaKey) != nil && ctx.Value(onPrimaryKey) == nil
}

// CurrentLSN is the primary's WAL position now: after a commit, a standby
// that has replayed this far shows the commit. Empty on SQLite.
func (d *DB) CurrentLSN(ctx context.Context) (string, error) {
	if d.Dialect != Postgres {
		return "", nil
	}
	var lsn string
	if err := d.QueryRowContext(OnPrimary(ctx), "SELECT pg_current_wal_lsn()::text").Scan(&lsn); err != nil {
		return "", fmt.Errorf("db: current WAL position: %w", err)
	}
	return lsn, nil
}

// ReplicaStats counts where read-only work went.
type ReplicaStats struct {
	// OnReplica: transactions and statements the standby ran.
	OnReplica uint64
	// Lagging: sent to the primary because the standby had not replayed the
	// person's last write in time.
	Lagging uint64
	// Unavailable: sent to the primary because the standby did not answer.
	Unavailable uint64
}

// ReplicaStats reports where read-only work went (zero without a standby).
func (d *DB) ReplicaStats() ReplicaStats {
	if d.replica == nil {
		return ReplicaStats{}
	}
	return ReplicaStats{d.replica.onReplica.Load(), d.replica.lagging.Load(), d.replica.unavailable.Load()}
}

// HasReplica reports whether a standby is configured.
func (d *DB) HasReplica() bool { return d.replica != nil }

// replica is the standby behind a primary's connections.
type replica struct {
	connector *roleConnector
	// wait is how long a read waits for the standby to replay the person's
	// last write before it goes to the primary.
	wait time.Duration
	// pause is how long the standby is left alone after it failed.
	pause     time.Duration
	downUntil atomic.Int64

	onReplica, lagging, unavailable atomic.Uint64
}

func (r *replica) down() bool { return time.Now().UnixNano() < r.downUntil.Load() }

func (r *replica) failed() {
	r.unavailable.Add(1)
	r.downUntil.Store(time.Now().Add(r.pause).UnixNano())
}

// standbyFor returns this connection's standby connection when it may serve
// ctx, or nil: the work goes to the primary.
func (rc *roleConn) standbyFor(ctx context.Context) *roleConn {
	r := rc.c.replica
	if r == nil || !wantsReplica(ctx) {
		return nil
	}
	if r.down() {
		r.unavailable.Add(1)
		return nil
	}
	if rc.standby == nil {
		conn, err := r.connector.Connect(ctx)
		if err != nil {
			r.failed()
			return nil
		}
		rc.standby = conn.(*roleConn)
	}
	if lsn, ok := ctx.Value(minLSNKey).(string); ok {
		caughtUp, err := rc.standby.replayed(ctx, lsn, r.wait)
		if err != nil {
			rc.standbyFailed()
			return nil
		}
		if !caughtUp {
			r.lagging.Add(1)
			return nil
		}
	}
	r.onReplica.Add(1)
	return rc.standby
}

// standbyFailed drops the standby connection and leaves the standby alone
// for a while.
func (rc *roleConn) standbyFailed() {
	rc.c.replica.failed()
	if rc.standby != nil {
		_ = rc.standby.Close()
		rc.standby = nil
	}
}

// replayed waits up to wait for the standby to replay the WAL up to lsn.
// On a server that is no standby, pg_last_wal_replay_lsn() is NULL: true.
func (rc *roleConn) replayed(ctx context.Context, lsn string, wait time.Duration) (bool, error) {
	deadline := time.Now().Add(wait)
	for {
		var ok bool
		err := rc.Conn.Conn().QueryRow(ctx, "SELECT coalesce(pg_last_wal_replay_lsn() >= '"+lsn+"'::pg_lsn, true)",
			pgx.QueryExecModeSimpleProtocol).Scan(&ok)
		if err != nil || ok {
			return ok, err
		}
		if time.Now().After(deadline) {
			return false, nil
		}
		select {
		case <-ctx.Done():
			return false, ctx.Err()
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// isQueryOnly reports whether a statement outside a transaction may run on
// the standby: a plain SELECT (bun's reads), never one that locks rows.
func isQueryOnly(query string) bool {
	q := strings.TrimSpace(query)
	if len(q) < 7 || !strings.EqualFold(q[:7], "SELECT ") {
		return false
	}
	u := strings.ToUpper(q)
	return !strings.Contains(u, " FOR UPDATE") && !strings.Contains(u, " FOR SHARE") &&
		!strings.Contains(u, " FOR NO KEY UPDATE") && !strings.Contains(u, "NEXTVAL(")
}

// connectionLost reports whether err says the standby is unreachable rather
// than that the statement was wrong.
func connectionLost(err error) bool {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		// Class 57: operator intervention (shutdown, recovery conflict);
		// class 08: connection exception; 3D000: the database is not on
		// the standby yet.
		return strings.HasPrefix(pgErr.Code, "57") || strings.HasPrefix(pgErr.Code, "08") || pgErr.Code == "3D000"
	}
	return !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded)
}

// standbyTx is a read-only transaction on the standby.
type standbyTx struct {
	driver.Tx
	rc *roleConn
}

func (t *standbyTx) Commit() error {
	t.rc.onStandby = nil
	return t.Tx.Commit()
}

func (t *standbyTx) Rollback() error {
	t.rc.onStandby = nil
	return t.Tx.Rollback()
}
