package tenancy_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// unscopedUses are the only places outside tests that may leave the tenant
// store through Tx.Unscoped, each with its reason and the test that covers
// it: "file:function" → uses in that function. A new use fails
// TestUnscopedUses until it is listed here on purpose, so desk data cannot be
// queried with a hand-written desk filter again (on SQLite nothing else would
// catch a mistake in it).
var unscopedUses = map[string]struct {
	n      int
	reason string
}{
	// Crossing desks is the point: duplicate detection across desks reads the
	// platform-wide keyed fingerprints (no personal data; see the
	// request_fingerprints migration). Tests: TestDuplicatesAcrossDesks and
	// TestBatchAnswersEachRegistration in internal/requests.
	// The retention purge removes this desk's fingerprints of the requests
	// it purges (a hand-written desk filter on the platform-wide table), and
	// switches to its narrow role for the append-only logs (no query).
	// Test: TestRetentionPurge in internal/retention.
	"internal/retention/retention.go:deleteRequests": {1, "purge: this desk's fingerprints of purged requests"},
	"internal/requests/batch.go:markDuplicates":      {1, "cross-desk duplicate fingerprints"},
	"internal/requests/service.go:duplicateHints":    {1, "cross-desk duplicate fingerprints"},
	// The public catalogue (platform data, no desk's) read or changed in the
	// desk's transaction: location names, whether a location accepts requests,
	// free places taken atomically with the placement. No desk data is reached
	// (these are not crossings; a platform accessor would name them better).
	// Tests: the service and rounds tests in internal/requests and
	// internal/rounds.
	"internal/requests/queries.go:Inbox":                {1, "catalogue: location names"},
	"internal/requests/provider_lists.go:ProviderItems": {1, "catalogue: location names"},
	"internal/requests/queries.go:dues":                 {1, "catalogue: location names"},
	"internal/requests/queries.go:inArea":               {1, "catalogue: municipality of each chosen location"},
	"internal/requests/service.go:lookupLocations":      {1, "catalogue: locations accept requests"},
	"internal/requests/service.go:Case":                 {1, "catalogue: location names"},
	"internal/requests/service.go:checkOffer":           {1, "catalogue: free places"},
	"internal/requests/service.go:Accept":               {1, "catalogue: take a free place with the placement"},
	"internal/requests/service.go:parentNoticeWhy":      {1, "catalogue: location name"},
	"internal/rounds/rounds.go:Load":                    {1, "catalogue: free places of the round"},
	// Answers by e-mail: which chosen locations' providers answer by mail,
	// and a location's name (catalogue). Test: TestAnswerByEmail in
	// internal/app.
	"internal/requests/answer_links.go:answerMails":  {1, "catalogue: locations that answer by e-mail"},
	"internal/requests/answer_links.go:locationName": {1, "catalogue: location name"},
	// Webhook endpoints and the catalogue's locations are platform data: the
	// endpoints of the providers of an event's locations, in the desk's
	// transaction so the deliveries commit with the change. Test:
	// TestWebhookDeliveredOnceSigned in internal/webhooks.
	"internal/webhooks/webhooks.go:EnqueueTx": {2, "platform: endpoints of the providers of the event's locations"},
	// The places.stale notice (platform data) commits with the desk's
	// deliveries it marks as told. Test: TestStalePlacesToldOncePerPeriod
	// in internal/webhooks.
	"internal/webhooks/stale.go:NotifyStalePlaces": {1, "platform: the stale period told, with its deliveries"},
}

// TestUnscopedUses finds every call of Unscoped() in the non-test Go code of
// the module and checks it against unscopedUses, both ways.
func TestUnscopedUses(t *testing.T) {
	root, err := filepath.Abs(filepath.Join("..", "..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("module root not found from %s: %v", root, err)
	}
	found := map[string]int{}
	fset := token.NewFileSet()
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if name := d.Name(); path != root && (strings.HasPrefix(name, ".") || name == "node_modules" || name == "testdata") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		rel = filepath.ToSlash(rel)
		for _, decl := range f.Decls {
			fn, ok := decl.(*ast.FuncDecl)
			if !ok || fn.Body == nil {
				continue
			}
			ast.Inspect(fn.Body, func(n ast.Node) bool {
				call, ok := n.(*ast.CallExpr)
				if !ok || len(call.Args) != 0 {
					return true
				}
				if sel, ok := call.Fun.(*ast.SelectorExpr); ok && sel.Sel.Name == "Unscoped" {
					found[rel+":"+fn.Name.Name]++
				}
				return true
			})
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for k := range found {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		want, ok := unscopedUses[k]
		switch {
		case !ok:
			t.Errorf("%s calls Unscoped() %d time(s): go through the tenant store (tx.Select, tx.From, tx.Join), "+
				"or, where crossing desks is the point, list it in unscopedUses with its reason and test", k, found[k])
		case want.n != found[k]:
			t.Errorf("%s calls Unscoped() %d time(s), unscopedUses says %d", k, found[k], want.n)
		}
	}
	for k := range unscopedUses {
		if found[k] == 0 {
			t.Errorf("unscopedUses lists %s, which no longer calls Unscoped(): remove it", k)
		}
	}
}
