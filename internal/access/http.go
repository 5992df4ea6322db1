package access

import (
	"context"
	"errors"
	"slices"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/loket-kinderopvang/loket/internal/account"
	"github.com/loket-kinderopvang/loket/internal/catalog"
	"github.com/loket-kinderopvang/loket/internal/geo"
	"github.com/loket-kinderopvang/loket/internal/platform/authz"
	"github.com/loket-kinderopvang/loket/internal/platform/web"
	"github.com/loket-kinderopvang/loket/internal/tenant"
	"github.com/loket-kinderopvang/loket/internal/webhooks"
)

// Paths of the pages. Desk pages hang under /{tenant}; the others are
// platform paths (never rewritten to a desk on a desk's host name).
const (
	PathProvider = "/aanbieder"
	PathOperator = "/beheer"
)

// PlatformPaths must be added to tenant.Handler.AlsoPlatform. Not "/beheer"
// itself: that prefix would also catch a desk's own /beheer/samenwerking and
// /beheer/medewerkers on its own host name, which must go to the desk. The
// operators' overview at /beheer is served on the platform's host.
var PlatformPaths = []string{PathProvider, PathOperator + "/regios", PathOperator + "/operators"}

// Config wires the handler.
type Config struct {
	Service  *Service
	Users    *account.Service
	Accounts *account.Handler
	Render   *web.Renderer
	Desks    *tenant.Handler
	Dir      *tenant.Directory
	Catalog  *catalog.Store
	Webhooks *webhooks.Service
}

// Handler serves the admin pages and the provider API.
type Handler struct{ Config }

// NewHandler returns the handler.
func NewHandler(cfg Config) *Handler { return &Handler{cfg} }

func userOf(c *fiber.Ctx) (string, bool) { return account.UserIDOf(c) }

func deskDomain(c *fiber.Ctx) (string, error) {
	t, ok := tenant.FromRequest(c)
	if !ok {
		return "", web.ErrUnknownDesk
	}
	return authz.Desk(t.Slug), nil
}

func platformDomain(*fiber.Ctx) (string, error) { return authz.Platform, nil }

// providerDomain answers 404 for a malformed or unknown provider before
// authorisation, the same answer a refusal gets.
func (h *Handler) providerDomain(c *fiber.Ctx) (string, error) {
	id, err := ParseProviderID(c.Params("provider"))
	if err != nil {
		return "", fiber.ErrNotFound
	}
	return authz.Provider(id.String()), nil
}

func (h *Handler) require(p authz.Permission, domainOf func(*fiber.Ctx) (string, error)) fiber.Handler {
	return h.Service.Authz().Require(p.Object(), p.Action(), domainOf, userOf)
}

// RegisterDesk adds the desk admin pages to the /:tenant group.
func (h *Handler) RegisterDesk(desk fiber.Router) {
	auth := h.Accounts.RequireUser
	sharing := h.require(authz.SharingManage, deskDomain)
	staff := h.require(authz.StaffManage, deskDomain)
	desk.Get("/beheer/samenwerking", auth, sharing, h.agreements)
	desk.Post("/beheer/samenwerking", auth, sharing, h.createAgreement)
	desk.Get("/beheer/samenwerking/:agreement", auth, sharing, h.agreement)
	desk.Post("/beheer/samenwerking/:agreement/aanvaarden", auth, sharing, h.acceptAgreement)
	desk.Post("/beheer/samenwerking/:agreement/weigeren", auth, sharing, h.refuseAgreement)
	desk.Post("/beheer/samenwerking/:agreement/intrekken", auth, sharing, h.endAgreement)
	desk.Get("/beheer/medewerkers", auth, staff, h.deskStaff)
	desk.Post("/beheer/medewerkers", auth, staff, h.inviteDeskStaff)
	desk.Get("/beheer/medewerkers/:user/rollen", auth, staff, h.confirmDeskRole)
	desk.Post("/beheer/medewerkers/:user/rollen", auth, staff, h.changeDeskRole)
}

