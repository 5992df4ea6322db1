package catalog_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/loket-kinderopvang/loket/internal/catalog"
	"github.com/loket-kinderopvang/loket/internal/geo"
	"github.com/loket-kinderopvang/loket/internal/platform/clock"
	"github.com/loket-kinderopvang/loket/internal/platform/db"
	"github.com/loket-kinderopvang/loket/internal/platform/dbtest"
)

var importStart = time.Date(2027, 1, 4, 9, 0, 0, 0, time.UTC)

func importFile(name string) string { return filepath.Join("testdata", "import", name) }

// importedLocation reads one location by dossier number.
func importedLocation(t *testing.T, d *db.DB, dossier string) catalog.Location {
	t.Helper()
	var l catalog.Location
	if err := d.NewSelect().Model(&l).Where("dossier_number = ?", dossier).Scan(context.Background()); err != nil {
		t.Fatalf("location %s: %v", dossier, err)
	}
	return l
}

func importedProvider(t *testing.T, d *db.DB, id catalog.ProviderID) catalog.Provider {
	t.Helper()
	var p catalog.Provider
	if err := d.NewSelect().Model(&p).Where("id = ?", id).Scan(context.Background()); err != nil {
		t.Fatalf("provider %s: %v", id, err)
	}
	return p
}

