package retention_test

import (
	"context"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/loket-kinderopvang/loket/internal/catalog"
	"github.com/loket-kinderopvang/loket/internal/eventlog"
	"github.com/loket-kinderopvang/loket/internal/geo"
	"github.com/loket-kinderopvang/loket/internal/mail"
	"github.com/loket-kinderopvang/loket/internal/platform/clock"
	"github.com/loket-kinderopvang/loket/internal/platform/db"
	"github.com/loket-kinderopvang/loket/internal/platform/dbtest"
	"github.com/loket-kinderopvang/loket/internal/platform/sealed"
	"github.com/loket-kinderopvang/loket/internal/platform/tenancy"
	"github.com/loket-kinderopvang/loket/internal/reports"
	"github.com/loket-kinderopvang/loket/internal/requests"
	"github.com/loket-kinderopvang/loket/internal/retention"
	"github.com/loket-kinderopvang/loket/internal/tenant"
	"github.com/loket-kinderopvang/loket/internal/tenant/tenanttest"
)

type noCross struct{}

func (noCross) LogCrossTenant(context.Context, string, string, string, string, string) error {
	return nil
}

var desk = requests.Actor{Kind: requests.ActorDesk, ID: "test"}

// purgeWorld is the demo desks, a request service and one provider's
// location in municipality nis.
func purgeWorld(t *testing.T, d *db.DB, clk clock.Clock, nis, postcode string) (*tenant.Directory, *requests.Service, *catalog.Provider, *catalog.Location) {
	t.Helper()
	ctx := context.Background()
	dir := tenanttest.SyncDemo(t, d, clk)
	cat := catalog.NewStore(d, clk)
	svc, err := requests.NewService(tenancy.NewStore(d), requests.Options{Clock: clk, DataKeys: sealed.MustRandom("test-"), Desks: dir,
		Catalog: cat, HashKey: []byte("a-test-key-of-enough-length-0123456789"), PublicURL: "https://loket.example"})
	if err != nil {
		t.Fatal(err)
	}
	p := &catalog.Provider{Name: "Vzw Bewaaropvang"}
	if err := cat.SaveProvider(ctx, p); err != nil {
		t.Fatal(err)
	}
	loc := &catalog.Location{DossierNumber: "R-1", ProviderID: p.ID, Name: "Bewaaropvang", Postcode: postcode,
		MunicipalityNIS: geo.NISCode(nis), Lat: 50.90, Lon: 4.67, CareType: catalog.Groepsopvang, SubsidyTier: catalog.TierT1,
		LicensedPlaces: 18, MaxAgeMonths: 36, Languages: []string{"nl"}, AcceptsRequests: true}
	if err := cat.SaveLocation(ctx, loc); err != nil {
		t.Fatal(err)
	}
	return dir, svc, p, loc
}

