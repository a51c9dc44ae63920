package runtime

import (
	"context"
	"errors"
	"slices"
	"time"
)

// Errors a store returns. Stores wrap nothing else in them: the engine
// compares with errors.Is and treats any other error as a server failure.
var (
	// ErrNotFound: no record has that key.
	ErrNotFound = errors.New("oauthgen: not found")
	// ErrConsumed: the single-use record was already consumed or decided,
	// by this caller or a concurrent one.
	ErrConsumed = errors.New("oauthgen: already consumed")
	// ErrDuplicate: a record with that key already exists.
	ErrDuplicate = errors.New("oauthgen: duplicate key")
	// ErrChanged: Issue found the store's change count other than the
	// Issuance's IfChangeCount, and applied nothing.
	ErrChanged = errors.New("oauthgen: change count moved")
)

// Store is the least every store provides. NewServer finds the other
// interfaces (UserStore, FamilyStore, RefreshTokenStore, …) by type
// assertion and refuses a configuration whose grants need one it lacks.
type Store interface {
	ClientStore
	AccessTokenStore
	IssuanceStore
}

// ClientStore reads registered clients.
type ClientStore interface {
	// GetClient returns the client with that id, or ErrNotFound.
	GetClient(ctx context.Context, id string) (*Client, error)
}

// UserStore reads resource owners for the password grant and introspection.
// The engine verifies password hashes itself (VerifyPassword).
type UserStore interface {
	// GetUserByUsername returns the user with that username, or ErrNotFound.
	GetUserByUsername(ctx context.Context, username string) (*User, error)
	// GetUser returns the user with that id, or ErrNotFound.
	GetUser(ctx context.Context, id string) (*User, error)
}

// IssuanceStore is how every record comes into being: the engine hands
// each token request (and each authorization) to Issue as one Issuance,
// and the store applies it in one transaction, so a failure or a crash
// leaves all of it or none of it.
type IssuanceStore interface {
	// Issue applies is atomically: first the Consume, then the creates
	// (the family before the records that name it). Afterwards either
	// every write is visible or none is. Errors:
	//   - ErrConsumed: Consume lost, to an earlier or a concurrent caller
	//     (or the device authorization is not approved);
	//   - ErrNotFound: the record to consume does not exist;
	//   - ErrDuplicate: a record to create has a key that exists;
	//   - ErrChanged: IfChangeCount is set and the count differs (only
	//     stores that are ChangeCountIssuers are given one);
	//   - anything else: a failure, and nothing was written.
	Issue(ctx context.Context, is *Issuance) error
}

// Issuance is every state change of one token request or authorization.
// Nil fields are not written.
type Issuance struct {
	// Consume is the single-use record the request spends, if any.
	Consume *Consumption
	// Family is a new token family for the records below.
	Family *Family
	// AuthorizationCode is a code issued by the authorization endpoint.
	AuthorizationCode *AuthorizationCode
	// DeviceCode is a device authorization (RFC 8628 §3.2).
	DeviceCode *DeviceCode
	// AccessToken and RefreshToken are the tokens of a token response.
	AccessToken  *AccessToken
	RefreshToken *RefreshToken
	// IfChangeCount, when not nil, makes the Issuance conditional: the
	// store compares its ChangeCount with it before anything else, in the
	// transaction of the writes (or, for a lone INSERT it runs without one,
	// in that INSERT), and on any difference applies nothing and returns
	// ErrChanged. Set only for a ChangeCountIssuer.
	IfChangeCount *uint64
}

// ConsumableKind names the kinds of single-use records.
type ConsumableKind int

// Single-use records.
const (
	ConsumeAuthorizationCode ConsumableKind = iota + 1
	ConsumeRefreshToken
	ConsumeDeviceCode
)

// Consumption spends a single-use record.
type Consumption struct {
	Kind ConsumableKind
	// Hash is the record's key.
	Hash string
	// At is the consumption time the record keeps.
	At time.Time
	// ReuseSince applies to refresh tokens only: a token already consumed
	// at or after this instant may be presented again (the reuse interval
	// of RFC 9700 §4.14.2), and keeps its first ConsumedAt. Zero: strict
	// single use. A device code is consumed only when approved.
	ReuseSince time.Time
}

// FamilyStore keeps token families: every token issued from one
// authorization (a code, a device code, a password grant with refresh)
// shares a family, so a replayed code or a reused refresh token revokes
// all of them with one write.
type FamilyStore interface {
	// RevokeFamily marks the family revoked at `at`. Tokens of a revoked
	// family read back with RevokedAt set. Revoking twice is not an error;
	// an unknown id is ErrNotFound.
	RevokeFamily(ctx context.Context, id string, at time.Time) error
}

