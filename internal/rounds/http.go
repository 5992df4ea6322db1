package rounds

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/loket-kinderopvang/loket/internal/account"
	"github.com/loket-kinderopvang/loket/internal/allocation"
	"github.com/loket-kinderopvang/loket/internal/catalog"
	"github.com/loket-kinderopvang/loket/internal/platform/authz"
	"github.com/loket-kinderopvang/loket/internal/platform/ids"
	"github.com/loket-kinderopvang/loket/internal/platform/tenancy"
	"github.com/loket-kinderopvang/loket/internal/platform/validate"
	"github.com/loket-kinderopvang/loket/internal/platform/web"
	"github.com/loket-kinderopvang/loket/internal/requests"
	"github.com/loket-kinderopvang/loket/internal/tenant"
)

// Handler serves the round pages of desks and providers.
type Handler struct {
	Service     *Service
	Render      *web.Renderer
	Desks       *tenant.Handler
	Directory   *tenant.Directory
	Authz       *authz.Authorizer
	Catalog     bun.IDB
	RequireUser fiber.Handler
	UserOf      func(*fiber.Ctx) (string, bool)
	// ProviderScope authorises a provider page for the provider's domain or
	// some of its locations; ScopeOf names the provider and those locations.
	ProviderScope func(authz.Permission) fiber.Handler
	ScopeOf       func(*fiber.Ctx) (uuid.UUID, []uuid.UUID)
}

// DeskWork guards the desk's own work over all its families (rounds, a
// crisis): it needs the right to change requests (a read-only sharing
// agreement does not reach it) and is not for partners, who see only their
// referrals. It runs after the desk is resolved.
func DeskWork(az *authz.Authorizer, userOf func(*fiber.Ctx) (string, bool)) (write, staff fiber.Handler) {
	domain := func(c *fiber.Ctx) (string, error) {
		t, ok := tenant.FromRequest(c)
		if !ok {
			return "", web.ErrUnknownDesk
		}
		return authz.Desk(t.Slug), nil
	}
	write = az.Require(authz.RequestsWrite.Object(), authz.RequestsWrite.Action(), domain, userOf)
	staff = func(c *fiber.Ctx) error {
		if d, ok := authz.DecisionOf(c); ok && d.ReferrerOnly {
			return fiber.ErrNotFound
		}
		return c.Next()
	}
	return write, staff
}

// RegisterDesk adds /{tenant}/loket/rondes… to the desk group.
func (h *Handler) RegisterDesk(desk fiber.Router) {
	write, staff := DeskWork(h.Authz, h.UserOf)
	desk.Get("/loket/rondes", h.RequireUser, write, staff, h.list)
	desk.Post("/loket/rondes", h.RequireUser, write, staff, h.create)
	desk.Get("/loket/rondes/:round", h.RequireUser, write, staff, h.show)
	desk.Post("/loket/rondes/:round/publiceren", h.RequireUser, write, staff, h.publish)
}

// RegisterProvider adds /aanbieder/{provider}/rondes (before the /:tenant group).
func (h *Handler) RegisterProvider(app fiber.Router) {
	app.Get("/aanbieder/:provider/rondes", h.RequireUser, h.ProviderScope(authz.RequestsRead), h.proposals)
	app.Post("/aanbieder/:provider/rondes/:desk/:round/:request", h.RequireUser, h.ProviderScope(authz.RequestsWrite), h.answer)
}

func (h *Handler) page(c *fiber.Ctx, status int, name, title string, data any) error {
	c.Set(fiber.HeaderCacheControl, "no-store")
	if t, ok := tenant.FromRequest(c); ok {
		return h.Render.Render(c, status, name, h.Desks.Page(c, t, title, data))
	}
	return h.Render.Render(c, status, name, web.Page{Translator: h.Render.Translator(c), Title: title, Data: data})
}

func (h *Handler) user(c *fiber.Ctx) string {
	id, _ := h.UserOf(c)
	return strings.Clone(id)
}

type listView struct {
	Base, CSRF, From, To string
	// FromMonth and ToMonth pick the window's months in words.
	FromMonth, ToMonth web.Field
	Rounds             []Round
	Errors             []validate.FieldError
}

func (h *Handler) list(c *fiber.Ctx) error { return h.renderList(c, fiber.StatusOK, "", "", nil) }

