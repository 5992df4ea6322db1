package catalog

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/uptrace/bun"
	"github.com/xuri/excelize/v2"
	"golang.org/x/text/runes"
	"golang.org/x/text/transform"
	"golang.org/x/text/unicode/norm"

	"github.com/loket-kinderopvang/loket/internal/geo"
	"github.com/loket-kinderopvang/loket/internal/platform/ids"
)

// The import reads Opgroeien's public list of licensed locations (CSV or
// XLSX) and brings the catalogue in line with it. It is all-or-nothing: every
// row is parsed and checked (with Location.Validate and Provider.Validate)
// before anything is written, and one bad row refuses the whole file. The
// columns are documented in docs/catalog-import.md; keep the two in step.

// importBatch is how many locations one statement writes or reads. bun
// inlines values, but should it ever bind them, 500 rows × 30 columns stays
// well below SQLite's limit of 32,766 host parameters.
const importBatch = 500

// progressEvery is how many rows pass between two progress reports.
const progressEvery = 500

// Import stages, as reported to ImportOptions.Progress.
const (
	StageReading  = "reading"
	StageChecking = "checking"
	StageSaving   = "saving"
)

// ImportProgress says how far an import got. Total is 0 while reading (a
// streamed file's length is not known in advance).
type ImportProgress struct {
	Stage       string
	Done, Total int
}

// ImportOptions tune an import.
type ImportOptions struct {
	// DryRun checks the file and counts what would change, writing nothing.
	DryRun bool
	// Progress, if set, hears how far the import got, every few hundred rows.
	Progress func(ImportProgress)
}

func (o ImportOptions) report(stage string, done, total int) {
	if o.Progress != nil {
		o.Progress(ImportProgress{Stage: stage, Done: done, Total: total})
	}
}

// ImportReport says what an import did (or, on a dry run, would do).
type ImportReport struct {
	Rows                        int
	Created, Updated, Unchanged int
	ProvidersCreated            int
	ProvidersUpdated            int
	// IgnoredColumns are headers the importer does not know; a typo in an
	// optional column's name shows up here.
	IgnoredColumns []string
	DryRun         bool
}

// ImportProblem is one thing wrong with an import file.
type ImportProblem struct {
	// Row is the row as a spreadsheet numbers it: the header is row 1.
	Row int `json:"row"`
	// Column is the header as written in the file (the documented name when
	// the column is missing); empty for the row or file as a whole.
	Column string `json:"column,omitempty"`
	// Code names the rule (the FieldError codes of Validate, or an import
	// code such as "number" or "duplicate_dossier").
	Code    string `json:"code"`
	Message string `json:"message"`
}

func (p ImportProblem) String() string {
	if p.Column == "" {
		return fmt.Sprintf("row %d: %s", p.Row, p.Message)
	}
	return fmt.Sprintf("row %d, column %q: %s", p.Row, p.Column, p.Message)
}

// ImportError refuses a whole file: nothing was written. It lists every
// problem, row by row.
type ImportError struct {
	File     string
	Problems []ImportProblem
}

// Rows is the number of distinct rows with a problem.
func (e *ImportError) Rows() int {
	seen := map[int]bool{}
	for _, p := range e.Problems {
		seen[p.Row] = true
	}
	return len(seen)
}

func (e *ImportError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "import of %s refused, nothing was written: %d problem(s) in %d row(s)", e.File, len(e.Problems), e.Rows())
	for _, p := range e.Problems {
		b.WriteString("\n  ")
		b.WriteString(p.String())
	}
	return b.String()
}

// column identifies one known column of the import file.
type column int

const (
	colDossier column = iota
	colName
	colProvider
	colKBO
	colStreet
	colHouseNumber
	colPostcode
	colMunicipality
	colType
	colPlaces
	colTier
	colLat
	colLon
	colMinAge
	colMaxAge
	colEarly
	colLate
	colWeekend
	colInclusive
	colOccasional
	colAccepts
	colEmail
	colPhone
	colWebsite
	colLanguages
	numColumns
)

type columnSpec struct {
	header   string // the documented header
	required bool
	aliases  []string // other headers seen in Opgroeien's exports and by hand
}

