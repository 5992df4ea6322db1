package reports_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/loket-kinderopvang/loket/internal/catalog"
	"github.com/loket-kinderopvang/loket/internal/geo"
	"github.com/loket-kinderopvang/loket/internal/platform/clock"
	"github.com/loket-kinderopvang/loket/internal/platform/db"
	"github.com/loket-kinderopvang/loket/internal/platform/dbtest"
	"github.com/loket-kinderopvang/loket/internal/platform/sealed"
	"github.com/loket-kinderopvang/loket/internal/platform/tenancy"
	"github.com/loket-kinderopvang/loket/internal/reports"
	"github.com/loket-kinderopvang/loket/internal/requests"
)

type noNotices struct{}

func (noNotices) Notify(context.Context, requests.Notice) error { return nil }

// TestFiguresFollowTheLifecycle: requests that went through the request
// service (not hand-inserted rows) give the figures the lifecycle implies,
// so the report columns are filled where the lifecycle happens.
func TestFiguresFollowTheLifecycle(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		clk := clock.NewFixed(time.Date(2027, 1, 11, 9, 0, 0, 0, time.UTC))
		dir := desks(t, d)
		cat := catalog.NewStore(d, clk)
		svc, err := requests.NewService(tenancy.NewStore(d), requests.Options{Clock: clk, DataKeys: sealed.MustRandom("test-"), Desks: dir, Catalog: cat,
			HashKey: []byte("a-test-key-of-enough-length-0123456789"), PublicURL: "https://loket.example", Notifier: noNotices{}})
		if err != nil {
			t.Fatal(err)
		}
		leuven, _ := dir.BySlug("leuven")
		lctx := tenancy.WithTenant(ctx, leuven.ID)
		p := &catalog.Provider{Name: "Vzw Testopvang"}
		if err := cat.SaveProvider(ctx, p); err != nil {
			t.Fatal(err)
		}
		var locs []string
		for i := range 2 {
			loc := &catalog.Location{DossierNumber: fmt.Sprintf("L-%d", i), ProviderID: p.ID, Name: fmt.Sprintf("Opvang %d", i),
				Postcode: "3000", MunicipalityNIS: geo.NISCode("24062"), Neighbourhood: "Heverlee", Lat: 50.88, Lon: 4.70,
				CareType: catalog.Groepsopvang, SubsidyTier: catalog.TierT1, LicensedPlaces: 18, MaxAgeMonths: 36,
				Languages: []string{"nl"}, Email: fmt.Sprintf("opvang%d@test.example", i), AcceptsRequests: true}
			if err := cat.SaveLocation(ctx, loc); err != nil {
				t.Fatal(err)
			}
			if err := cat.SetAvailability(ctx, "test", catalog.AvailabilityChange{LocationID: loc.ID, StartMonth: "2027-05",
				AgeBand: catalog.Baby, FreePlaces: 2}); err != nil {
				t.Fatal(err)
			}
			locs = append(locs, loc.ID.UUID.String())
		}
		submit := func(name string) requests.RequestID {
			r, _, _, err := svc.Submit(lctx, requests.Submission{
				Child:    requests.ChildInput{FirstName: name, LastName: "Testkind", BirthDate: "2026-11-02"},
				Parents:  []requests.ParentInput{{FirstName: "Ouder", LastName: name, Email: name + "@ouders.example"}},
				Language: "nl", Address: requests.AddressInput{MunicipalityNIS: "24062", Neighbourhood: "Kessel-Lo"},
				DesiredStart: "2027-05-03", CarePlan: requests.CarePlanInput{Days: []string{"mon", "tue"}, DayPart: "whole"},
				Preferences: locs, Reason: "work", PriorityClaims: []string{"work_or_training"},
				PrivacyVersion: requests.PrivacyVersion,
			}, requests.Actor{Kind: requests.ActorParent}, "")
			if err != nil {
				t.Fatalf("submit %s: %v", name, err)
			}
			return r.ID
		}
		mila, noor := submit("mila"), submit("noor")
		provider := requests.Actor{Kind: requests.ActorProvider, ID: "p1"}
		clk.Advance(2 * 24 * time.Hour)
		if err := svc.Answer(lctx, mila, 1, requests.Answer{Kind: requests.AnswerOffer, OfferStart: time.Date(2027, 5, 3, 0, 0, 0, 0, time.UTC),
			OfferDays: []string{"mon", "tue"}}, provider); err != nil {
			t.Fatal(err)
		}
		clk.Advance(3 * 24 * time.Hour)
		if err := svc.Accept(lctx, mila, 1, requests.Actor{Kind: requests.ActorParent}); err != nil {
			t.Fatal(err)
		}
		if err := svc.Withdraw(lctx, noor, "moved", requests.Actor{Kind: requests.ActorParent}); err != nil {
			t.Fatal(err)
		}

		rs := reports.NewService(d, dir, clk, nil)
		f, err := rs.Yearly(lctx, 2027, "")
		if err != nil {
			t.Fatal(err)
		}
		if got := fmt.Sprint(f.Requests, f.Children, f.Placed, f.Withdrawn, f.Open, f.FirstAnswerMedian, f.PlacementMedian); got != "2 2 1 1 0 2.0 5.0" {
			t.Errorf("figures = %s, want 2 2 1 1 0 2.0 5.0", got)
		}
		for id, want := range map[string]string{
			"by_age": "unborn=0 0-5=0 6-11=2 12-17=0 18-23=0 24-35=0 36+=0", "by_channel": "online=2 counter=0 phone=0 partner=0 forwarded=0 api=0",
			"by_neighbourhood": "24062/Kessel-Lo=2", "by_days_per_week": "0=0 1=0 2=2 3=0 4=0 5=0 6=0 7=0",
			"by_priority": "work_or_training=2 single_parent=0 low_income=0 foster_child=0 sibling=0 none=0",
		} {
			if got := rows(f.Breakdown(id)); got != want {
				t.Errorf("%s = %s, want %s", id, got, want)
			}
		}
		a, err := rs.Ahead(lctx, leuven)
		if err != nil {
			t.Fatal(err)
		}
		// Nothing open; the accepted offer took one of the four free places in May.
		if len(a.Rows) != 1 || a.Rows[0].Month != "2027-05" || a.Rows[0].Neighbourhood != "Heverlee" || a.Rows[0].FreePlaces != 3 || a.Rows[0].Requests.N != 0 {
			t.Errorf("ahead = %+v", a.Rows)
		}
	})
}
