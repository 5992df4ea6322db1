package page_test

import (
	"encoding/json"
	"strconv"
	"strings"
	"testing"

	"github.com/gofiber/fiber/v2"

	"github.com/loket-kinderopvang/loket/internal/platform/page"
	"github.com/loket-kinderopvang/loket/internal/platform/web/webtest"
)

type row struct{ ID int }

func listApp(n int) *fiber.App {
	app := fiber.New()
	app.Get("/rows", func(c *fiber.Ctx) error {
		rows := make([]row, n)
		for i := range rows {
			rows[n-1-i] = row{ID: i} // unsorted on purpose
		}
		return page.List(c, rows, func(r row) page.Key { return page.Key{strconv.Itoa(1000 + r.ID)} })
	})
	return app
}

// TestPagesWalkTheWholeList: following next_cursor (and the Link header)
// gives every item once, in key order, and the last page has no cursor.
func TestPagesWalkTheWholeList(t *testing.T) {
	app := listApp(7)
	var seen []int
	path := "/rows?limit=3"
	for pages := 0; path != ""; pages++ {
		if pages > 5 {
			t.Fatal("no end")
		}
		res := webtest.Get(t, app, path)
		if res.Status != 200 {
			t.Fatalf("%s: %d %s", path, res.Status, res.Body)
		}
		var env page.Envelope[row]
		if err := json.Unmarshal([]byte(res.Body), &env); err != nil {
			t.Fatal(err)
		}
		for _, r := range env.Items {
			seen = append(seen, r.ID)
		}
		link := res.Header.Get("Link")
		path = ""
		if env.NextCursor != nil {
			if !strings.Contains(link, "cursor="+*env.NextCursor) || !strings.HasSuffix(link, `rel="next"`) || !strings.Contains(link, "limit=3") {
				t.Errorf("Link %q does not lead to cursor %s", link, *env.NextCursor)
			}
			path = "/rows?limit=3&cursor=" + *env.NextCursor
		} else if link != "" {
			t.Errorf("last page has Link %q", link)
		}
	}
	if len(seen) != 7 {
		t.Fatalf("items %v, want 0..6", seen)
	}
	for i, id := range seen {
		if id != i {
			t.Fatalf("items %v, want 0..6 in order", seen)
		}
	}
}

// TestBadLimitOrCursorIsAFieldProblem: 400 problem+json naming the field.
func TestBadLimitOrCursorIsAFieldProblem(t *testing.T) {
	app := listApp(3)
	for q, field := range map[string]string{"limit=0": "limit", "limit=201": "limit", "limit=x": "limit",
		"cursor=%21%21": "cursor", "cursor=" + "bm90anNvbg": "cursor"} {
		res := webtest.Get(t, app, "/rows?"+q)
		if res.Status != 400 || !strings.HasPrefix(res.Header.Get("Content-Type"), "application/problem+json") ||
			!strings.Contains(res.Body, `"field":"`+field+`"`) {
			t.Errorf("%s: %d %s %s", q, res.Status, res.Header.Get("Content-Type"), res.Body)
		}
	}
	if res := webtest.Get(t, app, "/rows?limit=200"); res.Status != 200 || !strings.Contains(res.Body, `"next_cursor":null`) {
		t.Errorf("limit=200: %d %s", res.Status, res.Body)
	}
}
