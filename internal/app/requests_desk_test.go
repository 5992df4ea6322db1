package app

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/loket-kinderopvang/loket/internal/catalog"
	"github.com/loket-kinderopvang/loket/internal/platform/authz"
	"github.com/loket-kinderopvang/loket/internal/platform/dbtest"
	"github.com/loket-kinderopvang/loket/internal/platform/page"
	"github.com/loket-kinderopvang/loket/internal/platform/tenancy"
	"github.com/loket-kinderopvang/loket/internal/requests"
)

// RequestRoutes are the desk and provider routes of the request lifecycle.
// {request} is a request of the variant's desk whose first preference is at
// the demo provider's location; in Leuven (own) it was referred by the
// demo partner, so she sees it. The demo agreement lets Leuven's staff read
// Turnhout's requests (shared), never change them.
var RequestRoutes = []RouteCase{
	{Method: "GET", Path: "/{tenant}/loket", OK: 200, Allow: map[Variant][]authz.Role{
		Own: {authz.DeskAdmin, authz.DeskWorker, authz.Partner}, Shared: {authz.DeskAdmin, authz.DeskWorker}}},
	{Method: "GET", Path: "/{tenant}/loket/nieuw", OK: 200, Allow: OwnOnly(authz.DeskAdmin, authz.DeskWorker, authz.Partner)},
	{Method: "POST", Path: "/{tenant}/loket/nieuw", Form: url.Values{}, OK: 422, Allow: OwnOnly(authz.DeskAdmin, authz.DeskWorker, authz.Partner)},
	{Method: "GET", Path: "/{tenant}/loket/aanvragen/{request}", OK: 200, Allow: map[Variant][]authz.Role{
		Own: {authz.DeskAdmin, authz.DeskWorker, authz.Partner}, Shared: {authz.DeskAdmin, authz.DeskWorker}}},
	// The receipt carries the status link: never for a desk that only shares its reading.
	{Method: "GET", Path: "/{tenant}/loket/aanvragen/{request}/ontvangstbewijs", OK: 200,
		Allow: OwnOnly(authz.DeskAdmin, authz.DeskWorker, authz.Partner)},
	{Method: "GET", Path: "/{tenant}/loket/code", OK: 200, Allow: OwnOnly(authz.DeskAdmin, authz.DeskWorker, authz.Partner)},
	{Method: "POST", Path: "/{tenant}/loket/aanvragen/{request}/notitie", Form: url.Values{"body": {" "}}, OK: 422,
		Allow: OwnOnly(authz.DeskAdmin, authz.DeskWorker, authz.Partner)},
	{Method: "GET", Path: "/aanbieder/{provider}/aanvragen", OK: 200, Allow: OwnOnly(authz.ProviderAdmin, authz.ProviderStaff)},
	{Method: "POST", Path: "/aanbieder/{provider}/aanvragen/{desk}/{request}/1", Form: url.Values{"kind": {"maybe"}}, OK: 422,
		Allow: OwnOnly(authz.ProviderAdmin, authz.ProviderStaff)},
	{Method: "GET", Path: "/api/v1/providers/{provider}/inbox", OK: 200, Allow: OwnOnly(authz.ProviderAdmin, authz.ProviderStaff)},
	{Method: "GET", Path: "/api/v1/providers/{provider}/offers", OK: 200, Allow: OwnOnly(authz.ProviderAdmin, authz.ProviderStaff)},
	{Method: "GET", Path: "/api/v1/providers/{provider}/placements", OK: 200, Allow: OwnOnly(authz.ProviderAdmin, authz.ProviderStaff)},
	{Method: "GET", Path: "/api/v1/providers/{provider}/withdrawals", OK: 200, Allow: OwnOnly(authz.ProviderAdmin, authz.ProviderStaff)},
	{Method: "POST", Path: "/api/v1/providers/{provider}/answers", JSON: `{"kind":"maybe"}`, OK: 422,
		Allow: OwnOnly(authz.ProviderAdmin, authz.ProviderStaff)},
	// Allocation rounds: desk staff only (not partners, not read-only sharing).
	{Method: "GET", Path: "/{tenant}/loket/rondes", OK: 200, Allow: OwnOnly(authz.DeskAdmin, authz.DeskWorker)},
	{Method: "POST", Path: "/{tenant}/loket/rondes", Form: url.Values{"from_month": {"mei"}}, OK: 422, Allow: OwnOnly(authz.DeskAdmin, authz.DeskWorker)},
	{Method: "GET", Path: "/aanbieder/{provider}/rondes", OK: 200, Allow: OwnOnly(authz.ProviderAdmin, authz.ProviderStaff)},
}

// deskSub is a valid desk submission for slug's first municipality.
func deskSub(t *testing.T, a *App, slug, first, last, email string, locations ...string) requests.Submission {
	t.Helper()
	d, ok := a.Directory.BySlug(slug)
	if !ok || len(d.Municipalities) == 0 {
		t.Fatalf("desk %s has no municipalities", slug)
	}
	return requests.Submission{
		Child:    requests.ChildInput{FirstName: first, LastName: last, BirthDate: time.Now().AddDate(0, -3, 0).Format("2006-01-02")},
		Parents:  []requests.ParentInput{{FirstName: "Ouder", LastName: last, Email: email, Phone: "0470 00 00 00"}},
		Language: "nl", Address: requests.AddressInput{MunicipalityNIS: string(d.Municipalities[0])},
		DesiredStart: time.Now().AddDate(0, 4, 0).Format("2006-01-02"), FlexibilityWeeks: 2,
		CarePlan:    requests.CarePlanInput{Days: []string{"mon", "tue"}, DayPart: "whole"},
		Preferences: locations, Reason: "work", PrivacyVersion: requests.PrivacyVersion, Channel: requests.ChannelCounter,
	}
}

