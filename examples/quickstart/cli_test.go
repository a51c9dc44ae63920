package main

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/urfave/cli/v2"

	"github.com/oauthgen/oauthgen/examples/quickstart/oauthstore"
	"github.com/oauthgen/oauthgen/runtime"
)

// runCLI runs the command line with args and returns what it printed and
// its error.
func runCLI(args ...string) (string, error) {
	app := newApp()
	var out bytes.Buffer
	app.Writer, app.ErrWriter = &out, &out
	app.ExitErrHandler = func(*cli.Context, error) {} // return the error, do not exit
	err := app.RunContext(context.Background(), append([]string{name}, args...))
	return out.String(), err
}

// clients lists the clients of the database at db.
func clients(t *testing.T, db string) map[string]*oauthstore.Client {
	t.Helper()
	store, err := oauthstore.Open(db)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	list, err := store.ListClients(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]*oauthstore.Client{}
	for _, c := range list {
		m[c.ID] = c
	}
	return m
}

// TestClientCreateValidates is item 7 of issue 8 at the CLI: repeated
// flags are taken whole (a comma is no separator), and what
// runtime.ValidateClient refuses is never registered. --db works before
// the command and after it.
func TestClientCreateValidates(t *testing.T) {
	db := filepath.Join(t.TempDir(), "cli.db")
	if _, err := runCLI("--db", db, "client", "create", "--id", "spa", "--public", "--grant", "authorization_code", "--grant", "refresh_token",
		"--scope", "read", "--scope", "write",
		"--redirect-uri", "https://a.example/cb?a=1,2", "--redirect-uri", "http://127.0.0.1/cb"); err != nil {
		t.Fatal(err)
	}
	if _, err := runCLI("client", "create", "--id", "tv", "--public", "--grant", "device_code", "--db", db); err != nil {
		t.Fatal(err)
	}
	got := clients(t, db)
	if want := []string{"https://a.example/cb?a=1,2", "http://127.0.0.1/cb"}; got["spa"] == nil || !slices.Equal(got["spa"].RedirectURIs, want) {
		t.Fatalf("spa: %+v, want redirect URIs %q", got["spa"], want)
	}
	if s := got["spa"]; !slices.Equal(s.Scopes, []string{"read", "write"}) || !slices.Equal(s.GrantTypes, []string{"authorization_code", "refresh_token"}) {
		t.Errorf("scopes %q, grants %q", s.Scopes, s.GrantTypes)
	}
	if tv := got["tv"]; tv == nil || !slices.Equal(tv.GrantTypes, []string{runtime.GrantDeviceCode}) {
		t.Errorf("device_code alias, --db after the command: %+v", tv)
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
		{[]string{"--id", "x", "--grant", "implicit"}, "not enabled"},
		{[]string{"--id", "x", "--grant", "client_credentials", "--scope", "read write"}, "scope"},
		{[]string{"--id", "x", "--grant", "client_credentials", "--scope", "admin"}, "not known"},
		{[]string{"--id", "x", "--public", "--grant", "client_credentials"}, "client_credentials"},
		{[]string{"--id", "x", "--grant", "authorization_code"}, "redirect URI"},
		{[]string{"--id", "x", "--public", "--secret", "s", "--grant", "refresh_token"}, "a public client has no secret"},
	} {
		_, err := runCLI(append([]string{"client", "create", "--db", db}, c.args...)...)
		var exit cli.ExitCoder
		if !errors.As(err, &exit) || exit.ExitCode() != 2 || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: %v, want exit 2 about %q", c.args, err, c.want)
		}
	}
	if got := clients(t, db); len(got) != 2 {
		t.Errorf("registered despite the errors: %v", got)
	}
}
