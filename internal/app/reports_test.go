package app

import (
	"net/http"
	"strings"
	"testing"

	"github.com/loket-kinderopvang/loket/internal/platform/db"
	"github.com/loket-kinderopvang/loket/internal/platform/dbtest"
)

// TestReportRoutesWired: the report pages exist and ask for a sign-in. The
// regional path must not be taken for a desk called "regio" (it is
// registered before /:tenant and is a platform path on a desk's own host).
func TestReportRoutesWired(t *testing.T) {
	_, srv := newApp(t, dbtest.NewTarget(t, db.SQLite))
	for _, path := range []string{"/regio/13000/cijfers?jaar=2026", "/leuven/loket/cijfers", "/leuven/loket/cijfers/export.xlsx"} {
		res := get(t, srv, path, "Accept", "text/html")
		if res.Status != http.StatusSeeOther || !strings.HasPrefix(res.Header.Get("Location"), "/aanmelden") {
			t.Errorf("GET %s = %d → %q, want a redirect to sign in", path, res.Status, res.Header.Get("Location"))
		}
	}
}
