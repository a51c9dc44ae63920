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

func (s *Server) token(w http.ResponseWriter, r *http.Request) (any, *Error) {
	ctx := r.Context()
	form, e := s.readForm(w, r)
	if e != nil {
		return nil, e
	}
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
		ctx = s.withSource(r) // throttled per source address too
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
	// refresh asks for a refresh token; refreshScopes are its scopes when
	// they differ from scopes (a narrowed refresh keeps the original, §6).
	refresh       bool
	refreshScopes []string
	// extra are extension grant fields for the response.
	extra map[string]any
}

// tokenResponse is a successful token response (RFC 6749 §5.1).
type tokenResponse struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int64  `json:"expires_in"`
	RefreshToken string `json:"refresh_token,omitempty"`
	Scope        string `json:"scope,omitempty"`
}

// issuesRefresh reports whether a grant to client comes with a refresh
// token: refresh tokens are enabled and the client may use them.
func (s *Server) issuesRefresh(client *Client) bool {
	return s.cfg.RefreshToken != nil && client.AllowsGrant(GrantRefreshToken)
}

// issueTokens stores the access token (and the refresh token, and the
// family when needed) and returns the token response.
func (s *Server) issueTokens(ctx context.Context, is *issue) (any, *Error) {
	now := s.now()
	if is.refresh && is.familyID == "" {
		id, e := s.createFamily(ctx, is.client.ID, is.userID, now)
		if e != nil {
			return nil, e
		}
		is.familyID = id
	}
	access, lifetime, e := s.createAccessToken(ctx, is.client, is.userID, is.scopes, is.familyID, now)
	if e != nil {
		return nil, e
	}
	resp := tokenResponse{
		AccessToken: access,
		TokenType:   "Bearer",
		ExpiresIn:   seconds(lifetime),
		Scope:       FormatScope(is.scopes),
	}
	if is.refresh {
		scopes := is.refreshScopes
		if scopes == nil {
			scopes = is.scopes
		}
		if resp.RefreshToken, e = s.createRefreshToken(ctx, is.client, is.userID, scopes, is.familyID, now); e != nil {
			return nil, e
		}
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
	for _, k := range []string{"refresh_token", "scope"} {
		delete(out, k)
	}
	if resp.RefreshToken != "" {
		out["refresh_token"] = resp.RefreshToken
	}
	if resp.Scope != "" {
		out["scope"] = resp.Scope
	}
	return out, nil
}

// createFamily stores a new token family.
func (s *Server) createFamily(ctx context.Context, clientID, userID string, now time.Time) (string, *Error) {
	f := &Family{ID: NewID(), ClientID: clientID, UserID: userID, CreatedAt: now}
	if err := s.families.CreateFamily(ctx, f); err != nil {
		return "", s.fail(ctx, "create family", err)
	}
	return f.ID, nil
}

// revokeFamily revokes every token of a family after a code replay or a
// refresh token reuse. An unknown family is nothing to revoke.
func (s *Server) revokeFamily(ctx context.Context, id, why string, now time.Time) *Error {
	if id == "" {
		return nil
	}
	err := s.families.RevokeFamily(ctx, id, now)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return s.fail(ctx, "revoke family", err)
	}
	s.logger.WarnContext(ctx, "oauthgen: token family revoked", "reason", why, "family", id)
	return nil
}

// createAccessToken stores a new access token and returns its value and
// lifetime.
func (s *Server) createAccessToken(ctx context.Context, client *Client, userID string, scopes []string, familyID string, now time.Time) (string, time.Duration, *Error) {
	value := NewToken()
	lifetime := s.accessLifetime(client)
	t := &AccessToken{
		Hash:      HashToken(value),
		ClientID:  client.ID,
		UserID:    userID,
		Scopes:    scopes,
		FamilyID:  familyID,
		IssuedAt:  now,
		ExpiresAt: now.Add(lifetime),
	}
	if err := s.access.CreateAccessToken(ctx, t); err != nil {
		return "", 0, s.fail(ctx, "create access token", err)
	}
	return value, lifetime, nil
}

// createRefreshToken stores a new refresh token and returns its value.
func (s *Server) createRefreshToken(ctx context.Context, client *Client, userID string, scopes []string, familyID string, now time.Time) (string, *Error) {
	value := NewToken()
	t := &RefreshToken{
		Hash:      HashToken(value),
		ClientID:  client.ID,
		UserID:    userID,
		Scopes:    scopes,
		FamilyID:  familyID,
		IssuedAt:  now,
		ExpiresAt: now.Add(s.refreshLifetime(client)),
	}
	if err := s.refresh.CreateRefreshToken(ctx, t); err != nil {
		return "", s.fail(ctx, "create refresh token", err)
	}
	return value, nil
}

// seconds rounds a duration up to whole seconds, for expires_in.
func seconds(d time.Duration) int64 {
	return int64(math.Ceil(d.Seconds()))
}
