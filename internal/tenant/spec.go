package tenant

// This file defines the desk declaration format (tenants/<slug>.yaml), loading
// it from a directory and validating it. It does not touch the database: the
// sync command applies the validated specs. The format is documented for
// operators in tenants/README.md; keep the two in step.

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/mail"
	"net/url"
	"path"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/loket-kinderopvang/loket/internal/geo"
)

// Mode is how a desk organises the allocation of childcare places.
type Mode string

const (
	// ModeCentral: parents register once with the desk and the desk allocates
	// places centrally, following its priority rules.
	ModeCentral Mode = "central"
	// ModeRegistry: the desk keeps a central register of requests; providers
	// look up candidates in the register and make offers themselves.
	ModeRegistry Mode = "registry"
)

// Valid reports whether m is a known mode.
func (m Mode) Valid() bool { return m == ModeCentral || m == ModeRegistry }

// Limits of the numeric settings (inclusive).
const (
	MinMaxPreferences, MaxMaxPreferences             = 1, 10
	MinProviderResponseDays, MaxProviderResponseDays = 1, 60
	MinOfferAcceptanceDays, MaxOfferAcceptanceDays   = 1, 30
)

// DefaultPrimaryColor is the brand colour used when a desk sets none.
const DefaultPrimaryColor = "#1f5f8b"

// SupportedLanguages are the interface languages a desk may offer.
var SupportedLanguages = []string{"nl", "fr", "en"}

// Spec is one desk (Lokaal Loket Kinderopvang) as declared in
// tenants/<slug>.yaml.
type Spec struct {
	// File is the file the spec was read from (e.g. "leuven.yaml"), for error
	// messages. It is not part of the YAML.
	File string `yaml:"-"`
	// Slug identifies the desk: lowercase a-z, 0-9 and dashes, 2..40
	// characters, no leading/trailing dash; equal to the file name without
	// ".yaml".
	Slug string `yaml:"slug"`
	// Name is the Dutch name shown to parents.
	Name string `yaml:"name"`
	// Names holds optional translations of Name, keyed by language (fr, en).
	Names map[string]string `yaml:"names,omitempty"`
	// Municipalities are the NIS codes of the municipalities the desk covers
	// (at least one; each known to package geo; a municipality belongs to
	// exactly one desk).
	Municipalities []geo.NISCode `yaml:"municipalities"`
	// Mode is central or registry.
	Mode Mode `yaml:"mode"`
	// MaxPreferences is how many providers a parent may list (1..10).
	MaxPreferences int `yaml:"max_preferences"`
	// ProviderResponseDays is how long a provider has to answer (1..60).
	ProviderResponseDays int `yaml:"provider_response_days"`
	// OfferAcceptanceDays is how long parents have to accept an offer (1..30).
	OfferAcceptanceDays int `yaml:"offer_acceptance_days"`
	// Languages offered, a subset of nl, fr, en; nl is required; the first is
	// the default.
	Languages []string `yaml:"languages"`
	// Contact is how parents reach the desk.
	Contact Contact `yaml:"contact"`
	// Branding is optional; LoadDir fills in DefaultPrimaryColor.
	Branding Branding `yaml:"branding,omitempty"`
	// Hosts are optional own host names (lowercase DNS names) that serve this
	// desk, e.g. "opvang.leuven.example".
	Hosts []string `yaml:"hosts,omitempty"`
	// Retention is how long the desk keeps personal data (optional; the
	// defaults of docs/privacy.md otherwise).
	Retention Retention `yaml:"retention,omitempty"`
}

// Retention is a desk's retention periods, in years; zero means the default.
// The json tags name its keys where it is stored (tenants.settings).
type Retention struct {
	// RequestYears: requests, children, families and their history, counted
	// from the day the request ended (placed, withdrawn, closed, unanswered).
	RequestYears int `yaml:"request_years,omitempty" json:"request_years,omitempty"`
	// NoteYears: desk notes and care-need descriptions (free text about
	// health or vulnerability), counted from the day the request ended.
	NoteYears int `yaml:"note_years,omitempty" json:"note_years,omitempty"`
	// AccessLogYears: the log of who looked at a family, from the look.
	AccessLogYears int `yaml:"access_log_years,omitempty" json:"access_log_years,omitempty"`
	// MailDays: the desk's mail to families (desk_mail: names, links, the
	// desk's reasons), from the day it was stored, sent or not.
	MailDays int `yaml:"mail_days,omitempty" json:"mail_days,omitempty"`
}

