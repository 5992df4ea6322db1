package frontend

import (
	"io/fs"
	"regexp"
	"strings"
	"testing"
)

// TestScrollableTablesAreFocusable: a table that may scroll sideways sits in
// a region a keyboard user can reach and scroll, with a name (axe rule
// scrollable-region-focusable; issue 20, point 11).
func TestScrollableTablesAreFocusable(t *testing.T) {
	div := regexp.MustCompile(`<div class="table-scroll"[^>]*>`)
	files, _ := fs.Glob(Templates, "templates/*.html")
	n := 0
	for _, f := range files {
		b, err := fs.ReadFile(Templates, f)
		if err != nil {
			t.Fatal(err)
		}
		for _, tag := range div.FindAllString(string(b), -1) {
			n++
			if !strings.Contains(tag, `tabindex="0"`) || !strings.Contains(tag, `role="region"`) || (!strings.Contains(tag, `aria-label="`) && !strings.Contains(tag, `aria-labelledby="`)) {
				t.Errorf("%s: %s is not a named, focusable region", f, tag)
			}
		}
	}
	if n == 0 {
		t.Fatal("no scrollable table found")
	}
}

// TestOneFavicon: every page names the favicon, and it exists.
func TestOneFavicon(t *testing.T) {
	layout, err := fs.ReadFile(Templates, "templates/layout.html")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(layout), `<link rel="icon" href="/static/favicon.svg"`) {
		t.Error("the layout names no favicon")
	}
	if _, err := fs.Stat(Static, "static/favicon.svg"); err != nil {
		t.Error(err)
	}
}
