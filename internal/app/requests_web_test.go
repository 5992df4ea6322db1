package app

// Tests of the parent's pages (request form and status page) through the real
// router, with plain form posts: no browser and no JavaScript.

import (
	"context"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/loket-kinderopvang/loket/internal/catalog"
	"github.com/loket-kinderopvang/loket/internal/platform/browsertest"
	"github.com/loket-kinderopvang/loket/internal/platform/dbtest"
	"github.com/loket-kinderopvang/loket/internal/platform/tenancy"
	"github.com/loket-kinderopvang/loket/internal/requests"
)

// parentLocations adds n Leuven locations that take requests, each with free
// baby places for every month of the coming year, and returns their ids.
func parentLocations(t testing.TB, s *catalog.Store, n int) []catalog.LocationID {
	t.Helper()
	ctx := context.Background()
	p := &catalog.Provider{Name: "Vzw Zonnebloem (test)"}
	if err := s.SaveProvider(ctx, p); err != nil {
		t.Fatal(err)
	}
	var out []catalog.LocationID
	for i := range n {
		l := &catalog.Location{
			DossierNumber: fmt.Sprintf("PAR-%d", i+1), ProviderID: p.ID, Name: fmt.Sprintf("Zonnebloem %c", 'A'+i), Postcode: "3000",
			MunicipalityNIS: "24062", Lat: 50.88, Lon: 4.70, CareType: catalog.Groepsopvang, SubsidyTier: catalog.TierT1,
			LicensedPlaces: 14, MaxAgeMonths: 36, Languages: []string{"nl"}, Email: "info@zonnebloem.example", AcceptsRequests: true,
		}
		if err := s.SaveLocation(ctx, l); err != nil {
			t.Fatal(err)
		}
		var changes []catalog.AvailabilityChange
		for m := range 13 {
			changes = append(changes, catalog.AvailabilityChange{LocationID: l.ID,
				StartMonth: time.Now().AddDate(0, m, 0).Format("2006-01"), AgeBand: catalog.Baby, FreePlaces: 2})
		}
		if err := s.SetAvailability(ctx, "test", changes...); err != nil {
			t.Fatal(err)
		}
		out = append(out, l.ID)
	}
	return out
}

var hiddenRE = regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)">`)

// hiddenFields reads the hidden fields of a page's form, as a browser would send them.
func hiddenFields(body string) url.Values {
	v := url.Values{}
	for _, m := range hiddenRE.FindAllStringSubmatch(body, -1) {
		v.Add(html.UnescapeString(m[1]), html.UnescapeString(m[2]))
	}
	return v
}

// step posts the form of the last page with the step's own fields.
func step(b *Browser, page Resp, path string, fields url.Values, action string) Resp {
	b.t.Helper()
	f := hiddenFields(page.Body)
	for k, v := range fields {
		f[k] = v
	}
	f.Set("action", action)
	return b.Do(http.MethodPost, path, f)
}

// parentSteps are the fields of steps 1 to 5 of a valid request.
func parentSteps(prefs []catalog.LocationID) []url.Values {
	birth := time.Now().AddDate(0, -3, 0).Format("2006-01-02")
	start := time.Now().AddDate(0, 2, 0).Format("2006-01-02")
	p := url.Values{}
	for i, id := range prefs {
		p.Set(fmt.Sprintf("preferences[%d]", i), id.String())
	}
	return []url.Values{
		{"child.first_name": {"Mila"}, "child.last_name": {"Testkind"}, "child.birth_date": {birth}},
		{"parents[0].first_name": {"Ann"}, "parents[0].last_name": {"Testouder"}, "parents[0].email": {"ann@ouders.example"},
			"parents[0].phone": {"0470 00 00 00"}, "language": {"nl"}, "address.municipality_nis": {"24062"}},
		{"desired_start": {start}, "flexibility_weeks": {"4"}, "care_plan.days": {"mon", "tue", "thu"}, "care_plan.day_part": {"whole"}},
		p,
		{"reason": {"work"}, "priority_claims": {"work_or_training"}, "sworn": {"1"}, "privacy_consent_version": {requests.PrivacyVersion}},
	}
}

