package main

import (
	"strings"
	"testing"
)

func TestSeedScaledCommand(t *testing.T) {
	t.Chdir(t.TempDir())
	dir := t.TempDir()
	code, out, errOut := runCLI(t, "seed-scaled", "--locations", "44", "--data-dir", dir)
	if code != 0 || !strings.Contains(out, "44 locations (region 13000: 2, region 24000: 42)") ||
		!strings.Contains(out, "1056 free-place entries with 1056 events") || !strings.Contains(out, "took ") {
		t.Fatalf("seed-scaled: %d\n%s\n%s", code, out, errOut)
	}
	code, out, errOut = runCLI(t, "seed-scaled", "--locations", "44", "--data-dir", dir)
	if code != 0 || !strings.Contains(out, "created 0 providers, 0 locations") || !strings.Contains(out, "already there: 44 locations") {
		t.Fatalf("second seed-scaled must write nothing: %d\n%s\n%s", code, out, errOut)
	}
	if code, _, errOut := runCLI(t, "seed-scaled", "--locations", "0", "--data-dir", dir); code == 0 || !strings.Contains(errOut, "--locations") {
		t.Errorf("--locations 0: exit %d, %q", code, errOut)
	}
}

// TestDemoCatalogueOnFirstStartOnly starts the embedded default twice: the
// first start seeds the demo catalogue, the second writes nothing to it.
func TestDemoCatalogueOnFirstStartOnly(t *testing.T) {
	dir := t.TempDir()
	first := startLoket(t, dir)
	if code := first.stop(t); code != 0 {
		t.Fatalf("first run exit %d", code)
	}
	if log := first.stderr.String(); !strings.Contains(log, "demo catalogue seeded") {
		t.Fatalf("first start did not seed the demo catalogue:\n%s", log)
	}
	second := startLoket(t, dir)
	if code := second.stop(t); code != 0 {
		t.Fatalf("second run exit %d", code)
	}
	if log := second.stderr.String(); strings.Contains(log, "demo catalogue seeded") {
		t.Errorf("second start wrote to the catalogue:\n%s", log)
	}
}
