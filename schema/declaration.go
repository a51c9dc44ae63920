// Package schema is the oauthgen.yaml declaration: its Go types, strict
// decoding with file:line:col errors, defaults and validation.
package schema

import "time"

// Declaration is a loaded, defaulted and validated oauthgen.yaml.
type Declaration struct {
	// File is the path the declaration was loaded from, as given.
	File string `json:"-"`
	// Version of the declaration format; required, and 1.
	Version int `json:"version"`
	// Package is the Go package name of the generated code. Default: the
	// last element of Out when that is a valid package name (an error
	// otherwise); DefaultPackage when Out is not set either.
	Package string `json:"package"`
	// Out is the output folder, relative to the declaration's folder,
	// slash-separated, as written (see OutDir). Default: "./" + Package.
	Out string `json:"out"`
	// Dialect of the generated SQL and Store; required.
	Dialect Dialect `json:"dialect"`
	// Issuer is the default issuer URL of the generated NewServer; the
	// application may override it. Optional; when set, an https URL (http
	// for loopback hosts) without query or fragment.
	Issuer string `json:"issuer,omitempty"`
	// Grants enabled, with their options; at least one is enabled.
	Grants Grants `json:"grants"`
	// Lifetimes of what the server issues.
	Lifetimes Lifetimes `json:"lifetimes"`
	// Scopes the server knows and grants by default.
	Scopes Scopes `json:"scopes"`
	// Bearer options for protected resources.
	Bearer Bearer `json:"bearer"`
	// Storage schema: names, the users table, extra columns, indexes.
	Storage Storage `json:"storage"`
	// OpenIDConnect enables OpenID Connect on the authorization code
	// grant; nil when not declared.
	OpenIDConnect *OpenIDConnect `json:"openid_connect,omitempty"`
	// AccessTokens sets the access token format; nil is opaque.
	AccessTokens *AccessTokens `json:"access_tokens,omitempty"`
	// SigningKeys configures the keys that sign ID tokens and JWT access
	// tokens; defaulted when either is enabled (SignsTokens), nil otherwise
	// unless declared.
	SigningKeys *SigningKeys `json:"signing_keys,omitempty"`

	// Warnings are advice that does not stop generation (an implicit
	// grant, a package name that is not lowercase), positioned like errors
	// and sorted; the CLI prints them.
	Warnings ErrorList `json:"-"`

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
// grant with Enabled false is disabled (its tables stay unless Drop). A
// block that is present, even empty (`password: {}` or `password:`), is
// declared and enabled.
type Grants struct {
	// AuthorizationCode is the authorization_code grant (RFC 6749 §4.1).
	AuthorizationCode *AuthorizationCode `json:"authorization_code,omitempty"`
	// ClientCredentials is the client_credentials grant (§4.4).
	ClientCredentials *Grant `json:"client_credentials,omitempty"`
	// Password is the resource owner password grant (§4.3).
	Password *Grant `json:"password,omitempty"`
	// RefreshToken configures refresh tokens (§6); it needs an enabled
	// grant that issues them (Declaration.IssuesRefreshTokens).
	RefreshToken *RefreshToken `json:"refresh_token,omitempty"`
	// DeviceCode is the device authorization grant (RFC 8628).
	DeviceCode *DeviceCode `json:"device_code,omitempty"`
	// Implicit is the implicit grant (§4.2); deprecated, a warning.
	Implicit *Grant `json:"implicit,omitempty"`
	// Extensions are extension grant types, as absolute URIs: no
	// duplicates, none of the standard grant types.
	Extensions []string `json:"extensions,omitempty"`
}

// Grant holds what every grant block has.
type Grant struct {
	// Enabled defaults to true when the block is present.
	Enabled bool `json:"enabled"`
	// Drop, on a disabled grant, drops the tables only it needed; valid
	// only with Enabled false. Default false.
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
	// AllowPlainPKCE accepts code_challenge_method=plain; default false.
	AllowPlainPKCE bool `json:"allow_plain_pkce,omitempty"`
	// RequireState refuses authorization requests without state; default
	// false.
	RequireState bool `json:"require_state,omitempty"`
}

// On reports whether the grant is declared and enabled.
func (g *AuthorizationCode) On() bool { return g != nil && g.Enabled }

// RefreshToken configures refresh tokens.
type RefreshToken struct {
	Grant
	// Rotation replaces a refresh token on every use; default true.
	Rotation bool `json:"rotation"`
	// ReuseInterval is how long a rotated token may be presented again by
	// its client and still get a new pair; default 0s, strict rotation.
	ReuseInterval Duration `json:"reuse_interval"`
}

// On reports whether the grant is declared and enabled.
func (g *RefreshToken) On() bool { return g != nil && g.Enabled }

// DeviceCode configures the device authorization grant.
type DeviceCode struct {
	Grant
	// Interval is the minimum polling interval, whole seconds from 1s to
	// 60s, shorter than Lifetimes.DeviceCode; default 5s.
	Interval Duration `json:"interval"`
	// UserCode shapes the codes users type.
	UserCode UserCode `json:"user_code"`
}

// On reports whether the grant is declared and enabled.
func (g *DeviceCode) On() bool { return g != nil && g.Enabled }

// UserCode shapes device user codes.
type UserCode struct {
	// Charset defaults to DefaultUserCodeCharset: at least 10 distinct
	// ASCII letters or digits, no letter in both cases.
	Charset string `json:"charset"`
	// Length defaults to DefaultUserCodeLength; 6 to 20, and with Charset
	// at least 30 bits of entropy (Length × log2(len(Charset)) ≥ 30).
	Length int `json:"length"`
}

// Lifetimes of issued credentials, in whole seconds.
type Lifetimes struct {
	AccessToken       Duration `json:"access_token"`       // default 1h; 1s to 24h
	RefreshToken      Duration `json:"refresh_token"`      // default 336h; 1m to 8760h
	AuthorizationCode Duration `json:"authorization_code"` // default 5m; 1s to 1h
	DeviceCode        Duration `json:"device_code"`        // default 10m; 1m to 1h
}

// Scopes the server knows and grants by default: RFC 6749 §3.3 scope
// tokens, no duplicates; Default ⊆ Known when Known is set.
type Scopes struct {
	// Known are the scopes the server knows; empty accepts any.
	Known []string `json:"known,omitempty"`
	// Default are granted when a request names none.
	Default []string `json:"default,omitempty"`
}

// Bearer configures where protected resources accept access tokens.
type Bearer struct {
	// AllowForm accepts access_token in a form body (RFC 6750 §2.2).
	AllowForm bool `json:"allow_form,omitempty"`
	// AllowQuery accepts access_token in the query (RFC 6750 §2.3).
	AllowQuery bool `json:"allow_query,omitempty"`
	// Realm of WWW-Authenticate challenges: printable ASCII, no quotes
	// or backslashes; empty for none.
	Realm string `json:"realm,omitempty"`
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
	TableSigningKeys        = "signing_keys"
)

// Storage describes the database schema.
type Storage struct {
	// TablePrefix is prepended to every generated table's name (not to a
	// mapped users table); DefaultTablePrefix when absent, may be empty.
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
	// Name replaces prefix+kind; empty keeps prefix+kind (an override
	// may only rename, see TableName).
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
	// Column is the primary key column's name.
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
	// Name is the column's name: a SQL-safe identifier, not a built-in
	// column of its table (Declaration.Builtins).
	Name string `json:"name"`
	// Type is one of TypeText, TypeInt64, TypeFloat64, TypeBool, TypeTime.
	Type string `json:"type"`
	// Nullable allows NULL; default false.
	Nullable bool `json:"nullable,omitempty"`
	// Default is a literal of the column's type; nil for none. Parse
	// writes it canonically: a decimal integer, a float as
	// strconv.FormatFloat(f, 'g', -1, 64), true or false, text as is, and
	// for time "now" or an RFC 3339 timestamp in UTC.
	Default *string `json:"default,omitempty"`
}

// Index is an extra index.
type Index struct {
	// Columns are built-in or extra columns of the table, in order; at
	// least one, none twice.
	Columns []string `json:"columns"`
	// Unique makes it a unique index; default false.
	Unique bool `json:"unique,omitempty"`
}

// Duration is a time.Duration written as Go writes them ("1h", "336h", "5m").
type Duration struct{ time.Duration }

// Position is a place in the declaration file; 1-based.
type Position struct {
	// Line and Column count from 1; Column counts characters.
	Line, Column int
}

// OpenIDConnect configures OpenID Connect (OpenID Connect Core 1.0).
type OpenIDConnect struct {
	// IDTokenLifetime is how long ID tokens are valid; default 1h, 1s to 24h.
	IDTokenLifetime Duration `json:"id_token_lifetime"`
	// Claims maps standard claims (StandardClaims) to columns of the users
	// table: extra columns of the generated table, or columns of the
	// mapped storage.users table. preferred_username defaults to the
	// username column when users exist.
	Claims map[string]string `json:"claims,omitempty"`
}

// Access token formats.
const (
	AccessTokenOpaque = "opaque"
	AccessTokenJWT    = "jwt"
)

// AccessTokens configures issued access tokens.
type AccessTokens struct {
	// Format is AccessTokenOpaque (default) or AccessTokenJWT (RFC 9068).
	Format string `json:"format"`
}

// Signing algorithms.
const (
	AlgES256 = "ES256"
	AlgRS256 = "RS256"
	AlgEdDSA = "EdDSA"
)

// SigningKeys configures the signing keys the store keeps and rotates.
type SigningKeys struct {
	// Algorithm is AlgRS256 (default), AlgES256 or AlgEdDSA.
	Algorithm string `json:"algorithm"`
	// RotateEvery is how long a key signs; default 720h, at least 2h.
	RotateEvery Duration `json:"rotate_every"`
	// RetireAfter is how long a key stays published after it stopped
	// signing; default 168h, at least the longest token lifetime it covers.
	RetireAfter Duration `json:"retire_after"`
}
