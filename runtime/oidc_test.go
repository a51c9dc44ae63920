package runtime_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	jose "github.com/go-jose/go-jose/v4"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/oauthgen/oauthgen/runtime"
	"github.com/oauthgen/oauthgen/runtime/runtimetest"
)

// testKEK is the key-encryption key of the OpenID tests.
var testKEK = []byte("0123456789abcdef0123456789abcdef")

// oidcApp is an application's authorization page: it asks Interaction
// what to do with the session the test set, and answers "login" or
// "consent" pages with 200 and the page's name.
type oidcApp struct {
	srv *runtime.Server
	mu  sync.Mutex
	s   runtime.Session
}

func (a *oidcApp) session(s runtime.Session) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.s = s
}

func (a *oidcApp) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	req, err := a.srv.ValidateAuthorizationRequest(r)
	if err != nil {
		a.srv.WriteAuthorizationError(w, r, err)
		return
	}
	a.mu.Lock()
	sess := a.s
	a.mu.Unlock()
	next, err := a.srv.Interaction(req, sess)
	switch {
	case err != nil:
		a.srv.WriteAuthorizationError(w, r, err)
	case next == runtime.InteractionLogin:
		w.Write([]byte("login"))
	case next == runtime.InteractionConsent:
		w.Write([]byte("consent"))
	default:
		a.srv.CompleteAuthorization(w, r, req, sess.UserID, nil)
	}
}

// oidcFixture is a Server with OpenID Connect over a MemoryStore, served
// over HTTP with oidcApp at /authorize and a protected resource at
// /resource.
type oidcFixture struct {
	srv   *runtime.Server
	store *runtimetest.MemoryStore
	clock *clock
	http  *httptest.Server
	app   *oidcApp
	logs  *syncBuffer
	ctx   context.Context // carries the fixture's HTTP client for oauth2 and go-oidc
}

func newOIDCFixture(t *testing.T, mutate ...func(*runtime.Config)) *oidcFixture {
	t.Helper()
	f := &oidcFixture{
		store: runtimetest.NewMemoryStore(),
		clock: &clock{t: time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)},
		logs:  &syncBuffer{},
	}
	mux := http.NewServeMux()
	f.http = httptest.NewServer(mux)
	t.Cleanup(f.http.Close)
	cfg := baseConfig()
	cfg.Issuer = f.http.URL
	cfg.Now = f.clock.Now
	cfg.Logger = slog.New(slog.NewTextHandler(f.logs, nil))
	cfg.Scopes = []string{"read", "write", "profile", "email"}
	cfg.OpenID = &runtime.OpenIDConfig{}
	cfg.SigningKeys.KeyEncryptionKey = testKEK
	for _, m := range mutate {
		m(&cfg)
	}
	srv, err := runtime.NewServer(cfg, f.store)
	if err != nil {
		t.Fatalf("NewServer: %v", err)
	}
	f.srv = srv
	ff := &fixture{t: t, store: f.store}
	ff.seed()
	for _, c := range []*runtime.Client{
		{ID: "rp", SecretHash: runtime.HashToken(otherSecret), RedirectURIs: []string{redirectURI},
			GrantTypes: []string{runtime.GrantAuthorizationCode, runtime.GrantRefreshToken, runtime.GrantDeviceCode, runtime.GrantClientCredentials}},
		{ID: "tv", GrantTypes: []string{runtime.GrantDeviceCode}},
		{ID: "no-openid", SecretHash: runtime.HashToken(otherSecret), RedirectURIs: []string{redirectURI},
			Scopes: []string{"read"}, GrantTypes: []string{runtime.GrantAuthorizationCode}},
	} {
		if err := f.store.AddClient(c); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.store.SetUserClaims("u-alice", map[string]any{
		"name": "Alice Liddell", "preferred_username": "alice", "email": "alice@example.com",
		"email_verified": true, "phone_number": "+1 555 0100",
	}); err != nil {
		t.Fatal(err)
	}
	f.app = &oidcApp{srv: srv}
	mux.Handle("/", srv.Handler())
	mux.Handle("/authorize", f.app)
	mux.Handle("/resource", srv.RequireToken()(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok, _ := runtime.TokenFromContext(r.Context())
		json.NewEncoder(w).Encode(map[string]any{"client": tok.ClientID, "user": tok.UserID})
	})))
	f.ctx = oidc.ClientContext(context.Background(), f.http.Client())
	f.ctx = context.WithValue(f.ctx, oauth2.HTTPClient, f.http.Client())
	return f
}

// oauth2Config is the relying party "rp".
func (f *oidcFixture) oauth2Config(scopes ...string) *oauth2.Config {
	return &oauth2.Config{
		ClientID: "rp", ClientSecret: otherSecret, RedirectURL: redirectURI, Scopes: scopes,
		Endpoint: oauth2.Endpoint{
			AuthURL: f.http.URL + "/authorize", TokenURL: f.http.URL + "/token",
			DeviceAuthURL: f.http.URL + "/device_authorization", AuthStyle: oauth2.AuthStyleInHeader,
		},
	}
}

// visit GETs an authorization URL without following redirects and returns
// the status, the redirect's parameters and the body.
func (f *oidcFixture) visit(t *testing.T, authURL string) (int, url.Values, string) {
	t.Helper()
	c := f.http.Client()
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	res, err := c.Get(authURL)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body := readAll(t, res.Body)
	var q url.Values
	if loc := res.Header.Get("Location"); loc != "" {
		u, err := url.Parse(loc)
		if err != nil {
			t.Fatal(err)
		}
		q = u.Query()
	}
	return res.StatusCode, q, body
}

