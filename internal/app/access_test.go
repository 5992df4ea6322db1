package app

import (
	"context"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/loket-kinderopvang/loket/internal/account"
	"github.com/loket-kinderopvang/loket/internal/eventlog"
	"github.com/loket-kinderopvang/loket/internal/platform/tenancy"
	"github.com/loket-kinderopvang/loket/internal/platform/testenv"

	"github.com/loket-kinderopvang/loket/internal/access"
	"github.com/loket-kinderopvang/loket/internal/catalog"
	"github.com/loket-kinderopvang/loket/internal/platform/authz"
	"github.com/loket-kinderopvang/loket/internal/platform/cache"
	"github.com/loket-kinderopvang/loket/internal/platform/db"
	"github.com/loket-kinderopvang/loket/internal/platform/dbtest"
	"github.com/loket-kinderopvang/loket/internal/platform/web"
)

// badAvailability passes authorisation and fails validation (422), so an
// allowed call proves the check without changing data.
const badAvailability = `[{"start_month":"2027-13","age_band":"baby","free_places":1}]`

// AccessRoutes are the protected routes of the access package. Other
// domains append theirs to the table in TestAuthorisationMatrix.
var AccessRoutes = []RouteCase{
	{Method: "GET", Path: "/{tenant}/beheer/samenwerking", OK: 200, Allow: OwnOnly(authz.DeskAdmin)},
	{Method: "POST", Path: "/{tenant}/beheer/samenwerking", Form: url.Values{}, OK: 422, Allow: OwnOnly(authz.DeskAdmin)},
	{Method: "GET", Path: "/{tenant}/beheer/medewerkers", OK: 200, Allow: OwnOnly(authz.DeskAdmin)},
	{Method: "POST", Path: "/{tenant}/beheer/medewerkers", Form: url.Values{}, OK: 422, Allow: OwnOnly(authz.DeskAdmin)},
	{Method: "GET", Path: "/aanbieder", OK: 200, Allow: AllVariants(authz.Operator, authz.DeskAdmin, authz.DeskWorker,
		authz.Partner, authz.ProviderAdmin, authz.ProviderStaff, authz.RegionalCoordinator)},
	{Method: "GET", Path: "/aanbieder/{provider}/medewerkers", OK: 200, Allow: OwnOnly(authz.ProviderAdmin)},
	{Method: "POST", Path: "/aanbieder/{provider}/medewerkers", Form: url.Values{}, OK: 422, Allow: OwnOnly(authz.ProviderAdmin)},
	{Method: "GET", Path: "/aanbieder/{provider}/sleutels", OK: 200, Allow: OwnOnly(authz.ProviderAdmin)},
	{Method: "POST", Path: "/aanbieder/{provider}/sleutels", Form: url.Values{}, OK: 422, Allow: OwnOnly(authz.ProviderAdmin)},
	{Method: "GET", Path: "/aanbieder/{provider}/webhooks", OK: 200, Allow: OwnOnly(authz.ProviderAdmin)},
	{Method: "POST", Path: "/aanbieder/{provider}/webhooks", Form: url.Values{}, OK: 422, Allow: OwnOnly(authz.ProviderAdmin)},
	{Method: "GET", Path: "/api/v1/providers/{provider}/webhooks", OK: 200, Allow: OwnOnly(authz.ProviderAdmin)},
	{Method: "GET", Path: "/beheer", OK: 200, Platform: true, Allow: AllVariants(authz.Operator)},
	{Method: "GET", Path: "/beheer/regios", OK: 200, Platform: true, Allow: AllVariants(authz.Operator)},
	{Method: "GET", Path: "/beheer/operators", OK: 200, Platform: true, Allow: AllVariants(authz.Operator)},
	{Method: "POST", Path: "/beheer/operators", Form: url.Values{"email": {"niemand@loket.example"}}, OK: 422, Platform: true, Allow: AllVariants(authz.Operator)},
	{Method: "PUT", Path: "/api/v1/locations/{location}/availability", JSON: badAvailability, OK: 422,
		Allow: OwnOnly(authz.ProviderAdmin, authz.ProviderStaff)},
}

// demoWorld is a seeded Loket with the demo accounts signed in.
type demoWorld struct {
	a        *App
	srv      *web.Server
	browsers map[authz.Role]*Browser
	// values fills the placeholders per variant.
	values map[Variant]map[string]string
}

