package e2e

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

// What Setup registers and Flows uses.
const (
	user     = "bob"
	password = "pw-bob-123"
	// appName has characters the pages must escape.
	appName     = `Test <App> & "Co"`
	appRedirect = "http://127.0.0.1:9/cb"
	spaRedirect = "http://127.0.0.1:9/spa"
	// commaRedirect is one redirect URI, though the CLI used to split it.
	commaRedirect = "https://comma.example/cb?a=1,2"
	// svcSecret, chosen with --secret, has characters client_secret_basic
	// must form-encode.
	svcSecret = "s3cr:t%+ x"
)

// Setup registers with the CLI the user and clients Flows uses, checks
// the CLI refuses what it should, and returns the generated secret of the
// confidential client "app".
func Setup(t *testing.T, bin string, dbArgs ...string) (appSecret string) {
	t.Helper()
	args := func(a ...string) []string { return append(slices.Clone(dbArgs), a...) }
	Run(t, bin, args("user", "create", "--username", user, "--password", password)...)
	out := Run(t, bin, args("client", "create", "--id", "app", "--name", appName,
		"--grant", "authorization_code", "--grant", "refresh_token", "--grant", "password",
		"--scope", "read", "--scope", "write", "--redirect-uri", appRedirect)...)
	m := regexp.MustCompile(`(?m)^secret: (\S+)$`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("client create printed no secret:\n%s", out)
	}
	if out := Run(t, bin, args("client", "create", "--id", "svc", "--secret", svcSecret,
		"--grant", "client_credentials", "--scope", "read")...); strings.Contains(out, "secret") {
		t.Errorf("a chosen secret was printed back:\n%s", out)
	}
	Run(t, bin, args("client", "create", "--id", "tv", "--public", "--grant", "device_code", "--scope", "read")...)
	Run(t, bin, args("client", "create", "--id", "spa", "--public", "--grant", "authorization_code",
		"--grant", "refresh_token", "--scope", "read", "--redirect-uri", spaRedirect)...)
	Run(t, bin, args("client", "create", "--id", "comma", "--grant", "authorization_code",
		"--redirect-uri", commaRedirect, "--redirect-uri", appRedirect)...)

	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"client", "create", "--id", "app", "--grant", "password"}, 1, `client "app" exists`},
		{[]string{"user", "create", "--username", user, "--password", "x"}, 1, `user "bob" exists`},
		{[]string{"client", "create", "--id", "x", "--public", "--secret", "s", "--grant", "password"}, 2, "a public client has no secret"},
		{[]string{"client", "create", "--id", "x", "--grant", "implicit"}, 2, `grant type "implicit": not enabled`},
		{[]string{"client", "create", "--id", "x", "--grant", "password", "--scope", "admin"}, 2, `scope "admin": not known`},
		{[]string{"client", "create", "--id", "x", "--grant", "authorization_code"}, 2, "need a redirect URI"},
		{[]string{"client", "create", "--id", "x", "--public", "--grant", "client_credentials"}, 2, "a public client may not use it"},
		{[]string{"client", "create", "--id", "x", "--grant", "authorization_code", "--redirect-uri", "javascript:alert(1)"}, 2, `redirect URI "javascript:alert(1)"`},
		{[]string{"client", "create", "--id", "x", "--grant", "authorization_code", "--redirect-uri", "https://good.example/cb\thttps://evil.example/steal"}, 2, "redirect URI"},
		{[]string{"client", "create", "--id", "<script>", "--grant", "password"}, 2, "client id"},
	} {
		out, code := RunStatus(t, bin, args(c.args...)...)
		if code != c.code || !strings.Contains(out, c.want) {
			t.Errorf("%v: exit %d, %q; want exit %d, %q", c.args, code, out, c.code, c.want)
		}
	}
	return m[1]
}

