package requests

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/loket-kinderopvang/loket/internal/platform/tenancy"
)

// TestWriterGroupsWhatQueuesWhileItWrites: while every writer is busy, new
// registrations wait, and the next transaction takes them together; every
// registration is written exactly once and every caller gets its answer.
func TestWriterGroupsWhatQueuesWhileItWrites(t *testing.T) {
	release := make(chan struct{})
	entered := make(chan int, 100)
	var mu sync.Mutex
	var sizes []int
	written := map[*registration]int{}
	w := newBatchWriter(func(ctx context.Context, batch []*registration) {
		if _, ok := tenancy.FromContext(ctx); !ok {
			t.Error("the batch context has no desk")
		}
		entered <- len(batch)
		<-release
		mu.Lock()
		defer mu.Unlock()
		sizes = append(sizes, len(batch))
		for _, r := range batch {
			written[r]++
		}
	})
	desk := tenancy.NewID()
	ctx := tenancy.WithTenant(context.Background(), desk)
	const queued = 20
	var wg sync.WaitGroup
	submit := func() {
		r := &registration{ctx: ctx, done: make(chan struct{})}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := w.do(ctx, desk, r); err != nil {
				t.Error(err)
			}
		}()
	}
	// One registration after another occupies every writer ...
	for range batchWriters {
		submit()
		if n := <-entered; n != 1 {
			t.Fatalf("a writer took %d registrations, want 1", n)
		}
	}
	// ... so the next ones queue until a writer is free.
	for range queued {
		submit()
	}
	for pending := 0; pending != queued; time.Sleep(time.Millisecond) {
		w.mu.Lock()
		pending = len(w.queues[desk].pending)
		w.mu.Unlock()
	}
	close(release)
	wg.Wait()
	if len(written) != batchWriters+queued {
		t.Fatalf("%d of %d registrations written", len(written), batchWriters+queued)
	}
	for r, times := range written {
		if times != 1 {
			t.Errorf("registration %p written %d times", r, times)
		}
	}
	if !slices.Contains(sizes, queued) {
		t.Errorf("batch sizes %v: want the %d queued registrations written together", sizes, queued)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.queues) != 0 {
		t.Errorf("an idle desk keeps its queue: %v", w.queues)
	}
}