func deskCtx(t *testing.T, a *App, slug string) context.Context {
	t.Helper()
	d, ok := a.Directory.BySlug(slug)
	if !ok {
		t.Fatalf("no desk %s", slug)
	}
	return tenancy.WithTenant(context.Background(), d.ID)
}

func submitAt(t *testing.T, a *App, slug string, sub requests.Submission, actor requests.Actor) *requests.Request {
	t.Helper()
	r, _, _, err := a.Requests.Submit(deskCtx(t, a, slug), sub, actor, "")
	if err != nil {
		t.Fatalf("submit at %s: %v", slug, err)
	}
	return r
}

// addRequestValues gives every variant a request of its desk at the demo
// location (the one the demo provider staff member answers for).
func addRequestValues(t *testing.T, w *demoWorld) {
	t.Helper()
	loc := w.values[Own]["location"]
	partner := mustUserID(t, w.a, authz.Partner)
	for _, v := range []Variant{Own, Other, Shared} {
		slug := w.values[v]["tenant"]
		sub := deskSub(t, w.a, slug, "Matrix", "Kind-"+string(v), "matrix-"+string(v)+"@ouders.example", loc)
		if v == Shared {
			// Read in area: Leuven's staff see it because it lists a location in Leuven.
			if in := locationIn(t, w.a, "leuven", true); in != loc {
				sub.Preferences = append(sub.Preferences, in)
			}
		}
		actor := requests.Actor{ID: "test", Kind: requests.ActorDesk}
		if v == Own {
			sub.ReferredBy, sub.Channel = partner, requests.ChannelPartner
			actor = requests.Actor{ID: partner, Kind: requests.ActorPartner}
		}
		r := submitAt(t, w.a, slug, sub, actor)
		w.values[v]["request"] = r.ID.String()
		w.values[v]["desk"] = slug
	}
}

// locationIn returns a location that takes requests inside (or outside)
// the municipalities of desk slug.
func locationIn(t *testing.T, a *App, slug string, inside bool) string {
	t.Helper()
	d, _ := a.Directory.BySlug(slug)
	var l catalog.Location
	q := a.DB.NewSelect().Model(&l).Column("id").Where("accepts_requests").OrderExpr("id").Limit(1)
	if inside {
		q = q.Where("municipality_nis IN (?)", bun.In(d.Municipalities))
	} else {
		q = q.Where("municipality_nis NOT IN (?)", bun.In(d.Municipalities))
	}
	if err := q.Scan(context.Background()); err != nil {
		t.Fatalf("a location (inside %v) of %s: %v", inside, slug, err)
	}
	return l.ID.String()
}

// TestSharedReadInArea: through the demo agreement (read requests in area)
// Leuven's worker sees Turnhout's requests that list a location in Leuven,
// and no others, in the worklist and on the request page (without the
// family's personal fields); she cannot change them.
func TestSharedReadInArea(t *testing.T) {
	w := newDemoWorld(t)
	desk := requests.Actor{ID: "test", Kind: requests.ActorDesk}
	in := submitAt(t, w.a, DemoSharingFrom, deskSub(t, w.a, DemoSharingFrom, "Binnenkind", "Leuvenlijst", "binnen@ouders.example", locationIn(t, w.a, "leuven", true)), desk)
	out := submitAt(t, w.a, DemoSharingFrom, deskSub(t, w.a, DemoSharingFrom, "Buitenkind", "Kempenlijst", "buiten@ouders.example", locationIn(t, w.a, "leuven", false)), desk)
	worker := w.browsers[authz.DeskWorker]
	list := worker.Get("/" + DemoSharingFrom + "/loket")
	// Listed by request, without the child's name (see TestAuthorisationMatrixFields).
	if list.Status != 200 || !strings.Contains(list.Body, in.ID.String()) || strings.Contains(list.Body, out.ID.String()) ||
		strings.Contains(list.Body, "Binnenkind") || strings.Contains(list.Body, "Buitenkind") {
		t.Errorf("shared worklist: %d; must list only the request in Leuven's area, without names", list.Status)
	}
	if r := worker.Get("/" + DemoSharingFrom + "/loket/aanvragen/" + in.ID.String()); r.Status != 200 || strings.Contains(r.Body, "Binnenkind") {
		t.Errorf("request in the area: %d", r.Status)
	}
	if r := worker.Get("/" + DemoSharingFrom + "/loket/aanvragen/" + out.ID.String()); r.Status != 404 || strings.Contains(r.Body, "Buitenkind") {
		t.Errorf("request outside the area: %d", r.Status)
	}
	if r := worker.Post("/"+DemoSharingFrom+"/loket/aanvragen/"+in.ID.String()+"/notitie", url.Values{"body": {"mag niet"}}); r.Status != 404 {
		t.Errorf("a read-only agreement must not let her write: %d", r.Status)
	}
}