// AccessTokenStore keeps access tokens by the SHA-256 of their value.
type AccessTokenStore interface {
	// GetAccessToken returns the token with that hash, or ErrNotFound.
	// RevokedAt is set when the token or its family was revoked.
	GetAccessToken(ctx context.Context, hash string) (*AccessToken, error)
	// RevokeAccessToken marks the token revoked; an unknown hash is
	// ErrNotFound, revoking twice is not an error.
	RevokeAccessToken(ctx context.Context, hash string, at time.Time) error
}

// RefreshTokenStore keeps refresh tokens by the SHA-256 of their value.
type RefreshTokenStore interface {
	// GetRefreshToken returns the token with that hash, or ErrNotFound.
	// RevokedAt is set when the token or its family was revoked.
	GetRefreshToken(ctx context.Context, hash string) (*RefreshToken, error)
	// RevokeRefreshToken marks the token revoked; an unknown hash is
	// ErrNotFound, revoking twice is not an error.
	RevokeRefreshToken(ctx context.Context, hash string, at time.Time) error
}

// AuthorizationCodeStore keeps authorization codes by the SHA-256 of their value.
type AuthorizationCodeStore interface {
	// GetAuthorizationCode returns the code with that hash, or ErrNotFound.
	GetAuthorizationCode(ctx context.Context, hash string) (*AuthorizationCode, error)
}

// DeviceCodeStore keeps device authorizations (RFC 8628) by the SHA-256 of
// the device code, and of the normalized user code.
type DeviceCodeStore interface {
	// GetDeviceCode returns the device authorization with that device code
	// hash, or ErrNotFound.
	GetDeviceCode(ctx context.Context, hash string) (*DeviceCode, error)
	// GetDeviceCodeByUserCode returns the device authorization with that
	// user code hash, or ErrNotFound.
	GetDeviceCodeByUserCode(ctx context.Context, userCodeHash string) (*DeviceCode, error)
	// DecideDeviceCode records the user's decision on a pending
	// authorization in one atomic write: ErrConsumed if it was already
	// decided, ErrNotFound if the hash is unknown.
	DecideDeviceCode(ctx context.Context, hash string, d DeviceDecision) error
	// PollDeviceCode records a poll in one atomic compare-and-set: only
	// if the authorization's LastPolledAt is still p.Previous (zero: never
	// polled) does it become p.At, with p.Interval as the interval the
	// client must keep from now on. ErrConsumed when another poll came
	// first, ErrNotFound if the hash is unknown.
	PollDeviceCode(ctx context.Context, hash string, p DevicePoll) error
}

// Client is a registered OAuth client (RFC 6749 §2).
type Client struct {
	// ID is the client identifier.
	ID string
	// SecretHash verifies the client secret: the lowercase hex SHA-256 of
	// a secret oauthgen issued (NewClientSecret), or a bcrypt or argon2id
	// PHC string for an imported one. Empty for a public client.
	SecretHash string
	// Name is shown to users on consent pages.
	Name string
	// RedirectURIs are the registered redirection endpoints, compared exactly.
	RedirectURIs []string
	// GrantTypes the client may use, as grant_type values
	// ("authorization_code", "refresh_token", …); "implicit" for the implicit grant.
	GrantTypes []string
	// Scopes the client may be granted; empty means any scope the server knows.
	Scopes []string
	// ResourceServer lets the client introspect tokens issued to other
	// clients (RFC 7662 §4); others see only their own.
	ResourceServer bool
	// AccessTokenLifetime overrides the server's when non-zero.
	AccessTokenLifetime time.Duration
	// RefreshTokenLifetime overrides the server's when non-zero.
	RefreshTokenLifetime time.Duration
	// CreatedAt is when the client was registered.
	CreatedAt time.Time
}

// Public reports whether the client has no secret (RFC 6749 §2.1).
func (c *Client) Public() bool { return c.SecretHash == "" }

// AllowsGrant reports whether the client may use the grant type.
func (c *Client) AllowsGrant(grantType string) bool {
	return slices.Contains(c.GrantTypes, grantType)
}

// User is a resource owner.
type User struct {
	// ID is the user's stable identifier, the "sub" of its tokens.
	ID string
	// Username is what the user signs in with.
	Username string
	// PasswordHash is a bcrypt or argon2id PHC string (HashPassword).
	PasswordHash string
}

