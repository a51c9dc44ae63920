package runtime

import (
	"net/http"
	"slices"
)

// AppPages are the endpoints the application serves with its own
// handlers, at the paths in Config.Endpoints. Metadata (RFC 8414)
// advertises an endpoint only when the server serves it: the engine's own
// handlers always, these two only when declared.
type AppPages struct {
	// Authorization: the application serves the authorization endpoint,
	// its login and consent page (ValidateAuthorizationRequest, then
	// CompleteAuthorization or DenyAuthorization), at
	// Endpoints.Authorization. Without it metadata leaves out
	// authorization_endpoint and what only it uses: response types,
	// response modes, PKCE methods, the iss parameter.
	Authorization bool
	// Verification: the application serves the device verification page
	// (LookupUserCode, ApproveDevice, DenyDevice) at
	// Endpoints.Verification. Without it metadata leaves out
	// device_authorization_endpoint: a device code that no one can approve
	// is of no use to a client.
	Verification bool
}

// Metadata is the authorization server metadata (RFC 8414 §2) a Server
// publishes, built from its enabled grants and endpoints. Each field is
// the RFC 8414 (or RFC 8628 §4, RFC 9207 §3) member its JSON name says;
// endpoints are absolute URLs.
type Metadata struct {
	// Issuer is Config.Issuer, exactly.
	Issuer string `json:"issuer"`
	// AuthorizationEndpoint is set when the code or implicit grant is
	// enabled and Config.AppPages.Authorization says the page is served.
	AuthorizationEndpoint string `json:"authorization_endpoint,omitempty"`
	// TokenEndpoint is always set.
	TokenEndpoint string `json:"token_endpoint"`
	// ScopesSupported is Config.Scopes.
	ScopesSupported []string `json:"scopes_supported,omitempty"`
	// ResponseTypesSupported lists "code" and "token" as enabled, with an
	// authorization endpoint. Without
	// an authorization endpoint it is empty and left out: RFC 8414 §3.2
	// says claims with zero elements MUST be omitted (and erratum 7793
	// makes the member required only with an authorization endpoint).
	ResponseTypesSupported []string `json:"response_types_supported,omitempty"`
	// ResponseModesSupported lists the response_mode values understood.
	ResponseModesSupported []string `json:"response_modes_supported,omitempty"`
	// GrantTypesSupported lists the enabled grants ("implicit" included).
	GrantTypesSupported []string `json:"grant_types_supported"`
	// TokenEndpointAuthMethodsSupported are client_secret_basic,
	// client_secret_post and none (public clients).
	TokenEndpointAuthMethodsSupported []string `json:"token_endpoint_auth_methods_supported"`
	// RevocationEndpoint is the RFC 7009 endpoint.
	RevocationEndpoint string `json:"revocation_endpoint"`
	// RevocationEndpointAuthMethodsSupported are as for the token endpoint.
	RevocationEndpointAuthMethodsSupported []string `json:"revocation_endpoint_auth_methods_supported"`
	// IntrospectionEndpoint is the RFC 7662 endpoint.
	IntrospectionEndpoint string `json:"introspection_endpoint"`
	// IntrospectionEndpointAuthMethodsSupported exclude none: public
	// clients may not introspect.
	IntrospectionEndpointAuthMethodsSupported []string `json:"introspection_endpoint_auth_methods_supported"`
	// CodeChallengeMethodsSupported are S256, and plain when allowed.
	CodeChallengeMethodsSupported []string `json:"code_challenge_methods_supported,omitempty"`
	// DeviceAuthorizationEndpoint is set when the device grant is enabled
	// and Config.AppPages.Verification says the verification page is
	// served.
	DeviceAuthorizationEndpoint string `json:"device_authorization_endpoint,omitempty"`
	// JWKSURI is the JWKS endpoint, set when tokens are signed (OpenID
	// Connect, JWT access tokens).
	JWKSURI string `json:"jwks_uri,omitempty"`
	// AuthorizationResponseIssParameterSupported says authorization
	// responses carry iss (RFC 9207), which they do whenever Issuer is set.
	AuthorizationResponseIssParameterSupported bool `json:"authorization_response_iss_parameter_supported,omitempty"`
}

// Metadata returns the server metadata: endpoints are Issuer plus
// Config.Endpoints paths, the application's own pages only as
// Config.AppPages declares them, and the supported response types, grant
// types, PKCE methods and scopes follow the configuration. Grant types are
// those the token endpoint accepts.
func (s *Server) Metadata() Metadata {
	e := s.cfg.Endpoints
	m := Metadata{
		Issuer:                                    s.cfg.Issuer,
		TokenEndpoint:                             s.url(e.Token),
		ScopesSupported:                           slices.Clone(s.cfg.Scopes),
		GrantTypesSupported:                       []string{},
		TokenEndpointAuthMethodsSupported:         []string{"client_secret_basic", "client_secret_post", "none"},
		RevocationEndpoint:                        s.url(e.Revocation),
		RevocationEndpointAuthMethodsSupported:    []string{"client_secret_basic", "client_secret_post", "none"},
		IntrospectionEndpoint:                     s.url(e.Introspection),
		IntrospectionEndpointAuthMethodsSupported: []string{"client_secret_basic", "client_secret_post"},
	}
	authorize := s.cfg.AppPages.Authorization && (s.cfg.AuthorizationCode != nil || s.cfg.Implicit != nil)
	if authorize {
		m.AuthorizationEndpoint = s.url(e.Authorization)
		m.AuthorizationResponseIssParameterSupported = s.cfg.Issuer != ""
	}
	if g := s.cfg.AuthorizationCode; g != nil {
		m.GrantTypesSupported = append(m.GrantTypesSupported, GrantAuthorizationCode)
		if authorize {
			m.ResponseTypesSupported = append(m.ResponseTypesSupported, "code")
			// response_mode=fragment is understood for code too.
			m.ResponseModesSupported = []string{"query", "fragment"}
			m.CodeChallengeMethodsSupported = []string{PKCES256}
			if g.AllowPlainPKCE {
				m.CodeChallengeMethodsSupported = append(m.CodeChallengeMethodsSupported, PKCEPlain)
			}
		}
	}
	if s.cfg.Implicit != nil {
		if authorize {
			m.ResponseTypesSupported = append(m.ResponseTypesSupported, "token")
			if !slices.Contains(m.ResponseModesSupported, "fragment") {
				m.ResponseModesSupported = append(m.ResponseModesSupported, "fragment")
			}
		}
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
		if s.cfg.AppPages.Verification {
			m.DeviceAuthorizationEndpoint = s.url(e.DeviceAuthorization)
		}
	}
	if s.keys != nil {
		m.JWKSURI = s.url(e.JWKS)
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
	return staticDocument(s.Metadata(), s.cfg.Issuer != "")
}
