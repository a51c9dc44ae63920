package runtime_test

import (
	"context"
	"go/ast"
	"go/parser"
	"go/token"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/oauthgen/oauthgen/runtime"
	"github.com/oauthgen/oauthgen/runtime/runtimetest"
)

// TestEmptyParametersAreOmitted: RFC 6749 §3.1 and §3.2, "parameters sent
// without a value MUST be treated as if they were omitted from the
// request", at the token endpoint and the authorization endpoint.
func TestEmptyParametersAreOmitted(t *testing.T) {
	t.Run("basic_and_empty_client_secret_in_body", func(t *testing.T) {
		f := newFixture(t)
		res := f.serve(basicReq("conf", confSecret, vals("grant_type", "client_credentials", "client_secret", "")))
		if res.Status != 200 {
			t.Errorf("got %d %s, want a token: an empty client_secret is no second credential", res.Status, res.Raw)
		}
	})
	t.Run("basic_and_empty_client_id_in_body", func(t *testing.T) {
		f := newFixture(t)
		res := f.serve(basicReq("conf", confSecret, vals("grant_type", "client_credentials", "client_id", "")))
		if res.Status != 200 {
			t.Errorf("got %d %s, want a token", res.Status, res.Raw)
		}
	})
	t.Run("public_client_with_empty_client_secret", func(t *testing.T) {
		f := newFixture(t)
		res := f.serve(formRequest("/token", vals("grant_type", "password", "client_id", "public", "client_secret", "",
			"username", "bob", "password", bobPass)))
		if res.Status != 200 {
			t.Errorf("got %d %s, want a token", res.Status, res.Raw)
		}
	})
	t.Run("confidential_client_with_empty_client_secret", func(t *testing.T) {
		f := newFixture(t)
		res := f.serve(formRequest("/token", vals("grant_type", "client_credentials", "client_id", "conf", "client_secret", "")))
		if res.Status != 400 || res.str("error") != "invalid_client" {
			t.Errorf("got %d %s, want 400 invalid_client", res.Status, res.Raw)
		}
	})
	t.Run("empty_grant_type_is_missing", func(t *testing.T) {
		f := newFixture(t)
		res := f.token(vals("grant_type", ""))
		if res.Status != 400 || res.str("error") != "invalid_request" || res.str("error_description") != "grant_type is required" {
			t.Errorf("got %d %s", res.Status, res.Raw)
		}
	})
	t.Run("empty_code_verifier_for_code_without_challenge", func(t *testing.T) {
		f := newFixture(t)
		code := f.code("code_challenge", "", "code_challenge_method", "")
		res := f.token(vals("grant_type", "authorization_code", "code", code, "redirect_uri", redirectURI, "code_verifier", ""))
		if res.Status != 200 {
			t.Errorf("got %d %s, want a token", res.Status, res.Raw)
		}
	})
	t.Run("empty_code_verifier_for_code_with_challenge", func(t *testing.T) {
		f := newFixture(t)
		code := f.code()
		res := f.token(vals("grant_type", "authorization_code", "code", code, "redirect_uri", redirectURI, "code_verifier", ""))
		if res.Status != 400 || res.str("error") != "invalid_grant" {
			t.Errorf("got %d %s, want invalid_grant (verifier missing)", res.Status, res.Raw)
		}
		if res := f.redeem(code); res.Status != 200 {
			t.Errorf("the code was burnt: %s", res.Raw)
		}
	})
	t.Run("empty_redirect_uri_at_token_endpoint_is_missing", func(t *testing.T) {
		f := newFixture(t)
		res := f.token(vals("grant_type", "authorization_code", "code", f.code(), "redirect_uri", "", "code_verifier", verifier))
		if res.Status != 400 || res.str("error") != "invalid_request" {
			t.Errorf("got %d %s, want invalid_request (redirect_uri required)", res.Status, res.Raw)
		}
	})
	t.Run("repeated_even_if_one_is_empty", func(t *testing.T) {
		f := newFixture(t)
		res := f.token(url.Values{"grant_type": {"", "client_credentials"}})
		if res.Status != 400 || res.str("error") != "invalid_request" || !strings.Contains(res.str("error_description"), "repeated") {
			t.Errorf("got %d %s", res.Status, res.Raw)
		}
	})
	t.Run("authorize_empty_redirect_uri_uses_the_registered_one", func(t *testing.T) {
		f := newFixture(t)
		q, loc := f.authorize(codeParams("redirect_uri", ""))
		if loc.Scheme+"://"+loc.Host+loc.Path != redirectURI || q.Get("code") == "" {
			t.Fatalf("redirected to %s", loc)
		}
		// The code was issued without redirect_uri, so none is needed.
		res := f.token(vals("grant_type", "authorization_code", "code", q.Get("code"), "code_verifier", verifier))
		if res.Status != 200 {
			t.Errorf("redeem: %d %s", res.Status, res.Raw)
		}
	})
	t.Run("authorize_empty_state_is_no_state", func(t *testing.T) {
		f := newFixture(t, func(c *runtime.Config) { c.AuthorizationCode.RequireState = true })
		res := f.serve(authorizeGet(codeParams("state", "")))
		loc, _ := url.Parse(res.Header.Get("Location"))
		if res.Status != 302 || loc.Query().Get("error") != "invalid_request" || loc.Query().Has("state") {
			t.Errorf("got %d %s", res.Status, loc)
		}
	})
	t.Run("params_leave_out_empty_ones", func(t *testing.T) {
		f := newFixture(t)
		req, err := f.srv.ValidateAuthorizationRequest(authorizeGet(codeParams("scope", "")))
		if err != nil {
			t.Fatal(err)
		}
		if req.Params().Has("scope") {
			t.Errorf("Params = %v", req.Params())
		}
	})
}

