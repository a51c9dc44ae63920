package runtime_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/oauthgen/oauthgen/runtime"
	"github.com/oauthgen/oauthgen/runtime/runtimetest"
)

// minimalStore has only the Store interface: NewServer finds nothing else.
type minimalStore struct{ runtime.Store }

// TestNewServer is the configurations NewServer refuses, each with an
// error that says why, and the ones it accepts.
func TestNewServer(t *testing.T) {
	full := runtimetest.NewMemoryStore()
	minimal := minimalStore{full}
	noop := func(context.Context, *runtime.ExtensionRequest) (*runtime.ExtensionResult, error) { return nil, nil }
	for _, c := range []struct {
		name  string
		cfg   runtime.Config
		store runtime.Store
		want  string // substring of the error; empty: accepted
	}{
		{name: "zero_config", cfg: runtime.Config{}, store: minimal},
		{name: "everything", cfg: func() runtime.Config { c := baseConfig(); c.Issuer = "https://as.example"; return c }(), store: full},
		{name: "nil_store", cfg: runtime.Config{}, store: nil, want: "nil store"},
		{name: "code_without_store", cfg: runtime.Config{AuthorizationCode: &runtime.AuthorizationCodeGrant{}}, store: minimal, want: "AuthorizationCode is enabled but the store does not implement runtime.AuthorizationCodeStore"},
		{name: "code_without_families", cfg: runtime.Config{AuthorizationCode: &runtime.AuthorizationCodeGrant{}}, store: minimal, want: "runtime.FamilyStore"},
		{name: "code_bad_pkce_policy", cfg: runtime.Config{AuthorizationCode: &runtime.AuthorizationCodeGrant{PKCE: 7}}, store: full, want: "unknown policy 7"},
		{name: "password_without_users", cfg: runtime.Config{Password: &runtime.PasswordGrant{}}, store: minimal, want: "Password is enabled but the store does not implement runtime.UserStore"},
		{name: "password_refresh_without_families", cfg: runtime.Config{Password: &runtime.PasswordGrant{}, RefreshToken: &runtime.RefreshTokenGrant{}}, store: minimal, want: "Password with RefreshToken"},
		{name: "refresh_without_store", cfg: runtime.Config{RefreshToken: &runtime.RefreshTokenGrant{}}, store: minimal, want: "RefreshToken is enabled but the store does not implement runtime.RefreshTokenStore"},
		{name: "refresh_without_rotation_still_needs_store", cfg: runtime.Config{RefreshToken: &runtime.RefreshTokenGrant{DisableRotation: true}}, store: minimal, want: "runtime.RefreshTokenStore"},
		{name: "device_without_store", cfg: runtime.Config{Issuer: "https://as.example", DeviceCode: &runtime.DeviceCodeGrant{}}, store: minimal, want: "runtime.DeviceCodeStore"},
		{name: "device_without_issuer", cfg: runtime.Config{DeviceCode: &runtime.DeviceCodeGrant{}}, store: full, want: "Issuer is empty"},
		{name: "device_lifetime_within_interval", cfg: runtime.Config{Issuer: "https://as.example", DeviceCodeLifetime: 5 * time.Second, DeviceCode: &runtime.DeviceCodeGrant{}}, store: full, want: "DeviceCodeLifetime 5s is not longer than DeviceCode.Interval 5s"},
		{name: "device_interval_fraction", cfg: runtime.Config{Issuer: "https://as.example", DeviceCode: &runtime.DeviceCodeGrant{Interval: 1500 * time.Millisecond}}, store: full, want: "whole seconds"},
		{name: "device_charset_punctuation", cfg: runtime.Config{Issuer: "https://as.example", DeviceCode: &runtime.DeviceCodeGrant{UserCodeCharset: "ABC-DEFGH"}}, store: full, want: "letters and digits only"},
		{name: "device_charset_case_duplicate", cfg: runtime.Config{Issuer: "https://as.example", DeviceCode: &runtime.DeviceCodeGrant{UserCodeCharset: "ABCDEFGHIJa"}}, store: full, want: "appears twice"},
		{name: "device_charset_too_weak", cfg: runtime.Config{Issuer: "https://as.example", DeviceCode: &runtime.DeviceCodeGrant{UserCodeCharset: "AB", UserCodeLength: 8}}, store: full, want: "under 20 bits"},
		{name: "device_code_too_short", cfg: runtime.Config{Issuer: "https://as.example", DeviceCode: &runtime.DeviceCodeGrant{UserCodeLength: 3}}, store: full, want: "want 4 to 32"},
		{name: "extension_not_uri", cfg: runtime.Config{Extensions: map[string]runtime.ExtensionGrant{"saml": noop}}, store: full, want: "not an absolute URI"},
		{name: "extension_device_uri", cfg: runtime.Config{Extensions: map[string]runtime.ExtensionGrant{runtime.GrantDeviceCode: noop}}, store: full, want: "built-in device grant"},
		{name: "extension_nil", cfg: runtime.Config{Extensions: map[string]runtime.ExtensionGrant{"urn:x:y": nil}}, store: full, want: "nil handler"},
		{name: "extension_refresh_without_families", cfg: runtime.Config{Extensions: map[string]runtime.ExtensionGrant{"urn:x:y": noop}, RefreshToken: &runtime.RefreshTokenGrant{}}, store: minimal, want: "Extensions with RefreshToken"},
		{name: "issuer_http", cfg: runtime.Config{Issuer: "http://as.example"}, store: full, want: "want https"},
		{name: "issuer_http_loopback", cfg: runtime.Config{Issuer: "http://localhost:8080"}, store: full},
		{name: "issuer_http_loopback_ip", cfg: runtime.Config{Issuer: "http://[::1]:8080"}, store: full},
		{name: "issuer_query", cfg: runtime.Config{Issuer: "https://as.example/?x=1"}, store: full, want: "query or fragment"},
		{name: "issuer_fragment", cfg: runtime.Config{Issuer: "https://as.example/#x"}, store: full, want: "query or fragment"},
		{name: "issuer_relative", cfg: runtime.Config{Issuer: "/as"}, store: full, want: "absolute https URL"},
		{name: "issuer_userinfo", cfg: runtime.Config{Issuer: "https://u:p@as.example"}, store: full, want: "user information"},
		{name: "issuer_unparsable", cfg: runtime.Config{Issuer: "https://as.example/%zz"}, store: full, want: "Issuer"},
		{name: "negative_lifetime", cfg: runtime.Config{AccessTokenLifetime: -time.Second}, store: full, want: "AccessTokenLifetime is negative"},
		{name: "subsecond_lifetime", cfg: runtime.Config{RefreshTokenLifetime: time.Millisecond}, store: full, want: "RefreshTokenLifetime is under one second"},
		{name: "bad_scope", cfg: runtime.Config{Scopes: []string{"read", "bad scope"}}, store: full, want: `"bad scope" is not a valid scope token`},
		{name: "bad_default_scope", cfg: runtime.Config{DefaultScopes: []string{`"x"`}}, store: full, want: "DefaultScopes"},
		{name: "default_scope_unknown", cfg: runtime.Config{Scopes: []string{"read"}, DefaultScopes: []string{"write"}}, store: full, want: `"write" is not one of Scopes`},
		{name: "bad_realm", cfg: runtime.Config{Bearer: runtime.BearerConfig{Realm: `a"b`}}, store: full, want: "Bearer.Realm"},
		{name: "endpoint_relative", cfg: runtime.Config{Endpoints: runtime.Endpoints{Token: "token"}}, store: full, want: "Endpoints.Token"},
		{name: "endpoint_query", cfg: runtime.Config{Endpoints: runtime.Endpoints{Token: "/token?x"}}, store: full, want: "Endpoints.Token"},
		{name: "endpoint_duplicate", cfg: runtime.Config{Endpoints: runtime.Endpoints{Revocation: "/token"}}, store: full, want: "also the Token path"},
		{name: "several_problems_at_once", cfg: runtime.Config{Password: &runtime.PasswordGrant{}, AccessTokenLifetime: -1}, store: minimal, want: "UserStore"},
	} {
		t.Run(c.name, func(t *testing.T) {
			srv, err := runtime.NewServer(c.cfg, c.store)
			if c.want == "" {
				if err != nil || srv == nil {
					t.Fatalf("err = %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want one containing %q", err, c.want)
			}
		})
	}
}

func TestDefaults(t *testing.T) {
	srv, err := runtime.NewServer(runtime.Config{Issuer: "https://as.example", DeviceCode: &runtime.DeviceCodeGrant{}}, runtimetest.NewMemoryStore())
	if err != nil {
		t.Fatal(err)
	}
	c := srv.Config()
	got := []time.Duration{c.AccessTokenLifetime, c.RefreshTokenLifetime, c.AuthorizationCodeLifetime, c.DeviceCodeLifetime}
	want := []time.Duration{time.Hour, 14 * 24 * time.Hour, 5 * time.Minute, 10 * time.Minute}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("lifetimes (-want +got):\n%s", diff)
	}
	wantEndpoints := runtime.Endpoints{Authorization: "/authorize", Token: "/token", Revocation: "/revoke", Introspection: "/introspect",
		DeviceAuthorization: "/device_authorization", Verification: "/device", UserInfo: "/userinfo", JWKS: "/jwks"}
	if diff := cmp.Diff(wantEndpoints, c.Endpoints); diff != "" {
		t.Errorf("endpoints (-want +got):\n%s", diff)
	}
}

