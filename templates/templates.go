// Package templates holds the SQL text templates, per dialect, and the
// `oauthgen init` scaffold. Go code is not templated: it is built with
// jennifer in package generator.
package templates

import "embed"

// SQL holds sql/<dialect>/ddl.sql.tmpl (schema changes, one named template
// per change) and sql/queries.sql.tmpl (sqlc queries, shared by dialects).
//
//go:embed sql
var SQL embed.FS

// Init holds init/oauthgen.yaml.tmpl, the scaffold `oauthgen init` writes.
//
//go:embed init
var Init embed.FS
