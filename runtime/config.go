package runtime

import (
	"context"
	"log/slog"
	"net/url"
	"time"
)

// Config configures a Server. The zero value of every field is a sensible
// default; a grant is enabled by setting its field to a non-nil value.
type Config struct {
	// Issuer is the authorization server's issuer identifier (RFC 8414 §2):
	// an https URL (http is accepted for loopback hosts) without query or
	// fragment. Metadata and device verification URIs are built from it.
	Issuer string

	// AuthorizationCode enables the authorization_code grant (RFC 6749 §4.1).
	AuthorizationCode *AuthorizationCodeGrant
	// ClientCredentials enables the client_credentials grant (§4.4).
	ClientCredentials *ClientCredentialsGrant
	// Password enables the resource owner password credentials grant (§4.3).
	Password *PasswordGrant
	// RefreshToken enables refresh tokens (§6) for the grants that issue them.
	RefreshToken *RefreshTokenGrant
	// DeviceCode enables the device authorization grant (RFC 8628).
	DeviceCode *DeviceCodeGrant
	// Implicit enables the implicit grant (§4.2). OAuth 2.1 drops it; leave
	// it nil unless an existing client needs it.
	Implicit *ImplicitGrant
	// Extensions are extension grants (§4.5) by their absolute-URI grant_type.
	Extensions map[string]ExtensionGrant

	// AccessTokenLifetime defaults to 1h.
	AccessTokenLifetime time.Duration
	// RefreshTokenLifetime defaults to 14 days.
	RefreshTokenLifetime time.Duration
	// AuthorizationCodeLifetime defaults to 5m.
	AuthorizationCodeLifetime time.Duration
	// DeviceCodeLifetime defaults to 10m.
	DeviceCodeLifetime time.Duration

	// Scopes are the scopes the server knows; a request for another is
	// invalid_scope. Empty accepts any syntactically valid scope.
	Scopes []string
	// DefaultScopes are granted when a request names none.
	DefaultScopes []string
	// ValidateScope, when set, decides the granted scopes in place of the
	// built-in check (known scopes, the client's allowed scopes, defaults).
	// Return an *Error with code invalid_scope to refuse. It is not called
	// for refresh_token requests, which may only narrow the original grant.
	ValidateScope func(ctx context.Context, req ScopeRequest) ([]string, error)

	// Bearer configures how protected resources accept access tokens.
	Bearer BearerConfig
	// Endpoints are the paths the handlers are mounted at, relative to
	// Issuer; used for metadata and the device verification URI.
	Endpoints Endpoints
	// AllowExtraTokenAttributes lets extension grants add fields to token
	// responses (ExtensionResult.Extra); off, extra fields are dropped.
	AllowExtraTokenAttributes bool

	// Limits bound what one request may hold, so hostile input costs the
	// server little. Zero fields take the defaults documented there.
	Limits RequestLimits
	// Hashing bounds the memory and concurrency of password and imported
	// client secret verification (argon2id, bcrypt).
	Hashing HashingConfig
	// Throttle slows guessing: failed client authentications, password
	// logins and user codes, per identifier and per source address.
	Throttle ThrottleConfig
	// OpenID enables OpenID Connect: scope=openid on the authorization
	// code and device grants gets an ID token (and a new one on refresh),
	// UserInfo and discovery are served. It needs signing keys
	// (SigningKeys, a SigningKeyStore) and an Issuer.
	OpenID *OpenIDConfig
	// AccessTokenFormat is AccessTokenOpaque (the default) or
	// AccessTokenJWT (RFC 9068), which needs signing keys like OpenID.
	AccessTokenFormat AccessTokenFormat
	// AccessTokenAudience is the aud of JWT access tokens: the identifier
	// resource servers check for. Defaults to Issuer.
	AccessTokenAudience string
	// SigningKeys configures the keys that sign ID tokens and JWT access
	// tokens; used when OpenID is set or AccessTokenFormat is JWT.
	SigningKeys SigningKeysConfig

	// Now is the clock; defaults to time.Now. Tests set it.
	Now func() time.Time
	// Logger receives server failures (never request secrets); defaults to
	// slog.Default().
	Logger *slog.Logger

	// AppPages says which of the pages the application owns it serves.
	// The engine has no handler for them and cannot see them mounted, so
	// metadata advertises them only when set here. Zero: neither.
	AppPages AppPages
}