// TestRetentionPurge, with the injectable clock on both databases: a request
// that ended more than five years ago goes with its child, family, parents,
// notes, history and looks; a family on legal hold stays; a request that
// ended three years ago keeps its request but loses its notes and care-need
// description; looks older than two years go; the figures of the purged
// years do not change.
func TestRetentionPurge(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		clk := clock.NewFixed(time.Date(2019, 2, 1, 9, 0, 0, 0, time.UTC))
		// In Herent, next to Leuven: every request is demand across the
		// border, which the region's report counts.
		dir, svc, p, loc := purgeWorld(t, d, clk, "24038", "3020")
		leuven, _ := dir.BySlug("leuven")
		lctx := tenancy.WithTenant(ctx, leuven.ID)
		submit := func(name string) *requests.Request {
			t.Helper()
			now := clk.Now()
			r, _, _, err := svc.Submit(lctx, requests.Submission{
				Child:    requests.ChildInput{FirstName: name, LastName: "Bewaarkind", BirthDate: now.AddDate(0, -2, 0).Format("2006-01-02")},
				Parents:  []requests.ParentInput{{FirstName: "Ouder", LastName: name, Email: name + "@ouders.example", Phone: "0470 00 00 00"}},
				Language: "nl", Address: requests.AddressInput{MunicipalityNIS: "24062"},
				DesiredStart: now.AddDate(0, 6, 0).Format("2006-01-02"), FlexibilityWeeks: 2,
				CarePlan:    requests.CarePlanInput{Days: []string{"mon"}, DayPart: "whole"},
				Preferences: []string{loc.ID.String()}, Reason: "work", PrivacyVersion: requests.PrivacyVersion,
				SpecificCareNeed: true, CareNeedNote: "Heeft een allergie voor " + name + ".", Channel: requests.ChannelCounter,
				Note: "Eerste gesprek met " + name + ".",
			}, desk, "")
			if err != nil {
				t.Fatalf("submit %s: %v", name, err)
			}
			return r
		}
		look := func(r *requests.Request) {
			t.Helper()
			cs, err := svc.CaseFor(lctx, r.ID, requests.DeskViewer, requests.Look{Actor: desk, What: eventlog.LookCase})
			if err != nil {
				t.Fatal(err)
			}
			_ = cs
		}
		// 2019: two requests that end the same year; one family goes on hold.
		// Six old families, enough for the region's figures to show counts
		// rather than hide small cells.
		old, held := submit("Oud"), submit("Bewaard")
		ended := []*requests.Request{old, held}
		for i := range 5 {
			ended = append(ended, submit(fmt.Sprintf("Oud%d", i)))
		}
		look(old)
		look(held)
		clk.Advance(30 * 24 * time.Hour)
		for _, r := range ended {
			if err := svc.Withdraw(lctx, r.ID, "verhuisd", desk); err != nil {
				t.Fatal(err)
			}
		}
		if err := svc.SetLegalHold(lctx, held.ID, true, desk); err != nil {
			t.Fatal(err)
		}
		// Mail of 2019: the desk's to a family that goes and to the held
		// one, the platform's; accounts and API keys ended in 2019.
		deskMail := func(to string) {
			t.Helper()
			err := tenancy.NewStore(d).Tx(lctx, func(ctx context.Context, tx *tenancy.Tx) error {
				return tx.Insert(ctx, &mail.DeskStored{Record: mail.Record{ID: mail.NewID(), CreatedAt: clk.Now(), Kind: "request.submitted",
					To: to, Subject: "Uw aanvraag", Text: "Dag ouder van " + to}})
			})
			if err != nil {
				t.Fatal(err)
			}
		}
		platformMail := func(to string) {
			t.Helper()
			if _, err := d.NewInsert().Model(&mail.Stored{Record: mail.Record{ID: mail.NewID(), CreatedAt: clk.Now(), Kind: "password_reset",
				To: to, Subject: "Aanmelden", Text: "Uw link"}}).Exec(ctx); err != nil {
				t.Fatal(err)
			}
		}
		account := func(email string, disabled bool) uuid.UUID {
			t.Helper()
			id := uuid.New()
			row := map[string]any{"id": id, "email": email, "display_name": "Medewerker " + email, "password_hash": "$argon2id$x",
				"totp_secret": "GEHEIM", "created_at": clk.Now(), "updated_at": clk.Now()}
			if disabled {
				row["disabled_at"] = clk.Now()
			}
			if _, err := d.NewInsert().Model(&row).TableExpr("users").Exec(ctx); err != nil {
				t.Fatal(err)
			}
			return id
		}
		apiKey := func(name string, revoked bool) {
			t.Helper()
			row := map[string]any{"id": uuid.New(), "provider_id": p.ID, "name": name, "token_hash": "hash-" + name, "prefix": "lk_" + name,
				"created_by": "provider:iemand", "created_at": clk.Now()}
			if revoked {
				row["revoked_at"] = clk.Now()
			}
			if _, err := d.NewInsert().Model(&row).TableExpr("api_keys").Exec(ctx); err != nil {
				t.Fatal(err)
			}
		}
		resetLink := func(user uuid.UUID, name string, expires time.Time) {
			t.Helper()
			row := map[string]any{"token_hash": "hash-" + name, "user_id": user, "created_at": clk.Now(), "expires_at": expires}
			if _, err := d.NewInsert().Model(&row).TableExpr("password_reset_tokens").Exec(ctx); err != nil {
				t.Fatal(err)
			}
		}
		endpoint := uuid.New()
		if _, err := d.NewInsert().Model(&map[string]any{"id": endpoint, "provider_id": p.ID, "url": "https://opvang.example/hook",
			"events": "request.created", "secret": "whsec_x", "created_at": clk.Now()}).TableExpr("webhook_endpoints").Exec(ctx); err != nil {
			t.Fatal(err)
		}
		delivery := func(name string, delivered bool) {
			t.Helper()
			row := map[string]any{"tenant_id": leuven.ID, "id": uuid.New(), "endpoint_id": endpoint, "event_type": name,
				"subject_id": old.ID.UUID, "payload": "{}", "created_at": clk.Now()}
			if delivered {
				row["delivered_at"] = clk.Now()
			}
			if err := tenancy.NewStore(d).Tx(lctx, func(ctx context.Context, tx *tenancy.Tx) error {
				_, err := tx.Unscoped().NewInsert().Model(&row).TableExpr("webhook_deliveries").Exec(ctx)
				return err
			}); err != nil {
				t.Fatal(err)
			}
		}
		delivery("old.delivered", true)
		delivery("old.pending", false)
		deskMail("Oud@ouders.example")
		deskMail("Bewaard@ouders.example")
		platformMail("oud-medewerker@loket.example")
		goneAccount, activeAccount := account("weg@loket.example", true), account("actief@loket.example", false)
		resetLink(activeAccount, "verlopen", clk.Now().Add(time.Hour))
		apiKey("oud", true)
		apiKey("actief", false)

		// 2023: a request that ends three years before the purge.
		clk.Advance(time.Date(2023, 6, 1, 9, 0, 0, 0, time.UTC).Sub(clk.Now()))
		recent := submit("Recent")
		look(recent)
		if err := svc.Close(lctx, recent.ID, "verhuisd", desk); err != nil {
			t.Fatal(err)
		}
		// Within their periods on 7 December 2026: mail of November 2026,
		// an account disabled and a key revoked in June 2026.
		clk.Advance(time.Date(2026, 6, 1, 9, 0, 0, 0, time.UTC).Sub(clk.Now()))
		keptAccount := account("recent-weg@loket.example", true)
		apiKey("recent", true)
		clk.Advance(time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC).Sub(clk.Now()))
		deskMail("Recent@ouders.example")
		platformMail("medewerker@loket.example")
		resetLink(activeAccount, "geldig", time.Date(2026, 12, 8, 0, 0, 0, 0, time.UTC))
		// The purge runs on 7 December 2026.
		clk.Advance(time.Date(2026, 12, 7, 3, 0, 0, 0, time.UTC).Sub(clk.Now()))
		look(recent)
		delivery("recent.delivered", true)
		rep := reports.NewService(d, dir, clk, noCross{})
		before := map[int]reports.DeskReport{}
		var err error
		for _, y := range []int{2019, 2023} {
			if before[y], err = rep.Desk(lctx, leuven, y); err != nil {
				t.Fatal(err)
			}
		}
		m, _ := geo.LookupMunicipality("24062")
		regionBefore, err := rep.Region(ctx, "coordinator", string(m.RegionNIS), 2019)
		if err != nil {
			t.Fatal(err)
		}
		if len(regionBefore.Cross) != 1 || regionBefore.Cross[0].Requests.N != 7 {
			t.Fatalf("2019 before the purge: cross-border demand %+v, want 7 requests from Leuven to Herent", regionBefore.Cross)
		}
		if before[2019].Desk.Requests.N != 7 || before[2019].Desk.Withdrawn.N != 7 {
			t.Fatalf("2019 before the purge: %d requests, %d withdrawn; want 7 and 7", before[2019].Desk.Requests.N, before[2019].Desk.Withdrawn.N)
		}

		purger := retention.New(d, dir, rep, clk, nil)
		purger.Batch = 1 // several batches
		counts, err := purger.Run(ctx)
		if err != nil {
			t.Fatal(err)
		}
		want := retention.Counts{retention.KindRequests: 6, retention.KindChildren: 6, retention.KindFamilies: 6,
			retention.KindNotes: 1, retention.KindCareNotes: 1, retention.KindLooks: 2,
			retention.KindMail: 2, retention.KindAccounts: 1, retention.KindKeys: 1, retention.KindLinks: 1, retention.KindHooks: 1}
		for k, n := range want {
			if counts[k] != n {
				t.Errorf("purged %s: %d, want %d (all: %v)", k, counts[k], n, counts)
			}
		}

		if _, err := svc.Case(lctx, old.ID); err == nil {
			t.Error("the request that ended in 2019 is still there")
		}
		store := tenancy.NewStore(d)
		count := func(model any, where string, args ...any) int {
			t.Helper()
			var n int
			err := store.Tx(lctx, func(ctx context.Context, tx *tenancy.Tx) error {
				c, err := tx.Select(model).Where(where, args...).Count(ctx)
				n = int(c)
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
		for what, n := range map[string]int{
			"children":  count((*requests.Child)(nil), "first_name = ?", "Oud"),
			"parents":   count((*requests.Parent)(nil), "last_name = ?", "Oud"),
			"history":   count((*eventlog.Event)(nil), "subject_id = ?", old.ID.UUID),
			"looks":     count((*eventlog.Access)(nil), "request_id = ?", old.ID.UUID),
			"old looks": count((*eventlog.Access)(nil), "request_id = ? AND occurred_at < ?", recent.ID.UUID, time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)),
		} {
			if n != 0 {
				t.Errorf("%s of the purged family: %d left", what, n)
			}
		}
		// The held family stays whole; the recent request stays, without notes.
		heldCase, err := svc.Case(lctx, held.ID)
		if err != nil || heldCase.Child.FirstName != "Bewaard" || len(heldCase.Notes) != 1 || heldCase.Request.CareNeedNote.String() == "" ||
			count((*eventlog.Access)(nil), "request_id = ?", held.ID.UUID) != 1 {
			t.Errorf("the family on legal hold: %v, %+v", err, heldCase)
		}
		recentCase, err := svc.Case(lctx, recent.ID)
		if err != nil || recentCase.Child.FirstName != "Recent" || len(recentCase.Notes) != 0 || recentCase.Request.CareNeedNote.String() != "" ||
			count((*eventlog.Access)(nil), "request_id = ?", recent.ID.UUID) != 1 {
			t.Errorf("the request that ended in 2023: %v, notes %d, care note %q", err, len(recentCase.Notes), recentCase.Request.CareNeedNote.String())
		}
		// Mail, accounts and keys: past their period gone (the account
		// anonymised), within kept, the held family's mail kept.
		var deskTo []string
		if err := store.Tx(lctx, func(ctx context.Context, tx *tenancy.Tx) error {
			return tx.Select((*mail.DeskStored)(nil)).Column("to_address").Order("to_address").Scan(ctx, &deskTo)
		}); err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(deskTo) != "[Bewaard@ouders.example Recent@ouders.example]" {
			t.Errorf("desk mail left: %v, want the held family's and the recent one", deskTo)
		}
		var platformTo, keys []string
		if err := d.NewSelect().Table("mail_outbox").Column("to_address").Scan(ctx, &platformTo); err != nil || fmt.Sprint(platformTo) != "[medewerker@loket.example]" {
			t.Errorf("platform mail left: %v (%v), want the recent one", platformTo, err)
		}
		if err := d.NewSelect().Table("api_keys").Column("name").Order("name").Scan(ctx, &keys); err != nil || fmt.Sprint(keys) != "[actief recent]" {
			t.Errorf("API keys left: %v (%v), want the active and the recently revoked", keys, err)
		}
		var links, hooks []string
		if err := d.NewSelect().Table("password_reset_tokens").Column("token_hash").Scan(ctx, &links); err != nil || fmt.Sprint(links) != "[hash-geldig]" {
			t.Errorf("sign-in links left: %v (%v), want the valid one", links, err)
		}
		if err := store.Tx(lctx, func(ctx context.Context, tx *tenancy.Tx) error {
			return tx.Unscoped().NewSelect().Table("webhook_deliveries").Column("event_type").Order("event_type").Scan(ctx, &hooks)
		}); err != nil || fmt.Sprint(hooks) != "[old.pending recent.delivered]" {
			t.Errorf("webhook deliveries left: %v (%v), want the pending one and the recent one", hooks, err)
		}
		for id, want := range map[uuid.UUID]string{goneAccount: goneAccount.String() + "@removed.invalid|||",
			activeAccount: "actief@loket.example|Medewerker actief@loket.example|$argon2id$x|GEHEIM",
			keptAccount:   "recent-weg@loket.example|Medewerker recent-weg@loket.example|$argon2id$x|GEHEIM"} {
			var u struct {
				Email string `bun:"email"`
				Name  string `bun:"display_name"`
				Hash  string `bun:"password_hash"`
				TOTP  string `bun:"totp_secret"`
			}
			if err := d.NewSelect().Table("users").Column("email", "display_name", "password_hash", "totp_secret").Where("id = ?", id).Scan(ctx, &u); err != nil {
				t.Fatal(err)
			}
			if got := u.Email + "|" + u.Name + "|" + u.Hash + "|" + u.TOTP; got != want {
				t.Errorf("account %s: %q, want %q", id, got, want)
			}
		}
		// The yearly figures of 2019 and 2023 are the same as before.
		for _, y := range []int{2019, 2023} {
			after, err := rep.Desk(lctx, leuven, y)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(after.Desk, before[y].Desk) || !reflect.DeepEqual(after.Municipalities, before[y].Municipalities) ||
				!reflect.DeepEqual(after.Providers, before[y].Providers) {
				t.Errorf("figures of %d changed by the purge:\nbefore %+v\nafter  %+v", y, before[y].Desk, after.Desk)
			}
		}
		if regionAfter, err := rep.Region(ctx, "coordinator", string(m.RegionNIS), 2019); err != nil || !reflect.DeepEqual(regionAfter, regionBefore) {
			t.Errorf("the region's figures of 2019 changed by the purge (%v):\nbefore %+v %+v\nafter  %+v %+v", err,
				regionBefore.Total, regionBefore.Cross, regionAfter.Total, regionAfter.Cross)
		}
		// The metric counts what went.
		if n := testutil.ToFloat64(purger.Collector().(*prometheus.CounterVec).WithLabelValues(retention.KindRequests)); n != 6 {
			t.Errorf("loket_retention_purged_total{kind=requests} = %v, want 6", n)
		}
		if n := testutil.ToFloat64(purger.Collector().(*prometheus.CounterVec).WithLabelValues(retention.KindMail)); n != 2 {
			t.Errorf("loket_retention_purged_total{kind=mail} = %v, want 2", n)
		}
		// A second run finds nothing more.
		if again, err := purger.Run(ctx); err != nil || fmt.Sprint(again) != fmt.Sprint(retention.Counts{}) {
			t.Errorf("second run: %v (%v)", again, err)
		}
	})
}