func (f *oidcFixture) signedIn(authTime time.Time) {
	f.app.session(runtime.Session{UserID: "u-alice", AuthTime: authTime, Consented: true})
}

// TestOpenIDEndToEnd runs the authorization code flow with openid through
// golang.org/x/oauth2, discovers the provider and verifies every ID token
// with go-oidc (discovery, JWKS over HTTP, signature, iss, aud, exp,
// at_hash), for each signing algorithm; then UserInfo, refresh and the
// device grant.
func TestOpenIDEndToEnd(t *testing.T) {
	for _, alg := range []string{"ES256", "RS256", "EdDSA"} {
		t.Run(alg, func(t *testing.T) {
			f := newOIDCFixture(t, func(c *runtime.Config) { c.SigningKeys.Algorithm = alg })
			provider, err := oidc.NewProvider(f.ctx, f.http.URL)
			if err != nil {
				t.Fatalf("discovery: %v", err)
			}
			verifier := provider.Verifier(&oidc.Config{ClientID: "rp", Now: f.clock.Now})
			authTime := f.clock.Now().Add(-10 * time.Minute)
			f.signedIn(authTime)

			cfg := f.oauth2Config(oidc.ScopeOpenID, "profile", "email")
			pkce := oauth2.GenerateVerifier()
			status, q, body := f.visit(t, cfg.AuthCodeURL("st", oidc.Nonce("n-0S6_WzA2Mj"), oauth2.S256ChallengeOption(pkce)))
			if status != http.StatusFound || q.Get("code") == "" {
				t.Fatalf("authorize: %d %v %s", status, q, body)
			}
			tok, err := cfg.Exchange(f.ctx, q.Get("code"), oauth2.VerifierOption(pkce))
			if err != nil {
				t.Fatal(err)
			}
			raw, _ := tok.Extra("id_token").(string)
			idt, err := verifier.Verify(f.ctx, raw)
			if err != nil {
				t.Fatalf("go-oidc refused the ID token: %v", err)
			}
			if idt.Subject != "u-alice" || idt.Nonce != "n-0S6_WzA2Mj" || !slices.Equal(idt.Audience, []string{"rp"}) {
				t.Errorf("ID token sub %q nonce %q aud %v", idt.Subject, idt.Nonce, idt.Audience)
			}
			if err := idt.VerifyAccessToken(tok.AccessToken); err != nil {
				t.Errorf("at_hash: %v", err)
			}
			var claims struct {
				AuthTime int64 `json:"auth_time"`
			}
			if err := idt.Claims(&claims); err != nil || claims.AuthTime != authTime.Unix() {
				t.Errorf("auth_time = %d, want %d (%v)", claims.AuthTime, authTime.Unix(), err)
			}

			info, err := provider.UserInfo(f.ctx, oauth2.StaticTokenSource(tok))
			if err != nil {
				t.Fatalf("userinfo: %v", err)
			}
			var all map[string]any
			info.Claims(&all)
			want := map[string]any{"sub": "u-alice", "name": "Alice Liddell", "preferred_username": "alice", "email": "alice@example.com", "email_verified": true}
			if len(all) != len(want) {
				t.Errorf("userinfo = %v, want %v (phone_number needs the phone scope)", all, want)
			}
			for k, v := range want {
				if all[k] != v {
					t.Errorf("userinfo[%s] = %v, want %v", k, all[k], v)
				}
			}

			// Refresh: a new ID token, same subject, no nonce (Core §12.2).
			f.clock.Add(time.Minute)
			tok2, err := cfg.TokenSource(f.ctx, &oauth2.Token{RefreshToken: tok.RefreshToken}).Token()
			if err != nil {
				t.Fatal(err)
			}
			idt2, err := verifier.Verify(f.ctx, tok2.Extra("id_token").(string))
			if err != nil {
				t.Fatalf("refreshed ID token: %v", err)
			}
			if idt2.Subject != "u-alice" || idt2.Nonce != "" || !idt2.IssuedAt.After(idt.IssuedAt) {
				t.Errorf("refreshed ID token sub %q nonce %q iat %v", idt2.Subject, idt2.Nonce, idt2.IssuedAt)
			}
			if err := idt2.VerifyAccessToken(tok2.AccessToken); err != nil {
				t.Errorf("refreshed at_hash: %v", err)
			}
			// Narrowed without openid: no ID token.
			narrowed := postForm(t, f.http.URL+"/token", "rp", otherSecret, url.Values{
				"grant_type": {"refresh_token"}, "refresh_token": {tok2.RefreshToken}, "scope": {"profile"}})
			if narrowed["access_token"] == nil || narrowed["id_token"] != nil {
				t.Errorf("a refresh narrowed to scope profile: %v", narrowed)
			}

			// Device grant (oauth2's DeviceAuth sends no secret: a public client).
			tv := *cfg
			tv.ClientID, tv.ClientSecret = "tv", ""
			da, err := tv.DeviceAuth(f.ctx)
			if err != nil {
				t.Fatal(err)
			}
			if err := f.srv.ApproveDevice(f.ctx, da.UserCode, "u-alice", nil); err != nil {
				t.Fatal(err)
			}
			da.Interval = 1 // oauth2 waits one interval before its first poll
			dtok, err := tv.DeviceAccessToken(f.ctx, da)
			if err != nil {
				t.Fatal(err)
			}
			didt, err := provider.Verifier(&oidc.Config{ClientID: "tv", Now: f.clock.Now}).Verify(f.ctx, dtok.Extra("id_token").(string))
			if err != nil || didt.Subject != "u-alice" {
				t.Fatalf("device ID token: %v, %+v", err, didt)
			}
			if err := didt.VerifyAccessToken(dtok.AccessToken); err != nil {
				t.Errorf("device at_hash: %v", err)
			}

			if didt.Audience[0] != "tv" {
				t.Errorf("device ID token aud %v", didt.Audience)
			}

			// Without openid, no ID token.
			plain := f.oauth2Config("read")
			_, q, _ = f.visit(t, plain.AuthCodeURL("st", oauth2.S256ChallengeOption(pkce)))
			ptok, err := plain.Exchange(f.ctx, q.Get("code"), oauth2.VerifierOption(pkce))
			if err != nil {
				t.Fatal(err)
			}
			if ptok.Extra("id_token") != nil {
				t.Error("an authorization without openid got an ID token")
			}
		})
	}
}