func importCount(t *testing.T, d *db.DB, table string) int {
	t.Helper()
	n, err := d.NewSelect().Table(table).Count(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return int(n)
}

// importUpdatedAt is every location's updated_at by dossier number.
func importUpdatedAt(t *testing.T, d *db.DB) map[string]time.Time {
	t.Helper()
	var ls []catalog.Location
	if err := d.NewSelect().Model(&ls).Scan(context.Background()); err != nil {
		t.Fatal(err)
	}
	out := map[string]time.Time{}
	for _, l := range ls {
		out[l.DossierNumber] = l.UpdatedAt.UTC()
	}
	return out
}

func checkImportCounts(t *testing.T, what string, got catalog.ImportReport, created, updated, unchanged int) {
	t.Helper()
	if got.Created != created || got.Updated != updated || got.Unchanged != unchanged || got.Rows != created+updated+unchanged {
		t.Errorf("%s: %d rows, %d created, %d updated, %d unchanged; want %d, %d, %d",
			what, got.Rows, got.Created, got.Updated, got.Unchanged, created, updated, unchanged)
	}
}

func TestImportCSV(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		clk := clock.NewFixed(importStart)
		s := catalog.NewStore(d, clk)

		rep, err := s.ImportFile(ctx, importFile("good.csv"), catalog.ImportOptions{})
		if err != nil {
			t.Fatal(err)
		}
		checkImportCounts(t, "first import", rep, 4, 0, 0)
		if rep.ProvidersCreated != 3 || rep.ProvidersUpdated != 0 {
			t.Errorf("providers: %d created, %d updated; want 3, 0", rep.ProvidersCreated, rep.ProvidersUpdated)
		}
		if !slices.Equal(rep.IgnoredColumns, []string{"Opmerking"}) {
			t.Errorf("ignored columns %q, want [Opmerking]", rep.IgnoredColumns)
		}

		one := importedLocation(t, d, "TEST-0001")
		// Postcode 3001 is Heverlee: its centre, not Leuven's, and its neighbourhood.
		want := catalog.Location{
			DossierNumber: "TEST-0001", ProviderID: one.ProviderID, Name: "Kinderdagverblijf De Testboom",
			Street: "Speelpleinstraat 1", Postcode: "3001", MunicipalityNIS: "24062", Neighbourhood: "Heverlee",
			Lat: 50.8640, Lon: 4.6960, CareType: catalog.Groepsopvang, SubsidyTier: catalog.TierT2A,
			PriceType: catalog.IncomeRelated, LicensedPlaces: 18, MinAgeMonths: 0, MaxAgeMonths: 36,
			EarlyHours: true, InclusiveCare: true, AcceptsRequests: true, Languages: []string{"nl", "fr"},
			Email: "info@testboom.example", Phone: "016 00 00 01", Website: "https://testboom.example",
		}
		got := one
		got.ID, got.CreatedAt, got.UpdatedAt = catalog.LocationID{}, time.Time{}, time.Time{}
		if fmt.Sprintf("%+v", got) != fmt.Sprintf("%+v", want) {
			t.Errorf("TEST-0001 stored as\n%+v\nwant\n%+v", got, want)
		}
		if !one.UpdatedAt.Equal(importStart) || !one.CreatedAt.Equal(importStart) {
			t.Errorf("timestamps %v %v, want %v", one.CreatedAt, one.UpdatedAt, importStart)
		}

		two := importedLocation(t, d, "TEST-0002")
		if two.MunicipalityNIS != "13008" || two.Lat != 51.1620 || two.Lon != 4.9900 || two.CareType != catalog.Gezinsopvang ||
			two.SubsidyTier != catalog.TierT1 || two.PriceType != catalog.FreePrice || two.MaxAgeMonths != 36 || !two.AcceptsRequests {
			t.Errorf("TEST-0002 (NIS code, empty optional cells): %+v", two)
		}
		if two.ProviderID != one.ProviderID {
			t.Error("the same enterprise number, written differently, must be one provider")
		}
		if p := importedProvider(t, d, one.ProviderID); p.KBONumber != "0123456749" || p.Name != "Vzw Speelhuis" {
			t.Errorf("provider %+v", p)
		}
		three := importedLocation(t, d, "TEST-0003")
		if three.SubsidyTier != catalog.TierT3 || !three.LateHours || !three.Weekend || three.AcceptsRequests ||
			!slices.Equal(three.Languages, []string{"nl"}) || three.Lat != 51.3225 {
			t.Errorf("TEST-0003: %+v", three)
		}
		four := importedLocation(t, d, "TEST-0004")
		if four.MunicipalityNIS != "24062" || four.Street != `Rue "Test" 3` || four.SubsidyTier != catalog.TierT2B ||
			four.Lat != 50.8798 || four.Name != "Crèche Le Petit Test" {
			t.Errorf("TEST-0004 (French municipality name, quotes, accents): %+v", four)
		}
		if p := importedProvider(t, d, four.ProviderID); p.KBONumber != "" || p.Name != "Onthaal Zonder Nummer" {
			t.Errorf("provider without number: %+v", p)
		}

		// The same file again changes nothing, not even updated_at.
		before := importUpdatedAt(t, d)
		clk.Advance(time.Hour)
		rep, err = s.ImportFile(ctx, importFile("good.csv"), catalog.ImportOptions{})
		if err != nil {
			t.Fatal(err)
		}
		checkImportCounts(t, "re-import", rep, 0, 0, 4)
		if rep.ProvidersCreated+rep.ProvidersUpdated != 0 {
			t.Errorf("re-import touched providers: %+v", rep)
		}
		if after := importUpdatedAt(t, d); fmt.Sprint(after) != fmt.Sprint(before) {
			t.Errorf("re-import changed updated_at: %v → %v", before, after)
		}
		if n := importCount(t, d, "locations"); n != 4 {
			t.Errorf("%d locations after re-import, want 4", n)
		}
		if n := importCount(t, d, "providers"); n != 3 {
			t.Errorf("%d providers after re-import, want 3", n)
		}

		// One changed row updates that location only, keeping its id.
		raw, err := os.ReadFile(importFile("good.csv"))
		if err != nil {
			t.Fatal(err)
		}
		changed := bytes.Replace(raw, []byte("Groepsopvang;18;Trap 2A"), []byte("Groepsopvang;20;Trap 2A"), 1)
		changed = bytes.Replace(changed, []byte("Het Vlot bv;"), []byte("Het Vlot nv;"), 1)
		clk.Advance(time.Hour)
		rep, err = s.Import(ctx, "changed.csv", bytes.NewReader(changed), catalog.ImportOptions{})
		if err != nil {
			t.Fatal(err)
		}
		checkImportCounts(t, "changed import", rep, 0, 1, 3)
		if rep.ProvidersUpdated != 1 || rep.ProvidersCreated != 0 {
			t.Errorf("a renamed provider (same number) is updated: %+v", rep)
		}
		after := importUpdatedAt(t, d)
		for dossier, at := range after {
			wantAt := before[dossier]
			if dossier == "TEST-0001" {
				wantAt = clk.Now()
			}
			if !at.Equal(wantAt) {
				t.Errorf("%s updated_at %v, want %v", dossier, at, wantAt)
			}
		}
		if l := importedLocation(t, d, "TEST-0001"); l.LicensedPlaces != 20 || l.ID != one.ID || !l.CreatedAt.Equal(importStart) {
			t.Errorf("updated TEST-0001: %+v", l)
		}
		if p := importedProvider(t, d, three.ProviderID); p.Name != "Het Vlot nv" {
			t.Errorf("provider not renamed: %+v", p)
		}

		// A file with only the required columns leaves what it does not
		// say (e-mail, languages, hours) as stored.
		minimal := "dossiernummer,naam,organisator,ondernemingsnummer,straat,postcode,gemeente,type,plaatsen,subsidietrap\n" +
			"TEST-0001,Kinderdagverblijf De Testboom,Vzw Speelhuis,0123456749,Speelpleinstraat 1,3001,24062,groepsopvang,20,T2A\n"
		rep, err = s.Import(ctx, "minimal.csv", strings.NewReader(minimal), catalog.ImportOptions{})
		if err != nil {
			t.Fatal(err)
		}
		checkImportCounts(t, "minimal import", rep, 0, 0, 1)
		if l := importedLocation(t, d, "TEST-0001"); l.Email != "info@testboom.example" || !l.EarlyHours || !slices.Equal(l.Languages, []string{"nl", "fr"}) {
			t.Errorf("absent columns must keep the stored values: %+v", l)
		}

		// Opening hours are never in the file: a re-import keeps them.
		withHours := importedLocation(t, d, "TEST-0002")
		withHours.OpeningHours[0] = catalog.DayHours{Open: "07:00", Close: "18:00"}
		if err := s.SaveLocation(ctx, &withHours); err != nil {
			t.Fatal(err)
		}
		rep, err = s.Import(ctx, "changed.csv", bytes.NewReader(changed), catalog.ImportOptions{})
		if err != nil {
			t.Fatal(err)
		}
		checkImportCounts(t, "import after editing hours", rep, 0, 0, 4)
		if l := importedLocation(t, d, "TEST-0002"); l.OpeningHours[0].Open != "07:00" {
			t.Errorf("opening hours lost: %+v", l.OpeningHours)
		}
	})
}

