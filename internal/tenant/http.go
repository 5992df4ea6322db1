package tenant

import (
	"html/template"
	"net"
	"slices"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/loket-kinderopvang/loket/internal/geo"
	"github.com/loket-kinderopvang/loket/internal/platform/page"
	"github.com/loket-kinderopvang/loket/internal/platform/tenancy"
	"github.com/loket-kinderopvang/loket/internal/platform/web"
)

// Handler serves the desk pages and the desk API.
type Handler struct {
	dir    *Directory
	render *web.Renderer
	// platform are path prefixes that never belong to a desk, also on a
	// desk's own host name.
	platform []string
}

// NewHandler returns the desk handlers.
func NewHandler(dir *Directory, render *web.Renderer) *Handler {
	return &Handler{dir: dir, render: render, platform: platformPrefixes}
}

// AlsoPlatform adds path prefixes (sign-in pages, …) that HostRewrite must leave alone.
func (h *Handler) AlsoPlatform(prefixes ...string) {
	h.platform = append(slices.Clone(h.platform), prefixes...)
}

// platformPrefixes are paths that never belong to a desk, also on a desk's own host.
var platformPrefixes = []string{"/static/", "/api/", "/healthz", "/readyz", "/metrics"}

// HostRewrite serves a desk on its own host name: opvang.leuven.example/x is
// routed as /leuven/x. Register it before every other route.
func (h *Handler) HostRewrite(c *fiber.Ctx) error {
	host := c.Hostname()
	if hh, _, err := net.SplitHostPort(host); err == nil {
		host = hh
	}
	t, ok := h.dir.ByHost(host)
	if !ok {
		return c.Next()
	}
	p := c.Path()
	for _, pre := range h.platform {
		if strings.HasPrefix(p, pre) {
			return c.Next()
		}
	}
	if p != "/"+t.Slug && !strings.HasPrefix(p, "/"+t.Slug+"/") {
		c.Path("/" + t.Slug + strings.TrimSuffix(p, "/"))
	}
	return c.Next()
}

const localTenant = "loket.tenant"

// Resolve is the middleware of every /:tenant route: it finds the desk, puts
// it in the request's context (so tenant-scoped stores see it) and picks the
// page language among the desk's languages.
func (h *Handler) Resolve(c *fiber.Ctx) error {
	t, ok := h.dir.BySlug(c.Params("tenant"))
	if !ok {
		return web.ErrUnknownDesk
	}
	c.Locals(localTenant, t)
	web.SetDeskSlug(c, t.Slug)
	web.SetLanguage(c, web.PickLanguage(c, t.Settings.Languages, t.DefaultLanguage()))
	c.SetUserContext(tenancy.WithTenant(c.UserContext(), t.ID))
	return c.Next()
}

// FromRequest returns the desk that Resolve found.
func FromRequest(c *fiber.Ctx) (Tenant, bool) {
	t, ok := c.Locals(localTenant).(Tenant)
	return t, ok
}

// Page fills the desk parts of a page: the header, the brand colour, the language.
func (h *Handler) Page(c *fiber.Ctx, t Tenant, title string, data any) web.Page {
	tr := h.render.Translator(c)
	p := web.Page{
		Translator: tr,
		Title:      title,
		Desk:       &web.DeskView{Name: t.DisplayName(tr.Lang()), Path: "/" + t.Slug},
		Data:       data,
	}
	if c := t.Settings.Branding.PrimaryColor; c != "" {
		p.Brand = template.CSS(c) // validated as #rrggbb when the YAML was loaded
	}
	p.Languages = web.LanguagesOf(t.Settings.Languages)
	return p
}

// Register adds the desk routes. Desk pages go last among the HTML routes
// because /:tenant matches any first path segment.
func (h *Handler) Register(app *fiber.App, api fiber.Router) {
	app.Get("/", h.home)
	api.Get("/tenants", h.apiList)
	api.Get("/tenants/:slug", h.apiGet)
}

// RegisterDesk adds the desk's own page on the /:tenant group.
func (h *Handler) RegisterDesk(desk fiber.Router) {
	desk.Get("/", h.desk)
}

type deskCard struct {
	Name, Path, MunicipalityNames string
}