// RegisterPlatform adds the provider and operator pages; register before
// the /:tenant group.
func (h *Handler) RegisterPlatform(app fiber.Router) {
	auth := h.Accounts.RequireUser
	pStaff := h.require(authz.StaffManage, h.providerDomain)
	pKeys := h.require(authz.APIKeysManage, h.providerDomain)
	app.Get(PathProvider, auth, h.providers)
	app.Get(PathProvider+"/:provider/medewerkers", auth, pStaff, h.providerStaff)
	app.Post(PathProvider+"/:provider/medewerkers", auth, pStaff, h.inviteProviderStaff)
	app.Get(PathProvider+"/:provider/medewerkers/:user/verwijderen", auth, pStaff, h.confirmProviderStaff)
	app.Post(PathProvider+"/:provider/medewerkers/:user/verwijderen", auth, pStaff, h.removeProviderStaff)
	app.Get(PathProvider+"/:provider/sleutels", auth, pKeys, h.keys)
	app.Post(PathProvider+"/:provider/sleutels", auth, pKeys, h.createKey)
	app.Get(PathProvider+"/:provider/sleutels/:key/intrekken", auth, pKeys, h.confirmRevokeKey)
	app.Post(PathProvider+"/:provider/sleutels/:key/intrekken", auth, pKeys, h.revokeKey)
	app.Get(PathProvider+"/:provider/webhooks", auth, pKeys, h.webhookList)
	app.Post(PathProvider+"/:provider/antwoord-per-mail", auth, pKeys, h.answerByEmail)
	app.Post(PathProvider+"/:provider/webhooks", auth, pKeys, h.webhookCreate)
	app.Get(PathProvider+"/:provider/webhooks/:endpoint", auth, pKeys, h.webhookLog)
	app.Post(PathProvider+"/:provider/webhooks/:endpoint/verwijderen", auth, pKeys, h.webhookDelete)
	app.Post(PathProvider+"/:provider/webhooks/:endpoint/hervatten", auth, pKeys, h.webhookResume)
	app.Post(PathProvider+"/:provider/webhooks/:endpoint/opnieuw/:delivery", auth, pKeys, h.webhookSendAgain)

	app.Get(PathOperator, auth, h.require(authz.TenantsManage, platformDomain), h.operatorDesks)
	app.Get(PathOperator+"/regios", auth, h.require(authz.RegionsManage, platformDomain), h.operatorRegions)
	ops := h.require(authz.StaffManage, platformDomain)
	app.Get(PathOperator+"/operators", auth, ops, h.operators)
	app.Post(PathOperator+"/operators", auth, ops, h.addOperator)
	app.Get(PathOperator+"/operators/:user/verwijderen", auth, ops, h.confirmOperator)
	app.Post(PathOperator+"/operators/:user/verwijderen", auth, ops, h.removeOperator)
}

// --- page plumbing ---

// view is what every page of this package receives in Data.
type view struct {
	CSRF   string
	Base   string
	Fields map[string]web.Field
	Errors []web.ErrorLink
	Notice string
	Items  any
	Extra  map[string]any
}

func (v *view) field(name string) web.Field { return v.Fields[name] }

func newView(c *fiber.Ctx, base string) *view {
	return &view{CSRF: account.CSRFToken(c), Base: base, Fields: map[string]web.Field{}, Extra: map[string]any{}}
}

func (v *view) set(name, value string) {
	f := v.Fields[name]
	f.Value = value
	v.Fields[name] = f
}

func (v *view) fail(tr web.Translator, field, key string) {
	f := v.Fields[field]
	f.Error = tr.T(key)
	v.Fields[field] = f
	v.Errors = append(v.Errors, web.ErrorLink{Anchor: field, Message: f.Error})
}

func (v *view) failAll(tr web.Translator, fe []FieldError) {
	for _, e := range fe {
		v.fail(tr, e.Field, e.Key)
	}
}

