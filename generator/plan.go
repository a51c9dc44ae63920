// Package generator turns a schema.Declaration into a Plan, and the Plan
// into files: goose migrations, sqlc queries, the sqlc output (sqlc runs
// in-process) and a typed Store built with jennifer.
package generator

import (
	"strings"
	"time"

	"github.com/oauthgen/oauthgen/schema"
)

// Plan is everything the emitters read: no emitter looks at the
// declaration. Derived names (SQL and Go) live here, not in templates.
type Plan struct {
	// Package is the Go package name of the output.
	Package string
	// ImportPath is the output package's import path.
	ImportPath string
	// Dialect of the SQL and the Store.
	Dialect schema.Dialect
	// Tables the Store uses, in creation order (referenced tables first).
	Tables []*Table
	// Schema is the database schema the migrations must produce: Tables,
	// plus tables of disabled grants kept for their data.
	Schema *SchemaState
	// Users describes the users table, nil when no enabled grant has users.
	Users *Users
	// Claims are the OpenID Connect claims the users table backs, by
	// claim name order; empty without OpenID Connect or users.
	Claims []Claim
	// Queries, in the order they are written to queries.sql.
	Queries []*Query
	// Runtime holds the values of the generated Config().
	Runtime RuntimeConfig
	// VersionTable is the table goose records applied migrations in.
	VersionTable string
	// ChangesChannel is the PostgreSQL channel that writes of clients and
	// limiter counts notify, for ChangeCount (store_changes.go); empty on
	// the other dialects, which count changes in a table.
	ChangesChannel string
	// PurgeBatch is the most rows one purge statement deletes: small
	// enough that a purge never holds a lock long, large enough that
	// purging stays a few statements a day.
	PurgeBatch int
}

// Interfaces lists the runtime store interfaces the Store implements.
func (p *Plan) Interfaces() []string {
	out := []string{"Store", "ClientStore", "AccessTokenStore"}
	if p.Users != nil {
		out = append(out, "UserStore")
	}
	for _, x := range []struct{ kind, iface string }{
		{schema.TableFamilies, "FamilyStore"},
		{schema.TableRefreshTokens, "RefreshTokenStore"},
		{schema.TableAuthorizationCodes, "AuthorizationCodeStore"},
		{schema.TableDeviceCodes, "DeviceCodeStore"},
		{schema.TableSigningKeys, "SigningKeyStore"},
	} {
		if p.Has(x.kind) {
			out = append(out, x.iface)
		}
	}
	if len(p.Claims) > 0 {
		out = append(out, "UserClaimsStore")
	}
	if p.Has(tableLimits) {
		out = append(out, "Limiter")
	}
	out = append(out, "ChangeCounter")
	if p.IssueChecksChangeCount() {
		out = append(out, "ChangeCountIssuer")
	}
	return out
}

// IssueChecksChangeCount reports whether the Store is a
// runtime.ChangeCountIssuer: SQLite's, where ChangeCount is a read of the
// database the engine would otherwise make per token request, and Issue
// can compare the count in the write it makes anyway.
func (p *Plan) IssueChecksChangeCount() bool { return p.Dialect == schema.SQLite }

// recordNames are the Go names of each table kind's record, in the
// runtime, in the Store and as sqlc models.
var recordNames = map[string]string{
	schema.TableClients:            "Client",
	schema.TableUsers:              "User",
	schema.TableFamilies:           "Family",
	schema.TableAccessTokens:       "AccessToken",
	schema.TableRefreshTokens:      "RefreshToken",
	schema.TableAuthorizationCodes: "AuthorizationCode",
	schema.TableDeviceCodes:        "DeviceCode",
	schema.TableSigningKeys:        "SigningKey",
}

func recordName(kind string) string { return recordNames[kind] }

// kindWords is a table kind in words: "access token".
func kindWords(kind string) string {
	return strings.TrimSuffix(strings.ReplaceAll(kind, "_", " "), "s")
}

// Table returns the Store's table of that kind, or nil.
func (p *Plan) Table(kind string) *Table {
	for _, t := range p.Tables {
		if t.Kind == kind {
			return t
		}
	}
	return nil
}

// Has reports whether the Store has a table of that kind.
func (p *Plan) Has(kind string) bool { return p.Table(kind) != nil }

// Query returns the query with that name, or nil.
func (p *Plan) Query(name string) *Query {
	for _, q := range p.Queries {
		if q.Name == name {
			return q
		}
	}
	return nil
}