// TestOpenIDDiscovery checks the discovery document and the RFC 8414
// metadata's jwks_uri.
func TestOpenIDDiscovery(t *testing.T) {
	f := newOIDCFixture(t)
	var doc map[string]any
	getJSON(t, f.http.URL+runtime.OpenIDConfigurationPath, &doc)
	for k, want := range map[string]any{
		"issuer":                 f.http.URL,
		"authorization_endpoint": f.http.URL + "/authorize",
		"token_endpoint":         f.http.URL + "/token",
		"userinfo_endpoint":      f.http.URL + "/userinfo",
		"jwks_uri":               f.http.URL + "/jwks",
	} {
		if doc[k] != want {
			t.Errorf("%s = %v, want %v", k, doc[k], want)
		}
	}
	for k, want := range map[string]string{
		"subject_types_supported":               "public",
		"id_token_signing_alg_values_supported": "RS256", // the default, which Discovery §3 requires
		"scopes_supported":                      "openid",
		"response_types_supported":              "code",
		"claims_supported":                      "email_verified",
	} {
		list, _ := doc[k].([]any)
		if !slices.Contains(list, any(want)) {
			t.Errorf("%s = %v, want it to hold %q", k, doc[k], want)
		}
	}
	var meta map[string]any
	getJSON(t, f.http.URL+runtime.MetadataPath, &meta)
	if meta["jwks_uri"] != f.http.URL+"/jwks" {
		t.Errorf("RFC 8414 metadata jwks_uri = %v", meta["jwks_uri"])
	}
	res, err := http.Get(f.http.URL + "/jwks")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if cc := res.Header.Get("Cache-Control"); cc != "public, max-age=300" {
		t.Errorf("JWKS Cache-Control = %q, want max-age 300 (under the propagation delay)", cc)
	}
}

// TestRefreshedIDTokenKeepsAuthTime: OpenID Connect Core §12.2 with §2.
// After a code flow with max_age (which makes auth_time REQUIRED), the ID
// token of every refresh carries the original auth_time: after the first
// rotation, the second, a reuse within the interval, and a rotation
// narrowed to a scope without openid. The device grant's refresh tokens
// keep the time of the user's approval, its ID token's auth_time.
func TestRefreshedIDTokenKeepsAuthTime(t *testing.T) {
	f := newOIDCFixture(t, func(c *runtime.Config) { c.RefreshToken.ReuseInterval = 30 * time.Second })
	provider, err := oidc.NewProvider(f.ctx, f.http.URL)
	if err != nil {
		t.Fatal(err)
	}
	verifier := provider.Verifier(&oidc.Config{ClientID: "rp", Now: f.clock.Now})
	// authTimeOf returns the auth_time of a token response's ID token.
	authTimeOf := func(what string, resp map[string]any) int64 {
		t.Helper()
		raw, _ := resp["id_token"].(string)
		idt, err := verifier.Verify(f.ctx, raw)
		if err != nil {
			t.Fatalf("%s: ID token: %v (response %v)", what, err, resp)
		}
		var claims map[string]any
		if err := idt.Claims(&claims); err != nil {
			t.Fatal(err)
		}
		at, ok := claims["auth_time"].(float64)
		if !ok {
			t.Fatalf("%s: the ID token has no auth_time: %v", what, claims)
		}
		return int64(at)
	}
	refresh := func(token string, scope ...string) map[string]any {
		t.Helper()
		form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {token}}
		if len(scope) > 0 {
			form.Set("scope", strings.Join(scope, " "))
		}
		resp := postForm(t, f.http.URL+"/token", "rp", otherSecret, form)
		if resp["access_token"] == nil {
			t.Fatalf("refresh: %v", resp)
		}
		return resp
	}

	authTime := f.clock.Now().Add(-5 * time.Minute)
	f.signedIn(authTime)
	cfg := f.oauth2Config(oidc.ScopeOpenID, "profile")
	pkce := oauth2.GenerateVerifier()
	status, q, body := f.visit(t, cfg.AuthCodeURL("st", oauth2.SetAuthURLParam("max_age", "600"), oauth2.S256ChallengeOption(pkce)))
	if status != http.StatusFound || q.Get("code") == "" {
		t.Fatalf("authorize: %d %v %s", status, q, body)
	}
	code := postForm(t, f.http.URL+"/token", "rp", otherSecret, url.Values{"grant_type": {"authorization_code"},
		"code": {q.Get("code")}, "redirect_uri": {redirectURI}, "code_verifier": {pkce}})
	want := authTime.Unix()
	if got := authTimeOf("code", code); got != want {
		t.Fatalf("code: auth_time %d, want %d", got, want)
	}

	f.clock.Add(time.Hour)
	first := refresh(code["refresh_token"].(string))
	if got := authTimeOf("first refresh", first); got != want {
		t.Errorf("first refresh: auth_time %d, want the original %d", got, want)
	}
	f.clock.Add(time.Hour)
	second := refresh(first["refresh_token"].(string))
	if got := authTimeOf("second refresh", second); got != want {
		t.Errorf("second refresh: auth_time %d, want the original %d", got, want)
	}
	// The rotated token again, within the reuse interval.
	f.clock.Add(10 * time.Second)
	again := refresh(first["refresh_token"].(string))
	if got := authTimeOf("reuse within the interval", again); got != want {
		t.Errorf("reuse within the interval: auth_time %d, want the original %d", got, want)
	}
	// A rotation narrowed to profile gets no ID token, but its refresh
	// token keeps the grant's auth_time for the next one.
	narrowed := refresh(second["refresh_token"].(string), "profile")
	if narrowed["id_token"] != nil {
		t.Fatalf("a refresh narrowed to profile got an ID token: %v", narrowed)
	}
	if got := authTimeOf("refresh after a narrowed one", refresh(narrowed["refresh_token"].(string))); got != want {
		t.Errorf("refresh after a narrowed one: auth_time %d, want the original %d", got, want)
	}

	// Device grant: auth_time is when the user approved.
	da := postForm(t, f.http.URL+"/device_authorization", "rp", otherSecret, url.Values{"scope": {"openid profile"}})
	approved := f.clock.Now()
	if err := f.srv.ApproveDevice(f.ctx, da["user_code"].(string), "u-alice", nil); err != nil {
		t.Fatal(err)
	}
	f.clock.Add(time.Minute)
	dev := postForm(t, f.http.URL+"/token", "rp", otherSecret, url.Values{
		"grant_type": {runtime.GrantDeviceCode}, "device_code": {da["device_code"].(string)}})
	if got := authTimeOf("device", dev); got != approved.Unix() {
		t.Fatalf("device: auth_time %d, want %d", got, approved.Unix())
	}
	f.clock.Add(time.Hour)
	if got := authTimeOf("device refresh", refresh(dev["refresh_token"].(string))); got != approved.Unix() {
		t.Errorf("device refresh: auth_time %d, want the approval's %d", got, approved.Unix())
	}
}

