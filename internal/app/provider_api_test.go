package app

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/loket-kinderopvang/loket/internal/catalog"
	"github.com/loket-kinderopvang/loket/internal/eventlog"
	"github.com/loket-kinderopvang/loket/internal/platform/dbtest"
	"github.com/loket-kinderopvang/loket/internal/platform/page"
	"github.com/loket-kinderopvang/loket/internal/requests"
)

// apiList GETs a provider list page and decodes its envelope.
func apiList[T any](t *testing.T, api *Browser, path string) (page.Envelope[T], Resp) {
	t.Helper()
	res := api.Do(http.MethodGet, path, nil, "Authorization", "Bearer "+DemoAPIKey())
	var env page.Envelope[T]
	if res.Status == http.StatusOK {
		if err := json.Unmarshal([]byte(res.Body), &env); err != nil {
			t.Fatalf("%s: %v %s", path, err, res.Body)
		}
	}
	return env, res
}

// TestProviderAPIInboxPagesAndUpdatedSince: the API inbox comes in pages
// ordered by when each item changed; following next_cursor (or the Link
// header) gives every item once; updated_since leaves out what did not
// change since; a bad cursor, limit or date is a 400 problem at its field.
func TestProviderAPIInboxPagesAndUpdatedSince(t *testing.T) {
	dbtest.EachTarget(t, func(t *testing.T, tg dbtest.Target) {
		w := newDemoWorld(t, tg)
		own := w.values[Own]
		lid, _ := catalog.ParseLocationID(own["location"])
		want := map[string]bool{}
		for _, name := range []string{"Pagina", "Cursor", "Volgende"} {
			r, _ := submitParent(t, w.a, name, lid)
			want[r.ID.String()] = true
		}
		api := NewBrowser(t, w.srv.App)
		base := "/api/v1/providers/" + own["provider"] + "/inbox"
		seen := map[string]bool{}
		path := base + "?limit=2"
		var last time.Time
		for pages := 0; path != ""; pages++ {
			if pages > 20 {
				t.Fatal("the cursor never ends")
			}
			env, res := apiList[requests.InboxEntry](t, api, path)
			if res.Status != http.StatusOK || len(env.Items) > 2 {
				t.Fatalf("%s: %d %s", path, res.Status, res.Body)
			}
			for _, e := range env.Items {
				if seen[e.RequestID+fmt.Sprint(e.Rank)] || e.UpdatedAt.Before(last) {
					t.Fatalf("item %s twice or out of order", e.RequestID)
				}
				seen[e.RequestID+fmt.Sprint(e.Rank)], last = true, e.UpdatedAt
				delete(want, e.RequestID)
			}
			path = ""
			if env.NextCursor != nil {
				link := res.Header.Get("Link")
				if !strings.Contains(link, url.QueryEscape(*env.NextCursor)) && !strings.Contains(link, *env.NextCursor) {
					t.Errorf("Link %q lacks the cursor", link)
				}
				path = base + "?limit=2&cursor=" + url.QueryEscape(*env.NextCursor)
			}
		}
		if len(want) != 0 || len(seen) < 3 {
			t.Fatalf("requests not in the inbox: %v (seen %d)", want, len(seen))
		}
		since := url.QueryEscape(last.Add(time.Second).Format(time.RFC3339))
		if env, res := apiList[requests.InboxEntry](t, api, base+"?updated_since="+since); res.Status != 200 || len(env.Items) != 0 {
			t.Errorf("nothing changed since the last item: %d %d", res.Status, len(env.Items))
		}
		since = url.QueryEscape(last.Add(-time.Hour).Format(time.RFC3339))
		if env, res := apiList[requests.InboxEntry](t, api, base+"?updated_since="+since); res.Status != 200 || len(env.Items) < 3 {
			t.Errorf("everything changed in the last hour: %d %d", res.Status, len(env.Items))
		}
		for q, field := range map[string]string{"limit=0": "limit", "limit=500": "limit", "cursor=xyz": "cursor",
			"cursor=" + page.Encode(page.Key{"x"}): "cursor", "updated_since=gisteren": "updated_since"} {
			_, res := apiList[requests.InboxEntry](t, api, base+"?"+q)
			if res.Status != http.StatusBadRequest || !strings.Contains(res.Header.Get("Content-Type"), "problem+json") ||
				!strings.Contains(res.Body, `"field":"`+field+`"`) {
				t.Errorf("%s: %d %s", q, res.Status, res.Body)
			}
		}
	})
}

