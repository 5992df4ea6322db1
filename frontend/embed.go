// Package frontend holds Loket's server-rendered pages: HTML templates, the one
// stylesheet, static files and the message catalogues (Dutch first, French,
// English). Everything is embedded in the binary; there is no build step.
package frontend

import "embed"

// Templates are the html/template files: layout.html plus one file per page.
//
//go:embed templates/*.html
var Templates embed.FS

// Static is served under /static/.
//
//go:embed static
var Static embed.FS

// Locales are the message catalogues, one YAML file per language.
//
//go:embed locales/*.yaml
var Locales embed.FS
