package account

import (
	"context"
	"testing"
	"time"

	"github.com/loket-kinderopvang/loket/internal/mail"
	"github.com/loket-kinderopvang/loket/internal/platform/cache"
	"github.com/loket-kinderopvang/loket/internal/platform/clock"
	"github.com/loket-kinderopvang/loket/internal/platform/db"
	"github.com/loket-kinderopvang/loket/internal/platform/dbtest"
	"github.com/loket-kinderopvang/loket/internal/platform/sealed"
)

// TestRefusalsCostTheSame: an unknown address, a user without a password, a
// disabled user and a wrong password each cost exactly one argon2id run with
// the same parameters, so timing does not tell which it was.
func TestRefusalsCostTheSame(t *testing.T) {
	ctx := context.Background()
	d := dbtest.Open(t, db.SQLite)
	c := cache.NewMemory()
	defer c.Close()
	clk := clock.NewFixed(time.Date(2027, 3, 1, 9, 0, 1, 0, time.UTC))
	s, err := NewService(testStore(t, d, clk), c, mail.NewOutbox(d, clk), clk, ServiceOptions{
		Params: cheapParams, PublicURL: "https://loket.example",
		Limits: Limits{Window: time.Minute, PerPair: 100, PerAddress: 100},
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateUser(ctx, NewUser{Email: "an@loket.example", DisplayName: "An", Password: "juist-wachtwoord"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateUser(ctx, NewUser{Email: "leeg@loket.example", DisplayName: "Leeg"}); err != nil {
		t.Fatal(err)
	}
	off, _ := s.CreateUser(ctx, NewUser{Email: "uit@loket.example", DisplayName: "Uit", Password: "juist-wachtwoord"})
	if err := s.Store().SetDisabled(ctx, off.ID, true); err != nil {
		t.Fatal(err)
	}
	// Make the dummy hash first, so its one-off cost is not counted.
	if err := s.hasher.VerifyDummy(ctx, "x"); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ email, pw string }{
		{"an@loket.example", "fout-wachtwoord"},
		{"niemand@loket.example", "fout-wachtwoord"},
		{"leeg@loket.example", "fout-wachtwoord"},
		{"uit@loket.example", "juist-wachtwoord"},
	} {
		before := s.hasher.derivations.Load()
		u, out, err := s.CheckPassword(ctx, c.email, c.pw, "192.0.2.1")
		if err != nil || out != Refused || u != nil {
			t.Errorf("%s: %v %v %v; want Refused", c.email, u, out, err)
		}
		if n := s.hasher.derivations.Load() - before; n != 1 {
			t.Errorf("%s: %d argon2id runs, want 1", c.email, n)
		}
	}
	if _, out, err := s.CheckPassword(ctx, "AN@loket.example", "juist-wachtwoord", "192.0.2.1"); out != SignedIn || err != nil {
		t.Errorf("right password: %v %v", out, err)
	}
}

// TestRehashOnSignIn: a hash made with older parameters is replaced at the
// next successful sign-in.
func TestRehashOnSignIn(t *testing.T) {
	ctx := context.Background()
	d := dbtest.Open(t, db.SQLite)
	c := cache.NewMemory()
	defer c.Close()
	clk := clock.NewFixed(time.Date(2027, 3, 1, 9, 0, 1, 0, time.UTC))
	store := testStore(t, d, clk)
	old, _ := NewService(store, c, mail.NewOutbox(d, clk), clk, ServiceOptions{Params: cheapParams, PublicURL: "https://loket.example"})
	u, err := old.CreateUser(ctx, NewUser{Email: "an@loket.example", DisplayName: "An", Password: "juist-wachtwoord"})
	if err != nil {
		t.Fatal(err)
	}
	stronger := cheapParams
	stronger.Time = 2
	s, _ := NewService(store, c, mail.NewOutbox(d, clk), clk, ServiceOptions{Params: stronger, PublicURL: "https://loket.example"})
	if _, out, err := s.CheckPassword(ctx, "an@loket.example", "juist-wachtwoord", "192.0.2.1"); out != SignedIn || err != nil {
		t.Fatalf("sign in: %v %v", out, err)
	}
	after, _ := store.ByID(ctx, u.ID)
	if after.PasswordHash == u.PasswordHash || s.hasher.NeedsRehash(after.PasswordHash) {
		t.Fatalf("hash not upgraded: %s", after.PasswordHash)
	}
	if after.SessionGeneration != u.SessionGeneration {
		t.Error("a rehash must not sign the user out")
	}
}

func TestNewServiceRefusesRelativePublicURL(t *testing.T) {
	for _, u := range []string{"", "/", "loket.example", "ftp://loket.example"} {
		if _, err := NewService(nil, nil, nil, clock.System{}, ServiceOptions{Params: cheapParams, PublicURL: u}); err == nil {
			t.Errorf("public URL %q must be refused", u)
		}
	}
}

// testStore is a store whose code app secrets are sealed with a fresh key.
func testStore(t *testing.T, d *db.DB, c clock.Clock) *Store {
	t.Helper()
	s, err := NewStore(d, c, sealed.MustRandom("test-"))
	if err != nil {
		t.Fatal(err)
	}
	return s
}