// writeXLSX builds a workbook whose first sheet holds rows.
func writeXLSX(t testing.TB, rows [][]any) []byte {
	t.Helper()
	f := excelize.NewFile()
	defer f.Close()
	sheet := f.GetSheetName(0)
	if err := f.SetSheetName(sheet, "Locaties"); err != nil {
		t.Fatal(err)
	}
	for i, r := range rows {
		cell, _ := excelize.CoordinatesToCellName(1, i+1)
		if err := f.SetSheetRow("Locaties", cell, &r); err != nil {
			t.Fatal(err)
		}
	}
	// A second sheet the importer must not read.
	if _, err := f.NewSheet("Uitleg"); err != nil {
		t.Fatal(err)
	}
	if err := f.SetCellValue("Uitleg", "A1", "dossiernummer"); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := f.Write(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestImportXLSX(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		s := catalog.NewStore(d, clock.NewFixed(importStart))
		book := writeXLSX(t, [][]any{
			{"Dossiernummer", "Naam", "Organisator", "Ondernemingsnummer", "Straat", "Postcode", "Gemeente", "Type",
				"Plaatsen", "Subsidietrap", "Breedtegraad", "Lengtegraad", "Weekend", "Talen"},
			// The enterprise number as a number lost its leading zero.
			{"XL-1", "Kinderopvang Rekenblad", "Vzw Cellen", 234567873, "Tabelstraat 4", 2460, "Kasterlee", "groepsopvang",
				14, "T2A", 51.2432109876, 4.9712345678, true, "nl"},
			{}, // an empty row keeps its number
			// No coordinates in this row: the centre of postcode 2380.
			{"XL-2", "Onthaal Kolom", "Vzw Cellen", "0234567873", "", 2380, 13035, "Gezinsopvang", 8, "trap 0",
				"", "", false, ""},
		})
		rep, err := s.Import(ctx, "locaties.xlsx", bytes.NewReader(book), catalog.ImportOptions{})
		if err != nil {
			t.Fatal(err)
		}
		checkImportCounts(t, "xlsx import", rep, 2, 0, 0)
		if rep.ProvidersCreated != 1 {
			t.Errorf("%d providers created, want 1", rep.ProvidersCreated)
		}
		one := importedLocation(t, d, "XL-1")
		if one.Lat != 51.2432109876 || one.Lon != 4.9712345678 || one.Postcode != "2460" || one.MunicipalityNIS != "13017" ||
			one.LicensedPlaces != 14 || !one.Weekend || one.SubsidyTier != catalog.TierT2A {
			t.Errorf("XL-1: %+v", one)
		}
		if p := importedProvider(t, d, one.ProviderID); p.KBONumber != "0234567873" {
			t.Errorf("enterprise number %q, want the leading zero back", p.KBONumber)
		}
		two := importedLocation(t, d, "XL-2")
		if two.MunicipalityNIS != "13035" || two.CareType != catalog.Gezinsopvang || two.SubsidyTier != catalog.TierT0 ||
			two.ProviderID != one.ProviderID || two.Street != "" || two.Lat != 51.3720 || two.Lon != 5.0040 {
			t.Errorf("XL-2: %+v", two)
		}

		rep, err = s.Import(ctx, "locaties.xlsx", bytes.NewReader(book), catalog.ImportOptions{})
		if err != nil {
			t.Fatal(err)
		}
		checkImportCounts(t, "xlsx re-import", rep, 0, 0, 2)

		// A bad XLSX row is reported with its spreadsheet row number.
		bad := writeXLSX(t, [][]any{
			{"dossiernummer", "naam", "organisator", "straat", "postcode", "gemeente", "type", "plaatsen", "subsidietrap"},
			{"XL-3", "Kinderopvang Drie", "Vzw Cellen", "Tabelstraat 6", 2460, "Kasterlee", "groepsopvang", 9, "T1"},
			{},
			{},
			{"XL-4", "Onthaal Vier", "Vzw Cellen", "Tabelstraat 8", 2460, "Kasterlee", "gezinsopvang", 9, "T1"},
		})
		_, err = s.Import(ctx, "bad.xlsx", bytes.NewReader(bad), catalog.ImportOptions{})
		var ie *catalog.ImportError
		if !errors.As(err, &ie) || len(ie.Problems) != 1 || ie.Problems[0].Row != 5 || ie.Problems[0].Column != "plaatsen" {
			t.Fatalf("bad xlsx: %v", err)
		}
		if n := importCount(t, d, "locations"); n != 2 {
			t.Errorf("%d locations after a refused file, want 2", n)
		}
	})
}

