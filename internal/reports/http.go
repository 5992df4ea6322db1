package reports

import (
	"bytes"
	"errors"
	"fmt"
	"html/template"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/loket-kinderopvang/loket/internal/geo"
	"github.com/loket-kinderopvang/loket/internal/platform/authz"
	"github.com/loket-kinderopvang/loket/internal/platform/web"
	"github.com/loket-kinderopvang/loket/internal/tenant"
)

// Paths of the report pages. The regional page is a platform path: it
// belongs to no desk, also on a desk's own host name.
const (
	DeskPath       = "/loket/cijfers" // under /{tenant}
	RegionPrefix   = "/regio/"
	regionPagePath = "/regio/:nis/cijfers"
)

// PlatformPaths never belong to a desk (tenant.Handler.AlsoPlatform).
var PlatformPaths = []string{RegionPrefix}

// Options wire the handlers.
type Options struct {
	Service *Service
	Render  *web.Renderer
	// Desks fills the desk parts of a page (header, brand, languages).
	Desks *tenant.Handler
	Authz *authz.Authorizer
	// RequireUser lets only signed-in users through (account.Handler.RequireUser).
	RequireUser fiber.Handler
	// UserOf names the signed-in user (account.UserIDOf).
	UserOf func(*fiber.Ctx) (string, bool)
}

// Handler serves the report pages and exports.
type Handler struct{ o Options }

// NewHandler returns the report handlers.
func NewHandler(o Options) *Handler { return &Handler{o: o} }

func deskDomain(c *fiber.Ctx) (string, error) {
	t, ok := tenant.FromRequest(c)
	if !ok {
		return "", web.ErrUnknownDesk
	}
	return authz.Desk(t.Slug), nil
}

// RegionDomain is the authorisation domain of the region in the path
// (:nis); 404 for an unknown region. The crisis pages of a region use it too.
func RegionDomain(c *fiber.Ctx) (string, error) { return regionDomain(c) }

func regionDomain(c *fiber.Ctx) (string, error) {
	nis := c.Params("nis")
	if !geo.NISCode(nis).Valid() {
		return "", fiber.ErrNotFound
	}
	if _, ok := geo.LookupRegion(geo.NISCode(nis)); !ok {
		return "", fiber.ErrNotFound
	}
	return authz.Region(nis), nil
}

// Register adds every report route on app: the regional pages (platform
// paths) and the desk pages under /:tenant with resolveDesk in front. Call it
// before the /:tenant group, which would otherwise take /regio/… as a desk.
func (h *Handler) Register(app fiber.Router, resolveDesk fiber.Handler) {
	h.RegisterPlatform(app)
	h.RegisterDesk(app.Group("/:tenant", resolveDesk))
}

// RegisterDesk adds the desk's report page and exports on the /:tenant group.
// Desk staff with ReportsRead in tenant:<slug> see exact figures.
func (h *Handler) RegisterDesk(desk fiber.Router) {
	guard := []fiber.Handler{h.o.RequireUser, h.o.Authz.Require(authz.ReportsRead.Object(), authz.ReportsRead.Action(), deskDomain, h.o.UserOf)}
	desk.Get(DeskPath, append(guard, h.deskPage)...)
	desk.Get(DeskPath+"/export.xlsx", append(guard, h.deskExport("xlsx"))...)
	desk.Get(DeskPath+"/export.csv", append(guard, h.deskExport("csv"))...)
}

// RegisterPlatform adds the regional page and exports. Register it before
// the /:tenant group. A regional coordinator holds ReportsAggregate in
// region:<nis>; the service reads each desk of the region on purpose and
// logs it in that desk's event log.
func (h *Handler) RegisterPlatform(app fiber.Router) {
	guard := []fiber.Handler{h.o.RequireUser, h.o.Authz.Require(authz.ReportsAggregate.Object(), authz.ReportsAggregate.Action(), regionDomain, h.o.UserOf)}
	app.Get(regionPagePath, append(guard, h.regionPage)...)
	app.Get(regionPagePath+"/export.xlsx", append(guard, h.regionExport("xlsx"))...)
	app.Get(regionPagePath+"/export.csv", append(guard, h.regionExport("csv"))...)
}

