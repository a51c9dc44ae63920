package schema

import "strings"

// The declaration's shape is written once, here: the decoder walks it to
// read the YAML (keys, kinds, enums, defaults), and the JSON Schema for
// editors is generated from it. A test checks it against the Go types, so
// the three cannot drift apart.

// kind is what a key's value must be.
type kind uint8

const (
	kindObject   kind = iota + 1 // mapping with fixed keys → struct or *struct
	kindMap                      // mapping with keys from a fixed set → map[string]T
	kindList                     // sequence → []T
	kindBool                     // → bool
	kindInt                      // → int
	kindString                   // → string (or a named string type)
	kindDuration                 // Go duration string → Duration
	kindLiteral                  // any scalar, kept as written → *string
)

// spec describes one value of the declaration.
type spec struct {
	kind kind
	// doc is the description shown in editors.
	doc string
	// def is the default set when the key is absent: bool, int or string
	// (a duration is written as a string).
	def any
	// enum lists the accepted strings of a kindString.
	enum []string

	// For the JSON Schema only; the Go validation checks the same with
	// messages a person can act on.
	pattern  string
	maxLen   int
	min, max int // kindInt bounds when max > 0
	minItems int
	minProps int
	unique   bool

	// fields are a kindObject's keys, in the order documentation shows them.
	fields []*field
	// nullable: a null value (`password:` with nothing after it) means
	// the object is present with its defaults. Grant blocks only.
	nullable bool
	// elem is the element of a kindList or kindMap.
	elem *spec
	// keys are the accepted keys of a kindMap, and keyDoc describes each.
	keys   []string
	keyDoc func(key string) string
	// hint adds advice to the error about an unknown key of this mapping.
	hint func(key string) string
}

// field is a key of an object.
type field struct {
	key      string
	required bool
	*spec
}

func (s *spec) field(key string) *field {
	for _, f := range s.fields {
		if f.key == key {
			return f
		}
	}
	return nil
}

func (s *spec) fieldKeys() []string {
	keys := make([]string, len(s.fields))
	for i, f := range s.fields {
		keys[i] = f.key
	}
	return keys
}

func opt(key string, s *spec) *field { return &field{key: key, spec: s} }
func req(key string, s *spec) *field { return &field{key: key, required: true, spec: s} }

func object(doc string, fields ...*field) *spec {
	return &spec{kind: kindObject, doc: doc, fields: fields}
}

func str(doc string) *spec { return &spec{kind: kindString, doc: doc} }

func enum(doc string, def string, values ...string) *spec {
	s := &spec{kind: kindString, doc: doc, enum: values}
	if def != "" {
		s.def = def
	}
	return s
}

func boolean(doc string, def bool) *spec { return &spec{kind: kindBool, doc: doc, def: def} }

func duration(doc, def string) *spec { return &spec{kind: kindDuration, doc: doc, def: def} }

func list(doc string, elem *spec) *spec { return &spec{kind: kindList, doc: doc, elem: elem} }

// Patterns for the JSON Schema.
const (
	durationPattern  = `^([0-9]+(\.[0-9]*)?(ns|us|µs|ms|s|m|h))+$`
	sqlNamePattern   = `^[a-z_][a-z0-9_]*$`
	scopePattern     = `^[!#-\[\]-~]+$` // RFC 6749 §3.3 scope-token
	absoluteURIRegex = `^[A-Za-z][A-Za-z0-9+.-]*:[^\s]+$`
)

func sqlName(doc string) *spec {
	return &spec{kind: kindString, doc: doc, pattern: sqlNamePattern, maxLen: MaxIdentifierLength}
}

// grant is the spec of a grant block: enabled and drop, then its options.
func grant(doc string, options ...*field) *spec {
	s := object(doc+"\n\nA block that is present (even empty: `{}`, or nothing after the colon) enables the grant.",
		opt("enabled", boolean("Turn the grant on or off. Default: true when the block is present. Turning it off keeps its tables and data unless drop is set.", true)),
		opt("drop", boolean("With enabled: false, drop the tables only this grant needed on the next generate (their data is lost). Default: false.", false)),
	)
	s.fields = append(s.fields, options...)
	s.nullable = true
	return s
}

