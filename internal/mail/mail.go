// Package mail sends Loket's e-mails through one Sender interface. Every mail
// is stored first: mail about a desk's family in desk_mail (desk data, bound
// to the desk like the other family tables), mail that belongs to no desk
// (accounts) in mail_outbox. On the embedded default nothing leaves the
// machine; in production the Relay delivers both over SMTP (go-mail).
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
	"github.com/loket-kinderopvang/loket/internal/platform/tenancy"
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

// NewID returns a fresh mail ID.
func NewID() ID { return ids.New[mailKind]() }

// Record is what an outbox keeps of one mail.
type Record struct {
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

// Stored is a mail that belongs to no desk (password reset, invitation,
// account mail), kept in the platform table mail_outbox.
type Stored struct {
	bun.BaseModel `bun:"table:mail_outbox"`
	Record
}

// DeskStored is a mail about a desk's family or request (confirmation with
// its status link, offer, reminder), kept in desk_mail: desk data, reached
// through the desk's tenant-bound transaction and under row-level security
// on PostgreSQL like the other family tables.
type DeskStored struct {
	bun.BaseModel `bun:"table:desk_mail"`
	tenancy.Owned
	Record
}

// DeskSender stores mail that belongs to the desk in ctx.
type DeskSender interface {
	SendDesk(ctx context.Context, m Message) error
}

// Outbox stores mails in the database instead of sending them. Mails can hold
// secrets (a password reset link, a status link), so only administrators may
// read them: platform mail the operator, a desk's mail that desk's admins.
type Outbox struct {
	db    *db.DB
	desks *tenancy.Store
	clock clock.Clock
}

// NewOutbox returns an outbox on d.
func NewOutbox(d *db.DB, c clock.Clock) *Outbox {
	return &Outbox{db: d, desks: tenancy.NewStore(d), clock: c}
}

func (o *Outbox) record(m Message) Record {
	return Record{ID: NewID(), CreatedAt: o.clock.Now(), Kind: m.Kind, To: m.To, Subject: m.Subject, Text: m.Text, HTML: m.HTML}
}

// Send implements Sender by storing m as platform mail: mail that belongs to
// no desk. Mail about a desk's family goes through SendDesk or SendTx.
func (o *Outbox) Send(ctx context.Context, m Message) error {
	if err := m.Validate(); err != nil {
		return err
	}
	row := Stored{Record: o.record(m)}
	if _, err := o.db.NewInsert().Model(&row).Exec(ctx); err != nil {
		return fmt.Errorf("mail: store in outbox: %w", err)
	}
	return nil
}

// SendDesk implements DeskSender: it stores m as mail of the desk in ctx, in
// a transaction bound to that desk.
func (o *Outbox) SendDesk(ctx context.Context, m Message) error {
	if err := m.Validate(); err != nil {
		return err
	}
	return o.desks.Tx(ctx, func(ctx context.Context, tx *tenancy.Tx) error {
		return o.SendTx(ctx, tx, []Message{m})
	})
}

// SendTx stores valid messages as mail of tx's desk, in tx, so the mails
// commit with the change they tell about. Check each message with Validate
// first.
func (o *Outbox) SendTx(ctx context.Context, tx *tenancy.Tx, ms []Message) error {
	if len(ms) == 0 {
		return nil
	}
	rows := make([]DeskStored, len(ms))
	for i, m := range ms {
		rows[i] = DeskStored{Record: o.record(m)}
	}
	if err := tx.InsertAll(ctx, &rows); err != nil {
		return fmt.Errorf("mail: store in the desk's outbox: %w", err)
	}
	return nil
}

// List returns the platform mail (no desk's), newest first; to, if not
// empty, keeps only the mails to that address (compared without case).
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

// DeskList returns the mail of the desk in ctx, newest first, read through
// its tenant-bound transaction; to as in List.
func (o *Outbox) DeskList(ctx context.Context, to string, limit int) ([]DeskStored, error) {
	var out []DeskStored
	err := o.desks.Tx(ctx, func(ctx context.Context, tx *tenancy.Tx) error {
		q := tx.Select(&out).Order("created_at DESC", "id DESC").Limit(int64(limit))
		if to != "" {
			q = q.Where("lower(to_address) = ?", strings.ToLower(to))
		}
		return q.Scan(ctx)
	})
	if err != nil {
		return nil, fmt.Errorf("mail: list the desk's outbox: %w", err)
	}
	return out, nil
}