func (h *Handler) renderList(c *fiber.Ctx, status int, from, to string, es validate.Errors) error {
	t, _ := tenant.FromRequest(c)
	rs, err := h.Service.List(c.UserContext())
	if err != nil {
		return err
	}
	if from == "" {
		next := h.Service.clock.Now().AddDate(0, 1, 0)
		from, to = next.Format("2006-01"), next.AddDate(0, 2, 0).Format("2006-01")
	}
	tr := h.Render.Translator(c)
	// Rounds are for the coming months; a few past ones for a late round.
	since := h.Service.clock.Now().AddDate(0, -3, 0)
	month := func(name, label, value string) web.Field {
		f := web.Field{ID: name, Name: name, Label: tr.T(label), Value: value, Options: tr.MonthOptions(since, 24, value)}
		for _, e := range es {
			if e.Field == name {
				f.Error = tr.T("rounds.error." + e.Code)
			}
		}
		return f
	}
	return h.page(c, status, "rounds_list", tr.T("rounds.title"),
		listView{Base: "/" + t.Slug + "/loket/rondes", CSRF: account.CSRFToken(c), From: from, To: to, Rounds: rs, Errors: es,
			FromMonth: month("from_month", "rounds.from", from), ToMonth: month("to_month", "rounds.to", to)})
}

func (h *Handler) create(c *fiber.Ctx) error {
	from, to := strings.TrimSpace(c.FormValue("from_month")), strings.TrimSpace(c.FormValue("to_month"))
	from, to = strings.Clone(from), strings.Clone(to)
	if es := Window(from, to); len(es) > 0 {
		return h.renderList(c, fiber.StatusUnprocessableEntity, from, to, es)
	}
	r, err := h.Service.DryRun(c.UserContext(), from, to, allocation.Seed(strings.Clone(strings.TrimSpace(c.FormValue("seed")))), h.user(c))
	if err != nil {
		return err
	}
	t, _ := tenant.FromRequest(c)
	return c.Redirect("/"+t.Slug+"/loket/rondes/"+r.ID.String(), fiber.StatusSeeOther)
}

type outcomeRow struct {
	RequestID, Location string
	Child, Request      string // the child's name; the request in words
	Choice              int
	Text                string
}

type fillRow struct {
	Location, Month, Band string
	Capacity, Taken       int
}

type roundView struct {
	// List is the rounds page the round belongs to.
	Base, List, CSRF, Notice string
	Round                    *Round
	Unplaced, Offers         int
	Placed, Nothing          []outcomeRow
	Fill                     []fillRow
	Reproducible             *bool
}

func (h *Handler) load(c *fiber.Ctx) (*Round, error) {
	id, err := ids.Parse[roundKind](c.Params("round"))
	if err != nil {
		return nil, ErrNotFound
	}
	return h.Service.Get(c.UserContext(), id)
}

func (h *Handler) show(c *fiber.Ctx) error {
	r, err := h.load(c)
	if errors.Is(err, ErrNotFound) {
		return fiber.ErrNotFound
	}
	if err != nil {
		return err
	}
	t, _ := tenant.FromRequest(c)
	tr := h.Render.Translator(c)
	v := roundView{Base: "/" + t.Slug + "/loket/rondes/" + r.ID.String(), List: "/" + t.Slug + "/loket/rondes", CSRF: account.CSRFToken(c), Round: r}
	if c.Query("gepubliceerd") != "" {
		v.Notice = tr.T("rounds.published")
	}
	if c.Query("controle") != "" {
		ok, err := h.Service.Rerun(c.UserContext(), r.ID)
		if err != nil {
			return err
		}
		v.Reproducible = &ok
	}
	outs, err := h.Service.Outcomes(c.UserContext(), r.ID)
	if err != nil {
		return err
	}
	inst, err := allocation.DecodeInstance(strings.NewReader(r.Instance))
	if err != nil {
		return err
	}
	names, err := h.locationNames(c.UserContext(), inst.Programmes)
	if err != nil {
		return err
	}
	reqIDs := make([]requests.RequestID, len(outs))
	for i, o := range outs {
		reqIDs[i] = o.RequestID
	}
	labels, err := h.Service.RequestLabels(c.UserContext(), reqIDs)
	if err != nil {
		return err
	}
	if err := h.Service.SeenOnPage(c.UserContext(), h.user(c), reqIDs); err != nil {
		return err
	}
	progs := make([]string, len(inst.Programmes))
	for i, p := range inst.Programmes {
		progs[i] = p.ID
	}
	texts, err := h.Service.Explanations(c.UserContext(), r, tr.Lang())
	if err != nil {
		return err
	}
	for _, o := range outs {
		l := labels[o.RequestID]
		row := outcomeRow{RequestID: o.RequestID.String(), Child: l.ChildName, Request: requestWords(tr, l), Choice: o.Choice, Text: texts[o.RequestID]}
		if o.TextNL != "" { // a round stored before texts were rendered when read
			row.Text = o.TextNL
			if tr.Lang() == "en" {
				row.Text = o.TextEN
			}
		}
		row.Text = readable(tr, names, progs, row.Text)
		if o.LocationID != nil {
			row.Location = names[*o.LocationID]
			v.Placed = append(v.Placed, row)
		} else {
			v.Nothing = append(v.Nothing, row)
		}
	}
	var res allocation.Result
	if err := jsonUnmarshal(r.Result, &res); err != nil {
		return err
	}
	taken := map[string]int{}
	for _, f := range res.Fill {
		taken[f.ProgrammeID] = f.Filled
	}
	for _, p := range inst.Programmes {
		loc, _ := uuid.Parse(p.Location)
		v.Fill = append(v.Fill, fillRow{Location: names[loc], Month: monthWords(tr, p.StartMonth), Band: bandWords(tr, p.AgeBand),
			Capacity: p.Capacity, Taken: taken[p.ID]})
	}
	slices.SortFunc(v.Fill, func(a, b fillRow) int { return strings.Compare(a.Location+a.Month+a.Band, b.Location+b.Month+b.Band) })
	v.Unplaced = len(v.Nothing)
	return h.page(c, fiber.StatusOK, "rounds_round", tr.T("rounds.round.title"), v)
}

