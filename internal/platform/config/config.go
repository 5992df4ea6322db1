// Package config reads Loket's settings with viper. Precedence, lowest first:
// built-in defaults < loket.yaml (optional) < LOKET_* environment < command-line flags.
package config

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/mail"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"
	"github.com/spf13/viper"

	"github.com/loket-kinderopvang/loket/internal/platform/sealed"
)

// Key describes one setting: its viper key, flag, default and meaning. The
// README's configuration table is checked against this list by a test.
type Key struct {
	Name    string // viper key, also the flag name with '_' → '-'
	Default any
	Help    string
}

// Env is the environment variable that sets the key.
func (k Key) Env() string { return "LOKET_" + strings.ToUpper(k.Name) }

// Flag is the command-line flag that sets the key.
func (k Key) Flag() string { return strings.ReplaceAll(k.Name, "_", "-") }

// Keys lists every setting Loket reads.
var Keys = []Key{
	{"http_addr", "127.0.0.1:8080", "address the HTTP server listens on (host:port); the default is this machine only: set :8080 to listen on every interface (the Docker image and the Helm chart do)"},
	{"metrics_addr", "127.0.0.1:9090", "address of the separate listener that serves /metrics (host:port); empty turns it off. Keep it off the public network: the figures count requests per desk"},
	{"metrics_token", "", "if set, the main listener also serves /metrics to requests with the header Authorization: Bearer <token>; empty serves no /metrics there"},
	{"data_dir", "./data", "directory of the embedded SQLite database file"},
	{"database_url", "", "PostgreSQL URL (postgres://…); empty uses the embedded SQLite file"},
	{"database_owner_url", "", "PostgreSQL URL of the schema owner, used for migrations; empty uses database_url"},
	{"database_app_role", "loket_app", "PostgreSQL role the server switches to after connecting, so row-level security applies; empty keeps the login role"},
	{"database_pooler", "auto", "connection pooler in front of PostgreSQL: none, session, transaction (PgBouncer's pool_mode = transaction: every statement then runs in a transaction that sets the role, without prepared statements) or auto (transaction when the server's port differs from the URL's)"},
	{"database_read_url", "", "PostgreSQL URL of a hot standby of database_url: public search and location pages, reports and exports read there, waiting briefly for it to replay the person's own last change and otherwise reading from the primary; empty reads everything from database_url"},
	{"redis_url", "", "Redis URL: redis://host:6379/0 for one server, redis://host1:7000?addr=host2:7001&addr=host3:7002 for a Redis Cluster, redis://sentinel1:26379?addr=sentinel2:26379&master_name=NAME for Sentinel (rediss:// for TLS); empty uses the in-process cache"},
	{"redis_prefix", "loket:", "prefix of every Redis key and channel"},
	{"demo", "auto", "seed the demo desks, catalogue and accounts: true, false or auto (the desks and catalogue on the embedded store; the demo accounts, whose password is published, only when http_addr is loopback as well)"},
	{"tenants_dir", "", "directory with one YAML file per desk; empty uses the demo desks built into the binary"},
	{"migrate_on_start", true, "serve applies pending migrations at start"},
	{"log_format", "text", "log format: text or json"},
	{"log_level", "info", "log level: debug, info, warn or error"},
	{"shutdown_timeout", "20s", "how long in-flight requests may take to finish after SIGTERM"},
	{"public_url", "", "URL at which users reach Loket, used in links and mails; empty derives it from http_addr"},
	{"smtp_url", "", "SMTP server for mail (smtp://user:pass@host:587 or smtps://…:465): mail is stored in the database outbox and relayed from there; empty keeps it in the outbox"},
	{"mail_from", "Loket Kinderopvang <noreply@loket.example>", "sender address of Loket's mail"},
	{"session_secure", "auto", "mark session and CSRF cookies Secure: true, false or auto (true when public_url is https)"},
	{"trusted_proxies", "", "comma-separated IPs or CIDRs of reverse proxies whose X-Forwarded-For is trusted; empty trusts none"},
	{"otel_endpoint", "", "OTLP/HTTP endpoint for traces (http://otel-collector:4318); empty turns tracing off"},
	{"webhooks_allow_private", "false", "let providers' webhook endpoints be on loopback, link-local and private networks (only for a provider system on the operator's own network, and tests): otherwise such URLs are refused at registration and at every connection"},
	{"retention_platform_mail_days", "", "days Loket keeps mail that belongs to no desk (sign-in links, invitations, notices to providers); empty: 90. The periods of a desk's own data are in its YAML (retention:)"},
	{"retention_account_years", "", "years after an account was disabled before it is anonymised; empty: 1"},
	{"retention_api_key_years", "", "years after a provider's API key was revoked before it is deleted; empty: 1"},
	{"retention_record_years", "", "years after a closure or a sharing agreement between desks ended before it is deleted; empty: 5"},
	{"map_tiles_url", "https://tile.openstreetmap.org/{z}/{x}/{y}.png", "tile URL template ({z}/{x}/{y}) of the map shown with JavaScript on the search and location pages (https; the page's CSP allows exactly its host); empty shows only the drawn map"},
	{"data_keys", "", "keys that encrypt the free text staff write about families in the database (notes, care-need descriptions, reasons): id:base64(32 bytes), comma-separated, the current key first and older keys after it (kept to read old values until loket keys rotate has run); required with database_url; empty on the embedded store keeps a random key in data_dir/data.key"},
	{"hash_key", "", "secret (at least 32 characters) for keyed hashes of national register numbers and signed status links; empty keeps a random key in data_dir/hash.key"},
}

