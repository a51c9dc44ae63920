package e2e

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	jose "github.com/go-jose/go-jose/v4"
	"golang.org/x/oauth2"
)

// What SetupOpenID registers and OpenID uses.
const (
	oidcUser     = "carol"
	oidcPassword = "pw-carol-123"
	oidcEmail    = "carol@example.com"
)

// SetupOpenID registers with the CLI a user with an email address and a
// confidential relying party "rp" that may ask for openid, profile and
// email, and returns rp's secret.
func SetupOpenID(t *testing.T, bin string, dbArgs ...string) (rpSecret string) {
	t.Helper()
	args := func(a ...string) []string { return append(slices.Clone(dbArgs), a...) }
	Run(t, bin, args("user", "create", "--username", oidcUser, "--password", oidcPassword, "--email", oidcEmail)...)
	out := Run(t, bin, args("client", "create", "--id", "rp", "--name", "Relying party",
		"--grant", "authorization_code", "--grant", "refresh_token",
		"--scope", "openid", "--scope", "profile", "--scope", "email", "--scope", "read",
		"--redirect-uri", appRedirect)...)
	m := regexp.MustCompile(`(?m)^secret: (\S+)$`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("client create printed no secret:\n%s", out)
	}
	return m[1]
}

// OpenID signs in through the server at issuer as an OpenID Connect
// relying party would, with go-oidc and golang.org/x/oauth2 only:
// discovery, the login page, the code exchange, the ID token verified
// against the JWKS the discovery names (signature, iss, aud, exp; then
// the nonce, at_hash and auth_time), UserInfo; prompt=none answered
// login_required without a page; prompt=login and max_age=0 answered by
// the sign-in; openid refused to a client not allowed it; and a refresh
// that returns a new ID token. The clients and users are Setup's and
// SetupOpenID's.
func OpenID(t *testing.T, issuer, rpSecret, appSecret string) {
	ctx := oidc.ClientContext(context.WithValue(context.Background(), oauth2.HTTPClient, noRedirect), noRedirect)
	provider, err := oidc.NewProvider(ctx, issuer) // checks the document's issuer is issuer
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		JWKSURI          string   `json:"jwks_uri"`
		UserInfoEndpoint string   `json:"userinfo_endpoint"`
		Scopes           []string `json:"scopes_supported"`
	}
	if err := provider.Claims(&doc); err != nil || doc.JWKSURI != issuer+"/jwks" || doc.UserInfoEndpoint != issuer+"/userinfo" || !slices.Contains(doc.Scopes, "openid") {
		t.Errorf("discovery: %+v %v", doc, err)
	}
	rp := oauth2.Config{ClientID: "rp", ClientSecret: rpSecret, RedirectURL: appRedirect, Endpoint: provider.Endpoint(),
		Scopes: []string{oidc.ScopeOpenID, "profile", "email", "read"}}
	verifier := provider.Verifier(&oidc.Config{ClientID: "rp"})

	// login signs carol in on the page of an authorization request with
	// extra parameters, and returns the tokens its code gets.
	login := func(t *testing.T, nonce string, extra ...oauth2.AuthCodeOption) *oauth2.Token {
		t.Helper()
		pkce := oauth2.GenerateVerifier()
		opts := append([]oauth2.AuthCodeOption{oidc.Nonce(nonce), oauth2.S256ChallengeOption(pkce)}, extra...)
		page := Get(t, rp.AuthCodeURL("st", opts...))
		if page.Resp.StatusCode != http.StatusOK {
			t.Fatalf("login page: %d\n%s", page.Resp.StatusCode, page.Body)
		}
		q := page.Form(t).Submit(t, map[string]string{"username": oidcUser, "password": oidcPassword}, "decision=approve").Redirect(t)
		if q.Get("code") == "" || q.Get("state") != "st" {
			t.Fatalf("approve: %v", q)
		}
		tok, err := rp.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(pkce))
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	// idToken verifies the ID token of a token response.
	idToken := func(t *testing.T, tok *oauth2.Token) *oidc.IDToken {
		t.Helper()
		raw, _ := tok.Extra("id_token").(string)
		idt, err := verifier.Verify(ctx, raw)
		if err != nil {
			t.Fatalf("ID token %q: %v", raw, err)
		}
		if err := idt.VerifyAccessToken(tok.AccessToken); err != nil {
			t.Errorf("at_hash: %v", err)
		}
		return idt
	}

	var sub string
	t.Run("login", func(t *testing.T) {
		start := time.Now().Truncate(time.Second)
		nonce := "n-" + oauth2.GenerateVerifier()[:20]
		tok := login(t, nonce)
		idt := idToken(t, tok)
		if idt.Nonce != nonce {
			t.Errorf("nonce %q, want %q: a replayed ID token would pass", idt.Nonce, nonce)
		}
		var claims struct {
			AuthTime int64 `json:"auth_time"`
		}
		if err := idt.Claims(&claims); err != nil {
			t.Fatal(err)
		}
		if at := time.Unix(claims.AuthTime, 0); at.Before(start) || at.After(time.Now().Add(time.Second)) {
			t.Errorf("auth_time %v: want the sign-in just done (after %v)", at, start)
		}
		sub = idt.Subject
		info, err := provider.UserInfo(ctx, oauth2.StaticTokenSource(tok))
		if err != nil {
			t.Fatal(err)
		}
		var more struct {
			PreferredUsername string `json:"preferred_username"`
		}
		if err := info.Claims(&more); err != nil {
			t.Fatal(err)
		}
		if info.Subject != idt.Subject || info.Email != oidcEmail || more.PreferredUsername != oidcUser {
			t.Errorf("userinfo: sub %q email %q preferred_username %q; ID token sub %q", info.Subject, info.Email, more.PreferredUsername, idt.Subject)
		}
		// The refresh grant issues a new ID token for the same user.
		expired := *tok
		expired.Expiry = time.Now().Add(-time.Minute)
		next, err := rp.TokenSource(ctx, &expired).Token()
		if err != nil {
			t.Fatal(err)
		}
		if idt := idToken(t, next); idt.Subject != sub {
			t.Errorf("refreshed ID token: sub %q, want %q", idt.Subject, sub)
		}
	})

	t.Run("prompt_none", func(t *testing.T) {
		// The pages keep no session, so nobody is ever signed in for
		// prompt=none: login_required, at the client, without a page.
		p := Get(t, rp.AuthCodeURL("st", oidc.Nonce("n"), oauth2.S256ChallengeOption(oauth2.GenerateVerifier()), oauth2.SetAuthURLParam("prompt", "none")))
		q := p.Redirect(t)
		if !strings.HasPrefix(p.Resp.Header.Get("Location"), appRedirect) || q.Get("error") != "login_required" || q.Get("state") != "st" || q.Get("iss") != issuer {
			t.Errorf("prompt=none: %d %s", p.Resp.StatusCode, p.Resp.Header.Get("Location"))
		}
	})

	t.Run("prompt_login_and_max_age", func(t *testing.T) {
		// Both ask for a sign-in now: the page shows, and its sign-in
		// satisfies them.
		for _, opt := range []oauth2.AuthCodeOption{oauth2.SetAuthURLParam("prompt", "login consent"), oauth2.SetAuthURLParam("max_age", "0")} {
			idt := idToken(t, login(t, "n2", opt))
			if idt.Subject != sub || idt.Nonce != "n2" {
				t.Errorf("sub %q nonce %q", idt.Subject, idt.Nonce)
			}
		}
	})

	t.Run("openid_not_allowed", func(t *testing.T) {
		// app may not ask for openid: invalid_scope, at the client.
		app := oauth2.Config{ClientID: "app", ClientSecret: appSecret, RedirectURL: appRedirect, Endpoint: provider.Endpoint(), Scopes: []string{"openid", "read"}}
		q := Get(t, app.AuthCodeURL("st", oidc.Nonce("n"))).Redirect(t)
		if q.Get("error") != "invalid_scope" {
			t.Errorf("openid for a client without it: %v", q)
		}
	})
}

