package access

import (
	"encoding/json"
	"errors"
	"mime"
	"regexp"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/loket-kinderopvang/loket/internal/account"
	"github.com/loket-kinderopvang/loket/internal/catalog"
	"github.com/loket-kinderopvang/loket/internal/platform/authz"
	"github.com/loket-kinderopvang/loket/internal/platform/page"
	"github.com/loket-kinderopvang/loket/internal/platform/web"
)

const localPrincipal = "loket.access_principal"

// APIAuth names the caller of an API route: a provider's system by its
// bearer key (Casbin subject apikey:<id>), or else a signed-in person by
// the session cookie (the session middleware is skipped on /api, so it runs
// here). An unknown or revoked key is 401 at once, never a fall-back to
// the cookie.
func (h *Handler) APIAuth(c *fiber.Ctx) error {
	if auth := c.Get(fiber.HeaderAuthorization); auth != "" {
		token, ok := strings.CutPrefix(auth, "Bearer ")
		if !ok {
			return fiber.ErrUnauthorized
		}
		k, ok, err := h.Service.Authenticate(c.UserContext(), strings.TrimSpace(token))
		if err != nil {
			return err
		}
		if !ok {
			return fiber.ErrUnauthorized
		}
		c.Locals(localPrincipal, k.Subject())
		return c.Next()
	}
	return h.Accounts.Session(c)
}

// PrincipalOf names the caller APIAuth found: apikey:<id> or a user id.
func PrincipalOf(c *fiber.Ctx) (string, bool) { return principalOf(c) }

// principalOf is Require's userOf for API routes.
func principalOf(c *fiber.Ctx) (string, bool) {
	if p, ok := c.Locals(localPrincipal).(string); ok && p != "" {
		return p, true
	}
	return account.UserIDOf(c)
}

// LocationDomain is the authorisation domain of the location in the path
// (:id); 404 for a malformed or unknown location. Other domains' provider
// API routes on a location (a crisis closure) use it too.
func (h *Handler) LocationDomain(c *fiber.Ctx) (string, error) { return h.locationDomain(c) }

// locationDomain answers 404 for a malformed or unknown location.
func (h *Handler) locationDomain(c *fiber.Ctx) (string, error) {
	id, err := catalog.ParseLocationID(c.Params("id"))
	if err != nil {
		return "", fiber.ErrNotFound
	}
	if _, err := h.Service.LocationProvider(c.UserContext(), id); errors.Is(err, ErrNotFound) {
		return "", fiber.ErrNotFound
	} else if err != nil {
		return "", err
	}
	return authz.Location(id.String()), nil
}

// RegisterAPI adds the provider API routes.
func (h *Handler) RegisterAPI(api fiber.Router) {
	api.Put("/locations/:id/availability", h.APIAuth,
		h.Service.Authz().Require(authz.AvailabilityWrite.Object(), authz.AvailabilityWrite.Action(), h.locationDomain, principalOf),
		h.putAvailability)
	// Webhook endpoints: a signed-in person must manage the provider's API
	// keys (its admin); a key must be one of the whole provider (made by
	// that admin for its system), not one limited to some locations.
	admin := h.Service.Authz().Require(authz.APIKeysManage.Object(), authz.APIKeysManage.Action(), h.providerDomain, principalOf)
	system := h.Service.Authz().Require(authz.RequestsRead.Object(), authz.RequestsRead.Action(), h.providerDomain, principalOf)
	hooks := func(c *fiber.Ctx) error {
		if p, _ := principalOf(c); strings.HasPrefix(p, "apikey:") {
			return system(c)
		}
		return admin(c)
	}
	api.Get("/providers/:provider/locations", h.APIAuth, system, h.apiProviderLocations)
	api.Get("/providers/:provider/availability", h.APIAuth, system, h.getProviderAvailability)
	api.Put("/providers/:provider/availability", h.APIAuth, system, h.putProviderAvailability)
	api.Get("/providers/:provider/webhooks", h.APIAuth, hooks, h.apiWebhooks)
	api.Post("/providers/:provider/webhooks", h.APIAuth, hooks, h.apiWebhookCreate)
	api.Delete("/providers/:provider/webhooks/:endpoint", h.APIAuth, hooks, h.apiWebhookDelete)
	api.Get("/providers/:provider/webhooks/:endpoint/deliveries", h.APIAuth, hooks, h.apiWebhookDeliveries)
	api.Post("/providers/:provider/webhooks/:endpoint/deliveries/:delivery/resend", h.APIAuth, hooks, h.apiWebhookSendAgain)
}

