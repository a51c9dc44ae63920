package generator_test

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/oauthgen/oauthgen/generator"
	"github.com/oauthgen/oauthgen/schema"
)

const everyGrant = `version: 1
out: ./oauthstore
dialect: sqlite
grants:
  authorization_code: {pkce: required}
  client_credentials: {}
  password: {}
  refresh_token: {}
  device_code: {}
  extensions: [urn:example:grant-type:partner]
storage:
  extra_columns:
    clients:
      - {name: display_name, type: text, nullable: true}
    users:
      - {name: locale, type: text, default: en}
    access_tokens:
      - {name: ip_address, type: text, nullable: true}
    refresh_tokens:
      - {name: device_name, type: text, nullable: true}
`

// TestBuiltinColumnsMatchSchema: the declaration validates extra columns
// against schema.BuiltinColumns; the tables the generator builds must
// have exactly those columns, or a valid declaration could fail to migrate.
// OpenID Connect adds some (Declaration.Builtins).
func TestBuiltinColumnsMatchSchema(t *testing.T) {
	for _, yaml := range []string{everyGrant, everyGrant + "openid_connect: {}\n"} {
		d, err := schema.Parse("oauthgen.yaml", []byte(yaml))
		if err != nil {
			t.Fatal(err)
		}
		p, err := generator.BuildPlan(d, "example.com/app/oauthstore")
		if err != nil {
			t.Fatal(err)
		}
		for _, kind := range []string{schema.TableClients, schema.TableUsers, schema.TableAccessTokens, schema.TableRefreshTokens} {
			var builtin []string
			for _, c := range p.Table(kind).Columns {
				if !c.Extra {
					builtin = append(builtin, c.Name)
				}
			}
			want := d.Builtins(kind)
			slices.Sort(builtin)
			slices.Sort(want)
			if !slices.Equal(builtin, want) {
				t.Errorf("openid %v, %s: generator columns %v, schema's built-in columns %v", d.OpenID(), kind, builtin, want)
			}
		}
	}
}

// TestOnlyWhatGrantsNeed: a client_credentials-only declaration gets no
// code, refresh, device, family or user tables, queries or methods: only
// clients, access tokens and the limiter's counts.
func TestOnlyWhatGrantsNeed(t *testing.T) {
	p := newProject(t)
	p.mustGenerate("version: 1\nout: ./oauthstore\ndialect: postgres\ngrants:\n  client_credentials: {}\n")
	migration := p.read("migrations/00001_init.sql")
	if got := regexp.MustCompile(`CREATE TABLE (\w+)`).FindAllStringSubmatch(migration, -1); len(got) != 3 ||
		got[0][1] != "oauth_clients" || got[1][1] != "oauth_access_tokens" || got[2][1] != "oauth_limits" {
		t.Errorf("tables %v, want oauth_clients, oauth_access_tokens and oauth_limits", got)
	}
	unneeded := regexp.MustCompile(`Refresh|Family|Families|Code|Device|User`)
	for _, m := range regexp.MustCompile(`-- name: (\w+)`).FindAllStringSubmatch(p.read("queries.sql"), -1) {
		if unneeded.MatchString(m[1]) {
			t.Errorf("query %s is not needed by client_credentials", m[1])
		}
	}
	for _, m := range regexp.MustCompile(`func \(s \*Store\) (\w+)`).FindAllStringSubmatch(p.read("store.go"), -1) {
		if unneeded.MatchString(m[1]) {
			t.Errorf("method %s is not needed by client_credentials", m[1])
		}
	}
}

// TestImportPathFromGoMod: the Store imports its sqlc package by the path
// the nearest go.mod above the output gives it.
func TestImportPathFromGoMod(t *testing.T) {
	p := newProject(t)
	sub := filepath.Join(p.dir, "internal", "auth")
	if err := os.MkdirAll(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(sub, "oauthgen.yaml")
	if err := os.WriteFile(path, []byte("version: 1\nout: ./store\ndialect: sqlite\ngrants:\n  client_credentials: {}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := generator.Generate(path, generator.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(out.Files["store.go"]), `"example.com/app/internal/auth/store/sqlcdb"`) {
		t.Errorf("store.go does not import example.com/app/internal/auth/store/sqlcdb")
	}

	outside := t.TempDir()
	path = filepath.Join(outside, "oauthgen.yaml")
	os.WriteFile(path, []byte("version: 1\ndialect: sqlite\ngrants:\n  client_credentials: {}\n"), 0o644)
	if _, err := generator.Generate(path, generator.Options{}); err == nil || !strings.Contains(err.Error(), "no go.mod") {
		t.Errorf("outside a module: got %v, want an error about go.mod", err)
	}
}

// TestMigrationsAreNeverRewritten: an edited, missing or foreign file in
// migrations/ stops generation with a message saying what to do.
func TestMigrationsAreNeverRewritten(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(dir string) error
		want   string
	}{
		{"edited", func(dir string) error {
			return os.WriteFile(filepath.Join(dir, "00001_init.sql"), []byte("-- edited\n"), 0o644)
		}, "edited after it was generated"},
		{"missing", func(dir string) error { return os.Remove(filepath.Join(dir, "00001_init.sql")) }, "missing"},
		{"foreign", func(dir string) error {
			return os.WriteFile(filepath.Join(dir, "00002_mine.sql"), []byte("-- +goose Up\n"), 0o644)
		}, "not written by oauthgen"},
		{"lock lost", func(dir string) error { return os.Remove(filepath.Join(dir, "..", "oauthgen.lock")) }, "restore it from version control"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := newProject(t)
			decl := "version: 1\nout: ./oauthstore\ndialect: sqlite\ngrants:\n  client_credentials: {}\n"
			p.mustGenerate(decl)
			if err := tc.change(filepath.Join(p.dir, "oauthstore", "migrations")); err != nil {
				t.Fatal(err)
			}
			if _, err := p.generate(decl); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

// TestNoSchemaChangeNoMigration: lifetimes and scopes are configuration;
// changing them regenerates the Store but adds no migration.
func TestNoSchemaChangeNoMigration(t *testing.T) {
	p := newProject(t)
	base := "version: 1\nout: ./oauthstore\ndialect: mysql\ngrants:\n  client_credentials: {}\n"
	p.mustGenerate(base)
	if m := p.mustGenerate(base + "lifetimes:\n  access_token: 15m\nscopes:\n  known: [a, b]\n"); m != "" {
		t.Fatalf("a lifetime and scopes added migration %s", m)
	}
	if !strings.Contains(p.read("store.go"), "15 * time.Minute") {
		t.Error("store.go does not carry the new lifetime")
	}
}

// BenchmarkGenerate generates the every-grant declaration from scratch:
// sqlc's parse and code generation, the plan, and jennifer.
func BenchmarkGenerate(b *testing.B) {
	for _, dialect := range []string{"sqlite", "postgres", "mysql"} {
		b.Run(dialect, func(b *testing.B) {
			dir := b.TempDir()
			os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module example.com/app\n"), 0o644)
			path := filepath.Join(dir, "oauthgen.yaml")
			os.WriteFile(path, []byte(strings.Replace(everyGrant, "dialect: sqlite", "dialect: "+dialect, 1)), 0o644)
			for b.Loop() {
				if _, err := generator.Generate(path, generator.Options{}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