// CheckDemoKeyFile checks the SQLite demo's key-encryption key file
// beside db: owner-only, the base64 of 32 bytes, announced loudly in the
// log, and the key itself never in it.
func CheckDemoKeyFile(t *testing.T, db, log string) {
	t.Helper()
	fi, err := os.Stat(db + ".kek")
	if err != nil {
		t.Fatalf("no demo key-encryption key file beside the database: %v", err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("%s: mode %v, want 0600", fi.Name(), fi.Mode().Perm())
	}
	b, err := os.ReadFile(db + ".kek")
	if err != nil {
		t.Fatal(err)
	}
	key := strings.TrimSpace(string(b))
	if len(key) != 44 {
		t.Errorf("key file holds %d characters, want the base64 of 32 bytes", len(key))
	}
	if !strings.Contains(log, "DEMO ONLY") {
		t.Errorf("the log does not say the key file is for the demo only:\n%s", log)
	}
	if strings.Contains(log, key) {
		t.Error("the log shows the key-encryption key")
	}
}

// JWKS fetches the key set at base's jwks_uri over HTTP, as a resource
// server does, checking that it may be cached.
func JWKS(t *testing.T, base string) jose.JSONWebKeySet {
	t.Helper()
	resp, body := Do(t, http.MethodGet, base+"/jwks", nil, nil)
	if resp.StatusCode != http.StatusOK || !strings.Contains(resp.Header.Get("Cache-Control"), "max-age=") {
		t.Fatalf("jwks: %d %v\n%s", resp.StatusCode, resp.Header, body)
	}
	var set jose.JSONWebKeySet
	if err := json.Unmarshal([]byte(body), &set); err != nil || len(set.Keys) == 0 {
		t.Fatalf("jwks %q: %v", body, err)
	}
	for _, k := range set.Keys {
		if !k.IsPublic() {
			t.Fatalf("the JWKS holds a private key (kid %s)", k.KeyID)
		}
	}
	return set
}

// VerifyAccessToken verifies a JWT access token as a resource server
// would, offline (RFC 9068 §4): go-jose, the key of its kid in set, typ
// at+jwt, iss and aud the issuer, not expired. It returns the claims.
func VerifyAccessToken(set jose.JSONWebKeySet, token, issuer string) (map[string]any, error) {
	jws, err := jose.ParseSigned(token, []jose.SignatureAlgorithm{jose.ES256, jose.RS256, jose.EdDSA})
	if err != nil {
		return nil, err
	}
	h := jws.Signatures[0].Header
	if typ := h.ExtraHeaders[jose.HeaderType]; typ != "at+jwt" {
		return nil, fmt.Errorf("typ %v, want at+jwt", typ)
	}
	keys := set.Key(h.KeyID)
	if len(keys) == 0 {
		return nil, fmt.Errorf("kid %q is not in the JWKS", h.KeyID)
	}
	payload, err := jws.Verify(keys[0])
	if err != nil {
		return nil, err
	}
	var c map[string]any
	if err := json.Unmarshal(payload, &c); err != nil {
		return nil, err
	}
	if c["iss"] != issuer || c["aud"] != issuer {
		return nil, fmt.Errorf("iss %v aud %v, want %s", c["iss"], c["aud"], issuer)
	}
	if exp, _ := c["exp"].(float64); !time.Now().Before(time.Unix(int64(exp), 0)) {
		return nil, fmt.Errorf("expired at %v", exp)
	}
	return c, nil
}

// JWTAccessTokens checks the JWT access tokens of the instances behind
// issuer (at a and b): both serve the same JWKS; a token from each
// verifies offline against the other's, with the RFC 9068 claims; a
// tampered one does not; and a revoked one, though its signature still
// verifies (the trade-off of offline checks), is refused by /me at once,
// which looks it up. The clients and user are Setup's.
func JWTAccessTokens(t *testing.T, issuer, a, b, appSecret string) {
	ctx := context.WithValue(context.Background(), oauth2.HTTPClient, noRedirect)
	setA, setB := JWKS(t, a), JWKS(t, b)
	kids := func(s jose.JSONWebKeySet) (out []string) {
		for _, k := range s.Keys {
			out = append(out, k.KeyID)
		}
		slices.Sort(out)
		return out
	}
	if !slices.Equal(kids(setA), kids(setB)) {
		t.Errorf("the instances serve different JWKS: %v and %v", kids(setA), kids(setB))
	}
	for _, c := range []struct {
		at  string
		set jose.JSONWebKeySet
	}{{a, setB}, {b, setA}} {
		app := oauth2.Config{ClientID: "app", ClientSecret: appSecret, Scopes: []string{"read", "write"},
			Endpoint: oauth2.Endpoint{TokenURL: c.at + "/token", AuthStyle: oauth2.AuthStyleInHeader}}
		tok, err := app.PasswordCredentialsToken(ctx, user, password)
		if err != nil {
			t.Fatal(err)
		}
		claims, err := VerifyAccessToken(c.set, tok.AccessToken, issuer)
		if err != nil {
			t.Fatalf("access token from %s, against the other instance's JWKS: %v", c.at, err)
		}
		if claims["client_id"] != "app" || claims["scope"] != "read write" || claims["sub"] == "" || claims["jti"] == "" || claims["iat"] == nil {
			t.Errorf("claims %v", claims)
		}
		// A changed payload no longer verifies.
		parts := strings.Split(tok.AccessToken, ".")
		payload := []byte(parts[1])
		if i := len(payload) / 2; payload[i] == 'A' {
			payload[i] = 'B'
		} else {
			payload[i] = 'A'
		}
		parts[1] = string(payload)
		if _, err := VerifyAccessToken(c.set, strings.Join(parts, "."), issuer); err == nil {
			t.Error("a tampered access token verified")
		}

		if resp, _ := Do(t, http.MethodPost, c.at+"/revoke", map[string][]string{"token": {tok.AccessToken}}, basic("app", appSecret)); resp.StatusCode != 200 {
			t.Fatalf("revoke: %d", resp.StatusCode)
		}
		if _, err := VerifyAccessToken(c.set, tok.AccessToken, issuer); err != nil {
			t.Errorf("a revoked JWT still verifies offline until it expires, as documented; got %v", err)
		}
		for _, base := range []string{a, b} {
			if code, _ := Me(t, base, tok.AccessToken); code != 401 {
				t.Errorf("revoked JWT at %s/me: %d, want 401", base, code)
			}
		}
	}
}

// NewKeyEncryptionKey returns a fresh key-encryption key, as the
// servers read it: the base64 of 32 random bytes.
func NewKeyEncryptionKey() string {
	b := make([]byte, 32)
	rand.Read(b)
	return base64.StdEncoding.EncodeToString(b)
}
