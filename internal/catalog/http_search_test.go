package catalog_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"regexp"
	"strings"
	"testing"

	"github.com/loket-kinderopvang/loket/frontend"
	"github.com/loket-kinderopvang/loket/internal/catalog"
	"github.com/loket-kinderopvang/loket/internal/platform/clock"
	"github.com/loket-kinderopvang/loket/internal/platform/db"
	"github.com/loket-kinderopvang/loket/internal/platform/dbtest"
	"github.com/loket-kinderopvang/loket/internal/platform/web"
	"github.com/loket-kinderopvang/loket/internal/platform/web/webtest"
	"github.com/loket-kinderopvang/loket/internal/tenant"
	"github.com/loket-kinderopvang/loket/tenants"
)

// newSearchServer wires the search handlers the way internal/app does, on
// the demo desks and the search fixture.
func newSearchServer(t *testing.T, d *db.DB) (*web.Server, map[string]catalog.LocationID) {
	t.Helper()
	ctx := context.Background()
	specs, err := tenant.LoadDir(tenants.Demo)
	if err != nil {
		t.Fatal(err)
	}
	ts := tenant.NewStore(d, clock.NewFixed(searchNow))
	if _, err := ts.Sync(ctx, specs); err != nil {
		t.Fatal(err)
	}
	dir := tenant.NewDirectory(ts)
	if err := dir.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	store := newSearchStore(t, d)
	ids := seedSearchCatalogue(t, store)

	messages, err := web.LoadCatalog(frontend.Locales)
	if err != nil {
		t.Fatal(err)
	}
	renderer, err := web.NewRenderer(frontend.Templates, messages)
	if err != nil {
		t.Fatal(err)
	}
	srv := web.New(web.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Renderer: renderer})
	desks := tenant.NewHandler(dir, renderer)
	h := catalog.NewSearchHandler(store, dir, desks, renderer)
	h.RegisterAPI(srv.App.Group("/api/v1"))
	h.RegisterDesk(srv.App.Group("/:tenant", desks.Resolve))
	return srv, ids
}

func searchFetch(t *testing.T, srv *web.Server, path string, headers ...string) webtest.Response {
	t.Helper()
	return webtest.Get(t, srv.App, path, headers...)
}

// searchResultNames are the location names in the result list, in order.
func searchResultNames(body string) []string {
	var out []string
	for _, m := range regexp.MustCompile(`<h3><a href="[^"]+">([^<]+)</a></h3>`).FindAllStringSubmatch(body, -1) {
		out = append(out, m[1])
	}
	return out
}

