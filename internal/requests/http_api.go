package requests

import (
	"bytes"
	"encoding/json"
	"errors"
	"log/slog"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/loket-kinderopvang/loket/internal/platform/tenancy"
	"github.com/loket-kinderopvang/loket/internal/platform/validate"
	"github.com/loket-kinderopvang/loket/internal/platform/web"
)

// API serves the request routes under /api/v1.
type API struct {
	svc    *Service
	log    *slog.Logger
	caller func(c *fiber.Ctx) (string, error)
}

// APIOptions configure the API.
type APIOptions struct {
	// Caller names the caller from the Authorization header: "" for an
	// anonymous caller (no header), the key's subject (apikey:<id>) for a
	// valid API key, and an error (401) for a key that is not valid.
	Caller func(c *fiber.Ctx) (string, error)
}

// NewAPI returns the JSON API of the request service.
func NewAPI(svc *Service, opts APIOptions) *API {
	return &API{svc: svc, log: svc.opts.Log, caller: opts.Caller}
}

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

// DecodeSubmission reads the JSON body of a registration: one object with
// only the fields of Submission. The fields only desk staff may set are
// cleared: they are not for API clients.
func DecodeSubmission(body []byte) (Submission, error) {
	var sub Submission
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&sub); err != nil {
		return Submission{}, err
	}
	if dec.More() {
		return Submission{}, errors.New("the body holds more than one JSON value")
	}
	sub.Channel, sub.Vulnerable, sub.Note, sub.ReferredBy = "", false, "", ""
	return sub, nil
}

// submit registers a request from a partner's system or any API client. The
// Idempotency-Key header makes retries safe: the same caller with the same
// key and body gets the first answer, never a second request (see
// idempotency.go). Anonymous callers are limited per address.
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
	caller := ""
	if a.caller != nil {
		var err error
		if caller, err = a.caller(c); err != nil {
			return err
		}
	}
	sub, err := DecodeSubmission(c.Body())
	if err != nil {
		return web.SendProblem(c, web.Problem{Status: fiber.StatusBadRequest, Title: "Malformed JSON", Detail: err.Error()})
	}
	ctx := tenancy.WithTenant(c.UserContext(), desk.ID)
	if caller == "" {
		if retry, err := a.svc.AllowAnonymous(ctx, c.IP()); err != nil {
			c.Set(fiber.HeaderRetryAfter, strconv.Itoa(int(retry.Seconds())+1))
			return web.SendProblem(c, web.Problem{Status: fiber.StatusTooManyRequests, Title: "Too many registrations",
				Detail: "This address has sent too many registrations without an API key. Try again later, or use your organisation's API key."})
		}
	}
	req, url, replayed, err := a.svc.Submit(ctx, sub, Actor{Kind: ActorAPI, ID: caller}, key)
	if es, ok := validate.As(err); ok {
		return web.SendProblem(c, es.Problem("The request has invalid fields; nothing was stored."))
	}
	switch {
	case errors.Is(err, ErrIdempotencyMismatch):
		// Nothing of the first request: the key is no password.
		return web.SendProblem(c, web.Problem{Status: fiber.StatusUnprocessableEntity, Title: "Idempotency-Key is already used",
			Detail: "This Idempotency-Key was used before with another request body. Use a new key for a new request; nothing was stored.",
			Errors: []web.FieldError{{Field: "Idempotency-Key", Message: "already used with another request body"}}})
	case errors.Is(err, ErrIdempotencyInFlight):
		c.Set(fiber.HeaderRetryAfter, "1")
		return web.SendProblem(c, web.Problem{Status: fiber.StatusConflict, Title: "A request is outstanding for this Idempotency-Key",
			Detail: "A registration with this Idempotency-Key is still being processed. Retry with the same key and body in a moment."})
	case err != nil:
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
