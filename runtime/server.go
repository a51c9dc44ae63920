package runtime

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"
)

// Grant type values (RFC 6749, RFC 8628) as they appear in grant_type and
// Client.GrantTypes. GrantImplicit names the implicit grant in
// Client.GrantTypes; it is never a grant_type.
const (
	GrantAuthorizationCode = "authorization_code"
	GrantClientCredentials = "client_credentials"
	GrantPassword          = "password"
	GrantRefreshToken      = "refresh_token"
	GrantDeviceCode        = "urn:ietf:params:oauth:grant-type:device_code"
	GrantImplicit          = "implicit"
)

// Defaults of Config's zero values.
const (
	DefaultAccessTokenLifetime       = time.Hour
	DefaultRefreshTokenLifetime      = 14 * 24 * time.Hour
	DefaultAuthorizationCodeLifetime = 5 * time.Minute
	DefaultDeviceCodeLifetime        = 10 * time.Minute
	DefaultDeviceInterval            = 5 * time.Second
	DefaultUserCodeCharset           = "BCDFGHJKLMNPQRSTVWXZ"
	DefaultUserCodeLength            = 8
)

// MetadataPath is where Handler serves the server metadata (RFC 8414 §3).
const MetadataPath = "/.well-known/oauth-authorization-server"

// Server is the grant engine: the OAuth endpoints as http.Handlers and the
// calls an application's login, consent and device pages make. It is safe
// for concurrent use. Create it with NewServer.
type Server struct {
	cfg    Config
	logger *slog.Logger
	now    func() time.Time
	realm  string
	// issuerBase is Issuer without a trailing slash, for building URLs.
	issuerBase string

	clients  ClientStore
	access   AccessTokenStore
	store    IssuanceStore
	users    UserStore              // nil without one
	families FamilyStore            // nil without one
	refresh  RefreshTokenStore      // nil without one
	codes    AuthorizationCodeStore // nil without one
	devices  DeviceCodeStore        // nil without one

	// keys signs ID tokens and JWT access tokens; nil when neither is on.
	keys       *keyring
	userClaims UserClaimsStore // nil without one

	userCodeCharset string
	userCodeLength  int
	deviceInterval  time.Duration

	throttle throttle
	// changes keeps clients (and failure counts) between requests; nil
	// when the store is not a ChangeCounter.
	changes *changeCache
	hashing *hashBudget
	// clientHashes and userHashes are the kinds of stored hashes seen,
	// and their dummies: an unknown identifier is verified against one,
	// so its absence takes as long to learn as a wrong secret.
	clientHashes, userHashes *population
}

// dummyPasswordHash is verified when a username does not exist: an
// argon2id hash with HashPassword's parameters, made once per process.
var dummyPasswordHash = sync.OnceValue(func() string { return HashPassword(NewToken()) })

