package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/loket-kinderopvang/loket/internal/app"
	"github.com/loket-kinderopvang/loket/internal/platform/tenancy"
	"github.com/loket-kinderopvang/loket/internal/reports"
)

func init() { moreCommands = append(moreCommands, newReportCmd) }

func newReportCmd(c *cli) *cobra.Command {
	cmd := &cobra.Command{Use: "report", Short: "Figures for policy (yearly reports, exports)", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() }}
	var slug, format, out, kind string
	var year int
	export := &cobra.Command{
		Use:   "export",
		Short: "Export a desk's yearly figures as XLSX or CSV",
		Long: `Export the yearly registration figures of one desk, as the desk's report page
shows them (exact numbers: this is the desk's own data). XLSX holds every report,
one sheet each, the fixed Opgroeien layout first (docs/opgroeien-export.md). CSV
holds one report, chosen with --report (default: the Opgroeien layout).
Without --out, XLSX goes to cijfers-<desk>-<year>.xlsx and CSV to standard output.`,
		Example: "  loket report export --tenant leuven --year 2026\n  loket report export --tenant leuven --year 2026 --format csv --out leuven-2026.csv",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return c.reportExport(cmd.Context(), slug, year, format, kind, out)
		},
	}
	export.Flags().StringVar(&slug, "tenant", "", "the desk's slug (required)")
	export.Flags().IntVar(&year, "year", 0, "the calendar year of submission (required)")
	export.Flags().StringVar(&format, "format", "xlsx", "xlsx, csv (Belgian: UTF-8 with BOM, ';', decimal comma) or csv-rfc (RFC 4180: ',', decimal point)")
	export.Flags().StringVar(&kind, "report", reports.ExportOpgroeien, fmt.Sprintf("CSV only: which report (%v)", reports.DeskExports))
	export.Flags().StringVar(&out, "out", "", "output file; - is standard output")
	_ = export.MarkFlagRequired("tenant")
	_ = export.MarkFlagRequired("year")
	cmd.AddCommand(export)
	return cmd
}

func (c *cli) reportExport(ctx context.Context, slug string, year int, format, kind, out string) error {
	if format != "xlsx" && format != "csv" && format != "csv-rfc" {
		return fmt.Errorf("report export: --format must be xlsx, csv or csv-rfc (got %q)", format)
	}
	if year < 2000 || year > 2200 {
		return fmt.Errorf("report export: --year must be a year such as 2026 (got %d)", year)
	}
	if _, err := app.Migrate(ctx, c.cfg); err != nil {
		return err
	}
	a, err := app.Open(ctx, c.cfg, c.log)
	if err != nil {
		return err
	}
	defer a.Close()
	if err := a.Directory.Reload(ctx); err != nil {
		return err
	}
	t, ok := a.Directory.BySlug(slug)
	if !ok {
		return fmt.Errorf("report export: no desk %q (see loket tenants sync)", slug)
	}
	// No regional report here: the command reads one desk's own figures.
	svc := reports.NewService(a.DB, a.Directory, a.Clock, nil)
	rep, err := svc.Desk(tenancy.WithTenant(ctx, t.ID), t, year)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if format == "xlsx" {
		err = rep.WriteXLSX(&buf)
	} else {
		err = rep.WriteCSV(&buf, kind, reports.CSVFormats[format])
	}
	if err != nil {
		return fmt.Errorf("report export: %w", err)
	}
	if out == "" && format == "xlsx" {
		out = fmt.Sprintf("cijfers-%s-%d.xlsx", slug, year)
	}
	var w io.Writer = c.stdout
	if out != "" && out != "-" {
		if err := os.WriteFile(out, buf.Bytes(), 0o644); err != nil {
			return fmt.Errorf("report export: %w", err)
		}
		abs, _ := filepath.Abs(out)
		fmt.Fprintf(c.stderr, "wrote %s (%d requests in %d)\n", abs, rep.Desk.Requests.N, year)
		return nil
	}
	_, err = w.Write(buf.Bytes())
	return err
}