func newDemoWorld(t *testing.T, tgs ...dbtest.Target) *demoWorld {
	t.Helper()
	ctx := context.Background()
	tg := dbtest.NewTarget(t, db.SQLite)
	if len(tgs) > 0 {
		tg = tgs[0]
	}
	a, srv := newApp(t, tg)
	if _, err := a.Seed(ctx); err != nil {
		t.Fatal(err)
	}
	provider, location, err := a.Catalog.LargestProvider(ctx, catalog.DemoDossierPrefix)
	if err != nil {
		t.Fatal(err)
	}
	var other catalog.Location
	if err := a.DB.NewSelect().Model(&other).Column("id", "provider_id").Where("provider_id <> ?", provider).
		OrderExpr("id").Limit(1).Scan(ctx); err != nil {
		t.Fatal(err)
	}
	w := &demoWorld{a: a, srv: srv, browsers: map[authz.Role]*Browser{}, values: map[Variant]map[string]string{
		Own:    {"tenant": "leuven", "provider": provider.String(), "location": location.String()},
		Other:  {"tenant": "geel-laakdal-meerhout", "provider": other.ProviderID.String(), "location": other.ID.String()},
		Shared: {"tenant": DemoSharingFrom, "provider": other.ProviderID.String(), "location": other.ID.String()},
	}}
	for _, role := range MatrixRoles {
		w.browsers[role] = SignInDemo(t, a, srv.App, role)
	}
	return w
}

// TestAuthorisationMatrix: every role × every protected route × own, other
// and shared domain, against the real router. The demo agreement lets
// Leuven's staff read Stadsregio Turnhout's requests: it gives no admin
// pages there.
func TestAuthorisationMatrix(t *testing.T) {
	w := newDemoWorld(t)
	if ok, _ := w.a.Authz.Allowed(mustUserID(t, w.a, authz.DeskWorker), authz.Desk(DemoSharingFrom), authz.RequestsRead); !ok {
		t.Fatal("the demo agreement must let Leuven's worker read Turnhout's requests")
	}
	routes := append([]RouteCase(nil), AccessRoutes...)
	addRequestValues(t, w)
	routes = append(routes, RequestRoutes...)
	routes = append(routes, WorkRoutes...)
	for _, rc := range routes {
		for _, v := range []Variant{Own, Other, Shared} {
			for _, role := range MatrixRoles {
				want := rc.Expect(role, v)
				got := rc.Send(w.browsers[role], w.values[v])
				if got.Status != want {
					t.Errorf("%s %s (%s) as %s: %d, want %d", rc.Method, Fill(rc.Path, w.values[v]), v, role, got.Status, want)
				}
			}
		}
	}
}

func mustUserID(t *testing.T, a *App, role authz.Role) string {
	t.Helper()
	return mustUserIDEmail(t, a, DemoEmails[role])
}

func mustUserIDEmail(t *testing.T, a *App, email string) string {
	t.Helper()
	u, err := a.Users.Store().ByEmail(context.Background(), email)
	if err != nil {
		t.Fatal(err)
	}
	return u.ID.String()
}

