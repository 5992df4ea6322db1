package requests_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/loket-kinderopvang/loket/internal/platform/tenancy"

	"github.com/loket-kinderopvang/loket/internal/platform/db"
	"github.com/loket-kinderopvang/loket/internal/platform/dbtest"
	"github.com/loket-kinderopvang/loket/internal/requests"
)

// TestIdempotencyKeyNeedsTheSameBody: the same key and submission replay the
// first request; another submission with that key, valid or not, is refused
// and learns nothing of the first; the same key from another caller is
// another key.
func TestIdempotencyKeyNeedsTheSameBody(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		api := requests.Actor{Kind: requests.ActorAPI}
		a := f.submission("Amber", f.locs[0])
		first, _, replayed, err := f.svc.Submit(f.leuven, a, api, "k-1")
		if err != nil || replayed {
			t.Fatalf("first: %v (replayed %v)", err, replayed)
		}
		other := f.submission("Bram", f.locs[0])
		for name, sub := range map[string]requests.Submission{"empty": {}, "another child": other} {
			r, url, replayed, err := f.svc.Submit(f.leuven, sub, api, "k-1")
			if !errors.Is(err, requests.ErrIdempotencyMismatch) || r != nil || url != "" || replayed {
				t.Errorf("%s with the key: %v, %v, %q, %v; want ErrIdempotencyMismatch and nothing else", name, err, r, url, replayed)
			}
		}
		r, url, replayed, err := f.svc.Submit(f.leuven, a, api, "k-1")
		if err != nil || !replayed || r.ID != first.ID || url == "" {
			t.Errorf("retry: %v, replayed %v", err, replayed)
		}
		keyed := requests.Actor{Kind: requests.ActorAPI, ID: "apikey:0190"}
		if r, _, replayed, err := f.svc.Submit(f.leuven, a, keyed, "k-1"); err != nil || replayed || r.ID == first.ID {
			t.Errorf("another caller with the same key: %v, replayed %v", err, replayed)
		}
	})
}

// TestBatchSameKeyAnotherBody: a key used twice in one batch with two
// different submissions stores the first and refuses the second; later, the
// key finds the stored request inside the batch transaction and replays only
// the same submission.
func TestBatchSameKeyAnotherBody(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		a, b := f.submission("Amber", f.locs[0]), f.submission("Bram", f.locs[1])
		reqs, replayed, errs := requests.SubmitBatch(f.svc, f.leuven, []requests.Submission{a, b, a}, []string{"k", "k", "k"}, nil)
		if errs[0] != nil || reqs[0] == nil || replayed[0] {
			t.Fatalf("first: %v", errs[0])
		}
		if !errors.Is(errs[1], requests.ErrIdempotencyMismatch) || reqs[1] != nil {
			t.Errorf("another body in the batch: %v, %v", errs[1], reqs[1])
		}
		if errs[2] != nil || !replayed[2] || reqs[2].ID != reqs[0].ID {
			t.Errorf("the same body in the batch: %v, replayed %v", errs[2], replayed[2])
		}
		reqs2, replayed2, errs2 := requests.SubmitBatch(f.svc, f.leuven, []requests.Submission{b, a}, []string{"k", "k"}, nil)
		if !errors.Is(errs2[0], requests.ErrIdempotencyMismatch) || reqs2[0] != nil {
			t.Errorf("another body, later: %v, %v", errs2[0], reqs2[0])
		}
		if errs2[1] != nil || !replayed2[1] || reqs2[1].ID != reqs[0].ID {
			t.Errorf("the same body, later: %v, replayed %v", errs2[1], replayed2[1])
		}
		if list, _ := f.svc.Store().List(f.leuven, 10); len(list) != 1 {
			t.Errorf("%d requests stored, want 1", len(list))
		}
	})
}

// blockingOutbox holds a registration inside its transaction until released.
type blockingOutbox struct {
	entered, release chan struct{}
}

func (b *blockingOutbox) Notify(context.Context, requests.Notice) error { return nil }
func (b *blockingOutbox) Transactional() bool                           { return true }

// A signature change must break the build, not make the test wait forever.
var _ requests.OutboxNotifier = (*blockingOutbox)(nil)

func (b *blockingOutbox) NotifyTx(context.Context, *tenancy.Tx, []requests.Notice) ([]error, error) {
	b.entered <- struct{}{}
	<-b.release
	return nil, nil
}

// TestIdempotencyKeyInFlight: while a registration with a key is still being
// written, the same key gets ErrIdempotencyInFlight at once (the API answers
// 409); AwaitInFlight waits for the first to finish, after which the same
// submission replays it.
func TestIdempotencyKeyInFlight(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		box := &blockingOutbox{entered: make(chan struct{}, 1), release: make(chan struct{})}
		f.svc.SetNotifier(box)
		api := requests.Actor{Kind: requests.ActorAPI}
		a := f.submission("Amber", f.locs[0])
		type result struct {
			r   *requests.Request
			err error
		}
		firstDone := make(chan result, 1)
		go func() {
			r, _, _, err := f.svc.Submit(f.leuven, a, api, "k-2")
			firstDone <- result{r, err}
		}()
		select {
		case <-box.entered:
		case <-time.After(30 * time.Second):
			t.Fatal("the registration never reached its transaction's outbox")
		}
		if _, _, _, err := f.svc.Submit(f.leuven, a, api, "k-2"); !errors.Is(err, requests.ErrIdempotencyInFlight) {
			t.Errorf("the same key while the first is written: %v, want ErrIdempotencyInFlight", err)
		}
		waited := make(chan error, 1)
		go func() { waited <- f.svc.AwaitInFlight(f.leuven, api, "k-2") }()
		select {
		case err := <-waited:
			t.Fatalf("AwaitInFlight returned (%v) while the first registration is written", err)
		case <-time.After(50 * time.Millisecond):
		}
		close(box.release)
		first := <-firstDone
		if first.err != nil {
			t.Fatal(first.err)
		}
		if err := <-waited; err != nil {
			t.Fatal(err)
		}
		r, _, replayed, err := f.svc.Submit(f.leuven, a, api, "k-2")
		if err != nil || !replayed || r.ID != first.r.ID {
			t.Errorf("after the first: %v, replayed %v", err, replayed)
		}
	})
}