func (h *Handler) home(c *fiber.Ctx) error {
	web.SetLanguage(c, web.PickLanguage(c, []string{"nl", "fr", "en"}, "nl"))
	tr := h.render.Translator(c)
	var cards []deskCard
	for _, t := range h.dir.All() {
		cards = append(cards, deskCard{
			Name: t.DisplayName(tr.Lang()), Path: "/" + t.Slug,
			MunicipalityNames: strings.Join(municipalityNames(t.Municipalities, tr.Lang()), ", "),
		})
	}
	return h.render.Render(c, fiber.StatusOK, "home", web.Page{Translator: tr, Data: map[string]any{"Desks": cards}})
}

type deskView struct {
	Name           string
	Mode           Mode
	Municipalities []string
	Contact        Contact
}

func (h *Handler) desk(c *fiber.Ctx) error {
	t, _ := FromRequest(c)
	lang := web.LanguageOf(c)
	v := deskView{Name: t.DisplayName(lang), Mode: t.Mode, Municipalities: municipalityNames(t.Municipalities, lang), Contact: t.Settings.Contact}
	return h.render.Render(c, fiber.StatusOK, "desk", h.Page(c, t, v.Name, v))
}

func municipalityNames(nis []geo.NISCode, lang string) []string {
	names := make([]string, 0, len(nis))
	for _, n := range nis {
		if m, ok := geo.LookupMunicipality(n); ok {
			names = append(names, m.Name(lang))
		}
	}
	return names
}

// APITenant is a desk in the JSON API.
type APITenant struct {
	Slug                 string            `json:"slug"`
	Name                 string            `json:"name"`
	Names                map[string]string `json:"names,omitempty"`
	Mode                 Mode              `json:"mode"`
	Municipalities       []APIMunicipality `json:"municipalities"`
	MaxPreferences       int               `json:"max_preferences"`
	ProviderResponseDays int               `json:"provider_response_days"`
	OfferAcceptanceDays  int               `json:"offer_acceptance_days"`
	Languages            []string          `json:"languages"`
	Contact              APIContact        `json:"contact"`
	URL                  string            `json:"url"`
}

// APIMunicipality is a municipality in the JSON API.
type APIMunicipality struct {
	NIS       geo.NISCode `json:"nis_code"`
	NameNL    string      `json:"name_nl"`
	NameFR    string      `json:"name_fr"`
	RegionNIS geo.NISCode `json:"region_nis_code"`
}

// APIContact is a desk's contact in the JSON API.
type APIContact struct {
	Email        string `json:"email"`
	Phone        string `json:"phone,omitempty"`
	Address      string `json:"address,omitempty"`
	Website      string `json:"website,omitempty"`
	OpeningHours string `json:"opening_hours,omitempty"`
}

func toAPI(t Tenant) APITenant {
	a := APITenant{
		Slug: t.Slug, Name: t.Name, Names: t.Settings.Names, Mode: t.Mode,
		MaxPreferences: t.MaxPreferences, ProviderResponseDays: t.ProviderResponseDays,
		OfferAcceptanceDays: t.OfferAcceptanceDays, Languages: t.Settings.Languages,
		Contact: APIContact(t.Settings.Contact), URL: "/" + t.Slug,
		Municipalities: []APIMunicipality{},
	}
	for _, n := range t.Municipalities {
		if m, ok := geo.LookupMunicipality(n); ok {
			a.Municipalities = append(a.Municipalities, APIMunicipality{NIS: m.NIS, NameNL: m.NameNL, NameFR: m.NameFR, RegionNIS: m.RegionNIS})
		}
	}
	return a
}

func (h *Handler) apiList(c *fiber.Ctx) error {
	all := h.dir.All()
	out := make([]APITenant, len(all))
	for i, t := range all {
		out[i] = toAPI(t)
	}
	return page.List(c, out, func(t APITenant) page.Key { return page.Key{t.Slug} })
}

func (h *Handler) apiGet(c *fiber.Ctx) error {
	t, ok := h.dir.BySlug(c.Params("slug"))
	if !ok {
		return web.SendProblem(c, web.Problem{Status: fiber.StatusNotFound, Title: "Unknown desk", Detail: "No desk has the slug " + c.Params("slug") + "."})
	}
	return c.JSON(toAPI(t))
}
