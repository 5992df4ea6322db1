package mail

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect"

	"github.com/loket-kinderopvang/loket/internal/platform/clock"
	"github.com/loket-kinderopvang/loket/internal/platform/db"
)

// Relay sends the outbox over SMTP. Every mail is stored first (Outbox.Send,
// or Outbox.SendTx in the transaction of the change it tells about); the
// relay claims due mails for a lease, sends them and marks them sent. A relay
// that dies after sending and before marking sends that mail once more when
// the lease ends: at least once, never lost. Replicas may all run a relay;
// on PostgreSQL each claims different mails (SKIP LOCKED).
type Relay struct {
	db    *db.DB
	send  Sender
	clock clock.Clock
	log   *slog.Logger
	// Batch is how many mails one round claims; Lease how long a claim
	// holds; MaxAttempts after how many failures a mail is left (its last
	// error stays visible in the outbox).
	Batch       int
	Lease       time.Duration
	MaxAttempts int
}

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

// Deliver sends the mails that are due, one round, and says how many went out.
func (r *Relay) Deliver(ctx context.Context) (int, error) {
	claimed, err := r.claim(ctx)
	if err != nil {
		return 0, err
	}
	sent := 0
	for _, m := range claimed {
		err := r.send.Send(ctx, Message{To: m.To, Subject: m.Subject, Text: m.Text, HTML: m.HTML, Kind: m.Kind})
		now := r.clock.Now()
		q := r.db.NewUpdate().Model((*Stored)(nil)).Where("id = ?", m.ID)
		if err == nil {
			q = q.Set("sent_at = ?", now).Set("last_error = ''").Set("next_attempt_at = NULL")
			sent++
		} else {
			// 1, 2, 4 … minutes, at most an hour.
			wait := min(time.Minute<<min(m.Attempts-1, 6), time.Hour)
			q = q.Set("last_error = ?", truncate(err.Error(), 500)).Set("next_attempt_at = ?", now.Add(wait))
			r.log.Warn("mail not sent; will retry", "kind", m.Kind, "attempt", m.Attempts, "err", err)
		}
		if _, err := q.Exec(ctx); err != nil {
			return sent, fmt.Errorf("mail: mark %s: %w", m.ID, err)
		}
	}
	return sent, nil
}

// claim takes up to Batch due mails for Lease, oldest first.
func (r *Relay) claim(ctx context.Context) ([]Stored, error) {
	var claimed []Stored
	now := r.clock.Now()
	err := r.db.Transact(ctx, func(ctx context.Context, tx bun.Tx) error {
		claimed = claimed[:0]
		q := tx.NewSelect().Model(&claimed).
			Where("sent_at IS NULL AND attempts < ?", r.MaxAttempts).
			Where("(next_attempt_at IS NULL OR next_attempt_at <= ?)", now).
			Order("created_at", "id").Limit(int64(r.Batch))
		if tx.Dialect().Name() == dialect.PG {
			q = q.For("UPDATE SKIP LOCKED")
		}
		if err := q.Scan(ctx); err != nil || len(claimed) == 0 {
			return err
		}
		ids := make([]ID, len(claimed))
		for i := range claimed {
			ids[i] = claimed[i].ID
			claimed[i].Attempts++
		}
		_, err := tx.NewUpdate().Model((*Stored)(nil)).Set("attempts = attempts + 1").
			Set("next_attempt_at = ?", now.Add(r.Lease)).Where("id IN (?)", bun.In(ids)).Exec(ctx)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("mail: claim the outbox: %w", err)
	}
	return claimed, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}
