package crisis_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/loket-kinderopvang/loket/internal/crisis"
	"github.com/loket-kinderopvang/loket/internal/eventlog"
	"github.com/loket-kinderopvang/loket/internal/platform/db"
	"github.com/loket-kinderopvang/loket/internal/platform/dbtest"
	"github.com/loket-kinderopvang/loket/internal/platform/tenancy"
	"github.com/loket-kinderopvang/loket/internal/requests"
	"github.com/loket-kinderopvang/loket/internal/tenant"
)

// TestClosureIsolation: a desk outside the region sees nothing of the
// closure's families (list, board, its event log); each desk sees only its
// own families; a provider sees only the families proposed to its own
// locations, the provider of the closed location none.
func TestClosureIsolation(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		w := newWorld(t, d)
		turnhout, tctx := w.desk(t, "stadsregio-turnhout")
		glm, gctx := w.desk(t, "geel-laakdal-meerhout")
		leuven, lctx := w.desk(t, "leuven")
		tReq := w.place(t, tctx, 1, "13017", w.closed)
		gReq := w.place(t, gctx, 2, "13008", w.closed)
		w.clk.Advance(42 * 24 * time.Hour)
		c, err := w.crisis.Declare(tctx, crisis.Declaration{LocationID: w.closed.ID.String(), From: "2027-01-12", Reason: "Inspectie"}, deskWorker)
		if err != nil {
			t.Fatal(err)
		}
		rows, err := w.crisis.Families(lctx, c.ID)
		if err != nil || len(rows) != 0 {
			t.Fatalf("the desk outside the region lists %d families (%v)", len(rows), err)
		}
		b, err := w.crisis.BoardFor(context.Background(), c.ID, []tenant.Tenant{leuven})
		if err != nil || b.Total.Affected != 0 {
			t.Fatalf("the board of the desk outside the region counts %+v (%v)", b.Total, err)
		}
		err = tenancy.NewStore(d).Tx(lctx, func(ctx context.Context, tx *tenancy.Tx) error {
			es, err := eventlog.ForSubject(ctx, tx, "closure", c.ID.UUID)
			if len(es) != 0 {
				t.Errorf("the desk outside the region logged %d closure events", len(es))
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		// Each desk of the region sees its own family only, and logs the closure.
		for _, dc := range []struct {
			ctx    context.Context
			placed requests.RequestID
		}{{tctx, tReq}, {gctx, gReq}} {
			rows, err := w.crisis.Families(dc.ctx, c.ID)
			if err != nil || len(rows) != 1 {
				t.Fatalf("families = %d (%v), want 1", len(rows), err)
			}
			r, err := w.reqs.Get(dc.ctx, rows[0].RequestID)
			if err != nil || !r.Urgent || r.Status != requests.StatusActive {
				t.Fatalf("the affected family's new request: %+v (%v), want urgent and active", r, err)
			}
			if old, err := w.reqs.Get(dc.ctx, dc.placed); err != nil || old.ChildID != r.ChildID {
				t.Fatalf("the new request is not for the placed child (%v)", err)
			}
			err = tenancy.NewStore(d).Tx(dc.ctx, func(ctx context.Context, tx *tenancy.Tx) error {
				es, err := eventlog.ForSubject(ctx, tx, "closure", c.ID.UUID)
				if len(es) != 1 || es[0].Kind != "closure.declared" {
					t.Errorf("closure events = %+v, want the declaration", es)
				}
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
		}
		if _, err := w.crisis.DryRun(tctx, c.ID, "desk:test"); err != nil {
			t.Fatal(err)
		}
		if _, err := w.crisis.Publish(tctx, c.ID, deskWorker); err != nil {
			t.Fatal(err)
		}
		all := []tenant.Tenant{turnhout, glm, leuven}
		seen := 0
		for _, l := range append(append(w.near, w.emerg, w.far, w.closed), w.toddler) {
			props, err := w.rounds.Proposals(context.Background(), all, []uuid.UUID{l.ID.UUID})
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range props {
				if p.LocationID != l.ID.UUID {
					t.Fatalf("the provider of %s sees a family proposed to %s", l.Name, p.LocationName)
				}
			}
			if l.ID == w.closed.ID && len(props) != 0 {
				t.Fatalf("the provider of the closed location sees %d families", len(props))
			}
			seen += len(props)
		}
		if seen != 2 {
			t.Fatalf("providers see %d proposals in all, want 2", seen)
		}
		// A provider may answer only a proposal to its own location.
		props, _ := w.rounds.Proposals(context.Background(), all, []uuid.UUID{w.near[0].ID.UUID})
		ctx := tctx
		if props[0].DeskSlug == glm.Slug {
			ctx = gctx
		}
		if err := w.rounds.Confirm(ctx, props[0].RoundID, props[0].RequestID, []uuid.UUID{w.near[1].ID.UUID}, providerA); err == nil {
			t.Fatal("the provider of another location confirmed the proposal")
		}
	})
}

// TestOffersWithdrawnAndOutsideFamilies: an open offer and a pending choice
// at the closing location end with the reason "location closed" (the request
// goes back to active); a family from outside Loket typed in by the desk
// becomes an urgent request marked with the closure, re-placed with the rest.
func TestOffersWithdrawnAndOutsideFamilies(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		w := newWorld(t, d)
		_, tctx := w.desk(t, "stadsregio-turnhout")
		w.clk.Advance(41 * 24 * time.Hour) // 2027-01-10
		w.places(t, w.closed, "2027-01", "baby", 2)
		sub := func(i int) *requests.Request {
			r, _, _, err := w.reqs.Submit(tctx, requests.Submission{
				Child:    requests.ChildInput{FirstName: "Open", LastName: "Crisistest", BirthDate: "2026-06-02"},
				Parents:  []requests.ParentInput{{FirstName: "Ouder", LastName: "Crisistest", Email: "open@ouders.example"}},
				Language: "fr", Address: requests.AddressInput{MunicipalityNIS: "13040"}, DesiredStart: "2027-01-18",
				CarePlan:    requests.CarePlanInput{Days: []string{"mon", "tue"}, DayPart: "whole"},
				Preferences: []string{w.closed.ID.String(), w.far.ID.String()}, Reason: "work", PrivacyVersion: requests.PrivacyVersion,
			}, requests.Actor{Kind: requests.ActorAPI}, "")
			if err != nil {
				t.Fatal(err)
			}
			return r
		}
		offered, pending := sub(1), sub(2)
		if err := w.reqs.Answer(tctx, offered.ID, 1, requests.Answer{Kind: requests.AnswerOffer, OfferStart: time.Date(2027, 1, 18, 0, 0, 0, 0, time.UTC),
			OfferDays: []string{"mon", "tue"}}, providerA); err != nil {
			t.Fatal(err)
		}
		c, err := w.crisis.Declare(tctx, crisis.Declaration{LocationID: w.closed.ID.String(), From: "2027-01-11", Reason: "Brand"}, deskWorker)
		if err != nil {
			t.Fatal(err)
		}
		for _, id := range []requests.RequestID{offered.ID, pending.ID} {
			r, err := w.reqs.Get(tctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if !r.Status.Open() || r.Status == requests.StatusOffered || r.Preferences[0].State != requests.PreferenceNoPlace ||
				r.Preferences[0].NoPlaceReason != requests.NoPlaceClosed || r.Preferences[1].State != requests.PreferencePending {
				t.Fatalf("after the closure: %s, %+v", r.Status, r.Preferences)
			}
		}
		// Bad input: field errors, nothing stored.
		if _, err := w.crisis.AddOutside(tctx, c.ID, crisis.OutsideFamily{ChildFirstName: "Zonder"}, deskWorker); !isField(err, "child.birth_date") {
			t.Fatalf("an incomplete outside family: %v, want field errors", err)
		}
		r, err := w.crisis.AddOutside(tctx, c.ID, crisis.OutsideFamily{ChildFirstName: "Buiten", ChildLastName: "Crisistest",
			BirthDate: "2026-04-20", ParentFirstName: "Ouder", ParentLastName: "Crisistest", Phone: "0470 12 34 56",
			MunicipalityNIS: "13017", Days: []string{"mon", "wed"}}, deskWorker)
		if err != nil {
			t.Fatal(err)
		}
		if !r.Urgent {
			t.Fatal("the outside family's request is not urgent")
		}
		rows, err := w.crisis.Families(tctx, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		causes := map[string]int{}
		for _, row := range rows {
			causes[row.Cause]++
		}
		if causes[crisis.CauseOffer] != 1 || causes[crisis.CausePreference] != 1 || causes[crisis.CauseOutside] != 1 {
			t.Fatalf("causes = %v", causes)
		}
		round, err := w.crisis.DryRun(tctx, c.ID, "desk:test")
		if err != nil {
			t.Fatal(err)
		}
		if round.Children != 3 || round.Placed != 3 {
			t.Fatalf("dry run: %d children, %d placed; want 3 and 3", round.Children, round.Placed)
		}
	})
}

// TestRoundPagePublishesACrisisRound: publishing the crisis dry run from the
// round page (rounds.Service.Publish) does what the crisis page does: the
// places are proposed in every desk of the families, not lost.
func TestRoundPagePublishesACrisisRound(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		w := newWorld(t, d)
		turnhout, tctx := w.desk(t, "stadsregio-turnhout")
		glm, gctx := w.desk(t, "geel-laakdal-meerhout")
		w.place(t, tctx, 1, "13017", w.closed)
		w.place(t, gctx, 2, "13008", w.closed)
		w.clk.Advance(42 * 24 * time.Hour)
		c, err := w.crisis.Declare(tctx, crisis.Declaration{LocationID: w.closed.ID.String(), From: "2027-01-12", Reason: "Brand"}, deskWorker)
		if err != nil {
			t.Fatal(err)
		}
		r, err := w.crisis.DryRun(tctx, c.ID, "desk:test")
		if err != nil {
			t.Fatal(err)
		}
		w.rounds.SetPublisher(w.crisis.PublishRound)
		n, err := w.rounds.Publish(tctx, r.ID, "medewerker")
		if err != nil || n != 2 {
			t.Fatalf("published %d (%v), want 2", n, err)
		}
		props, err := w.rounds.Proposals(context.Background(), []tenant.Tenant{turnhout, glm}, locIDs(w.near))
		if err != nil || len(props) != 2 {
			t.Fatalf("proposals = %d (%v), want one in each desk", len(props), err)
		}
		if _, err := w.crisis.Publish(tctx, c.ID, deskWorker); err == nil {
			t.Fatal("the crisis page published the round a second time")
		}
	})
}

// TestClosureEndsAfterItsLastDay: a closure with an end date ends by itself
// the day after (the daily job), and the location shows its free places
// again; an open-ended one stays.
func TestClosureEndsAfterItsLastDay(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		w := newWorld(t, d)
		_, tctx := w.desk(t, "stadsregio-turnhout")
		c, err := w.crisis.Declare(tctx, crisis.Declaration{LocationID: w.closed.ID.String(), From: "2026-12-01", Until: "2026-12-03", Reason: "Inspectie"}, deskWorker)
		if err != nil {
			t.Fatal(err)
		}
		open, err := w.crisis.Declare(tctx, crisis.Declaration{LocationID: w.near[0].ID.String(), From: "2026-12-01", Reason: "Brand"}, deskWorker)
		if err != nil {
			t.Fatal(err)
		}
		if n, err := w.crisis.EndDue(context.Background()); err != nil || n != 0 {
			t.Fatalf("ended %d (%v) before the last day", n, err)
		}
		w.clk.Advance(4 * 24 * time.Hour) // 2026-12-04
		if n, err := w.crisis.EndDue(context.Background()); err != nil || n != 1 {
			t.Fatalf("ended %d (%v), want 1", n, err)
		}
		for _, cl := range []struct {
			id      crisis.ID
			inForce bool
		}{{c.ID, false}, {open.ID, true}} {
			got, err := w.crisis.Get(context.Background(), cl.id)
			if err != nil || got.InForce() != cl.inForce {
				t.Fatalf("closure %s in force = %v (%v), want %v", got.LocationName, got.InForce(), err, cl.inForce)
			}
		}
		free, err := w.cat.RegionAvailability(context.Background(), "13000", "2026-12", "baby")
		if err != nil || len(free) == 0 || free[0].LocationID != w.closed.ID {
			t.Fatalf("the reopened location does not show its free places: %+v (%v)", free, err)
		}
	})
}

