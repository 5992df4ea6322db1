package tenant_test

import (
	"errors"
	"flag"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/loket-kinderopvang/loket/internal/geo"
	"github.com/loket-kinderopvang/loket/internal/tenant"
	"github.com/loket-kinderopvang/loket/tenants"
)

var updateSpecGolden = flag.Bool("update-spec-golden", false, "rewrite testdata/broken.golden")

// validLeuven is a complete, valid desk file; the table tests break it one
// rule at a time.
const validLeuven = `slug: leuven
name: Lokaal Loket Kinderopvang Leuven
names:
  fr: Guichet local Louvain
  en: Local Childcare Desk Leuven
municipalities:
  - "24062"
mode: central
max_preferences: 5
provider_response_days: 14
offer_acceptance_days: 7
languages: [nl, fr, en]
contact:
  email: loket@leuven.example
  phone: +32 16 00 00 00
  address: Loketstraat 1, 3000 Leuven
  website: https://opvang.leuven.example
  opening_hours: |
    Maandag tot vrijdag 9-12 uur
branding:
  primary_color: "#B5121B"
  logo_url: /static/tenants/leuven/logo.svg
hosts:
  - opvang.leuven.example
`

// replaceLine replaces the line that starts with prefix (after indentation)
// with repl; an empty repl deletes the line. It fails the test if no line
// matches, so a typo in a test case cannot silently test nothing.
func specEditLine(t *testing.T, text, prefix, repl string) string {
	t.Helper()
	lines := strings.Split(text, "\n")
	for i, l := range lines {
		if strings.HasPrefix(strings.TrimLeft(l, " "), prefix) {
			if repl == "" {
				return strings.Join(slices.Delete(lines, i, i+1), "\n")
			}
			indent := l[:len(l)-len(strings.TrimLeft(l, " "))]
			lines[i] = indent + repl
			return strings.Join(lines, "\n")
		}
	}
	t.Fatalf("no line starting with %q", prefix)
	return ""
}

// lineOf returns the 1-based line number of the first line containing s.
func specLineOf(t *testing.T, text, s string) int {
	t.Helper()
	for i, l := range strings.Split(text, "\n") {
		if strings.Contains(l, s) {
			return i + 1
		}
	}
	t.Fatalf("%q not found", s)
	return 0
}

func loadSpecFile(name, content string) ([]tenant.Spec, error) {
	return tenant.LoadDir(fstest.MapFS{name: {Data: []byte(content)}})
}

func asValidationErrors(t *testing.T, err error) tenant.ValidationErrors {
	t.Helper()
	var verrs tenant.ValidationErrors
	if !errors.As(err, &verrs) {
		t.Fatalf("error %v (%T) is not a ValidationErrors", err, err)
	}
	return verrs
}

func TestDemoTenantsLoad(t *testing.T) {
	specs, err := tenant.LoadDir(tenants.Demo)
	if err != nil {
		t.Fatalf("the shipped demo desks do not validate:\n%v", err)
	}
	var slugs []string
	for _, s := range specs {
		slugs = append(slugs, s.Slug)
		if s.File != s.Slug+".yaml" {
			t.Errorf("%s: File = %q", s.Slug, s.File)
		}
		if s.Languages[0] != "nl" || s.DefaultLanguage() != "nl" {
			t.Errorf("%s: default language = %q, want nl", s.Slug, s.DefaultLanguage())
		}
		if !regexp.MustCompile(`^#[0-9a-f]{6}$`).MatchString(s.Branding.PrimaryColor) {
			t.Errorf("%s: primary colour %q", s.Slug, s.Branding.PrimaryColor)
		}
		if !strings.HasSuffix(s.Contact.Email, ".example") || len(s.Hosts) == 0 {
			t.Errorf("%s: demo desks must use invented .example contacts and have a host (email %q, hosts %v)", s.Slug, s.Contact.Email, s.Hosts)
		}
		for _, h := range s.Hosts {
			if !strings.HasSuffix(h, ".example") {
				t.Errorf("%s: host %q is not an .example name", s.Slug, h)
			}
		}
		if s.MaxPreferences < 3 || s.MaxPreferences > 5 || s.ProviderResponseDays != 14 || s.OfferAcceptanceDays != 7 {
			t.Errorf("%s: settings %d/%d/%d are not the demo's realistic values", s.Slug, s.MaxPreferences, s.ProviderResponseDays, s.OfferAcceptanceDays)
		}
	}
	if want := []string{"geel-laakdal-meerhout", "leuven", "stadsregio-turnhout"}; !slices.Equal(slugs, want) {
		t.Fatalf("slugs = %v, want %v (sorted by file name)", slugs, want)
	}

	glm, leuven, turnhout := specs[0], specs[1], specs[2]
	check := func(s tenant.Spec, mode tenant.Mode, munis ...geo.NISCode) {
		t.Helper()
		if s.Mode != mode {
			t.Errorf("%s: mode = %q, want %q", s.Slug, s.Mode, mode)
		}
		if !slices.Equal(s.Municipalities, munis) {
			t.Errorf("%s: municipalities = %v, want %v", s.Slug, s.Municipalities, munis)
		}
	}
	check(leuven, tenant.ModeCentral, "24062")
	check(glm, tenant.ModeRegistry, "13008", "13053", "13021")
	check(turnhout, tenant.ModeCentral, "13040", "13004", "13031", "13046", "13017", "13019", "13023", "13035", "13002")

	if leuven.Name != "Lokaal Loket Kinderopvang Leuven" || !slices.Contains(leuven.Hosts, "opvang.leuven.example") {
		t.Errorf("leuven: name %q, hosts %v", leuven.Name, leuven.Hosts)
	}
	if leuven.Contact.OpeningHours == "" || strings.HasSuffix(leuven.Contact.OpeningHours, "\n") {
		t.Errorf("leuven: opening hours %q should be set and trimmed", leuven.Contact.OpeningHours)
	}
	if !slices.Equal(leuven.RegionNIS(), []geo.NISCode{"24000"}) || !slices.Equal(turnhout.RegionNIS(), []geo.NISCode{"13000"}) {
		t.Errorf("regions: leuven %v, turnhout %v", leuven.RegionNIS(), turnhout.RegionNIS())
	}

	// The demo desks cover the 13 demo municipalities of the reference data
	// (the ones with neighbourhoods), each exactly once.
	covered := map[geo.NISCode]string{}
	for _, s := range specs {
		for _, nis := range s.Municipalities {
			if other := covered[nis]; other != "" {
				t.Errorf("municipality %s is covered by %s and %s", nis, other, s.Slug)
			}
			covered[nis] = s.Slug
		}
	}
	for _, m := range geo.Municipalities() {
		if (covered[m.NIS] == "") != (len(m.Neighbourhoods) == 0) {
			t.Errorf("municipality %s %s: desk %q, neighbourhoods %v", m.NIS, m.NameNL, covered[m.NIS], m.Neighbourhoods)
		}
	}
	if len(covered) != 13 {
		t.Errorf("the demo desks cover %d municipalities, want 13", len(covered))
	}
}

