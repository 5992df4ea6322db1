package web_test

import (
	"bufio"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/loket-kinderopvang/loket/internal/platform/web"
	"github.com/loket-kinderopvang/loket/internal/platform/web/webtest"
)

// listen serves app on 127.0.0.1 until the test ends and returns the address.
func listen(t *testing.T, app *fiber.App) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- app.Listener(ln) }()
	t.Cleanup(func() {
		_ = app.ShutdownWithTimeout(time.Second)
		_ = ln.Close()
		<-done
	})
	return ln.Addr().String()
}

func newServer(t *testing.T, opts web.Options) *web.Server {
	t.Helper()
	opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	return web.New(opts)
}

// TestMetricsLabelsSurviveKeepAlive sends mixed methods over ONE keep-alive
// connection to a real listener. Fiber reuses the request buffer for the
// next request on the connection, so a label value that points into it
// changes afterwards ("GET" → "POS", "GETT"); the registry then holds
// duplicate series and /metrics answers 500. Every label must be exact and
// every count right.
func TestMetricsLabelsSurviveKeepAlive(t *testing.T) {
	srv := newServer(t, web.Options{})
	ok := func(c *fiber.Ctx) error { return c.SendString("ok") }
	for _, m := range []string{fiber.MethodGet, fiber.MethodPost, fiber.MethodPut, fiber.MethodPatch, fiber.MethodDelete, fiber.MethodOptions} {
		srv.App.Add(m, "/items/:id", ok)
	}
	addr := listen(t, srv.App)
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	r := bufio.NewReader(conn)
	sent := map[string]int{}
	methods := []string{"GET", "POST", "GET", "PUT", "DELETE", "POST", "HEAD", "PATCH", "GET", "OPTIONS"}
	for round := 0; round < 20; round++ {
		for i, m := range methods {
			body := ""
			if m == "POST" || m == "PUT" || m == "PATCH" {
				body = strings.Repeat("x", round+i)
			}
			fmt.Fprintf(conn, "%s /items/%d HTTP/1.1\r\nHost: loket.test\r\nContent-Length: %d\r\n\r\n%s", m, round*100+i, len(body), body)
			res, err := http.ReadResponse(r, &http.Request{Method: m})
			if err != nil {
				t.Fatalf("round %d %s: %v", round, m, err)
			}
			_, _ = io.Copy(io.Discard, res.Body)
			res.Body.Close()
			if res.Close {
				t.Fatalf("round %d %s: the server closed the connection; the test needs keep-alive", round, m)
			}
			label := m
			sent[label]++
		}
	}

	metrics := webtest.Get(t, srv.Metrics, "/metrics")
	if metrics.Status != 200 {
		t.Fatalf("/metrics after keep-alive traffic: %d %s", metrics.Status, metrics.Body)
	}
	re := regexp.MustCompile(`(?m)^loket_http_requests_total\{method="([^"]*)",route="([^"]*)",status="(\d+)"\} (\d+)$`)
	got := map[string]int{}
	for _, m := range re.FindAllStringSubmatch(metrics.Body, -1) {
		if m[2] != "/items/:id" && m[2] != "unmatched" {
			t.Errorf("route label %q", m[2])
		}
		n, _ := strconv.Atoi(m[4])
		got[m[1]] += n
	}
	for m, n := range sent {
		if got[m] != n {
			t.Errorf("method %s: counted %d, sent %d", m, got[m], n)
		}
	}
	for m := range got {
		if _, ok := sent[m]; !ok {
			t.Errorf("method label %q was never sent (a corrupted label)", m)
		}
	}
}

// TestMetricsNotPublic: the main listener has no /metrics (exact counts per
// desk and status are not for strangers); with a token it answers only to
// that bearer token.
func TestMetricsNotPublic(t *testing.T) {
	srv := newServer(t, web.Options{})
	if r := webtest.Get(t, srv.App, "/metrics"); r.Status != 404 || strings.Contains(r.Body, "loket_http") {
		t.Errorf("/metrics on the main listener: %d", r.Status)
	}
	if r := webtest.Get(t, srv.Metrics, "/metrics"); r.Status != 200 || !strings.Contains(r.Body, "loket_http_requests_in_flight") {
		t.Errorf("/metrics on the metrics listener: %d", r.Status)
	}
	token := "metrics-token-0123456789"
	withToken := newServer(t, web.Options{MetricsToken: token})
	for _, auth := range []string{"", "Bearer wrong-token-0123456789", "Basic " + token, token} {
		if r := webtest.Get(t, withToken.App, "/metrics", "Authorization", auth); r.Status != 401 || strings.Contains(r.Body, "loket_http") {
			t.Errorf("/metrics with Authorization %q: %d", auth, r.Status)
		}
	}
	if r := webtest.Get(t, withToken.App, "/metrics", "Authorization", "Bearer "+token); r.Status != 200 || !strings.Contains(r.Body, "loket_http") {
		t.Errorf("/metrics with the token: %d", r.Status)
	}
}

// TestProxyHeadersOnlyFromTrustedProxies: X-Forwarded-For and
// X-Forwarded-Proto count only when the peer is a configured proxy; HSTS
// follows the public URL or a trusted https, never a client's claim.
func TestProxyHeadersOnlyFromTrustedProxies(t *testing.T) {
	probe := func(opts web.Options) string {
		srv := newServer(t, opts)
		srv.App.Get("/ip", func(c *fiber.Ctx) error { return c.SendString(c.IP()) })
		return "http://" + listen(t, srv.App)
	}
	do := func(base string, headers ...string) (ip, hsts string) {
		t.Helper()
		req, _ := http.NewRequest("GET", base+"/ip", nil)
		for i := 0; i+1 < len(headers); i += 2 {
			req.Header.Set(headers[i], headers[i+1])
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return string(b), res.Header.Get("Strict-Transport-Security")
	}
	spoof := []string{"X-Forwarded-For", "203.0.113.9", "X-Forwarded-Proto", "https"}

	untrusted := probe(web.Options{PublicURL: "http://localhost:8080"})
	if ip, hsts := do(untrusted, spoof...); ip != "127.0.0.1" || hsts != "" {
		t.Errorf("no trusted proxy: ip %q (want the peer), HSTS %q (want none)", ip, hsts)
	}
	other := probe(web.Options{TrustedProxies: []string{"10.0.0.0/8"}})
	if ip, hsts := do(other, spoof...); ip != "127.0.0.1" || hsts != "" {
		t.Errorf("peer not among the trusted proxies: ip %q, HSTS %q", ip, hsts)
	}
	trusted := probe(web.Options{TrustedProxies: []string{"127.0.0.1"}})
	if ip, hsts := do(trusted, spoof...); ip != "203.0.113.9" || !strings.HasPrefix(hsts, "max-age=") {
		t.Errorf("trusted proxy: ip %q, HSTS %q", ip, hsts)
	}
	if ip, _ := do(trusted, "X-Forwarded-For", "203.0.113.9, 10.1.2.3"); ip != "203.0.113.9" {
		t.Errorf("trusted proxy, list of addresses: ip %q", ip)
	}
	if ip, hsts := do(trusted); ip != "127.0.0.1" || hsts != "" {
		t.Errorf("trusted proxy without headers: ip %q, HSTS %q", ip, hsts)
	}
	public := probe(web.Options{PublicURL: "https://loket.example"})
	if _, hsts := do(public); !strings.HasPrefix(hsts, "max-age=31536000") {
		t.Errorf("https public URL: HSTS %q", hsts)
	}
}
