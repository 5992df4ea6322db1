package app

// Issue 20, point 5: every municipality of Flanders and Brussels can be
// chosen in the parent form and the counter form, the desk's own first, the
// others by province, with no silent default; a family from outside the
// desk's area registers.

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/loket-kinderopvang/loket/internal/platform/authz"
	"github.com/loket-kinderopvang/loket/internal/platform/db"
	"github.com/loket-kinderopvang/loket/internal/platform/dbtest"
	"github.com/loket-kinderopvang/loket/internal/requests"
)

var (
	optgroupRE = regexp.MustCompile(`<optgroup label="([^"]+)">`)
	optionRE   = regexp.MustCompile(`<option value="(\d{5})"`)
)

// municipalitySelect returns the municipality select of a page.
func municipalitySelect(t *testing.T, body string) string {
	t.Helper()
	i := strings.Index(body, `name="address.municipality_nis"`)
	if i < 0 {
		t.Fatalf("no municipality select:\n%s", body)
	}
	sel := body[i:]
	return sel[:strings.Index(sel, "</select>")]
}

// checkMunicipalityGroups checks the select lists all 304 municipalities,
// the desk's group first with its own, then the provinces and Brussels.
func checkMunicipalityGroups(t *testing.T, sel, deskGroup, own string) {
	t.Helper()
	if n := len(optionRE.FindAllString(sel, -1)); n != 304 {
		t.Errorf("the select offers %d municipalities, want 304 (285 Flemish, 19 in Brussels)", n)
	}
	groups := optgroupRE.FindAllStringSubmatch(sel, -1)
	if len(groups) != 7 || groups[0][1] != deskGroup {
		t.Fatalf("groups %v, want the desk's first and then 6 provinces and Brussels", groups)
	}
	first := sel[strings.Index(sel, groups[0][0]):strings.Index(sel, groups[1][0])]
	if !strings.Contains(first, own) {
		t.Errorf("the desk's group lacks %s:\n%s", own, first)
	}
	for _, want := range []string{"Provincie Oost-Vlaanderen", "Brussels Hoofdstedelijk Gewest", "Provincie Limburg"} {
		if !strings.Contains(sel, `<optgroup label="`+want+`">`) {
			t.Errorf("no group %s", want)
		}
	}
	if strings.Contains(sel, `" selected>`) && !strings.Contains(sel, `<option value="" selected>`) {
		t.Errorf("a municipality is preselected")
	}
}

func TestParentFormOffersEveryMunicipality(t *testing.T) {
	a, srv := newApp(t, dbtest.NewTarget(t, db.SQLite))
	locs := parentLocations(t, a.Catalog, 1)
	b := NewBrowser(t, srv.App)
	s := parentSteps(locs)
	page := b.Get("/stadsregio-turnhout/aanvragen")
	p2 := step(b, page, "/stadsregio-turnhout/aanvragen", s[0], "next")
	checkMunicipalityGroups(t, municipalitySelect(t, p2.Body), "Gemeenten van dit loket", `<option value="13040">Turnhout</option>`)

	// A family from Gent registers at the Leuven desk.
	s[1].Set("address.municipality_nis", "44021")
	status := registerByFormWith(t, b, s)
	if !strings.HasPrefix(status, "/leuven/aanvraag/") {
		t.Fatalf("status link %q", status)
	}
}

func TestCounterFormOffersEveryMunicipality(t *testing.T) {
	w := newDemoWorld(t)
	worker := w.browsers[authz.DeskWorker]
	page := worker.Get("/leuven/loket/nieuw")
	sel := municipalitySelect(t, page.Body)
	checkMunicipalityGroups(t, sel, "Gemeenten van dit loket", `<option value="24062">Leuven</option>`)
	if strings.Contains(sel, " selected") {
		t.Errorf("the counter form preselects a municipality:\n%s", sel[:min(len(sel), 400)])
	}

	form := url.Values{
		"child.first_name": {"Noor"}, "child.last_name": {"Buitenstad"}, "child.birth_date": {time.Now().AddDate(0, -2, 0).Format("2006-01-02")},
		"parents[0].first_name": {"Lien"}, "parents[0].last_name": {"Buitenstad"}, "parents[0].phone": {"0470 11 22 33"},
		"language": {"nl"}, "desired_start": {time.Now().AddDate(0, 5, 0).Format("2006-01-02")}, "flexibility_weeks": {"3"},
		"care_plan.days": {"mon", "wed"}, "care_plan.day_part": {"half"}, "preferences[0]": {w.values[Own]["location"]}, "reason": {"work"},
		"channel": {"counter"}, "privacy_consent_version": {requests.PrivacyVersion},
	}
	none := worker.Post("/leuven/loket/nieuw", form)
	if none.Status != 422 || !strings.Contains(none.Body, `href="#address-municipality_nis"`) || !strings.Contains(none.Body, "Kies een gemeente") {
		t.Fatalf("no municipality chosen: %d\n%s", none.Status, errorSummary(none.Body))
	}
	// A family from Sint-Gillis (Brussels) registers at the Leuven counter.
	form.Set("address.municipality_nis", "21013")
	ok := worker.Post("/leuven/loket/nieuw", form)
	m := locationRE.FindStringSubmatch(ok.Header.Get("Location"))
	if ok.Status != http.StatusSeeOther || m == nil {
		t.Fatalf("registration: %d %s\n%s", ok.Status, ok.Header.Get("Location"), errorSummary(ok.Body))
	}
	c := worker.Get(m[0])
	if !strings.Contains(c.Body, "Sint-Gillis") {
		t.Errorf("the case page does not name the family's municipality")
	}
	// Dates on the case page are written out (issue 20, point 11).
	if l := leaks(visibleText(c.Body)); len(l) > 0 {
		t.Errorf("the case page shows %q", l)
	}
}
