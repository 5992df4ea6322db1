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
	"io"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
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

// PgBouncerURL is PgBouncer in transaction mode in front of the server of
// PostgresAdminURL (.ci/run starts it with scripts/ci/pgbouncer.sh and sets
// LOKET_TEST_PGBOUNCER_URL); empty when not configured.
func PgBouncerURL() string { return os.Getenv("LOKET_TEST_PGBOUNCER_URL") }

// ViaPgBouncer reports whether the tests' application connections should go
// through PgBouncer (LOKET_TEST_VIA_PGBOUNCER=1: CI runs the isolation tests
// once more so).
func ViaPgBouncer() bool { return os.Getenv("LOKET_TEST_VIA_PGBOUNCER") == "1" }

// PgBouncer returns dbURL (a database of Postgres) as reached through
// PgBouncer in transaction mode; it skips loudly when there is none.
func PgBouncer(t testing.TB, dbURL string) string {
	t.Helper()
	bouncer := PgBouncerURL()
	if bouncer == "" {
		Missing(t, "PgBouncer", "LOKET_TEST_PGBOUNCER_URL is not set (scripts/ci/pgbouncer.sh starts one and prints it)")
	}
	if err := reachable(bouncer, "6432"); err != nil {
		Missing(t, "PgBouncer", err.Error())
	}
	return onServer(t, dbURL, bouncer)
}

// onServer is dbURL with the host and port of server, another URL.
func onServer(t testing.TB, dbURL, server string) string {
	t.Helper()
	s, err := url.Parse(server)
	if err != nil {
		t.Fatalf("server URL: %v", err)
	}
	u, err := url.Parse(dbURL)
	if err != nil {
		t.Fatalf("database URL: %v", err)
	}
	u.Host = s.Host
	return u.String()
}

