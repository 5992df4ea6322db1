package account

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/loket-kinderopvang/loket/internal/platform/cache"
	"github.com/loket-kinderopvang/loket/internal/platform/clock"
	"github.com/loket-kinderopvang/loket/internal/platform/testenv"
)

func newLimiter(t *testing.T, c cache.Cache, limits Limits) (*limiter, *clock.Fixed) {
	t.Helper()
	// Start one second into a window, so the window is easy to reason about.
	clk := clock.NewFixed(time.Date(2027, 3, 1, 9, 0, 1, 0, time.UTC))
	return &limiter{c: c, clock: clk, limits: limits.withDefaults()}, clk
}

func attempt(t *testing.T, l *limiter, email, addr string) bool {
	t.Helper()
	ok, err := l.Attempt(context.Background(), email, addr)
	if err != nil {
		t.Fatal(err)
	}
	return ok
}

// TestLimiterSlowsDownThePairNotTheAccount: after its free attempts, one
// account from one address waits, longer each time; the same account from
// another address (its real user) is not slowed down at all.
func TestLimiterSlowsDownThePairNotTheAccount(t *testing.T) {
	c := cache.NewMemory()
	defer c.Close()
	l, clk := newLimiter(t, c, Limits{Window: 15 * time.Minute, PerPair: 3, PerAddress: 1000, FirstDelay: 30 * time.Second})
	const attacker, user = "198.51.100.7", "192.0.2.1"
	for i := 0; i < 3; i++ {
		if !attempt(t, l, "An@Gezin.example", attacker) {
			t.Fatalf("free attempt %d refused", i+1)
		}
	}
	// Any spelling of the e-mail address is the same account.
	if attempt(t, l, "an@gezin.example ", attacker) {
		t.Fatal("the fourth attempt from the attacker's address must wait")
	}
	for i := 0; i < 50; i++ {
		attempt(t, l, "an@gezin.example", attacker) // hammering on
	}
	// The real user, from her own address, signs in as always.
	for i := 0; i < 3; i++ {
		if !attempt(t, l, "an@gezin.example", user) {
			t.Fatalf("the real user's attempt %d was refused: an attacker elsewhere locked her out", i+1)
		}
	}
	if err := l.Succeeded(context.Background(), "an@gezin.example", user); err != nil {
		t.Fatal(err)
	}
	if !attempt(t, l, "an@gezin.example", user) {
		t.Fatal("after her sign-in the user starts afresh")
	}
	// The attacker gets one attempt per gate, and the gate moves on further
	// each time: 30 s, then 60 s (more after the hammering).
	clk.Advance(29 * time.Second)
	if attempt(t, l, "an@gezin.example", attacker) {
		t.Fatal("an attempt before the first wait ended")
	}
	clk.Advance(time.Second)
	if !attempt(t, l, "an@gezin.example", attacker) {
		t.Fatal("one attempt after the first wait")
	}
	if attempt(t, l, "an@gezin.example", attacker) {
		t.Fatal("a second attempt right after")
	}
	clk.Advance(60 * time.Second)
	if attempt(t, l, "an@gezin.example", attacker) {
		t.Fatal("the wait must have grown past a minute")
	}
	// Waits end at the latest with the window; a new window starts afresh.
	clk.Advance(15 * time.Minute)
	for i := 0; i < 3; i++ {
		if !attempt(t, l, "an@gezin.example", attacker) {
			t.Fatalf("new window: attempt %d refused", i+1)
		}
	}
	// Keys never show the e-mail address in clear.
	if k := pairKey("an@gezin.example", user); strings.Contains(k, "gezin") {
		t.Errorf("pair key %q exposes the address", k)
	}
}