// The default retention periods (docs/privacy.md).
const (
	DefaultRequestYears   = 5
	DefaultNoteYears      = 2
	DefaultAccessLogYears = 2
	MaxRetentionYears     = 30
	DefaultMailDays       = 90
	MinMailDays           = 7
	MaxMailDays           = 3650
)

// OrDefault fills the periods that are not set with the defaults.
func (r Retention) OrDefault() Retention {
	if r.RequestYears == 0 {
		r.RequestYears = DefaultRequestYears
	}
	if r.NoteYears == 0 {
		r.NoteYears = DefaultNoteYears
	}
	if r.AccessLogYears == 0 {
		r.AccessLogYears = DefaultAccessLogYears
	}
	if r.MailDays == 0 {
		r.MailDays = DefaultMailDays
	}
	return r
}

// Contact is how parents reach a desk. The json tags name its keys where it
// is stored (the tenants.settings column).
type Contact struct {
	Email        string `yaml:"email" json:"email"`                                     // required, a plain address
	Phone        string `yaml:"phone,omitempty" json:"phone,omitempty"`                 // optional, e.g. "+32 16 00 00 00"
	Address      string `yaml:"address,omitempty" json:"address,omitempty"`             // optional, free text
	Website      string `yaml:"website,omitempty" json:"website,omitempty"`             // optional, http(s) URL
	OpeningHours string `yaml:"opening_hours,omitempty" json:"opening_hours,omitempty"` // optional, free text
}

// Branding is a desk's look. The json tags name its keys where it is stored.
type Branding struct {
	PrimaryColor string `yaml:"primary_color,omitempty" json:"primary_color,omitempty"` // "#rrggbb"
	LogoURL      string `yaml:"logo_url,omitempty" json:"logo_url,omitempty"`           // http(s) URL or absolute path ("/static/…")
}

// DisplayName returns the desk's name in lang ("nl", "fr", "en"; a regional
// variant such as "fr-BE" counts as "fr"), falling back to the Dutch name.
func (s Spec) DisplayName(lang string) string {
	if n := s.Names[baseLang(lang)]; strings.TrimSpace(n) != "" {
		return n
	}
	return s.Name
}

// DefaultLanguage returns the desk's default language (the first of
// Languages), or "nl".
func (s Spec) DefaultLanguage() string {
	if len(s.Languages) > 0 {
		return s.Languages[0]
	}
	return "nl"
}

// RegionNIS returns the distinct regions (arrondissements) of the desk's
// municipalities, sorted. Unknown municipalities are skipped.
func (s Spec) RegionNIS() []geo.NISCode {
	var out []geo.NISCode
	for _, nis := range s.Municipalities {
		if m, ok := geo.LookupMunicipality(nis); ok && !slices.Contains(out, m.RegionNIS) {
			out = append(out, m.RegionNIS)
		}
	}
	slices.Sort(out)
	return out
}

func baseLang(lang string) string {
	lang = strings.ToLower(strings.TrimSpace(lang))
	if i := strings.IndexAny(lang, "-_"); i >= 0 {
		lang = lang[:i]
	}
	return lang
}

// FieldError is one problem in one tenant file.
type FieldError struct {
	File string // file name, e.g. "leuven.yaml"
	// Line is set for YAML syntax and type errors (1-based); 0 otherwise.
	Line int
	// Field is the YAML path, e.g. "contact.email" or "municipalities[2]";
	// empty for problems with the file as a whole.
	Field   string
	Message string
}

// Error formats the error as "file[:line]: [field: ]message".
func (e FieldError) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		b.WriteString(":")
		b.WriteString(strconv.Itoa(e.Line))
	}
	b.WriteString(": ")
	if e.Field != "" {
		b.WriteString(e.Field)
		b.WriteString(": ")
	}
	b.WriteString(e.Message)
	return b.String()
}

