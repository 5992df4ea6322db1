// Command regen writes client.gen.go of package apiclient from the merged
// OpenAPI document (go generate ./internal/app/apiclient).
package main

import (
	"fmt"
	"os"

	"github.com/loket-kinderopvang/loket/internal/app"
	"github.com/loket-kinderopvang/loket/internal/app/apiclient/apigen"
)

func main() {
	code, err := apigen.Generate(app.OpenAPIDocument(false))
	if err == nil {
		err = os.WriteFile("client.gen.go", code, 0o644)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "regen:", err)
		os.Exit(1)
	}
}
