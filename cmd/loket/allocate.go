package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/loket-kinderopvang/loket/internal/allocation"
)

func init() { moreCommands = append(moreCommands, newAllocateCmd) }

func newAllocateCmd(c *cli) *cobra.Command {
	allocate := &cobra.Command{Use: "allocate", Short: "Fair allocation of places (engine, rounds)", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() }}
	var in, out, explain string
	var reproduce bool
	solve := &cobra.Command{
		Use:   "solve",
		Short: "Solve an allocation instance file and audit the result",
		Long: `Read an instance (children with ranked preferences and priority facts, programmes
with capacity, per-location priority policy, reserve policy, seed) in the JSON format
of docs/allocation-format.md, run the engine, audit the result (stability checked in
one pass over the preferences) and write the assignments, the fill per programme,
the explanations asked for and the audit verdict as compact JSON. Needs no
database: anyone can check the engine, or compare an independent implementation
with it. Exits non-zero when the instance is invalid or the audit fails.

--explain none (the default) writes no explanations, all explains every child,
and a comma-separated list of child IDs (or @file with one ID per line) explains
those children.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			opt, err := explainOption(explain)
			if err != nil {
				return fmt.Errorf("allocate solve: %w", err)
			}
			opt.Audit.Reproduce = reproduce
			// The decoded instance is long-lived, so the default collector
			// would rescan it again and again while it grows: collect at
			// 5 x the live heap, but never let the heap pass 1.5 GiB.
			defer debug.SetGCPercent(debug.SetGCPercent(400))
			defer debug.SetMemoryLimit(debug.SetMemoryLimit(1536 << 20))
			var r io.Reader = os.Stdin
			if in != "-" {
				f, err := os.Open(in)
				if err != nil {
					return fmt.Errorf("allocate solve: %w", err)
				}
				defer f.Close()
				r = f
			}
			// The result goes to a temporary file renamed at the end, so
			// an interrupted run leaves no partial result behind.
			var w io.Writer = c.stdout
			var tmp *os.File
			if out != "-" {
				if tmp, err = os.CreateTemp(filepath.Dir(out), ".allocate-*.json"); err != nil {
					return fmt.Errorf("allocate solve: %w", err)
				}
				defer os.Remove(tmp.Name()) // a no-op after the rename
				defer tmp.Close()
				w = tmp
			}
			// The engine does not poll for cancellation, so it runs aside
			// and the command returns as soon as SIGTERM or Ctrl-C cancels
			// the context; the process then exits without a result file.
			type outcome struct {
				report allocation.Report
				err    error
			}
			done := make(chan outcome, 1)
			go func() {
				rep, err := allocation.SolveJSON(r, w, opt)
				done <- outcome{rep, err}
			}()
			var o outcome
			select {
			case o = <-done:
				if o.err != nil {
					return o.err
				}
			case <-cmd.Context().Done():
				return fmt.Errorf("allocate solve: stopped before finishing (%w); no result written", context.Cause(cmd.Context()))
			}
			if tmp != nil {
				if err := tmp.Chmod(0o644); err != nil {
					return fmt.Errorf("allocate solve: %w", err)
				}
				if err := tmp.Close(); err != nil {
					return fmt.Errorf("allocate solve: %w", err)
				}
				if err := os.Rename(tmp.Name(), out); err != nil {
					return fmt.Errorf("allocate solve: %w", err)
				}
			}
			if !o.report.OK {
				return fmt.Errorf("allocate solve: the audit found violations (see audit in the result)")
			}
			if out != "-" {
				fmt.Fprintf(c.stderr, "solved %s → %s; audit ok\n", in, out)
			}
			return nil
		},
	}
	solve.Flags().StringVar(&in, "in", "-", "instance file (JSON); - reads standard input")
	solve.Flags().StringVar(&out, "out", "-", "result file (JSON); - writes standard output")
	solve.Flags().StringVar(&explain, "explain", "none", "explanations to write: none, all, child IDs separated by commas, or @file with one ID per line")
	solve.Flags().BoolVar(&reproduce, "reproduce", false, "also solve a second time and check that the result is identical (doubles the time)")
	allocate.AddCommand(solve, newAllocateGenerateCmd(c), newAllocateSimulateCmd(c))
	return allocate
}

// newAllocateGenerateCmd writes a large invented instance for measuring
// the solver (scripts/bench-allocate.sh); the same flags give the same file.
func newAllocateGenerateCmd(c *cli) *cobra.Command {
	var children, prefs, programmes int
	var seed uint64
	var out string
	cmd := &cobra.Command{
		Use:   "generate",
		Short: "Write a large invented allocation instance (for measurements)",
		Long: `Write an invented instance in the format of docs/allocation-format.md: children
who prefer programmes near an invented home and some popular ones, a 20 % reserve,
five priority tiers, 2 % of children applying with a twin. The same flags always
give the same file. Used by scripts/bench-allocate.sh.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if prefs < 1 || programmes < prefs || children < 0 {
				return fmt.Errorf("allocate generate: need 1 <= --preferences (%d) <= --programmes (%d) and --children >= 0", prefs, programmes)
			}
			inst := allocation.Generate(children, prefs, programmes, seed)
			return writeOut(c, out, func(w io.Writer) error { return allocation.EncodeInstance(w, inst) })
		},
	}
	cmd.Flags().IntVar(&children, "children", 100_000, "number of children")
	cmd.Flags().IntVar(&prefs, "preferences", 5, "preferences per child")
	cmd.Flags().IntVar(&programmes, "programmes", 10_000, "number of programmes")
	cmd.Flags().Uint64Var(&seed, "seed", 2026, "generator and lottery seed")
	cmd.Flags().StringVar(&out, "out", "-", "instance file; - writes standard output")
	return cmd
}

