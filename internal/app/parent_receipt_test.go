package app

// Issue 20, points 6 and 7: after a counter registration the desk prints a
// receipt with the status link as a QR code and a short code it can look up;
// the parent's confirmation page sums up the request and never overflows.

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/loket-kinderopvang/loket/internal/platform/authz"
	"github.com/loket-kinderopvang/loket/internal/platform/db"
	"github.com/loket-kinderopvang/loket/internal/platform/dbtest"
	"github.com/loket-kinderopvang/loket/internal/requests"
)

var shortCodeRE = regexp.MustCompile(`id="short-code">([0-9A-Z]{4}-[0-9A-Z]{4})<`)

func TestCounterRegistrationPrintsAReceiptWithQRAndShortCode(t *testing.T) {
	a, srv := newApp(t, dbtest.NewTarget(t, db.SQLite))
	locs := parentLocations(t, a.Catalog, 1)
	if _, err := a.Seed(context.Background()); err != nil {
		t.Fatal(err)
	}
	worker := SignInDemo(t, a, srv.App, authz.DeskWorker)
	form := url.Values{
		"child.first_name": {"Zoë"}, "child.last_name": {"Testkind"}, "child.birth_date": {time.Now().AddDate(0, -2, 0).Format("2006-01-02")},
		"parents[0].first_name": {"Sam"}, "parents[0].last_name": {"Testouder"}, "parents[0].phone": {"0470 12 34 56"},
		"language": {"nl"}, "address.municipality_nis": {"24062"},
		"desired_start": {time.Now().AddDate(0, 3, 0).Format("2006-01-02")}, "flexibility_weeks": {"0"},
		"care_plan.days": {"mon", "thu"}, "care_plan.day_part": {"whole"}, "preferences[0]": {locs[0].String()},
		"reason": {"work"}, "channel": {"counter"}, "privacy_consent_version": {requests.PrivacyVersion},
	}
	res := worker.Post("/leuven/loket/nieuw", form)
	where := res.Header.Get("Location")
	if res.Status != http.StatusSeeOther || !strings.HasSuffix(where, "/ontvangstbewijs") {
		t.Fatalf("after a counter registration: %d → %q", res.Status, where)
	}
	receipt := worker.Get(where)
	m := shortCodeRE.FindStringSubmatch(receipt.Body)
	if receipt.Status != 200 || m == nil || !strings.Contains(receipt.Body, `src="data:image/svg`) ||
		!strings.Contains(receipt.Body, "/leuven/aanvraag/") || !strings.Contains(receipt.Body, "Zoë Testkind") ||
		!strings.Contains(receipt.Body, "Zonnebloem A (Leuven)") {
		t.Fatalf("receipt %d:\n%s", receipt.Status, visibleText(receipt.Body))
	}
	if l := leaks(visibleText(receipt.Body)); len(l) > 0 {
		t.Errorf("the receipt shows %q", l)
	}
	// The desk finds the request by the code, however it is typed.
	code := strings.ToLower(strings.ReplaceAll(m[1], "-", " "))
	found := worker.Get("/leuven/loket/code?code=" + url.QueryEscape(code))
	if found.Status != http.StatusSeeOther || !strings.HasSuffix(where, "/ontvangstbewijs") ||
		found.Header.Get("Location")+"/ontvangstbewijs" != where {
		t.Errorf("lookup by code %q: %d → %q", code, found.Status, found.Header.Get("Location"))
	}
	if r := worker.Get("/leuven/loket/code?code=ZZZZ-ZZZZ"); r.Status != http.StatusNotFound || !strings.Contains(r.Body, `href="#f-code"`) {
		t.Errorf("unknown code: %d", r.Status)
	}
	// The same code again on a second print.
	if again := shortCodeRE.FindStringSubmatch(worker.Get(where).Body); again == nil || again[1] != m[1] {
		t.Errorf("the code changed between prints: %v", again)
	}
}

func TestConfirmationPageSumsUpAndOffersCopyAndPrint(t *testing.T) {
	a, srv := newApp(t, dbtest.NewTarget(t, db.SQLite))
	locs := parentLocations(t, a.Catalog, 2)
	b := NewBrowser(t, srv.App)
	registerByForm(t, b, locs)
	// registerByForm checked the status link; fetch the page again by replaying is not possible,
	// so walk the form once more and keep the confirmation page.
	page := b.Get("/leuven/aanvragen")
	for _, fields := range parentSteps(locs) {
		page = step(b, page, "/leuven/aanvragen", fields, "next")
	}
	done := step(b, page, "/leuven/aanvragen", nil, "submit")
	for _, want := range []string{`class="status-link"`, "data-copy=", "data-print", "Samenvatting van de aanvraag", "Mila Testkind", "Zonnebloem B (Leuven)", `src="/static/loket.js"`} {
		if !strings.Contains(done.Body, want) {
			t.Errorf("the confirmation page lacks %q", want)
		}
	}
	if l := leaks(visibleText(done.Body)); len(l) > 0 {
		t.Errorf("the confirmation page shows %q", l)
	}
}
