// Package mail sends Loket's e-mails through one Sender interface. On the
// embedded default the Outbox keeps every mail in the database table
// mail_outbox (the admin pages read it, nothing leaves the machine); in
// production SMTP delivers them through a relay (go-mail).
package mail

import (
	"context"
	"errors"
	"fmt"
	"net/mail"
	"strings"
	"time"

	"github.com/uptrace/bun"

	"github.com/loket-kinderopvang/loket/internal/platform/clock"
	"github.com/loket-kinderopvang/loket/internal/platform/db"
	"github.com/loket-kinderopvang/loket/internal/platform/ids"
)

// Message is one mail to one recipient.
type Message struct {
	To      string
	Subject string
	// Text is the plain-text body; every mail has one.
	Text string
	// HTML is an optional alternative body.
	HTML string
	// Kind says what the mail is for ("password_reset"), for the outbox view.
	Kind string
}

// Validate checks what every sender needs.
func (m Message) Validate() error {
	if _, err := mail.ParseAddress(m.To); err != nil {
		return fmt.Errorf("mail: recipient %q: %w", m.To, err)
	}
	if strings.TrimSpace(m.Subject) == "" {
		return errors.New("mail: empty subject")
	}
	if strings.ContainsAny(m.Subject, "\r\n") {
		return errors.New("mail: subject contains a line break")
	}
	if m.Text == "" {
		return errors.New("mail: empty body")
	}
	return nil
}

// Sender delivers a message. Implementations are safe for concurrent use.
type Sender interface {
	Send(ctx context.Context, m Message) error
}

type mailKind struct{}

// ID identifies a stored mail.
type ID = ids.ID[mailKind]

// Stored is a mail kept in the outbox.
type Stored struct {
	bun.BaseModel `bun:"table:mail_outbox"`

	ID        ID        `bun:"id,pk,type:uuid"`
	CreatedAt time.Time `bun:"created_at,notnull"`
	Kind      string    `bun:"kind,notnull"`
	To        string    `bun:"to_address,notnull"`
	Subject   string    `bun:"subject,notnull"`
	Text      string    `bun:"body_text,notnull"`
	HTML      string    `bun:"body_html,notnull"`
	// Set by the relay (SMTP configured); never on the embedded default.
	SentAt        *time.Time `bun:"sent_at"`
	Attempts      int        `bun:"attempts,notnull"`
	LastError     string     `bun:"last_error,notnull"`
	NextAttemptAt *time.Time `bun:"next_attempt_at"`
}

// Outbox stores mails in the database instead of sending them. Mails can hold
// secrets (a password reset link), so only administrators may read it.
type Outbox struct {
	db    *db.DB
	clock clock.Clock
}

// NewOutbox returns an outbox on d.
func NewOutbox(d *db.DB, c clock.Clock) *Outbox { return &Outbox{db: d, clock: c} }

// Send implements Sender by inserting the mail.
func (o *Outbox) Send(ctx context.Context, m Message) error {
	if err := m.Validate(); err != nil {
		return err
	}
	return o.SendTx(ctx, o.db.DB, []Message{m})
}

// SendTx stores valid messages through idb, a transaction of the caller's,
// so the mails commit with the change they tell about. Check each message
// with Validate first.
func (o *Outbox) SendTx(ctx context.Context, idb bun.IDB, ms []Message) error {
	if len(ms) == 0 {
		return nil
	}
	now := o.clock.Now()
	rows := make([]Stored, len(ms))
	for i, m := range ms {
		rows[i] = Stored{ID: ids.New[mailKind](), CreatedAt: now, Kind: m.Kind, To: m.To, Subject: m.Subject, Text: m.Text, HTML: m.HTML}
	}
	if err := db.InsertMany(ctx, idb, &rows); err != nil {
		return fmt.Errorf("mail: store in outbox: %w", err)
	}
	return nil
}

// List returns the newest mails first; to, if not empty, keeps only the mails
// to that address (compared without case).
func (o *Outbox) List(ctx context.Context, to string, limit int) ([]Stored, error) {
	var out []Stored
	q := o.db.NewSelect().Model(&out).Order("created_at DESC", "id DESC").Limit(int64(limit))
	if to != "" {
		q = q.Where("lower(to_address) = ?", strings.ToLower(to))
	}
	if err := q.Scan(ctx); err != nil {
		return nil, fmt.Errorf("mail: list outbox: %w", err)
	}
	return out, nil
}
