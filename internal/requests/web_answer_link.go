package requests

import (
	"errors"
	"slices"

	"github.com/gofiber/fiber/v2"

	"github.com/loket-kinderopvang/loket/internal/account"
	"github.com/loket-kinderopvang/loket/internal/platform/validate"
	"github.com/loket-kinderopvang/loket/internal/tenant"
)

// PathAnswerLink is the page, under /{tenant}, where a provider that answers
// by e-mail answers one request from the mail's link, without account.
const PathAnswerLink = "/antwoord"

type answerLinkView struct {
	CSRF, Action, Location, Due, Start, Kind, Reason string
	Kinds, Weekdays                                  []string
	Days                                             map[string]bool
	Reasons                                          []answerOption
	Errors                                           []answerError
	Field                                            map[string]string
	Done                                             bool
	Problem                                          string
}

// answerLinkCase reads the link of the path; it must be this desk's.
func (p *ParentPages) answerLinkCase(c *fiber.Ctx) (tenant.Tenant, *AnswerLinkCase, error) {
	t, ok := tenant.FromRequest(c)
	if !ok {
		return t, nil, fiber.ErrNotFound
	}
	cs, err := p.svc.AnswerLink(c.UserContext(), t.ID, c.Params("token"))
	return t, cs, err
}

func (p *ParentPages) answerLinkPage(c *fiber.Ctx) error {
	t, cs, err := p.answerLinkCase(c)
	if err != nil {
		return p.answerLinkProblem(c, t, err)
	}
	in := answerInput{Kind: c.Query("keuze"), Start: cs.DesiredStart.Format(dateLayout), Days: cs.CareDays}
	return p.renderAnswerLink(c, t, fiber.StatusOK, cs, in, nil)
}

func (p *ParentPages) answerLinkForm(c *fiber.Ctx) error {
	t, cs, err := p.answerLinkCase(c)
	if err != nil {
		return p.answerLinkProblem(c, t, err)
	}
	in := answerInput{Kind: fv(c, "kind"), Start: fv(c, "offer_start"), Days: fvs(c, "offer_days"), Reason: fv(c, "reason")}
	es := validate.Errors{}
	if !slices.Contains(answerKinds(false), in.Kind) {
		es.Add("kind", "answer_kind", "choose an answer")
	} else {
		var a Answer
		if a, es = answerOf(in.Kind, in.Start, in.Days, in.Reason); len(es) == 0 {
			err = p.svc.AnswerByLink(c.UserContext(), t.ID, c.Params("token"), a)
			es, _ = validate.As(err)
			if len(es) == 0 && err != nil {
				return p.answerLinkProblem(c, t, err)
			}
		}
	}
	if len(es) > 0 {
		return p.renderAnswerLink(c, t, fiber.StatusUnprocessableEntity, cs, in, es)
	}
	v := answerLinkView{Location: cs.LocationName, Done: true}
	return p.render.Render(c, fiber.StatusOK, "provider_mail_answer", p.desks.Page(c, t, p.render.Translator(c).T("request.answerlink.done_title"), v))
}

// answerLinkProblem answers a link that cannot be used: forged (404), past
// its deadline (410) or used (409), in words.
func (p *ParentPages) answerLinkProblem(c *fiber.Ctx, t tenant.Tenant, err error) error {
	tr := p.render.Translator(c)
	var status int
	var key string
	switch {
	case errors.Is(err, ErrAnswerLinkExpired):
		status, key = fiber.StatusGone, "request.answerlink.expired"
	case errors.Is(err, ErrAnswerLinkUsed), errors.Is(err, ErrTransition):
		status, key = fiber.StatusConflict, "request.answerlink.used"
	case errors.Is(err, ErrBadToken), errors.Is(err, ErrNotFound):
		return fiber.ErrNotFound
	default:
		return err
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	return p.render.Render(c, status, "provider_mail_answer", p.desks.Page(c, t, tr.T("request.answerlink.title"), answerLinkView{Problem: tr.T(key)}))
}

func (p *ParentPages) renderAnswerLink(c *fiber.Ctx, t tenant.Tenant, status int, cs *AnswerLinkCase, in answerInput, es validate.Errors) error {
	tr := p.render.Translator(c)
	v := answerLinkView{CSRF: account.CSRFToken(c), Action: c.Path(), Location: cs.LocationName, Due: tr.DateTime(cs.Due),
		Start: in.Start, Kind: in.Kind, Reason: in.Reason, Kinds: answerKinds(false), Weekdays: Weekdays,
		Days: map[string]bool{}, Field: map[string]string{}}
	for _, d := range in.Days {
		v.Days[d] = true
	}
	v.Reasons = []answerOption{{Value: "", Label: tr.T("deskwork.choose")}}
	for _, r := range NoPlaceReasons {
		v.Reasons = append(v.Reasons, answerOption{Value: string(r), Label: tr.T("deskwork.noplace." + string(r)), Selected: string(r) == in.Reason})
	}
	for _, e := range es {
		if _, seen := v.Field[e.Field]; !seen {
			msg := errorText(tr, e)
			v.Field[e.Field] = msg
			v.Errors = append(v.Errors, answerError{Anchor: e.Field, Message: msg})
		}
	}
	title := tr.T("request.answerlink.title")
	if len(v.Errors) > 0 {
		title = tr.T("deskwork.errors.prefix") + ": " + title
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	return p.render.Render(c, status, "provider_mail_answer", p.desks.Page(c, t, title, v))
}