var statusLinkRE = regexp.MustCompile(`href="(/leuven/aanvraag/[^"]+)" id="status-link"`)

// registerByForm walks the whole form with plain posts and returns the status page path.
func registerByForm(t *testing.T, b *Browser, prefs []catalog.LocationID) string {
	t.Helper()
	return registerByFormWith(t, b, parentSteps(prefs))
}

// registerByFormWith walks the form with the given steps' fields.
func registerByFormWith(t *testing.T, b *Browser, steps []url.Values) string {
	t.Helper()
	page := b.Get("/leuven/aanvragen")
	if page.Status != 200 || !strings.Contains(page.Body, `name="csrf_token"`) {
		t.Fatalf("form: %d %s", page.Status, page.Body)
	}
	for i, fields := range steps {
		page = step(b, page, "/leuven/aanvragen", fields, "next")
		if page.Status != 200 {
			t.Fatalf("step %d: %d\n%s", i+1, page.Status, errorSummary(page.Body))
		}
	}
	if !strings.Contains(page.Body, "Mila") || !strings.Contains(page.Body, `value="submit"`) {
		t.Fatalf("review page lacks the typed data:\n%s", page.Body)
	}
	done := step(b, page, "/leuven/aanvragen", nil, "submit")
	m := statusLinkRE.FindStringSubmatch(done.Body)
	if done.Status != 200 || m == nil {
		t.Fatalf("submit: %d %s", done.Status, done.Body)
	}
	return html.UnescapeString(m[1])
}

func errorSummary(body string) string {
	i := strings.Index(body, `class="error-summary"`)
	if i < 0 {
		return "(no error summary)"
	}
	return body[i:min(len(body), i+1500)]
}

func TestRequestFormKeepsTypedValuesOnError(t *testing.T) {
	dbtest.EachTarget(t, func(t *testing.T, tg dbtest.Target) {
		_, srv := newApp(t, tg)
		b := NewBrowser(t, srv.App)
		page := b.Get("/leuven/aanvragen")
		res := step(b, page, "/leuven/aanvragen", url.Values{"child.first_name": {"Mila"}, "child.last_name": {""},
			"child.birth_date": {"31-02-2026"}}, "next")
		if res.Status != 422 {
			t.Fatalf("status %d", res.Status)
		}
		for _, want := range []string{
			`value="Mila"`, `value="31-02-2026"`, // typed values kept
			`class="error-summary"`, `href="#f-child-last_name"`, `href="#f-child-birth_date"`,
			`id="f-child-last_name" name="child.last_name" value="" aria-describedby="err-f-child-last_name" aria-invalid="true"`,
			"Vul dit in.", "Geef een datum zoals 2027-03-01.", // Dutch messages, not ids
			`<p class="step-count">Stap 1 van 6</p>`,
		} {
			if !strings.Contains(res.Body, want) {
				t.Errorf("page lacks %q", want)
			}
		}
		if strings.Contains(res.Body, "requests.error.") {
			t.Error("an untranslated message id is shown")
		}
		// Other steps' errors are not shown yet: no complaint about parents on step 1.
		if strings.Contains(res.Body, "f-parents-0-first_name") {
			t.Error("step 1 shows fields or errors of step 2")
		}
		// The same page in English.
		en := step(b, page, "/leuven/aanvragen?lang=en", url.Values{"child.first_name": {""}}, "next")
		if !strings.Contains(en.Body, "Fill this in.") {
			t.Errorf("English errors missing:\n%s", errorSummary(en.Body))
		}
		// A forged step number or action never leaves the six steps.
		for _, stepNo := range []string{"6", "99", "-1", "x"} {
			f := hiddenFields(page.Body)
			f.Set("step", stepNo)
			for _, action := range []string{"next", "back", "goto-42", "submit"} {
				f.Set("action", action)
				if r := b.Do(http.MethodPost, "/leuven/aanvragen", f); r.Status != 200 && r.Status != 422 {
					t.Errorf("step %s action %s: %d", stepNo, action, r.Status)
				}
			}
		}
		// Without a CSRF token the post is refused.
		if r := b.Do(http.MethodPost, "/leuven/aanvragen", url.Values{"step": {"1"}}); r.Status != 403 {
			t.Errorf("post without CSRF token: %d", r.Status)
		}
	})
}

