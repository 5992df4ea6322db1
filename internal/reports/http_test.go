package reports_test

import (
	"context"
	"encoding/csv"
	"fmt"
	"html/template"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/xuri/excelize/v2"

	"github.com/loket-kinderopvang/loket/frontend"
	"github.com/loket-kinderopvang/loket/internal/eventlog"
	"github.com/loket-kinderopvang/loket/internal/platform/authz"
	"github.com/loket-kinderopvang/loket/internal/platform/db"
	"github.com/loket-kinderopvang/loket/internal/platform/dbtest"
	"github.com/loket-kinderopvang/loket/internal/platform/tenancy"
	"github.com/loket-kinderopvang/loket/internal/platform/web"
	"github.com/loket-kinderopvang/loket/internal/platform/web/webtest"
	"github.com/loket-kinderopvang/loket/internal/reports"
	"github.com/loket-kinderopvang/loket/internal/requests"
	"github.com/loket-kinderopvang/loket/internal/tenant"
)

const testUser = "X-Test-User"

// server wires the report handlers as the composition root does, with a
// stand-in for sign-in: the X-Test-User header names the user.
func server(t *testing.T, w *world) *fiber.App {
	t.Helper()
	ctx := context.Background()
	cross := eventlog.CrossTenantLog{Tenants: tenancy.NewStore(w.d), Now: func() time.Time { return now },
		Desk: func(slug string) (tenancy.ID, bool) { d, ok := w.dir.BySlug(slug); return d.ID, ok }}
	az, err := authz.New(ctx, w.d, authz.Options{CrossTenant: cross})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(az.Stop)
	for _, g := range [][2]string{{"geel-laakdal-meerhout", "13000"}, {"stadsregio-turnhout", "13000"}, {"leuven", "24000"}} {
		if err := az.Group(ctx, authz.Desk(g[0]), authz.Region(g[1])); err != nil {
			t.Fatal(err)
		}
	}
	for _, a := range []struct {
		user   string
		role   authz.Role
		domain string
	}{
		{"worker-1", authz.DeskWorker, authz.Desk("geel-laakdal-meerhout")},
		{"partner-1", authz.Partner, authz.Desk("geel-laakdal-meerhout")},
		{"coord-1", authz.RegionalCoordinator, authz.Region("13000")},
	} {
		if err := az.AssignRole(ctx, a.user, a.role, a.domain); err != nil {
			t.Fatal(err)
		}
	}
	messages, err := web.LoadCatalog(frontend.Locales)
	if err != nil {
		t.Fatal(err)
	}
	render, err := web.NewRenderer(frontend.Templates, messages)
	if err != nil {
		t.Fatal(err)
	}
	srv := web.New(web.Options{Renderer: render, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	desks := tenant.NewHandler(w.dir, render)
	desks.AlsoPlatform(reports.PlatformPaths...)
	userOf := func(c *fiber.Ctx) (string, bool) {
		u, ok := c.Locals("test.user").(string)
		return u, ok && u != ""
	}
	requireUser := func(c *fiber.Ctx) error {
		u := c.Get(testUser)
		if u == "" {
			return fiber.ErrUnauthorized
		}
		c.Locals("test.user", strings.Clone(u))
		return c.Next()
	}
	h := reports.NewHandler(reports.Options{Service: service(w), Render: render, Desks: desks, Authz: az,
		RequireUser: requireUser, UserOf: userOf})
	app := srv.App
	app.Use(desks.HostRewrite)
	h.Register(app, desks.Resolve)
	return app
}

func TestReportPagesAndAccess(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		w := build(t, d)
		app := server(t, w)
		desk := "/geel-laakdal-meerhout/loket/cijfers?jaar=2026"
		for _, c := range []struct {
			path, user string
			status     int
		}{
			{desk, "", http.StatusUnauthorized},
			{desk, "worker-1", http.StatusOK},
			{desk, "coord-1", http.StatusNotFound},   // a coordinator never sees a desk's exact figures
			{desk, "partner-1", http.StatusNotFound}, // nor does a partner of the desk (no reports:read)
			{"/geel-laakdal-meerhout/loket/cijfers/export.xlsx", "partner-1", http.StatusNotFound},
			{"/geel-laakdal-meerhout/loket/cijfers/export.csv?rapport=opvang", "partner-1", http.StatusNotFound},
			{"/leuven/loket/cijfers", "worker-1", http.StatusNotFound},
			{"/geel-laakdal-meerhout/loket/cijfers?jaar=tweeduizend", "worker-1", http.StatusBadRequest},
			{"/geel-laakdal-meerhout/loket/cijfers/export.csv?rapport=geheim", "worker-1", http.StatusBadRequest},
			{"/geel-laakdal-meerhout/loket/cijfers/export.csv?formaat=tsv", "worker-1", http.StatusBadRequest},
			{"/regio/13000/cijfers?jaar=2026", "coord-1", http.StatusOK},
			{"/regio/13000/cijfers", "worker-1", http.StatusNotFound}, // a desk worker is no coordinator
			{"/regio/24000/cijfers", "coord-1", http.StatusNotFound},
			{"/regio/abc/cijfers", "coord-1", http.StatusNotFound},
		} {
			res := webtest.Get(t, app, c.path, testUser, c.user, "Accept", "text/html")
			if res.Status != c.status {
				t.Errorf("GET %s as %q = %d, want %d", c.path, c.user, res.Status, c.status)
			}
		}

		page := webtest.Get(t, app, desk, testUser, "worker-1").Body
		for _, want := range []string{
			`<tr id="figure-requests"><th scope="row">Unieke aanvragen</th><td>9</td></tr>`,
			`<tr id="figure-placed"><th scope="row">Geplaatst</th><td>3</td></tr>`,
			`<tr id="figure-first_answer_median"><th scope="row">Dagen tot eerste antwoord (mediaan)</th><td>5,0</td></tr>`,
			`<tr id="figure-placement_p90"><th scope="row">Dagen tot plaatsing (90e percentiel)</th><td>26,0</td></tr>`,
			`role="img" aria-labelledby="chart-headline-title"`, `<title id="chart-headline-title">`,
			`<title id="chart-by_channel-title">Per kanaal</title>`, `id="chart-ahead"`,
			`<th scope="row">Geel – Bel</th><td>3</td>`,
			DefinitionText("requests"),
			`href="/geel-laakdal-meerhout/loket/cijfers/export.xlsx?jaar=2026"`,
		} {
			if !strings.Contains(page, want) {
				t.Errorf("desk page lacks %s", want)
			}
		}
		if strings.Contains(page, "<td>&lt;5</td>") {
			t.Error("the desk's own page suppresses counts")
		}
		// Staff see how each provider answered (TestProviderResponsiveness has the numbers).
		for _, want := range []string{`<h2 id="providers-title">Hoe snel antwoordt de opvang?</h2>`,
			`<th scope="row">Opvang D1 (Testopvang vzw)</th><td>Geel</td><td>4</td><td>3</td><td>2</td><td>4,0</td>`,
			`<tr id="figure-answered"><th scope="row">Beantwoord</th><td>6</td></tr>`} {
			if !strings.Contains(page, want) {
				t.Errorf("desk page lacks %s", want)
			}
		}
		geel := webtest.Get(t, app, desk+"&gemeente=13008", testUser, "worker-1").Body
		if !strings.Contains(geel, `<tr id="figure-requests"><th scope="row">Unieke aanvragen</th><td>4</td></tr>`) ||
			!strings.Contains(geel, `<a href="/geel-laakdal-meerhout/loket/cijfers?jaar=2026">Toon het hele loket</a>`) {
			t.Error("the page of one municipality lacks its figures or the way back")
		}
		fr := webtest.Get(t, app, desk+"&lang=fr", testUser, "worker-1").Body
		if !strings.Contains(fr, "Demandes uniques") {
			t.Error("French page lacks the French label")
		}

		region := webtest.Get(t, app, "/regio/13000/cijfers?jaar=2026", testUser, "coord-1").Body
		for _, want := range []string{"Turnhout → Kasterlee", "&lt;5", "4 combinaties van gemeenten", "Lokaal Loket Kinderopvang Geel-Laakdal-Meerhout",
			`<tr id="figure-requests"><th scope="row">Unieke aanvragen</th><td>14</td></tr>`} {
			if !strings.Contains(region, want) {
				t.Errorf("region page lacks %s", want)
			}
		}
		if strings.Contains(region, "Geel → Kasterlee") {
			t.Error("region page shows a cross-border pair under 5")
		}
		// Provider responsiveness is for the desk's staff only: never in
		// the regional page, its CSVs or its workbook.
		regionFiles := []string{region}
		for _, q := range []string{"", "&rapport=grensoverschrijdend", "&rapport=definities"} {
			regionFiles = append(regionFiles, webtest.Get(t, app, "/regio/13000/cijfers/export.csv?jaar=2026"+q, testUser, "coord-1").Body)
		}
		rx, err := excelize.OpenReader(strings.NewReader(webtest.Get(t, app, "/regio/13000/cijfers/export.xlsx?jaar=2026", testUser, "coord-1").Body))
		if err != nil {
			t.Fatal(err)
		}
		for _, sheet := range rx.GetSheetList() {
			rows, _ := rx.GetRows(sheet)
			for _, r := range rows {
				regionFiles = append(regionFiles, strings.Join(r, ";"))
			}
		}
		rx.Close()
		for i, body := range regionFiles {
			for _, staffOnly := range []string{"Testopvang", "Opvang D1", "providers-title", "op_tijd_beantwoord", "Hoe snel antwoordt"} {
				if strings.Contains(body, staffOnly) {
					t.Errorf("regional view %d shows %q, which is for desk staff only", i, staffOnly)
				}
			}
		}
		// The regional export carries no count of 1..4 either (days may be small: they are no counts).
		desksCSV := webtest.Get(t, app, "/regio/13000/cijfers/export.csv?jaar=2026&formaat=csv-rfc", testUser, "coord-1").Body
		drecs, err := csv.NewReader(strings.NewReader(desksCSV)).ReadAll()
		if err != nil || len(drecs) != 4 {
			t.Fatalf("regional desks CSV (%v):\n%s", err, desksCSV)
		}
		for _, r := range drecs[1:] {
			for i, h := range drecs[0] {
				if h == "jaar" || h == "regio_nis" || h == "loket" || strings.Contains(h, "dagen") {
					continue
				}
				if n, err := strconv.Atoi(r[i]); err == nil && n > 0 && n < reports.SmallCell {
					t.Errorf("regional export %s %s = %d", r[2], h, n)
				}
			}
		}
		// Requests hidden as well (x): with Turnhout's and the total's
		// published, Geel-Laakdal-Meerhout's small counts would follow.
		if !strings.Contains(desksCSV, "2026,13000,geel-laakdal-meerhout,x,8,<5,<5,<5,<5,<5,") {
			t.Errorf("regional desks CSV:\n%s", desksCSV)
		}
		rcsv := webtest.Get(t, app, "/regio/13000/cijfers/export.csv?jaar=2026&rapport=grensoverschrijdend&formaat=csv-rfc", testUser, "coord-1")
		if got := strings.TrimSpace(rcsv.Body); got != "van_gemeente_nis,van_gemeente,naar_gemeente_nis,naar_gemeente,aanvragen\r\n13040,Turnhout,13017,Kasterlee,5" {
			t.Errorf("region cross-border CSV:\n%s", got)
		}
	})
}