// ValidationErrors is every problem found in a set of tenant files, grouped by
// file in file-name order.
type ValidationErrors []FieldError

// Error prints one line per problem, e.g.
//
//	leuven.yaml: max_preferences: must be between 1 and 10 (got 0)
func (e ValidationErrors) Error() string {
	lines := make([]string, len(e))
	for i, fe := range e {
		lines[i] = fe.Error()
	}
	return strings.Join(lines, "\n")
}

// ErrNoTenantFiles is returned by LoadDir for a directory without tenant files.
var ErrNoTenantFiles = errors.New("no tenant files (*.yaml) found")

// LoadDir reads and validates every *.yaml file at the root of fsys, in
// file-name order. Subdirectories and hidden files (".…") are ignored; a
// *.yml file is reported as an error so that it is not silently skipped.
//
// Each file is decoded strictly (an unknown key is an error) and validated;
// then the files are checked against each other: no two desks may share a
// slug or a host, and a municipality belongs to exactly one desk.
//
// All problems are collected: on failure the error is a ValidationErrors and
// no specs are returned. An empty directory yields ErrNoTenantFiles. The
// returned specs have their free-text fields trimmed and the default branding
// colour filled in.
func LoadDir(fsys fs.FS) ([]Spec, error) {
	entries, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return nil, fmt.Errorf("reading tenant directory: %w", err)
	}
	var (
		errs  ValidationErrors
		specs []Spec
	)
	for _, e := range entries { // fs.ReadDir sorts by name
		name := e.Name()
		if e.IsDir() || strings.HasPrefix(name, ".") {
			continue
		}
		if strings.HasSuffix(name, ".yml") {
			errs = append(errs, FieldError{File: name, Message: "tenant files must end in .yaml (rename to " + strings.TrimSuffix(name, ".yml") + ".yaml)"})
			continue
		}
		if !strings.HasSuffix(name, ".yaml") {
			continue
		}
		data, err := fs.ReadFile(fsys, name)
		if err != nil {
			errs = append(errs, FieldError{File: name, Message: "cannot read file: " + err.Error()})
			continue
		}
		spec, ferrs, ok := parseSpec(name, data)
		errs = append(errs, ferrs...)
		if ok {
			specs = append(specs, spec)
		}
	}
	if len(specs) == 0 && len(errs) == 0 {
		return nil, ErrNoTenantFiles
	}
	errs = append(errs, crossCheck(specs)...)
	if len(errs) > 0 {
		slices.SortStableFunc(errs, func(a, b FieldError) int { return cmp.Compare(a.File, b.File) })
		return nil, errs
	}
	for i := range specs {
		if specs[i].Branding.PrimaryColor == "" {
			specs[i].Branding.PrimaryColor = DefaultPrimaryColor
		}
	}
	return specs, nil
}

