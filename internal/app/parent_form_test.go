package app

// Issue 20, point 4: the parent form keeps everything across a language
// switch, never shows a template placeholder, asks the start month in words
// and offers the locations that fit the child first, without JavaScript.

import (
	"html"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/loket-kinderopvang/loket/internal/platform/db"
	"github.com/loket-kinderopvang/loket/internal/platform/dbtest"
)

func TestRequestFormLanguageSwitchKeepsEverything(t *testing.T) {
	a, srv := newApp(t, dbtest.NewTarget(t, db.SQLite))
	locs := parentLocations(t, a.Catalog, 2)
	b := NewBrowser(t, srv.App)

	page := b.Get("/leuven/aanvragen?voorkeur=" + locs[1].String())
	// The language switch of a form page submits the form (no link that loses it).
	if !strings.Contains(page.Body, `form="request-form" formaction="?`) || !strings.Contains(page.Body, `id="request-form"`) {
		t.Fatalf("the language switch does not post the form:\n%s", page.Body)
	}
	typed := url.Values{"child.first_name": {"Mila"}, "child.last_name": {"Testkind"}, "child.birth_date": {"2026-09-01"}}
	fr := step(b, page, "/leuven/aanvragen?voorkeur="+locs[1].String()+"&lang=fr", typed, "stay")
	if fr.Status != 200 || !strings.Contains(fr.Body, `<html lang="fr">`) {
		t.Fatalf("switch to French: %d\n%s", fr.Status, fr.Body)
	}
	for _, want := range []string{`value="Mila"`, `value="Testkind"`, `value="2026-09-01"`,
		`name="preferences[0]" value="` + locs[1].String() + `"`, `name="step" value="1"`} {
		if !strings.Contains(fr.Body, want) {
			t.Errorf("after the language switch the page lacks %s", want)
		}
	}
	if strings.Contains(fr.Body, "field-error") {
		t.Errorf("a language switch must not check the step:\n%s", errorSummary(fr.Body))
	}
}

func TestRequestFormMonthPickerAndPreferenceList(t *testing.T) {
	a, srv := newApp(t, dbtest.NewTarget(t, db.SQLite))
	locs := parentLocations(t, a.Catalog, 3)
	b := NewBrowser(t, srv.App)
	s := parentSteps(nil)

	page := b.Get("/leuven/aanvragen")
	p2 := step(b, page, "/leuven/aanvragen", s[0], "next")
	p3 := step(b, p2, "/leuven/aanvragen", s[1], "next")
	// The start month is a select of months in words, not a free text.
	next := time.Now().AddDate(0, 1, 0)
	month := time.Date(next.Year(), next.Month(), 1, 0, 0, 0, 0, time.UTC).Format("2006-01-02")
	if !strings.Contains(p3.Body, `<select id="f-desired_start" name="desired_start"`) ||
		!strings.Contains(p3.Body, `<option value="`+month+`">`) || strings.Contains(p3.Body, `type="date" id="f-desired_start"`) {
		t.Fatalf("step 3 has no month picker:\n%s", p3.Body)
	}
	care := url.Values{"desired_start": {month}, "flexibility_weeks": {"4"}, "care_plan.days": {"mon", "tue"}, "care_plan.day_part": {"whole"}}
	p4 := step(b, p3, "/leuven/aanvragen", care, "next")
	// Step 4 suggests the locations that fit, with their free places, each with an add button.
	if p4.Status != 200 || !strings.Contains(p4.Body, `value="add:`+locs[0].String()+`"`) || !strings.Contains(p4.Body, "2 vrije plaatsen in") {
		t.Fatalf("step 4 suggests no fitting location with free places:\n%s", p4.Body)
	}
	// Next without a choice: the error names the field in words, never a placeholder.
	none := step(b, p4, "/leuven/aanvragen", nil, "next")
	if none.Status != 422 || strings.Contains(none.Body, "no value") || !strings.Contains(none.Body, `href="#f-suggest-`) {
		t.Fatalf("no choice: %d\n%s", none.Status, errorSummary(none.Body))
	}
	// Add two, move the second up, remove one: all by plain posts.
	r := step(b, none, "/leuven/aanvragen", nil, "add:"+locs[0].String())
	r = step(b, r, "/leuven/aanvragen", nil, "add:"+locs[2].String())
	r = step(b, r, "/leuven/aanvragen", nil, "up-1")
	if !strings.Contains(r.Body, `name="preferences[0]" value="`+locs[2].String()+`"`) ||
		!strings.Contains(r.Body, `name="preferences[1]" value="`+locs[0].String()+`"`) {
		t.Fatalf("ranking after up-1:\n%s", r.Body)
	}
	r = step(b, r, "/leuven/aanvragen", url.Values{"add_location": {locs[1].String()}}, "add-other")
	r = step(b, r, "/leuven/aanvragen", nil, "remove-0")
	if strings.Contains(r.Body, `value="`+locs[2].String()+`"><p>`) || !strings.Contains(r.Body, `name="preferences[1]" value="`+locs[1].String()+`"`) {
		t.Fatalf("after remove-0:\n%s", r.Body)
	}
	p5 := step(b, r, "/leuven/aanvragen", nil, "next")
	if p5.Status != 200 || !strings.Contains(p5.Body, `name="step" value="5"`) {
		t.Fatalf("step 5: %d\n%s", p5.Status, errorSummary(p5.Body))
	}
}

