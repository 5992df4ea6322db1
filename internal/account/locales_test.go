package account_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/loket-kinderopvang/loket/frontend"
	"github.com/loket-kinderopvang/loket/internal/platform/web"
)

// TestMessagesOfGoCode: every message id the Go code of this package uses
// (field errors, notices, the mail) exists in Dutch, French and English.
// The templates' ids are checked by the web package's catalogue test.
func TestMessagesOfGoCode(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile(`"(account\.[a-z0-9_.]+)"`)
	used := map[string]bool{}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range re.FindAllStringSubmatch(string(b), -1) {
			used[m[1]] = true
		}
	}
	if len(used) < 15 {
		t.Fatalf("found only %d message ids in the Go code", len(used))
	}
	for _, lang := range []string{"nl", "fr", "en"} {
		msgs, err := web.Messages(frontend.Locales, lang)
		if err != nil {
			t.Fatal(err)
		}
		for id := range used {
			if msgs[id] == "" {
				t.Errorf("%s.yaml lacks %s", lang, id)
			}
		}
	}
}
