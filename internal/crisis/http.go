package crisis

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/loket-kinderopvang/loket/internal/account"
	"github.com/loket-kinderopvang/loket/internal/catalog"
	"github.com/loket-kinderopvang/loket/internal/eventlog"
	"github.com/loket-kinderopvang/loket/internal/geo"
	"github.com/loket-kinderopvang/loket/internal/platform/authz"
	"github.com/loket-kinderopvang/loket/internal/platform/validate"
	"github.com/loket-kinderopvang/loket/internal/platform/web"
	"github.com/loket-kinderopvang/loket/internal/reports"
	"github.com/loket-kinderopvang/loket/internal/requests"
	"github.com/loket-kinderopvang/loket/internal/rounds"
	"github.com/loket-kinderopvang/loket/internal/tenant"
)

// Handler serves the crisis pages of a desk under /{tenant}/loket/crisis.
type Handler struct {
	Service     *Service
	Render      *web.Renderer
	Desks       *tenant.Handler
	Authz       *authz.Authorizer
	RequireUser fiber.Handler
	UserOf      func(*fiber.Ctx) (string, bool)
	// Audit records a regional coordinator's read of a desk's figures in
	// that desk's event log (eventlog.CrossTenantLog.LogCrossTenant).
	Audit func(ctx context.Context, user, fromDomain, toDomain, action, agreement string) error
}

// PathOf is a desk's crisis page.
func PathOf(slug string) string { return "/" + slug + "/loket/crisis" }

// RegisterDesk adds the crisis pages to the desk group: like rounds, the
// desk's own work over all its families (rounds.DeskWork).
func (h *Handler) RegisterDesk(desk fiber.Router) {
	write, staff := rounds.DeskWork(h.Authz, h.UserOf)
	mw := []fiber.Handler{h.RequireUser, write, staff}
	desk.Get("/loket/crisis", append(mw, h.list)...)
	desk.Post("/loket/crisis", append(mw, h.declare)...)
	desk.Get("/loket/crisis/:closure", append(mw, h.show)...)
	desk.Post("/loket/crisis/:closure/gezin", append(mw, h.addFamily)...)
	desk.Post("/loket/crisis/:closure/lijst", append(mw, h.addList)...)
	desk.Post("/loket/crisis/:closure/proefronde", append(mw, h.dryRun)...)
	desk.Post("/loket/crisis/:closure/publiceren", append(mw, h.publish)...)
	desk.Post("/loket/crisis/:closure/beeindigen", append(mw, h.end)...)
	desk.Get("/loket/crisis/:closure/rapport.:format", append(mw, h.export)...)
	desk.Get("/loket/crisis/:closure/brieven", append(mw, h.letters)...)
}

func (h *Handler) page(c *fiber.Ctx, status int, name, title string, data any) error {
	c.Set(fiber.HeaderCacheControl, "no-store")
	t, _ := tenant.FromRequest(c)
	return h.Render.Render(c, status, name, h.Desks.Page(c, t, title, data))
}

func (h *Handler) actor(c *fiber.Ctx) requests.Actor {
	id, _ := h.UserOf(c)
	return requests.Actor{Kind: requests.ActorDesk, ID: strings.Clone(id)}
}

// regions are the regions (arrondissements) of the desk's municipalities.
func regionsOf(t tenant.Tenant) []string {
	var out []string
	for _, n := range t.Municipalities {
		if m, ok := geo.LookupMunicipality(n); ok && !slices.Contains(out, string(m.RegionNIS)) {
			out = append(out, string(m.RegionNIS))
		}
	}
	return out
}

type listView struct {
	Base, CSRF string
	Closures   []closureLine
	Form       declareForm
	Errors     []web.ErrorLink
}

type closureLine struct {
	Href, Location, From, Until, State string
}

type declareForm struct {
	Location, From, Until, Reason, Radius web.Field
	Public                                web.Choice
}

func (h *Handler) list(c *fiber.Ctx) error {
	return h.renderList(c, fiber.StatusOK, Declaration{Public: true}, nil)
}

func (h *Handler) renderList(c *fiber.Ctx, status int, d Declaration, es validate.Errors) error {
	t, _ := tenant.FromRequest(c)
	tr := h.Render.Translator(c)
	ctx := c.UserContext()
	cs, err := h.Service.List(ctx, regionsOf(t))
	if err != nil {
		return err
	}
	base := PathOf(t.Slug)
	v := listView{Base: base, CSRF: account.CSRFToken(c)}
	for _, cl := range cs {
		line := closureLine{Href: base + "/" + cl.ID.String(), Location: cl.LocationName, From: tr.Date(cl.FromDate),
			State: tr.T("crisis.state.in_force")}
		if cl.UntilDate != nil {
			line.Until = tr.Date(*cl.UntilDate)
		}
		if !cl.InForce() {
			line.State = tr.T("crisis.state.ended")
		}
		v.Closures = append(v.Closures, line)
	}
	// The desk declares closures of locations in its own area.
	v.Form, v.Errors, err = h.declareForm(c, t.Municipalities, d, es)
	if err != nil {
		return err
	}
	return h.page(c, status, "crisis_list", tr.T("crisis.title"), v)
}

