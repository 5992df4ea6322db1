package authz

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/casbin/casbin/v2"
	"github.com/casbin/casbin/v2/model"
	"github.com/casbin/casbin/v2/persist"
	"github.com/casbin/casbin/v2/rbac"

	"github.com/loket-kinderopvang/loket/internal/platform/clock"
)

// state is one loaded policy: an enforcer with its role managers and an
// index. A reload builds a new state on the side and swaps it in whole, so a
// check never waits for a reload and never sees a half-built policy. Local
// writes change the current state in place, under the enforcer's lock.
type state struct {
	e     *casbin.SyncedEnforcer
	rm    rbac.RoleManager // g; use only under e's lock
	rm2   rbac.RoleManager // g2; idem
	clock clock.Clock

	idxMu sync.RWMutex
	idx   *index
}

// index answers "which roles does this user hold" without scanning the
// policy (Casbin's GetDomainsForUser walks every domain).
type index struct {
	byUser map[string][]Assignment
	// shares maps a grantee domain to the desks that granted it something.
	shares map[string][]string
}

func newIndex() *index {
	return &index{byUser: map[string][]Assignment{}, shares: map[string][]string{}}
}

func (x *index) addRule(ptype string, rule []string) {
	switch {
	case ptype == "g" && len(rule) >= 3:
		a := Assignment{Role: Role(rule[1]), Domain: rule[2]}
		if !slices.Contains(x.byUser[rule[0]], a) {
			x.byUser[rule[0]] = append(x.byUser[rule[0]], a)
		}
	case ptype == "p2" && len(rule) >= 3:
		if !slices.Contains(x.shares[rule[1]], rule[2]) {
			x.shares[rule[1]] = append(x.shares[rule[1]], rule[2])
		}
	}
}

// loadState builds a state from the built-in rules and the stored ones.
func loadState(ctx context.Context, ad *Adapter, clk clock.Clock) (*state, error) {
	m, err := NewModel()
	if err != nil {
		return nil, err
	}
	e, err := casbin.NewSyncedEnforcer(m)
	if err != nil {
		return nil, fmt.Errorf("authz: new enforcer: %w", err)
	}
	st := &state{e: e, clock: clk}
	ld := &loader{ad: ad, ctx: ctx}
	e.SetAdapter(ld)
	// The Authorizer writes the database itself, unconditionally: Casbin's
	// auto-save skips the write when the rule is (or is not) in memory, which
	// on a replica that has not reloaded yet would lose a grant or a revocation.
	e.EnableAutoSave(false)
	st.rm = e.Enforcer.GetRoleManager()
	st.rm2 = e.Enforcer.GetNamedRoleManager("g2")
	e.AddFunction("heldAbove", st.heldAbove)
	e.AddFunction("granted", st.granted)
	if err := e.LoadPolicy(); err != nil {
		return nil, fmt.Errorf("authz: load policy: %w", err)
	}
	st.idx = ld.idx
	return st, nil
}

// loader is the adapter the enforcer sees: the built-in rules, then the
// stored ones, building the index on the way. Writes never go through it
// (auto-save is off): the Authorizer writes the database itself.
type loader struct {
	ad  *Adapter
	ctx context.Context
	idx *index
}

var errLoadOnly = errors.New("authz: the enforcer's adapter is load-only; write through the Authorizer")

func (l *loader) LoadPolicy(m model.Model) error {
	idx := newIndex()
	for _, line := range builtinRules() {
		if err := persist.LoadPolicyArray(line, m); err != nil {
			return fmt.Errorf("authz: load built-in rule %v: %w", line, err)
		}
	}
	rows, err := l.ad.rows(l.ctx)
	if err != nil {
		return err
	}
	for i := range rows {
		if err := loadRow(m, &rows[i]); err != nil {
			return err
		}
		v := rows[i].values()
		idx.addRule(rows[i].PType, v[:])
	}
	l.idx = idx
	return nil
}

func (l *loader) SavePolicy(model.Model) error                              { return errLoadOnly }
func (l *loader) AddPolicy(string, string, []string) error                  { return errLoadOnly }
func (l *loader) RemovePolicy(string, string, []string) error               { return errLoadOnly }
func (l *loader) RemoveFilteredPolicy(string, string, int, ...string) error { return errLoadOnly }

// heldAbove is the model's parent check: does user hold role in a domain that
// dom is grouped into (g2)? It runs inside Enforce, under the enforcer's lock.
func (st *state) heldAbove(args ...any) (any, error) {
	if len(args) != 3 {
		return nil, fmt.Errorf("heldAbove: want 3 arguments, got %d", len(args))
	}
	user, _ := args[0].(string)
	role, _ := args[1].(string)
	dom, _ := args[2].(string)
	return st.parentHolding(user, role, dom) != "", nil
}

// parentHolding returns the parent of dom in which user holds role, or "".
// The caller holds the enforcer's lock.
func (st *state) parentHolding(user, role, dom string) string {
	parents, _ := st.rm2.GetRoles(dom)
	for _, p := range parents {
		if ok, _ := st.rm.HasLink(user, role, p); ok {
			return p
		}
	}
	return ""
}

// granted is the model's grant check: is there a current sharing grant (p2)
// for user, dom and perm? It runs inside Enforce, under the enforcer's lock.
func (st *state) granted(args ...any) (any, error) {
	if len(args) != 3 {
		return nil, fmt.Errorf("granted: want 3 arguments, got %d", len(args))
	}
	user, _ := args[0].(string)
	dom, _ := args[1].(string)
	perm, _ := args[2].(string)
	return st.grantRule(user, dom, perm) != nil, nil
}

// grantRule returns the first current grant that lets user do perm in dom.
// A plain loop over the grants (hundreds at most) costs far less than one
// govaluate evaluation per grant would. The caller holds the enforcer's lock.
func (st *state) grantRule(user, dom, perm string) []string {
	ast, ok := st.e.Enforcer.GetModel()["p"]["p2"]
	if !ok {
		return nil
	}
	now := ""
	for _, r := range ast.Policy {
		if len(r) != 6 || r[2] != dom || r[3] != perm {
			continue
		}
		if r[4] != "" {
			if now == "" {
				now = st.clock.Now().UTC().Format(timeLayout)
			}
			from, until, _ := strings.Cut(r[4], "/")
			if (from != "" && now < from) || (until != "" && now >= until) {
				continue
			}
		}
		if ok, _ := st.rm.HasLink(user, r[0], r[1]); ok {
			return r
		}
	}
	return nil
}

func (st *state) patchIndex(fn func(*index)) {
	st.idxMu.Lock()
	defer st.idxMu.Unlock()
	fn(st.idx)
}

// rebuildShares recomputes the grant part of the index from memory.
func (st *state) rebuildShares() error {
	rules, err := st.e.GetNamedPolicy("p2")
	if err != nil {
		return err
	}
	shares := newIndex()
	for _, r := range rules {
		shares.addRule("p2", r)
	}
	st.patchIndex(func(x *index) { x.shares = shares.shares })
	return nil
}
