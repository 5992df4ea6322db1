package account

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/loket-kinderopvang/loket/internal/platform/cache"
	"github.com/loket-kinderopvang/loket/internal/platform/clock"
)

// Limits bound failed sign-in attempts in fixed windows.
type Limits struct {
	// Window is the length of one counting window; a lock ends with its
	// window, so never later than Window after it started.
	Window time.Duration
	// PerAccount is how many failures (wrong password or code) one e-mail
	// address may have per window; further attempts are refused unchecked.
	PerAccount int
	// PerAddress is the same per client address (IPv6: per /64).
	PerAddress int
}

// DefaultLimits: 5 failures per account and 20 per address per 15 minutes.
var DefaultLimits = Limits{Window: 15 * time.Minute, PerAccount: 5, PerAddress: 20}

// limiter counts failures in the shared cache (Redis in production, so every
// replica sees the same counts). Keys hold the window number, read from the
// injectable clock, so a lock ends when the clock enters the next window; the
// cache TTL only cleans up.
//
// The Cache has no "set TTL if new", so the first failure of a window sets
// the TTL by writing "1" after incrementing: failures counted by other
// replicas in that instant are lost once per window, never more.
type limiter struct {
	c      cache.Cache
	clock  clock.Clock
	limits Limits
}

const limiterPrefix = "login:"

func (l *limiter) window() int64 { return l.clock.Now().UnixNano() / int64(l.limits.Window) }

func accountKey(email string, window int64) string {
	// Hash the address: cache keys show up in Redis tooling and must not
	// expose who tried to sign in.
	sum := sha256.Sum256([]byte("loket-login:" + NormalizeEmail(email)))
	return limiterPrefix + "acct:" + hex.EncodeToString(sum[:16]) + ":" + strconv.FormatInt(window, 10)
}

// resetKey counts reset mails per address, so nobody can flood a mailbox.
func resetKey(email string, window int64) string {
	return limiterPrefix + "reset:" + accountKey(email, window)[len(limiterPrefix):]
}

func addressKey(addr string, window int64) string {
	return limiterPrefix + "addr:" + clientNet(addr) + ":" + strconv.FormatInt(window, 10)
}

// clientNet is the address a limit applies to: the IPv4 address, or the /64
// of an IPv6 address (one household or server usually holds a whole /64).
func clientNet(addr string) string {
	ip := net.ParseIP(addr)
	if ip == nil {
		return "unknown"
	}
	if v4 := ip.To4(); v4 != nil {
		return v4.String()
	}
	return ip.Mask(net.CIDRMask(64, 128)).String()
}

func (l *limiter) count(ctx context.Context, key string) (int, error) {
	v, found, err := l.c.Get(ctx, key)
	if err != nil || !found {
		return 0, err
	}
	n, err := strconv.Atoi(string(v))
	if err != nil {
		return 0, fmt.Errorf("account: limiter count %q: %w", key, err)
	}
	return n, nil
}

// incr adds one to key; the first increment of a window sets the TTL.
func (l *limiter) incr(ctx context.Context, key string) (int64, error) {
	n, err := l.c.Incr(ctx, key)
	if err != nil {
		return 0, fmt.Errorf("account: count sign-in attempt: %w", err)
	}
	if n == 1 {
		if err := l.c.Set(ctx, key, []byte("1"), 2*l.limits.Window); err != nil {
			return 0, fmt.Errorf("account: count sign-in attempt: %w", err)
		}
	}
	return n, nil
}

// Attempt asks to check one password or code for email from addr. It
// counts the attempt against the account before the check, so a burst of
// parallel attempts cannot slip past the limit; Succeeded takes it back.
// false means the account or the address has used up its failures in this
// window and nothing may be checked.
func (l *limiter) Attempt(ctx context.Context, email, addr string) (bool, error) {
	w := l.window()
	n, err := l.count(ctx, addressKey(addr, w))
	if err != nil {
		return false, fmt.Errorf("account: read sign-in limit: %w", err)
	}
	if n >= l.limits.PerAddress {
		return false, nil
	}
	m, err := l.incr(ctx, accountKey(email, w))
	if err != nil {
		return false, err
	}
	return m <= int64(l.limits.PerAccount), nil
}

// Fail counts a failed attempt against the address (Attempt already counted
// it against the account).
func (l *limiter) Fail(ctx context.Context, addr string) error {
	_, err := l.incr(ctx, addressKey(addr, l.window()))
	return err
}

// Succeeded forgets the account's attempts after a complete sign-in (or a
// password reset). The address keeps its failures: one known password must not reset the
// limit of an address that tries many accounts.
func (l *limiter) Succeeded(ctx context.Context, email string) error {
	if err := l.c.Delete(ctx, accountKey(email, l.window())); err != nil {
		return fmt.Errorf("account: reset sign-in limit: %w", err)
	}
	return nil
}
