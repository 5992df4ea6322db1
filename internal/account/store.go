package account

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/uptrace/bun"

	"github.com/loket-kinderopvang/loket/internal/platform/clock"
	"github.com/loket-kinderopvang/loket/internal/platform/db"
	"github.com/loket-kinderopvang/loket/internal/platform/ids"
	"github.com/loket-kinderopvang/loket/internal/platform/sealed"
)

// Store reads and writes users, reset tokens and used TOTP steps. Times are
// compared in Go, not in SQL, so both databases behave the same.
type Store struct {
	db    *db.DB
	clock clock.Clock
}

// NewStore returns a store on d. keys seal the users' code app secrets
// (installed as the process keyring, as for the desks' notes).
func NewStore(d *db.DB, c clock.Clock, keys *sealed.Keyring) (*Store, error) {
	if err := sealed.Use(keys); err != nil {
		return nil, fmt.Errorf("account: data keys (code app secrets are stored encrypted): %w", err)
	}
	return &Store{db: d, clock: c}, nil
}

// Create inserts u (its Email normalised, ID and times set). An address in
// use is ErrEmailTaken.
func (s *Store) Create(ctx context.Context, u *User) error {
	now := s.clock.Now()
	if u.ID.IsZero() {
		u.ID = ids.New[userKind]()
	}
	u.Email = NormalizeEmail(u.Email)
	if u.SessionGeneration == 0 {
		u.SessionGeneration = 1
	}
	u.CreatedAt, u.UpdatedAt = now, now
	res, err := s.db.NewInsert().Model(u).On("CONFLICT (email) DO NOTHING").Exec(ctx)
	if err != nil {
		return fmt.Errorf("account: create user: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("account: create user: %w", err)
	} else if n == 0 {
		return ErrEmailTaken
	}
	return nil
}

// ByID returns a user.
func (s *Store) ByID(ctx context.Context, id UserID) (*User, error) {
	return s.one(ctx, "id = ?", id)
}

// ByEmail returns the user with that address (any case).
func (s *Store) ByEmail(ctx context.Context, email string) (*User, error) {
	return s.one(ctx, "email = ?", NormalizeEmail(email))
}

func (s *Store) one(ctx context.Context, where string, arg any) (*User, error) {
	u := new(User)
	err := s.db.NewSelect().Model(u).Where(where, arg).Scan(ctx)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("account: read user: %w", err)
	}
	return u, nil
}