// TestCrossTenantAttack: Leuven's worker and admin use ids of Geel's
// agreement and staff in every route with ids: 404 and nothing of Geel's.
func TestCrossTenantAttack(t *testing.T) {
	w := newDemoWorld(t)
	ctx := context.Background()
	geel, _ := w.a.Directory.BySlug("geel-laakdal-meerhout")
	ag, err := w.a.Access.SeedAgreement(ctx, geel.ID, access.NewAgreement{Receiving: "stadsregio-turnhout",
		Access: access.SharedWaitingList, StartsOn: "2026-01-01"}, "test:geel", "test:turnhout")
	if err != nil {
		t.Fatal(err)
	}
	secretName, secretEmail := "Griet Geheim-Geel", "griet.geheim@geel.example"
	u, err := w.a.Users.CreateUser(ctx, accountNewUser(secretEmail, secretName))
	if err != nil {
		t.Fatal(err)
	}
	if err := w.a.Authz.AssignRole(ctx, u.ID.String(), authz.DeskWorker, authz.Desk("geel-laakdal-meerhout")); err != nil {
		t.Fatal(err)
	}
	ids := map[string]string{"A": "geel-laakdal-meerhout", "B": "leuven", "agreement": ag.ID.String(), "user": u.ID.String()}
	routes := []AttackRoute{
		{Method: "GET", Path: "/{B}/beheer/samenwerking/{agreement}"},
		{Method: "POST", Path: "/{B}/beheer/samenwerking/{agreement}/intrekken", Form: url.Values{}},
		{Method: "POST", Path: "/{B}/beheer/medewerkers/{user}/rollen", Form: url.Values{"role": {"desk_admin"}, "op": {"add"}}},
		{Method: "GET", Path: "/{A}/beheer/samenwerking"},
		{Method: "GET", Path: "/{A}/beheer/samenwerking/{agreement}"},
		{Method: "POST", Path: "/{A}/beheer/samenwerking/{agreement}/intrekken", Form: url.Values{}},
		{Method: "GET", Path: "/{A}/beheer/medewerkers"},
		{Method: "POST", Path: "/{A}/beheer/medewerkers/{user}/rollen", Form: url.Values{"role": {"desk_worker"}, "op": {"remove"}}},
	}
	secrets := []string{ag.ID.String(), u.ID.String(), secretName, secretEmail}
	for _, role := range []authz.Role{authz.DeskWorker, authz.DeskAdmin} {
		t.Run(string(role), func(t *testing.T) {
			AssertCrossTenant404(t, w.browsers[role], routes, ids, secrets)
		})
	}
	// Nothing changed.
	if got, _ := w.a.Access.Agreement(ctx, geel.ID, ag.ID); got.Revoked() {
		t.Error("the attack revoked Geel's agreement")
	}
	if roles := w.a.Authz.RolesFor(u.ID.String()); len(roles) != 1 || len(roles[authz.Desk("geel-laakdal-meerhout")]) != 1 {
		t.Errorf("the attack changed the roles of Geel's worker: %v", roles)
	}
}

// TestSharingAgreementLifecycle: a desk admin proposes an agreement through
// the page (with field errors first), both desks see it and get an event,
// nothing is granted before the other desk answers, and the proposer can
// withdraw it. Acceptance, refusal and revocation: see
// TestReciprocalProposalGrantsNothingWithoutConsent.
func TestSharingAgreementLifecycle(t *testing.T) {
	dbtest.EachTarget(t, func(t *testing.T, tg dbtest.Target) {
		w := newDemoWorld(t, tg)
		ctx := context.Background()
		admin := w.browsers[authz.DeskAdmin]
		bad := admin.Post("/leuven/beheer/samenwerking", url.Values{"receiving": {"leuven"}, "starts_on": {"morgen"}})
		for _, want := range []string{"Kies een ander loket dan het uwe.", "Kies wat u deelt.", "Vul een datum in", `aria-invalid="true"`, `href="#receiving"`} {
			if !strings.Contains(bad.Body, want) {
				t.Errorf("field errors: %d lacks %q", bad.Status, want)
			}
		}
		en := admin.Do(http.MethodGet, "/leuven/beheer/samenwerking?lang=en", nil)
		if !strings.Contains(en.Body, "Working with other desks") {
			t.Error("the sharing page must exist in English")
		}
		ok := admin.Post("/leuven/beheer/samenwerking", url.Values{"receiving": {"geel-laakdal-meerhout"},
			"access": {"shared_waiting_list"}, "starts_on": {"2026-01-01"}, "ends_on": {"2099-01-01"}, "reciprocal": {"1"}})
		if ok.Status != http.StatusSeeOther {
			t.Fatalf("propose: %d %s", ok.Status, ok.Body)
		}
		leuven, _ := w.a.Directory.BySlug("leuven")
		geel, _ := w.a.Directory.BySlug("geel-laakdal-meerhout")
		as, err := w.a.Access.Agreements(ctx, geel.ID)
		if err != nil || len(as) != 1 || as[0].GrantingTenantID != leuven.ID || !as[0].Reciprocal || as[0].Status != access.StatusProposed {
			t.Fatalf("Geel must see Leuven's proposal: %v %+v", err, as)
		}
		ag := as[0]
		kempen := mustUserIDEmail(t, w.a, "medewerker.kempen@demo.loket.example")
		if ok, _ := w.a.Authz.Allowed(kempen, authz.Desk("leuven"), authz.FamiliesWrite); ok {
			t.Error("a proposal grants nothing before the other desk accepts")
		}
		for _, d := range []string{"leuven", "geel-laakdal-meerhout"} {
			if n := countEvents(t, w.a, d, "sharing.proposed", ag.ID.UUID); n != 1 {
				t.Errorf("%s: %d sharing.proposed events, want 1", d, n)
			}
		}
		list := admin.Get("/leuven/beheer/samenwerking?lang=nl")
		if !strings.Contains(list.Body, ag.ID.String()) || !strings.Contains(list.Body, "Eén gedeelde wachtlijst") ||
			!strings.Contains(list.Body, "wacht op antwoord van het andere loket") {
			t.Errorf("the list must show the proposal: %s", list.Body)
		}
		if r := admin.Post("/leuven/beheer/samenwerking/"+ag.ID.String()+"/intrekken", url.Values{}); r.Status != http.StatusSeeOther {
			t.Fatalf("withdraw: %d", r.Status)
		}
		for _, d := range []string{"leuven", "geel-laakdal-meerhout"} {
			if n := countEvents(t, w.a, d, "sharing.withdrawn", ag.ID.UUID); n != 1 {
				t.Errorf("%s: %d sharing.withdrawn events, want 1", d, n)
			}
		}
	})
}

