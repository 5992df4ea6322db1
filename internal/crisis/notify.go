package crisis

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/loket-kinderopvang/loket/internal/notify"
	"github.com/loket-kinderopvang/loket/internal/platform/tenancy"
	"github.com/loket-kinderopvang/loket/internal/requests"
	"github.com/loket-kinderopvang/loket/internal/tenant"
)

// Notifier tells people about a closure: the families of a desk (in their
// language; a printable letter for those without e-mail, see Letters) and
// the providers nearby (a request for emergency places).
type Notifier interface {
	Declared(ctx context.Context, desk tenant.Tenant, c *Closure, fams []Family)
	AskProviders(ctx context.Context, desk tenant.Tenant, c *Closure, emails []string)
}

// Mailer renders and sends the crisis mails (notify.Mailer).
type Mailer interface {
	Render(kind, lang string, d notify.Data) (subject, text string, err error)
	Send(ctx context.Context, kind, lang, to string, d notify.Data) error
	InboxURL() string
}

// MailNotifier sends the crisis mails through the desk's outbox.
type MailNotifier struct {
	Mail     Mailer
	Tenants  *tenancy.Store
	Requests *requests.Service
	Log      *slog.Logger
}

// Letter is one family's letter (or mail) about a closure.
type Letter struct {
	RequestID      requests.RequestID
	To, Language   string
	Subject, Text  string
	ChildFirstName string
	ParentName     string
	NeedsPaper     bool // the family has no e-mail address
	data           notify.Data
}

type contactRow struct {
	ID        uuid.UUID `bun:"id"`
	Email     string    `bun:"email"`
	Language  string    `bun:"language"`
	ChildName string    `bun:"first_name"`
	Parent    string    `bun:"display_name"`
}

// letters renders every affected family's letter of the desk in ctx.
func (n *MailNotifier) letters(ctx context.Context, desk tenant.Tenant, c *Closure, only []requests.RequestID) ([]Letter, error) {
	var rows []contactRow
	err := n.Tenants.Tx(ctx, func(ctx context.Context, tx *tenancy.Tx) error {
		q := tx.Select((*Family)(nil)).ColumnExpr("r.id, f.email, f.language, ch.first_name, f.display_name").
			Join("JOIN requests AS r ON r.tenant_id = family.tenant_id AND r.id = family.request_id").
			Join("JOIN children AS ch ON ch.tenant_id = r.tenant_id AND ch.id = r.child_id").
			Join("JOIN families AS f ON f.tenant_id = ch.tenant_id AND f.id = ch.family_id").
			Where("family.closure_id = ?", c.ID).OrderExpr("f.display_name, ch.first_name")
		if len(only) > 0 {
			q = q.Where("family.request_id IN (?)", bunIn(only))
		}
		return q.Scan(ctx, &rows)
	})
	if err != nil {
		return nil, fmt.Errorf("crisis: letters: %w", err)
	}
	out := make([]Letter, 0, len(rows))
	for _, r := range rows {
		req, err := n.Requests.Get(ctx, requests.RequestID{UUID: r.ID})
		if err != nil {
			return nil, err
		}
		d := notify.Data{DeskName: desk.DisplayName(r.Language), ChildFirstName: r.ChildName, LocationName: c.LocationName,
			StatusURL: n.Requests.StatusURL(desk.Slug, req), Reason: reasonIfPublic(c)}
		subject, text, err := n.Mail.Render("closure_family", r.Language, d)
		if err != nil {
			return nil, err
		}
		out = append(out, Letter{RequestID: req.ID, To: r.Email, Language: r.Language, Subject: subject, Text: text,
			ChildFirstName: r.ChildName, ParentName: r.Parent, NeedsPaper: r.Email == "", data: d})
	}
	return out, nil
}

// reasonIfPublic: the reason is told to families only when the closure is public.
func reasonIfPublic(c *Closure) string {
	if c.Public {
		return c.Reason
	}
	return ""
}

// Declared mails every affected family of the desk with an e-mail address;
// the others get a letter the desk prints (Service.Letters).
func (n *MailNotifier) Declared(ctx context.Context, desk tenant.Tenant, c *Closure, fams []Family) {
	if len(fams) == 0 {
		return
	}
	ids := make([]requests.RequestID, len(fams))
	for i, f := range fams {
		ids[i] = f.RequestID
	}
	ls, err := n.letters(ctx, desk, c, ids)
	if err != nil {
		n.Log.Error("crisis: family mails", "closure", c.ID, "desk", desk.Slug, "err", err)
		return
	}
	for _, l := range ls {
		if l.NeedsPaper {
			continue
		}
		if err := n.Mail.Send(ctx, "closure_family", l.Language, l.To, l.data); err != nil {
			n.Log.Error("crisis: family mail", "closure", c.ID, "desk", desk.Slug, "err", err)
		}
	}
}

// AskProviders asks the providers near the closed location for emergency
// places, in Dutch (the language of the providers' pages).
func (n *MailNotifier) AskProviders(ctx context.Context, desk tenant.Tenant, c *Closure, emails []string) {
	d := notify.Data{DeskName: desk.DisplayName("nl"), LocationName: c.LocationName, InboxURL: n.Mail.InboxURL()}
	for _, to := range emails {
		if err := n.Mail.Send(ctx, "closure_provider", "nl", to, d); err != nil {
			n.Log.Error("crisis: provider mail", "closure", c.ID, "err", err)
		}
	}
}

func bunIn(ids []requests.RequestID) any { return bun.In(ids) }

// Letters renders the letters of the desk in ctx for its affected families
// without an e-mail address, to print and post.
func (s *Service) Letters(ctx context.Context, desk tenant.Tenant, id ID) ([]Letter, error) {
	n, ok := s.o.Notify.(*MailNotifier)
	if !ok {
		return nil, nil
	}
	c, err := s.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	all, err := n.letters(ctx, desk, c, nil)
	if err != nil {
		return nil, err
	}
	var out []Letter
	for _, l := range all {
		if l.NeedsPaper {
			out = append(out, l)
		}
	}
	return out, nil
}
