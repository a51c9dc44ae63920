package runtime

import (
	"context"
	"errors"
	"math"
	"net/http"
	"net/url"
	"time"
)

// grantFunc handles a token request of one grant type for an
// authenticated client that may use it.
type grantFunc func(ctx context.Context, client *Client, form url.Values) (*issue, *Error)

// TokenHandler returns the token endpoint (RFC 6749 §3.2). It takes POST
// requests with an application/x-www-form-urlencoded body, authenticates
// the client (client_secret_basic, client_secret_post, or client_id alone
// for a public client) before it reads grant_type, checks the client may
// use the grant (unauthorized_client), and answers with an RFC 6749 §5.1
// token response or a §5.2 error, never cached.
func (s *Server) TokenHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		resp, e := s.token(w, r)
		if e != nil {
			s.writeError(w, e)
			return
		}
		s.writeJSON(w, http.StatusOK, resp)
	})
}

// token runs the request on the last change count read, when the store
// checks it at Issue (see changeCache), and once more on a count read for
// it if that one proved stale: never more than twice.
func (s *Server) token(w http.ResponseWriter, r *http.Request) (any, *Error) {
	form, e := s.readForm(w, r)
	if e != nil {
		return nil, e
	}
	if ctx, a := s.assume(r.Context()); a != nil {
		resp, e := s.tokenOn(ctx, r, form)
		if e != nil {
			// A stale client or count may be why it failed.
			s.confirm(ctx)
		}
		if !a.changed {
			return resp, e
		}
	}
	return s.tokenOn(s.snapshot(r.Context()), r, form)
}

// tokenOn answers a token request whose form was read, under ctx's snapshot.
func (s *Server) tokenOn(ctx context.Context, r *http.Request, form url.Values) (any, *Error) {
	client, _, e := s.authenticateClient(ctx, r, form)
	if e != nil {
		return nil, e
	}
	grantType := form.Get("grant_type")
	switch {
	case grantType == "":
		return nil, NewError(InvalidRequest, "grant_type is required")
	case !isGrantType(grantType):
		return nil, NewError(InvalidRequest, "malformed grant_type")
	}
	grant := s.grant(grantType)
	if grant == nil {
		return nil, errorf(UnsupportedGrantType, "grant type %s is not supported", grantType)
	}
	if !client.AllowsGrant(grantType) {
		return nil, errorf(UnauthorizedClient, "the client may not use the %s grant", grantType)
	}
	if grantType == GrantPassword {
		ctx = s.withSource(ctx, r) // throttled per source address too
	}
	is, e := grant(ctx, client, form)
	if e != nil {
		return nil, e
	}
	return s.issueTokens(ctx, is)
}

// grant returns the handler of an enabled grant type, or nil.
func (s *Server) grant(grantType string) grantFunc {
	switch grantType {
	case GrantAuthorizationCode:
		if s.cfg.AuthorizationCode != nil {
			return s.grantAuthorizationCode
		}
	case GrantClientCredentials:
		if s.cfg.ClientCredentials != nil {
			return s.grantClientCredentials
		}
	case GrantPassword:
		if s.cfg.Password != nil {
			return s.grantPassword
		}
	case GrantRefreshToken:
		if s.cfg.RefreshToken != nil {
			return s.grantRefreshToken
		}
	case GrantDeviceCode:
		if s.cfg.DeviceCode != nil {
			return s.grantDeviceCode
		}
	default:
		if h := s.cfg.Extensions[grantType]; h != nil {
			return func(ctx context.Context, client *Client, form url.Values) (*issue, *Error) {
				return s.grantExtension(ctx, grantType, h, client, form)
			}
		}
	}
	return nil
}

// issue is what a grant decided to issue.
type issue struct {
	client *Client
	userID string
	// scopes of the access token.
	scopes []string
	// familyID is the authorization's family; empty for grants that have
	// none yet (a family is then created if a refresh token is issued).
	familyID string
	// consume is the single-use record the grant spends, committed with
	// the tokens; nil for grants that spend none.
	consume *Consumption
	// replayed answers when consume loses to an earlier or a concurrent
	// request: it revokes the family and returns the error.
	replayed func(ctx context.Context, now time.Time) *Error
	// gone reports, after Issue failed, whether the record the grant was
	// decided on no longer exists: a grant that consumes nothing (a refresh
	// without rotation) does not lock it, and a purge may take it, and its
	// emptied family, before the commit. Nil for grants that consume.
	gone func(ctx context.Context) bool
	// refresh asks for a refresh token; refreshScopes are its scopes when
	// they differ from scopes (a narrowed refresh keeps the original, §6).
	refresh       bool
	refreshScopes []string
	// extra are extension grant fields for the response.
	extra map[string]any
	// idToken asks for an ID token (OpenID Connect); nil for none.
	idToken *idTokenInfo
	// authTime is when the user authenticated for the grant, kept by the
	// refresh token for the ID tokens of its refreshes; zero: unknown.
	authTime time.Time
}

// tokenResponse is a successful token response (RFC 6749 §5.1).
type tokenResponse struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int64  `json:"expires_in"`
	RefreshToken string `json:"refresh_token,omitempty"`
	Scope        string `json:"scope,omitempty"`
	IDToken      string `json:"id_token,omitempty"`
}

// issuesRefresh reports whether a grant to client comes with a refresh
// token: refresh tokens are enabled and the client may use them.
func (s *Server) issuesRefresh(client *Client) bool {
	return s.cfg.RefreshToken != nil && client.AllowsGrant(GrantRefreshToken)
}

