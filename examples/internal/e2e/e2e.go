// Package e2e drives an example server's real binary over HTTP, as its
// users would: the CLI, then every endpoint with golang.org/x/oauth2 as
// the client and the HTML pages through their forms. Both examples' tests
// run it.
package e2e

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"html"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

// Build compiles the example in dir (a package path such as ".") into a
// temporary folder and returns the binary.
func Build(t *testing.T, pkg string) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "server")
	out, err := exec.Command("go", "build", "-o", bin, pkg).CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// Run runs the binary with args and returns its standard output.
func Run(t *testing.T, bin string, args ...string) string {
	t.Helper()
	out, err := exec.Command(bin, args...).Output()
	if err != nil {
		var stderr []byte
		if e, ok := err.(*exec.ExitError); ok {
			stderr = e.Stderr
		}
		t.Fatalf("%s %v: %v\n%s%s", filepath.Base(bin), args, err, out, stderr)
	}
	return string(out)
}

// Server is a running `serve`.
type Server struct {
	// URL is the address it listens on, http://127.0.0.1:PORT.
	URL string
	// Output is what it printed before it listened: the demo, on a new database.
	Output string
	cmd    *exec.Cmd
	done   chan error
}

// Serve starts `serve --addr 127.0.0.1:0` with the given leading args
// (the database flags) and waits until it listens.
func Serve(t *testing.T, bin string, args ...string) *Server {
	t.Helper()
	cmd := exec.Command(bin, append(args, "serve", "--addr", "127.0.0.1:0")...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = io.Discard
	if testing.Verbose() {
		cmd.Stderr = os.Stderr
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s := &Server{cmd: cmd, done: make(chan error, 1)}
	lines := make(chan string)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
		s.done <- cmd.Wait()
	}()
	t.Cleanup(func() { cmd.Process.Kill() })
	var out strings.Builder
	timeout := time.After(30 * time.Second)
	for s.URL == "" {
		select {
		case line, ok := <-lines:
			if !ok {
				t.Fatalf("serve exited before listening:\n%s", out.String())
			}
			if rest, found := strings.CutPrefix(line, "listening on "); found {
				s.URL = strings.Fields(rest)[0]
				break
			}
			out.WriteString(line + "\n")
		case <-timeout:
			t.Fatalf("serve did not listen within 30s:\n%s", out.String())
		}
	}
	go func() {
		for range lines { // keep draining, so the server never blocks on stdout
		}
	}()
	s.Output = out.String()
	return s
}

// Stop sends SIGTERM and checks the server shuts down cleanly.
func (s *Server) Stop(t *testing.T) {
	t.Helper()
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-s.done:
		if err != nil {
			t.Errorf("serve after SIGTERM: %v, want a clean exit", err)
		}
	case <-time.After(15 * time.Second):
		t.Error("serve did not stop within 15s of SIGTERM")
	}
}

