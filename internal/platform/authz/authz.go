// Package authz answers "may this user do this here?" for Loket: Casbin RBAC
// with domains (desks, providers, locations, regions, the platform), policies
// stored in the database, kept in memory on every replica and reloaded when
// any replica changes them. README.md describes the model and vocabulary.
//
// Casbin answers "may she"; a query that lists things must still be limited
// to what she may see: use DomainsWhere for the desks (or locations), and
// Decision.ReferrerOnly for partners, who see only the families they referred.
package authz

import (
	"context"
	_ "embed"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/casbin/casbin/v2/model"

	"github.com/loket-kinderopvang/loket/internal/platform/cache"
	"github.com/loket-kinderopvang/loket/internal/platform/clock"
	"github.com/loket-kinderopvang/loket/internal/platform/db"
)

//go:embed model.conf
var modelText string

// NewModel parses the embedded Casbin model.
func NewModel() (model.Model, error) {
	m, err := model.NewModelFromString(modelText)
	if err != nil {
		return nil, fmt.Errorf("authz: parse model: %w", err)
	}
	return m, nil
}

// Values of the hold field of built-in rules (see model.conf).
const (
	holdSelf   = "self"
	holdParent = "parent"
	holdGrant  = "grant"
)

// timeLayout is fixed-width UTC, so sharing windows compare as strings.
const timeLayout = "2006-01-02T15:04:05Z"

// builtinRules are the role permissions of roleDefs as Casbin rules: per
// role a p rule naming its permission set, and the set's permissions as g3
// rules (ten p rules instead of one per permission keeps the matcher's scan
// short). They are code, not data: added at every load and never stored, so
// a release that changes a role changes it everywhere at once.
func builtinRules() [][]string {
	var out [][]string
	for _, role := range roleOrder {
		def := roleDefs[role]
		out = append(out, []string{"p", string(role), holdSelf, string(role)})
		for _, p := range def.perms {
			out = append(out, []string{"g3", string(role), string(p)})
		}
		if len(def.down) > 0 {
			out = append(out, []string{"p", string(role), holdParent, string(role) + "/down"})
			for _, p := range def.down {
				out = append(out, []string{"g3", string(role) + "/down", string(p)})
			}
		}
	}
	// Last, so a role of the user's own wins over a grant in Decide.
	return append(out, []string{"p", "*", holdGrant, "*"})
}

// Defaults of Options.
const (
	DefaultPollInterval = time.Second
	DefaultChannel      = "authz:policy"
	resubscribeDelay    = 5 * time.Second
)

// Options configure New. Every field is optional.
type Options struct {
	// Cache carries change notifications between replicas (Publish and
	// Subscribe on Channel). nil means polling only.
	Cache cache.Cache
	// Channel is the pub/sub channel; default DefaultChannel.
	Channel string
	// PollInterval is how often the policy version is read from the
	// database, so a lost notification delays a change by at most this
	// much; default DefaultPollInterval.
	PollInterval time.Duration
	// Clock decides whether sharing grants are in their time window.
	Clock  clock.Clock
	Logger *slog.Logger
	// CrossTenant records access to a desk through a sharing grant or a
	// region. Without it Require refuses such access.
	CrossTenant CrossTenantLogger
}

// Assignment is one role a user holds in one domain.
type Assignment struct {
	Role   Role
	Domain string
}

// Authorizer enforces the policy. It is safe for concurrent use.
type Authorizer struct {
	ad      *Adapter
	cache   cache.Cache
	channel string
	poll    time.Duration
	clock   clock.Clock
	log     *slog.Logger
	cross   atomic.Pointer[CrossTenantLogger]

	st atomic.Pointer[state] // the policy in use

	// mu serialises writes and reloads of this replica, so a reload can
	// never put back a rule that a concurrent local write just removed.
	mu     sync.Mutex
	loaded atomic.Int64 // policy version of st

	kick    chan struct{}
	startMu sync.Mutex
	cancel  context.CancelFunc
	done    chan struct{}
}

// New builds an Authorizer on d and loads the policy. Call Start to follow
// changes made by other replicas.
func New(ctx context.Context, d *db.DB, opts Options) (*Authorizer, error) {
	a := &Authorizer{
		ad:      NewAdapter(d),
		cache:   opts.Cache,
		channel: opts.Channel,
		poll:    opts.PollInterval,
		clock:   opts.Clock,
		log:     opts.Logger,
		kick:    make(chan struct{}, 1),
	}
	if a.channel == "" {
		a.channel = DefaultChannel
	}
	if a.poll <= 0 {
		a.poll = DefaultPollInterval
	}
	if a.clock == nil {
		a.clock = clock.System{}
	}
	if a.log == nil {
		a.log = slog.Default()
	}
	if opts.CrossTenant != nil {
		a.SetCrossTenantLogger(opts.CrossTenant)
	}
	if err := a.Reload(ctx); err != nil {
		return nil, err
	}
	return a, nil
}

// SetCrossTenantLogger sets (or, with nil, removes) the recorder of
// cross-tenant access.
func (a *Authorizer) SetCrossTenantLogger(l CrossTenantLogger) {
	if l == nil {
		a.cross.Store(nil)
		return
	}
	a.cross.Store(&l)
}

