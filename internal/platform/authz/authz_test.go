package authz

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/loket-kinderopvang/loket/internal/platform/clock"
	"github.com/loket-kinderopvang/loket/internal/platform/db"
	"github.com/loket-kinderopvang/loket/internal/platform/dbtest"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func newAuthorizer(t testing.TB, d *db.DB, opts Options) *Authorizer {
	t.Helper()
	if opts.Logger == nil {
		opts.Logger = quiet
	}
	a, err := New(context.Background(), d, opts)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// t0 is "now" in the world below.
var t0 = time.Date(2027, 3, 1, 9, 0, 0, 0, time.UTC)

// world builds a small platform:
//
//	region:r1 = tenant:a + tenant:b      region:r2 = tenant:c
//	provider:p1 = location:l1 + location:l2   provider:p2 = location:l3
//
// with one user per role and two sharing grants to desk a's workers:
// tenant:c shares requests:read now (agr-now), tenant:b shares families:read
// from tomorrow (agr-later).
func world(t *testing.T, d *db.DB) (*Authorizer, *clock.Fixed) {
	t.Helper()
	ctx := context.Background()
	clk := clock.NewFixed(t0)
	a := newAuthorizer(t, d, Options{Clock: clk})
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	for _, g := range [][2]string{
		{"tenant:a", "region:r1"}, {"tenant:b", "region:r1"}, {"tenant:c", "region:r2"},
		{"location:l1", "provider:p1"}, {"location:l2", "provider:p1"}, {"location:l3", "provider:p2"},
	} {
		must(a.Group(ctx, g[0], g[1]))
	}
	for _, asg := range []struct {
		user   string
		role   Role
		domain string
	}{
		{"op", Operator, Platform},
		{"desk-admin", DeskAdmin, "tenant:a"},
		{"desk-worker", DeskWorker, "tenant:a"},
		{"a-partner", Partner, "tenant:a"},
		{"prov-admin", ProviderAdmin, "provider:p1"},
		{"prov-staff", ProviderStaff, "provider:p1"},
		{"loc-staff", ProviderStaff, "location:l1"},
		{"coordinator", RegionalCoordinator, "region:r1"},
	} {
		must(a.AssignRole(ctx, asg.user, asg.role, asg.domain))
	}
	must(a.Grant(ctx, Grant{Owner: "tenant:c", Grantee: "tenant:a", Role: DeskWorker, Permission: RequestsRead,
		From: t0.Add(-24 * time.Hour), Until: t0.Add(24 * time.Hour), Agreement: "agr-now"}))
	must(a.Grant(ctx, Grant{Owner: "tenant:b", Grantee: "tenant:a", Role: DeskWorker, Permission: FamiliesRead,
		From: t0.Add(24 * time.Hour), Until: t0.Add(48 * time.Hour), Agreement: "agr-later"}))
	return a, clk
}

var allDomains = []string{
	Platform, "tenant:a", "tenant:b", "tenant:c", "region:r1", "region:r2",
	"provider:p1", "provider:p2", "location:l1", "location:l2", "location:l3",
}

// allowed lists, per domain, the permissions expected; everything else in
// allDomains × Permissions must be refused.
type allowed map[string]string

var (
	deskWorkerPerms = "requests:read requests:write families:read families:write reports:read reports:aggregate"
	provAdminDown   = "availability:write locations:write requests:read requests:write"
	provStaffPerms  = "availability:write requests:read requests:write"
)

// TestRolesActionsDomains checks every role × permission × domain: the own
// domain, other domains of the same kind, a desk that shared, the region or
// provider above and the desks or locations below.
func TestRolesActionsDomains(t *testing.T) {
	a, _ := world(t, dbtest.Open(t, db.SQLite))
	cases := []struct {
		user string
		want allowed
	}{
		{"op", allowed{Platform: "tenants:manage regions:manage staff:manage reports:aggregate"}},
		{"desk-admin", allowed{"tenant:a": deskWorkerPerms + " staff:manage sharing:manage apikeys:manage"}},
		// tenant:c shared requests:read with desk a's workers; tenant:b's
		// grant has not started yet.
		{"desk-worker", allowed{"tenant:a": deskWorkerPerms, "tenant:c": "requests:read"}},
		{"a-partner", allowed{"tenant:a": "requests:read requests:write families:read families:write"}},
		{"prov-admin", allowed{
			"provider:p1": provAdminDown + " staff:manage apikeys:manage",
			"location:l1": provAdminDown, "location:l2": provAdminDown,
		}},
		{"prov-staff", allowed{"provider:p1": provStaffPerms, "location:l1": provStaffPerms, "location:l2": provStaffPerms}},
		{"loc-staff", allowed{"location:l1": provStaffPerms}},
		{"coordinator", allowed{"region:r1": "reports:aggregate", "tenant:a": "reports:aggregate", "tenant:b": "reports:aggregate"}},
		{"stranger", allowed{}},
	}
	for _, tc := range cases {
		t.Run(tc.user, func(t *testing.T) {
			for _, dom := range allDomains {
				want := strings.Fields(tc.want[dom])
				for _, p := range Permissions {
					got, err := a.Can(tc.user, dom, p.Object(), p.Action())
					if err != nil {
						t.Fatal(err)
					}
					if exp := slices.Contains(want, string(p)); got != exp {
						t.Errorf("%s %s on %s: got %v, want %v", tc.user, p, dom, got, exp)
					}
				}
			}
		})
	}
}

func TestSharingWindow(t *testing.T) {
	a, clk := world(t, dbtest.Open(t, db.SQLite))
	check := func(when string, dom string, p Permission, want bool) {
		t.Helper()
		got, err := a.Allowed("desk-worker", dom, p)
		if err != nil || got != want {
			t.Errorf("%s: %s on %s = %v (%v), want %v", when, p, dom, got, err, want)
		}
	}
	check("now", "tenant:b", FamiliesRead, false)
	clk.Advance(24 * time.Hour) // the end of agr-now is exclusive, the start of agr-later inclusive
	check("+24h", "tenant:c", RequestsRead, false)
	check("+24h", "tenant:b", FamiliesRead, true)
	clk.Advance(24*time.Hour - time.Second)
	check("+48h-1s", "tenant:b", FamiliesRead, true)
	clk.Advance(time.Second)
	check("+48h", "tenant:b", FamiliesRead, false)

	grants, err := a.Grants("tenant:a")
	if err != nil || len(grants) != 2 {
		t.Fatalf("grants of tenant:a: %v %v", grants, err)
	}
	if i := slices.IndexFunc(grants, func(g Grant) bool { return g.Agreement == "agr-later" }); i < 0 ||
		!grants[i].From.Equal(t0.Add(24*time.Hour)) || grants[i].Owner != "tenant:b" || grants[i].Permission != FamiliesRead {
		t.Errorf("agr-later read back as %+v", grants)
	}
}

func TestRevokeAndRemove(t *testing.T) {
	ctx := context.Background()
	a, _ := world(t, dbtest.Open(t, db.SQLite))
	if err := a.Revoke(ctx, "agr-now"); err != nil {
		t.Fatal(err)
	}
	if ok, _ := a.Allowed("desk-worker", "tenant:c", RequestsRead); ok {
		t.Error("revoked grant still allows")
	}
	if ds, _ := a.DomainsWhere("desk-worker", "requests", "read"); !slices.Equal(ds, []string{"tenant:a"}) {
		t.Errorf("domains after revoke: %v", ds)
	}
	if err := a.RemoveRole(ctx, "desk-admin", DeskAdmin, "tenant:a"); err != nil {
		t.Fatal(err)
	}
	if ok, _ := a.Allowed("desk-admin", "tenant:a", StaffManage); ok {
		t.Error("removed role still allows")
	}
	if err := a.AssignRole(ctx, "coordinator", DeskWorker, "tenant:c"); err != nil {
		t.Fatal(err)
	}
	if err := a.RemoveUser(ctx, "coordinator"); err != nil {
		t.Fatal(err)
	}
	if r := a.RolesFor("coordinator"); len(r) != 0 {
		t.Errorf("roles after RemoveUser: %v", r)
	}
	if ok, _ := a.Allowed("coordinator", "tenant:a", ReportsAggregate); ok {
		t.Error("removed user still allowed")
	}
	if got := a.Parents("tenant:a"); !slices.Equal(got, []string{"region:r1"}) {
		t.Errorf("parents of tenant:a: %v", got)
	}
	if err := a.Ungroup(ctx, "location:l2", "provider:p1"); err != nil {
		t.Fatal(err)
	}
	if ok, _ := a.Allowed("prov-admin", "location:l2", AvailabilityWrite); ok {
		t.Error("ungrouped location still reachable from its former provider")
	}
	// Memory and database agree: a fresh load gives the same answers.
	b := newAuthorizer(t, a.ad.db, Options{Clock: clock.NewFixed(t0)})
	for _, u := range []string{"desk-worker", "desk-admin", "coordinator", "prov-admin"} {
		if !maps.EqualFunc(a.RolesFor(u), b.RolesFor(u), slices.Equal) {
			t.Errorf("roles of %s: memory %v, database %v", u, a.RolesFor(u), b.RolesFor(u))
		}
	}
	if ok, _ := b.Allowed("desk-worker", "tenant:c", RequestsRead); ok {
		t.Error("revoked grant came back on load")
	}
}

func TestDecide(t *testing.T) {
	ctx := context.Background()
	a, _ := world(t, dbtest.Open(t, db.SQLite))
	if err := a.AssignRole(ctx, "partner-and-worker", Partner, "tenant:a"); err != nil {
		t.Fatal(err)
	}
	if err := a.AssignRole(ctx, "partner-and-worker", DeskWorker, "tenant:a"); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		user, domain string
		perm         Permission
		want         Decision
		cross        bool
	}{
		{"desk-worker", "tenant:a", RequestsRead, Decision{Allowed: true, Role: DeskWorker, Via: "tenant:a"}, false},
		{"desk-worker", "tenant:c", RequestsRead, Decision{Allowed: true, Role: DeskWorker, Via: "tenant:a", Agreement: "agr-now"}, true},
		{"desk-worker", "tenant:b", RequestsRead, Decision{}, false},
		{"coordinator", "tenant:b", ReportsAggregate, Decision{Allowed: true, Role: RegionalCoordinator, Via: "region:r1"}, true},
		{"coordinator", "region:r1", ReportsAggregate, Decision{Allowed: true, Role: RegionalCoordinator, Via: "region:r1"}, false},
		{"prov-admin", "location:l2", AvailabilityWrite, Decision{Allowed: true, Role: ProviderAdmin, Via: "provider:p1"}, false},
		{"a-partner", "tenant:a", FamiliesRead, Decision{Allowed: true, Role: Partner, Via: "tenant:a", ReferrerOnly: true}, false},
		{"partner-and-worker", "tenant:a", FamiliesRead, Decision{Allowed: true, Role: DeskWorker, Via: "tenant:a"}, false},
	}
	for _, tc := range cases {
		got, err := a.Decide(tc.user, tc.domain, tc.perm)
		if err != nil {
			t.Fatal(err)
		}
		tc.want.User, tc.want.Domain, tc.want.Permission = tc.user, tc.domain, tc.perm
		if got != tc.want || got.CrossTenant() != tc.cross {
			t.Errorf("%s %s on %s:\n got %+v (cross %v)\nwant %+v (cross %v)", tc.user, tc.perm, tc.domain, got, got.CrossTenant(), tc.want, tc.cross)
		}
	}
}

