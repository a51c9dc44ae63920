package runtime_test

import (
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/oauthgen/oauthgen/runtime"
)

// TestValidateRedirectURI is what a client may register as a redirect URI:
// https, http on loopback (RFC 8252 §7.3), private-use schemes with a dot
// (RFC 8252 §7.1); never script, data or file URIs, relative URIs,
// fragments, user information, whitespace or controls.
func TestValidateRedirectURI(t *testing.T) {
	for _, u := range []string{
		"https://app.example/cb",
		"https://app.example/cb?a=1,2&b=%20",
		"https://app.example:8443/cb",
		"https://a/cb",
		"http://127.0.0.1/cb",
		"http://127.0.0.1:51004/cb",
		"http://[::1]/cb",
		"http://localhost:3000/cb",
		"com.example.app:/oauth2redirect",
		"com.example.app:/oauth2redirect?x=1",
		"https://xn--bcher-kva.example/cb",
	} {
		if err := runtime.ValidateRedirectURI(u); err != nil {
			t.Errorf("%q refused: %v", u, err)
		}
	}
	for _, u := range []string{
		"",
		"javascript:alert(1)",
		"javascript:alert(1)//https://app.example/cb",
		"JavaScript:alert(1)",
		"data:text/html,<script>alert(1)</script>",
		"file:///etc/passwd",
		"vbscript:msgbox(1)",
		"blob:https://app.example/uuid",
		"about:blank",
		"/relative",
		"//evil.example/cb",
		"cb",
		"not a uri",
		"https://app.example/cb#frag",
		"https://app.example/cb#",
		"https://good.example/cb\thttps://evil.example/steal",
		"https://good.example/cb https://evil.example/steal",
		"https://good.example/cb\nhttps://evil.example/steal",
		"https://app.example/cb\x00",
		"https://app.example/c\x7fb",
		"https://app.example/cb\u00a0",
		"https://app.example/ü",
		"https://good.example@evil.example/cb",
		"https://user:pw@app.example/cb",
		"https:///cb",
		"https:app.example/cb",
		"HTTPS://app.example/cb",
		"http://app.example/cb",
		"http://192.0.2.1/cb",
		"http://127.0.0.1:/cb",
		"http://127.0.0.1:0/cb",
		"http://127.0.0.1:65536/cb",
		"http://127.0.0.1:99999999999/cb",
		"https://app.example:x/cb",
		"myapp:/cb", // private-use schemes must be reverse DNS names
		"https://app.example/" + strings.Repeat("a", runtime.MaxRedirectURILength),
	} {
		if err := runtime.ValidateRedirectURI(u); err == nil {
			t.Errorf("%q accepted", u)
		}
	}
}

