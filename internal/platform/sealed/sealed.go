// Package sealed encrypts sensitive free text (desk notes, care-need
// descriptions) before it reaches the database, so a dump alone does not
// reveal it. AES-256-GCM from the standard library; every stored value names
// the key that sealed it ("sealed:v1:<key id>:<base64 nonce+ciphertext>"), so
// keys can rotate: one current key seals, older keys still open.
//
// Model fields of type Text are sealed and opened by the database driver
// itself (driver.Valuer, sql.Scanner): the domain store is the one place
// plain text exists, and no handler or query can forget the step. Those
// interfaces get no context, so the keyring is one per process, installed by
// the composition root with Use.
package sealed

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"database/sql/driver"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"
)

// prefix marks a sealed value; a value without it is plain text written
// before encryption existed, which Open returns as is until Reseal runs.
const prefix = "sealed:v1:"

var keyIDPattern = regexp.MustCompile(`^[a-z0-9-]{1,32}$`)

// KeySize is the length of a data key: AES-256.
const KeySize = 32

// ErrNoKeys means a value had to be sealed or opened while no data key is configured.
var ErrNoKeys = errors.New("sealed: no data key configured (set LOKET_DATA_KEYS)")

// ErrUnknownKey means a value was sealed with a key that is not configured.
var ErrUnknownKey = errors.New("sealed: value was sealed with a key that is not configured")

// ErrWrongKey means the named key does not open the value: another key with
// the same id, or a damaged value.
var ErrWrongKey = errors.New("sealed: the configured key does not open this value")

// Keyring holds the data keys: Current seals, every key opens.
type Keyring struct {
	current string
	aeads   map[string]cipher.AEAD
	raw     map[string][]byte
}

// Key is one data key with its id (the id is stored with every value).
type Key struct {
	ID  string
	Key []byte
}

// NewKeyring returns a keyring whose first key is the current one.
func NewKeyring(keys ...Key) (*Keyring, error) {
	if len(keys) == 0 {
		return nil, ErrNoKeys
	}
	kr := &Keyring{current: keys[0].ID, aeads: map[string]cipher.AEAD{}, raw: map[string][]byte{}}
	for _, k := range keys {
		if err := kr.add(k); err != nil {
			return nil, err
		}
	}
	return kr, nil
}

func (kr *Keyring) add(k Key) error {
	// Lower-case letters, digits and '-' only: a stale value is found with
	// SQL LIKE, where '_' and '%' are wildcards and SQLite ignores case.
	if !keyIDPattern.MatchString(k.ID) {
		return fmt.Errorf("sealed: key id %q must be 1-32 of a-z, 0-9 and '-'", k.ID)
	}
	if len(k.Key) != KeySize {
		return fmt.Errorf("sealed: key %q has %d bytes, want %d", k.ID, len(k.Key), KeySize)
	}
	if old, ok := kr.raw[k.ID]; ok {
		if string(old) != string(k.Key) {
			return fmt.Errorf("sealed: key id %q is given twice with different keys", k.ID)
		}
		return nil
	}
	block, err := aes.NewCipher(k.Key)
	if err != nil {
		return fmt.Errorf("sealed: key %q: %w", k.ID, err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return fmt.Errorf("sealed: key %q: %w", k.ID, err)
	}
	kr.aeads[k.ID], kr.raw[k.ID] = aead, k.Key
	return nil
}

// ParseKeys reads the configured keys: "id:base64key,id:base64key", the
// current key first, older keys after it (kept only to open old values).
func ParseKeys(spec string) (*Keyring, error) {
	var keys []Key
	for _, part := range strings.Split(spec, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		id, b64, ok := strings.Cut(part, ":")
		if !ok {
			return nil, fmt.Errorf("sealed: key %q: want id:base64key", id)
		}
		raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(b64))
		if err != nil {
			return nil, fmt.Errorf("sealed: key %q is not base64: %w", id, err)
		}
		keys = append(keys, Key{ID: strings.TrimSpace(id), Key: raw})
	}
	return NewKeyring(keys...)
}

// NewKey returns a fresh random key in the form ParseKeys reads.
func NewKey(id string) (string, error) {
	b := make([]byte, KeySize)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("sealed: new key: %w", err)
	}
	return id + ":" + base64.StdEncoding.EncodeToString(b), nil
}

// Random returns a keyring of one fresh key whose id is prefix and random
// hex, unique in practice: for the embedded default and for tests, where
// several keyrings meet in one process.
func Random(prefix string) (*Keyring, error) {
	b := make([]byte, 4)
	if _, err := rand.Read(b); err != nil {
		return nil, fmt.Errorf("sealed: new key: %w", err)
	}
	k, err := NewKey(prefix + hex.EncodeToString(b))
	if err != nil {
		return nil, err
	}
	return ParseKeys(k)
}

// MustRandom is Random for tests and examples; it panics on error.
func MustRandom(prefix string) *Keyring {
	kr, err := Random(prefix)
	if err != nil {
		panic(err)
	}
	return kr
}