// DefinitionText is the Dutch definition as html/template escapes it.
func DefinitionText(id string) string {
	return template.HTMLEscapeString(reports.DefinitionOf(id).TextIn("nl"))
}

func TestExports(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		w := build(t, d)
		app := server(t, w)
		res := webtest.Get(t, app, "/geel-laakdal-meerhout/loket/cijfers/export.csv?jaar=2026&formaat=csv-rfc", testUser, "worker-1")
		if res.Status != http.StatusOK || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/csv") {
			t.Fatalf("csv export: %d %s", res.Status, res.Header.Get("Content-Type"))
		}
		recs, err := csv.NewReader(strings.NewReader(res.Body)).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		if strings.Join(recs[0], ",") != strings.Join(reports.OpgroeienHeader(), ",") {
			t.Errorf("header = %v", recs[0])
		}
		// desk row, then Geel, Laakdal, Meerhout (sorted by NIS).
		got := map[string]map[string]string{}
		for _, r := range recs[1:] {
			m := map[string]string{}
			for i, h := range recs[0] {
				m[h] = r[i]
			}
			got[r[2]+":"+r[3]] = m
		}
		for key, want := range map[string]map[string]string{
			"loket:":         {"jaar": "2026", "aanvragen": "9", "kinderen": "8", "geplaatst": "3", "open": "3", "mediaan_dagen_eerste_antwoord": "5.0", "p90_dagen_plaatsing": "26.0", "kanaal_online": "4", "leeftijd_ongeboren": "1", "kwetsbaar_gezin": "3", "voorrang_geen": "3", "halve_dagen": "2"},
			"gemeente:13008": {"gemeente": "Geel", "aanvragen": "4", "geplaatst": "2", "p90_dagen_eerste_antwoord": "8.8"},
			"gemeente:13053": {"gemeente": "Laakdal", "aanvragen": "2", "onbeantwoord": "1", "mediaan_dagen_eerste_antwoord": ""},
			"gemeente:13021": {"gemeente": "Meerhout", "aanvragen": "3", "kinderen": "2"},
		} {
			for col, v := range want {
				if got[key][col] != v {
					t.Errorf("%s %s = %q, want %q", key, col, got[key][col], v)
				}
			}
		}
		// docs/opgroeien-export.md shows the header and the first two rows of this very export.
		doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "opgroeien-export.md"))
		if err != nil {
			t.Fatal(err)
		}
		bel := webtest.Get(t, app, "/geel-laakdal-meerhout/loket/cijfers/export.csv?jaar=2026", testUser, "worker-1").Body
		if !strings.HasPrefix(bel, "\ufeffjaar;loket;") {
			t.Errorf("the default CSV is not the Belgian one:\n%.80q", bel)
		}
		rest := string(doc)
		for _, body := range []string{strings.TrimPrefix(bel, "\ufeff"), strings.ReplaceAll(res.Body, "\r\n", "\n")} {
			var example string
			_, rest, _ = strings.Cut(rest, "```csv\n")
			example, rest, _ = strings.Cut(rest, "```")
			if lines := strings.SplitN(body, "\n", 4); example != strings.Join(lines[:3], "\n")+"\n" {
				t.Errorf("the example in docs/opgroeien-export.md is not what the export writes:\n%s\nexport:\n%s", example, strings.Join(lines[:3], "\n"))
			}
		}
		if len(recs) != 5 {
			t.Errorf("%d rows, want header + desk + 3 municipalities", len(recs))
		}

		x := webtest.Get(t, app, "/geel-laakdal-meerhout/loket/cijfers/export.xlsx?jaar=2026", testUser, "worker-1")
		if x.Status != http.StatusOK {
			t.Fatalf("xlsx export: %d", x.Status)
		}
		f, err := excelize.OpenReader(strings.NewReader(x.Body))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if got := strings.Join(f.GetSheetList(), ","); got != "Opgroeien,Cijfers,Uitsplitsingen,Tekort,Opvang,Definities" {
			t.Errorf("sheets = %s", got)
		}
		if v, _ := f.GetCellValue("Opgroeien", "F2"); v != "9" {
			t.Errorf("Opgroeien F2 (aanvragen) = %q", v)
		}
		// Days: a number rounded to one decimal, shown with the format 0.0;
		// not measured: no cell at all (Laakdal has no answered request).
		for _, c := range []struct{ cell, raw string }{{"M2", "5"}, {"N3", "8.8"}, {"M5", ""}} {
			raw, _ := f.GetCellValue("Opgroeien", c.cell, excelize.Options{RawCellValue: true})
			typ, _ := f.GetCellType("Opgroeien", c.cell)
			// A number has no type attribute (unset); text, even empty, would be a string.
			if raw != c.raw || (typ != excelize.CellTypeUnset && typ != excelize.CellTypeNumber) {
				t.Errorf("Opgroeien %s = %q (type %v), want %q", c.cell, raw, typ, c.raw)
			}
			if c.raw != "" {
				if shown, _ := f.GetCellValue("Opgroeien", c.cell); !strings.Contains(shown, ".") {
					t.Errorf("Opgroeien %s shows %q: not one decimal", c.cell, shown)
				}
			}
		}
		for r := 2; r <= 5; r++ { // Cijfers: the four durations, raw values with at most one decimal
			raw, _ := f.GetCellValue("Cijfers", fmt.Sprintf("C%d", 7+r), excelize.Options{RawCellValue: true})
			if i := strings.IndexByte(raw, '.'); i >= 0 && len(raw)-i > 2 {
				t.Errorf("Cijfers C%d = %s: more than one decimal", 7+r, raw)
			}
		}
		tek, _ := f.GetRows("Tekort")
		if len(tek) != 5 || strings.Join(tek[2], ",") != "2027-01,13021,Meerhout,Zittaart,1,0,1" {
			t.Errorf("Tekort = %v", tek)
		}
		lo := checkLibreOffice(t, []byte(x.Body), recs)
		// The numbers LibreOffice reads are the numbers on the page.
		page := webtest.Get(t, app, "/geel-laakdal-meerhout/loket/cijfers?jaar=2026", testUser, "worker-1").Body
		for col, id := range map[string]string{"aanvragen": "requests", "kinderen": "children", "geplaatst": "placed",
			"ingetrokken": "withdrawn", "onbeantwoord": "unanswered", "open": "open", "afgesloten": "closed"} {
			i := slices.Index(lo[0], col)
			if i < 0 || len(lo) < 2 {
				t.Fatalf("LibreOffice read no %s column: %v", col, lo)
			}
			label := reports.DefinitionOf(id).LabelIn("nl")
			want := fmt.Sprintf(`<tr id="figure-%s"><th scope="row">%s</th><td>%s</td></tr>`, id, label, lo[1][i])
			if !strings.Contains(page, want) {
				t.Errorf("LibreOffice reads %s = %v; the page lacks %s", col, lo[1][i], want)
			}
		}
	})
}

