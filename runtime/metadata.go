package runtime

import (
	"encoding/json"
	"net/http"
	"slices"
)

// Metadata is the authorization server metadata (RFC 8414 §2) a Server
// publishes, built from its enabled grants and endpoints.
type Metadata struct {
	Issuer                                     string   `json:"issuer"`
	AuthorizationEndpoint                      string   `json:"authorization_endpoint,omitempty"`
	TokenEndpoint                              string   `json:"token_endpoint"`
	ScopesSupported                            []string `json:"scopes_supported,omitempty"`
	ResponseTypesSupported                     []string `json:"response_types_supported"`
	ResponseModesSupported                     []string `json:"response_modes_supported,omitempty"`
	GrantTypesSupported                        []string `json:"grant_types_supported"`
	TokenEndpointAuthMethodsSupported          []string `json:"token_endpoint_auth_methods_supported"`
	RevocationEndpoint                         string   `json:"revocation_endpoint"`
	RevocationEndpointAuthMethodsSupported     []string `json:"revocation_endpoint_auth_methods_supported"`
	IntrospectionEndpoint                      string   `json:"introspection_endpoint"`
	IntrospectionEndpointAuthMethodsSupported  []string `json:"introspection_endpoint_auth_methods_supported"`
	CodeChallengeMethodsSupported              []string `json:"code_challenge_methods_supported,omitempty"`
	DeviceAuthorizationEndpoint                string   `json:"device_authorization_endpoint,omitempty"`
	AuthorizationResponseIssParameterSupported bool     `json:"authorization_response_iss_parameter_supported,omitempty"`
}

// Metadata returns the server metadata: endpoints are Issuer plus
// Config.Endpoints paths, and the supported response types, grant types,
// PKCE methods and scopes follow the configuration.
func (s *Server) Metadata() Metadata {
	e := s.cfg.Endpoints
	m := Metadata{
		Issuer:                                    s.cfg.Issuer,
		TokenEndpoint:                             s.url(e.Token),
		ScopesSupported:                           slices.Clone(s.cfg.Scopes),
		ResponseTypesSupported:                    []string{},
		GrantTypesSupported:                       []string{},
		TokenEndpointAuthMethodsSupported:         []string{"client_secret_basic", "client_secret_post", "none"},
		RevocationEndpoint:                        s.url(e.Revocation),
		RevocationEndpointAuthMethodsSupported:    []string{"client_secret_basic", "client_secret_post", "none"},
		IntrospectionEndpoint:                     s.url(e.Introspection),
		IntrospectionEndpointAuthMethodsSupported: []string{"client_secret_basic", "client_secret_post"},
	}
	if s.cfg.AuthorizationCode != nil || s.cfg.Implicit != nil {
		m.AuthorizationEndpoint = s.url(e.Authorization)
		m.AuthorizationResponseIssParameterSupported = s.cfg.Issuer != ""
	}
	if g := s.cfg.AuthorizationCode; g != nil {
		m.ResponseTypesSupported = append(m.ResponseTypesSupported, "code")
		m.ResponseModesSupported = append(m.ResponseModesSupported, "query")
		m.GrantTypesSupported = append(m.GrantTypesSupported, GrantAuthorizationCode)
		m.CodeChallengeMethodsSupported = []string{PKCES256}
		if g.AllowPlainPKCE {
			m.CodeChallengeMethodsSupported = append(m.CodeChallengeMethodsSupported, PKCEPlain)
		}
	}
	if s.cfg.Implicit != nil {
		m.ResponseTypesSupported = append(m.ResponseTypesSupported, "token")
		m.ResponseModesSupported = append(m.ResponseModesSupported, "fragment")
		m.GrantTypesSupported = append(m.GrantTypesSupported, GrantImplicit)
	}
	if s.cfg.ClientCredentials != nil {
		m.GrantTypesSupported = append(m.GrantTypesSupported, GrantClientCredentials)
	}
	if s.cfg.Password != nil {
		m.GrantTypesSupported = append(m.GrantTypesSupported, GrantPassword)
	}
	if s.cfg.RefreshToken != nil {
		m.GrantTypesSupported = append(m.GrantTypesSupported, GrantRefreshToken)
	}
	if s.cfg.DeviceCode != nil {
		m.GrantTypesSupported = append(m.GrantTypesSupported, GrantDeviceCode)
		m.DeviceAuthorizationEndpoint = s.url(e.DeviceAuthorization)
	}
	var ext []string
	for gt := range s.cfg.Extensions {
		ext = append(ext, gt)
	}
	slices.Sort(ext)
	m.GrantTypesSupported = append(m.GrantTypesSupported, ext...)
	return m
}

// MetadataHandler returns the metadata endpoint (RFC 8414 §3): GET only,
// JSON, cacheable for an hour. Without an Issuer there is no metadata to
// publish: it answers 404.
func (s *Server) MetadataHandler() http.Handler {
	m := s.Metadata()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.cfg.Issuer == "" {
			http.NotFound(w, r)
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		b, _ := json.Marshal(m)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "public, max-age=3600")
		w.Write(append(b, '\n'))
	})
}
