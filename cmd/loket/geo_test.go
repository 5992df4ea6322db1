package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestGeoImportCommand(t *testing.T) {
	refnis, err := filepath.Abs(filepath.Join("..", "..", "internal", "geo", "testdata", "TU_COM_REFNIS_sample.txt"))
	if err != nil {
		t.Fatal(err)
	}
	postcodes := filepath.Join(filepath.Dir(refnis), "zipcodes_sample.csv")
	t.Chdir(t.TempDir()) // no loket.yaml of the developer
	out := filepath.Join(t.TempDir(), "data")

	code, stdout, stderr := runCLI(t, "geo", "import", "--refnis", refnis, "--postcodes", postcodes, "--out", out)
	if code != 0 || !strings.Contains(stdout, "wrote 3 municipalities, 3 arrondissements and 5 postcodes") {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
	}
	b, err := os.ReadFile(filepath.Join(out, "municipalities.csv"))
	if err != nil || !strings.Contains(string(b), "71072,Hasselt,Hasselt,") {
		t.Fatalf("municipalities.csv: %v\n%s", err, b)
	}
	if code, _, stderr := runCLI(t, "geo", "import", "--refnis", filepath.Join(out, "missing.txt"), "--out", out); code == 0 || !strings.Contains(stderr, "missing.txt") {
		t.Errorf("a missing file: exit %d, %s", code, stderr)
	}
}
