// Package templates holds the SQL text templates, per dialect, the
// `oauthgen init` declaration and the server `oauthgen init --server`
// scaffolds. Generated Go code is not templated: it is built with jennifer
// in package generator. The scaffolded server is Go its user owns and
// edits, written once; text/template keeps it readable as the Go it
// becomes.
package templates

import "embed"

// SQL holds sql/<dialect>/ddl.sql.tmpl (schema changes, one named template
// per change) and sql/queries.sql.tmpl (sqlc queries, shared by dialects).
//
//go:embed sql
var SQL embed.FS

// Init holds init/oauthgen.yaml.tmpl, the declaration `oauthgen init`
// writes.
//
//go:embed init
var Init embed.FS

// Server holds the server `oauthgen init --server` scaffolds:
// server/*.go.tmpl (Go, rendered then gofmt'd) and server/pages/*.html (the
// pages' html/template files, copied as they are).
//
//go:embed server
var Server embed.FS
