package app

// Helpers for authorisation acceptance tests against the real router:
// a cookie-keeping Browser, sign-in of demo accounts (with their TOTP code),
// the role × route × domain table (RouteCase, CheckRoutes) and the
// cross-tenant attack check (AttackRoute, AssertCrossTenant404). Other
// domains add their routes as rows; see TestAuthorisationMatrix.

import (
	"context"
	"html"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/loket-kinderopvang/loket/internal/account"
	"github.com/loket-kinderopvang/loket/internal/platform/authz"
)

// Anonymous is the "role" of a visitor who is not signed in.
const Anonymous authz.Role = "anonymous"

// DemoEmails names the demo account used for each role.
var DemoEmails = map[authz.Role]string{
	authz.Operator:            "beheerder@demo.loket.example",
	authz.DeskAdmin:           "coordinator.leuven@demo.loket.example",
	authz.DeskWorker:          "medewerker.leuven@demo.loket.example",
	authz.Partner:             "partner.leuven@demo.loket.example",
	authz.ProviderAdmin:       "aanbieder.beheer@demo.loket.example",
	authz.ProviderStaff:       "aanbieder.medewerker@demo.loket.example",
	authz.RegionalCoordinator: "regio.turnhout@demo.loket.example",
}

// MatrixRoles is every role of the table, anonymous last.
var MatrixRoles = []authz.Role{authz.Operator, authz.DeskAdmin, authz.DeskWorker, authz.Partner,
	authz.ProviderAdmin, authz.ProviderStaff, authz.RegionalCoordinator, Anonymous}

// Browser keeps cookies like a browser. It talks to a Fiber app in process,
// or to a real server when Base is set.
type Browser struct {
	t       testing.TB
	app     *fiber.App
	Base    string // "http://127.0.0.1:port" for real HTTP
	cookies map[string]*http.Cookie
}

// NewBrowser returns a browser without cookies for app.
func NewBrowser(t testing.TB, app *fiber.App) *Browser {
	return &Browser{t: t, app: app, cookies: map[string]*http.Cookie{}}
}

// Resp is one answer.
type Resp struct {
	Status int
	Header http.Header
	Body   string
}

