package runtime

import (
	"context"
	"errors"
	"net/url"
	"slices"
	"time"
)

// grantRefreshToken exchanges a refresh token (RFC 6749 §6). A narrower
// scope may be asked for; a wider one is invalid_scope and leaves the
// token as it was; scopes the client may no longer have are dropped. With
// rotation (the default, and always for public clients) the token is
// consumed in the same transaction that stores the new pair, in the same
// family; a token presented after its rotation, or the loser of a
// concurrent race, revokes the whole family (RFC 9700 §4.14.2), unless it
// comes within the reuse interval.
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
	// Within the reuse interval a rotated token is still good for the
	// same client; the database decides, as for single use.
	var reuseSince time.Time
	if iv := s.cfg.RefreshToken.ReuseInterval; iv > 0 {
		reuseSince = now.Add(-iv)
	}
	switch {
	case !t.RevokedAt.IsZero():
		return nil, NewError(InvalidGrant, "the refresh token was revoked")
	case !t.ConsumedAt.IsZero() && (reuseSince.IsZero() || t.ConsumedAt.Before(reuseSince)):
		return nil, s.reused(ctx, t.FamilyID, now)
	case s.expired(now, t.ExpiresAt):
		return nil, NewError(InvalidGrant, "the refresh token has expired")
	}
	// The client's scopes may have been cut since the grant.
	original := t.Scopes
	if len(client.Scopes) > 0 {
		original = intersectScopes(t.Scopes, client.Scopes)
		if len(original) == 0 && len(t.Scopes) > 0 {
			return nil, NewError(InvalidScope, "the client may no longer be granted any scope of this refresh token")
		}
	}
	// Without scope, the original scope (§6); checked before consuming, so
	// a bad request does not destroy the token.
	scopes := original
	if requested != nil {
		var e *Error
		if scopes, e = narrowScopes(original, requested); e != nil {
			return nil, errorf(InvalidScope, "scope may only narrow the original grant: %s", e.Description)
		}
	}

	// RFC 9700 §2.2.2: a public client's refresh tokens MUST be
	// sender-constrained or rotated. The engine has no sender constraint,
	// so DisableRotation only applies to clients that authenticate.
	rotate := !s.cfg.RefreshToken.DisableRotation || client.Public()
	is := &issue{
		client:        client,
		userID:        t.UserID,
		scopes:        scopes,
		familyID:      t.FamilyID,
		refresh:       rotate,
		refreshScopes: original, // a new refresh token keeps the original scope (§6)
		// OpenID Connect Core §12.2: a new ID token whose auth_time is the
		// original authentication's, which every rotation carries forward.
		idToken:  s.idTokenFor(scopes, "", t.AuthTime),
		authTime: t.AuthTime,
	}
	if rotate {
		is.consume = &Consumption{Kind: ConsumeRefreshToken, Hash: hash, ReuseSince: reuseSince}
		is.replayed = func(ctx context.Context, now time.Time) *Error { return s.reused(ctx, t.FamilyID, now) }
	} else {
		is.gone = func(ctx context.Context) bool {
			_, err := s.refresh.GetRefreshToken(ctx, hash)
			return errors.Is(err, ErrNotFound)
		}
	}
	return is, nil
}

// reused answers a refresh token presented after its rotation: someone
// holds a copy, so every token of the grant is revoked.
func (s *Server) reused(ctx context.Context, familyID string, now time.Time) *Error {
	if e := s.revokeFamily(ctx, familyID, "refresh token reuse", now); e != nil {
		return e
	}
	return NewError(InvalidGrant, "the refresh token was already used; its grant is revoked")
}

// intersectScopes keeps, in order, the scopes of have that allowed lists.
func intersectScopes(have, allowed []string) []string {
	out := make([]string, 0, len(have))
	for _, sc := range have {
		if slices.Contains(allowed, sc) {
			out = append(out, sc)
		}
	}
	return out
}
