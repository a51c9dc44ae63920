package runtime_test

import (
	"context"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/oauthgen/oauthgen/runtime"
)

// vals builds url.Values from key, value pairs.
func vals(kv ...string) url.Values {
	v := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		v.Add(kv[i], kv[i+1])
	}
	return v
}

// postReq is a token request with client_secret_post credentials.
func postReq(id, secret string, form url.Values) *http.Request {
	form = cloneValues(form)
	if id != "" {
		form.Set("client_id", id)
	}
	if secret != "" {
		form.Set("client_secret", secret)
	}
	return formRequest("/token", form)
}

// basicReq is a token request with client_secret_basic credentials.
func basicReq(id, secret string, form url.Values) *http.Request {
	return basic(formRequest("/token", form), id, secret)
}

// rawBasic is a token request with a hand-made Authorization header.
func rawBasic(header string, form url.Values) *http.Request {
	req := formRequest("/token", form)
	req.Header.Set("Authorization", header)
	return req
}

var (
	ccForm  = vals("grant_type", "client_credentials")
	pwForm  = vals("grant_type", "password", "username", "alice", "password", alicePass)
	b64     = func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	realmOf = func(f *fixture) string { return `Basic realm="` + f.http.URL + `"` }
)

// TestTokenErrors is every error the token endpoint answers, from the
// node-oauth2-server behaviour list and RFC 6749 §5.2, RFC 7636, RFC 8628:
// status, error code and headers.
func TestTokenErrors(t *testing.T) {
	type tc struct {
		name   string
		config func(*runtime.Config)
		req    func(f *fixture) *http.Request
		status int
		code   string
		// challenge, when set, is the expected WWW-Authenticate.
		challenge func(f *fixture) string
		// after runs more checks once the request was answered.
		after func(t *testing.T, f *fixture)
	}
	codeReq := func(f *fixture, kv ...string) *http.Request {
		form := vals("grant_type", "authorization_code", "code", f.code(), "redirect_uri", redirectURI, "code_verifier", verifier)
		for i := 0; i+1 < len(kv); i += 2 {
			if kv[i+1] == "-" {
				form.Del(kv[i])
			} else {
				form.Set(kv[i], kv[i+1])
			}
		}
		return postReq("conf", confSecret, form)
	}
	refreshReq := func(f *fixture, kv ...string) *http.Request {
		_, rt := f.passwordTokens("read write")
		form := vals("grant_type", "refresh_token", "refresh_token", rt)
		for i := 0; i+1 < len(kv); i += 2 {
			form.Set(kv[i], kv[i+1])
		}
		return postReq("conf", confSecret, form)
	}
	deviceReq := func(f *fixture, decide func(userCode string)) *http.Request {
		res := f.post("/device_authorization", "public", "", vals("scope", "read"))
		if res.Status != http.StatusOK {
			f.t.Fatalf("device authorization: %d %s", res.Status, res.Raw)
		}
		if decide != nil {
			decide(res.str("user_code"))
		}
		return postReq("public", "", vals("grant_type", runtime.GrantDeviceCode, "device_code", res.str("device_code")))
	}
	cases := []tc{
		// Request shape.
		{name: "method_get", status: 400, code: "invalid_request", req: func(f *fixture) *http.Request {
			return httptest.NewRequest(http.MethodGet, "/token?grant_type=client_credentials", nil)
		}},
		{name: "content_type_json", status: 400, code: "invalid_request", req: func(f *fixture) *http.Request {
			req := httptest.NewRequest(http.MethodPost, "/token", strings.NewReader(`{"grant_type":"client_credentials"}`))
			req.Header.Set("Content-Type", "application/json")
			return basic(req, "conf", confSecret)
		}},
		{name: "content_type_missing", status: 400, code: "invalid_request", req: func(f *fixture) *http.Request {
			return basic(httptest.NewRequest(http.MethodPost, "/token", strings.NewReader("grant_type=client_credentials")), "conf", confSecret)
		}},
		{name: "content_type_with_charset_is_fine", status: 200, req: func(f *fixture) *http.Request {
			req := basicReq("conf", confSecret, ccForm)
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
			return req
		}},
		{name: "content_type_case_insensitive", status: 200, req: func(f *fixture) *http.Request {
			req := basicReq("conf", confSecret, ccForm)
			req.Header.Set("Content-Type", "Application/X-WWW-Form-URLEncoded ; Charset=UTF-8")
			return req
		}},
		{name: "body_not_form_encoding", status: 400, code: "invalid_request", req: func(f *fixture) *http.Request {
			req := httptest.NewRequest(http.MethodPost, "/token", strings.NewReader("grant_type=%zz"))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			return basic(req, "conf", confSecret)
		}},
		{name: "body_too_large", status: 400, code: "invalid_request", req: func(f *fixture) *http.Request {
			return basicReq("conf", confSecret, vals("grant_type", "client_credentials", "pad", strings.Repeat("x", 70<<10)))
		}},
		{name: "repeated_parameter", status: 400, code: "invalid_request", req: func(f *fixture) *http.Request {
			return basicReq("conf", confSecret, vals("grant_type", "client_credentials", "grant_type", "password"))
		}},
		{name: "client_secret_in_query", status: 400, code: "invalid_request", req: func(f *fixture) *http.Request {
			req := postReq("conf", confSecret, ccForm)
			req.URL.RawQuery = "client_secret=x"
			return req
		}},

		// Client authentication (§2.3.1, §3.2.1), before grant_type.
		{name: "no_client_credentials", status: 400, code: "invalid_client", req: func(f *fixture) *http.Request {
			return postReq("", "", ccForm)
		}},
		{name: "unknown_client_post", status: 400, code: "invalid_client", req: func(f *fixture) *http.Request {
			return postReq("nobody", "x", ccForm)
		}},
		{name: "unknown_client_basic", status: 401, code: "invalid_client", challenge: realmOf, req: func(f *fixture) *http.Request {
			return basicReq("nobody", "x", ccForm)
		}},
		{name: "wrong_secret_post", status: 400, code: "invalid_client", req: func(f *fixture) *http.Request {
			return postReq("conf", "wrong", ccForm)
		}},
		{name: "wrong_secret_basic", status: 401, code: "invalid_client", challenge: realmOf, req: func(f *fixture) *http.Request {
			return basicReq("conf", "wrong", ccForm)
		}},
		{name: "secret_sent_unencoded_in_basic", status: 401, code: "invalid_client", challenge: realmOf, req: func(f *fixture) *http.Request {
			// "+" decodes to a space: the raw secret is not the secret.
			return rawBasic("Basic "+b64("conf:p:a%25s+s w0rd"), ccForm)
		}},
		{name: "wrong_bcrypt_secret", status: 400, code: "invalid_client", req: func(f *fixture) *http.Request {
			return postReq("imported", "wrong", ccForm)
		}},
		{name: "confidential_client_id_only", status: 400, code: "invalid_client", req: func(f *fixture) *http.Request {
			return postReq("conf", "", ccForm)
		}},
		{name: "confidential_basic_empty_secret", status: 401, code: "invalid_client", challenge: realmOf, req: func(f *fixture) *http.Request {
			return basicReq("conf", "", ccForm)
		}},
		{name: "public_client_with_secret", status: 400, code: "invalid_client", req: func(f *fixture) *http.Request {
			return postReq("public", "guess", pwForm)
		}},
		{name: "basic_and_post_at_once", status: 400, code: "invalid_request", req: func(f *fixture) *http.Request {
			return basic(postReq("conf", confSecret, ccForm), "conf", confSecret)
		}},
		{name: "basic_and_other_client_id_in_body", status: 400, code: "invalid_request", req: func(f *fixture) *http.Request {
			return basic(postReq("other", "", ccForm), "conf", confSecret)
		}},
		{name: "basic_and_same_client_id_in_body_is_fine", status: 200, req: func(f *fixture) *http.Request {
			return basic(postReq("conf", "", ccForm), "conf", confSecret)
		}},
		{name: "basic_not_base64", status: 400, code: "invalid_request", req: func(f *fixture) *http.Request {
			return rawBasic("Basic !!!", ccForm)
		}},
		{name: "basic_without_colon", status: 400, code: "invalid_request", req: func(f *fixture) *http.Request {
			return rawBasic("Basic "+b64("conf"), ccForm)
		}},
		{name: "basic_bad_percent_encoding", status: 400, code: "invalid_request", req: func(f *fixture) *http.Request {
			return rawBasic("Basic "+b64("conf:%zz"), ccForm)
		}},
		{name: "basic_empty_id", status: 400, code: "invalid_request", req: func(f *fixture) *http.Request {
			return rawBasic("Basic "+b64(":secret"), ccForm)
		}},
		{name: "basic_nonprintable_secret", status: 400, code: "invalid_request", req: func(f *fixture) *http.Request {
			return basicReq("conf", "a\x01b", ccForm)
		}},
		{name: "other_auth_scheme", status: 401, code: "invalid_client", challenge: realmOf, req: func(f *fixture) *http.Request {
			return rawBasic("Bearer abc", ccForm)
		}},
		{name: "two_authorization_headers", status: 400, code: "invalid_request", req: func(f *fixture) *http.Request {
			req := basicReq("conf", confSecret, ccForm)
			req.Header.Add("Authorization", "Basic "+b64("conf:x"))
			return req
		}},
		{name: "nonprintable_client_id", status: 400, code: "invalid_request", req: func(f *fixture) *http.Request {
			return postReq("co\x00nf", confSecret, ccForm)
		}},
		{name: "nonprintable_client_secret", status: 400, code: "invalid_request", req: func(f *fixture) *http.Request {
			return postReq("conf", "se\ncret", ccForm)
		}},
		{name: "client_secret_without_client_id", status: 400, code: "invalid_request", req: func(f *fixture) *http.Request {
			return postReq("", confSecret, ccForm)
		}},
		{name: "client_auth_before_grant_type", status: 401, code: "invalid_client", challenge: realmOf, req: func(f *fixture) *http.Request {
			return basicReq("conf", "wrong", vals("grant_type", "no such grant"))
		}},

		// grant_type.
		{name: "grant_type_missing", status: 400, code: "invalid_request", req: func(f *fixture) *http.Request {
			return postReq("conf", confSecret, vals("scope", "read"))
		}},
		{name: "grant_type_malformed", status: 400, code: "invalid_request", req: func(f *fixture) *http.Request {
			return postReq("conf", confSecret, vals("grant_type", "client credentials"))
		}},
		{name: "grant_type_unknown", status: 400, code: "unsupported_grant_type", req: func(f *fixture) *http.Request {
			return postReq("conf", confSecret, vals("grant_type", "magic"))
		}},
		{name: "grant_type_unknown_uri", status: 400, code: "unsupported_grant_type", req: func(f *fixture) *http.Request {
			return postReq("conf", confSecret, vals("grant_type", "urn:example:nope"))
		}},
		{name: "grant_type_implicit_is_not_a_grant_type", status: 400, code: "unsupported_grant_type", req: func(f *fixture) *http.Request {
			return postReq("conf", confSecret, vals("grant_type", "implicit"))
		}},
		{name: "grant_type_disabled", status: 400, code: "unsupported_grant_type",
			config: func(c *runtime.Config) { c.Password = nil },
			req:    func(f *fixture) *http.Request { return postReq("conf", confSecret, pwForm) }},
		{name: "grant_not_allowed_for_client", status: 400, code: "unauthorized_client", req: func(f *fixture) *http.Request {
			return postReq("nogrants", otherSecret, ccForm)
		}},

		// client_credentials (§4.4).
		{name: "client_credentials_public_client", status: 400, code: "unauthorized_client",
			config: func(c *runtime.Config) {},
			req: func(f *fixture) *http.Request {
				f.store.AddClient(&runtime.Client{ID: "pub-cc", GrantTypes: []string{"client_credentials"}})
				return postReq("pub-cc", "", ccForm)
			}},
		{name: "client_credentials_unknown_scope", status: 400, code: "invalid_scope", req: func(f *fixture) *http.Request {
			return postReq("conf", confSecret, vals("grant_type", "client_credentials", "scope", "read nuke"))
		}},
		{name: "client_credentials_malformed_scope", status: 400, code: "invalid_scope", req: func(f *fixture) *http.Request {
			return postReq("conf", confSecret, vals("grant_type", "client_credentials", "scope", `read "write"`))
		}},
		{name: "client_credentials_scope_double_space", status: 400, code: "invalid_scope", req: func(f *fixture) *http.Request {
			return postReq("conf", confSecret, vals("grant_type", "client_credentials", "scope", "read  write"))
		}},
		{name: "client_credentials_scope_not_allowed_for_client", status: 400, code: "invalid_scope", req: func(f *fixture) *http.Request {
			return postReq("limited", otherSecret, vals("grant_type", "client_credentials", "scope", "write"))
		}},

		// password (§4.3).
		{name: "password_missing_username", status: 400, code: "invalid_request", req: func(f *fixture) *http.Request {
			return postReq("conf", confSecret, vals("grant_type", "password", "password", alicePass))
		}},
		{name: "password_missing_password", status: 400, code: "invalid_request", req: func(f *fixture) *http.Request {
			return postReq("conf", confSecret, vals("grant_type", "password", "username", "alice"))
		}},
		{name: "password_username_with_newline", status: 400, code: "invalid_request", req: func(f *fixture) *http.Request {
			return postReq("conf", confSecret, vals("grant_type", "password", "username", "ali\nce", "password", alicePass))
		}},
		{name: "password_invalid_utf8", status: 400, code: "invalid_request", req: func(f *fixture) *http.Request {
			return postReq("conf", confSecret, vals("grant_type", "password", "username", "alice", "password", "\xff\xfe"))
		}},
		{name: "password_wrong", status: 400, code: "invalid_grant", req: func(f *fixture) *http.Request {
			return postReq("conf", confSecret, vals("grant_type", "password", "username", "alice", "password", "wrong"))
		}},
		{name: "password_wrong_bcrypt_user", status: 400, code: "invalid_grant", req: func(f *fixture) *http.Request {
			return postReq("conf", confSecret, vals("grant_type", "password", "username", "bob", "password", "wrong"))
		}},
		{name: "password_unknown_user", status: 400, code: "invalid_grant", req: func(f *fixture) *http.Request {
			return postReq("conf", confSecret, vals("grant_type", "password", "username", "mallory", "password", "x"))
		}},
		{name: "password_bad_scope", status: 400, code: "invalid_scope", req: func(f *fixture) *http.Request {
			return postReq("conf", confSecret, vals("grant_type", "password", "username", "alice", "password", alicePass, "scope", "root"))
		}},

		// authorization_code (§4.1.3, RFC 7636 §4.5).
		{name: "code_missing", status: 400, code: "invalid_request", req: func(f *fixture) *http.Request {
			return postReq("conf", confSecret, vals("grant_type", "authorization_code", "redirect_uri", redirectURI))
		}},
		{name: "code_malformed", status: 400, code: "invalid_request", req: func(f *fixture) *http.Request {
			return codeReq(f, "code", "ab\x7fc")
		}},
		{name: "code_unknown", status: 400, code: "invalid_grant", req: func(f *fixture) *http.Request {
			return codeReq(f, "code", runtime.NewToken())
		}},
		{name: "code_of_other_client", status: 400, code: "invalid_grant", req: func(f *fixture) *http.Request {
			r := codeReq(f)
			r.ParseForm()
			form := r.PostForm
			return postReq("other", otherSecret, vals("grant_type", "authorization_code", "code", form.Get("code"), "redirect_uri", redirectURI, "code_verifier", verifier))
		}},
		{name: "code_expired", status: 400, code: "invalid_grant", req: func(f *fixture) *http.Request {
			r := codeReq(f)
			f.clock.Add(5*time.Minute + time.Second)
			return r
		}},
		{name: "code_redirect_uri_missing", status: 400, code: "invalid_request", req: func(f *fixture) *http.Request {
			return codeReq(f, "redirect_uri", "-")
		}},
		{name: "code_redirect_uri_mismatch", status: 400, code: "invalid_grant", req: func(f *fixture) *http.Request {
			return codeReq(f, "redirect_uri", redirectURI+"/other")
		}},
		{name: "code_redirect_uri_differs_from_default", status: 400, code: "invalid_grant", req: func(f *fixture) *http.Request {
			code := f.code("redirect_uri", "")
			return postReq("conf", confSecret, vals("grant_type", "authorization_code", "code", code, "redirect_uri", "https://app.example/x", "code_verifier", verifier))
		}},
		{name: "code_redirect_uri_not_needed_for_default", status: 200, req: func(f *fixture) *http.Request {
			code := f.code("redirect_uri", "")
			return postReq("conf", confSecret, vals("grant_type", "authorization_code", "code", code, "code_verifier", verifier))
		}},
		{name: "code_redirect_uri_may_repeat_default", status: 200, req: func(f *fixture) *http.Request {
			code := f.code("redirect_uri", "")
			return postReq("conf", confSecret, vals("grant_type", "authorization_code", "code", code, "redirect_uri", redirectURI, "code_verifier", verifier))
		}},
		{name: "pkce_verifier_too_short", status: 400, code: "invalid_request", req: func(f *fixture) *http.Request {
			return codeReq(f, "code_verifier", verifier[:42])
		}},
		{name: "pkce_verifier_too_long", status: 400, code: "invalid_request", req: func(f *fixture) *http.Request {
			return codeReq(f, "code_verifier", strings.Repeat("a", 129))
		}},
		{name: "pkce_verifier_bad_character", status: 400, code: "invalid_request", req: func(f *fixture) *http.Request {
			return codeReq(f, "code_verifier", verifier[:42]+"+")
		}},
		{name: "pkce_verifier_without_challenge", status: 400, code: "invalid_grant", req: func(f *fixture) *http.Request {
			code := f.code("code_challenge", "", "code_challenge_method", "")
			return postReq("conf", confSecret, vals("grant_type", "authorization_code", "code", code, "redirect_uri", redirectURI, "code_verifier", verifier))
		}},
		{name: "pkce_challenge_without_verifier", status: 400, code: "invalid_grant", req: func(f *fixture) *http.Request {
			return codeReq(f, "code_verifier", "-")
		}},
		{name: "pkce_wrong_verifier", status: 400, code: "invalid_grant", req: func(f *fixture) *http.Request {
			return codeReq(f, "code_verifier", strings.Repeat("A", 43))
		}},
		{name: "pkce_plain_matches", status: 200,
			config: func(c *runtime.Config) { c.AuthorizationCode.AllowPlainPKCE = true },
			req: func(f *fixture) *http.Request {
				code := f.code("code_challenge", verifier, "code_challenge_method", "plain")
				return postReq("conf", confSecret, vals("grant_type", "authorization_code", "code", code, "redirect_uri", redirectURI, "code_verifier", verifier))
			}},
		{name: "pkce_plain_wrong_verifier", status: 400, code: "invalid_grant",
			config: func(c *runtime.Config) { c.AuthorizationCode.AllowPlainPKCE = true },
			req: func(f *fixture) *http.Request {
				code := f.code("code_challenge", verifier, "code_challenge_method", "plain")
				return postReq("conf", confSecret, vals("grant_type", "authorization_code", "code", code, "redirect_uri", redirectURI, "code_verifier", strings.Repeat("x", 43)))
			}},
		{name: "code_reused", status: 400, code: "invalid_grant", req: func(f *fixture) *http.Request {
			code := f.code()
			if res := f.redeem(code); res.Status != 200 {
				f.t.Fatalf("first redemption: %d %s", res.Status, res.Raw)
			}
			return postReq("conf", confSecret, vals("grant_type", "authorization_code", "code", code, "redirect_uri", redirectURI, "code_verifier", verifier))
		}},

		// refresh_token (§6).
		{name: "refresh_missing", status: 400, code: "invalid_request", req: func(f *fixture) *http.Request {
			return postReq("conf", confSecret, vals("grant_type", "refresh_token"))
		}},
		{name: "refresh_malformed", status: 400, code: "invalid_request", req: func(f *fixture) *http.Request {
			return refreshReq(f, "refresh_token", "a\x00b")
		}},
		{name: "refresh_unknown", status: 400, code: "invalid_grant", req: func(f *fixture) *http.Request {
			return refreshReq(f, "refresh_token", runtime.NewToken())
		}},
		{name: "refresh_of_other_client", status: 400, code: "invalid_grant", req: func(f *fixture) *http.Request {
			_, rt := f.passwordTokens("read")
			return postReq("other", otherSecret, vals("grant_type", "refresh_token", "refresh_token", rt))
		}},
		{name: "refresh_expired", status: 400, code: "invalid_grant", req: func(f *fixture) *http.Request {
			r := refreshReq(f)
			f.clock.Add(14*24*time.Hour + time.Second)
			return r
		}},
		{name: "refresh_revoked", status: 400, code: "invalid_grant", req: func(f *fixture) *http.Request {
			_, rt := f.passwordTokens("read")
			f.store.RevokeRefreshToken(context.Background(), runtime.HashToken(rt), f.clock.Now())
			return postReq("conf", confSecret, vals("grant_type", "refresh_token", "refresh_token", rt))
		}},
		{name: "refresh_wider_scope", status: 400, code: "invalid_scope", req: func(f *fixture) *http.Request {
			return refreshReq(f, "scope", "read write admin")
		}},
		{name: "refresh_malformed_scope", status: 400, code: "invalid_scope", req: func(f *fixture) *http.Request {
			return refreshReq(f, "scope", "read\\")
		}},

		// device_code (RFC 8628 §3.4, §3.5).
		{name: "device_code_missing", status: 400, code: "invalid_request", req: func(f *fixture) *http.Request {
			return postReq("public", "", vals("grant_type", runtime.GrantDeviceCode))
		}},
		{name: "device_code_malformed", status: 400, code: "invalid_request", req: func(f *fixture) *http.Request {
			return postReq("public", "", vals("grant_type", runtime.GrantDeviceCode, "device_code", "\x01"))
		}},
		{name: "device_code_unknown", status: 400, code: "invalid_grant", req: func(f *fixture) *http.Request {
			return postReq("public", "", vals("grant_type", runtime.GrantDeviceCode, "device_code", runtime.NewToken()))
		}},
		{name: "device_code_of_other_client", status: 400, code: "invalid_grant", req: func(f *fixture) *http.Request {
			r := deviceReq(f, nil)
			r.ParseForm()
			return postReq("conf", confSecret, vals("grant_type", runtime.GrantDeviceCode, "device_code", r.PostForm.Get("device_code")))
		}},
		{name: "device_authorization_pending", status: 400, code: "authorization_pending", req: func(f *fixture) *http.Request {
			return deviceReq(f, nil)
		}},
		{name: "device_access_denied", status: 400, code: "access_denied", req: func(f *fixture) *http.Request {
			return deviceReq(f, func(uc string) {
				if err := f.srv.DenyDevice(context.Background(), uc); err != nil {
					f.t.Fatal(err)
				}
			})
		}},
		{name: "device_expired_token", status: 400, code: "expired_token", req: func(f *fixture) *http.Request {
			r := deviceReq(f, nil)
			f.clock.Add(10*time.Minute + time.Second)
			return r
		}},

		// extension grants (§4.5).
		{name: "extension_refuses", status: 400, code: "invalid_grant", req: func(f *fixture) *http.Request {
			return postReq("conf", confSecret, vals("grant_type", extGrant, "assertion", "mallory"))
		}},
		{name: "extension_bad_scope", status: 400, code: "invalid_scope", req: func(f *fixture) *http.Request {
			return postReq("conf", confSecret, vals("grant_type", extGrant, "assertion", "alice", "scope", "nuke"))
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var mutate []func(*runtime.Config)
			if c.config != nil {
				mutate = append(mutate, c.config)
			}
			f := newFixture(t, mutate...)
			res := f.serve(c.req(f))
			if res.Status != c.status || res.str("error") != c.code {
				t.Fatalf("got %d %q, want %d %q: %s", res.Status, res.str("error"), c.status, c.code, res.Raw)
			}
			noStore(t, res)
			if ct := res.Header.Get("Content-Type"); ct != "application/json;charset=UTF-8" {
				t.Errorf("Content-Type = %q", ct)
			}
			want := ""
			if c.challenge != nil {
				want = c.challenge(f)
			}
			if got := res.Header.Get("WWW-Authenticate"); got != want {
				t.Errorf("WWW-Authenticate = %q, want %q", got, want)
			}
			if c.status == 200 {
				if res.str("access_token") == "" || res.str("token_type") != "Bearer" {
					t.Errorf("success without a token: %s", res.Raw)
				}
			} else if desc := res.str("error_description"); desc == "" {
				t.Errorf("no error_description: %s", res.Raw)
			}
			if c.name == "method_get" && res.Header.Get("Allow") != "POST" {
				t.Errorf("Allow = %q", res.Header.Get("Allow"))
			}
			if c.after != nil {
				c.after(t, f)
			}
		})
	}
}