// TestAPIKeys: a provider admin creates a key (shown once, stored hashed),
// the key sets free places of its provider's location, not of another, and
// a revoked key is refused; last use is recorded.
func TestAPIKeys(t *testing.T) {
	dbtest.EachTarget(t, func(t *testing.T, tg dbtest.Target) {
		w := newDemoWorld(t, tg)
		ctx := context.Background()
		admin := w.browsers[authz.ProviderAdmin]
		own, other := w.values[Own], w.values[Other]
		r := admin.Post("/aanbieder/"+own["provider"]+"/sleutels", url.Values{"name": {"Planningssoftware"}})
		m := keyRE.FindStringSubmatch(r.Body)
		if r.Status != http.StatusCreated || m == nil {
			t.Fatalf("create key: %d", r.Status)
		}
		token := m[1]
		pid, _ := access.ParseProviderID(own["provider"])
		keys, err := w.a.Access.Keys(ctx, pid)
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range keys {
			if strings.Contains(k.TokenHash, token) || k.TokenHash == token {
				t.Error("the key must be stored hashed")
			}
		}
		if again := admin.Get("/aanbieder/" + own["provider"] + "/sleutels"); strings.Contains(again.Body, token) {
			t.Error("the key must be shown only once")
		}
		api := NewBrowser(t, w.srv.App)
		put := func(location, key, body string) Resp {
			return api.Do(http.MethodPut, "/api/v1/locations/"+location+"/availability", body, "Authorization", "Bearer "+key)
		}
		good := `[{"start_month":"2027-03","age_band":"baby","free_places":1}]`
		if r := put(own["location"], token, good); r.Status != http.StatusNoContent {
			t.Errorf("own location: %d %s", r.Status, r.Body)
		}
		lid, _ := catalog.ParseLocationID(own["location"])
		hist, _ := w.a.Catalog.AvailabilityHistory(ctx, lid)
		if len(hist) == 0 || !strings.HasPrefix(hist[len(hist)-1].ChangedBy, "apikey:") {
			t.Errorf("the change must be recorded with the key as actor: %+v", hist)
		}
		if r := put(own["location"], token, badAvailability); r.Status != 422 || !strings.Contains(r.Body, "start_month") ||
			r.Header.Get("Content-Type") != "application/problem+json" {
			t.Errorf("bad body: %d %s", r.Status, r.Body)
		}
		if r := put(other["location"], token, good); r.Status != http.StatusNotFound {
			t.Errorf("another provider's location: %d", r.Status)
		}
		if r := put(own["location"], "lk_onbekend", good); r.Status != http.StatusUnauthorized {
			t.Errorf("unknown key: %d", r.Status)
		}
		if r := put(own["location"], DemoAPIKey(), good); r.Status != http.StatusNoContent {
			t.Errorf("the demo key: %d %s", r.Status, r.Body)
		}
		keys, _ = w.a.Access.Keys(ctx, pid)
		var id string
		for _, k := range keys {
			if k.Name == "Planningssoftware" {
				id = k.ID.String()
				if k.LastUsedAt.IsZero() {
					t.Error("last use must be recorded")
				}
			}
		}
		list := admin.Get("/aanbieder/" + own["provider"] + "/sleutels")
		if strings.Contains(list.Body, "nog nooit</td><td>") && strings.Count(list.Body, "nog nooit") > 1 {
			t.Error("the list must show the last use")
		}
		if r := admin.Post("/aanbieder/"+own["provider"]+"/sleutels/"+id+"/intrekken", url.Values{"confirm": {"yes"}}); r.Status != http.StatusSeeOther {
			t.Fatalf("revoke: %d", r.Status)
		}
		if r := put(own["location"], token, good); r.Status != http.StatusUnauthorized {
			t.Errorf("revoked key: %d", r.Status)
		}
	})
}