// locationNames names the locations of a round's programmes.
func (h *Handler) locationNames(ctx context.Context, programmes []allocation.Programme) (map[uuid.UUID]string, error) {
	out := map[uuid.UUID]string{}
	var ids []uuid.UUID
	for _, p := range programmes {
		if id, err := uuid.Parse(p.Location); err == nil {
			ids = append(ids, id)
		}
	}
	if len(ids) == 0 {
		return out, nil
	}
	var locs []catalog.Location
	if err := h.Catalog.NewSelect().Model(&locs).Column("id", "name").Where("id IN (?)", bun.In(ids)).Scan(ctx); err != nil {
		return nil, fmt.Errorf("rounds: location names: %w", err)
	}
	for _, l := range locs {
		out[l.ID.UUID] = l.Name
	}
	return out, nil
}

func (h *Handler) publish(c *fiber.Ctx) error {
	r, err := h.load(c)
	if errors.Is(err, ErrNotFound) {
		return fiber.ErrNotFound
	}
	if err != nil {
		return err
	}
	if _, err := h.Service.Publish(c.UserContext(), r.ID, h.user(c)); err != nil && !errors.Is(err, ErrPublished) {
		return err
	}
	t, _ := tenant.FromRequest(c)
	return c.Redirect("/"+t.Slug+"/loket/rondes/"+r.ID.String()+"?gepubliceerd=1", fiber.StatusSeeOther)
}

// --- providers ----------------------------------------------------------------

type proposalView struct {
	Base, CSRF, Notice, Problem string
	Items                       []Proposal
	Reasons                     []requests.NoPlaceReason
}

func (h *Handler) providerLocations(c *fiber.Ctx) ([]uuid.UUID, uuid.UUID, error) {
	pid, locs := h.ScopeOf(c)
	return locs, pid, nil
}

func (h *Handler) proposals(c *fiber.Ctx) error {
	return h.renderProposals(c, fiber.StatusOK, "", "")
}

func (h *Handler) renderProposals(c *fiber.Ctx, status int, notice, problem string) error {
	locs, pid, err := h.providerLocations(c)
	if err != nil {
		return err
	}
	items, err := h.Service.ProposalsSeen(c.UserContext(), h.Directory.All(), locs,
		requests.Actor{Kind: requests.ActorProvider, ID: h.user(c)}, authz.Provider(pid.String()))
	if err != nil {
		return err
	}
	tr := h.Render.Translator(c)
	return h.page(c, status, "rounds_provider", tr.T("rounds.provider.title"), proposalView{Base: "/aanbieder/" + pid.String() + "/rondes",
		CSRF: account.CSRFToken(c), Items: items, Notice: notice, Problem: problem, Reasons: requests.NoPlaceReasons})
}

func (h *Handler) answer(c *fiber.Ctx) error {
	locs, _, err := h.providerLocations(c)
	if err != nil {
		return err
	}
	desk, ok := h.Directory.BySlug(c.Params("desk"))
	round, err1 := ids.Parse[roundKind](c.Params("round"))
	req, err2 := uuid.Parse(c.Params("request"))
	if !ok || err1 != nil || err2 != nil {
		return fiber.ErrNotFound
	}
	ctx := tenancy.WithTenant(c.UserContext(), desk.ID)
	actor := requests.Actor{Kind: requests.ActorProvider, ID: h.user(c)}
	tr := h.Render.Translator(c)
	if c.FormValue("decision") == "confirm" {
		err = h.Service.Confirm(ctx, round, requests.RequestID{UUID: req}, locs, actor)
	} else {
		err = h.Service.Refuse(ctx, round, requests.RequestID{UUID: req}, locs, requests.NoPlaceReason(strings.Clone(c.FormValue("reason"))), actor)
	}
	switch {
	case errors.Is(err, ErrNotFound), errors.Is(err, requests.ErrNotFound):
		return fiber.ErrNotFound
	case err != nil:
		if _, ok := validate.As(err); ok || errors.Is(err, requests.ErrTransition) {
			return h.renderProposals(c, fiber.StatusUnprocessableEntity, "", tr.T("rounds.provider.failed"))
		}
		return err
	}
	return h.renderProposals(c, fiber.StatusOK, tr.T("rounds.provider.done"), "")
}
