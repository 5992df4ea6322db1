package app

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/loket-kinderopvang/loket/internal/catalog"
)

// TestProviderLocationsAndBulkFreePlaces: a provider's system lists its
// locations and sets the free places of several in one call; a line naming
// another provider's location refuses the whole call at that line.
func TestProviderLocationsAndBulkFreePlaces(t *testing.T) {
	w := newDemoWorld(t)
	ctx := context.Background()
	own, other := w.values[Own], w.values[Other]
	api := NewBrowser(t, w.srv.App)
	auth := []string{"Authorization", "Bearer " + DemoAPIKey()}
	r := api.Do(http.MethodGet, "/api/v1/providers/"+own["provider"]+"/locations", nil, auth...)
	var list struct {
		Items []struct {
			ID string `json:"id"`
		} `json:"items"`
	}
	if r.Status != http.StatusOK || json.Unmarshal([]byte(r.Body), &list) != nil || len(list.Items) < 2 {
		t.Fatalf("locations: %d %s", r.Status, r.Body)
	}
	body := `[{"location_id":"` + list.Items[0].ID + `","start_month":"2027-05","age_band":"baby","free_places":4},` +
		`{"location_id":"` + list.Items[1].ID + `","start_month":"2027-05","age_band":"baby","free_places":1}]`
	if r := api.Do(http.MethodPut, "/api/v1/providers/"+own["provider"]+"/availability", body, auth...); r.Status != http.StatusNoContent {
		t.Fatalf("bulk free places: %d %s", r.Status, r.Body)
	}
	for _, it := range list.Items[:2] {
		lid, _ := catalog.ParseLocationID(it.ID)
		hist, _ := w.a.Catalog.AvailabilityHistory(ctx, lid)
		if len(hist) == 0 || !strings.HasPrefix(hist[len(hist)-1].ChangedBy, "apikey:") {
			t.Errorf("location %s: the change must be recorded with the key: %+v", it.ID, hist)
		}
	}
	bad := `[{"location_id":"` + list.Items[0].ID + `","start_month":"2027-06","age_band":"baby","free_places":2},` +
		`{"location_id":"` + other["location"] + `","start_month":"2027-06","age_band":"baby","free_places":9}]`
	r = api.Do(http.MethodPut, "/api/v1/providers/"+own["provider"]+"/availability", bad, auth...)
	if r.Status != http.StatusUnprocessableEntity || !strings.Contains(r.Body, `"[1].location_id"`) {
		t.Errorf("another provider's location: %d %s", r.Status, r.Body)
	}
	if r := api.Do(http.MethodGet, "/api/v1/providers/"+other["provider"]+"/locations", nil, auth...); r.Status != http.StatusNotFound {
		t.Errorf("another provider's locations: %d", r.Status)
	}
}
