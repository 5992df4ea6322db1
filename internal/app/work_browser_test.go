package app

// Browser journeys of issue 20: each role starts at the sign-in page and
// reaches its work by clicking links only; axe-core checks every page on
// the way. One seeded Loket and the package's one Chromium serve all five.

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/loket-kinderopvang/loket/internal/catalog"
	"github.com/loket-kinderopvang/loket/internal/platform/authz"
	"github.com/loket-kinderopvang/loket/internal/platform/browsertest"
	"github.com/loket-kinderopvang/loket/internal/platform/db"
	"github.com/loket-kinderopvang/loket/internal/platform/dbtest"
	"github.com/loket-kinderopvang/loket/internal/platform/tenancy"
	"github.com/loket-kinderopvang/loket/internal/requests"
)

// follow clicks the link (or button) sel and waits for the next page, then
// checks it with axe-core.
func (f browserForm) follow(sel string) {
	f.t.Helper()
	f.do(markStale(), chromedp.Click(chromedp.CSS(sel)), waitFresh())
	f.check()
}

func (f browserForm) text(sel string) string {
	f.t.Helper()
	s, err := chromedp.Run(f.ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		f.t.Fatalf("text of %s: %v", sel, err)
	}
	return s
}

// screenshot saves the page as PNG in LOKET_SCREENSHOTS_DIR (when set), for the
// closing note of the issue; never in the repository.
func (f browserForm) screenshot(name string) {
	f.t.Helper()
	dir := os.Getenv("LOKET_SCREENSHOTS_DIR")
	if dir == "" {
		return
	}
	png, err := chromedp.Run(f.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		f.t.Fatalf("screenshot: %v", err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		f.t.Fatal(err)
	}
}

// TestStaffJourneysInBrowser: desk worker → worklist → a request → a note;
// provider staff → inbox → an offer; provider admin → free places → save;
// regional coordinator → regional figures; desk admin → staff → invite.
// After sign-in every step is a click on a link or a button.
func TestStaffJourneysInBrowser(t *testing.T) {
	a, srv := newApp(t, dbtest.NewTarget(t, db.SQLite))
	ctx := context.Background()
	if _, err := a.Seed(ctx); err != nil {
		t.Fatal(err)
	}
	provider, loc, err := a.Catalog.LargestProvider(ctx, catalog.DemoDossierPrefix)
	if err != nil {
		t.Fatal(err)
	}
	// One request at the demo provider's location, with free places in its
	// start month for either age group.
	sub := deskSub(t, a, "leuven", "Reisje", "Klikmans", "reisje@ouders.example", loc.String())
	start, _ := time.Parse("2006-01-02", sub.DesiredStart)
	for _, band := range catalog.AgeBands {
		if err := a.Catalog.SetAvailability(ctx, "test", catalog.AvailabilityChange{LocationID: loc, StartMonth: start.Format("2006-01"),
			AgeBand: band, FreePlaces: 2}); err != nil {
			t.Fatal(err)
		}
	}
	desk := tenancy.WithTenant(ctx, leuvenID(t, a))
	r, _, _, err := a.Requests.Submit(desk, sub, requests.Actor{Kind: requests.ActorDesk, ID: "test"}, "")
	if err != nil {
		t.Fatal(err)
	}
	base := browsertest.Serve(t, srv.App)
	began := time.Now()
	t.Cleanup(func() { t.Logf("five journeys in %s", time.Since(began).Round(time.Millisecond)) })

	start1 := func(t *testing.T, role authz.Role) browserForm {
		// The journeys run side by side, each in its own tab (browser
		// context): most of their time is waiting for the page and axe.
		t.Parallel()
		f := browserForm{t: t, ctx: browsertest.Tab(t), a11y: true}
		f.signIn(base, a, DemoEmails[role])
		if loc, _ := chromedp.Run(f.ctx, chromedp.Location()); !strings.HasSuffix(loc, "/werk") {
			t.Fatalf("%s landed on %s, want /werk", role, loc)
		}
		f.check()
		return f
	}

	t.Run("desk worker adds a note", func(t *testing.T) {
		f := start1(t, authz.DeskWorker)
		f.screenshot("home-desk-worker")
		f.follow(`main a[href="/leuven/loket"]`)
		f.follow(fmt.Sprintf(`main a[href="/leuven/loket/aanvragen/%s"]`, r.ID))
		f.do(chromedp.SetValue(chromedp.ID("body"), "Belde de ouder terug, alles duidelijk."))
		f.follow(`form[action$="/notitie"] button[type="submit"]`)
		if notes := f.text("ul.notes"); !strings.Contains(notes, "Belde de ouder terug") || !strings.Contains(notes, "Medewerker Leuven (demo)") {
			t.Errorf("the note is not on the request page: %q", notes)
		}
	})

	t.Run("provider staff offers a place", func(t *testing.T) {
		f := start1(t, authz.ProviderStaff)
		f.follow(fmt.Sprintf(`main a[href="/aanbieder/%s/aanvragen"]`, provider))
		f.follow(fmt.Sprintf(`main a[href="/aanbieder/%s/aanvragen/leuven/%s/1?antwoord=offer"]`, provider, r.ID))
		f.follow(`main form[method="post"] button[type="submit"]`)
		if notice := f.text(".notice"); !strings.Contains(notice, "bewaard") {
			t.Errorf("after the offer: %q", notice)
		}
		if got, _ := a.Requests.Get(desk, r.ID); got.Preferences[0].State != requests.PreferenceOffered {
			t.Errorf("the preference is %s, want offered", got.Preferences[0].State)
		}
	})

	t.Run("provider admin saves free places", func(t *testing.T) {
		f := start1(t, authz.ProviderAdmin)
		f.screenshot("home-provider-admin")
		f.follow(fmt.Sprintf(`main a[href="%s"]`, catalog.PlacesPath(provider, loc)))
		f.screenshot("free-places-grid")
		cell := catalog.GridCellField(time.Now().AddDate(0, 3, 0).Format("2006-01"), catalog.Toddler)
		f.do(chromedp.SetValue(chromedp.ID(cell), "3"))
		f.follow(`button[name="action"][value="save"]`)
		if notice := f.text(".notice"); !strings.Contains(notice, "bewaard") {
			t.Errorf("after saving: %q", notice)
		}
		if v, _ := chromedp.Run(f.ctx, chromedp.AttributeValue(chromedp.ID(cell), "value")); v.Value != "3" {
			t.Errorf("saved cell shows %q", v.Value)
		}
	})

	t.Run("regional coordinator reads the figures", func(t *testing.T) {
		f := start1(t, authz.RegionalCoordinator)
		f.follow(`main a[href="/regio/13000/cijfers"]`)
		if h := f.text("h1"); !strings.Contains(h, "Turnhout") {
			t.Errorf("regional figures heading %q", h)
		}
		f.screenshot("figures-region")
		// The map and its table pass axe too (follow checked the page).
		if m := f.text("#map-title"); m == "" {
			t.Error("the regional page has no map of unmet demand")
		}
	})

	t.Run("desk admin invites a worker", func(t *testing.T) {
		f := start1(t, authz.DeskAdmin)
		f.screenshot("home-desk-admin")
		f.follow(`main a[href="/leuven/beheer/medewerkers"]`)
		f.do(chromedp.SetValue(chromedp.ID("email"), "nieuwe.collega@loket.example"),
			chromedp.SetValue(chromedp.ID("display_name"), "Nieuwe Collega"),
			chromedp.SetAttributeValue(chromedp.CSS(`#role option[value="desk_worker"]`), "selected", "selected"))
		f.follow(`form[action="/leuven/beheer/medewerkers"] button[type="submit"]`)
		if notice := f.text(".notice"); notice == "" || !strings.Contains(f.text("#staff-list"), "Nieuwe Collega") {
			t.Errorf("after the invitation: %q", notice)
		}
		// With JavaScript, removing a role asks in a dialog on the page.
		dialog := "confirm-role-" + mustUserIDEmail(t, a, "nieuwe.collega@loket.example") + "-desk_worker"
		f.do(chromedp.Click(chromedp.CSS(`button[data-confirm="`+dialog+`"]`)), chromedp.WaitVisible(chromedp.CSS(`dialog[open][id="`+dialog+`"]`)))
		f.check()
		f.follow(`dialog[open][id="` + dialog + `"] button[type="submit"]`)
		if list := f.text("#staff-list"); strings.Contains(list, "Nieuwe Collega") {
			t.Errorf("the role is still there after the dialog: %q", list)
		}
		// The desk's figures, with the providers' responsiveness, pass axe.
		f.do(chromedp.Navigate(base+"/leuven/loket/cijfers"), chromedp.WaitReady(chromedp.CSS("body footer")))
		f.check()
		f.screenshot("figures-desk")
		if h := f.text("#providers-title"); h == "" {
			t.Error("the desk's figures page lacks the providers' responsiveness")
		}
	})
}
