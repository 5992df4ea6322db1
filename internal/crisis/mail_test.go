package crisis_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/loket-kinderopvang/loket/internal/crisis"
	"github.com/loket-kinderopvang/loket/internal/mail"
	"github.com/loket-kinderopvang/loket/internal/notify"
	"github.com/loket-kinderopvang/loket/internal/platform/db"
	"github.com/loket-kinderopvang/loket/internal/platform/dbtest"
	"github.com/loket-kinderopvang/loket/internal/platform/tenancy"
	"github.com/loket-kinderopvang/loket/internal/requests"
)

// TestFamiliesAndProvidersAreTold: each affected family with e-mail gets a
// mail in its language with its status link, stored as its desk's mail; a
// family without e-mail gets a printable letter instead; the providers
// within the radius are asked for emergency places, those farther are not.
func TestFamiliesAndProvidersAreTold(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		w := newWorld(t, d)
		glm, gctx := w.desk(t, "geel-laakdal-meerhout")
		_, tctx := w.desk(t, "stadsregio-turnhout")
		outbox := mail.NewOutbox(d, w.clk)
		w.crisis = crisis.New(crisis.Options{DB: d, Tenants: tenancy.NewStore(d), Desks: w.dir, Requests: w.reqs, Rounds: w.rounds,
			Catalog: w.cat, Clock: w.clk, Notify: &crisis.MailNotifier{Mail: notify.New(outbox, "https://loket.example"),
				Tenants: tenancy.NewStore(d), Requests: w.reqs, Log: slog.Default()}})
		w.near[0].Email, w.far.Email = "dichtbij@opvang.example", "veraf@opvang.example"
		for _, l := range []any{&w.near[0], &w.far} {
			if _, err := d.NewUpdate().Model(l).Column("email").WherePK().Exec(context.Background()); err != nil {
				t.Fatal(err)
			}
		}
		fr := w.place(t, gctx, 1, "13008", w.closed)
		err := tenancy.NewStore(d).Tx(gctx, func(ctx context.Context, tx *tenancy.Tx) error {
			q, err := tx.Update(&requests.Family{})
			if err != nil {
				return err
			}
			_, err = q.Set("language = 'fr'").Where("id = (SELECT c.family_id FROM children AS c JOIN requests AS r ON r.child_id = c.id WHERE r.id = ?)", fr).Exec(ctx)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		w.clk.Advance(42 * 24 * time.Hour)
		c, err := w.crisis.Declare(tctx, crisis.Declaration{LocationID: w.closed.ID.String(), From: "2027-01-12", Reason: "Brand", Public: true}, deskWorker)
		if err != nil {
			t.Fatal(err)
		}
		ms, err := outbox.DeskList(gctx, "ouder01@ouders.example", 10)
		if err != nil || len(ms) != 1 {
			t.Fatalf("family mails = %d (%v), want 1", len(ms), err)
		}
		if !strings.Contains(ms[0].Subject, "ferme") || !strings.Contains(ms[0].Text, "/geel-laakdal-meerhout/aanvraag/") || !strings.Contains(ms[0].Text, "Brand") {
			t.Fatalf("the French family's mail:\n%s\n%s", ms[0].Subject, ms[0].Text)
		}
		if ms, _ := outbox.DeskList(tctx, "dichtbij@opvang.example", 10); len(ms) != 1 || !strings.Contains(ms[0].Text, "noodplaatsen") {
			t.Fatalf("the provider nearby was not asked for emergency places: %+v", ms)
		}
		if ms, _ := outbox.DeskList(tctx, "veraf@opvang.example", 10); len(ms) != 0 {
			t.Fatal("a provider 20 km away was asked")
		}
		// A family without e-mail: a letter to print, in its language.
		r, err := w.crisis.AddOutside(gctx, c.ID, crisis.OutsideFamily{ChildFirstName: "Papier", ChildLastName: "Crisistest",
			BirthDate: "2026-04-20", ParentFirstName: "Ouder", ParentLastName: "Zonder", Phone: "0470 12 34 56",
			MunicipalityNIS: "13008", Days: []string{"mon"}, Language: "en"}, deskWorker)
		if err != nil {
			t.Fatal(err)
		}
		ls, err := w.crisis.Letters(gctx, glm, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(ls) != 1 || ls[0].RequestID != r.ID || !strings.Contains(ls[0].Text, "Hello") {
			t.Fatalf("letters = %+v", ls)
		}
	})
}
