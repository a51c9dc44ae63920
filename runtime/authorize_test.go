package runtime_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/oauthgen/oauthgen/runtime"
)

// codeParams is a valid code request of the confidential client.
func codeParams(kv ...string) url.Values {
	p := vals("response_type", "code", "client_id", "conf", "redirect_uri", redirectURI, "state", "st",
		"scope", "read", "code_challenge", runtime.S256Challenge(verifier), "code_challenge_method", "S256")
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == "-" {
			p.Del(kv[i])
		} else {
			p.Set(kv[i], kv[i+1])
		}
	}
	return p
}

func authorizeGet(p url.Values) *http.Request {
	return httptest.NewRequest(http.MethodGet, "/authorize?"+p.Encode(), nil)
}

// TestAuthorizeErrors is every error of the authorization endpoint:
// before the redirect URI is trusted, a 400 JSON error for the user; after,
// a redirect to the client with error and state (RFC 6749 §4.1.2.1).
func TestAuthorizeErrors(t *testing.T) {
	for _, c := range []struct {
		name   string
		config func(*runtime.Config)
		req    func() *http.Request
		// status is 400 (shown) or 302 (redirected).
		status int
		code   string
		// state is what the redirect must carry back; fragment says where.
		state    string
		fragment bool
	}{
		{name: "client_id_missing", status: 400, code: "invalid_request", req: func() *http.Request { return authorizeGet(codeParams("client_id", "-")) }},
		{name: "client_id_malformed", status: 400, code: "invalid_request", req: func() *http.Request { return authorizeGet(codeParams("client_id", "a\x00")) }},
		{name: "client_id_repeated", status: 400, code: "invalid_request", req: func() *http.Request {
			p := codeParams()
			p.Add("client_id", "other")
			return authorizeGet(p)
		}},
		{name: "client_unknown", status: 400, code: "invalid_client", req: func() *http.Request { return authorizeGet(codeParams("client_id", "nobody")) }},
		{name: "client_without_authorization_grants", status: 400, code: "unauthorized_client", req: func() *http.Request { return authorizeGet(codeParams("client_id", "nogrants")) }},
		{name: "client_without_redirect_uris", status: 400, code: "invalid_client", req: func() *http.Request {
			return authorizeGet(codeParams("client_id", "noredirect", "redirect_uri", "-"))
		}},
		{name: "registered_redirect_uri_not_absolute", status: 400, code: "invalid_client", req: func() *http.Request {
			return authorizeGet(codeParams("client_id", "badredirect", "redirect_uri", "-"))
		}},
		{name: "redirect_uri_not_registered", status: 400, code: "invalid_request", req: func() *http.Request {
			return authorizeGet(codeParams("redirect_uri", "https://evil.example/cb"))
		}},
		{name: "redirect_uri_prefix_is_not_a_match", status: 400, code: "invalid_request", req: func() *http.Request {
			return authorizeGet(codeParams("redirect_uri", redirectURI+"/x"))
		}},
		{name: "redirect_uri_needed_with_several_registered", status: 400, code: "invalid_request", req: func() *http.Request {
			return authorizeGet(codeParams("client_id", "other", "redirect_uri", "-"))
		}},
		{name: "method_put", status: 400, code: "invalid_request", req: func() *http.Request {
			return httptest.NewRequest(http.MethodPut, "/authorize?"+codeParams().Encode(), nil)
		}},
		{name: "post_not_form", status: 400, code: "invalid_request", req: func() *http.Request {
			r := httptest.NewRequest(http.MethodPost, "/authorize", strings.NewReader("{}"))
			r.Header.Set("Content-Type", "application/json")
			return r
		}},
		{name: "query_not_form_encoding", status: 400, code: "invalid_request", req: func() *http.Request {
			return httptest.NewRequest(http.MethodGet, "/authorize?client_id=conf&x=%zz", nil)
		}},
		{name: "endpoint_disabled", status: 400, code: "unsupported_response_type",
			config: func(c *runtime.Config) { c.AuthorizationCode, c.Implicit = nil, nil },
			req:    func() *http.Request { return authorizeGet(codeParams()) }},

		// Redirected.
		{name: "response_type_missing", status: 302, code: "invalid_request", state: "st", req: func() *http.Request { return authorizeGet(codeParams("response_type", "-")) }},
		{name: "response_type_unknown", status: 302, code: "unsupported_response_type", state: "st", req: func() *http.Request {
			return authorizeGet(codeParams("response_type", "code id_token"))
		}},
		{name: "response_type_token_disabled", status: 302, code: "unsupported_response_type", state: "st",
			config: func(c *runtime.Config) { c.Implicit = nil },
			req:    func() *http.Request { return authorizeGet(codeParams("response_type", "token")) }},
		{name: "response_type_code_disabled", status: 302, code: "unsupported_response_type", state: "st",
			config: func(c *runtime.Config) { c.AuthorizationCode = nil },
			req:    func() *http.Request { return authorizeGet(codeParams()) }},
		{name: "code_for_implicit_only_client", status: 302, code: "unauthorized_client", state: "st", req: func() *http.Request {
			return authorizeGet(codeParams("client_id", "implicit-only", "redirect_uri", "-"))
		}},
		{name: "token_for_client_without_implicit", status: 302, code: "unauthorized_client", state: "st", fragment: true, req: func() *http.Request {
			return authorizeGet(codeParams("client_id", "public", "redirect_uri", "-", "response_type", "token"))
		}},
		{name: "state_missing_when_required", status: 302, code: "invalid_request",
			config: func(c *runtime.Config) { c.AuthorizationCode.RequireState = true },
			req:    func() *http.Request { return authorizeGet(codeParams("state", "-")) }},
		{name: "state_malformed_not_echoed", status: 302, code: "invalid_request", req: func() *http.Request {
			return authorizeGet(codeParams("state", "a\nb"))
		}},
		{name: "parameter_repeated", status: 302, code: "invalid_request", state: "st", req: func() *http.Request {
			p := codeParams()
			p.Add("scope", "write")
			return authorizeGet(p)
		}},
		{name: "scope_unknown", status: 302, code: "invalid_scope", state: "st", req: func() *http.Request { return authorizeGet(codeParams("scope", "read nuke")) }},
		{name: "scope_malformed", status: 302, code: "invalid_scope", state: "st", req: func() *http.Request { return authorizeGet(codeParams("scope", "read\x01")) }},
		{name: "scope_hook_fails", status: 302, code: "server_error", state: "st",
			config: func(c *runtime.Config) {
				c.ValidateScope = func(context.Context, runtime.ScopeRequest) ([]string, error) {
					return nil, errors.New("policy db down")
				}
			},
			req: func() *http.Request { return authorizeGet(codeParams()) }},
		{name: "pkce_missing_public_client", status: 302, code: "invalid_request", state: "st", req: func() *http.Request {
			return authorizeGet(codeParams("client_id", "public", "redirect_uri", "-", "code_challenge", "-", "code_challenge_method", "-"))
		}},
		{name: "pkce_missing_when_required_for_all", status: 302, code: "invalid_request", state: "st",
			config: func(c *runtime.Config) { c.AuthorizationCode.PKCE = runtime.PKCERequired },
			req: func() *http.Request {
				return authorizeGet(codeParams("code_challenge", "-", "code_challenge_method", "-"))
			}},
		{name: "pkce_method_without_challenge", status: 302, code: "invalid_request", state: "st", req: func() *http.Request {
			return authorizeGet(codeParams("code_challenge", "-"))
		}},
		{name: "pkce_method_unknown", status: 302, code: "invalid_request", state: "st", req: func() *http.Request {
			return authorizeGet(codeParams("code_challenge_method", "S512"))
		}},
		{name: "pkce_plain_refused", status: 302, code: "invalid_request", state: "st", req: func() *http.Request {
			return authorizeGet(codeParams("code_challenge", verifier, "code_challenge_method", "plain"))
		}},
		{name: "pkce_method_defaults_to_plain", status: 302, code: "invalid_request", state: "st", req: func() *http.Request {
			return authorizeGet(codeParams("code_challenge", verifier, "code_challenge_method", "-"))
		}},
		{name: "pkce_challenge_malformed", status: 302, code: "invalid_request", state: "st", req: func() *http.Request {
			return authorizeGet(codeParams("code_challenge", "short"))
		}},
		{name: "pkce_s256_challenge_wrong_length", status: 302, code: "invalid_request", state: "st", req: func() *http.Request {
			return authorizeGet(codeParams("code_challenge", verifier+"a"))
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			var mutate []func(*runtime.Config)
			if c.config != nil {
				mutate = append(mutate, c.config)
			}
			f := newFixture(t, mutate...)
			res := f.serve(c.req())
			if res.Status != c.status {
				t.Fatalf("status = %d, want %d: %s %v", res.Status, c.status, res.Raw, res.Header)
			}
			if c.status != http.StatusFound {
				if res.str("error") != c.code {
					t.Errorf("error = %q, want %q", res.str("error"), c.code)
				}
				if res.Header.Get("Location") != "" {
					t.Error("an untrusted redirect URI was redirected to")
				}
				noStore(t, res)
				return
			}
			loc, err := url.Parse(res.Header.Get("Location"))
			if err != nil {
				t.Fatal(err)
			}
			q := loc.Query()
			if c.fragment {
				q, _ = url.ParseQuery(loc.EscapedFragment())
			} else if loc.Fragment != "" {
				t.Errorf("error in the fragment: %s", loc)
			}
			if q.Get("error") != c.code || q.Get("state") != c.state || q.Get("error_description") == "" || q.Get("iss") != f.http.URL {
				t.Errorf("redirect = %s, want error %q state %q", loc, c.code, c.state)
			}
			if !strings.HasPrefix(loc.String(), "https://app.example/cb") && !strings.HasPrefix(loc.String(), "http://127.0.0.1/cb") {
				t.Errorf("redirected to %s", loc)
			}
		})
	}
}