func TestDomainsWhereAndRolesFor(t *testing.T) {
	a, _ := world(t, dbtest.Open(t, db.SQLite))
	cases := []struct {
		user, perm string
		want       []string
	}{
		{"coordinator", "reports:aggregate", []string{"region:r1", "tenant:a", "tenant:b"}},
		{"coordinator", "requests:read", nil},
		{"desk-worker", "requests:read", []string{"tenant:a", "tenant:c"}},
		{"desk-worker", "families:read", []string{"tenant:a"}}, // tenant:b's grant starts tomorrow
		{"prov-staff", "availability:write", []string{"location:l1", "location:l2", "provider:p1"}},
		{"loc-staff", "availability:write", []string{"location:l1"}},
		{"op", "tenants:manage", []string{Platform}},
		{"stranger", "requests:read", nil},
	}
	for _, tc := range cases {
		p := Permission(tc.perm)
		got, err := a.DomainsWhere(tc.user, p.Object(), p.Action())
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("DomainsWhere(%s, %s) = %v, want %v", tc.user, tc.perm, got, tc.want)
		}
	}
	ds, _ := a.DomainsWhere("coordinator", "reports", "aggregate")
	if got := IDs(ds, KindTenant); !slices.Equal(got, []string{"a", "b"}) {
		t.Errorf("desk slugs: %v", got)
	}
	if _, err := a.DomainsWhere("op", "tenants", "destroy"); !errors.Is(err, ErrInvalid) {
		t.Errorf("unknown permission: %v", err)
	}
	if got := a.RolesFor("prov-staff"); !maps.EqualFunc(got, map[string][]Role{"provider:p1": {ProviderStaff}}, slices.Equal) {
		t.Errorf("RolesFor: %v", got)
	}
}