// noRedirect is an HTTP client that returns redirects instead of following them.
var noRedirect = &http.Client{
	Timeout:       30 * time.Second,
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

// Do sends a request and returns the response and its body.
func Do(t *testing.T, method, u string, form url.Values, header http.Header) (*http.Response, string) {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := noRedirect.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

var hiddenInput = regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)">`)

// FormFields reads the hidden fields of a page's form.
func FormFields(page string) url.Values {
	v := url.Values{}
	for _, m := range hiddenInput.FindAllStringSubmatch(page, -1) {
		v.Add(html.UnescapeString(m[1]), html.UnescapeString(m[2]))
	}
	return v
}

// Me calls GET /me with a token and returns the status and the decoded body.
func Me(t *testing.T, base, token string) (int, map[string]string) {
	t.Helper()
	h := http.Header{}
	if token != "" {
		h.Set("Authorization", "Bearer "+token)
	}
	resp, body := Do(t, http.MethodGet, base+"/me", nil, h)
	var m map[string]string
	json.Unmarshal([]byte(body), &m)
	if m == nil {
		m = map[string]string{"WWW-Authenticate": resp.Header.Get("WWW-Authenticate")}
	}
	return resp.StatusCode, m
}

// Flows drives every grant and endpoint of a server whose database has:
// user bob (password "pw-bob-123"); confidential client "app" (secret
// appSecret; authorization_code, refresh_token, password; scopes read
// write; redirect URI base+"/cb" is not needed: the code is read from the
// redirect); client "svc" with secret svcSecret (client_credentials,
// scope read); public client "tv" (device_code).
func Flows(t *testing.T, base, appSecret, svcSecret string) {
	ctx := context.Background()
	ctx = context.WithValue(ctx, oauth2.HTTPClient, noRedirect)
	app := oauth2.Config{
		ClientID: "app", ClientSecret: appSecret, Scopes: []string{"read", "write"},
		RedirectURL: "http://127.0.0.1:9/cb",
		Endpoint: oauth2.Endpoint{
			AuthURL: base + "/authorize", TokenURL: base + "/token", DeviceAuthURL: base + "/device_authorization",
			AuthStyle: oauth2.AuthStyleInHeader,
		},
	}

	t.Run("metadata", func(t *testing.T) {
		resp, body := Do(t, http.MethodGet, base+"/.well-known/oauth-authorization-server", nil, nil)
		var m map[string]any
		if err := json.Unmarshal([]byte(body), &m); err != nil || resp.StatusCode != 200 {
			t.Fatalf("%d %s", resp.StatusCode, body)
		}
		if m["issuer"] != base || m["token_endpoint"] != base+"/token" || m["device_authorization_endpoint"] != base+"/device_authorization" {
			t.Errorf("metadata %v", m)
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
		if _, err := bad.Token(ctx); err == nil || !strings.Contains(err.Error(), "invalid_client") {
			t.Errorf("wrong secret: %v", err)
		}
	})

	t.Run("me", func(t *testing.T) {
		if code, m := Me(t, base, ""); code != 401 || !strings.HasPrefix(m["WWW-Authenticate"], "Bearer realm=") {
			t.Errorf("no token: %d %v", code, m)
		}
		if code, _ := Me(t, base, "not-a-token"); code != 401 {
			t.Errorf("bad token: %d", code)
		}
		w := app
		w.Scopes = []string{"write"}
		writeOnly, err := w.PasswordCredentialsToken(ctx, "bob", "pw-bob-123")
		if err != nil {
			t.Fatal(err)
		}
		resp, _ := Do(t, http.MethodGet, base+"/me", nil, http.Header{"Authorization": {"Bearer " + writeOnly.AccessToken}})
		if resp.StatusCode != 403 || !strings.Contains(resp.Header.Get("WWW-Authenticate"), `error="insufficient_scope"`) {
			t.Errorf("token without read: %d %q", resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
		}
	})

	t.Run("password", func(t *testing.T) {
		tok, err := app.PasswordCredentialsToken(ctx, "bob", "pw-bob-123")
		if err != nil {
			t.Fatal(err)
		}
		if tok.RefreshToken == "" {
			t.Error("no refresh token")
		}
		if code, me := Me(t, base, tok.AccessToken); code != 200 || me["client_id"] != "app" || me["sub"] == "" {
			t.Errorf("/me: %d %v", code, me)
		}
		if _, err := app.PasswordCredentialsToken(ctx, "bob", "wrong"); err == nil || !strings.Contains(err.Error(), "invalid_grant") {
			t.Errorf("wrong password: %v", err)
		}
	})

	t.Run("authorization_code", func(t *testing.T) {
		verifier := oauth2.GenerateVerifier()
		authURL := app.AuthCodeURL("state-123", oauth2.S256ChallengeOption(verifier))
		resp, page := Do(t, http.MethodGet, authURL, nil, nil)
		if resp.StatusCode != 200 || !strings.Contains(page, "<form") || resp.Header.Get("X-Frame-Options") != "DENY" {
			t.Fatalf("consent page: %d %s", resp.StatusCode, page)
		}
		fields := FormFields(page)
		if fields.Get("client_id") != "app" || fields.Get("code_challenge") == "" {
			t.Fatalf("hidden fields %v", fields)
		}
		// Wrong credentials show the page again, with an error.
		form := cloneValues(fields)
		form.Set("username", "bob")
		form.Set("password", "wrong")
		form.Set("decision", "approve")
		resp, page = Do(t, http.MethodPost, base+"/authorize", form, nil)
		if resp.StatusCode != 401 || !strings.Contains(page, "Wrong username or password") {
			t.Errorf("wrong password: %d", resp.StatusCode)
		}
		form.Set("password", "pw-bob-123")
		resp, _ = Do(t, http.MethodPost, base+"/authorize", form, nil)
		loc, _ := url.Parse(resp.Header.Get("Location"))
		if resp.StatusCode != 302 || loc == nil || loc.Query().Get("code") == "" || loc.Query().Get("state") != "state-123" {
			t.Fatalf("approve: %d %v", resp.StatusCode, resp.Header)
		}
		tok, err := app.Exchange(ctx, loc.Query().Get("code"), oauth2.VerifierOption(verifier))
		if err != nil {
			t.Fatal(err)
		}
		if code, me := Me(t, base, tok.AccessToken); code != 200 || me["sub"] == "" || me["scope"] != "read write" {
			t.Errorf("/me: %d %v", code, me)
		}
		// The code is single use.
		if _, err := app.Exchange(ctx, loc.Query().Get("code"), oauth2.VerifierOption(verifier)); err == nil || !strings.Contains(err.Error(), "invalid_grant") {
			t.Errorf("second redemption: %v", err)
		}
		// ... and its replay revoked what the first redemption issued.
		if code, _ := Me(t, base, tok.AccessToken); code != 401 {
			t.Errorf("after the replay, the first token: %d, want 401", code)
		}

		// Deny.
		form.Set("decision", "deny")
		resp, _ = Do(t, http.MethodPost, base+"/authorize", form, nil)
		loc, _ = url.Parse(resp.Header.Get("Location"))
		if resp.StatusCode != 302 || loc.Query().Get("error") != "access_denied" || loc.Query().Get("state") != "state-123" {
			t.Errorf("deny: %d %v", resp.StatusCode, resp.Header)
		}
		// An unknown client is not redirected.
		resp, _ = Do(t, http.MethodGet, base+"/authorize?response_type=code&client_id=nobody", nil, nil)
		if resp.StatusCode < 400 || resp.Header.Get("Location") != "" {
			t.Errorf("unknown client: %d %v", resp.StatusCode, resp.Header)
		}
	})

	t.Run("refresh", func(t *testing.T) {
		first, err := app.PasswordCredentialsToken(ctx, "bob", "pw-bob-123")
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
		// Presenting the rotated token again revokes the whole family.
		if _, err := app.TokenSource(ctx, &expired).Token(); err == nil || !strings.Contains(err.Error(), "invalid_grant") {
			t.Errorf("reuse: %v", err)
		}
		if code, _ := Me(t, base, second.AccessToken); code != 401 {
			t.Errorf("after reuse, the family's token: %d, want 401", code)
		}
	})

	t.Run("introspection_and_revocation", func(t *testing.T) {
		tok, err := app.PasswordCredentialsToken(ctx, "bob", "pw-bob-123")
		if err != nil {
			t.Fatal(err)
		}
		auth := http.Header{"Authorization": {"Basic " + basic("app", appSecret)}}
		_, body := Do(t, http.MethodPost, base+"/introspect", url.Values{"token": {tok.AccessToken}}, auth)
		var in map[string]any
		json.Unmarshal([]byte(body), &in)
		if in["active"] != true || in["client_id"] != "app" || in["username"] != "bob" || in["scope"] != "read write" {
			t.Errorf("introspect: %s", body)
		}
		if resp, _ := Do(t, http.MethodPost, base+"/revoke", url.Values{"token": {tok.RefreshToken}, "token_type_hint": {"refresh_token"}}, auth); resp.StatusCode != 200 {
			t.Errorf("revoke: %d", resp.StatusCode)
		}
		_, body = Do(t, http.MethodPost, base+"/introspect", url.Values{"token": {tok.AccessToken}}, auth)
		if strings.TrimSpace(body) != `{"active":false}` {
			t.Errorf("after revoking its refresh token, the access token introspects as %s", body)
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
		tv := oauth2.Config{ClientID: "tv", Scopes: []string{"read"}, Endpoint: app.Endpoint}
		tv.Endpoint.AuthStyle = oauth2.AuthStyleInParams
		da, err := tv.DeviceAuth(ctx)
		if err != nil {
			t.Fatal(err)
		}
		resp, page := Do(t, http.MethodGet, da.VerificationURIComplete, nil, nil)
		if resp.StatusCode != 200 || !strings.Contains(page, `value="`+da.UserCode+`"`) {
			t.Fatalf("device page: %d", resp.StatusCode)
		}
		form := url.Values{"user_code": {strings.ToLower(da.UserCode)}, "username": {"bob"}, "password": {"pw-bob-123"}, "decision": {"approve"}}
		resp, page = Do(t, http.MethodPost, base+"/device", form, nil)
		if resp.StatusCode != 200 || !strings.Contains(page, "Device connected") {
			t.Fatalf("approve: %d %s", resp.StatusCode, page)
		}
		resp, page = Do(t, http.MethodPost, base+"/device", form, nil)
		if resp.StatusCode != 400 || !strings.Contains(page, "Already answered") {
			t.Errorf("approve again: %d", resp.StatusCode)
		}
		tok, err := tv.DeviceAccessToken(ctx, da)
		if err != nil {
			t.Fatal(err)
		}
		if code, me := Me(t, base, tok.AccessToken); code != 200 || me["client_id"] != "tv" || me["sub"] == "" {
			t.Errorf("/me: %d %v", code, me)
		}
	})
}

// basic is client_secret_basic's credentials: form-encoded, then base64
// (RFC 6749 §2.3.1).
func basic(id, secret string) string {
	return base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(id) + ":" + url.QueryEscape(secret)))
}

func cloneValues(v url.Values) url.Values {
	out := url.Values{}
	for k, vs := range v {
		out[k] = append([]string(nil), vs...)
	}
	return out
}

// CurlLines returns the curl command lines of a demo printout.
func CurlLines(out string) []string {
	var lines []string
	for _, l := range strings.Split(out, "\n") {
		l = strings.TrimSpace(l)
		if strings.HasPrefix(l, "curl ") || strings.HasPrefix(l, "TOKEN=") {
			lines = append(lines, l)
		}
	}
	return lines
}

// AcrossInstances checks that two servers on one database act as one: a
// code issued by a is redeemed at b, a token issued by b is introspected
// at a, and revoking it at a rejects it at b. The clients and user are
// those Flows expects.
func AcrossInstances(t *testing.T, a, b, appSecret string) {
	ctx := context.WithValue(context.Background(), oauth2.HTTPClient, noRedirect)
	conf := func(base string) oauth2.Config {
		return oauth2.Config{ClientID: "app", ClientSecret: appSecret, Scopes: []string{"read"}, RedirectURL: "http://127.0.0.1:9/cb",
			Endpoint: oauth2.Endpoint{AuthURL: base + "/authorize", TokenURL: base + "/token", AuthStyle: oauth2.AuthStyleInHeader}}
	}
	atA, atB := conf(a), conf(b)
	verifier := oauth2.GenerateVerifier()
	_, page := Do(t, http.MethodGet, atA.AuthCodeURL("s", oauth2.S256ChallengeOption(verifier)), nil, nil)
	form := FormFields(page)
	form.Set("username", "bob")
	form.Set("password", "pw-bob-123")
	form.Set("decision", "approve")
	resp, _ := Do(t, http.MethodPost, a+"/authorize", form, nil)
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || loc.Query().Get("code") == "" {
		t.Fatalf("authorize at a: %d %v", resp.StatusCode, resp.Header)
	}
	tok, err := atB.Exchange(ctx, loc.Query().Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatalf("a's code at b: %v", err)
	}
	auth := http.Header{"Authorization": {"Basic " + basic("app", appSecret)}}
	if _, body := Do(t, http.MethodPost, a+"/introspect", url.Values{"token": {tok.AccessToken}}, auth); !strings.Contains(body, `"active":true`) {
		t.Errorf("b's token introspected at a: %s", body)
	}
	if resp, _ := Do(t, http.MethodPost, a+"/revoke", url.Values{"token": {tok.AccessToken}}, auth); resp.StatusCode != 200 {
		t.Errorf("revoke at a: %d", resp.StatusCode)
	}
	if code, _ := Me(t, b, tok.AccessToken); code != 401 {
		t.Errorf("revoked at a, the token still works at b: %d", code)
	}
}

// Setup registers, with the CLI, the user and clients Flows expects, and
// returns the secrets of app and svc.
func Setup(t *testing.T, bin string, dbArgs ...string) (appSecret, svcSecret string) {
	t.Helper()
	run := func(args ...string) string { return Run(t, bin, append(append([]string{}, dbArgs...), args...)...) }
	run("user", "create", "--username", "bob", "--password", "pw-bob-123")
	out := run("client", "create", "--id", "app", "--name", "Test App",
		"--grant", "authorization_code", "--grant", "refresh_token", "--grant", "password",
		"--scope", "read", "--scope", "write", "--redirect-uri", "http://127.0.0.1:9/cb")
	m := regexp.MustCompile(`secret: (\S+)`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("client create printed no secret:\n%s", out)
	}
	svcSecret = "s3cr:t%+ x" // characters Basic authentication must form-encode
	if out := run("client", "create", "--id", "svc", "--secret", svcSecret, "--grant", "client_credentials", "--scope", "read"); strings.Contains(out, "secret:") {
		t.Errorf("a chosen secret was printed back:\n%s", out)
	}
	run("client", "create", "--id", "tv", "--public", "--grant", "urn:ietf:params:oauth:grant-type:device_code", "--scope", "read")
	return m[1], svcSecret
}

// CheckDemo runs the curl lines a new database's demo printed, exactly as
// printed, and checks each answers with a token, an identity or a device code.
func CheckDemo(t *testing.T, output string) {
	t.Helper()
	if _, err := exec.LookPath("curl"); err != nil {
		t.Fatal("the printed curl lines are part of the test: install curl")
	}
	lines := CurlLines(output)
	if len(lines) != 4 {
		t.Fatalf("want 4 curl lines in the demo, got %d:\n%s", len(lines), output)
	}
	for _, line := range lines {
		out, err := exec.Command("sh", "-c", line).CombinedOutput()
		if err != nil || !regexp.MustCompile(`"(access_token|client_id|device_code)":"[^"]+"`).Match(out) {
			t.Errorf("printed line %q: %v\n%s", line, err, out)
		}
	}
}
