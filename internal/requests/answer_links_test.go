package requests_test

import (
	"errors"
	"testing"
	"time"

	"github.com/loket-kinderopvang/loket/internal/platform/db"
	"github.com/loket-kinderopvang/loket/internal/platform/dbtest"
	"github.com/loket-kinderopvang/loket/internal/requests"
)

// TestAnswerLinkExpiresWithTheDeadline: an answer link works until the
// preference's answer deadline on the service's clock, only at its own
// desk, and once.
func TestAnswerLinkExpiresWithTheDeadline(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		a := f.submit(t, f.leuven, f.submission("Link", f.locs[0]))
		b := f.submit(t, f.leuven, f.submission("Laat", f.locs[1]))
		desk := mustTenant(f.leuven)
		token := func(r *requests.Request) string {
			got, err := f.svc.Store().Get(f.leuven, r.ID)
			if err != nil || got.Preferences[0].AnswerDue == nil {
				t.Fatalf("answer deadline: %v", err)
			}
			return f.svc.AnswerLinkToken(desk, r.ID, 1, *got.Preferences[0].AnswerDue)
		}
		ta, tb := token(a), token(b)
		if _, err := f.svc.AnswerLink(f.geel, mustTenant(f.geel), ta); !errors.Is(err, requests.ErrBadToken) {
			t.Errorf("at another desk: %v, want a bad link", err)
		}
		if err := f.svc.AnswerByLink(f.leuven, desk, ta, offer()); err != nil {
			t.Fatalf("offer by link: %v", err)
		}
		if err := f.svc.AnswerByLink(f.leuven, desk, ta, requests.Answer{Kind: requests.AnswerWaitingList}); !errors.Is(err, requests.ErrAnswerLinkUsed) {
			t.Errorf("used again: %v, want used", err)
		}
		got, _ := f.svc.Store().Get(f.leuven, b.ID)
		f.clk.Advance(got.Preferences[0].AnswerDue.Sub(f.clk.Now()) + time.Second)
		if err := f.svc.AnswerByLink(f.leuven, desk, tb, offer()); !errors.Is(err, requests.ErrAnswerLinkExpired) {
			t.Errorf("after the deadline: %v, want expired", err)
		}
	})
}
