package requests

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

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
	"github.com/loket-kinderopvang/loket/internal/tenant"
)

// WebConfig wires the desk pages (worklist, request page, desk registration)
// and the provider inbox with its API.
type WebConfig struct {
	Service     *Service
	Render      *web.Renderer
	Desks       *tenant.Handler
	Authz       *authz.Authorizer
	RequireUser fiber.Handler
	UserOf      func(*fiber.Ctx) (string, bool)
	// APIAuth names the caller of a provider API route (bearer API key or
	// session); Principal then returns it (apikey:<id> or a user id).
	APIAuth   fiber.Handler
	Principal func(*fiber.Ctx) (string, bool)
	// Referrers lists the partners of a desk a worker may attach to a
	// request she registers for them (optional).
	Referrers func(ctx context.Context, deskSlug string) ([]Referrer, error)
	// Catalog reads the platform-wide catalogue (locations of a provider,
	// location choices of the desk form).
	Catalog bun.IDB
	// People names the staff in a request's history and notes (optional).
	People People
	// Erase erases everything of the family of a request at once (the
	// parent asked; package retention). Optional: without it the desk can
	// only keep the data with a reason.
	Erase func(ctx context.Context, id RequestID, actor Actor) error
}

// Web serves the desk and provider pages of the request lifecycle.
type Web struct{ WebConfig }

// NewWeb returns the handler.
func NewWeb(cfg WebConfig) *Web { return &Web{cfg} }

// Desk paths, under /{tenant}.
const (
	PathWorklist = "/loket"
	PathDeskNew  = "/loket/nieuw"
	PathDeskCase = "/loket/aanvragen"
)

// RegisterDesk adds the desk pages to the /:tenant group.
func (h *Web) RegisterDesk(desk fiber.Router) {
	auth := h.RequireUser
	read := h.Authz.Require(authz.RequestsRead.Object(), authz.RequestsRead.Action(), deskDomain, h.UserOf)
	write := h.Authz.Require(authz.RequestsWrite.Object(), authz.RequestsWrite.Action(), deskDomain, h.UserOf)
	desk.Get(PathWorklist, auth, read, h.worklist)
	desk.Get(PathDeskNew, auth, write, h.newForm)
	desk.Post(PathDeskNew, auth, write, h.register)
	desk.Get(PathDeskCase+"/:id", auth, read, h.casePage)
	// The receipt carries the status link: own desk (and registering partner) only.
	desk.Get(PathDeskCase+"/:id"+PathReceipt, auth, write, h.receipt)
	desk.Get(PathWorklist+"/code", auth, write, h.byShortCode)
	desk.Post(PathDeskCase+"/:id/:action", auth, write, h.caseAction)
}

func deskDomain(c *fiber.Ctx) (string, error) {
	t, ok := tenant.FromRequest(c)
	if !ok {
		return "", web.ErrUnknownDesk
	}
	return authz.Desk(t.Slug), nil
}

// actorOf is who acts on a desk page: a partner acts as partner, everyone
// else with a desk role as desk.
func (h *Web) actorOf(c *fiber.Ctx) Actor {
	id, _ := h.UserOf(c)
	if d, ok := authz.DecisionOf(c); ok && d.ReferrerOnly {
		return Actor{ID: strings.Clone(id), Kind: ActorPartner}
	}
	return Actor{ID: strings.Clone(id), Kind: ActorDesk}
}

// look is the access-log entry of a read on a desk page: who, and the
// sharing agreement when the decision came from one.
func (h *Web) look(c *fiber.Ctx, what string) Look {
	t, _ := tenant.FromRequest(c)
	l := Look{Actor: h.actorOf(c), What: what, Organisation: authz.Desk(t.Slug)}
	if d, ok := authz.DecisionOf(c); ok && d.Agreement != "" {
		l.Agreement = strings.Clone(d.Agreement)
		if kind, slug, err := authz.ParseDomain(d.Via); err == nil && kind == authz.KindTenant {
			l.ViaDesk = strings.Clone(slug)
			l.Organisation = authz.Desk(l.ViaDesk)
		}
	}
	return l
}