func TestRequestFormWithoutJavaScript(t *testing.T) {
	dbtest.EachTarget(t, func(t *testing.T, tg dbtest.Target) {
		a, srv := newApp(t, tg)
		locs := parentLocations(t, a.Catalog, 3)
		b := NewBrowser(t, srv.App)

		// ?voorkeur preselects the first preference; it travels to step 4.
		page := b.Get("/leuven/aanvragen?voorkeur=" + locs[1].String())
		if !strings.Contains(page.Body, `name="preferences[0]" value="`+locs[1].String()+`"`) {
			t.Fatalf("preselected preference not carried:\n%s", page.Body)
		}
		// Back keeps what was typed on the current step.
		s := parentSteps(locs)
		p2 := step(b, page, "/leuven/aanvragen", s[0], "next")
		back := step(b, p2, "/leuven/aanvragen", url.Values{"parents[0].first_name": {"Ann"}}, "back")
		if !strings.Contains(back.Body, `value="Mila"`) || !strings.Contains(back.Body, `name="parents[0].first_name" value="Ann"`) {
			t.Fatalf("back lost data:\n%s", back.Body)
		}
		// Step 4 lists the desk's locations and keeps the preselection.
		p3 := step(b, p2, "/leuven/aanvragen", s[1], "next")
		p4 := step(b, p3, "/leuven/aanvragen", s[2], "next")
		if !strings.Contains(p4.Body, "Zonnebloem A (Leuven)") || !strings.Contains(p4.Body, `name="preferences[0]" value="`+locs[1].String()+`"`) {
			t.Fatalf("step 4:\n%s", p4.Body)
		}
		// A claim without the sworn statement is refused on step 5.
		p5 := step(b, p4, "/leuven/aanvragen", s[3], "next")
		noSworn := url.Values{"reason": {"work"}, "priority_claims": {"single_parent"}, "privacy_consent_version": {requests.PrivacyVersion}}
		if r := step(b, p5, "/leuven/aanvragen", noSworn, "next"); r.Status != 422 || !strings.Contains(r.Body, `href="#f-sworn"`) ||
			!strings.Contains(r.Body, `value="single_parent" checked`) {
			t.Fatalf("claim without sworn statement: %d\n%s", r.Status, errorSummary(r.Body))
		}

		path := registerByForm(t, b, locs)
		deskCtx := tenancy.WithTenant(context.Background(), leuvenID(t, a))
		_, id, err := a.Requests.OpenStatusToken(deskCtx, strings.TrimPrefix(path, "/leuven/aanvraag/"))
		if err != nil {
			t.Fatal(err)
		}
		req, err := a.Requests.Get(deskCtx, id)
		if err != nil {
			t.Fatal(err)
		}
		if req.Channel != requests.ChannelOnline || len(req.Preferences) != 3 || req.PrivacyVersion != requests.PrivacyVersion ||
			req.Preferences[0].LocationID != locs[0].UUID || len(req.Claims) != 1 || req.CareDays != "mon,tue,thu" {
			t.Fatalf("stored request %+v", req)
		}
		// The status page of the link works; it and the form stay out of caches and referrers.
		st := b.Get(path)
		for _, r := range []Resp{st, p4} {
			if r.Header.Get("Cache-Control") != "no-store" || r.Header.Get("Referrer-Policy") != "no-referrer" {
				t.Errorf("private page headers: %v", r.Header)
			}
		}
		if st.Status != 200 || !strings.Contains(st.Body, "Aanvraag voor Mila") || !strings.Contains(st.Body, "Zonnebloem C") {
			t.Fatalf("status page %d\n%s", st.Status, st.Body)
		}
	})
}

func leuvenID(t testing.TB, a *App) tenancy.ID {
	t.Helper()
	d, ok := a.Directory.BySlug("leuven")
	if !ok {
		t.Fatal("no demo desk leuven")
	}
	return d.ID
}