// TestCrossTenantRequestRoutes: Leuven's worker (desk B) uses Geel's (desk A)
// request ids in every request route: 404, and nothing of Geel's family.
// The demo provider may not answer a Geel preference at another provider's
// location either.
func TestCrossTenantRequestRoutes(t *testing.T) {
	w := newDemoWorld(t)
	secretChild, secretMail := "Geheimkind", "geheim.ouder@geel.example"
	own, other := w.values[Own], w.values[Other]
	r := submitAt(t, w.a, "geel-laakdal-meerhout",
		deskSub(t, w.a, "geel-laakdal-meerhout", secretChild, "Geelmans", secretMail, other["location"]),
		requests.Actor{ID: "test", Kind: requests.ActorDesk})
	ids := map[string]string{"A": "geel-laakdal-meerhout", "B": "leuven", "request": r.ID.String(),
		"provider": own["provider"], "otherprovider": other["provider"]}
	routes := []AttackRoute{
		{Method: "GET", Path: "/{B}/loket/aanvragen/{request}"},
		{Method: "GET", Path: "/{B}/loket/aanvragen/{request}/ontvangstbewijs"},
		{Method: "POST", Path: "/{B}/loket/aanvragen/{request}/notitie", Form: url.Values{"body": {"aanval"}}},
		{Method: "POST", Path: "/{B}/loket/aanvragen/{request}/kwetsbaar", Form: url.Values{"vulnerable": {"1"}}},
		{Method: "POST", Path: "/{B}/loket/aanvragen/{request}/activeren", Form: url.Values{}},
		{Method: "POST", Path: "/{B}/loket/aanvragen/{request}/dubbel", Form: url.Values{"decision": {"merge"}}},
		{Method: "POST", Path: "/{B}/loket/aanvragen/{request}/intrekken", Form: url.Values{"why": {"aanval"}}},
		{Method: "POST", Path: "/{B}/loket/aanvragen/{request}/afsluiten", Form: url.Values{"why": {"aanval"}}},
		{Method: "GET", Path: "/{A}/loket"},
		{Method: "GET", Path: "/{A}/loket/nieuw"},
		{Method: "POST", Path: "/{A}/loket/nieuw", Form: url.Values{"child.first_name": {"x"}}},
		{Method: "GET", Path: "/{A}/loket/aanvragen/{request}"},
		{Method: "POST", Path: "/{A}/loket/aanvragen/{request}/notitie", Form: url.Values{"body": {"aanval"}}},
		{Method: "POST", Path: "/{A}/loket/aanvragen/{request}/intrekken", Form: url.Values{"why": {"aanval"}}},
		{Method: "GET", Path: "/aanbieder/{otherprovider}/aanvragen"},
		{Method: "POST", Path: "/aanbieder/{otherprovider}/aanvragen/{A}/{request}/1", Form: url.Values{"kind": {"waiting_list"}}},
		{Method: "GET", Path: "/api/v1/providers/{otherprovider}/inbox"},
		{Method: "GET", Path: "/api/v1/providers/{otherprovider}/offers"},
		{Method: "GET", Path: "/api/v1/providers/{otherprovider}/withdrawals"},
	}
	secrets := []string{secretChild, secretMail, r.ID.String()}
	for _, role := range []authz.Role{authz.DeskWorker, authz.DeskAdmin, authz.Partner} {
		t.Run(string(role), func(t *testing.T) {
			rs := routes
			if role == authz.Partner {
				rs = routes[:8] // the desk routes
			}
			AssertCrossTenant404(t, w.browsers[role], rs, ids, secrets[:2])
		})
	}
	t.Run("provider", func(t *testing.T) {
		AssertCrossTenant404(t, w.browsers[authz.ProviderAdmin], []AttackRoute{
			{Method: "POST", Path: "/aanbieder/{provider}/aanvragen/{A}/{request}/1", Form: url.Values{"kind": {"waiting_list"}}},
			{Method: "POST", Path: "/api/v1/providers/{provider}/answers",
				JSON: fmt.Sprintf(`{"desk":"geel-laakdal-meerhout","request_id":%q,"rank":1,"kind":"waiting_list"}`, r.ID)},
			{Method: "GET", Path: "/aanbieder/{otherprovider}/aanvragen"},
		}, ids, secrets[:2])
	})
	cs, err := w.a.Requests.Case(deskCtx(t, w.a, "geel-laakdal-meerhout"), r.ID)
	if err != nil {
		t.Fatal(err)
	}
	if cs.Request.Status != requests.StatusSubmitted || len(cs.Notes) != 0 || cs.Family.Vulnerable || cs.Request.Preferences[0].State != requests.PreferencePending {
		t.Errorf("the attack changed Geel's request: %+v notes %d", cs.Request, len(cs.Notes))
	}
}

