package account_test

import (
	"context"
	"fmt"
	"html"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/loket-kinderopvang/loket/frontend"
	"github.com/loket-kinderopvang/loket/internal/account"
	"github.com/loket-kinderopvang/loket/internal/mail"
	"github.com/loket-kinderopvang/loket/internal/platform/cache"
	"github.com/loket-kinderopvang/loket/internal/platform/clock"
	"github.com/loket-kinderopvang/loket/internal/platform/db"
	"github.com/loket-kinderopvang/loket/internal/platform/dbtest"
	"github.com/loket-kinderopvang/loket/internal/platform/sealed"
	"github.com/loket-kinderopvang/loket/internal/platform/web"
)

// cheap argon2id parameters: the tests check behaviour, not cost.
var cheap = account.Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

const password = "zonnebloem-paraplu-42"

type env struct {
	t      *testing.T
	app    *fiber.App
	h      *account.Handler
	db     *db.DB
	cache  cache.Cache
	clock  *clock.Fixed
	outbox *mail.Outbox
}

type option func(*account.Config)

// newEnv is Loket's web server with the account pages, wired as the
// composition root does, on SQLite and the in-process cache.
func newEnv(t *testing.T, opts ...option) *env {
	t.Helper()
	d := dbtest.Open(t, db.SQLite)
	c := cache.NewMemory()
	t.Cleanup(func() { _ = c.Close() })
	return newEnvOn(t, d, c, clock.NewFixed(time.Date(2027, 3, 1, 9, 0, 1, 0, time.UTC)), opts...)
}

func newEnvOn(t *testing.T, d *db.DB, c cache.Cache, clk *clock.Fixed, opts ...option) *env {
	t.Helper()
	messages, err := web.LoadCatalog(frontend.Locales)
	if err != nil {
		t.Fatal(err)
	}
	renderer, err := web.NewRenderer(frontend.Templates, messages)
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	// app.Test's connections come from 0.0.0.0: as a trusted proxy, it lets
	// a test browser name its address in X-Forwarded-For (browser.addr).
	srv := web.New(web.Options{Logger: log, Renderer: renderer, TrustedProxies: []string{"0.0.0.0"}})
	outbox := mail.NewOutbox(d, clk)
	cfg := account.Config{
		DB: d, Cache: c, Clock: clk, Mail: outbox, Renderer: renderer, Log: log,
		PublicURL: "https://loket.example", Params: cheap, DataKeys: sealed.MustRandom("test-"),
	}
	for _, o := range opts {
		o(&cfg)
	}
	h, err := account.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(h.Service().Wait)
	h.Register(srv.App)
	// A private page, a form of another package and an API route, as other
	// packages will add them after Register.
	srv.App.Get("/prive", h.RequireUser, func(c *fiber.Ctx) error {
		u, _ := account.CurrentUser(c)
		fromCtx, ok := account.UserFrom(c.UserContext())
		if !ok || fromCtx.ID != u.ID {
			return fiber.NewError(fiber.StatusInternalServerError, "user not in UserContext")
		}
		return c.SendString("hallo " + u.DisplayName)
	})
	srv.App.Post("/formulier", func(c *fiber.Ctx) error { return c.SendString("bewaard") })
	srv.App.Post("/api/v1/iets", func(c *fiber.Ctx) error { return c.SendString("api") })
	return &env{t: t, app: srv.App, h: h, db: d, cache: c, clock: clk, outbox: outbox}
}

