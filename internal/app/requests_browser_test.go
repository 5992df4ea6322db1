package app

// Browser tests of the parent's pages in Debian's Chromium: the request form
// completes with JavaScript switched off, every page passes axe-core, and the
// end-to-end path from registration to placement.

import (
	"context"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/google/uuid"

	"github.com/loket-kinderopvang/loket/internal/account"
	"github.com/loket-kinderopvang/loket/internal/catalog"
	"github.com/loket-kinderopvang/loket/internal/platform/authz"
	"github.com/loket-kinderopvang/loket/internal/platform/browsertest"
	"github.com/loket-kinderopvang/loket/internal/platform/dbtest"
	"github.com/loket-kinderopvang/loket/internal/platform/tenancy"
	"github.com/loket-kinderopvang/loket/internal/requests"
)

// browserForm fills and posts the form like a person: it sets attributes
// through the DevTools DOM (no page JavaScript needed) and clicks buttons.
type browserForm struct {
	t    *testing.T
	ctx  context.Context
	a11y bool // check every page with axe-core (needs JavaScript)
	// each, when set, checks every page of the way too (its width, its text).
	each func()
}

func (f browserForm) do(actions ...chromedp.Action[chromedp.Void]) {
	f.t.Helper()
	if err := chromedp.Do(f.ctx, actions...); err != nil {
		html, _ := chromedp.Run(f.ctx, chromedp.OuterHTML(chromedp.CSS("main")))
		f.t.Fatalf("browser: %v\n%s", err, html)
	}
}

func (f browserForm) fill(fields url.Values) {
	f.t.Helper()
	for name, vals := range fields {
		for _, v := range vals {
			sel := fmt.Sprintf(`[name=%q]`, name)
			switch {
			case name == "desired_start": // a month picker: the first of the month
				f.do(chromedp.SetAttributeValue(chromedp.CSS(fmt.Sprintf(`select%s option[value=%q]`, sel, v[:7]+"-01")), "selected", "selected"))
			case strings.HasPrefix(name, "preferences") || name == "language" || strings.HasPrefix(name, "address."):
				f.do(chromedp.SetAttributeValue(chromedp.CSS(fmt.Sprintf(`select%s option[value=%q]`, sel, v)), "selected", "selected"))
			case name == "care_plan.days" || name == "care_plan.day_part" || name == "reason" || name == "priority_claims" ||
				name == "sworn" || name == "privacy_consent_version":
				f.do(chromedp.SetAttributeValue(chromedp.CSS(fmt.Sprintf(`input%s[value=%q]`, sel, v)), "checked", "checked"))
			default:
				f.do(chromedp.SetAttributeValue(chromedp.CSS("input"+sel), "value", v))
			}
		}
	}
}

var chosenRE = regexp.MustCompile(`name="preferences\[\d+\]" value="([^"]+)"`)

// rank builds the ranked list of the preferences step as a person does:
// adds each location that is not chosen yet from the list of all, then
// moves each up to its place.
func (f browserForm) rank(want []uuid.UUID) {
	f.t.Helper()
	chosen := func() []string {
		// The section of the chosen ones is always there; read it fresh.
		html, err := chromedp.Run(f.ctx, chromedp.OuterHTML(chromedp.CSS(`section[aria-labelledby="chosen-title"]`)))
		if err != nil {
			f.t.Fatal(err)
		}
		var out []string
		for _, m := range chosenRE.FindAllStringSubmatch(html, -1) {
			out = append(out, m[1])
		}
		return out
	}
	for _, id := range want {
		if !slices.Contains(chosen(), id.String()) {
			f.do(chromedp.SetAttributeValue(chromedp.CSS(fmt.Sprintf(`select[name="add_location"] option[value=%q]`, id.String())), "selected", "selected"))
			f.press("add-other", 4)
		}
	}
	for i, id := range want {
		for j := slices.Index(chosen(), id.String()); j > i; j-- {
			f.press(fmt.Sprintf("up-%d", j), 4)
		}
	}
	if got := chosen(); len(got) != len(want) {
		f.t.Fatalf("ranked %v, want %v", got, want)
	}
}

