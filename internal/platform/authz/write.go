package authz

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// AssignRole gives user role in domain. Assigning it twice is a no-op.
func (a *Authorizer) AssignRole(ctx context.Context, user string, role Role, domain string) error {
	if err := checkUser(user); err != nil {
		return err
	}
	if err := checkAssignment(role, domain); err != nil {
		return err
	}
	rule := []string{user, string(role), domain}
	return a.write(ctx, change{add: [][]string{append([]string{"g"}, rule...)}}, func(st *state) error {
		if _, err := st.e.AddNamedGroupingPoliciesEx("g", [][]string{rule}); err != nil {
			return err
		}
		st.patchIndex(func(x *index) { x.addRule("g", rule) })
		return nil
	})
}

// RemoveRole takes role in domain away from user. A missing role is a no-op.
func (a *Authorizer) RemoveRole(ctx context.Context, user string, role Role, domain string) error {
	rule := []string{user, string(role), domain}
	return a.write(ctx, change{remove: [][]string{append([]string{"g"}, rule...)}}, func(st *state) error {
		if _, err := st.e.RemoveNamedGroupingPolicy("g", rule); err != nil {
			return err
		}
		st.patchIndex(func(x *index) {
			x.byUser[user] = slices.DeleteFunc(x.byUser[user], func(as Assignment) bool {
				return as.Role == role && as.Domain == domain
			})
			if len(x.byUser[user]) == 0 {
				delete(x.byUser, user)
			}
		})
		return nil
	})
}

// RemoveUser takes every role away from user (an account closed).
func (a *Authorizer) RemoveUser(ctx context.Context, user string) error {
	if user == "" {
		return fmt.Errorf("%w user %q", ErrInvalid, user)
	}
	return a.write(ctx, change{filters: []filter{{ptype: "g", index: 0, values: []string{user}}}}, func(st *state) error {
		if _, err := st.e.RemoveFilteredNamedGroupingPolicy("g", 0, user); err != nil {
			return err
		}
		st.patchIndex(func(x *index) { delete(x.byUser, user) })
		return nil
	})
}

func checkGroup(child, parent string) error {
	ck, _, err := ParseDomain(child)
	if err != nil {
		return err
	}
	pk, _, err := ParseDomain(parent)
	if err != nil {
		return err
	}
	if want, ok := parentKind[ck]; !ok || want != pk {
		return fmt.Errorf("%w grouping %s into %s: only desks into regions and locations into providers", ErrInvalid, child, parent)
	}
	return nil
}

// Group puts a desk into a region (tenant:x into region:y) or a location into
// its provider (location:x into provider:y), so roles held in the parent
// reach the child: a regional coordinator's one assignment covers every desk
// of her region.
func (a *Authorizer) Group(ctx context.Context, child, parent string) error {
	if err := checkGroup(child, parent); err != nil {
		return err
	}
	rule := []string{child, parent}
	return a.write(ctx, change{add: [][]string{{"g2", child, parent}}}, func(st *state) error {
		_, err := st.e.AddNamedGroupingPoliciesEx("g2", [][]string{rule})
		return err
	})
}

// Parents returns the domains child is grouped into (a desk's regions, a
// location's provider), so a sync can Ungroup what no longer holds.
func (a *Authorizer) Parents(child string) []string {
	st := a.st.Load()
	lock := st.e.GetLock()
	lock.RLock()
	defer lock.RUnlock()
	parents, _ := st.rm2.GetRoles(child)
	slices.Sort(parents)
	return parents
}

// Ungroup undoes Group.
func (a *Authorizer) Ungroup(ctx context.Context, child, parent string) error {
	rule := []string{child, parent}
	return a.write(ctx, change{remove: [][]string{{"g2", child, parent}}}, func(st *state) error {
		_, err := st.e.RemoveNamedGroupingPolicy("g2", rule)
		return err
	})
}

// Grant is a sharing grant: holders of Role in Grantee may do Permission on
// Owner's objects between From and Until. The agreement itself (who asked,
// who approved, why) lives with the sharing feature; Agreement refers to it.
type Grant struct {
	// Owner is the desk whose objects are shared: tenant:<slug>.
	Owner string
	// Grantee is the desk (tenant:<slug>) or region (region:<nis>) whose
	// role holders receive access.
	Grantee    string
	Role       Role
	Permission Permission
	// From and Until bound the grant (From inclusive, Until exclusive, to the
	// second); a zero time leaves that side open.
	From, Until time.Time
	Agreement   string
}

