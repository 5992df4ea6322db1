package app

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/loket-kinderopvang/loket/internal/catalog"
	"github.com/loket-kinderopvang/loket/internal/mail"
	"github.com/loket-kinderopvang/loket/internal/platform/authz"
	"github.com/loket-kinderopvang/loket/internal/platform/dbtest"
	"github.com/loket-kinderopvang/loket/internal/platform/tenancy"
	"github.com/loket-kinderopvang/loket/internal/requests"
)

var answerLinkRE = regexp.MustCompile(`http://localhost(/leuven/antwoord/[A-Za-z0-9_.-]+)\?keuze=offer`)

// TestAnswerByEmail: a provider that chose to answer by e-mail gets, with a
// new request for its location, a mail with signed links; without an
// account it offers a place from the link (the page prefilled from the
// family's plan), and the answer is recorded as the inbox's would be. The
// link cannot be used again, a link past its deadline is refused, and a
// link cannot be bent to answer another request.
func TestAnswerByEmail(t *testing.T) {
	dbtest.EachTarget(t, func(t *testing.T, tg dbtest.Target) {
		w := newDemoWorld(t, tg)
		a := w.a
		ctx := context.Background()
		own := w.values[Own]
		pid, _ := catalog.ParseProviderID(own["provider"])
		lid, _ := catalog.ParseLocationID(own["location"])
		// The provider's admin chooses it on her page.
		admin := w.browsers[authz.ProviderAdmin]
		if r := admin.Post("/aanbieder/"+own["provider"]+"/antwoord-per-mail", url.Values{"answer_by_email": {"yes"}}); r.Status != http.StatusSeeOther {
			t.Fatalf("choose answering by e-mail: %d", r.Status)
		}
		if p, err := a.Access.Provider(ctx, pid); err != nil || !p.AnswerByEmail {
			t.Fatalf("the choice must be kept: %v", err)
		}
		const to = "onthaal.testmans@opvang.example"
		if _, err := a.DB.NewUpdate().Table("locations").Set("email = ?", to).Where("id = ?", lid).Exec(ctx); err != nil {
			t.Fatal(err)
		}
		req, _ := submitParent(t, a, "Mailtje", lid)
		other, _ := submitParent(t, a, "Anderkind", lid)
		desk := tenancy.WithTenant(ctx, leuvenID(t, a))
		// Free places for the offer's month and the child's age band.
		start := req.DesiredStart
		month := start.Format("2006-01")
		for _, band := range []catalog.AgeBand{catalog.BandForAge(5), catalog.BandForAge(6), catalog.BandForAge(7)} {
			if err := a.Catalog.SetAvailability(ctx, "test", catalog.AvailabilityChange{LocationID: lid, StartMonth: month, AgeBand: band, FreePlaces: 3}); err != nil {
				t.Fatal(err)
			}
		}

		mails, err := a.Mail.(*mail.Outbox).DeskList(desk, to, 10)
		if err != nil {
			t.Fatal(err)
		}
		var links []string
		for _, m := range mails {
			if m.Kind == "request.answer_request" {
				if l := answerLinkRE.FindStringSubmatch(m.Text); l != nil {
					links = append(links, l[1])
				}
			}
		}
		if len(links) != 2 {
			t.Fatalf("want an answer mail with links per request, got %d of %d mails", len(links), len(mails))
		}
		// The newest mail first: links[1] is the first request's.
		link := links[1]
		anon := NewBrowser(t, w.srv.App)
		page := anon.Get(link + "?keuze=offer")
		if page.Status != http.StatusOK || !strings.Contains(page.Body, `value="`+start.Format("2006-01-02")+`"`) ||
			!strings.Contains(page.Body, `id="offer_days-mon" name="offer_days" value="mon" checked`) {
			t.Fatalf("the answer page must be prefilled from the family's plan: %d", page.Status)
		}
		offer := url.Values{"kind": {"offer"}, "offer_start": {start.Format("2006-01-02")}, "offer_days": {"mon", "tue"}}
		if r := anon.Post(link, offer); r.Status != http.StatusOK {
			t.Fatalf("offer from the link: %d %s", r.Status, r.Body)
		}
		got, err := a.Requests.Store().Get(desk, req.ID)
		if err != nil {
			t.Fatal(err)
		}
		p := got.Preferences[0]
		if p.State != requests.PreferenceOffered || p.OfferDays != "mon,tue" || !strings.HasPrefix(p.AnsweredBy, "provider:mail:") {
			t.Fatalf("the offer must be recorded as the provider's, by e-mail: %+v", p)
		}
		if r := anon.Post(link, url.Values{"kind": {"no_place"}, "reason": {"full"}}); r.Status != http.StatusConflict {
			t.Errorf("a used link: %d, want 409", r.Status)
		}
		if r := anon.Get(link); r.Status != http.StatusConflict {
			t.Errorf("a used link's page: %d, want 409", r.Status)
		}

		// Another request: a link's signature covers its request, so a
		// changed link is refused, and the other request stays unanswered.
		token := strings.TrimPrefix(link, "/leuven/antwoord/")
		forged := []byte(token)
		forged[3] ^= 1
		if r := anon.Post("/leuven/antwoord/"+string(forged), offer); r.Status != http.StatusNotFound {
			t.Errorf("a changed link: %d, want 404", r.Status)
		}
		if r := anon.Get("/geel-laakdal-meerhout/antwoord/" + token); r.Status != http.StatusNotFound {
			t.Errorf("the link at another desk: %d, want 404", r.Status)
		}
		// Past the deadline: a link whose deadline has passed is refused.
		late := a.Requests.AnswerLinkToken(leuvenID(t, a), other.ID, 1, time.Now().Add(-time.Minute))
		if r := anon.Post("/leuven/antwoord/"+late, offer); r.Status != http.StatusGone {
			t.Errorf("a link past its deadline: %d, want 410", r.Status)
		}
		still, _ := a.Requests.Store().Get(desk, other.ID)
		if still.Preferences[0].State != requests.PreferencePending {
			t.Errorf("the other request was answered: %+v", still.Preferences[0])
		}
		// Its own, valid link still works.
		if r := anon.Post(links[0], url.Values{"kind": {"waiting_list"}}); r.Status != http.StatusOK {
			t.Errorf("the other request's own link: %d", r.Status)
		}
	})
}
