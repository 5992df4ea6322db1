package access

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"

	"github.com/loket-kinderopvang/loket/internal/account"
	"github.com/loket-kinderopvang/loket/internal/platform/page"
	"github.com/loket-kinderopvang/loket/internal/platform/web"
	"github.com/loket-kinderopvang/loket/internal/webhooks"
)

// The provider admin's webhook pages (issue 17) under /aanbieder/{provider}/webhooks
// and the same through the API under /api/v1/providers/{provider}/webhooks.

type endpointRow struct {
	ID, URL, Events, Created, Status string
	Paused                           bool
}

type deliveryRow struct {
	ID, Event, Created, Outcome, Status string
	Attempts                            int
}

// eventName is how people know an event (the catalogue's words).
func eventName(tr web.Translator, e string) string { return tr.T("webhooks.event." + e) }

func (h *Handler) webhooksView(c *fiber.Ctx) (*view, uuid.UUID, error) {
	p, _, err := h.provider(c)
	if err != nil {
		return nil, uuid.Nil, err
	}
	eps, err := h.Webhooks.Endpoints(c.UserContext(), p.ID.UUID)
	if err != nil {
		return nil, uuid.Nil, err
	}
	tr := h.Render.Translator(c)
	v := newView(c, PathProvider+"/"+p.ID.String()+"/webhooks")
	rows := make([]endpointRow, len(eps))
	for i, e := range eps {
		r := endpointRow{ID: e.ID.String(), URL: e.URL, Created: tr.DateTime(e.CreatedAt), Status: tr.T("webhooks.status.active")}
		for j, ev := range e.Events() {
			if j > 0 {
				r.Events += ", "
			}
			r.Events += eventName(tr, ev)
		}
		if e.PausedAt != nil {
			r.Paused, r.Status = true, tr.T("webhooks.status.paused")
		}
		rows[i] = r
	}
	v.Items = rows
	v.Extra["Provider"], v.Extra["Events"] = p.Name, eventChoices(tr, v, nil)
	v.Extra["AnswerByEmail"], v.Extra["ProviderID"] = p.AnswerByEmail, p.ID.String()
	return v, p.ID.UUID, nil
}

func (h *Handler) webhookList(c *fiber.Ctx) error {
	v, _, err := h.webhooksView(c)
	if err != nil {
		return err
	}
	switch {
	case c.Query("verwijderd") != "":
		v.Notice = h.Render.Translator(c).T("webhooks.deleted")
	case c.Query("antwoord") != "":
		v.Notice = h.Render.Translator(c).T("webhooks.answer_by_email.saved")
	}
	return h.platformPage(c, fiber.StatusOK, "access_webhooks", "webhooks.title", v)
}

// answerByEmail records the provider's choice to answer requests from the
// mail's links (issue 17, point 3).
func (h *Handler) answerByEmail(c *fiber.Ctx) error {
	p, _, err := h.provider(c)
	if err != nil {
		return err
	}
	if err := h.Catalog.SetAnswerByEmail(c.UserContext(), p.ID, form(c, "answer_by_email") == "yes"); err != nil {
		return err
	}
	return see(c, PathProvider+"/"+p.ID.String()+"/webhooks?antwoord=1")
}

// contactOf is the e-mail address of the signed-in person (mailed when the
// endpoint is paused).
func (h *Handler) contactOf(ctx context.Context, c *fiber.Ctx) string {
	id, ok := userOf(c)
	if !ok {
		return ""
	}
	uid, err := account.ParseUserID(id)
	if err != nil {
		return ""
	}
	u, err := h.Users.Store().ByID(ctx, uid)
	if err != nil {
		return ""
	}
	return u.Email
}

// eventChoices is the events an endpoint may subscribe to, as the form kit's
// group of checkboxes: those in chosen checked (a refused form keeps what was
// ticked), the group's error from v. The first box carries the group's id,
// the error summary's anchor.
func eventChoices(tr web.Translator, v *view, chosen []string) web.Group {
	g := web.Group{ID: "events", Legend: tr.T("webhooks.field.events"), Error: v.field("events").Error}
	for i, e := range webhooks.Events {
		id := g.ID
		if i > 0 {
			id += "-" + strings.ReplaceAll(e, ".", "-")
		}
		g.Items = append(g.Items, web.Choice{ID: id, Name: "events", Value: e, Label: eventName(tr, e), Checked: slices.Contains(chosen, e)})
	}
	return g
}

