package app

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"html"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/google/uuid"

	"github.com/loket-kinderopvang/loket/internal/catalog"
	"github.com/loket-kinderopvang/loket/internal/platform/authz"
	"github.com/loket-kinderopvang/loket/internal/platform/dbtest"
	"github.com/loket-kinderopvang/loket/internal/platform/tenancy"
	"github.com/loket-kinderopvang/loket/internal/requests"
)

var secretRE = regexp.MustCompile(`<code id="new-secret">(whsec_[^<]+)</code>`)

// TestWebhooksEndToEnd: a provider admin registers an endpoint on her page
// and sees its secret once; a family's request for one of her locations and
// its withdrawal reach her system, signed (checked with the Standard
// Webhooks algorithm); the log shows the answers and "send again" sends
// once more; the API lists the endpoint and refuses a bad one with
// problem+json.
func TestWebhooksEndToEnd(t *testing.T) {
	dbtest.EachTarget(t, func(t *testing.T, tg dbtest.Target) {
		w := newDemoWorld(t, tg)
		ctx := context.Background()
		var mu sync.Mutex
		var got []string
		var secret string
		srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
			body, _ := io.ReadAll(r.Body)
			key, _ := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
			mac := hmac.New(sha256.New, key)
			mac.Write([]byte(r.Header.Get("webhook-id") + "." + r.Header.Get("webhook-timestamp") + "." + string(body)))
			if r.Header.Get("webhook-signature") != "v1,"+base64.StdEncoding.EncodeToString(mac.Sum(nil)) {
				http.Error(rw, "bad signature", http.StatusUnauthorized)
				return
			}
			var p struct {
				Type string `json:"type"`
				Data struct {
					RequestID string `json:"request_id"`
				} `json:"data"`
			}
			_ = json.Unmarshal(body, &p)
			mu.Lock()
			got = append(got, p.Type+" "+p.Data.RequestID)
			mu.Unlock()
			rw.WriteHeader(http.StatusNoContent)
		}))
		defer srv.Close()
		received := func() []string { mu.Lock(); defer mu.Unlock(); return append([]string(nil), got...) }

		admin := w.browsers[authz.ProviderAdmin]
		own := w.values[Own]
		base := "/aanbieder/" + own["provider"] + "/webhooks"
		if r := admin.Get("/werk"); !strings.Contains(r.Body, `href="`+base+`"`) {
			t.Errorf("/werk must link the provider's webhook page")
		}
		r := admin.Post(base, url.Values{"url": {srv.URL + "/loket"}, "events": {"request.created", "request.withdrawn"}})
		m := secretRE.FindStringSubmatch(r.Body)
		if r.Status != http.StatusCreated || m == nil {
			t.Fatalf("register: %d", r.Status)
		}
		secret = html.UnescapeString(m[1])
		if again := admin.Get(base); strings.Contains(again.Body, m[1]) || !strings.Contains(again.Body, srv.URL) {
			t.Error("the secret must be shown only once, the endpoint listed")
		}
		if bad := admin.Post(base, url.Values{"url": {"ftp://opvang.example"}, "events": {"request.created"}}); bad.Status != http.StatusUnprocessableEntity ||
			!strings.Contains(bad.Body, "https://") {
			t.Errorf("a bad URL must be refused at the field: %d", bad.Status)
		}
		// A name that does not exist says so, not "give a full address".
		if bad := admin.Post(base, url.Values{"url": {"https://planning.opvang.invalid/h"}, "events": {"request.created"}}); bad.Status != http.StatusUnprocessableEntity ||
			!strings.Contains(bad.Body, "Dit adres bestaat niet") || strings.Contains(bad.Body, "Geef een volledig adres") {
			t.Errorf("an unknown host name must be refused as such at the field: %d", bad.Status)
		} else if !strings.Contains(bad.Body, `value="request.created" checked`) || strings.Contains(bad.Body, `value="offer.accepted" checked`) ||
			!strings.Contains(bad.Body, `value="https://planning.opvang.invalid/h"`) {
			t.Error("a refused form must keep the address and exactly the events that were ticked")
		}

		lid, _ := catalog.ParseLocationID(own["location"])
		req, _ := submitParent(t, w.a, "Webhookje", lid)
		if n, err := w.a.WebhookRelay.Deliver(ctx); err != nil || n != 1 {
			eps, _ := w.a.Webhooks.Endpoints(ctx, mustProvider(t, own["provider"]))
			for _, e := range eps {
				ds, err := w.a.Webhooks.Deliveries(ctx, e.ProviderID, e.ID, 10)
				t.Logf("endpoint %+v: %+v %v", e, ds, err)
			}
			t.Fatalf("deliver the new request: %d, %v", n, err)
		}
		desk := tenancy.WithTenant(ctx, leuvenID(t, w.a))
		if err := w.a.Requests.Withdraw(desk, req.ID, "verhuisd", requests.Actor{Kind: requests.ActorParent}); err != nil {
			t.Fatal(err)
		}
		if n, err := w.a.WebhookRelay.Deliver(ctx); err != nil || n != 1 {
			t.Fatalf("deliver the withdrawal: %d, %v", n, err)
		}
		want := []string{"request.created " + req.ID.String(), "request.withdrawn " + req.ID.String()}
		if g := received(); strings.Join(g, "|") != strings.Join(want, "|") {
			t.Fatalf("received %v, want %v", g, want)
		}

		// The log and "send again".
		eps, err := w.a.Webhooks.Endpoints(ctx, mustProvider(t, own["provider"]))
		if err != nil || len(eps) != 1 {
			t.Fatalf("endpoints: %v %d", err, len(eps))
		}
		logPage := admin.Get(base + "/" + eps[0].ID.String())
		if logPage.Status != http.StatusOK || !strings.Contains(logPage.Body, "<td>204</td>") {
			t.Fatalf("the log must show the answers: %d", logPage.Status)
		}
		ds, _ := w.a.Webhooks.Deliveries(ctx, eps[0].ProviderID, eps[0].ID, 10)
		if r := admin.Post(base+"/"+eps[0].ID.String()+"/opnieuw/"+ds[0].ID.String(), nil); r.Status != http.StatusSeeOther {
			t.Fatalf("send again: %d", r.Status)
		}
		if n, err := w.a.WebhookRelay.Deliver(ctx); err != nil || n != 1 || len(received()) != 3 {
			t.Fatalf("sent again: %d, %v, %v", n, err, received())
		}

		// The API.
		api := admin.Get("/api/v1/providers/" + own["provider"] + "/webhooks")
		if api.Status != http.StatusOK || !strings.Contains(api.Body, srv.URL) || strings.Contains(api.Body, secret) {
			t.Errorf("API list: %d %s", api.Status, api.Body)
		}
		// A provider's system registers its own endpoint with its key.
		byKey := NewBrowser(t, w.srv.App).Do(http.MethodPost, "/api/v1/providers/"+own["provider"]+"/webhooks",
			`{"url":"`+srv.URL+`/tweede","events":["offer.accepted"]}`, "Authorization", "Bearer "+DemoAPIKey())
		if byKey.Status != http.StatusCreated || !strings.Contains(byKey.Body, `"secret":"whsec_`) {
			t.Errorf("register with the provider's key: %d %s", byKey.Status, byKey.Body)
		}
		bad := admin.Do(http.MethodPost, "/api/v1/providers/"+own["provider"]+"/webhooks", `{"url":"http://opvang.example/h","events":["onbekend"]}`)
		if bad.Status != http.StatusUnprocessableEntity || bad.Header.Get("Content-Type") != "application/problem+json" || !strings.Contains(bad.Body, `"events"`) {
			t.Errorf("API bad endpoint: %d %s", bad.Status, bad.Body)
		}
	})
}

func mustProvider(t *testing.T, s string) uuid.UUID {
	t.Helper()
	p, err := catalog.ParseProviderID(s)
	if err != nil {
		t.Fatal(err)
	}
	return p.UUID
}
