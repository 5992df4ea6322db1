package access

import (
	"context"
	"errors"
	"net/url"
	"slices"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/loket-kinderopvang/loket/internal/account"
	"github.com/loket-kinderopvang/loket/internal/catalog"
	"github.com/loket-kinderopvang/loket/internal/platform/authz"
	"github.com/loket-kinderopvang/loket/internal/platform/web"
	"github.com/loket-kinderopvang/loket/internal/tenant"
)

// Dangerous admin actions ask first (issue 20, point 8): removing a role,
// removing a provider's staff member and revoking an API key. Their buttons
// open a confirmation page (GET); only its form (confirm=yes) acts. With
// JavaScript the same question opens in a dialog (static/confirm.js).

// ErrLastAdmin: a desk always keeps an admin, so nobody (not even she
// herself) removes the admin role of the desk's last admin.
var ErrLastAdmin = errors.New("access: the last admin of a desk keeps the admin role")

// RemoveDeskRole takes role at the desk away from user. The desk's last
// admin keeps hers (ErrLastAdmin).
//
// Two admins removing each other at the same moment on two replicas could
// both pass the check; the policy writes are not serialised across replicas.
func (s *Service) RemoveDeskRole(ctx context.Context, deskSlug, user string, role authz.Role) error {
	dom := authz.Desk(deskSlug)
	if role == authz.DeskAdmin {
		admins, holds := 0, false
		for _, hd := range s.authz.Holders(dom) {
			if hd.Role == authz.DeskAdmin {
				admins++
				holds = holds || hd.User == user
			}
		}
		if holds && admins <= 1 {
			return ErrLastAdmin
		}
	}
	return s.authz.RemoveRole(ctx, user, role, dom)
}

func confirmed(c *fiber.Ctx) bool { return c.FormValue("confirm") == "yes" }

func (h *Handler) confirmPage(c *fiber.Ctx, q web.Confirm) error {
	c.Set(fiber.HeaderCacheControl, "no-store")
	if t, ok := tenant.FromRequest(c); ok {
		return h.Render.Render(c, fiber.StatusOK, "confirm", h.Desks.Page(c, t, q.Title, q))
	}
	web.SetLanguage(c, web.PickLanguage(c, []string{"nl", "fr", "en"}, "nl"))
	return h.Render.Render(c, fiber.StatusOK, "confirm", web.Page{Translator: h.Render.Translator(c), Title: q.Title, Data: q})
}

// userName is the display name of a user id, for the questions.
func (h *Handler) userName(ctx context.Context, user string) string {
	id, err := account.ParseUserID(user)
	if err != nil {
		return ""
	}
	u, err := h.Users.Store().ByID(ctx, id)
	if err != nil {
		return ""
	}
	return u.DisplayName
}

// roleQuestion asks before removing role from user at the desk.
func (h *Handler) roleQuestion(c *fiber.Ctx, base, user, name string, role authz.Role) web.Confirm {
	tr := h.Render.Translator(c)
	me, _ := userOf(c)
	roleName := tr.T("access.role." + string(role))
	text := tr.T("work.confirm.role.text", "Role", roleName, "Name", name)
	if user == me {
		text = tr.T("work.confirm.role.self", "Role", roleName)
	}
	return web.Confirm{ID: "confirm-role-" + user + "-" + string(role), Title: tr.T("work.confirm.role.title", "Role", roleName, "Name", name),
		Text: text, Action: base + "/" + user + "/rollen", CSRF: account.CSRFToken(c),
		Fields: [][2]string{{"op", "remove"}, {"role", string(role)}}, Submit: tr.T("work.confirm.role.submit", "Role", roleName),
		Danger: true, Cancel: base, CancelLabel: tr.T("work.confirm.cancel")}
}

// confirmDeskRole is the question before removing a desk role
// (GET …/beheer/medewerkers/{user}/rollen?op=remove&role=…).
func (h *Handler) confirmDeskRole(c *fiber.Ctx) error {
	t, _ := tenant.FromRequest(c)
	user := strings.Clone(c.Params("user"))
	role := authz.Role(strings.Clone(c.Query("role")))
	dom := authz.Desk(t.Slug)
	if !slices.ContainsFunc(h.Service.Authz().Holders(dom), func(hd authz.Holder) bool { return hd.User == user && hd.Role == role }) {
		return fiber.ErrNotFound
	}
	base := "/" + t.Slug + "/beheer/medewerkers"
	return h.confirmPage(c, h.roleQuestion(c, base, user, h.userName(c.UserContext(), user), role))
}

