package account

import (
	"net/url"
	"strings"
	"testing"
	"time"
)

// RFC 6238 appendix B, SHA-1 secret "12345678901234567890", last 6 digits.
const rfcSecret = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"

func TestTOTPCodesFollowRFC6238(t *testing.T) {
	for unix, want := range map[int64]string{59: "287082", 1111111109: "081804", 1234567890: "005924", 2000000000: "279037"} {
		got, err := TOTPCode(rfcSecret, time.Unix(unix, 0))
		if err != nil || got != want {
			t.Errorf("code at %d = %q, %v; want %q", unix, got, err, want)
		}
	}
}

func TestMatchTOTP(t *testing.T) {
	now := time.Unix(1111111109, 0)
	step := totpStep(now)
	for d, wantStep := range map[time.Duration]int64{0: step, -30 * time.Second: step - 1, 30 * time.Second: step + 1} {
		code, _ := TOTPCode(rfcSecret, now.Add(d))
		got, ok := matchTOTP(rfcSecret, code, now)
		if !ok || got != wantStep {
			t.Errorf("code of now%+v: step %d, %v; want %d", d, got, ok, wantStep)
		}
	}
	// Spaces typed in the middle are fine.
	code, _ := TOTPCode(rfcSecret, now)
	if _, ok := matchTOTP(rfcSecret, code[:3]+" "+code[3:], now); !ok {
		t.Error("a code with a space must match")
	}
	for _, d := range []time.Duration{-61 * time.Second, 61 * time.Second} {
		code, _ := TOTPCode(rfcSecret, now.Add(d))
		if _, ok := matchTOTP(rfcSecret, code, now); ok {
			t.Errorf("a code %s away must not match", d)
		}
	}
	for _, bad := range []string{"", "12345", "1234567", "abcdef"} {
		if _, ok := matchTOTP(rfcSecret, bad, now); ok {
			t.Errorf("%q must not match", bad)
		}
	}
}

func TestTOTPKey(t *testing.T) {
	k, err := NewTOTPKey("medewerker@loket.example")
	if err != nil {
		t.Fatal(err)
	}
	if len(k.Secret) != 32 { // 160 bits in base32
		t.Errorf("secret %q: want 32 base32 characters", k.Secret)
	}
	u, err := url.Parse(k.URL)
	if err != nil || u.Scheme != "otpauth" || u.Host != "totp" || u.Query().Get("secret") != k.Secret || u.Query().Get("issuer") != "Loket" {
		t.Errorf("otpauth URL %q", k.URL)
	}
	again, err := TOTPKeyFor("medewerker@loket.example", k.Secret)
	if err != nil || again != k {
		t.Errorf("TOTPKeyFor = %+v, %v; want %+v", again, err, k)
	}
	if g := k.GroupedSecret(); strings.ReplaceAll(g, " ", "") != k.Secret || len(strings.Fields(g)) != 8 {
		t.Errorf("grouped secret %q", g)
	}
	if _, err := TOTPKeyFor("x@loket.example", "not base32!"); err == nil {
		t.Error("a secret that is not base32 must be refused")
	}
}
