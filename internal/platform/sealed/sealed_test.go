package sealed_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/loket-kinderopvang/loket/internal/platform/sealed"
)

func keyring(t *testing.T, spec string) *sealed.Keyring {
	t.Helper()
	kr, err := sealed.ParseKeys(spec)
	if err != nil {
		t.Fatal(err)
	}
	return kr
}

func newKey(t *testing.T, id string) string {
	t.Helper()
	k, err := sealed.NewKey(id)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// TestSealOpenRotate: a sealed value hides the text and names its key; an
// older key still opens it after rotation, Reseal moves it to the current
// key; a missing or wrong key fails with an error that says so.
func TestSealOpenRotate(t *testing.T) {
	k1, k2 := newKey(t, "k1"), newKey(t, "k2")
	old := keyring(t, k1)
	const plain = "Zorgnood: allergie voor noten"
	v, err := old.Seal(plain)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(v, "allergie") || sealed.KeyID(v) != "k1" || !sealed.IsSealed(v) {
		t.Fatalf("sealed value %q", v)
	}
	if w, _ := old.Seal(plain); w == v {
		t.Error("two seals of one text must differ (random nonce)")
	}
	rotated := keyring(t, k2+","+k1)
	if got, err := rotated.Open(v); err != nil || got != plain {
		t.Fatalf("an older key must still open: %q %v", got, err)
	}
	if !rotated.Stale(v) || old.Stale(v) || rotated.Stale("") || !rotated.Stale("plain text") {
		t.Error("Stale: plain text and older keys are stale, the current key and empty are not")
	}
	nv, err := rotated.Reseal(v)
	if err != nil || sealed.KeyID(nv) != "k2" {
		t.Fatalf("reseal: %q %v", nv, err)
	}
	if got, _ := keyring(t, k2).Open(nv); got != plain {
		t.Errorf("after reseal the new key alone opens it: %q", got)
	}
	if _, err := keyring(t, k2).Open(v); !errors.Is(err, sealed.ErrUnknownKey) || !strings.Contains(err.Error(), `"k1"`) {
		t.Errorf("a value of a removed key: %v", err)
	}
	other := strings.Replace(newKey(t, "x"), "x:", "k1:", 1)
	if _, err := keyring(t, other).Open(v); !errors.Is(err, sealed.ErrWrongKey) {
		t.Errorf("another key under the same id: %v", err)
	}
	// The key id is authenticated: relabelling a value breaks it.
	forged := strings.Replace(v, ":k1:", ":k2:", 1)
	if _, err := keyring(t, k2+","+k1).Open(forged); !errors.Is(err, sealed.ErrWrongKey) {
		t.Errorf("relabelled value: %v", err)
	}
	var none *sealed.Keyring
	if _, err := none.Seal(plain); !errors.Is(err, sealed.ErrNoKeys) {
		t.Errorf("no keys: %v", err)
	}
	if got, err := none.Open("written before encryption"); err != nil || got != "written before encryption" {
		t.Errorf("plain text from before encryption reads as is: %q %v", got, err)
	}
	for _, bad := range []string{"", "k1", "k1:bm90IDMyIGJ5dGVz", "K1:" + strings.SplitN(k1, ":", 2)[1], "k_1:" + strings.SplitN(k1, ":", 2)[1], "k1:%%%"} {
		if _, err := sealed.ParseKeys(bad); err == nil {
			t.Errorf("ParseKeys(%q) must fail", bad)
		}
	}
}

// TestTextThroughProcessKeyring: Text seals with the installed keyring and
// opens what any keyring installed before sealed, also while another
// keyring is installed concurrently (several apps in one test process).
func TestTextThroughProcessKeyring(t *testing.T) {
	first := sealed.MustRandom("first-")
	if err := sealed.Use(first); err != nil {
		t.Fatal(err)
	}
	v, err := sealed.Text("Notitie").Value()
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range 50 {
			if err := sealed.Use(sealed.MustRandom("other-")); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	for range 50 {
		var got sealed.Text
		if err := got.Scan(v); err != nil || got != "Notitie" {
			t.Fatalf("scan: %q %v", got, err)
		}
		if w, err := sealed.Text("x").Value(); err != nil || !sealed.IsSealed(w.(string)) {
			t.Fatalf("value: %v %v", w, err)
		}
	}
	<-done
	var got sealed.Text
	if err := got.Scan([]byte(v.(string))); err != nil || got != "Notitie" {
		t.Errorf("after other keyrings: %q %v", got, err)
	}
}
