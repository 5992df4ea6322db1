package main

import (
	"bytes"
	"context"
	"encoding/json"
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
	code, _, errOut := runCLI(t, "allocate", "solve", "--in", "../../internal/allocation/testdata/example-instance.json", "--out", out, "--explain", "all", "--reproduce")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	compact, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Count(compact, []byte("\n")) != 1 {
		t.Errorf("the result should be compact JSON on one line")
	}
	var got bytes.Buffer
	if err := json.Indent(&got, compact, "", "  "); err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile("../../internal/allocation/testdata/example-result.json")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(bytes.TrimSpace(got.Bytes()), bytes.TrimSpace(want)) {
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
	outDir := t.TempDir()
	go func() {
		var out, errOut bytes.Buffer
		code := run(ctx, []string{"allocate", "solve", "--in", fifo, "--out", filepath.Join(outDir, "out.json")}, &out, &errOut)
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
		if left, _ := os.ReadDir(outDir); len(left) > 0 {
			t.Errorf("after SIGTERM the output folder holds %v; want no result and no temporary file", left[0].Name())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("allocate solve still runs 10 s after SIGTERM")
	}
}

// TestAllocateSolveExplainModes: explanations only on request.
func TestAllocateSolveExplainModes(t *testing.T) {
	const inst = "../../internal/allocation/testdata/example-instance.json"
	dir := t.TempDir()
	idFile := filepath.Join(dir, "ids.txt")
	if err := os.WriteFile(idFile, []byte("kind-12\n\nkind-02\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		explain string
		want    []string // nil: every child
	}{
		{"", []string{}},
		{"none", []string{}},
		{"all", nil},
		{"kind-02,kind-05", []string{"kind-02", "kind-05"}},
		{"@" + idFile, []string{"kind-12", "kind-02"}},
	}
	for _, tc := range cases {
		out := filepath.Join(dir, "result.json")
		args := []string{"allocate", "solve", "--in", inst, "--out", out}
		if tc.explain != "" {
			args = append(args, "--explain", tc.explain)
		}
		if code, _, errOut := runCLI(t, args...); code != 0 {
			t.Fatalf("--explain %q: exit %d: %s", tc.explain, code, errOut)
		}
		b, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		var res struct {
			Assignments []struct {
				ChildID string `json:"child_id"`
			}
			Explanations []struct {
				ChildID string `json:"child_id"`
				TextNL  string `json:"text_nl"`
			}
			Audit struct{ OK bool }
		}
		if err := json.Unmarshal(b, &res); err != nil {
			t.Fatal(err)
		}
		want := tc.want
		if want == nil {
			for _, a := range res.Assignments {
				want = append(want, a.ChildID)
			}
		}
		got := []string{}
		for _, e := range res.Explanations {
			got = append(got, e.ChildID)
			if e.TextNL == "" {
				t.Errorf("--explain %q: %s has no Dutch text", tc.explain, e.ChildID)
			}
		}
		if strings.Join(got, ",") != strings.Join(want, ",") || !res.Audit.OK {
			t.Errorf("--explain %q: explained %v, want %v (audit ok %v)", tc.explain, got, want, res.Audit.OK)
		}
	}
	if code, _, errOut := runCLI(t, "allocate", "solve", "--in", inst, "--explain", "kind-02,nobody"); code == 0 || !strings.Contains(errOut, "nobody") {
		t.Errorf("an unknown child in --explain must fail naming it: exit %d, %q", code, errOut)
	}
}

// TestAllocateSimulate: the table of docs/fairness.md comes out the same
// on every run, with every policy and no justified envy.
func TestAllocateSimulate(t *testing.T) {
	args := []string{"allocate", "simulate", "--seeds", "1-2", "--requests", "2000", "--locations", "40"}
	code, first, errOut := runCLI(t, args...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	_, second, _ := runCLI(t, args...)
	if first != second {
		t.Errorf("two runs differ:\n%s\n%s", first, second)
	}
	for _, want := range []string{"| none | 2 |", "| reserve_first | 2 |", "| reserve_last | 2 |", "2000 requests"} {
		if !strings.Contains(first, want) {
			t.Errorf("the table lacks %q:\n%s", want, first)
		}
	}
	for _, line := range strings.Split(first, "\n") {
		if strings.HasPrefix(line, "| reserve") || strings.HasPrefix(line, "| none") {
			if cells := strings.Split(line, "|"); strings.TrimSpace(cells[6]) != "0" {
				t.Errorf("justified envy in %q", line)
			}
		}
	}
	if code, _, errOut := runCLI(t, "allocate", "simulate", "--seeds", "x"); code == 0 || !strings.Contains(errOut, "--seeds") {
		t.Errorf("a bad --seeds must fail naming the flag: %d %q", code, errOut)
	}
}
