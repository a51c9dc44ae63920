package runtime

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strings"
)

// ErrNoToken is AuthenticateRequest's error for a request that carries no
// access token at all. Its challenge has no error code (RFC 6750 §3.1).
var ErrNoToken = errors.New("oauthgen: no access token in the request")

// maxBearerFormBytes bounds a form body read for access_token (§2.2).
const maxBearerFormBytes = 1 << 20

type tokenContextKey struct{}

// TokenFromContext returns the access token RequireToken validated for the
// request whose context this is.
func TokenFromContext(ctx context.Context) (*AccessToken, bool) {
	t, ok := ctx.Value(tokenContextKey{}).(*AccessToken)
	return t, ok
}

// ContextWithToken returns a context carrying t, as RequireToken passes it
// on; for handlers that call AuthenticateRequest themselves, and tests.
func ContextWithToken(ctx context.Context, t *AccessToken) context.Context {
	return context.WithValue(ctx, tokenContextKey{}, t)
}

// RequireToken returns middleware for protected resources (RFC 6750): the
// request must carry a valid access token holding every one of scopes.
// The token is read from the Authorization header, and also from a form
// body or the query when Config.Bearer allows it; more than one of them is
// invalid_request. On success the token is in the request context
// (TokenFromContext); when scopes are required the response carries
// X-Accepted-OAuth-Scopes (the required ones) and X-OAuth-Scopes (the
// token's), space-separated. Failures are written by WriteBearerError: no
// token 401 with a bare Bearer challenge, a malformed request 400, a bad,
// expired or revoked token 401 invalid_token, missing scope 403
// insufficient_scope with scope= in the challenge. A token taken from the
// query comes with Cache-Control: private (RFC 6750 §2.3), which the
// protected handler may override.
//
// RequireToken panics if a scope is not a scope token (RFC 6749 §3.3):
// RequireToken("read write") asks for one scope named "read write", which
// no token can have; write RequireToken("read", "write").
func (s *Server) RequireToken(scopes ...string) func(http.Handler) http.Handler {
	for _, sc := range scopes {
		if !isScopeToken(sc) {
			panic(fmt.Sprintf("oauthgen: RequireToken: %q is not a scope token (RFC 6749 §3.3); pass each scope as its own argument", sc))
		}
	}
	required := slices.Clone(scopes)
	accepted := FormatScope(required)
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			t, from, err := s.authenticate(r)
			if err != nil {
				s.WriteBearerError(w, r, err)
				return
			}
			if from == fromQuery {
				w.Header().Set("Cache-Control", "private")
			}
			if len(required) > 0 {
				// Canonical keys set directly: Header.Set would canonicalize
				// both again on every request. Both values in one slice,
				// each capped, so that an Add to one never writes the other.
				h := w.Header()
				v := []string{accepted, FormatScope(t.Scopes)}
				h["X-Accepted-Oauth-Scopes"] = v[0:1:1]
				h["X-Oauth-Scopes"] = v[1:2:2]
				if !HasScopes(t.Scopes, required...) {
					e := NewError(InsufficientScope, "the access token lacks a required scope")
					e.scope = accepted
					s.WriteBearerError(w, r, e)
					return
				}
			}
			next.ServeHTTP(w, r.WithContext(ContextWithToken(r.Context(), t)))
		})
	}
}

// AuthenticateRequest returns the valid access token of a request to a
// protected resource, without writing a response. Errors: ErrNoToken; an
// *Error invalid_request (malformed or repeated credentials) or
// invalid_token (unknown, expired, revoked); a server_error *Error when
// the store fails. WriteBearerError answers any of them.
func (s *Server) AuthenticateRequest(r *http.Request) (*AccessToken, error) {
	t, _, err := s.authenticate(r)
	return t, err
}

// tokenSource is where a request carried its access token (RFC 6750 §2).
type tokenSource int

const (
	fromHeader tokenSource = iota // §2.1
	fromForm                      // §2.2
	fromQuery                     // §2.3
)

// authenticate is AuthenticateRequest, also saying where the token was.
func (s *Server) authenticate(r *http.Request) (*AccessToken, tokenSource, error) {
	value, from, err := s.bearerToken(r)
	if err != nil {
		return nil, from, err
	}
	ctx := r.Context()
	t, err := s.access.GetAccessToken(ctx, HashToken(value))
	switch {
	case errors.Is(err, ErrNotFound):
		return nil, from, NewError(InvalidToken, "unknown access token")
	case err != nil:
		return nil, from, s.fail(ctx, "get access token", err)
	case !t.RevokedAt.IsZero():
		return nil, from, NewError(InvalidToken, "the access token was revoked")
	case s.expired(s.now(), t.ExpiresAt):
		return nil, from, NewError(InvalidToken, "the access token has expired")
	}
	return t, from, nil
}