func TestImportRefusesBadFileWhole(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		s := catalog.NewStore(d, clock.NewFixed(importStart))
		_, err := s.ImportFile(ctx, importFile("bad.csv"), catalog.ImportOptions{})
		var ie *catalog.ImportError
		if !errors.As(err, &ie) {
			t.Fatalf("bad file: %v, want *ImportError", err)
		}
		var got []string
		for _, p := range ie.Problems {
			got = append(got, p.String())
		}
		// Row numbers are the spreadsheet's: the header is row 1, and the
		// empty line is row 6.
		want := []string{
			`row 3, column "plaatsen": gezinsopvang has at most 8 places (got 9)`,
			`row 4, column "gemeente": unknown municipality "Atlantis"`,
			`row 5, column "dossiernummer": dossier number "BAD-0001" is also on row 2`,
			`row 7, column "subsidietrap": the subsidy tier must be T0, T1, T2A, T2B or T3 (got "trap 5")`,
			`row 8, column "plaatsen": "veel" is not a whole number`,
		}
		if !slices.Equal(got, want) {
			t.Errorf("report:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
		if ie.Rows() != 5 || !strings.Contains(err.Error(), "nothing was written") || !strings.Contains(err.Error(), want[0]) {
			t.Errorf("error text: %v", err)
		}
		if n := importCount(t, d, "locations"); n != 0 {
			t.Errorf("%d locations written from a refused file", n)
		}
		if n := importCount(t, d, "providers"); n != 0 {
			t.Errorf("%d providers written from a refused file", n)
		}

		// Also when the catalogue already has locations: nothing changes.
		if _, err := s.ImportFile(ctx, importFile("good.csv"), catalog.ImportOptions{}); err != nil {
			t.Fatal(err)
		}
		before := importUpdatedAt(t, d)
		mixed := "dossiernummer;naam;organisator;straat;postcode;gemeente;type;plaatsen;subsidietrap\n" +
			"TEST-0001;Nieuwe Naam;Vzw Speelhuis;Speelpleinstraat 1;3001;Leuven;groepsopvang;18;T2A\n" +
			"TEST-0009;Kinderopvang Negen;Vzw Speelhuis;Speelpleinstraat 9;3001;Leuven;groepsopvang;18;T9\n"
		if _, err := s.Import(ctx, "mixed.csv", strings.NewReader(mixed), catalog.ImportOptions{}); !errors.As(err, &ie) {
			t.Fatalf("mixed file: %v", err)
		}
		if after := importUpdatedAt(t, d); fmt.Sprint(after) != fmt.Sprint(before) {
			t.Errorf("a refused file changed the catalogue: %v → %v", before, after)
		}
		if l := importedLocation(t, d, "TEST-0001"); l.Name != "Kinderdagverblijf De Testboom" {
			t.Errorf("good row of a refused file was written: %q", l.Name)
		}
	})
}

