package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestKeysCommands: keys new prints a key that keys rotate accepts as the
// current one, next to the embedded store's kept key; a second rotation finds
// nothing left; a malformed key is refused before anything runs.
func TestKeysCommands(t *testing.T) {
	t.Chdir(t.TempDir())
	dir := t.TempDir()
	if code, out, errOut := runCLI(t, "seed", "demo", "--data-dir", dir); code != 0 {
		t.Fatalf("seed: exit %d\n%s\n%s", code, out, errOut)
	}
	kept, err := os.ReadFile(filepath.Join(dir, "data.key"))
	if err != nil {
		t.Fatalf("the embedded store must keep its data key: %v", err)
	}
	code, out, errOut := runCLI(t, "keys", "new", "k2")
	if code != 0 || !regexp.MustCompile(`^k2:[A-Za-z0-9+/]{43}=\n$`).MatchString(out) {
		t.Fatalf("keys new: exit %d %q %s", code, out, errOut)
	}
	keys := strings.TrimSpace(out) + "," + string(kept)
	code, out, errOut = runCLI(t, "keys", "rotate", "--data-dir", dir, "--data-keys", keys)
	if code != 0 || !regexp.MustCompile(`^re-encrypted \d+ values with key k2\n$`).MatchString(out) {
		t.Fatalf("keys rotate: exit %d %q %s", code, out, errOut)
	}
	if code, out, _ = runCLI(t, "keys", "rotate", "--data-dir", dir, "--data-keys", keys); code != 0 || out != "re-encrypted 0 values with key k2\n" {
		t.Errorf("a second rotation: exit %d %q", code, out)
	}
	if code, _, errOut = runCLI(t, "keys", "rotate", "--data-dir", dir, "--data-keys", "k3:c2hvcnQ="); code == 0 || !strings.Contains(errOut, "LOKET_DATA_KEYS") {
		t.Errorf("a short key must be refused: exit %d %s", code, errOut)
	}
}