// declareForm is the form to declare a closure of an open location in the
// given municipalities, with the errors of a first try.
func (h *Handler) declareForm(c *fiber.Ctx, area []geo.NISCode, d Declaration, es validate.Errors) (declareForm, []web.ErrorLink, error) {
	tr := h.Render.Translator(c)
	var locs []catalog.Location
	if len(area) > 0 {
		if err := h.Service.o.DB.NewSelect().Model(&locs).Column("id", "name").
			Where("municipality_nis IN (?)", bun.In(area)).Where(catalog.NotClosed("location.id")).
			OrderExpr("name").Limit(2000).Scan(c.UserContext()); err != nil {
			return declareForm{}, nil, fmt.Errorf("crisis: locations of the area: %w", err)
		}
	}
	var links []web.ErrorLink
	msg := map[string]string{}
	for _, e := range es {
		if _, ok := msg[e.Field]; !ok {
			msg[e.Field] = tr.T("crisis.error." + e.Code)
			links = append(links, web.ErrorLink{Anchor: "f-" + e.Field, Message: msg[e.Field]})
		}
	}
	opts := []web.Option{{Value: "", Label: tr.T("crisis.choose_location")}}
	for _, l := range locs {
		opts = append(opts, web.Option{Value: l.ID.String(), Label: l.Name, Selected: l.ID.String() == d.LocationID})
	}
	radius := ""
	if d.RadiusKm > 0 {
		radius = strconv.Itoa(d.RadiusKm)
	}
	field := func(name, value string) web.Field {
		return web.Field{ID: "f-" + name, Name: name, Label: tr.T("crisis.field." + name), Hint: tr.T("crisis.hint." + name), Value: value, Error: msg[name]}
	}
	f := declareForm{Location: field("location_id", d.LocationID), From: field("from", d.From), Until: field("until", d.Until),
		Reason: field("reason", d.Reason), Radius: field("radius_km", radius),
		Public: web.Choice{ID: "f-public", Name: "public", Value: "1", Label: tr.T("crisis.field.public"), Checked: d.Public}}
	f.Location.Options = opts
	f.From.Type, f.Until.Type, f.Radius.InputMode = "date", "date", "numeric"
	return f, links, nil
}

// declaration reads the declare form.
func declaration(c *fiber.Ctx) Declaration {
	d := Declaration{LocationID: strings.Clone(c.FormValue("location_id")), From: strings.Clone(c.FormValue("from")),
		Until: strings.Clone(c.FormValue("until")), Reason: strings.Clone(c.FormValue("reason")), Public: c.FormValue("public") == "1"}
	if r := strings.TrimSpace(c.FormValue("radius_km")); r != "" {
		n, err := strconv.Atoi(r)
		if err != nil {
			n = -1
		}
		d.RadiusKm = n
	}
	return d
}

func (h *Handler) declare(c *fiber.Ctx) error {
	t, _ := tenant.FromRequest(c)
	d := declaration(c)
	cl, err := h.Service.Declare(c.UserContext(), d, h.actor(c))
	if es, ok := validate.As(err); ok {
		return h.renderList(c, fiber.StatusUnprocessableEntity, d, es)
	}
	if err != nil {
		return err
	}
	return c.Redirect(PathOf(t.Slug)+"/"+cl.ID.String(), fiber.StatusSeeOther)
}