// TestValidateClient is item 7 of issue 8: one validator refuses what
// CreateClient, ImportClient and the CLI used to store.
func TestValidateClient(t *testing.T) {
	good := func() *runtime.Client {
		return &runtime.Client{
			ID: "app-1_x.y~z", Name: `My "App" <b>`, SecretHash: runtime.HashToken("s"),
			RedirectURIs: []string{"https://app.example/cb", "http://127.0.0.1/cb", "com.example.app:/cb"},
			GrantTypes:   []string{runtime.GrantAuthorizationCode, runtime.GrantRefreshToken, runtime.GrantClientCredentials, "urn:example:grant-type:partner"},
			Scopes:       []string{"read", "write", "api:admin", "https://api.example/x"},
		}
	}
	if err := runtime.ValidateClient(good(), nil); err != nil {
		t.Fatalf("a good client refused: %v", err)
	}
	cfg := &runtime.Config{
		AuthorizationCode: &runtime.AuthorizationCodeGrant{}, RefreshToken: &runtime.RefreshTokenGrant{},
		ClientCredentials: &runtime.ClientCredentialsGrant{},
		Extensions:        map[string]runtime.ExtensionGrant{"urn:example:grant-type:partner": nil},
	}
	if err := runtime.ValidateClient(good(), cfg); err != nil {
		t.Fatalf("a good client refused with its grants enabled: %v", err)
	}

	for _, c := range []struct {
		name   string
		change func(*runtime.Client)
		cfg    *runtime.Config
		want   string
	}{
		{"id_empty", func(c *runtime.Client) { c.ID = "" }, nil, "client id"},
		{"id_space", func(c *runtime.Client) { c.ID = "my app" }, nil, "client id"},
		{"id_script", func(c *runtime.Client) { c.ID = "<script>" }, nil, "client id"},
		{"id_control", func(c *runtime.Client) { c.ID = "a\x00b" }, nil, "client id"},
		{"id_non_ascii", func(c *runtime.Client) { c.ID = "clïent" }, nil, "client id"},
		{"id_too_long", func(c *runtime.Client) { c.ID = strings.Repeat("a", runtime.MaxClientIDLength+1) }, nil, "client id"},
		{"name_control", func(c *runtime.Client) { c.Name = "a\nb" }, nil, "client name"},
		{"name_too_long", func(c *runtime.Client) { c.Name = strings.Repeat("n", runtime.MaxClientNameLength+1) }, nil, "client name"},
		{"redirect_javascript", func(c *runtime.Client) { c.RedirectURIs = []string{"javascript:alert(1)"} }, nil, "redirect URI"},
		{"redirect_two_in_one", func(c *runtime.Client) {
			c.RedirectURIs = []string{"https://good.example/cb\thttps://evil.example/steal"}
		}, nil, "redirect URI"},
		{"redirect_duplicate", func(c *runtime.Client) { c.RedirectURIs = []string{"https://a.example/cb", "https://a.example/cb"} }, nil, "twice"},
		{"grant_unknown", func(c *runtime.Client) { c.GrantTypes = []string{"magic"} }, nil, "unknown"},
		{"grant_empty", func(c *runtime.Client) { c.GrantTypes = []string{""} }, nil, "unknown"},
		{"grant_relative_uri", func(c *runtime.Client) { c.GrantTypes = []string{"grant-type:x y"} }, nil, "unknown"},
		{"grant_not_enabled", func(c *runtime.Client) { c.GrantTypes = []string{runtime.GrantPassword} }, cfg, "not enabled"},
		{"scope_space", func(c *runtime.Client) { c.Scopes = []string{"read write"} }, nil, "scope"},
		{"scope_quote", func(c *runtime.Client) { c.Scopes = []string{`re"ad`} }, nil, "scope"},
		{"scope_backslash", func(c *runtime.Client) { c.Scopes = []string{`re\ad`} }, nil, "scope"},
		{"scope_empty", func(c *runtime.Client) { c.Scopes = []string{""} }, nil, "scope"},
		{"scope_unknown", func(c *runtime.Client) { c.Scopes = []string{"admin"} }, &runtime.Config{
			AuthorizationCode: &runtime.AuthorizationCodeGrant{}, RefreshToken: &runtime.RefreshTokenGrant{}, ClientCredentials: &runtime.ClientCredentialsGrant{},
			Extensions: cfg.Extensions, Scopes: []string{"read"},
		}, "not known"},
		{"public_client_credentials", func(c *runtime.Client) { c.SecretHash = "" }, nil, "client_credentials"},
		{"authorization_code_without_redirect", func(c *runtime.Client) { c.RedirectURIs = nil }, nil, "need a redirect URI"},
		{"negative_lifetime", func(c *runtime.Client) { c.AccessTokenLifetime = -1 }, nil, "lifetime"},
	} {
		t.Run(c.name, func(t *testing.T) {
			cl := good()
			c.change(cl)
			err := runtime.ValidateClient(cl, c.cfg)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("got %v, want an error about %q", err, c.want)
			}
		})
	}

	// A long bad value is quoted as a short prefix, not echoed whole.
	cl := good()
	cl.Scopes = []string{strings.Repeat("\"", 60<<10)}
	if err := runtime.ValidateClient(cl, nil); err == nil || len(err.Error()) > 500 {
		t.Errorf("error of %d bytes", len(err.Error()))
	}
}

// TestAuthorizeRefusesUnsafeStoredRedirectURI: a client stored past
// ValidateClient (imported data) with a script, data or file URI, or two
// URIs in one, is never redirected to: the errors that would go to the
// client (here a missing response_type) are shown to the user instead.
func TestAuthorizeRefusesUnsafeStoredRedirectURI(t *testing.T) {
	for _, uri := range []string{
		"javascript:alert(document.domain)//",
		"data:text/html,<script>alert(1)</script>",
		"file:///etc/passwd",
		"https://good.example/cb\thttps://evil.example/steal",
		"http://app.example/cb",
	} {
		t.Run(uri[:10], func(t *testing.T) {
			f := newFixture(t)
			if err := f.store.AddClient(&runtime.Client{ID: "imported-app", RedirectURIs: []string{uri},
				GrantTypes: []string{runtime.GrantAuthorizationCode}}); err != nil {
				t.Fatal(err)
			}
			for _, p := range []url.Values{
				codeParams("client_id", "imported-app", "redirect_uri", "-", "response_type", "-"),
				codeParams("client_id", "imported-app", "redirect_uri", uri),
			} {
				res := f.serve(authorizeGet(p))
				if res.Status != http.StatusBadRequest || res.Header.Get("Location") != "" || res.str("error") != "invalid_client" {
					t.Errorf("%d Location %q %s", res.Status, res.Header.Get("Location"), res.Raw)
				}
			}
		})
	}
}