// offer makes the provider's offer for preference rank, as the provider
// inbox would (the provider pages are built elsewhere).
func offer(t testing.TB, a *App, id requests.RequestID, rank int) {
	t.Helper()
	ctx := tenancy.WithTenant(context.Background(), leuvenID(t, a))
	start := time.Now().AddDate(0, 2, 0)
	if err := a.Requests.Answer(ctx, id, rank, requests.Answer{Kind: requests.AnswerOffer, OfferStart: start,
		OfferDays: []string{"mon", "tue", "thu"}}, requests.Actor{Kind: requests.ActorProvider, ID: "test"}); err != nil {
		t.Fatal(err)
	}
}

func TestStatusPage(t *testing.T) {
	dbtest.EachTarget(t, func(t *testing.T, tg dbtest.Target) {
		a, srv := newApp(t, tg)
		locs := parentLocations(t, a.Catalog, 3)
		b := NewBrowser(t, srv.App)
		path := registerByForm(t, b, locs)
		ctx := tenancy.WithTenant(context.Background(), leuvenID(t, a))
		_, id, err := a.Requests.OpenStatusToken(ctx, strings.TrimPrefix(path, "/leuven/aanvraag/"))
		if err != nil {
			t.Fatal(err)
		}
		post := func(p string, form url.Values) Resp {
			t.Helper()
			page := b.Get(path)
			form.Set("csrf_token", hiddenFields(page.Body).Get("csrf_token"))
			return b.Do(http.MethodPost, p, form)
		}

		// Contact change: a bad e-mail address is refused and shown; a good one saved.
		bad := post(path+"/contact", url.Values{"email": {"not-an-address"}, "phone": {""}, "language": {"fr"}})
		if bad.Status != 422 || !strings.Contains(bad.Body, `value="not-an-address"`) || !strings.Contains(bad.Body, `aria-invalid="true"`) {
			t.Fatalf("bad contact: %d\n%s", bad.Status, errorSummary(bad.Body))
		}
		ok := post(path+"/contact", url.Values{"email": {"ann.nieuw@ouders.example"}, "phone": {"0470 11 11 11"}, "language": {"fr"}})
		if ok.Status != 303 {
			t.Fatalf("contact: %d %s", ok.Status, ok.Body)
		}
		cs, err := a.Requests.Case(ctx, id)
		if err != nil || cs.Family.Email != "ann.nieuw@ouders.example" || cs.Family.Language != "fr" {
			t.Fatalf("contact not saved: %+v %v", cs.Family, err)
		}

		// Two offers: decline the first, accept the second.
		offer(t, a, id, 1)
		offer(t, a, id, 2)
		st := b.Get(path)
		if !strings.Contains(st.Body, `id="accept-1"`) || !strings.Contains(st.Body, `id="accept-2"`) {
			t.Fatalf("offers not shown:\n%s", st.Body)
		}
		if r := post(path+"/weigeren", url.Values{"rank": {"1"}}); r.Status != 303 {
			t.Fatalf("decline: %d %s", r.Status, r.Body)
		}
		if r := post(path+"/aanvaarden", url.Values{"rank": {"1"}, "confirm": {"yes"}}); r.Status != 409 {
			t.Fatalf("accepting a declined offer: %d", r.Status)
		}
		if r := post(path+"/aanvaarden", url.Values{"rank": {"2"}, "confirm": {"yes"}}); r.Status != 303 || !strings.Contains(r.Header.Get("Location"), "klaar=accepted") {
			t.Fatalf("accept: %d %s", r.Status, r.Body)
		}
		cs, err = a.Requests.Case(ctx, id)
		if err != nil || cs.Request.Status != requests.StatusPlaced {
			t.Fatalf("after accept: %+v %v", cs.Request, err)
		}
		states := []requests.PreferenceState{requests.PreferenceDeclined, requests.PreferenceAccepted, requests.PreferenceClosed}
		for i, p := range cs.Request.Preferences {
			if p.State != states[i] {
				t.Errorf("preference %d is %s, want %s", p.Rank, p.State, states[i])
			}
		}
		// A placed request cannot be withdrawn: no link, and a clear message on a forged post.
		if st := b.Get(path); strings.Contains(st.Body, `id="withdraw-link"`) {
			t.Error("a placed request offers to withdraw")
		}
		if r := post(path+"/intrekken", url.Values{"confirm": {"yes"}}); r.Status != 409 {
			t.Errorf("withdraw placed: %d", r.Status)
		}
	})
}

