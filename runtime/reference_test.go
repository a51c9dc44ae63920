package runtime_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// referenceBehaviours maps every item of
// shared/reference/node-oauth2-server-behaviours.md (what node
// oauth2-server 5.3.0's suite pins down) to the tests here that assert its
// status, error code and headers. Where node is known to be wrong the list
// says what oauthgen does instead, and so do these tests; deliberate
// differences are in the note.
//
// TestReferenceBehaviours checks that every test named here exists, so the
// map cannot silently rot when a test is renamed.
var referenceBehaviours = []struct {
	item  string
	tests []string
	note  string
}{
	// Token endpoint.
	{item: "token: non-POST → invalid_request 400",
		tests: []string{"TestTokenErrors/method_get"}, note: "with Allow: POST"},
	{item: "token: content type other than form → invalid_request 400",
		tests: []string{"TestTokenErrors/content_type_json", "TestTokenErrors/content_type_missing", "TestTokenErrors/content_type_with_charset_is_fine"}},
	{item: "token: credentials from Basic or body; none → invalid_client",
		tests: []string{"TestTokenErrors/no_client_credentials", "TestTokenErrors/basic_and_same_client_id_in_body_is_fine", "TestEndToEnd/client_credentials_basic_secret_needs_encoding", "TestEndToEnd/client_credentials_post_secret_needs_encoding"}},
	{item: "token: client_id alone only for public clients",
		tests: []string{"TestTokenErrors/confidential_client_id_only", "TestEmptyParametersAreOmitted/confidential_client_with_empty_client_secret", "TestEndToEnd/authorization_code_pkce_public"}},
	{item: "token: non-printable client_id / client_secret → invalid_request",
		tests: []string{"TestTokenErrors/nonprintable_client_id", "TestTokenErrors/nonprintable_client_secret", "TestTokenErrors/basic_nonprintable_secret"}},
	{item: "token: unknown client or wrong secret → invalid_client, 400 via body, 401 + WWW-Authenticate: Basic via header",
		tests: []string{"TestTokenErrors/unknown_client_post", "TestTokenErrors/unknown_client_basic", "TestTokenErrors/wrong_secret_post", "TestTokenErrors/wrong_secret_basic", "TestTokenErrors/wrong_bcrypt_secret"}},
	{item: "token: client authentication before grant_type",
		tests: []string{"TestTokenErrors/client_auth_before_grant_type"}},
	{item: "token: grant_type missing / malformed → invalid_request; unknown → unsupported_grant_type; not allowed → unauthorized_client",
		tests: []string{"TestTokenErrors/grant_type_missing", "TestTokenErrors/grant_type_malformed", "TestTokenErrors/grant_type_unknown", "TestTokenErrors/grant_type_unknown_uri", "TestTokenErrors/grant_type_disabled", "TestTokenErrors/grant_not_allowed_for_client"}},
	{item: "token: success fields, token_type Bearer, numeric expires_in, space-separated scope, Cache-Control: no-store, Pragma: no-cache",
		tests: []string{"TestToken/response_fields"}, note: "every error response carries both headers too (TestTokenErrors checks each)"},
	{item: "token: extra token attributes only when allowed",
		tests: []string{"TestToken/extension_grant", "TestToken/extension_grant_extra_attributes"}},
	{item: "token: non-OAuth failure → server_error",
		tests: []string{"TestServerErrors/GetClient", "TestServerErrors/Issue_client_credentials", "TestServerErrors/extension_hook_error"},
		note:  "node answers 503 and leaks the inner message; oauthgen answers 500 and logs it"},

	// password.
	{item: "password: missing / invalid username or password → invalid_request; wrong credentials → invalid_grant",
		tests: []string{"TestTokenErrors/password_missing_username", "TestTokenErrors/password_missing_password", "TestTokenErrors/password_username_with_newline", "TestTokenErrors/password_invalid_utf8", "TestTokenErrors/password_wrong", "TestTokenErrors/password_unknown_user"}},
	{item: "password: refresh token when the refresh grant is enabled; scope → invalid_scope",
		tests: []string{"TestToken/response_fields", "TestToken/no_refresh_token_when_refresh_disabled", "TestTokenErrors/password_bad_scope"}},

	// client_credentials.
	{item: "client_credentials: no refresh token; the token authenticates afterwards",
		tests: []string{"TestToken/client_credentials_no_refresh_no_family", "TestToken/token_usable_at_resource"}},

	// authorization_code.
	{item: "code: missing / malformed code → invalid_request; unknown, other client's, expired → invalid_grant",
		tests: []string{"TestTokenErrors/code_missing", "TestTokenErrors/code_malformed", "TestTokenErrors/code_unknown", "TestTokenErrors/code_of_other_client", "TestTokenErrors/code_expired"}},
	{item: "code: redirect_uri required when sent to authorize, and must match",
		tests: []string{"TestTokenErrors/code_redirect_uri_missing", "TestTokenErrors/code_redirect_uri_mismatch", "TestTokenErrors/code_redirect_uri_not_needed_for_default", "TestEmptyParametersAreOmitted/empty_redirect_uri_at_token_endpoint_is_missing"},
		note:  "a mismatch is invalid_grant (RFC 6749 §5.2 names it), not node's invalid_request; not required after the default URI (§4.1.3)"},
	{item: "code: reuse → invalid_grant, and the tokens of the first use are revoked",
		tests: []string{"TestTokenErrors/code_reused", "TestToken/code_replay_revokes_tokens", "TestReplayRevokesTokensOfARacingFirstRedemption", "TestConcurrentRedemption/reference_store/authorization_codes"},
		note:  "node does not revoke"},
	{item: "code: PKCE S256; plain refused unless enabled; verifier 43–128 unreserved else invalid_request; verifier without challenge → invalid_grant; failed verifier does not burn the code; PKCE can be required",
		tests: []string{"TestTokenErrors/pkce_verifier_too_short", "TestTokenErrors/pkce_verifier_too_long", "TestTokenErrors/pkce_verifier_bad_character", "TestTokenErrors/pkce_verifier_without_challenge", "TestTokenErrors/pkce_challenge_without_verifier", "TestTokenErrors/pkce_wrong_verifier", "TestTokenErrors/pkce_plain_matches", "TestToken/plain_pkce_refused_after_config_change", "TestToken/failed_pkce_does_not_burn_code", "TestAuthorizeErrors/pkce_missing_when_required_for_all", "TestAuthorizeErrors/pkce_missing_public_client"},
		note:  "node burns the code on a failed verifier and cannot require PKCE"},

	// refresh_token.
	{item: "refresh: missing / invalid → invalid_request; unknown, other client's, expired → invalid_grant",
		tests: []string{"TestTokenErrors/refresh_missing", "TestTokenErrors/refresh_malformed", "TestTokenErrors/refresh_unknown", "TestTokenErrors/refresh_of_other_client", "TestTokenErrors/refresh_expired", "TestTokenErrors/refresh_revoked"}},
	{item: "refresh: wider scope → invalid_scope, token kept",
		tests: []string{"TestTokenErrors/refresh_wider_scope", "TestToken/refresh_wider_scope_keeps_token"},
		note:  "node 5.3.0 revokes the token first"},
	{item: "refresh: narrower scope allowed, none means the original; old token revoked on rotation",
		tests: []string{"TestToken/refresh_narrower_scope", "TestToken/refresh_rotation_revokes_old", "TestPublicClientRefreshTokensAlwaysRotate"}},
	{item: "refresh: a rotated token presented again revokes the family",
		tests: []string{"TestToken/refresh_reuse_revokes_family", "TestConcurrentRedemption/reference_store/refresh_tokens"},
		note:  "node has no reuse detection"},

	// Authorization endpoint, not redirected.
	{item: "authorize: missing / invalid client_id → invalid_request; unknown client → invalid_client (not redirected)",
		tests: []string{"TestAuthorizeErrors/client_id_missing", "TestAuthorizeErrors/client_id_malformed", "TestAuthorizeErrors/client_id_repeated", "TestAuthorizeErrors/client_unknown"}},
	{item: "authorize: client without the code grant → unauthorized_client (not redirected)",
		tests: []string{"TestAuthorizeErrors/client_without_authorization_grants"}},
	{item: "authorize: no redirect URIs, or redirect_uri not registered → invalid_client / invalid_request (not redirected)",
		tests: []string{"TestAuthorizeErrors/client_without_redirect_uris", "TestAuthorizeErrors/redirect_uri_not_registered", "TestAuthorizeErrors/redirect_uri_prefix_is_not_a_match", "TestAuthorizeErrors/redirect_uri_needed_with_several_registered", "TestAuthorizeErrors/registered_redirect_uri_not_absolute", "TestLoopbackRedirectURIPort"}},
	// Authorization endpoint, redirected.
	{item: "authorize: missing state (when required) → invalid_request; denied → access_denied; bad scope → invalid_scope (redirected with state)",
		tests: []string{"TestAuthorizeErrors/state_missing_when_required", "TestAuthorize/deny", "TestAuthorizeErrors/scope_unknown", "TestAuthorizeErrors/scope_malformed", "TestStateRoundTrip"}},
	{item: "authorize: missing response_type → invalid_request; other types → unsupported_response_type",
		tests: []string{"TestAuthorizeErrors/response_type_missing", "TestAuthorizeErrors/response_type_unknown", "TestAuthorizeErrors/response_type_token_disabled", "TestResponseMode"}},
	{item: "authorize: bad or refused plain code_challenge_method → invalid_request",
		tests: []string{"TestAuthorizeErrors/pkce_method_unknown", "TestAuthorizeErrors/pkce_plain_refused", "TestAuthorizeErrors/pkce_method_defaults_to_plain", "TestAuthorizeErrors/pkce_method_without_challenge"}},
	{item: "authorize: success 302 to redirect_uri?code=…&state=…, the only registered URI when none is given",
		tests: []string{"TestAuthorize/code_redirect", "TestAuthorize/code_default_redirect_uri_not_stored", "TestEmptyParametersAreOmitted/authorize_empty_redirect_uri_uses_the_registered_one"}},

	// Bearer.
	{item: "bearer: no token → 401, WWW-Authenticate: Bearer realm=… without an error code",
		tests: []string{"TestBearer/no_token", "TestBearer/other_scheme_is_no_token", "TestBearer/custom_realm"}},
	{item: "bearer: more than one location → 400 invalid_request",
		tests: []string{"TestBearer/header_and_query", "TestBearer/header_and_form", "TestBearer/two_authorization_headers", "TestBearer/query_repeated", "TestBearer/form_repeated"}},
	{item: "bearer: malformed header → 400",
		tests: []string{"TestBearer/header_without_token", "TestBearer/header_malformed_token", "TestBearer/header_token_bad_padding"}},
	{item: "bearer: token in query when not allowed → 400",
		tests: []string{"TestBearer/query_not_allowed", "TestBearer/query_allowed", "TestBearerHardening/query_token_response_is_private"}},
	{item: "bearer: token in body with GET or a non-form content type → 400",
		tests: []string{"TestBearer/form_with_get", "TestBearerHardening/form_token_only_for_methods_with_body_semantics", "TestBearer/form_not_form_content_type"},
		note:  "a body that is not application/x-www-form-urlencoded is not parsed at all, so it carries no token (RFC 6750 §2.2): 401 with the bare challenge, not 400"},
	{item: "bearer: unknown or expired → 401 invalid_token; scope missing → 403 insufficient_scope",
		tests: []string{"TestBearer/unknown_token", "TestBearer/expired_token", "TestBearer/revoked_token", "TestBearer/insufficient_scope"}},
	{item: "bearer: X-Accepted-OAuth-Scopes and X-OAuth-Scopes when a scope is required",
		tests: []string{"TestBearer/header", "TestBearer/insufficient_scope", "TestBearerAPI/body_still_readable_after_form_token"}},

	// What node does not have.
	{item: "extra: device authorization (RFC 8628)",
		tests: []string{"TestDevice/authorization_response", "TestDevice/approve_and_redeem_once", "TestDevice/slow_down", "TestTokenErrors/device_authorization_pending", "TestTokenErrors/device_access_denied", "TestTokenErrors/device_expired_token", "TestEndToEnd/device_flow"}},
	{item: "extra: revocation (RFC 7009)",
		tests: []string{"TestRevocation/access_token", "TestRevocation/refresh_token_revokes_family", "TestRevocation/unknown_and_already_revoked_are_ok", "TestRevocation/hint_is_only_a_hint"}},
	{item: "extra: introspection (RFC 7662)",
		tests: []string{"TestIntrospection/active_access_token", "TestIntrospection/inactive_revoked_family", "TestIntrospection/public_client"}},
	{item: "extra: metadata (RFC 8414)",
		tests: []string{"TestMetadata", "TestMetadataOmitsEmptyClaims"}},
	{item: "extra: public vs confidential clients",
		tests: []string{"TestTokenErrors/public_client_with_secret", "TestTokenErrors/client_credentials_public_client", "TestEmptyParametersAreOmitted/public_client_with_empty_client_secret"}},
}

