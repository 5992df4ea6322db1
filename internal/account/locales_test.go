package account_test

import (
	"regexp"
	"testing"

	"github.com/loket-kinderopvang/loket/internal/platform/web/webtest"
)

// TestMessagesOfGoCode: every message id the Go code of this package uses
// (field errors, notices, the mail) exists in Dutch, French and English.
// The templates' ids are checked by the web package's catalogue test.
func TestMessagesOfGoCode(t *testing.T) {
	webtest.RequireMessages(t, webtest.MessageIDs(t, regexp.MustCompile(`"(account\.[a-z0-9_.]+)"`)), 15)
}