// webhookErrors names the field and message key of a refused endpoint.
func webhookErrors(err error) (field, key string, ok bool) {
	switch {
	case errors.Is(err, webhooks.ErrPrivate):
		return "url", "webhooks.error.private", true
	case errors.Is(err, webhooks.ErrURL):
		return "url", "webhooks.error.url", true
	case errors.Is(err, webhooks.ErrHost):
		return "url", "webhooks.error.host", true
	case errors.Is(err, webhooks.ErrEvents):
		return "events", "webhooks.error.events", true
	}
	return "", "", false
}

func (h *Handler) webhookCreate(c *fiber.Ctx) error {
	p, _, err := h.provider(c)
	if err != nil {
		return err
	}
	e, err := h.Webhooks.Register(c.UserContext(), p.ID.UUID, form(c, "url"), formValues(c, "events"), h.contactOf(c.UserContext(), c))
	field, key, known := webhookErrors(err)
	if err != nil && !known {
		return err
	}
	v, _, verr := h.webhooksView(c)
	if verr != nil {
		return verr
	}
	if known {
		tr := h.Render.Translator(c)
		v.set("url", form(c, "url"))
		v.fail(tr, field, key)
		v.Extra["Events"] = eventChoices(tr, v, formValues(c, "events"))
		return h.platformPage(c, fiber.StatusUnprocessableEntity, "access_webhooks", "webhooks.title", v)
	}
	// Shown once, on this answer only.
	v.Extra["Secret"] = e.Secret.String()
	return h.platformPage(c, fiber.StatusCreated, "access_webhooks", "webhooks.title", v)
}

func (h *Handler) endpointOf(c *fiber.Ctx) (uuid.UUID, *webhooks.Endpoint, error) {
	p, _, err := h.provider(c)
	if err != nil {
		return uuid.Nil, nil, err
	}
	id, err := webhooks.ParseEndpointID(c.Params("endpoint"))
	if err != nil {
		return uuid.Nil, nil, fiber.ErrNotFound
	}
	e, err := h.Webhooks.Endpoint(c.UserContext(), p.ID.UUID, id)
	if errors.Is(err, webhooks.ErrNotFound) {
		return uuid.Nil, nil, fiber.ErrNotFound
	}
	return p.ID.UUID, e, err
}

func (h *Handler) webhookLog(c *fiber.Ctx) error {
	provider, e, err := h.endpointOf(c)
	if err != nil {
		return err
	}
	ds, err := h.Webhooks.Deliveries(c.UserContext(), provider, e.ID, 100)
	if err != nil {
		return err
	}
	tr := h.Render.Translator(c)
	rows := make([]deliveryRow, len(ds))
	for i, d := range ds {
		r := deliveryRow{ID: d.ID.String(), Event: eventName(tr, d.EventType), Created: tr.DateTime(d.CreatedAt), Attempts: d.Attempts}
		switch {
		case d.DeliveredAt != nil:
			r.Outcome = tr.T("webhooks.outcome.delivered")
		case d.GivenUpAt != nil:
			r.Outcome = tr.T("webhooks.outcome.given_up")
		case d.Attempts == 0:
			r.Outcome = tr.T("webhooks.outcome.waiting")
		default:
			r.Outcome = tr.T("webhooks.outcome.retrying")
		}
		if d.LastStatus != 0 {
			r.Status = strconv.Itoa(d.LastStatus)
		}
		rows[i] = r
	}
	v := newView(c, PathProvider+"/"+provider.String()+"/webhooks/"+e.ID.String())
	v.Items = rows
	v.Extra["URL"], v.Extra["Paused"] = e.URL, e.PausedAt != nil
	v.Extra["List"] = PathProvider + "/" + provider.String() + "/webhooks"
	switch {
	case c.Query("opnieuw") != "":
		v.Notice = tr.T("webhooks.resent")
	case c.Query("hervat") != "":
		v.Notice = tr.T("webhooks.resumed")
	}
	return h.platformPage(c, fiber.StatusOK, "access_webhook", "webhooks.log_title", v)
}

// sendAgain queues the delivery of the path again (page and API).
func (h *Handler) sendAgain(c *fiber.Ctx) (uuid.UUID, *webhooks.Endpoint, error) {
	provider, e, err := h.endpointOf(c)
	if err != nil {
		return provider, nil, err
	}
	id, err := webhooks.ParseDeliveryID(c.Params("delivery"))
	if err != nil {
		return provider, nil, fiber.ErrNotFound
	}
	if err := h.Webhooks.SendAgain(c.UserContext(), provider, e.ID, id); errors.Is(err, webhooks.ErrNotFound) {
		return provider, nil, fiber.ErrNotFound
	} else if err != nil {
		return provider, nil, err
	}
	return provider, e, nil
}

