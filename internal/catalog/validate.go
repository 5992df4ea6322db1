package catalog

import (
	"net/mail"
	"regexp"
	"strconv"
	"strings"

	"github.com/loket-kinderopvang/loket/internal/geo"
	"github.com/loket-kinderopvang/loket/internal/platform/validate"
)

// FieldError is one rule a value breaks. Code names the rule, so the web
// layer can show the message in the visitor's language (validation.<code>).
type FieldError = validate.FieldError

// ValidationErrors is every broken rule of one value.
type ValidationErrors = validate.Errors

type checker struct{ errs ValidationErrors }

func (c *checker) add(field, code, format string, args ...any) {
	c.errs.Add(field, code, format, args...)
}

func (c *checker) result() error { return c.errs.Err() }

// Limits of the catalogue rules.
const (
	MaxGezinsopvangPlaces = 8  // family-based care: at most 8 children at once
	MinGroepsopvangPlaces = 9  // group care: 9 or more
	MaxAgeMonths          = 48 // childcare for babies and toddlers, before school
)

var (
	dossierPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9/._-]{0,29}$`)
	hhmmPattern    = regexp.MustCompile(`^([01][0-9]|2[0-3]):[0-5][0-9]$`)
	postcodePat    = regexp.MustCompile(`^[1-9][0-9]{3}$`)
	langPattern    = regexp.MustCompile(`^[a-z]{2}$`)
)

// NormalizeKBO strips dots, spaces and a BE prefix from an enterprise number.
func NormalizeKBO(s string) string {
	s = strings.ToUpper(strings.TrimSpace(s))
	s = strings.TrimPrefix(s, "BE")
	return strings.NewReplacer(".", "", " ", "").Replace(s)
}

// ValidKBO checks a normalized enterprise number: ten digits, first 0 or 1,
// and the last two digits are 97 minus the first eight modulo 97.
func ValidKBO(s string) bool {
	if len(s) != 10 || (s[0] != '0' && s[0] != '1') {
		return false
	}
	base, err1 := strconv.Atoi(s[:8])
	check, err2 := strconv.Atoi(s[8:])
	return err1 == nil && err2 == nil && 97-base%97 == check
}

// Validate checks a provider.
func (p *Provider) Validate() error {
	var c checker
	if strings.TrimSpace(p.Name) == "" {
		c.add("provider", "required", "the provider's name is required")
	}
	if p.KBONumber != "" && !ValidKBO(p.KBONumber) {
		c.add("kbo_number", "kbo", "%q is not a valid enterprise number (10 digits, check digits)", p.KBONumber)
	}
	return c.result()
}

// Validate checks every rule of a location at once. It is the one place the
// catalogue's rules live: the import, the API and the forms all call it.
func (l *Location) Validate() error {
	var c checker
	if !dossierPattern.MatchString(l.DossierNumber) {
		c.add("dossier_number", "dossier", "the dossier number is required (letters, digits, / . _ -; at most 30)")
	}
	if strings.TrimSpace(l.Name) == "" {
		c.add("name", "required", "the name is required")
	} else if len(l.Name) > 200 {
		c.add("name", "too_long", "the name is longer than 200 characters")
	}
	if _, ok := geo.LookupMunicipality(l.MunicipalityNIS); !ok {
		c.add("municipality", "municipality", "unknown municipality %q", l.MunicipalityNIS)
	}
	if l.Postcode != "" && !postcodePat.MatchString(l.Postcode) {
		c.add("postcode", "postcode", "a postcode has four digits (got %q)", l.Postcode)
	}
	if l.Lat < 49.4 || l.Lat > 51.6 || l.Lon < 2.5 || l.Lon > 6.5 {
		c.add("coordinates", "coordinates", "the coordinates %.4f, %.4f are not in Belgium", l.Lat, l.Lon)
	}
	switch l.CareType {
	case Gezinsopvang:
		if l.LicensedPlaces > MaxGezinsopvangPlaces {
			c.add("places", "gezinsopvang_places", "gezinsopvang has at most %d places (got %d)", MaxGezinsopvangPlaces, l.LicensedPlaces)
		}
	case Groepsopvang:
		if l.LicensedPlaces > 0 && l.LicensedPlaces < MinGroepsopvangPlaces {
			c.add("places", "groepsopvang_places", "groepsopvang has at least %d places (got %d)", MinGroepsopvangPlaces, l.LicensedPlaces)
		}
	default:
		c.add("type", "care_type", "the type must be gezinsopvang or groepsopvang (got %q)", l.CareType)
	}
	if l.LicensedPlaces <= 0 {
		c.add("places", "places", "the number of licensed places must be at least 1 (got %d)", l.LicensedPlaces)
	}
	validTier := false
	for _, t := range Tiers {
		validTier = validTier || t == l.SubsidyTier
	}
	if !validTier {
		c.add("subsidy_tier", "tier", "the subsidy tier must be T0, T1, T2A, T2B or T3 (got %q)", l.SubsidyTier)
	} else if l.PriceType != l.SubsidyTier.PriceType() {
		c.add("price_type", "price_type", "tier %s means price type %s", l.SubsidyTier, l.SubsidyTier.PriceType())
	}
	if l.MinAgeMonths < 0 || l.MaxAgeMonths > MaxAgeMonths || l.MinAgeMonths >= l.MaxAgeMonths {
		c.add("age_range", "age_range", "the age range must run from 0 to %d months, minimum below maximum (got %d–%d)", MaxAgeMonths, l.MinAgeMonths, l.MaxAgeMonths)
	}
	for i, d := range l.OpeningHours {
		if d.Open == "" && d.Close == "" {
			continue
		}
		if !hhmmPattern.MatchString(d.Open) || !hhmmPattern.MatchString(d.Close) || d.Open >= d.Close {
			c.add("opening_hours."+Weekdays[i], "hours", "opening hours must be like 07:00–18:00, opening before closing (got %q–%q)", d.Open, d.Close)
		}
	}
	for _, lang := range l.Languages {
		if !langPattern.MatchString(lang) {
			c.add("languages", "language", "%q is not a two-letter language code", lang)
		}
	}
	if l.Email != "" {
		if a, err := mail.ParseAddress(l.Email); err != nil || a.Address != l.Email {
			c.add("email", "email", "%q is not an e-mail address", l.Email)
		}
	}
	if l.Website != "" && !strings.HasPrefix(l.Website, "https://") && !strings.HasPrefix(l.Website, "http://") {
		c.add("website", "website", "a website starts with https://")
	}
	return c.result()
}

// ValidMonth checks a "YYYY-MM" start month.
func ValidMonth(s string) bool {
	if len(s) != 7 || s[4] != '-' {
		return false
	}
	y, err1 := strconv.Atoi(s[:4])
	m, err2 := strconv.Atoi(s[5:])
	return err1 == nil && err2 == nil && y >= 2000 && y <= 2100 && m >= 1 && m <= 12
}

// ValidBand reports whether b is a known age band.
func ValidBand(b AgeBand) bool { return b == Baby || b == Toddler }
