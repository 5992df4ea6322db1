package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/loket-kinderopvang/loket/internal/app"
	"github.com/loket-kinderopvang/loket/internal/catalog"
)

func init() { moreCommands = append(moreCommands, newCatalogCmd) }

func newCatalogCmd(c *cli) *cobra.Command {
	cmd := &cobra.Command{Use: "catalog", Short: "Manage the public catalogue of childcare locations", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() }}
	var dryRun bool
	imp := &cobra.Command{
		Use:   "import FILE",
		Short: "Import locations from Opgroeien's list (CSV or XLSX)",
		Long: `Import the licensed childcare locations from Opgroeien's public list: a CSV file
(separated by ; or ,, UTF-8) or an XLSX workbook (first sheet). The columns are
described in docs/catalog-import.md.

Every row is checked first. When one row is wrong, nothing is imported and the
command lists each problem with its row and column. A good file is imported in
one transaction: locations are matched by dossier number, providers by
enterprise number (else by name). Importing the same file again changes nothing.`,
		Example: "  loket catalog import opvanglocaties.xlsx --dry-run\n  loket catalog import opvanglocaties.csv",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return c.catalogImport(cmd.Context(), args[0], dryRun)
		},
	}
	imp.Flags().BoolVar(&dryRun, "dry-run", false, "check the file and count what would change, without writing")
	cmd.AddCommand(imp)
	return cmd
}

func (c *cli) catalogImport(ctx context.Context, file string, dryRun bool) error {
	// Fail on a missing file before touching the database.
	if _, err := os.Stat(file); err != nil {
		return fmt.Errorf("catalog import: %w", err)
	}
	if _, err := app.Migrate(ctx, c.cfg); err != nil {
		return err
	}
	a, err := app.Open(ctx, c.cfg, c.log)
	if err != nil {
		return err
	}
	defer a.Close()
	progress := newProgressLine(c.stderr)
	rep, err := a.Catalog.ImportFile(ctx, file, catalog.ImportOptions{DryRun: dryRun, Progress: progress.update})
	progress.done()
	if err != nil {
		return err
	}
	if !dryRun {
		// Provider-wide roles reach the new locations.
		if err := a.GroupLocations(ctx); err != nil {
			return err
		}
	}
	printImport(c.stdout, rep)
	c.log.Info("catalogue imported", "file", file, "dry_run", dryRun, "rows", rep.Rows, "created", rep.Created,
		"updated", rep.Updated, "unchanged", rep.Unchanged)
	return nil
}

func printImport(w io.Writer, rep catalog.ImportReport) {
	if rep.DryRun {
		fmt.Fprintln(w, "Dry run: nothing was written. This is what the import would do:")
	}
	fmt.Fprintf(w, "locations: %d rows, %d created, %d updated, %d unchanged\n", rep.Rows, rep.Created, rep.Updated, rep.Unchanged)
	fmt.Fprintf(w, "providers: %d created, %d updated\n", rep.ProvidersCreated, rep.ProvidersUpdated)
	if len(rep.IgnoredColumns) > 0 {
		fmt.Fprintf(w, "ignored columns (not known): %s\n", strings.Join(rep.IgnoredColumns, ", "))
	}
}

// progressMinRows is the size from which a file shows progress: small files
// are done before anyone could read it.
const progressMinRows = 1000

// progressLine shows "saving rows 3000/6000" on one terminal line, rewritten
// with \r; to a file or pipe it writes one line per update instead.
type progressLine struct {
	w        io.Writer
	terminal bool
	width    int
	last     string
}

func newProgressLine(w io.Writer) *progressLine {
	p := &progressLine{w: w}
	if f, ok := w.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			p.terminal = true
		}
	}
	return p
}

func (p *progressLine) update(pr catalog.ImportProgress) {
	if max(pr.Done, pr.Total) < progressMinRows {
		return
	}
	line := fmt.Sprintf("%s rows %d", pr.Stage, pr.Done)
	if pr.Total > 0 {
		line = fmt.Sprintf("%s rows %d/%d", pr.Stage, pr.Done, pr.Total)
	}
	if line == p.last {
		return
	}
	p.last = line
	if !p.terminal {
		fmt.Fprintln(p.w, line)
		return
	}
	// Pad over the end of a longer previous line.
	fmt.Fprintf(p.w, "\r%-*s", p.width, line)
	p.width = max(p.width, len(line))
}

// done ends the progress line, so what follows starts on its own line.
func (p *progressLine) done() {
	if p.terminal && p.width > 0 {
		fmt.Fprintln(p.w)
	}
}
