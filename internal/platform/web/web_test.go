package web_test

import (
	"io/fs"
	"regexp"
	"sort"
	"testing"
	"time"

	"github.com/loket-kinderopvang/loket/frontend"
	"github.com/loket-kinderopvang/loket/internal/platform/web"
)

func catalogue(t *testing.T, lang string) map[string]string {
	t.Helper()
	m, err := web.Messages(frontend.Locales, lang)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestCataloguesComplete: every message used by a template or by Go code exists
// in Dutch, and French and English translate every Dutch message.
func TestCataloguesComplete(t *testing.T) {
	nl := catalogue(t, "nl")
	used := map[string]bool{}
	re := regexp.MustCompile(`\.T "([a-z0-9_.]+)"`)
	files, _ := fs.Glob(frontend.Templates, "templates/*.html")
	for _, f := range files {
		b, _ := fs.ReadFile(frontend.Templates, f)
		for _, m := range re.FindAllStringSubmatch(string(b), -1) {
			used[m[1]] = true
		}
	}
	for _, prefix := range []string{"error.notfound", "error.desk", "error.server"} {
		used[prefix+".title"], used[prefix+".text"] = true, true
	}
	if len(used) < 10 {
		t.Fatalf("found only %d message ids in the templates", len(used))
	}
	for id := range used {
		if nl[id] == "" {
			t.Errorf("nl.yaml lacks %q", id)
		}
	}
	for _, lang := range []string{"fr", "en"} {
		other := catalogue(t, lang)
		var missing []string
		for id := range nl {
			if other[id] == "" {
				missing = append(missing, id)
			}
		}
		sort.Strings(missing)
		if len(missing) > 0 {
			t.Errorf("%s.yaml lacks %v", lang, missing)
		}
	}
}

func TestTranslatorFallsBackToDutch(t *testing.T) {
	cat, err := web.LoadCatalog(frontend.Locales)
	if err != nil {
		t.Fatal(err)
	}
	if got := cat.For("fr").T("nav.skip"); got != "Aller au contenu" {
		t.Errorf("fr nav.skip = %q", got)
	}
	if got := cat.For("de").T("nav.skip"); got != "Ga naar de inhoud" {
		t.Errorf("an unknown language must fall back to Dutch, got %q", got)
	}
	if got := cat.For("nl").T("no.such.message"); got != "no.such.message" {
		t.Errorf("missing id = %q", got)
	}
}

// TestDateTimeInBelgianTime: a deadline stored in UTC is read in Belgium,
// winter (UTC+1) and summer (UTC+2) alike, in the reader's language.
func TestDateTimeInBelgianTime(t *testing.T) {
	cat, err := web.LoadCatalog(frontend.Locales)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		lang string
		at   time.Time
		want string
	}{
		{"nl", time.Date(2026, 12, 14, 3, 50, 0, 0, time.UTC), "14 december 2026, 04:50"},
		{"fr", time.Date(2027, 7, 1, 22, 30, 0, 0, time.UTC), "2 juillet 2027, 00:30"},
		{"en", time.Date(2027, 3, 3, 13, 5, 0, 0, time.UTC), "3 March 2027, 14:05"},
	} {
		if got := cat.For(c.lang).DateTime(c.at); got != c.want {
			t.Errorf("%s DateTime(%s) = %q, want %q", c.lang, c.at, got, c.want)
		}
	}
}