func (h *Handler) deskPage(c *fiber.Ctx, status int, name, titleKey string, v *view) error {
	t, _ := tenant.FromRequest(c)
	tr := h.Render.Translator(c)
	title := tr.T(titleKey)
	if len(v.Errors) > 0 {
		title = tr.T("access.title.errors") + ": " + title
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	return h.Render.Render(c, status, name, h.Desks.Page(c, t, title, v))
}

func (h *Handler) platformPage(c *fiber.Ctx, status int, name, titleKey string, v *view) error {
	web.SetLanguage(c, web.PickLanguage(c, []string{"nl", "fr", "en"}, "nl"))
	tr := h.Render.Translator(c)
	title := tr.T(titleKey)
	if len(v.Errors) > 0 {
		title = tr.T("access.title.errors") + ": " + title
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	return h.Render.Render(c, status, name, web.Page{Translator: tr, Title: title, Data: v})
}

func form(c *fiber.Ctx, key string) string { return strings.TrimSpace(strings.Clone(c.FormValue(key))) }

// formValues reads every value of a repeated form field (checkboxes).
func formValues(c *fiber.Ctx, key string) []string {
	var out []string
	c.Request().PostArgs().VisitAll(func(k, v []byte) {
		if string(k) == key {
			out = append(out, string(v))
		}
	})
	return out
}

func actor(c *fiber.Ctx) string {
	id, _ := userOf(c)
	return "user:" + id
}

func see(c *fiber.Ctx, to string) error { return c.Redirect(to, fiber.StatusSeeOther) }

// --- sharing agreements ---

type agreementRow struct {
	ID, Granting, Receiving, Access, Starts, Ends, Status string
	Outgoing, Reciprocal                                  bool
	// The buttons this desk's admin has: accept or refuse a proposal to
	// this desk, withdraw its own proposal, stop an active agreement.
	Answerable, Withdrawable, Revocable bool
}

func (h *Handler) agreementRows(c *fiber.Ctx, as []Agreement) []agreementRow {
	t, _ := tenant.FromRequest(c)
	tr := h.Render.Translator(c)
	now := h.Service.clock.Now()
	name := func(id any) string {
		for _, d := range h.Dir.All() {
			if d.ID == id {
				return d.DisplayName(tr.Lang())
			}
		}
		return "?"
	}
	out := make([]agreementRow, 0, len(as))
	for _, a := range as {
		outgoing := a.GrantingTenantID == t.ID
		r := agreementRow{
			ID: a.ID.String(), Granting: name(a.GrantingTenantID), Receiving: name(a.ReceivingTenantID),
			Access: tr.T("access.sharing.access." + string(a.Access)), Starts: tr.Date(a.StartsAt),
			Outgoing: outgoing, Reciprocal: a.Reciprocal,
			Answerable: a.Pending() && !outgoing, Withdrawable: a.Pending() && outgoing, Revocable: a.Status == StatusActive,
		}
		if !a.EndsAt.IsZero() {
			r.Ends = tr.Date(a.EndsAt)
		}
		switch {
		case a.Pending() && outgoing:
			r.Status = tr.T("access.sharing.status.proposed_out")
		case a.Pending():
			r.Status = tr.T("access.sharing.status.proposed_in")
		case a.Status != StatusActive:
			r.Status = tr.T("access.sharing.status." + string(a.Status))
		case a.Current(now):
			r.Status = tr.T("access.sharing.status.active")
		case now.Before(a.StartsAt):
			r.Status = tr.T("access.sharing.status.future")
		default:
			r.Status = tr.T("access.sharing.status.ended")
		}
		out = append(out, r)
	}
	return out
}

func (h *Handler) sharingView(c *fiber.Ctx) (*view, error) {
	t, _ := tenant.FromRequest(c)
	v := newView(c, "/"+t.Slug+"/beheer/samenwerking")
	as, err := h.Service.Agreements(c.UserContext(), t.ID)
	if err != nil {
		return nil, err
	}
	rows := h.agreementRows(c, as)
	v.Items = rows
	var incoming []agreementRow
	for _, r := range rows {
		if r.Answerable {
			incoming = append(incoming, r)
		}
	}
	v.Extra["Incoming"] = incoming
	tr := h.Render.Translator(c)
	var desks [][2]string
	for _, d := range h.Dir.All() {
		if d.ID != t.ID {
			desks = append(desks, [2]string{d.Slug, d.DisplayName(tr.Lang())})
		}
	}
	var accesses [][2]string
	for _, a := range Accesses {
		accesses = append(accesses, [2]string{string(a), tr.T("access.sharing.access." + string(a))})
	}
	v.Extra["Desks"], v.Extra["Accesses"] = desks, accesses
	return v, nil
}

// sharingNotices are the notices after a step, by query parameter.
var sharingNotices = []string{"voorgesteld", "aanvaard", "geweigerd", "ingetrokken", "niet_meer"}

func (h *Handler) agreements(c *fiber.Ctx) error {
	v, err := h.sharingView(c)
	if err != nil {
		return err
	}
	for _, n := range sharingNotices {
		if c.Query(n) != "" {
			v.Notice = h.Render.Translator(c).T("access.sharing.done." + n)
		}
	}
	v.set("starts_on", h.Service.clock.Now().Format(dateLayout))
	return h.deskPage(c, fiber.StatusOK, "access_sharing", "access.sharing.title", v)
}

// consent is the signed-in admin's consent for the desk in the URL. The
// route already required sharing:manage there; this checks again that she
// holds desk_admin in that desk itself, not through any sharing grant.
func (h *Handler) consent(c *fiber.Ctx) (Consent, error) {
	t, ok := tenant.FromRequest(c)
	if !ok {
		return Consent{}, fiber.ErrNotFound
	}
	if d, ok := authz.DecisionOf(c); !ok || d.CrossTenant() || d.Agreement != "" || d.Role != authz.DeskAdmin {
		return Consent{}, fiber.ErrNotFound
	}
	user, _ := userOf(c)
	cons, err := h.Service.AdminConsent(user, t.ID)
	if errors.Is(err, ErrNoConsent) {
		return Consent{}, fiber.ErrNotFound
	}
	return cons, err
}

func (h *Handler) createAgreement(c *fiber.Ctx) error {
	cons, err := h.consent(c)
	if err != nil {
		return err
	}
	t, _ := tenant.FromRequest(c)
	n := NewAgreement{
		Receiving: form(c, "receiving"), Access: Access(form(c, "access")),
		StartsOn: form(c, "starts_on"), EndsOn: form(c, "ends_on"), Reciprocal: form(c, "reciprocal") != "",
	}
	_, err = h.Service.Propose(c.UserContext(), cons, n)
	var fe FieldErrors
	if errors.As(err, &fe) {
		v, err := h.sharingView(c)
		if err != nil {
			return err
		}
		for _, k := range []string{"receiving", "access", "starts_on", "ends_on"} {
			v.set(k, form(c, k))
		}
		v.Extra["Reciprocal"] = n.Reciprocal
		v.failAll(h.Render.Translator(c), fe)
		return h.deskPage(c, fiber.StatusUnprocessableEntity, "access_sharing", "access.sharing.title", v)
	}
	if err != nil {
		return err
	}
	return see(c, "/"+t.Slug+"/beheer/samenwerking?voorgesteld=1")
}

func (h *Handler) findAgreement(c *fiber.Ctx) (*Agreement, error) {
	t, _ := tenant.FromRequest(c)
	id, err := ParseAgreementID(c.Params("agreement"))
	if err != nil {
		return nil, fiber.ErrNotFound
	}
	a, err := h.Service.Agreement(c.UserContext(), t.ID, id)
	if errors.Is(err, ErrNotFound) {
		return nil, fiber.ErrNotFound
	}
	return a, err
}

func (h *Handler) agreement(c *fiber.Ctx) error {
	a, err := h.findAgreement(c)
	if err != nil {
		return err
	}
	t, _ := tenant.FromRequest(c)
	v := newView(c, "/"+t.Slug+"/beheer/samenwerking")
	v.Items = h.agreementRows(c, []Agreement{*a})
	v.Extra["Detail"] = true
	return h.deskPage(c, fiber.StatusOK, "access_sharing", "access.sharing.detail", v)
}

// answer runs one step on an agreement of this desk as its admin: done is
// the notice on success; a step no longer possible (answered meanwhile)
// shows the page again with a notice, 409.
func (h *Handler) answer(c *fiber.Ctx, step func(ctx context.Context, cons Consent, id AgreementID) error, done string) error {
	cons, err := h.consent(c)
	if err != nil {
		return err
	}
	a, err := h.findAgreement(c)
	if err != nil {
		return err
	}
	t, _ := tenant.FromRequest(c)
	err = step(c.UserContext(), cons, a.ID)
	if errors.Is(err, ErrNotFound) {
		return fiber.ErrNotFound
	}
	if errors.Is(err, ErrState) {
		v, err := h.sharingView(c)
		if err != nil {
			return err
		}
		v.Notice = h.Render.Translator(c).T("access.sharing.done.niet_meer")
		return h.deskPage(c, fiber.StatusConflict, "access_sharing", "access.sharing.title", v)
	}
	if err != nil {
		return err
	}
	return see(c, "/"+t.Slug+"/beheer/samenwerking?"+done+"=1")
}

func (h *Handler) acceptAgreement(c *fiber.Ctx) error {
	return h.answer(c, func(ctx context.Context, cons Consent, id AgreementID) error {
		_, err := h.Service.Accept(ctx, cons, id)
		return err
	}, "aanvaard")
}

func (h *Handler) refuseAgreement(c *fiber.Ctx) error {
	return h.answer(c, h.Service.Refuse, "geweigerd")
}

func (h *Handler) endAgreement(c *fiber.Ctx) error {
	return h.answer(c, h.Service.End, "ingetrokken")
}

// --- staff (desk, provider, operators) ---

type staffRow struct {
	ID, Name, Email string
	Roles           []string // role names as held
	Where           []string // location names for location-bound roles
	Self            bool
}

// staffRows turns holders into rows of people; API keys and unknown
// subjects are skipped.
func (h *Handler) staffRows(c *fiber.Ctx, holders []authz.Holder, where func(authz.Holder) string) ([]staffRow, error) {
	me, _ := userOf(c)
	var out []staffRow
	index := map[string]int{}
	for _, hd := range holders {
		id, err := account.ParseUserID(hd.User)
		if err != nil {
			continue
		}
		i, ok := index[hd.User]
		if !ok {
			u, err := h.Users.Store().ByID(c.UserContext(), id)
			if errors.Is(err, account.ErrNotFound) {
				continue
			}
			if err != nil {
				return nil, err
			}
			i = len(out)
			index[hd.User] = i
			out = append(out, staffRow{ID: hd.User, Name: u.DisplayName, Email: u.Email, Self: hd.User == me})
		}
		if !slices.Contains(out[i].Roles, string(hd.Role)) {
			out[i].Roles = append(out[i].Roles, string(hd.Role))
		}
		if where != nil {
			if w := where(hd); w != "" {
				out[i].Where = append(out[i].Where, w)
			}
		}
	}
	slices.SortFunc(out, func(a, b staffRow) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

var deskRoles = []authz.Role{authz.DeskAdmin, authz.DeskWorker, authz.Partner}

func (h *Handler) deskStaffView(c *fiber.Ctx) (*view, error) {
	t, _ := tenant.FromRequest(c)
	v := newView(c, "/"+t.Slug+"/beheer/medewerkers")
	rows, err := h.staffRows(c, h.Service.Authz().Holders(authz.Desk(t.Slug)), nil)
	if err != nil {
		return nil, err
	}
	v.Items = rows
	v.Extra["Roles"] = deskRoles
	v.Extra["Dialogs"] = h.deskRoleDialogs(c, v.Base, rows)
	return v, nil
}

func (h *Handler) deskStaff(c *fiber.Ctx) error {
	v, err := h.deskStaffView(c)
	if err != nil {
		return err
	}
	if c.Query("bewaard") != "" {
		v.Notice = h.Render.Translator(c).T("access.staff.saved")
	}
	return h.deskPage(c, fiber.StatusOK, "access_staff", "access.staff.title", v)
}

// invite gives role in domain to the person with this e-mail address,
// making the account (with no password: a reset link is mailed) when there
// is none yet. Roles that see family data require a second factor.
func (h *Handler) invite(ctx context.Context, tr web.Translator, email, name string, role authz.Role, domains []string) error {
	users := h.Users
	u, err := users.Store().ByEmail(ctx, account.NormalizeEmail(email))
	if errors.Is(err, account.ErrNotFound) {
		u, err = users.CreateUser(ctx, account.NewUser{Email: email, DisplayName: name, TOTPRequired: authz.RequiresSecondFactor(role)})
		if err != nil {
			return err
		}
		if err := users.RequestReset(ctx, u.Email, tr); err != nil {
			return err
		}
	} else if err != nil {
		return err
	}
	for _, d := range domains {
		if err := h.Service.Authz().AssignRole(ctx, u.ID.String(), role, d); err != nil {
			return err
		}
	}
	if authz.RequiresSecondFactor(role) && !u.TOTPRequired {
		return users.Store().SetTOTPRequired(ctx, u.ID, true)
	}
	return nil
}

// inviteErrors maps an invitation error to field errors (nil: not a form error).
func inviteErrors(err error) []FieldError {
	var afe account.FieldErrors
	if errors.As(err, &afe) {
		out := make([]FieldError, len(afe))
		for i, e := range afe {
			out[i] = FieldError{e.Field, e.Key}
		}
		return out
	}
	if errors.Is(err, account.ErrEmailTaken) {
		return []FieldError{{"email", "access.error.email_taken"}}
	}
	return nil
}

func (h *Handler) inviteDeskStaff(c *fiber.Ctx) error {
	t, _ := tenant.FromRequest(c)
	tr := h.Render.Translator(c)
	email, name, role := form(c, "email"), form(c, "display_name"), authz.Role(form(c, "role"))
	var fe []FieldError
	if !slices.Contains(deskRoles, role) {
		fe = append(fe, FieldError{"role", "access.error.role"})
	}
	if email == "" {
		fe = append(fe, FieldError{"email", "account.error.email"})
	}
	if fe == nil {
		err := h.invite(c.UserContext(), tr, email, name, role, []string{authz.Desk(t.Slug)})
		if fe = inviteErrors(err); fe == nil && err != nil {
			return err
		}
	}
	if fe != nil {
		v, err := h.deskStaffView(c)
		if err != nil {
			return err
		}
		v.set("email", email)
		v.set("display_name", name)
		v.set("role", string(role))
		v.failAll(tr, fe)
		return h.deskPage(c, fiber.StatusUnprocessableEntity, "access_staff", "access.staff.title", v)
	}
	return see(c, "/"+t.Slug+"/beheer/medewerkers?bewaard=1")
}

// changeDeskRole adds or removes one desk role of someone who already holds
// a role in this desk (anyone else: 404, so ids of other desks' staff
// reveal nothing and cannot be pulled in).
func (h *Handler) changeDeskRole(c *fiber.Ctx) error {
	t, _ := tenant.FromRequest(c)
	dom := authz.Desk(t.Slug)
	user := strings.Clone(c.Params("user"))
	az := h.Service.Authz()
	if !slices.ContainsFunc(az.Holders(dom), func(hd authz.Holder) bool { return hd.User == user }) {
		return fiber.ErrNotFound
	}
	role := authz.Role(form(c, "role"))
	if !slices.Contains(deskRoles, role) {
		return fiber.ErrUnprocessableEntity
	}
	me, _ := userOf(c)
	ctx := c.UserContext()
	switch form(c, "op") {
	case "add":
		id, _ := account.ParseUserID(user)
		if err := az.AssignRole(ctx, user, role, dom); err != nil {
			return err
		}
		if authz.RequiresSecondFactor(role) {
			if err := h.Users.Store().SetTOTPRequired(ctx, id, true); err != nil {
				return err
			}
		}
	case "remove":
		// Asked first; the desk's last admin keeps her role (ErrLastAdmin).
		if !confirmed(c) {
			return askRoleRemoval(c, "/"+t.Slug+"/beheer/medewerkers", user, role)
		}
		err := h.Service.RemoveDeskRole(ctx, t.Slug, user, role)
		if errors.Is(err, ErrLastAdmin) {
			v, verr := h.deskStaffView(c)
			if verr != nil {
				return verr
			}
			tr := h.Render.Translator(c)
			v.Errors = append(v.Errors, web.ErrorLink{Anchor: "staff-list", Message: tr.T("work.confirm.role.last_admin")})
			return h.deskPage(c, fiber.StatusUnprocessableEntity, "access_staff", "access.staff.title", v)
		}
		if err != nil {
			return err
		}
		if user == me && role == authz.DeskAdmin {
			return see(c, "/werk")
		}
	default:
		return fiber.ErrUnprocessableEntity
	}
	return see(c, "/"+t.Slug+"/beheer/medewerkers?bewaard=1")
}

// --- provider pages ---

type providerRow struct{ ID, Name string }

func (h *Handler) providers(c *fiber.Ctx) error {
	user, _ := userOf(c)
	az := h.Service.Authz()
	seen := map[string]bool{}
	var rows []providerRow
	for _, p := range []authz.Permission{authz.StaffManage, authz.APIKeysManage} {
		ds, err := az.DomainsWhere(user, p.Object(), p.Action())
		if err != nil {
			return err
		}
		for _, id := range authz.IDs(ds, authz.KindProvider) {
			if seen[id] {
				continue
			}
			seen[id] = true
			pid, err := ParseProviderID(id)
			if err != nil {
				continue
			}
			pr, err := h.Service.Provider(c.UserContext(), pid)
			if errors.Is(err, ErrNotFound) {
				continue
			}
			if err != nil {
				return err
			}
			rows = append(rows, providerRow{ID: id, Name: pr.Name})
		}
	}
	slices.SortFunc(rows, func(a, b providerRow) int { return strings.Compare(a.Name, b.Name) })
	v := newView(c, PathProvider)
	v.Items = rows
	return h.platformPage(c, fiber.StatusOK, "access_providers", "access.provider.title", v)
}

// provider loads the provider of the route (Require has run: it exists in
// the policy, but may be gone from the catalogue).
func (h *Handler) provider(c *fiber.Ctx) (*catalog.Provider, []catalog.Location, error) {
	id, err := ParseProviderID(c.Params("provider"))
	if err != nil {
		return nil, nil, fiber.ErrNotFound
	}
	p, err := h.Service.Provider(c.UserContext(), id)
	if errors.Is(err, ErrNotFound) {
		return nil, nil, fiber.ErrNotFound
	}
	if err != nil {
		return nil, nil, err
	}
	locs, err := h.Service.ProviderLocations(c.UserContext(), id)
	return p, locs, err
}

var providerRoles = []authz.Role{authz.ProviderAdmin, authz.ProviderStaff}

// providerHolders are the holders in the provider and in each location.
func (h *Handler) providerHolders(p *catalog.Provider, locs []catalog.Location) ([]authz.Holder, map[string]string) {
	az := h.Service.Authz()
	holders := az.Holders(authz.Provider(p.ID.String()))
	where := map[string]string{}
	for _, l := range locs {
		for _, hd := range az.Holders(authz.Location(l.ID.String())) {
			holders = append(holders, hd)
			where[hd.User+"|"+l.ID.String()] = l.Name
		}
	}
	return holders, where
}

func (h *Handler) providerStaffView(c *fiber.Ctx) (*view, *catalog.Provider, []catalog.Location, error) {
	p, locs, err := h.provider(c)
	if err != nil {
		return nil, nil, nil, err
	}
	holders, where := h.providerHolders(p, locs)
	// The location names of location-bound roles, per user.
	byUser := map[string][]string{}
	for k, name := range where {
		u, _, _ := strings.Cut(k, "|")
		byUser[u] = append(byUser[u], name)
	}
	rows, err := h.staffRows(c, holders, nil)
	if err != nil {
		return nil, nil, nil, err
	}
	for i := range rows {
		rows[i].Where = slices.Sorted(slices.Values(byUser[rows[i].ID]))
	}
	v := newView(c, PathProvider+"/"+p.ID.String()+"/medewerkers")
	v.Items = rows
	v.Extra["Provider"], v.Extra["Locations"], v.Extra["Roles"] = p.Name, locationOptions(locs), providerRoles
	return v, p, locs, nil
}

type locationOption struct{ ID, Name string }

func locationOptions(locs []catalog.Location) []locationOption {
	out := make([]locationOption, len(locs))
	for i, l := range locs {
		m, _ := geo.LookupMunicipality(l.MunicipalityNIS)
		out[i] = locationOption{ID: l.ID.String(), Name: l.Name + " (" + m.NameNL + ")"}
	}
	return out
}

func (h *Handler) providerStaff(c *fiber.Ctx) error {
	v, _, _, err := h.providerStaffView(c)
	if err != nil {
		return err
	}
	if c.Query("bewaard") != "" {
		v.Notice = h.Render.Translator(c).T("access.staff.saved")
	}
	return h.platformPage(c, fiber.StatusOK, "access_provider_staff", "access.provider.staff_title", v)
}

func (h *Handler) inviteProviderStaff(c *fiber.Ctx) error {
	tr := h.Render.Translator(c)
	p, locs, err := h.provider(c)
	if err != nil {
		return err
	}
	email, name, role := form(c, "email"), form(c, "display_name"), authz.Role(form(c, "role"))
	chosen := formValues(c, "locations")
	var fe []FieldError
	if !slices.Contains(providerRoles, role) {
		fe = append(fe, FieldError{"role", "access.error.role"})
	}
	domains := []string{authz.Provider(p.ID.String())}
	if len(chosen) > 0 {
		if role != authz.ProviderStaff {
			fe = append(fe, FieldError{"locations", "access.error.locations_admin"})
		}
		domains = nil
		for _, l := range chosen {
			if !slices.ContainsFunc(locs, func(o catalog.Location) bool { return o.ID.String() == l }) {
				fe = append(fe, FieldError{"locations", "access.error.locations"})
				break
			}
			domains = append(domains, authz.Location(l))
		}
	}
	if email == "" {
		fe = append(fe, FieldError{"email", "account.error.email"})
	}
	if fe == nil {
		err := h.invite(c.UserContext(), tr, email, name, role, domains)
		if fe = inviteErrors(err); fe == nil && err != nil {
			return err
		}
	}
	if fe != nil {
		v, _, _, err := h.providerStaffView(c)
		if err != nil {
			return err
		}
		v.set("email", email)
		v.set("display_name", name)
		v.set("role", string(role))
		v.failAll(tr, fe)
		return h.platformPage(c, fiber.StatusUnprocessableEntity, "access_provider_staff", "access.provider.staff_title", v)
	}
	return see(c, PathProvider+"/"+p.ID.String()+"/medewerkers?bewaard=1")
}

func (h *Handler) removeProviderStaff(c *fiber.Ctx) error {
	p, locs, err := h.provider(c)
	if err != nil {
		return err
	}
	user := strings.Clone(c.Params("user"))
	me, _ := userOf(c)
	if user == me {
		return fiber.ErrUnprocessableEntity
	}
	az := h.Service.Authz()
	ctx := c.UserContext()
	held := h.providerHoldings(p.ID.String(), locs, user)
	if len(held) == 0 {
		return fiber.ErrNotFound
	}
	if !confirmed(c) {
		return see(c, PathProvider+"/"+p.ID.String()+"/medewerkers/"+user+"/verwijderen")
	}
	for _, asg := range held {
		if err := az.RemoveRole(ctx, user, asg.Role, asg.Domain); err != nil {
			return err
		}
	}
	return see(c, PathProvider+"/"+p.ID.String()+"/medewerkers?bewaard=1")
}

type keyRow struct {
	ID, Name, Prefix, Created, LastUsed, Locations string
	Revoked                                        bool
}

func (h *Handler) keysView(c *fiber.Ctx) (*view, *catalog.Provider, []catalog.Location, error) {
	p, locs, err := h.provider(c)
	if err != nil {
		return nil, nil, nil, err
	}
	keys, err := h.Service.Keys(c.UserContext(), p.ID)
	if err != nil {
		return nil, nil, nil, err
	}
	tr := h.Render.Translator(c)
	names := map[string]string{}
	for _, l := range locs {
		names[l.ID.String()] = l.Name
	}
	rows := make([]keyRow, len(keys))
	for i, k := range keys {
		r := keyRow{ID: k.ID.String(), Name: k.Name, Prefix: k.Prefix, Created: tr.DateTime(k.CreatedAt),
			LastUsed: tr.T("access.keys.never"), Locations: tr.T("access.keys.all_locations"), Revoked: !k.RevokedAt.IsZero()}
		if !k.LastUsedAt.IsZero() {
			r.LastUsed = tr.DateTime(k.LastUsedAt)
		}
		if k.Locations != "" {
			var ns []string
			for _, l := range strings.Split(k.Locations, ",") {
				ns = append(ns, names[l])
			}
			r.Locations = strings.Join(ns, ", ")
		}
		rows[i] = r
	}
	v := newView(c, PathProvider+"/"+p.ID.String()+"/sleutels")
	v.Items = rows
	var dialogs []web.Confirm
	for _, r := range rows {
		if !r.Revoked {
			dialogs = append(dialogs, h.keyQuestion(c, v.Base, r.ID, r.Name))
		}
	}
	v.Extra["Dialogs"] = dialogs
	v.Extra["Provider"], v.Extra["Locations"] = p.Name, locationOptions(locs)
	return v, p, locs, nil
}

func (h *Handler) keys(c *fiber.Ctx) error {
	v, _, _, err := h.keysView(c)
	if err != nil {
		return err
	}
	if c.Query("ingetrokken") != "" {
		v.Notice = h.Render.Translator(c).T("access.keys.revoked")
	}
	return h.platformPage(c, fiber.StatusOK, "access_keys", "access.keys.title", v)
}

func (h *Handler) createKey(c *fiber.Ctx) error {
	p, _, err := h.provider(c)
	if err != nil {
		return err
	}
	_, token, err := h.Service.CreateKey(c.UserContext(), NewKey{
		Provider: p.ID, Name: form(c, "name"), Locations: formValues(c, "locations"), Actor: actor(c),
	})
	var fe FieldErrors
	if err != nil && !errors.As(err, &fe) {
		return err
	}
	v, _, _, verr := h.keysView(c)
	if verr != nil {
		return verr
	}
	if fe != nil {
		v.set("name", form(c, "name"))
		v.failAll(h.Render.Translator(c), fe)
		return h.platformPage(c, fiber.StatusUnprocessableEntity, "access_keys", "access.keys.title", v)
	}
	// Shown once, on this answer only; never stored in clear.
	v.Extra["Token"] = token
	return h.platformPage(c, fiber.StatusCreated, "access_keys", "access.keys.title", v)
}

func (h *Handler) revokeKey(c *fiber.Ctx) error {
	p, _, err := h.provider(c)
	if err != nil {
		return err
	}
	id, err := ParseAPIKeyID(c.Params("key"))
	if err != nil {
		return fiber.ErrNotFound
	}
	if !confirmed(c) {
		keys, err := h.Service.Keys(c.UserContext(), p.ID)
		if err != nil {
			return err
		}
		if !slices.ContainsFunc(keys, func(k APIKey) bool { return k.ID == id }) {
			return fiber.ErrNotFound
		}
		return see(c, PathProvider+"/"+p.ID.String()+"/sleutels/"+id.String()+"/intrekken")
	}
	if err := h.Service.RevokeKey(c.UserContext(), p.ID, id); errors.Is(err, ErrNotFound) {
		return fiber.ErrNotFound
	} else if err != nil {
		return err
	}
	return see(c, PathProvider+"/"+p.ID.String()+"/sleutels?ingetrokken=1")
}

// --- operator pages ---

type deskRow struct {
	Slug, Name, Mode string
	Municipalities   []string
	Regions          []string
}

func (h *Handler) operatorDesks(c *fiber.Ctx) error {
	web.SetLanguage(c, web.PickLanguage(c, []string{"nl", "fr", "en"}, "nl"))
	lang := web.LanguageOf(c)
	var rows []deskRow
	for _, t := range h.Dir.All() {
		r := deskRow{Slug: t.Slug, Name: t.DisplayName(lang), Mode: string(t.Mode)}
		for _, nis := range t.Municipalities {
			if m, ok := geo.LookupMunicipality(nis); ok {
				r.Municipalities = append(r.Municipalities, m.Name(lang))
			}
		}
		for _, reg := range h.Service.Authz().Parents(authz.Desk(t.Slug)) {
			_, nis, _ := authz.ParseDomain(reg)
			if g, ok := geo.LookupRegion(geo.NISCode(nis)); ok {
				r.Regions = append(r.Regions, g.Name(lang))
			}
		}
		rows = append(rows, r)
	}
	v := newView(c, PathOperator)
	v.Items = rows
	return h.platformPage(c, fiber.StatusOK, "access_operator", "access.operator.desks_title", v)
}

type regionRow struct {
	NIS, Name string
	Desks     []string
}

func (h *Handler) operatorRegions(c *fiber.Ctx) error {
	web.SetLanguage(c, web.PickLanguage(c, []string{"nl", "fr", "en"}, "nl"))
	lang := web.LanguageOf(c)
	byRegion := map[string][]string{}
	for _, t := range h.Dir.All() {
		for _, reg := range h.Service.Authz().Parents(authz.Desk(t.Slug)) {
			byRegion[reg] = append(byRegion[reg], t.DisplayName(lang))
		}
	}
	var rows []regionRow
	for _, g := range geo.Regions() {
		rows = append(rows, regionRow{NIS: string(g.NIS), Name: g.Name(lang), Desks: byRegion[authz.Region(string(g.NIS))]})
	}
	v := newView(c, PathOperator+"/regios")
	v.Items = rows
	v.Extra["Regions"] = true
	return h.platformPage(c, fiber.StatusOK, "access_operator", "access.operator.regions_title", v)
}

func (h *Handler) operatorsView(c *fiber.Ctx) (*view, error) {
	rows, err := h.staffRows(c, h.Service.Authz().Holders(authz.Platform), nil)
	if err != nil {
		return nil, err
	}
	v := newView(c, PathOperator+"/operators")
	v.Items = rows
	v.Extra["Operators"] = true
	var dialogs []web.Confirm
	for _, r := range rows {
		if !r.Self {
			dialogs = append(dialogs, h.operatorQuestion(c, r.ID, r.Name))
		}
	}
	v.Extra["Dialogs"] = dialogs
	return v, nil
}

func (h *Handler) operators(c *fiber.Ctx) error {
	v, err := h.operatorsView(c)
	if err != nil {
		return err
	}
	if c.Query("bewaard") != "" {
		v.Notice = h.Render.Translator(c).T("access.staff.saved")
	}
	return h.platformPage(c, fiber.StatusOK, "access_operator", "access.operator.operators_title", v)
}

// addOperator makes an existing account operator (operators are few and
// known; they get an account through a desk or provider invitation first,
// or from the command line).
func (h *Handler) addOperator(c *fiber.Ctx) error {
	email := form(c, "email")
	ctx := c.UserContext()
	u, err := h.Users.Store().ByEmail(ctx, account.NormalizeEmail(email))
	if errors.Is(err, account.ErrNotFound) {
		web.SetLanguage(c, web.PickLanguage(c, []string{"nl", "fr", "en"}, "nl"))
		v, verr := h.operatorsView(c)
		if verr != nil {
			return verr
		}
		v.set("email", email)
		v.fail(h.Render.Translator(c), "email", "access.error.user_unknown")
		return h.platformPage(c, fiber.StatusUnprocessableEntity, "access_operator", "access.operator.operators_title", v)
	}
	if err != nil {
		return err
	}
	if err := h.Service.Authz().AssignRole(ctx, u.ID.String(), authz.Operator, authz.Platform); err != nil {
		return err
	}
	if err := h.Users.Store().SetTOTPRequired(ctx, u.ID, true); err != nil {
		return err
	}
	return see(c, PathOperator+"/operators?bewaard=1")
}

func (h *Handler) removeOperator(c *fiber.Ctx) error {
	user := strings.Clone(c.Params("user"))
	me, _ := userOf(c)
	az := h.Service.Authz()
	if !slices.Contains(az.Holders(authz.Platform), authz.Holder{User: user, Role: authz.Operator}) {
		return fiber.ErrNotFound
	}
	if user == me {
		return fiber.ErrUnprocessableEntity
	}
	if !confirmed(c) {
		return see(c, PathOperator+"/operators/"+user+"/verwijderen")
	}
	if err := az.RemoveRole(c.UserContext(), user, authz.Operator, authz.Platform); err != nil {
		return err
	}
	return see(c, PathOperator+"/operators?bewaard=1")
}
