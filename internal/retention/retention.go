// Package retention removes personal data whose retention period is over
// (issue 18, docs/privacy.md): every desk's requests, children and families
// some years after the request ended, desk notes and care-need descriptions
// sooner, and the access log. A family on legal hold is skipped. Before the
// rows of a closed year go, the year's figures are stored (reports.Freeze),
// so the yearly report stays the same.
package retention

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/uptrace/bun"

	"github.com/loket-kinderopvang/loket/internal/crisis"
	"github.com/loket-kinderopvang/loket/internal/eventlog"
	"github.com/loket-kinderopvang/loket/internal/mail"
	"github.com/loket-kinderopvang/loket/internal/platform/clock"
	"github.com/loket-kinderopvang/loket/internal/platform/db"
	"github.com/loket-kinderopvang/loket/internal/platform/tenancy"
	"github.com/loket-kinderopvang/loket/internal/reports"
	"github.com/loket-kinderopvang/loket/internal/requests"
	"github.com/loket-kinderopvang/loket/internal/rounds"
	"github.com/loket-kinderopvang/loket/internal/tenant"
	"github.com/loket-kinderopvang/loket/internal/webhooks"
)

// Role is the PostgreSQL role the purge works as to delete from the two
// append-only logs (made by the retention migration).
const Role = "loket_retention"

// Kinds of what the purge removes, the label of the metric.
const (
	KindRequests  = "requests"           // requests with their preferences, claims, notes and history
	KindChildren  = "children"           // children without a request left
	KindFamilies  = "families"           // families without a child left (and their parents)
	KindNotes     = "notes"              // desk notes past their shorter period
	KindCareNotes = "care_notes"         // care-need descriptions emptied
	KindLooks     = "looks"              // access log rows
	KindMail      = "mail"               // stored mails: the desk's (desk_mail) and the platform's (mail_outbox)
	KindAccounts  = "accounts"           // accounts disabled long ago, anonymised
	KindKeys      = "api_keys"           // providers' API keys revoked long ago
	KindLinks     = "sign_in_links"      // expired sign-in and reset links (hashes)
	KindHooks     = "webhook_deliveries" // finished deliveries to providers' systems
	KindRounds    = "rounds"             // allocation rounds with none of their requests left
	KindHistory   = "history"            // the history of rounds, closures and sharing agreements
	KindClosures  = "closures"           // closures ended long ago, with their emergency places
	KindSharing   = "sharing_agreements" // sharing agreements between desks ended long ago
	KindPlaces    = "places_history"     // the history of free-places changes (who changed them)
)

// kinds are every kind, exported at zero from the start.
var kinds = []string{KindRequests, KindChildren, KindFamilies, KindNotes, KindCareNotes, KindLooks, KindMail, KindAccounts, KindKeys,
	KindLinks, KindHooks, KindRounds, KindHistory, KindClosures, KindSharing, KindPlaces}

// The periods of platform data, which belongs to no desk (docs/privacy.md).
const (
	// DefaultPlatformMailDays: mail that belongs to no desk (sign-in links,
	// invitations, notices to providers), from the day it was stored.
	DefaultPlatformMailDays = 90
	// DefaultAccountYears: an account disabled this long is anonymised (its
	// id stays: the history names it).
	DefaultAccountYears = 1
	// DefaultKeyYears: a provider's API key revoked this long goes.
	DefaultKeyYears = 1
	// DeliveryDays: a delivery to a provider's system (the provider's
	// delivery log) goes this long after it was made, once delivered or
	// given up.
	DeliveryDays = 30
	// DefaultRecordYears: a closure that ended, or a sharing agreement
	// between desks that ended, this long ago goes (platform records that
	// name the staff who declared or signed them); as the requests' default.
	DefaultRecordYears = tenant.DefaultRequestYears
	// PlacesHistoryYears: a change of a location's free places is
	// remembered (with who made it) this long.
	PlacesHistoryYears = 2
)

// removedDomain is the mail domain of an anonymised account: its address
// must stay unique and can never be delivered (RFC 2606).
const removedDomain = "@removed.invalid"

// Counts is how many rows of each kind a run removed (or emptied).
type Counts map[string]int

// Desks lists the desks.
type Desks interface{ All() []tenant.Tenant }