// Flows drives every grant, endpoint and page of the server at base,
// whose database holds what Setup registered.
func Flows(t *testing.T, base, appSecret string) {
	ctx := context.WithValue(context.Background(), oauth2.HTTPClient, noRedirect)
	endpoint := oauth2.Endpoint{
		AuthURL: base + "/authorize", TokenURL: base + "/token", DeviceAuthURL: base + "/device_authorization",
		AuthStyle: oauth2.AuthStyleInHeader,
	}
	app := oauth2.Config{ClientID: "app", ClientSecret: appSecret, Scopes: []string{"read", "write"}, RedirectURL: appRedirect, Endpoint: endpoint}

	t.Run("metadata", func(t *testing.T) {
		resp, body := Do(t, http.MethodGet, base+"/.well-known/oauth-authorization-server", nil, nil)
		m := jsonBody(t, body)
		if resp.StatusCode != 200 || m["issuer"] != base || m["authorization_endpoint"] != base+"/authorize" ||
			m["token_endpoint"] != base+"/token" || m["device_authorization_endpoint"] != base+"/device_authorization" ||
			m["revocation_endpoint"] != base+"/revoke" || m["introspection_endpoint"] != base+"/introspect" {
			t.Errorf("%d %s", resp.StatusCode, body)
		}
		for _, want := range []string{"authorization_code", "client_credentials", "password", "refresh_token", "urn:ietf:params:oauth:grant-type:device_code"} {
			if !slices.Contains(m["grant_types_supported"].([]any), any(want)) {
				t.Errorf("grant_types_supported lacks %s: %s", want, body)
			}
		}
	})

	t.Run("client_credentials", func(t *testing.T) {
		for _, style := range []oauth2.AuthStyle{oauth2.AuthStyleInHeader, oauth2.AuthStyleInParams} {
			cc := clientcredentials.Config{ClientID: "svc", ClientSecret: svcSecret, TokenURL: base + "/token", Scopes: []string{"read"}, AuthStyle: style}
			tok, err := cc.Token(ctx)
			if err != nil {
				t.Fatalf("style %v: %v", style, err)
			}
			if tok.RefreshToken != "" {
				t.Error("client_credentials issued a refresh token")
			}
			if code, me := Me(t, base, tok.AccessToken); code != 200 || me["client_id"] != "svc" || me["sub"] != "" || me["scope"] != "read" {
				t.Errorf("/me: %d %v", code, me)
			}
		}
		bad := clientcredentials.Config{ClientID: "svc", ClientSecret: "wrong", TokenURL: base + "/token"}
		_, err := bad.Token(ctx)
		wantError(t, "wrong secret", err, "invalid_client")
	})

	t.Run("me", func(t *testing.T) {
		if code, m := Me(t, base, ""); code != 401 || !strings.HasPrefix(m["WWW-Authenticate"], "Bearer") {
			t.Errorf("no token: %d %v", code, m)
		}
		if code, m := Me(t, base, "not-a-token"); code != 401 || !strings.Contains(m["WWW-Authenticate"], `error="invalid_token"`) {
			t.Errorf("unknown token: %d %v", code, m)
		}
		w := app
		w.Scopes = []string{"write"}
		writeOnly, err := w.PasswordCredentialsToken(ctx, user, password)
		if err != nil {
			t.Fatal(err)
		}
		if code, m := Me(t, base, writeOnly.AccessToken); code != 403 || !strings.Contains(m["WWW-Authenticate"], `error="insufficient_scope"`) {
			t.Errorf("token without read: %d %v", code, m)
		}
	})

	t.Run("password", func(t *testing.T) {
		tok, err := app.PasswordCredentialsToken(ctx, user, password)
		if err != nil {
			t.Fatal(err)
		}
		if tok.RefreshToken == "" {
			t.Error("no refresh token")
		}
		if code, me := Me(t, base, tok.AccessToken); code != 200 || me["client_id"] != "app" || me["sub"] == "" || me["scope"] != "read write" {
			t.Errorf("/me: %d %v", code, me)
		}
		_, err = app.PasswordCredentialsToken(ctx, user, "wrong")
		wantError(t, "wrong password", err, "invalid_grant")
	})

	t.Run("authorization_code", func(t *testing.T) {
		verifier := oauth2.GenerateVerifier()
		page := Get(t, app.AuthCodeURL("state-123", oauth2.S256ChallengeOption(verifier)))
		CheckPageHeaders(t, page)
		if page.Resp.StatusCode != 200 || !strings.Contains(page.Body, "Test &lt;App&gt; &amp; &#34;Co&#34;") ||
			!strings.Contains(page.Body, "<code>write</code>") || strings.Contains(page.Body, appName) {
			t.Fatalf("consent page (client name escaped, scopes listed): %d\n%s", page.Resp.StatusCode, page.Body)
		}
		form := page.Form(t)
		if form.Fields.Get("client_id") != "app" || form.Fields.Get("code_challenge") == "" || form.Fields.Get("state") != "state-123" {
			t.Fatalf("hidden fields %v", form.Fields)
		}

		// Wrong credentials show the page again, with an error and no redirect.
		again := form.Submit(t, map[string]string{"username": user, "password": "wrong"}, "decision=approve")
		CheckPageHeaders(t, again)
		if again.Resp.StatusCode != 422 || !strings.Contains(again.Body, "Wrong username or password") || again.Resp.Header.Get("Location") != "" {
			t.Errorf("wrong password: %d\n%s", again.Resp.StatusCode, again.Body)
		}
		form = again.Form(t)
		if form.Fields.Get("username") != user || form.Fields.Get("code_challenge") == "" {
			t.Errorf("the page shown again lost its fields: %v", form.Fields)
		}

		q := form.Submit(t, map[string]string{"password": password}, "decision=approve").Redirect(t)
		if q.Get("code") == "" || q.Get("state") != "state-123" || q.Get("iss") != base {
			t.Fatalf("approve: %v", q)
		}
		tok, err := app.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(verifier))
		if err != nil {
			t.Fatal(err)
		}
		if code, me := Me(t, base, tok.AccessToken); code != 200 || me["sub"] == "" || me["scope"] != "read write" {
			t.Errorf("/me: %d %v", code, me)
		}
		// The code is single use, and its replay revokes what it gave.
		_, err = app.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(verifier))
		wantError(t, "second redemption", err, "invalid_grant")
		if code, _ := Me(t, base, tok.AccessToken); code != 401 {
			t.Errorf("after the replay, the first token: %d, want 401", code)
		}

		// Deny needs no sign-in.
		q = form.Submit(t, map[string]string{"password": ""}, "decision=deny").Redirect(t)
		if q.Get("error") != "access_denied" || q.Get("state") != "state-123" || q.Has("code") {
			t.Errorf("deny: %v", q)
		}
		// A redirect URI with a comma was registered whole.
		for uri, want := range map[string]int{commaRedirect: 200, "https://comma.example/cb?a=1": 400} {
			u := base + "/authorize?response_type=code&client_id=comma&redirect_uri=" + url.QueryEscape(uri)
			if p := Get(t, u); p.Resp.StatusCode != want {
				t.Errorf("%s: %d, want %d\n%s", u, p.Resp.StatusCode, want, p.Body)
			}
		}
		// Errors before the redirect URI is trusted are not redirected.
		for _, u := range []string{
			base + "/authorize?response_type=code&client_id=nobody",
			base + "/authorize?response_type=code&client_id=app&redirect_uri=" + url.QueryEscape("https://evil.example/cb"),
		} {
			if p := Get(t, u); p.Resp.StatusCode != 400 || p.Resp.Header.Get("Location") != "" {
				t.Errorf("%s: %d %v", u, p.Resp.StatusCode, p.Resp.Header)
			}
		}
	})

	t.Run("public_client_pkce", func(t *testing.T) {
		spa := oauth2.Config{ClientID: "spa", Scopes: []string{"read"}, RedirectURL: spaRedirect, Endpoint: endpoint}
		spa.Endpoint.AuthStyle = oauth2.AuthStyleInParams
		// pkce: public in oauthgen.yaml: a public client must send a challenge.
		if q := Get(t, spa.AuthCodeURL("s")).Redirect(t); q.Get("error") != "invalid_request" {
			t.Errorf("without PKCE: %v", q)
		}
		verifier := oauth2.GenerateVerifier()
		page := Get(t, spa.AuthCodeURL("s", oauth2.S256ChallengeOption(verifier)))
		q := page.Form(t).Submit(t, map[string]string{"username": user, "password": password}, "decision=approve").Redirect(t)
		tok, err := spa.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(verifier))
		if err != nil {
			t.Fatal(err)
		}
		expired := *tok
		expired.Expiry = time.Now().Add(-time.Minute)
		next, err := spa.TokenSource(ctx, &expired).Token()
		if err != nil || next.RefreshToken == "" || next.RefreshToken == tok.RefreshToken {
			t.Errorf("a public client's refresh token must rotate: %v", err)
		}
	})

	t.Run("refresh", func(t *testing.T) {
		first, err := app.PasswordCredentialsToken(ctx, user, password)
		if err != nil {
			t.Fatal(err)
		}
		expired := *first
		expired.Expiry = time.Now().Add(-time.Minute)
		second, err := app.TokenSource(ctx, &expired).Token()
		if err != nil {
			t.Fatal(err)
		}
		if second.RefreshToken == "" || second.RefreshToken == first.RefreshToken {
			t.Fatal("the refresh token was not rotated")
		}
		if code, _ := Me(t, base, second.AccessToken); code != 200 {
			t.Errorf("refreshed token: %d", code)
		}
		// Within the reuse interval (30 s, oauthgen.yaml) the same client
		// presenting the rotated token again gets a new pair, as a second
		// tab would, and nothing is revoked. After the interval, reuse
		// revokes the family (runtime's TestRefreshReuseInterval).
		third, err := app.TokenSource(ctx, &expired).Token()
		if err != nil || third.RefreshToken == "" || third.RefreshToken == second.RefreshToken {
			t.Fatalf("rotated token again within the reuse interval: %v, want a new pair", err)
		}
		for _, tok := range []*oauth2.Token{second, third} {
			if code, _ := Me(t, base, tok.AccessToken); code != 200 {
				t.Errorf("after a reuse within the interval, the family's token: %d, want 200", code)
			}
		}
	})

	t.Run("introspection_and_revocation", func(t *testing.T) {
		tok, err := app.PasswordCredentialsToken(ctx, user, password)
		if err != nil {
			t.Fatal(err)
		}
		auth := basic("app", appSecret)
		_, body := Do(t, http.MethodPost, base+"/introspect", url.Values{"token": {tok.AccessToken}}, auth)
		in := jsonBody(t, body)
		if in["active"] != true || in["client_id"] != "app" || in["username"] != user || in["scope"] != "read write" {
			t.Errorf("introspect: %s", body)
		}
		if resp, _ := Do(t, http.MethodPost, base+"/revoke", url.Values{"token": {tok.RefreshToken}, "token_type_hint": {"refresh_token"}}, auth); resp.StatusCode != 200 {
			t.Errorf("revoke: %d", resp.StatusCode)
		}
		if _, body = Do(t, http.MethodPost, base+"/introspect", url.Values{"token": {tok.AccessToken}}, auth); strings.TrimSpace(body) != `{"active":false}` {
			t.Errorf("after revoking its refresh token, the access token introspects as %s", body)
		}
		if code, _ := Me(t, base, tok.AccessToken); code != 401 {
			t.Errorf("after revocation, /me: %d", code)
		}
		if resp, _ := Do(t, http.MethodPost, base+"/revoke", url.Values{"token": {"unknown"}}, auth); resp.StatusCode != 200 {
			t.Errorf("revoke unknown: %d", resp.StatusCode)
		}
		// Without client authentication: invalid_client, 400 as no
		// Authorization header was tried (RFC 6749 §5.2).
		if resp, body := Do(t, http.MethodPost, base+"/introspect", url.Values{"token": {tok.AccessToken}}, nil); resp.StatusCode != 400 || !strings.Contains(body, `"invalid_client"`) {
			t.Errorf("introspect without client authentication: %d %s", resp.StatusCode, body)
		}
	})

	t.Run("device", func(t *testing.T) {
		tv := oauth2.Config{ClientID: "tv", Scopes: []string{"read"}, Endpoint: endpoint}
		tv.Endpoint.AuthStyle = oauth2.AuthStyleInParams
		da, err := tv.DeviceAuth(ctx)
		if err != nil {
			t.Fatal(err)
		}
		page := Get(t, da.VerificationURIComplete)
		CheckPageHeaders(t, page)
		form := page.Form(t)
		// Before sign-in, the page says nothing of the code or its client.
		if page.Resp.StatusCode != 200 || form.Fields.Get("user_code") != da.UserCode || strings.Contains(page.Body, "tv") {
			t.Fatalf("device page: %d %v\n%s", page.Resp.StatusCode, form.Fields, page.Body)
		}
		again := form.Submit(t, map[string]string{"username": user, "password": "wrong"}, "")
		if again.Resp.StatusCode != 422 || !strings.Contains(again.Body, "Wrong username or password") {
			t.Errorf("wrong password: %d\n%s", again.Resp.StatusCode, again.Body)
		}
		form = again.Form(t)
		if form.Fields.Get("user_code") != da.UserCode || form.Fields.Get("username") != user {
			t.Errorf("the page shown again lost its fields: %v", form.Fields)
		}
		// Signed in, the user sees who asks for what, and decides.
		step := form.Submit(t, map[string]string{"password": password}, "")
		CheckPageHeaders(t, step)
		decision := step.Form(t)
		if step.Resp.StatusCode != 200 || !strings.Contains(step.Body, "Connect tv?") || !strings.Contains(step.Body, "<code>read</code>") ||
			decision.Fields.Get("ticket") == "" || decision.Fields.Has("password") {
			t.Fatalf("decision step: %d %v\n%s", step.Resp.StatusCode, decision.Fields, step.Body)
		}
		done := decision.Submit(t, nil, "decision=approve")
		if done.Resp.StatusCode != 200 || !strings.Contains(done.Body, "Device connected") || !strings.Contains(done.Body, "tv now has access: read.") {
			t.Fatalf("approve: %d\n%s", done.Resp.StatusCode, done.Body)
		}
		if p := decision.Submit(t, nil, "decision=approve"); p.Resp.StatusCode != 409 || !strings.Contains(p.Body, "Already answered") {
			t.Errorf("approve again: %d\n%s", p.Resp.StatusCode, p.Body)
		}
		tok, err := tv.DeviceAccessToken(ctx, fastPoll(da))
		if err != nil {
			t.Fatal(err)
		}
		if code, me := Me(t, base, tok.AccessToken); code != 200 || me["client_id"] != "tv" || me["sub"] == "" {
			t.Errorf("/me: %d %v", code, me)
		}

		// Deny, with the code typed by hand: lower case, no dash.
		da, err = tv.DeviceAuth(ctx)
		if err != nil {
			t.Fatal(err)
		}
		typed := strings.ToLower(strings.ReplaceAll(da.UserCode, "-", ""))
		fill := map[string]string{"user_code": typed, "username": user, "password": password}
		if p := DecideDevice(t, Get(t, base+"/device"), fill, "tv", "deny"); !strings.Contains(p.Body, "Device denied") {
			t.Fatalf("deny: %d\n%s", p.Resp.StatusCode, p.Body)
		}
		_, err = tv.DeviceAccessToken(ctx, fastPoll(da))
		wantError(t, "denied device", err, "access_denied")

		// An unknown code is told as such only after sign-in.
		unknown := Get(t, base+"/device?user_code=BCDF-GHJK")
		if unknown.Resp.StatusCode != 200 || strings.Contains(unknown.Body, "unknown") {
			t.Errorf("unknown user code, before sign-in: %d\n%s", unknown.Resp.StatusCode, unknown.Body)
		}
		if p := DeviceSignIn(t, unknown, map[string]string{"username": user, "password": password}); p.Resp.StatusCode != 422 || !strings.Contains(p.Body, "unknown or has expired") {
			t.Errorf("unknown user code, signed in: %d\n%s", p.Resp.StatusCode, p.Body)
		}
	})

	t.Run("bad_input", func(t *testing.T) {
		huge := url.Values{"user_code": {strings.Repeat("A", 100<<10)}, "decision": {"approve"}}
		for _, c := range []struct {
			method, path string
			form         url.Values
			header       http.Header
			want         int
		}{
			{"POST", "/authorize", nil, http.Header{"Content-Type": {"text/plain"}}, 400},
			{"POST", "/authorize", url.Values{}, nil, 400},
			{"POST", "/authorize", url.Values{"client_id": {"app", "app"}}, nil, 400},
			{"POST", "/device", url.Values{}, nil, 422},
			{"POST", "/device", huge, nil, 413},
			{"POST", "/authorize", url.Values{"client_id": {"app"}, "pad": {strings.Repeat("a", 10<<20)}}, nil, 413},
			{"POST", "/device", nil, http.Header{"Content-Type": {"multipart/form-data; boundary=x"}}, 415},
			{"GET", "/device?user_code=%zz", nil, nil, 200},
			{"POST", "/token", url.Values{"grant_type": {"nonsense"}}, nil, 400},
			{"POST", "/token", nil, http.Header{"Content-Type": {"application/json"}}, 400},
			{"GET", "/me", nil, http.Header{"Authorization": {"Bearer a b c"}}, 400},
			{"DELETE", "/token", nil, nil, 400}, // invalid_request: "the method must be POST"
		} {
			resp, body := Do(t, c.method, base+c.path, c.form, c.header)
			if resp.StatusCode != c.want {
				t.Errorf("%s %s: %d, want %d\n%.300s", c.method, c.path, resp.StatusCode, c.want, body)
			}
		}
		// What a page shows of its input is escaped.
		for _, u := range []string{"/device?user_code=" + url.QueryEscape(`"><script>x()</script>`), "/callback?code=" + url.QueryEscape("<script>x()</script>")} {
			if p := Get(t, base+u); strings.Contains(p.Body, "<script>") || !strings.Contains(p.Body, "&lt;script&gt;") {
				t.Errorf("%s is not escaped:\n%s", u, p.Body)
			}
		}
	})
}

// fastPoll lets DeviceAccessToken poll after one second rather than the
// interval the server suggested: the first poll is never too early, and
// the user already answered.
func fastPoll(da *oauth2.DeviceAuthResponse) *oauth2.DeviceAuthResponse {
	fast := *da
	fast.Interval = 1
	return &fast
}

// wantError checks that err is the OAuth error code from the token endpoint.
func wantError(t *testing.T, what string, err error, code string) {
	t.Helper()
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) || re.ErrorCode != code {
		t.Errorf("%s: %v, want %s", what, err, code)
	}
}
