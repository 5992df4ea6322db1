package app

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/loket-kinderopvang/loket/internal/mail"
	"github.com/loket-kinderopvang/loket/internal/platform/authz"
	"github.com/loket-kinderopvang/loket/internal/platform/dbtest"
	"github.com/loket-kinderopvang/loket/internal/platform/web/webtest"
	"github.com/loket-kinderopvang/loket/internal/requests"
)

var mailedLinkRE = regexp.MustCompile(`http://localhost(/leuven/aanvraag/[A-Za-z0-9_.-]+)`)

// lastLink is the status link in the newest mail of kind to address.
func lastLink(t *testing.T, a *App, to, kind string) string {
	t.Helper()
	ms, err := a.Mail.(*mail.Outbox).List(context.Background(), to, 20)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range ms {
		if m.Kind == kind {
			if l := mailedLinkRE.FindStringSubmatch(m.Text); l != nil {
				return l[1]
			}
		}
	}
	t.Fatalf("no %s mail with a link to %s", kind, to)
	return ""
}

// TestParentAsksForANewStatusLink (issue 13, point 8): a parent who lost her
// link enters her e-mail address and gets a new one by mail; the answer is
// the same for an unknown address. On the status page she can ask for a new
// link too: it goes to her mailbox, never onto the page, and the old one
// stops working.
func TestParentAsksForANewStatusLink(t *testing.T) {
	dbtest.EachTarget(t, func(t *testing.T, tg dbtest.Target) {
		a, srv := newApp(t, tg)
		_, leuven := availLocations(t, a.Catalog)
		res := webtest.Do(t, srv.App, "POST", "/api/v1/tenants/leuven/requests", submissionJSON(t, leuven.String()), "Content-Type", "application/json")
		var created requests.SubmitResponse
		if res.Status != 201 || json.Unmarshal([]byte(res.Body), &created) != nil {
			t.Fatalf("register: %d %s", res.Status, res.Body)
		}
		first := strings.TrimPrefix(created.StatusURL, "http://localhost")
		b := NewBrowser(t, srv.App)
		if r := b.Get("/leuven/aanvraag/nieuwe-link"); r.Status != 200 || !strings.Contains(r.Body, `id="f-newlink-email"`) {
			t.Fatalf("form: %d", r.Status)
		}
		sent := "Als we een aanvraag met dit e-mailadres kennen"
		unknown := b.Post("/leuven/aanvraag/nieuwe-link", url.Values{"email": {"niemand@ouders.example"}})
		known := b.Post("/leuven/aanvraag/nieuwe-link", url.Values{"email": {"AN@ouders.example"}})
		if unknown.Status != 200 || known.Status != 200 || !strings.Contains(unknown.Body, sent) || !strings.Contains(known.Body, sent) {
			t.Fatalf("answers: unknown %d, known %d", unknown.Status, known.Status)
		}
		if bad := b.Post("/leuven/aanvraag/nieuwe-link", url.Values{"email": {"geen adres"}}); bad.Status != 422 || !strings.Contains(bad.Body, "Dit is geen e-mailadres.") {
			t.Errorf("not an address: %d", bad.Status)
		}
		if r := b.Get(first); r.Status != 404 {
			t.Errorf("the old link after a new one was mailed: %d", r.Status)
		}
		second := lastLink(t, a, "an@ouders.example", "request.status_link")
		if r := b.Get(second); r.Status != 200 || !strings.Contains(r.Body, `id="newlink-renew"`) {
			t.Fatalf("the mailed link: %d", r.Status)
		}
		// From the status page: the new link is mailed, not shown.
		r := b.Post(second+"/nieuwe-link", url.Values{})
		if r.Status != http.StatusSeeOther || r.Header.Get("Location") != "/leuven/aanvraag/nieuwe-link?verstuurd=1" {
			t.Fatalf("renew: %d %s", r.Status, r.Header.Get("Location"))
		}
		if r := b.Get(second); r.Status != 404 {
			t.Errorf("the link the new one replaced: %d", r.Status)
		}
		third := lastLink(t, a, "an@ouders.example", "request.status_link")
		if third == second || b.Get(third).Status != 200 {
			t.Errorf("the newest mailed link does not work")
		}
	})
}

// TestDeskRevokesStatusLinks (issue 13, point 8): desk staff revoke a
// family's links on the request page; the old link stops working, the event
// log says who did it, and the family gets a new link by mail.
func TestDeskRevokesStatusLinks(t *testing.T) {
	w := newDemoWorld(t)
	r := submitAt(t, w.a, "leuven", deskSub(t, w.a, "leuven", "Lien", "Linkmans", "lien@ouders.example", w.values[Own]["location"]),
		requests.Actor{ID: "test", Kind: requests.ActorDesk})
	ctx := deskCtx(t, w.a, "leuven")
	old := strings.TrimPrefix(w.a.Requests.StatusURL("leuven", r), "http://localhost")
	anon := NewBrowser(t, w.srv.App)
	if res := anon.Get(old); res.Status != 200 {
		t.Fatalf("the link before: %d", res.Status)
	}
	worker := w.browsers[authz.DeskWorker]
	page := worker.Get("/leuven/loket/aanvragen/" + r.ID.String())
	if !strings.Contains(page.Body, `id="links-revoke"`) {
		t.Fatal("the request page has no revoke button")
	}
	res := worker.Post("/leuven/loket/aanvragen/"+r.ID.String()+"/links-intrekken", url.Values{"mail": {"1"}})
	if res.Status != http.StatusSeeOther {
		t.Fatalf("revoke: %d", res.Status)
	}
	if res := anon.Get(old); res.Status != 404 {
		t.Errorf("the revoked link: %d", res.Status)
	}
	if res := anon.Get(lastLink(t, w.a, "lien@ouders.example", "request.status_link")); res.Status != 200 {
		t.Errorf("the mailed new link: %d", res.Status)
	}
	cs, err := w.a.Requests.Case(ctx, r.ID)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, e := range cs.History {
		found = found || (e.Kind == "request.status_link_revoked" && e.Actor == "desk:"+mustUserID(t, w.a, authz.DeskWorker))
	}
	if !found {
		t.Errorf("no revocation by the worker in the event log: %+v", cs.History)
	}
}