// Config is the validated configuration.
type Config struct {
	HTTPAddr         string
	MetricsAddr      string
	MetricsToken     string
	DataDir          string
	DatabaseURL      string
	DatabaseOwnerURL string
	DatabaseAppRole  string
	DatabasePooler   string
	DatabaseReadURL  string
	RedisURL         string
	RedisPrefix      string
	Demo             bool
	// DemoAccounts: seed the demo accounts (published password, code-app
	// secrets and API key). Only when demo was asked for explicitly, or on
	// the embedded store listening on loopback only.
	DemoAccounts    bool
	TenantsDir      string
	MigrateOnStart  bool
	LogFormat       string
	LogLevel        slog.Level
	ShutdownTimeout time.Duration
	PublicURL       string
	SMTPURL         string
	MailFrom        string
	SessionSecure   bool
	TrustedProxies  []string
	HashKey         string
	// DataKeys seal sensitive free text at rest (see internal/platform/sealed).
	DataKeys     string
	OTelEndpoint string
	MapTilesURL  string
	// WebhooksAllowPrivate lets webhook endpoints reach private networks.
	WebhooksAllowPrivate bool
	// Retention periods of platform data; 0 keeps the retention package's default.
	RetentionPlatformMailDays, RetentionAccountYears, RetentionAPIKeyYears, RetentionRecordYears int
}

// Embedded reports whether Loket runs on its SQLite file.
func (c Config) Embedded() bool { return c.DatabaseURL == "" }

// SQLitePath is the database file of the embedded store.
func (c Config) SQLitePath() string { return filepath.Join(c.DataDir, "loket.db") }

// OwnerURL is the URL migrations connect with.
func (c Config) OwnerURL() string {
	if c.DatabaseOwnerURL != "" {
		return c.DatabaseOwnerURL
	}
	return c.DatabaseURL
}

// New returns a viper instance with every key's default and LOKET_* binding.
func New() *viper.Viper {
	v := viper.New()
	v.SetEnvPrefix("LOKET")
	v.SetEnvKeyReplacer(strings.NewReplacer("-", "_"))
	for _, k := range Keys {
		v.SetDefault(k.Name, k.Default)
		// AutomaticEnv alone does not reach keys viper has not seen; bind each.
		_ = v.BindEnv(k.Name, k.Env())
	}
	return v
}