// press clicks the button with this action and waits for the step page.
func (f browserForm) press(action string, wantStep int) {
	f.t.Helper()
	// Focus and Enter, as a keyboard user does: a mouse click at the
	// button's coordinates can land elsewhere on a narrow, scrolled page.
	btn := chromedp.CSS(fmt.Sprintf(`main button[value=%q]`, action))
	f.do(markStale(), chromedp.Focus(btn), chromedp.KeyEvent("\r"),
		waitFresh(), chromedp.WaitReady(chromedp.CSS(fmt.Sprintf(`input[name="step"][value="%d"]`, wantStep))))
	f.check()
}

func (f browserForm) check() {
	f.t.Helper()
	if f.each != nil {
		f.each()
	}
	if f.a11y {
		browsertest.CheckA11y(f.t, f.ctx)
	}
}

// markStale marks the page shown now, so waitFresh can wait for the next one
// (a step with errors shows the same step number again).
func markStale() chromedp.Action[chromedp.Void] {
	return chromedp.SetAttributeValue(chromedp.CSS("html"), "data-stale", "1")
}

func waitFresh() chromedp.Action[chromedp.Void] {
	return chromedp.WaitReady(chromedp.CSS("html:not([data-stale]) body footer"))
}

// register walks the form in the browser and returns the status page path.
// A location outside the desk's area can be chosen when the parent comes
// from a search that showed it (?voorkeur=); pass it as voorkeur.
func (f browserForm) register(base string, prefs []uuid.UUID, voorkeur ...uuid.UUID) string {
	f.t.Helper()
	q := "?lang=nl" // Chromium asks for English
	for _, v := range voorkeur {
		q += "&voorkeur=" + v.String()
	}
	f.do(chromedp.Navigate(base + "/leuven/aanvragen" + q))
	f.check()
	// Step 1 with an error first: the error summary and the kept value.
	f.fill(url.Values{"child.first_name": {"Mila"}})
	f.press("next", 1)
	summary, err := chromedp.Run(f.ctx, chromedp.Text(chromedp.CSS(".error-summary")))
	if err != nil || !strings.Contains(summary, "Vul dit in.") {
		f.t.Fatalf("error summary %q (%v)", summary, err)
	}
	if v, _ := chromedp.Run(f.ctx, chromedp.AttributeValue(chromedp.CSS(`[name="child.first_name"]`), "value")); v.Value != "Mila" {
		f.t.Fatalf("typed first name lost: %q", v.Value)
	}
	ids := make([]catalog.LocationID, len(prefs))
	for i, p := range prefs {
		ids[i] = catalog.LocationID{UUID: p}
	}
	for i, fields := range parentSteps(ids) {
		if i == 3 {
			f.rank(prefs)
		} else {
			f.fill(fields)
		}
		f.press("next", i+2)
	}
	main, _ := chromedp.Run(f.ctx, chromedp.Text(chromedp.CSS("main")))
	if !strings.Contains(main, "Mila") || !strings.Contains(main, "Testouder") {
		f.t.Fatalf("review page:\n%s", main)
	}
	f.do(markStale(), chromedp.Click(chromedp.CSS(`button[value="submit"]`)), waitFresh(), chromedp.WaitReady(chromedp.ID("status-link")))
	f.check()
	href, err := chromedp.Run(f.ctx, chromedp.AttributeValue(chromedp.ID("status-link"), "href"))
	if err != nil || !strings.HasPrefix(href.Value, "/leuven/aanvraag/") {
		f.t.Fatalf("status link %q (%v)", href.Value, err)
	}
	return href.Value
}

