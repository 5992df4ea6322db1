package allocation

import (
	"fmt"
	"math"
	"strings"
)

// maxListedErrors bounds the errors kept in a ValidationError so that a
// broken million-child file does not produce a million-line error.
const maxListedErrors = 100

// FieldError is one problem in an instance, tied to a field path such as
// `children[3].preferences[1]`.
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

func (e FieldError) Error() string { return e.Field + ": " + e.Message }

// ValidationError lists the field errors of an invalid instance.
type ValidationError struct {
	Errors []FieldError
	// More counts errors found but not listed.
	More int
}

func (e *ValidationError) Error() string {
	var b strings.Builder
	b.WriteString("invalid allocation instance: ")
	for i, fe := range e.Errors {
		if i == 5 {
			fmt.Fprintf(&b, "; and %d more", len(e.Errors)-5+e.More)
			break
		}
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(fe.Error())
	}
	return b.String()
}

// errorList collects field errors up to a bound.
type errorList struct {
	errs []FieldError
	more int
}

func (l *errorList) add(field, format string, args ...any) {
	if len(l.errs) >= maxListedErrors {
		l.more++
		return
	}
	l.errs = append(l.errs, FieldError{Field: field, Message: fmt.Sprintf(format, args...)})
}

func (l *errorList) merge(o *errorList) {
	for _, e := range o.errs {
		l.add(e.Field, "%s", e.Message)
	}
	l.more += o.more
}

func (l *errorList) err() error {
	if len(l.errs) == 0 && l.more == 0 {
		return nil
	}
	return &ValidationError{Errors: l.errs, More: l.more}
}

// Validate checks an instance and returns a *ValidationError listing
// field-level problems, or nil.
func Validate(inst *Instance) error {
	_, err := compile(inst)
	return err
}

// badText reports whether an identifier is empty or holds control
// characters; a newline would make the lottery derivation ambiguous.
func badText(s string) bool {
	if s == "" {
		return true
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] == 0x7f {
			return true
		}
	}
	return false
}

func validShare(f float64) bool { return !math.IsNaN(f) && f >= 0 && f <= 1 }

func validMonth(s string) bool {
	if len(s) != 7 || s[4] != '-' {
		return false
	}
	for i, c := range []byte(s) {
		if i != 4 && (c < '0' || c > '9') {
			return false
		}
	}
	mm := int(s[5]-'0')*10 + int(s[6]-'0')
	return mm >= 1 && mm <= 12
}

func validateHeader(inst *Instance, l *errorList) {
	if inst.Version != 0 && inst.Version != FormatVersion {
		l.add("version", "unsupported version %d (want %d)", inst.Version, FormatVersion)
	}
	if inst.Seed == "" {
		l.add("seed", "is required")
	} else if strings.ContainsAny(string(inst.Seed), "\n\r") {
		l.add("seed", "must not contain line breaks")
	}
	if inst.Round < 0 {
		l.add("round", "must be >= 1, got %d", inst.Round)
	}
	switch inst.TieBreak {
	case "", TieBreakSingle, TieBreakPerLocation:
	default:
		l.add("tie_break", "unknown value %q (want %q or %q)", inst.TieBreak, TieBreakSingle, TieBreakPerLocation)
	}
	if inst.MaxSiblingPasses < 0 || inst.MaxSiblingPasses > 1000 {
		l.add("max_sibling_passes", "must be between 1 and 1000, got %d", inst.MaxSiblingPasses)
	}
	if inst.SiblingCriterion != "" && badText(inst.SiblingCriterion) {
		l.add("sibling_criterion", "must not contain control characters")
	}
	r := inst.Reserve
	if !validShare(r.DefaultShare) {
		l.add("reserve.default_share", "must be within [0,1], got %v", r.DefaultShare)
	}
	switch r.Fill {
	case "", FillFirst, FillLast:
	default:
		l.add("reserve.fill", "unknown fill order %q (want %q or %q)", r.Fill, FillFirst, FillLast)
	}
	switch r.Rounding {
	case "", RoundDown, RoundHalfUp:
	default:
		l.add("reserve.rounding", "unknown rounding %q (want %q or %q)", r.Rounding, RoundDown, RoundHalfUp)
	}
	switch r.Guard {
	case "", GuardNone:
	case GuardAggregate:
		l.add("reserve.guard", "%q is no longer supported: it let a family get a better place by ranking fewer choices; leave guard out or use %q", GuardAggregate, GuardNone)
	default:
		l.add("reserve.guard", "unknown guard %q (want %q)", r.Guard, GuardNone)
	}
}

// validatePolicy checks one tier/required list pair.
func validatePolicy(field string, p Policy, l *errorList) {
	seen := make(map[string]bool, len(p.Tiers))
	for i, c := range p.Tiers {
		if badText(c) {
			l.add(fmt.Sprintf("%s.tiers[%d]", field, i), "criterion must be non-empty text")
		} else if seen[c] {
			l.add(fmt.Sprintf("%s.tiers[%d]", field, i), "duplicate criterion %q", c)
		}
		seen[c] = true
	}
	for i, c := range p.Required {
		if badText(c) {
			l.add(fmt.Sprintf("%s.required[%d]", field, i), "criterion must be non-empty text")
		}
	}
}