// TestShortagePerAreaAndMonth: the desk's page shows the months ahead as
// totals per month and as the shortage per area and month, months in
// words; a request without a neighbourhood counts in "wijk onbekend", in
// the months ahead as in the breakdown by neighbourhood.
func TestShortagePerAreaAndMonth(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		w := build(t, d)
		insert(t, d, w.glm, []spec{{child: "U", family: "U", status: requests.StatusActive, channel: requests.ChannelPhone,
			submitted: at("2026-08-01 09:00"), firstAnswer: -1, placed: -1, nis: "13053", wijk: "", age: 6, days: "mon",
			reason: requests.ReasonWork, start: "2027-03-01"}})
		app := server(t, w)
		page := webtest.Get(t, app, "/geel-laakdal-meerhout/loket/cijfers?jaar=2026", testUser, "worker-1").Body
		cells := func(vs ...string) string { return "<td>" + strings.Join(vs, "</td><td>") + "</td>" }
		for _, want := range []string{
			// March 2027: J in Geel – Bel and U in Laakdal, no free place.
			`<th scope="row">maart 2027</th>` + cells("2", "0", "2"),
			`<th scope="row">januari 2027</th>` + cells("2", "2", "1"),
			`<caption>Tekort per gebied en maand</caption>`,
			`<th scope="col">november 2026</th>`,
			// November 2026 … October 2027.
			`<th scope="row">Geel – Bel</th>` + cells("0", "0", "0", "0", "1", "0", "0", "0", "0", "0", "0", "0"),
			`<th scope="row">Laakdal – wijk onbekend</th>` + cells("0", "0", "0", "0", "1", "0", "0", "0", "0", "0", "0", "0"),
			`<th scope="row">Meerhout – Zittaart</th>` + cells("0", "0", "1", "0", "0", "0", "0", "0", "0", "0", "0", "0"),
			`<th scope="row">maart 2027 · Laakdal – wijk onbekend</th>` + cells("1", "0", "1"),
			// The same name in the breakdown by neighbourhood.
			`<th scope="row">Laakdal – wijk onbekend</th><td>1</td>`,
			`<th scope="row">juni 2026</th><td>1</td>`, // by start month, in words
		} {
			if !strings.Contains(page, want) {
				t.Errorf("desk page lacks %s", want)
			}
		}
	})
}

