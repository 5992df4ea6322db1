package reports

import (
	"encoding/csv"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"

	"github.com/xuri/excelize/v2"
)

// Export kinds: the CSV of one report, and the sheets of the workbook.
const (
	ExportOpgroeien      = "opgroeien"      // fixed layout, docs/opgroeien-export.md
	ExportFigures        = "cijfers"        // headline figures with definitions
	ExportBreakdowns     = "uitsplitsingen" // every breakdown, one row per value
	ExportAhead          = "tekort"         // unmet demand for the 12 months ahead
	ExportDefinitions    = "definities"     // what each figure counts
	ExportProviders      = "opvang"         // desk only: how the providers answered
	ExportRegionDesks    = "loketten"       // region: desks side by side (suppressed)
	ExportRegionCrossing = "grensoverschrijdend"
)

// DeskExports are the CSV kinds of a desk report, in workbook order.
var DeskExports = []string{ExportOpgroeien, ExportFigures, ExportBreakdowns, ExportAhead, ExportProviders, ExportDefinitions}

// RegionExports are the CSV kinds of a region report, in workbook order.
var RegionExports = []string{ExportRegionDesks, ExportRegionCrossing, ExportDefinitions}

// sheetNames are the Dutch sheet names of the workbook.
var sheetNames = map[string]string{
	ExportOpgroeien: "Opgroeien", ExportFigures: "Cijfers", ExportBreakdowns: "Uitsplitsingen",
	ExportAhead: "Tekort", ExportDefinitions: "Definities", ExportRegionDesks: "Loketten",
	ExportRegionCrossing: "Grensoverschrijdend", ExportProviders: "Opvang",
}

// opgroeienColumn is one column of the fixed Opgroeien layout.
type opgroeienColumn struct {
	Header string
	Value  func(Figures) any
}

func count(get func(Figures) Count) func(Figures) any {
	return func(f Figures) any { return cell(get(f)) }
}

// opgroeienCells are the breakdown rows (id NUL key) the Opgroeien layout
// shows: what the regional view publishes of each desk.
var opgroeienCells = map[string]bool{}

func inBreakdown(id, key string) func(Figures) any {
	opgroeienCells[id+"\x00"+key] = true
	return func(f Figures) any { return cell(f.CountOf(id, key)) }
}

func days(get func(Figures) Days) func(Figures) any {
	return func(f Figures) any { return dayCell(get(f)) }
}

// dayValue is a number of days in an export: one decimal, written with a
// decimal comma in the Belgian CSV and as a number with the format "0.0"
// in the workbook.
type dayValue float64

// dayCell is days as the export writes them: rounded to one decimal, or
// nothing (an empty cell, no text) when not measured.
func dayCell(d Days) any {
	if !d.Valid {
		return nil
	}
	return dayValue(math.Round(d.Value*10) / 10)
}

// cell is a count as the export writes it: a number, or "<5" when withheld.
func cell(c Count) any {
	if c.Hidden {
		return c.String()
	}
	return c.N
}

