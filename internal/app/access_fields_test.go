package app

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/loket-kinderopvang/loket/internal/access"
	"github.com/loket-kinderopvang/loket/internal/catalog"
	"github.com/loket-kinderopvang/loket/internal/platform/authz"
	"github.com/loket-kinderopvang/loket/internal/requests"
)

// The field dimension of the authorisation matrix (issue 13, points 3 and
// 9): requests with an invented, distinctive value in every personal field,
// read by every role that reaches them other than through her own desk;
// each answer must hold only the fields the visibility rule
// (requests/visibility.go, docs/security.md) gives that role.

// fieldAllowed is the rule, per way of reaching a request, restated here on
// purpose: a change of the rule must change this table too.
var fieldAllowed = map[string][]string{
	// Leuven's staff on Stadsregio Turnhout's requests (read in area).
	"area_reader": {},
	// Leuven's staff on Geel's requests (shared waiting list).
	"shared_list": {"identity", "birth_date", "contact", "notes", "flags", "history", "other_preferences"},
	// Leuven's partner on a family she referred.
	"partner": {"identity", "birth_date", "contact", "notes", "flags", "history", "other_preferences"},
	// The desk's own worker: everything (the control: proves the values show).
	"own": {"identity", "birth_date", "contact", "notes", "flags", "history", "other_preferences", "national_number_match"},
}

// planted is a request with its markers: per field, texts that appear in an
// answer only when that field is shown.
type planted struct {
	id      string
	markers map[string][]string
}

// plant registers a request at slug with distinctive values (tag), listing
// locations, and the same child (national number) at matchAt.
func plant(t *testing.T, w *demoWorld, slug, tag, matchAt string, serial int, actor requests.Actor, locations ...string) planted {
	t.Helper()
	sub := deskSub(t, w.a, slug, "Kindnaam"+tag, "Gezinsnaam"+tag, "ouder."+strings.ToLower(tag)+"@invented.example", locations...)
	born := time.Now().AddDate(0, -7, -3)
	sub.Child.BirthDate = born.Format("2006-01-02")
	sub.Parents[0].Phone = fmt.Sprintf("0499 %02d %02d %02d", serial, serial, serial)
	sub.Child.NationalNumber = nationalNumber(born, serial)
	sub.Vulnerable, sub.Note = true, "Loketnotitie"+tag
	if actor.Kind == requests.ActorPartner {
		sub.ReferredBy, sub.Channel = actor.ID, requests.ChannelPartner
		sub.Vulnerable = false
	}
	// The same child registered at another desk first: the planted request
	// is the suspected duplicate.
	match := deskSub(t, w.a, matchAt, "Anderkind"+tag, "Andergezin"+tag, "elders."+strings.ToLower(tag)+"@invented.example", locationIn(t, w.a, matchAt, true))
	match.Child.BirthDate, match.Child.NationalNumber = sub.Child.BirthDate, sub.Child.NationalNumber
	submitAt(t, w.a, matchAt, match, requests.Actor{ID: "test", Kind: requests.ActorDesk})
	r := submitAt(t, w.a, slug, sub, actor)
	if actor.Kind == requests.ActorPartner {
		if err := w.a.Requests.SetVulnerable(deskCtx(t, w.a, slug), r.ID, true, requests.Actor{ID: "test", Kind: requests.ActorDesk}); err != nil {
			t.Fatal(err)
		}
		if _, err := w.a.Requests.AddNote(deskCtx(t, w.a, slug), r.ID, "Loketnotitie"+tag, requests.Actor{ID: "test", Kind: requests.ActorDesk}); err != nil {
			t.Fatal(err)
		}
	}
	return planted{id: r.ID.String(), markers: map[string][]string{
		"identity": {"Kindnaam" + tag, "Gezinsnaam" + tag},
		"birth_date": {sub.Child.BirthDate, w.a.messages.For("nl").DateString(sub.Child.BirthDate), // written out on the pages
			w.a.messages.For("fr").DateString(sub.Child.BirthDate), w.a.messages.For("en").DateString(sub.Child.BirthDate)},
		"contact":               {sub.Parents[0].Email, sub.Parents[0].Phone},
		"notes":                 {"Loketnotitie" + tag},
		"flags":                 {`flag-vulnerable"`},
		"history":               {"Registreerde de aanvraag."},
		"national_number_match": {"Zelfde rijksregisternummer", `flag-duplicate"`, `id="dup-title"`},
	}}
}

