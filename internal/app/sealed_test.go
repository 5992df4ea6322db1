package app

import (
	"context"
	"errors"
	"html"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/loket-kinderopvang/loket/internal/platform/authz"
	"github.com/loket-kinderopvang/loket/internal/platform/config"
	"github.com/loket-kinderopvang/loket/internal/platform/dbtest"
	"github.com/loket-kinderopvang/loket/internal/platform/sealed"
	"github.com/loket-kinderopvang/loket/internal/platform/tenancy"
	"github.com/loket-kinderopvang/loket/internal/requests"
)

// testDataKeys is the test apps' data key (invented, 32 bytes).
const testDataKeys = "test1:dGVzdC1kYXRhLWtleS0wMTIzNDU2Nzg5YWJjZGVmISE="

// rawSealed reads column of table for row id as stored, bypassing
// sealed.Text: what a database dump shows.
func rawSealed(t *testing.T, a *App, table, column, where string, arg any) string {
	t.Helper()
	var v string
	err := tenancy.NewStore(a.DB).Tx(deskCtx(t, a, "leuven"), func(ctx context.Context, tx *tenancy.Tx) error {
		return tx.From(table, "t").ColumnExpr("t."+column).Where(where, arg).Scan(ctx, &v)
	})
	if err != nil {
		t.Fatalf("raw %s.%s: %v", table, column, err)
	}
	return v
}

