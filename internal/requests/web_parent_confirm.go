package requests

import (
	"strconv"

	"github.com/gofiber/fiber/v2"

	"github.com/loket-kinderopvang/loket/internal/platform/web"
)

// Accepting an offer closes every other preference, so the parent is asked
// first (issue 20, point 8): the accept button opens a confirmation page
// (GET …/aanvaarden?rank=N) or, with JavaScript, the same question in a
// dialog; only its form (confirm=yes) accepts.

// acceptQuestion is the question for accepting the offer of rank; false when
// that preference holds no open offer.
func (p *ParentPages) acceptQuestion(tr web.Translator, v statusView, rank int) (web.Confirm, bool) {
	var offer *prefView
	var others []string
	for i := range v.Preferences {
		pv := &v.Preferences[i]
		switch {
		case pv.Rank == rank && pv.Offered:
			offer = pv
		case pv.Rank != rank && !pv.Closed:
			others = append(others, pv.Location)
		}
	}
	if offer == nil {
		return web.Confirm{}, false
	}
	text := tr.T("work.accept.text", "Location", offer.Location, "Start", offer.OfferStart)
	if len(others) > 0 {
		text += " " + tr.T("work.accept.others")
	}
	return web.Confirm{ID: "confirm-accept-" + strconv.Itoa(rank), Title: tr.T("work.accept.title"), Text: text, Items: others,
		Action: v.Base + "/aanvaarden", CSRF: v.CSRF, Fields: [][2]string{{"rank", strconv.Itoa(rank)}},
		Submit: tr.T("work.accept.submit"), Cancel: v.Base, CancelLabel: tr.T("work.confirm.cancel")}, true
}

// acceptDialogs are the questions of every open offer, for the dialogs of the
// status page.
func (p *ParentPages) acceptDialogs(tr web.Translator, v statusView) []web.Confirm {
	var out []web.Confirm
	for _, pv := range v.Preferences {
		if q, ok := p.acceptQuestion(tr, v, pv.Rank); ok {
			out = append(out, q)
		}
	}
	return out
}

// acceptPage asks whether to accept the offer of ?rank=.
func (p *ParentPages) acceptPage(c *fiber.Ctx) error {
	t, cs, err := p.statusRequest(c)
	if err != nil {
		return err
	}
	rank, err := strconv.Atoi(c.Query("rank"))
	if err != nil {
		return c.Redirect(p.statusBase(t, c), fiber.StatusSeeOther)
	}
	tr := p.render.Translator(c)
	q, ok := p.acceptQuestion(tr, p.statusView(c, t, cs), rank)
	if !ok {
		return c.Redirect(p.statusBase(t, c), fiber.StatusSeeOther)
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	return p.render.Render(c, fiber.StatusOK, "confirm", p.desks.Page(c, t, q.Title, q))
}
