package app

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/loket-kinderopvang/loket/internal/catalog"
	"github.com/loket-kinderopvang/loket/internal/crisis"
	"github.com/loket-kinderopvang/loket/internal/platform/authz"
	"github.com/loket-kinderopvang/loket/internal/platform/browsertest"
	"github.com/loket-kinderopvang/loket/internal/platform/db"
	"github.com/loket-kinderopvang/loket/internal/platform/dbtest"
	"github.com/loket-kinderopvang/loket/internal/requests"
)

// TestCrisisDeclareAndPublishInBrowser (issue 16): a Leuven desk worker goes
// from the staff home to the crisis contact point by links only, declares
// that a location with three placed children closes tomorrow, makes the dry
// run and publishes it; the board shows three affected and three proposed.
// Every page passes axe-core.
func TestCrisisDeclareAndPublishInBrowser(t *testing.T) {
	a, srv := newApp(t, dbtest.NewTarget(t, db.SQLite))
	ctx := context.Background()
	if _, err := a.Seed(ctx); err != nil {
		t.Fatal(err)
	}
	p := &catalog.Provider{Name: "Vzw Crisistest"}
	if err := a.Catalog.SaveProvider(ctx, p); err != nil {
		t.Fatal(err)
	}
	hours := catalog.WeekHours{{Open: "07:00", Close: "18:00"}, {Open: "07:00", Close: "18:00"}, {Open: "07:00", Close: "18:00"},
		{Open: "07:00", Close: "18:00"}, {Open: "07:00", Close: "18:00"}}
	var locs []catalog.Location
	for i, name := range []string{"Kinderdagverblijf Het Vuur", "Crisisopvang Dichtbij", "Crisisopvang Verder"} {
		l := &catalog.Location{DossierNumber: fmt.Sprintf("CB-%d", i), ProviderID: p.ID, Name: name, Postcode: "3000",
			MunicipalityNIS: "24062", Lat: 50.88 + float64(i)*0.02, Lon: 4.70, CareType: catalog.Groepsopvang,
			SubsidyTier: catalog.TierT2A, LicensedPlaces: 30, MaxAgeMonths: 36, OpeningHours: hours, Languages: []string{"nl"},
			AcceptsRequests: true}
		if err := a.Catalog.SaveLocation(ctx, l); err != nil {
			t.Fatal(err)
		}
		locs = append(locs, *l)
	}
	now := time.Now().UTC()
	start := now.AddDate(0, 0, 7)
	tomorrow := now.AddDate(0, 0, 1)
	if err := a.Catalog.SetAvailability(ctx, "test",
		catalog.AvailabilityChange{LocationID: locs[0].ID, StartMonth: start.Format("2006-01"), AgeBand: catalog.Baby, FreePlaces: 3},
		catalog.AvailabilityChange{LocationID: locs[1].ID, StartMonth: tomorrow.Format("2006-01"), AgeBand: catalog.Baby, FreePlaces: 2},
		catalog.AvailabilityChange{LocationID: locs[2].ID, StartMonth: tomorrow.Format("2006-01"), AgeBand: catalog.Baby, FreePlaces: 2}); err != nil {
		t.Fatal(err)
	}
	desk := deskCtx(t, a, "leuven")
	for _, name := range []string{"Vera", "Vince", "Vito"} {
		sub := deskSub(t, a, "leuven", name, "Crisistest", strings.ToLower(name)+"@ouders.example", locs[0].ID.String())
		sub.DesiredStart = start.Format("2006-01-02")
		r, _, _, err := a.Requests.Submit(desk, sub, requests.Actor{Kind: requests.ActorDesk, ID: "test"}, "")
		if err != nil {
			t.Fatal(err)
		}
		if err := a.Requests.Answer(desk, r.ID, 1, requests.Answer{Kind: requests.AnswerOffer, OfferStart: start,
			OfferDays: []string{"mon", "tue"}}, requests.Actor{Kind: requests.ActorProvider, ID: "test"}); err != nil {
			t.Fatal(err)
		}
		if err := a.Requests.Accept(desk, r.ID, 1, requests.Actor{Kind: requests.ActorParent}); err != nil {
			t.Fatal(err)
		}
	}
	base := browsertest.Serve(t, srv.App)
	worker := browserForm{t: t, ctx: browsertest.Tab(t), a11y: true}
	worker.signIn(base, a, DemoEmails[authz.DeskWorker])
	worker.do(chromedp.Navigate(base + "/werk?lang=nl"))
	worker.check()
	worker.follow(`main a[href="/leuven/loket/crisis"]`)
	worker.do(chromedp.SetAttributeValue(chromedp.CSS(fmt.Sprintf(`#f-location_id option[value=%q]`, locs[0].ID.String())), "selected", "selected"),
		chromedp.SetAttributeValue(chromedp.ID("f-from"), "value", tomorrow.Format("2006-01-02")),
		chromedp.SetAttributeValue(chromedp.ID("f-reason"), "value", "Waterschade na een lek"))
	worker.follow("#declare-submit")
	if got := strings.TrimSpace(worker.text("#board-affected")); got != "3" {
		t.Fatalf("affected = %q, want 3", got)
	}
	worker.follow("#dry-run")
	if !strings.Contains(worker.text("#review"), "3") {
		t.Fatalf("the dry run link says %q, want 3 places", worker.text("#review"))
	}
	worker.follow("#publish")
	if got := strings.TrimSpace(worker.text("#board-proposed")); got != "3" {
		t.Fatalf("proposed = %q, want 3", got)
	}
	// The staff menu leads to the crisis contact point too.
	worker.follow(`nav.staff-nav a[href="/leuven/loket/crisis"]`)

	// The Kempen coordinator follows a closure in her region by links: board
	// by desk and by day, axe clean.
	kempen := &catalog.Location{DossierNumber: "CB-K", ProviderID: p.ID, Name: "Kinderdagverblijf De Storm", Postcode: "2460",
		MunicipalityNIS: "13017", Lat: 51.24, Lon: 4.97, CareType: catalog.Groepsopvang, SubsidyTier: catalog.TierT1,
		LicensedPlaces: 20, MaxAgeMonths: 36, OpeningHours: hours, Languages: []string{"nl"}, AcceptsRequests: true}
	if err := a.Catalog.SaveLocation(ctx, kempen); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Crisis.Declare(deskCtx(t, a, "stadsregio-turnhout"), crisis.Declaration{LocationID: kempen.ID.String(),
		From: tomorrow.Format("2006-01-02"), Reason: "Stormschade"}, requests.Actor{Kind: requests.ActorDesk, ID: "test"}); err != nil {
		t.Fatal(err)
	}
	coord := browserForm{t: t, ctx: browsertest.Tab(t), a11y: true}
	coord.signIn(base, a, DemoEmails[authz.RegionalCoordinator])
	coord.do(chromedp.Navigate(base + "/werk?lang=nl"))
	coord.check()
	coord.follow(`main a[href="/regio/13000/crisis"]`)
	coord.follow(`main table a`)
	if !strings.Contains(coord.text("#by-desk"), "Totaal") { // no families there: only the total
		t.Fatalf("the regional board lacks the desk: %s", coord.text("#by-desk"))
	}

	// The demo provider's admin announces emergency places for a closure
	// near one of its locations, by links from her home; axe clean.
	demoProv, demoLoc, err := a.Catalog.LargestProvider(ctx, catalog.DemoDossierPrefix)
	if err != nil {
		t.Fatal(err)
	}
	var own catalog.Location
	if err := a.DB.NewSelect().Model(&own).Where("id = ?", demoLoc).Scan(ctx); err != nil {
		t.Fatal(err)
	}
	nearOwn := &catalog.Location{DossierNumber: "CB-N", ProviderID: p.ID, Name: "Kinderdagverblijf De Overstroming", Postcode: own.Postcode,
		MunicipalityNIS: own.MunicipalityNIS, Lat: own.Lat, Lon: own.Lon, CareType: catalog.Groepsopvang, SubsidyTier: catalog.TierT1,
		LicensedPlaces: 20, MaxAgeMonths: 36, OpeningHours: hours, Languages: []string{"nl"}, AcceptsRequests: true}
	if err := a.Catalog.SaveLocation(ctx, nearOwn); err != nil {
		t.Fatal(err)
	}
	cl, err := a.Crisis.Declare(ctx, crisis.Declaration{LocationID: nearOwn.ID.String(), From: tomorrow.Format("2006-01-02"),
		Reason: "Overstroming"}, requests.Actor{Kind: requests.ActorSystem})
	if err != nil {
		t.Fatal(err)
	}
	prov := browserForm{t: t, ctx: browsertest.Tab(t), a11y: true}
	prov.signIn(base, a, DemoEmails[authz.ProviderAdmin])
	prov.do(chromedp.Navigate(base + "/werk?lang=nl"))
	prov.check()
	prov.follow(fmt.Sprintf(`main a[href="/aanbieder/%s/crisis"]`, demoProv))
	month := tomorrow.Format("2006-01") + "-01"
	prov.do(chromedp.SetAttributeValue(chromedp.CSS(fmt.Sprintf(`#f-closure_id option[value=%q]`, cl.ID.String())), "selected", "selected"),
		chromedp.SetAttributeValue(chromedp.CSS(fmt.Sprintf(`#f-emergency_location option[value=%q]`, demoLoc.String())), "selected", "selected"),
		chromedp.SetAttributeValue(chromedp.CSS(fmt.Sprintf(`#f-start_month option[value=%q]`, month)), "selected", "selected"),
		chromedp.SetAttributeValue(chromedp.CSS(`#f-age_band option[value="toddler"]`), "selected", "selected"),
		chromedp.SetAttributeValue(chromedp.ID("f-places"), "value", "4"),
		chromedp.SetAttributeValue(chromedp.ID("f-emergency_until"), "value", tomorrow.AddDate(0, 3, 0).Format("2006-01-02")))
	prov.follow("#announce")
	if !strings.Contains(prov.text("main"), "noodplaatsen zijn gemeld") {
		t.Fatalf("after announcing: %s", prov.text("main"))
	}
	ems, err := a.Crisis.Emergencies(ctx, cl.ID)
	if err != nil || len(ems) != 1 || ems[0].Places != 4 || ems[0].LocationID != demoLoc.UUID {
		t.Fatalf("emergency places = %+v (%v)", ems, err)
	}
}
