package work_test

import (
	"regexp"
	"testing"

	"github.com/loket-kinderopvang/loket/internal/platform/web/webtest"
)

// TestMessagesOfGoCode: every "work.…" message id that Go code writes out
// (here and in the domain packages whose staff pages use this catalogue)
// exists in Dutch, French and English, as do the ids built at run time.
func TestMessagesOfGoCode(t *testing.T) {
	used := webtest.MessageIDs(t, regexp.MustCompile(`"(work\.[a-z0-9_.]+)"`),
		".", "../requests", "../rounds", "../access", "../catalog")
	// Built at run time.
	for _, k := range []string{"request.submitted", "request.activated", "request.active", "request.offered", "request.placed",
		"request.withdrawn", "request.closed", "request.unanswered", "request.duplicate_kept", "request.duplicate_merged",
		"request.status_link_revoked", "preference.offered", "preference.waiting_list", "preference.no_place",
		"preference.forwarded", "preference.accepted", "preference.declined", "preference.lapsed", "preference.closed",
		"preference.pending", "preference.location_closed", "preference.added", "family.contact_changed", "family.vulnerable.true", "family.vulnerable.false"} {
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
