package app

// Issue 20, point 12: with JavaScript a real map (Leaflet) shows every result
// of the search, not only the page's; its tiles come from the configured
// URL, and the CSP allows exactly that host; the drawn SVG map stays.

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"

	"github.com/loket-kinderopvang/loket/internal/platform/db"
	"github.com/loket-kinderopvang/loket/internal/platform/dbtest"
)

func TestSearchMapShowsEveryResultWithConfiguredTiles(t *testing.T) {
	a, srv := newApp(t, dbtest.NewTarget(t, db.SQLite))
	locs := parentLocations(t, a.Catalog, 3)
	b := NewBrowser(t, srv.App)
	page := b.Get("/leuven/opvang?municipality=24062&sort=name&per_page=1")
	if csp := page.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "img-src 'self' data: https://tile.openstreetmap.org;") {
		t.Errorf("CSP %q does not allow exactly the tile host", csp)
	}
	if !strings.Contains(page.Body, `data-tiles="https://tile.openstreetmap.org/{z}/{x}/{y}.png"`) ||
		!strings.Contains(page.Body, `src="/static/vendor/leaflet/leaflet.js"`) || !strings.Contains(page.Body, `<svg viewBox=`) {
		t.Fatalf("no live map next to the drawn one:\n%s", visibleText(page.Body))
	}
	m := regexp.MustCompile(`(?s)<script type="application/json" data-live-map-markers>(.*?)</script>`).FindStringSubmatch(page.Body)
	if m == nil {
		t.Fatal("no markers")
	}
	var markers []struct {
		Name, URL string
		Lat, Lon  float64
	}
	if err := json.Unmarshal([]byte(m[1]), &markers); err != nil {
		t.Fatal(err)
	}
	found := 0
	for _, mk := range markers {
		for _, l := range locs {
			if strings.Contains(mk.URL, l.String()) {
				found++
			}
		}
	}
	if found != len(locs) {
		t.Errorf("the map has %d of the %d results (one per page shown)", found, len(locs))
	}
	if loc := b.Get("/leuven/opvang/" + locs[0].String()); !strings.Contains(loc.Body, `class="live-map small"`) {
		t.Error("the location page has no small map")
	}
}