// partner reports whether the decision limits the user to the families she
// referred.
func (h *Web) partner(c *fiber.Ctx) bool {
	d, ok := authz.DecisionOf(c)
	return ok && d.ReferrerOnly
}

// viewer is who reads this desk's requests, from the authorisation
// decision of the route (see ViewerOf): the domain decides what she sees.
func (h *Web) viewer(c *fiber.Ctx) (Viewer, error) {
	d, ok := authz.DecisionOf(c)
	if !ok {
		return Viewer{Audience: AudienceAreaReader}, nil
	}
	d.User = strings.Clone(d.User)
	if d.Agreement == "" {
		return ViewerOf(d, false, nil), nil
	}
	full, err := h.Authz.Decide(d.User, d.Domain, authz.RequestsWrite)
	if err != nil {
		return Viewer{}, err
	}
	var area []geo.NISCode
	if kind, slug, err := authz.ParseDomain(d.Via); err == nil && kind == authz.KindTenant {
		if t, ok := h.Service.opts.Desks.BySlug(slug); ok {
			area = t.Municipalities
		}
	}
	return ViewerOf(d, full.Allowed, area), nil
}

func (h *Web) deskPage(c *fiber.Ctx, status int, name, title string, data any) error {
	t, _ := tenant.FromRequest(c)
	c.Set(fiber.HeaderCacheControl, "no-store")
	return h.Render.Render(c, status, name, h.Desks.Page(c, t, title, data))
}

func fv(c *fiber.Ctx, key string) string { return strings.TrimSpace(strings.Clone(c.FormValue(key))) }

// fvs reads every value of a repeated form field (checkboxes).
func fvs(c *fiber.Ctx, key string) []string {
	var out []string
	c.Request().PostArgs().VisitAll(func(k, v []byte) {
		if string(k) == key && len(v) > 0 {
			out = append(out, string(v))
		}
	})
	return out
}

func day(t *time.Time) string {
	if t == nil || t.IsZero() {
		return ""
	}
	return t.Format(dateLayout)
}

// errorText translates a validation error: "deskwork.error.<code>", or the
// service's English message when the catalogue has no text for the code.
func errorText(tr web.Translator, e validate.FieldError) string {
	key := "deskwork.error." + e.Code
	if s := tr.T(key); s != key {
		return s
	}
	return e.Message
}

// --- worklist ---------------------------------------------------------------

type worklistRow struct {
	ID, Child, Family, Status, Start, Deadline string
	Flags                                      []string
	Overdue                                    bool
}

type worklistView struct {
	Base      string
	Rows      []worklistRow
	Flags     []string
	Statuses  []Status
	Attention string
	Status    string
	Query     string
	Partner   bool
}

func (h *Web) worklist(c *fiber.Ctx) error {
	t, _ := tenant.FromRequest(c)
	tr := h.Render.Translator(c)
	v := worklistView{Base: "/" + t.Slug, Flags: Flags, Statuses: Statuses,
		Attention: strings.Clone(c.Query("attention")), Status: strings.Clone(c.Query("status")), Query: strings.TrimSpace(strings.Clone(c.Query("q")))}
	viewer, err := h.viewer(c)
	if err != nil {
		return err
	}
	f := WorklistFilter{Query: v.Query}
	v.Partner = viewer.Audience == AudiencePartner
	if slices.Contains(Flags, v.Attention) {
		f.Attention = v.Attention
	} else {
		v.Attention = ""
	}
	if slices.Contains(Statuses, Status(v.Status)) {
		f.Status = Status(v.Status)
	} else {
		v.Status = ""
	}
	items, err := h.Service.WorklistFor(c.UserContext(), f, viewer)
	if err != nil {
		return err
	}
	// Each family the list shows is one look, written in one insert.
	ids := make([]RequestID, len(items))
	for i, it := range items {
		ids[i] = it.Request.ID
	}
	if err := h.Service.LookedAt(c.UserContext(), h.look(c, eventlog.LookWorklist), ids); err != nil {
		return err
	}
	for _, it := range items {
		row := worklistRow{ID: it.Request.ID.String(), Child: it.ChildName, Family: it.FamilyName, Status: string(it.Request.Status),
			Start: it.Request.DesiredStart.Format(dateLayout), Deadline: day(it.NextDeadline), Flags: it.Flags,
			Overdue: slices.Contains(it.Flags, FlagOverdue)}
		if !viewer.Sees(FieldIdentity) {
			row.Child = tr.T("deskwork.shared.request")
		}
		v.Rows = append(v.Rows, row)
	}
	return h.deskPage(c, fiber.StatusOK, "desk_worklist", tr.T("deskwork.worklist.title"), v)
}

