package authz

import (
	"context"
	"slices"
	"testing"

	"github.com/loket-kinderopvang/loket/internal/platform/db"
	"github.com/loket-kinderopvang/loket/internal/platform/dbtest"
)

func TestGroupAllAndHolders(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		a := newAuthorizer(t, d, Options{})
		pairs := [][2]string{{Location("l1"), Provider("p1")}, {Location("l2"), Provider("p1")}, {Location("l1"), Provider("p1")}}
		if err := a.GroupAll(ctx, pairs); err != nil {
			t.Fatal(err)
		}
		v := a.Version()
		if err := a.GroupAll(ctx, pairs); err != nil || a.Version() != v {
			t.Errorf("a second GroupAll must write nothing: %v, version %d → %d", err, v, a.Version())
		}
		if err := a.GroupAll(ctx, [][2]string{{Desk("x"), Provider("p1")}}); err == nil {
			t.Error("a desk cannot be grouped into a provider")
		}
		if err := a.AssignRole(ctx, "u1", ProviderAdmin, Provider("p1")); err != nil {
			t.Fatal(err)
		}
		if err := a.AssignRole(ctx, "u2", ProviderStaff, Location("l2")); err != nil {
			t.Fatal(err)
		}
		for _, l := range []string{"l1", "l2"} {
			if ok, _ := a.Allowed("u1", Location(l), AvailabilityWrite); !ok {
				t.Errorf("the provider admin must reach %s", l)
			}
		}
		if got := a.Holders(Provider("p1")); !slices.Equal(got, []Holder{{"u1", ProviderAdmin}}) {
			t.Errorf("holders of p1: %v", got)
		}
		if got := a.Holders(Location("l2")); !slices.Equal(got, []Holder{{"u2", ProviderStaff}}) {
			t.Errorf("holders of l2: %v", got)
		}
		// A fresh replica sees the same.
		b := newAuthorizer(t, d, Options{})
		if ok, _ := b.Allowed("u1", Location("l2"), AvailabilityWrite); !ok {
			t.Error("the grouping must be stored")
		}
	})
}
