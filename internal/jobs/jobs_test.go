package jobs

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/uptrace/bun"

	"github.com/loket-kinderopvang/loket/internal/platform/clock"
	"github.com/loket-kinderopvang/loket/internal/platform/db"
	"github.com/loket-kinderopvang/loket/internal/platform/dbtest"
)

var t0 = time.Date(2026, 11, 28, 10, 7, 0, 0, time.UTC)

func newScheduler(t *testing.T, d *db.DB, clk clock.Clock, instance string) *Scheduler {
	t.Helper()
	s, err := New(Options{DB: d, Clock: clk, Instance: instance, Lease: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestEnqueueOnce(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		clk := clock.NewFixed(t0)
		s := newScheduler(t, d, clk, "a")
		var calls atomic.Int32
		s.Handle("mail", func(ctx context.Context, j *Job) error {
			var p struct{ N int }
			if err := j.Decode(&p); err != nil || p.N != 7 || j.Scope != "leuven" {
				t.Errorf("payload %+v (%v), scope %q", p, err, j.Scope)
			}
			calls.Add(1)
			return nil
		})
		for i, want := range []bool{true, false} {
			added, err := s.Enqueue(ctx, Spec{Kind: "mail", Key: "r1:1", Scope: "leuven", Payload: map[string]int{"N": 7}})
			if err != nil || added != want {
				t.Fatalf("enqueue %d: added %v (%v), want %v", i, added, err, want)
			}
		}
		// Another kind may use the same key.
		if added, _ := s.Enqueue(ctx, Spec{Kind: "other", Key: "r1:1", RunAt: t0.Add(time.Hour)}); !added {
			t.Error("same key of another kind refused")
		}
		n, err := s.RunDue(ctx)
		if err != nil || n != 1 || calls.Load() != 1 {
			t.Fatalf("RunDue = %d (%v), calls %d", n, err, calls.Load())
		}
		// Done jobs keep their key: enqueueing again adds nothing.
		if added, _ := s.Enqueue(ctx, Spec{Kind: "mail", Key: "r1:1"}); added {
			t.Error("a done job was enqueued again")
		}
		if n, _ := s.RunDue(ctx); n != 0 || calls.Load() != 1 {
			t.Errorf("second RunDue ran %d", n)
		}
	})
}

// TestCrashedRunIsTakenOver: instance a claims a job and dies; before the
// lease runs out nobody takes it, after it instance b completes it once.
func TestCrashedRunIsTakenOver(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		clk := clock.NewFixed(t0)
		a := newScheduler(t, d, clk, "a")
		var calls atomic.Int32
		handler := func(ctx context.Context, j *Job) error { calls.Add(1); return nil }
		a.Handle("work", handler)
		if _, err := a.Enqueue(ctx, Spec{Kind: "work", Key: "k"}); err != nil {
			t.Fatal(err)
		}
		claimed, err := a.claim(ctx) // a takes the lease, then "crashes"
		if err != nil || len(claimed) != 1 {
			t.Fatalf("claim: %d (%v)", len(claimed), err)
		}
		b := newScheduler(t, d, clk, "b") // a new instance after the restart
		b.Handle("work", handler)
		if n, err := b.RunDue(ctx); n != 0 || err != nil {
			t.Fatalf("job run during a's lease: %d (%v)", n, err)
		}
		clk.Advance(61 * time.Second)
		if n, err := b.RunDue(ctx); n != 1 || err != nil {
			t.Fatalf("after the lease: %d (%v)", n, err)
		}
		if n, _ := b.RunDue(ctx); n != 0 {
			t.Errorf("ran again: %d", n)
		}
		// a, coming back late, cannot record over b's result.
		if err := a.run(ctx, &claimed[0]); err != nil {
			t.Fatal(err)
		}
		var j Job
		if err := d.NewSelect().Model(&j).Where("dedupe_key = 'k'").Scan(ctx); err != nil {
			t.Fatal(err)
		}
		if j.DoneAt == nil || j.Attempts != 2 || j.LockedBy != "" {
			t.Errorf("job after takeover: done %v, attempts %d, locked by %q", j.DoneAt, j.Attempts, j.LockedBy)
		}
		if calls.Load() != 2 { // a's late run (idempotent handler) and b's
			t.Errorf("handler calls %d", calls.Load())
		}
	})
}

