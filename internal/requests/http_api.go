package requests

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/loket-kinderopvang/loket/internal/platform/tenancy"
	"github.com/loket-kinderopvang/loket/internal/platform/validate"
	"github.com/loket-kinderopvang/loket/internal/platform/web"
)

// API serves the request routes under /api/v1.
type API struct {
	svc *Service
	log *slog.Logger
}

// NewAPI returns the JSON API of the request service.
func NewAPI(svc *Service) *API { return &API{svc: svc, log: svc.opts.Log} }

// Register adds the API routes.
func (a *API) Register(api fiber.Router) {
	api.Post("/tenants/:slug/requests", a.submit)
}

// SubmitResponse is the answer to a registration.
type SubmitResponse struct {
	ID        string `json:"id"`
	Status    Status `json:"status"`
	StatusURL string `json:"status_url"`
}

// maxIdempotencyKey bounds the stored key.
const maxIdempotencyKey = 200

// submit registers a request from a partner's system or any API client. The
// Idempotency-Key header makes retries safe: the same key answers with the
// first request, never a second one.
func (a *API) submit(c *fiber.Ctx) error {
	desk, ok := a.svc.opts.Desks.BySlug(c.Params("slug"))
	if !ok {
		return web.SendProblem(c, web.Problem{Status: fiber.StatusNotFound, Title: "Unknown desk", Detail: "No desk has the slug " + c.Params("slug") + "."})
	}
	key := strings.Clone(strings.TrimSpace(c.Get("Idempotency-Key")))
	if len(key) > maxIdempotencyKey {
		return web.SendProblem(c, web.Problem{Status: fiber.StatusBadRequest, Title: "Idempotency-Key too long",
			Errors: []web.FieldError{{Field: "Idempotency-Key", Message: "at most 200 characters"}}})
	}
	var sub Submission
	dec := json.NewDecoder(bytes.NewReader(c.Body()))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&sub); err != nil {
		return web.SendProblem(c, web.Problem{Status: fiber.StatusBadRequest, Title: "Malformed JSON", Detail: err.Error()})
	}
	// Desk-only fields are not for anonymous API clients.
	sub.Channel, sub.Vulnerable, sub.Note, sub.ReferredBy = "", false, "", ""
	ctx := tenancy.WithTenant(c.UserContext(), desk.ID)
	req, url, replayed, err := a.svc.Submit(ctx, sub, Actor{Kind: ActorAPI}, key)
	if es, ok := validate.As(err); ok {
		return web.SendProblem(c, es.Problem("The request has invalid fields; nothing was stored."))
	}
	if err != nil {
		a.log.ErrorContext(c.UserContext(), "request registration failed", "desk", desk.Slug, "err", err)
		return web.SendProblem(c, web.Problem{Status: fiber.StatusServiceUnavailable, Title: "Not stored",
			Detail: "The request could not be stored; nothing was kept. Try again with the same Idempotency-Key."})
	}
	if replayed {
		c.Set("Idempotent-Replayed", "true")
	}
	c.Location(url)
	return c.Status(fiber.StatusCreated).JSON(SubmitResponse{ID: req.ID.String(), Status: req.Status, StatusURL: url})
}
