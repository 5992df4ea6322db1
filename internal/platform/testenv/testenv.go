// Package testenv finds the real services the tests need (PostgreSQL, Redis,
// Chromium) on localhost. A missing service skips the test with a loud message,
// or fails it when LOKET_TEST_STRICT=1 (as CI sets it).
package testenv

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
)

// Strict reports whether a missing service must fail the run.
func Strict() bool { return os.Getenv("LOKET_TEST_STRICT") == "1" }

// Missing skips (or, in strict mode, fails) t because service is absent.
func Missing(t testing.TB, service, why string) {
	t.Helper()
	msg := fmt.Sprintf("\n*** %s NOT AVAILABLE: %s ***\n*** this test did NOT run; set LOKET_TEST_STRICT=1 to make this a failure ***", service, why)
	if Strict() {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

func getenv(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

// PostgresAdminURL is the server the tests create throw-away databases on.
func PostgresAdminURL() string {
	return getenv("LOKET_TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable")
}

// RedisURL is the Redis server the tests use.
func RedisURL() string {
	return getenv("LOKET_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
}

func reachable(rawURL, defaultPort string) error {
	u, err := url.Parse(rawURL)
	if err != nil {
		return err
	}
	host := u.Host
	if u.Port() == "" {
		host = net.JoinHostPort(u.Hostname(), defaultPort)
	}
	conn, err := net.DialTimeout("tcp", host, 2*time.Second)
	if err != nil {
		return err
	}
	return conn.Close()
}

// Postgres creates a fresh, empty database for this test and returns its URL.
// The database is dropped when the test ends.
func Postgres(t testing.TB) string {
	t.Helper()
	admin := PostgresAdminURL()
	if err := reachable(admin, "5432"); err != nil {
		Missing(t, "PostgreSQL", err.Error())
	}
	db, err := sql.Open("pgx", admin)
	if err != nil {
		t.Fatalf("open postgres: %v", err)
	}
	defer db.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := db.PingContext(ctx); err != nil {
		Missing(t, "PostgreSQL", err.Error())
	}
	name := "loket_test_" + randomHex(6)
	if _, err := db.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("create test database: %v", err)
	}
	t.Cleanup(func() {
		db, err := sql.Open("pgx", admin)
		if err != nil {
			return
		}
		defer db.Close()
		_, _ = db.Exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)")
	})
	u, _ := url.Parse(admin)
	u.Path = "/" + name
	return u.String()
}

// Redis returns the URL of a reachable Redis server and a key prefix unique to
// this test, so parallel tests never see each other's keys.
func Redis(t testing.TB) (redisURL, prefix string) {
	t.Helper()
	u := RedisURL()
	if err := reachable(u, "6379"); err != nil {
		Missing(t, "Redis", err.Error())
	}
	return u, "loket-test-" + randomHex(6) + ":"
}

// Chromium returns the path of a Chromium binary.
func Chromium(t testing.TB) string {
	t.Helper()
	for _, name := range []string{os.Getenv("LOKET_TEST_CHROMIUM"), "chromium", "chromium-browser", "google-chrome"} {
		if name == "" {
			continue
		}
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	Missing(t, "Chromium", "no chromium binary on PATH (apt-get install -y chromium)")
	return ""
}

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return strings.ToLower(hex.EncodeToString(b))
}

// Helm returns the helm binary: $LOKET_HELM, helm on the PATH, or the one CI
// builds into ~/.cache/loket-ci (see .ci/run).
func Helm(t testing.TB) string {
	t.Helper()
	if p := os.Getenv("LOKET_HELM"); p != "" {
		return p
	}
	if p, err := exec.LookPath("helm"); err == nil {
		return p
	}
	home, _ := os.UserHomeDir()
	if ms, _ := filepath.Glob(filepath.Join(home, ".cache", "loket-ci", "helm-*", "helm")); len(ms) > 0 {
		return ms[len(ms)-1]
	}
	Missing(t, "helm", "no helm binary (set LOKET_HELM, put helm on the PATH, or run .ci/run once)")
	return ""
}
