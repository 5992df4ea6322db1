package work_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/loket-kinderopvang/loket/internal/platform/web/webtest"
)

// TestMessagesOfGoCode: every "work.…" message id that Go code writes out
// (here and in the domain packages whose staff pages use this catalogue)
// exists in Dutch, French and English, as do the ids built at run time.
func TestMessagesOfGoCode(t *testing.T) {
	re := regexp.MustCompile(`"(work\.[a-z0-9_.]+)"`)
	used := map[string]bool{}
	for _, dir := range []string{".", "../requests", "../rounds", "../access", "../catalog"} {
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
	// Built at run time.
	for _, k := range []string{"request.submitted", "request.activated", "request.active", "request.offered", "request.placed",
		"request.withdrawn", "request.closed", "request.unanswered", "request.duplicate_kept", "request.duplicate_merged",
		"request.status_link_revoked", "preference.offered", "preference.waiting_list", "preference.no_place",
		"preference.forwarded", "preference.accepted", "preference.declined", "preference.lapsed", "preference.closed",
		"preference.pending", "family.contact_changed", "family.vulnerable.true", "family.vulnerable.false"} {
		used["work.history."+k] = true
	}
	for _, k := range []string{"desk", "partner", "provider", "other"} {
		used["work.who."+k] = true
	}
	for _, k := range []string{"places_number", "places_negative", "places_max"} {
		used["work.places.error."+k] = true
	}
	for _, k := range []string{"waiting_list", "forward"} {
		used["work.answer.explain."+k] = true
	}
	webtest.RequireMessages(t, used, 40)
}
