package runtime_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/oauthgen/oauthgen/runtime"
)

// TestBearer is RFC 6750 at a protected resource that requires "read":
// where tokens are accepted, and every failure's status, error and
// challenge.
func TestBearer(t *testing.T) {
	type tc struct {
		name   string
		config func(*runtime.Config)
		// req builds the request; tok is a valid token with scope read.
		req    func(f *fixture, tok string) *http.Request
		status int
		// challenge is the expected WWW-Authenticate with the realm
		// written as REALM; empty for none.
		challenge string
	}
	get := func(path string) *http.Request { return httptest.NewRequest(http.MethodGet, path, nil) }
	withHeader := func(r *http.Request, v string) *http.Request { r.Header.Set("Authorization", v); return r }
	formPost := func(method, body string) *http.Request {
		r := httptest.NewRequest(method, "/resource", strings.NewReader(body))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		return r
	}
	allowForm := func(c *runtime.Config) { c.Bearer.AllowForm = true }
	allowQuery := func(c *runtime.Config) { c.Bearer.AllowQuery = true }
	const invalidRequest = `Bearer realm="REALM", error="invalid_request", error_description=`
	for _, c := range []tc{
		{name: "header", status: 200, req: func(f *fixture, tok string) *http.Request { return withHeader(get("/resource"), "Bearer "+tok) }},
		{name: "header_scheme_case_insensitive", status: 200, req: func(f *fixture, tok string) *http.Request { return withHeader(get("/resource"), "bearer "+tok) }},
		{name: "header_several_spaces", status: 200, req: func(f *fixture, tok string) *http.Request { return withHeader(get("/resource"), "Bearer   "+tok) }},
		{name: "header_tab_is_not_the_bearer_scheme", status: 401, challenge: `Bearer realm="REALM"`, req: func(f *fixture, tok string) *http.Request {
			return withHeader(get("/resource"), "Bearer\t"+tok)
		}},
		{name: "no_token", status: 401, challenge: `Bearer realm="REALM"`, req: func(f *fixture, tok string) *http.Request { return get("/resource") }},
		{name: "other_scheme_is_no_token", status: 401, challenge: `Bearer realm="REALM"`, req: func(f *fixture, tok string) *http.Request {
			return withHeader(get("/resource"), "Basic Zm9vOmJhcg==")
		}},
		{name: "custom_realm", status: 401, challenge: `Bearer realm="api"`,
			config: func(c *runtime.Config) { c.Bearer.Realm = "api" },
			req:    func(f *fixture, tok string) *http.Request { return get("/resource") }},
		{name: "header_without_token", status: 400, challenge: invalidRequest, req: func(f *fixture, tok string) *http.Request {
			return withHeader(get("/resource"), "Bearer")
		}},
		{name: "header_malformed_token", status: 400, challenge: invalidRequest, req: func(f *fixture, tok string) *http.Request {
			return withHeader(get("/resource"), "Bearer "+tok+" extra")
		}},
		{name: "header_token_bad_padding", status: 400, challenge: invalidRequest, req: func(f *fixture, tok string) *http.Request {
			return withHeader(get("/resource"), "Bearer ab=c")
		}},
		{name: "two_authorization_headers", status: 400, challenge: invalidRequest, req: func(f *fixture, tok string) *http.Request {
			r := withHeader(get("/resource"), "Bearer "+tok)
			r.Header.Add("Authorization", "Bearer "+tok)
			return r
		}},
		{name: "query_not_allowed", status: 400, challenge: invalidRequest, req: func(f *fixture, tok string) *http.Request {
			return get("/resource?access_token=" + tok)
		}},
		{name: "query_allowed", status: 200, config: allowQuery, req: func(f *fixture, tok string) *http.Request {
			return get("/resource?access_token=" + tok)
		}},
		{name: "query_repeated", status: 400, challenge: invalidRequest, config: allowQuery, req: func(f *fixture, tok string) *http.Request {
			return get("/resource?access_token=" + tok + "&access_token=" + tok)
		}},
		{name: "query_malformed", status: 400, challenge: invalidRequest, config: allowQuery, req: func(f *fixture, tok string) *http.Request {
			return get("/resource?access_token=" + url.QueryEscape("a b"))
		}},
		{name: "header_and_query", status: 400, challenge: invalidRequest, config: allowQuery, req: func(f *fixture, tok string) *http.Request {
			return withHeader(get("/resource?access_token="+tok), "Bearer "+tok)
		}},
		{name: "form_allowed", status: 200, config: allowForm, req: func(f *fixture, tok string) *http.Request {
			return formPost(http.MethodPost, "access_token="+tok)
		}},
		{name: "form_not_allowed_is_not_read", status: 401, challenge: `Bearer realm="REALM"`, req: func(f *fixture, tok string) *http.Request {
			return formPost(http.MethodPost, "access_token="+tok)
		}},
		{name: "form_with_get", status: 400, challenge: invalidRequest, config: allowForm, req: func(f *fixture, tok string) *http.Request {
			return formPost(http.MethodGet, "access_token="+tok)
		}},
		{name: "form_not_form_content_type", status: 401, challenge: `Bearer realm="REALM"`, config: allowForm, req: func(f *fixture, tok string) *http.Request {
			r := formPost(http.MethodPost, "access_token="+tok)
			r.Header.Set("Content-Type", "application/json")
			return r
		}},
		{name: "form_too_large", status: 400, challenge: invalidRequest, config: allowForm, req: func(f *fixture, tok string) *http.Request {
			return formPost(http.MethodPost, "access_token="+tok+"&pad="+strings.Repeat("x", 1<<20))
		}},
		{name: "form_repeated", status: 400, challenge: invalidRequest, config: allowForm, req: func(f *fixture, tok string) *http.Request {
			return formPost(http.MethodPost, "access_token="+tok+"&access_token="+tok)
		}},
		{name: "header_and_form", status: 400, challenge: invalidRequest, config: allowForm, req: func(f *fixture, tok string) *http.Request {
			return withHeader(formPost(http.MethodPost, "access_token="+tok), "Bearer "+tok)
		}},
		{name: "unknown_token", status: 401, challenge: `Bearer realm="REALM", error="invalid_token", error_description="unknown access token"`, req: func(f *fixture, tok string) *http.Request {
			return withHeader(get("/resource"), "Bearer "+runtime.NewToken())
		}},
		{name: "expired_token", status: 401, challenge: `Bearer realm="REALM", error="invalid_token", error_description="the access token has expired"`, req: func(f *fixture, tok string) *http.Request {
			f.clock.Add(time.Hour)
			return withHeader(get("/resource"), "Bearer "+tok)
		}},
		{name: "revoked_token", status: 401, challenge: `Bearer realm="REALM", error="invalid_token", error_description="the access token was revoked"`, req: func(f *fixture, tok string) *http.Request {
			f.store.RevokeAccessToken(context.Background(), runtime.HashToken(tok), f.clock.Now())
			return withHeader(get("/resource"), "Bearer "+tok)
		}},
		{name: "insufficient_scope", status: 403, challenge: `Bearer realm="REALM", error="insufficient_scope", error_description="the access token lacks a required scope", scope="read"`,
			req: func(f *fixture, tok string) *http.Request {
				res := f.mustToken("conf", confSecret, vals("grant_type", "client_credentials", "scope", "write"))
				return withHeader(get("/resource"), "Bearer "+res.str("access_token"))
			}},
	} {
		t.Run(c.name, func(t *testing.T) {
			var mutate []func(*runtime.Config)
			if c.config != nil {
				mutate = append(mutate, c.config)
			}
			f := newFixture(t, mutate...)
			tok := f.mustToken("conf", confSecret, ccForm).str("access_token")
			res := f.serve(c.req(f, tok))
			if res.Status != c.status {
				t.Fatalf("status = %d, want %d: %s", res.Status, c.status, res.Raw)
			}
			realm := f.http.URL
			if c.name == "custom_realm" {
				realm = "api"
			}
			want := strings.ReplaceAll(c.challenge, "REALM", realm)
			got := res.Header.Get("WWW-Authenticate")
			if strings.HasSuffix(want, "=") {
				if !strings.HasPrefix(got, want+`"`) {
					t.Errorf("WWW-Authenticate = %q, want %q…", got, want)
				}
			} else if got != want {
				t.Errorf("WWW-Authenticate = %q, want %q", got, want)
			}
			if c.status == 200 || c.status == 403 {
				if res.Header.Get("X-Accepted-OAuth-Scopes") != "read" || res.Header.Get("X-OAuth-Scopes") == "" {
					t.Errorf("scope headers: %v", res.Header)
				}
			}
			if c.status >= 400 && c.status != 401 || strings.Contains(want, "error=") {
				code := strings.TrimSuffix(strings.TrimPrefix(want[strings.Index(want, `error="`):], `error="`), `"`)
				code = code[:strings.Index(code, `"`)]
				if res.str("error") != code {
					t.Errorf("body error = %q, want %q", res.str("error"), code)
				}
			}
		})
	}
}

