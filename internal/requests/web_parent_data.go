package requests

import (
	"context"
	"errors"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/loket-kinderopvang/loket/internal/account"
	"github.com/loket-kinderopvang/loket/internal/catalog"
	"github.com/loket-kinderopvang/loket/internal/geo"
	"github.com/loket-kinderopvang/loket/internal/platform/authz"
	"github.com/loket-kinderopvang/loket/internal/platform/web"
	"github.com/loket-kinderopvang/loket/internal/tenant"
)

// Issue 18, point 2: from her status page a parent reads and downloads
// everything the desk holds about her family, and can ask for erasure.

// registerFamilyData adds the routes under /{tenant}/aanvraag/{token}.
func (p *ParentPages) registerFamilyData(desk fiber.Router) {
	desk.Get(PathStatus+"/:token/gegevens", p.dataPage)
	desk.Get(PathStatus+"/:token/gegevens.json", p.dataJSON)
	desk.Get(PathStatus+"/:token/wissen", p.eraseForm)
	desk.Post(PathStatus+"/:token/wissen", p.erase)
}

// seenLine is one look at the family in words: when, which organisation,
// what.
func (p *ParentPages) seenLines(ctx context.Context, tr web.Translator, d *FamilyData) []string {
	names := map[string]string{}
	out := make([]string, 0, len(d.Looks))
	for _, l := range d.Looks {
		name, ok := names[l.Organisation]
		if !ok {
			name = p.organisationName(ctx, l.Organisation, tr.Lang())
			names[l.Organisation] = name
		}
		if name == "" {
			name = tr.T("privacy.family.someone")
		}
		out = append(out, tr.T("privacy.family.seen_line", "Date", tr.DateTime(l.OccurredAt), "Who", name,
			"What", tr.T("privacy.look."+l.What)))
	}
	return out
}

// organisationName names tenant:<slug> (a desk) or provider:<id> (a
// childcare provider) as people know them.
func (p *ParentPages) organisationName(ctx context.Context, org, lang string) string {
	kind, id, err := authz.ParseDomain(org)
	if err != nil {
		return ""
	}
	switch kind {
	case authz.KindTenant:
		if t, ok := p.svc.opts.Desks.BySlug(id); ok {
			return t.DisplayName(lang)
		}
	case authz.KindProvider:
		if pid, err := catalog.ParseProviderID(id); err == nil {
			if prov, _, err := p.cat.ProviderLocations(ctx, pid); err == nil {
				return prov.Name
			}
		}
	}
	return ""
}

// familyData reads the family of the status link.
func (p *ParentPages) familyData(c *fiber.Ctx) (tenant.Tenant, *Case, *FamilyData, error) {
	t, cs, err := p.statusRequest(c)
	if err != nil {
		return t, nil, nil, err
	}
	d, err := p.svc.FamilyDataOf(c.UserContext(), cs.Request.ID)
	if err != nil {
		return t, nil, nil, err
	}
	d.Desk = t.DisplayName(p.render.Translator(c).Lang())
	return t, cs, d, nil
}

// dataJSON is the download: every row and column, and the looks in words.
func (p *ParentPages) dataJSON(c *fiber.Ctx) error {
	_, _, d, err := p.familyData(c)
	if err != nil {
		return err
	}
	privatePage(c)
	c.Set(fiber.HeaderContentDisposition, `attachment; filename="gegevens-gezin.json"`)
	return c.JSON(struct {
		*FamilyData
		SeenBy []string `json:"seen_by"`
	}{d, p.seenLines(c.UserContext(), p.render.Translator(c), d)})
}

type dataRequest struct {
	Submitted, Status, Start, CareNote string
	Preferences, Notes, Events         []string
}

type dataView struct {
	Base, Desk, Generated                  string
	FamilyName, Email, Phone, Municipality string
	Neighbourhood                          string
	Parents, Children, Seen                []string
	Requests                               []dataRequest
}