// tableKindDoc describes a table kind, for the keys of storage maps.
func tableKindDoc(kind string) string {
	switch kind {
	case TableClients:
		return "registered clients"
	case TableUsers:
		return "users (generated when the password grant is declared and storage.users maps no table of yours)"
	case TableFamilies:
		return "token families: every token issued from one authorization"
	case TableAccessTokens:
		return "access tokens (their SHA-256)"
	case TableRefreshTokens:
		return "refresh tokens (their SHA-256)"
	case TableAuthorizationCodes:
		return "authorization codes (their SHA-256)"
	case TableDeviceCodes:
		return "device authorizations (RFC 8628)"
	case TableSigningKeys:
		return "signing keys (OpenID Connect, JWT access tokens; private keys sealed)"
	}
	return kind
}

// extraColumnKinds are the tables that accept extra columns and indexes:
// the records an application reads and writes itself.
var extraColumnKinds = []string{TableClients, TableUsers, TableAccessTokens, TableRefreshTokens}

// declarationSpec is the whole declaration.
var declarationSpec = func() *spec {
	columnTypes := []string{TypeText, TypeInt64, TypeFloat64, TypeBool, TypeTime}

	column := object("An extra column.",
		req("name", sqlName("Column name: lowercase letters, digits and underscores; not a built-in column of the table, an SQL reserved word or a Go keyword.")),
		req("type", enum("Column type: text, int64, float64, bool or time (a timestamp with time zone).", "", columnTypes...)),
		opt("nullable", boolean("Allow NULL; the generated field is then a pointer. Default: false.", false)),
		opt("default", &spec{kind: kindLiteral, doc: "Default value, a literal of the column's type: a string, an integer, a number, true/false, or for time an RFC 3339 timestamp or `now`. A column added to an existing table needs a default or nullable: true."}),
	)
	index := object("An extra index.",
		req("columns", &spec{kind: kindList, doc: "Columns of the index, in order: built-in or extra columns of the table.", elem: sqlName("A column of the table."), minItems: 1, unique: true}),
		opt("unique", boolean("Make it a unique index. Default: false.", false)),
	)
	table := object("Name override of a generated table.",
		opt("name", sqlName("Full table name (the prefix is not added). Default: table_prefix followed by the table kind.")),
		opt("renamed_from", sqlName("The table's previous full name: the next generate emits a migration renaming it to name.")),
	)
	allKinds := TableKinds()

	return object("oauthgen declaration: the OAuth 2.0 grants a server offers and the storage oauthgen generates for them. Run `oauthgen generate` after changing it.",
		req("version", &spec{kind: kindInt, doc: "Version of the declaration format. Always 1.", min: 1, max: 1}),
		opt("package", &spec{kind: kindString, doc: "Go package name of the generated code. Default: the last element of out, when that is a valid package name; oauthstore when out is not set either.", pattern: goPackageName.String()}),
		opt("out", str("Folder of the generated code, relative to this file's folder, with forward slashes. Default: ./ followed by package, or ./oauthstore.")),
		req("dialect", enum("SQL dialect of the generated migrations, queries and Store: sqlite, postgres or mysql.", "", string(SQLite), string(Postgres), string(MySQL))),
		opt("issuer", str("Default issuer identifier of the generated NewServer (RFC 8414): an https URL (http for localhost) without query or fragment. The application may override it.")),
		req("grants", func() *spec {
			s := object("The grants the server offers. Declare at least one.",
				opt("authorization_code", grant("Authorization code grant (RFC 6749 §4.1).",
					opt("pkce", enum("Which clients must use PKCE (RFC 7636): required (every client, as OAuth 2.1 asks), public (public clients; the default) or optional (none).", PKCEPublic, PKCERequired, PKCEPublic, PKCEOptional)),
					opt("allow_plain_pkce", boolean("Accept code_challenge_method=plain besides S256. Default: false.", false)),
					opt("require_state", boolean("Refuse authorization requests without a state parameter. Default: false.", false)),
				)),
				opt("client_credentials", grant("Client credentials grant (RFC 6749 §4.4).")),
				opt("password", grant("Resource owner password credentials grant (RFC 6749 §4.3). Needs a users table: generated, or an existing one mapped by storage.users.")),
				opt("refresh_token", grant("Refresh tokens (RFC 6749 §6), issued by authorization_code, password, device_code and extension grants.",
					opt("rotation", boolean("Replace the refresh token on every use and revoke the whole family when an old one is replayed (RFC 9700 §4.14.2). Default: true.", true)),
					opt("reuse_interval", duration("How long after a rotation the same client may present the rotated token again and get a new pair in the same family instead of having the family revoked: covers two tabs refreshing at once and a response lost after its commit. Within it a stolen, just-rotated token goes undetected (RFC 9700 §4.14.2). From 0s (strict) to 5m. Default: 0s.", "0s")),
				)),
				opt("device_code", grant("Device authorization grant (RFC 8628).",
					opt("interval", duration("Minimum polling interval, whole seconds from 1s to 60s. Default: 5s.", "5s")),
					opt("user_code", object("Shape of the codes users type on a second device.",
						opt("charset", &spec{kind: kindString, doc: "Characters of user codes: at least 10 distinct ASCII letters or digits, no letter in both cases. Default: BCDFGHJKLMNPQRSTVWXZ (RFC 8628 §6.1: no vowels, nothing easily confused).", def: DefaultUserCodeCharset, pattern: `^[A-Za-z0-9]{10,}$`}),
						opt("length", &spec{kind: kindInt, doc: "Length of user codes, 6 to 20, giving at least 30 bits of entropy with the charset. Default: 8.", def: 8, min: 6, max: 20}),
					)),
				)),
				opt("implicit", grant("Implicit grant (RFC 6749 §4.2). OAuth 2.1 drops it: declare it only for a client that cannot move to authorization_code with PKCE.")),
				opt("extensions", &spec{kind: kindList, doc: "Extension grant types (RFC 6749 §4.5) as absolute URIs, such as urn:ietf:params:oauth:grant-type:jwt-bearer; the application registers a handler for each.", elem: &spec{kind: kindString, doc: "An extension grant type: an absolute URI.", pattern: absoluteURIRegex}, unique: true}),
			)
			s.minProps = 1
			s.hint = func(key string) string {
				if strings.Contains(key, ":") {
					return "extension grants are listed by URI in grants.extensions"
				}
				return ""
			}
			return s
		}()),
		opt("lifetimes", object("How long what the server issues stays valid, as Go durations (1h, 336h, 90s). Whole seconds.",
			opt("access_token", duration("Access token lifetime, at most 24h. Default: 1h.", "1h")),
			opt("refresh_token", duration("Refresh token lifetime, at most 8760h (a year). Default: 336h (14 days).", "336h")),
			opt("authorization_code", duration("Authorization code lifetime, at most 1h; RFC 6749 §4.1.2 recommends at most 10m. Default: 5m.", "5m")),
			opt("device_code", duration("Device code lifetime, from 1m to 1h. Default: 10m.", "10m")),
		)),
		opt("scopes", object("Scopes (RFC 6749 §3.3).",
			opt("known", &spec{kind: kindList, doc: "The scopes the server knows; a request for another is invalid_scope. Empty or absent: any well-formed scope.", elem: &spec{kind: kindString, doc: "A scope token.", pattern: scopePattern}, unique: true}),
			opt("default", &spec{kind: kindList, doc: "Scopes granted when a request names none; each must be known when known is set.", elem: &spec{kind: kindString, doc: "A scope token.", pattern: scopePattern}, unique: true}),
		)),
		opt("bearer", object("How protected resources accept access tokens (RFC 6750).",
			opt("allow_form", boolean("Accept access_token in a form-encoded body (RFC 6750 §2.2). Default: false.", false)),
			opt("allow_query", boolean("Accept access_token in the URL query (RFC 6750 §2.3; discouraged: URLs get logged). Default: false.", false)),
			opt("realm", str("Realm of WWW-Authenticate challenges. Default: none.")),
		)),
		opt("storage", object("The database schema.",
			opt("table_prefix", &spec{kind: kindString, doc: "Prefix of every generated table's name (not of a mapped users table). May be empty. Default: oauth_.", def: DefaultTablePrefix, pattern: `^([a-z_][a-z0-9_]*)?$`}),
			opt("tables", &spec{kind: kindMap, doc: "Name overrides, by table kind.", keys: allKinds, elem: table,
				keyDoc: func(k string) string { return "Name override of the " + tableKindDoc(k) + " table." }}),
			opt("users", object("An EXISTING table of your application's users, for the password grant. Omit the block to have oauthgen generate its own users table.",
				req("table", sqlName("Full name of your users table (no prefix is added).")),
				req("id", object("The table's primary key.",
					req("column", sqlName("Primary key column.")),
					req("type", enum("Primary key type: text, int64 or uuid.", "", IDText, IDInt64, IDUUID)),
				)),
				req("username", sqlName("Column users sign in with (a username or an email).")),
				req("password_hash", sqlName("Column holding bcrypt or argon2id password hashes (PHC strings).")),
			)),
			opt("extra_columns", &spec{kind: kindMap, doc: "Extra typed columns, by table: they become fields of the generated records, settable when creating them.", keys: extraColumnKinds, elem: list("Extra columns.", column),
				keyDoc: func(k string) string { return "Extra columns of the " + tableKindDoc(k) + " table." }}),
			opt("indexes", &spec{kind: kindMap, doc: "Extra indexes, by table.", keys: extraColumnKinds, elem: list("Extra indexes.", index),
				keyDoc: func(k string) string { return "Extra indexes of the " + tableKindDoc(k) + " table." }}),
		)),
		opt("openid_connect", func() *spec {
			s := object("OpenID Connect (OpenID Connect Core 1.0) on the authorization code grant: scope=openid gets an ID token, the UserInfo endpoint and discovery are served. Needs grants.authorization_code. A block that is present (even empty) enables it.",
				opt("id_token_lifetime", duration("ID token lifetime, from 1s to 24h. Default: 1h.", "1h")),
				opt("claims", &spec{kind: kindMap, doc: "Which column of the users table backs each standard claim (sub is the user id): extra columns of the generated users table (storage.extra_columns.users), or columns of your mapped storage.users table. Text claims need text columns; email_verified and phone_number_verified bool; updated_at time or int64. preferred_username defaults to the username column.",
					keys: standardClaims, elem: sqlName("A column of the users table."),
					keyDoc: func(k string) string { return "Column backing the " + k + " claim." }}),
			)
			s.nullable = true
			return s
		}()),
		opt("access_tokens", object("Issued access tokens.",
			opt("format", enum("opaque (random strings, checked by introspection or the engine's RequireToken) or jwt (RFC 9068 JWTs that resource servers verify offline with the JWKS; a revoked one stays valid to them until it expires). Default: opaque.", AccessTokenOpaque, AccessTokenOpaque, AccessTokenJWT)),
		)),
		opt("signing_keys", object("Keys that sign ID tokens and JWT access tokens. They are generated, stored (private keys sealed under the key-encryption key the server gets from OAUTHGEN_KEY_ENCRYPTION_KEY, never from this file) and rotated in the database, shared by every instance.",
			opt("algorithm", enum("JWS algorithm: RS256, ES256 or EdDSA. Default: RS256, the one every OpenID relying party (Core §15.1) and RFC 9068 resource server must support; choose ES256 or EdDSA only for verifiers you know accept it.", AlgRS256, AlgRS256, AlgES256, AlgEdDSA)),
			opt("rotate_every", duration("How long a key signs before the next one takes over, at least 2h. Default: 720h.", "720h")),
			opt("retire_after", duration("How long a key stays in the JWKS after it stopped signing: at least the longest token lifetime it signs (ID tokens, JWT access tokens). Default: 168h.", "168h")),
		)),
	)
}()