// postForm POSTs a form with client_secret_basic and decodes the JSON answer.
func postForm(t *testing.T, u, id, secret string, form url.Values) map[string]any {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, u, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(id), url.QueryEscape(secret))
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(res.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	return out
}

func getJSON(t *testing.T, u string, v any) {
	t.Helper()
	res, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d", u, res.StatusCode)
	}
	if err := json.NewDecoder(res.Body).Decode(v); err != nil {
		t.Fatal(err)
	}
}

// TestOpenIDRefusals are the spec's errors for requests that must not get
// an ID token, and the client-side checks that catch a wrong one.
func TestOpenIDRefusals(t *testing.T) {
	f := newOIDCFixture(t)
	cfg := f.oauth2Config(oidc.ScopeOpenID)
	pkce := oauth2.GenerateVerifier()
	authURL := func(opts ...oauth2.AuthCodeOption) string {
		return cfg.AuthCodeURL("st", append(opts, oauth2.S256ChallengeOption(pkce))...)
	}
	redirectError := func(t *testing.T, u, code string) {
		t.Helper()
		status, q, body := f.visit(t, u)
		if status != http.StatusFound || q.Get("error") != code || q.Get("state") != "st" || q.Get("iss") != f.http.URL || q.Has("code") {
			t.Fatalf("got %d %v %s, want a redirect with error=%s, state and iss", status, q, body, code)
		}
	}
	page := func(t *testing.T, u, want string) {
		t.Helper()
		status, q, body := f.visit(t, u)
		if status != http.StatusOK || body != want {
			t.Fatalf("got %d %v %q, want the %s page", status, q, body, want)
		}
	}
	none := oauth2.SetAuthURLParam("prompt", "none")

	t.Run("prompt_none_without_session", func(t *testing.T) {
		f.app.session(runtime.Session{})
		redirectError(t, authURL(none), runtime.LoginRequired)
		page(t, authURL(), "login")
	})
	t.Run("prompt_none_without_consent", func(t *testing.T) {
		f.app.session(runtime.Session{UserID: "u-alice", AuthTime: f.clock.Now()})
		redirectError(t, authURL(none), runtime.ConsentRequired)
		page(t, authURL(), "consent")
	})
	t.Run("prompt_none_with_session_and_consent", func(t *testing.T) {
		f.signedIn(f.clock.Now())
		status, q, _ := f.visit(t, authURL(none))
		if status != http.StatusFound || q.Get("code") == "" {
			t.Fatalf("got %d %v", status, q)
		}
	})
	t.Run("prompt_none_combined", func(t *testing.T) {
		f.signedIn(f.clock.Now())
		redirectError(t, authURL(oauth2.SetAuthURLParam("prompt", "none login")), runtime.InvalidRequest)
	})
	t.Run("prompt_login", func(t *testing.T) {
		f.signedIn(f.clock.Now())
		u := authURL(oauth2.SetAuthURLParam("prompt", "login"))
		page(t, u, "login")
		f.app.session(runtime.Session{UserID: "u-alice", AuthTime: f.clock.Now(), Consented: true, LoggedInNow: true})
		if status, q, _ := f.visit(t, u); status != http.StatusFound || q.Get("code") == "" {
			t.Fatalf("after the login form: %d %v", status, q)
		}
	})
	t.Run("prompt_consent", func(t *testing.T) {
		f.signedIn(f.clock.Now())
		u := authURL(oauth2.SetAuthURLParam("prompt", "consent"))
		page(t, u, "consent")
		f.app.session(runtime.Session{UserID: "u-alice", AuthTime: f.clock.Now(), Consented: true, ConsentedNow: true})
		if status, q, _ := f.visit(t, u); status != http.StatusFound || q.Get("code") == "" {
			t.Fatalf("after the consent form: %d %v", status, q)
		}
	})
	t.Run("max_age", func(t *testing.T) {
		f.signedIn(f.clock.Now().Add(-2 * time.Minute))
		page(t, authURL(oauth2.SetAuthURLParam("max_age", "60")), "login")
		redirectError(t, authURL(oauth2.SetAuthURLParam("max_age", "60"), none), runtime.LoginRequired)
		redirectError(t, authURL(oauth2.SetAuthURLParam("max_age", "-1")), runtime.InvalidRequest)
		status, q, _ := f.visit(t, authURL(oauth2.SetAuthURLParam("max_age", "300")))
		if status != http.StatusFound || q.Get("code") == "" {
			t.Fatalf("within max_age: %d %v", status, q)
		}
	})
	t.Run("openid_not_allowed_for_client", func(t *testing.T) {
		f.signedIn(f.clock.Now())
		other := *cfg
		other.ClientID = "no-openid"
		redirectError(t, other.AuthCodeURL("st", oauth2.S256ChallengeOption(pkce)), runtime.InvalidScope)
	})
	t.Run("wrong_nonce", func(t *testing.T) {
		// The client checks the nonce it sent against the ID token's,
		// which go-oidc hands it: a token for another request fails.
		f.signedIn(f.clock.Now())
		provider, err := oidc.NewProvider(f.ctx, f.http.URL)
		if err != nil {
			t.Fatal(err)
		}
		_, q, _ := f.visit(t, authURL(oidc.Nonce("nonce-of-another-request")))
		tok, err := cfg.Exchange(f.ctx, q.Get("code"), oauth2.VerifierOption(pkce))
		if err != nil {
			t.Fatal(err)
		}
		idt, err := provider.Verifier(&oidc.Config{ClientID: "rp", Now: f.clock.Now}).Verify(f.ctx, tok.Extra("id_token").(string))
		if err != nil {
			t.Fatal(err)
		}
		if idt.Nonce != "nonce-of-another-request" {
			t.Fatalf("nonce = %q: not echoed", idt.Nonce)
		}
		if idt.Nonce == "the-nonce-this-client-sent" {
			t.Fatal("a wrong nonce passed the client's check")
		}
	})
	t.Run("id_token_tampered_or_alg_none", func(t *testing.T) {
		f.signedIn(f.clock.Now())
		provider, err := oidc.NewProvider(f.ctx, f.http.URL)
		if err != nil {
			t.Fatal(err)
		}
		verifier := provider.Verifier(&oidc.Config{ClientID: "rp", Now: f.clock.Now})
		_, q, _ := f.visit(t, authURL())
		tok, err := cfg.Exchange(f.ctx, q.Get("code"), oauth2.VerifierOption(pkce))
		if err != nil {
			t.Fatal(err)
		}
		raw := tok.Extra("id_token").(string)
		if _, err := verifier.Verify(f.ctx, raw); err != nil {
			t.Fatal(err)
		}
		for name, bad := range map[string]string{
			"tampered": tamper(t, raw, func(c map[string]any) { c["sub"] = "u-bob" }),
			"alg_none": algNone(t, raw),
			"foreign":  foreignSigned(t, raw, "kid-nobody-published"),
		} {
			if _, err := verifier.Verify(f.ctx, bad); err == nil {
				t.Errorf("%s: go-oidc accepted the ID token", name)
			}
		}
		// After it expires, refused too.
		f.clock.Add(time.Hour + time.Second)
		if _, err := verifier.Verify(f.ctx, raw); err == nil {
			t.Error("an expired ID token verified")
		}
	})
}

