// Package notify writes Loket's mails about requests: the notices of the
// request service (confirmation with the status link, offer, placement,
// withdrawal) and the reminders the scheduler sends before deadlines. The
// texts are Go text templates embedded per language (templates/nl.tmpl,
// fr.tmpl, en.tmpl), one {{define "<kind>.subject"}} and one
// {{define "<kind>.text"}} per kind; mails go out through mail.Sender.
package notify

import (
	"bytes"
	"context"
	"embed"
	"errors"
	"fmt"
	"strings"
	"text/template"
	"time"
	_ "time/tzdata" // deadlines are shown in Belgian time on any host

	"github.com/loket-kinderopvang/loket/internal/mail"
	"github.com/loket-kinderopvang/loket/internal/platform/tenancy"
	"github.com/loket-kinderopvang/loket/internal/requests"
)

//go:embed templates/*.tmpl
var files embed.FS

// Kinds are the mails every language has.
var Kinds = []string{"submitted", "offer_made", "placed", "withdrawn", "offer_lapsed", "unanswered", "offer_reminder", "answer_reminder", "status_link",
	"closure_family", "closure_provider", "answer_request"}

// Languages are the languages of the mails; others fall back to Dutch.
var Languages = []string{"nl", "fr", "en"}

// Data is what a template sees.
type Data struct {
	DeskName       string
	ChildFirstName string
	LocationName   string
	StatusURL      string
	// InboxURL is the provider inbox (answer reminders).
	InboxURL string
	// Deadline is already formatted in the mail's language ("" = none).
	Deadline string
	// Reason is why a location closes (crisis mails).
	Reason string
	// AnswerURL is the signed answer page of a provider that answers by
	// e-mail; ?keuze= preselects an answer.
	AnswerURL string
}

// Mailer renders and sends the mails; it implements requests.Notifier.
type Mailer struct {
	send      mail.Sender
	publicURL string
	tmpl      map[string]*template.Template
	zone      *time.Location
}

// New returns a mailer sending through s; publicURL is the platform's address
// (for the provider inbox link).
func New(s mail.Sender, publicURL string) *Mailer {
	m := &Mailer{send: s, publicURL: strings.TrimRight(publicURL, "/"), tmpl: map[string]*template.Template{}}
	for _, lang := range Languages {
		// The templates are part of the binary: a broken one is a build error
		// caught by the tests, so panicking here is fine.
		m.tmpl[lang] = template.Must(template.New(lang).Option("missingkey=error").ParseFS(files, "templates/"+lang+".tmpl"))
	}
	var err error
	if m.zone, err = time.LoadLocation("Europe/Brussels"); err != nil {
		m.zone = time.UTC
	}
	return m
}

// InboxURL is where providers answer requests.
func (m *Mailer) InboxURL() string { return m.publicURL + "/aanbieder" }

func language(lang string) string {
	for _, l := range Languages {
		if l == lang {
			return l
		}
	}
	return "nl"
}

var months = map[string][]string{
	"nl": {"januari", "februari", "maart", "april", "mei", "juni", "juli", "augustus", "september", "oktober", "november", "december"},
	"fr": {"janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre", "novembre", "décembre"},
	"en": {"January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"},
}

// FormatDeadline writes t in Belgian time in lang: "3 mei 2027 om 09:00".
func (m *Mailer) FormatDeadline(t time.Time, lang string) string {
	lang = language(lang)
	t = t.In(m.zone)
	at := map[string]string{"nl": "om", "fr": "à", "en": "at"}[lang]
	return fmt.Sprintf("%d %s %d %s %s", t.Day(), months[lang][t.Month()-1], t.Year(), at, t.Format("15:04"))
}

// Render returns the subject and text of kind in lang.
func (m *Mailer) Render(kind, lang string, d Data) (subject, text string, err error) {
	t := m.tmpl[language(lang)]
	var s, b bytes.Buffer
	if err := t.ExecuteTemplate(&s, kind+".subject", d); err != nil {
		return "", "", fmt.Errorf("notify: subject of %s: %w", kind, err)
	}
	if err := t.ExecuteTemplate(&b, kind+".text", d); err != nil {
		return "", "", fmt.Errorf("notify: text of %s: %w", kind, err)
	}
	return strings.TrimSpace(s.String()), strings.TrimLeft(b.String(), "\n"), nil
}

// Send renders kind in lang and mails it to `to`.
func (m *Mailer) Send(ctx context.Context, kind, lang, to string, d Data) error {
	subject, text, err := m.Render(kind, lang, d)
	if err != nil {
		return err
	}
	if err := m.deliver(ctx, mail.Message{To: to, Subject: subject, Text: text, Kind: "request." + kind}); err != nil {
		return fmt.Errorf("notify: send %s: %w", kind, err)
	}
	return nil
}

// Notify implements requests.Notifier.
func (m *Mailer) Notify(ctx context.Context, n requests.Notice) error {
	msg, err := m.message(n)
	if err != nil {
		return err
	}
	if err := m.deliver(ctx, msg); err != nil {
		return fmt.Errorf("notify: send %s: %w", n.Kind, err)
	}
	return nil
}

// deliver sends msg, a mail about a request of the desk in ctx: an outbox
// stores it as that desk's mail (desk_mail), never as platform mail.
func (m *Mailer) deliver(ctx context.Context, msg mail.Message) error {
	if ds, ok := m.send.(mail.DeskSender); ok {
		return ds.SendDesk(ctx, msg)
	}
	return m.send.Send(ctx, msg)
}

func (m *Mailer) message(n requests.Notice) (mail.Message, error) {
	d := Data{DeskName: n.DeskName, ChildFirstName: n.ChildFirstName, LocationName: n.LocationName, StatusURL: n.StatusURL,
		AnswerURL: n.AnswerURL, Reason: n.Reason}
	if n.Deadline != nil {
		d.Deadline = m.FormatDeadline(*n.Deadline, n.Language)
	}
	subject, text, err := m.Render(n.Kind, n.Language, d)
	if err != nil {
		return mail.Message{}, err
	}
	return mail.Message{To: n.To, Subject: subject, Text: text, Kind: "request." + n.Kind}, nil
}

// txSender is a sender that can write in the caller's transaction of a desk:
// the outbox.
type txSender interface {
	SendTx(ctx context.Context, tx *tenancy.Tx, ms []mail.Message) error
}

// Transactional implements requests.OutboxNotifier: true when mail goes to
// the database outbox.
func (m *Mailer) Transactional() bool {
	_, ok := m.send.(txSender)
	return ok
}

// NotifyTx implements requests.OutboxNotifier: it renders ns and stores the
// mails as tx's desk's mail, in tx, the caller's transaction.
func (m *Mailer) NotifyTx(ctx context.Context, tx *tenancy.Tx, ns []requests.Notice) (failed []error, err error) {
	out, ok := m.send.(txSender)
	if !ok {
		return nil, errors.New("notify: the mail sender cannot write in a transaction")
	}
	msgs := make([]mail.Message, 0, len(ns))
	for _, n := range ns {
		msg, err := m.message(n)
		if err == nil {
			err = msg.Validate()
		}
		if err != nil {
			failed = append(failed, fmt.Errorf("notify: %s: %w", n.Kind, err))
			continue
		}
		msgs = append(msgs, msg)
	}
	return failed, out.SendTx(ctx, tx, msgs)
}

var _ requests.OutboxNotifier = (*Mailer)(nil)