// TestProviderRightsFlowToLocations: after seeding, every demo location is
// grouped into its provider, so the provider admin may set free places of
// each, and a staff member named for one location only of that one.
func TestProviderRightsFlowToLocations(t *testing.T) {
	w := newDemoWorld(t)
	ctx := context.Background()
	pid, _ := access.ParseProviderID(w.values[Own]["provider"])
	locs, err := w.a.Access.ProviderLocations(ctx, pid)
	if err != nil || len(locs) < 2 {
		t.Fatalf("the demo provider needs several locations: %v %d", err, len(locs))
	}
	admin, staff := mustUserID(t, w.a, authz.ProviderAdmin), mustUserID(t, w.a, authz.ProviderStaff)
	for _, l := range locs {
		if ok, _ := w.a.Authz.Allowed(admin, authz.Location(l.ID.String()), authz.AvailabilityWrite); !ok {
			t.Fatalf("provider admin lacks availability:write on %s", l.ID)
		}
		ok, _ := w.a.Authz.Allowed(staff, authz.Location(l.ID.String()), authz.AvailabilityWrite)
		if ok != (l.ID.String() == w.values[Own]["location"]) {
			t.Errorf("provider staff on %s: %v", l.ID, ok)
		}
	}
	version := w.a.Authz.Version()
	if err := w.a.GroupLocations(ctx); err != nil || w.a.Authz.Version() != version {
		t.Errorf("a second grouping must write nothing: %v", err)
	}
	// Staff page lists the location-bound staff member with her location.
	page := w.browsers[authz.ProviderAdmin].Get("/aanbieder/" + pid.String() + "/medewerkers")
	if !strings.Contains(page.Body, "aanbieder.medewerker@demo.loket.example") {
		t.Errorf("the provider staff page must list the staff member")
	}
	if r := w.browsers[authz.ProviderAdmin].Get("/aanbieder"); !strings.Contains(r.Body, pid.String()) {
		t.Errorf("/aanbieder must list the provider")
	}
}