func TestImportFileChecks(t *testing.T) {
	d := dbtest.Open(t, db.SQLite)
	ctx := context.Background()
	s := catalog.NewStore(d, clock.NewFixed(importStart))
	problems := func(t *testing.T, file string) []string {
		t.Helper()
		_, err := s.Import(ctx, "test.csv", strings.NewReader(file), catalog.ImportOptions{})
		var ie *catalog.ImportError
		if !errors.As(err, &ie) {
			t.Fatalf("want *ImportError, got %v", err)
		}
		var out []string
		for _, p := range ie.Problems {
			out = append(out, p.String())
		}
		return out
	}
	head := "dossiernummer,naam,organisator,ondernemingsnummer,straat,postcode,gemeente,type,plaatsen,subsidietrap"

	t.Run("missing columns", func(t *testing.T) {
		got := problems(t, "Dossiernummer;Naam;Lat\nX-1;Test;51.0\n")
		want := []string{
			`row 1, column "organisator": this required column is missing`,
			`row 1, column "straat": this required column is missing`,
			`row 1, column "postcode": this required column is missing`,
			`row 1, column "gemeente": this required column is missing`,
			`row 1, column "type": this required column is missing`,
			`row 1, column "plaatsen": this required column is missing`,
			`row 1, column "subsidietrap": this required column is missing`,
			`row 1, column "lon": lat and lon go together: add both columns or neither`,
		}
		if !slices.Equal(got, want) {
			t.Errorf("got\n%s", strings.Join(got, "\n"))
		}
	})
	t.Run("provider rules", func(t *testing.T) {
		got := problems(t, head+"\n"+
			"P-1,Kinderopvang Een,Vzw Een,0123456749,Straat 1,2440,Geel,groepsopvang,10,T1\n"+
			"P-2,Kinderopvang Twee,Vzw Anders,0123456749,Straat 2,2440,Geel,groepsopvang,10,T1\n"+
			"P-3,Kinderopvang Drie,Vzw Drie,0123456700,Straat 3,2440,Geel,groepsopvang,10,T1\n"+
			"P-4,Kinderopvang Vier,,,Straat 4,2440,Geel,groepsopvang,10,T1\n")
		want := []string{
			`row 3, column "organisator": row 2 names enterprise number 0123456749 "Vzw Een", this row "Vzw Anders"`,
			`row 4, column "ondernemingsnummer": "0123456700" is not a valid enterprise number (10 digits, check digits)`,
			`row 5, column "organisator": the provider's name is required`,
		}
		if !slices.Equal(got, want) {
			t.Errorf("got\n%s", strings.Join(got, "\n"))
		}
	})
	t.Run("values", func(t *testing.T) {
		got := problems(t, "dossiernummer;naam;organisator;straat;postcode;gemeente;type;plaatsen;subsidietrap;lat;lon;weekend;min leeftijd (maanden)\n"+
			"V-1;Kinderopvang Een;Vzw Een;Straat 1;2440;Geel;kinderclub;10;T1;51,16;4,99;ja;0\n"+
			"V-2;Kinderopvang Twee;Vzw Een;Straat 2;2440;Geel;groepsopvang;10;T1;48.85;2.35;misschien;40\n")
		want := []string{
			`row 2, column "type": the type must be gezinsopvang or groepsopvang (got "kinderclub")`,
			`row 3, column "weekend": "misschien" is not ja or nee`,
			`row 3, column "lat": the coordinates 48.8500, 2.3500 are not in Belgium`,
			`row 3, column "min leeftijd (maanden)": the age range must run from 0 to 48 months, minimum below maximum (got 40–36)`,
		}
		if !slices.Equal(got, want) {
			t.Errorf("got\n%s", strings.Join(got, "\n"))
		}
	})
	t.Run("not UTF-8", func(t *testing.T) {
		_, err := s.Import(ctx, "latin1.csv", strings.NewReader(head+"\nL-1,Cr\xe8che,Vzw,,Straat,2440,Geel,groepsopvang,10,T1\n"), catalog.ImportOptions{})
		if err == nil || !strings.Contains(err.Error(), "row 2 is not UTF-8") {
			t.Errorf("latin-1 file: %v", err)
		}
	})
	t.Run("dry run writes nothing", func(t *testing.T) {
		rep, err := s.ImportFile(ctx, importFile("good.csv"), catalog.ImportOptions{DryRun: true})
		if err != nil {
			t.Fatal(err)
		}
		checkImportCounts(t, "dry run", rep, 4, 0, 0)
		if !rep.DryRun || rep.ProvidersCreated != 3 {
			t.Errorf("dry run report %+v", rep)
		}
		if n := importCount(t, d, "locations"); n != 0 {
			t.Errorf("dry run wrote %d locations", n)
		}
	})
	t.Run("tier spellings", func(t *testing.T) {
		var b strings.Builder
		b.WriteString(head + "\n")
		spellings := map[string]catalog.SubsidyTier{"T0": catalog.TierT0, "trap 1": catalog.TierT1, "Trap 2A": catalog.TierT2A,
			"t2b": catalog.TierT2B, "Subsidietrap 3": catalog.TierT3, "2a": catalog.TierT2A, "T 2-B": catalog.TierT2B}
		keys := slices.Sorted(func(yield func(string) bool) {
			for k := range spellings {
				if !yield(k) {
					return
				}
			}
		})
		for i, k := range keys {
			fmt.Fprintf(&b, "TIER-%d,Kinderopvang %d,Vzw Trap,,Straat %d,2440,Geel,groepsopvang,10,%s\n", i, i, i, k)
		}
		if _, err := s.Import(ctx, "tiers.csv", strings.NewReader(b.String()), catalog.ImportOptions{}); err != nil {
			t.Fatal(err)
		}
		for i, k := range keys {
			if l := importedLocation(t, d, fmt.Sprintf("TIER-%d", i)); l.SubsidyTier != spellings[k] || l.PriceType != spellings[k].PriceType() {
				t.Errorf("%q read as %s/%s, want %s", k, l.SubsidyTier, l.PriceType, spellings[k])
			}
		}
	})
}