// AddFlags registers one flag per key on fs and binds them to v. Flags win
// over every other source, but only when given.
func AddFlags(v *viper.Viper, fs *pflag.FlagSet) {
	fs.String("config", "", "configuration file (default: ./loket.yaml if present)")
	for _, k := range Keys {
		help := fmt.Sprintf("%s (env %s)", k.Help, k.Env())
		switch d := k.Default.(type) {
		case bool:
			fs.Bool(k.Flag(), d, help)
		default:
			fs.String(k.Flag(), fmt.Sprint(d), help)
		}
		_ = v.BindPFlag(k.Name, fs.Lookup(k.Flag()))
	}
}

// Load reads the optional file and validates everything. configFile may be
// empty: then ./loket.yaml is read when it exists.
func Load(v *viper.Viper, configFile string) (Config, error) {
	if configFile != "" {
		v.SetConfigFile(configFile)
		if err := v.ReadInConfig(); err != nil {
			return Config{}, fmt.Errorf("config: read %s: %w", configFile, err)
		}
	} else if _, err := os.Stat("loket.yaml"); err == nil {
		// Named explicitly: viper's name search would also pick up a file
		// called just "loket", such as the binary built in the repo root.
		v.SetConfigFile("loket.yaml")
		if err := v.ReadInConfig(); err != nil {
			return Config{}, fmt.Errorf("config: read loket.yaml: %w", err)
		}
	}
	return parse(v)
}

// FieldError names the setting and value that is wrong.
type FieldError struct {
	Key, Value, Reason string
}

func (e FieldError) Error() string {
	return fmt.Sprintf("configuration: %s=%q: %s", "LOKET_"+strings.ToUpper(e.Key), e.Value, e.Reason)
}

// Errors is every wrong setting at once.
type Errors []FieldError