// PKCEPolicy says which clients must use PKCE (RFC 7636).
type PKCEPolicy int

// PKCE policies.
const (
	// PKCEPublic requires PKCE from public clients; confidential clients
	// may use it. The default.
	PKCEPublic PKCEPolicy = iota
	// PKCERequired requires PKCE from every client (OAuth 2.1).
	PKCERequired
	// PKCEOptional never requires PKCE. Only for legacy public clients that
	// cannot send it; RFC 9700 §2.1.1 asks for PKCE from all of them.
	PKCEOptional
)

// AuthorizationCodeGrant configures the authorization_code grant.
type AuthorizationCodeGrant struct {
	// PKCE says which clients must send a code_challenge.
	PKCE PKCEPolicy
	// AllowPlainPKCE accepts code_challenge_method=plain; S256 only otherwise.
	AllowPlainPKCE bool
	// RequireState refuses authorization requests without state.
	RequireState bool
}

// ClientCredentialsGrant configures the client_credentials grant.
type ClientCredentialsGrant struct {
	// User, when set, names the user a client acts for (its owner, say);
	// the token carries it as sub. Empty means none.
	User func(ctx context.Context, client *Client) (userID string, err error)
}

// PasswordGrant configures the resource owner password credentials grant.
type PasswordGrant struct{}

// RefreshTokenGrant configures refresh tokens.
type RefreshTokenGrant struct {
	// DisableRotation keeps a confidential client's refresh token valid
	// after use instead of replacing it. Public clients' refresh tokens
	// rotate regardless: RFC 9700 §2.2.2 requires rotation (or sender
	// constraint, which the engine does not do) for them.
	DisableRotation bool
	// ReuseInterval is how long after a rotation the same client may
	// present the rotated token again and get a new pair in the same
	// family, instead of having the family revoked as reused: two tabs
	// refreshing at once, or a response lost after its commit, no longer
	// log the user out. Zero, the default, is strict rotation. The
	// trade-off (RFC 9700 §4.14.2): within the interval, a thief holding
	// a just-rotated token is not detected.
	ReuseInterval time.Duration
}

// DeviceCodeGrant configures the device authorization grant (RFC 8628).
type DeviceCodeGrant struct {
	// Interval is the minimum polling interval; defaults to 5s.
	Interval time.Duration
	// UserCodeCharset defaults to "BCDFGHJKLMNPQRSTVWXZ" (RFC 8628 §6.1:
	// no vowels, no digits, nothing easily confused).
	UserCodeCharset string
	// UserCodeLength defaults to 8; codes are shown as XXXX-XXXX.
	UserCodeLength int
}

// ImplicitGrant configures the implicit grant.
type ImplicitGrant struct{}

// ExtensionGrant handles a token request with an extension grant type. It
// authenticates whatever the request asserts and says what to issue; return
// an *Error to refuse (invalid_grant, invalid_request, …).
type ExtensionGrant func(ctx context.Context, req *ExtensionRequest) (*ExtensionResult, error)

// ExtensionRequest is a token request for an extension grant.
type ExtensionRequest struct {
	// Client is the authenticated client.
	Client *Client
	// Form is the whole request body, less client_secret and the
	// parameters sent without a value (RFC 6749 §3.2 treats them as
	// omitted). Parameters the engine does not know may repeat.
	Form url.Values
	// Scopes are the requested scopes (already split).
	Scopes []string
}

// ExtensionResult says what an extension grant issues.
type ExtensionResult struct {
	// UserID is the resource owner; empty for none.
	UserID string
	// Scopes to grant; they are validated like any other request's.
	Scopes []string
	// RefreshToken asks for a refresh token too (when that grant is enabled).
	RefreshToken bool
	// Extra fields for the token response, used only when
	// Config.AllowExtraTokenAttributes is set. Standard fields win.
	Extra map[string]any
}

