package requests

import (
	"os"
	"regexp"
	"testing"

	"github.com/loket-kinderopvang/loket/internal/platform/web/webtest"
)

// TestMessagesOfParentPages: every message id the parent pages use, written
// out or built at run time (states, days, reasons, claims, and one
// "requests.error.<code>" per validation code of the submission), exists in
// Dutch, French and English. Template ids are checked by the web package.
func TestMessagesOfParentPages(t *testing.T) {
	used := map[string]bool{}
	src, err := os.ReadFile("web_parent.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range regexp.MustCompile(`"(requests?\.[a-z0-9_.]+[a-z0-9_])"`).FindAllStringSubmatch(string(src), -1) {
		used[m[1]] = true
	}
	for _, f := range []string{"submission.go", "service.go"} {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		// es.Add(field, "code", …) in the submission rules; offer and note
		// codes are not shown to parents.
		for _, m := range regexp.MustCompile(`es\.Add\("?([a-z_.\[\]%d"(), +]*?)"?, "([a-z_]+)"`).FindAllStringSubmatch(string(b), -1) {
			switch m[1] {
			case "kind", "reason\", \"no_place_reason", "offer_start", "offer_days", "body":
				continue
			}
			if m[2] == "answer_kind" || m[2] == "no_place_reason" || m[2] == "forward_central" || m[2] == "no_free_place" {
				continue
			}
			used["requests.error."+m[2]] = true
		}
	}
	used["requests.error.sworn"] = true
	for _, s := range []Status{StatusSubmitted, StatusActive, StatusOffered, StatusPlaced, StatusWithdrawn, StatusUnanswered, StatusClosed} {
		used["request.status."+string(s)] = true
		used["request.explain."+string(s)] = true
	}
	for _, p := range PreferenceStates {
		used["request.pref."+string(p)] = true
	}
	for _, r := range NoPlaceReasons {
		used["request.noplace."+string(r)] = true
	}
	for _, d := range Weekdays {
		used["request.day."+d] = true
	}
	for _, r := range Reasons {
		used["request.reason."+string(r)] = true
	}
	for _, c := range Claims {
		used["request.claim."+string(c)] = true
	}
	for _, s := range stepKeys[1:] {
		used["request.step."+s] = true
	}
	for _, n := range []string{"accepted", "declined", "contact", "withdrawn"} {
		used["request.notice."+n] = true
	}
	used["request.day_part.whole"], used["request.day_part.half"] = true, true
	if !used["requests.error.contact_required"] || !used["requests.error.location_closed"] {
		t.Fatalf("the submission's error codes were not found (%d ids)", len(used))
	}
	webtest.RequireMessages(t, used, 100)
}