func (e *env) user(email string, totpRequired bool) *account.User {
	e.t.Helper()
	u, err := e.h.Service().CreateUser(context.Background(), account.NewUser{
		Email: email, DisplayName: "Medewerker " + strings.Split(email, "@")[0], Password: password, TOTPRequired: totpRequired,
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return u
}

// browser keeps cookies like a browser does.
type browser struct {
	e       *env
	cookies map[string]*http.Cookie
	addr    string // the client address the proxy reports, if any
}

func (e *env) browser() *browser { return &browser{e: e, cookies: map[string]*http.Cookie{}} }

type response struct {
	status int
	header http.Header
	body   string
	set    map[string]*http.Cookie
}

func (r response) location() string { return r.header.Get("Location") }

func (b *browser) do(method, path string, form url.Values, headers ...string) response {
	b.e.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req := httptest.NewRequest(method, path, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	req.Header.Set("Accept", "text/html")
	if b.addr != "" {
		req.Header.Set("X-Forwarded-For", b.addr)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	for _, c := range b.cookies {
		req.AddCookie(&http.Cookie{Name: c.Name, Value: c.Value})
	}
	res, err := b.e.app.Test(req, -1)
	if err != nil {
		b.e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	r := response{status: res.StatusCode, header: res.Header, body: string(raw), set: map[string]*http.Cookie{}}
	for _, c := range res.Cookies() {
		r.set[c.Name] = c
		if c.MaxAge < 0 || c.Value == "" || (!c.Expires.IsZero() && c.Expires.Before(time.Now())) {
			delete(b.cookies, c.Name)
		} else {
			b.cookies[c.Name] = c
		}
	}
	return r
}

func (b *browser) get(path string) response { return b.do(http.MethodGet, path, nil) }

var tokenRE = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

// post submits a form the way a browser does: first the page, then the
// form with its CSRF token.
func (b *browser) post(page, action string, form url.Values) response {
	b.e.t.Helper()
	p := b.get(page)
	m := tokenRE.FindStringSubmatch(p.body)
	if m == nil {
		b.e.t.Fatalf("GET %s (%d) has no CSRF token:\n%s", page, p.status, p.body)
	}
	form.Set("csrf_token", html.UnescapeString(m[1]))
	return b.do(http.MethodPost, action, form)
}

func (b *browser) signIn(email, pw string) response {
	return b.post("/aanmelden", "/aanmelden", url.Values{"email": {email}, "password": {pw}})
}

func (b *browser) session() string {
	if c := b.cookies["loket_session"]; c != nil {
		return c.Value
	}
	return ""
}

var alertRE = regexp.MustCompile(`(?s)<div class="error-summary" role="alert" tabindex="-1"><p>(.*?)</p>`)

func alert(body string) string {
	if m := alertRE.FindStringSubmatch(body); m != nil {
		return html.UnescapeString(m[1])
	}
	return ""
}

func (b *browser) signedInAs(name string) bool {
	b.e.t.Helper()
	r := b.get("/prive")
	if r.status == 200 && r.body == "hallo "+name {
		return true
	}
	if r.status != http.StatusSeeOther || !strings.HasPrefix(r.location(), "/aanmelden?next=") {
		b.e.t.Fatalf("/prive: %d %s %s", r.status, r.location(), r.body)
	}
	return false
}

func TestSignIn(t *testing.T) {
	e := newEnv(t)
	u := e.user("an@loket.example", false)

	b := e.browser()
	form := b.get("/aanmelden")
	if form.status != 200 || !strings.Contains(form.body, "<h1>Aanmelden</h1>") || !strings.Contains(form.body, `<html lang="nl">`) {
		t.Fatalf("sign-in page: %d %s", form.status, form.body)
	}
	if fr := e.browser().get("/aanmelden?lang=fr"); !strings.Contains(fr.body, "<h1>Se connecter</h1>") || !strings.Contains(fr.body, `<html lang="fr">`) {
		t.Error("the sign-in page must speak French on ?lang=fr")
	}
	// An anonymous visit gets a session only to hold its CSRF token: it
	// signs nobody in (the token is bound to the session; see TestCSRF).
	if c := form.set["loket_session"]; c == nil || !c.HttpOnly {
		t.Error("a page with a form keeps its CSRF token in a session")
	}
	anonymous := b.session()
	if form.header.Get("Cache-Control") != "no-store" {
		t.Error("account pages must not be cached")
	}

	wrong := b.signIn("an@loket.example", "niet-het-wachtwoord")
	unknown := b.signIn("niemand@loket.example", "niet-het-wachtwoord")
	for _, r := range []response{wrong, unknown} {
		if r.status != http.StatusUnauthorized || alert(r.body) != "Het e-mailadres of het wachtwoord klopt niet. Kijk het na en probeer opnieuw." {
			t.Errorf("failed sign-in: %d %q", r.status, alert(r.body))
		}
		if b.session() != anonymous || b.signedInAs("Medewerker an") {
			t.Error("a failed sign-in must not start a signed-in session")
		}
	}
	// Apart from the address typed in, both answers are the same page.
	if strings.ReplaceAll(wrong.body, "an@loket.example", "X") != strings.ReplaceAll(unknown.body, "niemand@loket.example", "X") {
		t.Error("the pages for a wrong password and an unknown address differ")
	}
	empty := b.post("/aanmelden", "/aanmelden", url.Values{"email": {""}, "password": {""}})
	if empty.status != http.StatusUnprocessableEntity || !strings.Contains(empty.body, "Vul uw e-mailadres in.") || !strings.Contains(empty.body, "Vul uw wachtwoord in.") {
		t.Errorf("empty fields: %d", empty.status)
	}
	if b.signedInAs(u.DisplayName) {
		t.Fatal("signed in without the right password")
	}

	ok := b.post("/aanmelden?next=/prive", "/aanmelden", url.Values{"email": {"  AN@Loket.example "}, "password": {password}, "next": {"/prive"}})
	if ok.status != http.StatusSeeOther || ok.location() != "/prive" {
		t.Fatalf("sign-in: %d %q %s", ok.status, ok.location(), ok.body)
	}
	c := ok.set["loket_session"]
	if c == nil || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Path != "/" || c.Secure || c.MaxAge != 0 || !c.Expires.IsZero() {
		t.Fatalf("session cookie: %+v", c)
	}
	if !b.signedInAs(u.DisplayName) {
		t.Fatal("not signed in after the right password")
	}
	acct := b.get("/account")
	if acct.status != 200 || !strings.Contains(acct.body, "an@loket.example") || !strings.Contains(acct.body, "Overal afmelden") {
		t.Errorf("account page: %d", acct.status)
	}
	// An open redirect is refused.
	evil := b.do(http.MethodGet, "/aanmelden?next=//evil.example/", nil)
	if evil.status != http.StatusSeeOther || evil.location() != "/werk" {
		t.Errorf("signed-in visit of the sign-in page with a foreign next: %d %q", evil.status, evil.location())
	}

	sid := b.session()
	out := b.post("/account", "/afmelden", url.Values{})
	if out.status != http.StatusSeeOther || out.location() != "/aanmelden?afgemeld=1" || b.session() != "" {
		t.Fatalf("sign-out: %d %q session=%q", out.status, out.location(), b.session())
	}
	if b.signedInAs(u.DisplayName) {
		t.Fatal("still signed in after signing out")
	}
	replay := e.browser()
	replay.cookies["loket_session"] = &http.Cookie{Name: "loket_session", Value: sid}
	if replay.signedInAs(u.DisplayName) {
		t.Fatal("the session must be deleted on the server, not only the cookie")
	}
	if !strings.Contains(b.get("/aanmelden?afgemeld=1").body, "U bent afgemeld.") {
		t.Error("the sign-in page must confirm the sign-out")
	}
}

// TestEveryRefusalLooksTheSame: a wrong password, a disabled account and an
// unknown address get the same page (TestRefusalsCostTheSame shows they
// cost the same argon2id work).
func TestEveryRefusalLooksTheSame(t *testing.T) {
	e := newEnv(t)
	e.user("an@loket.example", false)
	disabled := e.user("bo@loket.example", false)
	must(t, e.h.Service().Store().SetDisabled(context.Background(), disabled.ID, true))
	b := e.browser()
	for _, email := range []string{"an@loket.example", "bo@loket.example", "cas@loket.example"} {
		pw := "verkeerd-wachtwoord"
		if email == "bo@loket.example" {
			pw = password // right password, disabled account
		}
		if r := b.signIn(email, pw); r.status != http.StatusUnauthorized || !strings.Contains(alert(r.body), "klopt niet") {
			t.Errorf("%s: %d %q", email, r.status, alert(r.body))
		}
	}
}

func TestSessionFixation(t *testing.T) {
	e := newEnv(t)
	withCode := e.user("code@loket.example", false)
	secret := enrol(t, e, withCode)
	plain := e.user("plain@loket.example", false)

	// The password step of a code user starts a waiting session.
	b := e.browser()
	r := b.signIn("code@loket.example", password)
	if r.status != http.StatusSeeOther || r.location() != "/aanmelden/code" {
		t.Fatalf("password step: %d %q", r.status, r.location())
	}
	before := b.session()
	if before == "" {
		t.Fatal("no waiting session")
	}
	code, _ := account.TOTPCode(secret, e.clock.Now())
	r = b.post("/aanmelden/code", "/aanmelden/code", url.Values{"code": {code}})
	if r.status != http.StatusSeeOther {
		t.Fatalf("code step: %d %s", r.status, r.body)
	}
	after := b.session()
	if after == "" || after == before {
		t.Fatalf("the session id must change at sign-in: before %q after %q", before, after)
	}
	// Someone holding the id from before signing in has nothing.
	attacker := e.browser()
	attacker.cookies["loket_session"] = &http.Cookie{Name: "loket_session", Value: before}
	if attacker.signedInAs(withCode.DisplayName) {
		t.Fatal("the pre-sign-in session id gives access")
	}

	// The same for a user without a code: a planted (valid) session id is
	// replaced at sign-in.
	victim := e.browser()
	planted := e.browser()
	planted.signIn("code@loket.example", password) // a real session id
	victim.cookies["loket_session"] = planted.cookies["loket_session"]
	victim.signIn("plain@loket.example", password)
	if victim.session() == planted.session() || !victim.signedInAs(plain.DisplayName) {
		t.Fatal("signing in must replace a planted session id")
	}
	if planted.signedInAs(plain.DisplayName) {
		t.Fatal("the planter shares the victim's session")
	}
}

func TestSecureCookies(t *testing.T) {
	e := newEnv(t, func(c *account.Config) { c.SecureCookies = true })
	e.user("an@loket.example", false)
	b := e.browser()
	page := b.get("/aanmelden")
	if c := page.set["loket_csrf"]; c == nil || !c.Secure || !c.HttpOnly {
		t.Errorf("CSRF cookie: %+v", c)
	}
	r := b.signIn("an@loket.example", password)
	if c := r.set["loket_session"]; c == nil || !c.Secure || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode {
		t.Errorf("session cookie over TLS: %+v", c)
	}
}

func TestCSRF(t *testing.T) {
	e := newEnv(t)
	e.user("an@loket.example", false)
	b := e.browser()

	// No token at all.
	r := b.do(http.MethodPost, "/aanmelden", url.Values{"email": {"an@loket.example"}, "password": {password}})
	if r.status != http.StatusForbidden || !strings.Contains(r.body, "Formulier verlopen") || !strings.Contains(r.body, `<html lang="nl">`) {
		t.Fatalf("POST without a token: %d %s", r.status, r.body)
	}
	if b.session() != "" {
		t.Fatal("a refused POST must not sign in")
	}
	// A token in the form but no cookie (forged from another site).
	page := b.get("/aanmelden")
	token := html.UnescapeString(tokenRE.FindStringSubmatch(page.body)[1])
	forger := e.browser()
	if r := forger.do(http.MethodPost, "/formulier", url.Values{"csrf_token": {token}}); r.status != http.StatusForbidden {
		t.Errorf("token without its cookie: %d", r.status)
	}
	// A made-up token matching a made-up cookie is not in the store.
	forger.cookies["loket_csrf"] = &http.Cookie{Name: "loket_csrf", Value: "verzonnen"}
	if r := forger.do(http.MethodPost, "/formulier", url.Values{"csrf_token": {"verzonnen"}}); r.status != http.StatusForbidden {
		t.Errorf("invented token: %d", r.status)
	}
	// The right token, in the form field or the htmx header.
	if r := b.do(http.MethodPost, "/formulier", url.Values{"csrf_token": {token}}); r.status != 200 || r.body != "bewaard" {
		t.Errorf("form with token: %d %s", r.status, r.body)
	}
	if r := b.do(http.MethodPost, "/formulier", url.Values{}, "X-CSRF-Token", token); r.status != 200 {
		t.Errorf("htmx header with token: %d", r.status)
	}
	// Another visitor's token does not fit this visitor's cookie.
	other := e.browser()
	other.get("/aanmelden")
	if r := other.do(http.MethodPost, "/formulier", url.Values{"csrf_token": {token}}); r.status != http.StatusForbidden {
		t.Errorf("someone else's token: %d", r.status)
	}
	// The API never uses sessions (it authenticates with its own
	// credentials), so it is no CSRF target and gets no session cookie.
	api := e.browser()
	if r := api.do(http.MethodPost, "/api/v1/iets", url.Values{}, "Accept", "application/json"); r.status != 200 || strings.Contains(strings.Join(r.header.Values("Set-Cookie"), ";"), "loket_session") {
		t.Errorf("API POST: %d, cookies %v", r.status, r.header.Values("Set-Cookie"))
	}
	if r := api.do(http.MethodPost, "/api/v1/iets", url.Values{}, "Authorization", "Bearer x"); r.status != 200 {
		t.Errorf("API POST with its own credentials: %d", r.status)
	}
	// Signing in renews the token: the old one no longer works.
	b.signIn("an@loket.example", password)
	if r := b.do(http.MethodPost, "/formulier", url.Values{"csrf_token": {token}}); r.status != http.StatusForbidden {
		t.Errorf("the token from before signing in still works: %d", r.status)
	}
}

// TestCSRFTokenBoundToSession: a token is good only in the session it was
// issued to. An attacker who plants her own valid token and CSRF cookie in
// a victim's browser (a sibling subdomain can set cookies) still cannot
// post in the victim's session; and a form posted from another site is
// refused by its Origin (or Referer) even with a valid token.
func TestCSRFTokenBoundToSession(t *testing.T) {
	e := newEnv(t)
	u := e.user("an@loket.example", false)
	attacker := e.browser()
	page := attacker.get("/aanmelden")
	attackerToken := html.UnescapeString(tokenRE.FindStringSubmatch(page.body)[1])
	if r := attacker.do(http.MethodPost, "/formulier", url.Values{"csrf_token": {attackerToken}}); r.status != 200 {
		t.Fatalf("the attacker's token works in her own session: %d", r.status)
	}
	victim := e.browser()
	victim.signIn("an@loket.example", password)
	if !victim.signedInAs(u.DisplayName) {
		t.Fatal("victim not signed in")
	}
	// The victim's browser, with the attacker's CSRF cookie planted.
	victim.cookies["loket_csrf"] = &http.Cookie{Name: "loket_csrf", Value: attackerToken}
	if r := victim.do(http.MethodPost, "/formulier", url.Values{"csrf_token": {attackerToken}}); r.status != http.StatusForbidden {
		t.Errorf("a token of another session, with its cookie: %d", r.status)
	}
	if r := victim.do(http.MethodPost, "/formulier", url.Values{}, "X-CSRF-Token", attackerToken); r.status != http.StatusForbidden {
		t.Errorf("a token of another session in the htmx header: %d", r.status)
	}

	// The victim's own token works from Loket's pages, not from elsewhere.
	own := html.UnescapeString(tokenRE.FindStringSubmatch(victim.get("/account").body)[1])
	for _, tc := range []struct {
		headers []string
		want    int
	}{
		{nil, 200}, // no Origin, no Referer: the token decides
		{[]string{"Origin", "https://loket.example"}, 200},                 // the public URL
		{[]string{"Origin", "http://example.com"}, 200},                    // the host the request went to
		{[]string{"Referer", "https://loket.example/account"}, 200},        // Referer when Origin is missing
		{[]string{"Origin", "https://evil.example"}, http.StatusForbidden}, // another site
		{[]string{"Origin", "null"}, 200},                                  // hidden (a no-referrer page): the token decides
		{[]string{"Origin", "null", "Referer", "https://evil.example/"}, http.StatusForbidden},
		{[]string{"Origin", "https://loket.example.evil.example"}, http.StatusForbidden},
		{[]string{"Referer", "https://evil.example/form"}, http.StatusForbidden},
		{[]string{"Origin", "http://loket.example"}, http.StatusForbidden}, // public URL is https
	} {
		if r := victim.do(http.MethodPost, "/formulier", url.Values{"csrf_token": {own}}, tc.headers...); r.status != tc.want {
			t.Errorf("POST with %v: %d, want %d", tc.headers, r.status, tc.want)
		}
	}
	// Signing out ends the token with the session.
	victim.do(http.MethodPost, "/afmelden", url.Values{"csrf_token": {own}})
	if r := victim.do(http.MethodPost, "/formulier", url.Values{"csrf_token": {own}}); r.status != http.StatusForbidden {
		t.Errorf("the token after signing out: %d", r.status)
	}
}

// TestAttackerCannotLockOutUser: behind the ingress every visitor has her
// own address (X-Forwarded-For from the trusted proxy). Wrong passwords from
// an attacker's address slow down that address only; the real user, from
// hers, signs in at once. One address trying many accounts is stopped.
func TestAttackerCannotLockOutUser(t *testing.T) {
	e := newEnv(t, func(c *account.Config) {
		c.Limits = account.Limits{Window: 15 * time.Minute, PerPair: 5, PerAddress: 20}
	})
	u := e.user("an@loket.example", false)
	e.user("bo@loket.example", false)
	attacker := e.browser()
	attacker.addr = "198.51.100.7"
	for i := 0; i < 5; i++ {
		if r := attacker.signIn("an@loket.example", "fout"); r.status != http.StatusUnauthorized {
			t.Fatalf("failure %d: %d", i+1, r.status)
		}
	}
	want := "U hebt te vaak een verkeerd wachtwoord of een verkeerde code ingevuld. Wacht 15 minuten en probeer het dan opnieuw."
	for i := 0; i < 5; i++ {
		if r := attacker.signIn("an@loket.example", password); r.status != http.StatusTooManyRequests || alert(r.body) != want {
			t.Fatalf("attempt %d after five failures, right password: %d %q", 6+i, r.status, alert(r.body))
		}
	}
	if attacker.session() != "" && attacker.signedInAs(u.DisplayName) {
		t.Fatal("a slowed-down attacker must not sign in")
	}
	// The real user, from her own address: no lock at all.
	user := e.browser()
	user.addr = "192.0.2.1"
	if r := user.signIn("an@loket.example", password); r.status != http.StatusSeeOther || !user.signedInAs(u.DisplayName) {
		t.Fatalf("the real user was locked out by the attacker: %d %q", r.status, alert(r.body))
	}
	// An unknown e-mail address is slowed down the same way, with the same message.
	for i := 0; i < 5; i++ {
		attacker.signIn("niemand@loket.example", "fout")
	}
	if r := attacker.signIn("niemand@loket.example", "fout"); r.status != http.StatusTooManyRequests || alert(r.body) != want {
		t.Errorf("unknown address: %d %q", r.status, alert(r.body))
	}
	// 16 attempts so far; four more on other accounts use up the address's
	// 20: then every account is refused from there…
	for i := 0; i < 4; i++ {
		attacker.signIn(fmt.Sprintf("gok%d@loket.example", i), "fout")
	}
	if r := attacker.signIn("bo@loket.example", password); r.status != http.StatusTooManyRequests {
		t.Errorf("21st attempt from one address: %d", r.status)
	}
	// …but not from elsewhere.
	other := e.browser()
	other.addr = "192.0.2.2"
	if r := other.signIn("bo@loket.example", password); r.status != http.StatusSeeOther {
		t.Errorf("another account from another address: %d %q", r.status, alert(r.body))
	}
	// The slowdown ends with the window.
	e.clock.Advance(15 * time.Minute)
	if r := attacker.signIn("an@loket.example", password); r.status != http.StatusSeeOther || !attacker.signedInAs(u.DisplayName) {
		t.Fatalf("after the window: %d %q", r.status, alert(r.body))
	}
}

// enrol gives u a code app directly (not through the pages) and returns the
// secret; the clock moves on so the enrolment code is not the next one.
func enrol(t *testing.T, e *env, u *account.User) string {
	t.Helper()
	k, err := account.NewTOTPKey(u.Email)
	if err != nil {
		t.Fatal(err)
	}
	must(t, e.h.Service().Store().SetTOTPSecret(context.Background(), u.ID, k.Secret))
	return k.Secret
}

func TestTOTP(t *testing.T) {
	e := newEnv(t)
	u := e.user("an@loket.example", true)
	secret := enrol(t, e, u)
	b := e.browser()
	if r := b.signIn("an@loket.example", password); r.status != http.StatusSeeOther || r.location() != "/aanmelden/code" {
		t.Fatalf("password step: %d %q", r.status, r.location())
	}
	if b.signedInAs(u.DisplayName) {
		t.Fatal("signed in before the code")
	}
	code, _ := account.TOTPCode(secret, e.clock.Now())
	wrongCode := "000000"
	if wrongCode == code {
		wrongCode = "111111"
	}
	r := b.post("/aanmelden/code", "/aanmelden/code", url.Values{"code": {wrongCode}})
	if r.status != http.StatusUnauthorized || !strings.Contains(r.body, "Deze code klopt niet.") {
		t.Fatalf("wrong code: %d", r.status)
	}
	if r := b.post("/aanmelden/code", "/aanmelden/code", url.Values{"code": {code}}); r.status != http.StatusSeeOther || r.location() != "/werk" {
		t.Fatalf("right code: %d %q", r.status, r.location())
	}
	if !b.signedInAs(u.DisplayName) {
		t.Fatal("not signed in after the right code")
	}

	// Someone who saw the code (and knows the password) cannot use it again
	// within its 90 seconds.
	thief := e.browser()
	thief.signIn("an@loket.example", password)
	r = thief.post("/aanmelden/code", "/aanmelden/code", url.Values{"code": {code}})
	if r.status != http.StatusUnauthorized || !strings.Contains(r.body, "Deze code is al gebruikt.") || thief.signedInAs(u.DisplayName) {
		t.Fatalf("replayed code: %d", r.status)
	}
	e.clock.Advance(30 * time.Second)
	next, _ := account.TOTPCode(secret, e.clock.Now())
	if r := thief.post("/aanmelden/code", "/aanmelden/code", url.Values{"code": {next}}); r.status != http.StatusSeeOther {
		t.Fatalf("the next code: %d", r.status)
	}

	// The code step without a password step goes back to the start, and the
	// waiting step expires.
	stranger := e.browser()
	if r := stranger.get("/aanmelden/code"); r.status != http.StatusSeeOther || r.location() != "/aanmelden?verlopen=1" {
		t.Errorf("code page without password: %d %q", r.status, r.location())
	}
	slow := e.browser()
	slow.signIn("an@loket.example", password)
	e.clock.Advance(11 * time.Minute)
	if r := slow.get("/aanmelden/code"); r.status != http.StatusSeeOther || r.location() != "/aanmelden?verlopen=1" {
		t.Errorf("code page after 11 minutes: %d %q", r.status, r.location())
	}
}

func TestTOTPGuessesAreLimited(t *testing.T) {
	e := newEnv(t, func(c *account.Config) {
		c.Limits = account.Limits{Window: 15 * time.Minute, PerPair: 3, PerAddress: 50}
	})
	u := e.user("an@loket.example", false)
	secret := enrol(t, e, u)
	code, _ := account.TOTPCode(secret, e.clock.Now())
	wrong := map[bool]string{true: "111111", false: "000000"}[code == "000000"]
	b := e.browser()
	// A right password does not buy fresh guesses at the code.
	for i := 0; i < 3; i++ {
		if r := b.signIn("an@loket.example", password); r.status != http.StatusSeeOther {
			// the 3rd password attempt is the account's 5th attempt: locked
			if r.status != http.StatusTooManyRequests {
				t.Fatalf("password %d: %d", i+1, r.status)
			}
			return
		}
		b.post("/aanmelden/code", "/aanmelden/code", url.Values{"code": {wrong}})
	}
	t.Fatal("code guesses were never limited")
}

func TestEnrolment(t *testing.T) {
	e := newEnv(t)
	u := e.user("an@loket.example", true)
	b := e.browser()
	r := b.signIn("an@loket.example", password)
	if r.status != http.StatusSeeOther || r.location() != "/aanmelden/code-instellen" {
		t.Fatalf("a user who must use a code app and has none: %d %q", r.status, r.location())
	}
	page := b.get("/aanmelden/code-instellen")
	m := regexp.MustCompile(`<code class="secret">([A-Z2-7 ]+)</code>`).FindStringSubmatch(page.body)
	if m == nil || !strings.Contains(page.body, "otpauth://totp/Loket:an@loket.example?") || !strings.Contains(page.body, "verplicht") {
		t.Fatalf("set-up page: %d %s", page.status, page.body)
	}
	secret := strings.ReplaceAll(m[1], " ", "")
	if r := b.post("/aanmelden/code-instellen", "/aanmelden/code-instellen", url.Values{"code": {"123"}}); r.status != http.StatusUnauthorized || b.signedInAs(u.DisplayName) {
		t.Fatalf("a wrong confirmation code: %d", r.status)
	}
	code, _ := account.TOTPCode(secret, e.clock.Now())
	if r := b.post("/aanmelden/code-instellen", "/aanmelden/code-instellen", url.Values{"code": {code}}); r.status != http.StatusSeeOther {
		t.Fatalf("confirm: %d %s", r.status, r.body)
	}
	if !b.signedInAs(u.DisplayName) {
		t.Fatal("not signed in after setting up the code app")
	}
	stored, _ := e.h.Service().Store().ByID(context.Background(), u.ID)
	if stored.TOTPSecret.String() != secret {
		t.Fatal("the confirmed secret is not stored")
	}
	// A second factor: a database dump alone must not give it away.
	var raw string
	if err := e.db.NewSelect().Table("users").Column("totp_secret").Where("id = ?", u.ID).Scan(context.Background(), &raw); err != nil {
		t.Fatal(err)
	}
	if !sealed.IsSealed(raw) || strings.Contains(raw, secret) {
		t.Fatalf("the code app secret is stored as %q, want it sealed", raw)
	}
	// From now on the code step is asked, and the enrolment code is spent.
	next := e.browser()
	if r := next.signIn("an@loket.example", password); r.location() != "/aanmelden/code" {
		t.Fatalf("next sign-in: %d %q", r.status, r.location())
	}
	if r := next.post("/aanmelden/code", "/aanmelden/code", url.Values{"code": {code}}); !strings.Contains(r.body, "al gebruikt") {
		t.Errorf("the enrolment code must not sign in again: %d", r.status)
	}
}

func TestVoluntaryEnrolment(t *testing.T) {
	e := newEnv(t)
	u := e.user("an@loket.example", false)
	b := e.browser()
	b.signIn("an@loket.example", password)
	if !strings.Contains(b.get("/account").body, `href="/account/code-instellen"`) {
		t.Fatal("the account page must offer a code app")
	}
	page := b.get("/account/code-instellen")
	m := regexp.MustCompile(`<code class="secret">([A-Z2-7 ]+)</code>`).FindStringSubmatch(page.body)
	if m == nil {
		t.Fatalf("set-up page: %d", page.status)
	}
	secret := strings.ReplaceAll(m[1], " ", "")
	if again := b.get("/account/code-instellen"); !strings.Contains(again.body, m[1]) {
		t.Error("reloading the page must keep the same secret")
	}
	code, _ := account.TOTPCode(secret, e.clock.Now())
	if r := b.post("/account/code-instellen", "/account/code-instellen", url.Values{"code": {code}}); r.status != http.StatusSeeOther || r.location() != "/account?code=1" {
		t.Fatalf("confirm: %d %q", r.status, r.location())
	}
	if stored, _ := e.h.Service().Store().ByID(context.Background(), u.ID); stored.TOTPSecret.String() != secret {
		t.Fatal("secret not stored")
	}
}

func TestSignOutEverywhere(t *testing.T) {
	e := newEnv(t)
	u := e.user("an@loket.example", false)
	laptop, phone := e.browser(), e.browser()
	laptop.signIn("an@loket.example", password)
	phone.signIn("an@loket.example", password)
	if !laptop.signedInAs(u.DisplayName) || !phone.signedInAs(u.DisplayName) {
		t.Fatal("both devices must be signed in")
	}
	phoneSession := phone.session()
	if r := laptop.post("/account", "/afmelden/overal", url.Values{}); r.status != http.StatusSeeOther {
		t.Fatalf("sign out everywhere: %d", r.status)
	}
	if laptop.signedInAs(u.DisplayName) || phone.signedInAs(u.DisplayName) {
		t.Fatal("every session must end")
	}
	if _, found, _ := e.cache.Get(context.Background(), "sess:"+phoneSession); found || phone.session() == phoneSession {
		t.Error("the rejected session must be deleted and its cookie replaced")
	}
	// A new sign-in works again.
	phone.signIn("an@loket.example", password)
	if !phone.signedInAs(u.DisplayName) {
		t.Fatal("signing in after signing out everywhere")
	}
	// Signing out everywhere needs a signed-in user.
	if r := e.browser().post("/aanmelden", "/afmelden/overal", url.Values{}); r.status != http.StatusSeeOther || !strings.HasPrefix(r.location(), "/aanmelden") {
		t.Errorf("anonymous sign out everywhere: %d %q", r.status, r.location())
	}
}

func TestSessionTimeouts(t *testing.T) {
	e := newEnv(t, func(c *account.Config) { c.IdleTimeout = 30 * time.Minute; c.MaxAge = 2 * time.Hour })
	u := e.user("an@loket.example", false)

	idle := e.browser()
	idle.signIn("an@loket.example", password)
	e.clock.Advance(29 * time.Minute)
	if !idle.signedInAs(u.DisplayName) {
		t.Fatal("29 minutes idle is allowed")
	}
	e.clock.Advance(29 * time.Minute) // the request above renewed the idle time
	if !idle.signedInAs(u.DisplayName) {
		t.Fatal("activity must renew the idle timeout")
	}
	e.clock.Advance(31 * time.Minute)
	if idle.signedInAs(u.DisplayName) {
		t.Fatal("31 minutes idle must end the session")
	}

	busy := e.browser()
	busy.signIn("an@loket.example", password)
	for i := 0; i < 7; i++ { // 7 × 20 min = 2 h 20 min, never idle long
		e.clock.Advance(20 * time.Minute)
		if got := busy.signedInAs(u.DisplayName); got != (i < 5) {
			t.Fatalf("after %d min: signed in = %v", (i+1)*20, got)
		}
	}

	disabled := e.browser()
	disabled.signIn("an@loket.example", password)
	must(t, e.h.Service().Store().SetDisabled(context.Background(), u.ID, true))
	if disabled.signedInAs(u.DisplayName) {
		t.Fatal("a disabled user's session must end")
	}
}

var linkRE = regexp.MustCompile(`https://loket\.example(/wachtwoord-herstellen\?\S+)`)

func TestPasswordReset(t *testing.T) {
	e := newEnv(t)
	u := e.user("an@loket.example", false)
	ctx := context.Background()

	// An existing session ends when the password is reset.
	old := e.browser()
	old.signIn("an@loket.example", password)

	b := e.browser()
	known := b.post("/wachtwoord-vergeten", "/wachtwoord-vergeten", url.Values{"email": {"AN@loket.example"}})
	unknown := b.post("/wachtwoord-vergeten", "/wachtwoord-vergeten", url.Values{"email": {"niemand@loket.example"}})
	if known.status != 200 || known.body != unknown.body || !strings.Contains(known.body, "Hebben we een account met dit e-mailadres?") {
		t.Fatalf("the answer must be the same for every address: %d / %d", known.status, unknown.status)
	}
	e.h.Service().Wait()
	mails, err := e.outbox.List(ctx, "", 10)
	if err != nil || len(mails) != 1 || mails[0].To != "an@loket.example" || mails[0].Kind != "password_reset" {
		t.Fatalf("outbox: %+v %v", mails, err)
	}
	m := linkRE.FindStringSubmatch(mails[0].Text)
	if m == nil || !strings.Contains(mails[0].Text, "Beste Medewerker an") || !strings.Contains(mails[0].Text, "60 minuten") {
		t.Fatalf("mail text:\n%s", mails[0].Text)
	}
	link := m[1]
	token, _ := url.ParseQuery(strings.SplitN(link, "?", 2)[1])
	// Only the hash of the token is stored.
	var stored []string
	must(t, e.db.NewSelect().Table("password_reset_tokens").Column("token_hash").Scan(ctx, &stored))
	if len(stored) != 1 || stored[0] == token.Get("token") || len(stored[0]) != 64 {
		t.Fatalf("stored token hashes: %v", stored)
	}

	if r := b.get(link); r.status != 200 || !strings.Contains(r.body, "Nieuw wachtwoord kiezen") {
		t.Fatalf("reset page: %d", r.status)
	}
	short := b.post(link, "/wachtwoord-herstellen", url.Values{"token": {token.Get("token")}, "password": {"kort"}, "password_confirm": {"kort"}})
	if short.status != http.StatusUnprocessableEntity || !strings.Contains(short.body, `id="err-password">Het wachtwoord is te kort. Kies minstens 12 tekens.`) {
		t.Fatalf("short password: %d", short.status)
	}
	mismatch := b.post(link, "/wachtwoord-herstellen", url.Values{"token": {token.Get("token")}, "password": {"nieuw-wachtwoord-1"}, "password_confirm": {"nieuw-wachtwoord-2"}})
	if mismatch.status != http.StatusUnprocessableEntity || !strings.Contains(mismatch.body, `id="err-password_confirm">De twee wachtwoorden zijn niet gelijk.`) {
		t.Fatalf("mismatch: %d", mismatch.status)
	}
	done := b.post(link, "/wachtwoord-herstellen", url.Values{"token": {token.Get("token")}, "password": {"nieuw-wachtwoord-1"}, "password_confirm": {"nieuw-wachtwoord-1"}})
	if done.status != http.StatusSeeOther || done.location() != "/aanmelden?hersteld=1" {
		t.Fatalf("reset: %d %q", done.status, done.location())
	}
	if old.signedInAs(u.DisplayName) {
		t.Fatal("a reset must sign out everywhere")
	}
	if r := e.browser().signIn("an@loket.example", password); r.status != http.StatusUnauthorized {
		t.Error("the old password still works")
	}
	if r := b.signIn("an@loket.example", "nieuw-wachtwoord-1"); r.status != http.StatusSeeOther {
		t.Errorf("the new password: %d", r.status)
	}
	// The link works once.
	if r := b.get(link); r.status != http.StatusGone || !strings.Contains(r.body, "Deze link werkt niet meer.") {
		t.Errorf("used link: %d", r.status)
	}
	again := e.browser().post("/aanmelden", "/wachtwoord-herstellen", url.Values{"token": {token.Get("token")}, "password": {"nog-een-wachtwoord"}, "password_confirm": {"nog-een-wachtwoord"}})
	if again.status != http.StatusGone {
		t.Errorf("second use of the token: %d", again.status)
	}

	// A link expires after an hour.
	e.clock.Advance(time.Minute)
	b.post("/wachtwoord-vergeten", "/wachtwoord-vergeten", url.Values{"email": {"an@loket.example"}})
	e.h.Service().Wait()
	mails, _ = e.outbox.List(ctx, "an@loket.example", 1)
	late := linkRE.FindStringSubmatch(mails[0].Text)[1]
	if late == link {
		t.Fatal("a new request must make a new link")
	}
	e.clock.Advance(59 * time.Minute)
	if r := b.get(late); r.status != 200 {
		t.Fatalf("link after 59 minutes: %d", r.status)
	}
	e.clock.Advance(time.Minute)
	if r := b.get(late); r.status != http.StatusGone {
		t.Fatalf("link after 60 minutes: %d", r.status)
	}
	if r := b.get("/wachtwoord-herstellen"); r.status != http.StatusGone {
		t.Errorf("no token: %d", r.status)
	}
}

func TestResetMailsAreLimited(t *testing.T) {
	e := newEnv(t, func(c *account.Config) {
		c.Limits = account.Limits{Window: 15 * time.Minute, PerPair: 5, PerAddress: 20, ResetMails: 2}
	})
	e.user("an@loket.example", false)
	b := e.browser()
	for i := 0; i < 4; i++ {
		if r := b.post("/wachtwoord-vergeten", "/wachtwoord-vergeten", url.Values{"email": {"an@loket.example"}}); r.status != 200 {
			t.Fatalf("request %d: %d", i+1, r.status)
		}
	}
	e.h.Service().Wait()
	if mails, _ := e.outbox.List(context.Background(), "", 10); len(mails) != 2 {
		t.Errorf("%d mails sent; at most 2 per window", len(mails))
	}
}

// TestRoleGivenLateNeedsSecondFactor: a desk role given to someone who is
// signed in without a second factor counts on her very next request: no
// page lets her in until she has set up a code app (and given a code from
// it); someone with a code app gives a code. Her open session alone is
// never enough.
func TestRoleGivenLateNeedsSecondFactor(t *testing.T) {
	var deskRoles sync.Map // user id → a role that needs a second factor
	e := newEnv(t, func(c *account.Config) {
		c.SecondFactor = func(id string) bool { _, ok := deskRoles.Load(id); return ok }
	})
	partner := e.user("partner@loket.example", false)
	b := e.browser()
	if r := b.signIn("partner@loket.example", password); r.status != http.StatusSeeOther || !b.signedInAs(partner.DisplayName) {
		t.Fatalf("sign-in without a second factor: %d", r.status)
	}
	// The desk admin makes her a desk worker while she is signed in.
	deskRoles.Store(partner.ID.String(), true)
	r := b.get("/prive")
	if r.status != http.StatusSeeOther || r.location() != "/aanmelden/code-instellen" {
		t.Fatalf("a private page after the role was given: %d %q; want the code-app set-up", r.status, r.location())
	}
	if b.signedInAs(partner.DisplayName) {
		t.Fatal("the open session still passes without a second factor")
	}
	if r := b.do(http.MethodGet, "/prive", nil, "Accept", "application/json"); r.status != http.StatusUnauthorized {
		t.Errorf("a JSON request without the second factor: %d", r.status)
	}
	// She sets up the code app and comes back.
	b.get("/prive") // starts the set-up again, as a browser would
	page := b.get("/aanmelden/code-instellen")
	m := regexp.MustCompile(`<code class="secret">([A-Z2-7 ]+)</code>`).FindStringSubmatch(page.body)
	if m == nil {
		t.Fatalf("set-up page: %d %s", page.status, page.body)
	}
	code, _ := account.TOTPCode(strings.ReplaceAll(m[1], " ", ""), e.clock.Now())
	if r := b.post("/aanmelden/code-instellen", "/aanmelden/code-instellen", url.Values{"code": {code}}); r.status != http.StatusSeeOther || r.location() != "/prive" {
		t.Fatalf("confirm: %d %q", r.status, r.location())
	}
	if !b.signedInAs(partner.DisplayName) {
		t.Fatal("not signed in after the second factor")
	}

	// Someone who already has a code app but signed in before needing it
	// (it was optional then) gives a code.
	other := e.user("other@loket.example", false)
	secret := enrol(t, e, other)
	e.clock.Advance(time.Minute)
	ob := e.browser()
	if r := ob.signIn("other@loket.example", password); r.location() != "/aanmelden/code" {
		t.Fatalf("a user with a code app gives a code at sign-in: %q", r.location())
	}
	code, _ = account.TOTPCode(secret, e.clock.Now())
	ob.post("/aanmelden/code", "/aanmelden/code", url.Values{"code": {code}})
	deskRoles.Store(other.ID.String(), true)
	if !ob.signedInAs(other.DisplayName) {
		t.Error("a session that passed a code needs no new one when a role is given")
	}

	// A sign-in of a user whose roles need a code app she lacks goes
	// straight to setting one up.
	third := e.user("third@loket.example", false)
	deskRoles.Store(third.ID.String(), true)
	tb := e.browser()
	if r := tb.signIn("third@loket.example", password); r.status != http.StatusSeeOther || r.location() != "/aanmelden/code-instellen" || tb.signedInAs(third.DisplayName) {
		t.Fatalf("sign-in with a desk role and no code app: %d %q", r.status, r.location())
	}
}