// fieldsIn lists the fields of p whose markers appear in body.
func fieldsIn(body string, p planted) []string {
	var out []string
	for f, ms := range p.markers {
		for _, m := range ms {
			if strings.Contains(body, m) {
				out = append(out, f)
				break
			}
		}
	}
	sort.Strings(out)
	return out
}

func locationName(t *testing.T, w *demoWorld, id string) string {
	t.Helper()
	var l catalog.Location
	if err := w.a.DB.NewSelect().Model(&l).Column("name").Where("id = ?", id).Scan(context.Background()); err != nil {
		t.Fatal(err)
	}
	return l.Name
}

// TestAuthorisationMatrixFields: for every page a role reaches through an
// agreement (and a partner through her referral), the personal fields in the
// answer are exactly within the rule; the desk's own worker sees them all.
func TestAuthorisationMatrixFields(t *testing.T) {
	w := newDemoWorld(t)
	ctx := context.Background()
	desk := requests.Actor{ID: "test", Kind: requests.ActorDesk}
	geel, _ := w.a.Directory.BySlug("geel-laakdal-meerhout")
	if _, err := w.a.Access.SeedAgreement(ctx, geel.ID, access.NewAgreement{Receiving: "leuven", Access: access.SharedWaitingList,
		StartsOn: "2026-01-01"}, "test:geel", "test:leuven"); err != nil {
		t.Fatal(err)
	}
	inLeuven := locationIn(t, w.a, "leuven", true)
	inTurnhout := locationIn(t, w.a, DemoSharingFrom, true)
	area := plant(t, w, DemoSharingFrom, "AR", "geel-laakdal-meerhout", 11, desk, inTurnhout, inLeuven)
	area.markers["other_preferences"] = []string{locationName(t, w, inTurnhout)}
	shared := plant(t, w, "geel-laakdal-meerhout", "SL", DemoSharingFrom, 22, desk, locationIn(t, w.a, "geel-laakdal-meerhout", true))
	partner := requests.Actor{ID: mustUserID(t, w.a, authz.Partner), Kind: requests.ActorPartner}
	referred := plant(t, w, "leuven", "PA", "geel-laakdal-meerhout", 33, partner, inLeuven)

	type page struct{ name, path string }
	pages := func(slug string, p planted) []page {
		base := "/" + slug + "/loket"
		return []page{
			{"worklist", base + "?lang=nl"},
			{"worklist searched by name", base + "?lang=nl&q=Kindnaam"},
			{"worklist of vulnerable families", base + "?lang=nl&attention=vulnerable"},
			{"worklist of duplicates", base + "?lang=nl&attention=duplicate"},
			{"request page", base + "/aanvragen/" + p.id + "?lang=nl"},
		}
	}
	cases := []struct {
		way  string
		role authz.Role
		slug string
		p    planted
	}{
		{"area_reader", authz.DeskWorker, DemoSharingFrom, area},
		{"area_reader", authz.DeskAdmin, DemoSharingFrom, area},
		{"shared_list", authz.DeskWorker, "geel-laakdal-meerhout", shared},
		{"shared_list", authz.DeskAdmin, "geel-laakdal-meerhout", shared},
		{"partner", authz.Partner, "leuven", referred},
		{"own", authz.DeskWorker, "leuven", referred},
	}
	for _, c := range cases {
		allowed := map[string]bool{}
		for _, f := range fieldAllowed[c.way] {
			allowed[f] = true
		}
		seen := map[string]bool{}
		reached := false
		for _, pg := range pages(c.slug, c.p) {
			r := w.browsers[c.role].Get(pg.path)
			if r.Status != 200 {
				t.Errorf("%s (%s) %s: %d", c.role, c.way, pg.name, r.Status)
				continue
			}
			if strings.Contains(r.Body, c.p.id) {
				reached = true
			}
			for _, f := range fieldsIn(r.Body, c.p) {
				seen[f] = true
				if !allowed[f] {
					t.Errorf("%s (%s) %s shows %s", c.role, c.way, pg.name, f)
				}
			}
		}
		if !reached {
			t.Errorf("%s (%s) never reached the request: the check proves nothing", c.role, c.way)
		}
		if c.way == "own" {
			for _, f := range fieldAllowed["own"] {
				if !seen[f] && f != "other_preferences" {
					t.Errorf("the desk's own worker must see %s (the markers must work)", f)
				}
			}
		}
	}
	// The area reader still sees what the rule gives: the request, its
	// preference in her area, the child's age and the care plan.
	r := w.browsers[authz.DeskWorker].Get("/" + DemoSharingFrom + "/loket/aanvragen/" + area.id + "?lang=nl")
	for _, want := range []string{locationName(t, w, inLeuven), "7 maanden", "maandag"} {
		if !strings.Contains(r.Body, want) {
			t.Errorf("the area reader's request page lacks %q", want)
		}
	}
}