// Purger runs the purge.
type Purger struct {
	DB      *db.DB
	Desks   Desks
	Reports *reports.Service
	Clock   clock.Clock
	Log     *slog.Logger
	// Batch is how many requests (or log rows) one transaction removes.
	Batch int
	// The periods of platform data (defaults above).
	PlatformMailDays, AccountYears, KeyYears, RecordYears int

	tenants *tenancy.Store
	purged  *prometheus.CounterVec
}

// New returns a purger with batches of 500.
func New(d *db.DB, desks Desks, rep *reports.Service, c clock.Clock, log *slog.Logger) *Purger {
	p := &Purger{DB: d, Desks: desks, Reports: rep, Clock: c, Log: log, Batch: 500, tenants: tenancy.NewStore(d),
		PlatformMailDays: DefaultPlatformMailDays, AccountYears: DefaultAccountYears, KeyYears: DefaultKeyYears,
		RecordYears: DefaultRecordYears,
		purged: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "loket_retention_purged_total",
			Help: "Rows removed or emptied by the retention purge, per kind."}, []string{"kind"})}
	// Every kind from the start, at zero: a scrape shows the purge exists.
	for _, k := range kinds {
		p.purged.WithLabelValues(k)
	}
	return p
}

// Collector is the /metrics counter of what the purge removed.
func (p *Purger) Collector() prometheus.Collector { return p.purged }

// ended are the request statuses after which the retention period runs.
var ended = []requests.Status{requests.StatusPlaced, requests.StatusWithdrawn, requests.StatusUnanswered, requests.StatusClosed}

// Run purges every desk and the platform's data, and reports how many rows
// of each kind went.
func (p *Purger) Run(ctx context.Context) (Counts, error) {
	total := Counts{}
	defer func() {
		for k, n := range total {
			p.purged.WithLabelValues(k).Add(float64(n))
		}
	}()
	for _, t := range p.Desks.All() {
		c, err := p.Desk(tenancy.WithTenant(db.OnPrimary(ctx), t.ID), t)
		for k, n := range c {
			total[k] += n
		}
		if err != nil {
			return total, fmt.Errorf("retention: desk %s: %w", t.Slug, err)
		}
	}
	return total, p.Platform(db.OnPrimary(ctx), total)
}

// Desk purges the desk t (in ctx).
func (p *Purger) Desk(ctx context.Context, t tenant.Tenant) (Counts, error) {
	r := t.Settings.Retention.OrDefault()
	now := p.Clock.Now()
	c := Counts{}
	if err := p.freeze(ctx, t, now.AddDate(-r.RequestYears, 0, 0)); err != nil {
		return c, err
	}
	if err := p.requests(ctx, now.AddDate(-r.RequestYears, 0, 0), c); err != nil {
		return c, err
	}
	// After the requests: a round goes once none of its requests is left.
	if err := p.rounds(ctx, now.AddDate(-r.RequestYears, 0, 0), c); err != nil {
		return c, err
	}
	if err := p.history(ctx, now.AddDate(-r.RequestYears, 0, 0), now.AddDate(-r.AccessLogYears, 0, 0), c); err != nil {
		return c, err
	}
	if err := p.notes(ctx, now.AddDate(-r.NoteYears, 0, 0), c); err != nil {
		return c, err
	}
	if err := p.looks(ctx, now.AddDate(-r.AccessLogYears, 0, 0), c); err != nil {
		return c, err
	}
	if err := p.deliveries(ctx, now.AddDate(0, 0, -DeliveryDays), c); err != nil {
		return c, err
	}
	return c, p.deskMail(ctx, now.AddDate(0, 0, -r.MailDays), c)
}

// deliveries removes the desk's finished deliveries to providers' systems
// made before cutoff (a pending one stays: its endpoint may resume).
func (p *Purger) deliveries(ctx context.Context, cutoff time.Time, c Counts) error {
	return p.batches(ctx, func(ctx context.Context, tx *tenancy.Tx) (int, error) {
		var ids []uuid.UUID
		err := tx.Select((*webhooks.Delivery)(nil)).ColumnExpr("delivery.id").Where("delivery.created_at < ?", cutoff).
			Where("delivery.delivered_at IS NOT NULL OR delivery.given_up_at IS NOT NULL").
			OrderExpr("delivery.created_at, delivery.id").Limit(int64(p.Batch)).Scan(ctx, &ids)
		if err != nil || len(ids) == 0 {
			return 0, err
		}
		return deleteByID(ctx, tx, (*webhooks.Delivery)(nil), ids, KindHooks, c)
	})
}