func TestSearchPages(t *testing.T) {
	srv, ids := newSearchServer(t, dbtest.Open(t, db.SQLite))
	const page = "/geel-laakdal-meerhout/opvang"

	// Default: the desk's own municipalities, every filter control labelled.
	r := searchFetch(t, srv, page)
	if r.Status != 200 || !strings.Contains(r.Body, `<html lang="nl">`) {
		t.Fatalf("search page: %d %s", r.Status, r.Body)
	}
	if got := searchResultNames(r.Body); strings.Join(got, "|") != strings.Join([]string{fxMaan, fxZon, fxSter}, "|") {
		t.Errorf("desk area results: %q", got)
	}
	if !strings.Contains(r.Body, `<p role="status" class="count">3 opvanglocaties gevonden</p>`) {
		t.Error("the result count must be announced")
	}
	if !strings.Contains(r.Body, `<title>3 opvanglocaties gevonden · Kinderopvang zoeken`) {
		t.Error("the title must carry the result count")
	}
	inputs := regexp.MustCompile(`<(?:input|select) [^>]*id="([^"]+)"`).FindAllStringSubmatch(r.Body, -1)
	if len(inputs) < 15 {
		t.Fatalf("only %d form controls", len(inputs))
	}
	for _, in := range inputs {
		if !strings.Contains(r.Body, `<label for="`+in[1]+`">`) {
			t.Errorf("control %s has no label", in[1])
		}
	}
	for _, want := range []string{`<fieldset>`, `<legend>Waar zoekt u?</legend>`, `id="f-area-desk" name="area" value="desk" checked`,
		`Ook in de buurgemeenten`, `<option value="13017">Kasterlee</option>`, `Inclusieve opvang`, `Neemt nu geen aanvragen aan`,
		`<svg viewBox="0 0 640 400" role="group" aria-labelledby="map-caption">`, `aria-label="1. ` + fxMaan + `"`,
		`href="/geel-laakdal-meerhout/opvang/` + ids[fxZon].String() + `?zoek=`} {
		if !strings.Contains(r.Body, want) {
			t.Errorf("search page lacks %s", want)
		}
	}
	if h := regexp.MustCompile(`<h([1-6])`).FindAllStringSubmatch(r.Body, -1); len(h) < 3 || h[0][1] != "1" {
		t.Errorf("headings: %v", h)
	}

	// Wider area, filters and values kept, distance and free places shown.
	r = searchFetch(t, srv, page+"?postcode=2430&within_km=15&start_month=2027-01&free_places=1&sort=distance")
	if got := searchResultNames(r.Body); strings.Join(got, "|") != strings.Join([]string{fxSter, fxZon, fxMaan}, "|") {
		t.Errorf("distance results: %q", got)
	}
	for _, want := range []string{`name="postcode" value="2430"`, `name="within_km" value="15"`, `<option value="2027-01" selected>januari 2027</option>`,
		`name="free_places" value="1" checked`, `<option value="distance" selected>`, `id="f-area-all" name="area" value="all" checked`,
		`3 vrije plaatsen in januari 2027`, `1 vrije plaats in januari 2027`, `<dd>0,1 km</dd>`, `class="map-origin"`} {
		if !strings.Contains(r.Body, want) {
			t.Errorf("distance search lacks %s", want)
		}
	}
	r = searchFetch(t, srv, page+"?area=region&type=gezinsopvang")
	if got := searchResultNames(r.Body); strings.Join(got, "|") != fxMaan+"|"+fxWolk {
		t.Errorf("region + gezinsopvang: %q", got)
	}
	r = searchFetch(t, srv, page+"?municipality=13040")
	if got := searchResultNames(r.Body); len(got) != 1 || got[0] != fxWolk || !strings.Contains(r.Body, `<option value="13040" selected>Turnhout</option>`) {
		t.Errorf("one municipality: %q", got)
	}

	// Pagination keeps the filters.
	r = searchFetch(t, srv, page+"?area=all&per_page=2&type=&page=2")
	if got := searchResultNames(r.Body); strings.Join(got, "|") != fxSter+"|"+fxWolk {
		t.Errorf("page 2: %q", got)
	}
	for _, want := range []string{`<ol class="results" start="3">`, `href="/geel-laakdal-meerhout/opvang?area=all&amp;page=3&amp;per_page=2" rel="next"`,
		`href="/geel-laakdal-meerhout/opvang?area=all&amp;page=1&amp;per_page=2" rel="prev"`, `aria-current="page">Pagina 2</a>`} {
		if !strings.Contains(r.Body, want) {
			t.Errorf("pagination lacks %s", want)
		}
	}

	// Bad input: a 400 page with the error next to the field, in Dutch, and
	// what was typed kept.
	r = searchFetch(t, srv, page+"?postcode=24x0&start_month=januari&early=1")
	if r.Status != 400 {
		t.Errorf("bad input: status %d", r.Status)
	}
	for _, want := range []string{`Er is een probleem met uw keuzes`, `<a href="#f-postcode">Een postcode heeft 4 cijfers, bijvoorbeeld 2440.</a>`,
		`<p class="field-error" id="err-f-postcode">Een postcode heeft 4 cijfers, bijvoorbeeld 2440.</p>`,
		`name="postcode" value="24x0" inputmode="numeric" autocomplete="postal-code" aria-describedby="err-f-postcode hint-f-postcode" aria-invalid="true"`,
		`id="err-f-start_month">Vul jaar en maand in, bijvoorbeeld 2027-01.</p>`, `name="early" value="1" checked`} {
		if !strings.Contains(r.Body, want) {
			t.Errorf("error page lacks %s", want)
		}
	}
	if len(searchResultNames(r.Body)) != 0 {
		t.Error("no results are shown while the search has errors")
	}

	// French on request.
	r = searchFetch(t, srv, page+"?lang=fr&postcode=99")
	for _, want := range []string{`<html lang="fr">`, `Chercher un accueil`, `Un code postal a 4 chiffres, par exemple 2440.`, `value="99"`} {
		if !strings.Contains(r.Body, want) {
			t.Errorf("French page lacks %s", want)
		}
	}
	r = searchFetch(t, srv, page+"?lang=fr&start_month=2027-01&area=all")
	if !strings.Contains(r.Body, "3 places libres en janvier 2027") || !strings.Contains(r.Body, "Accueil en groupe") {
		t.Error("French results must translate free places and types")
	}
}

