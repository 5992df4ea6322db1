package app

// Browser tests of the parent's pages in Debian's Chromium: the request form
// completes with JavaScript switched off, every page passes axe-core, and the
// end-to-end path from registration to placement.

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/google/uuid"

	"github.com/loket-kinderopvang/loket/internal/catalog"
	"github.com/loket-kinderopvang/loket/internal/geo"
	"github.com/loket-kinderopvang/loket/internal/platform/browsertest"
	"github.com/loket-kinderopvang/loket/internal/platform/dbtest"
	"github.com/loket-kinderopvang/loket/internal/platform/tenancy"
	"github.com/loket-kinderopvang/loket/internal/requests"
)

// demoLeuvenLocations seeds the demo catalogue and returns n Leuven
// locations that take requests, each with a free baby place in month.
func demoLeuvenLocations(t *testing.T, a *App, n int, month string) []catalog.Location {
	t.Helper()
	ctx := context.Background()
	if _, err := catalog.SeedDemo(ctx, a.Catalog, a.Clock.Now()); err != nil {
		t.Fatal(err)
	}
	res, err := a.Catalog.Search(ctx, catalog.Query{Municipalities: []geo.NISCode{"24062"}, AcceptsRequests: true, Sort: "name", PerPage: 100})
	if err != nil {
		t.Fatal(err)
	}
	var out []catalog.Location
	for _, h := range res.Hits {
		if h.MaxAgeMonths < 12 || len(out) == n {
			continue
		}
		if err := a.Catalog.SetAvailability(ctx, "test", catalog.AvailabilityChange{LocationID: h.ID, StartMonth: month,
			AgeBand: catalog.Baby, FreePlaces: 1}); err != nil {
			t.Fatal(err)
		}
		out = append(out, h.Location)
	}
	if len(out) < n {
		t.Fatalf("the demo catalogue has only %d Leuven locations that take requests", len(out))
	}
	return out
}

// browserForm fills and posts the form like a person: it sets attributes
// through the DevTools DOM (no page JavaScript needed) and clicks buttons.
type browserForm struct {
	t    *testing.T
	ctx  context.Context
	a11y bool // check every page with axe-core (needs JavaScript)
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

// press clicks the button with this action and waits for the step page.
func (f browserForm) press(action string, wantStep int) {
	f.t.Helper()
	f.do(markStale(), chromedp.Click(chromedp.CSS(fmt.Sprintf(`button[value=%q]`, action))),
		waitFresh(), chromedp.WaitReady(chromedp.CSS(fmt.Sprintf(`input[name="step"][value="%d"]`, wantStep))))
	f.check()
}

func (f browserForm) check() {
	f.t.Helper()
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
func (f browserForm) register(base string, prefs []uuid.UUID) string {
	f.t.Helper()
	f.do(chromedp.Navigate(base + "/leuven/aanvragen?lang=nl")) // Chromium asks for English
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
		f.fill(fields)
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
// with three preferences in the browser (JavaScript off), a provider offers a
// place, the parent accepts on the status page, and the desk sees the request
// placed and the other two preferences closed. A second tab with JavaScript
// checks every page of the way with axe-core.
func TestParentEndToEnd(t *testing.T) {
	dbtest.EachTarget(t, func(t *testing.T, tg dbtest.Target) {
		a, srv := newApp(t, tg)
		start := time.Now().AddDate(0, 2, 0)
		locs := demoLeuvenLocations(t, a, 3, start.Format("2006-01"))
		prefs := []uuid.UUID{locs[0].ID.UUID, locs[1].ID.UUID, locs[2].ID.UUID}
		base := browsertest.Serve(t, srv.App)

		// Accessibility: the same path with JavaScript, axe on every page.
		axe := browserForm{t: t, ctx: browsertest.Tab(t), a11y: true}
		axePath := axe.register(base, prefs)
		axe.do(chromedp.Navigate(base + "/leuven/aanvragen/privacy"))
		axe.check()
		axe.do(chromedp.Navigate(base + axePath + "/intrekken"))
		axe.check()

		// The parent, without JavaScript.
		parent := browserForm{t: t, ctx: browsertest.NoScriptTab(t)}
		path := parent.register(base, prefs)
		ctx := tenancy.WithTenant(context.Background(), leuvenID(t, a))
		_, id, err := a.Requests.OpenStatusToken(ctx, strings.TrimPrefix(path, "/leuven/aanvraag/"))
		if err != nil {
			t.Fatal(err)
		}

		// The provider of the second preference offers a place.
		provider := requests.Actor{Kind: requests.ActorProvider, ID: "test-provider"}
		if err := a.Requests.ProviderAnswer(context.Background(), "leuven", id, 2, []uuid.UUID{prefs[1]},
			requests.Answer{Kind: requests.AnswerOffer, OfferStart: start, OfferDays: []string{"mon", "tue", "thu"}}, provider); err != nil {
			t.Fatal(err)
		}

		// The status page shows the offer; axe checks it with the buttons on.
		axe.do(chromedp.Navigate(base + path))
		axe.check()
		parent.do(chromedp.Navigate(base + path))
		state, err := chromedp.Run(parent.ctx, chromedp.Text(chromedp.ID("pref-2")))
		if err != nil || !strings.Contains(state, "plaats aangeboden") || !strings.Contains(state, "Antwoord uiterlijk") {
			t.Fatalf("offer on the status page: %q (%v)", state, err)
		}
		parent.do(markStale(), chromedp.Click(chromedp.ID("accept-2")), waitFresh(), chromedp.WaitReady(chromedp.CSS(`.notice`)))
		notice, _ := chromedp.Run(parent.ctx, chromedp.Text(chromedp.CSS(".notice")))
		status, _ := chromedp.Run(parent.ctx, chromedp.Text(chromedp.ID("request-status")))
		if !strings.Contains(notice, "U hebt de plaats aanvaard") || !strings.Contains(status, "uw kind heeft een plaats") {
			t.Fatalf("after accepting: notice %q, status %q", notice, status)
		}
		axe.do(chromedp.Navigate(base + path + "?klaar=accepted"))
		axe.check()

		// The desk sees the request placed and the other preferences closed.
		cs, err := a.Requests.Case(ctx, id)
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
