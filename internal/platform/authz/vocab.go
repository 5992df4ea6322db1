package authz

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Kind is the kind of a domain. A domain is written "kind:id", except the
// single platform domain, which is just "platform".
type Kind string

// The domain kinds.
const (
	KindPlatform Kind = "platform"
	KindTenant   Kind = "tenant"   // a desk: tenant:<slug>
	KindProvider Kind = "provider" // a childcare provider: provider:<id>
	KindLocation Kind = "location" // one location of a provider: location:<id>
	KindRegion   Kind = "region"   // a region (arrondissement): region:<nis>
)

// Platform is the domain of platform-wide roles and routes.
const Platform = "platform"

// Desk returns the domain of the desk with this slug.
func Desk(slug string) string { return string(KindTenant) + ":" + slug }

// Provider returns the domain of a provider.
func Provider(id string) string { return string(KindProvider) + ":" + id }

// Location returns the domain of one location.
func Location(id string) string { return string(KindLocation) + ":" + id }

// Region returns the domain of a region by its NIS code.
func Region(nis string) string { return string(KindRegion) + ":" + nis }

// ErrInvalid is wrapped by every validation error of this package.
var ErrInvalid = errors.New("authz: invalid")

// ParseDomain splits a domain into its kind and id.
func ParseDomain(domain string) (Kind, string, error) {
	if domain == Platform {
		return KindPlatform, "", nil
	}
	kind, id, ok := strings.Cut(domain, ":")
	switch Kind(kind) {
	case KindTenant, KindProvider, KindLocation, KindRegion:
	default:
		ok = false
	}
	if !ok || !validName(id) {
		return "", "", fmt.Errorf("%w domain %q: want platform, tenant:<slug>, provider:<id>, location:<id> or region:<nis>", ErrInvalid, domain)
	}
	return Kind(kind), id, nil
}

// KindOf returns the kind of a well-formed domain, "" otherwise.
func KindOf(domain string) Kind {
	k, _, err := ParseDomain(domain)
	if err != nil {
		return ""
	}
	return k
}

// IDs returns the ids of the domains of one kind, in order: for example the
// desk slugs out of DomainsWhere, to limit a query to the allowed desks.
func IDs(domains []string, kind Kind) []string {
	var out []string
	for _, d := range domains {
		if k, id, err := ParseDomain(d); err == nil && k == kind {
			out = append(out, id)
		}
	}
	return out
}

// validName accepts ids and user names that are safe in a policy: not empty,
// no separators, no white space. Casbin joins rule fields with commas, and
// the sharing window uses a slash.
func validName(s string) bool {
	if s == "" || len(s) > 200 {
		return false
	}
	return !strings.ContainsAny(s, ", \t\r\n/\"'")
}

// Permission is one entry of the fixed vocabulary: "object:action".
type Permission string

// The vocabulary. A route or a query names exactly one of these.
const (
	RequestsRead      Permission = "requests:read"
	RequestsWrite     Permission = "requests:write"
	FamiliesRead      Permission = "families:read"
	FamiliesWrite     Permission = "families:write"
	ReportsRead       Permission = "reports:read"
	ReportsAggregate  Permission = "reports:aggregate"
	StaffManage       Permission = "staff:manage"
	SharingManage     Permission = "sharing:manage"
	APIKeysManage     Permission = "apikeys:manage"
	AvailabilityWrite Permission = "availability:write"
	LocationsWrite    Permission = "locations:write"
	TenantsManage     Permission = "tenants:manage"
	RegionsManage     Permission = "regions:manage"
)

// Permissions is the whole vocabulary.
var Permissions = []Permission{
	RequestsRead, RequestsWrite, FamiliesRead, FamiliesWrite, ReportsRead, ReportsAggregate,
	StaffManage, SharingManage, APIKeysManage, AvailabilityWrite, LocationsWrite,
	TenantsManage, RegionsManage,
}

// Object is the part before the colon ("requests").
func (p Permission) Object() string { o, _, _ := strings.Cut(string(p), ":"); return o }

// Action is the part after the colon ("read").
func (p Permission) Action() string { _, a, _ := strings.Cut(string(p), ":"); return a }

// byObject finds a permission from its two parts without allocating.
var byObject = func() map[string]map[string]Permission {
	m := map[string]map[string]Permission{}
	for _, p := range Permissions {
		if m[p.Object()] == nil {
			m[p.Object()] = map[string]Permission{}
		}
		m[p.Object()][p.Action()] = p
	}
	return m
}()

// PermissionOf returns the permission for object and action, and whether it
// is in the vocabulary.
func PermissionOf(object, action string) (Permission, bool) {
	p, ok := byObject[object][action]
	return p, ok
}

// Role is a named set of permissions held in one domain.
type Role string