// OpgroeienColumns is the fixed layout of the yearly export for Opgroeien,
// after the four key columns (jaar, loket, niveau, gemeente_nis, gemeente).
// Changing it changes a documented format: update docs/opgroeien-export.md.
var OpgroeienColumns = func() []opgroeienColumn {
	cols := []opgroeienColumn{
		{"aanvragen", count(func(f Figures) Count { return f.Requests })},
		{"kinderen", count(func(f Figures) Count { return f.Children })},
		{"geplaatst", count(func(f Figures) Count { return f.Placed })},
		{"ingetrokken", count(func(f Figures) Count { return f.Withdrawn })},
		{"onbeantwoord", count(func(f Figures) Count { return f.Unanswered })},
		{"open", count(func(f Figures) Count { return f.Open })},
		{"afgesloten", count(func(f Figures) Count { return f.Closed })},
		{"mediaan_dagen_eerste_antwoord", days(func(f Figures) Days { return f.FirstAnswerMedian })},
		{"p90_dagen_eerste_antwoord", days(func(f Figures) Days { return f.FirstAnswerP90 })},
		{"mediaan_dagen_plaatsing", days(func(f Figures) Days { return f.PlacementMedian })},
		{"p90_dagen_plaatsing", days(func(f Figures) Days { return f.PlacementP90 })},
	}
	for _, ch := range []struct{ key, col string }{{"online", "online"}, {"counter", "balie"}, {"phone", "telefoon"},
		{"partner", "partner"}, {"forwarded", "doorgestuurd"}, {"api", "api"}} {
		cols = append(cols, opgroeienColumn{"kanaal_" + ch.col, inBreakdown("by_channel", ch.key)})
	}
	for _, a := range []struct{ key, col string }{{"unborn", "ongeboren"}, {"0-5", "0_5m"}, {"6-11", "6_11m"},
		{"12-17", "12_17m"}, {"18-23", "18_23m"}, {"24-35", "24_35m"}, {"36+", "36m_plus"}} {
		cols = append(cols, opgroeienColumn{"leeftijd_" + a.col, inBreakdown("by_age", a.key)})
	}
	cols = append(cols,
		opgroeienColumn{"hele_dagen", inBreakdown("by_day_part", "whole")},
		opgroeienColumn{"halve_dagen", inBreakdown("by_day_part", "half")},
		opgroeienColumn{"ruimere_uren", inBreakdown("by_wider_hours", "yes")},
		opgroeienColumn{"specifieke_zorgnood", inBreakdown("by_care_need", "yes")},
		opgroeienColumn{"kwetsbaar_gezin", inBreakdown("by_vulnerable", "yes")},
	)
	for _, c := range []struct{ key, col string }{{"work_or_training", "werk_opleiding"}, {"single_parent", "alleenstaande_ouder"},
		{"low_income", "laag_inkomen"}, {"foster_child", "pleegkind"}, {"sibling", "broer_zus"}, {"none", "geen"}} {
		cols = append(cols, opgroeienColumn{"voorrang_" + c.col, inBreakdown("by_priority", c.key)})
	}
	// Added later: new columns only ever at the end.
	cols = append(cols, opgroeienColumn{"beantwoord", count(func(f Figures) Count { return f.Answered })})
	return cols
}()

// OpgroeienHeader is the header row of the Opgroeien layout.
func OpgroeienHeader() []string {
	h := []string{"jaar", "loket", "niveau", "gemeente_nis", "gemeente"}
	for _, c := range OpgroeienColumns {
		h = append(h, c.Header)
	}
	return h
}

// table is an export as rows of cells (the first row is the header).
type table [][]any

func opgroeienTable(rep DeskReport) table {
	t := table{toAny(OpgroeienHeader())}
	line := func(level, nis, name string, f Figures) {
		row := []any{rep.Year, rep.DeskSlug, level, nis, name}
		for _, c := range OpgroeienColumns {
			row = append(row, c.Value(f))
		}
		t = append(t, row)
	}
	line("loket", "", "", rep.Desk)
	munis := rep.Municipalities
	if len(munis) == 0 && rep.Desk.MunicipalityNIS == "" && rep.singleNIS != "" {
		munis = []MunicipalityFigures{{NIS: rep.singleNIS, Figures: rep.Desk}}
	}
	for _, m := range munis {
		line("gemeente", m.NIS, MunicipalityName(m.NIS, "nl"), m.Figures)
	}
	return t
}

func figuresTable(f Figures) table {
	t := table{{"code", "cijfer", "waarde", "definitie"}}
	for _, h := range f.Headline() {
		d := DefinitionOf(h.ID)
		t = append(t, []any{h.ID, d.LabelIn("nl"), cell(h.Count), d.TextIn("nl")})
	}
	for _, p := range f.Durations() {
		d := DefinitionOf(p.ID)
		t = append(t, []any{p.ID, d.LabelIn("nl"), dayCell(p.Days), d.TextIn("nl")})
	}
	return t
}

func breakdownsTable(f Figures) table {
	t := table{{"uitsplitsing", "code", "waarde", "gemeente_nis", "wijk", "aantal"}}
	for _, b := range f.Breakdowns {
		label := DefinitionOf(b.ID).LabelIn("nl")
		for _, r := range b.Rows {
			if b.ID == "by_neighbourhood" {
				t = append(t, []any{label, b.ID, MunicipalityName(r.Key, "nl"), r.Key, r.Sub, cell(r.Count)})
				continue
			}
			t = append(t, []any{label, b.ID, ValueLabel(b.ID, r.Key, "nl"), "", "", cell(r.Count)})
		}
	}
	return t
}

func aheadTable(a Ahead) table {
	t := table{{"startmaand", "gemeente_nis", "gemeente", "wijk", "vraag_zonder_plaats", "vrije_plaatsen", "tekort"}}
	for _, r := range a.Rows {
		t = append(t, []any{r.Month, r.MunicipalityNIS, MunicipalityName(r.MunicipalityNIS, "nl"), r.Neighbourhood,
			cell(r.Requests), r.FreePlaces, r.Shortage})
	}
	return t
}