// TestHookErrorsAreCopied: a hook may return one shared *Error to every
// request. The engine must not write per-request state (the redirect
// target of an authorization error) into it: concurrent requests would
// race, and one user's error could be redirected to another client.
func TestHookErrorsAreCopied(t *testing.T) {
	shared := runtime.NewError(runtime.InvalidScope, "scope refused by policy")
	f := newFixture(t, func(c *runtime.Config) {
		c.ValidateScope = func(context.Context, runtime.ScopeRequest) ([]string, error) { return nil, shared }
	})
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			p := codeParams("state", "s"+strconv.Itoa(i))
			if i%2 == 1 {
				p = codeParams("client_id", "other", "redirect_uri", "https://other.example/cb", "state", "s"+strconv.Itoa(i))
			}
			rec := httptest.NewRecorder()
			f.mux.ServeHTTP(rec, authorizeGet(p))
			loc, _ := url.Parse(rec.Header().Get("Location"))
			want := "https://app.example/cb"
			if i%2 == 1 {
				want = "https://other.example/cb"
			}
			if rec.Code != 302 || !strings.HasPrefix(loc.String(), want) || loc.Query().Get("state") != "s"+strconv.Itoa(i) {
				t.Errorf("request %d answered %d %s", i, rec.Code, loc)
			}
		})
	}
	wg.Wait()
	// The shared value is as the hook made it: written on its own, it is
	// a 400 for the user, not a redirect to the last request's client.
	rec := httptest.NewRecorder()
	f.srv.WriteAuthorizationError(rec, authorizeGet(codeParams()), shared)
	if rec.Code != 400 || rec.Header().Get("Location") != "" {
		t.Errorf("the hook's error was changed: it now answers %d %v", rec.Code, rec.Header())
	}
}

// TestHookErrorShapes: what a hook's *Error cannot make the engine do.
func TestHookErrorShapes(t *testing.T) {
	for _, c := range []struct {
		name   string
		err    error
		status int
		code   string
	}{
		{"status_200_is_not_an_error_status", &runtime.Error{Code: runtime.InvalidGrant, Status: 200}, 400, "invalid_grant"},
		{"status_302_is_not_an_error_status", &runtime.Error{Code: runtime.InvalidGrant, Status: 302}, 400, "invalid_grant"},
		{"status_429_is_kept", &runtime.Error{Code: runtime.TemporarilyUnavailable, Status: 429}, 429, "temporarily_unavailable"},
		{"no_code_is_server_error", &runtime.Error{Description: "oops"}, 500, "server_error"},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := newFixture(t, func(cfg *runtime.Config) {
				cfg.ClientCredentials.User = func(context.Context, *runtime.Client) (string, error) { return "", c.err }
			})
			res := f.serve(basicReq("conf", confSecret, ccForm))
			if res.Status != c.status || res.str("error") != c.code {
				t.Errorf("got %d %s, want %d %s", res.Status, res.Raw, c.status, c.code)
			}
			noStore(t, res)
		})
	}
}