// Version is the policy version this replica has in memory.
func (a *Authorizer) Version() int64 { return a.loaded.Load() }

// Can reports whether user may do object:action in domain. An object and
// action outside the vocabulary are an error (a typo in a route).
func (a *Authorizer) Can(user, domain, object, action string) (bool, error) {
	perm, ok := PermissionOf(object, action)
	if !ok {
		return false, fmt.Errorf("%w permission %s:%s", ErrInvalid, object, action)
	}
	return a.Allowed(user, domain, perm)
}

// Allowed is Can with a Permission constant.
func (a *Authorizer) Allowed(user, domain string, perm Permission) (bool, error) {
	if user == "" || domain == "" {
		return false, nil
	}
	ok, err := a.st.Load().e.Enforce(user, domain, string(perm))
	if err != nil {
		return false, fmt.Errorf("authz: enforce %s on %s: %w", perm, domain, err)
	}
	return ok, nil
}

// Decision explains an allowed (or refused) request.
type Decision struct {
	Allowed    bool
	User       string
	Domain     string
	Permission Permission
	// Role is the role that allowed the request, held in Via: Domain itself,
	// its parent (a desk's region, a location's provider) or, through a
	// sharing grant, the grantee domain.
	Role Role
	Via  string
	// Agreement names the sharing agreement, when access comes from a grant.
	Agreement string
	// ReferrerOnly is set when the user acts as a partner: the query must be
	// limited to the families this user referred.
	ReferrerOnly bool
}

// CrossTenant reports whether an allowed request reaches a desk from outside
// it (a sharing grant, a region): such access must be logged.
func (d Decision) CrossTenant() bool {
	return d.Allowed && KindOf(d.Domain) == KindTenant && d.Via != d.Domain
}

// Decide is Allowed with the reason. When several rules allow a request,
// Casbin names the first: the built-in rules (partner's last) come before
// the grant rule, so a role the user holds in the desk itself or its region
// wins over a grant, and any other desk role wins over partner.
func (a *Authorizer) Decide(user, domain string, perm Permission) (Decision, error) {
	d := Decision{User: user, Domain: domain, Permission: perm}
	if user == "" || domain == "" {
		return d, nil
	}
	st := a.st.Load()
	lock := st.e.GetLock()
	lock.RLock()
	defer lock.RUnlock()
	ok, rule, err := st.e.Enforcer.EnforceEx(user, domain, string(perm))
	if err != nil {
		return d, fmt.Errorf("authz: enforce %s on %s: %w", perm, domain, err)
	}
	if !ok {
		return d, nil
	}
	d.Allowed = true
	if len(rule) == 3 && rule[1] == holdGrant {
		rule = st.grantRule(user, domain, string(perm))
	}
	switch {
	case len(rule) == 3 && rule[1] == holdSelf:
		d.Role, d.Via = Role(rule[0]), domain
	case len(rule) == 3 && rule[1] == holdParent:
		d.Role, d.Via = Role(rule[0]), st.parentHolding(user, rule[0], domain)
	case len(rule) == 6:
		d.Role, d.Via, d.Agreement = Role(rule[0]), rule[1], rule[5]
	}
	d.ReferrerOnly = d.Role == Partner
	return d, nil
}

// RolesFor returns the roles user holds, by domain.
func (a *Authorizer) RolesFor(user string) map[string][]Role {
	st := a.st.Load()
	st.idxMu.RLock()
	defer st.idxMu.RUnlock()
	out := map[string][]Role{}
	for _, asg := range st.idx.byUser[user] {
		out[asg.Domain] = append(out[asg.Domain], asg.Role)
	}
	return out
}

// DomainsWhere returns, sorted, every domain in which user may do
// object:action: where she holds a role, the domains grouped under those
// (a region's desks, a provider's locations) and the desks that shared with
// hers. Limit list queries to these, for example with IDs(ds, KindTenant).
func (a *Authorizer) DomainsWhere(user, object, action string) ([]string, error) {
	perm, ok := PermissionOf(object, action)
	if !ok {
		return nil, fmt.Errorf("%w permission %s:%s", ErrInvalid, object, action)
	}
	st := a.st.Load()
	st.idxMu.RLock()
	asgs := slices.Clone(st.idx.byUser[user])
	shares := map[string][]string{}
	for _, asg := range asgs {
		shares[asg.Domain] = slices.Clone(st.idx.shares[asg.Domain])
	}
	st.idxMu.RUnlock()

	candidates := map[string]bool{}
	lock := st.e.GetLock()
	lock.RLock()
	for _, asg := range asgs {
		candidates[asg.Domain] = true
		children, _ := st.rm2.GetUsers(asg.Domain)
		for _, c := range children {
			candidates[c] = true
		}
		for _, t := range shares[asg.Domain] {
			candidates[t] = true
		}
	}
	// Check on the same state, so the answer is of one policy version.
	var out []string
	for dom := range candidates {
		ok, err := st.e.Enforcer.Enforce(user, dom, string(perm))
		if err != nil {
			lock.RUnlock()
			return nil, fmt.Errorf("authz: enforce %s on %s: %w", perm, dom, err)
		}
		if ok {
			out = append(out, dom)
		}
	}
	lock.RUnlock()
	slices.Sort(out)
	return out, nil
}