// FuzzValidateClient checks what ValidateClient lets through: every
// accepted redirect URI is an absolute https, loopback http or dotted
// private-use URI without fragment, user information, whitespace or
// controls, and survives the old space-joined list encoding as one URI;
// ids, grant types and scopes keep their syntax; errors stay short per
// problem. It must never panic.
func FuzzValidateClient(f *testing.F) {
	for _, s := range []struct {
		id, name, redirect, grant, scope string
		public                           bool
	}{
		{"app", "App", "https://app.example/cb", runtime.GrantAuthorizationCode, "read", false},
		{"spa", "", "http://127.0.0.1:8080/cb", runtime.GrantAuthorizationCode, "openid", true},
		{"native", "N", "com.example.app:/cb", runtime.GrantAuthorizationCode, "a:b", true},
		{"tv", "TV", "", runtime.GrantDeviceCode, "read", true},
		{"svc", "", "", runtime.GrantClientCredentials, "read", true},
		{"ext", "", "", "urn:example:grant-type:partner", "x", false},
		{"x", "", "javascript:alert(1)", runtime.GrantImplicit, "read", false},
		{"x", "", "https://good.example/cb\thttps://evil.example/steal", runtime.GrantAuthorizationCode, "read write", false},
		{"<script>", "\x00", "data:text/html,x", "magic", "\"", false},
		{"a b", "", "https://a@b/#c", "", "", false},
		{"x", "", "http://[::1]:0/cb", runtime.GrantAuthorizationCode, "", false},
		{"x", "", "HTTP://localhost/cb", runtime.GrantAuthorizationCode, "", false},
		{"x", "", "https://app.example:99999999999/cb", runtime.GrantAuthorizationCode, "", false},
		{"x", "", "a.b:c d", "a:b", "s", false},
		{"x", "", "https://[::1%25en0]/cb", runtime.GrantAuthorizationCode, "", false},
	} {
		f.Add(s.id, s.name, s.redirect, s.grant, s.scope, s.public)
	}
	f.Fuzz(func(t *testing.T, id, name, redirect, grant, scope string, public bool) {
		c := &runtime.Client{ID: id, Name: name, SecretHash: "h"}
		if public {
			c.SecretHash = ""
		}
		// Several values per list, separated as a CLI user might try to.
		for _, u := range strings.Split(redirect, "\n") {
			c.RedirectURIs = append(c.RedirectURIs, u)
		}
		c.GrantTypes = strings.Split(grant, "\n")
		c.Scopes = strings.Split(scope, "\n")
		err := runtime.ValidateClient(c, nil)
		if err != nil {
			for _, line := range strings.Split(err.Error(), "\n") {
				if len(line) > 600 {
					t.Fatalf("an error line of %d bytes", len(line))
				}
			}
			return
		}
		if id == "" || strings.ContainsAny(id, " <>\"'`") || !isPrintableASCII(id) {
			t.Fatalf("client id %q accepted", id)
		}
		if !utf8.ValidString(name) || strings.ContainsFunc(name, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
			t.Fatalf("name %q accepted", name)
		}
		for _, u := range c.RedirectURIs {
			if fields := strings.Fields(u); len(fields) != 1 || fields[0] != u || !isPrintableASCII(u) || strings.Contains(u, "#") {
				t.Fatalf("redirect URI %q accepted", u)
			}
			p, err := url.Parse(u)
			if err != nil || !p.IsAbs() || p.User != nil {
				t.Fatalf("redirect URI %q accepted: %v", u, err)
			}
			switch p.Scheme {
			case "https":
				if p.Hostname() == "" {
					t.Fatalf("https redirect URI without host %q accepted", u)
				}
			case "http":
				if h := p.Hostname(); h != "localhost" && !net.ParseIP(h).IsLoopback() {
					t.Fatalf("http redirect URI on %q accepted: %q", h, u)
				}
			default:
				if !strings.Contains(p.Scheme, ".") {
					t.Fatalf("scheme %q accepted: %q", p.Scheme, u)
				}
			}
		}
		for _, g := range c.GrantTypes {
			if g == "" || strings.ContainsFunc(g, func(r rune) bool { return r <= 0x20 || r >= 0x7f }) {
				t.Fatalf("grant type %q accepted", g)
			}
		}
		for _, s := range c.Scopes {
			if s == "" || strings.ContainsAny(s, " \"\\") || !isPrintableASCII(s) {
				t.Fatalf("scope %q accepted", s)
			}
		}
	})
}

func isPrintableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] <= 0x20 || s[i] >= 0x7f {
			return false
		}
	}
	return true
}
