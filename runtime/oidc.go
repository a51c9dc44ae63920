package runtime

import (
	"context"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/json"
	"errors"
	"hash"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// ScopeOpenID is the scope that makes an authorization request an OpenID
// Connect request (OpenID Connect Core §3.1.2.1).
const ScopeOpenID = "openid"

// Prompt values (OpenID Connect Core §3.1.2.1).
const (
	PromptNone          = "none"
	PromptLogin         = "login"
	PromptConsent       = "consent"
	PromptSelectAccount = "select_account"
)

// OpenID Connect error codes (OpenID Connect Core §3.1.2.6).
const (
	LoginRequired            = "login_required"
	ConsentRequired          = "consent_required"
	InteractionRequired      = "interaction_required"
	RequestNotSupported      = "request_not_supported"
	RequestURINotSupported   = "request_uri_not_supported"
	RegistrationNotSupported = "registration_not_supported"
)

// unsupportedOpenIDParams are the OpenID request parameters the server
// does not implement and must refuse rather than ignore (§6.1, §6.2,
// §7.2.1): ignoring a request object would drop what it says.
var unsupportedOpenIDParams = []struct{ param, code string }{
	{"request", RequestNotSupported},
	{"request_uri", RequestURINotSupported},
	{"registration", RegistrationNotSupported},
}

// maxMaxAge is the largest max_age kept; larger ones mean the same (no
// limit in practice) and would overflow a time.Duration.
const maxMaxAge = 1<<31 - 1

// maxNonceLength bounds the nonce a code carries to the ID token.
const maxNonceLength = 512

// configureSigning checks and completes the OpenID Connect, JWT access
// token and signing key configuration, and makes the keyring. Called by
// NewServer once lifetimes and the issuer are checked.
func (s *Server) configureSigning(store Store, bad func(format string, args ...any)) {
	c := &s.cfg
	s.userClaims, _ = store.(UserClaimsStore)
	switch c.AccessTokenFormat {
	case "", AccessTokenOpaque:
		c.AccessTokenFormat = AccessTokenOpaque
	case AccessTokenJWT:
	default:
		bad("AccessTokenFormat %q: want %q or %q", c.AccessTokenFormat, AccessTokenOpaque, AccessTokenJWT)
	}
	jwtAccess := c.AccessTokenFormat == AccessTokenJWT
	if c.OpenID == nil && !jwtAccess {
		return
	}
	if c.AccessTokenAudience == "" {
		c.AccessTokenAudience = c.Issuer
	}
	what := "OpenID"
	if c.OpenID == nil {
		what = "AccessTokenFormat jwt"
	}
	if c.Issuer == "" {
		bad("%s is enabled but Issuer is empty: tokens carry it as iss", what)
	}
	keyStore, ok := store.(SigningKeyStore)
	if !ok {
		bad("%s is enabled but the store does not implement runtime.SigningKeyStore", what)
	}

	k := &c.SigningKeys
	if k.Algorithm == "" {
		k.Algorithm = DefaultSigningAlgorithm
	}
	if !slices.Contains(signingAlgorithms, k.Algorithm) {
		bad("SigningKeys.Algorithm %q: want ES256, RS256 or EdDSA", k.Algorithm)
	}
	for _, d := range []struct {
		name string
		d    *time.Duration
		def  time.Duration
	}{
		{"RotateEvery", &k.RotateEvery, DefaultRotateEvery},
		{"RetireAfter", &k.RetireAfter, DefaultRetireAfter},
		{"RefreshEvery", &k.RefreshEvery, DefaultKeyRefresh},
		{"JWKSMaxAge", &k.JWKSMaxAge, DefaultJWKSMaxAge},
		{"PropagationDelay", &k.PropagationDelay, DefaultPropagationDelay},
	} {
		switch {
		case *d.d < 0:
			bad("SigningKeys.%s is negative (%v)", d.name, *d.d)
		case *d.d == 0:
			*d.d = d.def
		}
	}
	if k.PropagationDelay <= k.RefreshEvery+k.JWKSMaxAge {
		bad("SigningKeys.PropagationDelay %v must exceed RefreshEvery plus JWKSMaxAge (%v): verifiers must see a key before it signs", k.PropagationDelay, k.RefreshEvery+k.JWKSMaxAge)
	}
	if k.RotateEvery <= k.PropagationDelay {
		bad("SigningKeys.RotateEvery %v must exceed PropagationDelay %v", k.RotateEvery, k.PropagationDelay)
	}
	if jwtAccess && k.RetireAfter < c.AccessTokenLifetime {
		bad("SigningKeys.RetireAfter %v is shorter than AccessTokenLifetime %v: a key would leave the JWKS before its tokens expire", k.RetireAfter, c.AccessTokenLifetime)
	}
	if o := c.OpenID; o != nil {
		switch {
		case o.IDTokenLifetime < 0:
			bad("OpenID.IDTokenLifetime is negative (%v)", o.IDTokenLifetime)
		case o.IDTokenLifetime == 0:
			o.IDTokenLifetime = DefaultIDTokenLifetime
		case o.IDTokenLifetime < time.Second:
			bad("OpenID.IDTokenLifetime is under one second (%v)", o.IDTokenLifetime)
		}
		if k.RetireAfter < o.IDTokenLifetime {
			bad("SigningKeys.RetireAfter %v is shorter than OpenID.IDTokenLifetime %v", k.RetireAfter, o.IDTokenLifetime)
		}
		// A server that lists its scopes must know openid.
		if len(c.Scopes) > 0 && !slices.Contains(c.Scopes, ScopeOpenID) {
			c.Scopes = append(c.Scopes, ScopeOpenID)
		}
	}
	if k.KeyEncryptionKey == nil {
		kek, err := kekFromEnv()
		if err != nil {
			bad("%s is enabled: %v", what, err)
		}
		k.KeyEncryptionKey = kek
	}
	if k.KeyEncryptionKey != nil && len(k.KeyEncryptionKey) != 32 {
		bad("SigningKeys.KeyEncryptionKey is %d bytes, want 32 (AES-256-GCM)", len(k.KeyEncryptionKey))
	}
	if keyStore != nil {
		s.keys = &keyring{store: keyStore, cfg: *k, now: s.now, logger: s.logger.WarnContext}
	}
}

// openIDRequest reads the OpenID Connect parameters of an authorization
// request for response_type code with the openid scope granted: nonce,
// prompt and max_age (OpenID Connect Core §3.1.2.1). It refuses what it
// must not ignore: request, request_uri and registration (§6.1, §6.2,
// §7.2.1), and a missing redirect_uri (REQUIRED, §3.1.2.1).
func (s *Server) openIDRequest(req *AuthorizationRequest, params url.Values) *Error {
	if s.cfg.OpenID == nil || req.ResponseType != "code" || !slices.Contains(req.Scopes, ScopeOpenID) {
		return nil
	}
	for _, p := range []string{"nonce", "prompt", "max_age"} {
		if len(params[p]) > 1 {
			return errorf(InvalidRequest, "parameter %s is repeated", p)
		}
	}
	for _, u := range unsupportedOpenIDParams {
		if params.Has(u.param) {
			return errorf(u.code, "the %s parameter is not supported", u.param)
		}
	}
	if req.redirectURIParam == "" {
		return NewError(InvalidRequest, "redirect_uri is required in an OpenID Connect request")
	}
	req.OpenID = true
	req.Nonce = params.Get("nonce")
	if len(req.Nonce) > maxNonceLength || !isVSChars(req.Nonce) {
		return errorf(InvalidRequest, "malformed nonce: at most %d printable ASCII characters", maxNonceLength)
	}
	if p := params.Get("prompt"); p != "" {
		for _, v := range strings.Split(p, " ") {
			switch v {
			case PromptNone, PromptLogin, PromptConsent, PromptSelectAccount:
				if !slices.Contains(req.Prompt, v) {
					req.Prompt = append(req.Prompt, v)
				}
			case "":
				return NewError(InvalidRequest, "malformed prompt")
			}
			// Other values (prompt=create, …) are extensions the server
			// does not implement: ignored.
		}
		if slices.Contains(req.Prompt, PromptNone) && len(req.Prompt) > 1 {
			return NewError(InvalidRequest, "prompt none must not be combined with other values")
		}
	}
	if v, ok := params["max_age"]; ok {
		n, err := strconv.ParseUint(v[0], 10, 31)
		if errors.Is(err, strconv.ErrRange) {
			n, err = maxMaxAge, nil
		}
		if err != nil || strings.Trim(v[0], "0123456789") != "" {
			return NewError(InvalidRequest, "max_age must be a non-negative integer number of seconds")
		}
		d := time.Duration(n) * time.Second
		req.MaxAge = &d
	}
	return nil
}

// Session is what the application knows, at its authorization page, of
// the user's sign-in and consent, for Interaction.
type Session struct {
	// UserID is the signed-in user; empty when nobody is.
	UserID string
	// AuthTime is when that user last authenticated (entered credentials);
	// it becomes the ID token's auth_time.
	AuthTime time.Time
	// Consented: the user has approved the request's scopes for its
	// client, earlier (a remembered grant) or just now.
	Consented bool
	// LoggedInNow: the user authenticated while answering this very
	// request (the POST of the login form). It satisfies prompt=login and
	// max_age, which would otherwise send the user to the login page
	// again and again.
	LoggedInNow bool
	// ConsentedNow: the user approved on the consent page of this very
	// request. It satisfies prompt=consent.
	ConsentedNow bool
}

// Interaction is what the authorization page must do next.
type Interaction int

// Interactions.
const (
	// InteractionNone: complete the request (CompleteAuthorization).
	InteractionNone Interaction = iota
	// InteractionLogin: show the login page.
	InteractionLogin
	// InteractionConsent: show the consent page.
	InteractionConsent
)

// Interaction decides what the authorization page must do for req given
// the user's session (OpenID Connect Core §3.1.2.3): log in when nobody
// is signed in, prompt=login asks for it, or the sign-in is older than
// max_age; ask for consent when none was given or prompt=consent asks for
// it; otherwise complete. With prompt=none it never asks for either: it
// returns an error, login_required or consent_required, that
// WriteAuthorizationError redirects to the client (§3.1.2.6).
//
// It also records sess.AuthTime on req for the ID token, so call it before
// CompleteAuthorization on OpenID Connect requests (a zero AuthTime there
// means the user authenticated as part of this request).
func (s *Server) Interaction(req *AuthorizationRequest, sess Session) (Interaction, error) {
	if req == nil || req.target == nil {
		return 0, errors.New("oauthgen: Interaction: the request was not made by ValidateAuthorizationRequest")
	}
	none := slices.Contains(req.Prompt, PromptNone)
	refuse := func(code, description string) (Interaction, error) {
		return 0, &Error{Code: code, Description: description, redirect: req.target}
	}
	if sess.UserID == "" {
		if none {
			return refuse(LoginRequired, "the user is not signed in")
		}
		return InteractionLogin, nil
	}
	if !sess.LoggedInNow {
		if slices.Contains(req.Prompt, PromptLogin) {
			return InteractionLogin, nil
		}
		if req.MaxAge != nil && (sess.AuthTime.IsZero() || s.now().Sub(sess.AuthTime) > *req.MaxAge) {
			if none {
				return refuse(LoginRequired, "the user's sign-in is older than max_age")
			}
			return InteractionLogin, nil
		}
	}
	req.AuthTime = sess.AuthTime.UTC().Truncate(time.Microsecond)
	if !sess.Consented || slices.Contains(req.Prompt, PromptConsent) && !sess.ConsentedNow {
		if none {
			return refuse(ConsentRequired, "the user has not consented to this request")
		}
		return InteractionConsent, nil
	}
	return InteractionNone, nil
}

// idTokenFor returns what an ID token for a grant of scopes needs, or nil
// when the grant gets none (OpenID Connect off, or openid not granted).
func (s *Server) idTokenFor(scopes []string, nonce string, authTime time.Time) *idTokenInfo {
	if s.cfg.OpenID == nil || !slices.Contains(scopes, ScopeOpenID) {
		return nil
	}
	return &idTokenInfo{nonce: nonce, authTime: authTime}
}

// idTokenInfo is what an ID token says beyond the grant.
type idTokenInfo struct {
	nonce    string
	authTime time.Time // zero: auth_time left out (unknown)
}

// idTokenClaims are the claims of an ID token (OpenID Connect Core §2).
type idTokenClaims struct {
	Issuer   string `json:"iss"`
	Subject  string `json:"sub"`
	Audience string `json:"aud"`
	Expiry   int64  `json:"exp"`
	IssuedAt int64  `json:"iat"`
	AuthTime int64  `json:"auth_time,omitempty"`
	Nonce    string `json:"nonce,omitempty"`
	AtHash   string `json:"at_hash,omitempty"`
}

// newIDToken signs the ID token of a token response whose access token is
// accessToken (§3.1.3.6: at_hash).
func (s *Server) newIDToken(ctx context.Context, client *Client, userID string, info *idTokenInfo, accessToken string, now time.Time) (string, *Error) {
	if userID == "" {
		return "", s.fail(ctx, "sign ID token", errors.New("a grant with openid has no user"))
	}
	key, err := s.keys.signer(ctx)
	if err != nil {
		return "", s.fail(ctx, "sign ID token", err)
	}
	claims := idTokenClaims{
		Issuer:   s.cfg.Issuer,
		Subject:  userID,
		Audience: client.ID,
		Expiry:   now.Add(s.cfg.OpenID.IDTokenLifetime).Unix(),
		IssuedAt: now.Unix(),
		Nonce:    info.nonce,
		AtHash:   tokenHash(key.rec.Algorithm, accessToken),
	}
	if !info.authTime.IsZero() {
		claims.AuthTime = info.authTime.Unix()
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", s.fail(ctx, "sign ID token", err)
	}
	jwt, err := key.sign("JWT", payload)
	if err != nil {
		return "", s.fail(ctx, "sign ID token", err)
	}
	return jwt, nil
}

// tokenHash is at_hash (§3.1.3.6): the left half of the hash of the
// token with the hash of the signing algorithm, base64url. Ed25519 uses
// SHA-512, as go-oidc and the OpenID Foundation's clarification do.
func tokenHash(alg, token string) string {
	var h hash.Hash
	switch alg {
	case "EdDSA":
		h = sha512.New()
	default:
		h = sha256.New()
	}
	h.Write([]byte(token))
	sum := h.Sum(nil)
	return base64.RawURLEncoding.EncodeToString(sum[:len(sum)/2])
}

// accessTokenClaims are the claims of a JWT access token (RFC 9068 §2.2).
type accessTokenClaims struct {
	Issuer   string `json:"iss"`
	Expiry   int64  `json:"exp"`
	IssuedAt int64  `json:"iat"`
	Audience string `json:"aud"`
	Subject  string `json:"sub"`
	ClientID string `json:"client_id"`
	ID       string `json:"jti"`
	Scope    string `json:"scope,omitempty"`
}

// jwtAccessToken signs an RFC 9068 access token. Without a user, sub is
// the client id (§2.2).
func (s *Server) jwtAccessToken(ctx context.Context, client *Client, userID string, scopes []string, now, expires time.Time) (string, error) {
	key, err := s.keys.signer(ctx)
	if err != nil {
		return "", err
	}
	sub := userID
	if sub == "" {
		sub = client.ID
	}
	payload, err := json.Marshal(accessTokenClaims{
		Issuer:   s.cfg.Issuer,
		Expiry:   expires.Unix(),
		IssuedAt: now.Unix(),
		Audience: s.cfg.AccessTokenAudience,
		Subject:  sub,
		ClientID: client.ID,
		ID:       NewID(),
		Scope:    FormatScope(scopes),
	})
	if err != nil {
		return "", err
	}
	return key.sign("at+jwt", payload)
}

// jwtLifetime cuts an access token lifetime to what the JWKS covers: a
// key stays published RetireAfter after it stops signing.
func (s *Server) jwtLifetime(d time.Duration) time.Duration {
	return min(d, s.cfg.SigningKeys.RetireAfter)
}
