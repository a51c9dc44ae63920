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
)

// TestRevocation is RFC 7009.
func TestRevocation(t *testing.T) {
	ctx := context.Background()
	revoke := func(f *fixture, id, secret string, kv ...string) response {
		return f.post("/revoke", id, secret, vals(kv...))
	}

	t.Run("access_token", func(t *testing.T) {
		f := newFixture(t)
		at, rt := f.passwordTokens("read")
		res := revoke(f, "conf", confSecret, "token", at)
		if res.Status != 200 || res.Raw != "" {
			t.Fatalf("%d %s", res.Status, res.Raw)
		}
		noStore(t, res)
		if f.active(at) {
			t.Error("access token still active")
		}
		if r, _ := f.store.GetRefreshToken(ctx, runtime.HashToken(rt)); !r.RevokedAt.IsZero() {
			t.Error("revoking an access token revoked its refresh token")
		}
	})

	t.Run("refresh_token_revokes_family", func(t *testing.T) {
		f := newFixture(t)
		at, rt := f.passwordTokens("read")
		if res := revoke(f, "conf", confSecret, "token", rt, "token_type_hint", "refresh_token"); res.Status != 200 {
			t.Fatalf("%d %s", res.Status, res.Raw)
		}
		if f.active(at) {
			t.Error("the family's access token is still active")
		}
		if res := f.token(vals("grant_type", "refresh_token", "refresh_token", rt)); res.str("error") != "invalid_grant" {
			t.Errorf("refresh after revocation: %s", res.Raw)
		}
	})

	t.Run("hint_is_only_a_hint", func(t *testing.T) {
		for _, hint := range []string{"refresh_token", "access_token", "made_up"} {
			f := newFixture(t)
			at, rt := f.passwordTokens("read")
			if res := revoke(f, "conf", confSecret, "token", at, "token_type_hint", hint); res.Status != 200 || f.active(at) {
				t.Errorf("hint %s, access token: %d %s", hint, res.Status, res.Raw)
			}
			if res := revoke(f, "conf", confSecret, "token", rt, "token_type_hint", hint); res.Status != 200 {
				t.Errorf("hint %s, refresh token: %d %s", hint, res.Status, res.Raw)
			}
			if r, _ := f.store.GetRefreshToken(ctx, runtime.HashToken(rt)); r.RevokedAt.IsZero() {
				t.Errorf("hint %s: refresh token not revoked", hint)
			}
		}
	})

	t.Run("unknown_and_already_revoked_are_ok", func(t *testing.T) {
		f := newFixture(t)
		at, _ := f.passwordTokens("read")
		for _, tok := range []string{runtime.NewToken(), at, at, "not even a token"} {
			if res := revoke(f, "conf", confSecret, "token", tok); res.Status != 200 {
				t.Errorf("%d %s", res.Status, res.Raw)
			}
		}
	})

	t.Run("public_client_own_refresh_token", func(t *testing.T) {
		f := newFixture(t)
		res := f.mustToken("public", "", pwForm)
		if r := revoke(f, "public", "", "token", res.str("refresh_token")); r.Status != 200 || f.active(res.str("access_token")) {
			t.Errorf("%d %s", r.Status, r.Raw)
		}
	})

	t.Run("refresh_store_without_families", func(t *testing.T) {
		f := newFixture(t)
		_, rt := f.passwordTokens("read")
		// Refresh disabled, yet the store holds refresh tokens and is no
		// FamilyStore: revoking one still works.
		store := struct {
			runtime.Store
			runtime.RefreshTokenStore
		}{f.store, f.store}
		srv, err := runtime.NewServer(runtime.Config{Now: f.clock.Now}, store)
		if err != nil {
			t.Fatal(err)
		}
		rec := httptest.NewRecorder()
		srv.RevocationHandler().ServeHTTP(rec, postReq("conf", confSecret, vals("token", rt)))
		if r, _ := f.store.GetRefreshToken(ctx, runtime.HashToken(rt)); rec.Code != 200 || r.RevokedAt.IsZero() {
			t.Errorf("%d %s", rec.Code, rec.Body)
		}
	})

	for _, c := range []struct {
		name      string
		req       func(f *fixture, at, rt string) *http.Request
		status    int
		code      string
		challenge bool
	}{
		{"other_clients_access_token", func(f *fixture, at, rt string) *http.Request {
			return postReq("other", otherSecret, vals("token", at))
		}, 400, "invalid_grant", false},
		{"other_clients_refresh_token", func(f *fixture, at, rt string) *http.Request {
			return postReq("other", otherSecret, vals("token", rt))
		}, 400, "invalid_grant", false},
		{"token_missing", func(f *fixture, at, rt string) *http.Request {
			return postReq("conf", confSecret, vals())
		}, 400, "invalid_request", false},
		{"no_client_authentication", func(f *fixture, at, rt string) *http.Request {
			return postReq("", "", vals("token", at))
		}, 400, "invalid_client", false},
		{"wrong_secret_basic", func(f *fixture, at, rt string) *http.Request {
			return basicReq("conf", "nope", vals("token", at))
		}, 401, "invalid_client", true},
		{"method_get", func(f *fixture, at, rt string) *http.Request {
			return httptest.NewRequest(http.MethodGet, "/revoke?token="+at, nil)
		}, 400, "invalid_request", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := newFixture(t)
			at, rt := f.passwordTokens("read")
			req := c.req(f, at, rt)
			req.URL.Path = "/revoke"
			res := f.serve(req)
			if res.Status != c.status || res.str("error") != c.code {
				t.Fatalf("got %d %s, want %d %s", res.Status, res.Raw, c.status, c.code)
			}
			if got := res.Header.Get("WWW-Authenticate") != ""; got != c.challenge {
				t.Errorf("WWW-Authenticate = %q", res.Header.Get("WWW-Authenticate"))
			}
			if !f.active(at) {
				t.Error("a refused revocation revoked the token")
			}
		})
	}
}