func (es Errors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

func parse(v *viper.Viper) (Config, error) {
	var errs Errors
	bad := func(key, reason string) {
		errs = append(errs, FieldError{Key: key, Value: v.GetString(key), Reason: reason})
	}
	c := Config{
		HTTPAddr:         strings.TrimSpace(v.GetString("http_addr")),
		MetricsAddr:      strings.TrimSpace(v.GetString("metrics_addr")),
		MetricsToken:     v.GetString("metrics_token"),
		DataDir:          v.GetString("data_dir"),
		DatabaseURL:      strings.TrimSpace(v.GetString("database_url")),
		DatabaseOwnerURL: strings.TrimSpace(v.GetString("database_owner_url")),
		DatabaseAppRole:  strings.TrimSpace(v.GetString("database_app_role")),
		DatabasePooler:   strings.ToLower(strings.TrimSpace(v.GetString("database_pooler"))),
		DatabaseReadURL:  strings.TrimSpace(v.GetString("database_read_url")),
		RedisURL:         strings.TrimSpace(v.GetString("redis_url")),
		RedisPrefix:      v.GetString("redis_prefix"),
		TenantsDir:       v.GetString("tenants_dir"),
		LogFormat:        strings.ToLower(v.GetString("log_format")),
		PublicURL:        strings.TrimRight(v.GetString("public_url"), "/"),
	}
	if err := checkAddr(c.HTTPAddr); err != nil {
		bad("http_addr", err.Error())
	}
	if c.MetricsAddr != "" {
		if err := checkAddr(c.MetricsAddr); err != nil {
			bad("metrics_addr", err.Error())
		} else if c.MetricsAddr == c.HTTPAddr && !strings.HasSuffix(c.HTTPAddr, ":0") {
			bad("metrics_addr", "must differ from LOKET_HTTP_ADDR")
		}
	}
	if c.MetricsToken != "" && len(c.MetricsToken) < 16 {
		errs = append(errs, FieldError{Key: "metrics_token", Value: "(hidden: a secret)", Reason: "must be at least 16 characters"})
	}
	if c.DataDir == "" {
		bad("data_dir", "must not be empty")
	}
	for _, key := range []string{"database_url", "database_owner_url", "database_read_url"} {
		if raw := v.GetString(key); raw != "" {
			if err := checkURL(raw, "postgres", "postgresql"); err != nil {
				bad(key, err.Error())
			}
		}
	}
	if c.DatabaseOwnerURL != "" && c.DatabaseURL == "" {
		bad("database_owner_url", "is only used together with LOKET_DATABASE_URL")
	}
	if c.DatabaseReadURL != "" && c.DatabaseURL == "" {
		bad("database_read_url", "is only used together with LOKET_DATABASE_URL")
	}
	if c.DatabaseAppRole != "" && !isIdentifier(c.DatabaseAppRole) {
		bad("database_app_role", "must be a plain role name (letters, digits, _)")
	}
	switch c.DatabasePooler {
	case "", "auto", "none", "session", "transaction":
	default:
		bad("database_pooler", "must be none, session, transaction or auto")
	}
	if c.RedisURL != "" {
		if err := checkURL(c.RedisURL, "redis", "rediss", "unix"); err != nil {
			bad("redis_url", err.Error())
		}
	}
	switch demo := strings.ToLower(strings.TrimSpace(v.GetString("demo"))); demo {
	case "auto", "":
		// Demo accounts have a published password: on their own only
		// where nobody else can reach the server.
		c.Demo = c.DatabaseURL == ""
		c.DemoAccounts = c.Demo && IsLoopback(c.HTTPAddr)
	default:
		b, err := strconv.ParseBool(demo)
		if err != nil {
			bad("demo", "must be true, false or auto")
		}
		c.Demo, c.DemoAccounts = b, b
	}
	if b, err := strconv.ParseBool(v.GetString("migrate_on_start")); err != nil {
		bad("migrate_on_start", "must be true or false")
	} else {
		c.MigrateOnStart = b
	}
	if c.LogFormat != "text" && c.LogFormat != "json" {
		bad("log_format", "must be text or json")
	}
	if err := c.LogLevel.UnmarshalText([]byte(v.GetString("log_level"))); err != nil {
		bad("log_level", "must be debug, info, warn or error")
	}
	if d, err := time.ParseDuration(v.GetString("shutdown_timeout")); err != nil || d <= 0 {
		bad("shutdown_timeout", "must be a positive duration such as 20s")
	} else {
		c.ShutdownTimeout = d
	}
	if c.PublicURL != "" {
		if err := checkURL(c.PublicURL, "http", "https"); err != nil {
			bad("public_url", err.Error())
		}
	}
	if raw := strings.TrimSpace(v.GetString("webhooks_allow_private")); raw != "" {
		b, err := strconv.ParseBool(raw)
		if err != nil {
			bad("webhooks_allow_private", "must be true or false")
		}
		c.WebhooksAllowPrivate = b
	}
	for key, dst := range map[string]*int{"retention_platform_mail_days": &c.RetentionPlatformMailDays,
		"retention_account_years": &c.RetentionAccountYears, "retention_api_key_years": &c.RetentionAPIKeyYears,
		"retention_record_years": &c.RetentionRecordYears} {
		if raw := strings.TrimSpace(v.GetString(key)); raw != "" {
			n, err := strconv.Atoi(raw)
			if err != nil || n < 1 {
				bad(key, "must be a whole number of at least 1")
			}
			*dst = n
		}
	}
	c.SMTPURL = strings.TrimSpace(v.GetString("smtp_url"))
	if c.SMTPURL != "" {
		if err := checkURL(c.SMTPURL, "smtp", "smtps"); err != nil {
			errs = append(errs, FieldError{Key: "smtp_url", Value: "(hidden: may hold a password)", Reason: err.Error()})
		}
	}
	c.MailFrom = strings.TrimSpace(v.GetString("mail_from"))
	if a, err := mail.ParseAddress(c.MailFrom); err != nil || a.Address == "" {
		bad("mail_from", "must be an e-mail address, optionally with a name: Loket <noreply@example.be>")
	}
	for _, p := range strings.Split(v.GetString("trusted_proxies"), ",") {
		if p = strings.TrimSpace(p); p == "" {
			continue
		}
		if net.ParseIP(p) == nil {
			if _, _, err := net.ParseCIDR(p); err != nil {
				bad("trusted_proxies", fmt.Sprintf("%q is not an IP address or CIDR range", p))
				continue
			}
		}
		c.TrustedProxies = append(c.TrustedProxies, p)
	}
	if c.OTelEndpoint = strings.TrimSpace(v.GetString("otel_endpoint")); c.OTelEndpoint != "" {
		if u, err := url.Parse(c.OTelEndpoint); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			bad("otel_endpoint", "must be an http:// or https:// URL of an OTLP/HTTP collector")
		}
	}
	if c.MapTilesURL = strings.TrimSpace(v.GetString("map_tiles_url")); c.MapTilesURL != "" {
		if u, err := url.Parse(c.MapTilesURL); err != nil || u.Scheme != "https" || u.Host == "" ||
			!strings.Contains(c.MapTilesURL, "{z}") || !strings.Contains(c.MapTilesURL, "{x}") || !strings.Contains(c.MapTilesURL, "{y}") {
			bad("map_tiles_url", "must be an https:// URL template with {z}, {x} and {y}")
		}
	}
	if c.HashKey = v.GetString("hash_key"); c.HashKey != "" && len(c.HashKey) < 32 {
		errs = append(errs, FieldError{Key: "hash_key", Value: "(hidden: a secret)", Reason: "must be at least 32 characters"})
	}
	if c.DataKeys = strings.TrimSpace(v.GetString("data_keys")); c.DataKeys != "" {
		if _, err := sealed.ParseKeys(c.DataKeys); err != nil {
			errs = append(errs, FieldError{Key: "data_keys", Value: "(hidden: a secret)", Reason: err.Error()})
		}
	}
	secure := strings.ToLower(strings.TrimSpace(v.GetString("session_secure")))
	if len(errs) > 0 {
		return Config{}, errs
	}
	if c.PublicURL == "" {
		host, port, _ := net.SplitHostPort(c.HTTPAddr)
		if host == "" || host == "0.0.0.0" || host == "::" || IsLoopback(c.HTTPAddr) {
			host = "localhost"
		}
		c.PublicURL = "http://" + net.JoinHostPort(host, port)
	}
	switch secure {
	case "auto", "":
		c.SessionSecure = strings.HasPrefix(c.PublicURL, "https://")
	default:
		b, err := strconv.ParseBool(secure)
		if err != nil {
			return Config{}, Errors{{Key: "session_secure", Value: secure, Reason: "must be true, false or auto"}}
		}
		c.SessionSecure = b
	}
	return c, nil
}