// Do sends one request; body is a form (url.Values) or a JSON string.
func (b *Browser) Do(method, path string, body any, headers ...string) Resp {
	b.t.Helper()
	var r io.Reader
	ctype := ""
	switch v := body.(type) {
	case url.Values:
		r, ctype = strings.NewReader(v.Encode()), "application/x-www-form-urlencoded"
	case string:
		r, ctype = strings.NewReader(v), "application/json"
	}
	req := httptest.NewRequest(method, b.Base+path, r)
	if b.Base != "" {
		req.RequestURI = ""
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	req.Header.Set("Accept", "text/html")
	if strings.HasPrefix(path, "/api/") {
		req.Header.Set("Accept", "application/json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		if strings.EqualFold(headers[i], "Host") {
			req.Host = headers[i+1] // net/http ignores a Host header field
			continue
		}
		req.Header.Set(headers[i], headers[i+1])
	}
	for _, c := range b.cookies {
		req.AddCookie(&http.Cookie{Name: c.Name, Value: c.Value})
	}
	var res *http.Response
	var err error
	if b.Base != "" {
		client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		res, err = client.Do(req)
	} else {
		res, err = b.app.Test(req, -1)
	}
	if err != nil {
		b.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	for _, c := range res.Cookies() {
		if c.MaxAge < 0 || c.Value == "" || (!c.Expires.IsZero() && c.Expires.Before(time.Now())) {
			delete(b.cookies, c.Name)
		} else {
			b.cookies[c.Name] = c
		}
	}
	return Resp{Status: res.StatusCode, Header: res.Header, Body: string(raw)}
}

// Get fetches a page.
func (b *Browser) Get(path string) Resp { return b.Do(http.MethodGet, path, nil) }

var csrfRE = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

// Token fetches a CSRF token from a page that has a form.
func (b *Browser) Token(page string) string {
	b.t.Helper()
	p := b.Get(page)
	m := csrfRE.FindStringSubmatch(p.Body)
	if m == nil {
		b.t.Fatalf("GET %s (%d) has no CSRF token", page, p.Status)
	}
	return html.UnescapeString(m[1])
}

// Post submits a form with a valid CSRF token, like a browser would.
func (b *Browser) Post(path string, form url.Values) Resp {
	b.t.Helper()
	f := url.Values{}
	for k, v := range form {
		f[k] = v
	}
	// A signed-in browser's token comes from its account page; anyone
	// else's from the sign-in page (an anonymous visitor has a session too:
	// it holds her CSRF token).
	page := account.PathSignIn
	if b.cookies["loket_session"] != nil {
		if p := b.Get("/account"); p.Status == http.StatusOK {
			page = "/account"
		}
	}
	f.Set("csrf_token", b.Token(page))
	return b.Do(http.MethodPost, path, f)
}

// SignIn signs in with email and password, and with the current TOTP code
// of secret when the account asks for one.
func (b *Browser) SignIn(email, password, secret string) {
	b.t.Helper()
	r := b.Post(account.PathSignIn, url.Values{"email": {email}, "password": {password}})
	if r.Status == http.StatusSeeOther && r.Header.Get("Location") == account.PathSignInCode {
		code, err := account.TOTPCode(secret, time.Now())
		if err != nil {
			b.t.Fatal(err)
		}
		f := url.Values{"code": {code}, "csrf_token": {b.Token(account.PathSignInCode)}}
		r = b.Do(http.MethodPost, account.PathSignInCode, f)
	}
	if r.Status != http.StatusSeeOther || strings.HasPrefix(r.Header.Get("Location"), account.PathSignIn) {
		b.t.Fatalf("sign in %s: %d %s", email, r.Status, r.Header.Get("Location"))
	}
}

// SignInDemo signs a new browser in as the demo account of role (anonymous:
// a browser that is not signed in).
func SignInDemo(t testing.TB, a *App, app *fiber.App, role authz.Role) *Browser {
	t.Helper()
	b := NewBrowser(t, app)
	if role == Anonymous {
		return b
	}
	u, err := a.Users.Store().ByEmail(context.Background(), DemoEmails[role])
	if err != nil {
		t.Fatalf("demo account of %s: %v", role, err)
	}
	b.SignIn(u.Email, DemoPassword, u.TOTPSecret.String())
	return b
}

// Variant is the domain a route is tried in, relative to the roles' own:
// the demo roles' desk (Leuven) and provider, another desk and provider,
// and a desk that shares with Leuven through a sharing agreement.
type Variant string

// The variants.
const (
	Own    Variant = "own"
	Other  Variant = "other"
	Shared Variant = "shared"
)

// RouteCase is one row of the authorisation table: a route and, per
// variant, the roles that get OK. Everyone else is refused: anonymous with
// 303 to the sign-in page (401 under /api), signed-in users with 403 on
// platform routes and 404 elsewhere (Platform set).
type RouteCase struct {
	Method, Path string // placeholders {tenant} {provider} {location}
	Form         url.Values
	JSON         string
	OK           int
	Platform     bool
	Allow        map[Variant][]authz.Role
}

// AllVariants allows roles in every variant (routes with no domain in the path).
func AllVariants(roles ...authz.Role) map[Variant][]authz.Role {
	return map[Variant][]authz.Role{Own: roles, Other: roles, Shared: roles}
}

// OwnOnly allows roles in their own domain only.
func OwnOnly(roles ...authz.Role) map[Variant][]authz.Role {
	return map[Variant][]authz.Role{Own: roles}
}

// Fill replaces {name} placeholders.
func Fill(path string, values map[string]string) string {
	for k, v := range values {
		path = strings.ReplaceAll(path, "{"+k+"}", v)
	}
	return path
}

// Expect is the status role should get for rc in variant.
func (rc RouteCase) Expect(role authz.Role, v Variant) int {
	for _, r := range rc.Allow[v] {
		if r == role {
			return rc.OK
		}
	}
	switch {
	case role == Anonymous && strings.HasPrefix(rc.Path, "/api/"):
		return http.StatusUnauthorized
	case role == Anonymous:
		return http.StatusSeeOther
	case rc.Platform:
		return http.StatusForbidden
	default:
		return http.StatusNotFound
	}
}

// Send runs rc as b with the placeholders of one variant.
func (rc RouteCase) Send(b *Browser, values map[string]string) Resp {
	path := Fill(rc.Path, values)
	switch {
	case rc.JSON != "":
		return b.Do(rc.Method, path, rc.JSON)
	case rc.Method == http.MethodGet:
		return b.Get(path)
	default:
		return b.Post(path, rc.Form)
	}
}

// AttackRoute is a route tried with another desk's ids.
type AttackRoute struct {
	Method, Path string // placeholders filled from the ids
	Form         url.Values
	JSON         string
}

// AssertCrossTenant404 sends every route, its placeholders filled with desk
// A's ids, as b (signed in at desk B), and requires 404 with a body that
// holds none of secrets (names, e-mail addresses, ids of desk A).
func AssertCrossTenant404(t *testing.T, b *Browser, routes []AttackRoute, ids map[string]string, secrets []string) {
	t.Helper()
	for _, r := range routes {
		rc := RouteCase{Method: r.Method, Path: r.Path, Form: r.Form, JSON: r.JSON}
		res := rc.Send(b, ids)
		path := Fill(r.Path, ids)
		if res.Status != http.StatusNotFound {
			t.Errorf("%s %s: status %d, want 404", r.Method, path, res.Status)
		}
		for _, s := range secrets {
			if s != "" && strings.Contains(res.Body, s) {
				t.Errorf("%s %s: the answer contains %q of the other desk", r.Method, path, s)
			}
		}
	}
}
