package catalog

import (
	"errors"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/loket-kinderopvang/loket/internal/platform/authz"
	"github.com/loket-kinderopvang/loket/internal/platform/validate"
	"github.com/loket-kinderopvang/loket/internal/platform/web"
)

// PathPlaces is a location's free-places page, a platform path under
// /aanbieder (kept away from the desks by access.PlatformPaths).
const PathPlaces = "/aanbieder/:provider/plaatsen/:location"

// PlacesPath is the free-places page of one location.
func PlacesPath(provider ProviderID, location LocationID) string {
	return "/aanbieder/" + provider.String() + "/plaatsen/" + location.String()
}

// PlacesConfig wires the free-places pages.
type PlacesConfig struct {
	Store  *Store
	Render *web.Renderer
	Authz  *authz.Authorizer
	// RequireUser refuses anonymous visitors; UserOf names the signed-in
	// user; CSRF returns the form token (all from the account package).
	RequireUser fiber.Handler
	UserOf      func(*fiber.Ctx) (string, bool)
	CSRF        func(*fiber.Ctx) string
}

// PlacesHandler serves the free-places grid of a location.
type PlacesHandler struct{ cfg PlacesConfig }

// NewPlacesHandler returns the handler.
func NewPlacesHandler(cfg PlacesConfig) *PlacesHandler { return &PlacesHandler{cfg} }

// Register adds the pages; register before the /:tenant group.
func (h *PlacesHandler) Register(app fiber.Router) {
	may := h.cfg.Authz.Require(authz.AvailabilityWrite.Object(), authz.AvailabilityWrite.Action(), h.locationDomain, h.cfg.UserOf)
	app.Get(PathPlaces, h.cfg.RequireUser, may, h.page)
	app.Post(PathPlaces, h.cfg.RequireUser, may, h.save)
}

// locationDomain answers 404 for a location that is unknown or not the
// provider's in the path, the same answer a refusal gets.
func (h *PlacesHandler) locationDomain(c *fiber.Ctx) (string, error) {
	pid, err1 := ParseProviderID(c.Params("provider"))
	lid, err2 := ParseLocationID(c.Params("location"))
	if err1 != nil || err2 != nil {
		return "", fiber.ErrNotFound
	}
	var l Location
	if err := h.cfg.Store.db.NewSelect().Model(&l).Column("provider_id").Where("id = ?", lid).Scan(c.UserContext()); err != nil || l.ProviderID != pid {
		return "", fiber.ErrNotFound
	}
	return authz.Location(lid.String()), nil
}

type placesCell struct {
	ID, Name, Value, Error, Label string
}

type placesLine struct {
	Month, Updated string
	Cells          []placesCell
}

type placesView struct {
	CSRF, Action, Location, Provider, Updated, Notice string
	Stale, Never                                      bool
	Licensed                                          int
	Bands                                             []string
	Lines                                             []placesLine
	Errors                                            []struct{ Anchor, Message string }
}

func (h *PlacesHandler) view(c *fiber.Ctx, tr web.Translator, g Grid, errs validate.Errors) placesView {
	v := placesView{CSRF: h.cfg.CSRF(c), Action: PlacesPath(g.Provider.ID, g.Location.ID), Location: g.Location.Name,
		Provider: g.Provider.Name, Stale: g.Stale, Never: g.LastUpdate.IsZero(), Licensed: g.Location.LicensedPlaces}
	if !v.Never {
		v.Updated = dayLabel(tr, g.LastUpdate)
	}
	for _, b := range g.Bands {
		v.Bands = append(v.Bands, tr.T("location.band."+string(b)))
	}
	msg := map[string]string{}
	for _, e := range errs {
		msg[e.Field] = tr.T("work.places.error." + e.Code)
	}
	for _, l := range g.Lines {
		line := placesLine{Month: monthLabel(tr, l.Month)}
		if !l.UpdatedAt.IsZero() {
			line.Updated = dayLabel(tr, l.UpdatedAt)
		}
		for _, b := range g.Bands {
			id := GridCellField(l.Month, b)
			cell := placesCell{ID: id, Name: id, Value: l.Places[b], Error: msg[id],
				Label: tr.T("location.band."+string(b)) + ", " + line.Month}
			if cell.Error != "" {
				v.Errors = append(v.Errors, struct{ Anchor, Message string }{id, cell.Label + ": " + cell.Error})
			}
			line.Cells = append(line.Cells, cell)
		}
		v.Lines = append(v.Lines, line)
	}
	return v
}

// dayLabel is "7 december 2026" in the visitor's language.
func dayLabel(tr web.Translator, t time.Time) string {
	return t.Format("2") + " " + monthLabel(tr, t.Format("2006-01"))
}

func (h *PlacesHandler) render(c *fiber.Ctx, status int, g Grid, errs validate.Errors, notice string) error {
	web.SetLanguage(c, web.PickLanguage(c, []string{"nl", "fr", "en"}, "nl"))
	tr := h.cfg.Render.Translator(c)
	v := h.view(c, tr, g, errs)
	v.Notice = notice
	title := tr.T("work.places.title", "Location", g.Location.Name)
	if len(v.Errors) > 0 {
		title = tr.T("work.errors.prefix") + ": " + title
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	return h.cfg.Render.Render(c, status, "work_places", web.Page{Translator: tr, Title: title, Data: v})
}

func (h *PlacesHandler) grid(c *fiber.Ctx) (Grid, error) {
	lid, _ := ParseLocationID(c.Params("location"))
	g, err := h.cfg.Store.Grid(c.UserContext(), lid)
	if errors.Is(err, ErrNotFound) {
		return g, fiber.ErrNotFound
	}
	return g, err
}

func (h *PlacesHandler) page(c *fiber.Ctx) error {
	g, err := h.grid(c)
	if err != nil {
		return err
	}
	notice := ""
	if c.Query("bewaard") != "" {
		notice = h.cfg.Render.Translator(c).T("work.places.saved")
	}
	return h.render(c, fiber.StatusOK, g, nil, notice)
}

// cells reads every grid cell of the posted form, as typed.
func cells(c *fiber.Ctx) map[string]string {
	out := map[string]string{}
	c.Request().PostArgs().VisitAll(func(k, v []byte) {
		if strings.HasPrefix(string(k), "places-") {
			out[string(k)] = string(v)
		}
	})
	return out
}

// save stores the whole grid at once, or, with action=copy, fills the empty
// months from the month before for the provider to check (nothing saved).
func (h *PlacesHandler) save(c *fiber.Ctx) error {
	g, err := h.grid(c)
	if err != nil {
		return err
	}
	typed := cells(c)
	if c.FormValue("action") == "copy" {
		g.SetCells(typed)
		g.CopyForward()
		return h.render(c, fiber.StatusOK, g, nil, h.cfg.Render.Translator(c).T("work.places.copied"))
	}
	user, _ := h.cfg.UserOf(c)
	err = h.cfg.Store.SaveGrid(c.UserContext(), "user:"+strings.Clone(user), g.Location.ID, typed)
	if es, ok := validate.As(err); ok {
		g.SetCells(typed)
		return h.render(c, fiber.StatusUnprocessableEntity, g, es, "")
	}
	if err != nil {
		return err
	}
	return c.Redirect(PlacesPath(g.Provider.ID, g.Location.ID)+"?bewaard=1", fiber.StatusSeeOther)
}
