package mail

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/uptrace/bun"

	"github.com/loket-kinderopvang/loket/internal/platform/clock"
	"github.com/loket-kinderopvang/loket/internal/platform/db"
	"github.com/loket-kinderopvang/loket/internal/platform/tenancy"
)

// Relay sends the outbox over SMTP. Every mail is stored first (Outbox.Send,
// Outbox.SendDesk, or Outbox.SendTx in the transaction of the change it tells
// about); the relay claims due mails for a lease, sends them and marks them
// sent. A relay that dies after sending and before marking sends that mail
// once more when the lease ends: at least once, never lost. Replicas may all
// run a relay; on PostgreSQL each claims different mails (SKIP LOCKED).
//
// The relay is the one reader of desk mail that crosses desks on purpose: it
// must send every desk's mail. On PostgreSQL it does so under the narrow role
// RelayRole (SET LOCAL ROLE in each of its transactions), which may read the
// mail tables and set their four delivery columns, nothing else. Claiming per
// desk instead would cost a transaction per desk and round (hundreds of
// desks, every few seconds, on every replica) and lose the single oldest-
// first SKIP LOCKED claim. On SQLite there are no roles: the relay's queries
// are the boundary (TestRelaySendsEachStoredMailOnce covers both).
type Relay struct {
	db    *db.DB
	send  Sender
	clock clock.Clock
	log   *slog.Logger
	// Batch is how many mails of each outbox one round claims; Lease how
	// long a claim holds; MaxAttempts after how many failures a mail is left
	// (its last error stays visible in the outbox).
	Batch       int
	Lease       time.Duration
	MaxAttempts int
}

// RelayRole is the PostgreSQL role the relay works as (made by the
// desk_mail migration, granted to the application role by db.MigrateUp).
const RelayRole = "loket_mail_relay"

// NewRelay returns a relay sending the outbox of d through send.
func NewRelay(d *db.DB, send Sender, c clock.Clock, log *slog.Logger) *Relay {
	return &Relay{db: d, send: send, clock: c, log: log, Batch: 20, Lease: 5 * time.Minute, MaxAttempts: 10}
}

// Run delivers every interval until ctx ends.
func (r *Relay) Run(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if _, err := r.Deliver(ctx); err != nil && ctx.Err() == nil {
			r.log.Warn("mail relay", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// claimed is a mail the relay holds: desk is zero for platform mail.
type claimed struct {
	desk tenancy.ID
	Record
}

// Deliver sends the mails that are due, one round, and says how many went out.
func (r *Relay) Deliver(ctx context.Context) (int, error) {
	mails, err := r.claim(ctx)
	if err != nil {
		return 0, err
	}
	sent := 0
	for _, m := range mails {
		sendErr := r.send.Send(ctx, Message{To: m.To, Subject: m.Subject, Text: m.Text, HTML: m.HTML, Kind: m.Kind})
		if sendErr == nil {
			sent++
		} else {
			r.log.Warn("mail not sent; will retry", "kind", m.Kind, "attempt", m.Attempts, "err", sendErr)
		}
		now := r.clock.Now()
		err := r.asRelay(ctx, func(ctx context.Context, tx bun.Tx) error {
			q := tx.NewUpdate().Model((*Stored)(nil)).Where("id = ?", m.ID)
			if !m.desk.IsZero() {
				q = tx.NewUpdate().Model((*DeskStored)(nil)).Where("tenant_id = ? AND id = ?", m.desk, m.ID)
			}
			if sendErr == nil {
				q = q.Set("sent_at = ?", now).Set("last_error = ''").Set("next_attempt_at = NULL")
			} else {
				// 1, 2, 4 … minutes, at most an hour.
				wait := min(time.Minute<<min(m.Attempts-1, 6), time.Hour)
				q = q.Set("last_error = ?", truncate(sendErr.Error(), 500)).Set("next_attempt_at = ?", now.Add(wait))
			}
			_, err := q.Exec(ctx)
			return err
		})
		if err != nil {
			return sent, fmt.Errorf("mail: mark %s: %w", m.ID, err)
		}
	}
	return sent, nil
}

// asRelay runs fn in a transaction of the relay's role (PostgreSQL).
func (r *Relay) asRelay(ctx context.Context, fn func(ctx context.Context, tx bun.Tx) error) error {
	return r.db.TransactAs(ctx, RelayRole, fn)
}

// claim takes up to Batch due mails of each outbox for Lease, oldest first.
func (r *Relay) claim(ctx context.Context) ([]claimed, error) {
	var out []claimed
	now := r.clock.Now()
	err := r.asRelay(ctx, func(ctx context.Context, tx bun.Tx) error {
		out = out[:0]
		due := func(q *bun.SelectQuery) *bun.SelectQuery {
			q = q.Where("sent_at IS NULL AND attempts < ?", r.MaxAttempts).
				Where("(next_attempt_at IS NULL OR next_attempt_at <= ?)", now).
				Order("created_at", "id").Limit(int64(r.Batch))
			if r.db.Dialect == db.Postgres {
				q = q.For("UPDATE SKIP LOCKED")
			}
			return q
		}
		lease := func(q *bun.UpdateQuery) *bun.UpdateQuery {
			return q.Set("attempts = attempts + 1").Set("next_attempt_at = ?", now.Add(r.Lease))
		}
		var platform []Stored
		if err := due(tx.NewSelect().Model(&platform)).Scan(ctx); err != nil {
			return err
		}
		if len(platform) > 0 {
			ids := make([]ID, len(platform))
			for i, m := range platform {
				ids[i] = m.ID
				out = append(out, claimed{Record: m.Record})
			}
			if _, err := lease(tx.NewUpdate().Model((*Stored)(nil))).Where("id IN (?)", bun.In(ids)).Exec(ctx); err != nil {
				return err
			}
		}
		var desk []DeskStored
		if err := due(tx.NewSelect().Model(&desk)).Scan(ctx); err != nil {
			return err
		}
		if len(desk) > 0 {
			keys := make([][]any, len(desk))
			for i, m := range desk {
				keys[i] = []any{m.TenantID, m.ID}
				out = append(out, claimed{desk: m.TenantID, Record: m.Record})
			}
			// The key (tenant_id, id) finds each row by the primary key.
			if _, err := lease(tx.NewUpdate().Model((*DeskStored)(nil))).Where("(tenant_id, id) IN (?)", bun.In(keys)).Exec(ctx); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("mail: claim the outbox: %w", err)
	}
	for i := range out {
		out[i].Attempts++
	}
	return out, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}
