package authz

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/casbin/casbin/v2"

	"github.com/loket-kinderopvang/loket/internal/platform/db"
	"github.com/loket-kinderopvang/loket/internal/platform/dbtest"
)

// newPlainEnforcer is a Casbin enforcer on the embedded model and a bun
// adapter with auto-save on, as any Casbin user would use the adapter.
func newPlainEnforcer(t *testing.T, d *db.DB) *casbin.Enforcer {
	t.Helper()
	m, err := NewModel()
	if err != nil {
		t.Fatal(err)
	}
	e, err := casbin.NewEnforcer(m, NewAdapter(d))
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// snapshot is every rule of an enforcer, sorted, as "ptype,v0,...".
func snapshot(t *testing.T, e *casbin.Enforcer) []string {
	t.Helper()
	var out []string
	for sec, types := range map[string][]string{"p": {"p", "p2"}, "g": {"g", "g2"}} {
		for _, ptype := range types {
			rules, err := e.GetModel().GetPolicy(sec, ptype)
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range rules {
				out = append(out, ptype+","+strings.Join(r, ","))
			}
		}
	}
	slices.Sort(out)
	return out
}

func version(t *testing.T, d *db.DB) int64 {
	t.Helper()
	v, err := NewAdapter(d).Version(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestAdapterRoundTrip(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		e := newPlainEnforcer(t, d)
		if got := snapshot(t, e); len(got) != 0 {
			t.Fatalf("fresh database has rules: %v", got)
		}
		v0 := version(t, d)

		mustOK := func(ok bool, err error) {
			t.Helper()
			if err != nil || !ok {
				t.Fatalf("write: %v %v", ok, err)
			}
		}
		// Every field used, empty fields in the middle, and a batch.
		mustOK(e.AddNamedPolicy("p2", "desk_worker", "tenant:b", "tenant:a", "requests:read", "2026-01-01T00:00:00Z/", "agr-1"))
		mustOK(e.AddPolicy("desk_admin", "self", "staff:manage"))
		mustOK(e.AddGroupingPolicy("u1", "desk_admin", "tenant:a"))
		mustOK(e.AddGroupingPolicies([][]string{{"u2", "desk_worker", "tenant:a"}, {"u2", "partner", "tenant:b"}, {"u3", "desk_worker", "tenant:b"}}))
		mustOK(e.AddNamedGroupingPolicy("g2", "tenant:a", "region:24000"))
		if v := version(t, d); v != v0+5 {
			t.Errorf("version after 5 writes: %d, want %d", v, v0+5)
		}

		want := []string{
			"g,u1,desk_admin,tenant:a", "g,u2,desk_worker,tenant:a", "g,u2,partner,tenant:b", "g,u3,desk_worker,tenant:b",
			"g2,tenant:a,region:24000",
			"p,desk_admin,self,staff:manage",
			"p2,desk_worker,tenant:b,tenant:a,requests:read,2026-01-01T00:00:00Z/,agr-1",
		}
		slices.Sort(want)
		if got := snapshot(t, newPlainEnforcer(t, d)); !slices.Equal(got, want) {
			t.Fatalf("reloaded:\n got %v\nwant %v", got, want)
		}

		// The adapter writes even when the rule is already stored (another
		// replica's write): no error, no duplicate row, and no new version,
		// so no replica reloads for nothing.
		before := version(t, d)
		if err := NewAdapter(d).AddPolicy("g", "g", []string{"u1", "desk_admin", "tenant:a"}); err != nil {
			t.Fatalf("add existing rule: %v", err)
		}
		if err := NewAdapter(d).RemovePolicy("g", "g", []string{"nobody", "desk_admin", "tenant:a"}); err != nil {
			t.Fatalf("remove missing rule: %v", err)
		}
		if v := version(t, d); v != before {
			t.Errorf("writes that changed nothing moved the version from %d to %d", before, v)
		}
		var n int
		if err := d.NewRaw("SELECT count(*) FROM casbin_rules WHERE ptype = 'g' AND v0 = 'u1'").Scan(ctx, &n); err != nil || n != 1 {
			t.Fatalf("rows of u1: %d %v", n, err)
		}

		mustOK(e.RemovePolicy("desk_admin", "self", "staff:manage"))
		mustOK(e.RemoveFilteredGroupingPolicy(0, "u2"))
		mustOK(e.RemoveGroupingPolicies([][]string{{"u3", "desk_worker", "tenant:b"}}))
		want = []string{
			"g,u1,desk_admin,tenant:a", "g2,tenant:a,region:24000",
			"p2,desk_worker,tenant:b,tenant:a,requests:read,2026-01-01T00:00:00Z/,agr-1",
		}
		if got := snapshot(t, newPlainEnforcer(t, d)); !slices.Equal(got, want) {
			t.Fatalf("after removals:\n got %v\nwant %v", got, want)
		}

		// A filter on a later field with an empty (wildcard) value before it.
		if err := NewAdapter(d).RemoveFilteredPolicy("p", "p2", 4, "", "agr-1"); err != nil {
			t.Fatal(err)
		}
		if got := snapshot(t, newPlainEnforcer(t, d)); slices.ContainsFunc(got, func(s string) bool { return strings.HasPrefix(s, "p2,") }) {
			t.Fatalf("filtered removal left p2 rules: %v", got)
		}

		// SavePolicy replaces everything with the model's rules.
		e2 := newPlainEnforcer(t, d)
		e2.EnableAutoSave(false)
		mustOK(e2.AddGroupingPolicy("u9", "desk_worker", "tenant:c"))
		mustOK(e2.RemoveNamedGroupingPolicy("g2", "tenant:a", "region:24000"))
		if err := e2.SavePolicy(); err != nil {
			t.Fatal(err)
		}
		want = []string{"g,u1,desk_admin,tenant:a", "g,u9,desk_worker,tenant:c"}
		if got := snapshot(t, newPlainEnforcer(t, d)); !slices.Equal(got, want) {
			t.Fatalf("after save:\n got %v\nwant %v", got, want)
		}
	})
}

func TestAdapterRejectsBadRows(t *testing.T) {
	d := dbtest.Open(t, db.SQLite)
	ad := NewAdapter(d)
	if err := ad.AddPolicy("p", "p", []string{"1", "2", "3", "4", "5", "6", "7"}); err == nil {
		t.Error("a rule with 7 fields was stored")
	}
	// A g rule with a fourth value does not fit the model's g (3 fields).
	if err := ad.AddPolicy("g", "g", []string{"u", "desk_worker", "tenant:a", "extra"}); err != nil {
		t.Fatal(err)
	}
	m, _ := NewModel()
	if err := ad.LoadPolicy(m); err == nil {
		t.Error("loading a rule longer than its type succeeded")
	}
	// Rules of a type the model does not know (a newer release) are skipped.
	if err := ad.RemoveFilteredPolicy("g", "g", 0, "u"); err != nil {
		t.Fatal(err)
	}
	if err := ad.AddPolicy("g", "g9", []string{"a", "b"}); err != nil {
		t.Fatal(err)
	}
	m, _ = NewModel()
	if err := ad.LoadPolicy(m); err != nil {
		t.Errorf("unknown policy type: %v", err)
	}
}
