package webhooks

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/uptrace/bun"

	"github.com/loket-kinderopvang/loket/internal/platform/clock"
	"github.com/loket-kinderopvang/loket/internal/platform/db"
)

// RelayRole is the PostgreSQL role the relay works as (made by the webhooks
// migration, granted to the application role by db.MigrateUp): it may read
// every desk's deliveries and mark them, and pause endpoints.
const RelayRole = "loket_webhook_relay"

// Sign returns the Standard Webhooks signature header value of body: "v1,"
// and the base64 HMAC-SHA256, keyed with the secret's bytes, of
// "id.timestamp.body".
func Sign(secret, id string, ts int64, body []byte) string {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, SecretPrefix))
	if err != nil {
		key = []byte(secret)
	}
	mac := hmac.New(sha256.New, key)
	fmt.Fprintf(mac, "%s.%d.", id, ts)
	mac.Write(body)
	return "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// Relay posts due deliveries. A relay that dies after posting and before
// marking posts once more when the lease ends: at least once. Replicas may
// all run one; on PostgreSQL each claims different deliveries (SKIP
// LOCKED), and a delivery waits while an earlier one of the same endpoint
// and request is open, so each request's events arrive in order.
type Relay struct {
	db     *db.DB
	clock  clock.Clock
	log    *slog.Logger
	client *http.Client
	// Batch is how many deliveries a round claims; Lease how long a claim
	// holds; GiveUpAfter how long after its event a failing delivery is
	// retried; PauseAfter after how many failures in a row an endpoint is
	// paused; Paused is told (to mail the endpoint's admin).
	Batch       int
	Lease       time.Duration
	GiveUpAfter time.Duration
	PauseAfter  int
	Paused      func(ctx context.Context, e Endpoint)
}

// NewRelay returns a relay posting the deliveries of d; g is checked against
// every address it connects to (the name is resolved at send time).
func NewRelay(d *db.DB, c clock.Clock, g Guard, log *slog.Logger) *Relay {
	dialer := &net.Dialer{Timeout: 10 * time.Second, Control: func(_, address string, _ syscall.RawConn) error {
		ap, err := netip.ParseAddrPort(address)
		if err != nil {
			return fmt.Errorf("webhooks: address %q: %w", address, err)
		}
		if !g.Allowed(ap.Addr()) {
			return fmt.Errorf("webhooks: %s: %w", ap.Addr(), ErrPrivate)
		}
		return nil
	}}
	tr := &http.Transport{DialContext: dialer.DialContext, TLSHandshakeTimeout: 10 * time.Second,
		ResponseHeaderTimeout: 15 * time.Second, MaxIdleConnsPerHost: 2, Proxy: nil}
	client := &http.Client{Transport: tr, Timeout: 30 * time.Second,
		// A redirect could lead anywhere; the endpoint must answer itself.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	return &Relay{db: d, clock: c, log: log, client: client, Batch: 20, Lease: 2 * time.Minute,
		GiveUpAfter: 24 * time.Hour, PauseAfter: 50}
}