// TestMetadata is RFC 8414: the document follows the configuration.
func TestMetadata(t *testing.T) {
	f := newFixture(t, func(c *runtime.Config) { c.AuthorizationCode.AllowPlainPKCE = true })
	res := f.get(runtime.MetadataPath, "")
	if res.Status != 200 || res.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("%d %v %s", res.Status, res.Header, res.Raw)
	}
	u := f.http.URL
	want := map[string]any{
		"issuer":                                         "" + u,
		"authorization_endpoint":                         u + "/authorize",
		"token_endpoint":                                 u + "/token",
		"revocation_endpoint":                            u + "/revoke",
		"introspection_endpoint":                         u + "/introspect",
		"device_authorization_endpoint":                  u + "/device_authorization",
		"scopes_supported":                               []any{"read", "write", "admin"},
		"response_types_supported":                       []any{"code", "token"},
		"response_modes_supported":                       []any{"query", "fragment"},
		"grant_types_supported":                          []any{"authorization_code", "implicit", "client_credentials", "password", "refresh_token", runtime.GrantDeviceCode, extGrant},
		"code_challenge_methods_supported":               []any{"S256", "plain"},
		"token_endpoint_auth_methods_supported":          []any{"client_secret_basic", "client_secret_post", "none"},
		"revocation_endpoint_auth_methods_supported":     []any{"client_secret_basic", "client_secret_post", "none"},
		"introspection_endpoint_auth_methods_supported":  []any{"client_secret_basic", "client_secret_post"},
		"authorization_response_iss_parameter_supported": true,
	}
	if diff := cmp.Diff(want, res.Body); diff != "" {
		t.Errorf("metadata (-want +got):\n%s", diff)
	}

	t.Run("minimal", func(t *testing.T) {
		srv, err := runtime.NewServer(runtime.Config{Issuer: "https://as.example/", ClientCredentials: &runtime.ClientCredentialsGrant{}}, minimalStore{runtimetest.NewMemoryStore()})
		if err != nil {
			t.Fatal(err)
		}
		m := srv.Metadata()
		want := runtime.Metadata{
			Issuer: "https://as.example/", TokenEndpoint: "https://as.example/token",
			GrantTypesSupported:                       []string{"client_credentials"},
			TokenEndpointAuthMethodsSupported:         []string{"client_secret_basic", "client_secret_post", "none"},
			RevocationEndpoint:                        "https://as.example/revoke",
			RevocationEndpointAuthMethodsSupported:    []string{"client_secret_basic", "client_secret_post", "none"},
			IntrospectionEndpoint:                     "https://as.example/introspect",
			IntrospectionEndpointAuthMethodsSupported: []string{"client_secret_basic", "client_secret_post"},
		}
		if diff := cmp.Diff(want, m); diff != "" {
			t.Errorf("metadata (-want +got):\n%s", diff)
		}
	})

	t.Run("method_not_allowed", func(t *testing.T) {
		rec := httptest.NewRecorder()
		f.srv.MetadataHandler().ServeHTTP(rec, httptest.NewRequest(http.MethodPost, runtime.MetadataPath, nil))
		if rec.Code != http.StatusMethodNotAllowed {
			t.Errorf("status = %d", rec.Code)
		}
	})

	t.Run("no_issuer", func(t *testing.T) {
		srv, err := runtime.NewServer(runtime.Config{}, runtimetest.NewMemoryStore())
		if err != nil {
			t.Fatal(err)
		}
		rec := httptest.NewRecorder()
		srv.MetadataHandler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, runtime.MetadataPath, nil))
		if rec.Code != http.StatusNotFound {
			t.Errorf("status = %d", rec.Code)
		}
		rec = httptest.NewRecorder()
		srv.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, runtime.MetadataPath, nil))
		if rec.Code != http.StatusNotFound {
			t.Errorf("Handler mounts metadata without an issuer: %d", rec.Code)
		}
	})
}

// TestHandlerPaths checks Handler mounts each endpoint at its configured
// path.
func TestHandlerPaths(t *testing.T) {
	f := newFixture(t, func(c *runtime.Config) {
		c.Endpoints = runtime.Endpoints{Token: "/oauth/token", Revocation: "/oauth/revoke", Introspection: "/oauth/introspect", DeviceAuthorization: "/oauth/device"}
	})
	h := f.srv.Handler()
	for _, path := range []string{"/oauth/token", "/oauth/revoke", "/oauth/introspect", "/oauth/device"} {
		rec := httptest.NewRecorder()
		req := postReq("", "", vals())
		req.URL.Path = path
		h.ServeHTTP(rec, req)
		if rec.Code != 400 || !strings.Contains(rec.Body.String(), "invalid_client") {
			t.Errorf("%s: %d %s", path, rec.Code, rec.Body)
		}
	}
	if m := f.srv.Metadata(); m.TokenEndpoint != f.http.URL+"/oauth/token" || m.DeviceAuthorizationEndpoint != f.http.URL+"/oauth/device" {
		t.Errorf("metadata = %+v", m)
	}
}