// Table is a table the Store reads or writes.
type Table struct {
	// Kind is the table's role: schema.TableClients, …
	Kind string
	// Name is the SQL name.
	Name string
	// Columns in declaration order: built-in first, then extra columns.
	Columns []*Column
	// PrimaryKey column names.
	PrimaryKey []string
	// ForeignKeys of the table.
	ForeignKeys []ForeignKey
	// Indexes besides the primary key.
	Indexes []Index
	// External tables belong to the application (a mapped users table):
	// described to sqlc, never created or altered by migrations.
	External bool
}

// Column returns the column with that name, or nil.
func (t *Table) Column(name string) *Column {
	for _, c := range t.Columns {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// Extras returns the table's extra (declared) columns.
func (t *Table) Extras() []*Column {
	var out []*Column
	for _, c := range t.Columns {
		if c.Extra {
			out = append(out, c)
		}
	}
	return out
}

// Column is a table column.
type Column struct {
	// Name is the SQL name.
	Name string
	// Type is the portable type.
	Type Type
	// SQLType is the dialect's column type.
	SQLType string
	// Nullable columns map to pointer types in Go.
	Nullable bool
	// Default is a SQL literal, or "" for none.
	Default string
	// GoName is the field name sqlc gives the column.
	GoName string
	// Extra columns come from the declaration's extra_columns.
	Extra bool
	// DeclPath is where an extra column is declared, for errors.
	DeclPath string
}

// ForeignKey is a column referencing another table's key.
type ForeignKey struct {
	// Name of the constraint; kept as first created when a table is renamed.
	Name      string `json:"name"`
	Column    string `json:"column"`
	RefTable  string `json:"ref_table"`
	RefColumn string `json:"ref_column"`
	// OnDelete is "CASCADE".
	OnDelete string `json:"on_delete"`
}

// Index is a secondary index.
type Index struct {
	// Name of the index; kept as first created when a table is renamed.
	Name    string   `json:"name"`
	Columns []string `json:"columns"`
	Unique  bool     `json:"unique,omitempty"`
	// Where makes the index partial: "user_id IS NOT NULL" leaves out the
	// rows a lookup by user never finds, so issuing them touches one
	// B-tree less. Empty on MySQL, which has no partial indexes.
	Where string `json:"where,omitempty"`
}

// Users describes where users live.
type Users struct {
	// Table is the users table (generated, or External when mapped).
	Table *Table
	// Generated is true when oauthgen owns the table.
	Generated bool
	// IDType is the type of the id column: TypeID (text), TypeInt64 or TypeUUID.
	IDType Type
	// ID, Username and PasswordHash are the column names.
	ID, Username, PasswordHash string
}

// RuntimeConfig holds what the generated Config() sets.
type RuntimeConfig struct {
	Issuer string

	AuthorizationCode bool
	PKCE              string // schema.PKCERequired, PKCEPublic, PKCEOptional
	AllowPlainPKCE    bool
	RequireState      bool

	ClientCredentials bool
	Password          bool
	RefreshToken      bool
	Rotation          bool
	ReuseInterval     time.Duration
	DeviceCode        bool
	DeviceInterval    time.Duration
	UserCodeCharset   string
	UserCodeLength    int
	Implicit          bool
	Extensions        []string

	AccessTokenLifetime       time.Duration
	RefreshTokenLifetime      time.Duration
	AuthorizationCodeLifetime time.Duration
	DeviceCodeLifetime        time.Duration

	Scopes        []string
	DefaultScopes []string

	BearerRealm      string
	BearerAllowForm  bool
	BearerAllowQuery bool

	// OpenID enables OpenID Connect, with IDTokenLifetime.
	OpenID          bool
	IDTokenLifetime time.Duration
	// JWTAccessTokens issues RFC 9068 access tokens.
	JWTAccessTokens bool
	// Signing keys, when OpenID or JWTAccessTokens.
	SigningAlgorithm string
	RotateEvery      time.Duration
	RetireAfter      time.Duration
}

// Query is one sqlc query.
type Query struct {
	// Name is the sqlc query name, and so the Go method name on sqlcdb.Queries.
	Name string
	// Cmd is the sqlc command: ":one", ":many", ":exec", ":execrows",
	// ":batchexec" or ":batchone".
	Cmd string
	// SQL is the statement, with sqlc.arg(name) parameters.
	SQL string
	// Params are the parameter names in order of first use.
	Params []string
	// Write queries go to the writer connection (SQLite has one writer).
	Write bool
}