// deskRoleDialogs are the questions of every role shown on the staff page.
func (h *Handler) deskRoleDialogs(c *fiber.Ctx, base string, rows []staffRow) []web.Confirm {
	var out []web.Confirm
	for _, r := range rows {
		for _, role := range r.Roles {
			out = append(out, h.roleQuestion(c, base, r.ID, r.Name, authz.Role(role)))
		}
	}
	return out
}

// askRoleRemoval sends an unconfirmed removal to its question.
func askRoleRemoval(c *fiber.Ctx, base, user string, role authz.Role) error {
	return see(c, base+"/"+user+"/rollen?op=remove&role="+url.QueryEscape(string(role)))
}

// confirmProviderStaff asks before removing a provider's staff member.
func (h *Handler) confirmProviderStaff(c *fiber.Ctx) error {
	p, locs, err := h.provider(c)
	if err != nil {
		return err
	}
	user := strings.Clone(c.Params("user"))
	name := h.userName(c.UserContext(), user)
	if name == "" || len(h.providerHoldings(p.ID.String(), locs, user)) == 0 {
		return fiber.ErrNotFound
	}
	tr := h.Render.Translator(c)
	base := PathProvider + "/" + p.ID.String() + "/medewerkers"
	return h.confirmPage(c, web.Confirm{Title: tr.T("work.confirm.staff.title", "Name", name),
		Text: tr.T("work.confirm.staff.text", "Name", name, "Provider", p.Name), Action: base + "/" + user + "/verwijderen",
		CSRF: account.CSRFToken(c), Submit: tr.T("work.confirm.staff.submit"), Danger: true, Cancel: base,
		CancelLabel: tr.T("work.confirm.cancel")})
}

// operatorQuestion asks before taking the operator role from user.
func (h *Handler) operatorQuestion(c *fiber.Ctx, user, name string) web.Confirm {
	tr := h.Render.Translator(c)
	base := PathOperator + "/operators"
	return web.Confirm{ID: "confirm-operator-" + user, Title: tr.T("work.confirm.operator.title", "Name", name),
		Text: tr.T("work.confirm.operator.text", "Name", name), Action: base + "/" + user + "/verwijderen", CSRF: account.CSRFToken(c),
		Submit: tr.T("work.confirm.operator.submit"), Danger: true, Cancel: base, CancelLabel: tr.T("work.confirm.cancel")}
}

// confirmOperator asks before removing an operator (GET
// /beheer/operators/{user}/verwijderen); nobody removes herself.
func (h *Handler) confirmOperator(c *fiber.Ctx) error {
	user := strings.Clone(c.Params("user"))
	me, _ := userOf(c)
	if user == me || !slices.Contains(h.Service.Authz().Holders(authz.Platform), authz.Holder{User: user, Role: authz.Operator}) {
		return fiber.ErrNotFound
	}
	return h.confirmPage(c, h.operatorQuestion(c, user, h.userName(c.UserContext(), user)))
}

// keyQuestion asks before revoking an API key.
func (h *Handler) keyQuestion(c *fiber.Ctx, base, id, name string) web.Confirm {
	tr := h.Render.Translator(c)
	return web.Confirm{ID: "confirm-key-" + id, Title: tr.T("work.confirm.key.title", "Name", name),
		Text: tr.T("work.confirm.key.text", "Name", name), Action: base + "/" + id + "/intrekken", CSRF: account.CSRFToken(c),
		Submit: tr.T("work.confirm.key.submit"), Danger: true, Cancel: base, CancelLabel: tr.T("work.confirm.cancel")}
}

// confirmRevokeKey asks before revoking a key (GET …/sleutels/{key}/intrekken).
func (h *Handler) confirmRevokeKey(c *fiber.Ctx) error {
	v, _, _, err := h.keysView(c)
	if err != nil {
		return err
	}
	id := c.Params("key")
	for _, k := range v.Items.([]keyRow) {
		if k.ID == id && !k.Revoked {
			return h.confirmPage(c, h.keyQuestion(c, v.Base, k.ID, k.Name))
		}
	}
	return fiber.ErrNotFound
}

// Holds reports whether the row's person holds role (the staff page offers
// to add only the roles she lacks).
func (r staffRow) Holds(role authz.Role) bool { return slices.Contains(r.Roles, string(role)) }

// providerHoldings are the roles user holds at the provider or one of its
// locations (none: not the provider's staff, so 404).
func (h *Handler) providerHoldings(provider string, locs []catalog.Location, user string) []authz.Assignment {
	doms := []string{authz.Provider(provider)}
	for _, l := range locs {
		doms = append(doms, authz.Location(l.ID.String()))
	}
	var held []authz.Assignment
	for _, d := range doms {
		for _, hd := range h.Service.Authz().Holders(d) {
			if hd.User == user {
				held = append(held, authz.Assignment{Role: hd.Role, Domain: d})
			}
		}
	}
	return held
}