func providersTable(rep DeskReport) table {
	t := table{{"organisator", "opvanglocatie", "gemeente_nis", "gemeente", "ontvangen", "beantwoord", "op_tijd_beantwoord", "mediaan_dagen_antwoord"}}
	for _, r := range rep.Providers {
		name := ""
		if r.MunicipalityNIS != "" {
			name = MunicipalityName(r.MunicipalityNIS, "nl")
		}
		t = append(t, []any{r.Provider, r.Location, r.MunicipalityNIS, name, r.Received, r.Answered, r.InTime, dayCell(r.Median)})
	}
	return t
}

func definitionsTable() table {
	t := table{{"code", "naam", "definitie"}}
	for _, d := range Definitions {
		t = append(t, []any{d.ID, d.LabelIn("nl"), d.TextIn("nl")})
	}
	return t
}

func regionDesksTable(rep RegionReport) table {
	t := table{toAny(append([]string{"jaar", "regio_nis", "loket"}, OpgroeienHeader()[5:]...))}
	add := func(name string, f Figures) {
		row := []any{rep.Year, rep.RegionNIS, name}
		for _, c := range OpgroeienColumns {
			row = append(row, c.Value(f))
		}
		t = append(t, row)
	}
	for _, d := range rep.Desks {
		add(d.Slug, d.Figures)
	}
	add("totaal", rep.Total)
	return t
}

func regionCrossTable(rep RegionReport) table {
	t := table{{"van_gemeente_nis", "van_gemeente", "naar_gemeente_nis", "naar_gemeente", "aanvragen"}}
	for _, c := range rep.Cross {
		t = append(t, []any{c.FromNIS, MunicipalityName(c.FromNIS, "nl"), c.ToNIS, MunicipalityName(c.ToNIS, "nl"), cell(c.Requests)})
	}
	return t
}

