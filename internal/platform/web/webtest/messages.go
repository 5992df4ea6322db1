package webtest

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/loket-kinderopvang/loket/frontend"
	"github.com/loket-kinderopvang/loket/internal/platform/web"
)

// MessageIDs collects the message ids the non-test Go files of the current
// package (or of dirs, when given) write out: the first group of re in each
// match. Ids ending in "." are prefixes of ids built at run time and are
// skipped.
func MessageIDs(t testing.TB, re *regexp.Regexp, dirs ...string) map[string]bool {
	t.Helper()
	if len(dirs) == 0 {
		dirs = []string{"."}
	}
	used := map[string]bool{}
	for _, dir := range dirs {
		files, err := filepath.Glob(filepath.Join(dir, "*.go"))
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range files {
			if strings.HasSuffix(f, "_test.go") {
				continue
			}
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range re.FindAllStringSubmatch(string(b), -1) {
				if !strings.HasSuffix(m[1], ".") {
					used[m[1]] = true
				}
			}
		}
	}
	return used
}

// RequireMessages fails for every id that lacks a text in Dutch, French or
// English; fewer than atLeast ids means the collection itself went wrong.
func RequireMessages(t testing.TB, used map[string]bool, atLeast int) {
	t.Helper()
	if len(used) < atLeast {
		t.Fatalf("found only %d message ids, want at least %d", len(used), atLeast)
	}
	for _, lang := range []string{"nl", "fr", "en"} {
		msgs, err := web.Messages(frontend.Locales, lang)
		if err != nil {
			t.Fatal(err)
		}
		for id := range used {
			if msgs[id] == "" {
				t.Errorf("%s lacks %s", lang, id)
			}
		}
	}
}
