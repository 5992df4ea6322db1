package requests_test

import (
	"context"
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/uptrace/bun/dialect/pgdialect"

	"github.com/loket-kinderopvang/loket/internal/catalog"
	"github.com/loket-kinderopvang/loket/internal/crisis"
	"github.com/loket-kinderopvang/loket/internal/eventlog"
	"github.com/loket-kinderopvang/loket/internal/mail"
	"github.com/loket-kinderopvang/loket/internal/platform/clock"
	"github.com/loket-kinderopvang/loket/internal/platform/db"
	"github.com/loket-kinderopvang/loket/internal/platform/dbtest"
	"github.com/loket-kinderopvang/loket/internal/platform/sealed"
	"github.com/loket-kinderopvang/loket/internal/platform/tenancy"
	"github.com/loket-kinderopvang/loket/internal/reports"
	"github.com/loket-kinderopvang/loket/internal/requests"
	"github.com/loket-kinderopvang/loket/internal/rounds"
	"github.com/loket-kinderopvang/loket/internal/tenant/tenanttest"
	"github.com/loket-kinderopvang/loket/internal/webhooks"
)

// ownedTables are the tenant-owned tables and a model of each. A schema test
// below fails when a table with row-level security is missing here, so a new
// tenant-owned table cannot escape these isolation tests.
var ownedTables = map[string]func() any{
	"families":           func() any { return &[]requests.Family{} },
	"children":           func() any { return &[]requests.Child{} },
	"requests":           func() any { return &[]requests.Request{} },
	"preferences":        func() any { return &[]requests.Preference{} },
	"parents":            func() any { return &[]requests.Parent{} },
	"request_claims":     func() any { return &[]requests.RequestClaim{} },
	"request_notes":      func() any { return &[]requests.Note{} },
	"rounds":             func() any { return &[]rounds.Round{} },
	"round_offers":       func() any { return &[]rounds.Offer{} },
	"round_children":     func() any { return &[]rounds.ChildOutcome{} },
	"events":             func() any { return &[]eventlog.Event{} },
	"access_log":         func() any { return &[]eventlog.Access{} },
	"yearly_figures":     func() any { return &[]reports.StoredYear{} },
	"desk_mail":          func() any { return &[]mail.DeskStored{} },
	"closure_families":   func() any { return &[]crisis.Family{} },
	"webhook_deliveries": func() any { return &[]webhooks.Delivery{} },
}

type desks struct{ a, b tenancy.ID }

func setup(t *testing.T, d *db.DB) (desks, *tenancy.Store, *requests.Store) {
	t.Helper()
	dir := tenanttest.SyncDemo(t, d, clock.System{})
	a, _ := dir.BySlug("leuven")
	b, _ := dir.BySlug("geel-laakdal-meerhout")
	scoped := tenancy.NewStore(d)
	rs, err := requests.NewStore(scoped, clock.System{}, sealed.MustRandom("test-"))
	if err != nil {
		t.Fatal(err)
	}
	return desks{a.ID, b.ID}, scoped, rs
}

func register(t *testing.T, rs *requests.Store, desk tenancy.ID, name string) *requests.Request {
	t.Helper()
	birth := time.Date(2026, 3, 14, 0, 0, 0, 0, time.UTC)
	r, err := rs.Register(tenancy.WithTenant(context.Background(), desk), requests.NewRequest{
		Family:       requests.Family{DisplayName: "Gezin " + name, Email: name + "@ouders.example"},
		Child:        requests.Child{FirstName: name, LastName: "Testkind", BirthDate: &birth},
		Channel:      requests.ChannelOnline,
		DesiredStart: time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC),
		Locations:    []uuid.UUID{uuid.New(), uuid.New()},
		Parents:      []requests.Parent{{FirstName: "Ouder", LastName: name, Email: name + "@ouders.example"}},
		Claims:       []requests.Claim{requests.ClaimWorkOrTraining},
		Actor:        "test",
	})
	if err != nil {
		t.Fatalf("register for %s: %v", name, err)
	}
	if _, err := rs.AddNote(tenancy.WithTenant(context.Background(), desk), r.ID, "test", "Eerste contact aan de balie."); err != nil {
		t.Fatalf("note for %s: %v", name, err)
	}
	return r
}