// year reads ?jaar= (default: this year by the service's clock).
func (h *Handler) year(c *fiber.Ctx) (int, error) {
	this := h.o.Service.clock.Now().Year()
	s := c.Query("jaar")
	if s == "" {
		return this, nil
	}
	y, err := strconv.Atoi(s)
	if err != nil || y < 2000 || y > this+1 {
		return 0, fiber.NewError(fiber.StatusBadRequest, fmt.Sprintf("jaar must be a year between 2000 and %d", this+1))
	}
	return y, nil
}

func (h *Handler) deskReport(c *fiber.Ctx) (tenant.Tenant, DeskReport, error) {
	t, ok := tenant.FromRequest(c)
	if !ok {
		return t, DeskReport{}, web.ErrUnknownDesk
	}
	y, err := h.year(c)
	if err != nil {
		return t, DeskReport{}, err
	}
	rep, err := h.o.Service.Desk(c.UserContext(), t, y)
	return t, rep, err
}

func (h *Handler) deskPage(c *fiber.Ctx) error {
	t, rep, err := h.deskReport(c)
	if err != nil {
		return err
	}
	lang := web.LanguageOf(c)
	tr := h.o.Render.Translator(c)
	f, scope := rep.Desk, t.DisplayName(lang)
	base := "/" + t.Slug + DeskPath
	var whole *link
	if nis := c.Query("gemeente"); nis != "" {
		for _, m := range rep.Municipalities {
			if m.NIS == nis {
				f, scope = m.Figures, MunicipalityName(nis, lang)
				whole = &link{Label: tr.T("reports.whole_desk"), Href: base + "?jaar=" + strconv.Itoa(rep.Year)}
			}
		}
	}
	v := h.figuresView(tr, lang, f, rep.Year, base)
	v.Whole = whole
	v.Title = tr.T("reports.title.desk", "Year", rep.Year)
	v.Scope = scope
	v.Municipalities = municipalityRows(tr, lang, rep, base)
	v.Ahead = aheadView(tr, lang, rep.Ahead)
	if whole == nil { // the providers answer the whole desk, not one municipality
		v.Providers = providersView(tr, lang, rep)
	}
	v.Exports = exportLinks(tr, base, rep.Year, DeskExports)
	return h.o.Render.Render(c, fiber.StatusOK, "reports_figures", h.o.Desks.Page(c, t, v.Title, v))
}

func (h *Handler) deskExport(format string) fiber.Handler {
	return func(c *fiber.Ctx) error {
		t, rep, err := h.deskReport(c)
		if err != nil {
			return err
		}
		var buf bytes.Buffer
		name := fmt.Sprintf("cijfers-%s-%d", t.Slug, rep.Year)
		if format == "xlsx" {
			err = rep.WriteXLSX(&buf)
		} else {
			kind := c.Query("rapport", ExportOpgroeien)
			name += "-" + kind
			cf, ferr := CSVFormatOf(c)
			if ferr != nil {
				return ferr
			}
			err = rep.WriteCSV(&buf, kind, cf)
		}
		return sendFile(c, format, name, buf.Bytes(), err)
	}
}

// CSVFormatOf reads ?formaat= (empty: the Belgian CSV; csv-rfc: RFC 4180).
func CSVFormatOf(c *fiber.Ctx) (CSVFormat, error) {
	f, ok := CSVFormats[c.Query("formaat")]
	if !ok {
		return 0, fiber.NewError(fiber.StatusBadRequest, "formaat must be csv or csv-rfc")
	}
	return f, nil
}