// TestDeskWorklist: attention, status and name filters by GET query (no
// JavaScript); a partner sees only the families she referred.
func TestDeskWorklist(t *testing.T) {
	dbtest.EachTarget(t, func(t *testing.T, tg dbtest.Target) {
		w := newDemoWorld(t, tg)
		loc := w.values[Own]["location"]
		desk := requests.Actor{ID: "test", Kind: requests.ActorDesk}
		urgent := deskSub(t, w.a, "leuven", "Dringend", "Snelmans", "snel@ouders.example", loc)
		urgent.Urgent = true
		submitAt(t, w.a, "leuven", urgent, desk)
		vuln := deskSub(t, w.a, "leuven", "Kwetsbaar", "Zorgmans", "zorg@ouders.example", loc)
		vuln.Vulnerable = true
		rv := submitAt(t, w.a, "leuven", vuln, desk)
		partner := mustUserID(t, w.a, authz.Partner)
		ref := deskSub(t, w.a, "leuven", "Verwezen", "Partnermans", "partner@ouders.example", loc)
		ref.ReferredBy = partner
		submitAt(t, w.a, "leuven", ref, requests.Actor{ID: partner, Kind: requests.ActorPartner})
		if err := w.a.Requests.Activate(deskCtx(t, w.a, "leuven"), rv.ID, desk); err != nil {
			t.Fatal(err)
		}
		worker := w.browsers[authz.DeskWorker]
		check := func(path string, want, not []string) {
			t.Helper()
			res := worker.Get(path)
			if res.Status != 200 {
				t.Fatalf("%s: %d %s", path, res.Status, res.Body)
			}
			for _, s := range want {
				if !strings.Contains(res.Body, s) {
					t.Errorf("%s lacks %q", path, s)
				}
			}
			for _, s := range not {
				if strings.Contains(res.Body, s) {
					t.Errorf("%s shows %q", path, s)
				}
			}
		}
		check("/leuven/loket", []string{"Dringend Snelmans", "Kwetsbaar Zorgmans", "Verwezen Partnermans", "Kwetsbaar gezin"}, nil)
		check("/leuven/loket?attention=urgent", []string{"Dringend Snelmans"}, []string{"Kwetsbaar Zorgmans", "Verwezen Partnermans"})
		check("/leuven/loket?attention=vulnerable", []string{"Kwetsbaar Zorgmans"}, []string{"Dringend Snelmans"})
		check("/leuven/loket?status=active", []string{"Kwetsbaar Zorgmans"}, []string{"Dringend Snelmans", "Verwezen Partnermans"})
		check("/leuven/loket?q=partnerm", []string{"Verwezen Partnermans"}, []string{"Dringend Snelmans", "Kwetsbaar Zorgmans"})
		check("/leuven/loket?attention=nonsense&status=nonsense", []string{"Dringend Snelmans"}, nil)
		check("/leuven/loket?lang=en", []string{"Desk worklist", "Vulnerable family"}, nil)
		check("/leuven/loket?lang=fr", []string{"Liste de travail du guichet", "Famille vulnérable"}, nil)
		p := w.browsers[authz.Partner].Get("/leuven/loket")
		if p.Status != 200 || !strings.Contains(p.Body, "Verwezen Partnermans") || strings.Contains(p.Body, "Dringend Snelmans") || strings.Contains(p.Body, "Kwetsbaar Zorgmans") {
			t.Errorf("the partner must see only her referral: %d", p.Status)
		}
		if r := w.browsers[authz.Partner].Get("/leuven/loket/aanvragen/" + rv.ID.String()); r.Status != 404 || strings.Contains(r.Body, "Zorgmans") {
			t.Errorf("the partner opened a family she did not refer: %d", r.Status)
		}
	})
}

var locationRE = regexp.MustCompile(`/leuven/loket/aanvragen/([0-9a-f-]{36})`)