func TestLocationPage(t *testing.T) {
	srv, ids := newSearchServer(t, dbtest.Open(t, db.SQLite))
	r := searchFetch(t, srv, "/geel-laakdal-meerhout/opvang/"+ids[fxZon].String())
	if r.Status != 200 {
		t.Fatalf("detail: %d %s", r.Status, r.Body)
	}
	for _, want := range []string{`<h1>` + fxZon + `</h1>`, `Teststraat 1`, `2440 Geel`, `vzw Zonnige Kinderjaren`,
		`Trap T2A: subsidie voor een prijs volgens inkomen.`, `U betaalt volgens uw inkomen (inkomenstarief).`,
		`18 kinderen tegelijk`, `van 0 tot 36 maanden`, `<th scope="row">maandag</th><td>07:00 tot 18:00</td>`,
		`<th scope="row">zaterdag</th><td>gesloten</td>`, `<dt>Vroeg open</dt><dd>ja</dd>`, `<dt>Laat open</dt><dd>nee</dd>`,
		`Deze opvang neemt nu aanvragen aan.`, `href="mailto:info@srch-zon.example"`,
		`href="/geel-laakdal-meerhout/aanvragen?voorkeur=` + ids[fxZon].String() + `"`,
		`<caption id="loc-free-caption">Vrije plaatsen per startmaand, voor de komende 12 maanden</caption>`,
		`<th scope="col">Baby&#39;s (jonger dan 18 maanden)</th>`,
		`<tr><th scope="row">januari 2027</th><td>2</td><td>0</td></tr>`,
		`<tr><th scope="row">december 2026</th><td>onbekend</td><td>onbekend</td></tr>`,
		`<th scope="row">november 2027</th>`} {
		if !strings.Contains(r.Body, want) {
			t.Errorf("detail lacks %s", want)
		}
	}
	if rows := strings.Count(r.Body, `<tr><th scope="row">`) - 7; rows != 12 {
		t.Errorf("availability table has %d months, want 12", rows)
	}
	if strings.Contains(r.Body, "maart 2028") {
		t.Error("months beyond the next twelve must not show")
	}
	fr := searchFetch(t, srv, "/geel-laakdal-meerhout/opvang/"+ids[fxMaan].String()+"?lang=fr")
	for _, want := range []string{`<th scope="row">janvier 2027</th><td>0</td><td>1</td>`, `Cet accueil n&#39;accepte pas de demandes maintenant.`, `(prix libre)`} {
		if !strings.Contains(fr.Body, want) {
			t.Errorf("French detail lacks %s", want)
		}
	}

	for _, path := range []string{"/geel-laakdal-meerhout/opvang/0190b7a2-0000-7000-8000-000000000000", "/geel-laakdal-meerhout/opvang/geen-id"} {
		nf := searchFetch(t, srv, path, "Accept", "text/html")
		if nf.Status != 404 || !strings.Contains(nf.Body, "Opvanglocatie niet gevonden") || !strings.Contains(nf.Body, "Geel-Laakdal-Meerhout") {
			t.Errorf("%s: want a 404 page in the desk's chrome, got %d", path, nf.Status)
		}
	}
}

type searchAPIList struct {
	Locations []struct {
		ID            string `json:"id"`
		DossierNumber string `json:"dossier_number"`
		Name          string `json:"name"`
		Provider      struct {
			ID, Name string
		} `json:"provider"`
		Municipality struct {
			NIS    string `json:"nis_code"`
			NameFR string `json:"name_fr"`
		} `json:"municipality"`
		Coordinates  struct{ Lat, Lon float64 } `json:"coordinates"`
		Type         string                     `json:"type"`
		PriceType    string                     `json:"price_type"`
		OpeningHours map[string]struct {
			Open, Close string
		} `json:"opening_hours"`
		DistanceKm *float64 `json:"distance_km"`
		FreePlaces *int     `json:"free_places"`
	} `json:"locations"`
	Total   int `json:"total"`
	Page    int `json:"page"`
	PerPage int `json:"per_page"`
}