// tamper rewrites the payload of a compact JWS, keeping its signature.
func tamper(t *testing.T, jws string, change func(map[string]any)) string {
	t.Helper()
	parts := strings.Split(jws, ".")
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var claims map[string]any
	if err := json.Unmarshal(payload, &claims); err != nil {
		t.Fatal(err)
	}
	change(claims)
	b, _ := json.Marshal(claims)
	parts[1] = base64.RawURLEncoding.EncodeToString(b)
	return strings.Join(parts, ".")
}

// algNone is jws's payload under an unsigned "alg":"none" header with the
// same kid and typ.
func algNone(t *testing.T, jws string) string {
	t.Helper()
	parts := strings.Split(jws, ".")
	hb, _ := base64.RawURLEncoding.DecodeString(parts[0])
	var h map[string]any
	json.Unmarshal(hb, &h)
	h["alg"] = "none"
	hb, _ = json.Marshal(h)
	return base64.RawURLEncoding.EncodeToString(hb) + "." + parts[1] + "."
}

// foreignSigned is jws's payload and typ signed by a fresh ES256 key that
// nobody published, under kid.
func foreignSigned(t *testing.T, jws, kid string) string {
	t.Helper()
	parts := strings.Split(jws, ".")
	payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
	hb, _ := base64.RawURLEncoding.DecodeString(parts[0])
	var h struct {
		Typ string `json:"typ"`
	}
	json.Unmarshal(hb, &h)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: jose.JSONWebKey{Key: key, KeyID: kid}},
		(&jose.SignerOptions{}).WithType(jose.ContentType(h.Typ)))
	if err != nil {
		t.Fatal(err)
	}
	sig, err := signer.Sign(payload)
	if err != nil {
		t.Fatal(err)
	}
	out, err := sig.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// fetchJWKS GETs a JWKS over HTTP.