// TestDeskRequestPage: the request page shows child, family, preferences
// with location names, history and notes; the worker adds a note, marks the
// family vulnerable, activates, and merges a likely duplicate.
func TestDeskRequestPage(t *testing.T) {
	dbtest.EachTarget(t, func(t *testing.T, tg dbtest.Target) {
		w := newDemoWorld(t, tg)
		ctx := deskCtx(t, w.a, "leuven")
		loc := w.values[Own]["location"]
		desk := requests.Actor{ID: "test", Kind: requests.ActorDesk}
		first := submitAt(t, w.a, "leuven", deskSub(t, w.a, "leuven", "Tweeling", "Dubbelmans", "dubbel@ouders.example", loc), desk)
		second := submitAt(t, w.a, "leuven", deskSub(t, w.a, "leuven", "Tweeling", "Dubbelmans", "dubbel@ouders.example", loc), desk)
		worker := w.browsers[authz.DeskWorker]
		base := "/leuven/loket/aanvragen/"
		page := worker.Get(base + first.ID.String())
		cs, _ := w.a.Requests.Case(ctx, first.ID)
		locName := cs.Locations[cs.Request.Preferences[0].LocationID].Name
		for _, want := range []string{"Tweeling Dubbelmans", "dubbel@ouders.example", locName, "Wacht op antwoord", "Registreerde de aanvraag.", "Notitie toevoegen"} {
			if !strings.Contains(page.Body, want) {
				t.Errorf("request page lacks %q", want)
			}
		}
		if r := worker.Post(base+first.ID.String()+"/notitie", url.Values{"body": {"Belde op maandag terug."}}); r.Status != http.StatusSeeOther {
			t.Fatalf("note: %d", r.Status)
		}
		if r := worker.Post(base+first.ID.String()+"/notitie", url.Values{"body": {"  "}}); r.Status != 422 || !strings.Contains(r.Body, "Vul dit in.") {
			t.Errorf("empty note: %d", r.Status)
		}
		if r := worker.Post(base+first.ID.String()+"/kwetsbaar", url.Values{"vulnerable": {"1"}}); r.Status != http.StatusSeeOther {
			t.Fatalf("vulnerable: %d", r.Status)
		}
		if r := worker.Post(base+first.ID.String()+"/activeren", url.Values{}); r.Status != http.StatusSeeOther {
			t.Fatalf("activate: %d", r.Status)
		}
		if r := worker.Post(base+first.ID.String()+"/activeren", url.Values{}); r.Status != http.StatusConflict {
			t.Errorf("activating twice: %d", r.Status)
		}
		page = worker.Get(base + first.ID.String() + "?gedaan=activeren")
		for _, want := range []string{"Belde op maandag terug.", "De aanvraag is actief.", "Keek de aanvraag na", "Markeerde het gezin als kwetsbaar.", "Niet langer kwetsbaar", "Actief"} {
			if !strings.Contains(page.Body, want) {
				t.Errorf("after the changes the page lacks %q", want)
			}
		}
		dup := worker.Get(base + second.ID.String())
		if !strings.Contains(dup.Body, "Mogelijk dubbele aanvraag") || !strings.Contains(dup.Body, base+first.ID.String()) {
			t.Fatalf("the second request must show the duplicate hint with a link to the first")
		}
		if r := worker.Post(base+second.ID.String()+"/dubbel", url.Values{"decision": {"merge"}}); r.Status != http.StatusSeeOther {
			t.Fatalf("merge: %d", r.Status)
		}
		got, _ := w.a.Requests.Case(ctx, second.ID)
		if got.Request.Status != requests.StatusClosed || got.Request.DuplicateState != requests.DuplicateMerged {
			t.Errorf("merged: status %s, duplicate %s", got.Request.Status, got.Request.DuplicateState)
		}
		if r := worker.Post(base+first.ID.String()+"/intrekken", url.Values{"why": {"Verhuisd"}}); r.Status != http.StatusSeeOther {
			t.Fatalf("withdraw: %d", r.Status)
		}
		got, _ = w.a.Requests.Case(ctx, first.ID)
		if got.Request.Status != requests.StatusWithdrawn || !got.Family.Vulnerable || len(got.Notes) != 1 {
			t.Errorf("after withdrawing: %s vulnerable %v notes %d", got.Request.Status, got.Family.Vulnerable, len(got.Notes))
		}
		if r := worker.Get(base + "00000000-0000-7000-8000-000000000000"); r.Status != 404 {
			t.Errorf("unknown request: %d", r.Status)
		}
		if r := worker.Get(base + "geen-id"); r.Status != 404 {
			t.Errorf("malformed id: %d", r.Status)
		}
	})
}