func TestLoadDirValidFile(t *testing.T) {
	specs, err := loadSpecFile("leuven.yaml", validLeuven)
	if err != nil {
		t.Fatalf("valid file rejected:\n%v", err)
	}
	s := specs[0]
	if s.File != "leuven.yaml" || s.Slug != "leuven" || s.Mode != tenant.ModeCentral || s.MaxPreferences != 5 ||
		s.ProviderResponseDays != 14 || s.OfferAcceptanceDays != 7 || !slices.Equal(s.Languages, []string{"nl", "fr", "en"}) {
		t.Errorf("decoded %+v", s)
	}
	if s.Contact != (tenant.Contact{Email: "loket@leuven.example", Phone: "+32 16 00 00 00", Address: "Loketstraat 1, 3000 Leuven",
		Website: "https://opvang.leuven.example", OpeningHours: "Maandag tot vrijdag 9-12 uur"}) {
		t.Errorf("contact = %+v", s.Contact)
	}
	if s.Branding.PrimaryColor != "#b5121b" {
		t.Errorf("primary colour = %q, want it lowercased", s.Branding.PrimaryColor)
	}

	// Optional parts left out: names, branding, hosts, phone, website; NIS
	// codes may be written as plain numbers.
	minimal := `slug: mini
name: Loket Mini
municipalities: [24062]
mode: registry
max_preferences: 1
provider_response_days: 60
offer_acceptance_days: 30
languages: [fr, nl]
contact:
  email: loket@mini.example
`
	specs, err = loadSpecFile("mini.yaml", minimal)
	if err != nil {
		t.Fatalf("minimal file rejected:\n%v", err)
	}
	s = specs[0]
	if s.Branding.PrimaryColor != tenant.DefaultPrimaryColor {
		t.Errorf("default colour not applied: %q", s.Branding.PrimaryColor)
	}
	if !slices.Equal(s.Municipalities, []geo.NISCode{"24062"}) || s.DefaultLanguage() != "fr" || s.Hosts != nil {
		t.Errorf("minimal decoded %+v", s)
	}
}