// demoPostcodes gives each demo municipality a postcode (Baarle-Hertog's is
// not in the embedded list, so its rows fall back to the municipality centre).
var demoPostcodes = map[geo.NISCode]string{
	"13002": "2387", "13004": "2340", "13008": "2440", "13017": "2460", "13019": "2275", "13021": "2450",
	"13023": "2330", "13031": "2360", "13035": "2380", "13040": "2300", "13046": "2350", "13053": "2430", "24062": "3000",
}

// generatedImport is an import file of n locations spread over the demo
// municipalities, four per provider.
func generatedImport(n int) []byte {
	munis := geo.Municipalities()
	tiers := []string{"T0", "T1", "trap 2A", "T2B", "T3"}
	var b bytes.Buffer
	b.WriteString("dossiernummer;naam;organisator;ondernemingsnummer;straat;postcode;gemeente;type;plaatsen;subsidietrap;e-mail;talen\n")
	for i := range n {
		m := munis[i%len(munis)]
		base := 1000000 + i/4
		kbo := fmt.Sprintf("0%07d%02d", base, 97-base%97)
		typ, places := "groepsopvang", 9+i%40
		if i%3 == 0 {
			typ, places = "gezinsopvang", 1+i%8
		}
		fmt.Fprintf(&b, "GEN-%05d;Kinderopvang Proef %d;Organisator Proef %d;%s;Proefstraat %d;%s;%s;%s;%d;%s;proef%d@opvang.example;nl\n",
			i, i, i/4, kbo, i%200+1, demoPostcodes[m.NIS], m.NameNL, typ, places, tiers[i%len(tiers)], i)
	}
	return b.Bytes()
}