// columns lists the known headers. Headers match after normalizeHeader, so
// "E-mail", "email" and "E mail" are one column.
var columns = [numColumns]columnSpec{
	colDossier:      {"dossiernummer", true, []string{"dossier", "dossiernr", "dossier nummer"}},
	colName:         {"naam", true, []string{"naam opvanglocatie", "naam locatie", "opvanglocatie", "locatie"}},
	colProvider:     {"organisator", true, []string{"naam organisator", "organisatie"}},
	colKBO:          {"ondernemingsnummer", false, []string{"kbo", "kbo-nummer", "kbo nummer", "ondernemingsnummer organisator"}},
	colStreet:       {"straat", true, []string{"adres", "straat en huisnummer"}},
	colHouseNumber:  {"huisnummer", false, []string{"nr", "nummer"}},
	colPostcode:     {"postcode", true, nil},
	colMunicipality: {"gemeente", true, []string{"nis-code", "nis", "niscode", "gemeente nis"}},
	colType:         {"type", true, []string{"type opvang", "opvangtype", "soort opvang"}},
	colPlaces:       {"plaatsen", true, []string{"aantal plaatsen", "vergunde plaatsen", "capaciteit"}},
	colTier:         {"subsidietrap", true, []string{"trap", "subsidie trap"}},
	colLat:          {"lat", false, []string{"breedtegraad", "latitude"}},
	colLon:          {"lon", false, []string{"lengtegraad", "longitude", "lng"}},
	colMinAge:       {"min leeftijd (maanden)", false, []string{"min leeftijd", "minimumleeftijd", "leeftijd van"}},
	colMaxAge:       {"max leeftijd (maanden)", false, []string{"max leeftijd", "maximumleeftijd", "leeftijd tot"}},
	colEarly:        {"vroeg open", false, []string{"vroege opvang", "vroege uren"}},
	colLate:         {"laat open", false, []string{"late opvang", "late uren"}},
	colWeekend:      {"weekend", false, []string{"weekendopvang", "open in het weekend"}},
	colInclusive:    {"inclusieve opvang", false, []string{"inclusief"}},
	colOccasional:   {"occasionele opvang", false, []string{"occasioneel"}},
	colAccepts:      {"neemt aanvragen aan", false, []string{"aanvragen", "neemt aanvragen"}},
	colEmail:        {"e-mail", false, []string{"mail", "e-mailadres"}},
	colPhone:        {"telefoon", false, []string{"tel", "telefoonnummer"}},
	colWebsite:      {"website", false, []string{"site", "webadres"}},
	colLanguages:    {"talen", false, []string{"taal"}},
}

// headerIndex maps a normalized header to its column.
var headerIndex = func() map[string]column {
	m := map[string]column{}
	for c, spec := range columns {
		m[normalizeHeader(spec.header)] = column(c)
		for _, a := range spec.aliases {
			m[normalizeHeader(a)] = column(c)
		}
	}
	return m
}()

// fold lowercases s and strips accents, so "Gemeente" and "gemeënte" match.
func fold(s string) string {
	ascii := true
	for i := 0; i < len(s) && ascii; i++ {
		ascii = s[i] < utf8.RuneSelf
	}
	if ascii {
		return strings.ToLower(s) // most cells: no accents to strip
	}
	t := transform.Chain(norm.NFD, runes.Remove(runes.In(unicode.Mn)), norm.NFC)
	out, _, err := transform.String(t, s)
	if err != nil {
		out = s
	}
	return strings.ToLower(out)
}

// normalizeHeader keeps only the letters and digits of a folded header.
func normalizeHeader(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			return r
		}
		return -1
	}, fold(s))
}

// validationColumn says which column a Validate field comes from.
var validationColumn = map[string]column{
	"dossier_number": colDossier,
	"name":           colName,
	"municipality":   colMunicipality,
	"postcode":       colPostcode,
	"places":         colPlaces,
	"type":           colType,
	"subsidy_tier":   colTier,
	"price_type":     colTier,
	"languages":      colLanguages,
	"email":          colEmail,
	"website":        colWebsite,
	"provider":       colProvider,
	"kbo_number":     colKBO,
}

// layout is where each known column sits in the file.
type layout struct {
	index   [numColumns]int    // cell index, -1 when absent
	headers [numColumns]string // the header as written
	ignored []string
}

func (lo *layout) has(c column) bool { return lo.index[c] >= 0 }

// name is how a report names column c: as written in the file, or as
// documented when the file lacks it.
func (lo *layout) name(c column) string {
	if lo.has(c) {
		return lo.headers[c]
	}
	return columns[c].header
}

