// Package tenants holds the demo desk declarations (one <slug>.yaml per desk,
// format in README.md). They are embedded so that a deployment without a
// configured tenants directory still has desks to sync; internal/tenant loads
// and validates them.
package tenants

import "embed"

// Demo holds the demo desks: leuven.yaml, geel-laakdal-meerhout.yaml and
// stadsregio-turnhout.yaml, at the root of the file system (pass it to
// tenant.LoadDir).
//
//go:embed *.yaml
var Demo embed.FS