// TestProviderAPIOffersPlacementsWithdrawals: the provider's system reads
// its offers with their outcome, its placements (start date and days) and
// the withdrawn requests for its locations; each read is a look in the
// family's access log, like the inbox; another provider's lists are 404.
func TestProviderAPIOffersPlacementsWithdrawals(t *testing.T) {
	dbtest.EachTarget(t, func(t *testing.T, tg dbtest.Target) {
		w := newDemoWorld(t, tg)
		own := w.values[Own]
		lid, _ := catalog.ParseLocationID(own["location"])
		ctx := deskCtx(t, w.a, "leuven")
		placed, _ := submitParent(t, w.a, "Geplaatst", lid)
		gone, _ := submitParent(t, w.a, "Ingetrokken", lid)
		month := placed.DesiredStart.Format("2006-01")
		for _, band := range catalog.AgeBands {
			if err := w.a.Catalog.SetAvailability(context.Background(), "test", catalog.AvailabilityChange{LocationID: lid,
				StartMonth: month, AgeBand: band, FreePlaces: 2}); err != nil {
				t.Fatal(err)
			}
		}
		api := NewBrowser(t, w.srv.App)
		offer := fmt.Sprintf(`{"desk":"leuven","request_id":%q,"rank":1,"kind":"offer","offer_start":%q,"offer_days":["mon","tue"]}`,
			placed.ID, placed.DesiredStart.Format("2006-01-02"))
		if r := api.Do(http.MethodPost, "/api/v1/providers/"+own["provider"]+"/answers", offer, "Authorization", "Bearer "+DemoAPIKey(),
			"Content-Type", "application/json"); r.Status != http.StatusNoContent {
			t.Fatalf("offer: %d %s", r.Status, r.Body)
		}
		base := "/api/v1/providers/" + own["provider"]
		offers, res := apiList[requests.OfferEntry](t, api, base+"/offers")
		if res.Status != 200 || len(offers.Items) != 1 || offers.Items[0].Outcome != "offered" || offers.Items[0].OfferedAt == nil ||
			offers.Items[0].OfferDeadline == nil || offers.Items[0].RequestID != placed.ID.String() {
			t.Fatalf("offers: %d %s", res.Status, res.Body)
		}
		if err := w.a.Requests.Accept(ctx, placed.ID, 1, requests.Actor{Kind: requests.ActorParent}); err != nil {
			t.Fatal(err)
		}
		if err := w.a.Requests.Withdraw(ctx, gone.ID, "verhuisd", requests.Actor{Kind: requests.ActorParent}); err != nil {
			t.Fatal(err)
		}
		offers, _ = apiList[requests.OfferEntry](t, api, base+"/offers")
		if len(offers.Items) != 1 || offers.Items[0].Outcome != "accepted" || offers.Items[0].RespondedAt == nil {
			t.Errorf("the offer's outcome: %+v", offers.Items)
		}
		placements, res := apiList[requests.PlacementEntry](t, api, base+"/placements")
		if res.Status != 200 || len(placements.Items) != 1 || placements.Items[0].StartDate != placed.DesiredStart.Format("2006-01-02") ||
			strings.Join(placements.Items[0].Days, ",") != "mon,tue" || placements.Items[0].AcceptedAt == nil {
			t.Errorf("placements: %d %s", res.Status, res.Body)
		}
		withdrawals, res := apiList[requests.WithdrawalEntry](t, api, base+"/withdrawals")
		if res.Status != 200 || len(withdrawals.Items) != 1 || withdrawals.Items[0].RequestID != gone.ID.String() || withdrawals.Items[0].WithdrawnAt == nil {
			t.Errorf("withdrawals: %d %s", res.Status, res.Body)
		}
		if strings.Contains(res.Body, "Ingetrokken") || strings.Contains(res.Body, "@ouders.example") {
			t.Error("a withdrawal tells no names or contacts")
		}
		looks := map[string]int{}
		for _, r := range []*requests.Request{placed, gone} {
			got, err := w.a.Requests.Case(ctx, r.ID)
			if err != nil {
				t.Fatal(err)
			}
			ls, err := w.a.Requests.Looks(ctx, got.Family.ID.UUID)
			if err != nil {
				t.Fatal(err)
			}
			for _, l := range ls {
				looks[l.What]++
			}
		}
		if looks[eventlog.LookAPIOffers] != 2 || looks[eventlog.LookAPIPlacements] != 1 || looks[eventlog.LookAPIWithdrawals] != 1 {
			t.Errorf("looks logged: %v", looks)
		}
		for _, list := range []string{"offers", "placements", "withdrawals"} {
			if _, r := apiList[requests.OfferEntry](t, api, "/api/v1/providers/"+w.values[Other]["provider"]+"/"+list); r.Status != 404 {
				t.Errorf("another provider's %s: %d", list, r.Status)
			}
		}
	})
}

