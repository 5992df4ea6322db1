package app

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/loket-kinderopvang/loket/internal/platform/config"
)

// TestHashKeyFile: the key file is made once and then kept; a file that
// cannot be read or holds no key stops the start instead of being replaced
// (a new key would invalidate every status link and fingerprint).
func TestHashKeyFile(t *testing.T) {
	dir := t.TempDir()
	cfg := config.Config{DataDir: dir}
	first, err := hashKey(cfg)
	if err != nil || len(first) < minHashKeyLen {
		t.Fatalf("first start: %q, %v", first, err)
	}
	if again, err := hashKey(cfg); err != nil || !bytes.Equal(again, first) {
		t.Fatalf("a second start must read the same key: %q, %v", again, err)
	}
	path := filepath.Join(dir, "hash.key")
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v %v", fi, err)
	}

	// A short or empty file (a truncated restore): refuse, keep the file.
	for _, bad := range []string{"", "too-short\n", strings.Repeat(" ", 40)} {
		if err := os.WriteFile(path, []byte(bad), 0o600); err != nil {
			t.Fatal(err)
		}
		if key, err := hashKey(cfg); err == nil {
			t.Errorf("file %q: want an error, got key %q", bad, key)
		}
		if b, _ := os.ReadFile(path); string(b) != bad {
			t.Errorf("file %q was replaced by %q", bad, b)
		}
	}

	// A key file that cannot be read (here: a directory in its place, which
	// fails for root too): refuse, do not make a new one.
	other := t.TempDir()
	if err := os.Mkdir(filepath.Join(other, "hash.key"), 0o700); err != nil {
		t.Fatal(err)
	}
	if key, err := hashKey(config.Config{DataDir: other}); err == nil {
		t.Errorf("unreadable key file: want an error, got key %q", key)
	}

	// The configured key wins and no file is touched.
	cfgKey := config.Config{DataDir: t.TempDir(), HashKey: strings.Repeat("k", 32)}
	if key, err := hashKey(cfgKey); err != nil || string(key) != cfgKey.HashKey {
		t.Errorf("configured key: %q %v", key, err)
	}
	if _, err := os.Stat(filepath.Join(cfgKey.DataDir, "hash.key")); err == nil {
		t.Error("a configured key must not write a file")
	}
}
