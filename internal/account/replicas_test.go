package account_test

import (
	"context"
	"html"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/loket-kinderopvang/loket/internal/platform/cache"
	"github.com/loket-kinderopvang/loket/internal/platform/clock"
	"github.com/loket-kinderopvang/loket/internal/platform/db"
	"github.com/loket-kinderopvang/loket/internal/platform/dbtest"
	"github.com/loket-kinderopvang/loket/internal/platform/testenv"
)

// TestReplicasShareSessionsAndTokens runs two Loket replicas on one
// database and one Redis: a session and a CSRF token made by one are good on
// the other, and signing out on one ends the session on both.
func TestReplicasShareSessionsAndTokens(t *testing.T) {
	redisURL, prefix := testenv.Redis(t)
	ctx := context.Background()
	d := dbtest.Open(t, db.SQLite)
	open := func() cache.Cache {
		c, err := cache.NewRedis(ctx, redisURL, prefix)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = c.Close() })
		return c
	}
	ca, cb := open(), open()
	t.Cleanup(func() { _ = ca.DeletePrefix(context.Background(), "") })
	clk := clock.NewFixed(time.Date(2027, 3, 1, 9, 0, 1, 0, time.UTC))
	a, b := newEnvOn(t, d, ca, clk), newEnvOn(t, d, cb, clk)
	u := a.user("an@loket.example", false)

	user := a.browser()
	if r := user.signIn("an@loket.example", password); r.status != http.StatusSeeOther {
		t.Fatalf("sign in on replica a: %d", r.status)
	}
	if _, found, err := cb.Get(ctx, "sess:"+user.session()); err != nil || !found {
		t.Fatalf("the session is not in Redis under sess: (%v)", err)
	}
	user.e = b
	if !user.signedInAs(u.DisplayName) {
		t.Fatal("replica b does not know the session from replica a")
	}
	user.e = a
	token := html.UnescapeString(tokenRE.FindStringSubmatch(user.get("/account").body)[1])
	// The token lives in the session, in Redis under sess:.
	if v, found, _ := cb.Get(ctx, "sess:"+user.session()); !found || !strings.Contains(string(v), token) {
		t.Fatal("the CSRF token is not in the session in Redis")
	}
	user.e = b
	if r := user.do(http.MethodPost, "/formulier", url.Values{"csrf_token": {token}}); r.status != 200 {
		t.Fatalf("replica b refuses replica a's CSRF token: %d", r.status)
	}
	sid := user.session()
	if r := user.do(http.MethodPost, "/afmelden", url.Values{"csrf_token": {token}}); r.status != http.StatusSeeOther {
		t.Fatalf("sign out on b: %d", r.status)
	}
	// Even a copy of the old cookie is worthless on a.
	user.e = a
	user.cookies["loket_session"] = &http.Cookie{Name: "loket_session", Value: sid}
	if user.signedInAs(u.DisplayName) {
		t.Fatal("signed out on b, still signed in on a")
	}
}