// deskMail removes the desk's mail stored before cutoff, except mail to an
// address of a family on legal hold.
func (p *Purger) deskMail(ctx context.Context, cutoff time.Time, c Counts) error {
	return p.batches(ctx, func(ctx context.Context, tx *tenancy.Tx) (int, error) {
		var ids []uuid.UUID
		err := tx.Select((*mail.DeskStored)(nil)).ColumnExpr("desk_stored.id").Where("desk_stored.created_at < ?", cutoff).
			Where(`NOT EXISTS (SELECT 1 FROM families AS f WHERE f.tenant_id = desk_stored.tenant_id AND f.legal_hold AND
				(f.email = desk_stored.to_address OR EXISTS (SELECT 1 FROM parents AS pa
					WHERE pa.tenant_id = f.tenant_id AND pa.family_id = f.id AND pa.email = desk_stored.to_address)))`).
			OrderExpr("desk_stored.created_at, desk_stored.id").Limit(int64(p.Batch)).Scan(ctx, &ids)
		if err != nil || len(ids) == 0 {
			return 0, err
		}
		return deleteByID(ctx, tx, (*mail.DeskStored)(nil), ids, KindMail, c)
	})
}

// deleteByID deletes the desk's rows of model with these ids, counted as
// kind; it returns how many ids it was given (the batch's size).
func deleteByID(ctx context.Context, tx *tenancy.Tx, model any, ids []uuid.UUID, kind string, c Counts) (int, error) {
	res, err := tx.Delete(model).Where("id IN (?)", bun.In(ids)).Exec(ctx)
	if err != nil {
		return 0, fmt.Errorf("retention: %s: %w", kind, err)
	}
	c[kind] += affected(res)
	return len(ids), nil
}

// batches runs step in desk transactions until a step handles less than a batch.
func (p *Purger) batches(ctx context.Context, step func(ctx context.Context, tx *tenancy.Tx) (int, error)) error {
	for {
		n := 0
		err := p.tenants.Tx(ctx, func(ctx context.Context, tx *tenancy.Tx) error {
			var err error
			n, err = step(ctx, tx)
			return err
		})
		if err != nil || n < p.Batch {
			return err
		}
	}
}

