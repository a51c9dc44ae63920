package runtime

import (
	"context"
	"errors"
	"net/http"
	"time"
)

// RevocationHandler returns the revocation endpoint (RFC 7009). Clients
// authenticate as at the token endpoint and revoke their own access or
// refresh tokens; a refresh token takes its whole family (every token of
// the grant) with it. Unknown, expired and already revoked tokens are
// answered 200 too (§2.2); a token issued to another client is refused
// with invalid_grant. token_type_hint only decides which kind is looked up
// first, so any value is accepted.
func (s *Server) RevocationHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if e := s.revocation(w, r); e != nil {
			s.writeError(w, e)
			return
		}
		h := w.Header()
		h.Set("Cache-Control", "no-store")
		h.Set("Pragma", "no-cache")
		h.Set("X-Content-Type-Options", "nosniff")
		w.WriteHeader(http.StatusOK)
	})
}

func (s *Server) revocation(w http.ResponseWriter, r *http.Request) *Error {
	ctx := r.Context()
	form, e := s.readForm(w, r)
	if e != nil {
		return e
	}
	ctx = s.snapshot(ctx)
	client, _, e := s.authenticateClient(ctx, r, form)
	if e != nil {
		return e
	}
	token := form.Get("token")
	if token == "" {
		return NewError(InvalidRequest, "token is required")
	}
	hash := HashToken(token)
	now := s.now()
	for _, kind := range s.lookupOrder(form.Get("token_type_hint")) {
		var found bool
		if kind == "access_token" {
			found, e = s.revokeAccess(ctx, client, hash, now)
		} else {
			found, e = s.revokeRefresh(ctx, client, hash, now)
		}
		if found || e != nil {
			return e
		}
	}
	return nil
}

// lookupOrder returns the token kinds to try, the hinted one first (RFC
// 7009 §2.1, RFC 7662 §2.1); refresh tokens only with a refresh store.
func (s *Server) lookupOrder(hint string) []string {
	if s.refresh == nil {
		return []string{"access_token"}
	}
	if hint == "refresh_token" {
		return []string{"refresh_token", "access_token"}
	}
	return []string{"access_token", "refresh_token"}
}

func (s *Server) revokeAccess(ctx context.Context, client *Client, hash string, now time.Time) (bool, *Error) {
	t, err := s.access.GetAccessToken(ctx, hash)
	if errors.Is(err, ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return true, s.fail(ctx, "get access token", err)
	}
	if t.ClientID != client.ID {
		return true, NewError(InvalidGrant, "the token was issued to another client")
	}
	if !t.RevokedAt.IsZero() {
		return true, nil
	}
	if err := s.access.RevokeAccessToken(ctx, hash, now); err != nil && !errors.Is(err, ErrNotFound) {
		return true, s.fail(ctx, "revoke access token", err)
	}
	return true, nil
}

func (s *Server) revokeRefresh(ctx context.Context, client *Client, hash string, now time.Time) (bool, *Error) {
	t, err := s.refresh.GetRefreshToken(ctx, hash)
	if errors.Is(err, ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return true, s.fail(ctx, "get refresh token", err)
	}
	if t.ClientID != client.ID {
		return true, NewError(InvalidGrant, "the token was issued to another client")
	}
	if err := s.refresh.RevokeRefreshToken(ctx, hash, now); err != nil && !errors.Is(err, ErrNotFound) {
		return true, s.fail(ctx, "revoke refresh token", err)
	}
	if t.FamilyID != "" && s.families != nil {
		if err := s.families.RevokeFamily(ctx, t.FamilyID, now); err != nil && !errors.Is(err, ErrNotFound) {
			return true, s.fail(ctx, "revoke family", err)
		}
	}
	return true, nil
}
