package rounds_test

import (
	"testing"

	"github.com/loket-kinderopvang/loket/internal/catalog"
	"github.com/loket-kinderopvang/loket/internal/platform/web/webtest"
	"github.com/loket-kinderopvang/loket/internal/requests"
	"github.com/loket-kinderopvang/loket/internal/rounds"
)

// TestMessagesBuiltAtRunTime: the round pages build message ids from round
// states, refusal reasons and window error codes; each exists in Dutch,
// French and English (literal ids are checked by the web package).
func TestMessagesBuiltAtRunTime(t *testing.T) {
	used := map[string]bool{}
	for _, s := range []string{rounds.StatusDryRun, rounds.StatusPublished} {
		used["rounds.status."+s] = true
	}
	for _, r := range requests.NoPlaceReasons {
		used["rounds.reason."+string(r)] = true
	}
	for _, e := range append(rounds.Window("mei", "2027-01"), rounds.Window("2027-03", "2027-01")...) {
		used["rounds.error."+e.Code] = true
	}
	// Explanations name age bands and criteria, and the two seat groups.
	for _, b := range catalog.AgeBands {
		used["rounds.band."+string(b)] = true
	}
	for _, c := range rounds.DefaultPolicy.Tiers {
		used["rounds.criterion."+c] = true
	}
	for _, g := range []string{"open", "reserved"} {
		used["rounds.explain.cutoff_more."+g] = true
		used["rounds.explain.cutoff_same."+g] = true
	}
	webtest.RequireMessages(t, used, 10)
}