// TestDeskRegistration: field-level errors keep what was typed; a valid
// registration stores channel, vulnerability and the first note; a
// partner's registration is hers.
func TestDeskRegistration(t *testing.T) {
	w := newDemoWorld(t)
	ctx := deskCtx(t, w.a, "leuven")
	loc := w.values[Own]["location"]
	worker := w.browsers[authz.DeskWorker]
	d, _ := w.a.Directory.BySlug("leuven")
	form := url.Values{
		"child.first_name": {""}, "child.last_name": {"Getypt-Achternaam"}, "child.birth_date": {time.Now().AddDate(0, -2, 0).Format("2006-01-02")},
		"parents[0].first_name": {"Sara"}, "parents[0].last_name": {"Getypt-Achternaam"}, "parents[0].email": {"geen-mail"},
		"language": {"nl"}, "address.municipality_nis": {string(d.Municipalities[0])},
		"desired_start": {time.Now().AddDate(0, 5, 0).Format("2006-01-02")}, "flexibility_weeks": {"3"},
		"care_plan.days": {"mon", "wed"}, "care_plan.day_part": {"half"}, "preferences[0]": {loc}, "reason": {"training"},
		"channel": {"phone"}, "vulnerable": {"1"}, "note": {"Eerste gesprek aan de telefoon."},
		"privacy_consent_version": {requests.PrivacyVersion},
	}
	bad := worker.Post("/leuven/loket/nieuw", form)
	if bad.Status != 422 {
		t.Fatalf("bad form: %d", bad.Status)
	}
	for _, want := range []string{`href="#child-first_name"`, `href="#parents-0-email"`, `id="parents-0-email"`, "Vul dit in.", "Dit is geen e-mailadres.",
		`value="Getypt-Achternaam"`, `value="geen-mail"`, `value="wed" checked`, `value="half" checked`, "Eerste gesprek aan de telefoon.",
		`aria-invalid="true"`} {
		if !strings.Contains(bad.Body, want) {
			t.Errorf("the form with errors lacks %q", want)
		}
	}
	form.Set("child.first_name", "Nieuwkomer")
	form.Set("parents[0].email", "sara@ouders.example")
	ok := worker.Post("/leuven/loket/nieuw", form)
	m := locationRE.FindStringSubmatch(ok.Header.Get("Location"))
	if ok.Status != http.StatusSeeOther || m == nil {
		t.Fatalf("registration: %d %s", ok.Status, ok.Header.Get("Location"))
	}
	list, err := w.a.Requests.Worklist(ctx, requests.WorklistFilter{Query: "Nieuwkomer"})
	if err != nil || len(list) != 1 {
		t.Fatalf("worklist: %v %d", err, len(list))
	}
	cs, _ := w.a.Requests.Case(ctx, list[0].Request.ID)
	if cs.Request.ID.String() != m[1] || cs.Request.Channel != requests.ChannelPhone || !cs.Family.Vulnerable || len(cs.Notes) != 1 ||
		cs.Request.DayPart != requests.DayHalf || cs.Family.ReferredBy != "" {
		t.Errorf("stored: channel %s vulnerable %v notes %d part %s referred %q", cs.Request.Channel, cs.Family.Vulnerable, len(cs.Notes), cs.Request.DayPart, cs.Family.ReferredBy)
	}

	partner := w.browsers[authz.Partner]
	form.Set("child.first_name", "Partnerkind")
	form.Set("channel", "counter") // ignored: a partner's registration comes through the partner
	if r := partner.Post("/leuven/loket/nieuw", form); r.Status != http.StatusSeeOther {
		t.Fatalf("partner registration: %d", r.Status)
	}
	list, _ = w.a.Requests.Worklist(ctx, requests.WorklistFilter{Query: "Partnerkind"})
	if len(list) != 1 {
		t.Fatalf("partner's request: %d", len(list))
	}
	cs, _ = w.a.Requests.Case(ctx, list[0].Request.ID)
	if cs.Family.ReferredBy != mustUserID(t, w.a, authz.Partner) || cs.Request.Channel != requests.ChannelPartner {
		t.Errorf("partner's request: referred by %q channel %s", cs.Family.ReferredBy, cs.Request.Channel)
	}
	if r := partner.Get("/leuven/loket"); !strings.Contains(r.Body, "Partnerkind") || strings.Contains(r.Body, "Nieuwkomer") {
		t.Error("the partner must see her own registration and not the desk's")
	}

	// The desk registers for a family the partner supports: the partner is
	// offered in the form, only a partner of the desk can be named, and she
	// then follows the family up too.
	partnerID := mustUserID(t, w.a, authz.Partner)
	if page := worker.Get("/leuven/loket/nieuw"); !strings.Contains(page.Body, `value="`+partnerID+`"`) {
		t.Error("the desk form does not offer the desk's partner as referrer")
	}
	form.Set("child.first_name", "Doorverwezen")
	form.Set("referred_by", mustUserID(t, w.a, authz.DeskAdmin))
	if r := worker.Post("/leuven/loket/nieuw", form); r.Status != 422 || !strings.Contains(r.Body, `href="#referred_by"`) {
		t.Errorf("a referrer who is no partner: %d", r.Status)
	}
	form.Set("referred_by", partnerID)
	if r := worker.Post("/leuven/loket/nieuw", form); r.Status != http.StatusSeeOther {
		t.Fatalf("registration with referrer: %d", r.Status)
	}
	if r := partner.Get("/leuven/loket"); !strings.Contains(r.Body, "Doorverwezen") {
		t.Error("the partner does not see the family the desk registered for her")
	}
}

// nationalNumber builds a valid (invented) national register number for a
// child born in 2000 or later.
func nationalNumber(born time.Time, serial int) string {
	base := fmt.Sprintf("%s%03d", born.Format("060102"), serial)
	var n int64
	fmt.Sscan(base, &n)
	return fmt.Sprintf("%s%02d", base, 97-(2_000_000_000+n)%97)
}