// TestRegionMap: the regional page shades every municipality of the region
// by unmet demand per 100 births, with the same figures in a table beside
// the map and a note that the shapes are schematic. Laakdal's one unmet
// request is hidden (<5), so its rate is too; Geel has none: 0 per 100.
func TestRegionMap(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		w := build(t, d)
		app := server(t, w)
		page := webtest.Get(t, app, "/regio/13000/cijfers?jaar=2026", testUser, "coord-1").Body
		for _, want := range []string{
			`<svg class="map" id="map-unmet" role="img" aria-labelledby="map-unmet-title"`,
			`<title id="map-unmet-title">Onvervulde vraag per 100 geboorten</title>`,
			`<path class="map-hidden" d="M`, `<title>Laakdal: – (&lt;5)</title>`,
			`<path class="map-q0" d="M`, `<title>Geel: 0,0 (0)</title>`,
			`<th scope="row">Laakdal</th><td>160</td><td>&lt;5</td><td>–</td>`,
			`<th scope="row">Geel</th><td>450</td><td>0</td><td>0,0</td>`,
			"Schematische kaart",
		} {
			if !strings.Contains(page, want) {
				t.Errorf("region page lacks %s", want)
			}
		}
		if n := strings.Count(page, `<path class="map-`); n < 12 {
			t.Errorf("%d municipalities on the map, want the 12 of the arrondissement", n)
		}
	})
}