// TestConfigIsCopied: NewServer keeps its own configuration and Config
// returns a copy, so neither the caller's values nor the returned ones can
// change a running Server (or race with its requests).
func TestConfigIsCopied(t *testing.T) {
	store := runtimetest.NewMemoryStore()
	cfg := runtime.Config{
		AuthorizationCode: &runtime.AuthorizationCodeGrant{},
		ClientCredentials: &runtime.ClientCredentialsGrant{},
		Scopes:            []string{"read", "write"},
		DefaultScopes:     []string{"read"},
		Extensions:        map[string]runtime.ExtensionGrant{extGrant: testExtension},
		AppPages:          runtime.AppPages{Authorization: true},
	}
	srv, err := runtime.NewServer(cfg, store)
	if err != nil {
		t.Fatal(err)
	}
	cfg.AuthorizationCode.AllowPlainPKCE = true
	cfg.Scopes[0] = "admin"
	cfg.DefaultScopes[0] = "write"
	delete(cfg.Extensions, extGrant)

	got := srv.Config()
	got.AuthorizationCode.PKCE = runtime.PKCEOptional
	got.Scopes[1] = "nuke"
	got.Extensions["urn:x:evil"] = testExtension

	again := srv.Config()
	if again.AuthorizationCode.AllowPlainPKCE || again.AuthorizationCode.PKCE != runtime.PKCEPublic ||
		!slices.Equal(again.Scopes, []string{"read", "write"}) || !slices.Equal(again.DefaultScopes, []string{"read"}) ||
		len(again.Extensions) != 1 || again.Extensions[extGrant] == nil {
		t.Errorf("configuration changed from outside: %+v %+v", again, again.AuthorizationCode)
	}
	if m := srv.Metadata(); !slices.Equal(m.CodeChallengeMethodsSupported, []string{"S256"}) || !slices.Contains(m.GrantTypesSupported, extGrant) {
		t.Errorf("metadata = %+v", m)
	}
}

// TestPublicClientRefreshTokensAlwaysRotate: RFC 9700 §2.2.2 — a public
// client's refresh tokens must be sender-constrained or rotated, so
// DisableRotation applies to confidential clients only.
func TestPublicClientRefreshTokensAlwaysRotate(t *testing.T) {
	f := newFixture(t, func(c *runtime.Config) { c.RefreshToken.DisableRotation = true })
	pub := f.mustToken("public", "", vals("grant_type", "password", "username", "bob", "password", bobPass))
	rt1 := pub.str("refresh_token")
	res := f.mustToken("public", "", vals("grant_type", "refresh_token", "refresh_token", rt1))
	rt2 := res.str("refresh_token")
	if rt2 == "" || rt2 == rt1 {
		t.Fatalf("public client refresh not rotated: %s", res.Raw)
	}
	// The old one is spent; presenting it again is reuse: the family goes.
	if res := f.post("/token", "public", "", vals("grant_type", "refresh_token", "refresh_token", rt1)); res.str("error") != "invalid_grant" {
		t.Errorf("reuse: %s", res.Raw)
	}
	if res := f.post("/token", "public", "", vals("grant_type", "refresh_token", "refresh_token", rt2)); res.str("error") != "invalid_grant" {
		t.Errorf("the family survived the reuse: %s", res.Raw)
	}

	// A confidential client keeps its refresh token.
	_, crt := f.passwordTokens("read")
	for range 2 {
		if res := f.mustToken("conf", confSecret, vals("grant_type", "refresh_token", "refresh_token", crt)); res.str("refresh_token") != "" {
			t.Errorf("confidential client rotated with DisableRotation: %s", res.Raw)
		}
	}
}

