package app

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/loket-kinderopvang/loket/internal/account"
	"github.com/loket-kinderopvang/loket/internal/platform/authz"
	"github.com/loket-kinderopvang/loket/internal/platform/db"
	"github.com/loket-kinderopvang/loket/internal/platform/dbtest"
)

// TestDeskRoleGivenLateNeedsSecondFactor: the demo partner (no code app) is
// signed in when Leuven's admin makes her a desk worker. Her open session
// does not reach the desk's worklist, nor any other page, until she has set
// up a code app: the session is checked against her roles on each request.
func TestDeskRoleGivenLateNeedsSecondFactor(t *testing.T) {
	ctx := context.Background()
	a, srv := newApp(t, dbtest.NewTarget(t, db.SQLite))
	if _, err := a.Seed(ctx); err != nil {
		t.Fatal(err)
	}
	partner := SignInDemo(t, a, srv.App, authz.Partner)
	if r := partner.Get("/account"); r.Status != http.StatusOK {
		t.Fatalf("the partner's account page: %d", r.Status)
	}
	u, err := a.Users.Store().ByEmail(ctx, DemoEmails[authz.Partner])
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Authz.AssignRole(ctx, u.ID.String(), authz.DeskWorker, authz.Desk("leuven")); err != nil {
		t.Fatal(err)
	}
	r := partner.Get("/leuven/loket")
	if r.Status != http.StatusSeeOther || r.Header.Get("Location") != account.PathSignInSetup {
		t.Fatalf("the worklist after the desk role was given: %d %q; want the code-app set-up", r.Status, r.Header.Get("Location"))
	}
	// The session now waits for its code step: no page lets her in.
	for _, page := range []string{"/leuven/loket", "/account", "/leuven/loket/nieuw"} {
		r := partner.Get(page)
		if r.Status != http.StatusSeeOther || !strings.HasPrefix(r.Header.Get("Location"), account.PathSignIn) {
			t.Errorf("GET %s while the second factor is missing: %d %q", page, r.Status, r.Header.Get("Location"))
		}
	}
}
