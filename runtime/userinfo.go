package runtime

import (
	"errors"
	"net/http"
	"slices"
)

// scopeClaims are the standard claims each scope gives access to (OpenID
// Connect Core §5.4).
var scopeClaims = map[string][]string{
	"profile": {"name", "family_name", "given_name", "middle_name", "nickname", "preferred_username",
		"profile", "picture", "website", "gender", "birthdate", "zoneinfo", "locale", "updated_at"},
	"email":   {"email", "email_verified"},
	"address": {"address"},
	"phone":   {"phone_number", "phone_number_verified"},
}

// claimsFor returns the claims the scopes give, sub first.
func claimsFor(scopes []string) []string {
	out := []string{"sub"}
	for _, sc := range []string{"profile", "email", "address", "phone"} {
		if slices.Contains(scopes, sc) {
			out = append(out, scopeClaims[sc]...)
		}
	}
	return out
}

// UserInfoHandler returns the UserInfo endpoint (OpenID Connect Core
// §5.3): GET or POST, with an access token as for RequireToken (RFC 6750;
// in the body of a POST too when Config.Bearer.AllowForm is set) that was
// granted openid and names a user. It answers the user's claims that the
// token's scopes give (profile, email, address, phone; §5.4), from the
// store's UserClaimsStore, and sub always. Errors are RFC 6750
// challenges: insufficient_scope without openid, invalid_token for a
// token without a user or whose user is gone. It answers CORS preflights
// and allows any origin (§5.3): no cookie is involved.
func (s *Server) UserInfoHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// CORS (§5.3: SHOULD), for clients in browsers: the token is in the
		// request, never a cookie, so any origin may call with one.
		h := w.Header()
		h.Set("Access-Control-Allow-Origin", "*")
		if r.Method == http.MethodOptions && r.Header.Get("Origin") != "" && r.Header.Get("Access-Control-Request-Method") != "" {
			h.Set("Access-Control-Allow-Methods", "GET, POST")
			h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type")
			h.Set("Access-Control-Max-Age", "86400")
			h.Set("X-Content-Type-Options", "nosniff")
			w.WriteHeader(http.StatusNoContent)
			return
		}
		h.Set("Access-Control-Expose-Headers", "WWW-Authenticate")
		if r.Method != http.MethodGet && r.Method != http.MethodPost {
			w.Header().Set("Allow", "GET, POST")
			s.writeJSON(w, http.StatusMethodNotAllowed, errorBody{Error: InvalidRequest, ErrorDescription: "the method must be GET or POST"})
			return
		}
		t, _, err := s.authenticate(r)
		if err != nil {
			s.WriteBearerError(w, r, err)
			return
		}
		if !slices.Contains(t.Scopes, ScopeOpenID) {
			e := NewError(InsufficientScope, "the access token was not granted openid")
			e.scope = ScopeOpenID
			s.WriteBearerError(w, r, e)
			return
		}
		if t.UserID == "" {
			s.WriteBearerError(w, r, NewError(InvalidToken, "the access token has no user"))
			return
		}
		out := map[string]any{}
		if s.userClaims != nil {
			ctx := r.Context()
			claims, err := s.userClaims.UserClaims(ctx, t.UserID)
			switch {
			case errors.Is(err, ErrNotFound):
				s.WriteBearerError(w, r, NewError(InvalidToken, "the access token's user no longer exists"))
				return
			case err != nil:
				s.WriteBearerError(w, r, s.fail(ctx, "get user claims", err))
				return
			}
			for _, c := range claimsFor(t.Scopes) {
				if v, ok := claims[c]; ok && v != nil {
					out[c] = v
				}
			}
		}
		out["sub"] = t.UserID
		s.writeJSON(w, http.StatusOK, out)
	})
}