func toAny(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

func (rep DeskReport) table(kind string) (table, error) {
	switch kind {
	case ExportOpgroeien:
		return opgroeienTable(rep), nil
	case ExportFigures:
		return figuresTable(rep.Desk), nil
	case ExportBreakdowns:
		return breakdownsTable(rep.Desk), nil
	case ExportAhead:
		return aheadTable(rep.Ahead), nil
	case ExportProviders:
		return providersTable(rep), nil
	case ExportDefinitions:
		return definitionsTable(), nil
	}
	return nil, fmt.Errorf("%w: %q", ErrUnknownExport, kind)
}

func (rep RegionReport) table(kind string) (table, error) {
	switch kind {
	case ExportRegionDesks:
		return regionDesksTable(rep), nil
	case ExportRegionCrossing:
		return regionCrossTable(rep), nil
	case ExportDefinitions:
		return definitionsTable(), nil
	}
	return nil, fmt.Errorf("%w: %q", ErrUnknownExport, kind)
}

// ErrUnknownExport means an export kind that does not exist.
var ErrUnknownExport = fmt.Errorf("reports: unknown export")

// CSVFormat is a flavour of CSV.
type CSVFormat int

const (
	// CSVBelgian is what Excel with Belgian settings opens with a
	// double-click: UTF-8 with a byte-order mark, ";" between fields and a
	// decimal comma. The default.
	CSVBelgian CSVFormat = iota
	// CSVRFC is RFC 4180 for machines: "," between fields, a decimal
	// point, CRLF line ends, no byte-order mark (?formaat=csv-rfc).
	CSVRFC
)

// CSVFormats are the values of ?formaat= (empty: CSVBelgian).
var CSVFormats = map[string]CSVFormat{"": CSVBelgian, "csv": CSVBelgian, "csv-rfc": CSVRFC}

// WriteCSV writes one report of the desk as CSV with Dutch headers.
func (rep DeskReport) WriteCSV(w io.Writer, kind string, format CSVFormat) error {
	t, err := rep.table(kind)
	if err != nil {
		return err
	}
	return writeCSV(w, t, format)
}

// WriteXLSX writes every report of the desk as one workbook, a sheet each,
// the Opgroeien layout first.
func (rep DeskReport) WriteXLSX(w io.Writer) error {
	return writeXLSX(w, DeskExports, sheetNames, rep.table)
}

// WriteCSV writes one regional report as CSV (already suppressed).
func (rep RegionReport) WriteCSV(w io.Writer, kind string, format CSVFormat) error {
	t, err := rep.table(kind)
	if err != nil {
		return err
	}
	return writeCSV(w, t, format)
}

// WriteXLSX writes the regional reports as one workbook.
func (rep RegionReport) WriteXLSX(w io.Writer) error {
	return writeXLSX(w, RegionExports, sheetNames, rep.table)
}

// Sheet is a named table another domain exports with the same code as the
// yearly figures (the crisis report of package crisis).
type Sheet struct {
	Name string // the sheet's name, also the CSV's kind
	Rows [][]any
}

// WriteSheetCSV writes one sheet as CSV, like the yearly figures.
func WriteSheetCSV(w io.Writer, s Sheet, format CSVFormat) error {
	return writeCSV(w, table(s.Rows), format)
}

// WriteSheetsXLSX writes sheets as one workbook, like the yearly figures.
func WriteSheetsXLSX(w io.Writer, sheets []Sheet) error {
	kinds, names, rows := make([]string, len(sheets)), map[string]string{}, map[string]table{}
	for i, s := range sheets {
		kinds[i], names[s.Name], rows[s.Name] = s.Name, s.Name, table(s.Rows)
	}
	return writeXLSX(w, kinds, names, func(k string) (table, error) { return rows[k], nil })
}

func writeCSV(w io.Writer, t table, format CSVFormat) error {
	cw := csv.NewWriter(w)
	if format == CSVBelgian {
		if _, err := io.WriteString(w, "\ufeff"); err != nil {
			return fmt.Errorf("reports: write csv: %w", err)
		}
		cw.Comma = ';'
	} else {
		cw.UseCRLF = true
	}
	for _, row := range t {
		rec := make([]string, len(row))
		for i, v := range row {
			switch x := v.(type) {
			case nil:
			case dayValue:
				rec[i] = strconv.FormatFloat(float64(x), 'f', 1, 64)
				if format == CSVBelgian {
					rec[i] = strings.Replace(rec[i], ".", ",", 1)
				}
			default:
				rec[i] = fmt.Sprint(x)
			}
		}
		if err := cw.Write(rec); err != nil {
			return fmt.Errorf("reports: write csv: %w", err)
		}
	}
	cw.Flush()
	return cw.Error()
}

// writeXLSX streams the sheets (excelize's StreamWriter: rows go out as
// they come, no cell model in memory). Days get the number format "0.0";
// a value not measured is no cell at all.
func writeXLSX(w io.Writer, kinds []string, sheetNames map[string]string, tableOf func(string) (table, error)) error {
	f := excelize.NewFile()
	defer f.Close()
	bold, err := f.NewStyle(&excelize.Style{Font: &excelize.Font{Bold: true}})
	if err != nil {
		return err
	}
	oneDecimal := "0.0"
	daysStyle, err := f.NewStyle(&excelize.Style{CustomNumFmt: &oneDecimal})
	if err != nil {
		return err
	}
	for i, kind := range kinds {
		name := sheetNames[kind]
		if i == 0 {
			if err := f.SetSheetName("Sheet1", name); err != nil {
				return err
			}
		} else if _, err := f.NewSheet(name); err != nil {
			return err
		}
		t, err := tableOf(kind)
		if err != nil {
			return err
		}
		sw, err := f.NewStreamWriter(name)
		if err != nil {
			return err
		}
		if len(t) > 0 {
			if err := sw.SetPanes(&excelize.Panes{Freeze: true, YSplit: 1, TopLeftCell: "A2", ActivePane: "bottomLeft"}); err != nil {
				return err
			}
		}
		cells := make([]any, 0, 64)
		for r, row := range t {
			cells = cells[:0]
			for _, v := range row {
				switch x := v.(type) {
				case dayValue:
					cells = append(cells, excelize.Cell{StyleID: daysStyle, Value: float64(x)})
				default:
					if r == 0 && x != nil {
						x = excelize.Cell{StyleID: bold, Value: x}
					}
					cells = append(cells, x)
				}
			}
			addr, err := excelize.CoordinatesToCellName(1, r+1)
			if err != nil {
				return err
			}
			if err := sw.SetRow(addr, cells); err != nil {
				return fmt.Errorf("reports: sheet %s row %d: %w", name, r+1, err)
			}
		}
		if err := sw.Flush(); err != nil {
			return fmt.Errorf("reports: sheet %s: %w", name, err)
		}
	}
	f.SetActiveSheet(0)
	if _, err := f.WriteTo(w); err != nil {
		return fmt.Errorf("reports: write xlsx: %w", err)
	}
	return nil
}
