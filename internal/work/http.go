package work

import (
	"github.com/loket-kinderopvang/loket/internal/geo"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/loket-kinderopvang/loket/internal/catalog"
	"github.com/loket-kinderopvang/loket/internal/platform/authz"
	"github.com/loket-kinderopvang/loket/internal/platform/web"
)

// HandlerConfig wires the home page and the menu.
type HandlerConfig struct {
	Service *Service
	Render  *web.Renderer
	// RequireUser refuses anonymous visitors; UserOf names the signed-in
	// user; CSRF returns the form token; SignOut is the sign-out form's
	// action (all from the account package).
	RequireUser fiber.Handler
	UserOf      func(*fiber.Ctx) (string, bool)
	CSRF        func(*fiber.Ctx) string
	SignOut     string
}

// Handler serves /werk and puts the menu on every page of a signed-in account.
type Handler struct{ cfg HandlerConfig }

// NewHandler returns the handler.
func NewHandler(cfg HandlerConfig) *Handler { return &Handler{cfg} }

// Register adds the menu middleware for every route registered after it
// (call it after the session middleware) and the home page, a platform path:
// register before the /:tenant group.
func (h *Handler) Register(app fiber.Router) {
	app.Use(h.menu)
	app.Get(PathHome, h.cfg.RequireUser, h.home)
}

// menu gives every page of a signed-in account the header menu; it is built
// only when a page is rendered.
func (h *Handler) menu(c *fiber.Ctx) error {
	if user, ok := h.cfg.UserOf(c); ok && user != "" {
		web.SetNav(c, func() *web.Nav {
			return &web.Nav{Items: h.cfg.Service.Menu(strings.Clone(user), strings.Clone(c.Path())),
				SignOut: h.cfg.SignOut, CSRF: h.cfg.CSRF(c)}
		})
	}
	return c.Next()
}

// count is one number that needs attention, with the page that shows it.
type count struct {
	N         int
	Key, Href string
	Hot       bool // needs action now (red)
}

type deskView struct {
	Name, Roles, Base                                           string
	Counts                                                      []count
	Worklist, Register, Figures, Rounds, Staff, Sharing, Crisis bool
}

type locationView struct {
	Name, Places, Updated string
	Stale, Never          bool
}

type providerView struct {
	Name, Roles, Inbox, Rounds, Crisis, Staff, Keys, Webhooks string
	Anchor                                                    string // id of its locations table
	Counts                                                    []count
	Locations                                                 []locationView
	Admin                                                     bool
}

type regionView struct{ Name, Figures, Crisis string }

type homeView struct {
	Name      string
	Desks     []deskView
	Providers []providerView
	Regions   []regionView
	// OperatorCrisis: every region's crisis page, for an operator.
	OperatorCrisis []regionView
	Operator       bool
	Empty          bool
	Multi          map[string]bool // sections with several targets (menu anchors)
}

func roleNames(tr web.Translator, roles []authz.Role) string {
	names := make([]string, len(roles))
	for i, r := range roles {
		names[i] = tr.T("access.role." + string(r))
	}
	return strings.Join(names, ", ")
}

// dayLabel is "7 december 2026" in the reader's language.
func dayLabel(tr web.Translator, y int, m int, d int) string {
	return strconv.Itoa(d) + " " + tr.T("month."+strconv.Itoa(m)) + " " + strconv.Itoa(y)
}

