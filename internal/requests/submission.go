package requests

import (
	"fmt"
	"net/mail"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/loket-kinderopvang/loket/internal/geo"
	"github.com/loket-kinderopvang/loket/internal/platform/validate"
)

// PrivacyVersion is the version of the privacy notice a parent consents to;
// it is stored with every request.
const PrivacyVersion = "2026-01"

// Submission is a request as a parent, a desk worker, a partner or an API
// client sends it. The JSON names are those of POST /api/v1/tenants/{slug}/requests.
type Submission struct {
	Child            ChildInput    `json:"child"`
	Parents          []ParentInput `json:"parents"`
	Language         string        `json:"language"`
	Address          AddressInput  `json:"address"`
	DesiredStart     string        `json:"desired_start"`
	FlexibilityWeeks int           `json:"flexibility_weeks"`
	CarePlan         CarePlanInput `json:"care_plan"`
	Preferences      []string      `json:"preferences"`
	Reason           string        `json:"reason"`
	PriorityClaims   []string      `json:"priority_claims"`
	SpecificCareNeed bool          `json:"specific_care_need"`
	CareNeedNote     string        `json:"care_need_note"`
	Urgent           bool          `json:"urgent"`
	PrivacyVersion   string        `json:"privacy_consent_version"`

	// Set by desk staff only; the HTTP layer clears them for anyone else.
	Channel    Channel `json:"channel,omitempty"`
	Vulnerable bool    `json:"vulnerable,omitempty"`
	Note       string  `json:"note,omitempty"`
	ReferredBy string  `json:"-"`
}

// ChildInput is the child part of a submission. Exactly one of BirthDate and
// ExpectedDate is given (YYYY-MM-DD).
type ChildInput struct {
	FirstName      string `json:"first_name"`
	LastName       string `json:"last_name"`
	BirthDate      string `json:"birth_date,omitempty"`
	ExpectedDate   string `json:"expected_date,omitempty"`
	NationalNumber string `json:"national_number,omitempty"`
}

// ParentInput is one parent.
type ParentInput struct {
	FirstName string `json:"first_name"`
	LastName  string `json:"last_name"`
	Email     string `json:"email"`
	Phone     string `json:"phone"`
}

// AddressInput is where the family lives: municipality and neighbourhood are
// what the desk and the yearly figures need, not the street.
type AddressInput struct {
	MunicipalityNIS string `json:"municipality_nis"`
	Neighbourhood   string `json:"neighbourhood"`
}

// CarePlanInput is when care is needed.
type CarePlanInput struct {
	Days       []string `json:"days"`
	DayPart    string   `json:"day_part"`
	WiderHours bool     `json:"wider_hours"`
}

// Limits of a submission.
const (
	MaxParents          = 2
	MaxFlexibilityWeeks = 26
	maxName             = 100
	maxNote             = 2000
	// A request may ask for a start up to two years ahead.
	maxStartAhead = 2 * 365 * 24 * time.Hour
)

const dateLayout = "2006-01-02"

var phoneRe = regexp.MustCompile(`^\+?[0-9 ./()-]{8,20}$`)

// checked is what validation learned on the way, so Submit does not parse twice.
type checked struct {
	birth, expected, start *time.Time
	nationalNumber         string // digits only
	locations              []uuid.UUID
	locationIndex          []int // index of each location in the submitted list
}

