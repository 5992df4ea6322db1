package app

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

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
