package account

import (
	"context"
	"encoding/base64"
	"errors"
	"regexp"
	"strings"
	"testing"

	"golang.org/x/crypto/argon2"
)

// cheapParams keep tests fast; DefaultParams are checked once below.
var cheapParams = Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

// TestDefaultParamsHash proves a production hash carries, and was really
// computed with, argon2id m=64 MiB, t=3, p=2, a 16-byte salt and a 32-byte key.
func TestDefaultParamsHash(t *testing.T) {
	h, err := NewHasher(DefaultParams)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	enc, err := h.Hash(ctx, "paardenbloem-koffie-fiets")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`^\$argon2id\$v=19\$m=65536,t=3,p=2\$([A-Za-z0-9+/]+)\$([A-Za-z0-9+/]+)$`).FindStringSubmatch(enc)
	if m == nil {
		t.Fatalf("hash %q is not a PHC argon2id string with the production parameters", enc)
	}
	salt, err1 := base64.RawStdEncoding.DecodeString(m[1])
	key, err2 := base64.RawStdEncoding.DecodeString(m[2])
	if err1 != nil || err2 != nil || len(salt) != 16 || len(key) != 32 {
		t.Fatalf("salt %d bytes (%v), key %d bytes (%v); want 16 and 32", len(salt), err1, len(key), err2)
	}
	if want := argon2.IDKey([]byte("paardenbloem-koffie-fiets"), salt, 3, 64*1024, 2, 32); string(want) != string(key) {
		t.Fatal("the stored key is not argon2id with the stated parameters")
	}
	if h.NeedsRehash(enc) {
		t.Error("a hash with the current parameters needs no rehash")
	}
}

func TestHasher(t *testing.T) {
	ctx := context.Background()
	h, err := NewHasher(cheapParams)
	if err != nil {
		t.Fatal(err)
	}
	a, _ := h.Hash(ctx, "twaalf-tekens!")
	b, _ := h.Hash(ctx, "twaalf-tekens!")
	if a == b {
		t.Error("two hashes of one password must differ (random salt)")
	}
	if ok, err := h.Verify(ctx, "twaalf-tekens!", a); !ok || err != nil {
		t.Fatalf("right password: %v %v", ok, err)
	}
	if ok, err := h.Verify(ctx, "twaalf-tekens?", a); ok || err != nil {
		t.Fatalf("wrong password: %v %v", ok, err)
	}
	// A hasher with other parameters still verifies old hashes (the
	// parameters come from the hash) and asks to rehash them.
	other, _ := NewHasher(Params{Memory: 128, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 32})
	if ok, err := other.Verify(ctx, "twaalf-tekens!", a); !ok || err != nil {
		t.Fatalf("verify with stored parameters: %v %v", ok, err)
	}
	if !other.NeedsRehash(a) || h.NeedsRehash(a) {
		t.Error("NeedsRehash must compare the stored parameters with the hasher's")
	}
	// A changed key byte fails.
	parts := strings.Split(a, "$")
	key, _ := base64.RawStdEncoding.DecodeString(parts[5])
	key[0] ^= 1
	parts[5] = base64.RawStdEncoding.EncodeToString(key)
	if ok, _ := h.Verify(ctx, "twaalf-tekens!", strings.Join(parts, "$")); ok {
		t.Error("a tampered hash must not verify")
	}
	for _, bad := range []string{
		"", "geheim", "$argon2i$v=19$m=64,t=1,p=1$" + parts[4] + "$" + parts[5],
		"$argon2id$v=16$m=64,t=1,p=1$" + parts[4] + "$" + parts[5],
		"$argon2id$v=19$m=64,t=0,p=1$" + parts[4] + "$" + parts[5],
		"$argon2id$v=19$m=4,t=1,p=1$" + parts[4] + "$" + parts[5],
		"$argon2id$v=19$m=64,t=1,p=300$" + parts[4] + "$" + parts[5],
		"$argon2id$v=19$m=64,t=1,x=1$" + parts[4] + "$" + parts[5],
		"$argon2id$v=19$m=64,t=1,p=1$!!$" + parts[5],
		"$argon2id$v=19$m=64,t=1,p=1$" + parts[4] + "$AAAA",
	} {
		if ok, err := h.Verify(ctx, "twaalf-tekens!", bad); ok || !errors.Is(err, ErrMalformedHash) {
			t.Errorf("Verify(%q) = %v, %v; want ErrMalformedHash", bad, ok, err)
		}
	}
	if _, err := NewHasher(Params{Memory: 64, Time: 0, Threads: 1, SaltLen: 16, KeyLen: 32}); err == nil {
		t.Error("zero passes must be refused")
	}
	if _, err := NewHasher(Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 4, KeyLen: 32}); err == nil {
		t.Error("a 4-byte salt must be refused")
	}
}

func TestCheckNewPassword(t *testing.T) {
	for _, c := range []struct {
		pw, confirm, field, key string
	}{
		{"kort", "kort", "password", "account.error.password_short"},
		{"elf tekens!", "elf tekens!", "password", "account.error.password_short"},
		{"ééééééééééé", "ééééééééééé", "password", "account.error.password_short"}, // 11 runes, 22 bytes
		{strings.Repeat("x", MaxPasswordLen+1), "", "password", "account.error.password_long"},
		{"twaalf tekens", "twaalf tekenz", "password_confirm", "account.error.password_mismatch"},
		{"twaalf tekens", "twaalf tekens", "", ""},
	} {
		fe := CheckNewPassword(c.pw, c.confirm)
		if c.field == "" {
			if fe != nil {
				t.Errorf("%q: unexpected %v", c.pw, fe)
			}
			continue
		}
		if fe.For(c.field) != c.key {
			t.Errorf("%q/%q: %v; want %s on %s", c.pw, c.confirm, fe, c.key, c.field)
		}
	}
}

func TestSafeNext(t *testing.T) {
	for in, want := range map[string]string{
		"":                     PathLanding,
		"/leuven/aanvragen":    "/leuven/aanvragen",
		"/x?y=1":               "/x?y=1",
		"//evil.example/x":     PathLanding,
		"https://evil.example": PathLanding,
		"/\\evil.example":      PathLanding,
		"/aanmelden":           PathLanding,
		"/a\r\nSet-Cookie: x":  PathLanding,
	} {
		if got := safeNext(in); got != want {
			t.Errorf("safeNext(%q) = %q, want %q", in, got, want)
		}
	}
}

// BenchmarkDefaultParams is the cost of one production password check.
func BenchmarkDefaultParams(b *testing.B) {
	h, _ := NewHasher(DefaultParams)
	enc, _ := h.Hash(context.Background(), "paardenbloem-koffie-fiets")
	b.ResetTimer()
	for b.Loop() {
		_, _ = h.Verify(context.Background(), "paardenbloem-koffie-fiets", enc)
	}
}
