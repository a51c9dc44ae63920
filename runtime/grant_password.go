package runtime

import (
	"context"
	"errors"
	"net/url"
)

// grantPassword is the resource owner password credentials grant (RFC
// 6749 §4.3). It issues a refresh token, in a new family, when refresh
// tokens are enabled and the client may use them.
func (s *Server) grantPassword(ctx context.Context, client *Client, form url.Values) (*issue, *Error) {
	username, password := form.Get("username"), form.Get("password")
	switch {
	case username == "" || password == "":
		return nil, NewError(InvalidRequest, "username and password are required")
	case !isUnicodeNoCRLF(username) || !isUnicodeNoCRLF(password):
		return nil, NewError(InvalidRequest, "malformed username or password")
	}
	requested, err := ParseScope(form.Get("scope"))
	if err != nil {
		return nil, asError(err)
	}
	user, err := s.AuthenticateUser(ctx, username, password)
	if errors.Is(err, ErrInvalidCredentials) {
		return nil, NewError(InvalidGrant, "invalid username or password")
	}
	if err != nil {
		return nil, asError(err)
	}
	scopes, e := s.grantScopes(ctx, ScopeRequest{GrantType: GrantPassword, Client: client, UserID: user.ID, Requested: requested})
	if e != nil {
		return nil, e
	}
	return &issue{client: client, userID: user.ID, scopes: scopes, refresh: s.issuesRefresh(client)}, nil
}

// AuthenticateUser checks a username and password against the UserStore,
// for login pages and the password grant. A wrong password and an unknown
// username both return ErrInvalidCredentials, after about the same time:
// for an unknown username a dummy hash is verified. Store failures are a
// server_error *Error (logged). It needs a store implementing UserStore.
func (s *Server) AuthenticateUser(ctx context.Context, username, password string) (*User, error) {
	if s.users == nil {
		return nil, s.fail(ctx, "authenticate user", errors.New("the store does not implement runtime.UserStore"))
	}
	user, err := s.users.GetUserByUsername(ctx, username)
	if errors.Is(err, ErrNotFound) {
		VerifyPassword(dummyPasswordHash(), password)
		return nil, ErrInvalidCredentials
	}
	if err != nil {
		return nil, s.fail(ctx, "get user by username", err)
	}
	if !VerifyPassword(user.PasswordHash, password) {
		return nil, ErrInvalidCredentials
	}
	return user, nil
}