// The roles.
const (
	// Operator runs the platform: desks, regions, platform staff.
	Operator Role = "operator"
	// DeskAdmin runs a desk: everything a worker does plus staff, sharing and API keys.
	DeskAdmin Role = "desk_admin"
	// DeskWorker follows up families and requests of a desk.
	DeskWorker Role = "desk_worker"
	// Partner (a social service, a school) refers families to a desk. Casbin
	// grants the routes; the query must limit a partner to the families it
	// referred (see Decision.ReferrerOnly).
	Partner Role = "partner"
	// ProviderAdmin runs a provider: all its locations, staff and API keys.
	ProviderAdmin Role = "provider_admin"
	// ProviderStaff keeps free places and answers requests: for every location
	// of the provider when assigned in provider:<id>, for one location when
	// assigned in location:<id>.
	ProviderStaff Role = "provider_staff"
	// RegionalCoordinator sees aggregated figures of every desk in a region,
	// never families or requests.
	RegionalCoordinator Role = "regional_coordinator"
)

// roleDef says where a role may be assigned and what it allows.
type roleDef struct {
	kinds []Kind       // domain kinds the role may be assigned in
	perms []Permission // allowed in the domain where the role is held
	down  []Permission // also allowed in that domain's children (g2)
}

// roleOrder is the order of the built-in rules. Partner comes last: Casbin
// reports the first rule that allows a request, and a user who is both
// partner and worker of a desk must not be limited to her referrals.
var roleOrder = []Role{Operator, DeskAdmin, DeskWorker, ProviderAdmin, ProviderStaff, RegionalCoordinator, Partner}

// roleDefs is the one place where roles get their permissions.
var roleDefs = map[Role]roleDef{
	Operator: {
		kinds: []Kind{KindPlatform},
		perms: []Permission{TenantsManage, RegionsManage, StaffManage, ReportsAggregate},
	},
	DeskAdmin: {
		kinds: []Kind{KindTenant},
		perms: []Permission{RequestsRead, RequestsWrite, FamiliesRead, FamiliesWrite, ReportsRead, ReportsAggregate,
			StaffManage, SharingManage, APIKeysManage},
	},
	DeskWorker: {
		kinds: []Kind{KindTenant},
		perms: []Permission{RequestsRead, RequestsWrite, FamiliesRead, FamiliesWrite, ReportsRead, ReportsAggregate},
	},
	Partner: {
		kinds: []Kind{KindTenant},
		perms: []Permission{RequestsRead, RequestsWrite, FamiliesRead, FamiliesWrite},
	},
	ProviderAdmin: {
		kinds: []Kind{KindProvider},
		perms: []Permission{AvailabilityWrite, LocationsWrite, RequestsRead, RequestsWrite, StaffManage, APIKeysManage},
		down:  []Permission{AvailabilityWrite, LocationsWrite, RequestsRead, RequestsWrite},
	},
	ProviderStaff: {
		kinds: []Kind{KindProvider, KindLocation},
		perms: []Permission{AvailabilityWrite, RequestsRead, RequestsWrite},
		down:  []Permission{AvailabilityWrite, RequestsRead, RequestsWrite},
	},
	RegionalCoordinator: {
		kinds: []Kind{KindRegion},
		perms: []Permission{ReportsAggregate},
		down:  []Permission{ReportsAggregate},
	},
}

// Roles lists every role.
func Roles() []Role { return slices.Clone(roleOrder) }

// RolePermissions lists what role allows in the domain where it is held.
func RolePermissions(role Role) []Permission { return slices.Clone(roleDefs[role].perms) }

// parentKind is the only kind of parent a domain kind may be grouped into.
var parentKind = map[Kind]Kind{
	KindTenant:   KindRegion,   // desks into regions
	KindLocation: KindProvider, // locations into providers
}

func checkUser(user string) error {
	if !validName(user) {
		return fmt.Errorf("%w user %q", ErrInvalid, user)
	}
	if _, isRole := roleDefs[Role(user)]; isRole {
		return fmt.Errorf("%w user %q: a role name", ErrInvalid, user)
	}
	return nil
}

func checkAssignment(role Role, domain string) error {
	def, ok := roleDefs[role]
	if !ok {
		return fmt.Errorf("%w role %q", ErrInvalid, role)
	}
	kind, _, err := ParseDomain(domain)
	if err != nil {
		return err
	}
	if !slices.Contains(def.kinds, kind) {
		return fmt.Errorf("%w assignment: role %s is not held in a %s domain (%s)", ErrInvalid, role, kind, domain)
	}
	return nil
}

// NeedsSecondFactor reports whether user holds, now, a role in any domain
// that requires a second factor. Sessions ask it on every request.
func (a *Authorizer) NeedsSecondFactor(user string) bool {
	for _, roles := range a.RolesFor(user) {
		for _, r := range roles {
			if RequiresSecondFactor(r) {
				return true
			}
		}
	}
	return false
}

// RequiresSecondFactor reports whether holders of role must sign in with a
// TOTP code: people who see family data of a desk, and operators.
func RequiresSecondFactor(role Role) bool {
	switch role {
	case Operator, DeskAdmin, DeskWorker:
		return true
	default:
		return false
	}
}
