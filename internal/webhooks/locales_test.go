package webhooks_test

import (
	"regexp"
	"testing"

	"github.com/loket-kinderopvang/loket/internal/platform/web/webtest"
	"github.com/loket-kinderopvang/loket/internal/webhooks"
)

// TestMessagesOfGoCode: every message id the Go code uses, and the name of
// every event (built at run time), exists in Dutch, French and English.
func TestMessagesOfGoCode(t *testing.T) {
	used := webtest.MessageIDs(t, regexp.MustCompile(`"(webhooks\.[a-z0-9_.]+)"`))
	for _, e := range webhooks.Events {
		used["webhooks.event."+e] = true
	}
	webtest.RequireMessages(t, used, len(webhooks.Events))
}
