package app

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/loket-kinderopvang/loket/internal/access"
	"github.com/loket-kinderopvang/loket/internal/catalog"
	"github.com/loket-kinderopvang/loket/internal/platform/authz"
	"github.com/loket-kinderopvang/loket/internal/platform/browsertest"
	"github.com/loket-kinderopvang/loket/internal/platform/db"
	"github.com/loket-kinderopvang/loket/internal/platform/dbtest"
	"github.com/loket-kinderopvang/loket/internal/platform/tenancy"
	"github.com/loket-kinderopvang/loket/internal/requests"
)

// TestRoundDryRunAndPublishInBrowser: a Leuven desk worker computes a dry run
// for next months in the browser, checks it and publishes; the provider
// confirms a proposed place, which becomes an offer to the parent with an
// explanation on the status page. Every page passes axe-core.
func TestRoundDryRunAndPublishInBrowser(t *testing.T) {
	a, srv := newApp(t, dbtest.NewTarget(t, db.SQLite))
	ctx := context.Background()
	if _, err := a.Seed(ctx); err != nil {
		t.Fatal(err)
	}
	start := time.Now().AddDate(0, 2, 0)
	month := start.Format("2006-01")
	provider, _, err := a.Catalog.LargestProvider(ctx, catalog.DemoDossierPrefix)
	if err != nil {
		t.Fatal(err)
	}
	var own []catalog.Location
	if err := a.DB.NewSelect().Model(&own).Where("provider_id = ? AND accepts_requests AND max_age_months >= 12", provider).
		OrderExpr("name").Limit(1).Scan(ctx); err != nil || len(own) == 0 {
		t.Fatalf("no location of the demo provider: %v", err)
	}
	if err := a.Catalog.SetAvailability(ctx, "test", catalog.AvailabilityChange{LocationID: own[0].ID, StartMonth: month,
		AgeBand: catalog.Baby, FreePlaces: 2}); err != nil {
		t.Fatal(err)
	}
	desk := tenancy.WithTenant(ctx, leuvenID(t, a))
	var ids []requests.RequestID
	for _, name := range []string{"Ronde", "Ruben", "Rosa"} {
		sub := deskSub(t, a, "leuven", name, "Rondetest", strings.ToLower(name)+"@ouders.example", own[0].ID.String())
		sub.DesiredStart = start.Format("2006-01-02")
		r, _, _, err := a.Requests.Submit(desk, sub, requests.Actor{Kind: requests.ActorDesk, ID: "test"}, "")
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, r.ID)
	}
	base := browsertest.Serve(t, srv.App)

	worker := browserForm{t: t, ctx: browsertest.Tab(t), a11y: true}
	worker.signIn(base, a, DemoEmails[authz.DeskWorker])
	worker.do(chromedp.Navigate(base + "/leuven/loket/rondes?lang=nl"))
	worker.check()
	worker.do(chromedp.SetAttributeValue(chromedp.ID("from_month"), "value", month),
		chromedp.SetAttributeValue(chromedp.ID("to_month"), "value", month),
		markStale(), chromedp.Click(chromedp.CSS(`form.stack button[type="submit"]`)), waitFresh(),
		chromedp.WaitReady(chromedp.ID("round-placed")))
	worker.check()
	placed, _ := chromedp.Run(worker.ctx, chromedp.Text(chromedp.ID("round-placed")))
	if strings.TrimSpace(placed) != "2" {
		t.Fatalf("dry run placed %q, want 2 (two free places, three requests)", placed)
	}
	worker.do(markStale(), chromedp.Click(chromedp.ID("publish")), waitFresh(), chromedp.WaitReady(chromedp.CSS(".notice")))
	status, _ := chromedp.Run(worker.ctx, chromedp.Text(chromedp.ID("round-status")))
	if strings.TrimSpace(status) != "Gepubliceerd" {
		t.Fatalf("after publishing the round is %q", status)
	}

	prov := browserForm{t: t, ctx: browsertest.Tab(t), a11y: true}
	prov.signIn(base, a, DemoEmails[authz.ProviderAdmin])
	prov.do(chromedp.Navigate(base + "/aanbieder/" + provider.String() + "/rondes?lang=nl"))
	prov.check()
	prov.do(markStale(), chromedp.Click(chromedp.CSS(`button[name="decision"][value="confirm"]`)), waitFresh(),
		chromedp.WaitReady(chromedp.CSS(".notice")))
	offered := 0
	for _, id := range ids {
		r, err := a.Requests.Get(desk, id)
		if err != nil {
			t.Fatal(err)
		}
		if r.Status == requests.StatusOffered {
			offered++
			text, err := a.Rounds.ExplainFor(desk, id, "nl")
			if err != nil || text == "" {
				t.Errorf("no explanation for the parent: %q (%v)", text, err)
			}
		}
	}
	if offered != 1 {
		t.Errorf("%d requests offered after one confirmation, want 1", offered)
	}
}

// TestRoundGroupFollowsAgreements: a desk's rounds include the desks that
// share their waiting list with it, and no desk that only lets it read.
func TestRoundGroupFollowsAgreements(t *testing.T) {
	a, _ := newApp(t, dbtest.NewTarget(t, db.SQLite))
	ctx := context.Background()
	if _, err := a.Seed(ctx); err != nil { // includes the read-only demo agreement Turnhout → Leuven
		t.Fatal(err)
	}
	leuven, geel := leuvenID(t, a), deskID(t, a, "geel-laakdal-meerhout")
	if got, err := a.waitingListPartners(ctx, leuven); err != nil || len(got) != 0 {
		t.Fatalf("before any shared waiting list: %v (%v)", got, err)
	}
	if _, err := a.Access.SeedAgreement(ctx, geel, access.NewAgreement{Receiving: "leuven", Access: access.SharedWaitingList,
		StartsOn: time.Now().AddDate(0, 0, -1).Format("2006-01-02"), Reciprocal: true}, "test:geel", "test:leuven"); err != nil {
		t.Fatal(err)
	}
	if got, _ := a.waitingListPartners(ctx, leuven); len(got) != 1 || got[0] != geel {
		t.Errorf("Leuven's group: %v, want Geel", got)
	}
	if got, _ := a.waitingListPartners(ctx, geel); len(got) != 1 || got[0] != leuven {
		t.Errorf("Geel's group (reciprocal): %v, want Leuven", got)
	}
}

func deskID(t *testing.T, a *App, slug string) tenancy.ID {
	t.Helper()
	d, ok := a.Directory.BySlug(slug)
	if !ok {
		t.Fatalf("no desk %s", slug)
	}
	return d.ID
}
