package notify_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/loket-kinderopvang/loket/internal/catalog"
	"github.com/loket-kinderopvang/loket/internal/geo"
	"github.com/loket-kinderopvang/loket/internal/jobs"
	"github.com/loket-kinderopvang/loket/internal/mail"
	"github.com/loket-kinderopvang/loket/internal/notify"
	"github.com/loket-kinderopvang/loket/internal/platform/clock"
	"github.com/loket-kinderopvang/loket/internal/platform/db"
	"github.com/loket-kinderopvang/loket/internal/platform/dbtest"
	"github.com/loket-kinderopvang/loket/internal/platform/sealed"
	"github.com/loket-kinderopvang/loket/internal/platform/tenancy"
	"github.com/loket-kinderopvang/loket/internal/requests"
	"github.com/loket-kinderopvang/loket/internal/tenant"
	"github.com/loket-kinderopvang/loket/tenants"
)

var day0 = time.Date(2027, 1, 11, 9, 0, 0, 0, time.UTC)

// outbox reads the mails of kind from the outbox of the desk in ctx, oldest
// first.
func outbox(t *testing.T, ctx context.Context, d *db.DB, kind string) []mail.DeskStored {
	t.Helper()
	var out []mail.DeskStored
	err := tenancy.NewStore(d).Tx(ctx, func(ctx context.Context, tx *tenancy.Tx) error {
		return tx.Select(&out).Where("kind = ?", kind).Order("created_at", "id").Scan(ctx)
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestSweepLapsesAndRemindsOnce: with a fixed clock, a parent who answers in
// French gets one French offer reminder before the deadline however often
// the sweep runs, the offer lapses after it, and the location still waiting
// gets one answer reminder in the desk's language.
func TestSweepLapsesAndRemindsOnce(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		clk := clock.NewFixed(day0)
		specs, err := tenant.LoadDir(tenants.Demo)
		if err != nil {
			t.Fatal(err)
		}
		ts := tenant.NewStore(d, clk)
		if _, err := ts.Sync(ctx, specs); err != nil {
			t.Fatal(err)
		}
		dir := tenant.NewDirectory(ts)
		if err := dir.Reload(ctx); err != nil {
			t.Fatal(err)
		}
		cat := catalog.NewStore(d, clk)
		p := &catalog.Provider{Name: "Vzw Testopvang"}
		if err := cat.SaveProvider(ctx, p); err != nil {
			t.Fatal(err)
		}
		var locs []string
		for i := range 2 {
			loc := &catalog.Location{DossierNumber: fmt.Sprintf("T-%d", i), ProviderID: p.ID, Name: fmt.Sprintf("Testopvang %d", i),
				Postcode: "3000", MunicipalityNIS: geo.NISCode("24062"), Lat: 50.88, Lon: 4.70, CareType: catalog.Groepsopvang,
				SubsidyTier: catalog.TierT1, LicensedPlaces: 18, MaxAgeMonths: 36, Languages: []string{"nl"},
				Email: fmt.Sprintf("opvang%d@test.example", i), AcceptsRequests: true}
			if err := cat.SaveLocation(ctx, loc); err != nil {
				t.Fatal(err)
			}
			if err := cat.SetAvailability(ctx, "test", catalog.AvailabilityChange{LocationID: loc.ID, StartMonth: "2027-05",
				AgeBand: catalog.Baby, FreePlaces: 2}); err != nil {
				t.Fatal(err)
			}
			locs = append(locs, loc.ID.String())
		}
		outboxSender := mail.NewOutbox(d, clk)
		mailer := notify.New(outboxSender, "https://loket.example")
		svc, err := requests.NewService(tenancy.NewStore(d), requests.Options{Clock: clk, DataKeys: sealed.MustRandom("test-"), Desks: dir, Catalog: cat,
			HashKey: []byte("a-test-key-of-enough-length-0123456789"), PublicURL: "https://loket.example"})
		if err != nil {
			t.Fatal(err)
		}
		svc.SetNotifier(mailer)
		sched, err := jobs.New(jobs.Options{DB: d, Clock: clk, Instance: "test"})
		if err != nil {
			t.Fatal(err)
		}
		(&notify.Reminders{Requests: svc, Desks: dir, Mailer: mailer, Jobs: sched}).Register()
		sweep := func() {
			t.Helper()
			if _, err := sched.RunDue(ctx); err != nil {
				t.Fatal(err)
			}
		}

		desk, _ := dir.BySlug("leuven")
		leuven := tenancy.WithTenant(ctx, desk.ID)
		r, _, _, err := svc.Submit(leuven, requests.Submission{
			Child:        requests.ChildInput{FirstName: "Noor", LastName: "Testkind", BirthDate: "2026-11-02"},
			Parents:      []requests.ParentInput{{FirstName: "Ouder", LastName: "Noor", Email: "noor@ouders.example"}},
			Language:     "fr",
			Address:      requests.AddressInput{MunicipalityNIS: "24062"},
			DesiredStart: "2027-05-03", FlexibilityWeeks: 2,
			CarePlan:       requests.CarePlanInput{Days: []string{"mon", "tue"}, DayPart: "whole"},
			Preferences:    locs,
			Reason:         "work",
			PriorityClaims: []string{"work_or_training"},
			PrivacyVersion: requests.PrivacyVersion,
		}, requests.Actor{Kind: requests.ActorParent}, "")
		if err != nil {
			t.Fatal(err)
		}
		if got := outbox(t, leuven, d, "request.submitted"); len(got) != 1 || !strings.Contains(got[0].Text, "/leuven/aanvraag/") ||
			!strings.Contains(got[0].Subject, "Noor") || !strings.Contains(got[0].Text, "Bonjour") {
			t.Fatalf("confirmation: %+v", got)
		}
		if err := svc.Answer(leuven, r.ID, 1, requests.Answer{Kind: requests.AnswerOffer,
			OfferStart: time.Date(2027, 5, 3, 0, 0, 0, 0, time.UTC), OfferDays: []string{"mon", "tue"}},
			requests.Actor{Kind: requests.ActorProvider, ID: "p1"}); err != nil {
			t.Fatal(err)
		}
		if got := outbox(t, leuven, d, "request.offer_made"); len(got) != 1 || got[0].To != "noor@ouders.example" {
			t.Fatalf("offer mail: %+v", got)
		}

		sweep()
		if got := outbox(t, leuven, d, "request.offer_reminder"); len(got) != 0 {
			t.Fatalf("reminder a week early: %d", len(got))
		}
		// One day before the offer deadline: the reminder, once, in French,
		// though the sweep runs in this quarter hour and the next ones.
		clk.Advance(time.Duration(desk.OfferAcceptanceDays-1) * 24 * time.Hour)
		for i := range 3 {
			sweep()
			if n := len(outbox(t, leuven, d, "request.offer_reminder")); i == 0 && n != 1 {
				t.Fatalf("the reminder did not go out in the sweep's own round: %d", n)
			}
			sweep()
			clk.Advance(notify.SweepEvery)
		}
		got := outbox(t, leuven, d, "request.offer_reminder")
		if len(got) != 1 {
			t.Fatalf("offer reminders: %d, want 1", len(got))
		}
		if m := got[0]; m.To != "noor@ouders.example" || !strings.HasPrefix(m.Subject, "Rappel") ||
			!strings.Contains(m.Text, "Noor") || !strings.Contains(m.Text, "Testopvang 0") || !strings.Contains(m.Text, "/leuven/aanvraag/") {
			t.Errorf("offer reminder: %+v", m)
		}

		// Past the deadline the offer lapses; no reminder goes out for it.
		clk.Advance(25 * time.Hour)
		sweep()
		req, err := svc.Get(leuven, r.ID)
		if err != nil {
			t.Fatal(err)
		}
		if req.Preferences[0].State != requests.PreferenceLapsed || req.Status != requests.StatusActive {
			t.Errorf("after the deadline: %s / %s", req.Status, req.Preferences[0].State)
		}
		sweep()
		if n := len(outbox(t, leuven, d, "request.offer_reminder")); n != 1 {
			t.Errorf("offer reminders after lapse: %d", n)
		}

		// The second location's answer is due 14 days after the request: one
		// reminder to its address, in the desk's language (Dutch).
		if n := len(outbox(t, leuven, d, "request.answer_reminder")); n != 0 {
			t.Fatalf("answer reminders too early: %d", n)
		}
		clk.Advance(day0.Add(time.Duration(desk.ProviderResponseDays)*24*time.Hour - 24*time.Hour).Sub(clk.Now()))
		sweep()
		clk.Advance(notify.SweepEvery)
		sweep()
		ans := outbox(t, leuven, d, "request.answer_reminder")
		if len(ans) != 1 || ans[0].To != "opvang1@test.example" || !strings.HasPrefix(ans[0].Subject, "Herinnering") ||
			!strings.Contains(ans[0].Text, "https://loket.example/aanbieder") || strings.Contains(ans[0].Text, "Noor") {
			t.Errorf("answer reminders: %+v", ans)
		}
		if c, err := sched.Count(ctx); err != nil || c.Late != 0 || c.Queued != 0 {
			t.Errorf("jobs left: %+v (%v)", c, err)
		}
	})
}
