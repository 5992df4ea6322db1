// Package apiclient is a client of Loket's /api/v1, generated from the
// OpenAPI document (internal/app/openapi.json and openapi/*.json) with
// oapi-codegen. The API tests call the server through it, so a document that
// no longer matches the code breaks the build or the tests; a test in
// internal/app fails when client.gen.go is not regenerated after a change of
// the document:
//
//	go generate ./internal/app/apiclient
package apiclient

//go:generate go run ./regen
