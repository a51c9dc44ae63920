package generator_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/oauthgen/oauthgen/generator"
)

// Migrations are applied to databases in golden/storetest, on the drivers
// generated stores use (mattn/go-sqlite3 for SQLite): sqlc links ncruces's
// SQLite driver into this package under the same driver name.

// project is a scratch module folder a declaration is generated into.
type project struct {
	t   *testing.T
	dir string
}

func newProject(t *testing.T) *project {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module example.com/app\n\ngo 1.26\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return &project{t: t, dir: dir}
}

// generate writes the declaration and generates it; it returns the new
// migration's name, or the error.
func (p *project) generate(decl string) (string, error) {
	p.t.Helper()
	path := filepath.Join(p.dir, "oauthgen.yaml")
	if err := os.WriteFile(path, []byte(decl), 0o644); err != nil {
		p.t.Fatal(err)
	}
	out, err := generator.Generate(path, generator.Options{})
	if err != nil {
		return "", err
	}
	if err := out.Write(); err != nil {
		p.t.Fatal(err)
	}
	return out.Migration, nil
}

func (p *project) mustGenerate(decl string) string {
	p.t.Helper()
	m, err := p.generate(decl)
	if err != nil {
		p.t.Fatal(err)
	}
	return m
}

func (p *project) read(name string) string {
	p.t.Helper()
	b, err := os.ReadFile(filepath.Join(p.dir, "oauthstore", filepath.FromSlash(name)))
	if err != nil {
		p.t.Fatal(err)
	}
	return string(b)
}

const evolveBase = `version: 1
out: ./oauthstore
dialect: sqlite
grants:
  client_credentials: {}
  authorization_code: {}
  refresh_token: {}
storage:
  extra_columns:
    clients:
`

// TestRefusedChanges: changes that could lose data are refused with an
// error at the declaration line that asks for them, and nothing is written.
func TestRefusedChanges(t *testing.T) {
	for _, tc := range []struct {
		name, from, to, want string
	}{
		{"type change", "      - {name: tier, type: text, nullable: true}\n", "      - {name: tier, type: int64, nullable: true}\n",
			"oauthgen.yaml:11:22: storage.extra_columns.clients[0].type: column clients.tier is text in the database and cannot be changed to int64 safely"},
		{"not null without default", "      - {name: tier, type: text, nullable: true}\n", "      - {name: tier, type: text, nullable: true}\n      - {name: score, type: int64}\n",
			"oauthgen.yaml:12:9: storage.extra_columns.clients[1]: column clients.score is new on a table that may hold rows: give it a default or make it nullable"},
		{"nullable to not null", "      - {name: tier, type: text, nullable: true}\n", "      - {name: tier, type: text, default: free}\n",
			"column clients.tier may hold NULLs in the database and cannot become NOT NULL safely"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := newProject(t)
			p.mustGenerate(evolveBase + tc.from)
			before := p.read("oauthgen.lock")
			t.Chdir(p.dir)
			if err := os.WriteFile("oauthgen.yaml", []byte(evolveBase+tc.to), 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := generator.Generate("oauthgen.yaml", generator.Options{})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got error %v, want one containing %q", err, tc.want)
			}
			if after := p.read("oauthgen.lock"); after != before {
				t.Error("a refused change rewrote the lock")
			}
		})
	}
}
