package main

import (
	"encoding/json"
	"testing"

	"github.com/loket-kinderopvang/loket/internal/app"
)

// TestOpenAPICommand: `loket openapi` prints the served document (what CI
// lints), without any configuration or database.
func TestOpenAPICommand(t *testing.T) {
	t.Setenv("LOKET_DATABASE_URL", "postgres://nowhere.invalid/none")
	code, out, errOut := runCLI(t, "openapi")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var printed, served any
	if err := json.Unmarshal([]byte(out), &printed); err != nil {
		t.Fatalf("not JSON: %v", err)
	}
	if err := json.Unmarshal(app.OpenAPIDocument(false), &served); err != nil {
		t.Fatal(err)
	}
	a, _ := json.Marshal(printed)
	b, _ := json.Marshal(served)
	if string(a) != string(b) || len(a) < 1000 {
		t.Errorf("loket openapi prints %d bytes, not the served document (%d bytes)", len(a), len(b))
	}
}
