package account

import (
	"crypto/subtle"
	"encoding/base32"
	"fmt"
	"strings"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/hotp"
	"github.com/pquerna/otp/totp"
)

// TOTP settings: the defaults every code app understands (RFC 6238, SHA-1,
// 6 digits, 30 s). One step either side is accepted for clock drift.
const (
	totpPeriod = 30
	totpSkew   = 1
	totpIssuer = "Loket"
)

// TOTPKey is a new code app secret and the otpauth:// URL a code app reads.
type TOTPKey struct {
	Secret string
	URL    string
}

// GroupedSecret shows the secret in groups of four, easier to type over.
func (k TOTPKey) GroupedSecret() string {
	var b strings.Builder
	for i, r := range k.Secret {
		if i > 0 && i%4 == 0 {
			b.WriteByte(' ')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// NewTOTPKey makes a fresh 160-bit secret for account (the e-mail address).
func NewTOTPKey(account string) (TOTPKey, error) {
	k, err := totp.Generate(totp.GenerateOpts{Issuer: totpIssuer, AccountName: account, Period: totpPeriod})
	if err != nil {
		return TOTPKey{}, fmt.Errorf("account: new TOTP secret: %w", err)
	}
	return TOTPKey{Secret: k.Secret(), URL: k.URL()}, nil
}

// TOTPKeyFor rebuilds the key (and its URL) of a known base32 secret.
func TOTPKeyFor(account, secret string) (TOTPKey, error) {
	raw, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(strings.ToUpper(secret))
	if err != nil {
		return TOTPKey{}, fmt.Errorf("account: TOTP secret is not base32: %w", err)
	}
	k, err := totp.Generate(totp.GenerateOpts{Issuer: totpIssuer, AccountName: account, Period: totpPeriod, Secret: raw})
	if err != nil {
		return TOTPKey{}, fmt.Errorf("account: TOTP key: %w", err)
	}
	return TOTPKey{Secret: k.Secret(), URL: k.URL()}, nil
}

// totpStep is the time step of t.
func totpStep(t time.Time) int64 { return t.Unix() / totpPeriod }

// matchTOTP returns the time step whose code is code (now's step or one
// either side), or false. The caller records the step so the code cannot be
// used twice.
func matchTOTP(secret, code string, now time.Time) (int64, bool) {
	code = strings.Join(strings.Fields(code), "")
	if len(code) != 6 {
		return 0, false
	}
	step := totpStep(now)
	// Check every candidate, so timing does not tell which one matched.
	var found int64
	ok := false
	for _, s := range []int64{step - totpSkew, step, step + totpSkew} {
		want, err := hotp.GenerateCodeCustom(secret, uint64(s), hotp.ValidateOpts{Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
		if err != nil {
			return 0, false
		}
		if subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1 && !ok {
			found, ok = s, true
		}
	}
	return found, ok
}

// TOTPCode is the code of secret at t (tests and tools use it).
func TOTPCode(secret string, t time.Time) (string, error) {
	return totp.GenerateCodeCustom(secret, t, totp.ValidateOpts{Period: totpPeriod, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
}
