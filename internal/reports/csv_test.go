package reports_test

import (
	"encoding/csv"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"

	"github.com/loket-kinderopvang/loket/internal/platform/db"
	"github.com/loket-kinderopvang/loket/internal/platform/dbtest"
	"github.com/loket-kinderopvang/loket/internal/platform/web/webtest"
)

// nlBE is LibreOffice's language code of Dutch (Belgium): numbers are read
// with a decimal comma.
const nlBE = "2067"

// openCSV opens a CSV in LibreOffice with the nl-BE locale and the given
// import options, saves it as a workbook and reads every cell back: its
// value and whether LibreOffice took it for a number.
func openCSV(t *testing.T, data, filterOptions string) (values [][]string, numeric [][]bool) {
	t.Helper()
	out := libreOffice(t, "export.csv", []byte(data), "xlsx", "--infilter=CSV:"+filterOptions)
	f, err := excelize.OpenFile(filepath.Join(out, "export.xlsx"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sheet := f.GetSheetList()[0]
	rows, err := f.GetRows(sheet, excelize.Options{RawCellValue: true})
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range rows {
		var nums []bool
		for j := range r {
			cell, _ := excelize.CoordinatesToCellName(j+1, i+1)
			typ, _ := f.GetCellType(sheet, cell)
			nums = append(nums, typ == excelize.CellTypeNumber || typ == excelize.CellTypeUnset)
		}
		numeric = append(numeric, nums)
	}
	return rows, numeric
}

// sameAsExport fails unless LibreOffice read every cell of want: numbers as
// numbers of the same value, text as the same text, in the same columns.
func sameAsExport(t *testing.T, form string, got [][]string, numeric [][]bool, want [][]string) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: LibreOffice read %d rows, want %d: %v", form, len(got), len(want), got)
	}
	for i := range want {
		for j, w := range want[i] {
			g, num := "", false
			if j < len(got[i]) {
				g, num = got[i][j], numeric[i][j]
			}
			wf, werr := strconv.ParseFloat(w, 64)
			gf, gerr := strconv.ParseFloat(g, 64)
			switch {
			case w == "" && g == "":
			case werr == nil && (gerr != nil || !num || gf != wf):
				t.Errorf("%s row %d column %s: LibreOffice reads %q (number %v), want the number %s", form, i+1, want[0][j], g, num, w)
			case werr != nil && g != w:
				t.Errorf("%s row %d column %s: LibreOffice reads %q, want %q", form, i+1, want[0][j], g, w)
			}
		}
	}
}

// TestCSVOpensInLibreOfficeBelgian opens both CSV forms in LibreOffice with
// the nl-BE locale. The default one as Excel with Belgian settings opens it
// on a double-click: ";" between fields, UTF-8 (Excel takes it from the
// byte-order mark; LibreOffice 7.4 headless does not read the mark under a
// Dutch interface, so the import names UTF-8, and the mark itself is checked
// byte by byte, and must not end up in the first cell): every column apart,
// numbers (days with a decimal comma) as numbers, "Eén" as "Eén". The RFC
// 4180 form (?formaat=csv-rfc) as a machine or the import dialog reads it:
// "," between fields, UTF-8, columns marked as US English numbers. Both
// give the same cells.
func TestCSVOpensInLibreOfficeBelgian(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		w := build(t, d)
		app := server(t, w)
		base := "/geel-laakdal-meerhout/loket/cijfers/export.csv?jaar=2026"
		rfc := webtest.Get(t, app, base+"&formaat=csv-rfc", testUser, "worker-1").Body
		want, err := csv.NewReader(strings.NewReader(rfc)).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		bel := webtest.Get(t, app, base, testUser, "worker-1").Body
		if !strings.HasPrefix(bel, "\ufeff") {
			t.Errorf("the Belgian CSV has no byte-order mark: %.20q", bel)
		}
		got, num := openCSV(t, bel, "59,34,76,1,,"+nlBE)
		sameAsExport(t, "Belgian CSV", got, num, want)

		var usEnglish []string
		for c := range want[0] {
			usEnglish = append(usEnglish, fmt.Sprintf("%d/10", c+1))
		}
		got, num = openCSV(t, rfc, "44,34,76,1,"+strings.Join(usEnglish, "/")+","+nlBE)
		sameAsExport(t, "RFC 4180 CSV", got, num, want)

		// Letters beyond ASCII survive the double-click.
		defs := webtest.Get(t, app, base+"&rapport=definities", testUser, "worker-1").Body
		got, _ = openCSV(t, defs, "59,34,76,1,,"+nlBE)
		found := false
		for _, r := range got {
			if len(r) == 3 && r[0] == "children" && strings.Contains(r[2], "Eén kind met twee aanvragen") {
				found = true
			}
		}
		if !found {
			t.Errorf("the definitions as LibreOffice reads them lack %q: %v", "Eén kind", got)
		}
	})
}