// NewServer returns a Server for cfg backed by store, or an error that
// says why the configuration cannot work: a grant enabled whose store
// interface store does not implement, an invalid issuer, lifetime, scope,
// endpoint path, device user code alphabet or extension grant type.
//
// The store must implement ClientStore and AccessTokenStore (Store); the
// enabled grants need more:
//   - AuthorizationCode: AuthorizationCodeStore and FamilyStore;
//   - Password: UserStore (and FamilyStore when refresh tokens are enabled);
//   - RefreshToken: RefreshTokenStore and FamilyStore;
//   - DeviceCode: DeviceCodeStore, FamilyStore and an Issuer (for the
//     verification URI);
//   - extension grants: FamilyStore when refresh tokens are enabled.
func NewServer(cfg Config, store Store) (*Server, error) {
	if store == nil {
		return nil, errors.New("oauthgen: NewServer: nil store")
	}
	// The Server keeps its own copy: the caller's slices, map and grant
	// structs may change after this call without racing with requests.
	s := &Server{cfg: cloneConfig(cfg), clients: store, access: store, store: store}
	s.users, _ = store.(UserStore)
	s.families, _ = store.(FamilyStore)
	s.refresh, _ = store.(RefreshTokenStore)
	s.codes, _ = store.(AuthorizationCodeStore)
	s.devices, _ = store.(DeviceCodeStore)

	var problems []error
	bad := func(format string, args ...any) {
		problems = append(problems, fmt.Errorf(format, args...))
	}
	need := func(grant string, have bool, iface string) {
		if !have {
			bad("%s is enabled but the store does not implement runtime.%s", grant, iface)
		}
	}

	// Defaults.
	c := &s.cfg
	for _, l := range []struct {
		name string
		d    *time.Duration
		def  time.Duration
	}{
		{"AccessTokenLifetime", &c.AccessTokenLifetime, DefaultAccessTokenLifetime},
		{"RefreshTokenLifetime", &c.RefreshTokenLifetime, DefaultRefreshTokenLifetime},
		{"AuthorizationCodeLifetime", &c.AuthorizationCodeLifetime, DefaultAuthorizationCodeLifetime},
		{"DeviceCodeLifetime", &c.DeviceCodeLifetime, DefaultDeviceCodeLifetime},
	} {
		switch {
		case *l.d < 0:
			bad("%s is negative (%v)", l.name, *l.d)
		case *l.d == 0:
			*l.d = l.def
		case *l.d < time.Second:
			bad("%s is under one second (%v)", l.name, *l.d)
		}
	}
	clock := c.Now
	if clock == nil {
		clock = time.Now
	}
	// UTC at microsecond precision: what SQL stores keep, so a record
	// reads back as it was written.
	s.now = func() time.Time { return clock().UTC().Truncate(time.Microsecond) }
	s.logger = c.Logger
	if s.logger == nil {
		s.logger = slog.Default()
	}

	// Limits, hashing and throttling.
	for _, l := range []struct {
		name string
		v    *int
		def  int
	}{
		{"MaxParameters", &c.Limits.MaxParameters, DefaultMaxParameters},
		{"MaxValueBytes", &c.Limits.MaxValueBytes, DefaultMaxValueBytes},
		{"MaxScopes", &c.Limits.MaxScopes, DefaultMaxScopes},
	} {
		switch {
		case *l.v < 0:
			bad("Limits.%s is negative (%d)", l.name, *l.v)
		case *l.v == 0:
			*l.v = l.def
		}
	}
	switch {
	case c.Limits.MaxBodyBytes < 0:
		bad("Limits.MaxBodyBytes is negative (%d)", c.Limits.MaxBodyBytes)
	case c.Limits.MaxBodyBytes == 0:
		c.Limits.MaxBodyBytes = DefaultMaxBodyBytes
	}
	s.hashing = newHashBudget(c.Hashing)
	var throttleProblems []error
	s.throttle, throttleProblems = newThrottle(c.Throttle)
	problems = append(problems, throttleProblems...)
	s.changes = newChangeCache(store, s.throttle.lim)
	s.clientHashes, s.userHashes = newPopulation(kindSHA256, s.hashing), newPopulation(kindArgon2id, s.hashing)

	// Issuer.
	if c.Issuer != "" {
		if err := checkIssuer(c.Issuer); err != nil {
			bad("Issuer %q: %v", c.Issuer, err)
		}
		s.issuerBase = strings.TrimSuffix(c.Issuer, "/")
	}
	s.realm = c.Bearer.Realm
	if s.realm == "" {
		s.realm = c.Issuer
	}
	if s.realm == "" {
		s.realm = "oauthgen"
	}
	if !isVSChars(s.realm) || strings.ContainsAny(s.realm, `"\`) {
		bad("Bearer.Realm %q: must be printable ASCII without quotes or backslashes", s.realm)
	}

	// Endpoints.
	e := &c.Endpoints
	seen := map[string]string{MetadataPath: "metadata", OpenIDConfigurationPath: "OpenID configuration"}
	for _, p := range []struct {
		name string
		path *string
		def  string
	}{
		{"Authorization", &e.Authorization, "/authorize"},
		{"Token", &e.Token, "/token"},
		{"Revocation", &e.Revocation, "/revoke"},
		{"Introspection", &e.Introspection, "/introspect"},
		{"DeviceAuthorization", &e.DeviceAuthorization, "/device_authorization"},
		{"Verification", &e.Verification, "/device"},
		{"UserInfo", &e.UserInfo, "/userinfo"},
		{"JWKS", &e.JWKS, "/jwks"},
	} {
		if *p.path == "" {
			*p.path = p.def
		}
		u, err := url.Parse(*p.path)
		if err != nil || !strings.HasPrefix(*p.path, "/") || u.Path != *p.path || strings.ContainsAny(*p.path, " {}") {
			bad("Endpoints.%s %q: want an absolute path without query, fragment, spaces or braces", p.name, *p.path)
			continue
		}
		if other, dup := seen[*p.path]; dup {
			bad("Endpoints.%s %q: also the %s path", p.name, *p.path, other)
		}
		seen[*p.path] = p.name
	}

	// Scopes.
	for _, sc := range c.Scopes {
		if !isScopeToken(sc) {
			bad("Scopes: %q is not a valid scope token (RFC 6749 §3.3)", sc)
		}
	}
	for _, sc := range c.DefaultScopes {
		if !isScopeToken(sc) {
			bad("DefaultScopes: %q is not a valid scope token (RFC 6749 §3.3)", sc)
		} else if len(c.Scopes) > 0 && !slices.Contains(c.Scopes, sc) {
			bad("DefaultScopes: %q is not one of Scopes", sc)
		}
	}

	// Grants and the store interfaces they need.
	issuesRefresh := c.RefreshToken != nil
	if g := c.AuthorizationCode; g != nil {
		need("AuthorizationCode", s.codes != nil, "AuthorizationCodeStore")
		need("AuthorizationCode", s.families != nil, "FamilyStore")
		if g.PKCE < PKCEPublic || g.PKCE > PKCEOptional {
			bad("AuthorizationCode.PKCE: unknown policy %d", g.PKCE)
		}
	}
	if c.Password != nil {
		need("Password", s.users != nil, "UserStore")
		if issuesRefresh {
			need("Password with RefreshToken", s.families != nil, "FamilyStore")
		}
	}
	if c.RefreshToken != nil {
		need("RefreshToken", s.refresh != nil, "RefreshTokenStore")
		need("RefreshToken", s.families != nil, "FamilyStore")
	}
	if g := c.DeviceCode; g != nil {
		need("DeviceCode", s.devices != nil, "DeviceCodeStore")
		need("DeviceCode", s.families != nil, "FamilyStore")
		if c.Issuer == "" {
			bad("DeviceCode is enabled but Issuer is empty: the verification URI is built from it")
		}
		s.deviceInterval = g.Interval
		switch {
		case g.Interval == 0:
			s.deviceInterval = DefaultDeviceInterval
		case g.Interval < time.Second || g.Interval%time.Second != 0:
			bad("DeviceCode.Interval %v: want whole seconds, at least 1s", g.Interval)
		}
		if c.DeviceCodeLifetime > 0 && c.DeviceCodeLifetime <= s.deviceInterval {
			bad("DeviceCodeLifetime %v is not longer than DeviceCode.Interval %v: a device could not poll once", c.DeviceCodeLifetime, s.deviceInterval)
		}
		s.userCodeLength = g.UserCodeLength
		if s.userCodeLength == 0 {
			s.userCodeLength = DefaultUserCodeLength
		}
		charset := g.UserCodeCharset
		if charset == "" {
			charset = DefaultUserCodeCharset
		}
		if err := checkUserCodeCharset(charset, s.userCodeLength); err != nil {
			bad("DeviceCode: %v", err)
		}
		s.userCodeCharset = strings.ToUpper(charset)
	}
	for grantType, h := range c.Extensions {
		switch {
		case !isAbsoluteURI(grantType):
			bad("Extensions: grant type %q is not an absolute URI (RFC 6749 §4.5)", grantType)
		case grantType == GrantDeviceCode:
			bad("Extensions: %q is the built-in device grant; enable DeviceCode instead", grantType)
		case h == nil:
			bad("Extensions: grant type %q has a nil handler", grantType)
		case issuesRefresh && s.families == nil:
			bad("Extensions with RefreshToken: the store does not implement runtime.FamilyStore")
		}
	}
	s.configureSigning(store, bad)

	if len(problems) > 0 {
		return nil, fmt.Errorf("oauthgen: NewServer: %w", errors.Join(problems...))
	}

	if s.users != nil {
		// Made ahead, so the first unknown username takes no longer
		// than the next ones.
		go dummyPasswordHash()
	}
	return s, nil
}

// checkIssuer enforces RFC 8414 §2: https (http only for loopback hosts,
// for development), a host, no query or fragment.
func checkIssuer(issuer string) error {
	u, err := url.Parse(issuer)
	if err != nil {
		return err
	}
	switch {
	case u.Host == "" || !u.IsAbs():
		return errors.New("want an absolute https URL")
	case u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || strings.Contains(issuer, "#"):
		return errors.New("must not have a query or fragment")
	case u.User != nil:
		return errors.New("must not have user information")
	case u.Scheme == "https":
		return nil
	case u.Scheme == "http" && isLoopback(u.Hostname()):
		return nil
	}
	return errors.New("want https (http only for loopback hosts)")
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// checkUserCodeCharset refuses alphabets that cannot give short,
// case-insensitive, unambiguous user codes (RFC 8628 §6.1).
func checkUserCodeCharset(charset string, length int) error {
	if length < 4 || length > 32 {
		return fmt.Errorf("UserCodeLength %d: want 4 to 32", length)
	}
	seen := map[byte]bool{}
	for i := 0; i < len(charset); i++ {
		c := charset[i]
		if 'a' <= c && c <= 'z' {
			c -= 'a' - 'A'
		}
		if !('A' <= c && c <= 'Z' || '0' <= c && c <= '9') {
			return fmt.Errorf("UserCodeCharset %q: want letters and digits only (%q is neither)", charset, charset[i])
		}
		if seen[c] {
			return fmt.Errorf("UserCodeCharset %q: %q appears twice (codes are case-insensitive)", charset, c)
		}
		seen[c] = true
	}
	if bits := float64(length) * math.Log2(float64(len(seen))); len(seen) < 2 || bits < 20 {
		return fmt.Errorf("UserCodeCharset %q with UserCodeLength %d: under 20 bits of entropy", charset, length)
	}
	return nil
}

// Handler returns a handler serving every enabled endpoint at its
// Config.Endpoints path: token, revocation, introspection, device
// authorization (when DeviceCode is enabled), JWKS (when tokens are
// signed), UserInfo and discovery at OpenIDConfigurationPath (when OpenID
// is enabled) and, when Issuer is set, the metadata at MetadataPath. The authorization and verification pages are
// the application's (see ValidateAuthorizationRequest and LookupUserCode).
//
// For an issuer with a path, mount Handler under that path
// (http.StripPrefix) and MetadataHandler where RFC 8414 §3.1 puts it.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	e := s.cfg.Endpoints
	mux.Handle(e.Token, s.TokenHandler())
	mux.Handle(e.Revocation, s.RevocationHandler())
	mux.Handle(e.Introspection, s.IntrospectionHandler())
	if s.cfg.DeviceCode != nil {
		mux.Handle(e.DeviceAuthorization, s.DeviceAuthorizationHandler())
	}
	if s.cfg.Issuer != "" {
		mux.Handle(MetadataPath, s.MetadataHandler())
	}
	if s.keys != nil {
		mux.Handle(e.JWKS, s.JWKSHandler())
	}
	if s.cfg.OpenID != nil {
		mux.Handle(OpenIDConfigurationPath, s.OpenIDConfigurationHandler())
		mux.Handle(e.UserInfo, s.UserInfoHandler())
	}
	return mux
}

// Config returns a copy of the configuration in force, defaults filled
// in. Changing it changes nothing: a Server's configuration is fixed by
// NewServer.
func (s *Server) Config() Config { return cloneConfig(s.cfg) }

// cloneConfig copies c deeply enough that no slice, map or grant struct
// is shared with the original (hooks and the logger are shared: they are
// functions and a concurrency-safe logger).
func cloneConfig(c Config) Config {
	c.Scopes = slices.Clone(c.Scopes)
	c.DefaultScopes = slices.Clone(c.DefaultScopes)
	c.Extensions = maps.Clone(c.Extensions)
	c.AuthorizationCode = clonePtr(c.AuthorizationCode)
	c.ClientCredentials = clonePtr(c.ClientCredentials)
	c.Password = clonePtr(c.Password)
	c.RefreshToken = clonePtr(c.RefreshToken)
	c.DeviceCode = clonePtr(c.DeviceCode)
	c.Implicit = clonePtr(c.Implicit)
	c.Throttle.TrustedProxies = slices.Clone(c.Throttle.TrustedProxies)
	c.OpenID = clonePtr(c.OpenID)
	if c.OpenID != nil {
		c.OpenID.Claims = slices.Clone(c.OpenID.Claims)
	}
	c.SigningKeys.KeyEncryptionKey = slices.Clone(c.SigningKeys.KeyEncryptionKey)
	return c
}

func clonePtr[T any](p *T) *T {
	if p == nil {
		return nil
	}
	c := *p
	return &c
}

// fail logs a failure the client must not learn about and returns the
// server_error that stands for it.
func (s *Server) fail(ctx context.Context, op string, err error) *Error {
	s.logger.ErrorContext(ctx, "oauthgen: "+op, "error", err)
	return &Error{Code: ServerError, cause: fmt.Errorf("%s: %w", op, err)}
}

// hookError passes an *Error from an application hook through, as a
// copy: a hook may well return one shared value (a package-level
// "var errDenied = runtime.NewError(…)") to many concurrent requests, and
// the engine sets per-request fields (the redirect target of an
// authorization error) on the errors it handles. An *Error without a
// Code, and any other error, become a logged server_error.
func (s *Server) hookError(ctx context.Context, op string, err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		if e.Code == "" {
			return s.fail(ctx, op, fmt.Errorf("*runtime.Error without a Code: %w", err))
		}
		c := *e
		c.redirect, c.scope = nil, ""
		return &c
	}
	return s.fail(ctx, op, err)
}

// url returns the absolute URL of an endpoint path.
func (s *Server) url(path string) string { return s.issuerBase + path }

// expired reports whether a deadline has passed.
func (s *Server) expired(now, deadline time.Time) bool { return !now.Before(deadline) }

// accessLifetime and refreshLifetime honour a client's overrides.
func (s *Server) accessLifetime(c *Client) time.Duration {
	if c.AccessTokenLifetime > 0 {
		return c.AccessTokenLifetime
	}
	return s.cfg.AccessTokenLifetime
}

func (s *Server) refreshLifetime(c *Client) time.Duration {
	if c.RefreshTokenLifetime > 0 {
		return c.RefreshTokenLifetime
	}
	return s.cfg.RefreshTokenLifetime
}
