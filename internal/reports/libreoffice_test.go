package reports_test

import (
	"context"
	"encoding/csv"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/loket-kinderopvang/loket/internal/platform/testenv"
)

// checkLibreOffice converts the workbook to CSV with LibreOffice (the first
// sheet: the Opgroeien layout) and compares every cell with want, the CSV
// export of the same figures the page shows. Numbers are compared as numbers
// (LibreOffice writes 5.0 as 5). The CI image needs the Debian package
// libreoffice-calc-nogui. It returns the rows LibreOffice read.
func checkLibreOffice(t *testing.T, xlsx []byte, want [][]string) [][]string {
	t.Helper()
	dir := libreOffice(t, "cijfers.xlsx", xlsx, "csv")
	f, err := os.Open(filepath.Join(dir, "cijfers.csv"))
	if err != nil {
		t.Fatalf("libreoffice wrote no csv: %v", err)
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.FieldsPerRecord = -1
	got, err := r.ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("LibreOffice read %d rows, want %d:\n%v", len(got), len(want), got)
	}
	for i := range want {
		for j := range want[i] {
			g := ""
			if j < len(got[i]) {
				g = got[i][j]
			}
			if !sameCell(g, want[i][j]) {
				t.Errorf("row %d column %s: LibreOffice reads %q, the export says %q", i+1, want[0][j], g, want[i][j])
			}
		}
	}
	return got
}

func sameCell(a, b string) bool {
	if a == b {
		return true
	}
	x, err1 := strconv.ParseFloat(strings.TrimSpace(a), 64)
	y, err2 := strconv.ParseFloat(strings.TrimSpace(b), 64)
	return err1 == nil && err2 == nil && x == y
}

// libreOffice converts file name (content data) with LibreOffice, headless,
// to format (its --convert-to argument, filter options included); extra
// are more arguments (--infilter, which names the import's locale). It
// returns the folder holding the result.
func libreOffice(t *testing.T, name string, data []byte, format string, extra ...string) string {
	t.Helper()
	bin, err := exec.LookPath("libreoffice")
	if err != nil {
		if bin, err = exec.LookPath("soffice"); err != nil {
			testenv.Missing(t, "LibreOffice", "libreoffice is not installed (Debian: apt-get install -y libreoffice-calc-nogui)")
		}
	}
	dir := t.TempDir()
	in := filepath.Join(dir, name)
	if err := os.WriteFile(in, data, 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	// A profile of its own: parallel tests (and a desktop session) must not
	// share LibreOffice's user installation.
	args := append([]string{"-env:UserInstallation=file://" + filepath.Join(dir, "profile"), "--headless"}, extra...)
	args = append(args, "--convert-to", format, "--outdir", filepath.Join(dir, "out"), in)
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = append(os.Environ(), "HOME="+dir)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("libreoffice --convert-to %s: %v\n%s", format, err, out)
	}
	return filepath.Join(dir, "out")
}