// BenchmarkImport6000 imports 6,000 locations into an empty catalogue
// ("create") and the same file again ("unchanged").
func BenchmarkImport6000(b *testing.B) {
	file := generatedImport(6000)
	for _, dialect := range []db.Dialect{db.SQLite, db.Postgres} {
		b.Run(string(dialect), func(b *testing.B) {
			d := dbtest.Open(b, dialect)
			ctx := context.Background()
			s := catalog.NewStore(d, clock.System{})
			importOnce := func(wantCreated int) {
				rep, err := s.Import(ctx, "bench.csv", bytes.NewReader(file), catalog.ImportOptions{})
				if err != nil {
					b.Fatal(err)
				}
				if rep.Created != wantCreated || rep.Rows != 6000 {
					b.Fatalf("report %+v", rep)
				}
			}
			b.Run("create", func(b *testing.B) {
				for range b.N {
					b.StopTimer()
					for _, table := range []string{"locations", "providers"} {
						if _, err := d.NewDelete().TableExpr(table).Where("TRUE").Exec(ctx); err != nil {
							b.Fatal(err)
						}
					}
					b.StartTimer()
					importOnce(6000)
				}
			})
			b.Run("unchanged", func(b *testing.B) {
				b.StopTimer()
				if n, err := d.NewSelect().Table("locations").Count(ctx); err != nil || n != 6000 {
					importOnce(6000 - int(n))
				}
				b.StartTimer()
				for range b.N {
					importOnce(0)
				}
			})
		})
	}
}
