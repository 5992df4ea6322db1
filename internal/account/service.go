package account

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/loket-kinderopvang/loket/internal/mail"
	"github.com/loket-kinderopvang/loket/internal/platform/cache"
	"github.com/loket-kinderopvang/loket/internal/platform/clock"
	"github.com/loket-kinderopvang/loket/internal/platform/sealed"
	"github.com/loket-kinderopvang/loket/internal/platform/web"
)

// Service holds the account rules: signing in, codes, password reset.
// Handlers stay thin and call it.
type Service struct {
	store     *Store
	hasher    *Hasher
	limiter   *limiter
	mail      mail.Sender
	clock     clock.Clock
	log       *slog.Logger
	publicURL string
	resetTTL  time.Duration

	mails sync.WaitGroup
}

// DefaultResetTTL is how long a password reset link works.
const DefaultResetTTL = time.Hour

// ServiceOptions configure NewService; zero values take the defaults.
type ServiceOptions struct {
	Params    Params
	Limits    Limits
	ResetTTL  time.Duration
	PublicURL string
	Log       *slog.Logger
}

// NewService returns the account service.
func NewService(store *Store, c cache.Cache, sender mail.Sender, clk clock.Clock, opts ServiceOptions) (*Service, error) {
	if opts.Params == (Params{}) {
		opts.Params = DefaultParams
	}
	if opts.Limits == (Limits{}) {
		opts.Limits = DefaultLimits
	}
	if opts.Limits.Window <= 0 || opts.Limits.PerPair < 1 || opts.Limits.PerAddress < 1 {
		return nil, fmt.Errorf("account: sign-in limits must be positive: %+v", opts.Limits)
	}
	opts.Limits = opts.Limits.withDefaults()
	if opts.ResetTTL <= 0 {
		opts.ResetTTL = DefaultResetTTL
	}
	if opts.Log == nil {
		opts.Log = slog.Default()
	}
	u, err := url.Parse(opts.PublicURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		// Links in mails must never be built from the request's Host header,
		// which a client chooses.
		return nil, fmt.Errorf("account: public URL %q must be an absolute http(s) URL", opts.PublicURL)
	}
	h, err := NewHasher(opts.Params)
	if err != nil {
		return nil, err
	}
	return &Service{
		store: store, hasher: h, mail: sender, clock: clk, log: opts.Log,
		limiter:   &limiter{c: c, clock: clk, limits: opts.Limits},
		publicURL: strings.TrimRight(opts.PublicURL, "/"), resetTTL: opts.ResetTTL,
	}, nil
}

// Store is the service's user store.
func (s *Service) Store() *Store { return s.store }

// Hasher is the service's password hasher.
func (s *Service) Hasher() *Hasher { return s.hasher }

// CreateUser validates and stores a new user; a password, if given, is
// hashed. Wrong input is FieldErrors; an address in use ErrEmailTaken.
func (s *Service) CreateUser(ctx context.Context, n NewUser) (*User, error) {
	if fe := n.check(); fe != nil {
		return nil, fe
	}
	u := &User{Email: NormalizeEmail(n.Email), DisplayName: strings.TrimSpace(n.DisplayName), TOTPRequired: n.TOTPRequired}
	if n.Password != "" {
		h, err := s.hasher.Hash(ctx, n.Password)
		if err != nil {
			return nil, err
		}
		u.PasswordHash = h
	}
	if err := s.store.Create(ctx, u); err != nil {
		return nil, err
	}
	return u, nil
}

// Outcome is the result of one sign-in step.
type Outcome int

// Outcomes of CheckPassword and CheckCode.
const (
	// Refused: wrong e-mail, password or code, or a disabled account. The
	// page says the same thing in every case.
	Refused Outcome = iota
	// Limited: too many attempts from this address (for this account or
	// for all); nothing was checked.
	Limited
	// SignedIn: the user may have a session.
	SignedIn
	// NeedsCode: the password was right; now the code from the app.
	NeedsCode
	// NeedsEnrolment: the password was right, the user must use a code app
	// and has none yet: set one up first.
	NeedsEnrolment
	// Replayed: the code was right but already used.
	Replayed
)

// CheckPassword is the first sign-in step. An unknown address costs the same
// argon2id work as a wrong password and gets the same answer.
func (s *Service) CheckPassword(ctx context.Context, email, password, addr string) (*User, Outcome, error) {
	email = NormalizeEmail(email)
	ok, err := s.limiter.Attempt(ctx, email, addr)
	if err != nil || !ok {
		return nil, Limited, err
	}
	if len(password) > 4*MaxPasswordLen {
		password = password[:4*MaxPasswordLen]
	}
	u, err := s.store.ByEmail(ctx, email)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return nil, Refused, err
	}
	if u == nil || u.PasswordHash == "" {
		if err := s.hasher.VerifyDummy(ctx, password); err != nil {
			return nil, Refused, err
		}
		return nil, Refused, nil
	}
	match, err := s.hasher.Verify(ctx, password, u.PasswordHash)
	if err != nil {
		return nil, Refused, fmt.Errorf("account: verify password of user %s: %w", u.ID, err)
	}
	if !match || u.Disabled() {
		return nil, Refused, nil
	}
	if s.hasher.NeedsRehash(u.PasswordHash) {
		if h, err := s.hasher.Hash(ctx, password); err == nil {
			if err := s.store.SetPasswordHash(ctx, u.ID, h, false); err != nil {
				s.log.WarnContext(ctx, "rehash password", "user", u.ID, "error", err)
			}
		}
	}
	switch {
	case u.HasTOTP():
		return u, NeedsCode, s.limiter.RightPassword(ctx, addr)
	case u.TOTPRequired:
		return u, NeedsEnrolment, s.limiter.RightPassword(ctx, addr)
	}
	// Only a complete sign-in resets the account's count: a right password
	// must not buy fresh guesses at the code.
	return u, SignedIn, s.limiter.Succeeded(ctx, email, addr)
}

