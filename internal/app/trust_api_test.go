package app

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/loket-kinderopvang/loket/internal/access"
	"github.com/loket-kinderopvang/loket/internal/platform/db"
	"github.com/loket-kinderopvang/loket/internal/platform/dbtest"
	"github.com/loket-kinderopvang/loket/internal/platform/web/webtest"
	"github.com/loket-kinderopvang/loket/internal/requests"
)

// TestIdempotencyKeyIsNoPassword (issue 13, point 2): a key an earlier
// client used opens nothing. The same key with an empty or another body is
// refused (422) without any data of the first request; the same key and body
// replay the first answer; the same key from another caller (an API key) is
// another key.
func TestIdempotencyKeyIsNoPassword(t *testing.T) {
	dbtest.EachTarget(t, func(t *testing.T, tg dbtest.Target) {
		a, srv := newApp(t, tg)
		_, leuven := availLocations(t, a.Catalog)
		body := submissionJSON(t, leuven.String())
		post := func(body string, headers ...string) webtest.Response {
			return webtest.Do(t, srv.App, "POST", "/api/v1/tenants/leuven/requests", body,
				append([]string{"Content-Type", "application/json", "Idempotency-Key", "shared-key"}, headers...)...)
		}
		first := post(body)
		if first.Status != 201 {
			t.Fatalf("first: %d %s", first.Status, first.Body)
		}
		var created requests.SubmitResponse
		if err := json.Unmarshal([]byte(first.Body), &created); err != nil {
			t.Fatal(err)
		}
		leaks := func(res webtest.Response) bool {
			return strings.Contains(res.Body, created.ID) || strings.Contains(res.Body, "/aanvraag/") || res.Header.Get("Location") != ""
		}
		for name, other := range map[string]string{
			"empty body":   `{}`,
			"another body": strings.Replace(body, `"first_name":"Noor"`, `"first_name":"Lotte"`, 1),
		} {
			res := post(other)
			if res.Status != 422 || !strings.Contains(res.Header.Get("Content-Type"), "problem+json") || leaks(res) {
				t.Errorf("%s with a used key: %d %s (Location %q); want 422 without the first request", name, res.Status, res.Body, res.Header.Get("Location"))
			}
			if !strings.Contains(res.Body, `"field":"Idempotency-Key"`) {
				t.Errorf("%s: the problem does not name the key: %s", name, res.Body)
			}
		}
		// The same body again (a retry) replays the first answer; JSON
		// whitespace does not count.
		again := post(strings.ReplaceAll(body, "\n\t\t", " "))
		if again.Status != 201 || !strings.Contains(again.Body, created.ID) || again.Header.Get("Idempotent-Replayed") != "true" {
			t.Errorf("retry: %d %s", again.Status, again.Body)
		}

		// The key is bound to its caller: an API key using the same text
		// registers its own request.
		loc, err := a.Catalog.Get(context.Background(), leuven, "")
		if err != nil {
			t.Fatal(err)
		}
		_, token, err := a.Access.CreateKey(context.Background(), access.NewKey{Provider: loc.ProviderID, Name: "Eigen systeem", Actor: "test"})
		if err != nil {
			t.Fatal(err)
		}
		keyed := post(body, "Authorization", "Bearer "+token)
		if keyed.Status != 201 || strings.Contains(keyed.Body, created.ID) || keyed.Header.Get("Idempotent-Replayed") != "" {
			t.Errorf("same key from an API key: %d %s; want a request of its own", keyed.Status, keyed.Body)
		}
		if res := post(body, "Authorization", "Bearer lk_not-a-key"); res.Status != http.StatusUnauthorized {
			t.Errorf("a wrong API key: %d, want 401", res.Status)
		}
		if n, err := tg.Owner(t).NewSelect().Table("requests").Count(context.Background()); err != nil || n != 2 {
			t.Errorf("%d requests stored (%v), want 2", n, err)
		}
	})
}

// TestAnonymousRegistrationsAreLimited (issue 13, point 10): one address
// may register a limited number of requests without an API key, through the
// API or the parent form; then it gets 429 with a clear message (problem+json,
// or the form in the visitor's language). An API key is not limited.
func TestAnonymousRegistrationsAreLimited(t *testing.T) {
	a, srv := newApp(t, dbtest.NewTarget(t, db.SQLite))
	_, leuven := availLocations(t, a.Catalog)
	locs := parentLocations(t, a.Catalog, 1)
	body := submissionJSON(t, leuven.String())
	post := func(headers ...string) webtest.Response {
		return webtest.Do(t, srv.App, "POST", "/api/v1/tenants/leuven/requests", body, append([]string{"Content-Type", "application/json"}, headers...)...)
	}
	for i := range requests.AnonymousRegistrations {
		if res := post(); res.Status != 201 {
			t.Fatalf("registration %d: %d %s", i+1, res.Status, res.Body)
		}
	}
	res := post()
	if res.Status != 429 || !strings.Contains(res.Header.Get("Content-Type"), "problem+json") || res.Header.Get("Retry-After") == "" ||
		!strings.Contains(res.Body, "too many registrations") {
		t.Errorf("one registration too many: %d %q %s", res.Status, res.Header.Get("Retry-After"), res.Body)
	}
	// The parent form from the same address.
	b := NewBrowser(t, srv.App)
	page := b.Get("/leuven/aanvragen")
	for _, fields := range parentSteps(locs) {
		page = step(b, page, "/leuven/aanvragen", fields, "next")
	}
	done := step(b, page, "/leuven/aanvragen", nil, "submit")
	if done.Status != 429 || !strings.Contains(done.Body, "Vanaf dit internetadres zijn al veel aanvragen verstuurd") {
		t.Errorf("form: %d %s", done.Status, errorSummary(done.Body))
	}
	// A partner's system with an API key is known: no limit.
	loc, err := a.Catalog.Get(context.Background(), leuven, "")
	if err != nil {
		t.Fatal(err)
	}
	_, token, err := a.Access.CreateKey(context.Background(), access.NewKey{Provider: loc.ProviderID, Name: "Eigen systeem", Actor: "test"})
	if err != nil {
		t.Fatal(err)
	}
	if res := post("Authorization", "Bearer "+token); res.Status != 201 {
		t.Errorf("with an API key: %d %s", res.Status, res.Body)
	}
}
