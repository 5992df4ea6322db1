package web_test

import (
	"io/fs"
	"regexp"
	"sort"
	"testing"

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
