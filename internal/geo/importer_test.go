package geo

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// testdata holds a slice of Statbel's REFNIS file (current and ended units,
// a Walloon municipality, the 2025 merger of Hasselt and Kortessem) and of
// bpost's list (capitals, a special postcode, a Walloon place, a merged
// municipality named by its new name).

var refnisSample, bpostSample = readTestdata("TU_COM_REFNIS_sample.txt"), readTestdata("zipcodes_sample.csv")

func readTestdata(name string) string {
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		panic(err)
	}
	return string(b)
}

func TestImportREFNISAndBpost(t *testing.T) {
	got, err := Import(strings.NewReader(refnisSample), strings.NewReader(bpostSample))
	if err != nil {
		t.Fatal(err)
	}
	if got.MunicipalityCount != 3 || got.RegionCount != 3 || got.PostcodeCount != 5 {
		t.Errorf("counts %d municipalities, %d regions, %d postcodes; want 3, 3, 5", got.MunicipalityCount, got.RegionCount, got.PostcodeCount)
	}
	m := string(got.Municipalities)
	for _, want := range []string{"24062,Leuven,Louvain,50.8798,4.7005,Leuven-centrum|Heverlee|Kessel-Lo|Wilsele|Wijgmaal,24000", "71072,Hasselt,Hasselt,", "21004,Brussel,Bruxelles,"} {
		if !strings.Contains(m, want) {
			t.Errorf("municipalities.csv lacks %q:\n%s", want, m)
		}
	}
	for _, gone := range []string{"71022", "25112", "Waver"} {
		if strings.Contains(m, gone) {
			t.Errorf("municipalities.csv keeps %s:\n%s", gone, m)
		}
	}
	p := string(got.Postcodes)
	for _, want := range []string{"3001,24062,Heverlee,", "3720,71072,Kortessem,", "1000,21004,Brussel,"} {
		if !strings.Contains(p, want) {
			t.Errorf("postcodes.csv lacks %q:\n%s", want, p)
		}
	}
	if strings.Contains(p, "1300") || strings.Contains(p, "612") {
		t.Errorf("postcodes.csv keeps a Walloon or special postcode:\n%s", p)
	}
	if !strings.Contains(string(got.Regions), "21000,Arrondissement Brussel-Hoofdstad,") {
		t.Errorf("regions.csv:\n%s", got.Regions)
	}
}

func TestImportRejectsWhatItCannotPlace(t *testing.T) {
	bad := "Postcode;Plaatsnaam;Hoofdgemeente\n3000;LEUVEN;LOVEN\n"
	if _, err := Import(strings.NewReader(refnisSample), strings.NewReader(bad)); err == nil || !strings.Contains(err.Error(), `main municipality "LOVEN"`) {
		t.Errorf("unknown main municipality: err = %v", err)
	}
	noHeader := "CD|NAME\n1|x\n"
	if _, err := Import(strings.NewReader(noHeader), nil); err == nil || !strings.Contains(err.Error(), "no column LVL_REFNIS") {
		t.Errorf("wrong REFNIS header: err = %v", err)
	}
	// A new municipality with no known postcode has no centre.
	fresh := refnisSample + "4|24999|24000|Nieuwgemeente|Nouvelle|01/01/2031|31/12/9999\n"
	if _, err := Import(strings.NewReader(fresh), strings.NewReader(bpostSample)); err == nil || !strings.Contains(err.Error(), "24999 Nieuwgemeente: no centre known") {
		t.Errorf("municipality without centre: err = %v", err)
	}
}

// Without a postcode file the current postcodes of the kept municipalities stay.
func TestImportKeepsPostcodesWithoutFile(t *testing.T) {
	got, err := Import(strings.NewReader(refnisSample), nil)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(got.Postcodes), "3018,24062,Wijgmaal,") || strings.Contains(string(got.Postcodes), ",13008,") {
		t.Errorf("postcodes.csv:\n%s", got.Postcodes)
	}
}
