package web

import "strings"

// The form kit: every HTML form of Loket builds its controls from these
// types and renders them with the shared templates of partials.html
// (text-field, select-field, choice-group, check-one, error-summary), so that
// labels, hints, errors and their aria links behave the same on every page.

// Field is one form control, ready to render: label, hint and error are
// already in the reader's language.
type Field struct {
	ID, Name, Label, Hint, Value, Error string
	Type, InputMode, Autocomplete       string
	Checked                             bool
	Options                             []Option
}

// Describedby lists the ids of the error and the hint, for aria-describedby.
func (f Field) Describedby() string { return describedBy(f.ID, f.Hint, f.Error) }

// Option is one choice of a select.
type Option struct {
	Value, Label string
	Selected     bool
	// Group names the <optgroup> the option sits in; empty for none.
	Group string
}

// OptionGroup is a run of options with the same Group; Label is empty for
// options outside any group.
type OptionGroup struct {
	Label   string
	Options []Option
}

// GroupOptions cuts options into runs of the same Group, in order, so a
// template can render <optgroup>s.
func GroupOptions(opts []Option) []OptionGroup {
	var out []OptionGroup
	for _, o := range opts {
		if n := len(out); n > 0 && out[n-1].Label == o.Group {
			out[n-1].Options = append(out[n-1].Options, o)
			continue
		}
		out = append(out, OptionGroup{Label: o.Group, Options: []Option{o}})
	}
	return out
}

// OptionGroups is [GroupOptions] of the field's options.
func (f Field) OptionGroups() []OptionGroup { return GroupOptions(f.Options) }

// Choice is one checkbox or radio button.
type Choice struct {
	ID, Name, Value, Label string
	Checked                bool
}

// Group is a fieldset of checkboxes or radio buttons with one legend.
type Group struct {
	ID, Legend, Hint, Error string
	Items                   []Choice
}

// Describedby lists the ids of the group's error and hint.
func (g Group) Describedby() string { return describedBy(g.ID, g.Hint, g.Error) }

// ErrorLink is one line of the error summary: it links to the field.
type ErrorLink struct{ Anchor, Message string }

func describedBy(id, hint, err string) string {
	var ids []string
	if err != "" {
		ids = append(ids, "err-"+id)
	}
	if hint != "" {
		ids = append(ids, "hint-"+id)
	}
	return strings.Join(ids, " ")
}

var idReplacer = strings.NewReplacer(".", "-", "[", "-", "]", "")

// FieldID is the HTML id of a form field: "parents[0].email" → "f-parents-0-email".
func FieldID(name string) string { return "f-" + idReplacer.Replace(name) }

// LanguageOptions are the interface languages as select options, with
// selected chosen; allowed limits them (nil: all).
func LanguageOptions(allowed []string, selected string) []Option {
	var out []Option
	for _, l := range Languages {
		if allowed != nil && !contains(allowed, l.Code) {
			continue
		}
		out = append(out, Option{Value: l.Code, Label: l.Label, Selected: l.Code == selected})
	}
	return out
}

// LanguageName is a language's name in itself ("Français"), or the code.
func LanguageName(code string) string {
	for _, l := range Languages {
		if l.Code == code {
			return l.Label
		}
	}
	return code
}

// LanguagesOf keeps the languages whose code is allowed, in Loket's order.
func LanguagesOf(allowed []string) []Language {
	var out []Language
	for _, l := range Languages {
		if contains(allowed, l.Code) {
			out = append(out, l)
		}
	}
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
