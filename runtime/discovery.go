package runtime

import (
	"encoding/json"
	"net/http"
	"slices"
	"strconv"

	jose "github.com/go-jose/go-jose/v4"
)

// OpenIDConfigurationPath is where Handler serves OpenID discovery
// (OpenID Connect Discovery 1.0 §4).
const OpenIDConfigurationPath = "/.well-known/openid-configuration"

// OpenIDConfiguration is the OpenID Provider metadata (OpenID Connect
// Discovery 1.0 §3): the RFC 8414 metadata and the OpenID members.
type OpenIDConfiguration struct {
	Metadata
	// UserInfoEndpoint is the UserInfo endpoint (§5.3 of Core).
	UserInfoEndpoint string `json:"userinfo_endpoint"`
	// SubjectTypesSupported is ["public"]: sub is the user id for every client.
	SubjectTypesSupported []string `json:"subject_types_supported"`
	// IDTokenSigningAlgValuesSupported is the configured algorithm.
	IDTokenSigningAlgValuesSupported []string `json:"id_token_signing_alg_values_supported"`
	// ClaimsSupported are sub, the ID token claims and the UserInfo claims.
	ClaimsSupported []string `json:"claims_supported"`
	// ClaimsParameterSupported: the claims request parameter is not.
	ClaimsParameterSupported bool `json:"claims_parameter_supported"`
	// RequestParameterSupported: request objects are not.
	RequestParameterSupported bool `json:"request_parameter_supported"`
	// RequestURIParameterSupported: request_uri is not.
	RequestURIParameterSupported bool `json:"request_uri_parameter_supported"`
}

// OpenIDConfiguration returns the discovery document, or false when
// OpenID Connect is not enabled.
func (s *Server) OpenIDConfiguration() (OpenIDConfiguration, bool) {
	if s.cfg.OpenID == nil {
		return OpenIDConfiguration{}, false
	}
	m := s.Metadata()
	if len(m.ResponseTypesSupported) == 0 {
		// Discovery requires the member; "code" is what OpenID Connect
		// on this server means.
		m.ResponseTypesSupported = []string{"code"}
	}
	user := s.cfg.OpenID.Claims
	if user == nil {
		user = claimsFor([]string{"profile", "email", "address", "phone"})
	}
	claims := []string{"sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "at_hash"}
	for _, c := range user {
		if !slices.Contains(claims, c) {
			claims = append(claims, c)
		}
	}
	return OpenIDConfiguration{
		Metadata:                         m,
		UserInfoEndpoint:                 s.url(s.cfg.Endpoints.UserInfo),
		SubjectTypesSupported:            []string{"public"},
		IDTokenSigningAlgValuesSupported: []string{s.cfg.SigningKeys.Algorithm},
		ClaimsSupported:                  claims,
	}, true
}

// OpenIDConfigurationHandler serves OpenIDConfiguration: GET only, JSON,
// cacheable for an hour; 404 when OpenID Connect is off.
func (s *Server) OpenIDConfigurationHandler() http.Handler {
	doc, ok := s.OpenIDConfiguration()
	return staticDocument(doc, ok)
}

// staticDocument serves a JSON document that does not change while the
// server runs: GET and HEAD only, cacheable for an hour, readable from any
// origin; 404 when published is false.
func staticDocument(doc any, published bool) http.Handler {
	b, _ := json.Marshal(doc)
	b = append(b, '\n')
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !published {
			http.NotFound(w, r)
			return
		}
		if !readOnly(w, r) {
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "public, max-age=3600")
		publicDocument(w.Header())
		w.Write(b)
	})
}

// readOnly answers 405 to anything but GET and HEAD, and reports whether
// the request may go on.
func readOnly(w http.ResponseWriter, r *http.Request) bool {
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		return true
	}
	w.Header().Set("Allow", "GET, HEAD")
	http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
	return false
}

// publicDocument sets the headers of a document anyone may read, from any
// origin: nosniff, as on every response, and CORS for browser-based
// clients (no cookies are involved, so no origin gains anything by it).
func publicDocument(h http.Header) {
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Access-Control-Allow-Origin", "*")
}

// JWKSHandler serves the public signing keys as a JSON Web Key Set (RFC
// 7517 §5) at the jwks_uri: the key that signs now, the next one (created
// PropagationDelay ahead of its first signature) and the retired ones
// whose tokens may not have expired. Cache-Control max-age is
// SigningKeys.JWKSMaxAge, shorter than the propagation delay, so a
// verifier's cached copy has every key before it signs. 404 when no
// tokens are signed; 503 when the store cannot be read.
func (s *Server) JWKSHandler() http.Handler {
	maxAge := "public, max-age=" + strconv.FormatInt(int64(s.cfg.SigningKeys.JWKSMaxAge.Seconds()), 10)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.keys == nil {
			http.NotFound(w, r)
			return
		}
		if !readOnly(w, r) {
			return
		}
		publicDocument(w.Header())
		keys, err := s.keys.published(r.Context())
		if err != nil {
			s.logger.ErrorContext(r.Context(), "oauthgen: jwks", "error", err)
			w.Header().Set("Cache-Control", "no-store")
			http.Error(w, "signing keys unavailable", http.StatusServiceUnavailable)
			return
		}
		b, err := json.Marshal(jose.JSONWebKeySet{Keys: keys})
		if err != nil {
			s.logger.ErrorContext(r.Context(), "oauthgen: jwks", "error", err)
			http.Error(w, "signing keys unavailable", http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/jwk-set+json")
		w.Header().Set("Cache-Control", maxAge)
		w.Write(append(b, '\n'))
	})
}