func fetchJWKS(t *testing.T, jwksURL string) jose.JSONWebKeySet {
	t.Helper()
	var set jose.JSONWebKeySet
	getJSON(t, jwksURL, &set)
	for _, k := range set.Keys {
		if !k.IsPublic() {
			t.Fatalf("the JWKS holds a private key (kid %s)", k.KeyID)
		}
	}
	return set
}

// verifyAccessToken verifies an RFC 9068 access token offline, as a
// resource server would: typ at+jwt, a published key, the signature, iss,
// aud and exp. It returns the claims.
func verifyAccessToken(set jose.JSONWebKeySet, token, issuer string, now time.Time) (map[string]any, error) {
	jws, err := jose.ParseSigned(token, []jose.SignatureAlgorithm{jose.ES256, jose.RS256, jose.EdDSA})
	if err != nil {
		return nil, err
	}
	if len(jws.Signatures) != 1 {
		return nil, errorString("want one signature")
	}
	h := jws.Signatures[0].Header
	if h.ExtraHeaders[jose.HeaderType] != "at+jwt" {
		return nil, errorString("typ is not at+jwt")
	}
	keys := set.Key(h.KeyID)
	if len(keys) == 0 {
		return nil, errorString("unknown kid " + h.KeyID)
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
		return nil, errorString("wrong iss or aud")
	}
	exp, _ := c["exp"].(float64)
	if !now.Before(time.Unix(int64(exp), 0)) {
		return nil, errorString("expired")
	}
	return c, nil
}

type errorString string

func (e errorString) Error() string { return string(e) }

// TestJWTAccessTokens issues RFC 9068 access tokens, verifies them
// offline from the JWKS fetched over HTTP, and checks that RequireToken
// refuses revoked, tampered, foreign and unsigned ones.
func TestJWTAccessTokens(t *testing.T) {
	f := newOIDCFixture(t, func(c *runtime.Config) { c.AccessTokenFormat = runtime.AccessTokenJWT })
	cc := clientcredentials.Config{ClientID: "rp", ClientSecret: otherSecret, TokenURL: f.http.URL + "/token", Scopes: []string{"read"}}
	tok, err := cc.Token(f.ctx)
	if err != nil {
		t.Fatal(err)
	}
	set := fetchJWKS(t, f.http.URL+"/jwks")
	claims, err := verifyAccessToken(set, tok.AccessToken, f.http.URL, f.clock.Now())
	if err != nil {
		t.Fatalf("offline verification: %v", err)
	}
	now := f.clock.Now().Unix()
	for k, want := range map[string]any{"sub": "rp", "client_id": "rp", "scope": "read", "iat": float64(now), "exp": float64(now + 3600)} {
		if claims[k] != want {
			t.Errorf("claim %s = %v, want %v", k, claims[k], want)
		}
	}
	if jti, _ := claims["jti"].(string); jti == "" {
		t.Error("no jti")
	}

	resource := func(token string) int {
		req, _ := http.NewRequest(http.MethodGet, f.http.URL+"/resource", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	if got := resource(tok.AccessToken); got != http.StatusOK {
		t.Fatalf("RequireToken refused a fresh JWT: %d", got)
	}
	for name, bad := range map[string]string{
		"tampered":    tamper(t, tok.AccessToken, func(c map[string]any) { c["scope"] = "read write admin" }),
		"alg_none":    algNone(t, tok.AccessToken),
		"unknown_key": foreignSigned(t, tok.AccessToken, "kid-nobody-published"),
		"same_kid":    foreignSigned(t, tok.AccessToken, set.Keys[0].KeyID),
	} {
		if got := resource(bad); got != http.StatusUnauthorized {
			t.Errorf("%s: RequireToken answered %d, want 401", name, got)
		}
		if _, err := verifyAccessToken(set, bad, f.http.URL, f.clock.Now()); err == nil {
			t.Errorf("%s: offline verification accepted it", name)
		}
	}

	// Revoked: RequireToken refuses at once; offline verification cannot
	// know until it expires (the documented trade-off).
	form := url.Values{"token": {tok.AccessToken}}
	req, _ := http.NewRequest(http.MethodPost, f.http.URL+"/revoke", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth("rp", otherSecret)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("revoke: %d", res.StatusCode)
	}
	if got := resource(tok.AccessToken); got != http.StatusUnauthorized {
		t.Errorf("RequireToken accepted a revoked JWT: %d", got)
	}
	f.clock.Add(time.Hour)
	if _, err := verifyAccessToken(set, tok.AccessToken, f.http.URL, f.clock.Now()); err == nil {
		t.Error("offline verification accepted an expired JWT")
	}
}

// TestNewServerSigningConfig: NewServer refuses OpenID Connect or JWT
// access tokens it could not run safely, and takes the key-encryption key
// from the environment.
func TestNewServerSigningConfig(t *testing.T) {
	base := func() runtime.Config {
		return runtime.Config{
			Issuer:            "https://as.example",
			AuthorizationCode: &runtime.AuthorizationCodeGrant{},
			OpenID:            &runtime.OpenIDConfig{},
			SigningKeys:       runtime.SigningKeysConfig{KeyEncryptionKey: testKEK},
		}
	}
	store := runtimetest.NewMemoryStore()
	t.Setenv(runtime.KeyEncryptionKeyEnv, "")
	for _, tc := range []struct {
		name, want string
		mutate     func(*runtime.Config)
	}{
		{"no KEK", "no key-encryption key", func(c *runtime.Config) { c.SigningKeys.KeyEncryptionKey = nil }},
		{"short KEK", "want 32", func(c *runtime.Config) { c.SigningKeys.KeyEncryptionKey = testKEK[:16] }},
		{"jwt without KEK", "AccessTokenFormat jwt is enabled: no key-encryption key", func(c *runtime.Config) {
			c.OpenID, c.SigningKeys.KeyEncryptionKey, c.AccessTokenFormat = nil, nil, runtime.AccessTokenJWT
		}},
		{"no issuer", "Issuer is empty", func(c *runtime.Config) { c.Issuer = "" }},
		{"algorithm", "want ES256, RS256 or EdDSA", func(c *runtime.Config) { c.SigningKeys.Algorithm = "HS256" }},
		{"retire before access tokens expire", "shorter than AccessTokenLifetime", func(c *runtime.Config) {
			c.AccessTokenFormat, c.SigningKeys.RetireAfter, c.AccessTokenLifetime = runtime.AccessTokenJWT, time.Hour, 2*time.Hour
		}},
		{"retire before ID tokens expire", "shorter than OpenID.IDTokenLifetime", func(c *runtime.Config) {
			c.SigningKeys.RetireAfter, c.OpenID.IDTokenLifetime = time.Hour, 2*time.Hour
		}},
		{"propagation under cache", "must exceed RefreshEvery plus JWKSMaxAge", func(c *runtime.Config) { c.SigningKeys.PropagationDelay = 5 * time.Minute }},
		{"rotation under propagation", "must exceed PropagationDelay", func(c *runtime.Config) { c.SigningKeys.RotateEvery = time.Hour }},
		{"format", "AccessTokenFormat", func(c *runtime.Config) { c.AccessTokenFormat = "paseto" }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := base()
			tc.mutate(&cfg)
			_, err := runtime.NewServer(cfg, store)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("NewServer error %v, want one saying %q", err, tc.want)
			}
		})
	}
	t.Run("store without SigningKeyStore", func(t *testing.T) {
		_, err := runtime.NewServer(base(), struct{ runtime.Store }{store})
		if err == nil || !strings.Contains(err.Error(), "runtime.SigningKeyStore") {
			t.Fatalf("NewServer error %v", err)
		}
	})
	t.Run("KEK from the environment", func(t *testing.T) {
		t.Setenv(runtime.KeyEncryptionKeyEnv, base64.StdEncoding.EncodeToString(testKEK))
		cfg := base()
		cfg.SigningKeys.KeyEncryptionKey = nil
		srv, err := runtime.NewServer(cfg, store)
		if err != nil {
			t.Fatal(err)
		}
		if got := srv.Config().SigningKeys.KeyEncryptionKey; string(got) != string(testKEK) {
			t.Errorf("KEK = %x", got)
		}
		if got := srv.Config().Scopes; got != nil {
			t.Errorf("Scopes = %v: openid is added only to a server that lists its scopes", got)
		}
	})
}

