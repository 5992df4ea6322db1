package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func catalogTestdata(t *testing.T, name string) string {
	t.Helper()
	p, err := filepath.Abs(filepath.Join("..", "..", "internal", "catalog", "testdata", "import", name))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestCatalogImportCommand(t *testing.T) {
	good, bad := catalogTestdata(t, "good.csv"), catalogTestdata(t, "bad.csv")
	t.Chdir(t.TempDir()) // no loket.yaml of the developer
	dir := t.TempDir()

	code, out, errOut := runCLI(t, "catalog", "import", good, "--data-dir", dir, "--dry-run")
	if code != 0 || !strings.Contains(out, "Dry run: nothing was written") || !strings.Contains(out, "4 rows, 4 created, 0 updated, 0 unchanged") {
		t.Fatalf("dry run: exit %d\n%s\n%s", code, out, errOut)
	}
	code, out, errOut = runCLI(t, "catalog", "import", good, "--data-dir", dir)
	if code != 0 || strings.Contains(out, "Dry run") || !strings.Contains(out, "4 rows, 4 created, 0 updated, 0 unchanged") ||
		!strings.Contains(out, "providers: 3 created, 0 updated") || !strings.Contains(out, "ignored columns (not known): Opmerking") {
		t.Fatalf("import: exit %d\n%s\n%s", code, out, errOut)
	}
	code, out, errOut = runCLI(t, "catalog", "import", good, "--data-dir", dir)
	if code != 0 || !strings.Contains(out, "4 rows, 0 created, 0 updated, 4 unchanged") || !strings.Contains(out, "providers: 0 created, 0 updated") {
		t.Fatalf("second import must change nothing: exit %d\n%s\n%s", code, out, errOut)
	}

	code, out, errOut = runCLI(t, "catalog", "import", bad, "--data-dir", dir)
	if code == 0 || out != "" {
		t.Fatalf("bad file: exit %d, stdout %q", code, out)
	}
	for _, want := range []string{
		"import of bad.csv refused, nothing was written: 5 problem(s) in 5 row(s)",
		`row 3, column "plaatsen": gezinsopvang has at most 8 places (got 9)`,
		`row 4, column "gemeente": unknown municipality "Atlantis"`,
		`row 5, column "dossiernummer": dossier number "BAD-0001" is also on row 2`,
		`row 7, column "subsidietrap": the subsidy tier must be T0, T1, T2A, T2B or T3 (got "trap 5")`,
		`row 8, column "plaatsen": "veel" is not a whole number`,
	} {
		if !strings.Contains(errOut, want) {
			t.Errorf("bad file report lacks %q:\n%s", want, errOut)
		}
	}
	// The refused file wrote nothing: the good file is still all unchanged.
	if code, out, _ := runCLI(t, "catalog", "import", good, "--data-dir", dir, "--dry-run"); code != 0 || !strings.Contains(out, "0 created, 0 updated, 4 unchanged") {
		t.Errorf("after a refused file: exit %d\n%s", code, out)
	}

	if code, _, errOut := runCLI(t, "catalog", "import", filepath.Join(dir, "missing.csv"), "--data-dir", dir); code == 0 || !strings.Contains(errOut, "missing.csv") {
		t.Errorf("missing file: exit %d, %q", code, errOut)
	}
	if code, _, _ := runCLI(t, "catalog", "import", "--data-dir", dir); code == 0 {
		t.Error("import without a file must fail")
	}
}

func TestCatalogImportShowsProgress(t *testing.T) {
	t.Chdir(t.TempDir())
	var b strings.Builder
	b.WriteString("dossiernummer,naam,organisator,straat,postcode,gemeente,type,plaatsen,subsidietrap\n")
	for i := range 1200 {
		fmt.Fprintf(&b, "PRG-%04d,Kinderopvang Voortgang %d,Organisator Voortgang,Proefstraat %d,2440,Geel,groepsopvang,12,T2A\n", i, i, i)
	}
	file := filepath.Join(t.TempDir(), "groot.csv")
	if err := os.WriteFile(file, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := runCLI(t, "catalog", "import", file, "--data-dir", t.TempDir())
	if code != 0 || !strings.Contains(out, "1200 rows, 1200 created") {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	for _, want := range []string{"reading rows 1000", "checking rows 1000/1200", "saving rows 1000/1200", "saving rows 1200/1200"} {
		if !strings.Contains(errOut, want+"\n") {
			t.Errorf("progress lacks %q:\n%s", want, errOut)
		}
	}
}
