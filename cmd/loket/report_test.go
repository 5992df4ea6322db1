package main

import (
	"encoding/csv"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"

	"github.com/loket-kinderopvang/loket/internal/reports"
)

func TestReportExportCommand(t *testing.T) {
	t.Chdir(t.TempDir()) // no loket.yaml of the developer
	dir := t.TempDir()
	if code, out, errOut := runCLI(t, "seed", "demo", "--data-dir", dir); code != 0 {
		t.Fatalf("seed: exit %d\n%s\n%s", code, out, errOut)
	}
	code, out, errOut := runCLI(t, "report", "export", "--tenant", "leuven", "--year", "2026", "--format", "csv-rfc", "--data-dir", dir)
	if code != 0 {
		t.Fatalf("csv: exit %d\n%s\n%s", code, out, errOut)
	}
	recs, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(recs[0], ",") != strings.Join(reports.OpgroeienHeader(), ",") || len(recs) != 3 ||
		recs[1][0] != "2026" || recs[1][1] != "leuven" || recs[2][3] != "24062" {
		t.Errorf("csv export:\n%s", out)
	}
	// The default CSV is the Belgian one: byte-order mark and semicolons.
	if code, out, _ := runCLI(t, "report", "export", "--tenant", "leuven", "--year", "2026", "--format", "csv", "--data-dir", dir); code != 0 ||
		!strings.HasPrefix(out, "\ufeffjaar;loket;niveau;") {
		t.Errorf("Belgian csv export (exit %d):\n%.200s", code, out)
	}

	file := filepath.Join(dir, "leuven.xlsx")
	if code, out, errOut := runCLI(t, "report", "export", "--tenant", "leuven", "--year", "2026", "--out", file, "--data-dir", dir); code != 0 {
		t.Fatalf("xlsx: exit %d\n%s\n%s", code, out, errOut)
	}
	f, err := excelize.OpenFile(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if f.GetSheetList()[0] != "Opgroeien" {
		t.Errorf("sheets = %v", f.GetSheetList())
	}

	for _, args := range [][]string{
		{"--tenant", "atlantis", "--year", "2026"},
		{"--tenant", "leuven", "--year", "2026", "--format", "pdf"},
		{"--tenant", "leuven"},
	} {
		code, _, errOut := runCLI(t, append(append([]string{"report", "export"}, args...), "--data-dir", dir)...)
		if code == 0 || errOut == "" {
			t.Errorf("%v: exit %d, stderr %q", args, code, errOut)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "cijfers-atlantis-2026.xlsx")); err == nil {
		t.Error("a failed export wrote a file")
	}
}