// Family groups the tokens issued from one authorization.
type Family struct {
	// ID is a random identifier (NewID).
	ID string
	// ClientID is the client the authorization was given to.
	ClientID string
	// UserID is the resource owner; empty when there is none.
	UserID string
	// CreatedAt is when the authorization was given.
	CreatedAt time.Time
	// RevokedAt is when the family was revoked; zero while it is not.
	RevokedAt time.Time
}

// AccessToken is an issued access token. Only its hash is stored.
type AccessToken struct {
	// Hash is HashToken of the token value.
	Hash string
	// ClientID is the client the token was issued to.
	ClientID string
	// UserID is the resource owner; empty for client_credentials.
	UserID string
	// Scopes granted to the token.
	Scopes []string
	// FamilyID links the token to its authorization; empty when it has none.
	FamilyID string
	// IssuedAt and ExpiresAt bound the token's life.
	IssuedAt, ExpiresAt time.Time
	// RevokedAt is when the token (or its family) was revoked; zero while it is not.
	RevokedAt time.Time
}

// RefreshToken is an issued refresh token. Only its hash is stored.
type RefreshToken struct {
	// Hash is HashToken of the token value.
	Hash string
	// ClientID is the client the token was issued to.
	ClientID string
	// UserID is the resource owner; empty when there is none.
	UserID string
	// Scopes granted to the token.
	Scopes []string
	// FamilyID links the token to its authorization.
	FamilyID string
	// IssuedAt and ExpiresAt bound the token's life.
	IssuedAt, ExpiresAt time.Time
	// ConsumedAt is when the token was rotated; zero while it is not.
	ConsumedAt time.Time
	// RevokedAt is when the token (or its family) was revoked; zero while it is not.
	RevokedAt time.Time
	// AuthTime is when the user authenticated for the grant the token
	// continues (the code's or device authorization's), carried to every
	// rotation for the refreshed ID token's auth_time (OpenID Connect
	// Core §12.2); zero when unknown. Only stores for servers with
	// Config.OpenID need to keep it.
	AuthTime time.Time
}

// AuthorizationCode is an issued authorization code. Only its hash is stored.
type AuthorizationCode struct {
	// Hash is HashToken of the code.
	Hash string
	// ClientID is the client the code was issued to.
	ClientID string
	// UserID is the resource owner who approved the request.
	UserID string
	// RedirectURI is the redirect_uri sent to the authorization endpoint;
	// empty when the request relied on the client's only registered URI.
	RedirectURI string
	// Scopes granted.
	Scopes []string
	// CodeChallenge and CodeChallengeMethod ("S256" or "plain") are the
	// PKCE challenge (RFC 7636); empty without PKCE.
	CodeChallenge, CodeChallengeMethod string
	// FamilyID is the family of the tokens this code will issue.
	FamilyID string
	// IssuedAt and ExpiresAt bound the code's life.
	IssuedAt, ExpiresAt time.Time
	// ConsumedAt is when the code was redeemed; zero while it is not.
	ConsumedAt time.Time
	// Nonce is the OpenID Connect nonce of the authorization request, for
	// the ID token; empty without one. Only stores for servers with
	// Config.OpenID need to keep it (and AuthTime).
	Nonce string
	// AuthTime is when the user authenticated (OpenID Connect auth_time);
	// zero when the code is not for an OpenID Connect request.
	AuthTime time.Time
}

// DeviceStatus is the state of a device authorization.
type DeviceStatus string

// Device authorization states.
const (
	DevicePending  DeviceStatus = "pending"
	DeviceApproved DeviceStatus = "approved"
	DeviceDenied   DeviceStatus = "denied"
)

// DeviceCode is a device authorization (RFC 8628). Only the hashes of the
// device code and the user code are stored.
type DeviceCode struct {
	// Hash is HashToken of the device code.
	Hash string
	// UserCodeHash is HashToken of the normalized user code.
	UserCodeHash string
	// ClientID is the device's client.
	ClientID string
	// Scopes requested by the device; after approval, the scopes granted.
	Scopes []string
	// Status is pending until the user decides.
	Status DeviceStatus
	// UserID is the user who decided; empty while pending.
	UserID string
	// FamilyID is the family of the tokens this authorization will issue.
	FamilyID string
	// Interval is the minimum polling interval the client must keep.
	Interval time.Duration
	// IssuedAt and ExpiresAt bound the authorization's life.
	IssuedAt, ExpiresAt time.Time
	// LastPolledAt is the client's last poll; zero before the first.
	LastPolledAt time.Time
	// DecidedAt is when the user decided; zero while pending.
	DecidedAt time.Time
	// ConsumedAt is when the device code was redeemed; zero while it is not.
	ConsumedAt time.Time
}

