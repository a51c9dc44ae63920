// Package schema is the oauthgen.yaml declaration: its Go types, strict
// decoding with file:line:col errors, defaults and validation.
package schema

import "time"

// Declaration is a loaded, defaulted and validated oauthgen.yaml.
type Declaration struct {
	// File is the path the declaration was loaded from, as given.
	File string `json:"-"`
	// Version of the declaration format; 1.
	Version int `json:"version"`
	// Package is the Go package name of the generated code.
	Package string `json:"package"`
	// Out is the output folder, relative to the declaration's folder.
	Out string `json:"out"`
	// Dialect of the generated SQL and Store.
	Dialect Dialect `json:"dialect"`
	// Issuer is the default issuer URL of the generated NewServer; the
	// application may override it.
	Issuer string `json:"issuer,omitempty"`
	// Grants enabled, with their options.
	Grants Grants `json:"grants"`
	// Lifetimes of what the server issues.
	Lifetimes Lifetimes `json:"lifetimes"`
	// Scopes the server knows and grants by default.
	Scopes Scopes `json:"scopes"`
	// Bearer options for protected resources.
	Bearer Bearer `json:"bearer"`
	// Storage schema: names, the users table, extra columns, indexes.
	Storage Storage `json:"storage"`

	// positions of every key and value, by path ("grants.refresh_token.rotation").
	positions map[string]Position
}

// Dialect is a SQL dialect.
type Dialect string

// Dialects.
const (
	SQLite   Dialect = "sqlite"
	Postgres Dialect = "postgres"
	MySQL    Dialect = "mysql"
)

// Grants lists the enabled grants. A nil grant is not declared; a declared
// grant with Enabled false is disabled (its tables stay unless Drop).
type Grants struct {
	AuthorizationCode *AuthorizationCode `json:"authorization_code,omitempty"`
	ClientCredentials *Grant             `json:"client_credentials,omitempty"`
	Password          *Grant             `json:"password,omitempty"`
	RefreshToken      *RefreshToken      `json:"refresh_token,omitempty"`
	DeviceCode        *DeviceCode        `json:"device_code,omitempty"`
	Implicit          *Grant             `json:"implicit,omitempty"`
	// Extensions are extension grant types, as absolute URIs.
	Extensions []string `json:"extensions,omitempty"`
}

// Grant holds what every grant block has.
type Grant struct {
	// Enabled defaults to true when the block is present.
	Enabled bool `json:"enabled"`
	// Drop, on a disabled grant, drops the tables only it needed.
	Drop bool `json:"drop,omitempty"`
}

// On reports whether the grant is declared and enabled.
func (g *Grant) On() bool { return g != nil && g.Enabled }

// PKCE policies of the authorization_code grant.
const (
	PKCERequired = "required" // every client
	PKCEPublic   = "public"   // public clients (the default)
	PKCEOptional = "optional" // no client
)

// AuthorizationCode configures the authorization_code grant.
type AuthorizationCode struct {
	Grant
	// PKCE is PKCERequired, PKCEPublic (default) or PKCEOptional.
	PKCE string `json:"pkce"`
	// AllowPlainPKCE accepts code_challenge_method=plain.
	AllowPlainPKCE bool `json:"allow_plain_pkce,omitempty"`
	// RequireState refuses authorization requests without state.
	RequireState bool `json:"require_state,omitempty"`
}

// On reports whether the grant is declared and enabled.
func (g *AuthorizationCode) On() bool { return g != nil && g.Enabled }

// RefreshToken configures refresh tokens.
type RefreshToken struct {
	Grant
	// Rotation replaces a refresh token on every use; default true.
	Rotation bool `json:"rotation"`
}

// On reports whether the grant is declared and enabled.
func (g *RefreshToken) On() bool { return g != nil && g.Enabled }

// DeviceCode configures the device authorization grant.
type DeviceCode struct {
	Grant
	// Interval is the minimum polling interval; default 5s.
	Interval Duration `json:"interval"`
	// UserCode shapes the codes users type.
	UserCode UserCode `json:"user_code"`
}

