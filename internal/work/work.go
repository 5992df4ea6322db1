// Package work is the staff's starting point: the home of a signed-in account
// (/werk) lists every desk, provider, location and region the account may
// act for, with the numbers that need attention, and the header menu of
// every staff page. What an account may do comes from its Casbin roles
// (internal/platform/authz); the numbers come from the domain services that
// own them (requests, catalog), never from SQL here.
package work

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/loket-kinderopvang/loket/internal/catalog"
	"github.com/loket-kinderopvang/loket/internal/geo"
	"github.com/loket-kinderopvang/loket/internal/platform/authz"
	"github.com/loket-kinderopvang/loket/internal/platform/clock"
	"github.com/loket-kinderopvang/loket/internal/platform/tenancy"
	"github.com/loket-kinderopvang/loket/internal/platform/web"
	"github.com/loket-kinderopvang/loket/internal/requests"
	"github.com/loket-kinderopvang/loket/internal/tenant"
)

// PathHome is the home of every signed-in account.
const PathHome = "/werk"

// Roles answers what an account holds and may do (authz.Authorizer).
type Roles interface {
	RolesFor(user string) map[string][]authz.Role
	Allowed(user, domain string, perm authz.Permission) (bool, error)
}

// Attention counts the open work of desks and providers (requests.Service).
type Attention interface {
	DeskAttention(ctx context.Context) (requests.DeskAttention, error)
	ProviderAttention(ctx context.Context, locations []uuid.UUID) (requests.ProviderAttention, error)
}

// Service computes an account's home and menu.
type Service struct {
	roles     Roles
	desks     *tenant.Directory
	attention Attention
	catalog   *catalog.Store
	clock     clock.Clock
}

// NewService returns the service.
func NewService(roles Roles, desks *tenant.Directory, attention Attention, cat *catalog.Store, c clock.Clock) *Service {
	return &Service{roles: roles, desks: desks, attention: attention, catalog: cat, clock: c}
}

// Desk is one desk the account works for.
type Desk struct {
	Desk  tenant.Tenant
	Roles []authz.Role
	// Attention is nil for a partner, who sees only her own referrals: the
	// desk's numbers are not hers to see.
	Attention *requests.DeskAttention
	// What the account may open here.
	Worklist, Register, Figures, Rounds, Staff, Sharing bool
	// Crisis: the desk's crisis contact point (issue 16), for staff who
	// change requests, in either mode.
	Crisis bool
}

// Location is one location whose free places the account keeps.
type Location struct {
	ID         catalog.LocationID
	Name       string
	LastUpdate time.Time // zero: never
	Stale      bool      // the reminder: figures older than catalog.StaleAfter
}

// Provider is one provider the account works for, with the locations it
// may act for (all of them for provider-wide roles).
type Provider struct {
	ID        catalog.ProviderID
	Name      string
	Roles     []authz.Role
	Attention requests.ProviderAttention
	Locations []Location
	Stale     int // locations with stale free places
	// Admin: staff and API keys of the provider.
	Admin bool
}

// Region is one region whose figures the account reads.
type Region struct{ Region geo.Region }

// Home is everything the account may act for.
type Home struct {
	Desks     []Desk
	Providers []Provider
	Regions   []Region
	Operator  bool
}

// Empty reports an account with no role anywhere.
func (h Home) Empty() bool {
	return len(h.Desks) == 0 && len(h.Providers) == 0 && len(h.Regions) == 0 && !h.Operator
}

func (s *Service) allowed(user, domain string, p authz.Permission) bool {
	ok, err := s.roles.Allowed(user, domain, p)
	return err == nil && ok
}

