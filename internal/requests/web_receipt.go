package requests

// What a family takes home: the summary of its request with the status link
// on the confirmation page (online) and on a printed one-page receipt (at
// the counter or by phone, for families without e-mail), with the link as a
// QR code and a short code the desk can look up when the family calls.

import (
	"encoding/base64"
	"errors"
	"fmt"
	"html/template"
	"slices"
	"strings"

	"github.com/gofiber/fiber/v2"
	qrcode "github.com/skip2/go-qrcode"

	"github.com/loket-kinderopvang/loket/internal/eventlog"
	"github.com/loket-kinderopvang/loket/internal/geo"
	"github.com/loket-kinderopvang/loket/internal/platform/web"
	"github.com/loket-kinderopvang/loket/internal/tenant"
)

// PathReceipt is the receipt of a request, under PathDeskCase/{id}.
const PathReceipt = "/ontvangstbewijs"

// summaryRow is one line of a request's summary.
type summaryRow struct{ Label, Value string }

// caseSummary says in words what was asked: for whom, from when, which days,
// where (ranked) and how the desk reaches the family.
func caseSummary(tr web.Translator, cs *Case) []summaryRow {
	r := cs.Request
	rows := []summaryRow{{tr.T("request.summary.child"), strings.TrimSpace(cs.Child.FirstName + " " + cs.Child.LastName)}}
	if cs.Child.BirthDate != nil {
		rows = append(rows, summaryRow{tr.T("request.field.birth_date"), tr.Date(*cs.Child.BirthDate)})
	} else if cs.Child.ExpectedDate != nil {
		rows = append(rows, summaryRow{tr.T("request.field.expected_date"), tr.Date(*cs.Child.ExpectedDate)})
	}
	rows = append(rows, summaryRow{tr.T("request.summary.start"), tr.Date(r.DesiredStart)})
	var days []string
	for _, d := range strings.Split(r.CareDays, ",") {
		if d != "" {
			days = append(days, tr.T("request.day."+d))
		}
	}
	if len(days) > 0 {
		rows = append(rows, summaryRow{tr.T("request.field.days"), strings.Join(days, ", ") + " (" + tr.T("request.day_part."+string(r.DayPart)) + ")"})
	}
	prefs := slices.Clone(r.Preferences)
	slices.SortFunc(prefs, func(a, b Preference) int { return a.Rank - b.Rank })
	for _, p := range prefs {
		l := cs.Locations[p.LocationID]
		name := l.Name
		if name == "" {
			name = tr.T("request.unknown_location")
		} else if place := municipalityName(geo.NISCode(l.MunicipalityNIS), tr.Lang()); place != "" {
			name += " (" + place + ")"
		}
		rows = append(rows, summaryRow{tr.T("request.field.preference", "N", p.Rank), name})
	}
	var contact []string
	for _, c := range []string{cs.Family.Email, cs.Family.Phone} {
		if c != "" {
			contact = append(contact, c)
		}
	}
	if len(contact) > 0 {
		rows = append(rows, summaryRow{tr.T("request.summary.contact"), strings.Join(contact, " · ")})
	}
	return rows
}

// qrDataURI draws text as a QR code, an SVG image in a data URI: sharp on
// paper, no file to serve, allowed by the page's CSP (img-src data:).
func qrDataURI(text string) (string, error) {
	q, err := qrcode.New(text, qrcode.Medium)
	if err != nil {
		return "", fmt.Errorf("requests: QR code: %w", err)
	}
	bm := q.Bitmap()
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %d %d" shape-rendering="crispEdges"><rect width="100%%" height="100%%" fill="#fff"/><path fill="#000" d="`, len(bm), len(bm))
	for y, row := range bm {
		for x, dark := range row {
			if dark {
				fmt.Fprintf(&b, "M%d %dh1v1h-1z", x, y)
			}
		}
	}
	b.WriteString(`"/></svg>`)
	return "data:image/svg+xml;base64," + base64.StdEncoding.EncodeToString([]byte(b.String())), nil
}

type receiptView struct {
	Base, CaseURL, DeskName, DeskPhone, DeskEmail string
	StatusURL, ShortCode, Submitted               string
	QR                                            template.URL // a data: URI we drew ourselves
	Summary                                       []summaryRow
}

// receipt is the one-page receipt of a request for the family to take home.
// Only the own desk's staff (and the partner who registered it) may print
// it: it carries the status link, which opens the family's page.
func (h *Web) receipt(c *fiber.Ctx) error {
	t, _ := tenant.FromRequest(c)
	cs, err := h.loadCase(c, eventlog.LookReceipt)
	if err != nil {
		return err
	}
	tr := h.Render.Translator(c)
	code, err := h.Service.ShortCode(c.UserContext(), cs.Request.ID)
	if err != nil {
		return err
	}
	link := h.Service.StatusURL(t.Slug, cs.Request)
	qr, err := qrDataURI(link)
	if err != nil {
		return err
	}
	v := receiptView{Base: "/" + t.Slug, CaseURL: "/" + t.Slug + PathDeskCase + "/" + cs.Request.ID.String(),
		DeskName: t.DisplayName(tr.Lang()), DeskPhone: t.Settings.Contact.Phone, DeskEmail: t.Settings.Contact.Email,
		StatusURL: link, QR: template.URL(qr), ShortCode: FormatShortCode(code), Summary: caseSummary(tr, cs)}
	if cs.Request.SubmittedAt != nil {
		v.Submitted = tr.Date(*cs.Request.SubmittedAt)
	}
	privatePage(c)
	return h.deskPage(c, fiber.StatusOK, "request_receipt", tr.T("request.receipt.title"), v)
}

// byShortCode opens the request a family names on the phone.
func (h *Web) byShortCode(c *fiber.Ctx) error {
	t, _ := tenant.FromRequest(c)
	code := strings.Clone(c.Query("code"))
	id, err := h.Service.FindByShortCode(c.UserContext(), code)
	if errors.Is(err, ErrNotFound) {
		tr := h.Render.Translator(c)
		v := codeView{Base: "/" + t.Slug, Field: web.Field{ID: "f-code", Name: "code", Label: tr.T("request.code.label"),
			Hint: tr.T("request.code.hint"), Value: code}}
		status := fiber.StatusOK
		if code != "" {
			v.Field.Error = tr.T("request.code.unknown")
			v.Errors = []web.ErrorLink{{Anchor: v.Field.ID, Message: v.Field.Label + ": " + v.Field.Error}}
			status = fiber.StatusNotFound
		}
		return h.deskPage(c, status, "request_code", tr.T("request.code.title"), v)
	}
	if err != nil {
		return err
	}
	return c.Redirect("/"+t.Slug+PathDeskCase+"/"+id.String(), fiber.StatusSeeOther)
}

type codeView struct {
	Base   string
	Field  web.Field
	Errors []web.ErrorLink
}