// Spec is the keyring in the form ParseKeys reads (secret: never log it).
func (kr *Keyring) Spec() string {
	parts := []string{kr.current + ":" + base64.StdEncoding.EncodeToString(kr.raw[kr.current])}
	for id, raw := range kr.raw {
		if id != kr.current {
			parts = append(parts, id+":"+base64.StdEncoding.EncodeToString(raw))
		}
	}
	return strings.Join(parts, ",")
}

// Current is the id of the key that seals.
func (kr *Keyring) Current() string { return kr.current }

// Seal encrypts plain with the current key; "" stays "".
func (kr *Keyring) Seal(plain string) (string, error) {
	if plain == "" {
		return "", nil
	}
	if kr == nil {
		return "", ErrNoKeys
	}
	aead := kr.aeads[kr.current]
	nonce := make([]byte, aead.NonceSize(), aead.NonceSize()+len(plain)+aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		return "", fmt.Errorf("sealed: nonce: %w", err)
	}
	// The key id is authenticated data: a value cannot be relabelled.
	out := aead.Seal(nonce, nonce, []byte(plain), []byte(kr.current))
	return prefix + kr.current + ":" + base64.RawStdEncoding.EncodeToString(out), nil
}

// CurrentPrefix is how every value sealed with the current key starts: a
// store finds stale rows with NOT LIKE CurrentPrefix()+"%".
func (kr *Keyring) CurrentPrefix() string { return prefix + kr.current + ":" }

// KeyID is the id of the key that sealed stored, "" for plain text.
func KeyID(stored string) string {
	rest, ok := strings.CutPrefix(stored, prefix)
	if !ok {
		return ""
	}
	id, _, _ := strings.Cut(rest, ":")
	return id
}

// IsSealed reports whether stored is a sealed value (not legacy plain text).
func IsSealed(stored string) bool { return strings.HasPrefix(stored, prefix) }

// Open decrypts a stored value. Plain text written before encryption existed
// is returned as is (Reseal seals it).
func (kr *Keyring) Open(stored string) (string, error) {
	rest, ok := strings.CutPrefix(stored, prefix)
	if !ok {
		return stored, nil
	}
	if kr == nil {
		return "", ErrNoKeys
	}
	id, body, _ := strings.Cut(rest, ":")
	aead, ok := kr.aeads[id]
	if !ok {
		return "", fmt.Errorf("%w: key %q (configured: %s)", ErrUnknownKey, id, strings.Join(kr.ids(), ", "))
	}
	raw, err := base64.RawStdEncoding.DecodeString(body)
	if err != nil || len(raw) < aead.NonceSize() {
		return "", fmt.Errorf("%w: key %q, damaged value", ErrWrongKey, id)
	}
	plain, err := aead.Open(nil, raw[:aead.NonceSize()], raw[aead.NonceSize():], []byte(id))
	if err != nil {
		return "", fmt.Errorf("%w: key %q", ErrWrongKey, id)
	}
	return string(plain), nil
}

// Stale reports whether stored must be rewritten: plain text, or sealed with
// a key other than the current one.
func (kr *Keyring) Stale(stored string) bool {
	return stored != "" && KeyID(stored) != kr.current
}

// Reseal opens stored with any configured key and seals it with the current one.
func (kr *Keyring) Reseal(stored string) (string, error) {
	plain, err := kr.Open(stored)
	if err != nil {
		return "", err
	}
	return kr.Seal(plain)
}

func (kr *Keyring) ids() []string {
	out := make([]string, 0, len(kr.aeads))
	for id := range kr.aeads {
		out = append(out, id)
	}
	return out
}

var (
	mu      sync.RWMutex
	process *Keyring
)

// Use installs the process keyring that Text seals and opens with. Keys of an
// earlier keyring stay available for opening (a process that starts several
// apps, as the tests do, keeps reading what each sealed); the new keyring's
// current key seals from now on.
func Use(kr *Keyring) error {
	if kr == nil {
		return ErrNoKeys
	}
	mu.Lock()
	defer mu.Unlock()
	if process == nil {
		process = kr
		return nil
	}
	merged := &Keyring{current: kr.current, aeads: map[string]cipher.AEAD{}, raw: map[string][]byte{}}
	for _, k := range []*Keyring{kr, process} {
		for id, raw := range k.raw {
			if err := merged.add(Key{ID: id, Key: raw}); err != nil {
				return err
			}
		}
	}
	process = merged
	return nil
}

func installed() *Keyring {
	mu.RLock()
	defer mu.RUnlock()
	return process
}

// Text is free text stored sealed: a model field of this type is encrypted
// on its way into the database and decrypted on its way out.
type Text string

// Value seals the text with the process keyring's current key.
func (t Text) Value() (driver.Value, error) {
	return installed().Seal(string(t))
}

// Scan opens a stored value.
func (t *Text) Scan(src any) error {
	var s string
	switch v := src.(type) {
	case nil:
	case string:
		s = v
	case []byte:
		s = string(v)
	default:
		return fmt.Errorf("sealed: cannot scan %T into Text", src)
	}
	plain, err := installed().Open(s)
	if err != nil {
		return err
	}
	*t = Text(plain)
	return nil
}

// String is the plain text.
func (t Text) String() string { return string(t) }
