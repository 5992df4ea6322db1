package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/loket-kinderopvang/loket/internal/allocation"
)

func init() { moreCommands = append(moreCommands, newAllocateCmd) }

func newAllocateCmd(c *cli) *cobra.Command {
	allocate := &cobra.Command{Use: "allocate", Short: "Fair allocation of places (engine, rounds)", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() }}
	var in, out string
	solve := &cobra.Command{
		Use:   "solve",
		Short: "Solve an allocation instance file and audit the result",
		Long: `Read an instance (children with ranked preferences and priority facts, programmes
with capacity, per-location priority policy, reserve policy, seed) in the JSON format
of docs/allocation-format.md, run the engine, and write the assignments, an
explanation per child and the audit verdict. Needs no database: anyone can check
the engine, or compare an independent implementation with it. Exits non-zero
when the instance is invalid or the audit fails.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var r io.Reader = os.Stdin
			if in != "-" {
				f, err := os.Open(in)
				if err != nil {
					return fmt.Errorf("allocate solve: %w", err)
				}
				defer f.Close()
				r = f
			}
			// The engine does not poll for cancellation, so it runs aside
			// and the command returns as soon as SIGTERM or Ctrl-C cancels
			// the context; the process then exits without writing a result.
			var buf bytes.Buffer
			done := make(chan error, 1)
			go func() { done <- allocation.SolveJSON(r, &buf) }()
			select {
			case err := <-done:
				if err != nil {
					return err
				}
			case <-cmd.Context().Done():
				return fmt.Errorf("allocate solve: stopped before finishing (%w); no result written", context.Cause(cmd.Context()))
			}
			var verdict struct {
				Audit struct {
					OK bool `json:"ok"`
				} `json:"audit"`
			}
			if err := json.Unmarshal(buf.Bytes(), &verdict); err != nil {
				return fmt.Errorf("allocate solve: read own result: %w", err)
			}
			if out == "-" {
				if _, err := c.stdout.Write(buf.Bytes()); err != nil {
					return err
				}
			} else if err := os.WriteFile(out, buf.Bytes(), 0o644); err != nil {
				return fmt.Errorf("allocate solve: %w", err)
			}
			if !verdict.Audit.OK {
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
	allocate.AddCommand(solve)
	return allocate
}
