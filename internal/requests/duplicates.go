package requests

import (
	"slices"
	"strings"
	"time"

	"github.com/nyaruka/phonenumbers"
)

// Likely duplicates: the same child (first name, last name, birth date) with
// the same parent e-mail OR the same parent phone number. One keyed digest
// per contact method, so that a request written with only a phone number,
// or with the number spelled another way, still meets the earlier one.
const (
	fingerprintEmail = "likely_email"
	fingerprintPhone = "likely_phone"
)

// fingerprintKinds are the kinds looked up across desks, with the duplicate
// state a match gives.
var fingerprintKinds = map[string]string{
	"nn":             DuplicateSuspected,
	fingerprintEmail: DuplicateLikely,
	fingerprintPhone: DuplicateLikely,
}

func (s *Service) likelyFingerprints(first, last string, born time.Time, fam Family, parents []Parent) []fingerprintKey {
	child := []string{normName(first), normName(last), born.Format(dateLayout)}
	var emails, phones []string
	add := func(list *[]string, v string) {
		if v != "" && !slices.Contains(*list, v) {
			*list = append(*list, v)
		}
	}
	add(&emails, normEmail(fam.Email))
	add(&phones, NormalisePhone(fam.Phone))
	for _, p := range parents {
		add(&emails, normEmail(p.Email))
		add(&phones, NormalisePhone(p.Phone))
	}
	var out []fingerprintKey
	for _, e := range emails {
		out = append(out, fingerprintKey{fingerprintEmail, hashHex(s.dupKey, append(slices.Clone(child), "email:"+e)...)})
	}
	for _, ph := range phones {
		out = append(out, fingerprintKey{fingerprintPhone, hashHex(s.dupKey, append(slices.Clone(child), "phone:"+ph)...)})
	}
	return out
}

func normName(s string) string  { return strings.Join(strings.Fields(strings.ToLower(s)), " ") }
func normEmail(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

// NormalisePhone writes a phone number in E.164 ("+32470123456"), reading
// national numbers as Belgian: "0470 12 34 56", "+32 470 12 34 56" and
// "0032470123456" are one number. A number it cannot read keeps its digits.
func NormalisePhone(s string) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return ""
	}
	if strings.HasPrefix(s, "00") {
		s = "+" + s[2:]
	}
	if n, err := phonenumbers.Parse(s, "BE"); err == nil && phonenumbers.IsPossibleNumber(n) {
		return phonenumbers.Format(n, phonenumbers.E164)
	}
	var b strings.Builder
	for _, r := range s {
		if r >= '0' && r <= '9' {
			b.WriteRune(r)
		}
	}
	return b.String()
}