// --- request page -----------------------------------------------------------

type prefRow struct {
	Rank                                     int
	Location, State, Reason, Due, OfferStart string
	OfferDays, OfferDeadline                 string
	Overdue                                  bool
}

type historyRow struct{ When, Who, What, Why string }

type noteRow struct{ When, Author, Body string }

type dupRow struct {
	Kind, Desk, RequestID string
}

type caseView struct {
	Base, CSRF, ID                           string
	Status, Channel, Start, Flex, Days, Part string
	Reason, CareNeedNote                     string
	WiderHours, CareNeed, Urgent, Vulnerable bool
	Child, Born, Municipality, Neighbourhood string
	FamilyName, Email, Phone, Language       string
	Parents                                  []Parent
	Claims                                   []Claim
	Prefs                                    []prefRow
	History                                  []historyRow
	Notes                                    []noteRow
	Duplicates                               []dupRow
	// Looks is "who looked at this family", for the desk's admins only
	// (ShowLooks).
	Looks                []lookRow
	ShowLooks, LegalHold bool
	// Erasure: when the parent asked to erase (in words), and the reason
	// the desk keeps the data, if it does.
	ErasureAsked, ErasureKept string
	DuplicateOpen             bool
	Open, Submitted           bool
	// Sees says which groups of fields the viewer may see (visibility.go);
	// Age is the child's age when the exact date is not shown.
	Sees        map[string]bool
	Age         string
	Notice      string
	NoteError   string
	ActionError string
}

