package oauthserver

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/oauthgen/oauthgen/runtime"
)

// fakeBackend records the clients the CLI registers.
type fakeBackend struct {
	cfg     runtime.Config
	created []NewClient
}

func (b *fakeBackend) Migrate(context.Context) error { return nil }
func (b *fakeBackend) Config() runtime.Config        { return b.cfg }
func (b *fakeBackend) NewServer(func(*runtime.Config)) (*runtime.Server, error) {
	return nil, errors.New("not in this test")
}
func (b *fakeBackend) CreateClient(_ context.Context, c NewClient) (string, error) {
	b.created = append(b.created, c)
	return "", nil
}
func (b *fakeBackend) CreateUser(context.Context, string, string) (string, error) { return "u", nil }
func (b *fakeBackend) CountClients(context.Context) (int, error)                  { return len(b.created), nil }
func (b *fakeBackend) PurgeExpired(context.Context, time.Time) (int64, error)     { return 0, nil }
func (b *fakeBackend) Close() error                                               { return nil }

// runCLI runs `test client create args…` on b and returns the error.
func runCLI(b *fakeBackend, args ...string) error {
	app := App("test", "", nil, func(*cli.Context) (Backend, error) { return b, nil })
	var out bytes.Buffer
	app.Writer, app.ErrWriter = &out, &out
	app.ExitErrHandler = func(*cli.Context, error) {} // return the error, do not exit
	return app.RunContext(context.Background(), append([]string{"test", "client", "create"}, args...))
}

// TestClientCreateValidates is item 7 of issue 8 at the CLI: repeated
// flags are taken whole (a comma is no separator), and what
// runtime.ValidateClient refuses is never registered.
func TestClientCreateValidates(t *testing.T) {
	cfg := runtime.Config{
		AuthorizationCode: &runtime.AuthorizationCodeGrant{}, RefreshToken: &runtime.RefreshTokenGrant{},
		ClientCredentials: &runtime.ClientCredentialsGrant{}, DeviceCode: &runtime.DeviceCodeGrant{},
		Scopes: []string{"read", "write"},
	}
	b := &fakeBackend{cfg: cfg}
	err := runCLI(b, "--id", "spa", "--public", "--grant", "authorization_code", "--grant", "refresh_token",
		"--scope", "read", "--scope", "write",
		"--redirect-uri", "https://a.example/cb?a=1,2", "--redirect-uri", "http://127.0.0.1/cb")
	if err != nil {
		t.Fatal(err)
	}
	got := b.created[0]
	if want := []string{"https://a.example/cb?a=1,2", "http://127.0.0.1/cb"}; !slices.Equal(got.RedirectURIs, want) {
		t.Errorf("redirect URIs %q, want %q", got.RedirectURIs, want)
	}
	if !slices.Equal(got.Scopes, []string{"read", "write"}) || !slices.Equal(got.GrantTypes, []string{"authorization_code", "refresh_token"}) {
		t.Errorf("scopes %q, grants %q", got.Scopes, got.GrantTypes)
	}
	if err := runCLI(b, "--id", "tv", "--public", "--grant", "device_code"); err != nil || b.created[1].GrantTypes[0] != runtime.GrantDeviceCode {
		t.Errorf("device_code alias: %v %v", err, b.created)
	}

	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--id", "x", "--grant", "authorization_code", "--redirect-uri", "javascript:alert(1)"}, "redirect URI"},
		{[]string{"--id", "x", "--grant", "authorization_code", "--redirect-uri", "data:text/html,x"}, "redirect URI"},
		{[]string{"--id", "x", "--grant", "authorization_code", "--redirect-uri", "/cb"}, "redirect URI"},
		{[]string{"--id", "x", "--grant", "authorization_code", "--redirect-uri", "https://a.example/cb#f"}, "fragment"},
		{[]string{"--id", "x", "--grant", "authorization_code", "--redirect-uri", "not a uri"}, "redirect URI"},
		{[]string{"--id", "x", "--grant", "authorization_code", "--redirect-uri", "https://good.example/cb\thttps://evil.example/steal"}, "redirect URI"},
		{[]string{"--id", "x", "--grant", "authorization_code", "--redirect-uri", "https://a.example/cb "}, "redirect URI"},
		{[]string{"--id", "my app", "--grant", "client_credentials"}, "client id"},
		{[]string{"--id", "<script>", "--grant", "client_credentials"}, "client id"},
		{[]string{"--id", "x", "--grant", "magic"}, "unknown"},
		{[]string{"--id", "x", "--grant", "password"}, "not enabled"},
		{[]string{"--id", "x", "--grant", "client_credentials", "--scope", "read write"}, "scope"},
		{[]string{"--id", "x", "--grant", "client_credentials", "--scope", "admin"}, "not known"},
		{[]string{"--id", "x", "--public", "--grant", "client_credentials"}, "client_credentials"},
		{[]string{"--id", "x", "--grant", "authorization_code"}, "redirect URI"},
		{[]string{"--id", "x", "--public", "--secret", "s", "--grant", "refresh_token"}, "a public client has no secret"},
	} {
		err := runCLI(b, c.args...)
		var exit cli.ExitCoder
		if !errors.As(err, &exit) || exit.ExitCode() != 2 || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: %v, want exit 2 about %q", c.args, err, c.want)
		}
	}
	if len(b.created) != 2 {
		t.Errorf("registered despite the errors: %v", b.created[2:])
	}
}