// bodyMethods are the methods whose request body has defined semantics,
// the only ones that may carry access_token in a form body (RFC 6750 §2.2;
// RFC 9110 §9.3: GET, HEAD, DELETE, OPTIONS… bodies have none).
var bodyMethods = []string{http.MethodPost, http.MethodPut, http.MethodPatch}

// bearerToken finds the one access token of a request (RFC 6750 §2) and
// where it was.
func (s *Server) bearerToken(r *http.Request) (string, tokenSource, error) {
	type found struct {
		value string
		from  tokenSource
	}
	var at [3]found // one per location: no allocation for the usual one
	tokens := at[:0]

	headers := r.Header.Values("Authorization")
	if len(headers) > 1 {
		return "", fromHeader, NewError(InvalidRequest, "more than one Authorization header")
	}
	if len(headers) == 1 {
		scheme, rest, _ := strings.Cut(headers[0], " ")
		// Another scheme is not a bearer token: the request has none.
		if strings.EqualFold(scheme, "Bearer") {
			rest = strings.TrimLeft(rest, " ")
			if !isB64Token(rest) {
				return "", fromHeader, NewError(InvalidRequest, "malformed Authorization header: want Bearer and a token")
			}
			tokens = append(tokens, found{rest, fromHeader})
		}
	}

	// ParseQuery keeps what parses; a malformed pair elsewhere in the
	// query is not the token's business.
	var query url.Values
	if r.URL.RawQuery != "" {
		query, _ = url.ParseQuery(r.URL.RawQuery)
	}
	if query.Has("access_token") {
		if !s.cfg.Bearer.AllowQuery {
			return "", fromQuery, NewError(InvalidRequest, "access_token in the query string is not accepted; use the Authorization header")
		}
		v, e := singleToken(query["access_token"])
		if e != nil {
			return "", fromQuery, e
		}
		tokens = append(tokens, found{v, fromQuery})
	}

	if s.cfg.Bearer.AllowForm && r.Body != nil && r.Body != http.NoBody {
		if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err == nil && mt == "application/x-www-form-urlencoded" {
			body, err := io.ReadAll(io.LimitReader(r.Body, maxBearerFormBytes+1))
			// Put the body back for the protected handler.
			r.Body = io.NopCloser(io.MultiReader(bytes.NewReader(body), r.Body))
			if err != nil || len(body) > maxBearerFormBytes {
				return "", fromForm, NewError(InvalidRequest, "the request body is unreadable or too large")
			}
			form, _ := url.ParseQuery(string(body))
			if form.Has("access_token") {
				if !slices.Contains(bodyMethods, r.Method) {
					// §2.2: the method must have request-body semantics.
					return "", fromForm, NewError(InvalidRequest, "access_token in the body of a request whose method has no body semantics")
				}
				v, e := singleToken(form["access_token"])
				if e != nil {
					return "", fromForm, e
				}
				tokens = append(tokens, found{v, fromForm})
			}
		}
	}

	switch len(tokens) {
	case 0:
		return "", fromHeader, ErrNoToken
	case 1:
		return tokens[0].value, tokens[0].from, nil
	}
	return "", fromHeader, NewError(InvalidRequest, "access token sent by more than one method")
}

func singleToken(values []string) (string, *Error) {
	if len(values) != 1 {
		return "", NewError(InvalidRequest, "access_token is repeated")
	}
	if !isB64Token(values[0]) {
		return "", NewError(InvalidRequest, "malformed access_token")
	}
	return values[0], nil
}

// WriteBearerError answers a failed protected resource request (RFC 6750
// §3): a WWW-Authenticate: Bearer challenge with realm and, except for
// ErrNoToken, error and error_description (and scope for
// insufficient_scope); a JSON error body. A server_error is 500 without a
// challenge; an error that is not an *Error is logged as one.
func (s *Server) WriteBearerError(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, ErrNoToken) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="`+s.realm+`"`)
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	var e *Error
	if !errors.As(err, &e) {
		e = s.fail(r.Context(), "authenticate request", err)
	}
	e = e.public()
	if e.Code != ServerError {
		// public left only characters a quoted-string may hold as is.
		challenge := `Bearer realm="` + s.realm + `", error="` + e.Code + `"`
		if e.Description != "" {
			challenge += `, error_description="` + e.Description + `"`
		}
		if e.scope != "" {
			challenge += `, scope="` + e.scope + `"`
		}
		w.Header().Set("WWW-Authenticate", challenge)
	}
	s.writeJSON(w, e.HTTPStatus(), errorBody{e.Code, e.Description, e.URI})
}