// dataPage is the same, readable and printable.
func (p *ParentPages) dataPage(c *fiber.Ctx) error {
	t, _, d, err := p.familyData(c)
	if err != nil {
		return err
	}
	tr := p.render.Translator(c)
	lang := tr.Lang()
	f := d.Family
	v := dataView{Base: p.statusBase(t, c), Desk: d.Desk, Generated: tr.Date(d.GeneratedAt), FamilyName: f.DisplayName,
		Email: f.Email, Phone: f.Phone, Neighbourhood: f.Neighbourhood, Seen: p.seenLines(c.UserContext(), tr, d)}
	if f.MunicipalityNIS != "" {
		v.Municipality = municipalityName(geo.NISCode(f.MunicipalityNIS), lang)
	}
	for _, pa := range f.Parents {
		line := strings.TrimSpace(pa.FirstName + " " + pa.LastName)
		for _, x := range []string{pa.Email, pa.Phone} {
			if x != "" {
				line += " · " + x
			}
		}
		v.Parents = append(v.Parents, line)
	}
	for _, ch := range d.Children {
		v.Children = append(v.Children, strings.TrimSpace(ch.FirstName+" "+ch.LastName)+" · "+tr.Date(ch.BornOrExpected()))
	}
	for _, r := range d.Requests {
		cs, err := p.svc.Case(c.UserContext(), r.ID)
		if err != nil {
			return err
		}
		dr := dataRequest{Status: tr.T("request.status." + string(r.Status)), Start: tr.Date(r.DesiredStart), CareNote: r.CareNeedNote.String()}
		if r.SubmittedAt != nil {
			dr.Submitted = tr.Date(*r.SubmittedAt)
		} else {
			dr.Submitted = tr.Date(r.CreatedAt)
		}
		for _, pr := range r.Preferences {
			dr.Preferences = append(dr.Preferences, cs.Locations[pr.LocationID].Name+" – "+tr.T("request.pref."+string(pr.State)))
		}
		for _, n := range cs.Notes {
			dr.Notes = append(dr.Notes, tr.Date(n.CreatedAt)+": "+n.Body.String())
		}
		for _, e := range cs.History {
			dr.Events = append(dr.Events, tr.DateTime(e.OccurredAt)+": "+historyWhat(tr, e, cs.Locations))
		}
		v.Requests = append(v.Requests, dr)
	}
	privatePage(c)
	return p.render.Render(c, fiber.StatusOK, "request_data", p.desks.Page(c, t, tr.T("privacy.family.heading"), v))
}

type eraseView struct{ Base, CSRF, Requested string }

// eraseForm asks before the parent asks for erasure.
func (p *ParentPages) eraseForm(c *fiber.Ctx) error {
	t, cs, err := p.statusRequest(c)
	if err != nil {
		return err
	}
	tr := p.render.Translator(c)
	v := eraseView{Base: p.statusBase(t, c), CSRF: account.CSRFToken(c)}
	if at := cs.Family.ErasureRequestedAt; at != nil {
		v.Requested = tr.Date(*at)
	}
	privatePage(c)
	return p.render.Render(c, fiber.StatusOK, "request_erase", p.desks.Page(c, t, tr.T("privacy.erase.title"), v))
}

// erase records the parent's request for erasure; the desk decides (the
// request page shows it).
func (p *ParentPages) erase(c *fiber.Ctx) error {
	t, cs, err := p.statusRequest(c)
	if err != nil {
		return err
	}
	if c.FormValue("confirm") != "yes" {
		return c.Redirect(p.statusBase(t, c)+"/wissen", fiber.StatusSeeOther)
	}
	if err := p.svc.RequestErasure(c.UserContext(), cs.Request.ID); err != nil && !errors.Is(err, ErrTransition) {
		return err
	}
	return c.Redirect(p.statusBase(t, c)+"/wissen", fiber.StatusSeeOther)
}