// writeOut writes to a file (or standard output for -) through write.
func writeOut(c *cli, out string, write func(io.Writer) error) error {
	if out == "-" {
		return write(c.stdout)
	}
	f, err := os.Create(out)
	if err != nil {
		return err
	}
	if err := write(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// explainOption parses --explain: none, all, a comma-separated list of
// child IDs, or @file with one ID per line.
func explainOption(v string) (allocation.SolveOptions, error) {
	switch v {
	case "", "none":
		return allocation.SolveOptions{Explain: allocation.ExplainNone}, nil
	case "all":
		return allocation.SolveOptions{Explain: allocation.ExplainAll}, nil
	}
	var ids []string
	if name, ok := strings.CutPrefix(v, "@"); ok {
		f, err := os.Open(name)
		if err != nil {
			return allocation.SolveOptions{}, fmt.Errorf("--explain: %w", err)
		}
		defer f.Close()
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if id := strings.TrimSpace(sc.Text()); id != "" {
				ids = append(ids, id)
			}
		}
		if err := sc.Err(); err != nil {
			return allocation.SolveOptions{}, fmt.Errorf("--explain: %w", err)
		}
	} else {
		for _, id := range strings.Split(v, ",") {
			if id = strings.TrimSpace(id); id != "" {
				ids = append(ids, id)
			}
		}
	}
	if len(ids) == 0 {
		return allocation.SolveOptions{}, fmt.Errorf("--explain: want none, all, child IDs or @file, got %q", v)
	}
	return allocation.SolveOptions{Explain: allocation.ExplainIDs, IDs: ids}, nil
}

// newAllocateSimulateCmd compares the reserve policies on invented city
// years (docs/fairness.md).
func newAllocateSimulateCmd(c *cli) *cobra.Command {
	var cfg allocation.CityConfig
	var seeds string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "simulate",
		Short: "Compare reserve policies on invented city years (docs/fairness.md)",
		Long: `Build an invented city year per seed (8,000 requests, 37 % without a place when no
seat is reserved, 20 % vulnerable families, twins applying together, preferences for
popular and nearby locations), solve it under each reserve policy (none, reserved
seats filled first, filled last), audit every result and print, per policy, the
share placed overall and among vulnerable families, the first-choice rate among the
placed and the number of justified-envy cases, as mean ± standard deviation
[minimum–maximum] over the seeds. The same flags always give the same table.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			list, err := parseSeeds(seeds)
			if err != nil {
				return fmt.Errorf("allocate simulate: --seeds: %w", err)
			}
			out, err := allocation.Simulate(cfg, list)
			if err != nil {
				return fmt.Errorf("allocate simulate: %w", err)
			}
			if asJSON {
				enc := json.NewEncoder(c.stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(out)
			}
			writeSimTable(c.stdout, allocation.Summarize(out), out)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&seeds, "seeds", "1-10", "seeds: a range such as 1-10, or a list such as 1,5,9")
	f.IntVar(&cfg.Requests, "requests", 8000, "requests a year")
	f.IntVar(&cfg.Locations, "locations", 120, "childcare locations")
	f.Float64Var(&cfg.Unplaced, "unplaced", 0.37, "share without a place when no seat is reserved (capacity is calibrated to it)")
	f.Float64Var(&cfg.Vulnerable, "vulnerable", 0.20, "share of vulnerable families")
	f.Float64Var(&cfg.Siblings, "siblings", 0.03, "share of requests that are a twin applying together")
	f.Float64Var(&cfg.ReserveShare, "reserve-share", 0.20, "share of seats reserved under the reserve policies")
	f.BoolVar(&asJSON, "json", false, "print every outcome (per seed and policy) as JSON instead of the table")
	return cmd
}

// parseSeeds reads "1-10" or "1,5,9".
func parseSeeds(v string) ([]uint64, error) {
	if lo, hi, ok := strings.Cut(v, "-"); ok {
		a, err1 := strconv.ParseUint(strings.TrimSpace(lo), 10, 64)
		b, err2 := strconv.ParseUint(strings.TrimSpace(hi), 10, 64)
		if err1 != nil || err2 != nil || b < a || b-a >= 1000 {
			return nil, fmt.Errorf("want a range such as 1-10 (at most 1000 seeds), got %q", v)
		}
		var out []uint64
		for s := a; s <= b; s++ {
			out = append(out, s)
		}
		return out, nil
	}
	var out []uint64
	for _, part := range strings.Split(v, ",") {
		s, err := strconv.ParseUint(strings.TrimSpace(part), 10, 64)
		if err != nil {
			return nil, fmt.Errorf("want seeds such as 1,5,9, got %q", v)
		}
		out = append(out, s)
	}
	return out, nil
}

func writeSimTable(w io.Writer, sum []allocation.SimSummary, out []allocation.SimOutcome) {
	pct := func(s allocation.Spread) string {
		return fmt.Sprintf("%.1f %% ± %.1f [%.1f–%.1f]", 100*s.Mean, 100*s.SD, 100*s.Min, 100*s.Max)
	}
	if len(out) > 0 {
		fmt.Fprintf(w, "%d requests, %d seats, %d vulnerable families (seed %d)\n\n", out[0].Requests, out[0].Seats, out[0].Vulnerable, out[0].Seed)
	}
	fmt.Fprintln(w, "| policy | seeds | placed, all | placed, vulnerable | first choice among the placed | justified envy | waste | seeds with vulnerable ≥ all |")
	fmt.Fprintln(w, "| --- | --- | --- | --- | --- | --- | --- | --- |")
	for _, s := range sum {
		fmt.Fprintf(w, "| %s | %d | %s | %s | %s | %d | %d | %d of %d |\n", s.Policy, s.Seeds, pct(s.Placed), pct(s.PlacedVulnerable),
			pct(s.FirstChoice), s.JustifiedEnvy, s.Waste, s.VulnerableAtLeastOverall, s.Seeds)
	}
}
