package web

import (
	"encoding/json"
	"strings"
	"testing"
)

// FuzzJSONHasNUL: for any valid JSON document, JSONHasNUL is true exactly
// when a decoded string (a key or a value) holds a NUL character.
func FuzzJSONHasNUL(f *testing.F) {
	for _, s := range []string{`{"a":"b"}`, `{"a":"b\u0000"}`, `{"a":"b\\u0000"}`, `{"a":"\\\u0000"}`, `["\u0000"]`,
		`{"\u0000":1}`, `"\\\\u0000"`, `{"a":"\u00000"}`, `[1,2,"u0000"]`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, doc string) {
		var v any
		if json.Unmarshal([]byte(doc), &v) != nil {
			return
		}
		if got, want := JSONHasNUL([]byte(doc)), holdsNUL(v); got != want {
			t.Fatalf("JSONHasNUL(%q) = %v, the decoded document holds a NUL: %v", doc, got, want)
		}
	})
}

func holdsNUL(v any) bool {
	switch v := v.(type) {
	case string:
		return strings.ContainsRune(v, 0)
	case []any:
		for _, e := range v {
			if holdsNUL(e) {
				return true
			}
		}
	case map[string]any:
		for k, e := range v {
			if strings.ContainsRune(k, 0) || holdsNUL(e) {
				return true
			}
		}
	}
	return false
}