func (s *Store) update(ctx context.Context, idb bun.IDB, id UserID, what string, set string, args ...any) error {
	res, err := idb.NewUpdate().Table("users").Set(set, args...).Set("updated_at = ?", s.clock.Now()).
		Where("id = ?", id).Exec(ctx)
	if err != nil {
		return fmt.Errorf("account: %s: %w", what, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("account: %s: %w", what, err)
	} else if n == 0 {
		return ErrNotFound
	}
	return nil
}

// SetPasswordHash stores a new password hash. With signOut, every session of
// the user ends too.
func (s *Store) SetPasswordHash(ctx context.Context, id UserID, hash string, signOut bool) error {
	if signOut {
		return s.update(ctx, s.db.DB, id, "set password", "password_hash = ?, session_generation = session_generation + 1", hash)
	}
	return s.update(ctx, s.db.DB, id, "set password", "password_hash = ?", hash)
}

// BumpGeneration ends every session of the user ("sign out everywhere").
func (s *Store) BumpGeneration(ctx context.Context, id UserID) error {
	return s.update(ctx, s.db.DB, id, "end sessions", "session_generation = session_generation + 1")
}

// Reseal rewrites every code app secret that is plain (enrolled before
// secrets were sealed) or sealed with a key other than kr's current one, in
// transactions of batch rows. It returns how many it rewrote.
func (s *Store) Reseal(ctx context.Context, kr *sealed.Keyring, batch int) (int, error) {
	n, err := sealed.ResealColumn(ctx, s.db.DB, kr, "users", "totp_secret", batch)
	if err != nil {
		return n, fmt.Errorf("account: reseal code app secrets: %w", err)
	}
	return n, nil
}

// SetTOTPSecret stores the user's code app secret ("" removes it).
func (s *Store) SetTOTPSecret(ctx context.Context, id UserID, secret string) error {
	return s.update(ctx, s.db.DB, id, "set TOTP secret", "totp_secret = ?", sealed.Text(secret))
}

// SetTOTPRequired says whether the user must use a code app (the lead sets it
// for desk staff and operators by role).
func (s *Store) SetTOTPRequired(ctx context.Context, id UserID, required bool) error {
	return s.update(ctx, s.db.DB, id, "set TOTP requirement", "totp_required = ?", required)
}

// SetDisabled disables (and signs out) or re-enables a user.
func (s *Store) SetDisabled(ctx context.Context, id UserID, disabled bool) error {
	if disabled {
		return s.update(ctx, s.db.DB, id, "disable user", "disabled_at = ?, session_generation = session_generation + 1", s.clock.Now())
	}
	return s.update(ctx, s.db.DB, id, "enable user", "disabled_at = NULL")
}

// resetToken is a stored password reset token (only its hash).
type resetToken struct {
	bun.BaseModel `bun:"table:password_reset_tokens"`

	TokenHash string    `bun:"token_hash,pk"`
	UserID    UserID    `bun:"user_id,notnull,type:uuid"`
	CreatedAt time.Time `bun:"created_at,notnull"`
	ExpiresAt time.Time `bun:"expires_at,notnull"`
	UsedAt    time.Time `bun:"used_at,nullzero"`
}

// CreateResetToken stores the hash of a new reset token for the user.
func (s *Store) CreateResetToken(ctx context.Context, id UserID, tokenHash string, ttl time.Duration) error {
	now := s.clock.Now()
	t := &resetToken{TokenHash: tokenHash, UserID: id, CreatedAt: now, ExpiresAt: now.Add(ttl)}
	if _, err := s.db.NewInsert().Model(t).Exec(ctx); err != nil {
		return fmt.Errorf("account: store reset token: %w", err)
	}
	return nil
}

// CheckResetToken returns the user a usable (unused, unexpired) token belongs
// to, without using it.
func (s *Store) CheckResetToken(ctx context.Context, tokenHash string) (UserID, error) {
	var t resetToken
	err := s.db.NewSelect().Model(&t).Where("token_hash = ?", tokenHash).Scan(ctx)
	if errors.Is(err, sql.ErrNoRows) {
		return UserID{}, ErrInvalidToken
	}
	if err != nil {
		return UserID{}, fmt.Errorf("account: read reset token: %w", err)
	}
	if !t.UsedAt.IsZero() || !s.clock.Now().Before(t.ExpiresAt) {
		return UserID{}, ErrInvalidToken
	}
	return t.UserID, nil
}

// ResetPassword uses the token once: in one transaction it marks the token
// (and every other open token of the user) used, stores the new password
// hash and ends every session of the user. A token that is unknown, used or
// expired is ErrInvalidToken; of two concurrent uses only one succeeds.
func (s *Store) ResetPassword(ctx context.Context, tokenHash, passwordHash string) (UserID, error) {
	var uid UserID
	err := s.db.Transact(ctx, func(ctx context.Context, tx bun.Tx) error {
		now := s.clock.Now()
		var t resetToken
		err := tx.NewSelect().Model(&t).Where("token_hash = ?", tokenHash).Scan(ctx)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrInvalidToken
		}
		if err != nil {
			return fmt.Errorf("account: read reset token: %w", err)
		}
		if !t.UsedAt.IsZero() || !now.Before(t.ExpiresAt) {
			return ErrInvalidToken
		}
		// The used_at IS NULL condition makes the use single even when two
		// requests read the token before either wrote.
		res, err := tx.NewUpdate().Table("password_reset_tokens").Set("used_at = ?", now).
			Where("token_hash = ? AND used_at IS NULL", tokenHash).Exec(ctx)
		if err != nil {
			return fmt.Errorf("account: use reset token: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil || n != 1 {
			return ErrInvalidToken
		}
		if _, err := tx.NewUpdate().Table("password_reset_tokens").Set("used_at = ?", now).
			Where("user_id = ? AND used_at IS NULL", t.UserID).Exec(ctx); err != nil {
			return fmt.Errorf("account: close other reset tokens: %w", err)
		}
		uid = t.UserID
		return s.update(ctx, tx, t.UserID, "reset password",
			"password_hash = ?, session_generation = session_generation + 1", passwordHash)
	})
	return uid, err
}

type usedCode struct {
	bun.BaseModel `bun:"table:totp_used_codes"`

	UserID UserID    `bun:"user_id,pk,type:uuid"`
	Step   int64     `bun:"step,pk"`
	UsedAt time.Time `bun:"used_at,notnull"`
}

// totpKeep is how many steps of used codes are kept; older ones can no
// longer be replayed anyway (codes are accepted one step either side).
const totpKeep = 20

// UseTOTPStep records that the user used the code of TOTP time step step. It
// returns false when that step, or a later one, was already used: a code is
// accepted once, and never after a newer one.
func (s *Store) UseTOTPStep(ctx context.Context, id UserID, step int64) (bool, error) {
	fresh := false
	err := s.db.Transact(ctx, func(ctx context.Context, tx bun.Tx) error {
		var latest sql.NullInt64
		if err := tx.NewSelect().Table("totp_used_codes").ColumnExpr("max(step)").
			Where("user_id = ?", id).Scan(ctx, &latest); err != nil {
			return fmt.Errorf("account: read used codes: %w", err)
		}
		if latest.Valid && latest.Int64 >= step {
			return nil
		}
		used := &usedCode{UserID: id, Step: step, UsedAt: s.clock.Now()}
		res, err := tx.NewInsert().Model(used).On("CONFLICT DO NOTHING").Exec(ctx)
		if err != nil {
			return fmt.Errorf("account: record used code: %w", err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return fmt.Errorf("account: record used code: %w", err)
		}
		fresh = n == 1
		if _, err := tx.NewDelete().Table("totp_used_codes").
			Where("user_id = ? AND step < ?", id, step-totpKeep).Exec(ctx); err != nil {
			return fmt.Errorf("account: forget old codes: %w", err)
		}
		return nil
	})
	return fresh, err
}