// readHeader maps the header row; problems are reported on row 1.
func readHeader(cells []string) (*layout, []ImportProblem) {
	lo := &layout{}
	for i := range lo.index {
		lo.index[i] = -1
	}
	var probs []ImportProblem
	for i, h := range cells {
		h = strings.TrimSpace(h)
		if h == "" {
			continue
		}
		c, ok := headerIndex[normalizeHeader(h)]
		if !ok {
			lo.ignored = append(lo.ignored, h)
			continue
		}
		if lo.has(c) {
			probs = append(probs, ImportProblem{Row: 1, Column: h, Code: "duplicate_column",
				Message: fmt.Sprintf("this is the same column as %q", lo.headers[c])})
			continue
		}
		lo.index[c], lo.headers[c] = i, h
	}
	for c, spec := range columns {
		if spec.required && !lo.has(column(c)) {
			probs = append(probs, ImportProblem{Row: 1, Column: spec.header, Code: "missing_column",
				Message: "this required column is missing"})
		}
	}
	if lo.has(colLat) != lo.has(colLon) {
		missing := colLat
		if lo.has(colLat) {
			missing = colLon
		}
		probs = append(probs, ImportProblem{Row: 1, Column: columns[missing].header, Code: "missing_column",
			Message: "lat and lon go together: add both columns or neither"})
	}
	return lo, probs
}

// importRow is one parsed row of the file.
type importRow struct {
	row      int
	loc      Location
	provider Provider
	// centre is true when the row gave no coordinates: they are derived
	// from the postcode or the municipality.
	centre bool
}

type kboUse struct {
	row  int
	name string
}

// parser turns the rows of a file into locations, collecting every problem.
type parser struct {
	lo       *layout
	rows     []importRow
	problems []ImportProblem
	dossiers map[string]int    // dossier number → first row
	kboNames map[string]kboUse // KBO number → first use, to catch one number under two names
	munis    map[string]geo.NISCode
}

func newParser() *parser {
	p := &parser{dossiers: map[string]int{}, kboNames: map[string]kboUse{}, munis: map[string]geo.NISCode{}}
	for _, m := range geo.Municipalities() {
		p.munis[normalizeHeader(m.NameNL)] = m.NIS
		p.munis[normalizeHeader(m.NameFR)] = m.NIS
	}
	return p
}

// add takes one row of the file; the first is the header. Rows without any
// text are skipped (but keep their number).
func (p *parser) add(row int, cells []string) {
	if p.lo == nil {
		if row != 1 || blank(cells) {
			p.problems = append(p.problems, ImportProblem{Row: 1, Code: "header",
				Message: "row 1 must hold the column names (dossiernummer, naam, …)"})
			p.lo = &layout{}
			return
		}
		var probs []ImportProblem
		p.lo, probs = readHeader(cells)
		p.problems = append(p.problems, probs...)
		return
	}
	if blank(cells) || len(p.problems) > 0 && p.problems[0].Row == 1 {
		return // no row makes sense without a usable header
	}
	p.parseRow(row, cells)
}

func blank(cells []string) bool {
	for _, c := range cells {
		if strings.TrimSpace(c) != "" {
			return false
		}
	}
	return true
}