func (h *Handler) webhookSendAgain(c *fiber.Ctx) error {
	provider, e, err := h.sendAgain(c)
	if err != nil {
		return err
	}
	return see(c, PathProvider+"/"+provider.String()+"/webhooks/"+e.ID.String()+"?opnieuw=1")
}

func (h *Handler) webhookResume(c *fiber.Ctx) error {
	provider, e, err := h.endpointOf(c)
	if err != nil {
		return err
	}
	if err := h.Webhooks.Resume(c.UserContext(), provider, e.ID); err != nil {
		return err
	}
	return see(c, PathProvider+"/"+provider.String()+"/webhooks/"+e.ID.String()+"?hervat=1")
}

func (h *Handler) webhookDelete(c *fiber.Ctx) error {
	provider, e, err := h.endpointOf(c)
	if err != nil {
		return err
	}
	if err := h.Webhooks.Delete(c.UserContext(), provider, e.ID); err != nil && !errors.Is(err, webhooks.ErrNotFound) {
		return err
	}
	return see(c, PathProvider+"/"+provider.String()+"/webhooks?verwijderd=1")
}

// --- the API ---

// WebhookEndpoint is an endpoint as the API shows it; Secret only in the
// answer to its creation.
type WebhookEndpoint struct {
	ID        string   `json:"id"`
	URL       string   `json:"url"`
	Events    []string `json:"events"`
	Paused    bool     `json:"paused"`
	CreatedAt string   `json:"created_at"`
	Secret    string   `json:"secret,omitempty"`
}

func apiEndpoint(e webhooks.Endpoint) WebhookEndpoint {
	return WebhookEndpoint{ID: e.ID.String(), URL: e.URL, Events: e.Events(), Paused: e.PausedAt != nil,
		CreatedAt: e.CreatedAt.UTC().Format("2006-01-02T15:04:05Z")}
}

func (h *Handler) apiWebhooks(c *fiber.Ctx) error {
	p, _, err := h.provider(c)
	if err != nil {
		return err
	}
	eps, err := h.Webhooks.Endpoints(c.UserContext(), p.ID.UUID)
	if err != nil {
		return err
	}
	out := make([]WebhookEndpoint, len(eps))
	for i, e := range eps {
		out[i] = apiEndpoint(e)
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	return page.List(c, out, func(e WebhookEndpoint) page.Key { return page.Key{e.CreatedAt, e.ID} })
}

func (h *Handler) apiWebhookCreate(c *fiber.Ctx) error {
	p, _, err := h.provider(c)
	if err != nil {
		return err
	}
	var in struct {
		URL    string   `json:"url"`
		Events []string `json:"events"`
	}
	if err := c.BodyParser(&in); err != nil {
		return web.SendProblem(c, web.Problem{Status: fiber.StatusUnprocessableEntity, Detail: "the body must be JSON {url, events}",
			Errors: []web.FieldError{{Field: "body", Message: "not JSON {url, events}"}}})
	}
	e, err := h.Webhooks.Register(c.UserContext(), p.ID.UUID, in.URL, in.Events, h.contactOf(c.UserContext(), c))
	if field, _, known := webhookErrors(err); known {
		return web.SendProblem(c, web.Problem{Status: fiber.StatusUnprocessableEntity, Detail: "invalid endpoint",
			Errors: []web.FieldError{{Field: field, Message: err.Error()}}})
	}
	if err != nil {
		return err
	}
	out := apiEndpoint(*e)
	out.Secret = e.Secret.String()
	return c.Status(fiber.StatusCreated).JSON(out)
}

func (h *Handler) apiWebhookDelete(c *fiber.Ctx) error {
	provider, e, err := h.endpointOf(c)
	if err != nil {
		return err
	}
	if err := h.Webhooks.Delete(c.UserContext(), provider, e.ID); err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}

// apiWebhookDeliveries is the delivery log, newest first, a page at a time.
func (h *Handler) apiWebhookDeliveries(c *fiber.Ctx) error {
	p, es := page.Parse(c)
	if es != nil {
		return page.Problem(c, es)
	}
	provider, e, err := h.endpointOf(c)
	if err != nil {
		return err
	}
	ds, next, err := h.Webhooks.DeliveriesPage(c.UserContext(), provider, e.ID, p.After, p.Limit)
	if errors.Is(err, webhooks.ErrBadCursor) {
		return page.Problem(c, []web.FieldError{{Field: "cursor", Message: "must be a next_cursor this list returned"}})
	}
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	return page.Send(c, ds, next)
}

func (h *Handler) apiWebhookSendAgain(c *fiber.Ctx) error {
	if _, _, err := h.sendAgain(c); err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusAccepted)
}