// TestResponseMode: response_mode (OAuth 2.0 Multiple Response Type
// Encoding Practices §2.1) is honoured for query and fragment; tokens are
// never put in the query; anything else is refused rather than silently
// answered in another mode.
func TestResponseMode(t *testing.T) {
	for _, c := range []struct {
		name      string
		params    url.Values
		wantQuery bool // the response parameters are in the query, not the fragment
		wantError string
	}{
		{name: "code_default_query", params: codeParams(), wantQuery: true},
		{name: "code_query", params: codeParams("response_mode", "query"), wantQuery: true},
		{name: "code_fragment", params: codeParams("response_mode", "fragment")},
		{name: "token_default_fragment", params: vals("response_type", "token", "client_id", "implicit-only", "state", "st")},
		{name: "token_fragment", params: vals("response_type", "token", "client_id", "implicit-only", "state", "st", "response_mode", "fragment")},
		{name: "token_query_refused_in_fragment", params: vals("response_type", "token", "client_id", "implicit-only", "state", "st", "response_mode", "query"), wantError: "invalid_request"},
		{name: "form_post_refused", params: codeParams("response_mode", "form_post"), wantQuery: true, wantError: "invalid_request"},
		{name: "repeated_refused", params: func() url.Values {
			p := codeParams("response_mode", "query")
			p.Add("response_mode", "fragment")
			return p
		}(), wantQuery: true, wantError: "invalid_request"},
		{name: "fragment_error_for_code", params: codeParams("response_mode", "fragment", "scope", "nuke"), wantError: "invalid_scope"},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := newFixture(t)
			res := f.serve(authorizeGet(c.params))
			if res.Status != http.StatusFound {
				t.Fatalf("%d %s", res.Status, res.Raw)
			}
			loc, _ := url.Parse(res.Header.Get("Location"))
			q := loc.Query()
			if !c.wantQuery {
				q, _ = url.ParseQuery(loc.EscapedFragment())
				if loc.Query().Has("state") || loc.Query().Has("code") || loc.Query().Has("access_token") || loc.Query().Has("error") {
					t.Errorf("response parameters in the query: %s", loc)
				}
			} else if loc.Fragment != "" {
				t.Errorf("response in the fragment: %s", loc)
			}
			if q.Get("state") != "st" || q.Get("error") != c.wantError || q.Get("iss") != f.http.URL {
				t.Errorf("redirect = %s, want error %q", loc, c.wantError)
			}
			if c.wantError == "" && q.Get("code") == "" && q.Get("access_token") == "" {
				t.Errorf("no code or token: %s", loc)
			}
		})
	}
	t.Run("request_reports_mode", func(t *testing.T) {
		f := newFixture(t)
		req, err := f.srv.ValidateAuthorizationRequest(authorizeGet(codeParams("response_mode", "fragment")))
		if err != nil || req.ResponseMode != "fragment" || req.Params().Get("response_mode") != "fragment" {
			t.Fatalf("req = %+v, %v", req, err)
		}
		req, _ = f.srv.ValidateAuthorizationRequest(authorizeGet(codeParams()))
		if req.ResponseMode != "query" {
			t.Errorf("ResponseMode = %q", req.ResponseMode)
		}
	})
	t.Run("metadata", func(t *testing.T) {
		for _, c := range []struct {
			name   string
			config func(*runtime.Config)
			want   []string
		}{
			{"code", func(c *runtime.Config) { c.Implicit = nil }, []string{"query", "fragment"}},
			{"implicit_only", func(c *runtime.Config) { c.AuthorizationCode = nil }, []string{"fragment"}},
			{"both", nil, []string{"query", "fragment"}},
		} {
			var mutate []func(*runtime.Config)
			if c.config != nil {
				mutate = append(mutate, c.config)
			}
			if got := newFixture(t, mutate...).srv.Metadata().ResponseModesSupported; !slices.Equal(got, c.want) {
				t.Errorf("%s: response_modes_supported = %v, want %v", c.name, got, c.want)
			}
		}
	})
}