// dynamicPrefixes are the prefixes some tables put before a case name
// (t.Run("error_"+c.name, …)); a leaf name may match without them.
var dynamicPrefixes = []string{"error_", "inactive_"}

func TestReferenceBehaviours(t *testing.T) {
	funcs, literals := testSourceNames(t)
	for _, b := range referenceBehaviours {
		if len(b.tests) == 0 {
			t.Errorf("%s: no test", b.item)
		}
		for _, name := range b.tests {
			parts := strings.Split(name, "/")
			if !funcs[parts[0]] {
				t.Errorf("%s: no test function %s", b.item, parts[0])
			}
			for _, leaf := range parts[1:] {
				ok := literals[leaf]
				for _, p := range dynamicPrefixes {
					if rest, cut := strings.CutPrefix(leaf, p); cut && literals[rest] {
						ok = true
					}
				}
				if !ok {
					t.Errorf("%s: no subtest named %q (in %s)", b.item, leaf, name)
				}
			}
		}
	}
}

// testSourceNames returns the Test and Fuzz functions of this package's
// test files and every string literal in them (subtest names among them).
func testSourceNames(t *testing.T) (funcs, literals map[string]bool) {
	t.Helper()
	funcs, literals = map[string]bool{}, map[string]bool{}
	files, err := filepath.Glob("*_test.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	for _, name := range files {
		src, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		f, err := parser.ParseFile(fset, name, src, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.FuncDecl:
				if n.Recv == nil {
					funcs[n.Name.Name] = true
				}
			case *ast.BasicLit:
				if n.Kind == token.STRING {
					if s, err := strconv.Unquote(n.Value); err == nil {
						literals[s] = true
					}
				}
			}
			return true
		})
	}
	return funcs, literals
}