func (p *parser) parseRow(row int, cells []string) {
	lo := p.lo
	var probs []ImportProblem
	bad := func(c column, code, format string, args ...any) {
		probs = append(probs, ImportProblem{Row: row, Column: lo.name(c), Code: code, Message: fmt.Sprintf(format, args...)})
	}
	cell := func(c column) string {
		if i := lo.index[c]; i >= 0 && i < len(cells) {
			return strings.TrimSpace(cells[i])
		}
		return ""
	}
	intCell := func(c column, def int) int {
		s := cell(c)
		if s == "" {
			return def
		}
		if n, err := strconv.Atoi(s); err == nil {
			return n
		}
		// A spreadsheet may hold 12 as 12.0.
		if f, err := strconv.ParseFloat(strings.Replace(s, ",", ".", 1), 64); err == nil && f == float64(int(f)) {
			return int(f)
		}
		bad(c, "number", "%q is not a whole number", s)
		return def
	}
	floatCell := func(c column) float64 {
		s := cell(c)
		// Belgian spreadsheets write a decimal comma.
		f, err := strconv.ParseFloat(strings.Replace(s, ",", ".", 1), 64)
		if err != nil {
			bad(c, "decimal", "%q is not a decimal number such as 50.8798", s)
		}
		return f
	}
	boolCell := func(c column, def bool) bool {
		s := cell(c)
		if s == "" {
			return def
		}
		v, ok := parseYesNo(s)
		if !ok {
			bad(c, "yes_no", "%q is not ja or nee", s)
			return def
		}
		return v
	}

	l := Location{
		DossierNumber:   cell(colDossier),
		Name:            cell(colName),
		Street:          cell(colStreet),
		Postcode:        cell(colPostcode),
		MunicipalityNIS: p.municipality(cell(colMunicipality)),
		CareType:        parseCareType(cell(colType)),
		SubsidyTier:     parseTier(cell(colTier)),
		LicensedPlaces:  intCell(colPlaces, 0),
		MinAgeMonths:    intCell(colMinAge, 0),
		MaxAgeMonths:    intCell(colMaxAge, 36),
		EarlyHours:      boolCell(colEarly, false),
		LateHours:       boolCell(colLate, false),
		Weekend:         boolCell(colWeekend, false),
		InclusiveCare:   boolCell(colInclusive, false),
		OccasionalCare:  boolCell(colOccasional, false),
		AcceptsRequests: boolCell(colAccepts, true),
		Languages:       parseLanguages(cell(colLanguages)),
		Email:           cell(colEmail),
		Phone:           cell(colPhone),
		Website:         cell(colWebsite),
	}
	if n := cell(colHouseNumber); n != "" {
		l.Street = strings.TrimSpace(l.Street + " " + n)
	}
	l.PriceType = l.SubsidyTier.PriceType()
	r := importRow{row: row}
	if cell(colLat) != "" || cell(colLon) != "" {
		l.Lat, l.Lon = floatCell(colLat), floatCell(colLon)
	} else {
		r.centre = true
		pt := centre(l.Postcode, l.MunicipalityNIS)
		l.Lat, l.Lon = pt.Lat, pt.Lon
	}
	l.Neighbourhood = neighbourhood(l.Postcode, l.MunicipalityNIS)
	r.loc = l
	r.provider = Provider{Name: cell(colProvider), KBONumber: normalizeKBOCell(cell(colKBO))}

	probs = append(probs, p.check(row, &r, probs)...)
	if l.DossierNumber != "" {
		if first, dup := p.dossiers[l.DossierNumber]; dup {
			bad(colDossier, "duplicate_dossier", "dossier number %q is also on row %d", l.DossierNumber, first)
		} else {
			p.dossiers[l.DossierNumber] = row
		}
	}
	if kbo := r.provider.KBONumber; kbo != "" && ValidKBO(kbo) {
		if first, seen := p.kboNames[kbo]; !seen {
			p.kboNames[kbo] = kboUse{row: row, name: r.provider.Name}
		} else if first.name != r.provider.Name {
			bad(colProvider, "provider_name", "row %d names enterprise number %s %q, this row %q", first.row, kbo, first.name, r.provider.Name)
		}
	}
	if len(probs) > 0 {
		p.problems = append(p.problems, probs...)
		return
	}
	p.rows = append(p.rows, r)
}

// check runs the catalogue rules on a row and names the columns at fault.
// A rule broken in a column that already has a problem (a number that is not
// a number) is left out: the first problem explains it.
func (p *parser) check(row int, r *importRow, already []ImportProblem) []ImportProblem {
	var probs []ImportProblem
	lo := p.lo
	reported := func(cs ...column) bool {
		for _, a := range already {
			for _, c := range cs {
				if a.Column == lo.name(c) {
					return true
				}
			}
		}
		return false
	}
	add := func(err error) {
		var ves ValidationErrors
		if !errors.As(err, &ves) {
			if err != nil {
				probs = append(probs, ImportProblem{Row: row, Code: "invalid", Message: err.Error()})
			}
			return
		}
		for _, fe := range ves {
			name := ""
			switch {
			case fe.Field == "coordinates" && r.centre:
				if _, ok := geo.LookupMunicipality(r.loc.MunicipalityNIS); !ok {
					continue // the unknown municipality says it already
				}
				name = lo.name(colPostcode)
			case fe.Field == "coordinates":
				if reported(colLat, colLon) {
					continue
				}
				name = lo.name(colLat)
			case fe.Field == "age_range":
				name = lo.name(colMinAge)
				if !lo.has(colMinAge) && lo.has(colMaxAge) {
					name = lo.name(colMaxAge)
				}
			default:
				if c, ok := validationColumn[fe.Field]; ok {
					name = lo.name(c)
				}
			}
			if name != "" && slices.ContainsFunc(already, func(a ImportProblem) bool { return a.Column == name }) {
				continue
			}
			probs = append(probs, ImportProblem{Row: row, Column: name, Code: fe.Code, Message: fe.Message})
		}
	}
	add(r.loc.Validate())
	add(r.provider.Validate())
	return probs
}

// municipality reads a NIS code or a Dutch or French municipality name. An
// unknown value is kept as is, so Validate names it.
func (p *parser) municipality(s string) geo.NISCode {
	if nis := geo.NISCode(s); nis.Valid() {
		return nis
	}
	if nis, ok := p.munis[normalizeHeader(s)]; ok {
		return nis
	}
	return geo.NISCode(s)
}

// centre is a location's best guess without coordinates: the centre of its
// postcode (when the postcode lies in its municipality), else of its
// municipality; zero when the municipality is unknown too.
func centre(postcode string, nis geo.NISCode) geo.Point {
	if pc, ok := geo.LookupPostcode(postcode); ok && pc.MunicipalityNIS == nis {
		return pc.Point
	}
	if m, ok := geo.LookupMunicipality(nis); ok {
		return geo.Point{Lat: m.Lat, Lon: m.Lon}
	}
	return geo.Point{}
}

