package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/loket-kinderopvang/loket/internal/geo"
)

func init() { moreCommands = append(moreCommands, newGeoCmd) }

func newGeoCmd(c *cli) *cobra.Command {
	cmd := &cobra.Command{Use: "geo", Short: "Manage the reference list of municipalities and postcodes", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() }}
	var refnis, postcodes, out string
	imp := &cobra.Command{
		Use:   "import --refnis TU_COM_REFNIS.txt [--postcodes zipcodes.csv] --out internal/geo/data",
		Short: "Build the municipality list from Statbel's REFNIS file (and bpost's postcodes)",
		Long: `Build municipalities.csv, regions.csv and postcodes.csv from Statbel's official
REFNIS file (TU_COM_REFNIS.txt, pipe-separated) and, optionally, bpost's postcode
list (CSV with the columns Postcode, Plaatsnaam and Hoofdgemeente). Only the
current municipalities of Flanders and Brussels are kept. Centres and
neighbourhoods come from the current list; a new municipality gets the centre of
its postcodes. The files are written to --out: copy them to internal/geo/data
and rebuild (the list is built into the binary), then run "loket tenants sync".
See internal/geo/data/README.md.`,
		Example: "  loket geo import --refnis TU_COM_REFNIS.txt --postcodes zipcodes_num_nl.csv --out internal/geo/data",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return c.geoImport(refnis, postcodes, out)
		},
	}
	imp.Flags().StringVar(&refnis, "refnis", "", "Statbel's REFNIS file (required)")
	imp.Flags().StringVar(&postcodes, "postcodes", "", "bpost's postcode list (optional: without it the current postcodes stay)")
	imp.Flags().StringVar(&out, "out", "", "directory to write the three CSV files to (required)")
	_ = imp.MarkFlagRequired("refnis")
	_ = imp.MarkFlagRequired("out")
	cmd.AddCommand(imp)
	return cmd
}

func (c *cli) geoImport(refnisFile, postcodeFile, out string) error {
	rf, err := os.Open(refnisFile)
	if err != nil {
		return fmt.Errorf("geo import: %w", err)
	}
	defer rf.Close()
	var pr io.Reader
	if postcodeFile != "" {
		pf, err := os.Open(postcodeFile)
		if err != nil {
			return fmt.Errorf("geo import: %w", err)
		}
		defer pf.Close()
		pr = pf
	}
	files, err := geo.Import(rf, pr)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return fmt.Errorf("geo import: %w", err)
	}
	for name, b := range map[string][]byte{"municipalities.csv": files.Municipalities, "regions.csv": files.Regions, "postcodes.csv": files.Postcodes} {
		if err := os.WriteFile(filepath.Join(out, name), b, 0o644); err != nil {
			return fmt.Errorf("geo import: %w", err)
		}
	}
	fmt.Fprintf(c.stdout, "wrote %d municipalities, %d arrondissements and %d postcodes to %s\n",
		files.MunicipalityCount, files.RegionCount, files.PostcodeCount, out)
	return nil
}