func (h *Handler) home(c *fiber.Ctx) error {
	web.SetLanguage(c, web.PickLanguage(c, []string{"nl", "fr", "en"}, "nl"))
	tr := h.cfg.Render.Translator(c)
	user, _ := h.cfg.UserOf(c)
	home, err := h.cfg.Service.Home(c.UserContext(), strings.Clone(user))
	if err != nil {
		return err
	}
	v := homeView{Operator: home.Operator, Empty: home.Empty(), Multi: map[string]bool{}}
	figures, rounds, admin, crisisDesks := 0, 0, 0, 0
	for _, d := range home.Desks {
		base := "/" + d.Desk.Slug
		dv := deskView{Name: d.Desk.DisplayName(tr.Lang()), Roles: roleNames(tr, d.Roles), Base: base,
			Worklist: d.Worklist, Register: d.Register, Figures: d.Figures && d.Attention != nil, Rounds: d.Rounds, Crisis: d.Crisis,
			Staff: d.Staff, Sharing: d.Sharing}
		if a := d.Attention; a != nil {
			dv.Counts = []count{
				{a.ToCheck, "work.count.to_check", base + "/loket?status=submitted", a.ToCheck > 0},
				{a.Overdue, "work.count.overdue", base + "/loket?attention=overdue", a.Overdue > 0},
				{a.VulnerableWaiting, "work.count.vulnerable", base + "/loket?attention=vulnerable", a.VulnerableWaiting > 0},
				{a.OpenOffers, "work.count.open_offers", base + "/loket?status=offered", false},
				{a.Open, "work.count.open", base + "/loket", false},
			}
		}
		if dv.Figures {
			figures++
		}
		if dv.Rounds {
			rounds++
		}
		if dv.Crisis {
			crisisDesks++
		}
		if dv.Staff {
			admin++
		}
		v.Desks = append(v.Desks, dv)
	}
	for i, p := range home.Providers {
		base := "/aanbieder/" + p.ID.String()
		pv := providerView{Anchor: "locaties-" + strconv.Itoa(i+1), Name: p.Name, Roles: roleNames(tr, p.Roles), Inbox: base + "/aanvragen", Rounds: base + "/rondes", Crisis: base + "/crisis",
			Staff: base + "/medewerkers", Keys: base + "/sleutels", Webhooks: base + "/webhooks", Admin: p.Admin}
		a := p.Attention
		pv.Counts = []count{
			{a.ToAnswer, "work.count.to_answer", pv.Inbox, false},
			{a.Overdue, "work.count.answers_overdue", pv.Inbox, a.Overdue > 0},
			{a.OpenOffers, "work.count.offers_waiting", pv.Inbox, false},
			{p.Stale, "work.count.places_stale", "#" + pv.Anchor, p.Stale > 0},
		}
		for _, l := range p.Locations {
			lv := locationView{Name: l.Name, Places: catalog.PlacesPath(p.ID, l.ID), Stale: l.Stale, Never: l.LastUpdate.IsZero()}
			if !lv.Never {
				lv.Updated = dayLabel(tr, l.LastUpdate.Year(), int(l.LastUpdate.Month()), l.LastUpdate.Day())
			}
			pv.Locations = append(pv.Locations, lv)
		}
		if p.Admin {
			admin++
		}
		v.Providers = append(v.Providers, pv)
	}
	for _, r := range home.Regions {
		v.Regions = append(v.Regions, regionView{Name: r.Region.Name(tr.Lang()), Figures: "/regio/" + string(r.Region.NIS) + "/cijfers",
			Crisis: "/regio/" + string(r.Region.NIS) + "/crisis"})
		figures++
	}
	if home.Operator {
		admin++
		// An operator may declare a closure in any region (issue 16).
		for _, r := range geo.Regions() {
			v.OperatorCrisis = append(v.OperatorCrisis, regionView{Name: r.Name(tr.Lang()), Crisis: "/regio/" + string(r.NIS) + "/crisis"})
		}
	}
	v.Multi["cijfers"], v.Multi["rondes"], v.Multi["beheer"], v.Multi["crisis"] = figures > 1, rounds > 1, admin > 1, crisisDesks > 1
	c.Set(fiber.HeaderCacheControl, "no-store")
	return h.cfg.Render.Render(c, fiber.StatusOK, "work_home", web.Page{Translator: tr, Title: tr.T("work.home.title"), Data: v})
}