// TestAuthorize covers successful authorization requests and the
// application-facing calls.
func TestAuthorize(t *testing.T) {
	ctx := context.Background()

	t.Run("code_redirect", func(t *testing.T) {
		f := newFixture(t)
		res := f.serve(authorizeGet(codeParams()))
		if res.Status != http.StatusFound {
			t.Fatalf("%d %s", res.Status, res.Raw)
		}
		noStore(t, res)
		loc, _ := url.Parse(res.Header.Get("Location"))
		q := loc.Query()
		if loc.Scheme+"://"+loc.Host+loc.Path != redirectURI || q.Get("state") != "st" || len(q.Get("code")) != 43 || q.Get("iss") != f.http.URL {
			t.Fatalf("redirect = %s", loc)
		}
		ac, err := f.store.GetAuthorizationCode(ctx, runtime.HashToken(q.Get("code")))
		if err != nil {
			t.Fatal(err)
		}
		want := &runtime.AuthorizationCode{
			Hash: runtime.HashToken(q.Get("code")), ClientID: "conf", UserID: "u-alice", RedirectURI: redirectURI,
			Scopes: []string{"read"}, CodeChallenge: runtime.S256Challenge(verifier), CodeChallengeMethod: "S256",
			FamilyID: ac.FamilyID, IssuedAt: f.clock.Now(), ExpiresAt: f.clock.Now().Add(runtime.DefaultAuthorizationCodeLifetime),
		}
		if diff := cmp.Diff(want, ac); diff != "" {
			t.Errorf("stored code (-want +got):\n%s", diff)
		}
		if ac.FamilyID == "" {
			t.Error("no family created with the code")
		}
	})

	t.Run("code_default_redirect_uri_not_stored", func(t *testing.T) {
		f := newFixture(t)
		q, _ := f.authorize(codeParams("redirect_uri", "-"))
		ac, _ := f.store.GetAuthorizationCode(ctx, runtime.HashToken(q.Get("code")))
		if ac.RedirectURI != "" {
			t.Errorf("RedirectURI = %q, want empty", ac.RedirectURI)
		}
	})

	t.Run("implicit_fragment", func(t *testing.T) {
		f := newFixture(t)
		q, loc := f.authorize(vals("response_type", "token", "client_id", "implicit-only", "state", "s1", "scope", "read write"))
		if loc.RawQuery != "app=1" {
			t.Errorf("the redirect URI's own query was not kept: %s", loc)
		}
		if q.Get("token_type") != "Bearer" || q.Get("expires_in") != "3600" || q.Get("scope") != "read write" || q.Get("state") != "s1" || q.Get("refresh_token") != "" {
			t.Errorf("fragment = %v", q)
		}
		at, err := f.store.GetAccessToken(ctx, runtime.HashToken(q.Get("access_token")))
		if err != nil || at.FamilyID != "" || at.UserID != "u-alice" {
			t.Errorf("token = %+v, %v", at, err)
		}
	})

	t.Run("post_form_with_params", func(t *testing.T) {
		f := newFixture(t)
		req, err := f.srv.ValidateAuthorizationRequest(authorizeGet(codeParams("scope", "read write")))
		if err != nil {
			t.Fatal(err)
		}
		if req.Client.ID != "conf" || req.ResponseType != "code" || req.State != "st" || req.RedirectURI != redirectURI ||
			!cmp.Equal(req.Scopes, []string{"read", "write"}) || req.CodeChallengeMethod != "S256" {
			t.Errorf("request = %+v", req)
		}
		if diff := cmp.Diff(codeParams("scope", "read write"), req.Params()); diff != "" {
			t.Errorf("Params (-want +got):\n%s", diff)
		}
		// The consent form posts the parameters back with its own fields.
		form := req.Params()
		form.Set("csrf", "t0k")
		form.Add("approve", "yes")
		post := httptest.NewRequest(http.MethodPost, "/consent", strings.NewReader(form.Encode()))
		post.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		again, err := f.srv.ValidateAuthorizationRequest(post)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(req.Params(), again.Params()); diff != "" {
			t.Errorf("Params after POST (-want +got):\n%s", diff)
		}
		rec := httptest.NewRecorder()
		if err := f.srv.CompleteAuthorization(rec, post, again, "u-bob", []string{"write"}); err != nil {
			t.Fatal(err)
		}
		loc, _ := url.Parse(rec.Header().Get("Location"))
		ac, err := f.store.GetAuthorizationCode(ctx, runtime.HashToken(loc.Query().Get("code")))
		if err != nil || ac.UserID != "u-bob" || !cmp.Equal(ac.Scopes, []string{"write"}) {
			t.Errorf("code = %+v, %v", ac, err)
		}
	})

	t.Run("complete_with_wider_scope", func(t *testing.T) {
		f := newFixture(t)
		r := authorizeGet(codeParams())
		req, err := f.srv.ValidateAuthorizationRequest(r)
		if err != nil {
			t.Fatal(err)
		}
		rec := httptest.NewRecorder()
		err = f.srv.CompleteAuthorization(rec, r, req, "u-alice", []string{"admin"})
		loc, _ := url.Parse(rec.Header().Get("Location"))
		if err == nil || rec.Code != http.StatusFound || loc.Query().Get("error") != "invalid_scope" || loc.Query().Get("code") != "" {
			t.Errorf("err = %v, %d %s", err, rec.Code, loc)
		}
	})

	t.Run("complete_without_user", func(t *testing.T) {
		f := newFixture(t)
		r := authorizeGet(codeParams())
		req, _ := f.srv.ValidateAuthorizationRequest(r)
		rec := httptest.NewRecorder()
		err := f.srv.CompleteAuthorization(rec, r, req, "", nil)
		loc, _ := url.Parse(rec.Header().Get("Location"))
		if err == nil || loc.Query().Get("error") != "server_error" || loc.Query().Get("state") != "st" {
			t.Errorf("err = %v, %s", err, loc)
		}
	})

	t.Run("complete_unvalidated_request", func(t *testing.T) {
		f := newFixture(t)
		rec := httptest.NewRecorder()
		err := f.srv.CompleteAuthorization(rec, authorizeGet(codeParams()), &runtime.AuthorizationRequest{RedirectURI: "https://evil.example"}, "u-alice", nil)
		if err == nil || rec.Code != 500 || rec.Header().Get("Location") != "" {
			t.Errorf("err = %v, %d %v", err, rec.Code, rec.Header())
		}
		rec = httptest.NewRecorder()
		f.srv.DenyAuthorization(rec, authorizeGet(codeParams()), nil)
		if rec.Code != 500 || rec.Header().Get("Location") != "" {
			t.Errorf("deny: %d %v", rec.Code, rec.Header())
		}
	})

	t.Run("deny", func(t *testing.T) {
		for _, rt := range []string{"code", "token"} {
			f := newFixture(t)
			r := authorizeGet(codeParams("response_type", rt))
			req, err := f.srv.ValidateAuthorizationRequest(r)
			if err != nil {
				t.Fatal(err)
			}
			rec := httptest.NewRecorder()
			f.srv.DenyAuthorization(rec, r, req)
			loc, _ := url.Parse(rec.Header().Get("Location"))
			q := loc.Query()
			if rt == "token" {
				q, _ = url.ParseQuery(loc.EscapedFragment())
			}
			if rec.Code != http.StatusFound || q.Get("error") != "access_denied" || q.Get("state") != "st" {
				t.Errorf("%s: %d %s", rt, rec.Code, loc)
			}
		}
	})

	t.Run("write_error_not_oauth", func(t *testing.T) {
		f := newFixture(t)
		rec := httptest.NewRecorder()
		f.srv.WriteAuthorizationError(rec, authorizeGet(codeParams()), errors.New("template exploded at /srv/secret/path"))
		if rec.Code != 500 || strings.Contains(rec.Body.String(), "secret") || !strings.Contains(rec.Body.String(), "server_error") {
			t.Errorf("%d %s", rec.Code, rec.Body)
		}
		if !strings.Contains(f.logs.String(), "template exploded") {
			t.Error("cause not logged")
		}
	})

	t.Run("no_issuer_no_iss", func(t *testing.T) {
		f := newFixture(t, func(c *runtime.Config) { c.Issuer = ""; c.DeviceCode = nil })
		q, _ := f.authorize(codeParams())
		if q.Has("iss") {
			t.Errorf("iss without an issuer: %v", q)
		}
	})
}