// TestRetentionPurgesRoundsClosuresAgreements, on both databases: on 7
// December 2026 a round of 2019 with none of its requests left goes with its
// rows and history, one whose request is still held stays; a closure that
// ended in 2019 goes with its emergency places unless a desk still holds a
// family it affected; agreements that ran out or were revoked in 2019 go;
// the history of closures and agreements goes after the request period,
// records of regional readings after the access log's, changes of free
// places after two years; recent ones stay.
func TestRetentionPurgesRoundsClosuresAgreements(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		clk := clock.NewFixed(time.Date(2019, 2, 1, 9, 0, 0, 0, time.UTC))
		dir, svc, _, loc := purgeWorld(t, d, clk, "24062", "3000")
		leuven, _ := dir.BySlug("leuven")
		glm, _ := dir.BySlug("geel-laakdal-meerhout")
		lctx := tenancy.WithTenant(ctx, leuven.ID)
		store := tenancy.NewStore(d)
		held, _, _, err := svc.Submit(lctx, requests.Submission{
			Child:    requests.ChildInput{FirstName: "Bewaard", LastName: "Rondekind", BirthDate: "2018-12-01"},
			Parents:  []requests.ParentInput{{FirstName: "Ouder", LastName: "Bewaard", Email: "bewaard@ouders.example", Phone: "0470 00 00 00"}},
			Language: "nl", Address: requests.AddressInput{MunicipalityNIS: "24062"},
			DesiredStart: "2019-09-01", FlexibilityWeeks: 2, CarePlan: requests.CarePlanInput{Days: []string{"mon"}, DayPart: "whole"},
			Preferences: []string{loc.ID.String()}, Reason: "work", PrivacyVersion: requests.PrivacyVersion, Channel: requests.ChannelCounter,
		}, desk, "")
		if err != nil {
			t.Fatal(err)
		}
		if err := svc.SetLegalHold(lctx, held.ID, true, desk); err != nil {
			t.Fatal(err)
		}
		inDesk := func(table string, row map[string]any) {
			t.Helper()
			row["tenant_id"] = leuven.ID
			if err := store.Tx(lctx, func(ctx context.Context, tx *tenancy.Tx) error {
				_, err := tx.Unscoped().NewInsert().Model(&row).TableExpr(table).Exec(ctx)
				return err
			}); err != nil {
				t.Fatalf("%s: %v", table, err)
			}
		}
		platform := func(table string, row map[string]any) {
			t.Helper()
			if _, err := d.NewInsert().Model(&row).TableExpr(table).Exec(ctx); err != nil {
				t.Fatalf("%s: %v", table, err)
			}
		}
		event := func(subjectType string, subject uuid.UUID, at time.Time) uuid.UUID {
			t.Helper()
			e := &eventlog.Event{OccurredAt: at, Actor: "desk:test", Kind: "test." + subjectType, SubjectType: subjectType, SubjectID: subject}
			if err := store.Tx(lctx, func(ctx context.Context, tx *tenancy.Tx) error { return eventlog.Append(ctx, tx, e) }); err != nil {
				t.Fatal(err)
			}
			return e.ID.UUID
		}
		round := func(made time.Time, request uuid.UUID) uuid.UUID {
			t.Helper()
			id := uuid.New()
			inDesk("rounds", map[string]any{"id": id, "from_month": "2019-09", "to_month": "2019-09", "status": "published", "seed": "s",
				"instance": "{}", "result": "{}", "audit_ok": true, "audit": "", "children": 1, "placed": 1, "created_by": "desk:test", "created_at": made})
			inDesk("round_children", map[string]any{"round_id": id, "request_id": request, "location_id": loc.ID, "choice": 1,
				"text_nl": "Eerste keuze", "text_en": "First choice"})
			inDesk("round_offers", map[string]any{"round_id": id, "request_id": request, "rank": 1, "location_id": loc.ID,
				"start_month": "2019-09", "age_band": "baby", "state": "accepted"})
			return id
		}
		closure := func(ended *time.Time) uuid.UUID {
			t.Helper()
			id := uuid.New()
			row := map[string]any{"id": id, "location_id": loc.ID, "region_nis": "24000", "from_date": "2019-03-01", "reason": "Waterschade",
				"public": true, "radius_km": 5, "declared_by": "provider:test", "declared_at": clk.Now()}
			if ended != nil {
				row["ended_at"], row["ended_by"] = *ended, "provider:test"
			}
			platform("closures", row)
			platform("emergency_places", map[string]any{"closure_id": id, "location_id": loc.ID, "start_month": "2019-04", "age_band": "baby",
				"places": 2, "until_date": "2019-06-30", "announced_by": "provider:test", "announced_at": clk.Now()})
			return id
		}
		agreement := func(ends, revoked *time.Time) uuid.UUID {
			t.Helper()
			id := uuid.New()
			row := map[string]any{"id": id, "granting_tenant_id": leuven.ID, "receiving_tenant_id": glm.ID, "access": "read_requests_in_area",
				"starts_at": time.Date(2019, 1, 1, 0, 0, 0, 0, time.UTC), "created_by": "desk:test", "created_at": clk.Now()}
			if ends != nil {
				row["ends_at"] = *ends
			}
			if revoked != nil {
				row["revoked_at"], row["revoked_by"] = *revoked, "desk:test"
			}
			platform("sharing_agreements", row)
			return id
		}
		old, recent := time.Date(2019, 3, 1, 9, 0, 0, 0, time.UTC), time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC)
		goneRound, heldRound := round(old, uuid.New()), round(old, held.ID.UUID)
		recentRound := round(recent, uuid.New())
		goneRoundEvent, heldRoundEvent := event("round", goneRound, old), event("round", heldRound, old)
		goneClosure, recentClosure, openClosure := closure(&old), closure(&recent), closure(nil)
		affecting := closure(&old)
		inDesk("closure_families", map[string]any{"closure_id": affecting, "request_id": held.ID, "cause": "closure", "added_at": old})
		goneClosureEvent, recentClosureEvent := event("closure", goneClosure, old), event("closure", recentClosure, recent)
		ranOut, revoked := agreement(&recent, nil), agreement(nil, &old)
		ranOutOld, open := agreement(&old, nil), agreement(nil, nil)
		oldLook, recentLook := event("access", uuid.Nil, time.Date(2024, 6, 1, 9, 0, 0, 0, time.UTC)), event("access", uuid.Nil, time.Date(2026, 6, 1, 9, 0, 0, 0, time.UTC))
		placesChange := func(at time.Time) uuid.UUID {
			id := uuid.New()
			platform("availability_events", map[string]any{"id": id, "location_id": loc.ID, "start_month": "2019-09", "age_band": "baby",
				"to_places": 2, "changed_at": at, "changed_by": "provider:test"})
			return id
		}
		oldChange, recentChange := placesChange(time.Date(2024, 11, 1, 9, 0, 0, 0, time.UTC)), placesChange(time.Date(2025, 1, 1, 9, 0, 0, 0, time.UTC))

		clk.Advance(time.Date(2026, 12, 7, 3, 0, 0, 0, time.UTC).Sub(clk.Now()))
		purger := retention.New(d, dir, reports.NewService(d, dir, clk, noCross{}), clk, nil)
		purger.Batch = 1 // several batches
		counts, err := purger.Run(ctx)
		if err != nil {
			t.Fatal(err)
		}
		want := retention.Counts{retention.KindRounds: 1, retention.KindHistory: 3, retention.KindClosures: 1, retention.KindSharing: 2,
			retention.KindPlaces: 1}
		for k, n := range want {
			if counts[k] != n {
				t.Errorf("purged %s: %d, want %d (all: %v)", k, counts[k], n, counts)
			}
		}
		exists := func(table, where string, args ...any) bool {
			t.Helper()
			var n int
			err := store.Tx(lctx, func(ctx context.Context, tx *tenancy.Tx) error {
				c, err := tx.Unscoped().NewSelect().TableExpr(table).Where(where, args...).Count(ctx)
				n = int(c)
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			return n > 0
		}
		for _, c := range []struct {
			what, table, where string
			arg                uuid.UUID
			want               bool
		}{
			{"the round of 2019 without requests", "rounds", "id = ?", goneRound, false},
			{"its outcomes", "round_children", "round_id = ?", goneRound, false},
			{"its offers", "round_offers", "round_id = ?", goneRound, false},
			{"its history", "events", "id = ?", goneRoundEvent, false},
			{"the round of a held request", "rounds", "id = ?", heldRound, true},
			{"its history", "events", "id = ?", heldRoundEvent, true},
			{"the round of 2025", "rounds", "id = ?", recentRound, true},
			{"the closure that ended in 2019", "closures", "id = ?", goneClosure, false},
			{"its emergency places", "emergency_places", "closure_id = ?", goneClosure, false},
			{"its history", "events", "id = ?", goneClosureEvent, false},
			{"a closure of 2019 that affected a held family", "closures", "id = ?", affecting, true},
			{"the closure that ended in 2025", "closures", "id = ?", recentClosure, true},
			{"its history", "events", "id = ?", recentClosureEvent, true},
			{"an open closure", "closures", "id = ?", openClosure, true},
			{"the agreement revoked in 2019", "sharing_agreements", "id = ?", revoked, false},
			{"the agreement that ran out in 2019", "sharing_agreements", "id = ?", ranOutOld, false},
			{"the agreement that runs out in 2025", "sharing_agreements", "id = ?", ranOut, true},
			{"an open agreement", "sharing_agreements", "id = ?", open, true},
			{"a regional reading of 2024", "events", "id = ?", oldLook, false},
			{"a regional reading of 2026", "events", "id = ?", recentLook, true},
			{"a change of free places of November 2024", "availability_events", "id = ?", oldChange, false},
			{"a change of free places of January 2025", "availability_events", "id = ?", recentChange, true},
		} {
			if got := exists(c.table, c.where, c.arg); got != c.want {
				t.Errorf("%s: there %v, want %v", c.what, got, c.want)
			}
		}
	})
}
