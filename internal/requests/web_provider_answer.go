package requests

import (
	"slices"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"

	"github.com/loket-kinderopvang/loket/internal/account"
	"github.com/loket-kinderopvang/loket/internal/catalog"
	"github.com/loket-kinderopvang/loket/internal/eventlog"
	"github.com/loket-kinderopvang/loket/internal/platform/authz"
	"github.com/loket-kinderopvang/loket/internal/platform/validate"
	"github.com/loket-kinderopvang/loket/internal/platform/web"
)

// The answer page of one preference (issue 20, point 9): the provider picks
// the kind of answer, and the page asks only what that kind needs (a start
// date and days for an offer, prefilled from the family's request; a reason
// for no place; nothing more for the waiting list). It works without
// JavaScript: the kind is chosen with a link or a GET form first.

// answerInput is what the provider typed, kept when the answer is refused.
type answerInput struct {
	Kind, Start, Reason string
	Days                []string
}

type answerError struct{ Anchor, Message string }

// answerOption is one choice of the reason list (the select-field partial).
type answerOption struct {
	Value, Label string
	Selected     bool
}

type answerView struct {
	CSRF, Action, Inbox, Places string
	Row                         inboxLine
	Kinds                       []string
	Kind                        string
	Start, Reason               string
	Days                        map[string]bool
	Weekdays                    []string
	Reasons                     []answerOption
	Errors                      []answerError
	Field                       map[string]string // field → its error
	Describe                    map[string]string // field → its aria-describedby
}

// answerTarget reads the preference of the path.
func answerTarget(c *fiber.Ctx) (desk string, id RequestID, rank int, err error) {
	desk = strings.Clone(c.Params("desk"))
	u, err1 := uuid.Parse(c.Params("request"))
	n, err2 := strconv.Atoi(c.Params("rank"))
	if err1 != nil || err2 != nil {
		return "", RequestID{}, 0, fiber.ErrNotFound
	}
	return desk, RequestID{UUID: u}, n, nil
}

func (h *Web) answerPage(c *fiber.Ctx) error {
	web.SetLanguage(c, web.PickLanguage(c, []string{"nl", "fr", "en"}, "nl"))
	desk, id, n, err := answerTarget(c)
	if err != nil {
		return err
	}
	return h.renderAnswer(c, fiber.StatusOK, desk, id, n, &answerInput{Kind: strings.Clone(c.Query("antwoord"))}, nil)
}

// answerKinds are the answers a preference can take at this desk.
func answerKinds(registry bool) []string {
	kinds := []string{string(AnswerOffer), string(AnswerWaitingList), string(AnswerNoPlace)}
	if registry {
		kinds = append(kinds, string(AnswerForward))
	}
	return kinds
}

func (h *Web) renderAnswer(c *fiber.Ctx, status int, desk string, id RequestID, rank int, in *answerInput, es validate.Errors) error {
	s := scopeOf(c)
	items, err := h.Service.Inbox(c.UserContext(), s.Provider, s.Locations, Look{Actor: h.providerActor(c, h.UserOf), What: eventlog.LookAnswer, Organisation: authz.Provider(s.Provider.String())}, &id)
	if err != nil {
		return err
	}
	i := slices.IndexFunc(items, func(it InboxItem) bool { return it.DeskSlug == desk && it.RequestID == id && it.Rank == rank })
	if i < 0 {
		return fiber.ErrNotFound
	}
	it := items[i]
	row := h.inboxRows(c, items[i:i+1])[0]
	if !row.Pending {
		return fiber.ErrNotFound
	}
	tr := h.Render.Translator(c)
	v := answerView{CSRF: account.CSRFToken(c), Action: row.Action, Inbox: "/aanbieder/" + s.Provider.String() + "/aanvragen",
		Places: catalog.PlacesPath(catalog.ProviderID{UUID: s.Provider}, catalog.LocationID{UUID: it.LocationID}),
		Row:    row, Kinds: answerKinds(row.Registry), Weekdays: Weekdays,
		Days: map[string]bool{}, Field: map[string]string{}}
	if slices.Contains(v.Kinds, in.Kind) {
		v.Kind = in.Kind
	}
	v.Start, v.Reason = in.Start, in.Reason
	v.Reasons = []answerOption{{Value: "", Label: tr.T("deskwork.choose")}}
	for _, r := range NoPlaceReasons {
		v.Reasons = append(v.Reasons, answerOption{Value: string(r), Label: tr.T("deskwork.noplace." + string(r)), Selected: string(r) == in.Reason})
	}
	if es == nil && v.Kind == string(AnswerOffer) {
		// Prefilled from the family's request: the date they asked for and
		// the days of their care plan.
		v.Start = it.DesiredStart.Format(dateLayout)
		in.Days = it.Days
	}
	for _, d := range in.Days {
		v.Days[d] = true
	}
	for _, e := range es {
		field, anchor := e.Field, e.Field
		switch e.Field {
		case "offer_days":
			anchor = "offer_days-" + Weekdays[0]
		case "kind":
			anchor = "kind-" + v.Kinds[0]
		}
		msg := errorText(tr, e)
		if _, seen := v.Field[field]; !seen {
			v.Field[field] = msg
			label := "deskwork.field." + field
			if field == "reason" {
				label = "deskwork.field.no_place_reason"
			}
			v.Errors = append(v.Errors, answerError{Anchor: anchor, Message: tr.T(label) + ": " + msg})
		}
	}
	v.Describe = map[string]string{"offer_start": "hint-offer_start"}
	if v.Field["offer_start"] != "" {
		v.Describe["offer_start"] += " err-offer_start"
	}
	if v.Field["reason"] != "" {
		v.Describe["reason"] = "err-reason"
	}
	title := tr.T("work.answer.title", "Child", row.Child)
	if len(v.Errors) > 0 {
		title = tr.T("deskwork.errors.prefix") + ": " + title
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	return h.Render.Render(c, status, "provider_answer", web.Page{Translator: tr, Title: title, Data: v})
}
