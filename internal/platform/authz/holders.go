package authz

import (
	"context"
	"slices"
)

// GroupAll is Group for many pairs (child, parent) in one write: an import
// of thousands of locations groups them into their providers with one
// database transaction. Pairs already grouped are skipped, so a second run
// writes nothing and leaves the policy version alone.
func (a *Authorizer) GroupAll(ctx context.Context, pairs [][2]string) error {
	var add [][]string
	seen := map[[2]string]bool{}
	st := a.st.Load()
	lock := st.e.GetLock()
	for _, p := range pairs {
		if err := checkGroup(p[0], p[1]); err != nil {
			return err
		}
		if seen[p] {
			continue
		}
		seen[p] = true
		lock.RLock()
		has, _ := st.rm2.HasLink(p[0], p[1])
		lock.RUnlock()
		if !has {
			add = append(add, []string{p[0], p[1]})
		}
	}
	if len(add) == 0 {
		return nil
	}
	lines := make([][]string, len(add))
	for i, r := range add {
		lines[i] = []string{"g2", r[0], r[1]}
	}
	return a.write(ctx, change{add: lines}, func(st *state) error {
		_, err := st.e.AddNamedGroupingPoliciesEx("g2", add)
		return err
	})
}

// Holder is one user holding one role in a domain.
type Holder struct {
	User string
	Role Role
}

// Holders lists who holds which role in domain, sorted by user then role:
// the staff pages of a desk or provider. It scans the assignments, which is
// fine for an admin page and not meant for a request's hot path.
func (a *Authorizer) Holders(domain string) []Holder {
	rules, _ := a.st.Load().e.GetFilteredNamedGroupingPolicy("g", 2, domain)
	out := make([]Holder, 0, len(rules))
	for _, r := range rules {
		if len(r) == 3 {
			out = append(out, Holder{User: r[0], Role: Role(r[1])})
		}
	}
	slices.SortFunc(out, func(x, y Holder) int {
		if x.User != y.User {
			if x.User < y.User {
				return -1
			}
			return 1
		}
		if x.Role < y.Role {
			return -1
		} else if x.Role > y.Role {
			return 1
		}
		return 0
	})
	return out
}