// TestLimiterPerAddress: one address may try only so many times over all
// accounts; complete sign-ins give their attempts back.
func TestLimiterPerAddress(t *testing.T) {
	c := cache.NewMemory()
	defer c.Close()
	l, clk := newLimiter(t, c, Limits{Window: 15 * time.Minute, PerPair: 5, PerAddress: 5})
	ctx := context.Background()
	for i := 0; i < 5; i++ {
		if !attempt(t, l, fmt.Sprintf("p%d@gezin.example", i), "192.0.2.1") {
			t.Fatalf("attempt %d refused", i+1)
		}
	}
	if attempt(t, l, "p9@gezin.example", "192.0.2.1") {
		t.Fatal("the address has used its attempts: refuse every account")
	}
	if !attempt(t, l, "p9@gezin.example", "192.0.2.2") {
		t.Fatal("another address is not limited")
	}
	// An office behind one address: sign-ins that succeed do not count.
	office := "203.0.113.5"
	for i := 0; i < 20; i++ {
		email := fmt.Sprintf("staff%d@loket.example", i)
		if !attempt(t, l, email, office) {
			t.Fatalf("colleague %d refused", i+1)
		}
		if err := l.RightPassword(ctx, office); err != nil { // password step
			t.Fatal(err)
		}
		if !attempt(t, l, email, office) { // code step
			t.Fatalf("colleague %d's code refused", i+1)
		}
		if err := l.Succeeded(ctx, email, office); err != nil {
			t.Fatal(err)
		}
	}
	// A whole IPv6 /64 counts as one address.
	for i := 0; i < 5; i++ {
		attempt(t, l, "q@gezin.example", fmt.Sprintf("2001:db8:1:2::%x", i+1))
	}
	if attempt(t, l, "r@gezin.example", "2001:db8:1:2:ffff::1") {
		t.Fatal("the /64 has used its attempts")
	}
	if !attempt(t, l, "r@gezin.example", "2001:db8:1:3::1") {
		t.Fatal("another /64 is not limited")
	}
	clk.Advance(15 * time.Minute)
	if !attempt(t, l, "p9@gezin.example", "192.0.2.1") {
		t.Fatal("after the window the address may try again")
	}
}

// TestLimiterConcurrent: a burst of parallel attempts, on the in-process
// cache and on Redis, gets exactly as many checks as the limits allow:
// no count is lost.
func TestLimiterConcurrent(t *testing.T) {
	backends := map[string]func(t *testing.T) cache.Cache{
		"memory": func(t *testing.T) cache.Cache {
			c := cache.NewMemory()
			t.Cleanup(func() { _ = c.Close() })
			return c
		},
		"redis": func(t *testing.T) cache.Cache {
			url, prefix := testenv.Redis(t)
			c, err := cache.NewRedis(context.Background(), url, prefix)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = c.DeletePrefix(context.Background(), ""); _ = c.Close() })
			return c
		},
	}
	burst := func(t *testing.T, n int, try func(i int) bool) int {
		var allowed atomic.Int32
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range n {
			wg.Go(func() {
				<-start
				if try(i) {
					allowed.Add(1)
				}
			})
		}
		close(start)
		wg.Wait()
		return int(allowed.Load())
	}
	for name, open := range backends {
		t.Run(name, func(t *testing.T) {
			c := open(t)
			// One account from one address: its free attempts, and at most
			// the one that races the gate shut.
			l, _ := newLimiter(t, c, Limits{Window: 15 * time.Minute, PerPair: 5, PerAddress: 1000})
			got := burst(t, 100, func(int) bool {
				ok, err := l.Attempt(context.Background(), "an@gezin.example", "192.0.2.1")
				if err != nil {
					t.Error(err)
				}
				return ok
			})
			if got < 5 || got > 6 {
				t.Errorf("100 parallel attempts on one account from one address: %d checked, want 5 (6 at most)", got)
			}
			// Many accounts from one address: exactly PerAddress.
			l2, _ := newLimiter(t, c, Limits{Window: 15 * time.Minute, PerPair: 5, PerAddress: 20})
			got = burst(t, 100, func(i int) bool {
				ok, err := l2.Attempt(context.Background(), fmt.Sprintf("p%d@gezin.example", i), "192.0.2.200")
				if err != nil {
					t.Error(err)
				}
				return ok
			})
			if got != 20 {
				t.Errorf("100 parallel attempts from one address: %d checked, want 20", got)
			}
			if n, err := l2.count(context.Background(), addressKey("192.0.2.200", l2.window())); err != nil || n != 100 {
				t.Errorf("address count %d (%v): increments were lost", n, err)
			}
		})
	}
}

// TestPairKeysShareAHashTag: the keys a successful sign-in deletes together
// are in one Redis Cluster slot (the part between the first { and }).
func TestPairKeysShareAHashTag(t *testing.T) {
	tag := func(k string) string {
		i := strings.IndexByte(k, '{')
		j := strings.IndexByte(k[i+1:], '}')
		if i < 0 || j <= 0 {
			t.Fatalf("%q has no hash tag", k)
		}
		return k[i+1 : i+1+j]
	}
	key := pairKey("an@example.org", "192.0.2.7:5000")
	if a, b := tag(windowed(key, 42)), tag(key+":gate"); a != b {
		t.Errorf("count and gate in different slots: %q, %q", a, b)
	}
}
