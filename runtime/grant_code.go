package runtime

import (
	"context"
	"errors"
	"net/url"
	"time"
)

// grantAuthorizationCode redeems an authorization code (RFC 6749 §4.1.3,
// RFC 7636 §4.5). Every check reads the code without consuming it, so a
// request that fails one (a wrong verifier, a missing redirect_uri) leaves
// the code for the legitimate client; only then is it consumed, by one
// atomic store call. A code presented again, or the loser of a concurrent
// race, revokes the family of tokens the first redemption issued
// (§4.1.2, §10.5).
func (s *Server) grantAuthorizationCode(ctx context.Context, client *Client, form url.Values) (*issue, *Error) {
	code := form.Get("code")
	switch {
	case code == "":
		return nil, NewError(InvalidRequest, "code is required")
	case !isVSChars(code):
		return nil, NewError(InvalidRequest, "malformed code")
	}
	verifier, hasVerifier := form.Get("code_verifier"), form.Has("code_verifier")
	if hasVerifier && !isPKCEValue(verifier) {
		return nil, NewError(InvalidRequest, "code_verifier must be 43 to 128 unreserved characters (RFC 7636 section 4.1)")
	}
	redirectURI, hasRedirectURI := form.Get("redirect_uri"), form.Has("redirect_uri")

	hash := HashToken(code)
	ac, err := s.codes.GetAuthorizationCode(ctx, hash)
	if errors.Is(err, ErrNotFound) {
		return nil, NewError(InvalidGrant, "unknown authorization code")
	}
	if err != nil {
		return nil, s.fail(ctx, "get authorization code", err)
	}
	if ac.ClientID != client.ID {
		return nil, NewError(InvalidGrant, "the authorization code was issued to another client")
	}
	now := s.now()
	if !ac.ConsumedAt.IsZero() {
		return nil, s.replayed(ctx, ac.FamilyID, now)
	}
	if s.expired(now, ac.ExpiresAt) {
		return nil, NewError(InvalidGrant, "the authorization code has expired")
	}

	// §4.1.3: redirect_uri is required when the authorization request had
	// one, and must be identical.
	switch {
	case ac.RedirectURI != "" && !hasRedirectURI:
		return nil, NewError(InvalidRequest, "redirect_uri is required: the authorization request had one")
	case ac.RedirectURI != "" && redirectURI != ac.RedirectURI:
		return nil, NewError(InvalidGrant, "redirect_uri does not match the authorization request")
	case ac.RedirectURI == "" && hasRedirectURI && (len(client.RedirectURIs) != 1 || redirectURI != client.RedirectURIs[0]):
		return nil, NewError(InvalidGrant, "redirect_uri does not match the authorization request")
	}

	switch {
	case ac.CodeChallenge == "" && hasVerifier:
		return nil, NewError(InvalidGrant, "code_verifier sent for a code issued without code_challenge")
	case ac.CodeChallenge != "" && !hasVerifier:
		return nil, NewError(InvalidGrant, "code_verifier is required: the authorization request had a code_challenge")
	case ac.CodeChallenge != "" && ac.CodeChallengeMethod == PKCEPlain && !s.cfg.AuthorizationCode.AllowPlainPKCE:
		return nil, NewError(InvalidGrant, "the plain code_challenge_method is no longer accepted")
	case ac.CodeChallenge != "" && !verifyPKCE(ac.CodeChallengeMethod, ac.CodeChallenge, verifier):
		return nil, NewError(InvalidGrant, "code_verifier does not match the code_challenge")
	}

	return &issue{
		client:   client,
		userID:   ac.UserID,
		scopes:   ac.Scopes,
		familyID: ac.FamilyID,
		consume:  &Consumption{Kind: ConsumeAuthorizationCode, Hash: hash},
		replayed: func(ctx context.Context, now time.Time) *Error { return s.replayed(ctx, ac.FamilyID, now) },
		refresh:  s.issuesRefresh(client),
		idToken:  s.idTokenFor(ac.Scopes, ac.Nonce, ac.AuthTime),
		authTime: ac.AuthTime,
	}, nil
}

// replayed answers a second redemption of a code: the tokens of its first
// redemption are revoked, whenever they are created (§4.1.2, §10.5).
func (s *Server) replayed(ctx context.Context, familyID string, now time.Time) *Error {
	if e := s.revokeFamily(ctx, familyID, "code replay", now); e != nil {
		return e
	}
	return NewError(InvalidGrant, "the code was already used; the tokens issued for it are revoked")
}