func TestStatusPageWithdrawAndBadLinks(t *testing.T) {
	dbtest.EachTarget(t, func(t *testing.T, tg dbtest.Target) {
		a, srv := newApp(t, tg)
		locs := parentLocations(t, a.Catalog, 1)
		b := NewBrowser(t, srv.App)
		path := registerByForm(t, b, locs)
		ctx := tenancy.WithTenant(context.Background(), leuvenID(t, a))
		token := strings.TrimPrefix(path, "/leuven/aanvraag/")
		_, id, err := a.Requests.OpenStatusToken(ctx, token)
		if err != nil {
			t.Fatal(err)
		}
		// Forged, damaged, and other-desk links are a plain 404.
		forged := token[:len(token)-2] + "AA"
		if strings.HasSuffix(token, "AA") {
			forged = token[:len(token)-2] + "BB"
		}
		for _, p := range []string{"/leuven/aanvraag/" + forged, "/leuven/aanvraag/nonsense", "/geel-laakdal-meerhout/aanvraag/" + token} {
			if r := b.Get(p); r.Status != 404 {
				t.Errorf("GET %s: %d", p, r.Status)
			}
		}
		// The confirmation step first; withdrawing needs the explicit confirmation.
		confirm := b.Get(path + "/intrekken")
		if confirm.Status != 200 || !strings.Contains(confirm.Body, `id="withdraw-confirm"`) {
			t.Fatalf("confirm page %d", confirm.Status)
		}
		f := hiddenFields(confirm.Body)
		f.Del("confirm")
		if r := b.Do(http.MethodPost, path+"/intrekken", f); r.Status != 303 || !strings.HasSuffix(r.Header.Get("Location"), "/intrekken") {
			t.Fatalf("withdraw without confirmation: %d %s", r.Status, r.Header.Get("Location"))
		}
		f = hiddenFields(confirm.Body)
		f.Set("why", "We vonden opvang bij de grootouders.")
		if r := b.Do(http.MethodPost, path+"/intrekken", f); r.Status != 303 {
			t.Fatalf("withdraw: %d", r.Status)
		}
		if r, _ := a.Requests.Get(ctx, id); r.Status != requests.StatusWithdrawn {
			t.Fatalf("status %s", r.Status)
		}
		if st := b.Get(path + "?klaar=withdrawn"); !strings.Contains(st.Body, "Uw aanvraag is ingetrokken.") {
			t.Error("no withdrawn notice")
		}
		// A revoked link is a 404; the new one works.
		newURL, err := a.Requests.RevokeStatusLinks(ctx, id, requests.Actor{Kind: requests.ActorDesk, ID: "test"})
		if err != nil {
			t.Fatal(err)
		}
		if r := b.Get(path); r.Status != 404 {
			t.Errorf("revoked link: %d", r.Status)
		}
		if r := b.Get(strings.TrimPrefix(newURL, "http://localhost")); r.Status != 200 {
			t.Errorf("new link: %d", r.Status)
		}
	})
}

