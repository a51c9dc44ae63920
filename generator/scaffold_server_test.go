package generator

import (
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/oauthgen/oauthgen/schema"
)

var updateExamples = flag.Bool("update-examples", false, "rewrite examples/quickstart and examples/postgres from the scaffold")

// exampleServers are the examples that are scaffolded servers, and how.
var exampleServers = []struct {
	dir  string
	opts ServerOptions
}{
	{"quickstart", ServerOptions{Dialect: schema.SQLite, ImportPath: "github.com/oauthgen/oauthgen/examples/quickstart", Features: Features{OpenID: true}}},
	{"postgres", ServerOptions{Dialect: schema.Postgres, ImportPath: "github.com/oauthgen/oauthgen/examples/postgres", Features: Features{AccessTokens: "jwt", SigningAlgorithm: schema.AlgES256}}},
}

// TestScaffoldServerIsTheExamples: examples/quickstart and
// examples/postgres are exactly what `oauthgen init --server` writes (with
// their generated oauthstore, README and tests beside it), so the examples
// and the scaffold cannot drift. -update-examples rewrites them.
func TestScaffoldServerIsTheExamples(t *testing.T) {
	for _, ex := range exampleServers {
		t.Run(ex.dir, func(t *testing.T) {
			dir := filepath.Join("..", "examples", ex.dir)
			files, err := ScaffoldServer(ex.opts)
			if err != nil {
				t.Fatal(err)
			}
			var paths []string
			for _, f := range files {
				paths = append(paths, f.Path)
				p := filepath.Join(dir, filepath.FromSlash(f.Path))
				if *updateExamples {
					if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
						t.Fatal(err)
					}
					if err := os.WriteFile(p, f.Data, 0o644); err != nil {
						t.Fatal(err)
					}
					continue
				}
				got, err := os.ReadFile(p)
				if err != nil {
					t.Errorf("%v (go test ./generator -run TestScaffoldServerIsTheExamples -update-examples writes it)", err)
					continue
				}
				if diff := cmp.Diff(string(f.Data), string(got)); diff != "" {
					t.Errorf("%s differs from the scaffold (-scaffold +example); edit templates/server, then -update-examples:\n%s", p, diff)
				}
			}
			// A file that looks like scaffold output but that the scaffold
			// does not write is a leftover.
			for _, pattern := range []string{"*.go", "*.yaml", "pages/*"} {
				found, _ := filepath.Glob(filepath.Join(dir, pattern))
				for _, p := range found {
					rel := filepath.ToSlash(strings.TrimPrefix(p, dir+string(filepath.Separator)))
					if !strings.HasSuffix(rel, "_test.go") && !slices.Contains(paths, rel) {
						t.Errorf("%s: not written by the scaffold", p)
					}
				}
			}
		})
	}
}

// TestScaffoldServerGrants: every grant set a declaration allows gives Go
// that parses and is gofmt'd (ScaffoldServer formats it, which fails on a
// syntax error), with the pages the grants need; grants with pages but no
// users are refused with the fix.
func TestScaffoldServerGrants(t *testing.T) {
	for _, c := range []struct {
		grants []string
		pages  []string
	}{
		{[]string{"client_credentials"}, nil},
		{[]string{"password"}, nil},
		{[]string{"password", "refresh_token"}, nil},
		{[]string{"authorization_code", "password"}, []string{"pages/callback.html", "pages/consent.html"}},
		{[]string{"device_code", "password"}, []string{"pages/device.html"}},
		{[]string{"implicit", "password", "client_credentials"}, []string{"pages/consent.html"}},
		{nil, []string{"pages/callback.html", "pages/consent.html", "pages/device.html"}},
	} {
		for _, dialect := range schema.Dialects() {
			files, err := ScaffoldServer(ServerOptions{Dialect: dialect, Grants: c.grants, ImportPath: "example.com/auth"})
			if err != nil {
				t.Errorf("%s %v: %v", dialect, c.grants, err)
				continue
			}
			var pages []string
			for _, f := range files {
				if strings.HasPrefix(f.Path, "pages/") && f.Path != "pages/layout.html" && f.Path != "pages/message.html" {
					pages = append(pages, f.Path)
				}
			}
			if !slices.Equal(pages, c.pages) {
				t.Errorf("%s %v: pages %v, want %v", dialect, c.grants, pages, c.pages)
			}
		}
	}
	_, err := ScaffoldServer(ServerOptions{Dialect: schema.SQLite, Grants: []string{"authorization_code"}, ImportPath: "example.com/auth"})
	if err == nil || !strings.Contains(err.Error(), "--grant password") {
		t.Errorf("authorization_code without users: %v", err)
	}
}