func TestIsolationThroughStore(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ds, scoped, rs := setup(t, d)
		reqA1 := register(t, rs, ds.a, "Amber")
		register(t, rs, ds.a, "Arno")
		reqB := register(t, rs, ds.b, "Bram")
		roundRows(t, scoped, ds.a, reqA1)
		roundRows(t, scoped, ds.b, reqB)
		ctxB := tenancy.WithTenant(context.Background(), ds.b)

		for table, model := range ownedTables {
			err := scoped.Tx(ctxB, func(ctx context.Context, tx *tenancy.Tx) error {
				rows := model()
				if err := tx.Select(rows).Scan(ctx); err != nil {
					return err
				}
				n := 0
				for _, tid := range tenantsOf(rows) {
					n++
					if tid != ds.b {
						t.Errorf("%s: desk B's store returned a row of desk %s", table, tid)
					}
				}
				if n == 0 {
					t.Errorf("%s: desk B sees none of its own rows; the test proves nothing", table)
				}
				return nil
			})
			if err != nil {
				t.Fatalf("%s: %v", table, err)
			}
		}

		if _, err := rs.Get(ctxB, reqA1.ID); !errors.Is(err, requests.ErrNotFound) {
			t.Errorf("desk B read desk A's request: err = %v", err)
		}
		if got, err := rs.Get(ctxB, reqB.ID); err != nil || len(got.Preferences) != 2 {
			t.Errorf("desk B cannot read its own request: %v, %+v", err, got)
		}
		listB, err := rs.List(ctxB, 100)
		if err != nil || len(listB) != 1 {
			t.Errorf("desk B lists %d requests (err %v), want 1", len(listB), err)
		}

		// A row stamped with desk A is refused by desk B's store.
		err = scoped.Tx(ctxB, func(ctx context.Context, tx *tenancy.Tx) error {
			f := requests.Family{DisplayName: "Indringer", Language: "nl", CreatedAt: time.Now(), UpdatedAt: time.Now()}
			f.TenantID = ds.a
			return tx.Insert(ctx, &f)
		})
		if !errors.Is(err, tenancy.ErrForeignTenant) {
			t.Errorf("insert of desk A's row in desk B's store: err = %v, want ErrForeignTenant", err)
		}
		// And an update of desk A's request from desk B changes nothing.
		err = scoped.Tx(ctxB, func(ctx context.Context, tx *tenancy.Tx) error {
			q, err := tx.Update(&requests.Request{})
			if err != nil {
				return err
			}
			res, err := q.Set("status = ?", requests.StatusClosed).Where("id = ?", reqA1.ID).Exec(ctx)
			if err != nil {
				return err
			}
			if n, _ := res.RowsAffected(); n != 0 {
				t.Errorf("desk B updated %d of desk A's requests", n)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}

		if err := scoped.Tx(context.Background(), func(context.Context, *tenancy.Tx) error { return nil }); !errors.Is(err, tenancy.ErrNoTenant) {
			t.Errorf("a transaction without a desk: err = %v, want ErrNoTenant", err)
		}
	})
}

