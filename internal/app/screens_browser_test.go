package app

// Screenshots for people who review a change (issue 20 asks for the
// parent's status page with an offer, in Dutch and French). Run with
// LOKET_SCREENSHOTS_DIR=/some/dir; skipped otherwise.

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/loket-kinderopvang/loket/internal/platform/browsertest"
	"github.com/loket-kinderopvang/loket/internal/platform/db"
	"github.com/loket-kinderopvang/loket/internal/platform/dbtest"
)

func TestScreenshotsOfTheParentsPages(t *testing.T) {
	dir := os.Getenv("LOKET_SCREENSHOTS_DIR")
	if dir == "" {
		t.Skip("set LOKET_SCREENSHOTS_DIR to take screenshots")
	}
	a, srv := newApp(t, dbtest.NewTarget(t, db.SQLite))
	ctx := context.Background()
	locs := parentLocations(t, a.Catalog, 2)
	d, err := a.Catalog.Get(ctx, locs[0], "")
	if err != nil {
		t.Fatal(err)
	}
	d.Street, d.Phone = "Bloemenstraat 12", "016 12 34 56"
	if err := a.Catalog.SaveLocation(ctx, &d.Location); err != nil {
		t.Fatal(err)
	}
	req, path := submitParent(t, a, "Lotte", locs[0], locs[1])
	offer(t, a, req.ID, 1)
	base := browsertest.Serve(t, srv.App)
	shoot := func(name, url string, width int64) {
		tab := browsertest.Tab(t)
		if err := chromedp.Do(tab, chromedp.EmulateViewport(width, 900), chromedp.Navigate(base+url),
			chromedp.WaitReady(chromedp.CSS("body footer"))); err != nil {
			t.Fatal(err)
		}
		png, err := chromedp.Run(tab, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, lang := range []string{"nl", "fr"} {
		shoot("status-offer-"+lang+".png", path+"?lang="+lang, 1024)
		shoot("status-offer-"+lang+"-phone.png", path+"?lang="+lang, PhoneWidth)
	}
	shoot("search-phone.png", "/leuven/opvang?municipality=24062&sort=name&lang=nl", PhoneWidth)
}