// TestPartnerLearnsNothingOfOtherDesks (issue 13, point 9): a partner
// registers, through the desk form, a child already registered at
// Geel–Laakdal–Meerhout with the same national number. The page she lands
// on names no other desk and hints at no match; Leuven's own worker sees
// the hint on the same request.
func TestPartnerLearnsNothingOfOtherDesks(t *testing.T) {
	w := newDemoWorld(t)
	loc := w.values[Own]["location"]
	d, _ := w.a.Directory.BySlug("leuven")
	born := time.Now().AddDate(0, -4, 0)
	nn := nationalNumber(born, 77)
	elsewhere := deskSub(t, w.a, "geel-laakdal-meerhout", "Tweelingzus", "Dubbelaar", "dubbel@invented.example",
		locationIn(t, w.a, "geel-laakdal-meerhout", true))
	elsewhere.Child.BirthDate, elsewhere.Child.NationalNumber = born.Format("2006-01-02"), nn
	submitAt(t, w.a, "geel-laakdal-meerhout", elsewhere, requests.Actor{ID: "test", Kind: requests.ActorDesk})
	form := url.Values{
		"child.first_name": {"Partnerkind"}, "child.last_name": {"Dubbelaar"}, "child.birth_date": {born.Format("2006-01-02")},
		"child.national_number": {nn},
		"parents[0].first_name": {"Sam"}, "parents[0].last_name": {"Dubbelaar"}, "parents[0].email": {"sam@invented.example"},
		"language": {"nl"}, "address.municipality_nis": {string(d.Municipalities[0])},
		"desired_start": {time.Now().AddDate(0, 5, 0).Format("2006-01-02")}, "flexibility_weeks": {"3"},
		"care_plan.days": {"mon"}, "care_plan.day_part": {"whole"}, "preferences[0]": {loc}, "reason": {"work"},
		"privacy_consent_version": {requests.PrivacyVersion},
	}
	partner := w.browsers[authz.Partner]
	r := partner.Post("/leuven/loket/nieuw?lang=nl", form)
	if r.Status != http.StatusSeeOther {
		t.Fatalf("partner registration: %d", r.Status)
	}
	landing := partner.Get(r.Header.Get("Location"))
	if landing.Status != 200 || !strings.Contains(landing.Body, "Partnerkind") {
		t.Fatalf("the partner's request page: %d", landing.Status)
	}
	for _, leak := range []string{"Geel-Laakdal-Meerhout", "Geel–Laakdal–Meerhout", "Zelfde rijksregisternummer", `id="dup-title"`} {
		if strings.Contains(landing.Body, leak) {
			t.Errorf("the partner's page shows %q", leak)
		}
	}
	if wl := partner.Get("/leuven/loket"); strings.Contains(wl.Body, `flag-duplicate"`) {
		t.Error("the partner's worklist flags the match at another desk")
	}
	// A counter registration lands on the receipt; the case page is its parent.
	casePage := strings.TrimSuffix(r.Header.Get("Location"), requests.PathReceipt)
	if casePage == r.Header.Get("Location") {
		t.Fatalf("the registration should land on its receipt, got %s", casePage)
	}
	partnerCase := partner.Get(casePage)
	if partnerCase.Status != 200 || !strings.Contains(partnerCase.Body, "Partnerkind") {
		t.Fatalf("the partner's case page: %d", partnerCase.Status)
	}
	for _, leak := range []string{"Geel-Laakdal-Meerhout", "Geel–Laakdal–Meerhout", "Zelfde rijksregisternummer", `id="dup-title"`} {
		if strings.Contains(partnerCase.Body, leak) {
			t.Errorf("the partner's case page shows %q", leak)
		}
	}
	desk := w.browsers[authz.DeskWorker].Get(casePage)
	if !strings.Contains(desk.Body, "Zelfde rijksregisternummer") || !strings.Contains(desk.Body, `id="dup-title"`) {
		t.Error("Leuven's own worker must see the match (else this test proves nothing)")
	}
}