// Run delivers every interval until ctx ends.
func (r *Relay) Run(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if _, err := r.Deliver(ctx); err != nil && ctx.Err() == nil {
			r.log.Warn("webhook relay", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

type claimedDelivery struct {
	Delivery
	url, secret string
}

// asRelay runs fn in a transaction of the relay's role (PostgreSQL).
func asRelay(ctx context.Context, d *db.DB, fn func(ctx context.Context, tx bun.Tx) error) error {
	return d.TransactAs(ctx, RelayRole, fn)
}

// claim takes up to Batch due deliveries for Lease, oldest first, each the
// first open one of its endpoint and subject.
func (r *Relay) claim(ctx context.Context) ([]claimedDelivery, error) {
	var out []claimedDelivery
	now := r.clock.Now()
	err := asRelay(ctx, r.db, func(ctx context.Context, tx bun.Tx) error {
		out = out[:0]
		var ds []Delivery
		q := tx.NewSelect().Model(&ds).
			Where("delivery.delivered_at IS NULL AND delivery.given_up_at IS NULL").
			Where("(delivery.next_attempt_at IS NULL OR delivery.next_attempt_at <= ?)", now).
			Where("NOT EXISTS (SELECT 1 FROM webhook_deliveries e WHERE e.endpoint_id = delivery.endpoint_id " +
				"AND e.subject_id = delivery.subject_id AND e.delivered_at IS NULL AND e.given_up_at IS NULL " +
				"AND (e.created_at < delivery.created_at OR (e.created_at = delivery.created_at AND e.id < delivery.id)))").
			Where("delivery.endpoint_id IN (SELECT id FROM webhook_endpoints WHERE paused_at IS NULL)").
			OrderExpr("delivery.created_at, delivery.id").Limit(int64(r.Batch))
		if r.db.Dialect == db.Postgres {
			q = q.For("UPDATE OF delivery SKIP LOCKED")
		}
		if err := q.Scan(ctx); err != nil {
			return err
		}
		if len(ds) == 0 {
			return nil
		}
		keys := make([][]any, len(ds))
		epIDs := make([]EndpointID, len(ds))
		for i, d := range ds {
			keys[i], epIDs[i] = []any{d.TenantID, d.ID}, d.EndpointID
		}
		if _, err := tx.NewUpdate().Model((*Delivery)(nil)).Set("attempts = attempts + 1").
			Set("next_attempt_at = ?", now.Add(r.Lease)).Where("(tenant_id, id) IN (?)", bun.In(keys)).Exec(ctx); err != nil {
			return err
		}
		var eps []Endpoint
		if err := tx.NewSelect().Model(&eps).Where("id IN (?)", bun.In(epIDs)).Scan(ctx); err != nil {
			return err
		}
		byID := map[EndpointID]Endpoint{}
		for _, e := range eps {
			byID[e.ID] = e
		}
		for _, d := range ds {
			d.Attempts++
			e := byID[d.EndpointID]
			out = append(out, claimedDelivery{Delivery: d, url: e.URL, secret: e.Secret.String()})
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("webhooks: claim deliveries: %w", err)
	}
	return out, nil
}

// Deliver posts the deliveries that are due, one round, and says how many
// the endpoints accepted (any 2xx).
func (r *Relay) Deliver(ctx context.Context) (int, error) {
	ds, err := r.claim(ctx)
	if err != nil {
		return 0, err
	}
	sent := 0
	for _, d := range ds {
		status, sendErr := r.post(ctx, d)
		if sendErr == nil {
			sent++
		} else {
			r.log.Warn("webhook not delivered; will retry", "event", d.EventType, "attempt", d.Attempts, "err", sendErr)
		}
		if err := r.mark(ctx, d, status, sendErr); err != nil {
			return sent, err
		}
	}
	return sent, nil
}

func (r *Relay) post(ctx context.Context, d claimedDelivery) (int, error) {
	ts := r.clock.Now().Unix()
	id := "msg_" + d.ID.String()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.url, bytes.NewReader([]byte(d.Payload)))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Loket-Webhooks/1")
	req.Header.Set("webhook-id", id)
	req.Header.Set("webhook-timestamp", strconv.FormatInt(ts, 10))
	req.Header.Set("webhook-signature", Sign(d.secret, id, ts, []byte(d.Payload)))
	res, err := r.client.Do(req)
	if err != nil {
		return 0, err
	}
	defer res.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, 64<<10))
	if res.StatusCode < 200 || res.StatusCode > 299 {
		return res.StatusCode, fmt.Errorf("webhooks: endpoint answered %s", res.Status)
	}
	return res.StatusCode, nil
}

// mark records the attempt: delivered; or the next try, 30 s, 1, 2, 4 …
// minutes later, at most 2 hours, until GiveUpAfter has passed since the
// event. Failures in a row past PauseAfter pause the endpoint.
func (r *Relay) mark(ctx context.Context, d claimedDelivery, status int, sendErr error) error {
	now := r.clock.Now()
	var paused *Endpoint
	err := asRelay(ctx, r.db, func(ctx context.Context, tx bun.Tx) error {
		q := tx.NewUpdate().Model((*Delivery)(nil)).Where("tenant_id = ? AND id = ?", d.TenantID, d.ID).Set("last_status = ?", status)
		ep := tx.NewUpdate().Model((*Endpoint)(nil)).Where("id = ?", d.EndpointID)
		if sendErr == nil {
			q = q.Set("delivered_at = ?", now).Set("last_error = ''").Set("next_attempt_at = NULL")
			ep = ep.Set("failures = 0")
		} else {
			q = q.Set("last_error = ?", truncate(sendErr.Error(), 500))
			if now.Sub(d.CreatedAt) >= r.GiveUpAfter {
				q = q.Set("given_up_at = ?", now).Set("next_attempt_at = NULL")
			} else {
				wait := min(30*time.Second<<min(d.Attempts-1, 10), 2*time.Hour)
				q = q.Set("next_attempt_at = ?", now.Add(wait))
			}
			ep = ep.Set("failures = failures + 1")
		}
		if _, err := q.Exec(ctx); err != nil {
			return err
		}
		if _, err := ep.Exec(ctx); err != nil {
			return err
		}
		if sendErr == nil {
			return nil
		}
		var e Endpoint
		if err := tx.NewSelect().Model(&e).Where("id = ?", d.EndpointID).Scan(ctx); err != nil {
			return err
		}
		if e.PausedAt == nil && r.PauseAfter > 0 && e.Failures >= r.PauseAfter {
			if _, err := tx.NewUpdate().Model((*Endpoint)(nil)).Set("paused_at = ?", now).Where("id = ?", e.ID).Exec(ctx); err != nil {
				return err
			}
			e.PausedAt = &now
			paused = &e
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("webhooks: mark %s: %w", d.ID, err)
	}
	if paused != nil && r.Paused != nil {
		r.Paused(ctx, *paused)
	}
	return nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}
