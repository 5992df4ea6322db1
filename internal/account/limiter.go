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

// Limits bound sign-in attempts, after OWASP's advice on brute force: slow
// down one account tried from one address, and limit what one address may
// try over all accounts. An account is never locked for everyone: behind a
// shared address (an ingress without trusted proxies, an office) that would
// let anyone lock out anyone by typing a wrong password five times.
type Limits struct {
	// Window is how long counts last.
	Window time.Duration
	// PerPair is how many attempts (password or code) one account may have
	// from one address straight away; each further attempt from that
	// address waits: FirstDelay, doubling with every attempt, at most
	// Window. Another address is not slowed down.
	PerPair int
	// PerAddress is how many attempts one address (IPv6: its /64) may have
	// per Window over all accounts, not counting those of complete
	// sign-ins (and right passwords), so an office behind one address is
	// not stopped by its own staff signing in.
	PerAddress int
	// FirstDelay is the first wait after PerPair attempts (default 30 s).
	FirstDelay time.Duration
	// ResetMails is how many password-reset mails one e-mail address may
	// get per Window (default PerPair).
	ResetMails int
}

// DefaultLimits: 5 attempts per account and address, then 30 s, 1 min, 2 min
// … up to 15 minutes between attempts; 20 attempts per address per 15
// minutes; 5 reset mails per address per 15 minutes.
var DefaultLimits = Limits{Window: 15 * time.Minute, PerPair: 5, PerAddress: 20, FirstDelay: 30 * time.Second, ResetMails: 5}

func (l Limits) withDefaults() Limits {
	if l.FirstDelay <= 0 {
		l.FirstDelay = DefaultLimits.FirstDelay
	}
	if l.FirstDelay > l.Window {
		l.FirstDelay = l.Window
	}
	if l.ResetMails <= 0 {
		l.ResetMails = l.PerPair
	}
	return l
}

// limiter counts attempts in the shared cache (Redis in production, so
// every replica sees the same counts). Every count is one atomic
// increment that also starts the count's lifetime (Cache.IncrExpire), so no
// attempt is lost however many arrive at once, on one replica or several.
// Attempts are counted before the password or code is checked: a burst of
// parallel guesses cannot slip past a limit.
//
// Count keys hold the window number and the gate holds a time, both read
// from the injectable clock, so limits end when the clock says; cache TTLs
// only clean up. Once an account has used its free attempts from an
// address, the gate says when the next attempt may come; of the attempts
// that find it open, the one that claims it first (an atomic increment on
// a key named after the gate's time) passes and moves the gate on.
type limiter struct {
	c      cache.Cache
	clock  clock.Clock
	limits Limits
}

const limiterPrefix = "login:"

func (l *limiter) window() int64 { return l.clock.Now().UnixNano() / int64(l.limits.Window) }

// hashed hides who tried to sign in: cache keys show up in Redis tooling.
func hashed(parts ...string) string {
	h := sha256.New()
	h.Write([]byte("loket-login"))
	for _, p := range parts {
		h.Write([]byte{0})
		h.Write([]byte(p))
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}

// pairKey names the attempts of one account from one address. The hash is
// a Redis Cluster hash tag ({…}): the pair's counts and gate, deleted
// together, live in one slot.
func pairKey(email, addr string) string {
	return limiterPrefix + "pair:{" + hashed(NormalizeEmail(email), clientNet(addr)) + "}"
}

func windowed(key string, window int64) string { return key + ":" + strconv.FormatInt(window, 10) }

// resetKey counts reset mails per e-mail address, so nobody can flood a mailbox.
func resetKey(email string, window int64) string {
	return limiterPrefix + "reset:" + hashed(NormalizeEmail(email)) + ":" + strconv.FormatInt(window, 10)
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

func (l *limiter) count(ctx context.Context, key string) (int64, error) {
	v, found, err := l.c.Get(ctx, key)
	if err != nil || !found {
		return 0, err
	}
	n, err := strconv.ParseInt(string(v), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("account: limiter count %q: %w", key, err)
	}
	return n, nil
}

func (l *limiter) incr(ctx context.Context, key string, ttl time.Duration) (int64, error) {
	n, err := l.c.IncrExpire(ctx, key, ttl)
	if err != nil {
		return 0, fmt.Errorf("account: count sign-in attempt: %w", err)
	}
	return n, nil
}

// delay is the wait before the nth attempt of a pair (n > PerPair).
func (l *limiter) delay(n int64) time.Duration {
	d := l.limits.FirstDelay
	for i := int64(l.limits.PerPair); i < n-1 && d < l.limits.Window; i++ {
		d *= 2
	}
	return min(d, l.limits.Window)
}

// Attempt asks to check one password or code for email from addr, and
// counts it. false means the address has used up its attempts in this
// window, or this account from this address must wait: nothing may be
// checked.
func (l *limiter) Attempt(ctx context.Context, email, addr string) (bool, error) {
	w := l.window()
	a, err := l.incr(ctx, addressKey(addr, w), 2*l.limits.Window)
	if err != nil {
		return false, err
	}
	good, err := l.count(ctx, addressKey(addr, w)+":ok")
	if err != nil {
		return false, fmt.Errorf("account: read sign-in limit: %w", err)
	}
	if a-good > int64(l.limits.PerAddress) {
		return false, nil
	}
	key := pairKey(email, addr)
	n, err := l.incr(ctx, windowed(key, w), 2*l.limits.Window)
	if err != nil || n < int64(l.limits.PerPair) {
		return err == nil, err
	}
	// The last free attempt shuts the gate behind it; after that one
	// attempt passes each time the gate opens, and the wait doubles.
	now := l.clock.Now()
	gate := key + ":gate"
	if n > int64(l.limits.PerPair) {
		openAt, err := l.count(ctx, gate)
		if err != nil {
			return false, fmt.Errorf("account: read sign-in limit: %w", err)
		}
		if now.UnixNano() < openAt {
			return false, nil
		}
		claim, err := l.incr(ctx, gate+":"+strconv.FormatInt(openAt, 10), 2*l.limits.Window)
		if err != nil || claim != 1 {
			return false, err
		}
	}
	next := now.Add(l.delay(n + 1)).UnixNano()
	if err := l.c.Set(ctx, gate, []byte(strconv.FormatInt(next, 10)), 2*l.limits.Window); err != nil {
		return false, fmt.Errorf("account: count sign-in attempt: %w", err)
	}
	return true, nil
}

// RightPassword gives the address back the attempt of a right password
// (the code step counts again), so staff signing in behind one address do
// not use up its limit. The pair keeps its count: a right password must not
// buy fresh guesses at the code.
func (l *limiter) RightPassword(ctx context.Context, addr string) error {
	_, err := l.incr(ctx, addressKey(addr, l.window())+":ok", 2*l.limits.Window)
	return err
}

// Succeeded forgets the attempts of email from addr after a complete
// sign-in, and gives the address its attempt back. The account's attempts
// from other addresses stay: someone who knows the password elsewhere must
// not reset an attacker's slowdown.
func (l *limiter) Succeeded(ctx context.Context, email, addr string) error {
	key := pairKey(email, addr)
	if err := l.c.Delete(ctx, windowed(key, l.window()), key+":gate"); err != nil {
		return fmt.Errorf("account: reset sign-in limit: %w", err)
	}
	return l.RightPassword(ctx, addr)
}
