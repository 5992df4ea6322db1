package main

import (
	"github.com/spf13/cobra"

	"github.com/loket-kinderopvang/loket/internal/app"
)

func init() { moreCommands = append(moreCommands, newOpenAPICmd) }

// newOpenAPICmd prints the merged OpenAPI document, the one served at
// /api/v1/openapi.json, so that CI can lint it (Redocly) without a server.
func newOpenAPICmd(c *cli) *cobra.Command {
	return &cobra.Command{
		Use:     "openapi",
		Short:   "Print the OpenAPI document of /api/v1 (JSON)",
		Example: "  loket openapi > openapi.json",
		Args:    cobra.NoArgs,
		// No configuration is needed: the document is built into the binary.
		PersistentPreRunE: func(*cobra.Command, []string) error { return nil },
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, err := c.stdout.Write(app.OpenAPIDocument(true))
			return err
		},
	}
}