// TestBearerAPI covers the non-middleware calls.
func TestBearerAPI(t *testing.T) {
	t.Run("body_still_readable_after_form_token", func(t *testing.T) {
		f := newFixture(t, func(c *runtime.Config) { c.Bearer.AllowForm = true })
		tok := f.mustToken("conf", confSecret, ccForm).str("access_token")
		body := "access_token=" + tok + "&note=hi"
		r := httptest.NewRequest(http.MethodPost, "/x", strings.NewReader(body))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		var seen string
		h := f.srv.RequireToken()(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			b, _ := io.ReadAll(r.Body)
			seen = string(b)
			if _, ok := runtime.TokenFromContext(r.Context()); !ok {
				t.Error("no token in context")
			}
		}))
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		if rec.Code != 200 || seen != body {
			t.Errorf("%d, handler read %q", rec.Code, seen)
		}
		if rec.Header().Get("X-Accepted-OAuth-Scopes") != "" {
			t.Error("scope headers without required scopes")
		}
	})

	// The protected handler may add to either scope header without
	// touching the other.
	t.Run("scope_headers_apart", func(t *testing.T) {
		f := newFixture(t)
		tok := f.mustToken("conf", confSecret, vals("grant_type", "client_credentials", "scope", "read write")).str("access_token")
		h := f.srv.RequireToken("read")(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Add("X-Accepted-OAuth-Scopes", "extra")
		}))
		r := httptest.NewRequest(http.MethodGet, "/x", nil)
		r.Header.Set("Authorization", "Bearer "+tok)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		if got := rec.Header().Values("X-Accepted-OAuth-Scopes"); !slices.Equal(got, []string{"read", "extra"}) {
			t.Errorf("X-Accepted-OAuth-Scopes = %q", got)
		}
		if got := rec.Header().Values("X-OAuth-Scopes"); !slices.Equal(got, []string{"read write"}) {
			t.Errorf("X-OAuth-Scopes = %q, want the token's scopes alone", got)
		}
	})

	t.Run("authenticate_request", func(t *testing.T) {
		f := newFixture(t)
		tok := f.mustToken("conf", confSecret, vals("grant_type", "client_credentials", "scope", "read write")).str("access_token")
		r := httptest.NewRequest(http.MethodGet, "/x", nil)
		if _, err := f.srv.AuthenticateRequest(r); !errors.Is(err, runtime.ErrNoToken) {
			t.Errorf("err = %v, want ErrNoToken", err)
		}
		r.Header.Set("Authorization", "Bearer "+tok)
		at, err := f.srv.AuthenticateRequest(r)
		if err != nil || at.ClientID != "conf" || !runtime.HasScopes(at.Scopes, "read", "write") {
			t.Errorf("token = %+v, %v", at, err)
		}
		if _, ok := runtime.TokenFromContext(r.Context()); ok {
			t.Error("token in a context nobody put it in")
		}
		if got, _ := runtime.TokenFromContext(runtime.ContextWithToken(r.Context(), at)); got != at {
			t.Error("ContextWithToken does not round-trip")
		}
	})

	t.Run("write_bearer_error_not_oauth", func(t *testing.T) {
		f := newFixture(t)
		rec := httptest.NewRecorder()
		f.srv.WriteBearerError(rec, httptest.NewRequest(http.MethodGet, "/x", nil), errors.New("redis: connection refused"))
		if rec.Code != 500 || rec.Header().Get("WWW-Authenticate") != "" || strings.Contains(rec.Body.String(), "redis") {
			t.Errorf("%d %v %s", rec.Code, rec.Header(), rec.Body)
		}
	})
}