func (h *Handler) load(c *fiber.Ctx) (*Closure, error) {
	id, err := ParseID(c.Params("closure"))
	if err != nil {
		return nil, fiber.ErrNotFound
	}
	cl, err := h.Service.Get(c.UserContext(), id)
	if errors.Is(err, ErrNotFound) {
		return nil, fiber.ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	// A desk sees the closures of its region only.
	t, _ := tenant.FromRequest(c)
	if !slices.Contains(regionsOf(t), cl.RegionNIS) {
		return nil, fiber.ErrNotFound
	}
	return cl, nil
}

type familyLine struct {
	Child, Cause, State, Location, Href string
}

type dayLine struct {
	Date string
	Counts
}

type closureView struct {
	Base, CSRF, Notice, Round, Location, From, Until, Reason string
	InForce, Public, HasRound, Published                     bool
	Total                                                    Counts
	Days                                                     []dayLine
	Families                                                 []familyLine
	Proposals                                                int
	Outside                                                  outsideForm
	File                                                     web.Field
	Errors                                                   []web.ErrorLink
}

type outsideForm struct {
	ChildFirst, ChildLast, Birth, ParentFirst, ParentLast, Email, Phone, Start web.Field
	Days                                                                       web.Group
}

func (h *Handler) show(c *fiber.Ctx) error {
	return h.renderShow(c, fiber.StatusOK, OutsideFamily{}, nil)
}

func (h *Handler) renderShow(c *fiber.Ctx, status int, f OutsideFamily, es validate.Errors) error {
	cl, err := h.load(c)
	if err != nil {
		return err
	}
	t, _ := tenant.FromRequest(c)
	tr := h.Render.Translator(c)
	ctx := c.UserContext()
	base := PathOf(t.Slug) + "/" + cl.ID.String()
	v := closureView{Base: base, CSRF: account.CSRFToken(c), Location: cl.LocationName, From: tr.Date(cl.FromDate),
		Reason: cl.Reason, InForce: cl.InForce(), Public: cl.Public}
	if cl.UntilDate != nil {
		v.Until = tr.Date(*cl.UntilDate)
	}
	switch {
	case c.Query("gepubliceerd") != "":
		v.Notice = tr.T("crisis.notice.published", "N", c.Query("gepubliceerd"))
	case c.Query("toegevoegd") != "":
		v.Notice = tr.T("crisis.notice.added", "N", c.Query("toegevoegd"))
	case c.Query("proef") != "":
		v.Notice = tr.T("crisis.notice.dry_run")
	}
	if cl.RoundID != nil {
		v.HasRound = true
		v.Round = "/" + t.Slug + "/loket/rondes/" + cl.RoundID.String()
		if r, err := h.Service.o.Rounds.Get(ctx, rounds.ID{UUID: *cl.RoundID}); err == nil {
			v.Published = r.Status == rounds.StatusPublished
			v.Proposals = r.Placed
		}
	}
	// The board of this desk: its own families (desk data stays with the desk).
	b, err := h.Service.BoardFor(ctx, cl.ID, []tenant.Tenant{t})
	if err != nil {
		return err
	}
	v.Total = b.Total
	for _, d := range b.Days {
		v.Days = append(v.Days, dayLine{Date: tr.Date(d.Date), Counts: d.Counts})
	}
	rows, err := h.Service.FamiliesSeen(ctx, cl.ID, h.actor(c))
	if err != nil {
		return err
	}
	for _, r := range rows {
		v.Families = append(v.Families, familyLine{Child: r.ChildFirstName + " " + r.ChildLastName, Cause: tr.T("crisis.cause." + r.Cause),
			State: tr.T("crisis.family." + r.State), Location: r.LocationName, Href: "/" + t.Slug + "/loket/aanvragen/" + r.RequestID.String()})
	}
	msg := map[string]string{}
	for _, e := range es {
		if e.Field == "file" {
			text := tr.T("crisis.error.upload")
			if e.Code == "line" {
				text = e.Message // already in the reader's language
			}
			msg["file"] = text
			v.Errors = append(v.Errors, web.ErrorLink{Anchor: "f-file", Message: text})
			continue
		}
		name := outsideField(e.Field)
		if _, ok := msg[name]; !ok {
			msg[name] = tr.T("crisis.error.outside")
			v.Errors = append(v.Errors, web.ErrorLink{Anchor: "f-" + name, Message: tr.T("crisis.field."+name) + ": " + msg[name]})
		}
	}
	field := func(name, value, typ string) web.Field {
		return web.Field{ID: "f-" + name, Name: name, Label: tr.T("crisis.field." + name), Value: value, Error: msg[name], Type: typ}
	}
	v.Outside = outsideForm{ChildFirst: field("first_name", f.ChildFirstName, ""), ChildLast: field("last_name", f.ChildLastName, ""),
		Birth: field("birth_date", f.BirthDate, "date"), ParentFirst: field("parent_first_name", f.ParentFirstName, ""),
		ParentLast: field("parent_last_name", f.ParentLastName, ""), Email: field("email", f.Email, "email"),
		Phone: field("phone", f.Phone, "tel"), Start: field("start", f.Start, "date")}
	v.File = web.Field{ID: "f-file", Name: "file", Type: "file", Label: tr.T("crisis.field.file"), Hint: tr.T("crisis.hint.file"), Error: msg["file"]}
	v.Outside.Days = web.Group{ID: "f-days", Legend: tr.T("crisis.field.days"), Error: msg["days"]}
	for _, d := range requests.Weekdays[:5] {
		v.Outside.Days.Items = append(v.Outside.Days.Items, web.Choice{ID: "f-days-" + d, Name: "days", Value: d,
			Label: tr.T("crisis.day." + d), Checked: slices.Contains(f.Days, d)})
	}
	return h.page(c, status, "crisis_closure", tr.T("crisis.closure.title", "Location", cl.LocationName), v)
}

func (h *Handler) addFamily(c *fiber.Ctx) error {
	cl, err := h.load(c)
	if err != nil {
		return err
	}
	form, err := c.MultipartForm()
	var days []string
	if err == nil {
		days = slices.Clone(form.Value["days"])
	} else {
		c.Request().PostArgs().VisitAll(func(k, v []byte) {
			if string(k) == "days" {
				days = append(days, string(v))
			}
		})
	}
	t, _ := tenant.FromRequest(c)
	f := OutsideFamily{ChildFirstName: strings.Clone(c.FormValue("first_name")), ChildLastName: strings.Clone(c.FormValue("last_name")),
		BirthDate: strings.Clone(c.FormValue("birth_date")), ParentFirstName: strings.Clone(c.FormValue("parent_first_name")),
		ParentLastName: strings.Clone(c.FormValue("parent_last_name")), Email: strings.Clone(c.FormValue("email")),
		Phone: strings.Clone(c.FormValue("phone")), Start: strings.Clone(c.FormValue("start")), Days: days,
		Language: t.Settings.Languages[0]}
	if len(t.Municipalities) > 0 {
		f.MunicipalityNIS = string(t.Municipalities[0])
	}
	_, err = h.Service.AddOutside(c.UserContext(), cl.ID, f, h.actor(c))
	if es, ok := validate.As(err); ok {
		return h.renderShow(c, fiber.StatusUnprocessableEntity, f, es)
	}
	if err != nil {
		return err
	}
	return c.Redirect(PathOf(t.Slug)+"/"+cl.ID.String()+"?toegevoegd=1", fiber.StatusSeeOther)
}

// addList takes a provider's list of outside families (CSV upload).
func (h *Handler) addList(c *fiber.Ctx) error {
	cl, err := h.load(c)
	if err != nil {
		return err
	}
	t, _ := tenant.FromRequest(c)
	tr := h.Render.Translator(c)
	fh, err := c.FormFile("file")
	if err != nil {
		return h.renderShow(c, fiber.StatusUnprocessableEntity, OutsideFamily{},
			validate.Errors{{Field: "file", Code: "upload", Message: "choose a file"}})
	}
	f, err := fh.Open()
	if err != nil {
		return fmt.Errorf("crisis: uploaded list: %w", err)
	}
	defer f.Close()
	nis := ""
	if len(t.Municipalities) > 0 {
		nis = string(t.Municipalities[0])
	}
	added, bad, err := h.Service.AddOutsideList(c.UserContext(), cl.ID, f, nis, h.actor(c))
	if es, ok := validate.As(err); ok {
		return h.renderShow(c, fiber.StatusUnprocessableEntity, OutsideFamily{}, es)
	}
	if err != nil {
		return err
	}
	if len(bad) > 0 {
		var es validate.Errors
		for _, b := range bad {
			es = append(es, validate.FieldError{Field: "file", Code: "line", Message: tr.T("crisis.error.line", "Line", b.Line)})
		}
		return h.renderShow(c, fiber.StatusUnprocessableEntity, OutsideFamily{}, es)
	}
	return c.Redirect(PathOf(t.Slug)+"/"+cl.ID.String()+"?toegevoegd="+strconv.Itoa(added), fiber.StatusSeeOther)
}

func (h *Handler) dryRun(c *fiber.Ctx) error {
	cl, err := h.load(c)
	if err != nil {
		return err
	}
	if _, err := h.Service.DryRun(c.UserContext(), cl.ID, h.actor(c).String()); err != nil && !errors.Is(err, ErrEnded) {
		return err
	}
	t, _ := tenant.FromRequest(c)
	return c.Redirect(PathOf(t.Slug)+"/"+cl.ID.String()+"?proef=1", fiber.StatusSeeOther)
}

func (h *Handler) publish(c *fiber.Ctx) error {
	cl, err := h.load(c)
	if err != nil {
		return err
	}
	n, err := h.Service.Publish(c.UserContext(), cl.ID, h.actor(c))
	if err != nil && !errors.Is(err, rounds.ErrPublished) && !errors.Is(err, ErrNoRound) {
		return err
	}
	t, _ := tenant.FromRequest(c)
	return c.Redirect(PathOf(t.Slug)+"/"+cl.ID.String()+"?gepubliceerd="+strconv.Itoa(n), fiber.StatusSeeOther)
}

func (h *Handler) end(c *fiber.Ctx) error {
	cl, err := h.load(c)
	if err != nil {
		return err
	}
	if err := h.Service.End(c.UserContext(), cl.ID, h.actor(c).String()); err != nil && !errors.Is(err, ErrEnded) {
		return err
	}
	t, _ := tenant.FromRequest(c)
	return c.Redirect(PathOf(t.Slug)+"/"+cl.ID.String(), fiber.StatusSeeOther)
}

// export is the crisis report of the desk's families, as a workbook or the
// CSV of its first sheet, written by the code of the yearly figures.
func (h *Handler) export(c *fiber.Ctx) error {
	cl, err := h.load(c)
	if err != nil {
		return err
	}
	t, _ := tenant.FromRequest(c)
	b, err := h.Service.BoardFor(c.UserContext(), cl.ID, []tenant.Tenant{t})
	if err != nil {
		return err
	}
	return writeReport(c, b)
}

// writeReport sends the crisis report as a workbook or the CSV of its first
// sheet, written by the code of the yearly figures.
func writeReport(c *fiber.Ctx, b *Board) error {
	name := "crisis-" + b.Closure.FromDate.Format("2006-01-02")
	format := c.Params("format")
	c.Set(fiber.HeaderCacheControl, "no-store")
	c.Set(fiber.HeaderContentDisposition, fmt.Sprintf(`attachment; filename="%s.%s"`, name, format))
	switch format {
	case "xlsx":
		c.Set(fiber.HeaderContentType, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
		return reports.WriteSheetsXLSX(c.Response().BodyWriter(), b.Report())
	case "csv":
		csvFormat, err := reports.CSVFormatOf(c)
		if err != nil {
			return err
		}
		c.Set(fiber.HeaderContentType, "text/csv; charset=utf-8")
		return reports.WriteSheetCSV(c.Response().BodyWriter(), b.Report()[0], csvFormat)
	}
	return fiber.ErrNotFound
}

// outsideField maps a field of the request submission to the quick-entry
// form's field.
func outsideField(f string) string {
	switch {
	case strings.HasPrefix(f, "child."):
		return strings.TrimPrefix(f, "child.")
	case strings.HasPrefix(f, "parents"):
		_, name, _ := strings.Cut(f, ".")
		if name == "email" || name == "phone" {
			return name
		}
		return "parent_" + name
	case strings.HasPrefix(f, "care_plan.days"):
		return "days"
	case f == "desired_start":
		return "start"
	}
	return "first_name"
}

type lettersView struct {
	Back    string
	Letters []Letter
}

// letters is the printable letters for the affected families without an
// e-mail address, each in the family's language.
func (h *Handler) letters(c *fiber.Ctx) error {
	cl, err := h.load(c)
	if err != nil {
		return err
	}
	t, _ := tenant.FromRequest(c)
	ls, err := h.Service.Letters(c.UserContext(), t, cl.ID)
	if err != nil {
		return err
	}
	// The letters carry names and addresses: each is a look.
	ids := make([]requests.RequestID, len(ls))
	for i, l := range ls {
		ids[i] = l.RequestID
	}
	if err := h.Service.o.Requests.LookedAt(c.UserContext(), requests.Look{Actor: h.actor(c), What: eventlog.LookCrisisLetter}, ids); err != nil {
		return err
	}
	tr := h.Render.Translator(c)
	return h.page(c, fiber.StatusOK, "crisis_letters", tr.T("crisis.letters.title", "Location", cl.LocationName),
		lettersView{Back: PathOf(t.Slug) + "/" + cl.ID.String(), Letters: ls})
}

// regionGuard lets an operator in as well as the region's coordinator: the
// platform's operator is one of the contact points who may have to declare a
// closure for any region (counts only on these pages, never a family).
func (h *Handler) regionGuard(coordinator fiber.Handler) fiber.Handler {
	return func(c *fiber.Ctx) error {
		if _, err := reports.RegionDomain(c); err != nil {
			return err
		}
		if user, ok := h.UserOf(c); ok {
			if op, err := h.Authz.Allowed(user, authz.Platform, authz.RegionsManage); err != nil {
				return fmt.Errorf("crisis: is %s an operator: %w", user, err)
			} else if op {
				return c.Next()
			}
		}
		return coordinator(c)
	}
}

// RegionPath is a region's crisis page.
func RegionPath(nis string) string { return "/regio/" + nis + "/crisis" }

// RegisterRegion adds the regional coordinator's crisis pages (platform
// paths, before the /:tenant group): the closures of the region and the
// board of each, counts only (by desk and by day), never a family.
func (h *Handler) RegisterRegion(app fiber.Router) {
	guard := []fiber.Handler{h.RequireUser, h.regionGuard(
		h.Authz.Require(authz.ReportsAggregate.Object(), authz.ReportsAggregate.Action(), reports.RegionDomain, h.UserOf))}
	app.Get("/regio/:nis/crisis", append(guard, h.regionList)...)
	app.Post("/regio/:nis/crisis", append(guard, h.regionDeclare)...)
	app.Get("/regio/:nis/crisis/:closure", append(guard, h.regionBoard)...)
	app.Get("/regio/:nis/crisis/:closure/rapport.:format", append(guard, h.regionExport)...)
}

type regionView struct {
	Region, Base string
	CSRF         string
	Form         declareForm
	Errors       []web.ErrorLink
	Closures     []closureLine
	Board        *regionBoardView
	XLSX, CSV    string
}

type regionBoardView struct {
	Location, From, Until, Reason string
	InForce                       bool
	Total                         Counts
	Desks                         []deskLine
	Days                          []dayLine
	Places                        []placeLine
}

type deskLine struct {
	Name string
	Counts
}

type placeLine struct {
	Location string
	N        int
}

func (h *Handler) regionPage(c *fiber.Ctx, status int, title string, v regionView) error {
	c.Set(fiber.HeaderCacheControl, "no-store")
	return h.Render.Render(c, status, "crisis_region", web.Page{Translator: h.Render.Translator(c), Title: title, Data: v})
}

func (h *Handler) regionList(c *fiber.Ctx) error {
	return h.renderRegionList(c, fiber.StatusOK, Declaration{Public: true}, nil)
}

// regionDeclare: a regional coordinator declares a closure of a location of
// her region; the desks of its families are told as for any closure.
func (h *Handler) regionDeclare(c *fiber.Ctx) error {
	d := declaration(c)
	nis := strings.Clone(c.Params("nis"))
	r, _ := geo.LookupRegion(geo.NISCode(nis))
	var n int64
	if id, err := uuid.Parse(d.LocationID); err == nil {
		n, err = h.Service.o.DB.NewSelect().Model((*catalog.Location)(nil)).Where("id = ?", id).
			Where("municipality_nis IN (?)", bun.In(r.Municipalities)).Count(c.UserContext())
		if err != nil {
			return err
		}
	}
	if n == 0 {
		d.LocationID = "" // only a location of her region
	}
	user, _ := h.UserOf(c)
	cl, err := h.Service.Declare(c.UserContext(), d, requests.Actor{Kind: ActorCoordinator, ID: strings.Clone(user)})
	if es, ok := validate.As(err); ok {
		return h.renderRegionList(c, fiber.StatusUnprocessableEntity, d, es)
	}
	if err != nil {
		return err
	}
	return c.Redirect(RegionPath(nis)+"/"+cl.ID.String(), fiber.StatusSeeOther)
}

func (h *Handler) renderRegionList(c *fiber.Ctx, status int, d Declaration, es validate.Errors) error {
	nis := strings.Clone(c.Params("nis"))
	r, _ := geo.LookupRegion(geo.NISCode(nis))
	tr := h.Render.Translator(c)
	cs, err := h.Service.List(c.UserContext(), []string{nis})
	if err != nil {
		return err
	}
	v := regionView{Region: r.Name(tr.Lang()), Base: RegionPath(nis), CSRF: account.CSRFToken(c)}
	if v.Form, v.Errors, err = h.declareForm(c, r.Municipalities, d, es); err != nil {
		return err
	}
	for _, cl := range cs {
		line := closureLine{Href: v.Base + "/" + cl.ID.String(), Location: cl.LocationName, From: tr.Date(cl.FromDate), State: tr.T("crisis.state.in_force")}
		if cl.UntilDate != nil {
			line.Until = tr.Date(*cl.UntilDate)
		}
		if !cl.InForce() {
			line.State = tr.T("crisis.state.ended")
		}
		v.Closures = append(v.Closures, line)
	}
	return h.regionPage(c, status, tr.T("crisis.region.title", "Region", v.Region), v)
}

// regionBoardOf reads the board of a closure of the region in the path over
// the region's desks, each read logged in that desk's event log.
func (h *Handler) regionBoardOf(c *fiber.Ctx) (*Board, error) {
	nis := strings.Clone(c.Params("nis"))
	id, err := ParseID(c.Params("closure"))
	if err != nil {
		return nil, fiber.ErrNotFound
	}
	cl, err := h.Service.Get(c.UserContext(), id)
	if errors.Is(err, ErrNotFound) || (err == nil && cl.RegionNIS != nis) {
		return nil, fiber.ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	desks := h.Service.involved(cl)
	user, _ := h.UserOf(c)
	for _, d := range desks {
		if err := h.Audit(c.UserContext(), strings.Clone(user), authz.Region(nis), authz.Desk(d.Slug), "crisis.board", ""); err != nil {
			return nil, err
		}
	}
	return h.Service.BoardFor(c.UserContext(), id, desks)
}

func (h *Handler) regionBoard(c *fiber.Ctx) error {
	b, err := h.regionBoardOf(c)
	if err != nil {
		return err
	}
	nis := strings.Clone(c.Params("nis"))
	r, _ := geo.LookupRegion(geo.NISCode(nis))
	tr := h.Render.Translator(c)
	cl := b.Closure
	base := RegionPath(nis) + "/" + cl.ID.String()
	bv := &regionBoardView{Location: cl.LocationName, From: tr.Date(cl.FromDate), Reason: cl.Reason, InForce: cl.InForce(), Total: b.Total}
	if cl.UntilDate != nil {
		bv.Until = tr.Date(*cl.UntilDate)
	}
	for _, d := range b.Desks {
		bv.Desks = append(bv.Desks, deskLine{Name: d.Desk.DisplayName(tr.Lang()), Counts: d.Counts})
	}
	for _, d := range b.Days {
		bv.Days = append(bv.Days, dayLine{Date: tr.Date(d.Date), Counts: d.Counts})
	}
	for name, n := range b.Places {
		bv.Places = append(bv.Places, placeLine{Location: name, N: n})
	}
	slices.SortFunc(bv.Places, func(a, b placeLine) int { return strings.Compare(a.Location, b.Location) })
	v := regionView{Region: r.Name(tr.Lang()), Base: RegionPath(nis), Board: bv, XLSX: base + "/rapport.xlsx", CSV: base + "/rapport.csv"}
	return h.regionPage(c, fiber.StatusOK, tr.T("crisis.closure.title", "Location", cl.LocationName), v)
}

func (h *Handler) regionExport(c *fiber.Ctx) error {
	b, err := h.regionBoardOf(c)
	if err != nil {
		return err
	}
	return writeReport(c, b)
}

// --- providers ----------------------------------------------------------------

// ProviderPages serves a provider's crisis page under /aanbieder/{provider}/crisis:
// declare that one of its locations closes, and announce emergency places
// at its other locations for a closure nearby. Proposals to confirm or
// refuse are on the provider's rounds page, as for any round.
type ProviderPages struct {
	*Handler
	// Scope authorises the page for the provider's domain or some of its
	// locations; ScopeOf names the provider and those locations.
	Scope   func(authz.Permission) fiber.Handler
	ScopeOf func(*fiber.Ctx) (uuid.UUID, []uuid.UUID)
}

// ProviderPath is a provider's crisis page.
func ProviderPath(provider string) string { return "/aanbieder/" + provider + "/crisis" }

// RegisterProvider adds the provider's crisis routes (before /:tenant).
func (h *ProviderPages) RegisterProvider(app fiber.Router) {
	may := h.Scope(authz.AvailabilityWrite)
	app.Get("/aanbieder/:provider/crisis", h.RequireUser, may, h.providerPage)
	app.Post("/aanbieder/:provider/crisis", h.RequireUser, may, h.providerDeclare)
	app.Post("/aanbieder/:provider/crisis/noodplaatsen", h.RequireUser, may, h.providerAnnounce)
}

type providerView struct {
	Base, CSRF, Notice string
	Errors             []web.ErrorLink
	Closures           []providerClosure
	Declare            declareForm
	Emergency          emergencyForm
}

type providerClosure struct {
	Location, From, Until string
}

type emergencyForm struct {
	Closure, Location, Month, Band, Places, Until web.Field
}

func (h *ProviderPages) locations(c *fiber.Ctx) ([]catalog.Location, error) {
	_, ids := h.ScopeOf(c)
	if len(ids) == 0 {
		return nil, nil
	}
	var locs []catalog.Location
	err := h.Service.o.DB.NewSelect().Model(&locs).Column("id", "name", "municipality_nis").Where("id IN (?)", bun.In(ids)).
		OrderExpr("name").Scan(c.UserContext())
	return locs, err
}

func (h *ProviderPages) providerPage(c *fiber.Ctx) error {
	return h.renderProvider(c, fiber.StatusOK, "", Declaration{Public: true}, "", EmergencyInput{}, nil)
}

func (h *ProviderPages) renderProvider(c *fiber.Ctx, status int, notice string, d Declaration, closure string, e EmergencyInput, es validate.Errors) error {
	pid, _ := h.ScopeOf(c)
	tr := h.Render.Translator(c)
	locs, err := h.locations(c)
	if err != nil {
		return err
	}
	var regions []string
	for _, l := range locs {
		if m, ok := geo.LookupMunicipality(l.MunicipalityNIS); ok && !slices.Contains(regions, string(m.RegionNIS)) {
			regions = append(regions, string(m.RegionNIS))
		}
	}
	cs, err := h.Service.List(c.UserContext(), regions)
	if err != nil {
		return err
	}
	base := ProviderPath(pid.String())
	v := providerView{Base: base, CSRF: account.CSRFToken(c), Notice: notice}
	var closures []web.Option
	for _, cl := range cs {
		if !cl.InForce() {
			continue
		}
		closures = append(closures, web.Option{Value: cl.ID.String(), Label: cl.LocationName, Selected: cl.ID.String() == closure})
		pc := providerClosure{Location: cl.LocationName, From: tr.Date(cl.FromDate)}
		if cl.UntilDate != nil {
			pc.Until = tr.Date(*cl.UntilDate)
		}
		v.Closures = append(v.Closures, pc)
	}
	msg := map[string]string{}
	for _, e := range es {
		if _, ok := msg[e.Field]; !ok {
			msg[e.Field] = tr.T("crisis.error." + e.Code)
			v.Errors = append(v.Errors, web.ErrorLink{Anchor: "f-" + e.Field, Message: msg[e.Field]})
		}
	}
	field := func(name, value string) web.Field {
		return web.Field{ID: "f-" + name, Name: name, Label: tr.T("crisis.field." + name), Value: value, Error: msg[name]}
	}
	own := func(selected string) []web.Option {
		opts := []web.Option{{Value: "", Label: tr.T("crisis.choose_location")}}
		for _, l := range locs {
			opts = append(opts, web.Option{Value: l.ID.String(), Label: l.Name, Selected: l.ID.String() == selected})
		}
		return opts
	}
	v.Declare = declareForm{Location: field("location_id", d.LocationID), From: field("from", d.From), Until: field("until", d.Until),
		Reason: field("reason", d.Reason), Public: web.Choice{ID: "f-public", Name: "public", Value: "1", Label: tr.T("crisis.field.public"), Checked: d.Public}}
	v.Declare.Location.Options = own(d.LocationID)
	v.Declare.From.Type, v.Declare.Until.Type = "date", "date"
	v.Emergency = emergencyForm{Closure: field("closure_id", closure), Location: field("emergency_location", e.LocationID), Month: field("start_month", e.StartMonth),
		Band: field("age_band", e.AgeBand), Places: field("places", ""), Until: field("emergency_until", e.Until)}
	if e.Places > 0 {
		v.Emergency.Places.Value = strconv.Itoa(e.Places)
	}
	v.Emergency.Location.Options = own(e.LocationID)
	v.Emergency.Closure.Options = closures
	v.Emergency.Month.Options = tr.MonthsFrom(h.Service.o.Clock.Now(), 6, e.StartMonth+"-01")
	for _, b := range catalog.AgeBands {
		v.Emergency.Band.Options = append(v.Emergency.Band.Options, web.Option{Value: string(b), Label: tr.T("rounds.band." + string(b)), Selected: string(b) == e.AgeBand})
	}
	v.Emergency.Places.InputMode, v.Emergency.Until.Type = "numeric", "date"
	return h.Render.Render(c, status, "crisis_provider", web.Page{Translator: tr, Title: tr.T("crisis.provider.title"), Data: v})
}

func (h *ProviderPages) providerDeclare(c *fiber.Ctx) error {
	d := Declaration{LocationID: strings.Clone(c.FormValue("location_id")), From: strings.Clone(c.FormValue("from")),
		Until: strings.Clone(c.FormValue("until")), Reason: strings.Clone(c.FormValue("reason")), Public: c.FormValue("public") == "1"}
	_, own := h.ScopeOf(c)
	if id, err := uuid.Parse(d.LocationID); err != nil || !slices.Contains(own, id) {
		d.LocationID = "" // only its own locations
	}
	id, _ := h.UserOf(c)
	_, err := h.Service.Declare(c.UserContext(), d, requests.Actor{Kind: requests.ActorProvider, ID: strings.Clone(id)})
	if es, ok := validate.As(err); ok {
		return h.renderProvider(c, fiber.StatusUnprocessableEntity, "", d, "", EmergencyInput{}, es)
	}
	if err != nil {
		return err
	}
	return h.renderProvider(c, fiber.StatusOK, h.Render.Translator(c).T("crisis.provider.declared"), Declaration{Public: true}, "", EmergencyInput{}, nil)
}

func (h *ProviderPages) providerAnnounce(c *fiber.Ctx) error {
	closure := strings.Clone(c.FormValue("closure_id"))
	cid, err := ParseID(closure)
	if err != nil {
		return fiber.ErrNotFound
	}
	e := EmergencyInput{LocationID: strings.Clone(c.FormValue("emergency_location")), StartMonth: strings.Clone(c.FormValue("start_month")),
		AgeBand: strings.Clone(c.FormValue("age_band")), Until: strings.Clone(c.FormValue("emergency_until"))}
	e.Places, _ = strconv.Atoi(strings.TrimSpace(c.FormValue("places")))
	if len(e.StartMonth) == len("2027-01-01") {
		e.StartMonth = e.StartMonth[:7] // the month picker sends its first day
	}
	_, own := h.ScopeOf(c)
	if id, err := uuid.Parse(e.LocationID); err != nil || !slices.Contains(own, id) {
		e.LocationID = ""
	}
	id, _ := h.UserOf(c)
	err = h.Service.Announce(c.UserContext(), cid, e, "provider:"+strings.Clone(id))
	if es, ok := validate.As(err); ok {
		// The form's own names for the fields it shares with the declaration.
		for i := range es {
			switch es[i].Field {
			case "location_id":
				es[i].Field = "emergency_location"
			case "until":
				es[i].Field = "emergency_until"
			}
		}
		return h.renderProvider(c, fiber.StatusUnprocessableEntity, "", Declaration{Public: true}, closure, e, es)
	}
	if errors.Is(err, ErrNotFound) || errors.Is(err, ErrEnded) {
		return fiber.ErrNotFound
	}
	if err != nil {
		return err
	}
	return h.renderProvider(c, fiber.StatusOK, h.Render.Translator(c).T("crisis.provider.announced"), Declaration{Public: true}, "", EmergencyInput{}, nil)
}

// ActorCoordinator is a regional coordinator acting (declaring a closure), as
// written in the event log.
const ActorCoordinator requests.ActorKind = "coordinator"
