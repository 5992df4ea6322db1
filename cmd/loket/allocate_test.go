package main

import (
	"bytes"
	"context"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestAllocateSolveExample(t *testing.T) {
	out := filepath.Join(t.TempDir(), "result.json")
	code, _, errOut := runCLI(t, "allocate", "solve", "--in", "../../internal/allocation/testdata/example-instance.json", "--out", out)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	got, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile("../../internal/allocation/testdata/example-result.json")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(bytes.TrimSpace(got), bytes.TrimSpace(want)) {
		t.Errorf("allocate solve does not reproduce the documented example result")
	}
	bad := filepath.Join(t.TempDir(), "bad.json")
	if err := os.WriteFile(bad, []byte(`{"version": 1, "seed": "s", "children": [{"id": "k1", "preferences": ["nope"]}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, _, errOut := runCLI(t, "allocate", "solve", "--in", bad); code == 0 || !strings.Contains(errOut, "nope") && !strings.Contains(errOut, "programme") {
		t.Errorf("an invalid instance must fail with a named field: %d %q", code, errOut)
	}
}

// TestAllocateSolveStopsOnSIGTERM: main turns SIGTERM into a cancelled
// context; allocate solve must then stop, even while it waits for input
// (here a pipe whose writer never writes nor closes).
func TestAllocateSolveStopsOnSIGTERM(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "in.json")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skipf("no named pipes here: %v", err)
	}
	// Opening read-write does not block and keeps a writer alive.
	w, err := os.OpenFile(fifo, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if _, err := w.WriteString(`{"version": 1, "seed": "s", "programmes": [`); err != nil {
		t.Fatal(err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	type exit struct {
		code   int
		stderr string
	}
	done := make(chan exit, 1)
	go func() {
		var out, errOut bytes.Buffer
		code := run(ctx, []string{"allocate", "solve", "--in", fifo, "--out", filepath.Join(t.TempDir(), "out.json")}, &out, &errOut)
		done <- exit{code, errOut.String()}
	}()
	time.Sleep(200 * time.Millisecond)
	if err := syscall.Kill(os.Getpid(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case e := <-done:
		if e.code == 0 || !strings.Contains(e.stderr, "stopped") {
			t.Errorf("after SIGTERM: exit %d, stderr %q; want a non-zero exit saying it stopped", e.code, e.stderr)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("allocate solve still runs 10 s after SIGTERM")
	}
}