// TestStatusPagePlaceTaken: two families accept offers for the last free
// place of a location; the second gets a clear message, not an error page.
// So does a family whose offer's deadline has passed.
func TestStatusPagePlaceTaken(t *testing.T) {
	dbtest.EachTarget(t, func(t *testing.T, tg dbtest.Target) {
		a, srv := newApp(t, tg)
		locs := parentLocations(t, a.Catalog, 1)
		month := time.Now().AddDate(0, 2, 0).Format("2006-01")
		if err := a.Catalog.SetAvailability(context.Background(), "test", catalog.AvailabilityChange{LocationID: locs[0],
			StartMonth: month, AgeBand: catalog.Baby, FreePlaces: 1}); err != nil {
			t.Fatal(err)
		}
		ctx := tenancy.WithTenant(context.Background(), leuvenID(t, a))
		var browsers []*Browser
		var paths []string
		for range 2 {
			b := NewBrowser(t, srv.App)
			path := registerByForm(t, b, locs)
			_, id, err := a.Requests.OpenStatusToken(ctx, strings.TrimPrefix(path, "/leuven/aanvraag/"))
			if err != nil {
				t.Fatal(err)
			}
			offer(t, a, id, 1)
			browsers, paths = append(browsers, b), append(paths, path)
		}
		accept := func(i int) Resp {
			page := browsers[i].Get(paths[i])
			return browsers[i].Do(http.MethodPost, paths[i]+"/aanvaarden",
				url.Values{"rank": {"1"}, "confirm": {"yes"}, "csrf_token": {hiddenFields(page.Body).Get("csrf_token")}})
		}
		if r := accept(0); r.Status != 303 {
			t.Fatalf("first accept: %d", r.Status)
		}
		r := accept(1)
		if r.Status != 409 || !strings.Contains(r.Body, "Jammer: die plaats is intussen door een ander gezin ingenomen.") ||
			!strings.Contains(r.Body, `role="alert"`) {
			t.Fatalf("second accept: %d\n%s", r.Status, r.Body)
		}

		// A third family's offer whose deadline has passed (moved back in
		// the database as the owner: the app's clock is the real one).
		setPlaces := catalog.AvailabilityChange{LocationID: locs[0], StartMonth: month, AgeBand: catalog.Baby, FreePlaces: 1}
		if err := a.Catalog.SetAvailability(context.Background(), "test", setPlaces); err != nil {
			t.Fatal(err)
		}
		b := NewBrowser(t, srv.App)
		path := registerByForm(t, b, locs)
		_, id, err := a.Requests.OpenStatusToken(ctx, strings.TrimPrefix(path, "/leuven/aanvraag/"))
		if err != nil {
			t.Fatal(err)
		}
		offer(t, a, id, 1)
		res, err := tg.Owner(t).NewUpdate().Table("preferences").Set("offer_deadline = ?", time.Now().Add(-time.Hour)).
			Where("request_id = ?", id).Exec(context.Background())
		if n, _ := res.RowsAffected(); err != nil || n != 1 {
			t.Fatalf("move the deadline: %v (%d rows)", err, n)
		}
		browsers, paths = append(browsers, b), append(paths, path)
		if r := accept(2); r.Status != 409 || !strings.Contains(r.Body, "De uiterste datum om dit aanbod te aanvaarden is voorbij.") {
			t.Fatalf("late accept: %d\n%s", r.Status, r.Body)
		}
	})
}

