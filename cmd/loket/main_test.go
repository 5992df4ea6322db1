package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/loket-kinderopvang/loket/internal/account"
	"github.com/loket-kinderopvang/loket/internal/app"
	"github.com/loket-kinderopvang/loket/internal/platform/config"
)

// TestMain lets a test start this very binary as the real loket process:
// with LOKET_TEST_AS_LOKET=1 it runs main(), plus a slow endpoint.
func TestMain(m *testing.M) {
	if os.Getenv("LOKET_TEST_AS_LOKET") == "1" {
		extraRoutes = append(extraRoutes, func(app *fiber.App) {
			app.Get("/test/slow", func(c *fiber.Ctx) error {
				time.Sleep(1500 * time.Millisecond)
				return c.SendString("finished")
			})
		})
		os.Args = append([]string{"loket"}, strings.Fields(os.Getenv("LOKET_TEST_ARGS"))...)
		main()
		return
	}
	os.Exit(m.Run())
}

type proc struct {
	cmd     *exec.Cmd
	url     string
	metrics string // the metrics listener's /metrics URL
	stderr  *bytes.Buffer
	done    chan error
}

// startLoket runs loket serve on the embedded store in dataDir; env may
// override settings (KEY=value).
func startLoket(t *testing.T, dataDir string, env ...string) *proc {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "LOKET_TEST_AS_LOKET=1", "LOKET_HTTP_ADDR=127.0.0.1:0", "LOKET_DATA_DIR="+dataDir,
		"LOKET_DATABASE_URL=", "LOKET_REDIS_URL=", "LOKET_SHUTDOWN_TIMEOUT=10s", "LOKET_METRICS_ADDR=127.0.0.1:0")
	cmd.Env = append(cmd.Env, env...) // the last value of a key wins
	cmd.Dir = t.TempDir()
	pipe, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &proc{cmd: cmd, stderr: &bytes.Buffer{}, done: make(chan error, 1)}
	urlRe := regexp.MustCompile(`url=(http://\S+)`)
	metricsRe := regexp.MustCompile(`metrics=(http://\S+)`)
	found := make(chan [2]string, 1)
	go func() {
		sc := bufio.NewScanner(pipe)
		for sc.Scan() {
			line := sc.Text()
			p.stderr.WriteString(line + "\n")
			if m := urlRe.FindStringSubmatch(line); m != nil && strings.Contains(line, "Loket is running") {
				var metrics string
				if mm := metricsRe.FindStringSubmatch(line); mm != nil {
					metrics = mm[1]
				}
				found <- [2]string{m[1], metrics}
			}
		}
		p.done <- cmd.Wait()
	}()
	select {
	case u := <-found:
		p.url, p.metrics = u[0], u[1]
	case <-time.After(20 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatalf("loket did not start:\n%s", p.stderr)
	}
	return p
}

func (p *proc) stop(t *testing.T) int {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	return p.wait(t)
}

func (p *proc) wait(t *testing.T) int {
	t.Helper()
	select {
	case err := <-p.done:
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			return exit.ExitCode()
		}
		if err != nil {
			t.Fatal(err)
		}
		return 0
	case <-time.After(20 * time.Second):
		_ = p.cmd.Process.Kill()
		t.Fatalf("loket did not stop:\n%s", p.stderr)
		return -1
	}
}