func TestFailureRetriesWithBackoff(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		clk := clock.NewFixed(t0)
		reg := prometheus.NewRegistry()
		s, err := New(Options{DB: d, Clock: clk, Instance: "a", Registry: reg})
		if err != nil {
			t.Fatal(err)
		}
		fail := true
		s.Handle("flaky", func(ctx context.Context, j *Job) error {
			if fail {
				return errors.New("relay down")
			}
			return nil
		})
		_, _ = s.Enqueue(ctx, Spec{Kind: "flaky", Key: "x"})
		if n, err := s.RunDue(ctx); n != 0 || err == nil {
			t.Fatalf("failing job: %d (%v)", n, err)
		}
		if got := testutil.ToFloat64(s.failed); got != 1 {
			t.Errorf("failed_total = %v", got)
		}
		clk.Advance(30 * time.Second)
		if n, _ := s.RunDue(ctx); n != 0 {
			t.Error("retried before the back-off")
		}
		clk.Advance(6 * time.Minute)
		c, _ := s.Count(ctx)
		if c.Queued != 1 || c.Late != 1 {
			t.Errorf("counts %+v", c)
		}
		if n, err := testutil.GatherAndCount(reg, "loket_jobs_late", "loket_jobs_queued"); err != nil || n != 2 {
			t.Errorf("gauges: %d (%v)", n, err)
		}
		fail = false
		if n, err := s.RunDue(ctx); n != 1 || err != nil {
			t.Errorf("retry: %d (%v)", n, err)
		}
		if c, _ := s.Count(ctx); c.Queued != 0 || c.Late != 0 {
			t.Errorf("counts after %+v", c)
		}
	})
}

// TestPeriodicOncePerPeriod: two replicas running the same quarter hour
// enqueue one sweep; the next quarter hour gets its own.
func TestPeriodicOncePerPeriod(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		clk := clock.NewFixed(t0)
		var calls atomic.Int32
		var replicas []*Scheduler
		for _, name := range []string{"a", "b"} {
			s := newScheduler(t, d, clk, name)
			s.Handle("sweep", func(ctx context.Context, j *Job) error {
				if j.DedupeKey != PeriodKey("sweep", clk.Now(), 15*time.Minute) {
					t.Errorf("key %q", j.DedupeKey)
				}
				calls.Add(1)
				return nil
			})
			s.Every("sweep", 15*time.Minute)
			replicas = append(replicas, s)
		}
		for _, s := range replicas {
			if _, err := s.RunDue(ctx); err != nil {
				t.Fatal(err)
			}
		}
		if calls.Load() != 1 {
			t.Fatalf("sweeps in one period: %d", calls.Load())
		}
		clk.Advance(10 * time.Minute) // 10:17 → 10:15 period
		for _, s := range replicas {
			_, _ = s.RunDue(ctx)
		}
		if calls.Load() != 2 {
			t.Errorf("sweeps after the next period began: %d", calls.Load())
		}
	})
}