// TestProviderAPIAnswerIdempotent: a retried answer POST with the same
// Idempotency-Key gets the first answer again and does not answer twice
// (without the key the second would be a 409); the same key with another
// body is refused with 422 and changes nothing.
func TestProviderAPIAnswerIdempotent(t *testing.T) {
	dbtest.EachTarget(t, func(t *testing.T, tg dbtest.Target) {
		w := newDemoWorld(t, tg)
		own := w.values[Own]
		lid, _ := catalog.ParseLocationID(own["location"])
		r, _ := submitParent(t, w.a, "Idempotent", lid)
		api := NewBrowser(t, w.srv.App)
		post := func(body, key string) Resp {
			return api.Do(http.MethodPost, "/api/v1/providers/"+own["provider"]+"/answers", body, "Authorization", "Bearer "+DemoAPIKey(),
				"Content-Type", "application/json", "Idempotency-Key", key)
		}
		body := fmt.Sprintf(`{"desk":"leuven","request_id":%q,"rank":1,"kind":"no_place","reason":"full"}`, r.ID)
		first := post(body, "antwoord-1")
		again := post(body, "antwoord-1")
		if first.Status != http.StatusNoContent || again.Status != http.StatusNoContent || again.Header.Get("Idempotent-Replayed") != "true" {
			t.Fatalf("first %d, retry %d %s", first.Status, again.Status, again.Body)
		}
		if fresh := post(body, "antwoord-2"); fresh.Status != http.StatusConflict {
			t.Errorf("a second answer under a new key: %d, want 409 (so the retry did not answer again)", fresh.Status)
		}
		other := fmt.Sprintf(`{"desk":"leuven","request_id":%q,"rank":1,"kind":"waiting_list"}`, r.ID)
		if bad := post(other, "antwoord-1"); bad.Status != http.StatusUnprocessableEntity || !strings.Contains(bad.Body, `"field":"Idempotency-Key"`) {
			t.Errorf("same key, other body: %d %s", bad.Status, bad.Body)
		}
		got, err := w.a.Requests.Get(deskCtx(t, w.a, "leuven"), r.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Preferences[0].State != requests.PreferenceNoPlace {
			t.Errorf("state %s, want no_place", got.Preferences[0].State)
		}
		c, err := w.a.Requests.Case(deskCtx(t, w.a, "leuven"), r.ID)
		if err != nil {
			t.Fatal(err)
		}
		events := c.History
		answers := 0
		for _, e := range events {
			if strings.HasPrefix(e.Kind, "preference.") {
				answers++
			}
		}
		if answers != 1 {
			t.Errorf("answer events: %d, want 1: %+v", answers, events)
		}

		// Every write takes the key: a retried endpoint registration gets the
		// same endpoint (and secret) back, and no second endpoint is made.
		hooks := "/api/v1/providers/" + own["provider"] + "/webhooks"
		create := func() Resp {
			return api.Do(http.MethodPost, hooks, `{"url":"http://127.0.0.1:9/loket","events":["places.stale"]}`,
				"Authorization", "Bearer "+DemoAPIKey(), "Content-Type", "application/json", "Idempotency-Key", "haak-1")
		}
		one, two := create(), create()
		if one.Status != http.StatusCreated || two.Status != http.StatusCreated || one.Body != two.Body {
			t.Fatalf("endpoint twice: %d %s / %d %s", one.Status, one.Body, two.Status, two.Body)
		}
		list, res := apiList[map[string]any](t, api, hooks)
		if res.Status != http.StatusOK || len(list.Items) != 1 {
			t.Errorf("endpoints after a retried registration: %d %s", res.Status, res.Body)
		}
	})
}
