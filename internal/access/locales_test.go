package access_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/loket-kinderopvang/loket/frontend"
	"github.com/loket-kinderopvang/loket/internal/access"
	"github.com/loket-kinderopvang/loket/internal/platform/authz"
	"github.com/loket-kinderopvang/loket/internal/platform/web"
)

// TestMessagesOfGoCode: every message id the Go code of this package uses
// (field errors, notices, names of accesses and roles) exists in Dutch, French and English.
// The templates' ids are checked by the web package's catalogue test.
func TestMessagesOfGoCode(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile(`"(access\.[a-z0-9_.]+)"`)
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
			if !strings.HasSuffix(m[1], ".") { // a prefix of the ids below
				used[m[1]] = true
			}
		}
	}
	// Ids built at run time: one per named access and per role.
	for _, a := range access.Accesses {
		used["access.sharing.access."+string(a)] = true
	}
	for _, r := range authz.Roles() {
		used["access.role."+string(r)] = true
	}
	if len(used) < 10 {
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