// Home builds the account's home. Desks and providers come only from roles
// the account holds itself (not from sharing grants): the numbers are the
// desk's own work.
func (s *Service) Home(ctx context.Context, user string) (Home, error) {
	var h Home
	held := s.roles.RolesFor(user)
	domains := make([]string, 0, len(held))
	for d := range held {
		domains = append(domains, d)
	}
	slices.Sort(domains)
	providers := map[catalog.ProviderID]*Provider{}
	var order []catalog.ProviderID
	provider := func(id catalog.ProviderID) (*Provider, error) {
		if p, ok := providers[id]; ok {
			return p, nil
		}
		pr, _, err := s.catalog.ProviderLocations(ctx, id)
		if err != nil {
			return nil, err
		}
		p := &Provider{ID: id, Name: pr.Name}
		providers[id] = p
		order = append(order, id)
		return p, nil
	}
	for _, dom := range domains {
		roles := held[dom]
		kind, id, err := authz.ParseDomain(dom)
		if err != nil {
			continue
		}
		switch kind {
		case authz.KindPlatform:
			h.Operator = slices.Contains(roles, authz.Operator)
		case authz.KindTenant:
			t, ok := s.desks.BySlug(id)
			if !ok {
				continue
			}
			d := Desk{Desk: t, Roles: roles,
				Worklist: s.allowed(user, dom, authz.RequestsRead),
				Register: s.allowed(user, dom, authz.RequestsWrite),
				Figures:  s.allowed(user, dom, authz.ReportsRead),
				Staff:    s.allowed(user, dom, authz.StaffManage),
				Sharing:  s.allowed(user, dom, authz.SharingManage)}
			staff := slices.Contains(roles, authz.DeskAdmin) || slices.Contains(roles, authz.DeskWorker)
			d.Rounds = staff && t.Mode == tenant.ModeCentral && d.Register
			d.Crisis = staff && d.Register
			if staff {
				n, err := s.attention.DeskAttention(tenancy.WithTenant(ctx, t.ID))
				if err != nil {
					return h, err
				}
				d.Attention = &n
			}
			h.Desks = append(h.Desks, d)
		case authz.KindProvider:
			pid, err := catalog.ParseProviderID(id)
			if err != nil {
				continue
			}
			p, err := provider(pid)
			if err != nil {
				continue // a provider that left the catalogue
			}
			p.Roles = append(p.Roles, roles...)
			p.Admin = p.Admin || s.allowed(user, dom, authz.StaffManage)
			_, ls, err := s.catalog.ProviderLocations(ctx, pid)
			if err != nil {
				return h, err
			}
			for _, l := range ls {
				p.addLocation(l)
			}
		case authz.KindLocation:
			lid, err := catalog.ParseLocationID(id)
			if err != nil {
				continue
			}
			d, err := s.catalog.Get(ctx, lid, "9999-12")
			if err != nil {
				continue
			}
			p, err := provider(d.ProviderID)
			if err != nil {
				continue
			}
			for _, r := range roles {
				if !slices.Contains(p.Roles, r) {
					p.Roles = append(p.Roles, r)
				}
			}
			p.addLocation(d.Location)
		case authz.KindRegion:
			if r, ok := geo.LookupRegion(geo.NISCode(id)); ok && s.allowed(user, dom, authz.ReportsAggregate) {
				h.Regions = append(h.Regions, Region{Region: r})
			}
		}
	}
	now := s.clock.Now()
	for _, id := range order {
		p := providers[id]
		locs := make([]catalog.LocationID, len(p.Locations))
		uids := make([]uuid.UUID, len(p.Locations))
		for i, l := range p.Locations {
			locs[i], uids[i] = l.ID, l.ID.UUID
		}
		updated, err := s.catalog.FreePlacesUpdated(ctx, locs)
		if err != nil {
			return h, err
		}
		for i := range p.Locations {
			l := &p.Locations[i]
			l.LastUpdate = updated[l.ID]
			l.Stale = l.LastUpdate.IsZero() || now.Sub(l.LastUpdate) > catalog.StaleAfter
			if l.Stale {
				p.Stale++
			}
		}
		if p.Attention, err = s.attention.ProviderAttention(ctx, uids); err != nil {
			return h, err
		}
		h.Providers = append(h.Providers, *p)
	}
	return h, nil
}

func (p *Provider) addLocation(l catalog.Location) {
	for _, have := range p.Locations {
		if have.ID == l.ID {
			return
		}
	}
	p.Locations = append(p.Locations, Location{ID: l.ID, Name: l.Name})
	slices.SortFunc(p.Locations, func(a, b Location) int { return strings.Compare(a.Name, b.Name) })
}

// Menu returns the header menu of a signed-in account, from its roles only
// (no database: it is built on every staff page). A section with one target
// links to it; with several, to its part of the home.
func (s *Service) Menu(user, path string) []web.NavItem {
	held := s.roles.RolesFor(user)
	var figures, rounds, crisis, admin []string
	domains := make([]string, 0, len(held))
	for d := range held {
		domains = append(domains, d)
	}
	slices.Sort(domains)
	for _, dom := range domains {
		roles := held[dom]
		kind, id, err := authz.ParseDomain(dom)
		if err != nil {
			continue
		}
		staff := slices.Contains(roles, authz.DeskAdmin) || slices.Contains(roles, authz.DeskWorker)
		switch kind {
		case authz.KindPlatform:
			if slices.Contains(roles, authz.Operator) {
				admin = append(admin, "/beheer")
			}
		case authz.KindTenant:
			t, ok := s.desks.BySlug(id)
			if !ok {
				continue
			}
			if staff {
				figures = append(figures, "/"+t.Slug+"/loket/cijfers")
				if t.Mode == tenant.ModeCentral {
					rounds = append(rounds, "/"+t.Slug+"/loket/rondes")
				}
				crisis = append(crisis, "/"+t.Slug+"/loket/crisis")
			}
			if slices.Contains(roles, authz.DeskAdmin) {
				admin = append(admin, "/"+t.Slug+"/beheer/medewerkers")
			}
		case authz.KindProvider:
			if slices.Contains(roles, authz.ProviderAdmin) {
				admin = append(admin, "/aanbieder/"+id+"/medewerkers")
			}
		case authz.KindRegion:
			if slices.Contains(roles, authz.RegionalCoordinator) {
				figures = append(figures, "/regio/"+id+"/cijfers")
				crisis = append(crisis, "/regio/"+id+"/crisis")
			}
		}
	}
	items := []web.NavItem{{Href: PathHome, Key: "work.nav.work"}}
	add := func(key, anchor string, targets []string) {
		switch len(targets) {
		case 0:
			return
		case 1:
			items = append(items, web.NavItem{Href: targets[0], Key: key})
		default:
			items = append(items, web.NavItem{Href: PathHome + "#" + anchor, Key: key})
		}
	}
	add("work.nav.figures", "cijfers", figures)
	add("work.nav.rounds", "rondes", rounds)
	add("work.nav.crisis", "crisis", crisis)
	add("work.nav.admin", "beheer", admin)
	items = append(items, web.NavItem{Href: "/account", Key: "work.nav.account"})
	// The page's own section is marked (aria-current); the home only on itself.
	best := -1
	for i, it := range items {
		href, _, _ := strings.Cut(it.Href, "#")
		if path == href || (href != PathHome && strings.HasPrefix(path, href)) {
			if best < 0 || len(href) > len(items[best].Href) {
				best = i
			}
		}
	}
	if best < 0 && path != "/account" {
		best = 0 // desk, inbox and free-places pages are the work itself
	}
	if best >= 0 {
		items[best].Current = true
	}
	return items
}
