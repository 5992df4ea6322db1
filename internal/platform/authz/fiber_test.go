package authz

import (
	"context"
	"errors"
	"io"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"

	"github.com/gofiber/fiber/v2"

	"github.com/loket-kinderopvang/loket/internal/platform/db"
	"github.com/loket-kinderopvang/loket/internal/platform/dbtest"
)

type crossLog struct {
	mu      sync.Mutex
	entries [][]string
	fail    error
}

func (l *crossLog) LogCrossTenant(_ context.Context, user, from, to, action, agreement string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.fail != nil {
		return l.fail
	}
	l.entries = append(l.entries, []string{user, from, to, action, agreement})
	return nil
}

func TestRequire(t *testing.T) {
	a, _ := world(t, dbtest.Open(t, db.SQLite))
	log := &crossLog{}
	a.SetCrossTenantLogger(log)

	userOf := func(c *fiber.Ctx) (string, bool) { u := c.Get("X-User"); return u, u != "" }
	deskOf := func(c *fiber.Ctx) (string, error) {
		if c.Params("desk") == "nowhere" {
			return "", fiber.NewError(fiber.StatusNotFound, "unknown desk")
		}
		return Desk(c.Params("desk")), nil
	}
	platform := func(*fiber.Ctx) (string, error) { return Platform, nil }
	echo := func(c *fiber.Ctx) error {
		d, ok := DecisionOf(c)
		if !ok {
			return errors.New("no decision")
		}
		return c.SendString(string(d.Role) + "@" + d.Via)
	}
	app := fiber.New()
	app.Get("/:desk/requests", a.Require("requests", "read", deskOf, userOf), echo)
	app.Get("/:desk/reports", a.Require("reports", "aggregate", deskOf, userOf), echo)
	app.Get("/platform/tenants", a.Require("tenants", "manage", platform, userOf), echo)

	do := func(path, user string) (int, string) {
		t.Helper()
		req := httptest.NewRequest("GET", path, nil)
		if user != "" {
			req.Header.Set("X-User", user)
		}
		resp, err := app.Test(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	cases := []struct {
		path, user string
		status     int
		body       string
	}{
		{"/a/requests", "", 401, ""},
		{"/a/requests", "desk-worker", 200, "desk_worker@tenant:a"},
		{"/b/requests", "desk-worker", 404, ""},                     // another desk: not found, not forbidden
		{"/nowhere/requests", "desk-worker", 404, ""},               // domainOf's error as is
		{"/c/requests", "desk-worker", 200, "desk_worker@tenant:a"}, // shared by tenant:c
		{"/b/reports", "coordinator", 200, "regional_coordinator@region:r1"},
		{"/c/reports", "coordinator", 404, ""},
		{"/platform/tenants", "desk-admin", 403, ""},
		{"/platform/tenants", "op", 200, "operator@platform"},
	}
	for _, tc := range cases {
		status, body := do(tc.path, tc.user)
		if status != tc.status || (tc.body != "" && body != tc.body) {
			t.Errorf("GET %s as %q: %d %q, want %d %q", tc.path, tc.user, status, body, tc.status, tc.body)
		}
	}
	want := [][]string{
		{"desk-worker", "tenant:a", "tenant:c", "requests:read", "agr-now"},
		{"coordinator", "region:r1", "tenant:b", "reports:aggregate", ""},
	}
	if !slices.EqualFunc(log.entries, want, slices.Equal) {
		t.Errorf("cross-tenant log:\n got %v\nwant %v", log.entries, want)
	}

	// Crossing into a desk is refused when it cannot be recorded.
	log.fail = errors.New("event log down")
	if status, _ := do("/c/requests", "desk-worker"); status != 500 {
		t.Errorf("logger failing: %d, want 500", status)
	}
	a.SetCrossTenantLogger(nil)
	if status, _ := do("/c/requests", "desk-worker"); status != 404 {
		t.Errorf("no logger: %d, want 404", status)
	}
	if status, _ := do("/a/requests", "desk-worker"); status != 200 {
		t.Errorf("own desk without logger: %d, want 200", status)
	}
}

func TestRequireRejectsUnknownPermission(t *testing.T) {
	a := newAuthorizer(t, dbtest.Open(t, db.SQLite), Options{})
	defer func() {
		if recover() == nil {
			t.Error("Require with an unknown permission did not panic")
		}
	}()
	a.Require("requests", "destroy", nil, nil)
}
