package app

import (
	"context"

	"github.com/loket-kinderopvang/loket/internal/mail"
	"github.com/loket-kinderopvang/loket/internal/webhooks"
)

// webhookPaused mails the admin who registered an endpoint that it was
// paused after failing again and again (in Dutch, French and English: the
// endpoint does not know its admin's language).
func (a *App) webhookPaused(ctx context.Context, e webhooks.Endpoint) {
	if e.Contact == "" || a.messages == nil {
		return
	}
	var subject, text string
	for i, lang := range []string{"nl", "fr", "en"} {
		tr := a.messages.For(lang)
		if i == 0 {
			subject = tr.T("webhooks.paused.subject")
		} else {
			text += "\n\n---\n\n"
		}
		text += tr.T("webhooks.paused.body", "URL", e.URL, "Link", a.Config.PublicURL+"/aanbieder/"+e.ProviderID.String()+"/webhooks")
	}
	if err := a.Mail.Send(ctx, mail.Message{To: e.Contact, Subject: subject, Text: text, Kind: "webhook_paused"}); err != nil {
		a.Log.Warn("webhook paused: admin not mailed", "endpoint", e.ID, "err", err)
	}
}
