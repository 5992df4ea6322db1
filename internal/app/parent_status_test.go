package app

// Issue 20, points 3 and 7: the status page writes a round's explanation in
// the reader's language with the names of locations, months and age groups
// (never an id), and an offer shows where to go and whom to call.

import (
	"context"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/loket-kinderopvang/loket/internal/catalog"
	"github.com/loket-kinderopvang/loket/internal/platform/db"
	"github.com/loket-kinderopvang/loket/internal/platform/dbtest"
	"github.com/loket-kinderopvang/loket/internal/platform/tenancy"
	"github.com/loket-kinderopvang/loket/internal/requests"
)

// pipeKey is an internal key joined with "|" ("<uuid>|2027-03|baby").
var pipeKey = regexp.MustCompile(`\S+\|\S+`)

// isoDate is a date as a machine writes it (2027-03-01): people read dates
// written out (issue 20, point 11).
// A month as a machine writes it (2027-03) counts too.
var isoDate = regexp.MustCompile(`\b20\d{2}-(0[1-9]|1[0-2])(-\d{2})?\b`)

// leaks lists what a person should never read: template placeholders,
// uuids, "|"-joined keys and dates as a machine writes them.
func leaks(text string) []string {
	var out []string
	out = append(out, isoDate.FindAllString(text, 3)...)
	if strings.Contains(text, "<no value>") || strings.Contains(text, "no value&gt;") {
		out = append(out, "<no value>")
	}
	out = append(out, uuidRE.FindAllString(text, 3)...)
	out = append(out, pipeKey.FindAllString(text, 3)...)
	return out
}

// submitParent registers a request for the first of locs, starting in two
// months, and returns it with its status path.
func submitParent(t testing.TB, a *App, name string, locs ...catalog.LocationID) (*requests.Request, string) {
	t.Helper()
	ctx := tenancy.WithTenant(context.Background(), leuvenID(t, a))
	var prefs []string
	for _, l := range locs {
		prefs = append(prefs, l.String())
	}
	start := time.Now().AddDate(0, 2, 0)
	sub := requests.Submission{
		Child:    requests.ChildInput{FirstName: name, LastName: "Testkind", BirthDate: time.Now().AddDate(0, -4, 0).Format("2006-01-02")},
		Parents:  []requests.ParentInput{{FirstName: "Ouder", LastName: name, Email: strings.ToLower(name) + "@ouders.example", Phone: "0470 11 22 33"}},
		Language: "fr", Address: requests.AddressInput{MunicipalityNIS: "24062"},
		DesiredStart: time.Date(start.Year(), start.Month(), 1, 0, 0, 0, 0, time.UTC).Format("2006-01-02"),
		CarePlan:     requests.CarePlanInput{Days: []string{"mon", "tue"}, DayPart: "whole"},
		Preferences:  prefs, Reason: "work", PrivacyVersion: requests.PrivacyVersion,
	}
	r, link, _, err := a.Requests.Submit(ctx, sub, requests.Actor{Kind: requests.ActorParent}, "")
	if err != nil {
		t.Fatal(err)
	}
	return r, pathOfLink(link)
}

func pathOfLink(link string) string {
	if i := strings.Index(link, "/leuven/"); i >= 0 {
		return link[i:]
	}
	return link
}

func TestStatusPageExplainsTheRoundInTheReadersLanguage(t *testing.T) {
	a, srv := newApp(t, dbtest.NewTarget(t, db.SQLite))
	locs := parentLocations(t, a.Catalog, 1)
	desk := tenancy.WithTenant(context.Background(), leuvenID(t, a))
	var paths []string
	for _, n := range []string{"Lou", "Mats", "Nel"} {
		_, p := submitParent(t, a, n, locs[0])
		paths = append(paths, p)
	}
	month := time.Now().AddDate(0, 2, 0).Format("2006-01")
	r, err := a.Rounds.DryRun(desk, month, month, "", "test")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Rounds.Publish(desk, r.ID, "test"); err != nil {
		t.Fatal(err)
	}
	m, _ := time.Parse("2006-01", month)
	frMonth := []string{"janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre", "novembre", "décembre"}[m.Month()-1]
	b := NewBrowser(t, srv.App)
	explained := 0
	for _, p := range paths {
		page := b.Get(p + "?lang=fr")
		if page.Status != 200 {
			t.Fatalf("status page %d", page.Status)
		}
		text := visibleText(page.Body)
		if l := leaks(text); len(l) > 0 {
			t.Errorf("the status page shows %q:\n%s", l, text)
		}
		if strings.Contains(text, "Zonnebloem A") && strings.Contains(text, frMonth+" "+strconv.Itoa(m.Year())) &&
			(strings.Contains(text, "Votre enfant reçoit une place") || strings.Contains(text, "Votre enfant ne reçoit pas de place")) {
			explained++
		}
	}
	if explained != len(paths) {
		t.Errorf("%d of %d status pages explain the round in French with the location, month and age group", explained, len(paths))
	}
}

func TestStatusPageOfferShowsAddressPhoneAndProvider(t *testing.T) {
	a, srv := newApp(t, dbtest.NewTarget(t, db.SQLite))
	locs := parentLocations(t, a.Catalog, 1)
	ctx := context.Background()
	d, err := a.Catalog.Get(ctx, locs[0], "")
	if err != nil {
		t.Fatal(err)
	}
	d.Street, d.Phone = "Bloemenstraat 1", "016 12 34 56"
	if err := a.Catalog.SaveLocation(ctx, &d.Location); err != nil {
		t.Fatal(err)
	}
	req, path := submitParent(t, a, "Roos", locs[0])
	offer(t, a, req.ID, 1)
	b := NewBrowser(t, srv.App)
	page := b.Get(path + "?lang=nl")
	text := visibleText(page.Body)
	for _, want := range []string{"Bloemenstraat 1, 3000 Leuven", "016 12 34 56", "Vzw Zonnebloem (test)"} {
		if !strings.Contains(text, want) {
			t.Errorf("the offer does not show %q:\n%s", want, text)
		}
	}
	if l := leaks(text); len(l) > 0 {
		t.Errorf("the status page shows %q", l)
	}
}