// TestParentEndToEnd is the acceptance test of issue 5: a parent registers
// with three preferences in the browser (JavaScript off), the provider offers
// a place in its inbox, the parent accepts on the status page, and the desk
// worker sees the request placed and the other two preferences closed on the
// request page. Each person has their own browser context; axe-core checks
// every page of the way (the parent's pages again in a tab with JavaScript).
func TestParentEndToEnd(t *testing.T) {
	dbtest.EachTarget(t, func(t *testing.T, tg dbtest.Target) {
		a, srv := newApp(t, tg)
		ctx := context.Background()
		if _, err := a.Seed(ctx); err != nil { // demo catalogue and accounts
			t.Fatal(err)
		}
		start := time.Now().AddDate(0, 2, 0)
		month := start.Format("2006-01")
		provider, _, err := a.Catalog.LargestProvider(ctx, catalog.DemoDossierPrefix)
		if err != nil {
			t.Fatal(err)
		}
		// The demo provider's location (its desk may be another one: the
		// parent comes from a search that showed it) and two Leuven
		// locations of other providers; the offer's month has a free place.
		var own, others []catalog.Location
		if err := a.DB.NewSelect().Model(&own).Where("provider_id = ? AND accepts_requests AND max_age_months >= 12", provider).
			OrderExpr("name").Limit(1).Scan(ctx); err != nil || len(own) == 0 {
			t.Fatalf("no location of the demo provider takes requests: %v", err)
		}
		if err := a.DB.NewSelect().Model(&others).Where("provider_id <> ? AND municipality_nis = '24062' AND accepts_requests", provider).
			OrderExpr("name").Limit(2).Scan(ctx); err != nil || len(others) < 2 {
			t.Fatalf("too few other Leuven locations: %v", err)
		}
		if err := a.Catalog.SetAvailability(ctx, "test", catalog.AvailabilityChange{LocationID: own[0].ID, StartMonth: month,
			AgeBand: catalog.Baby, FreePlaces: 1}); err != nil {
			t.Fatal(err)
		}
		prefs := []uuid.UUID{others[0].ID.UUID, own[0].ID.UUID, others[1].ID.UUID}
		base := browsertest.Serve(t, srv.App)

		// Accessibility of the parent's pages, with JavaScript for axe.
		axe := browserForm{t: t, ctx: browsertest.Tab(t), a11y: true}
		axePath := axe.register(base, prefs, prefs[1])
		axe.do(chromedp.Navigate(base + "/leuven/aanvragen/privacy"))
		axe.check()
		axe.do(chromedp.Navigate(base + axePath + "/intrekken"))
		axe.check()

		// 1. The parent registers, without JavaScript.
		parent := browserForm{t: t, ctx: browsertest.NoScriptTab(t)}
		path := parent.register(base, prefs, prefs[1])
		deskCtx := tenancy.WithTenant(ctx, leuvenID(t, a))
		_, id, err := a.Requests.OpenStatusToken(deskCtx, strings.TrimPrefix(path, "/leuven/aanvraag/"))
		if err != nil {
			t.Fatal(err)
		}

		// 2. The provider signs in and offers a place in its inbox.
		prov := browserForm{t: t, ctx: browsertest.Tab(t), a11y: true}
		prov.signIn(base, a, DemoEmails[authz.ProviderAdmin])
		inbox := base + "/aanbieder/" + provider.String() + "/aanvragen"
		prov.do(chromedp.Navigate(inbox))
		prov.check()
		// The inbox links to the answer page, which asks only what an offer
		// needs, prefilled from the family's request (start and days).
		answer := fmt.Sprintf(`a[href="/aanbieder/%s/aanvragen/leuven/%s/2?antwoord=offer"]`, provider, id)
		prov.do(markStale(), chromedp.Click(chromedp.CSS(answer)), waitFresh(), chromedp.WaitReady(chromedp.ID("offer_start")))
		prov.check()
		prov.do(chromedp.SetAttributeValue(chromedp.ID("offer_start"), "value", start.Format("2006-01-02")),
			markStale(), chromedp.Click(chromedp.CSS(`main form[method="post"] button[type="submit"]`)), waitFresh())
		prov.check()
		if r, err := a.Requests.Get(deskCtx, id); err != nil || r.Preferences[1].State != requests.PreferenceOffered {
			main, _ := chromedp.Run(prov.ctx, chromedp.Text(chromedp.CSS("main")))
			t.Fatalf("the provider's offer did not arrive (%v):\n%s", err, main)
		}

		// 3. The parent sees the offer and accepts it. (A new tab for axe:
		// each tab has TabTimeout for all it does, and the form took a while.)
		axe = browserForm{t: t, ctx: browsertest.Tab(t), a11y: true}
		axe.do(chromedp.Navigate(base + path))
		axe.check()
		parent.do(chromedp.Navigate(base + path))
		state, err := chromedp.Run(parent.ctx, chromedp.Text(chromedp.ID("pref-2")))
		if err != nil || !strings.Contains(state, "plaats aangeboden") || !strings.Contains(state, "Antwoord uiterlijk") {
			t.Fatalf("offer on the status page: %q (%v)", state, err)
		}
		// Accepting closes the other preferences: without JavaScript the
		// button opens a confirmation page, and only its form accepts.
		parent.do(markStale(), chromedp.Click(chromedp.ID("accept-2")), waitFresh(), chromedp.WaitReady(chromedp.CSS(`main form[method="post"]`)))
		question, _ := chromedp.Run(parent.ctx, chromedp.Text(chromedp.CSS("main")))
		if r, _ := a.Requests.Get(deskCtx, id); r.Status == requests.StatusPlaced || !strings.Contains(question, "Zeker") {
			t.Fatalf("one click accepted the offer, or no question:\n%s", question)
		}
		parent.do(markStale(), chromedp.Click(chromedp.CSS(`main form[method="post"] button[type="submit"]`)), waitFresh(),
			chromedp.WaitReady(chromedp.CSS(`.notice`)))
		notice, _ := chromedp.Run(parent.ctx, chromedp.Text(chromedp.CSS(".notice")))
		status, _ := chromedp.Run(parent.ctx, chromedp.Text(chromedp.ID("request-status")))
		if !strings.Contains(notice, "U hebt de plaats aanvaard") || !strings.Contains(status, "uw kind heeft een plaats") {
			t.Fatalf("after accepting: notice %q, status %q", notice, status)
		}
		axe.do(chromedp.Navigate(base + path + "?klaar=accepted"))
		axe.check()

		// 4. The desk worker sees the request placed and the other two
		// preferences closed.
		desk := browserForm{t: t, ctx: browsertest.Tab(t), a11y: true}
		desk.signIn(base, a, DemoEmails[authz.DeskWorker])
		desk.do(chromedp.Navigate(base + "/leuven/loket?lang=nl"))
		desk.check()
		desk.do(chromedp.Navigate(base + "/leuven/loket/aanvragen/" + id.String()))
		desk.check()
		page, err := chromedp.Run(desk.ctx, chromedp.Text(chromedp.CSS("main")))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(page, "Stand: Geplaatst") || strings.Count(page, "Afgesloten") < 2 || !strings.Contains(page, "Aanvaard") {
			t.Fatalf("desk request page:\n%s", page)
		}
		cs, err := a.Requests.Case(deskCtx, id)
		if err != nil {
			t.Fatal(err)
		}
		if cs.Request.Status != requests.StatusPlaced || cs.Request.PlacedLocationID == nil || *cs.Request.PlacedLocationID != prefs[1] {
			t.Fatalf("request %s placed at %v", cs.Request.Status, cs.Request.PlacedLocationID)
		}
		want := map[int]requests.PreferenceState{1: requests.PreferenceClosed, 2: requests.PreferenceAccepted, 3: requests.PreferenceClosed}
		for _, p := range cs.Request.Preferences {
			if p.State != want[p.Rank] {
				t.Errorf("preference %d is %s, want %s", p.Rank, p.State, want[p.Rank])
			}
		}
	})
}