// TestRowLevelSecurity bypasses the store on purpose: raw SQL inside desk B's
// transaction must still see and write only desk B's rows.
func TestRowLevelSecurity(t *testing.T) {
	d := dbtest.Open(t, db.Postgres)
	ds, scoped, rs := setup(t, d)
	roundRows(t, scoped, ds.a, register(t, rs, ds.a, "Amber"))
	register(t, rs, ds.a, "Arno")
	roundRows(t, scoped, ds.b, register(t, rs, ds.b, "Bram"))
	ctxB := tenancy.WithTenant(context.Background(), ds.b)

	for table := range ownedTables {
		err := scoped.Tx(ctxB, func(ctx context.Context, tx *tenancy.Tx) error {
			var tids []string
			if err := tx.Unscoped().NewRaw("SELECT tenant_id::text FROM "+table).Scan(ctx, &tids); err != nil {
				return err
			}
			if len(tids) == 0 {
				t.Errorf("%s: raw select in desk B sees no rows at all", table)
			}
			for _, tid := range tids {
				if tid != ds.b.String() {
					t.Errorf("%s: raw SELECT * in desk B's transaction returned desk %s's row", table, tid)
				}
			}
			return nil
		})
		if err != nil {
			t.Fatalf("%s: %v", table, err)
		}
	}

	// Raw SELECT * FROM requests, as the issue puts it.
	err := scoped.Tx(ctxB, func(ctx context.Context, tx *tenancy.Tx) error {
		var rows []map[string]any
		if err := tx.Unscoped().NewRaw("SELECT * FROM requests").Scan(ctx, &rows); err != nil {
			return err
		}
		if len(rows) != 1 {
			t.Errorf("SELECT * FROM requests in desk B: %d rows, want 1", len(rows))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	// Outside any desk's transaction the application role sees nothing.
	var n int
	if err := d.NewRaw("SELECT count(*) FROM requests").Scan(context.Background(), &n); err != nil || n != 0 {
		t.Errorf("without a desk the app role sees %d requests (err %v), want 0", n, err)
	}

	// Writing desk A's row inside desk B's transaction is refused by PostgreSQL.
	err = scoped.Tx(ctxB, func(ctx context.Context, tx *tenancy.Tx) error {
		_, err := tx.Unscoped().ExecContext(ctx,
			"INSERT INTO families (tenant_id, id, display_name, created_at, updated_at) VALUES (?, ?, 'Indringer', now(), now())",
			ds.a, uuid.New())
		return err
	})
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != "42501" {
		t.Errorf("raw insert of desk A's row in desk B's transaction: err = %v, want SQLSTATE 42501", err)
	}

	// The event log is append-only for the application role.
	err = scoped.Tx(ctxB, func(ctx context.Context, tx *tenancy.Tx) error {
		_, err := tx.Unscoped().ExecContext(ctx, "DELETE FROM events")
		return err
	})
	if !errors.As(err, &pgErr) || pgErr.Code != "42501" {
		t.Errorf("delete from events: err = %v, want permission denied (42501)", err)
	}
}

// TestTenantCheckOncePerStatement: the policy reads the desk's setting once
// per statement (an InitPlan), not once per row; per row it cost a third of
// a report's scan of 100,000 requests. The isolation itself is
// TestRowLevelSecurity.
func TestTenantCheckOncePerStatement(t *testing.T) {
	d := dbtest.Open(t, db.Postgres)
	ds, scoped, _ := setup(t, d)
	ctx := context.Background()
	var policies []struct{ Table, Using, Check string }
	if err := d.NewRaw(`SELECT tablename AS table, qual AS using, with_check AS check FROM pg_policies
		WHERE policyname = 'tenant_isolation' ORDER BY tablename`).Scan(ctx, &policies); err != nil {
		t.Fatal(err)
	}
	if len(policies) != len(ownedTables) {
		t.Errorf("%d tenant policies for %d tenant-owned tables", len(policies), len(ownedTables))
	}
	for _, p := range policies {
		for _, expr := range []string{p.Using, p.Check} {
			if !strings.HasPrefix(expr, "(tenant_id = ( SELECT") {
				t.Errorf("%s: policy %q reads the setting per row, want a scalar subquery", p.Table, expr)
			}
		}
	}
	err := scoped.Tx(tenancy.WithTenant(ctx, ds.b), func(ctx context.Context, tx *tenancy.Tx) error {
		var plan []string
		if err := tx.Unscoped().NewRaw("EXPLAIN (VERBOSE) SELECT count(*) FROM requests WHERE status <> 'withdrawn'").Scan(ctx, &plan); err != nil {
			return err
		}
		text := strings.Join(plan, "\n")
		for _, line := range plan {
			if strings.Contains(line, "Filter:") && strings.Contains(line, "current_setting") {
				t.Errorf("the scan evaluates the setting per row:\n%s", text)
			}
		}
		if !strings.Contains(text, "InitPlan") {
			t.Errorf("no InitPlan reads the setting once:\n%s", text)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestTenantOwnedSchema checks that every table with row-level security is
// covered above, and that tenant_id leads its primary key and every foreign
// key between tenant-owned tables.
func TestTenantOwnedSchema(t *testing.T) {
	d := dbtest.Open(t, db.Postgres)
	ctx := context.Background()
	var rls []string
	if err := d.NewRaw(`SELECT relname FROM pg_class WHERE relkind = 'r' AND relrowsecurity AND relforcerowsecurity
		AND relnamespace = 'public'::regnamespace ORDER BY relname`).Scan(ctx, &rls); err != nil {
		t.Fatal(err)
	}
	var want []string
	for table := range ownedTables {
		want = append(want, table)
	}
	slices.Sort(want)
	if !slices.Equal(rls, want) {
		t.Errorf("tables with forced row-level security = %v, isolation tests cover %v", rls, want)
	}
	// Every table with a tenant_id column is tenant-owned, except the desk's
	// own configuration, which is public, and the cross-desk duplicate
	// fingerprints, which hold only keyed hashes (see the migration).
	var withTenant []string
	if err := d.NewRaw(`SELECT table_name FROM information_schema.columns WHERE table_schema = 'public'
		AND column_name = 'tenant_id' AND table_name NOT IN ('tenant_municipalities', 'request_fingerprints') ORDER BY table_name`).Scan(ctx, &withTenant); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(withTenant, want) {
		t.Errorf("tables with tenant_id = %v, want %v", withTenant, want)
	}
	type constraint struct {
		Table, Name, Kind, First, Ref string
	}
	var cons []constraint
	if err := d.NewRaw(`SELECT c.conrelid::regclass::text AS table, c.conname AS name, c.contype::text AS kind,
			a.attname AS first, coalesce(c.confrelid::regclass::text, '') AS ref
		FROM pg_constraint c JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]
		WHERE c.contype IN ('p', 'f') AND c.conrelid::regclass::text = ANY(?)`, pgdialect.Array(want)).Scan(ctx, &cons); err != nil {
		t.Fatal(err)
	}
	pks := 0
	for _, c := range cons {
		if c.Kind == "p" {
			pks++
		}
		// Keys to platform reference data (municipalities, the desk itself) are
		// fine: under Citus those are reference tables present on every node.
		if c.Kind == "f" && !slices.Contains(want, c.Ref) {
			continue
		}
		if c.First != "tenant_id" {
			t.Errorf("%s: constraint %s (%s) starts with %s, not tenant_id", c.Table, c.Name, c.Kind, c.First)
		}
	}
	if pks != len(want) {
		t.Errorf("found %d primary keys for %d tenant-owned tables", pks, len(want))
	}
}

func tenantsOf(rows any) []tenancy.ID {
	v := reflect.ValueOf(rows).Elem()
	out := make([]tenancy.ID, v.Len())
	for i := range out {
		out[i] = v.Index(i).Addr().Interface().(interface{ Owner() tenancy.ID }).Owner()
	}
	return out
}

// roundRows stores a round of one child with an outcome and a proposed offer,
// and a mail of the desk.
func roundRows(t *testing.T, scoped *tenancy.Store, desk tenancy.ID, req *requests.Request) {
	t.Helper()
	err := scoped.Tx(tenancy.WithTenant(context.Background(), desk), func(ctx context.Context, tx *tenancy.Tx) error {
		r := &rounds.Round{ID: rounds.NewID(), FromMonth: "2027-01", ToMonth: "2027-01", Status: rounds.StatusPublished,
			Seed: "1", Instance: "{}", Result: "{}", Audit: "{}", Children: 1, CreatedBy: "test", CreatedAt: time.Now()}
		if err := tx.Insert(ctx, r); err != nil {
			return err
		}
		if err := tx.Insert(ctx, &rounds.ChildOutcome{RoundID: r.ID, RequestID: req.ID, TextNL: "x", TextEN: "x"}); err != nil {
			return err
		}
		if err := tx.Insert(ctx, &mail.DeskStored{Record: mail.Record{ID: mail.NewID(), CreatedAt: time.Now(),
			To: "ouder@ouders.example", Subject: "Bevestiging", Text: "Ontvangen."}}); err != nil {
			return err
		}
		if err := tx.Insert(ctx, &rounds.Offer{RoundID: r.ID, RequestID: req.ID, Rank: 1, LocationID: req.Preferences[0].LocationID,
			StartMonth: "2027-01", AgeBand: "baby", State: rounds.OfferProposed}); err != nil {
			return err
		}
		// A closure is platform data (a location that closes); the desk's
		// affected family is desk data.
		pid, _ := catalog.ParseProviderID(uuid.NewString())
		lid, _ := catalog.ParseLocationID(uuid.NewString())
		now := time.Now()
		if _, err := tx.Unscoped().NewInsert().Model(&catalog.Provider{ID: pid, Name: "Vzw Isolatie", CreatedAt: now, UpdatedAt: now}).Exec(ctx); err != nil {
			return err
		}
		if _, err := tx.Unscoped().NewInsert().Model(&catalog.Location{ID: lid, DossierNumber: "ISO-" + lid.String()[:8], ProviderID: pid,
			Name: "Isolatieopvang", MunicipalityNIS: "24062", CareType: catalog.Groepsopvang, SubsidyTier: catalog.TierT1, PriceType: catalog.FreePrice, LicensedPlaces: 10, MaxAgeMonths: 36, Languages: []string{"nl"}, CreatedAt: now, UpdatedAt: now}).Exec(ctx); err != nil {
			return err
		}
		cid, _ := crisis.ParseID(uuid.NewString())
		if _, err := tx.Unscoped().NewInsert().Model(&crisis.Closure{ID: cid, LocationID: lid.UUID, RegionNIS: "24000", FromDate: now,
			Reason: "test", RadiusKm: 15, DeclaredBy: "test", DeclaredAt: now}).Exec(ctx); err != nil {
			return err
		}
		if err := tx.Insert(ctx, &crisis.Family{ClosureID: cid, RequestID: req.ID, Cause: crisis.CausePlacement, AddedAt: now}); err != nil {
			return err
		}
		// A provider's webhook endpoint is platform data; a delivery of the
		// desk's event is desk data.
		ep := &webhooks.Endpoint{ID: webhooks.NewEndpointID(), ProviderID: pid.UUID, URL: "https://opvang.example/hook",
			EventList: webhooks.RequestCreated, Secret: sealed.Text(webhooks.NewSecret()), CreatedAt: now}
		if _, err := tx.Unscoped().NewInsert().Model(ep).Exec(ctx); err != nil {
			return err
		}
		if err := tx.Insert(ctx, &webhooks.Delivery{ID: webhooks.NewDeliveryID(), EndpointID: ep.ID, EventType: webhooks.RequestCreated,
			SubjectID: req.ID.UUID, Payload: "{}", CreatedAt: now}); err != nil {
			return err
		}
		if err := tx.Insert(ctx, &reports.StoredYear{Year: 2020, Report: "{}", StoredAt: now}); err != nil {
			return err
		}
		return eventlog.LogAccess(ctx, tx, []*eventlog.Access{{OccurredAt: now, Actor: "desk:test", FamilyID: uuid.New(),
			RequestID: &req.ID.UUID, What: eventlog.LookCase}})
	})
	if err != nil {
		t.Fatalf("round rows: %v", err)
	}
}
