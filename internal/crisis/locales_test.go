package crisis_test

import (
	"regexp"
	"testing"

	"github.com/loket-kinderopvang/loket/internal/crisis"
	"github.com/loket-kinderopvang/loket/internal/platform/web/webtest"
)

// TestMessagesOfGoCode: every "crisis.…" id the Go code writes out or builds
// at run time (error codes, causes, states, days, fields) exists in Dutch,
// French and English.
func TestMessagesOfGoCode(t *testing.T) {
	used := webtest.MessageIDs(t, regexp.MustCompile(`"(crisis\.[a-z0-9_.]+)"`), ".")
	for _, c := range []string{"location", "date", "until_before_from", "required", "text", "radius", "already_closed", "outside",
		"month", "age_band", "places", "upload", "line"} {
		used["crisis.error."+c] = true
	}
	for _, c := range []string{crisis.CausePlacement, crisis.CauseOffer, crisis.CausePreference, crisis.CauseOutside} {
		used["crisis.cause."+c] = true
	}
	for _, s := range []string{crisis.StateProposed, crisis.StateOffered, crisis.StatePlaced, crisis.StateDeclined, crisis.StateWithout} {
		used["crisis.family."+s] = true
	}
	for _, d := range []string{"mon", "tue", "wed", "thu", "fri"} {
		used["crisis.day."+d] = true
	}
	for _, f := range []string{"location_id", "from", "until", "reason", "radius_km", "public", "first_name", "last_name", "birth_date",
		"parent_first_name", "parent_last_name", "email", "phone", "start", "days",
		"closure_id", "emergency_location", "start_month", "age_band", "places", "emergency_until", "file"} {
		used["crisis.field."+f] = true
	}
	for _, f := range []string{"location_id", "from", "until", "reason", "radius_km", "file"} {
		used["crisis.hint."+f] = true
	}
	webtest.RequireMessages(t, used, 50)
}
