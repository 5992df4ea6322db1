package app

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/loket-kinderopvang/loket/internal/catalog"
	"github.com/loket-kinderopvang/loket/internal/crisis"
	"github.com/loket-kinderopvang/loket/internal/eventlog"
	"github.com/loket-kinderopvang/loket/internal/platform/authz"
	"github.com/loket-kinderopvang/loket/internal/platform/db"
	"github.com/loket-kinderopvang/loket/internal/platform/dbtest"
	"github.com/loket-kinderopvang/loket/internal/platform/tenancy"
	"github.com/loket-kinderopvang/loket/internal/requests"
)

// TestCrisisRegionalCoordinator (issue 16): the Kempen coordinator reaches
// the closures of her region from her home, sees the board by desk and by
// day (counts, never a child's name), and each look is logged in each desk;
// a desk outside the region gets 404 on the closure, and a desk worker
// cannot open the regional pages.
func TestCrisisRegionalCoordinator(t *testing.T) {
	a, srv := newApp(t, dbtest.NewTarget(t, db.SQLite))
	ctx := context.Background()
	if _, err := a.Seed(ctx); err != nil {
		t.Fatal(err)
	}
	p := &catalog.Provider{Name: "Vzw Kempencrisis"}
	if err := a.Catalog.SaveProvider(ctx, p); err != nil {
		t.Fatal(err)
	}
	l := &catalog.Location{DossierNumber: "KC-1", ProviderID: p.ID, Name: "Kinderdagverblijf De Storm", Postcode: "2460",
		MunicipalityNIS: "13017", Lat: 51.24, Lon: 4.97, CareType: catalog.Groepsopvang, SubsidyTier: catalog.TierT1,
		LicensedPlaces: 20, MaxAgeMonths: 36, Languages: []string{"nl"}, AcceptsRequests: true}
	if err := a.Catalog.SaveLocation(ctx, l); err != nil {
		t.Fatal(err)
	}
	start := time.Now().AddDate(0, 0, 7)
	if err := a.Catalog.SetAvailability(ctx, "test", catalog.AvailabilityChange{LocationID: l.ID, StartMonth: start.Format("2006-01"),
		AgeBand: catalog.Baby, FreePlaces: 1}); err != nil {
		t.Fatal(err)
	}
	desk := deskCtx(t, a, "stadsregio-turnhout")
	sub := deskSub(t, a, "stadsregio-turnhout", "Storm", "Crisistest", "storm@ouders.example", l.ID.String())
	sub.DesiredStart = start.Format("2006-01-02")
	r, _, _, err := a.Requests.Submit(desk, sub, requests.Actor{Kind: requests.ActorDesk, ID: "test"}, "")
	if err != nil {
		t.Fatal(err)
	}
	c, err := a.Crisis.Declare(desk, crisis.Declaration{LocationID: l.ID.String(), From: time.Now().AddDate(0, 0, 1).Format("2006-01-02"),
		Reason: "Stormschade"}, requests.Actor{Kind: requests.ActorDesk, ID: "test"})
	if err != nil {
		t.Fatal(err)
	}
	_ = r
	coord := SignInDemo(t, a, srv.App, authz.RegionalCoordinator)
	if home := coord.Get("/werk"); !strings.Contains(home.Body, `href="/regio/13000/crisis"`) {
		t.Fatalf("the coordinator's home has no link to the region's crisis page")
	}
	list := coord.Get("/regio/13000/crisis")
	if list.Status != http.StatusOK || !strings.Contains(list.Body, "Kinderdagverblijf De Storm") {
		t.Fatalf("region list: %d %s", list.Status, list.Body)
	}
	board := coord.Get("/regio/13000/crisis/" + c.ID.String())
	if board.Status != http.StatusOK || !strings.Contains(board.Body, `id="by-desk"`) || strings.Contains(board.Body, "Storm Crisistest") {
		t.Fatalf("region board: %d (a child's name must never show)", board.Status)
	}
	if res := coord.Get("/regio/24000/crisis/" + c.ID.String()); res.Status == http.StatusOK {
		t.Fatal("the coordinator opened the closure through another region")
	}
	if res := coord.Get("/regio/13000/crisis/" + c.ID.String() + "/rapport.csv"); res.Status != http.StatusOK || !strings.Contains(res.Body, "totaal;1;") {
		t.Fatalf("region report: %d %s", res.Status, res.Body)
	}
	err = tenancy.NewStore(a.DB).Tx(desk, func(ctx context.Context, tx *tenancy.Tx) error {
		var es []eventlog.Event
		if err := tx.Select(&es).Where("kind = ?", "access.cross_tenant").Scan(ctx); err != nil {
			return err
		}
		if len(es) == 0 {
			t.Error("the coordinator's look is not in the desk's log")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	worker := SignInDemo(t, a, srv.App, authz.DeskWorker) // Leuven: outside the region
	if res := worker.Get("/leuven/loket/crisis/" + c.ID.String()); res.Status != http.StatusNotFound {
		t.Fatalf("a desk outside the region opened the closure: %d", res.Status)
	}
	if res := worker.Get("/leuven/loket/crisis"); res.Status != http.StatusOK || strings.Contains(res.Body, "De Storm") {
		t.Fatalf("a desk outside the region lists the closure: %d", res.Status)
	}
	if res := worker.Get("/regio/13000/crisis"); res.Status == http.StatusOK {
		t.Fatal("a desk worker opened the regional crisis page")
	}

	// The coordinator declares a closure of a location of her region; bad
	// input is a field error in her language; a location of another region
	// cannot be chosen.
	other := &catalog.Location{DossierNumber: "KC-2", ProviderID: p.ID, Name: "Kinderdagverblijf De Hagel", Postcode: "2440",
		MunicipalityNIS: "13008", Lat: 51.16, Lon: 4.99, CareType: catalog.Groepsopvang, SubsidyTier: catalog.TierT1,
		LicensedPlaces: 20, MaxAgeMonths: 36, Languages: []string{"nl"}, AcceptsRequests: true}
	if err := a.Catalog.SaveLocation(ctx, other); err != nil {
		t.Fatal(err)
	}
	bad := coord.Post("/regio/13000/crisis", url.Values{"location_id": {other.ID.String()}, "from": {"morgen"}, "reason": {"Hagel"}})
	if bad.Status != http.StatusUnprocessableEntity || !strings.Contains(bad.Body, "Geef een datum") {
		t.Fatalf("a bad declaration: %d", bad.Status)
	}
	var leuvenLoc catalog.Location
	if err := a.DB.NewSelect().Model(&leuvenLoc).Where("municipality_nis = '24062'").Limit(1).Scan(ctx); err != nil {
		t.Fatal(err)
	}
	from := time.Now().AddDate(0, 0, 1).Format("2006-01-02")
	if res := coord.Post("/regio/13000/crisis", url.Values{"location_id": {leuvenLoc.ID.String()}, "from": {from}, "reason": {"Hagel"}}); res.Status != http.StatusUnprocessableEntity {
		t.Fatalf("a location of another region: %d", res.Status)
	}
	ok := coord.Post("/regio/13000/crisis", url.Values{"location_id": {other.ID.String()}, "from": {from}, "reason": {"Hagel"}, "public": {"1"}})
	if ok.Status != http.StatusSeeOther || !strings.HasPrefix(ok.Header.Get("Location"), "/regio/13000/crisis/") {
		t.Fatalf("declare: %d %s", ok.Status, ok.Header.Get("Location"))
	}
}

// TestCrisisOperatorDeclares (issue 16, point 1): the platform's operator
// reaches every region's crisis page from her home and declares a closure
// there; a provider's admin, who is neither operator nor coordinator, cannot
// open the regional page.
func TestCrisisOperatorDeclares(t *testing.T) {
	a, srv := newApp(t, dbtest.NewTarget(t, db.SQLite))
	ctx := context.Background()
	if _, err := a.Seed(ctx); err != nil {
		t.Fatal(err)
	}
	p := &catalog.Provider{Name: "Vzw Operatortest"}
	if err := a.Catalog.SaveProvider(ctx, p); err != nil {
		t.Fatal(err)
	}
	l := &catalog.Location{DossierNumber: "OP-1", ProviderID: p.ID, Name: "Kinderdagverblijf De Bliksem", Postcode: "2460",
		MunicipalityNIS: "13017", Lat: 51.24, Lon: 4.97, CareType: catalog.Groepsopvang, SubsidyTier: catalog.TierT1,
		LicensedPlaces: 20, MaxAgeMonths: 36, Languages: []string{"nl"}, AcceptsRequests: true}
	if err := a.Catalog.SaveLocation(ctx, l); err != nil {
		t.Fatal(err)
	}
	op := SignInDemo(t, a, srv.App, authz.Operator)
	if home := op.Get("/werk"); !strings.Contains(home.Body, `href="/regio/13000/crisis"`) || !strings.Contains(home.Body, `href="/regio/24000/crisis"`) {
		t.Fatal("the operator's home has no link to the regions' crisis pages")
	}
	if list := op.Get("/regio/13000/crisis"); list.Status != http.StatusOK || !strings.Contains(list.Body, "Kinderdagverblijf De Bliksem") {
		t.Fatalf("region crisis page for the operator: %d", list.Status)
	}
	from := time.Now().AddDate(0, 0, 1).Format("2006-01-02")
	res := op.Post("/regio/13000/crisis", url.Values{"location_id": {l.ID.String()}, "from": {from}, "reason": {"Brand"}, "public": {"1"}})
	if res.Status != http.StatusSeeOther || !strings.HasPrefix(res.Header.Get("Location"), "/regio/13000/crisis/") {
		t.Fatalf("the operator declares: %d %s", res.Status, res.Header.Get("Location"))
	}
	if board := op.Get(res.Header.Get("Location")); board.Status != http.StatusOK {
		t.Fatalf("the operator's board: %d", board.Status)
	}
	if res := op.Get("/regio/99999/crisis"); res.Status != http.StatusNotFound {
		t.Fatalf("an unknown region: %d", res.Status)
	}
	admin := SignInDemo(t, a, srv.App, authz.ProviderAdmin)
	if res := admin.Get("/regio/13000/crisis"); res.Status == http.StatusOK {
		t.Fatal("a provider's admin opened the regional crisis page")
	}
}
