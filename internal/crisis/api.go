package crisis

import (
	"encoding/json"
	"errors"
	"mime"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/loket-kinderopvang/loket/internal/platform/authz"
	"github.com/loket-kinderopvang/loket/internal/platform/validate"
	"github.com/loket-kinderopvang/loket/internal/platform/web"
	"github.com/loket-kinderopvang/loket/internal/requests"
)

// API serves the provider API of closures: a provider's own system declares
// that one of its locations closes, reads the board (counts only, never a
// family) and announces emergency places at its other locations.
type API struct {
	Service   *Service
	Auth      fiber.Handler // API key or session (access.Handler.APIAuth)
	Authz     *authz.Authorizer
	Principal func(*fiber.Ctx) (string, bool)
	// Location is the authorisation domain of the location in the path
	// (access.Handler.LocationDomain).
	Location func(*fiber.Ctx) (string, error)
}

// RegisterAPI adds /api/v1/locations/{id}/closure… to the API group.
func (a *API) RegisterAPI(api fiber.Router) {
	// The same right as setting the location's free places: its provider's
	// staff and API keys (of the provider or of that location).
	may := a.Authz.Require(authz.AvailabilityWrite.Object(), authz.AvailabilityWrite.Action(), a.Location, a.Principal)
	api.Post("/locations/:id/closure", a.Auth, may, a.declare)
	api.Get("/locations/:id/closure", a.Auth, may, a.board)
	api.Post("/locations/:id/emergency-places", a.Auth, may, a.announce)
}

func (a *API) actor(c *fiber.Ctx) requests.Actor {
	who, _ := a.Principal(c)
	who = strings.Clone(who)
	if strings.HasPrefix(who, "apikey:") {
		return requests.Actor{Kind: requests.ActorAPI, ID: strings.TrimPrefix(who, "apikey:")}
	}
	return requests.Actor{Kind: requests.ActorProvider, ID: who}
}

// jsonBody reads the JSON body into v; when it cannot, it has answered with
// a problem and reports false.
func jsonBody(c *fiber.Ctx, v any) (bool, error) {
	// JSON only: a browser cannot send it cross-site without a CORS
	// preflight, so cookie callers need no CSRF token here.
	if mt, _, _ := mime.ParseMediaType(c.Get(fiber.HeaderContentType)); mt != fiber.MIMEApplicationJSON {
		return false, web.SendProblem(c, web.Problem{Status: fiber.StatusUnsupportedMediaType, Detail: "send application/json"})
	}
	if err := json.Unmarshal(c.Body(), v); err != nil {
		return false, web.SendProblem(c, web.Problem{Status: fiber.StatusUnprocessableEntity, Detail: "the body is not the expected JSON object",
			Errors: []web.FieldError{{Field: "body", Message: "not a JSON object of the documented shape"}}})
	}
	return true, nil
}

// ClosureJSON is a closure in the API.
type ClosureJSON struct {
	ID         string  `json:"id"`
	LocationID string  `json:"location_id"`
	Location   string  `json:"location_name"`
	From       string  `json:"from"`
	Until      *string `json:"until"`
	Reason     string  `json:"reason"`
	Public     bool    `json:"public"`
	RadiusKm   int     `json:"radius_km"`
	InForce    bool    `json:"in_force"`
}

func closureJSON(c *Closure) ClosureJSON {
	out := ClosureJSON{ID: c.ID.String(), LocationID: c.LocationID.String(), Location: c.LocationName, From: c.FromDate.Format(dateLayout),
		Reason: c.Reason, Public: c.Public, RadiusKm: c.RadiusKm, InForce: c.InForce()}
	if c.UntilDate != nil {
		u := c.UntilDate.Format(dateLayout)
		out.Until = &u
	}
	return out
}

// CountsJSON are the board's numbers.
type CountsJSON struct {
	Affected int `json:"affected"`
	Proposed int `json:"proposed"`
	Offered  int `json:"offered"`
	Placed   int `json:"placed"`
	Declined int `json:"declined"`
	Without  int `json:"without_solution"`
}

func countsJSON(c Counts) CountsJSON {
	return CountsJSON{Affected: c.Affected, Proposed: c.Proposed, Offered: c.Offered, Placed: c.Placed, Declined: c.Declined, Without: c.Without}
}

func (a *API) declare(c *fiber.Ctx) error {
	var d Declaration
	if ok, err := jsonBody(c, &d); !ok {
		return err
	}
	d.LocationID = strings.Clone(c.Params("id"))
	cl, err := a.Service.Declare(c.UserContext(), d, a.actor(c))
	if es, ok := validate.As(err); ok {
		return web.SendProblem(c, es.Problem("invalid closure"))
	}
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(closureJSON(cl))
}

// latest is the location's closure in force, or else its latest.
func (a *API) latest(c *fiber.Ctx) (*Closure, error) {
	var cs []Closure
	err := a.Service.o.DB.NewSelect().Model(&cs).Column("id").Where("location_id = ?", strings.Clone(c.Params("id"))).
		OrderExpr("ended_at IS NOT NULL, declared_at DESC").Limit(1).Scan(c.UserContext())
	if err != nil {
		return nil, err
	}
	if len(cs) == 0 {
		return nil, fiber.ErrNotFound
	}
	return a.Service.Get(c.UserContext(), cs[0].ID)
}

func (a *API) board(c *fiber.Ctx) error {
	cl, err := a.latest(c)
	if err != nil {
		return err
	}
	// Counts over every desk: aggregates, never a family.
	b, err := a.Service.BoardFor(c.UserContext(), cl.ID, a.Service.o.Desks.All())
	if err != nil {
		return err
	}
	type day struct {
		Date string `json:"date"`
		CountsJSON
	}
	out := struct {
		Closure ClosureJSON `json:"closure"`
		Total   CountsJSON  `json:"total"`
		Days    []day       `json:"days"`
	}{Closure: closureJSON(cl), Total: countsJSON(b.Total), Days: []day{}}
	for _, d := range b.Days {
		out.Days = append(out.Days, day{Date: d.Date.Format(dateLayout), CountsJSON: countsJSON(d.Counts)})
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.JSON(out)
}

// EmergencyJSON is the body of POST /api/v1/locations/{id}/emergency-places.
type EmergencyJSON struct {
	ClosureID  string `json:"closure_id"`
	StartMonth string `json:"start_month"`
	AgeBand    string `json:"age_band"`
	Places     int    `json:"places"`
	Until      string `json:"until"`
}

func (a *API) announce(c *fiber.Ctx) error {
	var in EmergencyJSON
	if ok, err := jsonBody(c, &in); !ok {
		return err
	}
	id, err := ParseID(in.ClosureID)
	if err != nil {
		return web.SendProblem(c, web.Problem{Status: fiber.StatusUnprocessableEntity, Detail: "invalid emergency places",
			Errors: []web.FieldError{{Field: "closure_id", Message: "name the closure (its id)"}}})
	}
	err = a.Service.Announce(c.UserContext(), id, EmergencyInput{LocationID: strings.Clone(c.Params("id")), StartMonth: in.StartMonth,
		AgeBand: in.AgeBand, Places: in.Places, Until: in.Until}, a.actor(c).String())
	if es, ok := validate.As(err); ok {
		return web.SendProblem(c, es.Problem("invalid emergency places"))
	}
	if errors.Is(err, ErrNotFound) {
		return fiber.ErrNotFound
	}
	if errors.Is(err, ErrEnded) {
		return web.SendProblem(c, web.Problem{Status: fiber.StatusConflict, Detail: "the closure has ended"})
	}
	if err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}