// Platform purges what belongs to no desk: stored platform mail, accounts
// disabled long ago (anonymised: the history names their id) with their
// sign-in links, and API keys revoked long ago. It adds to c.
func (p *Purger) Platform(ctx context.Context, c Counts) error {
	now := p.Clock.Now()
	mailCutoff, accountCutoff, keyCutoff := now.AddDate(0, 0, -p.PlatformMailDays), now.AddDate(-p.AccountYears, 0, 0), now.AddDate(-p.KeyYears, 0, 0)
	recordCutoff, placesCutoff := now.AddDate(-p.RecordYears, 0, 0), now.AddDate(-PlacesHistoryYears, 0, 0)
	// Read before the platform's transactions: SQLite has one writer.
	inUse, err := p.closuresInUse(ctx)
	if err != nil {
		return err
	}
	steps := []struct {
		kind string
		step func(ctx context.Context, tx bun.Tx) (int, error)
	}{
		{KindMail, func(ctx context.Context, tx bun.Tx) (int, error) {
			return deleteOldest(ctx, tx, "mail_outbox", "id", "created_at", mailCutoff, p.Batch)
		}},
		{KindKeys, func(ctx context.Context, tx bun.Tx) (int, error) {
			return deleteOldest(ctx, tx, "api_keys", "id", "revoked_at", keyCutoff, p.Batch)
		}},
		{KindLinks, func(ctx context.Context, tx bun.Tx) (int, error) {
			return deleteOldest(ctx, tx, "password_reset_tokens", "token_hash", "expires_at", now, p.Batch)
		}},
		// A closure goes with its emergency places once it ended long ago
		// and no desk still holds a family it affected.
		{KindClosures, func(ctx context.Context, tx bun.Tx) (int, error) {
			q := tx.NewSelect().Table("closures").Column("id").Where("ended_at < ?", recordCutoff).OrderExpr("ended_at, id")
			if len(inUse) > 0 {
				q = q.Where("id NOT IN (?)", bun.In(inUse))
			}
			return deleteSelected(ctx, tx, q, p.Batch, "closures", "emergency_places")
		}},
		// An agreement ends when it runs out or is revoked, whichever first.
		{KindSharing, func(ctx context.Context, tx bun.Tx) (int, error) {
			q := tx.NewSelect().Table("sharing_agreements").Column("id").
				Where("revoked_at < ? OR ends_at < ?", recordCutoff, recordCutoff).OrderExpr("id")
			return deleteSelected(ctx, tx, q, p.Batch, "sharing_agreements")
		}},
		// Append-only for the application role: deleted as the narrow role.
		{KindPlaces, func(ctx context.Context, tx bun.Tx) (int, error) {
			if err := db.AsRole(ctx, p.DB.Dialect, tx, Role); err != nil {
				return 0, err
			}
			return deleteOldest(ctx, tx, "availability_events", "id", "changed_at", placesCutoff, p.Batch)
		}},
		{KindAccounts, func(ctx context.Context, tx bun.Tx) (int, error) {
			var ids []uuid.UUID
			err := tx.NewSelect().Table("users").Column("id").Where("disabled_at < ?", accountCutoff).
				Where("email NOT LIKE ?", "%"+removedDomain).OrderExpr("disabled_at, id").Limit(int64(p.Batch)).Scan(ctx, &ids)
			if err != nil || len(ids) == 0 {
				return 0, err
			}
			for _, table := range []string{"password_reset_tokens", "totp_used_codes"} {
				if _, err := tx.NewDelete().Table(table).Where("user_id IN (?)", bun.In(ids)).Exec(ctx); err != nil {
					return 0, fmt.Errorf("retention: %s of old accounts: %w", table, err)
				}
			}
			// Each address unique and undeliverable; nothing left to
			// sign in with.
			for _, id := range ids {
				if _, err := tx.NewUpdate().Table("users").Set("email = ?", id.String()+removedDomain).
					Set("display_name = ''").Set("password_hash = ''").Set("totp_secret = ''").Set("totp_required = ?", false).
					Set("session_generation = session_generation + 1").Set("updated_at = ?", now).Where("id = ?", id).Exec(ctx); err != nil {
					return 0, fmt.Errorf("retention: anonymise account: %w", err)
				}
			}
			return len(ids), nil
		}},
	}
	for _, s := range steps {
		for {
			n := 0
			err := p.DB.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
				var err error
				n, err = s.step(ctx, tx)
				return err
			})
			if err != nil {
				return fmt.Errorf("retention: platform %s: %w", s.kind, err)
			}
			if n > 0 {
				c[s.kind] += n
			}
			if n < p.Batch {
				break
			}
		}
	}
	return nil
}

// deleteSelected deletes up to batch rows of a platform table whose ids q
// selects, after their rows in each of the dependent tables (keyed by
// <table without its s>_id), and returns how many went.
func deleteSelected(ctx context.Context, tx bun.Tx, q *bun.SelectQuery, batch int, table string, dependents ...string) (int, error) {
	var ids []uuid.UUID
	if err := q.Limit(int64(batch)).Scan(ctx, &ids); err != nil || len(ids) == 0 {
		return 0, err
	}
	for _, dep := range dependents {
		key := strings.TrimSuffix(table, "s") + "_id"
		if _, err := tx.NewDelete().Table(dep).Where("? IN (?)", bun.Ident(key), bun.In(ids)).Exec(ctx); err != nil {
			return 0, fmt.Errorf("retention: %s of %s: %w", dep, table, err)
		}
	}
	res, err := tx.NewDelete().Table(table).Where("id IN (?)", bun.In(ids)).Exec(ctx)
	if err != nil {
		return 0, fmt.Errorf("retention: %s: %w", table, err)
	}
	return affected(res), nil
}