// neighbourhood is the deelgemeente a postcode names, when the municipality
// knows it under that name (3001 Heverlee in Leuven).
func neighbourhood(postcode string, nis geo.NISCode) string {
	pc, ok := geo.LookupPostcode(postcode)
	if !ok || pc.MunicipalityNIS != nis {
		return ""
	}
	m, _ := geo.LookupMunicipality(nis)
	if slices.Contains(m.Neighbourhoods, pc.Name) {
		return pc.Name
	}
	return ""
}

func parseYesNo(s string) (bool, bool) {
	switch fold(strings.TrimSpace(s)) {
	case "ja", "j", "yes", "y", "true", "waar", "1", "x", "oui", "vrai", "wahr":
		return true, true
	case "nee", "n", "no", "false", "onwaar", "0", "non", "faux", "-":
		return false, true
	}
	return false, false
}

func parseCareType(s string) CareType {
	switch normalizeHeader(s) {
	case "gezinsopvang":
		return Gezinsopvang
	case "groepsopvang":
		return Groepsopvang
	}
	return CareType(s)
}

// parseTier accepts "T2A", "t2a", "trap 2A", "Subsidietrap 2a", "2A". Anything
// else is kept as written, so Validate names it.
func parseTier(s string) SubsidyTier {
	k := strings.ToUpper(normalizeHeader(s))
	for _, prefix := range []string{"SUBSIDIETRAP", "TRAP", "TIER", "T"} {
		if rest, ok := strings.CutPrefix(k, prefix); ok {
			k = rest
			break
		}
	}
	for _, t := range Tiers {
		if string(t[1:]) == k && k != "" {
			return t
		}
	}
	return SubsidyTier(s)
}

var languageNames = map[string]string{
	"nederlands": "nl", "frans": "fr", "engels": "en", "duits": "de",
	"francais": "fr", "neerlandais": "nl", "anglais": "en", "allemand": "de",
}

// parseLanguages reads "nl, fr" or "Nederlands; Frans". Never nil: the
// column is NOT NULL JSON.
func parseLanguages(s string) []string {
	out := []string{}
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return strings.ContainsRune(",;/| ", r) }) {
		f = fold(f)
		if code, ok := languageNames[f]; ok {
			f = code
		}
		if !slices.Contains(out, f) {
			out = append(out, f)
		}
	}
	return out
}

// normalizeKBOCell also restores the leading zero a spreadsheet drops when
// the enterprise number was typed as a number.
func normalizeKBOCell(s string) string {
	k := NormalizeKBO(s)
	if len(k) == 9 && strings.Trim(k, "0123456789") == "" {
		k = "0" + k
	}
	return k
}

// ImportFile imports a CSV or XLSX file; see Import.
func (s *Store) ImportFile(ctx context.Context, path string, opts ImportOptions) (ImportReport, error) {
	f, err := os.Open(path)
	if err != nil {
		return ImportReport{}, fmt.Errorf("catalog: import: %w", err)
	}
	defer f.Close()
	return s.Import(ctx, filepath.Base(path), f, opts)
}

// Import reads an import file (CSV with ; or , or XLSX, told apart by their
// content) named name, checks every row and, when all are good, writes them
// in one transaction. A bad file returns *ImportError and writes nothing.
// Locations are matched by dossier number, providers by enterprise number,
// else by exact name; a location whose data did not change is not written.
func (s *Store) Import(ctx context.Context, name string, r io.Reader, opts ImportOptions) (ImportReport, error) {
	rows, lo, err := readImport(name, r, opts)
	if err != nil {
		return ImportReport{}, err
	}
	base := ImportReport{Rows: len(rows), IgnoredColumns: lo.ignored, DryRun: opts.DryRun}
	var rep ImportReport
	err = s.db.Transact(ctx, func(ctx context.Context, tx bun.Tx) error {
		var err error
		// A retried transaction starts again from the file's rows.
		rep, err = s.applyImport(ctx, tx, name, slices.Clone(rows), lo, opts, base)
		return err
	})
	if err != nil {
		return ImportReport{}, err
	}
	return rep, nil
}