// TestStatusPageConcurrentAccepts: many parents press "accept" on their
// status pages at once for the last free places of one location, over real
// HTTP on PostgreSQL. Exactly the free places are taken; every other parent
// gets the clear "place taken" page (409), never an error page.
func TestStatusPageConcurrentAccepts(t *testing.T) {
	dbtest.EachTarget(t, func(t *testing.T, tg dbtest.Target) {
		if tg.URL == "" {
			t.Skip("SQLite serialises writers; the race is only real on PostgreSQL")
		}
		a, srv := newApp(t, tg)
		locs := parentLocations(t, a.Catalog, 1)
		start := time.Now().AddDate(0, 4, 0)
		const families, free = 12, 3
		if err := a.Catalog.SetAvailability(context.Background(), "test", catalog.AvailabilityChange{LocationID: locs[0],
			StartMonth: start.Format("2006-01"), AgeBand: catalog.Baby, FreePlaces: free}); err != nil {
			t.Fatal(err)
		}
		ctx := tenancy.WithTenant(context.Background(), leuvenID(t, a))
		base := browsertest.Serve(t, srv.App)
		type family struct {
			path, token string
			cookies     []*http.Cookie
		}
		var fams []family
		for range families {
			var sub requests.Submission
			if err := json.Unmarshal([]byte(submissionJSON(t, locs[0].String())), &sub); err != nil {
				t.Fatal(err)
			}
			r, link, _, err := a.Requests.Submit(ctx, sub, requests.Actor{Kind: requests.ActorParent}, "")
			if err != nil {
				t.Fatal(err)
			}
			if err := a.Requests.Answer(ctx, r.ID, 1, requests.Answer{Kind: requests.AnswerOffer, OfferStart: start,
				OfferDays: []string{"mon"}}, requests.Actor{Kind: requests.ActorProvider, ID: "test"}); err != nil {
				t.Fatal(err)
			}
			b := NewBrowser(t, srv.App)
			b.Base = base
			path := pathOfURL(t, link)
			page := b.Get(path)
			var cookies []*http.Cookie
			for _, c := range b.cookies {
				cookies = append(cookies, c)
			}
			fams = append(fams, family{path: path, token: hiddenFields(page.Body).Get("csrf_token"), cookies: cookies})
		}
		statuses := make([]int, families)
		bodies := make([]string, families)
		var wg sync.WaitGroup
		go1 := make(chan struct{})
		for i, f := range fams {
			wg.Add(1)
			go func() {
				defer wg.Done()
				form := url.Values{"rank": {"1"}, "confirm": {"yes"}, "csrf_token": {f.token}}
				req, _ := http.NewRequest(http.MethodPost, base+f.path+"/aanvaarden", strings.NewReader(form.Encode()))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				req.Header.Set("Accept", "text/html")
				for _, c := range f.cookies {
					req.AddCookie(&http.Cookie{Name: c.Name, Value: c.Value})
				}
				<-go1
				client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
				res, err := client.Do(req)
				if err != nil {
					bodies[i] = err.Error()
					return
				}
				defer res.Body.Close()
				raw, _ := io.ReadAll(res.Body)
				statuses[i], bodies[i] = res.StatusCode, string(raw)
			}()
		}
		close(go1)
		wg.Wait()
		placed, refused := 0, 0
		for i, s := range statuses {
			switch {
			case s == http.StatusSeeOther:
				placed++
			case s == http.StatusConflict && strings.Contains(bodies[i], "Jammer: die plaats is intussen door een ander gezin ingenomen."):
				refused++
			default:
				t.Errorf("family %d: %d %s", i, s, bodies[i])
			}
		}
		left, err := catalog.FreePlacesTx(context.Background(), tg.Owner(t).DB, locs[0], start.Format("2006-01"), catalog.Baby)
		if placed != free || refused != families-free || left != 0 || err != nil {
			t.Errorf("placed %d, refused %d, free left %d (%v); want %d, %d, 0", placed, refused, left, err, free, families-free)
		}
	})
}

func pathOfURL(t testing.TB, link string) string {
	t.Helper()
	u, err := url.Parse(link)
	if err != nil {
		t.Fatal(err)
	}
	return u.Path
}

// TestRequestFormDoubleSubmit: pressing "send" twice (or reloading the
// confirmation) stores one request and shows the same status link.
func TestRequestFormDoubleSubmit(t *testing.T) {
	dbtest.EachTarget(t, func(t *testing.T, tg dbtest.Target) {
		a, srv := newApp(t, tg)
		locs := parentLocations(t, a.Catalog, 1)
		b := NewBrowser(t, srv.App)
		page := b.Get("/leuven/aanvragen")
		for _, fields := range parentSteps(locs) {
			page = step(b, page, "/leuven/aanvragen", fields, "next")
		}
		first := step(b, page, "/leuven/aanvragen", nil, "submit")
		again := step(b, page, "/leuven/aanvragen", nil, "submit")
		l1, l2 := statusLinkRE.FindStringSubmatch(first.Body), statusLinkRE.FindStringSubmatch(again.Body)
		if l1 == nil || l2 == nil || l1[1] != l2[1] {
			t.Fatalf("double submit gave %v and %v", l1, l2)
		}
		n, err := tg.Owner(t).NewSelect().Table("requests").Count(context.Background())
		if err != nil || n != 1 {
			t.Fatalf("%d requests stored (%v)", n, err)
		}
		// A new form (a new key) is a new request.
		registerByForm(t, b, locs)
		if n, _ := tg.Owner(t).NewSelect().Table("requests").Count(context.Background()); n != 2 {
			t.Fatalf("%d requests after a second form", n)
		}
	})
}