// parseSpec decodes and validates one file. ok is false when the file could
// not be decoded at all (it then takes no part in the cross-file checks).
func parseSpec(file string, data []byte) (spec Spec, errs ValidationErrors, ok bool) {
	// Pass 1: the node tree, for syntax errors, duplicate keys and mapping
	// decoder messages (which carry only a line) back to field paths.
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return spec, ValidationErrors{{File: file, Message: "file is empty"}}, false
		}
		return spec, ValidationErrors{syntaxError(file, err)}, false
	}
	var extra yaml.Node
	switch err := dec.Decode(&extra); {
	case errors.Is(err, io.EOF):
	case err != nil:
		return spec, ValidationErrors{syntaxError(file, err)}, false
	default:
		return spec, ValidationErrors{{File: file, Line: extra.Line, Message: "a tenant file holds exactly one YAML document (remove the second \"---\")"}}, false
	}
	if root := doc.Content[0]; root.Kind != yaml.MappingNode {
		return spec, ValidationErrors{{File: file, Line: root.Line, Message: "must be a mapping of fields (slug: …, name: …, …)"}}, false
	}
	refs, dups := indexNodes(file, &doc)
	if len(dups) > 0 {
		// yaml.v3 stops decoding at the first duplicate key; report them all.
		return spec, dups, false
	}
	var badPaths []string
	for _, r := range refs {
		// yaml.v3 silently truncates a float into an int field (3.5 -> 3).
		if r.goType != nil && r.goType.Kind() == reflect.Int && r.value.Kind == yaml.ScalarNode && r.value.ShortTag() == "!!float" {
			errs = append(errs, FieldError{File: file, Line: r.value.Line, Field: r.path, Message: fmt.Sprintf("must be a whole number (got %q)", r.value.Value)})
			badPaths = append(badPaths, r.path)
		}
	}

	// Pass 2: strict decoding into Spec.
	sdec := yaml.NewDecoder(bytes.NewReader(data))
	sdec.KnownFields(true)
	if err := sdec.Decode(&spec); err != nil {
		var te *yaml.TypeError
		if !errors.As(err, &te) {
			return spec, ValidationErrors{syntaxError(file, err)}, false
		}
		for _, msg := range te.Errors {
			fe := typeError(file, msg, refs)
			errs = append(errs, fe)
			if fe.Field != "" {
				badPaths = append(badPaths, fe.Field)
				// yaml.v3 drops a list item it cannot decode, shifting the
				// later ones: the list's other errors would name wrong indexes.
				if i := strings.LastIndexByte(fe.Field, '['); i > 0 && strings.HasSuffix(fe.Field, "]") {
					badPaths = append(badPaths, fe.Field[:i])
				}
			}
		}
	}
	slices.SortStableFunc(errs, func(a, b FieldError) int { return cmp.Compare(a.Line, b.Line) })
	spec.File = file
	spec.normalize()

	// Semantic validation. A field that could not be decoded was already
	// reported; its zero value must not produce a second, confusing error.
	for _, fe := range spec.Validate() {
		if !underAny(fe.Field, badPaths) {
			errs = append(errs, fe)
		}
	}
	return spec, errs, true
}

func underAny(field string, paths []string) bool {
	for _, p := range paths {
		if field == p || strings.HasPrefix(field, p+".") || strings.HasPrefix(field, p+"[") {
			return true
		}
	}
	return false
}

// normalize trims the free-text fields (block scalars end in a newline) and
// lowercases the colour.
func (s *Spec) normalize() {
	s.Name = strings.TrimSpace(s.Name)
	for k, v := range s.Names {
		s.Names[k] = strings.TrimSpace(v)
	}
	c := &s.Contact
	c.Email, c.Phone, c.Address = strings.TrimSpace(c.Email), strings.TrimSpace(c.Phone), strings.TrimSpace(c.Address)
	c.Website, c.OpeningHours = strings.TrimSpace(c.Website), strings.TrimSpace(c.OpeningHours)
	s.Branding.PrimaryColor = strings.ToLower(strings.TrimSpace(s.Branding.PrimaryColor))
	s.Branding.LogoURL = strings.TrimSpace(s.Branding.LogoURL)
}

// ReservedSlugs are the first path segments of the platform's own pages and
// APIs; a desk with one of them as slug would be hidden behind them. A test
// of the app checks the list against every route.
var ReservedSlugs = []string{"aanbieder", "api", "beheer", "regio", "account", "aanmelden", "afmelden",
	"wachtwoord-vergeten", "wachtwoord-herstellen", "healthz", "readyz", "metrics", "static", "werk"}

var (
	slugRE  = regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*$`)
	colorRE = regexp.MustCompile(`^#[0-9a-fA-F]{6}$`)
	labelRE = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)
)