// readImport reads and checks the file; it needs no database.
func readImport(name string, r io.Reader, opts ImportOptions) ([]importRow, *layout, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	magic, _ := br.Peek(8)
	p := newParser()
	emit := func(row int, cells []string) {
		p.add(row, cells)
		if row > 1 && (row-1)%progressEvery == 0 {
			opts.report(StageReading, row-1, 0)
		}
	}
	var err error
	switch {
	case bytes.HasPrefix(magic, []byte("PK\x03\x04")):
		err = readXLSX(br, emit)
	case bytes.HasPrefix(magic, []byte{0xD0, 0xCF, 0x11, 0xE0}):
		err = errors.New("this is an old Excel file (.xls): save it as .xlsx or as CSV UTF-8")
	default:
		err = readCSV(br, emit)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("catalog: import %s: %w", name, err)
	}
	if p.lo == nil {
		return nil, nil, fmt.Errorf("catalog: import %s: the file is empty", name)
	}
	opts.report(StageReading, len(p.rows)+countRows(p.problems), 0)
	if len(p.problems) > 0 {
		return nil, nil, &ImportError{File: name, Problems: p.problems}
	}
	if len(p.rows) == 0 {
		return nil, nil, &ImportError{File: name, Problems: []ImportProblem{{Row: 2, Code: "empty",
			Message: "the file has column names but no locations"}}}
	}
	return p.rows, p.lo, nil
}

func countRows(probs []ImportProblem) int {
	seen := map[int]bool{}
	for _, p := range probs {
		seen[p.Row] = true
	}
	return len(seen)
}

// readCSV reads UTF-8 CSV (with or without byte order mark) separated by ;
// or , whichever the header uses more.
func readCSV(r *bufio.Reader, emit func(row int, cells []string)) error {
	if bom, _ := r.Peek(3); bytes.Equal(bom, []byte{0xEF, 0xBB, 0xBF}) {
		_, _ = r.Discard(3)
	}
	head, _ := r.Peek(r.Size())
	if i := bytes.IndexByte(head, '\n'); i >= 0 {
		head = head[:i]
	}
	cr := csv.NewReader(r)
	cr.Comma = sniffDelimiter(head)
	cr.FieldsPerRecord = -1 // short rows simply lack their last cells
	cr.LazyQuotes = true    // names such as Kinderdagverblijf "De Zon"
	cr.ReuseRecord = true
	// A spreadsheet shows a cell with line breaks as one row, so every
	// embedded line break shifts the line numbers against the row numbers.
	extraLines := 0
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("not readable as CSV: %w", err)
		}
		line, _ := cr.FieldPos(0)
		row := line - extraLines
		for _, f := range rec {
			if !utf8.ValidString(f) {
				return fmt.Errorf("row %d is not UTF-8 text: save the file as \"CSV UTF-8\"", row)
			}
			extraLines += strings.Count(f, "\n")
		}
		emit(row, rec)
	}
}

// sniffDelimiter picks ; or , (or a tab) by counting them outside quotes.
func sniffDelimiter(header []byte) rune {
	counts := map[rune]int{}
	quoted := false
	for _, b := range header {
		switch {
		case b == '"':
			quoted = !quoted
		case !quoted && (b == ';' || b == ',' || b == '\t'):
			counts[rune(b)]++
		}
	}
	best := ','
	for _, d := range []rune{';', '\t'} {
		if counts[d] > counts[best] {
			best = d
		}
	}
	return best
}

// readXLSX streams the first sheet of a workbook. Raw values keep
// coordinates exact (a number format would round them).
func readXLSX(r io.Reader, emit func(row int, cells []string)) error {
	f, err := excelize.OpenReader(r, excelize.Options{RawCellValue: true})
	if err != nil {
		return fmt.Errorf("not readable as XLSX: %w", err)
	}
	defer f.Close()
	sheets := f.GetSheetList()
	if len(sheets) == 0 {
		return errors.New("the workbook has no sheets")
	}
	rows, err := f.Rows(sheets[0])
	if err != nil {
		return fmt.Errorf("sheet %q: %w", sheets[0], err)
	}
	defer rows.Close()
	// Next visits every row number, empty ones included, so the count is the
	// row number a spreadsheet shows.
	for n := 1; rows.Next(); n++ {
		cells, err := rows.Columns(excelize.Options{RawCellValue: true})
		if err != nil {
			return fmt.Errorf("sheet %q row %d: %w", sheets[0], n, err)
		}
		emit(n, cells)
	}
	if err := rows.Error(); err != nil {
		return fmt.Errorf("sheet %q: %w", sheets[0], err)
	}
	return nil
}