// AvailabilityItem is one line of PUT /api/v1/locations/{id}/availability,
// and, with its location, of PUT /api/v1/providers/{provider}/availability.
type AvailabilityItem struct {
	LocationID string          `json:"location_id,omitempty"`
	StartMonth string          `json:"start_month"`
	AgeBand    catalog.AgeBand `json:"age_band"`
	FreePlaces *int            `json:"free_places"`
}

func (h *Handler) putAvailability(c *fiber.Ctx) error {
	id, _ := catalog.ParseLocationID(c.Params("id"))
	return h.saveAvailability(c, 240, func(int, AvailabilityItem) (catalog.LocationID, string) { return id, "" })
}

// putProviderAvailability replaces free places of many locations of the
// provider in one call (one transaction): each line names its location,
// which must be the provider's and one the caller may change.
func (h *Handler) putProviderAvailability(c *fiber.Ctx) error {
	_, locs, err := h.provider(c)
	if err != nil {
		return err
	}
	who, _ := principalOf(c)
	mine := map[string]bool{}
	for _, l := range locs {
		mine[l.ID.String()] = true
	}
	return h.saveAvailability(c, 2400, func(_ int, it AvailabilityItem) (catalog.LocationID, string) {
		id, err := catalog.ParseLocationID(it.LocationID)
		if err != nil || !mine[id.String()] {
			return id, "location_id must be one of the provider's locations"
		}
		if ok, _ := h.Service.Authz().Allowed(who, authz.Location(id.String()), authz.AvailabilityWrite); !ok {
			return id, "location_id must be a location this key or person may change"
		}
		return id, ""
	})
}

// saveAvailability reads a JSON list of at most most lines, finds each line's location
// with locate (a message when it is not allowed) and saves them together.
func (h *Handler) saveAvailability(c *fiber.Ctx, most int, locate func(i int, it AvailabilityItem) (catalog.LocationID, string)) error {
	// JSON only: a browser cannot send it cross-site without a CORS
	// preflight, which Loket never answers, so cookie callers need no
	// CSRF token here.
	if mt, _, _ := mime.ParseMediaType(c.Get(fiber.HeaderContentType)); mt != fiber.MIMEApplicationJSON {
		return web.SendProblem(c, web.Problem{Status: fiber.StatusUnsupportedMediaType, Detail: "send application/json"})
	}
	var items []AvailabilityItem
	if err := json.Unmarshal(c.Body(), &items); err != nil {
		return web.SendProblem(c, web.Problem{Status: fiber.StatusUnprocessableEntity, Detail: "the body must be a JSON list of {start_month, age_band, free_places}",
			Errors: []web.FieldError{{Field: "body", Message: "not a JSON list of availability lines"}}})
	}
	var fes []web.FieldError
	if len(items) == 0 || len(items) > most {
		fes = append(fes, web.FieldError{Field: "body", Message: "send between 1 and " + itoa(most) + " lines"})
	}
	changes := make([]catalog.AvailabilityChange, 0, len(items))
	for i, it := range items {
		id, bad := locate(i, it)
		if bad != "" {
			fes = append(fes, web.FieldError{Field: "[" + itoa(i) + "].location_id", Message: bad})
			continue
		}
		if it.FreePlaces == nil {
			fes = append(fes, web.FieldError{Field: "[" + itoa(i) + "].free_places", Message: "free_places is required"})
			continue
		}
		changes = append(changes, catalog.AvailabilityChange{LocationID: id, StartMonth: it.StartMonth, AgeBand: it.AgeBand, FreePlaces: *it.FreePlaces})
	}
	if fes != nil {
		return web.SendProblem(c, web.Problem{Status: fiber.StatusUnprocessableEntity, Detail: "invalid availability", Errors: fes})
	}
	who, _ := principalOf(c)
	if !strings.HasPrefix(who, "apikey:") {
		who = "user:" + who
	}
	err := h.Catalog.SetAvailability(c.UserContext(), who, changes...)
	var ve catalog.ValidationErrors
	if errors.As(err, &ve) {
		for _, e := range ve {
			fes = append(fes, web.FieldError{Field: strings.TrimPrefix(e.Field, "availability"), Message: e.Message})
		}
		return web.SendProblem(c, web.Problem{Status: fiber.StatusUnprocessableEntity, Detail: "invalid availability", Errors: fes})
	}
	if errors.Is(err, catalog.ErrNotFound) {
		return fiber.ErrNotFound
	}
	if err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}

