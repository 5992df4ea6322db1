package access_test

import (
	"regexp"
	"testing"

	"github.com/loket-kinderopvang/loket/internal/access"
	"github.com/loket-kinderopvang/loket/internal/platform/authz"
	"github.com/loket-kinderopvang/loket/internal/platform/web/webtest"
)

// TestMessagesOfGoCode: every message id the Go code of this package uses
// (field errors, notices, names of accesses and roles) exists in Dutch, French and English.
// The templates' ids are checked by the web package's catalogue test.
func TestMessagesOfGoCode(t *testing.T) {
	used := webtest.MessageIDs(t, regexp.MustCompile(`"((?:access|webhooks)\.[a-z0-9_.]+)"`))
	// Ids built at run time: one per named access and per role.
	for _, a := range access.Accesses {
		used["access.sharing.access."+string(a)] = true
	}
	for _, r := range authz.Roles() {
		used["access.role."+string(r)] = true
	}
	webtest.RequireMessages(t, used, 10)
}