// closuresInUse are the closures of which some desk still holds an affected
// family. closure_families is desk data: each desk is read in its own
// transaction (row-level security would show a platform transaction none).
func (p *Purger) closuresInUse(ctx context.Context) ([]uuid.UUID, error) {
	var all []uuid.UUID
	for _, t := range p.Desks.All() {
		err := p.tenants.Tx(tenancy.WithTenant(ctx, t.ID), func(ctx context.Context, tx *tenancy.Tx) error {
			var ids []uuid.UUID
			if err := tx.Select((*crisis.Family)(nil)).ColumnExpr("DISTINCT closure_id").Scan(ctx, &ids); err != nil {
				return err
			}
			all = append(all, ids...)
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("retention: closures in use at %s: %w", t.Slug, err)
		}
	}
	return all, nil
}

// deleteOldest deletes up to batch rows of a platform table (key: its
// primary key) whose column is before cutoff, oldest first, and returns how
// many went.
func deleteOldest(ctx context.Context, tx bun.Tx, table, key, column string, cutoff time.Time, batch int) (int, error) {
	var ids []string
	if err := tx.NewSelect().Table(table).ColumnExpr("?", bun.Ident(key)).Where("? < ?", bun.Ident(column), cutoff).
		OrderExpr("?, ?", bun.Ident(column), bun.Ident(key)).Limit(int64(batch)).Scan(ctx, &ids); err != nil || len(ids) == 0 {
		return 0, err
	}
	res, err := tx.NewDelete().Table(table).Where("? IN (?)", bun.Ident(key), bun.In(ids)).Exec(ctx)
	if err != nil {
		return 0, fmt.Errorf("retention: %s: %w", table, err)
	}
	return affected(res), nil
}

// candidates selects the requests that ended before cutoff, of families not
// on legal hold.
func candidates(tx *tenancy.Tx, cutoff time.Time) *bun.SelectQuery {
	q := tx.Select((*requests.Request)(nil)).
		Where("request.status IN (?)", bun.In(ended)).Where("request.status_changed_at < ?", cutoff)
	q = tx.Join(q, "JOIN", "children", "c", "c.id = request.child_id")
	q = tx.Join(q, "JOIN", "families", "f", "f.id = c.family_id")
	return q.Where("NOT f.legal_hold")
}

// freeze stores the figures of every closed year the purge is about to
// change: from the desk's first year to the last year a request to purge
// ended in (a request counts in the years it was open).
func (p *Purger) freeze(ctx context.Context, t tenant.Tenant, cutoff time.Time) error {
	var first, last []time.Time
	err := p.tenants.Tx(ctx, func(ctx context.Context, tx *tenancy.Tx) error {
		if err := candidates(tx, cutoff).ColumnExpr("request.status_changed_at").OrderExpr("request.status_changed_at DESC").
			Limit(1).Scan(ctx, &last); err != nil || len(last) == 0 {
			return err
		}
		return tx.Select((*requests.Request)(nil)).ColumnExpr("request.created_at").OrderExpr("request.created_at").
			Limit(1).Scan(ctx, &first)
	})
	if err != nil || len(last) == 0 || len(first) == 0 {
		return err
	}
	return p.freezeYears(ctx, t, first[0].Year(), last[0].Year())
}

// freezeYears stores the figures of the closed years from first to last.
func (p *Purger) freezeYears(ctx context.Context, t tenant.Tenant, first, last int) error {
	last = min(last, p.Clock.Now().Year()-1)
	for y := first; y <= last; y++ {
		if _, err := p.Reports.Freeze(ctx, t, y); err != nil {
			return err
		}
	}
	return nil
}

// EraseFamily erases everything of the family of request id in desk t (in
// ctx) at once, on the parent's request, as the purge would: every request
// of the family, open ones too, every look at it and the desk's mail to it. The figures of the
// closed years are stored first; the current year's change.
func (p *Purger) EraseFamily(ctx context.Context, t tenant.Tenant, id requests.RequestID) (Counts, error) {
	c := Counts{}
	var first []time.Time
	err := p.tenants.Tx(ctx, func(ctx context.Context, tx *tenancy.Tx) error {
		return tx.Select((*requests.Request)(nil)).ColumnExpr("request.created_at").OrderExpr("request.created_at").
			Limit(1).Scan(ctx, &first)
	})
	if err != nil {
		return c, err
	}
	if len(first) > 0 {
		if err := p.freezeYears(ctx, t, first[0].Year(), p.Clock.Now().Year()-1); err != nil {
			return c, err
		}
	}
	err = p.tenants.Tx(ctx, func(ctx context.Context, tx *tenancy.Tx) error {
		var batch []candidate
		q := tx.Select((*requests.Request)(nil)).ColumnExpr("request.id, request.child_id, c.family_id")
		q = tx.Join(q, "JOIN", "children", "c", "c.id = request.child_id")
		q = q.Where("c.family_id = (SELECT c2.family_id FROM requests AS r2 JOIN children AS c2 ON c2.tenant_id = r2.tenant_id AND c2.id = r2.child_id WHERE r2.tenant_id = request.tenant_id AND r2.id = ?)", id.UUID)
		if err := q.Scan(ctx, &batch); err != nil {
			return fmt.Errorf("retention: requests of the family: %w", err)
		}
		if len(batch) == 0 {
			return requests.ErrNotFound
		}
		// The desk's mail to the family's addresses is family data too.
		var to, parents []string
		if err := tx.Select((*requests.Family)(nil)).ColumnExpr("family.email").Where("family.id = ?", batch[0].FamilyID).
			Where("family.email <> ''").Scan(ctx, &to); err != nil {
			return fmt.Errorf("retention: the family's address: %w", err)
		}
		if err := tx.Select((*requests.Parent)(nil)).ColumnExpr("parent.email").Where("parent.family_id = ?", batch[0].FamilyID).
			Where("parent.email <> ''").Scan(ctx, &parents); err != nil {
			return fmt.Errorf("retention: the parents' addresses: %w", err)
		}
		to = append(to, parents...)
		if len(to) > 0 {
			res, err := tx.Delete((*mail.DeskStored)(nil)).Where("to_address IN (?)", bun.In(to)).Exec(ctx)
			if err != nil {
				return fmt.Errorf("retention: the family's mail: %w", err)
			}
			c[KindMail] += affected(res)
		}
		if err := deleteRequests(ctx, tx, batch, c); err != nil {
			return err
		}
		res, err := tx.Delete((*eventlog.Access)(nil)).Where("family_id = ?", batch[0].FamilyID).Exec(ctx)
		if err != nil {
			return fmt.Errorf("retention: looks at the family: %w", err)
		}
		c[KindLooks] += affected(res)
		return nil
	})
	if err == nil {
		for k, n := range c {
			p.purged.WithLabelValues(k).Add(float64(n))
		}
	}
	return c, err
}

type candidate struct {
	ID       uuid.UUID `bun:"id"`
	ChildID  uuid.UUID `bun:"child_id"`
	FamilyID uuid.UUID `bun:"family_id"`
}

// requests removes, batch by batch, the requests that ended before cutoff,
// with everything that hangs on them, and their child and family when no
// other request is left.
func (p *Purger) requests(ctx context.Context, cutoff time.Time, c Counts) error {
	return p.batches(ctx, func(ctx context.Context, tx *tenancy.Tx) (int, error) {
		var batch []candidate
		if err := candidates(tx, cutoff).ColumnExpr("request.id, request.child_id, c.family_id").
			OrderExpr("request.status_changed_at, request.id").Limit(int64(p.Batch)).Scan(ctx, &batch); err != nil {
			return 0, fmt.Errorf("retention: requests to purge: %w", err)
		}
		if len(batch) == 0 {
			return 0, nil
		}
		return len(batch), deleteRequests(ctx, tx, batch, c)
	})
}

// deleteRequests removes the requests of batch with everything that hangs
// on them, and their child and family when no other request is left; the
// log rows last, as the narrow role (the rest of tx runs as it).
func deleteRequests(ctx context.Context, tx *tenancy.Tx, batch []candidate, c Counts) error {
	var reqs, children, families []uuid.UUID
	for _, b := range batch {
		reqs, children, families = append(reqs, b.ID), append(children, b.ChildID), append(families, b.FamilyID)
	}
	in := bun.In(reqs)
	for _, model := range []any{(*crisis.Family)(nil), (*rounds.Offer)(nil), (*rounds.ChildOutcome)(nil)} {
		if _, err := tx.Delete(model).Where("request_id IN (?)", in).Exec(ctx); err != nil {
			return fmt.Errorf("retention: rows of purged requests: %w", err)
		}
	}
	// The fingerprints are platform-wide (duplicate detection
	// across desks): this desk's, of these requests.
	if _, err := tx.Unscoped().NewDelete().Table("request_fingerprints").Where("tenant_id = ?", tx.Tenant()).
		Where("request_id IN (?)", in).Exec(ctx); err != nil {
		return fmt.Errorf("retention: fingerprints: %w", err)
	}
	upd, err := tx.Update(&requests.Request{})
	if err != nil {
		return err
	}
	if _, err := upd.Set("duplicate_of = NULL").Where("duplicate_of IN (?)", in).Exec(ctx); err != nil {
		return fmt.Errorf("retention: duplicate links: %w", err)
	}
	// Preferences, claims and notes go with the request (ON DELETE CASCADE).
	res, err := tx.Delete((*requests.Request)(nil)).Where("id IN (?)", in).Exec(ctx)
	if err != nil {
		return fmt.Errorf("retention: requests: %w", err)
	}
	c[KindRequests] += affected(res)
	if res, err = tx.Delete((*requests.Child)(nil)).Where("id IN (?)", bun.In(children)).
		Where("NOT EXISTS (SELECT 1 FROM requests AS r WHERE r.tenant_id = child.tenant_id AND r.child_id = child.id)").Exec(ctx); err != nil {
		return fmt.Errorf("retention: children: %w", err)
	}
	c[KindChildren] += affected(res)
	// Parents go with the family (ON DELETE CASCADE).
	if res, err = tx.Delete((*requests.Family)(nil)).Where("id IN (?)", bun.In(families)).
		Where("NOT EXISTS (SELECT 1 FROM children AS ch WHERE ch.tenant_id = family.tenant_id AND ch.family_id = family.id)").Exec(ctx); err != nil {
		return fmt.Errorf("retention: families: %w", err)
	}
	c[KindFamilies] += affected(res)
	// Last, as the narrow role: the requests' history and the
	// looks at them.
	if err := asRetention(ctx, tx); err != nil {
		return err
	}
	if _, err := tx.Delete((*eventlog.Event)(nil)).Where("subject_type = 'request'").Where("subject_id IN (?)", in).Exec(ctx); err != nil {
		return fmt.Errorf("retention: history: %w", err)
	}
	if res, err = tx.Delete((*eventlog.Access)(nil)).Where("request_id IN (?)", in).Exec(ctx); err != nil {
		return fmt.Errorf("retention: looks: %w", err)
	}
	c[KindLooks] += affected(res)
	return nil
}

// rounds removes the desk's allocation rounds made before cutoff of which
// no request is left (the purge of requests removes their rows of a round;
// a round of a held or recent request stays with it), with their offers and
// outcomes.
func (p *Purger) rounds(ctx context.Context, cutoff time.Time, c Counts) error {
	return p.batches(ctx, func(ctx context.Context, tx *tenancy.Tx) (int, error) {
		var ids []uuid.UUID
		err := tx.Select((*rounds.Round)(nil)).ColumnExpr("round.id").Where("round.created_at < ?", cutoff).
			Where(`NOT EXISTS (SELECT 1 FROM round_children AS rc JOIN requests AS r ON r.tenant_id = rc.tenant_id AND r.id = rc.request_id
				WHERE rc.tenant_id = round.tenant_id AND rc.round_id = round.id)`).
			Where(`NOT EXISTS (SELECT 1 FROM round_offers AS ro JOIN requests AS r ON r.tenant_id = ro.tenant_id AND r.id = ro.request_id
				WHERE ro.tenant_id = round.tenant_id AND ro.round_id = round.id)`).
			OrderExpr("round.created_at, round.id").Limit(int64(p.Batch)).Scan(ctx, &ids)
		if err != nil || len(ids) == 0 {
			return 0, err
		}
		for _, model := range []any{(*rounds.Offer)(nil), (*rounds.ChildOutcome)(nil)} {
			if _, err := tx.Delete(model).Where("round_id IN (?)", bun.In(ids)).Exec(ctx); err != nil {
				return 0, fmt.Errorf("retention: rows of old rounds: %w", err)
			}
		}
		return deleteByID(ctx, tx, (*rounds.Round)(nil), ids, KindRounds, c)
	})
}

// history removes the desk's history of things that are no request: a
// round's once the round is gone, a closure's or a sharing agreement's once
// it is older than cutoff (their platform rows go by RecordYears), and the
// record of a regional reading of the desk ("access") as the access log.
func (p *Purger) history(ctx context.Context, cutoff, lookCutoff time.Time, c Counts) error {
	return p.batches(ctx, func(ctx context.Context, tx *tenancy.Tx) (int, error) {
		var ids []uuid.UUID
		err := tx.Select((*eventlog.Event)(nil)).ColumnExpr("event.id").
			Where(`(event.subject_type = 'round' AND NOT EXISTS (SELECT 1 FROM rounds AS ro WHERE ro.tenant_id = event.tenant_id AND ro.id = event.subject_id))
				OR (event.subject_type IN ('closure', 'sharing_agreement') AND event.occurred_at < ?)
				OR (event.subject_type = 'access' AND event.occurred_at < ?)`, cutoff, lookCutoff).
			OrderExpr("event.occurred_at, event.id").Limit(int64(p.Batch)).Scan(ctx, &ids)
		if err != nil || len(ids) == 0 {
			return 0, err
		}
		if err := asRetention(ctx, tx); err != nil {
			return 0, err
		}
		return deleteByID(ctx, tx, (*eventlog.Event)(nil), ids, KindHistory, c)
	})
}

// notes removes desk notes and empties care-need descriptions of requests
// that ended before cutoff (families on legal hold keep theirs).
func (p *Purger) notes(ctx context.Context, cutoff time.Time, c Counts) error {
	return p.batches(ctx, func(ctx context.Context, tx *tenancy.Tx) (int, error) {
		var ids []uuid.UUID
		err := candidates(tx, cutoff).ColumnExpr("request.id").
			Where("request.care_need_note <> '' OR EXISTS (SELECT 1 FROM request_notes AS n WHERE n.tenant_id = request.tenant_id AND n.request_id = request.id)").
			OrderExpr("request.id").Limit(int64(p.Batch)).Scan(ctx, &ids)
		if err != nil || len(ids) == 0 {
			return 0, err
		}
		res, err := tx.Delete((*requests.Note)(nil)).Where("request_id IN (?)", bun.In(ids)).Exec(ctx)
		if err != nil {
			return 0, fmt.Errorf("retention: notes: %w", err)
		}
		c[KindNotes] += affected(res)
		upd, err := tx.Update(&requests.Request{})
		if err != nil {
			return 0, err
		}
		if res, err = upd.Set("care_need_note = ''").Where("id IN (?)", bun.In(ids)).Where("care_need_note <> ''").Exec(ctx); err != nil {
			return 0, fmt.Errorf("retention: care-need descriptions: %w", err)
		}
		c[KindCareNotes] += affected(res)
		return len(ids), nil
	})
}

// looks removes access log rows older than cutoff, except those of families
// on legal hold.
func (p *Purger) looks(ctx context.Context, cutoff time.Time, c Counts) error {
	return p.batches(ctx, func(ctx context.Context, tx *tenancy.Tx) (int, error) {
		var ids []uuid.UUID
		err := tx.Select((*eventlog.Access)(nil)).ColumnExpr("access.id").Where("access.occurred_at < ?", cutoff).
			Where("NOT EXISTS (SELECT 1 FROM families AS f WHERE f.tenant_id = access.tenant_id AND f.id = access.family_id AND f.legal_hold)").
			OrderExpr("access.occurred_at").Limit(int64(p.Batch)).Scan(ctx, &ids)
		if err != nil || len(ids) == 0 {
			return 0, err
		}
		if err := asRetention(ctx, tx); err != nil {
			return 0, err
		}
		return deleteByID(ctx, tx, (*eventlog.Access)(nil), ids, KindLooks, c)
	})
}

// asRetention switches the rest of the transaction to the narrow role that
// may delete from the append-only logs (PostgreSQL; SQLite has no roles).
// Row-level security still holds: the desk setting of the transaction stays.
func asRetention(ctx context.Context, tx *tenancy.Tx) error {
	return tx.AsRole(ctx, Role)
}

func affected(res interface{ RowsAffected() (int64, error) }) int {
	n, _ := res.RowsAffected()
	return int(n)
}