// Validate checks one spec on its own (not against other files) and returns
// its problems, or nil. If File is set, the slug must match it.
func (s Spec) Validate() ValidationErrors {
	v := &validator{file: s.File}

	// slug
	switch {
	case s.Slug == "":
		v.add("slug", "required")
	case len(s.Slug) < 2 || len(s.Slug) > 40:
		v.add("slug", "must be 2 to 40 characters long (got %d)", len(s.Slug))
	case !slugRE.MatchString(s.Slug):
		v.add("slug", "must consist of lowercase letters a-z, digits and single dashes, not starting or ending with a dash (got %q)", s.Slug)
	case slices.Contains(ReservedSlugs, s.Slug):
		v.add("slug", "%q is a path of the platform itself; choose another slug (reserved: %s)", s.Slug, strings.Join(ReservedSlugs, ", "))
	}
	if s.File != "" && s.Slug != "" {
		if want := strings.TrimSuffix(path.Base(s.File), ".yaml"); s.Slug != want {
			v.add("slug", "must equal the file name without .yaml (%q), got %q", want, s.Slug)
		}
	}

	// name, names
	if strings.TrimSpace(s.Name) == "" {
		v.add("name", "required (the Dutch name shown to parents)")
	}
	for _, lang := range sortedKeys(s.Names) {
		field := "names." + lang
		switch {
		case lang == "nl":
			v.add(field, "the Dutch name goes in name, not names")
		case !slices.Contains(SupportedLanguages, lang):
			v.add(field, "unsupported language (use fr or en)")
		case strings.TrimSpace(s.Names[lang]) == "":
			v.add(field, "must not be empty (leave the key out instead)")
		}
	}

	// municipalities
	if len(s.Municipalities) == 0 {
		v.add("municipalities", "at least one municipality (NIS code) is required")
	}
	seenNIS := map[geo.NISCode]int{}
	for i, nis := range s.Municipalities {
		field := fmt.Sprintf("municipalities[%d]", i)
		if !nis.Valid() {
			v.add(field, "%q is not a NIS code (5 digits)", nis)
			continue
		}
		m, ok := geo.LookupMunicipality(nis)
		if !ok {
			v.add(field, "unknown municipality NIS code %s", nis)
			continue
		}
		if j, dup := seenNIS[nis]; dup {
			v.add(field, "%s (%s) is already listed as municipalities[%d]", nis, m.NameNL, j)
			continue
		}
		seenNIS[nis] = i
	}

	// mode
	switch {
	case s.Mode == "":
		v.add("mode", "required: central or registry")
	case !s.Mode.Valid():
		v.add("mode", "must be central or registry (got %q)", s.Mode)
	}

	// numbers
	v.between("max_preferences", s.MaxPreferences, MinMaxPreferences, MaxMaxPreferences)
	v.between("provider_response_days", s.ProviderResponseDays, MinProviderResponseDays, MaxProviderResponseDays)
	v.between("offer_acceptance_days", s.OfferAcceptanceDays, MinOfferAcceptanceDays, MaxOfferAcceptanceDays)
	for _, f := range []struct {
		field string
		years int
	}{{"retention.request_years", s.Retention.RequestYears}, {"retention.note_years", s.Retention.NoteYears},
		{"retention.access_log_years", s.Retention.AccessLogYears}} {
		if f.years != 0 {
			v.between(f.field, f.years, 1, MaxRetentionYears)
		}
	}
	if s.Retention.MailDays != 0 {
		v.between("retention.mail_days", s.Retention.MailDays, MinMailDays, MaxMailDays)
	}
	if r := s.Retention.OrDefault(); r.NoteYears > r.RequestYears {
		v.add("retention.note_years", "must not be longer than retention.request_years (%d)", r.RequestYears)
	}

	// languages
	if len(s.Languages) == 0 {
		v.add("languages", "required: a list of nl, fr, en with nl included; the first is the default (e.g. [nl, fr])")
	} else {
		seen := map[string]bool{}
		for i, lang := range s.Languages {
			field := fmt.Sprintf("languages[%d]", i)
			switch {
			case !slices.Contains(SupportedLanguages, lang):
				v.add(field, "unsupported language %q (use nl, fr or en)", lang)
			case seen[lang]:
				v.add(field, "%s is listed twice", lang)
			}
			seen[lang] = true
		}
		if !seen["nl"] {
			v.add("languages", "must include nl")
		}
	}

	// contact
	c := s.Contact
	switch {
	case strings.TrimSpace(c.Email) == "":
		v.add("contact.email", "required")
	case !validEmail(c.Email):
		v.add("contact.email", "must be a valid e-mail address such as loket@gemeente.example (got %q)", c.Email)
	}
	if c.Phone != "" && !validPhone(c.Phone) {
		v.add("contact.phone", "must be a phone number of digits, spaces and + / . - ( ), such as +32 16 00 00 00 (got %q)", c.Phone)
	}
	if c.Website != "" && !validHTTPURL(c.Website) {
		v.add("contact.website", "must be an http:// or https:// URL (got %q)", c.Website)
	}

	// branding
	if p := s.Branding.PrimaryColor; p != "" && !colorRE.MatchString(p) {
		v.add("branding.primary_color", "must be a colour in the form #rrggbb (got %q)", p)
	}
	if u := s.Branding.LogoURL; u != "" && !validHTTPURL(u) && !(strings.HasPrefix(u, "/") && !strings.HasPrefix(u, "//")) {
		v.add("branding.logo_url", "must be an http:// or https:// URL or an absolute path such as /static/logo.svg (got %q)", u)
	}

	// hosts
	seenHost := map[string]int{}
	for i, h := range s.Hosts {
		field := fmt.Sprintf("hosts[%d]", i)
		if msg := checkHost(h); msg != "" {
			v.add(field, "%s (got %q)", msg, h)
			continue
		}
		if j, dup := seenHost[h]; dup {
			v.add(field, "%s is already listed as hosts[%d]", h, j)
			continue
		}
		seenHost[h] = i
	}

	if len(v.errs) == 0 {
		return nil
	}
	return v.errs
}

