// Package migrations holds Loket's schema history, embedded in the binary.
//
// One history serves both databases. Each file is a Go template rendered with
// {{.Dialect}} ("postgres" or "sqlite"), so statements that only one database
// has (row-level security, role grants) sit in a dialect block inside the same
// migration instead of in a second history. Statements are separated by
// "--bun:split" lines. PostgreSQL is the reference schema. A tenant-owned
// table ends its migration with {{.TenantOwned "table" …}}, which puts it
// under row-level security on PostgreSQL (see db.templateData).
package migrations

import "embed"

// Files are the migration files.
//
//go:embed *.sql
var Files embed.FS