func TestSIGTERMFinishesInFlightRequest(t *testing.T) {
	p := startLoket(t, t.TempDir())
	type result struct {
		status int
		body   string
		err    error
	}
	got := make(chan result, 1)
	go func() {
		res, err := http.Get(p.url + "/test/slow")
		if err != nil {
			got <- result{err: err}
			return
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		got <- result{status: res.StatusCode, body: string(b)}
	}()
	time.Sleep(400 * time.Millisecond) // the request is now in flight
	if code, out, errOut := runCLI(t, "healthcheck", "--http-addr", strings.TrimPrefix(p.url, "http://")); code != 0 || out != "ok\n" {
		t.Errorf("healthcheck against a running server: %d %q %q", code, out, errOut)
	}
	if code := p.stop(t); code != 0 {
		t.Errorf("exit code %d after SIGTERM, want 0\n%s", code, p.stderr)
	}
	r := <-got
	if r.err != nil || r.status != 200 || r.body != "finished" {
		t.Errorf("in-flight request: %+v; it must complete during shutdown", r)
	}
	if !strings.Contains(p.stderr.String(), "shutting down") {
		t.Errorf("no shutdown log:\n%s", p.stderr)
	}
}

// TestSecondStartChangesNothing starts the embedded default twice on one data
// directory: the first run migrates and seeds, the second writes nothing.
func TestSecondStartChangesNothing(t *testing.T) {
	dir := t.TempDir()
	first := startLoket(t, dir)
	res, err := http.Get(first.url + "/api/v1/tenants")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	for _, slug := range []string{"leuven", "geel-laakdal-meerhout", "stadsregio-turnhout"} {
		if !strings.Contains(string(body), `"slug":"`+slug+`"`) {
			t.Errorf("first start does not serve desk %s", slug)
		}
	}
	if code := first.stop(t); code != 0 {
		t.Fatalf("first run exit %d", code)
	}
	log1 := first.stderr.String()
	if !strings.Contains(log1, "migrations applied") || !strings.Contains(log1, "desks synced") {
		t.Fatalf("first start should migrate and seed:\n%s", log1)
	}
	dbFile := filepath.Join(dir, "loket.db")
	if _, err := os.Stat(dbFile); err != nil {
		t.Fatalf("no SQLite file created: %v", err)
	}

	second := startLoket(t, dir)
	if code := second.stop(t); code != 0 {
		t.Fatalf("second run exit %d", code)
	}
	log2 := second.stderr.String()
	if strings.Contains(log2, "migrations applied") || strings.Contains(log2, "desks synced") {
		t.Errorf("second start changed something:\n%s", log2)
	}
	if !strings.Contains(log2, "desks=3") {
		t.Errorf("second start does not serve the three desks:\n%s", log2)
	}
}

// TestDemoAccountsOnlyOnLoopback: the demo accounts' password, code-app
// secrets and API key are published. With LOKET_DEMO=auto on the embedded
// store (the Docker image), a server reachable from other machines gets the
// demo desks but no demo accounts, and disables those an earlier loopback
// start made; on loopback they exist and the log warns loudly.
func TestDemoAccountsOnlyOnLoopback(t *testing.T) {
	dir := t.TempDir()
	operator := func() (exists, disabled bool) {
		t.Helper()
		cfg := config.Config{DataDir: dir, HTTPAddr: "127.0.0.1:0", PublicURL: "http://localhost", LogFormat: "text"}
		a, err := app.Open(context.Background(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
		if err != nil {
			t.Fatal(err)
		}
		defer a.Close()
		u, err := a.Users.Store().ByEmail(context.Background(), "beheerder@demo.loket.example")
		if errors.Is(err, account.ErrNotFound) {
			return false, false
		}
		if err != nil {
			t.Fatal(err)
		}
		return true, u.Disabled()
	}

	open := startLoket(t, dir, "LOKET_HTTP_ADDR=0.0.0.0:0")
	// Metrics are on their own loopback listener, not on the public one.
	for url, want := range map[string]int{open.url + "/metrics": 404, open.metrics: 200} {
		if res, err := http.Get(url); err != nil || res.StatusCode != want {
			t.Errorf("GET %s: %v %v, want %d", url, res, err, want)
		} else {
			res.Body.Close()
		}
	}
	if !strings.HasPrefix(open.metrics, "http://127.0.0.1:") {
		t.Errorf("metrics listener %q: want loopback", open.metrics)
	}
	if code := open.stop(t); code != 0 {
		t.Fatalf("exit %d\n%s", code, open.stderr)
	}
	log := open.stderr.String()
	if strings.Contains(log, `msg="demo account"`) || strings.Contains(log, "lk_") || strings.Contains(log, app.DemoPassword) {
		t.Errorf("a server on every interface printed demo credentials:\n%s", log)
	}
	if !strings.Contains(log, "desks=3") {
		t.Errorf("the demo desks should still be there:\n%s", log)
	}
	if exists, _ := operator(); exists {
		t.Fatal("LOKET_DEMO=auto on 0.0.0.0 created the demo operator")
	}

	local := startLoket(t, dir)
	if code := local.stop(t); code != 0 {
		t.Fatalf("exit %d\n%s", code, local.stderr)
	}
	if log := local.stderr.String(); !strings.Contains(log, "level=WARN msg=\"DEMO ACCOUNTS ARE ACTIVE") {
		t.Errorf("a loopback start must seed the demo accounts and warn loudly:\n%s", log)
	}
	if exists, disabled := operator(); !exists || disabled {
		t.Fatalf("loopback start: operator exists %v, disabled %v", exists, disabled)
	}

	again := startLoket(t, dir, "LOKET_HTTP_ADDR=0.0.0.0:0")
	if code := again.stop(t); code != 0 {
		t.Fatalf("exit %d\n%s", code, again.stderr)
	}
	if log := again.stderr.String(); !strings.Contains(log, "level=WARN msg=\"demo accounts and key from an earlier start disabled") {
		t.Errorf("a reachable start must say it disabled the demo accounts:\n%s", log)
	}
	if _, disabled := operator(); !disabled {
		t.Error("the demo operator made by a loopback start must be disabled once the server is reachable")
	}
}

func runCLI(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(context.Background(), args, &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestHelpExplainsEveryFlag(t *testing.T) {
	code, out, _ := runCLI(t, "--help")
	if code != 0 {
		t.Fatalf("--help exit %d", code)
	}
	for _, k := range config.Keys {
		if !strings.Contains(out, "--"+k.Flag()) || !strings.Contains(out, k.Env()) {
			t.Errorf("--help does not explain --%s (%s)", k.Flag(), k.Env())
		}
	}
	for _, sub := range []string{"serve", "migrate", "tenants", "seed"} {
		if !strings.Contains(out, sub) {
			t.Errorf("--help does not list %s", sub)
		}
	}
	for _, args := range [][]string{{"migrate", "--help"}, {"tenants", "sync", "--help"}, {"seed", "demo", "--help"}, {"serve", "--help"}} {
		code, out, _ := runCLI(t, args...)
		if code != 0 || !strings.Contains(out, "Usage:") || !strings.Contains(out, "--database-url") {
			t.Errorf("%v: exit %d\n%s", args, code, out)
		}
	}
}

func TestBadConfigurationStopsStartup(t *testing.T) {
	t.Chdir(t.TempDir())
	cases := map[string][]string{
		"LOKET_HTTP_ADDR":    {"--http-addr", "localhost:70000"},
		"LOKET_DATABASE_URL": {"--database-url", "mysql://x/y"},
		"LOKET_REDIS_URL":    {"--redis-url", "nope"},
		"LOKET_DEMO":         {"--demo", "perhaps"},
	}
	for key, args := range cases {
		code, _, stderr := runCLI(t, args...)
		if code == 0 || !strings.Contains(stderr, key+"=") || !strings.Contains(stderr, args[1]) {
			t.Errorf("%v: exit %d, stderr %q; want non-zero naming %s and the value", args, code, stderr, key)
		}
	}
}

func TestMigrateAndSyncCommands(t *testing.T) {
	t.Chdir(t.TempDir())
	dir := t.TempDir()
	code, out, errOut := runCLI(t, "migrate", "status", "--data-dir", dir)
	if code != 0 || !strings.Contains(out, "pending") {
		t.Fatalf("status before: %d %s %s", code, out, errOut)
	}
	if code, out, _ := runCLI(t, "migrate", "up", "--data-dir", dir); code != 0 || !strings.Contains(out, "applied") {
		t.Fatalf("up: %d %s", code, out)
	}
	if code, out, _ := runCLI(t, "migrate", "up", "--data-dir", dir); code != 0 || !strings.Contains(out, "Nothing to migrate") {
		t.Fatalf("second up: %d %s", code, out)
	}
	if code, out, _ := runCLI(t, "seed", "demo", "--data-dir", dir); code != 0 || !strings.Contains(out, "created:") {
		t.Fatalf("seed demo: %d %s", code, out)
	}
	code, out, _ = runCLI(t, "tenants", "sync", "--data-dir", dir)
	if code != 0 || strings.Contains(out, "created:") || strings.Contains(out, "updated:") || !strings.Contains(out, "0 inserted, 0 updated") {
		t.Fatalf("a second sync must change nothing: %d %s", code, out)
	}

	// A bad desk file: the sync names the file and the field.
	tenantsDir := t.TempDir()
	bad := "slug: leuven\nname: Test\nmunicipalities: [\"24062\"]\nmode: sometimes\nmax_preferences: 3\nprovider_response_days: 14\noffer_acceptance_days: 7\nlanguages: [nl]\ncontact:\n  email: loket@leuven.example\n"
	if err := os.WriteFile(filepath.Join(tenantsDir, "leuven.yaml"), []byte(bad), 0o600); err != nil {
		t.Fatal(err)
	}
	code, _, errOut = runCLI(t, "tenants", "sync", "--data-dir", dir, "--tenants-dir", tenantsDir)
	if code == 0 || !strings.Contains(errOut, "leuven.yaml") || !strings.Contains(errOut, "mode") {
		t.Errorf("bad YAML: exit %d, %q", code, errOut)
	}

	if code, _, _ := runCLI(t, "healthcheck", "--http-addr", "127.0.0.1:1"); code == 0 {
		t.Error("healthcheck must fail when no server answers")
	}
	if code, out, _ := runCLI(t, "migrate", "down", "--data-dir", dir); code != 0 || !strings.Contains(out, "rolled back") {
		t.Fatalf("down: %d %s", code, out)
	}
}
