package runtime

import (
	"context"
	"errors"
	"net/url"
	"time"
)

// grantRefreshToken exchanges a refresh token (RFC 6749 §6). A narrower
// scope may be asked for; a wider one is invalid_scope and leaves the
// token as it was. With rotation (the default, and always for public
// clients) the token is consumed by one atomic store call and a new one
// issued in the same family; a token presented after its rotation, or the
// loser of a concurrent race, revokes the whole family (RFC 9700 §4.14.2).
func (s *Server) grantRefreshToken(ctx context.Context, client *Client, form url.Values) (*issue, *Error) {
	value := form.Get("refresh_token")
	switch {
	case value == "":
		return nil, NewError(InvalidRequest, "refresh_token is required")
	case !isVSChars(value):
		return nil, NewError(InvalidRequest, "malformed refresh_token")
	}
	requested, err := ParseScope(form.Get("scope"))
	if err != nil {
		return nil, asError(err)
	}

	hash := HashToken(value)
	t, err := s.refresh.GetRefreshToken(ctx, hash)
	if errors.Is(err, ErrNotFound) {
		return nil, NewError(InvalidGrant, "unknown refresh token")
	}
	if err != nil {
		return nil, s.fail(ctx, "get refresh token", err)
	}
	if t.ClientID != client.ID {
		return nil, NewError(InvalidGrant, "the refresh token was issued to another client")
	}
	now := s.now()
	switch {
	case !t.RevokedAt.IsZero():
		return nil, NewError(InvalidGrant, "the refresh token was revoked")
	case !t.ConsumedAt.IsZero():
		return nil, s.reused(ctx, t.FamilyID, now)
	case s.expired(now, t.ExpiresAt):
		return nil, NewError(InvalidGrant, "the refresh token has expired")
	}
	// Without scope, the original scope (§6); checked before consuming, so
	// a bad request does not destroy the token.
	scopes := t.Scopes
	if requested != nil {
		var e *Error
		if scopes, e = narrowScopes(t.Scopes, requested); e != nil {
			return nil, errorf(InvalidScope, "scope may only narrow the original grant: %s", e.Description)
		}
	}

	// RFC 9700 §2.2.2: a public client's refresh tokens MUST be
	// sender-constrained or rotated. The engine has no sender constraint,
	// so DisableRotation only applies to clients that authenticate.
	rotate := !s.cfg.RefreshToken.DisableRotation || client.Public()
	if rotate {
		switch err := s.refresh.ConsumeRefreshToken(ctx, hash, now); {
		case errors.Is(err, ErrConsumed):
			return nil, s.reused(ctx, t.FamilyID, now)
		case errors.Is(err, ErrNotFound):
			return nil, NewError(InvalidGrant, "unknown refresh token")
		case err != nil:
			return nil, s.fail(ctx, "consume refresh token", err)
		}
	}
	return &issue{
		client:        client,
		userID:        t.UserID,
		scopes:        scopes,
		familyID:      t.FamilyID,
		refresh:       rotate,
		refreshScopes: t.Scopes, // a new refresh token keeps the original scope (§6)
	}, nil
}

// reused answers a refresh token presented after its rotation: someone
// holds a copy, so every token of the grant is revoked.
func (s *Server) reused(ctx context.Context, familyID string, now time.Time) *Error {
	if e := s.revokeFamily(ctx, familyID, "refresh token reuse", now); e != nil {
		return e
	}
	return NewError(InvalidGrant, "the refresh token was already used; its grant is revoked")
}