// TestLoopbackRedirectURIPort: RFC 8252 §7.3 — for a loopback IP redirect
// URI the authorization server MUST allow any port at request time; every
// other part, and every other URI, is still compared exactly.
func TestLoopbackRedirectURIPort(t *testing.T) {
	const native = "native"
	seed := func(f *fixture) {
		f.store.AddClient(&runtime.Client{ID: native, GrantTypes: []string{runtime.GrantAuthorizationCode},
			RedirectURIs: []string{"http://127.0.0.1/cb", "http://[::1]/cb", "http://localhost/cb", "https://127.0.0.1/cb"}})
	}
	params := func(uri string) url.Values {
		return vals("response_type", "code", "client_id", native, "redirect_uri", uri, "state", "st",
			"code_challenge", runtime.S256Challenge(verifier), "code_challenge_method", "S256")
	}
	for _, c := range []struct {
		uri string
		ok  bool
	}{
		{"http://127.0.0.1/cb", true},
		{"http://127.0.0.1:51004/cb", true},
		{"http://127.0.0.1:1/cb", true},
		{"http://[::1]:61023/cb", true},
		{"http://127.0.0.1:51004/cb/x", false},
		{"http://127.0.0.1:51004/cb?x=1", false},
		{"http://127.0.0.1:51004/CB", false},
		{"http://127.0.0.1:x/cb", false},
		{"http://127.0.0.2:5/cb", false},
		{"http://[::1]:5/cb#f", false},
		{"http://::1:5/cb", false},
		{"http://u@127.0.0.1:5/cb", false},
		{"http://localhost:5000/cb", false},  // not a loopback IP literal (RFC 8252 §8.3)
		{"https://127.0.0.1:5000/cb", false}, // loopback redirects are http
		{"http://[::ffff:127.0.0.1]:5/cb", false},
	} {
		t.Run(c.uri, func(t *testing.T) {
			f := newFixture(t)
			seed(f)
			res := f.serve(authorizeGet(params(c.uri)))
			if !c.ok {
				if res.Status != 400 || res.str("error") != "invalid_request" || res.Header.Get("Location") != "" {
					t.Errorf("got %d %s %s, want 400 invalid_request, not redirected", res.Status, res.Raw, res.Header.Get("Location"))
				}
				return
			}
			loc := res.Header.Get("Location")
			if res.Status != 302 || !strings.HasPrefix(loc, c.uri+"?") {
				t.Fatalf("got %d %s, want a redirect to %s", res.Status, loc, c.uri)
			}
			u, _ := url.Parse(loc)
			// The token request must name the same URI, port included (§4.1.3).
			redeem := func(uri string) response {
				return f.post("/token", native, "", vals("grant_type", "authorization_code", "code", u.Query().Get("code"),
					"redirect_uri", uri, "code_verifier", verifier))
			}
			if c.uri != "http://127.0.0.1/cb" {
				if res := redeem("http://127.0.0.1/cb"); res.str("error") != "invalid_grant" {
					t.Errorf("redeemed with another port: %s", res.Raw)
				}
			}
			if res := redeem(c.uri); res.Status != 200 {
				t.Errorf("redeem: %d %s", res.Status, res.Raw)
			}
		})
	}
}

// TestStateRoundTrip: state comes back exactly, whatever VSCHAR it holds,
// URL-escaped in the redirect (RFC 6749 §4.1.2, Appendix A.5).
func TestStateRoundTrip(t *testing.T) {
	const state = `a b&c=d#e/+%?;"'<>\~!`
	f := newFixture(t)
	for _, rt := range []string{"code", "token"} {
		q, loc := f.authorize(codeParams("state", state, "response_type", rt))
		if q.Get("state") != state {
			t.Errorf("%s: state = %q, want %q (%s)", rt, q.Get("state"), state, loc)
		}
		if strings.Count(loc.String(), "#") > 1 || (rt == "code" && loc.Fragment != "") {
			t.Errorf("%s: state not escaped: %s", rt, loc)
		}
	}
}

