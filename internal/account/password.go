package account

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"golang.org/x/crypto/argon2"
)

// Params are argon2id cost parameters.
type Params struct {
	// Memory in KiB.
	Memory uint32
	// Time is the number of passes.
	Time uint32
	// Threads is the parallelism (lanes).
	Threads uint8
	// SaltLen and KeyLen are in bytes.
	SaltLen uint32
	KeyLen  uint32
}

// DefaultParams are the production costs: RFC 9106's second recommended
// setting (64 MiB, 3 passes) with 2 lanes, about 170 ms on one 2-core server.
// Tests pass cheap parameters instead; stored hashes carry their own
// parameters, so raising these later only makes new and re-hashed passwords
// dearer.
var DefaultParams = Params{Memory: 64 * 1024, Time: 3, Threads: 2, SaltLen: 16, KeyLen: 32}

func (p Params) valid() error {
	if p.Time < 1 || p.Threads < 1 || p.Memory < 8*uint32(p.Threads) || p.SaltLen < 8 || p.KeyLen < 16 {
		return fmt.Errorf("account: argon2id parameters too weak or malformed: %+v", p)
	}
	return nil
}

// ErrMalformedHash means a stored password hash cannot be read.
var ErrMalformedHash = errors.New("account: malformed password hash")

// phc is a decoded argon2id hash.
type phc struct {
	params Params
	salt   []byte
	key    []byte
}

// encode writes the PHC string format:
// $argon2id$v=19$m=65536,t=3,p=2$<salt>$<hash> (unpadded standard base64).
func (h phc) encode() string {
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version,
		h.params.Memory, h.params.Time, h.params.Threads, b64.EncodeToString(h.salt), b64.EncodeToString(h.key))
}

func decodePHC(s string) (phc, error) {
	var h phc
	parts := strings.Split(s, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" || parts[2] != "v="+strconv.Itoa(argon2.Version) {
		return h, ErrMalformedHash
	}
	var m, t, p uint64
	for _, kv := range strings.Split(parts[3], ",") {
		k, v, ok := strings.Cut(kv, "=")
		n, err := strconv.ParseUint(v, 10, 32)
		if !ok || err != nil {
			return h, ErrMalformedHash
		}
		switch k {
		case "m":
			m = n
		case "t":
			t = n
		case "p":
			p = n
		default:
			return h, ErrMalformedHash
		}
	}
	if p > 255 {
		return h, ErrMalformedHash
	}
	b64 := base64.RawStdEncoding
	salt, err1 := b64.DecodeString(parts[4])
	key, err2 := b64.DecodeString(parts[5])
	if err1 != nil || err2 != nil {
		return h, ErrMalformedHash
	}
	h = phc{params: Params{Memory: uint32(m), Time: uint32(t), Threads: uint8(p), SaltLen: uint32(len(salt)), KeyLen: uint32(len(key))}, salt: salt, key: key}
	if h.params.valid() != nil {
		return h, ErrMalformedHash
	}
	return h, nil
}

// Hasher hashes and verifies passwords with argon2id. It bounds how many
// hashes run at once: each takes Params.Memory, and a burst of sign-ins must
// not exhaust the server's memory.
type Hasher struct {
	params Params
	slots  chan struct{}

	dummyMu sync.Mutex
	dummy   string

	// derivations counts argon2id runs; tests use it to prove an unknown
	// address costs the same work as a wrong password.
	derivations atomic.Int64
}

// NewHasher returns a hasher with params; at most max(2, GOMAXPROCS) hashes run
// at once.
func NewHasher(params Params) (*Hasher, error) {
	if err := params.valid(); err != nil {
		return nil, err
	}
	return &Hasher{params: params, slots: make(chan struct{}, max(2, runtime.GOMAXPROCS(0)))}, nil
}

// Params are the parameters new hashes get.
func (h *Hasher) Params() Params { return h.params }

func (h *Hasher) derive(ctx context.Context, password string, p Params, salt []byte) ([]byte, error) {
	select {
	case h.slots <- struct{}{}:
	case <-ctx.Done():
		return nil, fmt.Errorf("account: wait to hash a password: %w", ctx.Err())
	}
	defer func() { <-h.slots }()
	h.derivations.Add(1)
	return argon2.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, p.KeyLen), nil
}

// Hash returns the PHC string of password with a fresh random salt.
func (h *Hasher) Hash(ctx context.Context, password string) (string, error) {
	salt := make([]byte, h.params.SaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("account: salt: %w", err)
	}
	key, err := h.derive(ctx, password, h.params, salt)
	if err != nil {
		return "", err
	}
	return phc{params: h.params, salt: salt, key: key}.encode(), nil
}

// Verify reports whether password matches encoded, using the parameters
// stored in encoded and a constant-time comparison. A malformed hash is an
// error (and no match).
func (h *Hasher) Verify(ctx context.Context, password, encoded string) (bool, error) {
	stored, err := decodePHC(encoded)
	if err != nil {
		return false, err
	}
	key, err := h.derive(ctx, password, stored.params, stored.salt)
	if err != nil {
		return false, err
	}
	return subtle.ConstantTimeCompare(key, stored.key) == 1, nil
}

// NeedsRehash reports whether encoded was made with other parameters than the
// hasher's (then a successful sign-in stores a new hash).
func (h *Hasher) NeedsRehash(encoded string) bool {
	stored, err := decodePHC(encoded)
	if err != nil {
		return true
	}
	p := stored.params
	return p.Memory != h.params.Memory || p.Time != h.params.Time || p.Threads != h.params.Threads ||
		p.SaltLen != h.params.SaltLen || p.KeyLen != h.params.KeyLen
}

// VerifyDummy spends the same work as Verify against a password nobody has,
// so an unknown e-mail address takes as long to refuse as a wrong password.
func (h *Hasher) VerifyDummy(ctx context.Context, password string) error {
	h.dummyMu.Lock()
	if h.dummy == "" {
		d, err := h.Hash(ctx, rand.Text())
		if err != nil {
			h.dummyMu.Unlock()
			return err
		}
		h.dummy = d
	}
	dummy := h.dummy
	h.dummyMu.Unlock()
	_, err := h.Verify(ctx, password, dummy)
	return err
}