// ScopeRequest is what ValidateScope decides on.
type ScopeRequest struct {
	// GrantType of the request.
	GrantType string
	// Client asking.
	Client *Client
	// UserID of the resource owner, empty when there is none.
	UserID string
	// Requested scopes; empty when the request named none.
	Requested []string
}

// BearerConfig configures bearer token authentication (RFC 6750).
type BearerConfig struct {
	// Realm is the realm of WWW-Authenticate challenges; defaults to the issuer,
	// or "oauthgen" without one.
	Realm string
	// AllowForm accepts access_token in a form-encoded POST body (§2.2).
	AllowForm bool
	// AllowQuery accepts access_token in the query string (§2.3); RFC 6750
	// advises against it.
	AllowQuery bool
}

// Endpoints are handler paths relative to the issuer. Zero fields take the
// defaults shown.
type Endpoints struct {
	Authorization       string // "/authorize"
	Token               string // "/token"
	Revocation          string // "/revoke"
	Introspection       string // "/introspect"
	DeviceAuthorization string // "/device_authorization"
	Verification        string // "/device": the page where users enter user codes
	UserInfo            string // "/userinfo" (OpenID Connect)
	JWKS                string // "/jwks": the signing keys (OpenID Connect, JWT access tokens)
}

// OpenIDConfig configures OpenID Connect (OpenID Connect Core 1.0).
type OpenIDConfig struct {
	// IDTokenLifetime defaults to 1h.
	IDTokenLifetime time.Duration
	// Claims are the user claims the store can give (UserClaimsStore),
	// advertised in discovery's claims_supported; nil advertises every
	// standard claim of the profile, email, address and phone scopes.
	Claims []string
}

// AccessTokenFormat is the form of issued access tokens.
type AccessTokenFormat string

// Access token formats.
const (
	// AccessTokenOpaque: random strings, meaningful only to the store
	// (introspection or RequireToken). The default ("" means it too).
	AccessTokenOpaque AccessTokenFormat = "opaque"
	// AccessTokenJWT: signed JWTs per RFC 9068 (typ at+jwt; iss, exp,
	// iat, aud, sub, client_id, jti, scope) that resource servers verify
	// offline with the JWKS. They are still stored by HashToken, so
	// RequireToken and introspection refuse a revoked one at once; a
	// resource server that only verifies signatures accepts a revoked
	// token until it expires: keep AccessTokenLifetime short.
	AccessTokenJWT AccessTokenFormat = "jwt"
)

// SigningKeysConfig configures signing keys, their rotation and their
// encryption at rest. Keys live in the store (SigningKeyStore), shared by
// every instance: the first instance that needs a key creates it; each
// key signs for RotateEvery; its successor is created PropagationDelay
// before it becomes active, so every instance and every verifier's JWKS
// cache has it first; a key stays in the JWKS for RetireAfter after its
// successor became active, so every token it signed expires before it
// leaves.
type SigningKeysConfig struct {
	// Algorithm is "RS256" (the default: OpenID Core §15.1 and RFC 9068
	// §2.1 make it the one every verifier supports), "ES256" or "EdDSA"
	// (Ed25519).
	Algorithm string
	// RotateEvery is how long a key signs; defaults to 720h.
	RotateEvery time.Duration
	// RetireAfter is how long a key stays published after it stopped
	// signing; defaults to 168h, and must be at least the longest token
	// lifetime it covers (AccessTokenLifetime for JWT access tokens,
	// IDTokenLifetime). JWT access tokens of clients whose own lifetime
	// is longer are cut to RetireAfter.
	RetireAfter time.Duration
	// RefreshEvery is how often an instance rereads the keys from the
	// store; defaults to 1m.
	RefreshEvery time.Duration
	// JWKSMaxAge is the Cache-Control max-age of the JWKS; defaults to 5m.
	JWKSMaxAge time.Duration
	// PropagationDelay is how long before it signs a new key is created
	// and published; defaults to 1h and must exceed RefreshEvery plus
	// JWKSMaxAge, and be under RotateEvery.
	PropagationDelay time.Duration
	// KeyEncryptionKey is the 32-byte AES-256-GCM key that seals private
	// keys before they reach the store. When nil, the base64 of 32 bytes
	// in the environment variable OAUTHGEN_KEY_ENCRYPTION_KEY is used;
	// NewServer fails without either. Keep it out of the database: with
	// it, the stored keys sign anything.
	KeyEncryptionKey []byte
}

