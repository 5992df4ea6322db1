// Package validate collects field-level errors: every broken rule of an input
// at once, each with the field's path, a code the web layer translates
// (message id "<domain>.error.<code>") and an English message for the API.
package validate

import (
	"errors"
	"fmt"
	"strings"

	"github.com/loket-kinderopvang/loket/internal/platform/web"
)

// FieldError is one broken rule.
type FieldError struct {
	Field   string `json:"field"`
	Code    string `json:"code"`
	Message string `json:"message"`
}

// Errors is every broken rule of one input; it is an error.
type Errors []FieldError

func (es Errors) Error() string {
	parts := make([]string, len(es))
	for i, e := range es {
		parts[i] = e.Field + ": " + e.Message
	}
	return strings.Join(parts, "; ")
}

// Add records a broken rule.
func (es *Errors) Add(field, code, format string, args ...any) {
	*es = append(*es, FieldError{Field: field, Code: code, Message: fmt.Sprintf(format, args...)})
}

// Err returns nil when nothing is broken, so callers can return it directly.
func (es Errors) Err() error {
	if len(es) == 0 {
		return nil
	}
	return es
}

// Has reports whether field (or a field under it, "parents" covers
// "parents[0].email") is broken.
func (es Errors) Has(field string) bool {
	for _, e := range es {
		if e.Field == field || strings.HasPrefix(e.Field, field+".") || strings.HasPrefix(e.Field, field+"[") {
			return true
		}
	}
	return false
}

// As extracts Errors from err.
func As(err error) (Errors, bool) {
	var es Errors
	ok := errors.As(err, &es)
	return es, ok
}

// Problem turns the errors into a 422 problem document for the API.
func (es Errors) Problem(detail string) web.Problem {
	p := web.Problem{Status: 422, Title: "Invalid input", Detail: detail}
	for _, e := range es {
		p.Errors = append(p.Errors, web.FieldError{Field: e.Field, Message: e.Message})
	}
	return p
}
