package app

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/loket-kinderopvang/loket/internal/account"
	"github.com/loket-kinderopvang/loket/internal/platform/authz"
	"github.com/loket-kinderopvang/loket/internal/platform/dbtest"
	"github.com/loket-kinderopvang/loket/internal/platform/web/webtest"
	"github.com/loket-kinderopvang/loket/internal/requests"
)

// TestNULIsABadRequest (issue 13, point 10): a NUL character in a query, the
// sign-in e-mail, a form field or a JSON string is refused with 400 and a
// message (HTML in the visitor's language, or problem+json), never a 500
// from the database.
func TestNULIsABadRequest(t *testing.T) {
	dbtest.EachTarget(t, func(t *testing.T, tg dbtest.Target) {
		a, srv := newApp(t, tg)
		_, leuven := availLocations(t, a.Catalog)
		b := NewBrowser(t, srv.App)
		html := func(name string, r Resp) {
			t.Helper()
			if r.Status != http.StatusBadRequest || !strings.Contains(r.Body, "onzichtbaar teken (NUL)") {
				t.Errorf("%s: %d, want 400 with the Dutch message\n%.400s", name, r.Status, r.Body)
			}
		}
		html("search query", b.Get("/leuven/opvang?q=opvang%00x"))
		html("sign-in e-mail", b.Post(account.PathSignIn, url.Values{"email": {"an\x00@ouders.example"}, "password": {"geheim-wachtwoord"}}))
		html("request form field", b.Post("/leuven/aanvragen", url.Values{"step": {"1"}, "action": {"next"}, "child.first_name": {"Mi\x00la"}}))
		body := strings.Replace(submissionJSON(t, leuven.String()), `"first_name":"Noor"`, `"first_name":"No\u0000or"`, 1)
		for name, r := range map[string]webtest.Response{
			"JSON string": webtest.Do(t, srv.App, "POST", "/api/v1/tenants/leuven/requests", body, "Content-Type", "application/json"),
			"API query":   webtest.Do(t, srv.App, "GET", "/api/v1/locations?q=a%00b", ""),
			"API header": webtest.Do(t, srv.App, "POST", "/api/v1/tenants/leuven/requests", submissionJSON(t, leuven.String()),
				"Content-Type", "application/json", "Idempotency-Key", "k\x00"),
		} {
			if r.Status != http.StatusBadRequest || !strings.Contains(r.Header.Get("Content-Type"), "problem+json") || !strings.Contains(r.Body, "NUL") {
				t.Errorf("%s: %d %s, want a 400 problem document", name, r.Status, r.Body)
			}
		}
		// An escaped backslash before "u0000" is plain text, not a NUL.
		plain := strings.Replace(submissionJSON(t, leuven.String()), `"neighbourhood":""`, `"neighbourhood":"\\u0000"`, 1)
		if r := webtest.Do(t, srv.App, "POST", "/api/v1/tenants/leuven/requests", plain, "Content-Type", "application/json"); r.Status != 422 {
			t.Errorf("a backslash and u0000 as text: %d %s, want 422 (an unknown neighbourhood)", r.Status, r.Body)
		}
	})
}

// TestNamesRefuseLineBreaks (issue 13, point 10): a line break in a name
// (which goes into mail headers and silently dropped the family's mail) is
// refused: a field error in the parent form, a field path in the API's
// problem document. Nothing is stored.
func TestNamesRefuseLineBreaks(t *testing.T) {
	dbtest.EachTarget(t, func(t *testing.T, tg dbtest.Target) {
		a, srv := newApp(t, tg)
		_, leuven := availLocations(t, a.Catalog)
		for field, repl := range map[string][2]string{
			"child.first_name":      {`"first_name":"Noor"`, `"first_name":"Noor\r\nBcc: spam@example.org"`},
			"parents[0].last_name":  {`"last_name":"Testouder"`, `"last_name":"Test\nouder"`},
			"parents[0].first_name": {`"first_name":"An"`, `"first_name":"An\u2028"`},
		} {
			body := strings.Replace(submissionJSON(t, leuven.String()), repl[0], repl[1], 1)
			r := webtest.Do(t, srv.App, "POST", "/api/v1/tenants/leuven/requests", body, "Content-Type", "application/json")
			if r.Status != 422 || !strings.Contains(r.Body, `"field":"`+field+`"`) {
				t.Errorf("%s with a line break: %d %s", field, r.Status, r.Body)
			}
		}
		b := NewBrowser(t, srv.App)
		page := b.Get("/leuven/aanvragen")
		fields := parentSteps(nil)[0]
		fields.Set("child.first_name", "Mila\r\nTo: iemand@example.org")
		got := step(b, page, "/leuven/aanvragen", fields, "next")
		if got.Status != 422 || !strings.Contains(errorSummary(got.Body), "Gebruik hier geen regeleinde") {
			t.Errorf("form: %d %s", got.Status, errorSummary(got.Body))
		}
		if n, _ := tg.Owner(t).NewSelect().Table("requests").Count(t.Context()); n != 0 {
			t.Errorf("%d requests stored", n)
		}
	})
}

// TestDeskNotesHaveALimit (issue 13, point 10): a desk note is at most
// requests.MaxDeskNote characters; a longer one gets a field error.
func TestDeskNotesHaveALimit(t *testing.T) {
	w := newDemoWorld(t)
	desk := requests.Actor{ID: "test", Kind: requests.ActorDesk}
	r := submitAt(t, w.a, "leuven", deskSub(t, w.a, "leuven", "Noa", "Notitiemans", "noa@ouders.example", w.values[Own]["location"]), desk)
	worker := w.browsers[authz.DeskWorker]
	path := "/leuven/loket/aanvragen/" + r.ID.String() + "/notitie"
	if res := worker.Post(path, url.Values{"body": {strings.Repeat("é", 4001)}}); res.Status != 422 || !strings.Contains(res.Body, "hoogstens 4000 tekens") {
		t.Errorf("a note of 4001 characters: %d", res.Status)
	}
	if res := worker.Post(path, url.Values{"body": {strings.Repeat("é", 4000)}}); res.Status != http.StatusSeeOther {
		t.Errorf("a note of 4000 characters: %d", res.Status)
	}
	cs, err := w.a.Requests.Case(deskCtx(t, w.a, "leuven"), r.ID)
	if err != nil || len(cs.Notes) != 1 {
		t.Errorf("%d notes stored (%v), want 1", len(cs.Notes), err)
	}
}
