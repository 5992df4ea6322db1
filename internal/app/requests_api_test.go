package app

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/loket-kinderopvang/loket/internal/platform/db"
	"github.com/loket-kinderopvang/loket/internal/platform/dbtest"
	"github.com/loket-kinderopvang/loket/internal/platform/tenancy"
	"github.com/loket-kinderopvang/loket/internal/platform/web/webtest"
	"github.com/loket-kinderopvang/loket/internal/requests"
)

func submissionJSON(t *testing.T, locations ...string) string {
	t.Helper()
	start := time.Now().AddDate(0, 4, 0).Format("2006-01-02")
	birth := time.Now().AddDate(0, -3, 0).Format("2006-01-02")
	prefs, _ := json.Marshal(locations)
	return fmt.Sprintf(`{"child":{"first_name":"Noor","last_name":"Testkind","birth_date":%q},
		"parents":[{"first_name":"An","last_name":"Testouder","email":"an@ouders.example","phone":"0470 00 00 00"}],
		"language":"nl","address":{"municipality_nis":"24062","neighbourhood":""},
		"desired_start":%q,"flexibility_weeks":4,
		"care_plan":{"days":["mon","tue","thu"],"day_part":"whole","wider_hours":false},
		"preferences":%s,"reason":"work","priority_claims":["work_or_training"],
		"specific_care_need":false,"urgent":false,"privacy_consent_version":"2026-01"}`, birth, start, prefs)
}

// TestRequestAPI: a valid registration is stored once per Idempotency-Key; a
// bad one gets 422 listing every wrong field and stores nothing.
func TestRequestAPI(t *testing.T) {
	dbtest.EachTarget(t, func(t *testing.T, tg dbtest.Target) {
		a, srv := newApp(t, tg)
		_, leuven := availLocations(t, a.Catalog)
		body := submissionJSON(t, leuven.String())
		post := func(body string, headers ...string) webtest.Response {
			return webtest.Do(t, srv.App, "POST", "/api/v1/tenants/leuven/requests", body,
				append([]string{"Content-Type", "application/json"}, headers...)...)
		}
		first := post(body, "Idempotency-Key", "key-1")
		if first.Status != 201 {
			t.Fatalf("status %d: %s", first.Status, first.Body)
		}
		var created requests.SubmitResponse
		if err := json.Unmarshal([]byte(first.Body), &created); err != nil || created.ID == "" || !strings.Contains(created.StatusURL, "/leuven/aanvraag/") {
			t.Fatalf("answer %s (%v)", first.Body, err)
		}
		again := post(body, "Idempotency-Key", "key-1")
		if again.Status != 201 || !strings.Contains(again.Body, created.ID) || again.Header.Get("Idempotent-Replayed") != "true" {
			t.Fatalf("replay: %d %s", again.Status, again.Body)
		}
		if other := post(body, "Idempotency-Key", "key-2"); other.Status != 201 || strings.Contains(other.Body, created.ID) {
			t.Fatalf("a new key must register a new request: %d %s", other.Status, other.Body)
		}

		bad := strings.NewReplacer(`"first_name":"Noor"`, `"first_name":""`, `"day_part":"whole"`, `"day_part":"evening"`,
			`"privacy_consent_version":"2026-01"`, `"privacy_consent_version":""`).Replace(body)
		res := post(bad, "Idempotency-Key", "key-3")
		if res.Status != 422 || !strings.Contains(res.Header.Get("Content-Type"), "problem+json") {
			t.Fatalf("bad input: %d %s", res.Status, res.Body)
		}
		for _, field := range []string{"child.first_name", "care_plan.day_part", "privacy_consent_version"} {
			if !strings.Contains(res.Body, `"field":"`+field+`"`) {
				t.Errorf("problem lacks field %s: %s", field, res.Body)
			}
		}
		if res := post(`{"child":`); res.Status != 400 {
			t.Errorf("malformed JSON: %d", res.Status)
		}
		if res := webtest.Do(t, srv.App, "POST", "/api/v1/tenants/nergens/requests", body, "Content-Type", "application/json"); res.Status != 404 {
			t.Errorf("unknown desk: %d", res.Status)
		}
		desk, _ := a.Directory.BySlug("leuven")
		list, err := a.Requests.Store().List(tenancy.WithTenant(context.Background(), desk.ID), 10)
		if err != nil || len(list) != 2 {
			t.Errorf("stored %d requests (err %v), want 2: one per key, none for the bad one", len(list), err)
		}
	})
}

// TestMetricsCoverRequestsAndPool: /metrics reports requests per desk and
// status (desk slug and status only) and the database pool.
func TestMetricsCoverRequestsAndPool(t *testing.T) {
	a, srv := newApp(t, dbtest.NewTarget(t, db.SQLite))
	_, leuven := availLocations(t, a.Catalog)
	if res := webtest.Do(t, srv.App, "POST", "/api/v1/tenants/leuven/requests", submissionJSON(t, leuven.String()),
		"Content-Type", "application/json"); res.Status != 201 {
		t.Fatalf("register: %d %s", res.Status, res.Body)
	}
	body := webtest.Get(t, srv.Metrics, "/metrics").Body
	for _, want := range []string{`loket_requests{desk="leuven",status="submitted"} 1`, `loket_requests{desk="leuven",status="placed"} 0`,
		`go_sql_max_open_connections{db_name="loket"}`, "loket_http_requests_total"} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	if strings.Contains(body, "Noor") || strings.Contains(body, "an@ouders.example") {
		t.Error("personal data in metrics")
	}
}
