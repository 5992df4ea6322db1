// Package jobs is a small database-backed scheduler. Jobs live in the table
// `jobs` (SQLite or PostgreSQL), so they survive a restart: an instance claims
// a due job with a lease (locked_until); when it dies before finishing, the
// lease runs out and another instance claims the job again. A job is never
// enqueued twice: (kind, dedupe_key) is unique, and periodic work uses a
// period key ("sweep:2026-11-28T10:15"), so several replicas agree on it.
// Handlers must be idempotent: a job whose instance died after the work but
// before marking it done runs again.
package jobs

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sort"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/uptrace/bun"

	"github.com/loket-kinderopvang/loket/internal/platform/clock"
	"github.com/loket-kinderopvang/loket/internal/platform/db"
	"github.com/loket-kinderopvang/loket/internal/platform/ids"
)

type jobKind struct{}

// ID identifies a job.
type ID = ids.ID[jobKind]

// Job is one row of the jobs table.
type Job struct {
	bun.BaseModel `bun:"table:jobs"`

	ID          ID         `bun:"id,pk,type:uuid"`
	Kind        string     `bun:"kind,notnull"`
	DedupeKey   string     `bun:"dedupe_key,notnull"`
	Scope       string     `bun:"scope,notnull"`
	Payload     string     `bun:"payload,notnull"` // JSON text; the column is JSONB
	RunAt       time.Time  `bun:"run_at,notnull"`
	Attempts    int        `bun:"attempts,notnull"`
	LockedBy    string     `bun:"locked_by,notnull"`
	LockedUntil *time.Time `bun:"locked_until"`
	DoneAt      *time.Time `bun:"done_at"`
	LastError   string     `bun:"last_error,notnull"`
	CreatedAt   time.Time  `bun:"created_at,notnull"`
}

// Decode unmarshals the payload into v.
func (j *Job) Decode(v any) error {
	if err := json.Unmarshal([]byte(j.Payload), v); err != nil {
		return fmt.Errorf("jobs: payload of %s %s: %w", j.Kind, j.DedupeKey, err)
	}
	return nil
}

// Handler does the work of one job. It must be idempotent: when the
// instance dies after the work but before the job is marked done, the job
// runs again after the lease.
type Handler func(ctx context.Context, j *Job) error

// TxHandler does its work in tx, the transaction that also marks the job
// done: its database effects happen exactly once. It must use only tx (on
// SQLite a second connection would wait for tx's write lock).
type TxHandler func(ctx context.Context, tx bun.Tx, j *Job) error

type handler struct {
	plain Handler
	tx    TxHandler
}

// errLeaseLost: the job outlived its lease and belongs to another instance.
var errLeaseLost = errors.New("jobs: lease lost")

// Spec describes a job to enqueue.
type Spec struct {
	Kind  string
	Key   string // unique per kind: the same kind and key are enqueued once
	Scope string // the desk slug, or "" for platform work
	// Payload is marshalled to JSON; ids only, no personal data.
	Payload any
	// RunAt is when the job is due; zero = now.
	RunAt time.Time
}

// Options configure a scheduler.
type Options struct {
	DB    *db.DB
	Clock clock.Clock
	Log   *slog.Logger
	// Registry, if set, receives loket_jobs_queued, loket_jobs_late and
	// loket_jobs_failed_total.
	Registry prometheus.Registerer
	// Instance names this process in locked_by; default host name + random.
	Instance string
	// Lease is how long a claimed job belongs to this instance (default 5 min).
	Lease time.Duration
	// Batch is how many jobs one RunDue claims at most per round (default 50).
	Batch int
	// MaxAttempts after which a failing job is no longer tried (default 8).
	MaxAttempts int
	// Keep is how long done jobs stay in the table (default 30 days); their
	// keys keep reminders from going out twice meanwhile.
	Keep time.Duration
}

type periodic struct {
	kind   string
	period time.Duration
}

// Scheduler claims and runs due jobs.
type Scheduler struct {
	opts     Options
	mu       sync.Mutex
	handlers map[string]handler
	periodic []periodic
	failed   prometheus.Counter

	stop chan struct{}
	done chan struct{}
}