// TestBearerHardening: RFC 6750 details beyond the status table.
func TestBearerHardening(t *testing.T) {
	formReq := func(method, body string) *http.Request {
		r := httptest.NewRequest(method, "/resource", strings.NewReader(body))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		return r
	}
	allow := func(c *runtime.Config) { c.Bearer.AllowForm, c.Bearer.AllowQuery = true, true }
	t.Run("form_token_only_for_methods_with_body_semantics", func(t *testing.T) {
		f := newFixture(t, allow)
		tok := f.mustToken("conf", confSecret, ccForm).str("access_token")
		for _, m := range []string{http.MethodGet, http.MethodHead, http.MethodDelete, http.MethodOptions} {
			if res := f.serve(formReq(m, "access_token="+tok)); res.Status != 400 ||
				!strings.HasPrefix(res.Header.Get("WWW-Authenticate"), `Bearer realm="`+f.http.URL+`", error="invalid_request"`) {
				t.Errorf("%s: %d %v", m, res.Status, res.Header)
			}
		}
		for _, m := range []string{http.MethodPost, http.MethodPut, http.MethodPatch} {
			if res := f.serve(formReq(m, "access_token="+tok)); res.Status != 200 {
				t.Errorf("%s: %d %s", m, res.Status, res.Raw)
			}
		}
	})
	t.Run("query_token_response_is_private", func(t *testing.T) {
		f := newFixture(t, allow)
		tok := f.mustToken("conf", confSecret, ccForm).str("access_token")
		res := f.get("/resource?access_token="+tok, "")
		if res.Status != 200 || res.Header.Get("Cache-Control") != "private" {
			t.Errorf("got %d, Cache-Control %q; RFC 6750 §2.3 asks for private", res.Status, res.Header.Get("Cache-Control"))
		}
		if res := f.get("/resource", tok); res.Header.Get("Cache-Control") != "" {
			t.Errorf("header token: Cache-Control %q", res.Header.Get("Cache-Control"))
		}
	})
	t.Run("require_token_refuses_malformed_scopes", func(t *testing.T) {
		f := newFixture(t)
		for _, sc := range []string{"read write", "", `a"b`, "a\r\nX-Evil: 1"} {
			func() {
				defer func() {
					if recover() == nil {
						t.Errorf("RequireToken(%q) did not panic", sc)
					}
				}()
				f.srv.RequireToken("read", sc)
			}()
		}
	})
	t.Run("challenge_cannot_be_injected", func(t *testing.T) {
		f := newFixture(t)
		rec := httptest.NewRecorder()
		e := &runtime.Error{Code: "invalid_token", Description: "bad\r\n\"token\"\\, realm=\"evil\"\u00e9"}
		f.srv.WriteBearerError(rec, httptest.NewRequest(http.MethodGet, "/x", nil), e)
		got := rec.Header().Get("WWW-Authenticate")
		want := `Bearer realm="` + f.http.URL + `", error="invalid_token", error_description="badtoken, realm=evil"`
		if got != want {
			t.Errorf("WWW-Authenticate = %q, want %q", got, want)
		}
	})
}

// TestReplayRevokesTokensOfARacingFirstRedemption: the replay is seen
// while the first redemption has committed its tokens but not yet answered.
// The family exists since the code was issued, so the replay revokes it
// and the tokens the first redemption is about to hand out are dead.
func TestReplayRevokesTokensOfARacingFirstRedemption(t *testing.T) {
	var ps *pauseStore
	f := newFixtureStore(t, func(m *runtimetest.MemoryStore) runtime.Store {
		ps = &pauseStore{MemoryStore: m, reached: make(chan struct{}), release: make(chan struct{})}
		return ps
	})
	code := f.code()
	ps.armed.Store(true)
	first := make(chan response)
	go func() { first <- f.redeem(code) }()
	<-ps.reached // the code is consumed and the tokens stored, not yet sent
	if res := f.redeem(code); res.str("error") != "invalid_grant" {
		t.Errorf("replay: %s", res.Raw)
	}
	close(ps.release)
	res := <-first
	if res.Status != 200 {
		t.Fatalf("first redemption: %s", res.Raw)
	}
	if f.active(res.str("access_token")) {
		t.Error("the access token issued after the replay is active")
	}
	if r := f.token(vals("grant_type", "refresh_token", "refresh_token", res.str("refresh_token"))); r.str("error") != "invalid_grant" {
		t.Errorf("the refresh token issued after the replay works: %s", r.Raw)
	}
	intro := f.post("/introspect", "conf", confSecret, vals("token", res.str("access_token")))
	if intro.Raw != "{\"active\":false}\n" {
		t.Errorf("introspection: %s", intro.Raw)
	}
}

// pauseStore stops after the first Issue of tokens once armed, until
// release: the redemption is committed, its response not yet sent.
type pauseStore struct {
	*runtimetest.MemoryStore
	armed   atomic.Bool
	once    sync.Once
	reached chan struct{}
	release chan struct{}
}

func (s *pauseStore) Issue(ctx context.Context, is *runtime.Issuance) error {
	err := s.MemoryStore.Issue(ctx, is)
	if s.armed.Load() && is.AccessToken != nil {
		s.once.Do(func() {
			close(s.reached)
			<-s.release
		})
	}
	return err
}

