package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestAllocateSolveExample(t *testing.T) {
	out := filepath.Join(t.TempDir(), "result.json")
	code, _, errOut := runCLI(t, "allocate", "solve", "--in", "../../internal/allocation/testdata/example-instance.json", "--out", out)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	got, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile("../../internal/allocation/testdata/example-result.json")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(bytes.TrimSpace(got), bytes.TrimSpace(want)) {
		t.Errorf("allocate solve does not reproduce the documented example result")
	}
	bad := filepath.Join(t.TempDir(), "bad.json")
	if err := os.WriteFile(bad, []byte(`{"version": 1, "seed": "s", "children": [{"id": "k1", "preferences": ["nope"]}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, _, errOut := runCLI(t, "allocate", "solve", "--in", bad); code == 0 || !strings.Contains(errOut, "nope") && !strings.Contains(errOut, "programme") {
		t.Errorf("an invalid instance must fail with a named field: %d %q", code, errOut)
	}
}