// On reports whether the grant is declared and enabled.
func (g *DeviceCode) On() bool { return g != nil && g.Enabled }

// UserCode shapes device user codes.
type UserCode struct {
	// Charset defaults to "BCDFGHJKLMNPQRSTVWXZ".
	Charset string `json:"charset"`
	// Length defaults to 8.
	Length int `json:"length"`
}

// Lifetimes of issued credentials.
type Lifetimes struct {
	AccessToken       Duration `json:"access_token"`       // default 1h
	RefreshToken      Duration `json:"refresh_token"`      // default 336h
	AuthorizationCode Duration `json:"authorization_code"` // default 5m
	DeviceCode        Duration `json:"device_code"`        // default 10m
}

// Scopes the server knows and grants by default.
type Scopes struct {
	Known   []string `json:"known,omitempty"`
	Default []string `json:"default,omitempty"`
}

// Bearer configures where protected resources accept access tokens.
type Bearer struct {
	AllowForm  bool   `json:"allow_form,omitempty"`
	AllowQuery bool   `json:"allow_query,omitempty"`
	Realm      string `json:"realm,omitempty"`
}

// Table kinds, the keys of Storage.Tables and Storage.ExtraColumns.
const (
	TableClients            = "clients"
	TableUsers              = "users"
	TableFamilies           = "families"
	TableAccessTokens       = "access_tokens"
	TableRefreshTokens      = "refresh_tokens"
	TableAuthorizationCodes = "authorization_codes"
	TableDeviceCodes        = "device_codes"
)

// Storage describes the database schema.
type Storage struct {
	// TablePrefix is prepended to every generated table's name (not to a
	// mapped users table); default "oauth_".
	TablePrefix string `json:"table_prefix"`
	// Tables overrides names, by table kind.
	Tables map[string]Table `json:"tables,omitempty"`
	// Users maps an existing users table; nil has oauthgen generate one.
	Users *Users `json:"users,omitempty"`
	// ExtraColumns adds typed columns, by table kind (clients, users,
	// access_tokens, refresh_tokens).
	ExtraColumns map[string][]Column `json:"extra_columns,omitempty"`
	// Indexes adds indexes, by table kind.
	Indexes map[string][]Index `json:"indexes,omitempty"`
}

// Table overrides a generated table's name.
type Table struct {
	// Name replaces prefix+kind.
	Name string `json:"name"`
	// RenamedFrom is the table's previous name; regenerating renames it.
	RenamedFrom string `json:"renamed_from,omitempty"`
}

// User id column types.
const (
	IDText  = "text"
	IDInt64 = "int64"
	IDUUID  = "uuid"
)

// Users maps an existing application table of users.
type Users struct {
	// Table is the table's full name (no prefix is added).
	Table string `json:"table"`
	// ID is the primary key column.
	ID UserID `json:"id"`
	// Username is the column users sign in with.
	Username string `json:"username"`
	// PasswordHash is the column holding bcrypt or argon2id hashes.
	PasswordHash string `json:"password_hash"`
}

// UserID is the users table's primary key.
type UserID struct {
	Column string `json:"column"`
	// Type is IDText, IDInt64 or IDUUID.
	Type string `json:"type"`
}

// Column types for extra columns.
const (
	TypeText    = "text"
	TypeInt64   = "int64"
	TypeFloat64 = "float64"
	TypeBool    = "bool"
	TypeTime    = "time"
)

// Column is an extra column.
type Column struct {
	Name string `json:"name"`
	// Type is one of TypeText, TypeInt64, TypeFloat64, TypeBool, TypeTime.
	Type     string `json:"type"`
	Nullable bool   `json:"nullable,omitempty"`
	// Default is a literal of the column's type, as written in YAML;
	// nil for none.
	Default *string `json:"default,omitempty"`
}

// Index is an extra index.
type Index struct {
	Columns []string `json:"columns"`
	Unique  bool     `json:"unique,omitempty"`
}

// Duration is a time.Duration written as Go writes them ("1h", "336h", "5m").
type Duration struct{ time.Duration }

// Position is a place in the declaration file; 1-based.
type Position struct {
	Line, Column int
}