// TestDeskStaffInvitation: a desk admin invites a worker: the account gets
// no password, a reset mail goes out, the role is held and a second factor
// is required.
func TestDeskStaffInvitation(t *testing.T) {
	w := newDemoWorld(t)
	ctx := context.Background()
	admin := w.browsers[authz.DeskAdmin]
	bad := admin.Post("/leuven/beheer/medewerkers", url.Values{"email": {"geen-adres"}, "display_name": {""}, "role": {"operator"}})
	if bad.Status != 422 || !strings.Contains(bad.Body, `href="#role"`) {
		t.Errorf("invalid invitation: %d", bad.Status)
	}
	bad = admin.Post("/leuven/beheer/medewerkers?lang=fr", url.Values{"email": {"geen-adres"}, "display_name": {""}, "role": {"desk_worker"}})
	if bad.Status != 422 || !strings.Contains(bad.Body, `href="#email"`) || !strings.Contains(bad.Body, `href="#display_name"`) || !strings.Contains(bad.Body, `lang="fr"`) {
		t.Errorf("invalid invitation in French: %d %s", bad.Status, bad.Body)
	}
	r := admin.Post("/leuven/beheer/medewerkers", url.Values{"email": {"nieuw@leuven.example"}, "display_name": {"Nina Nieuw"}, "role": {"desk_worker"}})
	if r.Status != http.StatusSeeOther {
		t.Fatalf("invite: %d %s", r.Status, r.Body)
	}
	w.a.Users.Wait()
	u, err := w.a.Users.Store().ByEmail(ctx, "nieuw@leuven.example")
	if err != nil || u.PasswordHash != "" || !u.TOTPRequired {
		t.Fatalf("invited account: %v %+v", err, u)
	}
	var mails int
	if err := w.a.DB.NewRaw("SELECT count(*) FROM mail_outbox WHERE to_address = ?", "nieuw@leuven.example").Scan(ctx, &mails); err != nil || mails != 1 {
		t.Errorf("reset mail: %v %d", err, mails)
	}
	if ok, _ := w.a.Authz.Allowed(u.ID.String(), authz.Desk("leuven"), authz.RequestsRead); !ok {
		t.Error("the invited worker must hold the role")
	}
	list := admin.Get("/leuven/beheer/medewerkers")
	if !strings.Contains(list.Body, "Nina Nieuw") {
		t.Error("the staff list must show the new worker")
	}
	if r := admin.Post("/leuven/beheer/medewerkers/"+u.ID.String()+"/rollen", url.Values{"role": {"desk_worker"}, "op": {"remove"}, "confirm": {"yes"}}); r.Status != http.StatusSeeOther {
		t.Fatalf("remove role: %d", r.Status)
	}
	if ok, _ := w.a.Authz.Allowed(u.ID.String(), authz.Desk("leuven"), authz.RequestsRead); ok {
		t.Error("the removed role must be gone")
	}
}

var keyRE = regexp.MustCompile(`<code id="new-key">([^<]+)</code>`)

func accountNewUser(email, name string) account.NewUser {
	return account.NewUser{Email: email, DisplayName: name}
}

