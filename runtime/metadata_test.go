package runtime_test

import (
	"slices"
	"testing"

	"github.com/oauthgen/oauthgen/runtime"
)

// TestMetadataAdvertisesServedPagesOnly: RFC 8414 metadata names the
// application's authorization and device verification pages only when
// Config.AppPages says they are served; the engine's own endpoints and
// the grant types the token endpoint accepts are advertised regardless.
func TestMetadataAdvertisesServedPagesOnly(t *testing.T) {
	for _, c := range []struct {
		name          string
		pages         runtime.AppPages
		authorization bool
		device        bool
	}{
		{"neither", runtime.AppPages{}, false, false},
		{"authorization_page", runtime.AppPages{Authorization: true}, true, false},
		{"verification_page", runtime.AppPages{Verification: true}, false, true},
		{"both", runtime.AppPages{Authorization: true, Verification: true}, true, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			m := newFixture(t, func(cfg *runtime.Config) { cfg.AppPages = c.pages }).srv.Metadata()
			if got := m.AuthorizationEndpoint != ""; got != c.authorization {
				t.Errorf("authorization_endpoint = %q", m.AuthorizationEndpoint)
			}
			// What only the authorization endpoint uses goes with it.
			if got := len(m.ResponseTypesSupported) > 0; got != c.authorization {
				t.Errorf("response_types_supported = %v", m.ResponseTypesSupported)
			}
			if got := len(m.ResponseModesSupported) > 0; got != c.authorization {
				t.Errorf("response_modes_supported = %v", m.ResponseModesSupported)
			}
			if got := len(m.CodeChallengeMethodsSupported) > 0; got != c.authorization {
				t.Errorf("code_challenge_methods_supported = %v", m.CodeChallengeMethodsSupported)
			}
			if m.AuthorizationResponseIssParameterSupported != c.authorization {
				t.Errorf("authorization_response_iss_parameter_supported = %v", m.AuthorizationResponseIssParameterSupported)
			}
			if got := m.DeviceAuthorizationEndpoint != ""; got != c.device {
				t.Errorf("device_authorization_endpoint = %q", m.DeviceAuthorizationEndpoint)
			}
			if m.TokenEndpoint == "" || m.RevocationEndpoint == "" || m.IntrospectionEndpoint == "" {
				t.Errorf("engine endpoints missing: %+v", m)
			}
			for _, g := range []string{runtime.GrantAuthorizationCode, runtime.GrantImplicit, runtime.GrantDeviceCode} {
				if !slices.Contains(m.GrantTypesSupported, g) {
					t.Errorf("grant_types_supported = %v, want %s (the token endpoint accepts it)", m.GrantTypesSupported, g)
				}
			}
		})
	}
}
