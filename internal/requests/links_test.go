package requests_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/loket-kinderopvang/loket/internal/platform/db"
	"github.com/loket-kinderopvang/loket/internal/platform/dbtest"
	"github.com/loket-kinderopvang/loket/internal/requests"
)

func tokenOf(url string) string { return url[strings.LastIndex(url, "/")+1:] }

// TestStatusLinkExpiresAfterTheRequestEnded (issue 13, point 8): the link of
// a request that ended works for 90 days after its end, then no more; the
// link of an open request does not expire.
func TestStatusLinkExpiresAfterTheRequestEnded(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		ended, open := f.submit(t, f.leuven, f.submission("Eline", f.locs[0])), f.submit(t, f.leuven, f.submission("Oona", f.locs[1]))
		endedToken, openToken := tokenOf(f.svc.StatusURL("leuven", ended)), tokenOf(f.svc.StatusURL("leuven", open))
		if err := f.svc.Withdraw(f.leuven, ended.ID, "moved", parent); err != nil {
			t.Fatal(err)
		}
		f.clk.Advance(89 * 24 * time.Hour)
		if _, _, err := f.svc.OpenStatusToken(context.Background(), endedToken); err != nil {
			t.Errorf("89 days after the end: %v", err)
		}
		f.clk.Advance(2 * 24 * time.Hour)
		if _, _, err := f.svc.OpenStatusToken(context.Background(), endedToken); !errors.Is(err, requests.ErrBadToken) {
			t.Errorf("91 days after the end: %v, want a refused link", err)
		}
		if _, _, err := f.svc.OpenStatusToken(context.Background(), openToken); err != nil {
			t.Errorf("an open request's link after 91 days: %v", err)
		}
	})
}

// TestNewStatusLinks: a parent's new link (status page) and "I lost my
// link" (by e-mail address) revoke the old link and mail the new one; a
// family without an e-mail address gets ErrNoEmail and keeps its link; an
// unknown address changes nothing and is no error.
func TestNewStatusLinks(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		r := f.submit(t, f.leuven, f.submission("Nora", f.locs[0]))
		old := tokenOf(f.svc.StatusURL("leuven", r))
		if err := f.svc.RenewStatusLink(f.leuven, r.ID, parent); err != nil {
			t.Fatal(err)
		}
		if _, _, err := f.svc.OpenStatusToken(context.Background(), old); !errors.Is(err, requests.ErrBadToken) {
			t.Errorf("old link after renewal: %v", err)
		}
		newest := func() string {
			f.mailbox.mu.Lock()
			defer f.mailbox.mu.Unlock()
			n := f.mailbox.notices[len(f.mailbox.notices)-1]
			if n.Kind != "status_link" || n.To != "nora@ouders.example" {
				t.Fatalf("last notice %+v", n)
			}
			return tokenOf(n.StatusURL)
		}
		second := newest()
		if _, id, err := f.svc.OpenStatusToken(context.Background(), second); err != nil || id != r.ID {
			t.Fatalf("mailed link: %v", err)
		}
		if err := f.svc.MailNewLinks(f.leuven, "  NORA@ouders.example ", parent); err != nil {
			t.Fatal(err)
		}
		third := newest()
		if _, _, err := f.svc.OpenStatusToken(context.Background(), second); !errors.Is(err, requests.ErrBadToken) || third == second {
			t.Errorf("link after 'I lost my link': %v", err)
		}
		before := len(f.mailbox.kinds())
		if err := f.svc.MailNewLinks(f.leuven, "niemand@ouders.example", parent); err != nil || len(f.mailbox.kinds()) != before {
			t.Errorf("unknown address: %v, %d notices", err, len(f.mailbox.kinds())-before)
		}
		// The other desk does not know Nora's address.
		if err := f.svc.MailNewLinks(f.geel, "nora@ouders.example", parent); err != nil || len(f.mailbox.kinds()) != before {
			t.Errorf("another desk: %v", err)
		}
		phoneOnly := f.submission("Pim", f.locs[1])
		phoneOnly.Parents[0].Email, phoneOnly.Parents[0].Phone = "", "0470 11 22 33"
		p := f.submit(t, f.leuven, phoneOnly)
		if err := f.svc.RenewStatusLink(f.leuven, p.ID, parent); !errors.Is(err, requests.ErrNoEmail) {
			t.Errorf("no e-mail address: %v", err)
		}
		if _, _, err := f.svc.OpenStatusToken(context.Background(), tokenOf(f.svc.StatusURL("leuven", p))); err != nil {
			t.Errorf("a family without address keeps its link: %v", err)
		}
	})
}
