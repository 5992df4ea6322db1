package app

import (
	"context"
	"testing"

	"github.com/loket-kinderopvang/loket/internal/platform/authz"
	"github.com/loket-kinderopvang/loket/internal/platform/db"
	"github.com/loket-kinderopvang/loket/internal/platform/dbtest"
)

func TestDemoAccountsHaveTheirRoles(t *testing.T) {
	ctx := context.Background()
	tg := dbtest.NewTarget(t, db.SQLite)
	if _, err := tg.Owner(t).MigrateUp(ctx, ""); err != nil {
		t.Fatal(err)
	}
	a := openApp(t, tg)
	if _, err := a.Seed(ctx); err != nil {
		t.Fatal(err)
	}
	first, err := a.SeedDemoAccounts(ctx) // a second run changes nothing
	if err != nil {
		t.Fatal(err)
	}
	version := a.Authz.Version()
	if _, err := a.SeedDemoAccounts(ctx); err != nil || a.Authz.Version() != version {
		t.Errorf("a second seed wrote policies: %v, version %d → %d", err, version, a.Authz.Version())
	}
	byEmail := map[string]DemoAccount{}
	for _, d := range first {
		byEmail[d.Email] = d
	}
	if len(byEmail) != 9 {
		t.Fatalf("want one demo account per role and desk, got %d", len(byEmail))
	}
	id := func(email string) string {
		u, err := a.Users.Store().ByEmail(ctx, email)
		if err != nil {
			t.Fatalf("%s: %v", email, err)
		}
		if authz.RequiresSecondFactor(byEmail[email].Role) != u.TOTPRequired || u.TOTPRequired != (u.TOTPSecret != "") {
			t.Errorf("%s: TOTP required %v, secret set %v", email, u.TOTPRequired, u.TOTPSecret != "")
		}
		if ok, _ := a.Users.Hasher().Verify(ctx, DemoPassword, u.PasswordHash); !ok {
			t.Errorf("%s: the demo password does not work", email)
		}
		return u.ID.String()
	}
	can := func(user, domain string, perm authz.Permission) bool {
		ok, err := a.Authz.Allowed(user, domain, perm)
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	worker := id("medewerker.leuven@demo.loket.example")
	if !can(worker, authz.Desk("leuven"), authz.RequestsRead) || can(worker, authz.Desk("geel-laakdal-meerhout"), authz.RequestsRead) {
		t.Error("the Leuven worker must read Leuven's requests and not Geel's")
	}
	region := id("regio.turnhout@demo.loket.example")
	if !can(region, authz.Desk("stadsregio-turnhout"), authz.ReportsAggregate) || !can(region, authz.Desk("geel-laakdal-meerhout"), authz.ReportsAggregate) {
		t.Error("the Kempen coordinator must see aggregates of every desk in region 13000")
	}
	if can(region, authz.Desk("stadsregio-turnhout"), authz.RequestsRead) || can(region, authz.Desk("leuven"), authz.ReportsAggregate) {
		t.Error("the coordinator must see no family data and no other region")
	}
	op := id("beheerder@demo.loket.example")
	if !can(op, authz.Platform, authz.TenantsManage) || can(op, authz.Desk("leuven"), authz.RequestsRead) {
		t.Error("the operator manages desks but reads no family data")
	}
	for _, email := range []string{"partner.leuven@demo.loket.example", "aanbieder.beheer@demo.loket.example", "aanbieder.medewerker@demo.loket.example", "coordinator.leuven@demo.loket.example"} {
		id(email)
	}
}
