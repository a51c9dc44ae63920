package runtime_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

// TestEndToEnd drives a real HTTP server with golang.org/x/oauth2 as the
// client, through every grant it speaks, and uses each token at a
// protected resource.
func TestEndToEnd(t *testing.T) {
	f := newFixture(t)
	ctx := context.WithValue(context.Background(), oauth2.HTTPClient, f.http.Client())
	endpoint := oauth2.Endpoint{
		AuthURL:       f.http.URL + "/authorize",
		TokenURL:      f.http.URL + "/token",
		DeviceAuthURL: f.http.URL + "/device_authorization",
	}

	// resource calls the protected resource with the token and returns
	// what it saw.
	resource := func(t *testing.T, client *http.Client) map[string]any {
		t.Helper()
		res, err := client.Get(f.http.URL + "/resource")
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		if res.StatusCode != http.StatusOK {
			t.Fatalf("resource: %d %s", res.StatusCode, readAll(t, res.Body))
		}
		var got map[string]any
		if err := json.NewDecoder(res.Body).Decode(&got); err != nil {
			t.Fatal(err)
		}
		return got
	}

	for _, tc := range []struct {
		name, id, secret string
		style            oauth2.AuthStyle
	}{
		{"client_credentials_basic_secret_needs_encoding", "conf", confSecret, oauth2.AuthStyleInHeader},
		{"client_credentials_post_secret_needs_encoding", "conf", confSecret, oauth2.AuthStyleInParams},
		{"client_credentials_bcrypt_secret", "imported", bcryptSecret, oauth2.AuthStyleInHeader},
		{"client_credentials_autodetect", "conf", confSecret, oauth2.AuthStyleAutoDetect},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := clientcredentials.Config{ClientID: tc.id, ClientSecret: tc.secret, TokenURL: endpoint.TokenURL, Scopes: []string{"read"}, AuthStyle: tc.style}
			tok, err := cfg.Token(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if tok.RefreshToken != "" {
				t.Error("client_credentials issued a refresh token (RFC 6749 §4.4.3)")
			}
			if tok.TokenType != "Bearer" || tok.Extra("expires_in") != 3600.0 || tok.Extra("scope") != "read" {
				t.Errorf("token = %+v, scope %v", tok, tok.Extra("scope"))
			}
			got := resource(t, cfg.Client(ctx))
			if diff := cmp.Diff(map[string]any{"client": tc.id, "user": "", "scopes": []any{"read"}}, got); diff != "" {
				t.Errorf("resource saw (-want +got):\n%s", diff)
			}
		})
	}

	t.Run("password_then_refresh", func(t *testing.T) {
		cfg := oauth2.Config{ClientID: "conf", ClientSecret: confSecret, Endpoint: endpoint, Scopes: []string{"read", "write"}}
		cfg.Endpoint.AuthStyle = oauth2.AuthStyleInHeader
		tok, err := cfg.PasswordCredentialsToken(ctx, "alice", alicePass)
		if err != nil {
			t.Fatal(err)
		}
		if tok.RefreshToken == "" || tok.Extra("scope") != "read write" {
			t.Fatalf("token = %+v", tok)
		}
		if got := resource(t, cfg.Client(ctx, tok)); got["user"] != "u-alice" {
			t.Errorf("resource saw %v", got)
		}
		// An expired token makes the TokenSource refresh it.
		tok.Expiry = time.Now().Add(-time.Minute)
		fresh, err := cfg.TokenSource(ctx, tok).Token()
		if err != nil {
			t.Fatal(err)
		}
		if fresh.AccessToken == tok.AccessToken || fresh.RefreshToken == tok.RefreshToken || fresh.RefreshToken == "" {
			t.Errorf("refresh did not rotate: %+v", fresh)
		}
		// The rotated-out refresh token no longer works.
		tok.Expiry = time.Now().Add(-time.Minute)
		if _, err := cfg.TokenSource(ctx, tok).Token(); !isOAuthError(err, "invalid_grant") {
			t.Errorf("old refresh token: err = %v, want invalid_grant", err)
		}
	})

	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for _, tc := range []struct {
		name, id, secret, redirect string
		style                      oauth2.AuthStyle
	}{
		{"authorization_code_pkce_confidential", "conf", confSecret, redirectURI, oauth2.AuthStyleInHeader},
		{"authorization_code_pkce_public", "public", "", "http://127.0.0.1/cb", oauth2.AuthStyleInParams},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := oauth2.Config{ClientID: tc.id, ClientSecret: tc.secret, Endpoint: endpoint, RedirectURL: tc.redirect, Scopes: []string{"read"}}
			cfg.Endpoint.AuthStyle = tc.style
			v := oauth2.GenerateVerifier()
			res, err := noRedirect.Get(cfg.AuthCodeURL("st-1", oauth2.S256ChallengeOption(v)))
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			if res.StatusCode != http.StatusFound {
				t.Fatalf("authorize: %d", res.StatusCode)
			}
			loc, err := url.Parse(res.Header.Get("Location"))
			if err != nil {
				t.Fatal(err)
			}
			q := loc.Query()
			if !strings.HasPrefix(loc.String(), tc.redirect+"?") || q.Get("state") != "st-1" || q.Get("iss") != f.http.URL {
				t.Fatalf("redirect = %s", loc)
			}
			tok, err := cfg.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(v))
			if err != nil {
				t.Fatal(err)
			}
			if tok.RefreshToken == "" {
				t.Error("no refresh token for a client allowed refresh_token")
			}
			if got := resource(t, cfg.Client(ctx, tok)); got["user"] != "u-alice" || got["client"] != tc.id {
				t.Errorf("resource saw %v", got)
			}
			// The code is single use.
			if _, err := cfg.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(v)); !isOAuthError(err, "invalid_grant") {
				t.Errorf("second exchange: err = %v, want invalid_grant", err)
			}
		})
	}

	t.Run("device_flow", func(t *testing.T) {
		cfg := oauth2.Config{ClientID: "public", Endpoint: endpoint, Scopes: []string{"read", "write"}}
		da, err := cfg.DeviceAuth(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(da.UserCode) != 9 || da.UserCode[4] != '-' || da.VerificationURI != f.http.URL+"/device" ||
			da.VerificationURIComplete != f.http.URL+"/device?user_code="+da.UserCode || da.Interval != 1 {
			t.Fatalf("device authorization = %+v", da)
		}
		// The user types the code in lower case, without the dash.
		typed := strings.ToLower(strings.ReplaceAll(da.UserCode, "-", ""))
		req, err := f.srv.LookupUserCode(ctx, typed)
		if err != nil {
			t.Fatal(err)
		}
		if req.Client.ID != "public" || req.UserCode != da.UserCode || !cmp.Equal(req.Scopes, []string{"read", "write"}) {
			t.Errorf("LookupUserCode = %+v", req)
		}
		if err := f.srv.ApproveDevice(ctx, typed, "u-alice", []string{"read"}); err != nil {
			t.Fatal(err)
		}
		tok, err := cfg.DeviceAccessToken(ctx, da)
		if err != nil {
			t.Fatal(err)
		}
		if tok.Extra("scope") != "read" || tok.RefreshToken == "" {
			t.Errorf("token = %+v", tok)
		}
		if got := resource(t, cfg.Client(ctx, tok)); got["user"] != "u-alice" {
			t.Errorf("resource saw %v", got)
		}
	})
}

// isOAuthError reports whether err is an x/oauth2 RetrieveError with code.
func isOAuthError(err error, code string) bool {
	re, ok := err.(*oauth2.RetrieveError)
	return ok && re.ErrorCode == code
}
