package crisis_test

import (
	"encoding/json"
	"testing"

	"github.com/loket-kinderopvang/loket/internal/platform/validate"
)

func mustJSON(t testing.TB, s string, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(s), v); err != nil {
		t.Fatal(err)
	}
}

func isField(err error, field string) bool {
	es, ok := validate.As(err)
	return ok && es.Has(field)
}
