package app

// Second-look tests of the parent's pages: outcomes the first tests do not
// walk (more preferences than the desk allows, a double submit) and the error summary's links, which
// must each land on a field of the page.

import (
	"context"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/loket-kinderopvang/loket/internal/platform/dbtest"
	"github.com/loket-kinderopvang/loket/internal/platform/tenancy"
	"github.com/loket-kinderopvang/loket/internal/requests"
)

var summaryLinkRE = regexp.MustCompile(`<li><a href="#([^"]+)">`)

// summaryTargetsExist fails when an error-summary link points at no element
// of the page (a keyboard user following it would land nowhere).
func summaryTargetsExist(t *testing.T, body string) {
	t.Helper()
	i := strings.Index(body, `class="error-summary"`)
	if i < 0 {
		t.Fatal("no error summary")
	}
	end := strings.Index(body[i:], "</div>")
	links := summaryLinkRE.FindAllStringSubmatch(body[i:i+end], -1)
	if len(links) == 0 {
		t.Fatal("error summary without links")
	}
	for _, m := range links {
		id := html.UnescapeString(m[1])
		if !strings.Contains(body, `id="`+id+`"`) {
			t.Errorf("error summary links to #%s, which is not on the page", id)
		}
	}
}

func TestRequestFormEveryStepSummaryLinksToAField(t *testing.T) {
	dbtest.EachTarget(t, func(t *testing.T, tg dbtest.Target) {
		a, srv := newApp(t, tg)
		locs := parentLocations(t, a.Catalog, 1)
		b := NewBrowser(t, srv.App)
		page := b.Get("/leuven/aanvragen")
		good := parentSteps(locs)
		// Each step posted empty shows its errors; then the good values move on.
		for i := range good {
			empty := url.Values{}
			for k := range good[i] {
				empty[k] = []string{""}
			}
			bad := step(b, page, "/leuven/aanvragen", empty, "next")
			if bad.Status != 422 {
				t.Fatalf("step %d empty: %d", i+1, bad.Status)
			}
			summaryTargetsExist(t, bad.Body)
			page = step(b, bad, "/leuven/aanvragen", good[i], "next")
			if page.Status != 200 {
				t.Fatalf("step %d: %d\n%s", i+1, page.Status, errorSummary(page.Body))
			}
		}
	})
}

func TestRequestFormRefusesMorePreferencesThanTheDeskAllows(t *testing.T) {
	dbtest.EachTarget(t, func(t *testing.T, tg dbtest.Target) {
		a, srv := newApp(t, tg)
		d, _ := a.Directory.BySlug("leuven")
		max := d.MaxPreferences
		locs := parentLocations(t, a.Catalog, max+1)
		b := NewBrowser(t, srv.App)
		page := b.Get("/leuven/aanvragen")
		s := parentSteps(locs[:1])
		for i := range 3 {
			page = step(b, page, "/leuven/aanvragen", s[i], "next")
		}
		// A forged post with one select more than the page offers.
		prefs := url.Values{}
		for i, l := range locs {
			prefs.Set(fmt.Sprintf("preferences[%d]", i), l.String())
		}
		res := step(b, page, "/leuven/aanvragen", prefs, "next")
		if res.Status != 422 || !strings.Contains(res.Body, "te veel opvanglocaties") {
			t.Fatalf("%d preferences at a desk of %d: %d\n%s", len(locs), max, res.Status, errorSummary(res.Body))
		}
		summaryTargetsExist(t, res.Body)
		// Nor does the forged list get through the final submit.
		page = step(b, page, "/leuven/aanvragen", s[3], "next")
		page = step(b, page, "/leuven/aanvragen", s[4], "next")
		f := hiddenFields(page.Body)
		for k, v := range prefs {
			f[k] = v
		}
		f.Set("action", "submit")
		if r := b.Do(http.MethodPost, "/leuven/aanvragen", f); r.Status != 422 {
			t.Fatalf("forged submit: %d", r.Status)
		}
		ctx := tenancy.WithTenant(context.Background(), leuvenID(t, a))
		if items, err := a.Requests.Worklist(ctx, requests.WorklistFilter{}); err != nil || len(items) != 0 {
			t.Fatalf("stored %d requests (%v)", len(items), err)
		}
	})
}

func TestRequestFormDoubleSubmitStoresOneRequest(t *testing.T) {
	dbtest.EachTarget(t, func(t *testing.T, tg dbtest.Target) {
		a, srv := newApp(t, tg)
		locs := parentLocations(t, a.Catalog, 1)
		b := NewBrowser(t, srv.App)
		page := b.Get("/leuven/aanvragen")
		for _, fields := range parentSteps(locs) {
			page = step(b, page, "/leuven/aanvragen", fields, "next")
		}
		first := step(b, page, "/leuven/aanvragen", nil, "submit")
		again := step(b, page, "/leuven/aanvragen", nil, "submit") // the back button and submit again
		m1, m2 := statusLinkRE.FindStringSubmatch(first.Body), statusLinkRE.FindStringSubmatch(again.Body)
		if m1 == nil || m2 == nil || m1[1] != m2[1] {
			t.Fatalf("two submits: %d %d, links %v %v", first.Status, again.Status, m1, m2)
		}
		ctx := tenancy.WithTenant(context.Background(), leuvenID(t, a))
		if items, err := a.Requests.Worklist(ctx, requests.WorklistFilter{}); err != nil || len(items) != 1 {
			t.Fatalf("stored %d requests (%v)", len(items), err)
		}
	})
}