// DevicePoll is one poll of the token endpoint by a device.
type DevicePoll struct {
	// Previous is the LastPolledAt the poll was decided on.
	Previous time.Time
	// At is the poll's time, the new LastPolledAt.
	At time.Time
	// Interval is the polling interval from now on.
	Interval time.Duration
}

// DeviceDecision is a user's answer to a device authorization.
type DeviceDecision struct {
	// Status is DeviceApproved or DeviceDenied.
	Status DeviceStatus
	// UserID is the user who decided.
	UserID string
	// Scopes granted on approval.
	Scopes []string
	// At is when the decision was made.
	At time.Time
}

// ChangeCounter is implemented by stores that can tell cheaply whether
// their clients, or their failure counts (when the store is also the
// Throttle's Limiter), may have changed. The engine then keeps clients and
// counts in memory between requests and reads them again only after a
// change; without it, it reads them on every request.
type ChangeCounter interface {
	// ChangeCount returns a number that grows whenever a client or a
	// failure count is created, changed or deleted, by this process or any
	// other sharing the database, at the latest when the change commits.
	// ok is false when the store cannot tell now (PostgreSQL: its listener
	// connection is down): the engine then reads through.
	ChangeCount(ctx context.Context) (n uint64, ok bool, err error)
}

// ChangeCountIssuer is a ChangeCounter whose Issue honours
// Issuance.IfChangeCount. Where ChangeCount costs a read of the database
// (SQLite), the engine then skips it on token requests: it assumes the
// count the last read returned, and lets Issue check it within the
// transaction it opens anyway. A request that finds it moved is run again
// on a count read for it. A wrapper of such a store that does not pass
// IfChangeCount through says false.
type ChangeCountIssuer interface {
	ChangeCounter
	IssueChecksChangeCount() bool
}

// SigningKeyStore keeps the keys that sign ID tokens and JWT access
// tokens (Config.OpenID, Config.AccessTokenFormat). Several servers share
// one store: the store's uniqueness decides which of two instances that
// rotate at once creates the next key, the others read it back.
//
// Private keys reach the store sealed (AES-256-GCM under
// SigningKeysConfig.KeyEncryptionKey, which the store never sees): the
// store keeps SealedPrivateKey as opaque bytes.
type SigningKeyStore interface {
	// SigningKeys returns every stored key, in any order.
	SigningKeys(ctx context.Context) ([]*SigningKey, error)
	// AddSigningKey stores k. ErrDuplicate when a key with the same ID or
	// the same Generation exists: the instance that loses a rotation race
	// gets it, and nothing is written.
	AddSigningKey(ctx context.Context, k *SigningKey) error
}

// SigningKey is a stored signing key. Every field round-trips as is.
type SigningKey struct {
	// ID is the key id, the "kid" of the JWK and of the tokens it signs.
	ID string
	// Generation numbers keys from 1 in creation order; unique.
	Generation int64
	// Algorithm is the JWS algorithm: "ES256", "RS256" or "EdDSA".
	Algorithm string
	// PublicJWK is the public key as a JSON Web Key (RFC 7517), as
	// published in the JWKS.
	PublicJWK []byte
	// SealedPrivateKey is the private key sealed by the engine; opaque
	// bytes to the store (keep them as a BLOB/bytea, not text).
	SealedPrivateKey []byte
	// CreatedAt is when the key was made.
	CreatedAt time.Time
	// ActiveFrom is when the key starts signing: after CreatedAt by the
	// propagation delay, so that every instance, and every verifier
	// caching the JWKS, has it before a token signed with it exists.
	ActiveFrom time.Time
}

// UserClaimsStore gives the OpenID Connect claims of users, for the
// UserInfo endpoint (OpenID Connect Core §5.3).
type UserClaimsStore interface {
	// UserClaims returns the standard claims the store keeps for the user,
	// by their OpenID Connect Core §5.1 names ("name", "email",
	// "email_verified", "preferred_username", …), with JSON-compatible
	// values (string, bool, numbers; "address" a map). Claims the user has
	// no value for are left out; "sub" is ignored (the engine sets it).
	// ErrNotFound for an unknown user.
	UserClaims(ctx context.Context, userID string) (map[string]any, error)
}