// signIn signs the tab in as a demo account, with its TOTP code when asked.
func (f browserForm) signIn(base string, a *App, email string) {
	f.t.Helper()
	u, err := a.Users.Store().ByEmail(context.Background(), email)
	if err != nil {
		f.t.Fatal(err)
	}
	f.do(chromedp.Navigate(base+"/aanmelden?lang=nl"),
		chromedp.SetAttributeValue(chromedp.ID("email"), "value", email),
		chromedp.SetAttributeValue(chromedp.ID("password"), "value", DemoPassword),
		markStale(), chromedp.Click(chromedp.CSS(`form[action="/aanmelden"] button[type="submit"]`)), waitFresh())
	loc, _ := chromedp.Run(f.ctx, chromedp.Location())
	if strings.Contains(loc, "/aanmelden/code") {
		code, err := account.TOTPCode(u.TOTPSecret.String(), time.Now())
		if err != nil {
			f.t.Fatal(err)
		}
		f.do(chromedp.SetAttributeValue(chromedp.ID("code"), "value", code),
			markStale(), chromedp.Click(chromedp.CSS(`form[action="/aanmelden/code"] button[type="submit"]`)), waitFresh())
		loc, _ = chromedp.Run(f.ctx, chromedp.Location())
	}
	if strings.Contains(loc, "/aanmelden") {
		main, _ := chromedp.Run(f.ctx, chromedp.Text(chromedp.CSS("main")))
		f.t.Fatalf("sign-in of %s stayed on %s:\n%s", email, loc, main)
	}
}
