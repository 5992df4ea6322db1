package app

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/loket-kinderopvang/loket/internal/app/apiclient"
	"github.com/loket-kinderopvang/loket/internal/catalog"
)

// TestProviderLocationsAndBulkFreePlaces: a provider's system lists its
// locations, sets the free places of several in one call and reads them
// back in one call; a line naming
// another provider's location refuses the whole call at that line. The
// calls go through the generated client, their answers checked against the
// OpenAPI document.
func TestProviderLocationsAndBulkFreePlaces(t *testing.T) {
	w := newDemoWorld(t)
	ctx := context.Background()
	own, other := uuid.MustParse(w.values[Own]["provider"]), uuid.MustParse(w.values[Other]["provider"])
	api := newContractDoer(t, w.srv.App).client(DemoAPIKey())
	r, err := api.ListProviderLocationsWithResponse(ctx, own, nil)
	if err != nil || r.JSON200 == nil || len(r.JSON200.Items) < 2 {
		t.Fatalf("locations: %v %d %s", err, r.StatusCode(), r.Body)
	}
	list := r.JSON200.Items
	line := func(loc uuid.UUID, month string, n int) apiclient.ProviderAvailabilityLine {
		return apiclient.ProviderAvailabilityLine{LocationId: loc, StartMonth: month, AgeBand: apiclient.ProviderAvailabilityLineAgeBandBaby, FreePlaces: n}
	}
	put, err := api.PutProviderAvailabilityWithResponse(ctx, own, nil, apiclient.PutProviderAvailabilityJSONRequestBody{
		line(list[0].Id, "2027-05", 4), line(list[1].Id, "2027-05", 1)})
	if err != nil || put.StatusCode() != http.StatusNoContent {
		t.Fatalf("bulk free places: %v %d %s", err, put.StatusCode(), put.Body)
	}
	for _, it := range list[:2] {
		hist, _ := w.a.Catalog.AvailabilityHistory(ctx, catalog.LocationID{UUID: it.Id})
		if len(hist) == 0 || !strings.HasPrefix(hist[len(hist)-1].ChangedBy, "apikey:") {
			t.Errorf("location %s: the change must be recorded with the key: %+v", it.Id, hist)
		}
	}
	// Read back: the lines of May 2027 on are the ones just written (the
	// demo has none of its own there), the refused call below changes none.
	from := "2027-05"
	back, err := api.GetProviderAvailabilityWithResponse(ctx, own, &apiclient.GetProviderAvailabilityParams{FromMonth: &from})
	if err != nil || back.JSON200 == nil {
		t.Fatalf("read back: %v %d %s", err, back.StatusCode(), back.Body)
	}
	got := map[uuid.UUID]int{}
	for _, l := range back.JSON200.Items {
		if l.StartMonth == "2027-05" && l.AgeBand == "baby" {
			got[l.LocationId] = l.FreePlaces
		}
	}
	if got[list[0].Id] != 4 || got[list[1].Id] != 1 {
		t.Errorf("read back May 2027: %v, want 4 and 1 at the first two locations", got)
	}
	put, err = api.PutProviderAvailabilityWithResponse(ctx, own, nil, apiclient.PutProviderAvailabilityJSONRequestBody{
		line(list[0].Id, "2027-06", 2), line(uuid.MustParse(w.values[Other]["location"]), "2027-06", 9)})
	if err != nil || put.StatusCode() != http.StatusUnprocessableEntity || put.ApplicationproblemJSON422 == nil ||
		put.ApplicationproblemJSON422.Errors == nil || (*put.ApplicationproblemJSON422.Errors)[0].Field != "[1].location_id" {
		t.Errorf("another provider's location: %v %d %s", err, put.StatusCode(), put.Body)
	}
	if r, err := api.ListProviderLocationsWithResponse(ctx, other, nil); err != nil || r.StatusCode() != http.StatusNotFound {
		t.Errorf("another provider's locations: %v %d", err, r.StatusCode())
	}
}
