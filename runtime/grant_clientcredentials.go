package runtime

import (
	"context"
	"net/url"
)

// grantClientCredentials is the client credentials grant (RFC 6749 §4.4):
// for confidential clients only, never with a refresh token (§4.4.3). The
// token's user is ClientCredentialsGrant.User's answer, if set.
func (s *Server) grantClientCredentials(ctx context.Context, client *Client, form url.Values) (*issue, *Error) {
	if client.Public() {
		return nil, NewError(UnauthorizedClient, "client_credentials is for confidential clients only")
	}
	requested, err := ParseScope(form.Get("scope"))
	if err != nil {
		return nil, asError(err)
	}
	var userID string
	if hook := s.cfg.ClientCredentials.User; hook != nil {
		if userID, err = hook(ctx, client.clone()); err != nil {
			return nil, s.hookError(ctx, "ClientCredentials.User", err)
		}
	}
	scopes, e := s.grantScopes(ctx, ScopeRequest{GrantType: GrantClientCredentials, Client: client, UserID: userID, Requested: requested})
	if e != nil {
		return nil, e
	}
	return &issue{client: client, userID: userID, scopes: scopes}, nil
}