func TestValidation(t *testing.T) {
	ctx := context.Background()
	a := newAuthorizer(t, dbtest.Open(t, db.SQLite), Options{})
	bad := map[string]error{
		"role in wrong kind of domain": a.AssignRole(ctx, "u", DeskAdmin, "region:r1"),
		"coordinator on a desk":        a.AssignRole(ctx, "u", RegionalCoordinator, "tenant:a"),
		"unknown role":                 a.AssignRole(ctx, "u", Role("root"), Platform),
		"malformed domain":             a.AssignRole(ctx, "u", DeskAdmin, "tenant:"),
		"unknown domain kind":          a.AssignRole(ctx, "u", DeskAdmin, "desk:a"),
		"user with a comma":            a.AssignRole(ctx, "u,v", DeskAdmin, "tenant:a"),
		"user named like a role":       a.AssignRole(ctx, "desk_worker", DeskAdmin, "tenant:a"),
		"desk into a provider":         a.Group(ctx, "tenant:a", "provider:p1"),
		"region into a region":         a.Group(ctx, "region:r1", "region:r2"),
		"grant from a region":          a.Grant(ctx, Grant{Owner: "region:r1", Grantee: "tenant:a", Role: DeskWorker, Permission: RequestsRead, Agreement: "x"}),
		"grant to itself":              a.Grant(ctx, Grant{Owner: "tenant:a", Grantee: "tenant:a", Role: DeskWorker, Permission: RequestsRead, Agreement: "x"}),
		"grant beyond the role":        a.Grant(ctx, Grant{Owner: "tenant:a", Grantee: "tenant:b", Role: DeskWorker, Permission: StaffManage, Agreement: "x"}),
		"grant without agreement":      a.Grant(ctx, Grant{Owner: "tenant:a", Grantee: "tenant:b", Role: DeskWorker, Permission: RequestsRead}),
		"grant with empty window": a.Grant(ctx, Grant{Owner: "tenant:a", Grantee: "tenant:b", Role: DeskWorker, Permission: RequestsRead,
			Agreement: "x", From: t0, Until: t0}),
	}
	for name, err := range bad {
		if !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: got %v, want ErrInvalid", name, err)
		}
	}
	if v := version(t, a.ad.db); v != 0 {
		t.Errorf("refused writes reached the database: version %d", v)
	}
	if _, err := a.Can("u", "tenant:a", "requests", "destroy"); !errors.Is(err, ErrInvalid) {
		t.Errorf("Can with an unknown action: %v", err)
	}
	if ok, err := a.Can("", "tenant:a", "requests", "read"); ok || err != nil {
		t.Errorf("Can without user: %v %v", ok, err)
	}
}

// TestBuiltinRulesFollowRoleDefs guards what Decide relies on: the order of
// the p rules (roles in roleOrder, partner last, then the grant rule) and one
// g3 rule per role permission.
func TestBuiltinRulesFollowRoleDefs(t *testing.T) {
	var p [][]string
	g3 := 0
	for _, r := range builtinRules() {
		switch r[0] {
		case "p":
			p = append(p, r[1:])
		case "g3":
			g3++
		}
	}
	if last := p[len(p)-1]; last[1] != holdGrant {
		t.Errorf("last p rule is %v, want the grant rule", last)
	}
	if role := p[len(p)-2][0]; role != string(Partner) {
		t.Errorf("last role rule is for %s, want partner", role)
	}
	n := 0
	for _, def := range roleDefs {
		n += len(def.perms) + len(def.down)
	}
	if g3 != n {
		t.Errorf("%d g3 rules for %d role permissions", g3, n)
	}
}