// TestLogsHoldNoSecrets runs every flow, failures included, with debug
// logging, and checks that no token, code, secret, password or verifier
// the test used or was given reaches the log.
func TestLogsHoldNoSecrets(t *testing.T) {
	f := newFixture(t)
	var secrets []string
	keep := func(res response) {
		for _, k := range []string{"access_token", "refresh_token", "device_code", "user_code"} {
			if v := res.str(k); v != "" {
				secrets = append(secrets, v)
			}
		}
	}
	secrets = append(secrets, confSecret, otherSecret, alicePass, bobPass, verifier, "wrong-secret")

	// Code flow, replay (revokes and logs), refresh, reuse (revokes and logs).
	code := f.code()
	secrets = append(secrets, code)
	res := f.redeem(code)
	keep(res)
	keep(f.redeem(code))
	_, rt := f.passwordTokens("read")
	secrets = append(secrets, rt)
	keep(f.token(vals("grant_type", "refresh_token", "refresh_token", rt)))
	keep(f.token(vals("grant_type", "refresh_token", "refresh_token", rt)))
	keep(f.post("/token", "conf", "wrong-secret", ccForm))
	keep(f.post("/token", "conf", confSecret, vals("grant_type", "password", "username", "alice", "password", "wrong-secret")))
	// Device flow.
	d := f.post("/device_authorization", "public", "", vals("scope", "read"))
	keep(d)
	f.srv.ApproveDevice(context.Background(), d.str("user_code"), "u-alice", nil)
	keep(f.post("/token", "public", "", vals("grant_type", runtime.GrantDeviceCode, "device_code", d.str("device_code"))))
	keep(f.post("/token", "public", "", vals("grant_type", runtime.GrantDeviceCode, "device_code", d.str("device_code"))))
	// Revocation, introspection, hooks failing, a bearer request.
	f.post("/revoke", "conf", confSecret, vals("token", res.str("refresh_token")))
	f.post("/introspect", "conf", confSecret, vals("token", res.str("access_token")))
	f.token(vals("grant_type", extGrant, "assertion", "boom"))
	f.get("/resource", res.str("access_token"))

	logs := f.logs.String()
	if !strings.Contains(logs, "token family revoked") || !strings.Contains(logs, "database on fire") {
		t.Fatalf("the flows did not log what they should: %s", logs)
	}
	for _, s := range secrets {
		if strings.Contains(logs, s) || strings.Contains(logs, url.QueryEscape(s)) {
			t.Errorf("the log holds a secret %q:\n%s", s, logs)
		}
	}
}

// TestErrorDescriptionsArePlainASCII reads the package's source: every
// literal description handed to NewError and errorf is printable ASCII
// without '"' or '\' (RFC 6749 §5.2), so none loses characters on the way
// out (a "§" would silently vanish from error_description).
func TestErrorDescriptionsArePlainASCII(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	var checked int
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		src, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		file, err := parser.ParseFile(fset, name, src, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(file, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok {
				return true
			}
			id, ok := call.Fun.(*ast.Ident)
			if !ok || (id.Name != "NewError" && id.Name != "errorf" && id.Name != "clientError" && id.Name != "redirectErr") {
				return true
			}
			for _, arg := range call.Args[1:] {
				lit, ok := arg.(*ast.BasicLit)
				if !ok || lit.Kind != token.STRING {
					continue
				}
				s, _ := strconv.Unquote(lit.Value)
				checked++
				if strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r > 0x7e || r == '"' || r == '\\' }) {
					t.Errorf("%s: description %q has characters RFC 6749 §5.2 forbids", fset.Position(lit.Pos()), s)
				}
			}
			return true
		})
	}
	if checked < 50 {
		t.Errorf("only %d descriptions found: is the source scan broken?", checked)
	}
}

// TestMetadataOmitsEmptyClaims: RFC 8414 §3.2, "claims with zero elements
// MUST be omitted from the response": a server without an authorization
// endpoint publishes no response_types_supported rather than [].
func TestMetadataOmitsEmptyClaims(t *testing.T) {
	srv, err := runtime.NewServer(runtime.Config{Issuer: "https://as.example", ClientCredentials: &runtime.ClientCredentialsGrant{}}, runtimetest.NewMemoryStore())
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	srv.MetadataHandler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, runtime.MetadataPath, nil))
	body := rec.Body.String()
	if rec.Code != 200 || strings.Contains(body, "[]") || strings.Contains(body, "response_types_supported") ||
		!strings.Contains(body, `"grant_types_supported":["client_credentials"]`) {
		t.Errorf("%d %s", rec.Code, body)
	}
}
