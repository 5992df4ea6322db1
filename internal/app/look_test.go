package app

// Issue 20, point 11: one look. Buttons come in three styles (primary,
// secondary, danger) and going back or saying no is secondary; every page
// links the one stylesheet and the favicon, which is served.

import (
	"io/fs"
	"regexp"
	"strings"
	"testing"

	"github.com/loket-kinderopvang/loket/frontend"
	"github.com/loket-kinderopvang/loket/internal/platform/db"
	"github.com/loket-kinderopvang/loket/internal/platform/dbtest"
)

var (
	buttonRE      = regexp.MustCompile(`<button[^>]*>`)
	buttonClassRE = regexp.MustCompile(`class="([^"]*)"`)
)

func TestOneLook(t *testing.T) {
	// Besides the three styles: "small" sizes a secondary button in a list,
	// "link" is the sign-out in the menu, "default-action" the hidden
	// button that makes Enter mean "next" in the parent form.
	allowed := map[string]bool{"": true, "secondary": true, "danger": true, "secondary small": true, "link": true, "default-action": true}
	files, err := fs.Glob(frontend.Templates, "templates/*.html")
	if err != nil || len(files) < 20 {
		t.Fatalf("templates: %v (%d)", err, len(files))
	}
	for _, f := range files {
		b, _ := fs.ReadFile(frontend.Templates, f)
		for _, btn := range buttonRE.FindAllString(string(b), -1) {
			class := ""
			if m := buttonClassRE.FindStringSubmatch(btn); m != nil {
				class = m[1]
			}
			if !allowed[class] {
				t.Errorf("%s: a button of style %q: %s", f, class, btn)
			}
			// Going back, declining and rejecting are never the primary action.
			for _, secondary := range []string{`value="back"`, `id="decline-`, `value="reject"`} {
				if strings.Contains(btn, secondary) && !strings.HasPrefix(class, "secondary") {
					t.Errorf("%s: %s must be secondary", f, btn)
				}
			}
		}
	}

	_, srv := newApp(t, dbtest.NewTarget(t, db.SQLite))
	b := NewBrowser(t, srv.App)
	for _, path := range []string{"/", "/leuven", "/leuven/opvang", "/leuven/aanvragen", "/aanmelden"} {
		page := b.Get(path)
		if page.Status != 200 || !strings.Contains(page.Body, `<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">`) ||
			strings.Count(page.Body, `rel="stylesheet"`) != 1 || !strings.Contains(page.Body, `href="/static/loket.css`) {
			t.Errorf("%s: %d, favicon or the one stylesheet missing", path, page.Status)
		}
	}
	if icon := b.Get("/static/favicon.svg"); icon.Status != 200 || !strings.HasPrefix(icon.Header.Get("Content-Type"), "image/svg+xml") {
		t.Errorf("favicon: %d %s", icon.Status, icon.Header.Get("Content-Type"))
	}
}