// ProviderLocation is one line of GET /api/v1/providers/{provider}/locations.
type ProviderLocation struct {
	ID            string `json:"id"`
	DossierNumber string `json:"dossier_number"`
	Name          string `json:"name"`
	Postcode      string `json:"postcode"`
	Email         string `json:"email,omitempty"`
}

func (h *Handler) apiProviderLocations(c *fiber.Ctx) error {
	_, locs, err := h.provider(c)
	if err != nil {
		return err
	}
	out := make([]ProviderLocation, len(locs))
	for i, l := range locs {
		out[i] = ProviderLocation{ID: l.ID.String(), DossierNumber: l.DossierNumber, Name: l.Name, Postcode: l.Postcode, Email: l.Email}
	}
	return page.List(c, out, func(l ProviderLocation) page.Key { return page.Key{l.ID} })
}

// FreePlacesLine is one line of GET /api/v1/providers/{provider}/availability.
type FreePlacesLine struct {
	LocationID string          `json:"location_id"`
	StartMonth string          `json:"start_month"`
	AgeBand    catalog.AgeBand `json:"age_band"`
	FreePlaces int             `json:"free_places"`
	ChangedAt  time.Time       `json:"changed_at"`
}

var monthParam = regexp.MustCompile(`^\d{4}-(0[1-9]|1[0-2])$`)

// getProviderAvailability reads back the free places of all the provider's
// locations, from this month (or from_month) on: what PUT replaces.
func (h *Handler) getProviderAvailability(c *fiber.Ctx) error {
	from := c.Query("from_month")
	if from != "" && !monthParam.MatchString(from) {
		return web.SendProblem(c, web.Problem{Status: fiber.StatusBadRequest, Title: "Invalid from_month",
			Errors: []web.FieldError{{Field: "from_month", Message: "a month as YYYY-MM, e.g. 2027-03"}}})
	}
	_, locs, err := h.provider(c)
	if err != nil {
		return err
	}
	ids := make([]catalog.LocationID, len(locs))
	for i, l := range locs {
		ids[i] = l.ID
	}
	rows, err := h.Catalog.FreePlacesFrom(c.UserContext(), ids, from)
	if err != nil {
		return err
	}
	out := make([]FreePlacesLine, len(rows))
	for i, r := range rows {
		out[i] = FreePlacesLine{LocationID: r.LocationID.String(), StartMonth: r.StartMonth, AgeBand: r.AgeBand,
			FreePlaces: r.FreePlaces, ChangedAt: r.ChangedAt.UTC()}
	}
	return page.List(c, out, func(l FreePlacesLine) page.Key { return page.Key{l.LocationID, l.StartMonth, string(l.AgeBand)} })
}

func itoa(i int) string {
	b, _ := json.Marshal(i)
	return string(b)
}