func TestRequestFormFromSearchResults(t *testing.T) {
	a, srv := newApp(t, dbtest.NewTarget(t, db.SQLite))
	locs := parentLocations(t, a.Catalog, 2)
	b := NewBrowser(t, srv.App)
	start := time.Now().AddDate(0, 2, 0).Format("2006-01")
	page := b.Get("/leuven/aanvragen?voorkeur=" + locs[0].String() + "&voorkeur=" + locs[1].String() + "&geboren=2026-09-01&start=" + start)
	for _, want := range []string{`name="preferences[0]" value="` + locs[0].String() + `"`, `name="preferences[1]" value="` + locs[1].String() + `"`,
		`value="2026-09-01"`, `name="desired_start" value="` + start + `-01"`} {
		if !strings.Contains(page.Body, want) {
			t.Errorf("form from the search lacks %s", want)
		}
	}
}

// TestRequestFormMunicipalityHasNoSilentDefault: issue 20, point 5. The
// Turnhout desk does not preselect Baarle-Hertog; every known municipality
// can be chosen, the desk's own first; an empty choice is an error.
func TestRequestFormMunicipalityHasNoSilentDefault(t *testing.T) {
	_, srv := newApp(t, dbtest.NewTarget(t, db.SQLite))
	b := NewBrowser(t, srv.App)
	page := b.Get("/stadsregio-turnhout/aanvragen")
	s := parentSteps(nil)
	p2 := step(b, page, "/stadsregio-turnhout/aanvragen", s[0], "next")
	sel := p2.Body[strings.Index(p2.Body, `name="address.municipality_nis"`):]
	sel = sel[:strings.Index(sel, "</select>")]
	if strings.Count(sel, " selected") != 1 || !strings.Contains(sel, `<option value="" selected>`) {
		t.Errorf("a municipality is preselected:\n%s", sel)
	}
	if !strings.Contains(sel, `<option value="24062">Leuven</option>`) || strings.Index(sel, "Baarle-Hertog") > strings.Index(sel, "Leuven") {
		t.Errorf("the desk's municipalities first, then every other one:\n%s", sel)
	}
	parents := url.Values{"parents[0].first_name": {"Ann"}, "parents[0].last_name": {"Testouder"}, "parents[0].email": {"ann@ouders.example"}, "language": {"nl"}}
	r := step(b, p2, "/stadsregio-turnhout/aanvragen", parents, "next")
	if r.Status != 422 || !strings.Contains(r.Body, `href="#f-address-municipality_nis"`) {
		t.Errorf("no municipality chosen: %d\n%s", r.Status, errorSummary(r.Body))
	}
}

// TestSearchLeadsToTheRequestForm: issue 20, point 4. The desk page and the
// search page have a "request care" button; a parent ticks locations in the
// results and goes to the form with them (and the search's child and
// month); a location page links back to the search with its filters.
func TestSearchLeadsToTheRequestForm(t *testing.T) {
	a, srv := newApp(t, dbtest.NewTarget(t, db.SQLite))
	locs := parentLocations(t, a.Catalog, 2)
	b := NewBrowser(t, srv.App)
	if desk := b.Get("/leuven"); !strings.Contains(desk.Body, `href="/leuven/aanvragen"`) {
		t.Error("the desk page has no request button")
	}
	month := time.Now().AddDate(0, 2, 0).Format("2006-01")
	q := "municipality=24062&birth_date=2026-09-01&start_month=" + month + "&sort=name"
	res := b.Get("/leuven/opvang?" + q)
	for _, want := range []string{`<form method="get" action="/leuven/aanvragen" id="choose">`, `name="voorkeur" value="` + locs[0].String() + `"`,
		`name="geboren" value="2026-09-01"`, `name="start" value="` + month + `"`, `class="button secondary" href="/leuven/aanvragen"`} {
		if !strings.Contains(res.Body, want) {
			t.Errorf("the search page lacks %s", want)
		}
	}
	link := regexp.MustCompile(`href="(/leuven/opvang/` + locs[0].String() + `\?zoek=[^"]+)"`).FindStringSubmatch(res.Body)
	if link == nil {
		t.Fatal("no link from the results to the location page keeps the search")
	}
	page := b.Get(html.UnescapeString(link[1]))
	back := regexp.MustCompile(`<a href="([^"]+)">[^<]*</a></p>\s*<h1>`).FindStringSubmatch(page.Body)
	if back == nil {
		t.Fatalf("no back link:\n%s", page.Body)
	}
	u, _ := url.Parse(html.UnescapeString(back[1]))
	if u.Path != "/leuven/opvang" || u.Query().Get("start_month") != month || u.Query().Get("birth_date") != "2026-09-01" || u.Query().Get("municipality") != "24062" {
		t.Errorf("back to search lost the filters: %s", back[1])
	}
}