func sendFile(c *fiber.Ctx, format, name string, body []byte, err error) error {
	if errors.Is(err, ErrUnknownExport) {
		return fiber.NewError(fiber.StatusBadRequest, "rapport must be one of the documented export kinds")
	}
	if err != nil {
		return err
	}
	if format == "xlsx" {
		c.Set(fiber.HeaderContentType, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
	} else {
		c.Set(fiber.HeaderContentType, "text/csv; charset=utf-8")
	}
	c.Set(fiber.HeaderContentDisposition, fmt.Sprintf(`attachment; filename="%s.%s"`, name, format))
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.Send(body)
}

func (h *Handler) regionReport(c *fiber.Ctx) (RegionReport, error) {
	y, err := h.year(c)
	if err != nil {
		return RegionReport{}, err
	}
	user, _ := h.o.UserOf(c)
	rep, err := h.o.Service.Region(c.UserContext(), user, c.Params("nis"), y)
	if errors.Is(err, ErrUnknownRegion) {
		return rep, fiber.ErrNotFound
	}
	return rep, err
}

func (h *Handler) regionPage(c *fiber.Ctx) error {
	rep, err := h.regionReport(c)
	if err != nil {
		return err
	}
	web.SetLanguage(c, web.PickLanguage(c, []string{"nl", "fr", "en"}, "nl"))
	lang := web.LanguageOf(c)
	tr := h.o.Render.Translator(c)
	base := RegionPrefix + rep.RegionNIS + "/cijfers"
	v := h.figuresView(tr, lang, rep.Total, rep.Year, base)
	v.Region = true
	v.Title = tr.T("reports.title.region", "Region", RegionName(rep.RegionNIS, lang), "Year", rep.Year)
	v.Scope = tr.T("reports.region.all_desks")
	v.Desks = regionDeskRows(tr, lang, rep)
	v.Cross = crossView(tr, lang, rep)
	v.Map = mapView(tr, lang, rep)
	v.Exports = exportLinks(tr, base, rep.Year, RegionExports)
	return h.o.Render.Render(c, fiber.StatusOK, "reports_figures", web.Page{Translator: tr, Title: v.Title, Data: v})
}

func (h *Handler) regionExport(format string) fiber.Handler {
	return func(c *fiber.Ctx) error {
		rep, err := h.regionReport(c)
		if err != nil {
			return err
		}
		var buf bytes.Buffer
		name := fmt.Sprintf("cijfers-regio-%s-%d", rep.RegionNIS, rep.Year)
		if format == "xlsx" {
			err = rep.WriteXLSX(&buf)
		} else {
			kind := c.Query("rapport", ExportRegionDesks)
			name += "-" + kind
			cf, ferr := CSVFormatOf(c)
			if ferr != nil {
				return ferr
			}
			err = rep.WriteCSV(&buf, kind, cf)
		}
		return sendFile(c, format, name, buf.Bytes(), err)
	}
}

// The view: everything translated and drawn in Go, so the template only prints.

type figureView struct {
	ID, Label, Value, Definition string
}

type rowView struct {
	Label, Value string
}

type sectionView struct {
	ID, Title, Definition string
	Chart                 template.HTML
	Rows                  []rowView
}

type tableView struct {
	Caption     string
	LabelHeader string
	Header      []string
	Rows        []tableRow
}

type tableRow struct {
	Label, Link string
	Cells       []string
}

type chartTable struct {
	Title string
	Defs  []figureView
	Chart template.HTML
	Table tableView
	Note  string
	// Totals and Shortage: the months ahead (totals per month, shortage per area and month).
	Totals, Shortage *tableView
	// Map: the regional map of unmet demand, drawn with its table beside;
	// Legend: its shading classes (Href is the CSS class) and their meaning.
	Map    template.HTML
	Legend []link
}

type yearLink struct {
	Year    int
	Href    string
	Current bool
}

type link struct{ Label, Href string }

type pageView struct {
	Title, Scope   string
	Whole          *link // back to the whole desk when one municipality is shown
	Region         bool
	Year           int
	Years          []yearLink
	Headline       []figureView
	Durations      []figureView
	HeadlineChart  template.HTML
	Sections       []sectionView
	Municipalities *tableView
	Desks          *tableView
	Ahead          *chartTable
	Providers      *chartTable // desk staff only
	Map            *chartTable // region: unmet demand per 100 births
	Cross          *chartTable
	Definitions    []figureView
	Exports        []link
}

// isMonthKey is a breakdown key that is a month.
var isMonthKey = regexp.MustCompile(`^\d{4}-\d{2}$`)

func (h *Handler) figuresView(tr web.Translator, lang string, f Figures, year int, base string) pageView {
	v := pageView{Year: year}
	this := h.o.Service.clock.Now().Year()
	for y := this - 3; y <= this; y++ {
		v.Years = append(v.Years, yearLink{Year: y, Href: base + "?jaar=" + strconv.Itoa(y), Current: y == year})
	}
	var bars []Bar
	for _, hl := range f.Headline() {
		d := DefinitionOf(hl.ID)
		v.Headline = append(v.Headline, figureView{ID: hl.ID, Label: d.LabelIn(lang), Value: hl.Count.String(), Definition: d.TextIn(lang)})
		bars = append(bars, Bar{Label: d.LabelIn(lang), Values: []BarValue{{N: hl.Count.N, Text: hl.Count.String()}}})
	}
	v.HeadlineChart = BarChart("chart-headline", tr.T("reports.headline"), nil, bars)
	for _, p := range f.Durations() {
		d := DefinitionOf(p.ID)
		v.Durations = append(v.Durations, figureView{ID: p.ID, Label: d.LabelIn(lang), Value: p.Days.In(lang), Definition: d.TextIn(lang)})
	}
	for _, b := range f.Breakdowns {
		d := DefinitionOf(b.ID)
		// A month breakdown's keys ("2027-03") are written out for people.
		label := func(r Row) string {
			l := RowLabel(b.ID, r, lang)
			if isMonthKey.MatchString(l) {
				return tr.Month(l)
			}
			return l
		}
		s := sectionView{ID: b.ID, Title: d.LabelIn(lang), Definition: d.TextIn(lang)}
		var bars []Bar
		for _, r := range b.Rows {
			s.Rows = append(s.Rows, rowView{Label: label(r), Value: r.Count.String()})
			bars = append(bars, Bar{Label: label(r), Values: []BarValue{{N: r.Count.N, Text: r.Count.String()}}})
		}
		s.Chart = BarChart("chart-"+b.ID, d.LabelIn(lang), nil, bars)
		v.Sections = append(v.Sections, s)
	}
	for _, d := range Definitions {
		v.Definitions = append(v.Definitions, figureView{ID: d.ID, Label: d.LabelIn(lang), Definition: d.TextIn(lang)})
	}
	return v
}

// headlineHeader and headlineCells are the columns of the side-by-side
// tables (municipalities of a desk, desks of a region): the counts, then
// the medians.
func headlineHeader(lang string) []string {
	var h []string
	for _, hl := range (Figures{}).Headline() {
		h = append(h, DefinitionOf(hl.ID).LabelIn(lang))
	}
	return append(h, DefinitionOf("first_answer_median").LabelIn(lang), DefinitionOf("placement_median").LabelIn(lang))
}

func headlineCells(f Figures, lang string) []string {
	var cells []string
	for _, hl := range f.Headline() {
		cells = append(cells, hl.Count.String())
	}
	return append(cells, f.FirstAnswerMedian.In(lang), f.PlacementMedian.In(lang))
}

func municipalityRows(tr web.Translator, lang string, rep DeskReport, base string) *tableView {
	if len(rep.Municipalities) == 0 {
		return nil
	}
	t := &tableView{Caption: tr.T("reports.municipalities"), LabelHeader: tr.T("reports.col.municipality"), Header: headlineHeader(lang)}
	for _, m := range rep.Municipalities {
		q := url.Values{"jaar": {strconv.Itoa(rep.Year)}, "gemeente": {m.NIS}}
		t.Rows = append(t.Rows, tableRow{Label: MunicipalityName(m.NIS, lang), Link: base + "?" + q.Encode(), Cells: headlineCells(m.Figures, lang)})
	}
	return t
}

func regionDeskRows(tr web.Translator, lang string, rep RegionReport) *tableView {
	t := &tableView{Caption: tr.T("reports.region.desks"), LabelHeader: tr.T("reports.col.desk"), Header: headlineHeader(lang)}
	for _, d := range rep.Desks {
		t.Rows = append(t.Rows, tableRow{Label: d.Name, Cells: headlineCells(d.Figures, lang)})
	}
	t.Rows = append(t.Rows, tableRow{Label: tr.T("reports.total"), Cells: headlineCells(rep.Total, lang)})
	return t
}

// aheadArea names an area of the months ahead as the breakdowns do: a
// request without a neighbourhood counts in "neighbourhood unknown".
func aheadArea(r AheadRow, lang string) string {
	return RowLabel("by_neighbourhood", Row{Key: r.MunicipalityNIS, Sub: r.Neighbourhood}, lang)
}

func aheadView(tr web.Translator, lang string, a Ahead) *chartTable {
	d := DefinitionOf("ahead_requests")
	ct := &chartTable{Title: tr.T("reports.ahead")}
	for _, id := range []string{"ahead_requests", "ahead_free", "ahead_short"} {
		dd := DefinitionOf(id)
		ct.Defs = append(ct.Defs, figureView{ID: id, Label: dd.LabelIn(lang), Definition: dd.TextIn(lang)})
	}
	header := []string{d.LabelIn(lang), DefinitionOf("ahead_free").LabelIn(lang), DefinitionOf("ahead_short").LabelIn(lang)}
	series := []Series{{Name: d.LabelIn(lang), Class: "chart-a"}, {Name: DefinitionOf("ahead_free").LabelIn(lang), Class: "chart-b"}}
	var bars []Bar
	ct.Totals = &tableView{Caption: tr.T("reports.ahead.totals"), LabelHeader: tr.T("reports.col.month"), Header: header}
	for _, t := range a.Totals {
		month := tr.Month(t.Month)
		bars = append(bars, Bar{Label: month, Values: []BarValue{{N: t.Requests.N, Text: t.Requests.String()}, {N: t.FreePlaces, Text: strconv.Itoa(t.FreePlaces)}}})
		ct.Totals.Rows = append(ct.Totals.Rows, tableRow{Label: month,
			Cells: []string{t.Requests.String(), strconv.Itoa(t.FreePlaces), strconv.Itoa(t.Shortage)}})
	}
	ct.Chart = BarChart("chart-ahead", ct.Title, series, bars)
	// The shortage of each area in each month: one row per area.
	ct.Shortage = &tableView{Caption: tr.T("reports.ahead.shortage"), LabelHeader: tr.T("reports.col.area")}
	for _, m := range a.Months {
		ct.Shortage.Header = append(ct.Shortage.Header, tr.Month(m))
	}
	areaRow := map[string]int{}
	for _, r := range a.Rows {
		area := aheadArea(r, lang)
		i, ok := areaRow[area]
		if !ok {
			i = len(ct.Shortage.Rows)
			areaRow[area] = i
			ct.Shortage.Rows = append(ct.Shortage.Rows, tableRow{Label: area, Cells: make([]string, len(a.Months))})
			for j := range a.Months {
				ct.Shortage.Rows[i].Cells[j] = "0"
			}
		}
		if j := slices.Index(a.Months, r.Month); j >= 0 {
			ct.Shortage.Rows[i].Cells[j] = strconv.Itoa(r.Shortage)
		}
	}
	slices.SortFunc(ct.Shortage.Rows, func(x, y tableRow) int { return strings.Compare(x.Label, y.Label) })
	ct.Table = tableView{Caption: tr.T("reports.ahead.table"), LabelHeader: tr.T("reports.col.area"), Header: header}
	for _, r := range a.Rows {
		ct.Table.Rows = append(ct.Table.Rows, tableRow{Label: tr.Month(r.Month) + " · " + aheadArea(r, lang),
			Cells: []string{r.Requests.String(), strconv.Itoa(r.FreePlaces), strconv.Itoa(r.Shortage)}})
	}
	if len(a.Rows) == 0 {
		ct.Note = tr.T("reports.none")
		ct.Shortage = nil
	}
	return ct
}

func crossView(tr web.Translator, lang string, rep RegionReport) *chartTable {
	d := DefinitionOf("cross_border")
	ct := &chartTable{Title: d.LabelIn(lang), Defs: []figureView{{ID: d.ID, Label: d.LabelIn(lang), Definition: d.TextIn(lang)}}}
	ct.Table = tableView{Caption: d.LabelIn(lang), LabelHeader: tr.T("reports.col.from"), Header: []string{tr.T("reports.col.to"), tr.T("reports.col.requests")}}
	var bars []Bar
	for _, c := range rep.Cross {
		label := MunicipalityName(c.FromNIS, lang) + " → " + MunicipalityName(c.ToNIS, lang)
		bars = append(bars, Bar{Label: label, Values: []BarValue{{N: c.Requests.N, Text: c.Requests.String()}}})
		ct.Table.Rows = append(ct.Table.Rows, tableRow{Label: MunicipalityName(c.FromNIS, lang), Cells: []string{MunicipalityName(c.ToNIS, lang), c.Requests.String()}})
	}
	ct.Chart = BarChart("chart-cross", d.LabelIn(lang), nil, bars)
	notes := []string{DefinitionOf("suppressed").TextIn(lang)}
	if rep.HiddenPairs > 0 {
		notes = append(notes, tr.T("reports.cross.hidden", "Count", rep.HiddenPairs))
	}
	ct.Note = strings.Join(notes, " ")
	return ct
}

func exportLinks(tr web.Translator, base string, year int, kinds []string) []link {
	y := strconv.Itoa(year)
	out := []link{{Label: tr.T("reports.export.xlsx"), Href: base + "/export.xlsx?jaar=" + y}}
	for _, k := range kinds {
		out = append(out, link{Label: tr.T("reports.export.csv", "Sheet", sheetNames[k]), Href: base + "/export.csv?jaar=" + y + "&rapport=" + k})
	}
	return out
}

// providersView is the responsiveness of the providers, per provider and
// location: for the desk's staff only (the regional page never builds it).
func providersView(tr web.Translator, lang string, rep DeskReport) *chartTable {
	ct := &chartTable{Title: tr.T("reports.providers")}
	ids := []string{"provider_received", "provider_answered", "provider_in_time", "provider_median"}
	header := []string{tr.T("reports.col.municipality")}
	for _, id := range ids {
		d := DefinitionOf(id)
		ct.Defs = append(ct.Defs, figureView{ID: id, Label: d.LabelIn(lang), Definition: d.TextIn(lang)})
		header = append(header, d.LabelIn(lang))
	}
	ct.Table = tableView{Caption: ct.Title, LabelHeader: tr.T("reports.col.location"), Header: header}
	for _, r := range rep.Providers {
		label, where := r.Provider+" – "+tr.T("reports.providers.all_locations"), ""
		if r.Location != "" {
			label, where = r.Location+" ("+r.Provider+")", MunicipalityName(r.MunicipalityNIS, lang)
		}
		ct.Table.Rows = append(ct.Table.Rows, tableRow{Label: label, Cells: []string{where, strconv.Itoa(r.Received),
			strconv.Itoa(r.Answered), strconv.Itoa(r.InTime), r.Median.In(lang)}})
	}
	ct.Note = tr.T("reports.providers.deadline", "Days", rep.ResponseDays)
	if len(rep.Providers) == 0 {
		ct.Note = tr.T("reports.providers.none") + " " + ct.Note
	}
	return ct
}

// mapView is the regional map of unmet demand per 100 births with the
// table of the same figures beside it.
func mapView(tr web.Translator, lang string, rep RegionReport) *chartTable {
	if len(rep.Outlines) == 0 {
		return nil
	}
	d := DefinitionOf("unmet_per_births")
	ct := &chartTable{Title: d.LabelIn(lang), Defs: []figureView{{ID: d.ID, Label: d.LabelIn(lang), Definition: d.TextIn(lang)}}}
	rate := func(a MapArea) string {
		switch {
		case a.Births == 0:
			return tr.T("reports.map.no_births")
		case !a.PerHundred.Valid:
			return "–"
		}
		return a.PerHundred.In(lang)
	}
	label := func(a MapArea) string {
		return MunicipalityName(a.NIS, lang) + ": " + rate(a) + " (" + a.Unmet.String() + ")"
	}
	ct.Map = RegionMap("map-unmet", ct.Title, rep.Outlines, rep.Map, label)
	ct.Table = tableView{Caption: ct.Title, LabelHeader: tr.T("reports.col.municipality"),
		Header: []string{tr.T("reports.col.births"), DefinitionOf("by_unmet_municipality").LabelIn(lang), d.LabelIn(lang)}}
	areas := slices.Clone(rep.Map)
	slices.SortFunc(areas, func(a, b MapArea) int {
		return strings.Compare(MunicipalityName(a.NIS, lang), MunicipalityName(b.NIS, lang))
	})
	for _, a := range areas {
		births := tr.T("reports.map.no_births")
		if a.Births > 0 {
			births = strconv.Itoa(a.Births)
		}
		ct.Table.Rows = append(ct.Table.Rows, tableRow{Label: MunicipalityName(a.NIS, lang), Cells: []string{births, a.Unmet.String(), rate(a)}})
	}
	for _, c := range MapClasses {
		ct.Legend = append(ct.Legend, link{Label: tr.T("reports.map.legend." + c), Href: c})
	}
	schematic := false
	for _, o := range rep.Outlines {
		schematic = schematic || o.Schematic
	}
	if schematic {
		ct.Note = tr.T("reports.map.schematic")
	}
	return ct
}