// TestOutsideFamiliesUploaded: a provider's list (CSV) becomes urgent
// requests marked with the closure; a wrong line comes back by number with
// its field errors and the good lines are added.
func TestOutsideFamiliesUploaded(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		w := newWorld(t, d)
		_, tctx := w.desk(t, "stadsregio-turnhout")
		w.clk.Advance(41 * 24 * time.Hour)
		c, err := w.crisis.Declare(tctx, crisis.Declaration{LocationID: w.closed.ID.String(), From: "2027-01-11", Reason: "Brand"}, deskWorker)
		if err != nil {
			t.Fatal(err)
		}
		list := "child_first_name,child_last_name,birth_date,parent_first_name,parent_last_name,email,phone,language,days\n" +
			"Lijst,Een,2026-05-01,Ouder,Een,een@ouders.example,,nl,mon tue\n" +
			"Lijst,Twee,geen datum,Ouder,Twee,twee@ouders.example,,fr,wed\n" +
			"Lijst,Drie,2026-07-09,Ouder,Drie,,0470 11 22 33,en,\"thu,fri\"\n"
		added, bad, err := w.crisis.AddOutsideList(tctx, c.ID, strings.NewReader(list), "13017", deskWorker)
		if err != nil {
			t.Fatal(err)
		}
		if added != 2 || len(bad) != 1 || bad[0].Line != 3 || !bad[0].Errors.Has("child.birth_date") {
			t.Fatalf("added %d, bad %+v; want 2 added and line 3 wrong", added, bad)
		}
		rows, err := w.crisis.Families(tctx, c.ID)
		if err != nil || len(rows) != 2 || rows[0].Cause != crisis.CauseOutside {
			t.Fatalf("families = %+v (%v)", rows, err)
		}
		if _, _, err := w.crisis.AddOutsideList(tctx, c.ID, strings.NewReader("naam,datum\nA,B\n"), "13017", deskWorker); !isField(err, "file") {
			t.Fatalf("a list without the columns: %v", err)
		}
	})
}
