package requests_test

import (
	"testing"

	"github.com/google/uuid"

	"github.com/loket-kinderopvang/loket/internal/mail"
	"github.com/loket-kinderopvang/loket/internal/notify"
	"github.com/loket-kinderopvang/loket/internal/platform/db"
	"github.com/loket-kinderopvang/loket/internal/platform/dbtest"
	"github.com/loket-kinderopvang/loket/internal/platform/validate"
	"github.com/loket-kinderopvang/loket/internal/requests"
)

// TestBatchAnswersEachRegistration writes registrations together, as the
// writer does under load: a key used twice in the batch stores one request,
// a child registered twice is marked a likely duplicate, an unknown location
// fails only its own registration. With a spoilt registration in the batch
// (a municipality that does not exist), the transaction fails and every
// registration is written alone, with the same answers.
func TestBatchAnswersEachRegistration(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		for _, spoilt := range []bool{false, true} {
			f := newFixture(t, d)
			desk, name := f.leuven, "Amber" // each run in its own desk, with its own child
			if spoilt {
				desk, name = f.geel, "Anna"
			}
			a := f.submission(name, f.locs[0], f.locs[1])
			unknown := f.submission("Bo", f.locs[2], uuid.New())
			subs := []requests.Submission{a, a, a, unknown}
			keys := []string{"key-a", "key-a", "", ""}
			var spoil func(int, *requests.Family)
			if spoilt {
				subs, keys = append(subs, f.submission("Cas", f.locs[0])), append(keys, "key-c")
				spoil = func(i int, fam *requests.Family) {
					if i == 4 {
						fam.MunicipalityNIS = "99999"
					}
				}
			}
			reqs, replayed, errs := requests.SubmitBatch(f.svc, desk, subs, keys, spoil)

			if errs[0] != nil || replayed[0] || reqs[0] == nil {
				t.Fatalf("spoilt=%v: first registration: %v (replayed %v)", spoilt, errs[0], replayed[0])
			}
			if errs[1] != nil || !replayed[1] || reqs[1].ID != reqs[0].ID {
				t.Errorf("spoilt=%v: same key in the batch: %v, replayed %v, %v vs %v", spoilt, errs[1], replayed[1], reqs[1], reqs[0].ID)
			}
			if errs[2] != nil || replayed[2] || reqs[2].ID == reqs[0].ID {
				t.Fatalf("spoilt=%v: same child without a key: %v (replayed %v)", spoilt, errs[2], replayed[2])
			}
			got, err := f.svc.Get(desk, reqs[2].ID)
			if err != nil || got.DuplicateState != requests.DuplicateLikely || got.DuplicateOf == nil || *got.DuplicateOf != reqs[0].ID {
				t.Errorf("spoilt=%v: second registration of the same child: %+v, %v", spoilt, got, err)
			}
			if first, _ := f.svc.Get(desk, reqs[0].ID); first.DuplicateState != requests.DuplicateNone || len(first.Preferences) != 2 {
				t.Errorf("spoilt=%v: first registration: duplicate %q, %d preferences", spoilt, first.DuplicateState, len(first.Preferences))
			}
			es, ok := validate.As(errs[3])
			if !ok || len(es) != 1 || es[0].Field != "preferences[1]" || es[0].Code != "location_unknown" {
				t.Errorf("spoilt=%v: unknown location: %v", spoilt, errs[3])
			}
			if spoilt && (errs[4] == nil || reqs[4] != nil) {
				t.Errorf("the spoilt registration was stored: %v", reqs[4])
			}
			if n := len(f.mailbox.kinds()); n != 2 {
				t.Errorf("spoilt=%v: %d confirmation notices, want 2 (the replay and the failures get none)", spoilt, n)
			}
			list, err := f.svc.Store().List(desk, 100)
			if err != nil || len(list) != 2 {
				t.Errorf("spoilt=%v: the desk holds %d requests (%v), want 2", spoilt, len(list), err)
			}
		}
	})
}

// TestConfirmationMailCommitsWithTheRegistration: with the mail outbox, the
// confirmation is written in the registration's own transaction, and a
// change's notice (an offer) in the change's; a registration that fails
// leaves no mail behind.
func TestConfirmationMailCommitsWithTheRegistration(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		outbox := mail.NewOutbox(d, f.clk)
		f.svc.SetNotifier(notify.New(outbox, "https://loket.example"))
		subs := []requests.Submission{f.submission("Dirk", f.locs[0]), f.submission("Eva", f.locs[1])}
		_, _, errs := requests.SubmitBatch(f.svc, f.leuven, subs, []string{"", ""}, func(i int, fam *requests.Family) {
			if i == 1 {
				fam.MunicipalityNIS = "99999"
			}
		})
		if errs[0] != nil || errs[1] == nil {
			t.Fatalf("want the first stored and the second refused: %v", errs)
		}
		// A change's notice commits with the change too: the offer's mail.
		stored, _ := f.svc.Store().List(f.leuven, 10)
		if len(stored) != 1 {
			t.Fatalf("%d requests stored, want 1", len(stored))
		}
		if err := f.svc.Answer(f.leuven, stored[0].ID, 1, offer(), provider); err != nil {
			t.Fatal(err)
		}
		if got, _ := outbox.DeskList(f.leuven, "dirk@ouders.example", 10); len(got) != 2 || got[0].Kind != "request.offer_made" {
			t.Errorf("after the offer, mails to Dirk: %+v", got)
		}
		for to, want := range map[string]int{"dirk@ouders.example": 2, "eva@ouders.example": 0} {
			got, err := outbox.DeskList(f.leuven, to, 10)
			if err != nil || len(got) != want {
				t.Errorf("mails to %s: %d (%v), want %d", to, len(got), err, want)
			}
			if len(got) == 2 && (got[1].Kind != "request.submitted" || got[1].Subject == "") {
				t.Errorf("mail: %+v", got[1])
			}
		}
	})
}
