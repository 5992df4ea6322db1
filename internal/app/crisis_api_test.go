package app

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/loket-kinderopvang/loket/internal/access"
	"github.com/loket-kinderopvang/loket/internal/catalog"
	"github.com/loket-kinderopvang/loket/internal/platform/dbtest"
	"github.com/loket-kinderopvang/loket/internal/platform/web/webtest"
)

// TestCrisisAPI (issue 16): a provider's system declares that its location
// closes and reads the board with its API key; bad input is a problem with
// field errors; a key of another provider gets 404; emergency places are
// announced at another location.
func TestCrisisAPI(t *testing.T) {
	dbtest.EachTarget(t, func(t *testing.T, tg dbtest.Target) {
		a, srv := newApp(t, tg)
		ctx := context.Background()
		var provs []*catalog.Provider
		var locs []catalog.Location
		for i, name := range []string{"Opvang Gesloten", "Opvang Andere Organisator"} {
			p := &catalog.Provider{Name: "Vzw " + name}
			if err := a.Catalog.SaveProvider(ctx, p); err != nil {
				t.Fatal(err)
			}
			l := &catalog.Location{DossierNumber: fmt.Sprintf("API-%d", i), ProviderID: p.ID, Name: name, Postcode: "3000",
				MunicipalityNIS: "24062", Lat: 50.88, Lon: 4.70 + float64(i)*0.01, CareType: catalog.Groepsopvang,
				SubsidyTier: catalog.TierT1, LicensedPlaces: 20, MaxAgeMonths: 36, Languages: []string{"nl"}, AcceptsRequests: true}
			if err := a.Catalog.SaveLocation(ctx, l); err != nil {
				t.Fatal(err)
			}
			provs, locs = append(provs, p), append(locs, *l)
		}
		if err := a.Access.GroupLocations(ctx); err != nil {
			t.Fatal(err)
		}
		key := func(p *catalog.Provider) string {
			_, token, err := a.Access.CreateKey(ctx, access.NewKey{Provider: p.ID, Name: "Eigen systeem", Actor: "test"})
			if err != nil {
				t.Fatal(err)
			}
			return "Bearer " + token
		}
		own, other := key(provs[0]), key(provs[1])
		call := func(method, path, body, auth string) webtest.Response {
			return webtest.Do(t, srv.App, method, path, body, "Content-Type", "application/json", "Authorization", auth)
		}
		path := "/api/v1/locations/" + locs[0].ID.String() + "/closure"
		tomorrow := time.Now().AddDate(0, 0, 1).Format("2006-01-02")
		if res := call("POST", path, `{"from":"morgen","reason":""}`, own); res.Status != 422 ||
			!strings.Contains(res.Body, `"field":"from"`) || !strings.Contains(res.Body, `"field":"reason"`) {
			t.Fatalf("bad declaration: %d %s", res.Status, res.Body)
		}
		body := `{"from":"` + tomorrow + `","reason":"Waterschade","public":true}`
		if res := call("POST", path, body, other); res.Status != 404 {
			t.Fatalf("another provider's key: %d %s, want 404", res.Status, res.Body)
		}
		res := call("POST", path, body, own)
		if res.Status != 201 {
			t.Fatalf("declare: %d %s", res.Status, res.Body)
		}
		var cl struct {
			ID      string `json:"id"`
			InForce bool   `json:"in_force"`
		}
		if err := json.Unmarshal([]byte(res.Body), &cl); err != nil || !cl.InForce {
			t.Fatalf("declared: %s (%v)", res.Body, err)
		}
		if res := call("POST", path, body, own); res.Status != 422 || !strings.Contains(res.Body, "already closed") {
			t.Fatalf("a second declaration: %d %s", res.Status, res.Body)
		}
		board := call("GET", path, "", own)
		if board.Status != 200 || !strings.Contains(board.Body, `"total":{"affected":0`) || !strings.Contains(board.Body, cl.ID) {
			t.Fatalf("board: %d %s", board.Status, board.Body)
		}
		if res := call("GET", path, "", other); res.Status != 404 {
			t.Fatalf("another provider reads the board: %d", res.Status)
		}
		em := "/api/v1/locations/" + locs[1].ID.String() + "/emergency-places"
		month := time.Now().AddDate(0, 0, 1).Format("2006-01")
		if res := call("POST", em, `{"closure_id":"`+cl.ID+`","start_month":"`+month+`","age_band":"baby","places":3,"until":"2099-01-01"}`, other); res.Status != 204 {
			t.Fatalf("emergency places: %d %s", res.Status, res.Body)
		}
		free, err := catalog.FreePlacesTx(ctx, a.DB.DB, locs[1].ID, month, catalog.Baby)
		if err != nil || free != 3 {
			t.Fatalf("free places after the emergency places: %d (%v), want 3", free, err)
		}
	})
}