// countEvents counts events of kind in a desk's event log.
func countEvents(t *testing.T, a *App, slug, kind string, subject uuid.UUID) int {
	t.Helper()
	d, _ := a.Directory.BySlug(slug)
	var n int
	err := tenancy.NewStore(a.DB).Tx(tenancy.WithTenant(context.Background(), d.ID), func(ctx context.Context, tx *tenancy.Tx) error {
		c, err := tx.Select((*eventlog.Event)(nil)).Where("kind = ? AND subject_id = ?", kind, subject).Count(ctx)
		n = int(c)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestRoleGrantedOnOneInstanceWorksOnTheOther: two Loket instances on one
// PostgreSQL and one Redis, over real HTTP. A desk admin gives someone the
// desk_admin role on instance 1; within a second instance 2 lets her in.
func TestRoleGrantedOnOneInstanceWorksOnTheOther(t *testing.T) {
	ctx := context.Background()
	redisURL, prefix := testenv.Redis(t)
	t.Cleanup(func() {
		if r, err := cache.NewRedis(context.Background(), redisURL, prefix); err == nil {
			_ = r.DeletePrefix(context.Background(), "")
			_ = r.Close()
		}
	})
	tg := dbtest.NewTarget(t, db.Postgres)
	if _, err := tg.Owner(t).MigrateUp(ctx, dbtest.AppRole); err != nil {
		t.Fatal(err)
	}
	a1, srv1 := openInstance(t, tg, redisURL, prefix)
	if _, err := a1.Seed(ctx); err != nil {
		t.Fatal(err)
	}
	a2, srv2 := openInstance(t, tg, redisURL, prefix)
	var urls []string
	for _, in := range []struct {
		a   *App
		srv *web.Server
	}{{a1, srv1}, {a2, srv2}} {
		if err := in.a.Authz.Start(ctx); err != nil {
			t.Fatal(err)
		}
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		srv := in.srv
		go func() { _ = srv.App.Listener(ln) }()
		t.Cleanup(func() { _ = srv.App.Shutdown() })
		urls = append(urls, "http://"+ln.Addr().String())
	}
	const pw = "zonnebloem-paraplu-42"
	second, err := a1.Users.CreateUser(ctx, account.NewUser{Email: "tweede@leuven.example", DisplayName: "Tweede Beheerder", Password: pw})
	if err != nil {
		t.Fatal(err)
	}
	// She has a code app, so her session passed a second factor: a desk
	// role given later needs no new one (TestDeskRoleGivenLateNeedsSecondFactor
	// covers a session without).
	key, err := account.NewTOTPKey(second.Email)
	if err != nil {
		t.Fatal(err)
	}
	if err := a1.Users.Store().SetTOTPSecret(ctx, second.ID, key.Secret); err != nil {
		t.Fatal(err)
	}
	admin := NewBrowser(t, nil)
	admin.Base = urls[0]
	u, _ := a1.Users.Store().ByEmail(ctx, DemoEmails[authz.DeskAdmin])
	admin.SignIn(u.Email, DemoPassword, u.TOTPSecret.String())
	other := NewBrowser(t, nil)
	other.Base = urls[1]
	other.SignIn("tweede@leuven.example", pw, key.Secret)
	if r := other.Get("/leuven/beheer/medewerkers"); r.Status != http.StatusNotFound {
		t.Fatalf("before the grant: %d", r.Status)
	}
	r := admin.Post("/leuven/beheer/medewerkers", url.Values{"email": {"tweede@leuven.example"}, "role": {"desk_admin"}})
	if r.Status != http.StatusSeeOther {
		t.Fatalf("grant on instance 1: %d", r.Status)
	}
	granted := time.Now()
	for {
		if r := other.Get("/leuven/beheer/medewerkers"); r.Status == http.StatusOK {
			break
		}
		if time.Since(granted) > time.Second {
			t.Fatal("the role granted on instance 1 did not work on instance 2 within a second")
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Logf("role effective on instance 2 after %v", time.Since(granted).Round(time.Millisecond))
}

// TestAdminFormsRefuseMissingCSRF: the admin forms go through the CSRF
// check like every form: without the token nothing is created.
func TestAdminFormsRefuseMissingCSRF(t *testing.T) {
	w := newDemoWorld(t)
	form := url.Values{"receiving": {"geel-laakdal-meerhout"}, "access": {"shared_waiting_list"}, "starts_on": {"2026-01-01"}}
	r := w.browsers[authz.DeskAdmin].Do(http.MethodPost, "/leuven/beheer/samenwerking", form)
	if r.Status != http.StatusForbidden {
		t.Errorf("without a CSRF token: %d, want 403", r.Status)
	}
	geel, _ := w.a.Directory.BySlug("geel-laakdal-meerhout")
	if as, _ := w.a.Access.Agreements(context.Background(), geel.ID); len(as) != 0 {
		t.Error("a form without a CSRF token created an agreement")
	}
	r = w.browsers[authz.Operator].Do(http.MethodPost, "/beheer/operators", url.Values{"email": {DemoEmails[authz.DeskWorker]}})
	if r.Status != http.StatusForbidden {
		t.Errorf("operators form without a CSRF token: %d, want 403", r.Status)
	}
	if ok, _ := w.a.Authz.Allowed(mustUserID(t, w.a, authz.DeskWorker), authz.Platform, authz.TenantsManage); ok {
		t.Error("a form without a CSRF token made someone operator")
	}
}

// TestOperatorPages: desks with their regions, regions with their desks,
// and adding an operator requires a second factor from then on.
func TestOperatorPages(t *testing.T) {
	w := newDemoWorld(t)
	op := w.browsers[authz.Operator]
	desks := op.Get("/beheer?lang=nl")
	for _, want := range []string{"Lokaal Loket Kinderopvang Leuven", "Baarle-Hertog", "Turnhout"} {
		if !strings.Contains(desks.Body, want) {
			t.Errorf("/beheer lacks %q", want)
		}
	}
	regions := op.Get("/beheer/regios")
	if !strings.Contains(regions.Body, "13000") || !strings.Contains(regions.Body, "Geel-Laakdal-Meerhout") {
		t.Errorf("/beheer/regios must list region 13000 with its desks")
	}
	r := op.Post("/beheer/operators", url.Values{"email": {DemoEmails[authz.ProviderAdmin]}})
	if r.Status != http.StatusSeeOther {
		t.Fatalf("add operator: %d", r.Status)
	}
	id := mustUserID(t, w.a, authz.ProviderAdmin)
	if ok, _ := w.a.Authz.Allowed(id, authz.Platform, authz.TenantsManage); !ok {
		t.Error("the new operator must manage desks")
	}
	u, _ := w.a.Users.Store().ByEmail(context.Background(), DemoEmails[authz.ProviderAdmin])
	if !u.TOTPRequired {
		t.Error("an operator must use a second factor")
	}
	if r := op.Post("/beheer/operators/"+id+"/verwijderen", url.Values{"confirm": {"yes"}}); r.Status != http.StatusSeeOther {
		t.Fatalf("remove operator: %d", r.Status)
	}
	if ok, _ := w.a.Authz.Allowed(id, authz.Platform, authz.TenantsManage); ok {
		t.Error("the removed operator must lose the role")
	}
}

// TestCrossProviderAttack: the demo provider's admin uses ids of another
// provider's key and staff: 404 everywhere, nothing changes.
func TestCrossProviderAttack(t *testing.T) {
	w := newDemoWorld(t)
	ctx := context.Background()
	other, _ := access.ParseProviderID(w.values[Other]["provider"])
	k, _, err := w.a.Access.CreateKey(ctx, access.NewKey{Provider: other, Name: "Geheime koppeling", Actor: "test"})
	if err != nil {
		t.Fatal(err)
	}
	u, err := w.a.Users.CreateUser(ctx, accountNewUser("stien.stil@opvang.example", "Stien Stil"))
	if err != nil {
		t.Fatal(err)
	}
	if err := w.a.Authz.AssignRole(ctx, u.ID.String(), authz.ProviderStaff, authz.Provider(other.String())); err != nil {
		t.Fatal(err)
	}
	ids := map[string]string{"A": other.String(), "B": w.values[Own]["provider"], "key": k.ID.String(), "user": u.ID.String(),
		"location": w.values[Other]["location"]}
	routes := []AttackRoute{
		{Method: "POST", Path: "/aanbieder/{B}/sleutels/{key}/intrekken", Form: url.Values{}},
		{Method: "POST", Path: "/aanbieder/{B}/medewerkers/{user}/verwijderen", Form: url.Values{}},
		{Method: "GET", Path: "/aanbieder/{A}/sleutels"},
		{Method: "POST", Path: "/aanbieder/{A}/sleutels/{key}/intrekken", Form: url.Values{}},
		{Method: "GET", Path: "/aanbieder/{A}/medewerkers"},
		{Method: "POST", Path: "/aanbieder/{A}/medewerkers/{user}/verwijderen", Form: url.Values{}},
		{Method: "PUT", Path: "/api/v1/locations/{location}/availability", JSON: `[{"start_month":"2027-03","age_band":"baby","free_places":0}]`},
	}
	secrets := []string{k.ID.String(), k.Prefix, "Geheime koppeling", u.ID.String(), "Stien Stil", "stien.stil@opvang.example"}
	for _, role := range []authz.Role{authz.ProviderAdmin, authz.ProviderStaff} {
		t.Run(string(role), func(t *testing.T) { AssertCrossTenant404(t, w.browsers[role], routes, ids, secrets) })
	}
	if keys, _ := w.a.Access.Keys(ctx, other); len(keys) != 1 || !keys[0].RevokedAt.IsZero() {
		t.Error("the attack revoked the other provider's key")
	}
	if len(w.a.Authz.RolesFor(u.ID.String())) != 1 {
		t.Error("the attack removed the other provider's staff")
	}
}

// TestAdminPagesOnADesksOwnHost: on a desk's own host name the desk admin
// pages are /beheer/…, and the platform pages stay the platform's.
func TestAdminPagesOnADesksOwnHost(t *testing.T) {
	w := newDemoWorld(t)
	host := "opvang.leuven.example"
	if r := w.browsers[authz.DeskAdmin].Do(http.MethodGet, "/beheer/medewerkers", nil, "Host", host); r.Status != 200 ||
		!strings.Contains(r.Body, "coordinator.leuven@demo.loket.example") {
		t.Errorf("desk staff page on the desk's host: %d", r.Status)
	}
	if r := w.browsers[authz.Operator].Do(http.MethodGet, "/beheer/operators", nil, "Host", host); r.Status != 200 {
		t.Errorf("operators page on a desk's host: %d", r.Status)
	}
	if r := w.browsers[authz.ProviderAdmin].Do(http.MethodGet, "/aanbieder", nil, "Host", host); r.Status != 200 {
		t.Errorf("provider page on a desk's host: %d", r.Status)
	}
}
