package notify_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/loket-kinderopvang/loket/internal/mail"
	"github.com/loket-kinderopvang/loket/internal/notify"
	"github.com/loket-kinderopvang/loket/internal/platform/clock"
	"github.com/loket-kinderopvang/loket/internal/platform/db"
	"github.com/loket-kinderopvang/loket/internal/platform/dbtest"
	"github.com/loket-kinderopvang/loket/internal/platform/tenancy"
	"github.com/loket-kinderopvang/loket/internal/requests"
	"github.com/loket-kinderopvang/loket/internal/tenant"
	"github.com/loket-kinderopvang/loket/internal/tenant/tenanttest"
)

// TestFamilyMailIsDeskData: a mail about a family (a parent's address, the
// child's name, the status link) is desk data on PostgreSQL. The application
// role with no desk bound finds it in no table; bound to desk A it sees only
// A's family mail; a write of another desk's mail in A's transaction is
// refused by row-level security.
func TestFamilyMailIsDeskData(t *testing.T) {
	d := dbtest.Open(t, db.Postgres)
	ctx := context.Background()
	clk := clock.NewFixed(time.Date(2027, 3, 1, 9, 0, 0, 0, time.UTC))
	dir := tenanttest.SyncDemo(t, d, clk)
	a, _ := dir.BySlug("leuven")
	b, _ := dir.BySlug("geel-laakdal-meerhout")
	ctxA, ctxB := tenancy.WithTenant(ctx, a.ID), tenancy.WithTenant(ctx, b.ID)

	mailer := notify.New(mail.NewOutbox(d, clk), "https://loket.example")
	for _, n := range []struct {
		ctx  context.Context
		desk tenant.Tenant
		name string
	}{{ctxA, a, "amber"}, {ctxB, b, "bram"}} {
		err := mailer.Notify(n.ctx, requests.Notice{Kind: "submitted", Language: "nl", To: n.name + "@ouders.example",
			DeskName: n.desk.Name, ChildFirstName: n.name, StatusURL: "https://loket.example/" + n.desk.Slug + "/aanvraag/x.y"})
		if err != nil {
			t.Fatal(err)
		}
	}

	// Every table that keeps mail: read each one's recipients.
	var tables []string
	if err := d.NewRaw(`SELECT table_name FROM information_schema.columns WHERE table_schema = 'public'
		AND column_name = 'to_address' ORDER BY table_name`).Scan(ctx, &tables); err != nil || len(tables) == 0 {
		t.Fatalf("mail tables: %v (%v)", tables, err)
	}
	read := func(ctx context.Context, q func(ctx context.Context, query string, dest *[]string) error) []string {
		var all []string
		for _, table := range tables {
			var got []string
			if err := q(ctx, "SELECT to_address FROM "+table, &got); err != nil {
				t.Fatalf("%s: %v", table, err)
			}
			all = append(all, got...)
		}
		slices.Sort(all)
		return all
	}

	// No desk bound: no family mail anywhere.
	got := read(ctx, func(ctx context.Context, query string, dest *[]string) error {
		return d.NewRaw(query).Scan(ctx, dest)
	})
	for _, to := range got {
		if to == "amber@ouders.example" || to == "bram@ouders.example" {
			t.Errorf("with no desk bound the application role reads the family mail to %s (tables %v)", to, tables)
		}
	}

	// Bound to desk A: A's family mail, not B's.
	scoped := tenancy.NewStore(d)
	err := scoped.Tx(ctxA, func(ctx context.Context, tx *tenancy.Tx) error {
		got = read(ctx, func(ctx context.Context, query string, dest *[]string) error {
			return tx.Unscoped().NewRaw(query).Scan(ctx, dest)
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(got, "amber@ouders.example") || slices.Contains(got, "bram@ouders.example") {
		t.Errorf("desk A's transaction reads the mail to %v, want Amber's and not Bram's", got)
	}
	if mine, err := mail.NewOutbox(d, clk).DeskList(ctxA, "", 10); err != nil || len(mine) != 1 || mine[0].To != "amber@ouders.example" || mine[0].Owner() != a.ID {
		t.Errorf("desk A's outbox: %+v (%v)", mine, err)
	}

	// A mail of desk B written in desk A's transaction is refused.
	err = scoped.Tx(ctxA, func(ctx context.Context, tx *tenancy.Tx) error {
		_, err := tx.Unscoped().ExecContext(ctx, `INSERT INTO desk_mail (tenant_id, id, created_at, to_address, subject, body_text)
			VALUES (?, ?, now(), 'indringer@ouders.example', 'x', 'x')`, b.ID, uuid.New())
		return err
	})
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != "42501" {
		t.Errorf("desk B's mail written in desk A's transaction: err = %v, want SQLSTATE 42501", err)
	}
}