func TestLocationsAPI(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		srv, ids := newSearchServer(t, d)
		list := func(query string) searchAPIList {
			t.Helper()
			r := searchFetch(t, srv, "/api/v1/locations"+query)
			var out searchAPIList
			if r.Status != 200 || json.Unmarshal([]byte(r.Body), &out) != nil {
				t.Fatalf("%s: %d %s", query, r.Status, r.Body)
			}
			return out
		}
		names := func(l searchAPIList) string {
			var n []string
			for _, x := range l.Locations {
				n = append(n, x.Name)
			}
			return strings.Join(n, "|")
		}

		all := list("")
		if all.Total != 5 || all.Page != 1 || all.PerPage != 20 || names(all) != strings.Join([]string{fxMaan, fxZon, fxSter, fxWolk, fxRegen}, "|") {
			t.Errorf("all: %+v", all)
		}
		z := all.Locations[1]
		if z.ID != ids[fxZon].String() || z.DossierNumber != "srch-zon" || z.Provider.Name != "vzw Zonnige Kinderjaren" || z.Municipality.NIS != "13008" ||
			z.Type != "groepsopvang" || z.PriceType != "inkomenstarief" || z.OpeningHours["monday"].Open != "07:00" || z.Coordinates.Lat != 51.162 ||
			z.DistanceKm != nil || z.FreePlaces != nil {
			t.Errorf("location fields: %+v", z)
		}
		if _, open := z.OpeningHours["saturday"]; open {
			t.Error("closed days are left out of opening_hours")
		}
		if got := names(list("?region=13000&type=gezinsopvang")); got != fxMaan+"|"+fxWolk {
			t.Errorf("region + type: %s", got)
		}
		near := list("?postcode=2430&within_km=15&sort=distance&start_month=2027-01&birth_date=2024-06-01")
		if names(near) != fxSter+"|"+fxZon+"|"+fxMaan || near.Locations[0].DistanceKm == nil || *near.Locations[0].FreePlaces != 3 || *near.Locations[1].FreePlaces != 0 {
			t.Errorf("near Laakdal: %+v", near)
		}
		if got := list("?municipality=24062&municipality=13040&per_page=1&page=2"); names(got) != fxRegen || got.Total != 2 || got.PerPage != 1 {
			t.Errorf("two municipalities, page 2: %+v", got)
		}

		// Bad input: a problem document naming each field.
		r := searchFetch(t, srv, "/api/v1/locations?type=kinderclub&within_km=5&page=x")
		var prob web.Problem
		if r.Status != 400 || r.Header.Get("Content-Type") != "application/problem+json" || json.Unmarshal([]byte(r.Body), &prob) != nil {
			t.Fatalf("bad search: %d %s %s", r.Status, r.Header.Get("Content-Type"), r.Body)
		}
		fields := map[string]bool{}
		for _, e := range prob.Errors {
			fields[e.Field] = e.Message != ""
		}
		if !fields["type"] || !fields["postcode"] || !fields["page"] || len(fields) != 3 || prob.Status != 400 {
			t.Errorf("problem errors: %+v", prob)
		}

		// One location with its free places for the coming twelve months.
		r = searchFetch(t, srv, "/api/v1/locations/"+ids[fxZon].String())
		var one struct {
			Name         string `json:"name"`
			Availability []struct {
				StartMonth string `json:"start_month"`
				AgeBand    string `json:"age_band"`
				FreePlaces int    `json:"free_places"`
			} `json:"availability"`
		}
		if r.Status != 200 || json.Unmarshal([]byte(r.Body), &one) != nil || one.Name != fxZon {
			t.Fatalf("get: %d %s", r.Status, r.Body)
		}
		if len(one.Availability) != 2 || one.Availability[0].StartMonth != "2027-01" || one.Availability[0].AgeBand != "baby" || one.Availability[0].FreePlaces != 2 {
			t.Errorf("availability (2028-03 is beyond twelve months): %+v", one.Availability)
		}
		for _, id := range []string{"0190b7a2-0000-7000-8000-000000000000", "geen-uuid"} {
			r := searchFetch(t, srv, "/api/v1/locations/"+id)
			if r.Status != 404 || r.Header.Get("Content-Type") != "application/problem+json" || !strings.Contains(r.Body, `"status":404`) {
				t.Errorf("%s: want a 404 problem, got %d %s", id, r.Status, r.Body)
			}
		}
	})
}
