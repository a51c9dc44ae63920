package runtime

import (
	"context"
	"errors"
	"net/http"
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
// an unknown username is verified against a dummy hash of the kind and
// cost of the users' stored hashes. An empty username or password is
// refused without a lookup. Failures are throttled per username (and per
// source address in AuthenticateLogin and the password grant): a blocked
// attempt is refused without verification, with an error matching
// ErrTooManyAttempts (see RetryAfter); a verification the hashing budget
// cannot take returns one matching ErrBusy. Store failures are a
// server_error *Error (logged). It needs a store implementing UserStore.
func (s *Server) AuthenticateUser(ctx context.Context, username, password string) (*User, error) {
	u, e := s.authenticateUser(ctx, username, password)
	if e != nil {
		return nil, e
	}
	return u, nil
}

// AuthenticateLogin is AuthenticateUser for a login page: failures are
// throttled per username and per the request's source address
// (SourceAddress).
func (s *Server) AuthenticateLogin(r *http.Request, username, password string) (*User, error) {
	return s.AuthenticateUser(s.withSource(r.Context(), r), username, password)
}

func (s *Server) authenticateUser(ctx context.Context, username, password string) (*User, error) {
	if s.users == nil {
		return nil, s.fail(ctx, "authenticate user", errors.New("the store does not implement runtime.UserStore"))
	}
	addr := addrKey("login", sourceFrom(ctx))
	usable := CheckCredentials(username, password) == nil && len(username) <= s.cfg.Limits.MaxValueBytes &&
		len(password) <= s.cfg.Limits.MaxValueBytes
	var key string
	if usable {
		key = userKey(username)
	}
	st, e := s.throttled(ctx, addr, key)
	if e != nil {
		return nil, e
	}
	fail := func() (*User, error) {
		if e := s.failed(ctx, &st); e != nil {
			return nil, e
		}
		return nil, ErrInvalidCredentials
	}
	if !usable {
		return fail()
	}
	user, err := s.users.GetUserByUsername(ctx, username)
	if errors.Is(err, ErrNotFound) {
		if e := s.verifyUnknown(ctx, s.userHashes, username, password); e != nil {
			return nil, e
		}
		return fail()
	}
	if err != nil {
		return nil, s.fail(ctx, "get user by username", err)
	}
	stored := userKey(user.Username)
	if stored != key {
		// The store matched another spelling ("BOB", "bob " under a
		// case-insensitive or PAD SPACE collation): the stored name's count
		// applies too, or each spelling would get its own free guesses.
		if e := s.throttleReadMore(ctx, &st, stored); e != nil {
			return nil, e
		}
		if e := s.blocked(&st); e != nil {
			return nil, e
		}
	}
	ok, e := s.verify(ctx, s.userHashes, user.PasswordHash, password)
	if e != nil {
		return nil, e
	}
	if !ok {
		return fail()
	}
	s.succeeded(ctx, &st, key)
	if stored != key {
		s.succeeded(ctx, &st, stored)
	}
	return user, nil
}