// loadCase reads a request of the desk; 404 when it is not there or, for a
// partner, when she did not refer the family.
// what names the read for the access log ("" for a form that only checks
// before it acts: its change is in the event log).
func (h *Web) loadCase(c *fiber.Ctx, what string) (*Case, error) {
	id, err := uuid.Parse(c.Params("id"))
	if err != nil {
		return nil, fiber.ErrNotFound
	}
	viewer, err := h.viewer(c)
	if err != nil {
		return nil, err
	}
	cs, err := h.Service.CaseFor(c.UserContext(), RequestID{UUID: id}, viewer, h.look(c, what))
	if errors.Is(err, ErrNotFound) {
		return nil, fiber.ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	return cs, nil
}

func (h *Web) casePage(c *fiber.Ctx) error {
	cs, err := h.loadCase(c, eventlog.LookCase)
	if err != nil {
		return err
	}
	return h.renderCase(c, fiber.StatusOK, cs, func(v *caseView) {
		if n := c.Query("gedaan"); n != "" {
			v.Notice = h.Render.Translator(c).T("deskwork.done." + strings.Clone(n))
			if strings.HasPrefix(v.Notice, "deskwork.done.") {
				v.Notice = ""
			}
		}
	})
}

func (h *Web) renderCase(c *fiber.Ctx, status int, cs *Case, edit func(*caseView)) error {
	t, _ := tenant.FromRequest(c)
	tr := h.Render.Translator(c)
	r := cs.Request
	now := h.Service.opts.Clock.Now()
	v := &caseView{Base: "/" + t.Slug, CSRF: account.CSRFToken(c), ID: r.ID.String(), Status: string(r.Status), Channel: string(r.Channel),
		Start: r.DesiredStart.Format(dateLayout), Flex: strconv.Itoa(r.FlexibilityWeeks), Part: string(r.DayPart),
		Reason: string(r.Reason), CareNeedNote: r.CareNeedNote.String(), WiderHours: r.WiderHours, CareNeed: r.SpecificCareNeed,
		Urgent: r.Urgent, Vulnerable: cs.Family.Vulnerable, Child: cs.Child.FirstName + " " + cs.Child.LastName,
		Born: cs.Child.BornOrExpected().Format(dateLayout), Neighbourhood: cs.Family.Neighbourhood,
		FamilyName: cs.Family.DisplayName, Email: cs.Family.Email, Phone: cs.Family.Phone, Language: cs.Family.Language,
		Parents: cs.Family.Parents, Claims: r.Claims, Open: r.Status.Open(), Submitted: r.Status == StatusSubmitted,
		DuplicateOpen: r.DuplicateState == DuplicateSuspected || r.DuplicateState == DuplicateLikely, Sees: map[string]bool{}}
	for _, f := range Fields {
		v.Sees[string(f)] = cs.Viewer.Sees(f)
	}
	if !cs.Viewer.Sees(FieldIdentity) {
		v.Child = tr.T("deskwork.shared.request")
	}
	if !cs.Viewer.Sees(FieldBirthDate) {
		v.Born = ""
		if cs.AgeMonths < 0 {
			v.Age = tr.T("deskwork.shared.expected")
		} else {
			v.Age = tr.T("deskwork.shared.age", "Months", cs.AgeMonths)
		}
	}
	if m, ok := geo.LookupMunicipality(geo.NISCode(cs.Family.MunicipalityNIS)); ok {
		v.Municipality = m.Name(tr.Lang())
	}
	var days []string
	for _, d := range r.Days() {
		days = append(days, tr.T("deskwork.day."+d))
	}
	v.Days = strings.Join(days, ", ")
	for _, p := range r.Preferences {
		row := prefRow{Rank: p.Rank, Location: cs.Locations[p.LocationID].Name, State: string(p.State), Reason: string(p.NoPlaceReason),
			Due: day(p.AnswerDue), OfferStart: day(p.OfferStart), OfferDays: p.OfferDays, OfferDeadline: day(p.OfferDeadline),
			Overdue: p.State == PreferencePending && p.AnswerDue != nil && p.AnswerDue.Before(now)}
		if row.Location == "" {
			row.Location = p.LocationID.String()
		}
		v.Prefs = append(v.Prefs, row)
	}
	actors := make([]string, 0, len(cs.History)+len(cs.Notes))
	for _, e := range cs.History {
		actors = append(actors, e.Actor)
	}
	for _, n := range cs.Notes {
		actors = append(actors, n.Author)
	}
	names := map[string]string{}
	if h.People != nil {
		var err error
		if names, err = h.People(c.UserContext(), actorIDs(actors)); err != nil {
			return err
		}
	}
	for _, e := range cs.History {
		v.History = append(v.History, historyRow{When: tr.DateTime(e.OccurredAt), Who: h.actorWords(tr, t.Slug, e.Actor, names),
			What: historyWhat(tr, e, cs.Locations), Why: historyWhy(tr, e)})
	}
	for _, n := range cs.Notes {
		v.Notes = append(v.Notes, noteRow{When: tr.DateTime(n.CreatedAt), Author: h.actorWords(tr, t.Slug, n.Author, names), Body: n.Body.String()})
	}
	for _, d := range cs.Duplicates {
		row := dupRow{Kind: d.Kind, Desk: d.DeskName}
		if d.RequestID != nil {
			row.RequestID = d.RequestID.String()
		}
		v.Duplicates = append(v.Duplicates, row)
	}
	if err := h.addLooks(c, tr, t.Slug, cs, v); err != nil {
		return err
	}
	if edit != nil {
		edit(v)
	}
	title := tr.T("deskwork.case.title") + ": " + v.Child
	return h.deskPage(c, status, "desk_request", title, v)
}

// caseAction runs one of the request page's forms. The partner check of
// loadCase runs first, so nobody changes what she may not see.
func (h *Web) caseAction(c *fiber.Ctx) error {
	cs, err := h.loadCase(c, "")
	if err != nil {
		return err
	}
	ctx, id, actor := c.UserContext(), cs.Request.ID, h.actorOf(c)
	action := strings.Clone(c.Params("action"))
	switch action {
	case "notitie":
		_, err = h.Service.AddNote(ctx, id, fv(c, "body"), actor)
	case "kwetsbaar":
		err = h.Service.SetVulnerable(ctx, id, fv(c, "vulnerable") == "1", actor)
	case "bewaren":
		// A legal hold keeps the family past its retention period: the
		// desk's own admins only.
		if !h.deskAdmin(c) {
			return fiber.ErrNotFound
		}
		err = h.Service.SetLegalHold(ctx, id, fv(c, "hold") == "1", actor)
	case "wissen":
		// Erasure on the parent's request: the desk's own admins only.
		if !h.deskAdmin(c) || h.Erase == nil || cs.Family.ErasureRequestedAt == nil {
			return fiber.ErrNotFound
		}
		if err = h.Erase(ctx, id, actor); err == nil {
			t, _ := tenant.FromRequest(c)
			return c.Redirect("/"+t.Slug+PathWorklist+"?gewist=1", fiber.StatusSeeOther)
		}
	case "bewaren-wissen":
		if !h.deskAdmin(c) {
			return fiber.ErrNotFound
		}
		err = h.Service.KeepDespiteErasure(ctx, id, fv(c, "reason"), actor)
	case "activeren":
		if cs.Request.Status != StatusSubmitted {
			err = fmt.Errorf("%w: already checked", ErrTransition)
		} else {
			err = h.Service.Activate(ctx, id, actor)
		}
	case "dubbel":
		if !cs.Viewer.Sees(FieldDuplicates) {
			return fiber.ErrNotFound
		}
		switch fv(c, "decision") {
		case "merge":
			err = h.Service.ResolveDuplicate(ctx, id, true, actor)
		case "keep":
			err = h.Service.ResolveDuplicate(ctx, id, false, actor)
		default:
			err = fmt.Errorf("%w: choose merge or keep", ErrTransition)
		}
	case "intrekken":
		err = h.Service.Withdraw(ctx, id, fv(c, "why"), actor)
	case "afsluiten":
		err = h.Service.Close(ctx, id, fv(c, "why"), actor)
	case "links-intrekken":
		err = h.Service.RevokeAndMail(ctx, id, fv(c, "mail") == "1", actor)
	default:
		return fiber.ErrNotFound
	}
	if err == nil {
		t, _ := tenant.FromRequest(c)
		return c.Redirect("/"+t.Slug+PathDeskCase+"/"+id.String()+"?gedaan="+action, fiber.StatusSeeOther)
	}
	tr := h.Render.Translator(c)
	if es, ok := validate.As(err); ok {
		fresh, lerr := h.loadCase(c, eventlog.LookCase)
		if lerr != nil {
			return lerr
		}
		return h.renderCase(c, fiber.StatusUnprocessableEntity, fresh, func(v *caseView) {
			if len(es) > 0 {
				v.NoteError = errorText(tr, es[0])
			}
		})
	}
	if errors.Is(err, ErrTransition) {
		fresh, lerr := h.loadCase(c, eventlog.LookCase)
		if lerr != nil {
			return lerr
		}
		return h.renderCase(c, fiber.StatusConflict, fresh, func(v *caseView) { v.ActionError = tr.T("deskwork.case.not_now") })
	}
	if errors.Is(err, ErrNotFound) {
		return fiber.ErrNotFound
	}
	return err
}

// --- desk registration ------------------------------------------------------

type choice struct{ Value, Label string }

type formField struct{ ID, Value, Error string }

// anchor turns a JSON path into an HTML id that needs no escaping in a link
// ("parents[0].email" → "parents-0-email").
var anchor = strings.NewReplacer("[", "-", "]", "", ".", "-").Replace

// prefSlot is one preference select: its index in the form and its number
// for people (1 is the first choice).
type prefSlot struct{ Index, Number int }

type registerView struct {
	Base, CSRF   string
	Fields       map[string]formField
	Errors       []web.ErrorLink
	Days         map[string]bool
	Claims       map[string]bool
	Prefs        []prefSlot
	Municipality []web.OptionGroup
	Locations    []choice
	Channels     []Channel
	Reasons      []Reason
	ClaimList    []Claim
	Weekdays     []string
	Partner      bool
	PrivacyVer   string
	RequestID    string
	Referrers    []choice
}

// Referrer is a partner (a social service, a school) that refers families.
type Referrer struct{ ID, Name string }

// deskChannels are the channels a desk worker chooses from.
var deskChannels = []Channel{ChannelCounter, ChannelPhone, ChannelPartner, ChannelForwarded}

// formNames are the form fields of the desk registration, named like the
// JSON paths of Submission so validation errors land on their field.
var formNames = []string{"child.first_name", "child.last_name", "child.birth_date", "child.expected_date", "child.national_number",
	"parents[0].first_name", "parents[0].last_name", "parents[0].email", "parents[0].phone",
	"parents[1].first_name", "parents[1].last_name", "parents[1].email", "parents[1].phone",
	"language", "address.municipality_nis", "address.neighbourhood", "desired_start", "flexibility_weeks",
	"care_plan.day_part", "care_plan.wider_hours", "reason", "specific_care_need", "care_need_note", "urgent",
	"channel", "vulnerable", "note", "privacy_consent_version"}

func (h *Web) registerView(c *fiber.Ctx) (*registerView, error) {
	t, _ := tenant.FromRequest(c)
	tr := h.Render.Translator(c)
	v := &registerView{Base: "/" + t.Slug, CSRF: account.CSRFToken(c), Fields: map[string]formField{}, Days: map[string]bool{},
		Claims: map[string]bool{}, Channels: deskChannels, Reasons: Reasons, ClaimList: Claims, Weekdays: Weekdays,
		Partner: h.partner(c), PrivacyVer: PrivacyVersion}
	if h.Referrers != nil && !v.Partner {
		refs, err := h.Referrers(c.UserContext(), t.Slug)
		if err != nil {
			return nil, err
		}
		for _, r := range refs {
			v.Referrers = append(v.Referrers, choice{Value: r.ID, Label: r.Name})
		}
	}
	v.set("referred_by", "")
	for i := 0; i < t.MaxPreferences; i++ {
		v.Prefs = append(v.Prefs, prefSlot{Index: i, Number: i + 1})
		v.set(fmt.Sprintf("preferences[%d]", i), "")
	}
	for _, n := range append(formNames, "care_plan.days", "priority_claims") {
		v.set(n, "")
	}
	var munis []geo.NISCode
	for _, nis := range t.Municipalities {
		if _, ok := geo.LookupMunicipality(nis); ok {
			munis = append(munis, nis)
		}
	}
	// Every municipality: a family from outside the desk's area says where it lives.
	v.Municipality = web.GroupOptions(MunicipalityOptions(t.Municipalities, tr))
	locs, err := h.locationChoices(c.UserContext(), munis)
	if err != nil {
		return nil, err
	}
	v.Locations = locs
	return v, nil
}

func (h *Web) locationChoices(ctx context.Context, munis []geo.NISCode) ([]choice, error) {
	if len(munis) == 0 {
		return nil, nil
	}
	var locs []catalog.Location
	if err := h.Catalog.NewSelect().Model(&locs).Column("id", "name", "municipality_nis").
		Where("municipality_nis IN (?)", bun.In(munis)).Where("accepts_requests").Order("name", "id").Limit(500).Scan(ctx); err != nil {
		return nil, fmt.Errorf("requests: location choices: %w", err)
	}
	out := make([]choice, len(locs))
	for i, l := range locs {
		out[i] = choice{Value: l.ID.String(), Label: l.Name}
	}
	return out, nil
}

func (v *registerView) field(name string) string { return v.Fields[name].Value }

// set stores a field's value with its HTML id.
func (v *registerView) set(name, value string) {
	f := v.Fields[name]
	f.ID, f.Value = anchor(name), value
	v.Fields[name] = f
}

func (h *Web) newForm(c *fiber.Ctx) error {
	v, err := h.registerView(c)
	if err != nil {
		return err
	}
	v.set("language", h.Render.Translator(c).Lang())
	v.set("care_plan.day_part", string(DayWhole))
	v.set("flexibility_weeks", "0")
	v.set("channel", string(ChannelCounter))
	return h.deskPage(c, fiber.StatusOK, "desk_new", h.Render.Translator(c).T("deskwork.new.title"), v)
}

func (h *Web) register(c *fiber.Ctx) error {
	v, err := h.registerView(c)
	if err != nil {
		return err
	}
	tr := h.Render.Translator(c)
	for _, n := range formNames {
		v.set(n, fv(c, n))
	}
	for _, d := range fvs(c, "care_plan.days") {
		v.Days[d] = true
	}
	for _, cl := range fvs(c, "priority_claims") {
		v.Claims[cl] = true
	}
	sub := Submission{
		Child: ChildInput{FirstName: v.field("child.first_name"), LastName: v.field("child.last_name"),
			BirthDate: v.field("child.birth_date"), ExpectedDate: v.field("child.expected_date"), NationalNumber: v.field("child.national_number")},
		Language:     v.field("language"),
		Address:      AddressInput{MunicipalityNIS: v.field("address.municipality_nis"), Neighbourhood: v.field("address.neighbourhood")},
		DesiredStart: v.field("desired_start"),
		CarePlan: CarePlanInput{Days: fvs(c, "care_plan.days"), DayPart: v.field("care_plan.day_part"),
			WiderHours: v.field("care_plan.wider_hours") == "1"},
		Reason: v.field("reason"), PriorityClaims: fvs(c, "priority_claims"),
		SpecificCareNeed: v.field("specific_care_need") == "1", CareNeedNote: v.field("care_need_note"),
		Urgent: v.field("urgent") == "1", PrivacyVersion: v.field("privacy_consent_version"),
		Channel: Channel(v.field("channel")), Vulnerable: v.field("vulnerable") == "1", Note: v.field("note"),
	}
	var es validate.Errors
	if s := v.field("flexibility_weeks"); s != "" {
		if n, err := strconv.Atoi(s); err == nil {
			sub.FlexibilityWeeks = n
		} else {
			es.Add("flexibility_weeks", "flexibility", "must be a number of weeks")
		}
	}
	for i := 0; i < 2; i++ {
		p := ParentInput{FirstName: v.field(fmt.Sprintf("parents[%d].first_name", i)), LastName: v.field(fmt.Sprintf("parents[%d].last_name", i)),
			Email: v.field(fmt.Sprintf("parents[%d].email", i)), Phone: v.field(fmt.Sprintf("parents[%d].phone", i))}
		if i == 0 || p != (ParentInput{}) {
			sub.Parents = append(sub.Parents, p)
		}
	}
	for _, slot := range v.Prefs {
		name := fmt.Sprintf("preferences[%d]", slot.Index)
		val := fv(c, name)
		v.set(name, val)
		if val != "" {
			sub.Preferences = append(sub.Preferences, val)
		}
	}
	actor := h.actorOf(c)
	if actor.Kind == ActorPartner {
		// A partner's referrals are hers: she sees them, and only them.
		sub.ReferredBy, sub.Channel = actor.ID, ChannelPartner
	} else if ref := fv(c, "referred_by"); ref != "" {
		// The desk registers for a family a partner supports: the partner
		// then follows it up too. Only a partner of this desk can be named.
		v.set("referred_by", ref)
		if !slices.ContainsFunc(v.Referrers, func(ch choice) bool { return ch.Value == ref }) {
			es.Add("referred_by", "referrer", "is not a partner of this desk")
		} else {
			sub.ReferredBy = ref
		}
	}
	var req *Request
	if len(es) == 0 {
		req, _, _, err = h.Service.Submit(c.UserContext(), sub, actor, "")
		if more, ok := validate.As(err); ok {
			es, err = more, nil
		}
		if err != nil {
			return err
		}
	} else {
		es = append(es, h.Service.Validate(c.UserContext(), sub)...)
	}
	if len(es) == 0 && req != nil {
		// At the counter or on the phone the family takes a receipt home.
		return c.Redirect(v.Base+PathDeskCase+"/"+req.ID.String()+PathReceipt, fiber.StatusSeeOther)
	}
	for _, e := range es {
		field := e.Field
		if _, ok := v.Fields[field]; !ok {
			// Group errors ("parents", "preferences", "care_plan.days") land on their first input.
			switch {
			case field == "preferences":
				field = "preferences[0]"
			case field == "parents":
				field = "parents[0].first_name"
			}
		}
		msg := errorText(tr, e)
		f, ok := v.Fields[field]
		if !ok {
			f.ID = anchor(field)
		}
		if f.Error == "" {
			f.Error = msg
			v.Fields[field] = f
			v.Errors = append(v.Errors, web.ErrorLink{Anchor: f.ID, Message: msg})
		}
	}
	title := tr.T("deskwork.errors.prefix") + ": " + tr.T("deskwork.new.title")
	return h.deskPage(c, fiber.StatusUnprocessableEntity, "desk_new", title, v)
}

// deskAdmin reports whether the user is an admin of this desk itself (staff
// management here, not through an agreement or as a partner).
func (h *Web) deskAdmin(c *fiber.Ctx) bool {
	d, ok := authz.DecisionOf(c)
	if !ok || d.Agreement != "" || d.ReferrerOnly {
		return false
	}
	t, _ := tenant.FromRequest(c)
	user, _ := h.UserOf(c)
	allowed, err := h.Authz.Allowed(user, authz.Desk(t.Slug), authz.StaffManage)
	return err == nil && allowed
}

// lookRow is one line of "who looked at this family".
type lookRow struct{ When, Who, What, Through string }

// addLooks fills "who looked at this family" for the desk's own admins
// (staff:manage in this desk, not through an agreement): names and roles,
// the date in words, and the agreement a look went through.
func (h *Web) addLooks(c *fiber.Ctx, tr web.Translator, slug string, cs *Case, v *caseView) error {
	if !h.deskAdmin(c) {
		return nil
	}
	v.LegalHold = cs.Family.LegalHold
	if at := cs.Family.ErasureRequestedAt; at != nil {
		v.ErasureAsked, v.ErasureKept = tr.Date(*at), cs.Family.ErasureReason.String()
	}
	looks, err := h.Service.Looks(c.UserContext(), cs.Family.ID.UUID)
	if err != nil {
		return err
	}
	v.ShowLooks = true
	actors := make([]string, len(looks))
	for i, l := range looks {
		actors[i] = l.Actor
	}
	names := map[string]string{}
	if h.People != nil {
		if names, err = h.People(c.UserContext(), actorIDs(actors)); err != nil {
			return err
		}
	}
	for _, l := range looks {
		row := lookRow{When: tr.DateTime(l.OccurredAt), Who: h.actorWords(tr, slug, l.Actor, names), What: tr.T("privacy.look." + l.What)}
		if l.Agreement != "" {
			desk := l.ViaDesk
			if d, ok := h.Service.opts.Desks.BySlug(l.ViaDesk); ok {
				desk = d.Name
			}
			row.Through = tr.T("privacy.look.through", "Desk", desk)
		}
		v.Looks = append(v.Looks, row)
	}
	return nil
}