func (g Grant) rule() ([]string, error) {
	if k := KindOf(g.Owner); k != KindTenant {
		return nil, fmt.Errorf("%w grant: owner %q is not a desk", ErrInvalid, g.Owner)
	}
	if k := KindOf(g.Grantee); k != KindTenant && k != KindRegion {
		return nil, fmt.Errorf("%w grant: grantee %q is not a desk or region", ErrInvalid, g.Grantee)
	}
	if g.Owner == g.Grantee {
		return nil, fmt.Errorf("%w grant: %s shares with itself", ErrInvalid, g.Owner)
	}
	if err := checkAssignment(g.Role, g.Grantee); err != nil {
		return nil, err
	}
	def := roleDefs[g.Role]
	if !slices.Contains(def.perms, g.Permission) {
		return nil, fmt.Errorf("%w grant: role %s never has %s", ErrInvalid, g.Role, g.Permission)
	}
	if !validName(g.Agreement) {
		return nil, fmt.Errorf("%w grant: agreement %q", ErrInvalid, g.Agreement)
	}
	if !g.From.IsZero() && !g.Until.IsZero() && !g.From.Before(g.Until) {
		return nil, fmt.Errorf("%w grant: window %s..%s is empty", ErrInvalid, g.From, g.Until)
	}
	return []string{string(g.Role), g.Grantee, g.Owner, string(g.Permission), window(g.From, g.Until), g.Agreement}, nil
}

func window(from, until time.Time) string {
	if from.IsZero() && until.IsZero() {
		return ""
	}
	f, u := "", ""
	if !from.IsZero() {
		f = from.UTC().Truncate(time.Second).Format(timeLayout)
	}
	if !until.IsZero() {
		u = until.UTC().Truncate(time.Second).Format(timeLayout)
	}
	return f + "/" + u
}

// Grant stores a sharing grant. The time window is part of the rule and
// checked at every request, so a grant starts and ends on time on every
// replica with nothing scheduled; an ended grant stays until Revoke.
func (a *Authorizer) Grant(ctx context.Context, g Grant) error {
	rule, err := g.rule()
	if err != nil {
		return err
	}
	return a.write(ctx, change{add: [][]string{append([]string{"p2"}, rule...)}}, func(st *state) error {
		if _, err := st.e.AddNamedPoliciesEx("p2", [][]string{rule}); err != nil {
			return err
		}
		st.patchIndex(func(x *index) { x.addRule("p2", rule) })
		return nil
	})
}

// Revoke removes every grant of an agreement.
func (a *Authorizer) Revoke(ctx context.Context, agreement string) error {
	if !validName(agreement) {
		return fmt.Errorf("%w agreement %q", ErrInvalid, agreement)
	}
	return a.write(ctx, change{filters: []filter{{ptype: "p2", index: 5, values: []string{agreement}}}}, func(st *state) error {
		if _, err := st.e.RemoveFilteredNamedPolicy("p2", 5, agreement); err != nil {
			return err
		}
		return st.rebuildShares()
	})
}

// Grants lists the sharing grants in which domain is owner or grantee.
func (a *Authorizer) Grants(domain string) ([]Grant, error) {
	rules, err := a.st.Load().e.GetNamedPolicy("p2")
	if err != nil {
		return nil, fmt.Errorf("authz: list grants: %w", err)
	}
	var out []Grant
	for _, r := range rules {
		if len(r) != 6 || (r[1] != domain && r[2] != domain) {
			continue
		}
		g := Grant{Role: Role(r[0]), Grantee: r[1], Owner: r[2], Permission: Permission(r[3]), Agreement: r[5]}
		from, until, _ := strings.Cut(r[4], "/")
		if from != "" {
			g.From, _ = time.Parse(timeLayout, from)
		}
		if until != "" {
			g.Until, _ = time.Parse(timeLayout, until)
		}
		out = append(out, g)
	}
	return out, nil
}

// write stores c in the database (which bumps the policy version when a row
// changed), applies it to memory and tells the other replicas.
func (a *Authorizer) write(ctx context.Context, c change, apply func(*state) error) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	before := a.loaded.Load()
	v, changed, err := a.ad.apply(ctx, c)
	if err != nil {
		return err
	}
	current := before == v // nothing changed and nobody else wrote
	if changed {
		current = before == v-1 // only this write since our last load
	}
	if current {
		// Memory plus this change is exactly version v.
		if err := apply(a.st.Load()); err != nil {
			a.log.WarnContext(ctx, "authz: apply change in memory; reloading", "error", err)
			a.reloadOrKick(ctx)
		} else {
			a.loaded.Store(v)
		}
	} else {
		// Other replicas wrote meanwhile: reload, so this replica sees both
		// their changes and its own.
		a.reloadOrKick(ctx)
	}
	if changed {
		a.publish(ctx, v)
	}
	return nil
}

func (a *Authorizer) reloadOrKick(ctx context.Context) {
	if err := a.reloadLocked(ctx); err != nil {
		a.log.WarnContext(ctx, "authz: reload after write failed; will retry", "error", err)
		select {
		case a.kick <- struct{}{}:
		default:
		}
	}
}

func (a *Authorizer) publish(ctx context.Context, version int64) {
	if a.cache == nil {
		return
	}
	if err := a.cache.Publish(ctx, a.channel, []byte(strconv.FormatInt(version, 10))); err != nil {
		// Best effort: the other replicas' polling catches up.
		a.log.WarnContext(ctx, "authz: publish policy change", "version", version, "error", err)
	}
}