// TestToken covers what successful and stateful token requests do.
func TestToken(t *testing.T) {
	ctx := context.Background()

	t.Run("response_fields", func(t *testing.T) {
		f := newFixture(t)
		res := f.mustToken("conf", confSecret, pwForm)
		noStore(t, res)
		var keys []string
		for k := range res.Body {
			keys = append(keys, k)
		}
		want := []string{"access_token", "expires_in", "refresh_token", "scope", "token_type"}
		if diff := cmp.Diff(want, slices.Sorted(slices.Values(keys))); diff != "" {
			t.Errorf("fields (-want +got):\n%s", diff)
		}
		if res.Body["expires_in"] != 3600.0 || res.str("scope") != "read" || len(res.str("access_token")) != 43 {
			t.Errorf("response = %s", res.Raw)
		}
		// Only the hash reaches the store.
		at, err := f.store.GetAccessToken(ctx, runtime.HashToken(res.str("access_token")))
		if err != nil {
			t.Fatal(err)
		}
		if at.UserID != "u-alice" || at.ClientID != "conf" || at.FamilyID == "" {
			t.Errorf("stored token = %+v", at)
		}
		if _, err := f.store.GetAccessToken(ctx, res.str("access_token")); err == nil {
			t.Error("token stored in clear")
		}
	})

	t.Run("client_lifetime_override", func(t *testing.T) {
		f := newFixture(t)
		res := f.mustToken("limited", otherSecret, ccForm)
		if res.Body["expires_in"] != 60.0 || res.str("scope") != "read" {
			t.Errorf("response = %s", res.Raw)
		}
	})

	t.Run("client_credentials_no_refresh_no_family", func(t *testing.T) {
		f := newFixture(t)
		res := f.mustToken("conf", confSecret, ccForm)
		if res.str("refresh_token") != "" {
			t.Error("refresh token issued")
		}
		at, _ := f.store.GetAccessToken(ctx, runtime.HashToken(res.str("access_token")))
		if at.FamilyID != "" || at.UserID != "" {
			t.Errorf("token = %+v", at)
		}
	})

	t.Run("client_credentials_user_hook", func(t *testing.T) {
		f := newFixture(t, func(c *runtime.Config) {
			c.ClientCredentials.User = func(ctx context.Context, c *runtime.Client) (string, error) { return "u-bob", nil }
		})
		res := f.mustToken("conf", confSecret, ccForm)
		at, _ := f.store.GetAccessToken(ctx, runtime.HashToken(res.str("access_token")))
		if at.UserID != "u-bob" {
			t.Errorf("token = %+v", at)
		}
	})

	t.Run("client_credentials_user_hook_refuses", func(t *testing.T) {
		f := newFixture(t, func(c *runtime.Config) {
			c.ClientCredentials.User = func(ctx context.Context, c *runtime.Client) (string, error) {
				return "", runtime.NewError(runtime.UnauthorizedClient, "no owner")
			}
		})
		if res := f.token(ccForm); res.Status != 400 || res.str("error") != "unauthorized_client" {
			t.Errorf("got %d %s", res.Status, res.Raw)
		}
	})

	t.Run("no_refresh_token_when_client_lacks_refresh_grant", func(t *testing.T) {
		f := newFixture(t)
		f.store.AddClient(&runtime.Client{ID: "norefresh", SecretHash: runtime.HashToken("s"), GrantTypes: []string{"password"}})
		res := f.mustToken("norefresh", "s", pwForm)
		if res.str("refresh_token") != "" {
			t.Error("refresh token issued to a client without the refresh_token grant")
		}
	})

	t.Run("no_refresh_token_when_refresh_disabled", func(t *testing.T) {
		f := newFixture(t, func(c *runtime.Config) { c.RefreshToken = nil })
		if res := f.mustToken("conf", confSecret, pwForm); res.str("refresh_token") != "" {
			t.Error("refresh token issued")
		}
	})

	t.Run("default_scopes", func(t *testing.T) {
		f := newFixture(t)
		if res := f.mustToken("conf", confSecret, ccForm); res.str("scope") != "read" {
			t.Errorf("scope = %q, want the default", res.str("scope"))
		}
	})

	t.Run("repeated_scope_tokens_once", func(t *testing.T) {
		f := newFixture(t)
		res := f.mustToken("conf", confSecret, vals("grant_type", "client_credentials", "scope", "write read write"))
		if res.str("scope") != "write read" {
			t.Errorf("scope = %q", res.str("scope"))
		}
	})

	t.Run("validate_scope_hook", func(t *testing.T) {
		var got runtime.ScopeRequest
		f := newFixture(t, func(c *runtime.Config) {
			c.ValidateScope = func(ctx context.Context, req runtime.ScopeRequest) ([]string, error) {
				got = req
				if slices.Contains(req.Requested, "admin") {
					return nil, runtime.NewError(runtime.InvalidScope, "no admin for you")
				}
				return []string{"custom:" + req.Client.ID}, nil
			}
		})
		res := f.mustToken("conf", confSecret, vals("grant_type", "password", "username", "alice", "password", alicePass, "scope", "read"))
		if res.str("scope") != "custom:conf" {
			t.Errorf("scope = %q", res.str("scope"))
		}
		if got.GrantType != "password" || got.UserID != "u-alice" || got.Client.ID != "conf" || !cmp.Equal(got.Requested, []string{"read"}) {
			t.Errorf("ScopeRequest = %+v", got)
		}
		if res := f.token(vals("grant_type", "client_credentials", "scope", "admin")); res.str("error") != "invalid_scope" || res.str("error_description") != "no admin for you" {
			t.Errorf("got %s", res.Raw)
		}
	})

	t.Run("error_description_charset", func(t *testing.T) {
		f := newFixture(t, func(c *runtime.Config) {
			c.ValidateScope = func(context.Context, runtime.ScopeRequest) ([]string, error) {
				return nil, &runtime.Error{Code: runtime.InvalidScope, Description: "no \"admin\"\\\n for you é", URI: "https://docs.example/errors#scope here"}
			}
		})
		res := f.token(ccForm)
		if res.str("error_description") != "no admin for you " || res.str("error_uri") != "https://docs.example/errors#scopehere" {
			t.Errorf("got %s", res.Raw)
		}
	})

	t.Run("refresh_narrower_scope", func(t *testing.T) {
		f := newFixture(t)
		_, rt := f.passwordTokens("read write")
		res := f.mustToken("conf", confSecret, vals("grant_type", "refresh_token", "refresh_token", rt, "scope", "write"))
		if res.str("scope") != "write" {
			t.Errorf("scope = %q", res.str("scope"))
		}
		// The new refresh token keeps the original scope (§6).
		nrt, _ := f.store.GetRefreshToken(ctx, runtime.HashToken(res.str("refresh_token")))
		if !cmp.Equal(nrt.Scopes, []string{"read", "write"}) {
			t.Errorf("new refresh token scopes = %v", nrt.Scopes)
		}
		res = f.mustToken("conf", confSecret, vals("grant_type", "refresh_token", "refresh_token", res.str("refresh_token")))
		if res.str("scope") != "read write" {
			t.Errorf("scope without a scope parameter = %q, want the original", res.str("scope"))
		}
	})

	t.Run("refresh_wider_scope_keeps_token", func(t *testing.T) {
		f := newFixture(t)
		_, rt := f.passwordTokens("read")
		if res := f.token(vals("grant_type", "refresh_token", "refresh_token", rt, "scope", "read write")); res.str("error") != "invalid_scope" {
			t.Fatalf("got %s", res.Raw)
		}
		f.mustToken("conf", confSecret, vals("grant_type", "refresh_token", "refresh_token", rt))
	})

	t.Run("refresh_rotation_revokes_old", func(t *testing.T) {
		f := newFixture(t)
		at, rt := f.passwordTokens("read")
		res := f.mustToken("conf", confSecret, vals("grant_type", "refresh_token", "refresh_token", rt))
		old, _ := f.store.GetRefreshToken(ctx, runtime.HashToken(rt))
		if old.ConsumedAt.IsZero() {
			t.Error("old refresh token not consumed")
		}
		if !f.active(at) || !f.active(res.str("access_token")) {
			t.Error("rotation revoked access tokens")
		}
		nat, _ := f.store.GetAccessToken(ctx, runtime.HashToken(res.str("access_token")))
		oat, _ := f.store.GetAccessToken(ctx, runtime.HashToken(at))
		if nat.FamilyID != oat.FamilyID {
			t.Error("refreshed token left the family")
		}
	})

	t.Run("refresh_reuse_revokes_family", func(t *testing.T) {
		f := newFixture(t)
		at1, rt1 := f.passwordTokens("read")
		res := f.mustToken("conf", confSecret, vals("grant_type", "refresh_token", "refresh_token", rt1))
		at2, rt2 := res.str("access_token"), res.str("refresh_token")
		// An attacker replays the first refresh token.
		if res := f.token(vals("grant_type", "refresh_token", "refresh_token", rt1)); res.str("error") != "invalid_grant" {
			t.Fatalf("reuse: %s", res.Raw)
		}
		if f.active(at1) || f.active(at2) {
			t.Error("access tokens of the family still active")
		}
		if res := f.token(vals("grant_type", "refresh_token", "refresh_token", rt2)); res.str("error") != "invalid_grant" {
			t.Errorf("the current refresh token still works: %s", res.Raw)
		}
		if !strings.Contains(f.logs.String(), "refresh token reuse") {
			t.Error("family revocation not logged")
		}
	})

	t.Run("refresh_without_rotation", func(t *testing.T) {
		f := newFixture(t, func(c *runtime.Config) { c.RefreshToken.DisableRotation = true })
		_, rt := f.passwordTokens("read")
		for range 3 {
			res := f.mustToken("conf", confSecret, vals("grant_type", "refresh_token", "refresh_token", rt))
			if res.str("refresh_token") != "" {
				t.Error("new refresh token without rotation")
			}
		}
	})

	t.Run("code_replay_revokes_tokens", func(t *testing.T) {
		f := newFixture(t)
		code := f.code()
		first := f.redeem(code)
		if first.Status != 200 {
			t.Fatal(first.Raw)
		}
		if !f.active(first.str("access_token")) {
			t.Fatal("token not active")
		}
		if res := f.redeem(code); res.str("error") != "invalid_grant" {
			t.Fatalf("replay: %s", res.Raw)
		}
		if f.active(first.str("access_token")) {
			t.Error("access token of the first redemption still active")
		}
		if res := f.token(vals("grant_type", "refresh_token", "refresh_token", first.str("refresh_token"))); res.str("error") != "invalid_grant" {
			t.Errorf("refresh token of the first redemption still works: %s", res.Raw)
		}
	})

	t.Run("failed_pkce_does_not_burn_code", func(t *testing.T) {
		f := newFixture(t)
		code := f.code()
		bad := f.token(vals("grant_type", "authorization_code", "code", code, "redirect_uri", redirectURI, "code_verifier", strings.Repeat("b", 43)))
		if bad.str("error") != "invalid_grant" {
			t.Fatal(bad.Raw)
		}
		if res := f.redeem(code); res.Status != 200 {
			t.Errorf("the legitimate redemption failed: %s", res.Raw)
		}
	})

	t.Run("missing_redirect_uri_does_not_burn_code", func(t *testing.T) {
		f := newFixture(t)
		code := f.code()
		f.token(vals("grant_type", "authorization_code", "code", code, "code_verifier", verifier))
		if res := f.redeem(code); res.Status != 200 {
			t.Errorf("the legitimate redemption failed: %s", res.Raw)
		}
	})

	t.Run("confidential_client_without_pkce", func(t *testing.T) {
		f := newFixture(t)
		code := f.code("code_challenge", "", "code_challenge_method", "")
		res := f.token(vals("grant_type", "authorization_code", "code", code, "redirect_uri", redirectURI))
		if res.Status != 200 {
			t.Errorf("got %s", res.Raw)
		}
	})

	t.Run("plain_pkce_refused_after_config_change", func(t *testing.T) {
		f := newFixture(t, func(c *runtime.Config) { c.AuthorizationCode.AllowPlainPKCE = true })
		code := f.code("code_challenge", verifier, "code_challenge_method", "plain")
		strict, err := runtime.NewServer(runtime.Config{AuthorizationCode: &runtime.AuthorizationCodeGrant{}, Now: f.clock.Now}, f.store)
		if err != nil {
			t.Fatal(err)
		}
		rec := httptest.NewRecorder()
		strict.TokenHandler().ServeHTTP(rec, postReq("conf", confSecret, vals("grant_type", "authorization_code", "code", code, "redirect_uri", redirectURI, "code_verifier", verifier)))
		if rec.Code != 400 || !strings.Contains(rec.Body.String(), "invalid_grant") {
			t.Errorf("got %d %s", rec.Code, rec.Body)
		}
	})

	t.Run("extension_grant", func(t *testing.T) {
		f := newFixture(t)
		res := f.mustToken("conf", confSecret, vals("grant_type", extGrant, "assertion", "alice", "scope", "write"))
		if res.str("scope") != "write" || res.str("refresh_token") == "" || res.Body["issued_token_type"] != nil {
			t.Errorf("response = %s (extra fields must be off by default)", res.Raw)
		}
	})

	t.Run("extension_grant_extra_attributes", func(t *testing.T) {
		f := newFixture(t, func(c *runtime.Config) { c.AllowExtraTokenAttributes = true })
		res := f.mustToken("conf", confSecret, vals("grant_type", extGrant, "assertion", "alice"))
		if res.Body["issued_token_type"] != "urn:ietf:params:oauth:token-type:access_token" {
			t.Errorf("extra field missing: %s", res.Raw)
		}
		if res.str("access_token") == "not-this" || !f.active(res.str("access_token")) {
			t.Errorf("an extra field overrode access_token: %s", res.Raw)
		}
	})

	t.Run("extension_extra_not_json", func(t *testing.T) {
		f := newFixture(t, func(c *runtime.Config) {
			c.AllowExtraTokenAttributes = true
			c.Extensions[extGrant] = func(context.Context, *runtime.ExtensionRequest) (*runtime.ExtensionResult, error) {
				return &runtime.ExtensionResult{Extra: map[string]any{"bad": func() {}}}, nil
			}
		})
		res := f.token(vals("grant_type", extGrant))
		if res.Status != 500 || res.str("error") != "server_error" || !strings.Contains(f.logs.String(), "encode response") {
			t.Errorf("got %d %s", res.Status, res.Raw)
		}
	})

	t.Run("client_refresh_lifetime_override", func(t *testing.T) {
		f := newFixture(t)
		f.store.AddClient(&runtime.Client{ID: "short", SecretHash: runtime.HashToken("s"), GrantTypes: []string{"password", "refresh_token"},
			RefreshTokenLifetime: time.Hour})
		res := f.mustToken("short", "s", vals("grant_type", "password", "username", "bob", "password", bobPass))
		rt, _ := f.store.GetRefreshToken(ctx, runtime.HashToken(res.str("refresh_token")))
		if !rt.ExpiresAt.Equal(f.clock.Now().Add(time.Hour)) {
			t.Errorf("refresh token expires %v", rt.ExpiresAt)
		}
	})

	t.Run("token_usable_at_resource", func(t *testing.T) {
		f := newFixture(t)
		res := f.mustToken("conf", confSecret, ccForm)
		if r := f.get("/resource", res.str("access_token")); r.Status != 200 {
			t.Errorf("resource: %d %s", r.Status, r.Raw)
		}
	})
}