// issueTokens stores the access token, the refresh token and the family
// when needed, and spends the grant's single-use record, all in one
// Issue, and returns the token response.
func (s *Server) issueTokens(ctx context.Context, is *issue) (any, *Error) {
	a, assumedCount := s.assumed(ctx)
	if a != nil && a.changed {
		return nil, errRedo // a hook went on after errRedo
	}
	now := s.now()
	if is.consume != nil {
		is.consume.At = now
	}
	in := &Issuance{Consume: is.consume}
	if a != nil && !a.confirmed {
		in.IfChangeCount = &assumedCount
	}
	if is.refresh && is.familyID == "" {
		in.Family = &Family{ID: NewID(), ClientID: is.client.ID, UserID: is.userID, CreatedAt: now}
		is.familyID = in.Family.ID
	}
	access, lifetime, e := s.newAccessToken(ctx, is.client, is.userID, is.scopes, is.familyID, now)
	if e != nil {
		return nil, e
	}
	in.AccessToken = access.record
	resp := tokenResponse{
		AccessToken: access.value,
		TokenType:   "Bearer",
		ExpiresIn:   seconds(lifetime),
		Scope:       FormatScope(is.scopes),
	}
	if is.refresh {
		scopes := is.refreshScopes
		if scopes == nil {
			scopes = is.scopes
		}
		refresh := s.newRefreshToken(is.client, is.userID, scopes, is.familyID, now)
		refresh.record.AuthTime = is.authTime
		in.RefreshToken = refresh.record
		resp.RefreshToken = refresh.value
	}
	if is.idToken != nil && is.userID != "" {
		if resp.IDToken, e = s.newIDToken(ctx, is.client, is.userID, is.idToken, access.value, now); e != nil {
			return nil, e
		}
	}
	err := s.store.Issue(ctx, in)
	if in.IfChangeCount != nil {
		switch {
		case errors.Is(err, ErrChanged):
			a.changed = true
			s.changes.forget()
			return nil, errRedo
		case err == nil, errors.Is(err, ErrConsumed), errors.Is(err, ErrNotFound), errors.Is(err, ErrDuplicate):
			a.confirmed = true // the count is compared before anything else
		}
	}
	switch {
	case err == nil:
	case is.consume != nil && errors.Is(err, ErrConsumed):
		return nil, is.replayed(ctx, now)
	case is.consume != nil && errors.Is(err, ErrNotFound),
		is.gone != nil && is.gone(ctx):
		// Purged between the read and the transaction.
		return nil, NewError(InvalidGrant, "unknown or expired grant")
	default:
		return nil, s.fail(ctx, "issue tokens", err)
	}
	if len(is.extra) == 0 || !s.cfg.AllowExtraTokenAttributes {
		return resp, nil
	}
	out := make(map[string]any, len(is.extra)+5)
	for k, v := range is.extra {
		out[k] = v
	}
	// Standard fields win over extras of the same name.
	out["access_token"] = resp.AccessToken
	out["token_type"] = resp.TokenType
	out["expires_in"] = resp.ExpiresIn
	for _, k := range []string{"refresh_token", "scope", "id_token"} {
		delete(out, k)
	}
	if resp.IDToken != "" {
		out["id_token"] = resp.IDToken
	}
	if resp.RefreshToken != "" {
		out["refresh_token"] = resp.RefreshToken
	}
	if resp.Scope != "" {
		out["scope"] = resp.Scope
	}
	return out, nil
}

// revokeFamily revokes every token of a family after a code replay or a
// refresh token reuse. An unknown family is nothing to revoke.
func (s *Server) revokeFamily(ctx context.Context, id, why string, now time.Time) *Error {
	if id == "" {
		return nil
	}
	if !s.confirm(ctx) {
		return errRedo
	}
	err := s.families.RevokeFamily(ctx, id, now)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return s.fail(ctx, "revoke family", err)
	}
	s.logger.WarnContext(ctx, "oauthgen: token family revoked", "reason", why, "family", id)
	return nil
}

// newToken is a token's value, returned once, and the record of its hash.
type newToken[T any] struct {
	value  string
	record *T
}

// newAccessToken makes an access token and returns it with its lifetime:
// a random string, or a signed JWT (Config.AccessTokenFormat), stored by
// its hash either way.
func (s *Server) newAccessToken(ctx context.Context, client *Client, userID string, scopes []string, familyID string, now time.Time) (newToken[AccessToken], time.Duration, *Error) {
	value := NewToken()
	lifetime := s.accessLifetime(client)
	if s.cfg.AccessTokenFormat == AccessTokenJWT {
		lifetime = s.jwtLifetime(lifetime)
		var err error
		if value, err = s.jwtAccessToken(ctx, client, userID, scopes, now, now.Add(lifetime)); err != nil {
			return newToken[AccessToken]{}, 0, s.fail(ctx, "sign access token", err)
		}
	}
	return newToken[AccessToken]{value, &AccessToken{
		Hash:      HashToken(value),
		ClientID:  client.ID,
		UserID:    userID,
		Scopes:    scopes,
		FamilyID:  familyID,
		IssuedAt:  now,
		ExpiresAt: now.Add(lifetime),
	}}, lifetime, nil
}

// newRefreshToken makes a refresh token.
func (s *Server) newRefreshToken(client *Client, userID string, scopes []string, familyID string, now time.Time) newToken[RefreshToken] {
	value := NewToken()
	return newToken[RefreshToken]{value, &RefreshToken{
		Hash:      HashToken(value),
		ClientID:  client.ID,
		UserID:    userID,
		Scopes:    scopes,
		FamilyID:  familyID,
		IssuedAt:  now,
		ExpiresAt: now.Add(s.refreshLifetime(client)),
	}}
}

// seconds rounds a duration up to whole seconds, for expires_in.
func seconds(d time.Duration) int64 {
	return int64(math.Ceil(d.Seconds()))
}