func TestLoadDirRejectsOneRuleAtATime(t *testing.T) {
	long := strings.Repeat("a", 41)
	cases := []struct {
		name   string
		file   string            // default leuven.yaml
		edit   map[string]string // line prefix -> replacement ("" deletes)
		append string            // extra lines at the end
		want   []string          // exact error lines; %d is the line of wantAt
		wantAt string
	}{
		// slug
		{name: "slug missing", edit: map[string]string{"slug:": ""}, want: []string{"leuven.yaml: slug: required"}},
		{name: "slug too short", file: "a.yaml", edit: map[string]string{"slug:": "slug: a"},
			want: []string{"a.yaml: slug: must be 2 to 40 characters long (got 1)"}},
		{name: "slug too long", file: long + ".yaml", edit: map[string]string{"slug:": "slug: " + long},
			want: []string{long + ".yaml: slug: must be 2 to 40 characters long (got 41)"}},
		{name: "slug characters", file: "Leu_ven.yaml", edit: map[string]string{"slug:": "slug: Leu_ven"},
			want: []string{`Leu_ven.yaml: slug: must consist of lowercase letters a-z, digits and single dashes, not starting or ending with a dash (got "Leu_ven")`}},
		{name: "slug leading dash", file: "-leuven.yaml", edit: map[string]string{"slug:": "slug: -leuven"},
			want: []string{`-leuven.yaml: slug: must consist of lowercase letters a-z, digits and single dashes, not starting or ending with a dash (got "-leuven")`}},
		{name: "slug reserved", file: "beheer.yaml", edit: map[string]string{"slug:": "slug: beheer"},
			want: []string{`beheer.yaml: slug: "beheer" is a path of the platform itself; choose another slug (reserved: ` +
				strings.Join(tenant.ReservedSlugs, ", ") + ")"}},
		{name: "slug differs from file name", edit: map[string]string{"slug:": "slug: leuven-stad"},
			want: []string{`leuven.yaml: slug: must equal the file name without .yaml ("leuven"), got "leuven-stad"`}},
		// names
		{name: "name missing", edit: map[string]string{"name:": ""}, want: []string{"leuven.yaml: name: required (the Dutch name shown to parents)"}},
		{name: "name blank", edit: map[string]string{"name:": `name: "  "`}, want: []string{"leuven.yaml: name: required (the Dutch name shown to parents)"}},
		{name: "translation language unsupported", edit: map[string]string{"en:": "de: Kinderbetreuung Löwen"},
			want: []string{"leuven.yaml: names.de: unsupported language (use fr or en)"}},
		{name: "dutch in names", edit: map[string]string{"en:": "nl: Loket"}, want: []string{"leuven.yaml: names.nl: the Dutch name goes in name, not names"}},
		{name: "empty translation", edit: map[string]string{"en:": `en: ""`}, want: []string{"leuven.yaml: names.en: must not be empty (leave the key out instead)"}},
		// municipalities
		{name: "municipalities missing", edit: map[string]string{"municipalities:": "", `- "24062"`: ""},
			want: []string{"leuven.yaml: municipalities: at least one municipality (NIS code) is required"}},
		{name: "municipalities empty", edit: map[string]string{"municipalities:": "municipalities: []", `- "24062"`: ""},
			want: []string{"leuven.yaml: municipalities: at least one municipality (NIS code) is required"}},
		{name: "municipality not a NIS code", edit: map[string]string{"municipalities:": `municipalities: ["24062", "13040", "2406"]`, `- "24062"`: ""},
			want: []string{`leuven.yaml: municipalities[2]: "2406" is not a NIS code (5 digits)`}},
		{name: "municipality does not exist", edit: map[string]string{"municipalities:": `municipalities: ["24062", "99999"]`, `- "24062"`: ""},
			want: []string{"leuven.yaml: municipalities[1]: unknown municipality NIS code 99999"}},
		{name: "region code is not a municipality", edit: map[string]string{"municipalities:": `municipalities: ["24000"]`, `- "24062"`: ""},
			want: []string{"leuven.yaml: municipalities[0]: unknown municipality NIS code 24000"}},
		{name: "municipality twice", edit: map[string]string{"municipalities:": `municipalities: ["24062", "13040", "24062"]`, `- "24062"`: ""},
			want: []string{"leuven.yaml: municipalities[2]: 24062 (Leuven) is already listed as municipalities[0]"}},
		// mode
		{name: "mode missing", edit: map[string]string{"mode:": ""}, want: []string{"leuven.yaml: mode: required: central or registry"}},
		{name: "mode unknown", edit: map[string]string{"mode:": "mode: centraal"}, want: []string{`leuven.yaml: mode: must be central or registry (got "centraal")`}},
		// numbers
		{name: "max_preferences missing", edit: map[string]string{"max_preferences:": ""},
			want: []string{"leuven.yaml: max_preferences: must be between 1 and 10 (got 0)"}},
		{name: "max_preferences too high", edit: map[string]string{"max_preferences:": "max_preferences: 11"},
			want: []string{"leuven.yaml: max_preferences: must be between 1 and 10 (got 11)"}},
		{name: "retention too long", append: "retention:\n  request_years: 31\n",
			want: []string{"leuven.yaml: retention.request_years: must be between 1 and 30 (got 31)"}},
		{name: "desk mail kept too briefly", append: "retention:\n  mail_days: 3\n",
			want: []string{"leuven.yaml: retention.mail_days: must be between 7 and 3650 (got 3)"}},
		{name: "notes kept longer than requests", append: "retention:\n  request_years: 3\n  note_years: 4\n",
			want: []string{"leuven.yaml: retention.note_years: must not be longer than retention.request_years (3)"}},
		{name: "provider_response_days too high", edit: map[string]string{"provider_response_days:": "provider_response_days: 61"},
			want: []string{"leuven.yaml: provider_response_days: must be between 1 and 60 (got 61)"}},
		{name: "provider_response_days negative", edit: map[string]string{"provider_response_days:": "provider_response_days: -1"},
			want: []string{"leuven.yaml: provider_response_days: must be between 1 and 60 (got -1)"}},
		{name: "offer_acceptance_days too high", edit: map[string]string{"offer_acceptance_days:": "offer_acceptance_days: 31"},
			want: []string{"leuven.yaml: offer_acceptance_days: must be between 1 and 30 (got 31)"}},
		{name: "offer_acceptance_days zero", edit: map[string]string{"offer_acceptance_days:": "offer_acceptance_days: 0"},
			want: []string{"leuven.yaml: offer_acceptance_days: must be between 1 and 30 (got 0)"}},
		// languages
		{name: "languages missing", edit: map[string]string{"languages:": ""},
			want: []string{"leuven.yaml: languages: required: a list of nl, fr, en with nl included; the first is the default (e.g. [nl, fr])"}},
		{name: "languages without nl", edit: map[string]string{"languages:": "languages: [fr, en]"}, want: []string{"leuven.yaml: languages: must include nl"}},
		{name: "language unsupported", edit: map[string]string{"languages:": "languages: [nl, de]"},
			want: []string{`leuven.yaml: languages[1]: unsupported language "de" (use nl, fr or en)`}},
		{name: "language uppercase", edit: map[string]string{"languages:": "languages: [NL]"},
			want: []string{`leuven.yaml: languages[0]: unsupported language "NL" (use nl, fr or en)`, "leuven.yaml: languages: must include nl"}},
		{name: "language twice", edit: map[string]string{"languages:": "languages: [nl, fr, nl]"}, want: []string{"leuven.yaml: languages[2]: nl is listed twice"}},
		// contact
		{name: "email missing", edit: map[string]string{"email:": ""}, want: []string{"leuven.yaml: contact.email: required"}},
		{name: "email invalid", edit: map[string]string{"email:": "email: loket(at)leuven.example"},
			want: []string{`leuven.yaml: contact.email: must be a valid e-mail address such as loket@gemeente.example (got "loket(at)leuven.example")`}},
		{name: "email with display name", edit: map[string]string{"email:": `email: "Loket <loket@leuven.example>"`},
			want: []string{`leuven.yaml: contact.email: must be a valid e-mail address such as loket@gemeente.example (got "Loket <loket@leuven.example>")`}},
		{name: "email without domain dot", edit: map[string]string{"email:": "email: loket@localhost"},
			want: []string{`leuven.yaml: contact.email: must be a valid e-mail address such as loket@gemeente.example (got "loket@localhost")`}},
		{name: "phone invalid", edit: map[string]string{"phone:": "phone: bel ons"},
			want: []string{`leuven.yaml: contact.phone: must be a phone number of digits, spaces and + / . - ( ), such as +32 16 00 00 00 (got "bel ons")`}},
		{name: "website not http", edit: map[string]string{"website:": "website: ftp://opvang.leuven.example"},
			want: []string{`leuven.yaml: contact.website: must be an http:// or https:// URL (got "ftp://opvang.leuven.example")`}},
		{name: "website without scheme", edit: map[string]string{"website:": "website: opvang.leuven.example"},
			want: []string{`leuven.yaml: contact.website: must be an http:// or https:// URL (got "opvang.leuven.example")`}},
		// branding
		{name: "colour by name", edit: map[string]string{"primary_color:": "primary_color: red"},
			want: []string{`leuven.yaml: branding.primary_color: must be a colour in the form #rrggbb (got "red")`}},
		{name: "colour too short", edit: map[string]string{"primary_color:": `primary_color: "#b5121"`},
			want: []string{`leuven.yaml: branding.primary_color: must be a colour in the form #rrggbb (got "#b5121")`}},
		{name: "logo relative", edit: map[string]string{"logo_url:": "logo_url: logo.svg"},
			want: []string{`leuven.yaml: branding.logo_url: must be an http:// or https:// URL or an absolute path such as /static/logo.svg (got "logo.svg")`}},
		{name: "logo protocol-relative", edit: map[string]string{"logo_url:": "logo_url: //cdn.example/logo.svg"},
			want: []string{`leuven.yaml: branding.logo_url: must be an http:// or https:// URL or an absolute path such as /static/logo.svg (got "//cdn.example/logo.svg")`}},
		// hosts
		{name: "host uppercase", edit: map[string]string{"- opvang.": "- Opvang.Leuven.example"},
			want: []string{`leuven.yaml: hosts[0]: must be lowercase (got "Opvang.Leuven.example")`}},
		{name: "host with scheme", edit: map[string]string{"- opvang.": "- https://opvang.leuven.example"},
			want: []string{`leuven.yaml: hosts[0]: must be a bare host name, without scheme, port or path (got "https://opvang.leuven.example")`}},
		{name: "host with port", edit: map[string]string{"- opvang.": "- opvang.leuven.example:8080"},
			want: []string{`leuven.yaml: hosts[0]: must be a bare host name, without scheme, port or path (got "opvang.leuven.example:8080")`}},
		{name: "host single label", edit: map[string]string{"- opvang.": "- localhost"},
			want: []string{`leuven.yaml: hosts[0]: must be a fully qualified host name such as opvang.gemeente.example (got "localhost")`}},
		{name: "host trailing dot", edit: map[string]string{"- opvang.": "- opvang.leuven.example."},
			want: []string{`leuven.yaml: hosts[0]: must be a DNS name: labels of a-z, 0-9 and inner dashes, separated by single dots (got "opvang.leuven.example.")`}},
		{name: "host underscore", edit: map[string]string{"- opvang.": "- opvang_leuven.example"},
			want: []string{`leuven.yaml: hosts[0]: must be a DNS name: labels of a-z, 0-9 and inner dashes, separated by single dots (got "opvang_leuven.example")`}},
		{name: "host IP address", edit: map[string]string{"- opvang.": "- 10.0.0.1"},
			want: []string{`leuven.yaml: hosts[0]: must be a host name, not an IP address (got "10.0.0.1")`}},
		{name: "host twice", append: "  - opvang.leuven.example\n",
			want: []string{"leuven.yaml: hosts[1]: opvang.leuven.example is already listed as hosts[0]"}},
		// decoding: unknown keys, wrong types, syntax
		{name: "unknown top-level key", append: "colour: red\n", wantAt: "colour:",
			want: []string{"leuven.yaml:%d: colour: unknown field (allowed here: slug, name, names, municipalities, mode, max_preferences, provider_response_days, offer_acceptance_days, languages, contact, branding, hosts, retention)"}},
		{name: "unknown nested key", edit: map[string]string{"phone:": "telefoon: +32 16 00 00 00"}, wantAt: "telefoon:",
			want: []string{"leuven.yaml:%d: contact.telefoon: unknown field (allowed here: email, phone, address, website, opening_hours)"}},
		{name: "number expected", edit: map[string]string{"max_preferences:": "max_preferences: three"}, wantAt: "max_preferences:",
			want: []string{`leuven.yaml:%d: max_preferences: must be a whole number (got "three")`}},
		{name: "fraction for number", edit: map[string]string{"max_preferences:": "max_preferences: 3.5"}, wantAt: "max_preferences:",
			want: []string{`leuven.yaml:%d: max_preferences: must be a whole number (got "3.5")`}},
		{name: "list item of wrong type", edit: map[string]string{`- "24062"`: `- ["24062"]`}, wantAt: `- ["24062"]`,
			want: []string{`leuven.yaml:%d: municipalities[0]: must be a single value (got a list)`}},
		{name: "list item of wrong type among others", edit: map[string]string{"municipalities:": `municipalities: ["24062", ["13040"], "99999"]`, `- "24062"`: ""},
			wantAt: "municipalities:", // not "municipalities[1]: unknown ... 99999": yaml.v3 dropped the bad item
			want:   []string{`leuven.yaml:%d: municipalities[1]: must be a single value (got a list)`}},
		{name: "list expected", edit: map[string]string{"municipalities:": "municipalities: 24062", `- "24062"`: ""}, wantAt: "municipalities:",
			want: []string{`leuven.yaml:%d: municipalities: must be a list (got "24062")`}},
		{name: "mapping expected", edit: map[string]string{"branding:": "branding: blue", "primary_color:": "", "logo_url:": ""}, wantAt: "branding:",
			want: []string{`leuven.yaml:%d: branding: must be a mapping with the keys primary_color, logo_url (got "blue")`}},
		{name: "scalar expected", edit: map[string]string{"mode:": "mode: [central]"}, wantAt: "mode:",
			want: []string{`leuven.yaml:%d: mode: must be a single value (got a list)`}},
		{name: "duplicate key", append: "mode: registry\n", wantAt: "mode: registry",
			want: []string{"leuven.yaml:%d: mode: duplicate key (first set on line 8)"}},
		{name: "duplicate nested key", edit: map[string]string{"phone:": "email: info@leuven.example"}, wantAt: "info@",
			want: []string{"leuven.yaml:%d: contact.email: duplicate key (first set on line 14)"}},
		{name: "bad indentation", edit: map[string]string{"website:": " website: https://opvang.leuven.example"}, wantAt: "website:",
			want: []string{"leuven.yaml:%d: invalid YAML: mapping values are not allowed in this context"}},
		{name: "unclosed flow list", edit: map[string]string{"languages:": "languages: [nl, fr"}, wantAt: "languages:",
			want: []string{"leuven.yaml:%d: invalid YAML: did not find expected ',' or ']'"}},
		{name: "junk after quoted value", edit: map[string]string{"mode:": `mode: "central"ly`}, wantAt: "mode:",
			want: []string{"leuven.yaml:%d: invalid YAML: did not find expected key"}},
		{name: "second document", append: "---\nslug: other\n", wantAt: "---",
			want: []string{`leuven.yaml:%d: a tenant file holds exactly one YAML document (remove the second "---")`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			file := specOrDefault(tc.file, "leuven.yaml")
			text := validLeuven
			if slug := strings.TrimSuffix(file, ".yaml"); slug != "leuven" && tc.edit["slug:"] == "" {
				text = specEditLine(t, text, "slug:", "slug: "+slug)
			}
			for _, prefix := range slices.Sorted(maps.Keys(tc.edit)) {
				text = specEditLine(t, text, prefix, tc.edit[prefix])
			}
			text += tc.append
			want := tc.want
			if tc.wantAt != "" {
				want = []string{fmt.Sprintf(tc.want[0], specLineOf(t, text, tc.wantAt))}
			}

			specs, err := loadSpecFile(file, text)
			if len(want) == 0 {
				if err != nil {
					t.Fatalf("unexpected error:\n%v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("accepted; want %q\nfile:\n%s", want, text)
			}
			if specs != nil {
				t.Errorf("returned %d specs together with an error", len(specs))
			}
			verrs := asValidationErrors(t, err)
			if got := strings.Split(verrs.Error(), "\n"); !slices.Equal(got, want) {
				t.Errorf("errors:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
			}
			for _, fe := range verrs {
				if fe.File != file {
					t.Errorf("error names file %q, want %q", fe.File, file)
				}
			}
		})
	}
}

func specOrDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func TestLoadDirFieldErrorStructure(t *testing.T) {
	text := specEditLine(t, validLeuven, "email:", "email: nope")
	text = specEditLine(t, text, "municipalities:", `municipalities: ["24062", "13040", "99999"]`)
	text = specEditLine(t, text, `- "24062"`, "")
	_, err := loadSpecFile("leuven.yaml", text)
	verrs := asValidationErrors(t, err)
	want := tenant.ValidationErrors{
		{File: "leuven.yaml", Field: "municipalities[2]", Message: "unknown municipality NIS code 99999"},
		{File: "leuven.yaml", Field: "contact.email", Message: `must be a valid e-mail address such as loket@gemeente.example (got "nope")`},
	}
	if !slices.Equal(verrs, want) {
		t.Errorf("got %#v\nwant %#v", verrs, want)
	}
}

func TestLoadDirReportsAllErrorsTogether(t *testing.T) {
	leuven := specEditLine(t, validLeuven, "max_preferences:", "max_preferences: 0")
	leuven = specEditLine(t, leuven, "mode:", "mode: centraal")
	leuven = specEditLine(t, leuven, "email:", "")
	leuven = specEditLine(t, leuven, "phone:", "fax: +32 16 00 00 01")

	geel := strings.NewReplacer("slug: leuven", "slug: geel", `"24062"`, `"13008"`, "opvang.leuven.example", "opvang.geel.example").Replace(validLeuven)
	geel = specEditLine(t, geel, "languages:", "languages: [fr]")
	geel = specEditLine(t, geel, "offer_acceptance_days:", "offer_acceptance_days: 45")

	fsys := fstest.MapFS{
		"leuven.yaml":   {Data: []byte(leuven)},
		"geel.yaml":     {Data: []byte(geel)},
		"turnhout.yaml": {Data: []byte("slug: turnhout\nname: [oops\n")},
		"README.md":     {Data: []byte("# not a tenant")},
	}
	specs, err := tenant.LoadDir(fsys)
	if specs != nil {
		t.Errorf("returned specs despite errors: %v", specs)
	}
	verrs := asValidationErrors(t, err)
	want := []string{
		"geel.yaml: offer_acceptance_days: must be between 1 and 30 (got 45)",
		"geel.yaml: languages: must include nl",
		fmt.Sprintf("leuven.yaml:%d: contact.fax: unknown field (allowed here: email, phone, address, website, opening_hours)", specLineOf(t, leuven, "fax:")),
		`leuven.yaml: mode: must be central or registry (got "centraal")`,
		"leuven.yaml: max_preferences: must be between 1 and 10 (got 0)",
		"leuven.yaml: contact.email: required",
		"turnhout.yaml:2: invalid YAML: did not find expected ',' or ']'",
	}
	if got := strings.Split(err.Error(), "\n"); !slices.Equal(got, want) {
		t.Errorf("errors:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
	if len(verrs) != len(want) {
		t.Errorf("%d errors, want %d", len(verrs), len(want))
	}
}

func TestLoadDirDecodeErrorsInLineOrder(t *testing.T) {
	text := specEditLine(t, validLeuven, "max_preferences:", "max_preferences: 2.5")     // found in the node tree
	text = specEditLine(t, text, "mode:", "mode: [central]")                             // found by the decoder
	text = specEditLine(t, text, "offer_acceptance_days:", "offer_acceptance_days: 1e1") // node tree again
	_, err := loadSpecFile("leuven.yaml", text)
	want := []string{
		fmt.Sprintf("leuven.yaml:%d: mode: must be a single value (got a list)", specLineOf(t, text, "mode:")),
		fmt.Sprintf(`leuven.yaml:%d: max_preferences: must be a whole number (got "2.5")`, specLineOf(t, text, "max_preferences:")),
		fmt.Sprintf(`leuven.yaml:%d: offer_acceptance_days: must be a whole number (got "1e1")`, specLineOf(t, text, "offer_acceptance_days:")),
	}
	if got := strings.Split(fmt.Sprint(err), "\n"); !slices.Equal(got, want) {
		t.Errorf("errors:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
}

func TestLoadDirCrossFileDuplicates(t *testing.T) {
	desk := func(slug string, hosts []string, munis ...string) []byte {
		var b strings.Builder
		fmt.Fprintf(&b, "slug: %s\nname: Loket %s\nmunicipalities: [%s]\nmode: central\n", slug, slug, strings.Join(munis, ", "))
		b.WriteString("max_preferences: 3\nprovider_response_days: 14\noffer_acceptance_days: 7\nlanguages: [nl]\n")
		fmt.Fprintf(&b, "contact:\n  email: loket@%s.example\n", slug)
		if len(hosts) > 0 {
			fmt.Fprintf(&b, "hosts: [%s]\n", strings.Join(hosts, ", "))
		}
		return []byte(b.String())
	}

	t.Run("no overlap", func(t *testing.T) {
		specs, err := tenant.LoadDir(fstest.MapFS{
			"a.yaml": {Data: desk("aa", []string{"aa.example"}, "24062")},
			"b.yaml": {Data: desk("bb", []string{"bb.example"}, "13040", "13004")},
		})
		if err == nil || len(specs) != 0 {
			t.Fatalf("slugs aa/bb in files a/b must be rejected")
		}
		specs, err = tenant.LoadDir(fstest.MapFS{
			"aa.yaml": {Data: desk("aa", []string{"aa.example"}, "24062")},
			"bb.yaml": {Data: desk("bb", []string{"bb.example"}, "13040", "13004")},
		})
		if err != nil || len(specs) != 2 {
			t.Fatalf("specs %v, err %v", specs, err)
		}
	})

	cases := []struct {
		name string
		fs   fstest.MapFS
		want []string
	}{
		{"municipality in two desks", fstest.MapFS{
			"turnhout.yaml": {Data: desk("turnhout", nil, "13040", "13004")},
			"beerse.yaml":   {Data: desk("beerse", nil, "13004")},
			"geel.yaml":     {Data: desk("geel", nil, "13008", "13040")},
		}, []string{
			// Files are read in name order (beerse, geel, turnhout); the
			// later file is blamed and names the earlier one.
			"turnhout.yaml: municipalities[0]: 13040 (Turnhout) is already covered by geel.yaml; a municipality belongs to exactly one desk",
			"turnhout.yaml: municipalities[1]: 13004 (Beerse) is already covered by beerse.yaml; a municipality belongs to exactly one desk",
		}},
		{"host in two desks", fstest.MapFS{
			"leuven.yaml": {Data: desk("leuven", []string{"opvang.leuven.example"}, "24062")},
			"geel.yaml":   {Data: desk("geel", []string{"opvang.geel.example", "opvang.leuven.example"}, "13008")},
		}, []string{
			"leuven.yaml: hosts[0]: opvang.leuven.example is already used by geel.yaml",
		}},
		{"slug in two files", fstest.MapFS{
			"geel.yaml":  {Data: desk("geel", nil, "13008")},
			"geel2.yaml": {Data: desk("geel", nil, "13053")},
		}, []string{
			`geel2.yaml: slug: must equal the file name without .yaml ("geel2"), got "geel"`,
			`geel2.yaml: slug: "geel" is already used by geel.yaml`,
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			specs, err := tenant.LoadDir(tc.fs)
			if err == nil {
				t.Fatalf("accepted %d specs", len(specs))
			}
			asValidationErrors(t, err)
			if got := strings.Split(err.Error(), "\n"); !slices.Equal(got, tc.want) {
				t.Errorf("errors:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(tc.want, "\n  "))
			}
		})
	}
}

func TestLoadDirFiles(t *testing.T) {
	t.Run("empty directory", func(t *testing.T) {
		_, err := tenant.LoadDir(fstest.MapFS{})
		if !errors.Is(err, tenant.ErrNoTenantFiles) {
			t.Fatalf("err = %v, want ErrNoTenantFiles", err)
		}
	})
	t.Run("only other files", func(t *testing.T) {
		_, err := tenant.LoadDir(fstest.MapFS{
			"README.md":         {Data: []byte("# docs")},
			"old/leuven.yaml":   {Data: []byte(validLeuven)}, // subdirectories are not read
			".hidden.yaml":      {Data: []byte("not: valid: yaml")},
			"leuven.yaml.draft": {Data: []byte(validLeuven)},
		})
		if !errors.Is(err, tenant.ErrNoTenantFiles) {
			t.Fatalf("err = %v, want ErrNoTenantFiles", err)
		}
	})
	t.Run("yml extension", func(t *testing.T) {
		_, err := tenant.LoadDir(fstest.MapFS{"leuven.yml": {Data: []byte(validLeuven)}})
		if got, want := fmt.Sprint(err), "leuven.yml: tenant files must end in .yaml (rename to leuven.yaml)"; got != want {
			t.Fatalf("err = %q, want %q", got, want)
		}
	})
	t.Run("empty file", func(t *testing.T) {
		_, err := loadSpecFile("leuven.yaml", "# only a comment\n")
		if got, want := fmt.Sprint(err), "leuven.yaml: file is empty"; got != want {
			t.Fatalf("err = %q, want %q", got, want)
		}
	})
	t.Run("not a mapping", func(t *testing.T) {
		_, err := loadSpecFile("leuven.yaml", "# desks\n- leuven\n- geel\n")
		if got, want := fmt.Sprint(err), "leuven.yaml:2: must be a mapping of fields (slug: …, name: …, …)"; got != want {
			t.Fatalf("err = %q, want %q", got, want)
		}
	})
	t.Run("syntax error on the first line", func(t *testing.T) {
		_, err := loadSpecFile("leuven.yaml", "@slug: leuven\n")
		if got, want := fmt.Sprint(err), "leuven.yaml:1: invalid YAML: found character that cannot start any token"; got != want {
			t.Fatalf("err = %q, want %q", got, want)
		}
	})
}

// TestBrokenGolden loads testdata/broken (several files with several problems
// each) and compares the full report with testdata/broken.golden. Run with
// -update-spec-golden to rewrite the golden file after an intended change, and review it.
func TestBrokenGolden(t *testing.T) {
	_, err := tenant.LoadDir(os.DirFS(filepath.Join("testdata", "broken")))
	asValidationErrors(t, err)
	got := err.Error() + "\n"
	golden := filepath.Join("testdata", "broken.golden")
	if *updateSpecGolden {
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Errorf("report differs from %s:\ngot:\n%s\nwant:\n%s", golden, got, want)
	}
}

func TestValidateWithoutFile(t *testing.T) {
	s := tenant.Spec{Slug: "leuven", Name: "Loket", Municipalities: []geo.NISCode{"24062"}, Mode: tenant.ModeRegistry,
		MaxPreferences: 3, ProviderResponseDays: 14, OfferAcceptanceDays: 7, Languages: []string{"nl"},
		Contact: tenant.Contact{Email: "loket@leuven.example"}}
	if errs := s.Validate(); errs != nil {
		t.Fatalf("valid spec: %v", errs)
	}
	s.MaxPreferences = 0
	errs := s.Validate()
	if len(errs) != 1 || errs[0] != (tenant.FieldError{Field: "max_preferences", Message: "must be between 1 and 10 (got 0)"}) {
		t.Fatalf("errs = %#v", errs)
	}
	if got := errs.Error(); got != ": max_preferences: must be between 1 and 10 (got 0)" {
		t.Errorf("Error() = %q", got)
	}
}

func TestDisplayNameAndRegions(t *testing.T) {
	s := tenant.Spec{Name: "Lokaal Loket Kinderopvang Leuven", Names: map[string]string{"fr": "Guichet Louvain", "en": ""}}
	for lang, want := range map[string]string{
		"nl": s.Name, "": s.Name, "fr": "Guichet Louvain", "fr-BE": "Guichet Louvain", "FR": "Guichet Louvain",
		"en": s.Name, // empty translation falls back to Dutch
		"de": s.Name,
	} {
		if got := s.DisplayName(lang); got != want {
			t.Errorf("DisplayName(%q) = %q, want %q", lang, got, want)
		}
	}
	if s.DefaultLanguage() != "nl" {
		t.Errorf("DefaultLanguage without languages = %q", s.DefaultLanguage())
	}

	s.Municipalities = []geo.NISCode{"24062", "13040", "13008", "99999"}
	if got := s.RegionNIS(); !slices.Equal(got, []geo.NISCode{"13000", "24000"}) {
		t.Errorf("RegionNIS() = %v", got)
	}
	s.Municipalities = nil
	if got := s.RegionNIS(); len(got) != 0 {
		t.Errorf("RegionNIS() without municipalities = %v", got)
	}
}

// TestReadmeNamesTheReservedSlugs keeps the format description complete.
func TestReadmeNamesTheReservedSlugs(t *testing.T) {
	readme, err := os.ReadFile("../../tenants/README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, slug := range tenant.ReservedSlugs {
		if !strings.Contains(string(readme), "`"+slug+"`") {
			t.Errorf("tenants/README.md does not name the reserved slug %q", slug)
		}
	}
}
