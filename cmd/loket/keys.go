package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/loket-kinderopvang/loket/internal/app"
	"github.com/loket-kinderopvang/loket/internal/platform/sealed"
)

func init() { moreCommands = append(moreCommands, newKeysCmd) }

// newKeysCmd manages the data keys that seal notes and care-need
// descriptions (docs/privacy.md, key rotation).
func newKeysCmd(c *cli) *cobra.Command {
	cmd := &cobra.Command{Use: "keys", Short: "Data keys for sensitive free text (new, rotate)", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() }}
	cmd.AddCommand(&cobra.Command{
		Use:     "new ID",
		Short:   "Print a new random data key as ID:base64, to put first in LOKET_DATA_KEYS",
		Example: "  loket keys new k2",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			k, err := sealed.NewKey(args[0])
			if err != nil {
				return err
			}
			if _, err := sealed.ParseKeys(k); err != nil {
				return err
			}
			_, err = fmt.Fprintln(c.stdout, k)
			return err
		},
	})
	cmd.AddCommand(&cobra.Command{
		Use:   "rotate",
		Short: "Re-encrypt every note and care-need description with the current (first) data key",
		Long: `Re-encrypt, desk by desk in batches, every sealed value that is still plain text
or was sealed with an older key, using the first key of LOKET_DATA_KEYS. The older
keys must still be listed after it; once this has run, they can be removed.
The server does the same daily (job data.reseal); this command does it now.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			return c.withApp(ctx, func(a *app.App) error {
				if err := a.Directory.Reload(ctx); err != nil {
					return err
				}
				n, err := a.Reseal(ctx)
				fmt.Fprintf(c.stdout, "re-encrypted %d values with key %s\n", n, a.DataKeys.Current())
				return err
			})
		},
	})
	return cmd
}