// applyImport matches the rows with the catalogue and, unless it is a dry
// run, writes what changed. It runs in one transaction.
func (s *Store) applyImport(ctx context.Context, tx bun.Tx, name string, rows []importRow, lo *layout, opts ImportOptions, rep ImportReport) (ImportReport, error) {
	now := s.clock.Now()
	if !opts.DryRun {
		// Locations point at municipalities; a fresh database may not have
		// the reference data yet. Sync writes nothing when it is current.
		if _, err := geo.Sync(ctx, tx); err != nil {
			return rep, fmt.Errorf("catalog: import: %w", err)
		}
	}
	existing, err := existingLocations(ctx, tx, rows)
	if err != nil {
		return rep, err
	}
	providers, err := resolveProviders(ctx, tx, rows, now)
	if err != nil {
		return rep, err
	}

	var write []*Location
	var probs []ImportProblem
	for i := range rows {
		if i > 0 && i%progressEvery == 0 {
			opts.report(StageChecking, i, len(rows))
		}
		r := &rows[i]
		l := &r.loc
		l.ProviderID = providers.byRow[i].ID
		e, found := existing[l.DossierNumber]
		if !found {
			rep.Created++
			write = append(write, l)
			continue
		}
		keepStored(l, e, lo, r.centre)
		if err := l.Validate(); err != nil {
			// Values kept from the catalogue broke a rule together with the
			// file's values (a new minimum age above the stored maximum).
			probs = append(probs, (&parser{lo: lo}).check(r.row, r, nil)...)
			continue
		}
		if sameLocation(*l, *e) {
			rep.Unchanged++
			continue
		}
		rep.Updated++
		write = append(write, l)
	}
	if len(probs) > 0 {
		return rep, &ImportError{File: name, Problems: probs}
	}
	opts.report(StageChecking, len(rows), len(rows))
	rep.ProvidersCreated, rep.ProvidersUpdated = len(providers.created), len(providers.updated)
	if opts.DryRun {
		return rep, nil
	}

	if err := providers.write(ctx, tx); err != nil {
		return rep, err
	}
	for start := 0; start < len(write); start += importBatch {
		end := min(start+importBatch, len(write))
		if err := upsertLocations(ctx, tx, write[start:end], now); err != nil {
			return rep, fmt.Errorf("catalog: import: %w", err)
		}
		opts.report(StageSaving, end, len(write))
	}
	return rep, nil
}

// existingLocations reads the stored locations of the file's dossier numbers.
func existingLocations(ctx context.Context, tx bun.IDB, rows []importRow) (map[string]*Location, error) {
	out := make(map[string]*Location, len(rows))
	for start := 0; start < len(rows); start += importBatch {
		batch := rows[start:min(start+importBatch, len(rows))]
		dossiers := make([]string, len(batch))
		for i, r := range batch {
			dossiers[i] = r.loc.DossierNumber
		}
		var ls []Location
		if err := tx.NewSelect().Model(&ls).Where("dossier_number IN (?)", bun.In(dossiers)).Scan(ctx); err != nil {
			return nil, fmt.Errorf("catalog: import: read locations: %w", err)
		}
		for i := range ls {
			out[ls[i].DossierNumber] = &ls[i]
		}
	}
	return out, nil
}

// keepStored keeps what the file does not say: a column absent from the file
// leaves the stored value alone (providers keep e-mail, hours and
// languages current in Loket), and so do coordinates derived from the
// postcode while the address stays the same.
func keepStored(l, e *Location, lo *layout, centre bool) {
	l.OpeningHours = e.OpeningHours
	if l.Neighbourhood == "" {
		l.Neighbourhood = e.Neighbourhood
	}
	if centre && l.Street == e.Street && l.Postcode == e.Postcode && l.MunicipalityNIS == e.MunicipalityNIS {
		l.Lat, l.Lon = e.Lat, e.Lon
	}
	keep := []struct {
		c   column
		set func()
	}{
		{colMinAge, func() { l.MinAgeMonths = e.MinAgeMonths }},
		{colMaxAge, func() { l.MaxAgeMonths = e.MaxAgeMonths }},
		{colEarly, func() { l.EarlyHours = e.EarlyHours }},
		{colLate, func() { l.LateHours = e.LateHours }},
		{colWeekend, func() { l.Weekend = e.Weekend }},
		{colInclusive, func() { l.InclusiveCare = e.InclusiveCare }},
		{colOccasional, func() { l.OccasionalCare = e.OccasionalCare }},
		{colAccepts, func() { l.AcceptsRequests = e.AcceptsRequests }},
		{colEmail, func() { l.Email = e.Email }},
		{colPhone, func() { l.Phone = e.Phone }},
		{colWebsite, func() { l.Website = e.Website }},
		{colLanguages, func() { l.Languages = slices.Clone(e.Languages) }},
	}
	for _, k := range keep {
		if !lo.has(k.c) {
			k.set()
		}
	}
}