// TestUserInfoRefusals: POST works like GET; a token without openid is
// insufficient_scope, one without a user invalid_token.
func TestUserInfoRefusals(t *testing.T) {
	f := newOIDCFixture(t)
	f.signedIn(f.clock.Now())
	call := func(method, token string) (int, string, map[string]any) {
		req, _ := http.NewRequest(method, f.http.URL+"/userinfo", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var body map[string]any
		json.NewDecoder(res.Body).Decode(&body)
		return res.StatusCode, res.Header.Get("WWW-Authenticate"), body
	}
	pkce := oauth2.GenerateVerifier()
	token := func(scopes ...string) string {
		cfg := f.oauth2Config(scopes...)
		_, q, _ := f.visit(t, cfg.AuthCodeURL("st", oauth2.S256ChallengeOption(pkce)))
		tok, err := cfg.Exchange(f.ctx, q.Get("code"), oauth2.VerifierOption(pkce))
		if err != nil {
			t.Fatal(err)
		}
		return tok.AccessToken
	}
	if status, _, body := call(http.MethodPost, token("openid", "email")); status != http.StatusOK || body["sub"] != "u-alice" || body["email"] != "alice@example.com" || body["name"] != nil {
		t.Errorf("POST: %d %v (want sub and email only)", status, body)
	}
	if status, challenge, _ := call(http.MethodGet, token("profile")); status != http.StatusForbidden || !strings.Contains(challenge, `error="insufficient_scope"`) || !strings.Contains(challenge, `scope="openid"`) {
		t.Errorf("without openid: %d %q", status, challenge)
	}
	cc := clientcredentials.Config{ClientID: "rp", ClientSecret: otherSecret, TokenURL: f.http.URL + "/token", Scopes: []string{"openid"}}
	ctok, err := cc.Token(f.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if status, challenge, _ := call(http.MethodGet, ctok.AccessToken); status != http.StatusUnauthorized || !strings.Contains(challenge, `error="invalid_token"`) {
		t.Errorf("client_credentials token: %d %q", status, challenge)
	}
	if status, challenge, _ := call(http.MethodGet, "not-a-token"); status != http.StatusUnauthorized || !strings.Contains(challenge, `error="invalid_token"`) {
		t.Errorf("unknown token: %d %q", status, challenge)
	}
}

// TestOpenIDRequestParameters: OpenID Connect requests the server cannot
// honour are refused with the error Core names, not half-served.
func TestOpenIDRequestParameters(t *testing.T) {
	f := newOIDCFixture(t)
	f.signedIn(f.clock.Now())
	cfg := f.oauth2Config(oidc.ScopeOpenID)
	pkce := oauth2.GenerateVerifier()
	authURL := func(opts ...oauth2.AuthCodeOption) string {
		return cfg.AuthCodeURL("st", append(opts, oauth2.S256ChallengeOption(pkce))...)
	}
	param := oauth2.SetAuthURLParam
	for _, c := range []struct {
		name, url, want string
	}{
		// §6.1, §6.2: an OP that does not support request objects MUST
		// answer these; ignoring one would drop what it says (a nonce,
		// max_age, a redirect URI).
		{"request", authURL(param("request", "eyJhbGciOiJub25lIn0.eyJtYXhfYWdlIjowfQ.")), "request_not_supported"},
		{"request_uri", authURL(param("request_uri", "https://rp.example/req.jwt")), "request_uri_not_supported"},
		{"registration", authURL(param("registration", `{"logo_uri":"https://rp.example/l.png"}`)), "registration_not_supported"},
		// §3.1.2.1: redirect_uri is REQUIRED in an OpenID request.
		{"no_redirect_uri", strings.Replace(authURL(), "redirect_uri=", "x=", 1), runtime.InvalidRequest},
	} {
		t.Run(c.name, func(t *testing.T) {
			status, q, body := f.visit(t, c.url)
			if status != http.StatusFound || q.Get("error") != c.want || q.Get("state") != "st" || q.Has("code") {
				t.Fatalf("got %d %v %s, want a redirect with error=%s", status, q, body, c.want)
			}
		})
	}
	// max_age is a number of seconds with no upper bound: a large one is
	// no limit, not a malformed request.
	t.Run("large_max_age", func(t *testing.T) {
		status, q, body := f.visit(t, authURL(param("max_age", "99999999999")))
		if status != http.StatusFound || q.Get("code") == "" {
			t.Fatalf("got %d %v %s, want a code", status, q, body)
		}
	})
	// Without openid the request is plain OAuth 2.0 (§3.1.2.2), and these
	// parameters are unknown ones, ignored (RFC 6749 §3.1).
	t.Run("plain_oauth_ignores_them", func(t *testing.T) {
		plain := f.oauth2Config("read")
		status, q, body := f.visit(t, plain.AuthCodeURL("st", oauth2.S256ChallengeOption(pkce), param("request_uri", "https://rp.example/r")))
		if status != http.StatusFound || q.Get("code") == "" {
			t.Fatalf("got %d %v %s, want a code", status, q, body)
		}
	})
}

// TestOpenIDPublicDocuments: discovery, the JWKS and UserInfo carry
// nosniff like every response, and allow cross-origin reads (UserInfo
// SHOULD support CORS, Core §5.3): they use no cookies, so any origin may
// read them with the token it holds.
func TestOpenIDPublicDocuments(t *testing.T) {
	f := newOIDCFixture(t)
	do := func(method, path string, h map[string]string) *http.Response {
		t.Helper()
		req, err := http.NewRequest(method, f.http.URL+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		for k, v := range h {
			req.Header.Set(k, v)
		}
		res, err := f.http.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res
	}
	origin := map[string]string{"Origin": "https://spa.example"}
	for _, path := range []string{runtime.OpenIDConfigurationPath, "/jwks", runtime.MetadataPath} {
		res := do(http.MethodGet, path, origin)
		if res.StatusCode != 200 || res.Header.Get("X-Content-Type-Options") != "nosniff" || res.Header.Get("Access-Control-Allow-Origin") != "*" {
			t.Errorf("GET %s: %d, nosniff %q, Access-Control-Allow-Origin %q", path, res.StatusCode,
				res.Header.Get("X-Content-Type-Options"), res.Header.Get("Access-Control-Allow-Origin"))
		}
	}
	pre := do(http.MethodOptions, "/userinfo", map[string]string{"Origin": "https://spa.example",
		"Access-Control-Request-Method": "GET", "Access-Control-Request-Headers": "authorization"})
	if pre.StatusCode != http.StatusNoContent || pre.Header.Get("Access-Control-Allow-Origin") != "*" ||
		!strings.Contains(strings.ToLower(pre.Header.Get("Access-Control-Allow-Headers")), "authorization") {
		t.Errorf("UserInfo preflight: %d %v", pre.StatusCode, pre.Header)
	}
	res := do(http.MethodGet, "/userinfo", origin)
	if res.StatusCode != http.StatusUnauthorized || res.Header.Get("Access-Control-Allow-Origin") != "*" ||
		!strings.Contains(res.Header.Get("Access-Control-Expose-Headers"), "WWW-Authenticate") {
		t.Errorf("UserInfo without a token, cross-origin: %d %v", res.StatusCode, res.Header)
	}
	if res := do(http.MethodOptions, "/userinfo", nil); res.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("OPTIONS without a preflight: %d", res.StatusCode)
	}
}

// TestOpenIDClaimsSupported: discovery advertises the user claims the
// store gives (OpenIDConfig.Claims), not every standard claim.
func TestOpenIDClaimsSupported(t *testing.T) {
	f := newOIDCFixture(t, func(c *runtime.Config) { c.OpenID.Claims = []string{"email", "preferred_username"} })
	var doc struct {
		Claims []string `json:"claims_supported"`
	}
	getJSON(t, f.http.URL+runtime.OpenIDConfigurationPath, &doc)
	want := []string{"sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "at_hash", "email", "preferred_username"}
	if !slices.Equal(doc.Claims, want) {
		t.Errorf("claims_supported = %v, want %v", doc.Claims, want)
	}
}
