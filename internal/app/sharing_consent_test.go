package app

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/loket-kinderopvang/loket/internal/access"
	"github.com/loket-kinderopvang/loket/internal/account"
	"github.com/loket-kinderopvang/loket/internal/platform/authz"
	"github.com/loket-kinderopvang/loket/internal/platform/dbtest"
	"github.com/loket-kinderopvang/loket/internal/requests"
)

// testTOTPSecret is the code-app secret of the desk admins these tests add.
const testTOTPSecret = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"

// newDeskAdmin adds a desk admin of slug (with a second factor) and returns
// her account id.
func newDeskAdmin(t *testing.T, w *demoWorld, slug, email string) string {
	t.Helper()
	ctx := context.Background()
	u, err := w.a.Users.CreateUser(ctx, account.NewUser{Email: email, DisplayName: "Coördinator " + slug + " (test)",
		Password: DemoPassword, TOTPRequired: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.a.Users.Store().SetTOTPSecret(ctx, u.ID, testTOTPSecret); err != nil {
		t.Fatal(err)
	}
	if err := w.a.Authz.AssignRole(ctx, u.ID.String(), authz.DeskAdmin, authz.Desk(slug)); err != nil {
		t.Fatal(err)
	}
	return u.ID.String()
}

// signInDeskAdmin adds a desk admin of slug and signs her in.
func signInDeskAdmin(t *testing.T, w *demoWorld, slug, email string) *Browser {
	t.Helper()
	newDeskAdmin(t, w, slug, email)
	b := NewBrowser(t, w.srv.App)
	b.SignIn(email, DemoPassword, testTOTPSecret)
	return b
}

// geelAccess is what Leuven's worker tries on Geel's data: worklist, case
// page, adding a note, the new-request form, registering, rounds. It returns
// the statuses by step.
func geelAccess(b *Browser, request string) map[string]int {
	const g = "/geel-laakdal-meerhout"
	return map[string]int{
		"worklist":    b.Get(g + "/loket").Status,
		"case":        b.Get(g + "/loket/aanvragen/" + request).Status,
		"note":        b.Post(g+"/loket/aanvragen/"+request+"/notitie", url.Values{"body": {"Notitie van Leuven"}}).Status,
		"new form":    b.Get(g + "/loket/nieuw").Status,
		"new request": b.Post(g+"/loket/nieuw", url.Values{}).Status,
		"rounds":      b.Get(g + "/loket/rondes").Status,
	}
}

var geelWithAccess = map[string]int{"worklist": 200, "case": 200, "note": 303, "new form": 200, "new request": 422, "rounds": 200}

func assertGeelAccess(t *testing.T, when string, got map[string]int, open bool) {
	t.Helper()
	for step, status := range got {
		want := http.StatusNotFound
		if open {
			want = geelWithAccess[step]
		}
		if status != want {
			t.Errorf("%s: Leuven's worker on Geel's %s: %d, want %d", when, step, status, want)
		}
	}
}

// TestReciprocalProposalGrantsNothingWithoutConsent (issue 13, point 1):
// Leuven's admin alone proposing a reciprocal shared waiting list no longer
// opens Geel–Laakdal–Meerhout's data to Leuven's staff (nor Leuven's to
// Geel's). After an admin of Geel accepts, both ways work; refusing,
// withdrawing and revoking each leave or make it closed; both desks' event
// logs record every step.
func TestReciprocalProposalGrantsNothingWithoutConsent(t *testing.T) {
	dbtest.EachTarget(t, func(t *testing.T, tg dbtest.Target) {
		w := newDemoWorld(t, tg)
		ctx := context.Background()
		leuvenAdmin, worker := w.browsers[authz.DeskAdmin], w.browsers[authz.DeskWorker]
		req := submitAt(t, w.a, "geel-laakdal-meerhout",
			deskSub(t, w.a, "geel-laakdal-meerhout", "Gedeeld", "Kind", "gedeeld@ouders.example", locationIn(t, w.a, "geel-laakdal-meerhout", true)),
			requests.Actor{ID: "test", Kind: requests.ActorDesk}).ID.String()
		kempen := mustUserIDEmail(t, w.a, "medewerker.kempen@demo.loket.example")
		geel, _ := w.a.Directory.BySlug("geel-laakdal-meerhout")

		propose := func() access.Agreement {
			t.Helper()
			r := leuvenAdmin.Post("/leuven/beheer/samenwerking", url.Values{"receiving": {"geel-laakdal-meerhout"},
				"access": {"shared_waiting_list"}, "starts_on": {"2026-01-01"}, "reciprocal": {"1"}})
			if r.Status != http.StatusSeeOther {
				t.Fatalf("propose: %d", r.Status)
			}
			as, err := w.a.Access.Agreements(ctx, geel.ID)
			if err != nil || len(as) == 0 {
				t.Fatalf("Geel must see Leuven's proposal: %v", err)
			}
			return as[0]
		}
		geelOpen := func() bool {
			ok, _ := w.a.Authz.Allowed(kempen, authz.Desk("leuven"), authz.RequestsRead)
			return ok
		}

		// 1. Proposal alone: nothing either way.
		p1 := propose()
		assertGeelAccess(t, "proposed", geelAccess(worker, req), false)
		if geelOpen() {
			t.Error("proposed: Geel's worker must not read Leuven's requests before Geel accepts")
		}
		// Leuven's admin cannot accept her own proposal, by either desk's URL.
		for _, path := range []string{"/leuven/beheer/samenwerking/", "/geel-laakdal-meerhout/beheer/samenwerking/"} {
			if r := leuvenAdmin.Post(path+p1.ID.String()+"/aanvaarden", url.Values{}); r.Status == http.StatusSeeOther {
				t.Errorf("Leuven's admin accepted her own proposal via %s", path)
			}
		}
		assertGeelAccess(t, "after Leuven tried to accept", geelAccess(worker, req), false)

		// 2. Geel's admin sees the proposal and refuses it.
		geelAdmin := signInDeskAdmin(t, w, "geel-laakdal-meerhout", "coordinator.geel@test.example")
		page := geelAdmin.Get("/geel-laakdal-meerhout/beheer/samenwerking?lang=nl")
		if !strings.Contains(page.Body, "Voorstellen die op uw antwoord wachten") || !strings.Contains(page.Body, p1.ID.String()+"/aanvaarden") {
			t.Errorf("Geel's sharing page must offer the proposal to accept: %d", page.Status)
		}
		if r := geelAdmin.Post("/geel-laakdal-meerhout/beheer/samenwerking/"+p1.ID.String()+"/weigeren", url.Values{}); r.Status != http.StatusSeeOther {
			t.Fatalf("refuse: %d", r.Status)
		}
		assertGeelAccess(t, "refused", geelAccess(worker, req), false)
		if r := geelAdmin.Post("/geel-laakdal-meerhout/beheer/samenwerking/"+p1.ID.String()+"/aanvaarden", url.Values{}); r.Status != http.StatusConflict {
			t.Errorf("accepting a refused proposal: %d, want 409", r.Status)
		}

		// 3. A second proposal, withdrawn by Leuven: Geel can no longer accept it.
		p2 := propose()
		if r := leuvenAdmin.Post("/leuven/beheer/samenwerking/"+p2.ID.String()+"/intrekken", url.Values{}); r.Status != http.StatusSeeOther {
			t.Fatalf("withdraw: %d", r.Status)
		}
		if r := geelAdmin.Post("/geel-laakdal-meerhout/beheer/samenwerking/"+p2.ID.String()+"/aanvaarden", url.Values{}); r.Status != http.StatusConflict {
			t.Errorf("accepting a withdrawn proposal: %d, want 409", r.Status)
		}
		assertGeelAccess(t, "withdrawn", geelAccess(worker, req), false)

		// 4. A third, accepted by Geel: both ways open.
		p3 := propose()
		if r := geelAdmin.Post("/geel-laakdal-meerhout/beheer/samenwerking/"+p3.ID.String()+"/aanvaarden", url.Values{}); r.Status != http.StatusSeeOther {
			t.Fatalf("accept: %d", r.Status)
		}
		assertGeelAccess(t, "accepted", geelAccess(worker, req), true)
		if !geelOpen() {
			t.Error("accepted: Geel's worker must work on Leuven's shared list")
		}

		// 5. Geel revokes: closed again, both ways.
		if r := geelAdmin.Post("/geel-laakdal-meerhout/beheer/samenwerking/"+p3.ID.String()+"/intrekken", url.Values{}); r.Status != http.StatusSeeOther {
			t.Fatalf("revoke: %d", r.Status)
		}
		assertGeelAccess(t, "revoked", geelAccess(worker, req), false)
		if geelOpen() {
			t.Error("revoked: Geel's worker must lose access at once")
		}

		// Every step is in both desks' event logs.
		steps := []struct {
			id   access.AgreementID
			kind string
		}{{p1.ID, "sharing.proposed"}, {p1.ID, "sharing.refused"}, {p2.ID, "sharing.proposed"}, {p2.ID, "sharing.withdrawn"},
			{p3.ID, "sharing.proposed"}, {p3.ID, "sharing.accepted"}, {p3.ID, "sharing.revoked"}}
		for _, d := range []string{"leuven", "geel-laakdal-meerhout"} {
			for _, s := range steps {
				if n := countEvents(t, w.a, d, s.kind, s.id.UUID); n != 1 {
					t.Errorf("%s: %d %s events for %s, want 1", d, n, s.kind, s.id)
				}
			}
		}
	})
}

// foreignGrants are the grants on the data of any desk but own, by rule.
func foreignGrants(t *testing.T, w *demoWorld, own string) map[string]bool {
	t.Helper()
	out := map[string]bool{}
	for _, d := range w.a.Directory.All() {
		gs, err := w.a.Authz.Grants(authz.Desk(d.Slug))
		if err != nil {
			t.Fatal(err)
		}
		for _, g := range gs {
			if g.Owner != authz.Desk(own) {
				out[g.Owner+" → "+g.Grantee+" "+string(g.Role)+" "+string(g.Permission)+" ("+g.Agreement+")"] = true
			}
		}
	}
	return out
}

// newForeign lists grants in now that were not in before.
func newForeign(before, now map[string]bool) []string {
	var out []string
	for g := range now {
		if !before[g] {
			out = append(out, g)
		}
	}
	return out
}

// TestNoRouteLetsADeskAdminGrantAnotherDesksData: Leuven's desk admin sends
// every state-changing route of the real router (each desk, each agreement:
// her own reciprocal proposal to Geel, Geel's proposal to Turnhout, the
// demo agreement), with a form that fills every field those routes read.
// After each, no grant on another desk's data exists that was not there
// before. The sign-in and sign-out routes are left out: they would end the
// session the walk needs, and write no policy.
func TestNoRouteLetsADeskAdminGrantAnotherDesksData(t *testing.T) {
	w := newDemoWorld(t)
	ctx := context.Background()
	admin := w.browsers[authz.DeskAdmin]
	geel, _ := w.a.Directory.BySlug("geel-laakdal-meerhout")
	geelAdmin := newDeskAdmin(t, w, "geel-laakdal-meerhout", "coordinator.geel@test.example")
	geelConsent, err := w.a.Access.AdminConsent(geelAdmin, geel.ID)
	if err != nil {
		t.Fatal(err)
	}
	toTurnhout, err := w.a.Access.Propose(ctx, geelConsent, access.NewAgreement{Receiving: "stadsregio-turnhout",
		Access: access.SharedWaitingList, StartsOn: "2026-01-01", Reciprocal: true})
	if err != nil {
		t.Fatal(err)
	}
	if r := admin.Post("/leuven/beheer/samenwerking", url.Values{"receiving": {"geel-laakdal-meerhout"},
		"access": {"shared_waiting_list"}, "starts_on": {"2026-01-01"}, "reciprocal": {"1"}}); r.Status != http.StatusSeeOther {
		t.Fatalf("propose: %d", r.Status)
	}
	var toGeel, demo access.Agreement
	as, _ := w.a.Access.Agreements(ctx, geel.ID)
	for _, a := range as {
		if a.ID != toTurnhout.ID {
			toGeel = a
		}
	}
	turnhout, _ := w.a.Directory.BySlug(DemoSharingFrom)
	if as, _ := w.a.Access.Agreements(ctx, turnhout.ID); len(as) > 0 {
		for _, a := range as {
			if a.Status == access.StatusActive {
				demo = a
			}
		}
	}
	req := submitAt(t, w.a, "geel-laakdal-meerhout",
		deskSub(t, w.a, "geel-laakdal-meerhout", "Route", "Kind", "route@ouders.example", locationIn(t, w.a, "geel-laakdal-meerhout", true)),
		requests.Actor{ID: "test", Kind: requests.ActorDesk})

	before := foreignGrants(t, w, "leuven")
	// The check can fail: a grant on Geel's data written behind the
	// service's back is seen.
	probe := authz.Grant{Owner: authz.Desk("geel-laakdal-meerhout"), Grantee: authz.Desk("leuven"), Role: authz.DeskWorker,
		Permission: authz.RequestsRead, Agreement: "probe"}
	if err := w.a.Authz.Grant(ctx, probe); err != nil {
		t.Fatal(err)
	}
	if len(newForeign(before, foreignGrants(t, w, "leuven"))) != 1 {
		t.Fatal("the check must see a grant on another desk's data")
	}
	if err := w.a.Authz.Revoke(ctx, "probe"); err != nil {
		t.Fatal(err)
	}

	values := map[string][]string{
		"tenant":    {"leuven", "geel-laakdal-meerhout", DemoSharingFrom},
		"agreement": {toGeel.ID.String(), toTurnhout.ID.String(), demo.ID.String()},
		"user":      {geelAdmin},
		"id":        {req.ID.String()},
		"request":   {req.ID.String()},
		"action":    {"notitie", "kwetsbaar"},
		"provider":  {w.values[Own]["provider"]},
		"location":  {w.values[Own]["location"]},
		"desk":      {"geel-laakdal-meerhout"},
		"slug":      {"geel-laakdal-meerhout"},
	}
	form := url.Values{"receiving": {"geel-laakdal-meerhout"}, "access": {"shared_waiting_list"}, "starts_on": {"2026-01-01"},
		"reciprocal": {"1"}, "role": {"desk_admin"}, "op": {"add"}, "email": {"walker@test.example"}, "display_name": {"Walker"},
		"body": {"Notitie"}, "vulnerable": {"1"}, "granting": {"geel-laakdal-meerhout"}, "owner": {"geel-laakdal-meerhout"}}
	sent := 0
	for _, r := range w.srv.App.GetRoutes(true) {
		if r.Method == http.MethodGet || r.Method == http.MethodHead || r.Method == http.MethodOptions ||
			strings.HasPrefix(r.Path, account.PathSignIn) || strings.HasPrefix(r.Path, account.PathSignOut) {
			continue
		}
		paths := []string{r.Path}
		for _, seg := range strings.Split(r.Path, "/") {
			if !strings.HasPrefix(seg, ":") {
				continue
			}
			vs := values[seg[1:]]
			if len(vs) == 0 {
				vs = []string{"1"}
			}
			var next []string
			for _, p := range paths {
				for _, v := range vs {
					next = append(next, strings.Replace(p, seg, v, 1))
				}
			}
			paths = next
		}
		for _, p := range paths {
			var res Resp
			if strings.HasPrefix(p, "/api/") {
				res = admin.Do(r.Method, p, `{"receiving":"geel-laakdal-meerhout","access":"shared_waiting_list","reciprocal":true}`)
			} else {
				res = admin.Post(p, form)
			}
			sent++
			if got := newForeign(before, foreignGrants(t, w, "leuven")); len(got) > 0 {
				t.Errorf("%s %s (%d) left grants on another desk's data: %v", r.Method, p, res.Status, got)
			}
		}
	}
	if sent < 30 {
		t.Errorf("only %d requests sent; the walk proves little", sent)
	}
	if r := admin.Get("/leuven/beheer/samenwerking"); r.Status != http.StatusOK {
		t.Errorf("the admin's session ended during the walk (%d): later routes proved nothing", r.Status)
	}
	for dom := range w.a.Authz.RolesFor(mustUserID(t, w.a, authz.DeskAdmin)) {
		if dom != authz.Desk("leuven") {
			t.Errorf("Leuven's admin gained a role in %s", dom)
		}
	}
	t.Logf("%d state-changing requests sent", sent)
}

// TestReconcileDropsGrantsWithoutConsent: an agreement from before consent
// (as the migration leaves it: active, the granting desk's consent only)
// with the reciprocal grants the old code wrote on the other desk's data:
// Reconcile keeps the granting side, drops the rest, logs the repair in
// both desks, and a second run changes nothing.
func TestReconcileDropsGrantsWithoutConsent(t *testing.T) {
	w := newDemoWorld(t)
	ctx := context.Background()
	leuven, _ := w.a.Directory.BySlug("leuven")
	geel, _ := w.a.Directory.BySlug("geel-laakdal-meerhout")
	if n, err := w.a.Access.Reconcile(ctx); err != nil || n != 0 {
		t.Fatalf("the seeded demo needs no repair: %d %v", n, err)
	}
	legacy := &access.Agreement{ID: access.AgreementID{UUID: uuid.New()}, GrantingTenantID: leuven.ID, ReceivingTenantID: geel.ID,
		Access: access.ReadRequestsInArea, StartsAt: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), Status: access.StatusActive,
		CreatedBy: "user:old-admin", CreatedAt: time.Now()}
	if _, err := w.a.DB.NewInsert().Model(legacy).Exec(ctx); err != nil {
		t.Fatal(err)
	}
	for _, pair := range [][2]string{{"leuven", "geel-laakdal-meerhout"}, {"geel-laakdal-meerhout", "leuven"}} {
		if err := w.a.Authz.Grant(ctx, authz.Grant{Owner: authz.Desk(pair[0]), Grantee: authz.Desk(pair[1]), Role: authz.DeskWorker,
			Permission: authz.RequestsRead, From: legacy.StartsAt, Agreement: legacy.ID.String()}); err != nil {
			t.Fatal(err)
		}
	}
	kempen, leuvenWorker := mustUserIDEmail(t, w.a, "medewerker.kempen@demo.loket.example"), mustUserID(t, w.a, authz.DeskWorker)
	if ok, _ := w.a.Authz.Allowed(leuvenWorker, authz.Desk("geel-laakdal-meerhout"), authz.RequestsRead); !ok {
		t.Fatal("setup: the old reciprocal grant must work before the repair")
	}
	if n, err := w.a.Access.Reconcile(ctx); err != nil || n != 1 {
		t.Fatalf("repair: %d %v", n, err)
	}
	if ok, _ := w.a.Authz.Allowed(leuvenWorker, authz.Desk("geel-laakdal-meerhout"), authz.RequestsRead); ok {
		t.Error("the grant on Geel's data without Geel's consent must be gone")
	}
	if ok, _ := w.a.Authz.Allowed(kempen, authz.Desk("leuven"), authz.RequestsRead); !ok {
		t.Error("Leuven's own grant to Geel must stay")
	}
	for _, d := range []string{"leuven", "geel-laakdal-meerhout"} {
		if n := countEvents(t, w.a, d, "sharing.repaired", legacy.ID.UUID); n != 1 {
			t.Errorf("%s: %d sharing.repaired events, want 1", d, n)
		}
	}
	if n, err := w.a.Access.Reconcile(ctx); err != nil || n != 0 {
		t.Errorf("a second run must change nothing: %d %v", n, err)
	}
}

// TestConsentOnlyFromAnAdminOfTheDeskItself: an agreement that lets
// Leuven's admin work on Geel's list gives her no consent for Geel, and the
// demo accounts without desk_admin give none for their own desk either.
func TestConsentOnlyFromAnAdminOfTheDeskItself(t *testing.T) {
	w := newDemoWorld(t)
	ctx := context.Background()
	geel, _ := w.a.Directory.BySlug("geel-laakdal-meerhout")
	leuven, _ := w.a.Directory.BySlug("leuven")
	if _, err := w.a.Access.SeedAgreement(ctx, geel.ID, access.NewAgreement{Receiving: "leuven", Access: access.SharedWaitingList,
		StartsOn: "2026-01-01"}, "test:geel", "test:leuven"); err != nil {
		t.Fatal(err)
	}
	admin := mustUserID(t, w.a, authz.DeskAdmin)
	if ok, _ := w.a.Authz.Allowed(admin, authz.Desk("geel-laakdal-meerhout"), authz.RequestsWrite); !ok {
		t.Fatal("setup: Leuven's admin works on Geel's shared list")
	}
	if _, err := w.a.Access.AdminConsent(admin, geel.ID); !errors.Is(err, access.ErrNoConsent) {
		t.Errorf("Leuven's admin consented for Geel: %v", err)
	}
	if c, err := w.a.Access.AdminConsent(admin, leuven.ID); err != nil || c.Desk().ID != leuven.ID {
		t.Errorf("Leuven's admin for Leuven: %v", err)
	}
	for _, role := range []authz.Role{authz.DeskWorker, authz.Partner, authz.Operator, authz.RegionalCoordinator} {
		if _, err := w.a.Access.AdminConsent(mustUserID(t, w.a, role), leuven.ID); !errors.Is(err, access.ErrNoConsent) {
			t.Errorf("%s consented for Leuven: %v", role, err)
		}
	}
}