type validator struct {
	file string
	errs ValidationErrors
}

func (v *validator) add(field, format string, args ...any) {
	v.errs = append(v.errs, FieldError{File: v.file, Field: field, Message: fmt.Sprintf(format, args...)})
}

func (v *validator) between(field string, got, lo, hi int) {
	if got < lo || got > hi {
		v.add(field, "must be between %d and %d (got %d)", lo, hi, got)
	}
}

// crossCheck reports what no single file can know: shared slugs, hosts and
// municipalities. The problem is reported on the later file (in file-name
// order), naming the earlier one.
func crossCheck(specs []Spec) ValidationErrors {
	var errs ValidationErrors
	slugs := map[string]string{}
	hosts := map[string]string{}
	munis := map[geo.NISCode]string{}
	for _, s := range specs {
		if s.Slug != "" {
			if other, dup := slugs[s.Slug]; dup {
				errs = append(errs, FieldError{File: s.File, Field: "slug", Message: fmt.Sprintf("%q is already used by %s", s.Slug, other)})
			} else {
				slugs[s.Slug] = s.File
			}
		}
		for i, h := range s.Hosts {
			if checkHost(h) != "" {
				continue
			}
			if other, dup := hosts[h]; dup {
				if other != s.File {
					errs = append(errs, FieldError{File: s.File, Field: fmt.Sprintf("hosts[%d]", i), Message: fmt.Sprintf("%s is already used by %s", h, other)})
				}
			} else {
				hosts[h] = s.File
			}
		}
		for i, nis := range s.Municipalities {
			m, ok := geo.LookupMunicipality(nis)
			if !ok {
				continue
			}
			if other, dup := munis[nis]; dup {
				if other != s.File {
					errs = append(errs, FieldError{File: s.File, Field: fmt.Sprintf("municipalities[%d]", i),
						Message: fmt.Sprintf("%s (%s) is already covered by %s; a municipality belongs to exactly one desk", nis, m.NameNL, other)})
				}
			} else {
				munis[nis] = s.File
			}
		}
	}
	return errs
}

func validEmail(s string) bool {
	a, err := mail.ParseAddress(s)
	if err != nil || a.Name != "" || a.Address != s || strings.ContainsAny(s, " \t<>\"") {
		return false
	}
	at := strings.LastIndexByte(s, '@')
	return at > 0 && checkHost(strings.ToLower(s[at+1:])) == ""
}

func validPhone(s string) bool {
	digits := 0
	for i, r := range s {
		switch {
		case r >= '0' && r <= '9':
			digits++
		case r == '+' && i == 0:
		case strings.ContainsRune(" /.-()", r):
		default:
			return false
		}
	}
	return digits >= 6 && digits <= 15
}

func validHTTPURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" && u.User == nil && !strings.ContainsAny(s, " \t")
}

// checkHost returns why h is not an acceptable host name, or "".
func checkHost(h string) string {
	switch {
	case h == "":
		return "must not be empty"
	case strings.Contains(h, "://") || strings.ContainsAny(h, "/:?#@ "):
		return "must be a bare host name, without scheme, port or path"
	case h != strings.ToLower(h):
		return "must be lowercase"
	case len(h) > 253:
		return "is longer than 253 characters"
	}
	labels := strings.Split(h, ".")
	if len(labels) < 2 {
		return "must be a fully qualified host name such as opvang.gemeente.example"
	}
	for _, l := range labels {
		if !labelRE.MatchString(l) {
			return "must be a DNS name: labels of a-z, 0-9 and inner dashes, separated by single dots"
		}
	}
	if strings.Trim(labels[len(labels)-1], "0123456789") == "" {
		return "must be a host name, not an IP address"
	}
	return ""
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// --- mapping yaml.v3 errors to files, lines and fields ---

// nodeRef ties a YAML path to the nodes it came from and the Go type it
// decodes into (nil where the path is not part of Spec).
type nodeRef struct {
	path       string
	key, value *yaml.Node // key is nil for list items and the document root
	goType     reflect.Type
}

// indexNodes lists every node of the document with its path, and reports
// duplicate mapping keys.
func indexNodes(file string, doc *yaml.Node) (refs []nodeRef, dups ValidationErrors) {
	var walk func(n *yaml.Node, p string, t reflect.Type)
	walk = func(n *yaml.Node, p string, t reflect.Type) {
		switch n.Kind {
		case yaml.MappingNode:
			first := map[string]*yaml.Node{}
			for i := 0; i+1 < len(n.Content); i += 2 {
				k, v := n.Content[i], n.Content[i+1]
				kp := k.Value
				if p != "" {
					kp = p + "." + k.Value
				}
				if f, dup := first[k.Value]; dup {
					dups = append(dups, FieldError{File: file, Line: k.Line, Field: kp, Message: fmt.Sprintf("duplicate key (first set on line %d)", f.Line)})
				} else {
					first[k.Value] = k
				}
				vt := memberType(t, k.Value)
				refs = append(refs, nodeRef{path: kp, key: k, value: v, goType: vt})
				walk(v, kp, vt)
			}
		case yaml.SequenceNode:
			for i, v := range n.Content {
				ip := fmt.Sprintf("%s[%d]", p, i)
				var et reflect.Type
				if t != nil && t.Kind() == reflect.Slice {
					et = t.Elem()
				}
				refs = append(refs, nodeRef{path: ip, value: v, goType: et})
				walk(v, ip, et)
			}
		}
	}
	root := doc
	if doc.Kind == yaml.DocumentNode && len(doc.Content) > 0 {
		root = doc.Content[0]
	}
	specType := reflect.TypeFor[Spec]()
	refs = append(refs, nodeRef{value: root, goType: specType})
	walk(root, "", specType)
	return refs, dups
}

// memberType is the Go type that key of a mapping decoded into t decodes
// into, or nil.
func memberType(t reflect.Type, key string) reflect.Type {
	switch {
	case t == nil:
		return nil
	case t.Kind() == reflect.Map:
		return t.Elem()
	case t.Kind() == reflect.Struct:
		for i := range t.NumField() {
			if name, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ","); name == key {
				return t.Field(i).Type
			}
		}
	}
	return nil
}

var (
	yamlLineRE  = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)
	termLineRE  = regexp.MustCompile(`^line (\d+): (.*)$`)
	notFoundRE  = regexp.MustCompile(`^field (.+) not found in type (\S+)$`)
	unmarshalRE = regexp.MustCompile("^cannot unmarshal (!!\\w+)(?: `(.*)`)? into (.+)$")
	// yaml.v3 reports these parser (not scanner) errors with a 0-based line.
	parserErrMsgs = []string{
		"did not find expected key", "did not find expected node content", "did not find expected '-' indicator",
		"did not find expected <document start>", "did not find expected <stream-start>",
		"did not find expected ',' or ']'", "did not find expected ',' or '}'",
		"found duplicate %TAG directive", "found duplicate %YAML directive",
		"found incompatible YAML document", "found undefined tag handle",
	}
)