// TestScaffoldServerFeatures: --openid declares openid_connect with the
// email column and scopes, and the CLI's --email; --access-tokens jwt
// declares the format; both are in the command line main.go names, and
// --openid without authorization_code is refused with the fix.
func TestScaffoldServerFeatures(t *testing.T) {
	files, err := ScaffoldServer(ServerOptions{Dialect: schema.MySQL, ImportPath: "example.com/auth", Features: Features{OpenID: true, AccessTokens: "jwt"}})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, f := range files {
		got[f.Path] = string(f.Data)
	}
	d, err := schema.Parse("oauthgen.yaml", []byte(got["oauthgen.yaml"]))
	if err != nil {
		t.Fatal(err)
	}
	if d.OpenIDConnect == nil || !d.JWTAccessTokens() || !slices.Contains(d.Scopes.Known, "openid") || len(d.Storage.ExtraColumns["users"]) != 1 {
		t.Errorf("declaration: openid_connect %v, jwt %v, scopes %v, users columns %v", d.OpenIDConnect, d.JWTAccessTokens(), d.Scopes.Known, d.Storage.ExtraColumns["users"])
	}
	for file, want := range map[string]string{
		"main.go": "`oauthgen init --server --dialect mysql --openid --access-tokens jwt`",
		"keys.go": "no key-encryption key was given",
		"demo.go": "/userinfo",
	} {
		if !strings.Contains(got[file], want) {
			t.Errorf("%s lacks %q", file, want)
		}
	}
	if !strings.Contains(got["main.go"], `Name: "email"`) {
		t.Error("user create has no --email with OpenID Connect")
	}
	_, err = ScaffoldServer(ServerOptions{Dialect: schema.SQLite, Grants: []string{"password", "client_credentials"}, ImportPath: "example.com/auth", Features: Features{OpenID: true}})
	if err == nil || !strings.Contains(err.Error(), "--grant authorization_code") {
		t.Errorf("OpenID without authorization_code: %v", err)
	}
	if _, err := ScaffoldFeatures(schema.SQLite, nil, Features{AccessTokens: "jwe"}); err == nil {
		t.Error("an unknown access token format was accepted")
	}
}

// TestScaffoldSigningAlgorithm: --signing-algorithm declares
// signing_keys.algorithm for JWT access tokens, and is refused where it
// would break a verifier (OpenID Connect needs RS256) or sign nothing.
func TestScaffoldSigningAlgorithm(t *testing.T) {
	out, err := ScaffoldFeatures(schema.Postgres, nil, Features{AccessTokens: "jwt", SigningAlgorithm: schema.AlgES256})
	if err != nil {
		t.Fatal(err)
	}
	d, err := schema.Parse("oauthgen.yaml", out)
	if err != nil {
		t.Fatal(err)
	}
	if d.SigningKeys == nil || d.SigningKeys.Algorithm != schema.AlgES256 {
		t.Errorf("signing_keys %+v, want algorithm ES256", d.SigningKeys)
	}
	for _, f := range []Features{
		{OpenID: true, AccessTokens: "jwt", SigningAlgorithm: schema.AlgES256},
		{SigningAlgorithm: schema.AlgEdDSA},
		{AccessTokens: "jwt", SigningAlgorithm: "HS256"},
	} {
		grants := []string{schema.GrantAuthorizationCode, schema.GrantPassword}
		if _, err := ScaffoldFeatures(schema.SQLite, grants, f); err == nil {
			t.Errorf("%+v: accepted", f)
		}
	}
}