// sameLocation compares everything the catalogue shows, not the bookkeeping.
func sameLocation(a, b Location) bool {
	for _, l := range []*Location{&a, &b} {
		l.ID, l.CreatedAt, l.UpdatedAt = LocationID{}, time.Time{}, time.Time{}
		if len(l.Languages) == 0 {
			l.Languages = nil
		}
	}
	return reflect.DeepEqual(a, b)
}

// providerPlan is how the file's providers map onto stored ones.
type providerPlan struct {
	byRow            []*Provider // the provider of each row
	created, updated []*Provider
}

// resolveProviders matches every row's provider: by enterprise number; else
// by exact name (a stored provider without a number gets the file's number);
// else a new provider. Rows without a number join a provider of the same
// name from this file, else the oldest stored one of that name.
func resolveProviders(ctx context.Context, tx bun.IDB, rows []importRow, now time.Time) (*providerPlan, error) {
	var kbos, names []string
	for _, r := range rows {
		if r.provider.KBONumber != "" {
			kbos = append(kbos, r.provider.KBONumber)
		}
		names = append(names, r.provider.Name)
	}
	slices.Sort(kbos)
	kbos = slices.Compact(kbos)
	slices.Sort(names)
	names = slices.Compact(names)

	byKBO := map[string]*Provider{}
	byName := map[string][]*Provider{}
	load := func(col string, keys []string) error {
		for start := 0; start < len(keys); start += importBatch {
			var ps []*Provider
			if err := tx.NewSelect().Model(&ps).Where("? IN (?)", bun.Ident(col), bun.In(keys[start:min(start+importBatch, len(keys))])).
				Order("created_at", "id").Scan(ctx); err != nil {
				return fmt.Errorf("catalog: import: read providers: %w", err)
			}
			for _, p := range ps {
				if p.KBONumber != "" {
					if known, ok := byKBO[p.KBONumber]; ok {
						p = known // read by both number and name: keep one copy
					} else {
						byKBO[p.KBONumber] = p
					}
				}
				if col == "name" {
					byName[p.Name] = append(byName[p.Name], p)
				}
			}
		}
		return nil
	}
	if err := load("kbo_number", kbos); err != nil {
		return nil, err
	}
	if err := load("name", names); err != nil {
		return nil, err
	}

	plan := &providerPlan{byRow: make([]*Provider, len(rows))}
	changed := map[*Provider]bool{}
	fileByName := map[string]*Provider{}
	isNew := map[*Provider]bool{}
	create := func(name, kbo string) *Provider {
		p := &Provider{ID: ids.New[providerKind](), Name: name, KBONumber: kbo, CreatedAt: now, UpdatedAt: now}
		plan.created = append(plan.created, p)
		isNew[p] = true
		return p
	}
	// Rows with an enterprise number first, so that rows without one can
	// join the provider they name.
	for i, r := range rows {
		kbo, name := r.provider.KBONumber, r.provider.Name
		if kbo == "" {
			continue
		}
		p, ok := byKBO[kbo]
		if !ok {
			for _, cand := range byName[name] {
				if cand.KBONumber == "" {
					p, ok = cand, true
					p.KBONumber = kbo
					changed[p] = true
					break
				}
			}
		}
		if !ok {
			p = create(name, kbo)
		}
		byKBO[kbo] = p
		if p.Name != name {
			p.Name = name
			changed[p] = true
		}
		plan.byRow[i] = p
		if _, ok := fileByName[name]; !ok {
			fileByName[name] = p
		}
	}
	for i, r := range rows {
		if r.provider.KBONumber != "" {
			continue
		}
		name := r.provider.Name
		p, ok := fileByName[name]
		if !ok && len(byName[name]) > 0 {
			p, ok = byName[name][0], true
		}
		if !ok {
			p = create(name, "")
		}
		fileByName[name] = p
		plan.byRow[i] = p
	}
	for _, p := range plan.byRow {
		if changed[p] && !isNew[p] {
			delete(changed, p) // once, in file order
			p.UpdatedAt = now
			plan.updated = append(plan.updated, p)
		}
	}
	return plan, nil
}

func (pl *providerPlan) write(ctx context.Context, tx bun.IDB) error {
	for start := 0; start < len(pl.created); start += importBatch {
		batch := pl.created[start:min(start+importBatch, len(pl.created))]
		if _, err := tx.NewInsert().Model(&batch).Exec(ctx); err != nil {
			return fmt.Errorf("catalog: import: create providers: %w", err)
		}
	}
	for _, p := range pl.updated {
		if _, err := tx.NewUpdate().Model(p).Column("kbo_number", "name", "updated_at").WherePK().Exec(ctx); err != nil {
			return fmt.Errorf("catalog: import: update provider %s: %w", p.Name, err)
		}
	}
	return nil
}