// syntaxError turns a yaml.v3 parse error into a FieldError with a 1-based
// line. yaml.v3 omits the line for errors on the first line and reports
// parser (as opposed to scanner) errors with a 0-based line; both are
// corrected here. The line is yaml's best guess: for an unclosed construct it
// may point to where the construct starts.
func syntaxError(file string, err error) FieldError {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	line := 1
	if m := yamlLineRE.FindStringSubmatch(err.Error()); m != nil {
		line, _ = strconv.Atoi(m[1])
		msg = m[2]
		if slices.Contains(parserErrMsgs, msg) {
			line++
		}
	}
	return FieldError{File: file, Line: line, Message: "invalid YAML: " + msg}
}

// typeError turns one message of a *yaml.TypeError into a FieldError, finding
// the field path from the line and value the message names.
func typeError(file, msg string, refs []nodeRef) FieldError {
	fe := FieldError{File: file, Message: msg}
	m := termLineRE.FindStringSubmatch(msg)
	if m == nil {
		return fe
	}
	fe.Line, _ = strconv.Atoi(m[1])
	fe.Message = m[2]

	if nf := notFoundRE.FindStringSubmatch(m[2]); nf != nil {
		for _, r := range refs {
			if r.key != nil && r.key.Line == fe.Line && r.key.Value == nf[1] {
				fe.Field = r.path
				break
			}
		}
		fe.Message = "unknown field"
		if allowed := knownKeys[nf[2]]; len(allowed) > 0 {
			fe.Message += " (allowed here: " + strings.Join(allowed, ", ") + ")"
		}
		return fe
	}

	if um := unmarshalRE.FindStringSubmatch(m[2]); um != nil {
		tag, shown, into := um[1], strings.TrimSuffix(um[2], "..."), um[3]
		want := map[string]yaml.Kind{"!!seq": yaml.SequenceNode, "!!map": yaml.MappingNode}[tag]
		if want == 0 {
			want = yaml.ScalarNode
		}
		// Find the node: on that line, of that kind, starting with the value
		// shown, and preferably decoding into the type named (a list and its
		// first item can start on the same line).
		var node *yaml.Node
		for _, sameType := range []bool{true, false} {
			for _, r := range refs {
				if r.value.Line == fe.Line && r.value.Kind == want && (want != yaml.ScalarNode || strings.HasPrefix(r.value.Value, shown)) &&
					(!sameType || (r.goType != nil && r.goType.String() == into)) {
					fe.Field, node = r.path, r.value
					break
				}
			}
			if node != nil {
				break
			}
		}
		var got string
		switch {
		case want == yaml.SequenceNode:
			got = "a list"
		case want == yaml.MappingNode:
			got = "a mapping"
		case node != nil:
			got = strconv.Quote(node.Value)
		default:
			got = strconv.Quote(um[2])
		}
		fe.Message = fmt.Sprintf("must be %s (got %s)", describeType(into), got)
		return fe
	}
	return fe
}

func describeType(goType string) string {
	switch {
	case strings.HasPrefix(goType, "int"), strings.HasPrefix(goType, "uint"):
		return "a whole number"
	case strings.HasPrefix(goType, "[]"):
		return "a list"
	case strings.HasPrefix(goType, "map["):
		return "a mapping of language code to text"
	case knownKeys[goType] != nil:
		return "a mapping with the keys " + strings.Join(knownKeys[goType], ", ")
	default:
		return "a single value"
	}
}

// knownKeys maps the Go type names yaml.v3 uses in its messages to the YAML
// keys allowed in that mapping.
var knownKeys = func() map[string][]string {
	out := map[string][]string{}
	for _, v := range []any{Spec{}, Contact{}, Branding{}} {
		t := reflect.TypeOf(v)
		var keys []string
		for i := range t.NumField() {
			name, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ",")
			if name != "" && name != "-" {
				keys = append(keys, name)
			}
		}
		out[t.String()] = keys
	}
	return out
}()