// TestConcurrentSchedulersNeverShareAJob: on PostgreSQL, two instances
// running RunDue at the same time run every job exactly once.
func TestConcurrentSchedulersNeverShareAJob(t *testing.T) {
	d := dbtest.Open(t, db.Postgres)
	ctx := context.Background()
	clk := clock.NewFixed(t0)
	const jobs = 300
	var mu sync.Mutex
	calls := map[string]int{}
	var scheds []*Scheduler
	for _, name := range []string{"a", "b", "c"} {
		s, err := New(Options{DB: d, Clock: clk, Instance: name, Batch: 7})
		if err != nil {
			t.Fatal(err)
		}
		s.Handle("count", func(ctx context.Context, j *Job) error {
			mu.Lock()
			calls[j.DedupeKey]++
			mu.Unlock()
			return nil
		})
		scheds = append(scheds, s)
	}
	for i := range jobs {
		if _, err := scheds[0].Enqueue(ctx, Spec{Kind: "count", Key: time.Duration(i).String()}); err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	total := atomic.Int32{}
	per := make([]int, len(scheds))
	for i, s := range scheds {
		wg.Add(1)
		go func() {
			defer wg.Done()
			n, err := s.RunDue(ctx)
			if err != nil {
				t.Error(err)
			}
			per[i] = n
			total.Add(int32(n))
		}()
	}
	wg.Wait()
	t.Logf("jobs per instance: %v", per)
	if len(calls) != jobs || total.Load() != jobs {
		t.Fatalf("ran %d distinct jobs, %d completions; want %d", len(calls), total.Load(), jobs)
	}
	for k, n := range calls {
		if n != 1 {
			t.Errorf("job %s ran %d times", k, n)
		}
	}
}

// TestTxHandlerCommitsWithCompletion: a TxHandler's writes commit exactly
// when the job is marked done: not when it fails, not when it ran on after
// its lease was taken over.
func TestTxHandlerCommitsWithCompletion(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		clk := clock.NewFixed(t0)
		a := newScheduler(t, d, clk, "a")
		fail := true
		effect := func(s *Scheduler, key string) TxHandler {
			return func(ctx context.Context, tx bun.Tx, j *Job) error {
				if _, err := s.EnqueueTx(ctx, tx, Spec{Kind: "effect", Key: key, RunAt: t0.Add(24 * time.Hour)}); err != nil {
					return err
				}
				if fail {
					return errors.New("after the write")
				}
				return nil
			}
		}
		effects := func() int {
			n, err := d.NewSelect().Model((*Job)(nil)).Where("kind = 'effect'").Count(ctx)
			if err != nil {
				t.Fatal(err)
			}
			return int(n)
		}
		a.HandleTx("work", effect(a, "by-a"))
		_, _ = a.Enqueue(ctx, Spec{Kind: "work", Key: "w1"})
		if n, err := a.RunDue(ctx); n != 0 || err == nil || effects() != 0 {
			t.Fatalf("failed run: %d (%v), effects %d", n, err, effects())
		}
		fail = false
		clk.Advance(2 * time.Minute)
		if n, err := a.RunDue(ctx); n != 1 || err != nil || effects() != 1 {
			t.Fatalf("second run: %d (%v), effects %d", n, err, effects())
		}

		// a claims w2 and stalls past its lease; b completes it; a's late run
		// rolls back.
		_, _ = a.Enqueue(ctx, Spec{Kind: "work", Key: "w2"})
		claimed, err := a.claim(ctx)
		if err != nil || len(claimed) != 1 {
			t.Fatalf("claim: %d (%v)", len(claimed), err)
		}
		clk.Advance(2 * time.Minute)
		b := newScheduler(t, d, clk, "b")
		b.HandleTx("work", effect(b, "by-b"))
		if n, err := b.RunDue(ctx); n != 1 || err != nil {
			t.Fatalf("takeover: %d (%v)", n, err)
		}
		a.HandleTx("work", effect(a, "late-a"))
		if err := a.run(ctx, &claimed[0]); err != nil {
			t.Fatal(err)
		}
		if effects() != 2 {
			t.Errorf("effects after the late run: %d, want 2 (by-a, by-b)", effects())
		}
	})
}

// BenchmarkRunDue measures claiming and completing jobs (no-op handler).
func BenchmarkRunDue(b *testing.B) {
	for _, dialect := range []db.Dialect{db.SQLite, db.Postgres} {
		b.Run(string(dialect), func(b *testing.B) {
			d := dbtest.Open(b, dialect)
			ctx := context.Background()
			s, err := New(Options{DB: d, Clock: clock.NewFixed(t0), Instance: "bench"})
			if err != nil {
				b.Fatal(err)
			}
			s.Handle("noop", func(context.Context, *Job) error { return nil })
			for i := 0; i < b.N; i++ {
				if _, err := s.Enqueue(ctx, Spec{Kind: "noop", Key: time.Duration(i).String()}); err != nil {
					b.Fatal(err)
				}
			}
			b.ResetTimer()
			if n, err := s.RunDue(ctx); err != nil || n != b.N {
				b.Fatalf("ran %d of %d (%v)", n, b.N, err)
			}
		})
	}
}
