package runtime

import (
	"context"
	"slices"
	"strings"
)

// ParseScope splits a scope parameter (RFC 6749 §3.3): scope tokens of
// NQCHAR separated by single spaces. Repeated tokens are kept once, in
// their first position. An empty parameter is no scope. A malformed one is
// an invalid_scope *Error. Its work is linear in the length of s; the
// Server bounds that length and the count of tokens (Config.Limits)
// before it gets here.
func ParseScope(s string) ([]string, error) {
	if s == "" {
		return nil, nil
	}
	tokens := strings.Split(s, " ")
	out := make([]string, 0, len(tokens))
	// A scan for few tokens, a set beyond: never quadratic.
	var seen map[string]bool
	if len(tokens) > 16 {
		seen = make(map[string]bool, len(tokens))
	}
	for _, t := range tokens {
		if !isScopeToken(t) {
			return nil, NewError(InvalidScope, "malformed scope: tokens are printable ASCII without spaces, quotes or backslashes, one space apart")
		}
		switch {
		case seen != nil:
			if seen[t] {
				continue
			}
			seen[t] = true
		case slices.Contains(out, t):
			continue
		}
		out = append(out, t)
	}
	return out, nil
}

// FormatScope joins scopes with spaces, the form of the scope parameter.
func FormatScope(scopes []string) string { return strings.Join(scopes, " ") }

// HasScopes reports whether granted holds every one of required.
func HasScopes(granted []string, required ...string) bool {
	for _, r := range required {
		if !slices.Contains(granted, r) {
			return false
		}
	}
	return true
}

// grantScopes decides the scopes of a new grant: Config.ValidateScope when
// set, else the built-in check. Requested must already be parsed.
func (s *Server) grantScopes(ctx context.Context, req ScopeRequest) ([]string, *Error) {
	if s.cfg.ValidateScope != nil {
		req.Client = req.Client.clone()
		scopes, err := s.cfg.ValidateScope(ctx, req)
		if err != nil {
			return nil, s.hookError(ctx, "ValidateScope", err)
		}
		for _, sc := range scopes {
			if !isScopeToken(sc) {
				return nil, s.fail(ctx, "ValidateScope", errorf(ServerError, "returned malformed scope %q", clip(sc)))
			}
		}
		return slices.Clone(scopes), nil
	}
	return s.defaultScopes(req)
}

// defaultScopes is the built-in scope check: every requested scope must be
// one the server knows (Config.Scopes, when set) and the client may have
// (Client.Scopes, when set). No request means Config.DefaultScopes, less
// those the client may not have.
func (s *Server) defaultScopes(req ScopeRequest) ([]string, *Error) {
	allowed := func(sc string) bool {
		return (len(s.cfg.Scopes) == 0 || slices.Contains(s.cfg.Scopes, sc)) &&
			(len(req.Client.Scopes) == 0 || slices.Contains(req.Client.Scopes, sc))
	}
	if len(req.Requested) == 0 {
		var out []string
		for _, sc := range s.cfg.DefaultScopes {
			if allowed(sc) {
				out = append(out, sc)
			}
		}
		return out, nil
	}
	for _, sc := range req.Requested {
		if len(s.cfg.Scopes) > 0 && !slices.Contains(s.cfg.Scopes, sc) {
			return nil, errorf(InvalidScope, "unknown scope %s", clip(sc))
		}
		if !allowed(sc) {
			return nil, errorf(InvalidScope, "scope %s is not allowed for this client", clip(sc))
		}
	}
	return slices.Clone(req.Requested), nil
}

// narrowScopes returns the scopes of a grant the resource owner or the
// application narrowed: nil chosen keeps all of granted; otherwise chosen
// must be a subset of granted.
func narrowScopes(granted, chosen []string) ([]string, *Error) {
	if chosen == nil {
		return granted, nil
	}
	out := make([]string, 0, len(chosen))
	for _, sc := range chosen {
		if !slices.Contains(granted, sc) {
			return nil, errorf(InvalidScope, "scope %s was not requested", clip(sc))
		}
		if !slices.Contains(out, sc) {
			out = append(out, sc)
		}
	}
	return out, nil
}