// CheckCode is the second sign-in step for a user with a code app: code must
// be the current one (or one step either side) and not used before.
func (s *Service) CheckCode(ctx context.Context, u *User, code, addr string) (Outcome, error) {
	return s.useCode(ctx, u, u.TOTPSecret.String(), code, addr)
}

// Enrol confirms a new code app: code must come from secret. Then the secret
// is stored and the sign-in is complete.
func (s *Service) Enrol(ctx context.Context, u *User, secret, code, addr string) (Outcome, error) {
	out, err := s.useCode(ctx, u, secret, code, addr)
	if err != nil || out != SignedIn {
		return out, err
	}
	if err := s.store.SetTOTPSecret(ctx, u.ID, secret); err != nil {
		return Refused, err
	}
	u.TOTPSecret = sealed.Text(secret)
	return SignedIn, nil
}

func (s *Service) useCode(ctx context.Context, u *User, secret, code, addr string) (Outcome, error) {
	ok, err := s.limiter.Attempt(ctx, u.Email, addr)
	if err != nil || !ok {
		return Limited, err
	}
	step, match := matchTOTP(secret, code, s.clock.Now())
	if !match {
		return Refused, nil
	}
	fresh, err := s.store.UseTOTPStep(ctx, u.ID, step)
	if err != nil {
		return Refused, err
	}
	if !fresh {
		return Replayed, nil
	}
	return SignedIn, s.limiter.Succeeded(ctx, u.Email, addr)
}

// SignOutEverywhere ends every session of the user.
func (s *Service) SignOutEverywhere(ctx context.Context, id UserID) error {
	return s.store.BumpGeneration(ctx, id)
}

// hashToken is how reset tokens are stored: SHA-256 suffices, the token
// itself has 256 random bits.
func hashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// RequestReset mails a reset link to the user with that address, if there is
// one and it is enabled. It returns the same for every address; the mail
// goes out in the background, so the answer takes as long either way. At
// most Limits.ResetMails links per address per window go out.
func (s *Service) RequestReset(ctx context.Context, email string, tr web.Translator) error {
	email = NormalizeEmail(email)
	n, err := s.limiter.incr(ctx, resetKey(email, s.limiter.window()), 2*s.limiter.limits.Window)
	if err != nil {
		return err
	}
	if n > int64(s.limiter.limits.ResetMails) {
		return nil
	}
	u, err := s.store.ByEmail(ctx, email)
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if u.Disabled() {
		return nil
	}
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return fmt.Errorf("account: reset token: %w", err)
	}
	token := base64.RawURLEncoding.EncodeToString(raw)
	if err := s.store.CreateResetToken(ctx, u.ID, hashToken(token), s.resetTTL); err != nil {
		return err
	}
	link := s.publicURL + "/wachtwoord-herstellen?" + url.Values{"token": {token}, "lang": {tr.Lang()}}.Encode()
	minutes := strconv.Itoa(int(s.resetTTL / time.Minute))
	s.send(mail.Message{
		To:      u.Email,
		Kind:    "password_reset",
		Subject: tr.T("account.mail.reset.subject"),
		Text:    tr.T("account.mail.reset.body", "Name", u.DisplayName, "Link", link, "Minutes", minutes),
	})
	return nil
}

// send delivers m in the background with its own deadline: the request that
// caused it may end first, and its timing must not depend on the mail.
func (s *Service) send(m mail.Message) {
	s.mails.Add(1)
	go func() {
		defer s.mails.Done()
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := s.mail.Send(ctx, m); err != nil {
			s.log.Error("send mail", "kind", m.Kind, "error", err)
		}
	}()
}

// Wait blocks until every mail started so far is sent (or failed). Call it
// at shutdown; tests call it before reading the outbox.
func (s *Service) Wait() { s.mails.Wait() }

// CheckResetToken reports whether a reset link still works.
func (s *Service) CheckResetToken(ctx context.Context, token string) error {
	if token == "" {
		return ErrInvalidToken
	}
	_, err := s.store.CheckResetToken(ctx, hashToken(token))
	return err
}

// ResetPassword sets a new password with a reset token, once. It signs the
// user out everywhere. Wrong input is
// FieldErrors; a token that does not work ErrInvalidToken.
func (s *Service) ResetPassword(ctx context.Context, token, password, confirm string) error {
	if fe := CheckNewPassword(password, confirm); fe != nil {
		return fe
	}
	if err := s.CheckResetToken(ctx, token); err != nil {
		return err
	}
	h, err := s.hasher.Hash(ctx, password)
	if err != nil {
		return err
	}
	_, err = s.store.ResetPassword(ctx, hashToken(token), h)
	return err
}