// LateAfter is how long past run_at an unfinished job counts as late.
const LateAfter = 5 * time.Minute

// New returns a scheduler; register handlers before Start or RunDue.
func New(opts Options) (*Scheduler, error) {
	if opts.DB == nil {
		return nil, errors.New("jobs: no database")
	}
	if opts.Clock == nil {
		opts.Clock = clock.System{}
	}
	if opts.Log == nil {
		opts.Log = slog.Default()
	}
	if opts.Instance == "" {
		host, _ := os.Hostname()
		b := make([]byte, 4)
		_, _ = rand.Read(b)
		opts.Instance = host + "-" + hex.EncodeToString(b)
	}
	if opts.Lease <= 0 {
		opts.Lease = 5 * time.Minute
	}
	if opts.Batch <= 0 {
		opts.Batch = 50
	}
	if opts.MaxAttempts <= 0 {
		opts.MaxAttempts = 8
	}
	if opts.Keep <= 0 {
		opts.Keep = 30 * 24 * time.Hour
	}
	s := &Scheduler{opts: opts, handlers: map[string]handler{},
		failed: prometheus.NewCounter(prometheus.CounterOpts{Name: "loket_jobs_failed_total",
			Help: "Job runs that returned an error (they are retried with a back-off)."})}
	if opts.Registry != nil {
		if err := opts.Registry.Register(s.failed); err != nil {
			return nil, fmt.Errorf("jobs: register metrics: %w", err)
		}
		if err := opts.Registry.Register(gauges{s}); err != nil {
			return nil, fmt.Errorf("jobs: register metrics: %w", err)
		}
	}
	return s, nil
}

// Handle registers the handler of kind.
func (s *Scheduler) Handle(kind string, h Handler) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.handlers[kind] = handler{plain: h}
}

// HandleTx registers a handler whose work commits with the job's completion.
func (s *Scheduler) HandleTx(kind string, h TxHandler) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.handlers[kind] = handler{tx: h}
}

// Every enqueues a job of kind once per period (aligned to the clock, e.g.
// every quarter hour); the handler of kind must be registered too.
func (s *Scheduler) Every(kind string, period time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.periodic = append(s.periodic, periodic{kind: kind, period: period})
}

// PeriodKey is the dedupe key of the period t falls in.
func PeriodKey(kind string, t time.Time, period time.Duration) string {
	return kind + ":" + t.UTC().Truncate(period).Format("2006-01-02T15:04")
}

// Enqueue adds a job unless one of the same kind and key exists; it tells
// whether the job was added.
func (s *Scheduler) Enqueue(ctx context.Context, sp Spec) (bool, error) {
	return s.enqueue(ctx, s.opts.DB.DB, sp)
}

// EnqueueTx is Enqueue inside the caller's transaction, so a job is added
// exactly when the caller's change commits.
func (s *Scheduler) EnqueueTx(ctx context.Context, tx bun.IDB, sp Spec) (bool, error) {
	return s.enqueue(ctx, tx, sp)
}