// validateShape checks everything that needs no database: each field on its
// own and against the others. maxPrefs is the desk's maximum; now is today.
func validateShape(sub Submission, maxPrefs int, now time.Time, staff bool) (checked, validate.Errors) {
	var es validate.Errors
	var ck checked
	today := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)

	name := func(field, v string) {
		switch {
		case strings.TrimSpace(v) == "":
			es.Add(field, "required", "is required")
		case utf8.RuneCountInString(v) > maxName:
			es.Add(field, "too_long", "is longer than %d characters", maxName)
		case !SingleLine(v):
			// A name goes into mail headers: a line break there drops the mail.
			es.Add(field, "control", "contains a line break or another control character")
		}
	}
	name("child.first_name", sub.Child.FirstName)
	name("child.last_name", sub.Child.LastName)
	date := func(field, v string) *time.Time {
		t, err := time.Parse(dateLayout, strings.TrimSpace(v))
		if err != nil {
			es.Add(field, "date", "must be a date like 2027-03-01 (got %q)", v)
			return nil
		}
		return &t
	}
	switch {
	case sub.Child.BirthDate == "" && sub.Child.ExpectedDate == "":
		es.Add("child.birth_date", "birth_or_expected", "give the birth date, or the expected date for a child not yet born")
	case sub.Child.BirthDate != "" && sub.Child.ExpectedDate != "":
		es.Add("child.expected_date", "birth_and_expected", "give either the birth date or the expected date, not both")
	case sub.Child.BirthDate != "":
		if ck.birth = date("child.birth_date", sub.Child.BirthDate); ck.birth != nil {
			if ck.birth.After(today) {
				es.Add("child.birth_date", "birth_future", "lies in the future; give the expected date instead")
			} else if ck.birth.Before(today.AddDate(-4, 0, 0)) {
				es.Add("child.birth_date", "too_old", "childcare is for children younger than four")
			}
		}
	default:
		if ck.expected = date("child.expected_date", sub.Child.ExpectedDate); ck.expected != nil {
			if ck.expected.Before(today.AddDate(0, 0, -14)) || ck.expected.After(today.AddDate(0, 10, 0)) {
				es.Add("child.expected_date", "expected_range", "must lie within the next ten months")
			}
		}
	}
	if sub.Child.NationalNumber != "" {
		if digits, ok := NationalNumberDigits(sub.Child.NationalNumber); ok {
			ck.nationalNumber = digits
		} else {
			es.Add("child.national_number", "national_number", "is not a valid national register number (11 digits with a correct check number)")
		}
	}

	switch {
	case len(sub.Parents) == 0:
		es.Add("parents", "parent_required", "at least one parent is required")
	case len(sub.Parents) > MaxParents:
		es.Add("parents", "too_many_parents", "at most %d parents", MaxParents)
	}
	for i, p := range sub.Parents {
		f := fmt.Sprintf("parents[%d].", i)
		name(f+"first_name", p.FirstName)
		name(f+"last_name", p.LastName)
		if p.Email != "" {
			if a, err := mail.ParseAddress(p.Email); err != nil || a.Address != strings.TrimSpace(p.Email) {
				es.Add(f+"email", "email", "is not an e-mail address (got %q)", p.Email)
			}
		}
		if p.Phone != "" && !phoneRe.MatchString(p.Phone) {
			es.Add(f+"phone", "phone", "is not a phone number (got %q)", p.Phone)
		}
		if i == 0 && p.Email == "" && p.Phone == "" {
			es.Add(f+"email", "contact_required", "give an e-mail address or a phone number, so the desk and providers can reach you")
		}
	}
	if !slices.Contains([]string{"nl", "fr", "en"}, sub.Language) {
		es.Add("language", "language", "must be nl, fr or en (got %q)", sub.Language)
	}
	if m, ok := geo.LookupMunicipality(geo.NISCode(sub.Address.MunicipalityNIS)); !ok {
		es.Add("address.municipality_nis", "municipality", "is not a known municipality (got %q)", sub.Address.MunicipalityNIS)
	} else if sub.Address.Neighbourhood != "" && !slices.Contains(m.Neighbourhoods, sub.Address.Neighbourhood) {
		es.Add("address.neighbourhood", "neighbourhood", "is not a neighbourhood of %s (got %q)", m.NameNL, sub.Address.Neighbourhood)
	}

	if ck.start = date("desired_start", sub.DesiredStart); ck.start != nil {
		switch {
		case ck.start.Before(today):
			es.Add("desired_start", "start_past", "lies in the past")
		case ck.start.After(today.Add(maxStartAhead)):
			es.Add("desired_start", "start_far", "lies more than two years ahead")
		case ck.birth != nil && ck.start.Before(*ck.birth), ck.expected != nil && ck.start.Before(*ck.expected):
			es.Add("desired_start", "start_before_birth", "lies before the child's birth")
		}
	}
	if sub.FlexibilityWeeks < 0 || sub.FlexibilityWeeks > MaxFlexibilityWeeks {
		es.Add("flexibility_weeks", "flexibility", "must be between 0 and %d weeks", MaxFlexibilityWeeks)
	}

	if len(sub.CarePlan.Days) == 0 {
		es.Add("care_plan.days", "days_required", "choose at least one day")
	}
	seen := map[string]bool{}
	for _, d := range sub.CarePlan.Days {
		if !slices.Contains(Weekdays, d) || seen[d] {
			es.Add("care_plan.days", "days", "days must be mon … sun, each once (got %q)", d)
			break
		}
		seen[d] = true
	}
	if sub.CarePlan.DayPart != string(DayWhole) && sub.CarePlan.DayPart != string(DayHalf) {
		es.Add("care_plan.day_part", "day_part", "must be whole or half (got %q)", sub.CarePlan.DayPart)
	}

	switch {
	case len(sub.Preferences) == 0:
		es.Add("preferences", "preferences_required", "choose at least one location")
	case len(sub.Preferences) > maxPrefs:
		es.Add("preferences", "too_many_preferences", "at most %d locations at this desk", maxPrefs)
	}
	for i, p := range sub.Preferences {
		id, err := uuid.Parse(strings.TrimSpace(p))
		if err != nil {
			es.Add(fmt.Sprintf("preferences[%d]", i), "location", "is not a location id (got %q)", p)
			continue
		}
		if slices.Contains(ck.locations, id) {
			es.Add(fmt.Sprintf("preferences[%d]", i), "location_twice", "lists the same location twice")
			continue
		}
		ck.locations = append(ck.locations, id)
		ck.locationIndex = append(ck.locationIndex, i)
	}

	if !slices.Contains(Reasons, Reason(sub.Reason)) {
		es.Add("reason", "reason", "must be work, training, job_search or other (got %q)", sub.Reason)
	}
	for _, c := range sub.PriorityClaims {
		if !slices.Contains(Claims, Claim(c)) {
			es.Add("priority_claims", "claim", "unknown priority claim %q", c)
			break
		}
	}
	if utf8.RuneCountInString(sub.CareNeedNote) > maxNote || utf8.RuneCountInString(sub.Note) > maxNote {
		es.Add("care_need_note", "too_long", "is longer than %d characters", maxNote)
	}
	if !Text(sub.CareNeedNote) {
		es.Add("care_need_note", "control", "contains a control character")
	}
	if !Text(sub.Note) {
		es.Add("note", "control", "contains a control character")
	}
	if sub.PrivacyVersion != PrivacyVersion {
		es.Add("privacy_consent_version", "privacy", "consent to the privacy notice (version %s) is required", PrivacyVersion)
	}
	if sub.Channel != "" && (!staff || !slices.Contains(Channels, sub.Channel)) {
		es.Add("channel", "channel", "is not a channel you can choose (got %q)", sub.Channel)
	}
	return ck, es
}

// SingleLine reports whether s is valid UTF-8 without control characters
// (line breaks included) or Unicode line and paragraph separators: text that
// may go into a mail header or a one-line field.
func SingleLine(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' {
			return false
		}
	}
	return true
}

// Text reports whether s is valid UTF-8 whose only control characters are
// tabs and line breaks: free text such as a note.
func Text(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if unicode.IsControl(r) && r != '\t' && r != '\n' && r != '\r' {
			return false
		}
	}
	return true
}

// NationalNumberDigits checks a Belgian national register number (dots, dashes
// and spaces allowed) and returns its 11 digits. The check number is 97 minus
// the first nine digits modulo 97; for people born from 2000 a 2 is put in
// front of those nine digits first.
func NationalNumberDigits(s string) (string, bool) {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r >= '0' && r <= '9':
			b.WriteRune(r)
		case r == '.' || r == '-' || r == ' ':
		default:
			return "", false
		}
	}
	d := b.String()
	if len(d) != 11 {
		return "", false
	}
	var base, check int64
	fmt.Sscan(d[:9], &base)
	fmt.Sscan(d[9:], &check)
	if 97-base%97 == check || 97-(2_000_000_000+base)%97 == check {
		return d, true
	}
	return "", false
}
