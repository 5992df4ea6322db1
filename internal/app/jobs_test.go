package app

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/loket-kinderopvang/loket/internal/mail"
	"github.com/loket-kinderopvang/loket/internal/platform/db"
	"github.com/loket-kinderopvang/loket/internal/platform/dbtest"
	"github.com/loket-kinderopvang/loket/internal/platform/tenancy"
	"github.com/loket-kinderopvang/loket/internal/platform/web/webtest"
	"github.com/loket-kinderopvang/loket/internal/retention"
)

// TestRequestMailsAndJobsAreWired: a registration mails the confirmation
// with the status link to the outbox, the scheduler's sweep runs for every
// desk, and /metrics shows the job gauges without personal data.
func TestRequestMailsAndJobsAreWired(t *testing.T) {
	a, srv := newApp(t, dbtest.NewTarget(t, db.SQLite))
	_, leuven := availLocations(t, a.Catalog)
	if res := webtest.Do(t, srv.App, "POST", "/api/v1/tenants/leuven/requests", submissionJSON(t, leuven.String()),
		"Content-Type", "application/json"); res.Status != 201 {
		t.Fatalf("register: %d %s", res.Status, res.Body)
	}
	ctx := context.Background()
	desk, _ := a.Directory.BySlug("leuven")
	sent, err := a.Mail.(*mail.Outbox).DeskList(tenancy.WithTenant(ctx, desk.ID), "", 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(sent) != 1 || sent[0].Kind != "request.submitted" || sent[0].To != "an@ouders.example" || !strings.Contains(sent[0].Text, "/leuven/aanvraag/") {
		t.Fatalf("confirmation mails: %+v", sent)
	}
	if n, err := a.Jobs.RunDue(ctx); err != nil || n != 8 {
		t.Fatalf("RunDue: %d (%v), want the sweep, the nightly round fill, the end of due closures, the data reseal, the retention purge, the Idempotency-Key purge, the stale places check and the figures' warm-up", n, err)
	}
	var fills int
	if err := a.DB.NewRaw("SELECT count(*) FROM jobs WHERE kind = 'rounds.fill' AND done_at IS NOT NULL").Scan(ctx, &fills); err != nil || fills != 1 {
		t.Errorf("nightly round fill jobs done: %d (%v), want 1", fills, err)
	}
	if err := a.DB.NewRaw("SELECT count(*) FROM jobs WHERE kind = 'crisis.end_due' AND done_at IS NOT NULL").Scan(ctx, &fills); err != nil || fills != 1 {
		t.Errorf("daily end of due closures done: %d (%v), want 1", fills, err)
	}
	if err := a.DB.NewRaw("SELECT count(*) FROM jobs WHERE kind = 'retention.purge' AND done_at IS NOT NULL").Scan(ctx, &fills); err != nil || fills != 1 {
		t.Errorf("retention purge jobs done: %d (%v), want 1", fills, err)
	}
	if err := a.DB.NewRaw("SELECT count(*) FROM jobs WHERE kind = 'data.reseal' AND done_at IS NOT NULL").Scan(ctx, &fills); err != nil || fills != 1 {
		t.Errorf("data reseal jobs done: %d (%v), want 1", fills, err)
	}
	body := webtest.Get(t, srv.Metrics, "/metrics").Body
	for _, want := range []string{"loket_jobs_queued 0", "loket_jobs_late 0", "loket_jobs_failed_total 0"} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
}

// TestRetentionPeriodsFromConfig: the platform's retention periods reach the
// purge from the configuration; unset ones keep the purge's defaults.
func TestRetentionPeriodsFromConfig(t *testing.T) {
	tg := dbtest.NewTarget(t, db.SQLite)
	ctx := context.Background()
	if _, err := tg.Owner(t).MigrateUp(ctx, dbtest.AppRole); err != nil {
		t.Fatal(err)
	}
	cfg := testDataDir(t, testConfig(tg), tg)
	cfg.RetentionAccountYears, cfg.RetentionRecordYears = 3, 10
	a, err := Open(ctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = a.Close() })
	r := a.Retention
	if r.AccountYears != 3 || r.RecordYears != 10 || r.KeyYears != retention.DefaultKeyYears || r.PlatformMailDays != retention.DefaultPlatformMailDays {
		t.Errorf("purge periods = accounts %d, records %d, keys %d, mail %d; want 3, 10 and the defaults",
			r.AccountYears, r.RecordYears, r.KeyYears, r.PlatformMailDays)
	}
}