func (s *Scheduler) enqueue(ctx context.Context, idb bun.IDB, sp Spec) (bool, error) {
	if sp.Kind == "" || sp.Key == "" {
		return false, errors.New("jobs: kind and key are required")
	}
	payload := []byte("{}")
	if sp.Payload != nil {
		var err error
		if payload, err = json.Marshal(sp.Payload); err != nil {
			return false, fmt.Errorf("jobs: payload of %s: %w", sp.Kind, err)
		}
	}
	now := s.opts.Clock.Now()
	if sp.RunAt.IsZero() {
		sp.RunAt = now
	}
	j := &Job{ID: ids.New[jobKind](), Kind: sp.Kind, DedupeKey: sp.Key, Scope: sp.Scope, Payload: string(payload),
		RunAt: sp.RunAt.UTC(), CreatedAt: now}
	res, err := idb.NewInsert().Model(j).On("CONFLICT (kind, dedupe_key) DO NOTHING").Exec(ctx)
	if err != nil {
		return false, fmt.Errorf("jobs: enqueue %s %s: %w", sp.Kind, sp.Key, err)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// RunDue enqueues this period's periodic jobs, then claims and runs every due
// job once (jobs enqueued by handlers that are due already run in the same
// call). It returns how many jobs completed.
func (s *Scheduler) RunDue(ctx context.Context) (int, error) {
	now := s.opts.Clock.Now()
	s.mu.Lock()
	per := append([]periodic(nil), s.periodic...)
	s.mu.Unlock()
	for _, p := range per {
		if _, err := s.Enqueue(ctx, Spec{Kind: p.kind, Key: PeriodKey(p.kind, now, p.period),
			RunAt: now.Truncate(p.period)}); err != nil {
			return 0, err
		}
	}
	done := 0
	var errs []error
	seen := map[ID]bool{}
	for round := 0; round < 100; round++ {
		batch, err := s.claim(ctx)
		if err != nil {
			return done, errors.Join(append(errs, err)...)
		}
		fresh := 0
		for i := range batch {
			j := &batch[i]
			if seen[j.ID] {
				continue // failed earlier in this call and due again: next call
			}
			seen[j.ID] = true
			fresh++
			if err := s.run(ctx, j); err != nil {
				errs = append(errs, err)
				continue
			}
			done++
		}
		if fresh == 0 {
			break
		}
	}
	if _, err := s.opts.DB.NewDelete().Model((*Job)(nil)).
		Where("done_at IS NOT NULL AND done_at < ?", now.Add(-s.opts.Keep)).Exec(ctx); err != nil {
		errs = append(errs, fmt.Errorf("jobs: prune: %w", err))
	}
	return done, errors.Join(errs...)
}

// claim takes a lease on up to Batch due jobs. The UPDATE is conditional, so
// of two instances racing for a job only one gets it; on PostgreSQL SKIP
// LOCKED lets them take different jobs instead of waiting for each other.
func (s *Scheduler) claim(ctx context.Context) ([]Job, error) {
	now := s.opts.Clock.Now()
	until := now.Add(s.opts.Lease)
	const free = "done_at IS NULL AND run_at <= ? AND attempts < ? AND (locked_until IS NULL OR locked_until < ?)"
	lock := ""
	if s.opts.DB.Dialect == db.Postgres {
		lock = " FOR UPDATE SKIP LOCKED"
	}
	q := "UPDATE jobs SET locked_by = ?, locked_until = ?, attempts = attempts + 1 WHERE " + free +
		" AND id IN (SELECT id FROM jobs WHERE " + free + " ORDER BY run_at, id LIMIT ?" + lock + ") RETURNING *"
	var out []Job
	err := s.opts.DB.NewRaw(q, s.opts.Instance, until, now, s.opts.MaxAttempts, now,
		now, s.opts.MaxAttempts, now, s.opts.Batch).Scan(ctx, &out)
	if err != nil {
		return nil, fmt.Errorf("jobs: claim: %w", err)
	}
	sort.Slice(out, func(a, b int) bool { return out[a].RunAt.Before(out[b].RunAt) })
	return out, nil
}

// run runs one claimed job and records the outcome, only while the lease is
// still ours (a job that outlived its lease may be running elsewhere already).
func (s *Scheduler) run(ctx context.Context, j *Job) error {
	s.mu.Lock()
	h := s.handlers[j.Kind]
	s.mu.Unlock()
	var err error
	switch {
	case h.tx != nil:
		err = s.opts.DB.Transact(ctx, func(ctx context.Context, tx bun.Tx) error {
			if err := safe(func() error { return h.tx(ctx, tx, j) }); err != nil {
				return err
			}
			res, err := tx.NewUpdate().Model((*Job)(nil)).Where("id = ? AND locked_by = ?", j.ID, s.opts.Instance).
				Set("locked_by = ''").Set("locked_until = NULL").Set("done_at = ?", s.opts.Clock.Now()).
				Set("last_error = ''").Exec(ctx)
			if err != nil {
				return fmt.Errorf("jobs: record %s: %w", j.Kind, err)
			}
			if n, _ := res.RowsAffected(); n != 1 {
				return errLeaseLost
			}
			return nil
		})
		if err == nil || errors.Is(err, errLeaseLost) {
			return nil // done, or rolled back because the job is another instance's now
		}
	case h.plain != nil:
		err = safe(func() error { return h.plain(ctx, j) })
	default:
		err = fmt.Errorf("no handler for kind %q", j.Kind)
	}
	now := s.opts.Clock.Now()
	q := s.opts.DB.NewUpdate().Model((*Job)(nil)).Where("id = ? AND locked_by = ?", j.ID, s.opts.Instance).
		Set("locked_by = ''").Set("locked_until = NULL")
	if err == nil {
		q = q.Set("done_at = ?", now).Set("last_error = ''")
	} else {
		s.failed.Inc()
		s.opts.Log.WarnContext(ctx, "job failed", "kind", j.Kind, "scope", j.Scope, "attempt", j.Attempts, "err", err)
		msg := err.Error()
		if len(msg) > 1000 {
			msg = msg[:1000]
		}
		q = q.Set("last_error = ?", msg).Set("run_at = ?", now.Add(backoff(j.Attempts)))
	}
	if _, uerr := q.Exec(ctx); uerr != nil {
		return errors.Join(err, fmt.Errorf("jobs: record %s: %w", j.Kind, uerr))
	}
	if err != nil {
		return fmt.Errorf("jobs: %s %s: %w", j.Kind, j.DedupeKey, err)
	}
	return nil
}

func safe(fn func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic: %v", r)
		}
	}()
	return fn()
}

