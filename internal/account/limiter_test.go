package account

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/loket-kinderopvang/loket/internal/platform/cache"
	"github.com/loket-kinderopvang/loket/internal/platform/clock"
)

func TestLimiter(t *testing.T) {
	ctx := context.Background()
	c := cache.NewMemory()
	defer c.Close()
	// Start one second into a window, so the window is easy to reason about.
	clk := clock.NewFixed(time.Date(2027, 3, 1, 9, 0, 1, 0, time.UTC))
	l := &limiter{c: c, clock: clk, limits: Limits{Window: 15 * time.Minute, PerAccount: 3, PerAddress: 5}}

	attempt := func(email, addr string) bool {
		t.Helper()
		ok, err := l.Attempt(ctx, email, addr)
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	fail := func(addr string) {
		t.Helper()
		if err := l.Fail(ctx, addr); err != nil {
			t.Fatal(err)
		}
	}
	// Per account: three failures, then refused, from any address and in
	// any spelling of the address.
	for i := 0; i < 3; i++ {
		if !attempt("An@Gezin.example", "192.0.2.1") {
			t.Fatalf("attempt %d refused", i+1)
		}
		fail("192.0.2.1")
	}
	if attempt("an@gezin.example ", "198.51.100.7") {
		t.Fatal("the fourth attempt on the account must be refused")
	}
	if !attempt("bo@gezin.example", "192.0.2.1") {
		t.Fatal("another account from the same address is not locked yet")
	}
	fail("192.0.2.1") // address: 4 failures
	if !attempt("cas@gezin.example", "192.0.2.1") {
		t.Fatal("address has 4 of 5 failures")
	}
	fail("192.0.2.1") // 5
	if attempt("dirk@gezin.example", "192.0.2.1") {
		t.Fatal("the address has used its 5 failures: refuse every account")
	}
	if !attempt("dirk@gezin.example", "192.0.2.2") {
		t.Fatal("another address is not locked")
	}
	// A whole IPv6 /64 counts as one address.
	for i := 0; i < 5; i++ {
		fail("2001:db8:1:2::" + string(rune('a'+i)))
	}
	if attempt("eva@gezin.example", "2001:db8:1:2:ffff::1") {
		t.Fatal("the /64 has used its failures")
	}
	if !attempt("eva@gezin.example", "2001:db8:1:3::1") {
		t.Fatal("another /64 is not locked")
	}
	// The locks end with the window.
	clk.Advance(15 * time.Minute)
	if !attempt("an@gezin.example", "192.0.2.1") {
		t.Fatal("after the window the account and address are unlocked")
	}
	// Success forgets the account's attempts.
	for i := 0; i < 2; i++ {
		attempt("fien@gezin.example", "192.0.2.9")
	}
	if err := l.Succeeded(ctx, "fien@gezin.example"); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		if !attempt("fien@gezin.example", "192.0.2.9") {
			t.Fatalf("after a success the account starts again; attempt %d refused", i+1)
		}
	}
	// Keys never show the address in clear.
	if k := accountKey("an@gezin.example", 1); len(k) == 0 || strings.Contains(k, "gezin") {
		t.Errorf("account key %q exposes the address", k)
	}
}