// RequestLimits bound the requests the engine reads. Requests beyond them
// are refused before any other work: invalid_request ("request body too
// large" for a body over MaxBodyBytes), or invalid_scope for the scope
// parameter.
type RequestLimits struct {
	// MaxBodyBytes bounds the application/x-www-form-urlencoded body of
	// the token, revocation, introspection and device authorization
	// endpoints, of a POSTed authorization request and of ReadForm.
	// Defaults to 64 KiB.
	MaxBodyBytes int64
	// MaxParameters bounds the number of parameters (values, repeats
	// included) of one request. Defaults to 64.
	MaxParameters int
	// MaxValueBytes bounds the length of each parameter name and value,
	// scope included. Defaults to 4 KiB.
	MaxValueBytes int
	// MaxScopes bounds the number of scope tokens in a scope parameter.
	// Defaults to 64.
	MaxScopes int
}

// Defaults of RequestLimits.
const (
	DefaultMaxBodyBytes  = 64 << 10
	DefaultMaxParameters = 64
	DefaultMaxValueBytes = 4 << 10
	DefaultMaxScopes     = 64
)

// HashingConfig bounds password and imported client secret verification.
// Each argon2id verification allocates its memory cost (19 MiB with
// HashPassword's parameters), so unbounded concurrent logins could
// exhaust memory; verifications beyond the budget wait up to MaxWait, then
// are refused with 503 temporarily_unavailable and Retry-After.
// SHA-256 (issued) client secrets are cheap and not counted.
type HashingConfig struct {
	// MemoryBytes is the memory all verifications in flight may use
	// together, each counted at its hash's cost (at least MemoryBytes /
	// (4 × GOMAXPROCS), so CPU-bound bcrypt is bounded too). Defaults to
	// an eighth of the Go memory limit (GOMEMLIMIT) when one is set, else
	// 40 MiB (two argon2id verifications at HashPassword's cost: with the
	// garbage they leave until the next collection, about 150 MiB of
	// heap); never less than one verification at HashPassword's cost.
	MemoryBytes int64
	// MaxWait is how long a verification may wait for the budget.
	// Defaults to 2s.
	MaxWait time.Duration
}

// ThrottleConfig configures how failed attempts are slowed. Each key
// (a client id, a username, a source address per purpose) may fail Free
// times in a row; after that, each further failure blocks the key for
// BaseDelay doubled per failure beyond Free, at most MaxDelay. Blocked
// attempts are refused without being verified: 429 with Retry-After at
// the token endpoint, an error matching ErrTooManyAttempts (see
// RetryAfter) for the application's pages. A success clears the
// identifier's count (not the address's); failures older than Window are
// forgotten. Successful requests are never delayed.
type ThrottleConfig struct {
	// Limiter keeps the counts. Defaults to an in-memory limiter
	// (NewMemoryLimiter), which suits a single instance; several
	// instances behind a load balancer need a shared one (a database
	// table). When it is the store itself and the store is a
	// ChangeCounter, counts are read from memory until the count changes.
	Limiter Limiter
	// Disabled turns throttling off.
	Disabled bool
	// Free is the number of failures in a row allowed without delay.
	// Defaults to 5.
	Free int
	// BaseDelay defaults to 1s.
	BaseDelay time.Duration
	// MaxDelay defaults to 5m.
	MaxDelay time.Duration
	// Window defaults to 1h.
	Window time.Duration
	// TrustedProxies are the CIDRs (or single addresses) of reverse
	// proxies whose X-Forwarded-For header names the source address. By
	// default none: the source address is the connection's
	// (http.Request.RemoteAddr), and X-Forwarded-For is ignored.
	TrustedProxies []string
}

// Defaults of ThrottleConfig.
const (
	DefaultThrottleFree      = 5
	DefaultThrottleBaseDelay = time.Second
	DefaultThrottleMaxDelay  = 5 * time.Minute
	DefaultThrottleWindow    = time.Hour
)