// Standby returns dbURL (a database of Postgres) as read on the hot standby
// that .ci/run starts (scripts/ci/standby.sh, LOKET_TEST_STANDBY_URL), once
// the standby has replayed the database's creation; it skips loudly when
// there is none.
func Standby(t testing.TB, dbURL string) string {
	t.Helper()
	standby := os.Getenv("LOKET_TEST_STANDBY_URL")
	if standby == "" {
		Missing(t, "PostgreSQL standby", "LOKET_TEST_STANDBY_URL is not set (scripts/ci/standby.sh starts one and prints it)")
	}
	if err := reachable(standby, "5432"); err != nil {
		Missing(t, "PostgreSQL standby", err.Error())
	}
	u := onServer(t, dbURL, standby)
	deadline := time.Now().Add(30 * time.Second)
	for {
		db, err := sql.Open("pgx", u)
		if err == nil {
			err = db.Ping()
			_ = db.Close()
		}
		if err == nil {
			return u
		}
		if time.Now().After(deadline) {
			t.Fatalf("the standby has not replayed the creation of the test database: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// WaitForReplay waits until the standby at standbyURL has replayed all the
// primary at primaryURL has written so far: on a busy machine a standby may
// lag by more than a read waits for it.
func WaitForReplay(t testing.TB, primaryURL, standbyURL string) {
	t.Helper()
	ctx := context.Background()
	query := func(dsn, q string, args []any, dest any) {
		t.Helper()
		db, err := sql.Open("pgx", dsn)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		if err := db.QueryRowContext(ctx, q, args...).Scan(dest); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	var lsn string
	query(primaryURL, "SELECT pg_current_wal_lsn()::text", nil, &lsn)
	deadline := time.Now().Add(30 * time.Second)
	for {
		var ok bool
		query(standbyURL, "SELECT pg_last_wal_replay_lsn() >= $1::pg_lsn", []any{lsn}, &ok)
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the standby has not replayed %s within 30 s", lsn)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TCPProxy forwards connections on a loopback port to target (host:port)
// until stop is called, which also cuts the connections it carries: a
// server going away, for the tests of what happens then.
func TCPProxy(t testing.TB, target string) (addr string, stop func()) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s, err := net.Dial("tcp", target)
			if err != nil {
				_ = c.Close()
				continue
			}
			mu.Lock()
			conns = append(conns, c, s)
			mu.Unlock()
			go func() { _, _ = io.Copy(s, c); _ = s.Close() }()
			go func() { _, _ = io.Copy(c, s); _ = c.Close() }()
		}
	}()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			_ = ln.Close()
			mu.Lock()
			defer mu.Unlock()
			for _, c := range conns {
				_ = c.Close()
			}
		})
	}
	t.Cleanup(stop)
	return ln.Addr().String(), stop
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

// RedisCluster returns the URL of the Redis Cluster that .ci/run starts
// (scripts/ci/redis-cluster.sh, LOKET_TEST_REDIS_CLUSTER_URL) and a key
// prefix unique to this test; it skips loudly when there is none.
func RedisCluster(t testing.TB) (redisURL, prefix string) {
	t.Helper()
	u := os.Getenv("LOKET_TEST_REDIS_CLUSTER_URL")
	if u == "" {
		Missing(t, "Redis Cluster", "LOKET_TEST_REDIS_CLUSTER_URL is not set (scripts/ci/redis-cluster.sh starts one and prints it)")
	}
	if err := reachable(u, "6379"); err != nil {
		Missing(t, "Redis Cluster", err.Error())
	}
	return u, "loket-test-" + randomHex(6) + ":"
}

// StartRedisCluster starts a private Redis Cluster (three primaries, three
// replicas) on ports base..base+5 for a test that kills its nodes, and stops
// it when the test ends. It returns the cluster's URL.
func StartRedisCluster(t testing.TB, base int) string {
	t.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		Missing(t, "redis-server", "not on PATH (apt-get install -y redis-server)")
	}
	script := filepath.Join(RepoRoot(t), "scripts", "ci", "redis-cluster.sh")
	dir := t.TempDir()
	stop := func() { _ = exec.Command("bash", script, "stop", fmt.Sprint(base), dir).Run() }
	stop() // a cluster left by an earlier run on these ports
	out, err := exec.Command("bash", script, "start", fmt.Sprint(base), dir).Output()
	t.Cleanup(stop)
	if err != nil {
		t.Fatalf("start redis cluster on %d: %v", base, err)
	}
	return strings.TrimSpace(string(out))
}

// StartRedisSentinel starts a private Redis primary and one Sentinel that
// watches it (redis-server --sentinel), stopped when the test ends, and
// returns the URL that reaches the primary through the Sentinel.
func StartRedisSentinel(t testing.TB) string {
	t.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		Missing(t, "redis-server", "not on PATH (apt-get install -y redis-server)")
	}
	dir := t.TempDir()
	start := func(args ...string) {
		cmd := exec.Command("redis-server", args...)
		cmd.Dir = dir
		if err := cmd.Start(); err != nil {
			t.Fatalf("redis-server %v: %v", args, err)
		}
		t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	}
	primary, sentinel := freePort(t), freePort(t)
	start("--port", fmt.Sprint(primary), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no")
	conf := filepath.Join(dir, "sentinel.conf")
	body := fmt.Sprintf("port %d\nbind 127.0.0.1\nsentinel monitor loket 127.0.0.1 %d 1\n", sentinel, primary)
	if err := os.WriteFile(conf, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	start(conf, "--sentinel")
	deadline := time.Now().Add(10 * time.Second)
	for {
		out, _ := exec.Command("redis-cli", "-p", fmt.Sprint(sentinel), "sentinel", "get-master-addr-by-name", "loket").Output()
		if strings.Contains(string(out), fmt.Sprint(primary)) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the Sentinel on %d does not know the primary on %d: %s", sentinel, primary, out)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Sprintf("redis://127.0.0.1:%d?master_name=loket", sentinel)
}

func freePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// RepoRoot is the directory of go.mod above the test's working directory.
func RepoRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the working directory")
		}
		dir = parent
	}
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
	return ciTool(t, "LOKET_HELM", "helm", filepath.Join("helm-*", "helm"))
}

// Redocly returns the Redocly CLI: $LOKET_REDOCLY, redocly on the PATH, or the
// one CI installs from npm into ~/.cache/loket-ci (see .ci/run).
func Redocly(t testing.TB) string {
	t.Helper()
	return ciTool(t, "LOKET_REDOCLY", "redocly", filepath.Join("redocly-*", "node_modules", ".bin", "redocly"))
}

// ciTool finds a command named by $env, on the PATH, or installed by .ci/run
// under ~/.cache/loket-ci (the newest match of cached); else it is Missing.
func ciTool(t testing.TB, env, name, cached string) string {
	t.Helper()
	if p := os.Getenv(env); p != "" {
		return p
	}
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	home, _ := os.UserHomeDir()
	if ms, _ := filepath.Glob(filepath.Join(home, ".cache", "loket-ci", cached)); len(ms) > 0 {
		return ms[len(ms)-1]
	}
	Missing(t, name, "not found (set "+env+", put "+name+" on the PATH, or run .ci/run once)")
	return ""
}