// backoff grows with the attempts: 1, 2, 4 … minutes, at most an hour.
func backoff(attempts int) time.Duration {
	d := time.Minute << min(max(attempts-1, 0), 6)
	return min(d, time.Hour)
}

// Start runs RunDue every `every` until ctx ends or Stop is called.
func (s *Scheduler) Start(ctx context.Context, every time.Duration) {
	s.mu.Lock()
	if s.stop != nil {
		s.mu.Unlock()
		return
	}
	s.stop, s.done = make(chan struct{}), make(chan struct{})
	stop, done := s.stop, s.done
	s.mu.Unlock()
	go func() {
		defer close(done)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			if _, err := s.RunDue(ctx); err != nil && ctx.Err() == nil {
				s.opts.Log.WarnContext(ctx, "scheduler round had errors", "err", err)
			}
			select {
			case <-ctx.Done():
				return
			case <-stop:
				return
			case <-t.C:
			}
		}
	}()
}

// Stop ends the loop and waits for the running round to finish.
func (s *Scheduler) Stop() {
	s.mu.Lock()
	stop, done := s.stop, s.done
	s.stop, s.done = nil, nil
	s.mu.Unlock()
	if stop == nil {
		return
	}
	close(stop)
	<-done
}

// Counts are the numbers behind the gauges.
type Counts struct{ Queued, Late int64 }

// Count returns how many jobs are not done, and how many of those are due
// for more than LateAfter.
func (s *Scheduler) Count(ctx context.Context) (Counts, error) {
	var c Counts
	var err error
	c.Queued, err = s.opts.DB.NewSelect().Model((*Job)(nil)).Where("done_at IS NULL").Count(ctx)
	if err != nil {
		return c, fmt.Errorf("jobs: count: %w", err)
	}
	c.Late, err = s.opts.DB.NewSelect().Model((*Job)(nil)).
		Where("done_at IS NULL AND run_at < ?", s.opts.Clock.Now().Add(-LateAfter)).Count(ctx)
	if err != nil {
		return c, fmt.Errorf("jobs: count late: %w", err)
	}
	return c, nil
}

// gauges reads the counts at scrape time, so a stopped loop still shows up
// as late jobs.
type gauges struct{ s *Scheduler }

var (
	queuedDesc = prometheus.NewDesc("loket_jobs_queued", "Jobs not done yet.", nil, nil)
	lateDesc   = prometheus.NewDesc("loket_jobs_late", "Jobs due more than 5 minutes ago and not done.", nil, nil)
)

func (g gauges) Describe(ch chan<- *prometheus.Desc) { ch <- queuedDesc; ch <- lateDesc }

func (g gauges) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	c, err := g.s.Count(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(queuedDesc, err)
		return
	}
	ch <- prometheus.MustNewConstMetric(queuedDesc, prometheus.GaugeValue, float64(c.Queued))
	ch <- prometheus.MustNewConstMetric(lateDesc, prometheus.GaugeValue, float64(c.Late))
}
