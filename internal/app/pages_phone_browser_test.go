package app

// Issue 20, acceptance: every page fits a phone 390 px wide (the document is
// never wider than the viewport), and no page shows a person a template
// placeholder, a uuid or a "|"-joined internal key. The pages: the public
// ones, every step of the parent form, the confirmation page, the status
// page with an offer, and the staff pages of each role.

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/google/uuid"

	"github.com/loket-kinderopvang/loket/internal/catalog"
	"github.com/loket-kinderopvang/loket/internal/platform/authz"
	"github.com/loket-kinderopvang/loket/internal/platform/browsertest"
	"github.com/loket-kinderopvang/loket/internal/platform/db"
	"github.com/loket-kinderopvang/loket/internal/platform/dbtest"
)

// PhoneWidth is the viewport of the narrowest phone the pages are made for.
const PhoneWidth = 390

type pageFacts struct {
	Path        string `json:"path"`
	Width       int    `json:"width"`
	ScrollWidth int    `json:"scrollWidth"`
	Text        string `json:"text"`
	Wide        string `json:"wide"` // the widest element that sticks out, for the failure message
}

const pageFactsJS = `(() => {
  const d = document.documentElement, w = d.clientWidth;
  let wide = "";
  for (const el of document.body.querySelectorAll("*")) {
    const r = el.getBoundingClientRect();
    if (r.right > w + 1 && getComputedStyle(el).position !== "absolute") {
      wide = el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") + (el.className && el.className.baseVal === undefined ? "." + el.className : "") + " (" + Math.round(r.right) + "px)";
    }
  }
  return {path: location.pathname + location.search, width: w, scrollWidth: d.scrollWidth, text: document.body.innerText, wide: wide};
})()`

// phoneTab is a tab the size of a phone.
func phoneTab(t *testing.T, noScript bool) context.Context {
	t.Helper()
	ctx := browsertest.Tab(t)
	if noScript {
		ctx = browsertest.NoScriptTab(t)
	}
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(PhoneWidth, 844)); err != nil {
		t.Fatal(err)
	}
	return ctx
}

// checkPage fails for a page wider than the phone or showing internals.
func checkPage(t *testing.T, ctx context.Context, seen map[string]bool) {
	t.Helper()
	f, err := chromedp.Run(ctx, chromedp.Evaluate[pageFacts](pageFactsJS))
	if err != nil {
		t.Fatalf("page facts: %v", err)
	}
	seen[f.Path] = true
	t.Logf("checked %s (%d/%d px)", f.Path, f.ScrollWidth, f.Width)
	if f.ScrollWidth > f.Width {
		t.Errorf("%s is %d px wide on a %d px phone (sticks out: %s)", f.Path, f.ScrollWidth, f.Width, f.Wide)
	}
	if l := leaks(f.Text); len(l) > 0 {
		t.Errorf("%s shows %q", f.Path, l)
	}
}

func TestEveryPageFitsAPhoneAndShowsNoInternals(t *testing.T) {
	a, srv := newApp(t, dbtest.NewTarget(t, db.SQLite))
	ctx := context.Background()
	if _, err := a.Seed(ctx); err != nil {
		t.Fatal(err)
	}
	locs := parentLocations(t, a.Catalog, 3)
	base := browsertest.Serve(t, srv.App)
	seen := map[string]bool{}
	visit := func(tab context.Context, paths ...string) {
		t.Helper()
		for _, p := range paths {
			if err := chromedp.Do(tab, chromedp.Navigate(base+p), chromedp.WaitReady(chromedp.CSS("body footer"))); err != nil {
				t.Fatalf("%s: %v", p, err)
			}
			checkPage(t, tab, seen)
		}
	}

	// The parent: every step of the form and the confirmation page (the form without
	// JavaScript is TestParentEndToEnd's; page facts need JavaScript to be read).
	parent := browserForm{t: t, ctx: phoneTab(t, false)}
	parent.each = func() { checkPage(t, parent.ctx, seen) }
	statusPath := parent.register(base, []uuid.UUID{locs[0].UUID, locs[2].UUID, locs[1].UUID}, locs[2].UUID)
	checkPage(t, parent.ctx, seen) // the confirmation page
	_, id, err := a.Requests.OpenStatusToken(deskCtx(t, a, "leuven"), strings.TrimPrefix(statusPath, "/leuven/aanvraag/"))
	if err != nil {
		t.Fatal(err)
	}
	offer(t, a, id, 1)
	month := time.Now().AddDate(0, 2, 0).Format("2006-01")
	visit(parent.ctx, "/", "/leuven", "/leuven/opvang",
		"/leuven/opvang?postcode=3000&within_km=10&birth_date="+time.Now().AddDate(0, -3, 0).Format("2006-01-02")+"&start_month="+month,
		"/leuven/opvang/"+locs[0].String(), "/leuven/aanvragen/privacy",
		statusPath+"?lang=nl", statusPath+"?lang=fr", statusPath+"/intrekken", statusPath+"/gegevens", statusPath+"/gegevens?lang=fr",
		statusPath+"/wissen", "/aanmelden", "/wachtwoord-vergeten")

	// The staff of each role, on the pages that exist for them.
	provider, _, err := a.Catalog.LargestProvider(ctx, catalog.DemoDossierPrefix)
	if err != nil {
		t.Fatal(err)
	}
	p := provider.String()
	for role, paths := range map[authz.Role][]string{
		authz.DeskWorker: {"/account", "/leuven/loket", "/leuven/loket/nieuw", "/leuven/loket/aanvragen/" + id.String(),
			"/leuven/loket/aanvragen/" + id.String() + "/ontvangstbewijs", "/leuven/loket/code?code=ZZZZ-ZZZZ",
			"/leuven/loket/rondes", "/leuven/loket/cijfers", "/werk", "/leuven/loket/crisis", "/leuven/loket/crisis?lang=fr"},
		authz.DeskAdmin: {"/leuven/beheer/medewerkers", "/leuven/beheer/samenwerking", "/leuven/loket/cijfers"},
		authz.ProviderAdmin: {"/aanbieder", "/aanbieder/" + p + "/aanvragen", "/aanbieder/" + p + "/medewerkers", "/aanbieder/" + p + "/sleutels", "/aanbieder/" + p + "/rondes",
			"/aanbieder/" + p + "/webhooks", "/aanbieder/" + p + "/crisis"},
		authz.RegionalCoordinator: {"/regio/13000/cijfers", "/regio/13000/crisis", "/regio/13000/crisis?lang=fr"},
		authz.Operator:            {"/beheer", "/beheer/regios", "/beheer/operators", "/werk", "/regio/24000/crisis"},
	} {
		staff := browserForm{t: t, ctx: phoneTab(t, false)}
		staff.signIn(base, a, DemoEmails[role])
		checkPage(t, staff.ctx, seen)
		visit(staff.ctx, paths...)
	}
	if len(seen) < 30 {
		t.Errorf("only %d pages checked", len(seen))
	}
	t.Logf("%d pages checked at %d px", len(seen), PhoneWidth)
}
