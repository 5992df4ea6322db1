package account_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/loket-kinderopvang/loket/internal/account"
	"github.com/loket-kinderopvang/loket/internal/platform/clock"
	"github.com/loket-kinderopvang/loket/internal/platform/db"
	"github.com/loket-kinderopvang/loket/internal/platform/dbtest"
	"github.com/loket-kinderopvang/loket/internal/platform/sealed"
)

func TestStore(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		clk := clock.NewFixed(time.Date(2027, 3, 1, 9, 0, 0, 0, time.UTC))
		s, err := account.NewStore(d, clk, sealed.MustRandom("test-"))
		if err != nil {
			t.Fatal(err)
		}

		u := &account.User{Email: " An.Peeters@Gezin.Example ", DisplayName: "An Peeters", PasswordHash: "h1"}
		if err := s.Create(ctx, u); err != nil {
			t.Fatal(err)
		}
		if u.Email != "an.peeters@gezin.example" || u.SessionGeneration != 1 || u.ID.IsZero() {
			t.Fatalf("created %+v", u)
		}
		if err := s.Create(ctx, &account.User{Email: "AN.PEETERS@gezin.example", DisplayName: "Dubbel"}); !errors.Is(err, account.ErrEmailTaken) {
			t.Fatalf("same address in other case: %v, want ErrEmailTaken", err)
		}
		got, err := s.ByEmail(ctx, "an.PEETERS@gezin.example")
		if err != nil || got.ID != u.ID || got.DisplayName != "An Peeters" || got.PasswordHash != "h1" || got.Disabled() || got.HasTOTP() {
			t.Fatalf("by e-mail: %+v %v", got, err)
		}
		if !got.CreatedAt.Equal(clk.Now()) {
			t.Errorf("created_at %s", got.CreatedAt)
		}
		if _, err := s.ByEmail(ctx, "niemand@gezin.example"); !errors.Is(err, account.ErrNotFound) {
			t.Errorf("unknown address: %v", err)
		}
		if _, err := s.ByID(ctx, account.UserID{}); !errors.Is(err, account.ErrNotFound) {
			t.Errorf("unknown id: %v", err)
		}

		// Settings and the session generation.
		clk.Advance(time.Minute)
		must(t, s.SetTOTPRequired(ctx, u.ID, true))
		must(t, s.SetTOTPSecret(ctx, u.ID, "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"))
		must(t, s.BumpGeneration(ctx, u.ID))
		must(t, s.SetPasswordHash(ctx, u.ID, "h2", false))
		got, _ = s.ByID(ctx, u.ID)
		if !got.TOTPRequired || !got.HasTOTP() || got.SessionGeneration != 2 || got.PasswordHash != "h2" || !got.UpdatedAt.Equal(clk.Now()) {
			t.Fatalf("after updates: %+v", got)
		}
		must(t, s.SetPasswordHash(ctx, u.ID, "h3", true))
		must(t, s.SetDisabled(ctx, u.ID, true))
		got, _ = s.ByID(ctx, u.ID)
		if got.SessionGeneration != 4 || !got.Disabled() {
			t.Fatalf("a password change with sign-out and disabling each end the sessions: %+v", got)
		}
		must(t, s.SetDisabled(ctx, u.ID, false))
		if got, _ = s.ByID(ctx, u.ID); got.Disabled() {
			t.Fatal("re-enabled user still disabled")
		}
		if err := s.BumpGeneration(ctx, account.UserID{}); !errors.Is(err, account.ErrNotFound) {
			t.Errorf("bump of an unknown user: %v", err)
		}

		// Reset tokens: single use, expiry, and using one closes the others.
		must(t, s.CreateResetToken(ctx, u.ID, "hash-a", time.Hour))
		must(t, s.CreateResetToken(ctx, u.ID, "hash-b", time.Hour))
		if id, err := s.CheckResetToken(ctx, "hash-a"); err != nil || id != u.ID {
			t.Fatalf("check token: %v %v", id, err)
		}
		if id, err := s.ResetPassword(ctx, "hash-a", "h4"); err != nil || id != u.ID {
			t.Fatalf("reset: %v %v", id, err)
		}
		got, _ = s.ByID(ctx, u.ID)
		if got.PasswordHash != "h4" || got.SessionGeneration != 5 {
			t.Fatalf("after reset: %+v", got)
		}
		for _, h := range []string{"hash-a", "hash-b", "hash-unknown"} {
			if _, err := s.ResetPassword(ctx, h, "h5"); !errors.Is(err, account.ErrInvalidToken) {
				t.Errorf("reset with %s: %v, want ErrInvalidToken", h, err)
			}
			if _, err := s.CheckResetToken(ctx, h); !errors.Is(err, account.ErrInvalidToken) {
				t.Errorf("check %s: %v, want ErrInvalidToken", h, err)
			}
		}
		must(t, s.CreateResetToken(ctx, u.ID, "hash-c", time.Hour))
		clk.Advance(time.Hour)
		if _, err := s.ResetPassword(ctx, "hash-c", "h6"); !errors.Is(err, account.ErrInvalidToken) {
			t.Errorf("expired token: %v", err)
		}
		if got, _ = s.ByID(ctx, u.ID); got.PasswordHash != "h4" {
			t.Error("a refused reset changed the password")
		}

		// Used TOTP steps: once each, never an older one after a newer.
		for _, c := range []struct {
			step int64
			want bool
		}{{100, true}, {100, false}, {99, false}, {101, true}, {130, true}, {101, false}} {
			ok, err := s.UseTOTPStep(ctx, u.ID, c.step)
			if err != nil || ok != c.want {
				t.Errorf("UseTOTPStep(%d) = %v, %v; want %v", c.step, ok, err, c.want)
			}
		}
		var kept int
		if err := d.NewSelect().Table("totp_used_codes").ColumnExpr("count(*)").Scan(ctx, &kept); err != nil || kept != 1 {
			t.Errorf("old steps must be forgotten: %d rows kept (%v)", kept, err)
		}
	})
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// TestCodeAppSecretSealedAtRest: a user's second factor is stored sealed; a
// secret stored plain (enrolled before sealing) still opens, and Reseal
// seals it with the current key without changing it.
func TestCodeAppSecretSealedAtRest(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		clk := clock.NewFixed(time.Date(2027, 3, 1, 9, 0, 0, 0, time.UTC))
		kr := sealed.MustRandom("test-")
		s, err := account.NewStore(d, clk, kr)
		if err != nil {
			t.Fatal(err)
		}
		u := &account.User{Email: "codes@loket.example", DisplayName: "Codes Testmans", PasswordHash: "h"}
		if err := s.Create(ctx, u); err != nil {
			t.Fatal(err)
		}
		const secret = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
		raw := func() string {
			var v string
			if err := d.NewSelect().Table("users").Column("totp_secret").Where("id = ?", u.ID).Scan(ctx, &v); err != nil {
				t.Fatal(err)
			}
			return v
		}
		if err := s.SetTOTPSecret(ctx, u.ID, secret); err != nil {
			t.Fatal(err)
		}
		if v := raw(); !strings.HasPrefix(v, kr.CurrentPrefix()) || strings.Contains(v, secret) {
			t.Fatalf("stored as %q, want sealed", v)
		}
		if _, err := d.NewUpdate().Table("users").Set("totp_secret = ?", secret).Where("id = ?", u.ID).Exec(ctx); err != nil {
			t.Fatal(err)
		}
		if got, err := s.ByID(ctx, u.ID); err != nil || got.TOTPSecret.String() != secret {
			t.Fatalf("a plain secret reads %q, %v", got.TOTPSecret, err)
		}
		if n, err := s.Reseal(ctx, kr, 10); err != nil || n != 1 {
			t.Fatalf("reseal: %d, %v; want 1", n, err)
		}
		if v := raw(); !strings.HasPrefix(v, kr.CurrentPrefix()) {
			t.Fatalf("after reseal stored as %q", v)
		}
		if got, err := s.ByID(ctx, u.ID); err != nil || got.TOTPSecret.String() != secret || !got.HasTOTP() {
			t.Fatalf("after reseal reads %q, %v", got.TOTPSecret, err)
		}
		if err := s.SetTOTPSecret(ctx, u.ID, ""); err != nil {
			t.Fatal(err)
		}
		if v := raw(); v != "" {
			t.Errorf("a removed secret is stored as %q, want empty", v)
		}
	})
}