// TestSensitiveTextSealedAtRest: a desk note, a care-need description, the
// reason staff give with a change (events.reason) and the legal obligation
// that keeps an erased family (families.erasure_reason) are stored
// encrypted (the raw column holds no plain text) and the desk's page still
// shows them; text written before encryption stays readable and is sealed
// by the reseal job (the append-only event log too, through its narrow
// role); after a key rotation old values stay readable and Reseal moves
// every value to the new key.
func TestSensitiveTextSealedAtRest(t *testing.T) {
	dbtest.EachTarget(t, func(t *testing.T, tg dbtest.Target) {
		ctx := context.Background()
		a, srv := newApp(t, tg)
		if _, err := a.Seed(ctx); err != nil {
			t.Fatal(err)
		}
		worker := SignInDemo(t, a, srv.App, authz.DeskWorker)
		desk := requests.Actor{ID: "test", Kind: requests.ActorDesk}
		const need, note, legacy = "Zorgnood: epilepsiemedicatie om 12 uur", "Loketnotitie: het gezin woont tijdelijk in een opvanghuis", "Oude zorgnood: rolstoel"
		sub := deskSub(t, a, "leuven", "Zegelkind", "Slotmans", "zegel@ouders.example", locationIn(t, a, "leuven", true))
		sub.SpecificCareNeed, sub.CareNeedNote, sub.Note = true, need, note
		req := submitAt(t, a, "leuven", sub, desk)
		older := submitAt(t, a, "leuven", deskSub(t, a, "leuven", "Oudkind", "Slotmans", "oud@ouders.example", locationIn(t, a, "leuven", true)), desk)

		const why, obligation, legacyWhy = "Gezin verhuisd naar een opvanghuis in Gent", "Een lopende procedure bij de jeugdrechter", "Oude reden: dubbel ingediend"
		lctx := deskCtx(t, a, "leuven")
		if err := a.Requests.Close(lctx, older.ID, why, desk); err != nil {
			t.Fatal(err)
		}
		if err := a.Requests.RequestErasure(lctx, req.ID); err != nil {
			t.Fatal(err)
		}
		if err := a.Requests.KeepDespiteErasure(lctx, req.ID, obligation, desk); err != nil {
			t.Fatal(err)
		}
		cs, err := a.Requests.Case(lctx, req.ID)
		if err != nil || cs.Family.ErasureReason.String() != obligation {
			t.Fatalf("the kept family's reason: %v", err)
		}
		rawNeed := rawSealed(t, a, "requests", "care_need_note", "t.id = ?", req.ID)
		rawNote := rawSealed(t, a, "request_notes", "body", "t.request_id = ?", req.ID)
		rawWhy := rawSealed(t, a, "events", "reason", "t.subject_id = ? AND t.kind = 'request.closed'", older.ID)
		rawRefused := rawSealed(t, a, "events", "reason", "t.subject_id = ? AND t.kind = 'family.erasure_refused'", req.ID)
		rawObligation := rawSealed(t, a, "families", "erasure_reason", "t.id = ?", cs.Family.ID)
		for _, raw := range []string{rawNeed, rawNote, rawWhy, rawRefused, rawObligation} {
			if strings.Contains(raw, "epilepsie") || strings.Contains(raw, "opvanghuis") || strings.Contains(raw, "jeugdrechter") || !sealed.IsSealed(raw) {
				t.Fatalf("stored in clear: %q", raw)
			}
		}
		// An event reason from before sealing, in plain text (the log only
		// takes inserts).
		legacyID := uuid.New()
		if err := tenancy.NewStore(a.DB).Tx(lctx, func(ctx context.Context, tx *tenancy.Tx) error {
			row := map[string]any{"tenant_id": tx.Tenant(), "id": legacyID, "occurred_at": time.Now(), "actor": desk.String(),
				"subject_type": "request", "subject_id": older.ID.UUID, "kind": "request.note", "from_state": "", "to_state": "", "reason": legacyWhy}
			_, err := tx.Unscoped().NewInsert().Model(&row).TableExpr("events").Exec(ctx)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		// A value from before encryption, written as plain text.
		err = tenancy.NewStore(a.DB).Tx(deskCtx(t, a, "leuven"), func(ctx context.Context, tx *tenancy.Tx) error {
			q, err := tx.Update(&requests.Request{})
			if err != nil {
				return err
			}
			_, err = q.Set("care_need_note = ?, specific_care_need = ?", legacy, true).Where("id = ?", older.ID).Exec(ctx)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		page := func(id requests.RequestID) string {
			t.Helper()
			r := worker.Get("/leuven/loket/aanvragen/" + id.String())
			if r.Status != 200 {
				t.Fatalf("request page: %d", r.Status)
			}
			return html.UnescapeString(r.Body)
		}
		if p := page(req.ID); !strings.Contains(p, need) || !strings.Contains(p, note) {
			t.Error("the desk's page must show the decrypted note and care need")
		}
		if p := page(older.ID); !strings.Contains(p, legacy) || !strings.Contains(p, legacyWhy) || !strings.Contains(p, why) {
			t.Error("the page must show the closing reason, and plain text from before encryption must stay readable")
		}

		// Rotation: a new current key, the old one kept for reading.
		// One id per database: the process keyring keeps every key it was
		// given, and an id names one key.
		rot := "rot-" + string(tg.Dialect)
		newKey, err := sealed.NewKey(rot)
		if err != nil {
			t.Fatal(err)
		}
		rotated, err := sealed.ParseKeys(newKey + "," + testDataKeys)
		if err != nil {
			t.Fatal(err)
		}
		if err := sealed.Use(rotated); err != nil {
			t.Fatal(err)
		}
		a.DataKeys = rotated
		if p := page(req.ID); !strings.Contains(p, need) || !strings.Contains(p, note) {
			t.Error("after rotation, values under the old key must stay readable")
		}
		n, err := a.Reseal(ctx)
		if err != nil || n < 7 {
			t.Fatalf("reseal: %d values, %v; want at least the note, the care need, the plain-text one, three reasons and the obligation", n, err)
		}
		for _, raw := range []string{rawSealed(t, a, "requests", "care_need_note", "t.id = ?", req.ID),
			rawSealed(t, a, "request_notes", "body", "t.request_id = ?", req.ID),
			rawSealed(t, a, "requests", "care_need_note", "t.id = ?", older.ID),
			rawSealed(t, a, "events", "reason", "t.subject_id = ? AND t.kind = 'request.closed'", older.ID),
			rawSealed(t, a, "events", "reason", "t.id = ?", legacyID),
			rawSealed(t, a, "families", "erasure_reason", "t.id = ?", cs.Family.ID)} {
			if sealed.KeyID(raw) != rot || strings.Contains(raw, "rolstoel") || strings.Contains(raw, "dubbel") {
				t.Errorf("after reseal, stored %q", raw)
			}
		}
		if again, err := a.Reseal(ctx); err != nil || again != 0 {
			t.Errorf("a second reseal must find nothing: %d %v", again, err)
		}
		if p := page(req.ID); !strings.Contains(p, need) || !strings.Contains(p, note) || !strings.Contains(page(older.ID), legacy) ||
			!strings.Contains(page(older.ID), legacyWhy) {
			t.Error("after reseal the page must show the texts")
		}
		// The old key alone no longer opens them: the dump needs the new key.
		oldOnly, _ := sealed.ParseKeys(testDataKeys)
		if _, err := oldOnly.Open(rawSealed(t, a, "requests", "care_need_note", "t.id = ?", req.ID)); !errors.Is(err, sealed.ErrUnknownKey) {
			t.Errorf("a keyring without the new key must fail clearly, got %v", err)
		}
	})
}

// TestDataKeysRequired: PostgreSQL (production) refuses to start without
// LOKET_DATA_KEYS, and the request store without keys; the embedded store keeps a key in data_dir/data.key and
// reuses it; a damaged key file stops the start.
func TestDataKeysRequired(t *testing.T) {
	if _, err := dataKeys(config.Config{DatabaseURL: "postgres://db/loket"}); err == nil || !strings.Contains(err.Error(), "LOKET_DATA_KEYS") {
		t.Errorf("PostgreSQL without data keys: %v", err)
	}
	if _, err := requests.NewStore(nil, nil, nil); err == nil || !strings.Contains(err.Error(), "LOKET_DATA_KEYS") {
		t.Errorf("a request store without data keys: %v", err)
	}
	kr, err := dataKeys(config.Config{DatabaseURL: "postgres://db/loket", DataKeys: testDataKeys})
	if err != nil || kr.Current() != "test1" {
		t.Fatalf("configured keys: %v", err)
	}
	dir := t.TempDir()
	first, err := dataKeys(config.Config{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	v, _ := first.Seal("notitie")
	second, err := dataKeys(config.Config{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if got, err := second.Open(v); err != nil || got != "notitie" {
		t.Errorf("the kept key must open what the first start sealed: %q %v", got, err)
	}
	if err := os.WriteFile(filepath.Join(dir, "data.key"), []byte("kapot"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := dataKeys(config.Config{DataDir: dir}); err == nil || !strings.Contains(err.Error(), "LOKET_DATA_KEYS") {
		t.Errorf("a damaged key file must stop the start: %v", err)
	}
}
