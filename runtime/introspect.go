package runtime

import (
	"context"
	"errors"
	"net/http"
)

// introspection is an RFC 7662 §2.2 response.
type introspection struct {
	Active    bool   `json:"active"`
	Scope     string `json:"scope,omitempty"`
	ClientID  string `json:"client_id,omitempty"`
	Username  string `json:"username,omitempty"`
	TokenType string `json:"token_type,omitempty"`
	Exp       int64  `json:"exp,omitempty"`
	Iat       int64  `json:"iat,omitempty"`
	Sub       string `json:"sub,omitempty"`
	Iss       string `json:"iss,omitempty"`
}

// IntrospectionHandler returns the introspection endpoint (RFC 7662) for
// authenticated (confidential) clients, such as resource servers; a
// public client is invalid_client. An active access token is answered with
// active, scope, client_id, sub and username (when the store is a
// UserStore), exp, iat, token_type "Bearer" and iss; an active refresh
// token likewise without token_type. Anything else — unknown, expired,
// revoked, rotated, or issued to another client — is just
// {"active":false}: a client sees only its own tokens, unless it is a
// resource server (Client.ResourceServer), which sees every client's
// (RFC 7662 §2.1, §4).
func (s *Server) IntrospectionHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		resp, e := s.introspect(w, r)
		if e != nil {
			s.writeError(w, e)
			return
		}
		s.writeJSON(w, http.StatusOK, resp)
	})
}

func (s *Server) introspect(w http.ResponseWriter, r *http.Request) (*introspection, *Error) {
	ctx := r.Context()
	form, e := s.readForm(w, r)
	if e != nil {
		return nil, e
	}
	ctx = s.snapshot(ctx)
	client, method, e := s.authenticateClient(ctx, r, form)
	if e != nil {
		return nil, e
	}
	if client.Public() {
		return nil, clientError(method, "introspection needs client authentication: public clients may not use it")
	}
	token := form.Get("token")
	if token == "" {
		return nil, NewError(InvalidRequest, "token is required")
	}
	hash := HashToken(token)
	now := s.now()
	for _, kind := range s.lookupOrder(form.Get("token_type_hint")) {
		var resp *introspection
		if kind == "access_token" {
			t, err := s.access.GetAccessToken(ctx, hash)
			if errors.Is(err, ErrNotFound) {
				continue
			}
			if err != nil {
				return nil, s.fail(ctx, "get access token", err)
			}
			if !t.RevokedAt.IsZero() || s.expired(now, t.ExpiresAt) || !mayIntrospect(client, t.ClientID) {
				return &introspection{}, nil
			}
			resp = &introspection{Active: true, Scope: FormatScope(t.Scopes), ClientID: t.ClientID, TokenType: "Bearer",
				Exp: t.ExpiresAt.Unix(), Iat: t.IssuedAt.Unix(), Sub: t.UserID}
		} else {
			t, err := s.refresh.GetRefreshToken(ctx, hash)
			if errors.Is(err, ErrNotFound) {
				continue
			}
			if err != nil {
				return nil, s.fail(ctx, "get refresh token", err)
			}
			if !t.RevokedAt.IsZero() || !t.ConsumedAt.IsZero() || s.expired(now, t.ExpiresAt) || !mayIntrospect(client, t.ClientID) {
				return &introspection{}, nil
			}
			resp = &introspection{Active: true, Scope: FormatScope(t.Scopes), ClientID: t.ClientID,
				Exp: t.ExpiresAt.Unix(), Iat: t.IssuedAt.Unix(), Sub: t.UserID}
		}
		resp.Iss = s.cfg.Issuer
		if e := s.addUsername(ctx, resp); e != nil {
			return nil, e
		}
		return resp, nil
	}
	return &introspection{}, nil
}

// addUsername fills username from the UserStore, when there is one and
// the user still exists.
func (s *Server) addUsername(ctx context.Context, resp *introspection) *Error {
	if resp.Sub == "" || s.users == nil {
		return nil
	}
	u, err := s.users.GetUser(ctx, resp.Sub)
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	if err != nil {
		return s.fail(ctx, "get user", err)
	}
	resp.Username = u.Username
	return nil
}

// mayIntrospect reports whether caller may learn about a token issued to
// owner: its own, or any when it is a declared resource server. Others get
// {"active":false}, as for an unknown token, so that a client cannot even
// tell whether another's token exists.
func mayIntrospect(caller *Client, owner string) bool {
	return caller.ResourceServer || caller.ID == owner
}
