// Package account owns user accounts and signing in: users with argon2id
// passwords and optional TOTP codes, sign-in with a rate limit, sessions in
// the shared cache, CSRF protection of every form, and password reset by
// e-mail. Users are platform data: one login works for every desk; what a
// user may do where is decided by authorisation (package authz), not here.
package account

import (
	"context"
	"errors"
	"net/mail"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/uptrace/bun"

	"github.com/loket-kinderopvang/loket/internal/platform/ids"
	"github.com/loket-kinderopvang/loket/internal/platform/sealed"
)

type userKind struct{}

// UserID identifies a user.
type UserID = ids.ID[userKind]

// ParseUserID reads a user id.
func ParseUserID(s string) (UserID, error) { return ids.Parse[userKind](s) }

// User is an account.
type User struct {
	bun.BaseModel `bun:"table:users"`

	ID UserID `bun:"id,pk,type:uuid"`
	// Email is trimmed and lower-cased (NormalizeEmail).
	Email        string `bun:"email,notnull"`
	DisplayName  string `bun:"display_name,notnull"`
	PasswordHash string `bun:"password_hash,notnull"`
	// TOTPSecret is the base32 secret of the user's code app; "" when none.
	// It is stored in clear: encrypting it only helps with a key kept
	// outside the database, which Loket does not have yet.
	TOTPSecret   sealed.Text `bun:"totp_secret,notnull"` // a second factor: sealed at rest
	TOTPRequired bool        `bun:"totp_required,notnull"`
	// SessionGeneration is carried by every session; bumping it ends them all.
	SessionGeneration int64     `bun:"session_generation,notnull"`
	DisabledAt        time.Time `bun:"disabled_at,nullzero"`
	CreatedAt         time.Time `bun:"created_at,notnull"`
	UpdatedAt         time.Time `bun:"updated_at,notnull"`
}

// Disabled reports whether the user may no longer sign in.
func (u *User) Disabled() bool { return !u.DisabledAt.IsZero() }

// HasTOTP reports whether the user has set up a code app.
func (u *User) HasTOTP() bool { return u.TOTPSecret != "" }

// Errors of the store and service.
var (
	ErrNotFound     = errors.New("account: no such user")
	ErrEmailTaken   = errors.New("account: e-mail address already in use")
	ErrInvalidToken = errors.New("account: reset link unknown, used or expired")
)

// NormalizeEmail trims and lower-cases an address: e-mail addresses are
// compared without case (the few mail systems with case-sensitive local parts
// are not worth two accounts that differ only in case).
func NormalizeEmail(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

// Password rules.
const (
	MinPasswordLen = 12
	// MaxPasswordLen bounds the work one request can ask for.
	MaxPasswordLen = 512
)

// FieldError is a wrong form field; Key is a message id in the locales.
type FieldError struct {
	Field string
	Key   string
}

// FieldErrors are every wrong field of a form.
type FieldErrors []FieldError

func (fe FieldErrors) Error() string {
	parts := make([]string, len(fe))
	for i, e := range fe {
		parts[i] = e.Field + ": " + e.Key
	}
	return "account: invalid input: " + strings.Join(parts, ", ")
}

// For returns the message id for field, or "".
func (fe FieldErrors) For(field string) string {
	for _, e := range fe {
		if e.Field == field {
			return e.Key
		}
	}
	return ""
}

// CheckNewPassword applies the password rules to a new password and its
// confirmation (confirm is checked only when the password is acceptable).
func CheckNewPassword(password, confirm string) FieldErrors {
	n := utf8.RuneCountInString(password)
	switch {
	case n < MinPasswordLen:
		return FieldErrors{{"password", "account.error.password_short"}}
	case n > MaxPasswordLen:
		return FieldErrors{{"password", "account.error.password_long"}}
	case password != confirm:
		return FieldErrors{{"password_confirm", "account.error.password_mismatch"}}
	}
	return nil
}

// NewUser is what CreateUser needs.
type NewUser struct {
	Email       string
	DisplayName string
	// Password may be empty: the user then sets one through the reset link.
	Password     string
	TOTPRequired bool
}

func (n NewUser) check() FieldErrors {
	var fe FieldErrors
	email := NormalizeEmail(n.Email)
	if a, err := mail.ParseAddress(email); err != nil || a.Address != email || a.Name != "" {
		fe = append(fe, FieldError{"email", "account.error.email"})
	}
	if strings.TrimSpace(n.DisplayName) == "" {
		fe = append(fe, FieldError{"display_name", "account.error.display_name"})
	}
	if n.Password != "" {
		fe = append(fe, CheckNewPassword(n.Password, n.Password)...)
	}
	return fe
}

type ctxKey struct{}

// WithUser returns a context acting for u (the session middleware sets it).
func WithUser(ctx context.Context, u *User) context.Context {
	return context.WithValue(ctx, ctxKey{}, u)
}

// UserFrom returns the signed-in user of ctx.
func UserFrom(ctx context.Context) (*User, bool) {
	u, ok := ctx.Value(ctxKey{}).(*User)
	return u, ok && u != nil
}