// TestIntrospection is RFC 7662.
func TestIntrospection(t *testing.T) {
	introspect := func(f *fixture, kv ...string) response {
		return f.post("/introspect", "conf", confSecret, vals(kv...)) // its own tokens: TestIntrospectionAuthorization has the others
	}

	t.Run("active_access_token", func(t *testing.T) {
		f := newFixture(t)
		at, _ := f.passwordTokens("read write")
		now := f.clock.Now()
		res := introspect(f, "token", at)
		noStore(t, res)
		want := map[string]any{
			"active": true, "scope": "read write", "client_id": "conf", "username": "alice", "sub": "u-alice",
			"token_type": "Bearer", "exp": float64(now.Add(time.Hour).Unix()), "iat": float64(now.Unix()), "iss": f.http.URL,
		}
		if diff := cmp.Diff(want, res.Body); diff != "" {
			t.Errorf("introspection (-want +got):\n%s", diff)
		}
	})

	t.Run("active_refresh_token", func(t *testing.T) {
		f := newFixture(t)
		_, rt := f.passwordTokens("read")
		now := f.clock.Now()
		res := introspect(f, "token", rt, "token_type_hint", "refresh_token")
		want := map[string]any{
			"active": true, "scope": "read", "client_id": "conf", "username": "alice", "sub": "u-alice",
			"exp": float64(now.Add(14 * 24 * time.Hour).Unix()), "iat": float64(now.Unix()), "iss": f.http.URL,
		}
		if diff := cmp.Diff(want, res.Body); diff != "" {
			t.Errorf("introspection (-want +got):\n%s", diff)
		}
	})

	t.Run("client_credentials_token_has_no_user", func(t *testing.T) {
		f := newFixture(t)
		at := f.mustToken("conf", confSecret, ccForm).str("access_token")
		res := introspect(f, "token", at)
		if res.Body["active"] != true || res.Body["sub"] != nil || res.Body["username"] != nil {
			t.Errorf("introspection = %s", res.Raw)
		}
	})

	t.Run("user_gone", func(t *testing.T) {
		f := newFixture(t)
		at, _ := f.passwordTokens("read")
		// A store without users: no username, still sub.
		plain, err := runtime.NewServer(runtime.Config{Now: f.clock.Now}, struct{ runtime.Store }{f.store})
		if err != nil {
			t.Fatal(err)
		}
		rec := httptest.NewRecorder()
		plain.IntrospectionHandler().ServeHTTP(rec, postReq("conf", confSecret, vals("token", at)))
		if rec.Code != 200 || !strings.Contains(rec.Body.String(), `"sub":"u-alice"`) || strings.Contains(rec.Body.String(), "username") {
			t.Errorf("%d %s", rec.Code, rec.Body)
		}
	})

	inactive := []struct {
		name string
		tok  func(f *fixture) string
	}{
		{"unknown", func(f *fixture) string { return runtime.NewToken() }},
		{"garbage", func(f *fixture) string { return "\x00\x01" }},
		{"expired", func(f *fixture) string {
			at, _ := f.passwordTokens("read")
			f.clock.Add(time.Hour)
			return at
		}},
		{"revoked", func(f *fixture) string {
			at, _ := f.passwordTokens("read")
			f.store.RevokeAccessToken(context.Background(), runtime.HashToken(at), f.clock.Now())
			return at
		}},
		{"revoked_family", func(f *fixture) string {
			at, rt := f.passwordTokens("read")
			f.post("/revoke", "conf", confSecret, vals("token", rt))
			return at
		}},
		{"rotated_refresh_token", func(f *fixture) string {
			_, rt := f.passwordTokens("read")
			f.mustToken("conf", confSecret, vals("grant_type", "refresh_token", "refresh_token", rt))
			return rt
		}},
		{"expired_refresh_token", func(f *fixture) string {
			_, rt := f.passwordTokens("read")
			f.clock.Add(15 * 24 * time.Hour)
			return rt
		}},
	}
	for _, c := range inactive {
		t.Run("inactive_"+c.name, func(t *testing.T) {
			f := newFixture(t)
			res := introspect(f, "token", c.tok(f))
			if res.Status != 200 || res.Raw != "{\"active\":false}\n" {
				t.Errorf("%d %q", res.Status, res.Raw)
			}
		})
	}

	for _, c := range []struct {
		name      string
		req       *http.Request
		status    int
		code      string
		challenge bool
	}{
		{"public_client", postReq("public", "", vals("token", "x")), 400, "invalid_client", false},
		{"public_client_basic", basicReq("public", "", vals("token", "x")), 401, "invalid_client", true},
		{"no_client", postReq("", "", vals("token", "x")), 400, "invalid_client", false},
		{"token_missing", postReq("other", otherSecret, vals()), 400, "invalid_request", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := newFixture(t)
			c.req.URL.Path = "/introspect"
			res := f.serve(c.req)
			if res.Status != c.status || res.str("error") != c.code {
				t.Fatalf("got %d %s", res.Status, res.Raw)
			}
			if got := res.Header.Get("WWW-Authenticate") != ""; got != c.challenge {
				t.Errorf("WWW-Authenticate = %q", res.Header.Get("WWW-Authenticate"))
			}
		})
	}
}
