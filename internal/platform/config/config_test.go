package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/pflag"
)

// load runs the full precedence chain: defaults, file, environment, flags.
func load(t *testing.T, file string, env map[string]string, args ...string) (Config, error) {
	t.Helper()
	for k, v := range env {
		t.Setenv(k, v)
	}
	v := New()
	fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
	AddFlags(v, fs)
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	return Load(v, file)
}

func TestDefaults(t *testing.T) {
	t.Chdir(t.TempDir()) // no loket.yaml here
	c, err := load(t, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	// The default listens on this machine only, so `go run ./cmd/loket`
	// may seed the demo accounts.
	if c.HTTPAddr != "127.0.0.1:8080" || c.DataDir != "./data" || !c.Embedded() || !c.Demo || !c.DemoAccounts || !c.MigrateOnStart || c.RedisURL != "" {
		t.Errorf("defaults: %+v", c)
	}
	if c.SQLitePath() != filepath.Join("data", "loket.db") {
		t.Errorf("sqlite path %q", c.SQLitePath())
	}
	if c.PublicURL != "http://localhost:8080" {
		t.Errorf("public url %q", c.PublicURL)
	}
	if c.MetricsAddr != "127.0.0.1:9090" || c.MetricsToken != "" {
		t.Errorf("metrics must default to a loopback listener and no token: %q %q", c.MetricsAddr, c.MetricsToken)
	}
}

func TestBinaryNamedLoketIsNotConfig(t *testing.T) {
	t.Chdir(t.TempDir())
	if err := os.WriteFile("loket", []byte("\x7fELF\x00\x01binary"), 0o700); err != nil {
		t.Fatal(err)
	}
	if _, err := load(t, "", nil); err != nil {
		t.Errorf("a binary called loket was read as configuration: %v", err)
	}
}

func TestPrecedence(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	if err := os.WriteFile("loket.yaml", []byte("http_addr: \":7000\"\ndata_dir: /from/file\nlog_level: debug\nlog_format: json\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	// The file beats the defaults.
	c, err := load(t, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.HTTPAddr != ":7000" || c.DataDir != "/from/file" || c.LogFormat != "json" {
		t.Errorf("file not applied: %+v", c)
	}
	// The environment beats the file.
	c, err = load(t, "", map[string]string{"LOKET_HTTP_ADDR": ":7100", "LOKET_LOG_FORMAT": "text"})
	if err != nil {
		t.Fatal(err)
	}
	if c.HTTPAddr != ":7100" || c.DataDir != "/from/file" || c.LogFormat != "text" {
		t.Errorf("env not applied over file: %+v", c)
	}
	// Flags beat the environment.
	c, err = load(t, "", map[string]string{"LOKET_HTTP_ADDR": ":7100"}, "--http-addr", ":7200")
	if err != nil {
		t.Fatal(err)
	}
	if c.HTTPAddr != ":7200" {
		t.Errorf("flag not applied over env: %q", c.HTTPAddr)
	}
}

func TestDemoDefaultsByStore(t *testing.T) {
	t.Chdir(t.TempDir())
	c, err := load(t, "", map[string]string{"LOKET_DATABASE_URL": "postgres://loket@db.internal:5432/loket"})
	if err != nil {
		t.Fatal(err)
	}
	if c.Demo || c.Embedded() {
		t.Errorf("demo must be off on PostgreSQL by default: %+v", c)
	}
	c, err = load(t, "", map[string]string{"LOKET_DATABASE_URL": "postgres://loket@db.internal/loket", "LOKET_DEMO": "true"})
	if err != nil || !c.Demo || !c.DemoAccounts {
		t.Errorf("LOKET_DEMO=true not honoured: %v %+v", err, c)
	}
}

// TestDemoAccountsOnlyOnLoopbackOrAskedFor: the demo accounts have a
// published password, TOTP secret and API key. On the embedded store with
// LOKET_DEMO=auto they exist only when Loket listens on loopback; the Docker
// image (embedded store, :8080) gets the demo desks but no accounts.
func TestDemoAccountsOnlyOnLoopbackOrAskedFor(t *testing.T) {
	t.Chdir(t.TempDir())
	cases := []struct {
		addr, demo         string
		wantDemo, wantAccs bool
	}{
		{"127.0.0.1:8080", "auto", true, true},
		{"localhost:8080", "auto", true, true},
		{"[::1]:8080", "auto", true, true},
		{":8080", "auto", true, false},
		{"0.0.0.0:8080", "auto", true, false},
		{"192.0.2.10:8080", "auto", true, false},
		{":8080", "true", true, true},
		{":8080", "false", false, false},
		{"127.0.0.1:8080", "false", false, false},
	}
	for _, tc := range cases {
		c, err := load(t, "", map[string]string{"LOKET_HTTP_ADDR": tc.addr, "LOKET_DEMO": tc.demo})
		if err != nil {
			t.Fatal(err)
		}
		if c.Demo != tc.wantDemo || c.DemoAccounts != tc.wantAccs {
			t.Errorf("http_addr %s, demo %s: demo %v accounts %v, want %v %v", tc.addr, tc.demo, c.Demo, c.DemoAccounts, tc.wantDemo, tc.wantAccs)
		}
	}
}

func TestBadValuesNameKeyAndValue(t *testing.T) {
	t.Chdir(t.TempDir())
	cases := []struct {
		env       string
		value     string
		wantInMsg string
	}{
		{"LOKET_HTTP_ADDR", "8080", "host:port"},
		{"LOKET_HTTP_ADDR", ":99999", "port must be a number from 0 to 65535"},
		{"LOKET_HTTP_ADDR", ":http", "port must be a number"},
		{"LOKET_DATABASE_URL", "mysql://db/loket", "scheme must be one of postgres"},
		{"LOKET_DATABASE_URL", "postgres://%zz", "not a valid URL"},
		{"LOKET_REDIS_URL", "http://cache:6379", "scheme must be one of redis"},
		{"LOKET_REDIS_URL", "redis://", "no host"},
		{"LOKET_DEMO", "sometimes", "true, false or auto"},
		{"LOKET_LOG_FORMAT", "xml", "text or json"},
		{"LOKET_LOG_LEVEL", "loud", "debug, info"},
		{"LOKET_SHUTDOWN_TIMEOUT", "soon", "positive duration"},
		{"LOKET_MIGRATE_ON_START", "maybe", "true or false"},
		{"LOKET_DATABASE_APP_ROLE", "app; drop table", "plain role name"},
		{"LOKET_PUBLIC_URL", "ftp://x", "scheme must be one of http"},
		{"LOKET_DATA_DIR", "", "must not be empty"},
		{"LOKET_TRUSTED_PROXIES", "10.0.0.0/8,proxy", "not an IP address or CIDR"},
		{"LOKET_SESSION_SECURE", "maybe", "true, false or auto"},
		{"LOKET_MAIL_FROM", "loket at example", "must be an e-mail address"},
		{"LOKET_METRICS_ADDR", "9090", "host:port"},
		{"LOKET_METRICS_ADDR", "127.0.0.1:8080", "must differ from LOKET_HTTP_ADDR"},
	}
	for _, tc := range cases {
		t.Run(tc.env+"="+tc.value, func(t *testing.T) {
			env := map[string]string{tc.env: tc.value}
			if tc.env == "LOKET_DATA_DIR" {
				// An empty environment value means "unset" to viper; use the flag.
				env = nil
			}
			var err error
			if env == nil {
				_, err = load(t, "", nil, "--data-dir=")
			} else {
				_, err = load(t, "", env)
			}
			var errs Errors
			if !errors.As(err, &errs) {
				t.Fatalf("want config.Errors, got %v", err)
			}
			msg := err.Error()
			if !strings.Contains(msg, tc.env+"=") || !strings.Contains(msg, `"`+tc.value+`"`) || !strings.Contains(msg, tc.wantInMsg) {
				t.Errorf("message %q must name %s, the value %q and %q", msg, tc.env, tc.value, tc.wantInMsg)
			}
		})
	}
}

func TestAllErrorsAtOnce(t *testing.T) {
	t.Chdir(t.TempDir())
	_, err := load(t, "", map[string]string{"LOKET_HTTP_ADDR": "x", "LOKET_LOG_FORMAT": "xml"})
	var errs Errors
	if !errors.As(err, &errs) || len(errs) != 2 {
		t.Fatalf("want two errors, got %v", err)
	}
}

func TestBrokenConfigFile(t *testing.T) {
	t.Chdir(t.TempDir())
	if err := os.WriteFile("loket.yaml", []byte("http_addr: [unclosed\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := load(t, "", nil); err == nil || !strings.Contains(err.Error(), "loket.yaml") {
		t.Errorf("a broken loket.yaml must be named: %v", err)
	}
	if _, err := load(t, "/does/not/exist.yaml", nil); err == nil || !strings.Contains(err.Error(), "/does/not/exist.yaml") {
		t.Errorf("a missing --config file must be named: %v", err)
	}
}

// TestREADMEDocumentsEveryKey keeps the README's configuration table complete.
func TestREADMEDocumentsEveryKey(t *testing.T) {
	readme, err := os.ReadFile("../../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range Keys {
		if !strings.Contains(string(readme), "`"+k.Env()+"`") {
			t.Errorf("README.md does not document %s", k.Env())
		}
	}
}

// TestBadDataKeys: a malformed data key is refused with the reason, without
// printing the secret.
func TestBadDataKeys(t *testing.T) {
	for value, want := range map[string]string{
		"k1:c2hvcnQ=":                         "has 5 bytes, want 32",
		"K1:" + strings.Repeat("A", 43) + "=": "must be 1-32 of a-z",
		"k1":                                  "want id:base64key",
	} {
		_, err := load(t, "", map[string]string{"LOKET_DATA_KEYS": value})
		if err == nil || !strings.Contains(err.Error(), "LOKET_DATA_KEYS") || !strings.Contains(err.Error(), want) ||
			(len(value) > 10 && strings.Contains(err.Error(), value[3:])) {
			t.Errorf("LOKET_DATA_KEYS=%q: %v", value, err)
		}
	}
}

// TestRetentionPeriodsOfPlatformData: the periods of data that belongs to no
// desk are settings; empty keeps the purge's defaults (0 here); anything but
// a whole number of at least 1 is refused with the key's name.
func TestRetentionPeriodsOfPlatformData(t *testing.T) {
	c, err := load(t, "", map[string]string{"LOKET_RETENTION_ACCOUNT_YEARS": "3", "LOKET_RETENTION_RECORD_YEARS": "10"},
		"--retention-platform-mail-days", "30")
	if err != nil {
		t.Fatal(err)
	}
	if c.RetentionAccountYears != 3 || c.RetentionRecordYears != 10 || c.RetentionPlatformMailDays != 30 || c.RetentionAPIKeyYears != 0 {
		t.Errorf("periods = %d, %d, %d, %d; want 3, 10, 30 and 0 (the default)", c.RetentionAccountYears, c.RetentionRecordYears,
			c.RetentionPlatformMailDays, c.RetentionAPIKeyYears)
	}
	for _, bad := range []string{"0", "-1", "twee", "1.5"} {
		if _, err := load(t, "", map[string]string{"LOKET_RETENTION_API_KEY_YEARS": bad}); err == nil ||
			!strings.Contains(err.Error(), "LOKET_RETENTION_API_KEY_YEARS") {
			t.Errorf("LOKET_RETENTION_API_KEY_YEARS=%s: %v, want refused", bad, err)
		}
	}
}