// TestProviderInbox: the provider sees the preferences for its locations,
// by deadline, without national number, desk notes or the vulnerability
// flag; it answers waiting list and no place through the page, forwards a
// registry desk's request, and its system answers through the API with the
// demo key.
func TestProviderInbox(t *testing.T) {
	dbtest.EachTarget(t, func(t *testing.T, tg dbtest.Target) {
		w := newDemoWorld(t, tg)
		own := w.values[Own]
		loc := own["location"]
		desk := requests.Actor{ID: "test", Kind: requests.ActorDesk}
		sub := deskSub(t, w.a, "leuven", "Inboxkind", "Privémans", "inbox@ouders.example", loc)
		born, _ := time.Parse("2006-01-02", sub.Child.BirthDate)
		nn := nationalNumber(born, 123)
		sub.Child.NationalNumber, sub.Vulnerable, sub.Note = nn, true, "Geheime loketnotitie"
		leuvenReq := submitAt(t, w.a, "leuven", sub, desk)
		geelReq := submitAt(t, w.a, "geel-laakdal-meerhout", deskSub(t, w.a, "geel-laakdal-meerhout", "Registerkind", "Geelmans", "register@ouders.example", loc), desk)
		third := submitAt(t, w.a, "leuven", deskSub(t, w.a, "leuven", "Apikind", "Koppelmans", "api@ouders.example", loc), desk)

		// The third request's answer is late: first in the inbox, marked, and
		// flagged on the desk's worklist.
		err := tenancy.NewStore(w.a.DB).Tx(deskCtx(t, w.a, "leuven"), func(ctx context.Context, tx *tenancy.Tx) error {
			_, err := tx.Unscoped().NewUpdate().Table("preferences").Set("answer_due = ?", time.Now().Add(-48*time.Hour)).
				Where("tenant_id = ? AND request_id = ?", tx.Tenant(), third.ID).Exec(ctx)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		inboxPath := "/aanbieder/" + own["provider"] + "/aanvragen"
		// A request at another location of the same provider: the admin sees
		// it, the staff member named for the demo location only does not.
		var sibling catalog.Location
		if err := w.a.DB.NewSelect().Model(&sibling).Column("id").Where("provider_id = ? AND id <> ? AND accepts_requests", own["provider"], loc).
			OrderExpr("id").Limit(1).Scan(context.Background()); err != nil {
			t.Fatal(err)
		}
		submitAt(t, w.a, "leuven", deskSub(t, w.a, "leuven", "Zusterkind", "Anderslocatie", "zuster@ouders.example", sibling.ID.String()), desk)
		if !strings.Contains(w.browsers[authz.ProviderAdmin].Get(inboxPath).Body, "Zusterkind") {
			t.Error("the provider admin must see every location of the provider")
		}
		if strings.Contains(w.browsers[authz.ProviderStaff].Get(inboxPath).Body, "Zusterkind") {
			t.Error("staff named for one location must see only that location's requests")
		}
		late := w.browsers[authz.ProviderAdmin].Get(inboxPath)
		if i, j := strings.Index(late.Body, "Apikind"), strings.Index(late.Body, "Inboxkind"); i < 0 || j < 0 || i > j ||
			!strings.Contains(late.Body, "Termijn verstreken") {
			t.Errorf("the overdue answer must come first and be marked (%d, %d)", i, j)
		}
		// The parent's language by its name, dates written out (issue 20).
		if !strings.Contains(late.Body, "spreekt Nederlands") || strings.Contains(late.Body, "(nl)") || isoDate.MatchString(visibleText(late.Body)) {
			t.Errorf("the inbox must name the language and write dates out: %q", isoDate.FindAllString(visibleText(late.Body), 3))
		}
		if wl := w.browsers[authz.DeskWorker].Get("/leuven/loket?attention=overdue"); !strings.Contains(wl.Body, "Apikind") || strings.Contains(wl.Body, "Inboxkind") {
			t.Error("the desk's worklist must flag the overdue answer")
		}
		for _, role := range []authz.Role{authz.ProviderAdmin, authz.ProviderStaff} {
			page := w.browsers[role].Get(inboxPath)
			if page.Status != 200 {
				t.Fatalf("%s inbox: %d", role, page.Status)
			}
			for _, want := range []string{"Inboxkind", "Registerkind", "inbox@ouders.example", "Doorsturen naar het loket"} {
				if !strings.Contains(page.Body, want) {
					t.Errorf("%s inbox lacks %q", role, want)
				}
			}
			for _, secret := range []string{nn, nn[:6] + "-" + nn[6:9], "Geheime loketnotitie", "Kwetsbaar gezin", "Privémans Inboxkind"} {
				if strings.Contains(page.Body, secret) {
					t.Errorf("%s inbox shows %q", role, secret)
				}
			}
		}
		admin := w.browsers[authz.ProviderAdmin]
		answer := func(b *Browser, desk string, id fmt.Stringer, form url.Values) Resp {
			return b.Post(inboxPath+"/"+desk+"/"+id.String()+"/1", form)
		}
		if r := answer(admin, "leuven", leuvenReq.ID, url.Values{"kind": {"no_place"}}); r.Status != 422 || !strings.Contains(r.Body, "Kies een reden uit de lijst.") {
			t.Errorf("no place without a reason: %d", r.Status)
		}
		if r := answer(admin, "leuven", leuvenReq.ID, url.Values{"kind": {"forward"}}); r.Status != 422 {
			t.Errorf("forwarding a central desk's request: %d", r.Status)
		}
		if r := answer(w.browsers[authz.ProviderStaff], "leuven", leuvenReq.ID, url.Values{"kind": {"waiting_list"}}); r.Status != http.StatusSeeOther {
			t.Fatalf("waiting list: %d %s", r.Status, r.Body)
		}
		if r := answer(admin, "geel-laakdal-meerhout", geelReq.ID, url.Values{"kind": {"forward"}}); r.Status != http.StatusSeeOther {
			t.Fatalf("forward to a registry desk: %d", r.Status)
		}
		// An offer through the page: the start date and days; a free place must
		// be registered for that month and the child's age band.
		offer := url.Values{"kind": {"offer"}, "offer_start": {sub.DesiredStart}, "offer_days": {"mon", "tue"}}
		offerReq := submitAt(t, w.a, "leuven", deskSub(t, w.a, "leuven", "Aanbodkind", "Plaatsmans", "aanbod@ouders.example", loc), desk)
		month := sub.DesiredStart[:7]
		lid, _ := catalog.ParseLocationID(loc)
		if err := w.a.Catalog.SetAvailability(context.Background(), "test", catalog.AvailabilityChange{LocationID: lid, StartMonth: month,
			AgeBand: catalog.BandForAge(catalog.AgeInMonths(born, time.Now().AddDate(0, 4, 0))), FreePlaces: 0}); err != nil {
			t.Fatal(err)
		}
		if r := answer(admin, "leuven", offerReq.ID, offer); r.Status != 422 || !strings.Contains(r.Body, "Er is geen vrije plaats geregistreerd") {
			t.Errorf("an offer without a free place: %d", r.Status)
		}
		if err := w.a.Catalog.SetAvailability(context.Background(), "test", catalog.AvailabilityChange{LocationID: lid, StartMonth: month,
			AgeBand: catalog.BandForAge(catalog.AgeInMonths(born, time.Now().AddDate(0, 4, 0))), FreePlaces: 1}); err != nil {
			t.Fatal(err)
		}
		if r := answer(admin, "leuven", offerReq.ID, offer); r.Status != http.StatusSeeOther {
			t.Fatalf("offer: %d", r.Status)
		}
		if got, _ := w.a.Requests.Get(deskCtx(t, w.a, "leuven"), offerReq.ID); got.Status != requests.StatusOffered ||
			got.Preferences[0].State != requests.PreferenceOffered || got.Preferences[0].OfferDays != "mon,tue" {
			t.Errorf("offer stored: %s %+v", got.Status, got.Preferences[0])
		}
		state := func(slug string, id requests.RequestID) requests.PreferenceState {
			r, err := w.a.Requests.Get(deskCtx(t, w.a, slug), id)
			if err != nil {
				t.Fatal(err)
			}
			return r.Preferences[0].State
		}
		if s := state("leuven", leuvenReq.ID); s != requests.PreferenceWaitingList {
			t.Errorf("leuven preference: %s", s)
		}
		if s := state("geel-laakdal-meerhout", geelReq.ID); s != requests.PreferenceForwarded {
			t.Errorf("geel preference: %s", s)
		}
		geelList := w.a.Requests
		items, _ := geelList.Worklist(deskCtx(t, w.a, "geel-laakdal-meerhout"), requests.WorklistFilter{Attention: requests.FlagForwarded})
		if len(items) != 1 {
			t.Errorf("Geel's worklist must flag the forwarded request: %d", len(items))
		}

		// The provider's system, with the demo API key.
		api := NewBrowser(t, w.srv.App)
		bearer := []string{"Authorization", "Bearer " + DemoAPIKey()}
		res := api.Do(http.MethodGet, "/api/v1/providers/"+own["provider"]+"/inbox", nil, bearer...)
		if res.Status != 200 {
			t.Fatalf("API inbox: %d %s", res.Status, res.Body)
		}
		var env page.Envelope[requests.InboxEntry]
		if err := json.Unmarshal([]byte(res.Body), &env); err != nil {
			t.Fatal(err)
		}
		found := false
		for i, e := range env.Items {
			found = found || e.RequestID == third.ID.String()
			// A system polls for changes: the order is when each changed.
			if i > 0 && e.UpdatedAt.Before(env.Items[i-1].UpdatedAt) {
				t.Error("the API inbox must be sorted by updated_at")
			}
		}
		if !found || strings.Contains(res.Body, nn) || strings.Contains(res.Body, "Geheime loketnotitie") || strings.Contains(res.Body, "vulnerable") {
			t.Errorf("API inbox: found %v; body must hold no national number, notes or vulnerability", found)
		}
		post := func(body string) Resp {
			return api.Do(http.MethodPost, "/api/v1/providers/"+own["provider"]+"/answers", body, bearer...)
		}
		bad := post(fmt.Sprintf(`{"desk":"leuven","request_id":%q,"rank":1,"kind":"no_place","reason":"moon"}`, third.ID))
		if bad.Status != 422 || !strings.Contains(bad.Body, `"field":"reason"`) || !strings.Contains(bad.Header.Get("Content-Type"), "problem+json") {
			t.Errorf("bad answer: %d %s", bad.Status, bad.Body)
		}
		if r := post(`{"desk":"","request_id":"x","rank":0,"kind":"offer","offer_start":"morgen"}`); r.Status != 422 ||
			!strings.Contains(r.Body, `"field":"request_id"`) || !strings.Contains(r.Body, `"field":"offer_start"`) || !strings.Contains(r.Body, `"field":"rank"`) {
			t.Errorf("every wrong field at once: %d %s", r.Status, r.Body)
		}
		if r := post(fmt.Sprintf(`{"desk":"leuven","request_id":%q,"rank":1,"kind":"no_place","reason":"full"}`, third.ID)); r.Status != http.StatusNoContent {
			t.Fatalf("API answer: %d %s", r.Status, r.Body)
		}
		if s := state("leuven", third.ID); s != requests.PreferenceNoPlace {
			t.Errorf("API answer stored %s", s)
		}
		if r := post(fmt.Sprintf(`{"desk":"leuven","request_id":%q,"rank":2,"kind":"waiting_list"}`, third.ID)); r.Status != 404 {
			t.Errorf("a rank that is not theirs: %d", r.Status)
		}
		if r := api.Do(http.MethodGet, "/api/v1/providers/"+w.values[Other]["provider"]+"/inbox", nil, bearer...); r.Status != 404 {
			t.Errorf("another provider's inbox with the demo key: %d", r.Status)
		}
		if r := api.Do(http.MethodGet, "/api/v1/providers/"+own["provider"]+"/inbox", nil); r.Status != 401 {
			t.Errorf("no credentials: %d", r.Status)
		}
	})
}