// IsLoopback reports whether addr (host:port) listens on this machine only:
// localhost or a loopback IP. An empty host listens on every interface.
func IsLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func checkAddr(addr string) error {
	host, portText, err := net.SplitHostPort(addr)
	if err != nil {
		return errors.New("must be host:port, for example :8080")
	}
	port, err := strconv.Atoi(portText)
	if err != nil || port < 0 || port > 65535 {
		return errors.New("port must be a number from 0 to 65535")
	}
	if strings.ContainsAny(host, " /") {
		return errors.New("host is not a host name or IP address")
	}
	return nil
}

func checkURL(raw string, schemes ...string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return errors.New("is not a valid URL")
	}
	for _, s := range schemes {
		if strings.EqualFold(u.Scheme, s) {
			if u.Scheme != "unix" && u.Host == "" {
				return errors.New("URL has no host")
			}
			return nil
		}
	}
	return fmt.Errorf("URL scheme must be one of %s", strings.Join(schemes, ", "))
}

func isIdentifier(s string) bool {
	for i, r := range s {
		switch {
		case r == '_', r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z':
		case r >= '0' && r <= '9' && i > 0:
		default:
			return false
		}
	}
	return s != ""
}

// MapTilesOrigin is the scheme and host of the map tiles ("https://tile.openstreetmap.org"),
// the one image host the pages' CSP allows; "" without tiles.
func (c Config) MapTilesOrigin() string {
	if c.MapTilesURL == "" {
		return ""
	}
	u, err := url.Parse(c.MapTilesURL)
	if err != nil {
		return ""
	}
	return u.Scheme + "://" + u.Host
}
