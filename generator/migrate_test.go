package generator_test

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pressly/goose/v3"

	"github.com/oauthgen/oauthgen/generator"
)

// The generator's own tests open SQLite through the driver sqlc links in
// (ncruces/go-sqlite3, registered as "sqlite3"): the generated stores' mattn
// driver registers the same name, so it cannot be linked here.

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

// sqliteDB opens a SQLite file with foreign keys on, as generated stores do.
func sqliteDB(t *testing.T) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite3", "file:"+filepath.Join(t.TempDir(), "app.db")+"?_pragma=foreign_keys(1)")
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(1) // as the generated Store's writer
	t.Cleanup(func() { db.Close() })
	return db
}

// migrate applies the project's migrations up (or one down).
func (p *project) migrate(db *sql.DB, up bool) {
	p.t.Helper()
	prov, err := goose.NewProvider(goose.DialectSQLite3, db, os.DirFS(filepath.Join(p.dir, "oauthstore", "migrations")),
		goose.WithTableName("oauth_goose_db_version"))
	if err != nil {
		p.t.Fatal(err)
	}
	if up {
		_, err = prov.Up(context.Background())
	} else {
		_, err = prov.Down(context.Background())
	}
	if err != nil {
		p.t.Fatal(err)
	}
}

func exec(t *testing.T, db *sql.DB, stmts ...string) {
	t.Helper()
	for _, s := range stmts {
		if _, err := db.Exec(s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
}

func count(t *testing.T, db *sql.DB, query string) int {
	t.Helper()
	var n int
	if err := db.QueryRow(query).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
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

// TestSQLiteRebuildKeepsReferencingRows changes what SQLite can only
// change by rebuilding a table other tables reference (a column default):
// the rows that reference it must survive, not cascade away.
func TestSQLiteRebuildKeepsReferencingRows(t *testing.T) {
	p := newProject(t)
	p.mustGenerate(evolveBase + "      - {name: tier, type: text, default: free}\n")
	db := sqliteDB(t)
	p.migrate(db, true)
	exec(t, db,
		`INSERT INTO oauth_clients (id, secret_hash, name, redirect_uris, grant_types, scopes, created_at) VALUES ('c1', '', '', '', '', '', '2026-01-01 00:00:00')`,
		`INSERT INTO oauth_families (id, client_id, created_at) VALUES ('f1', 'c1', '2026-01-01 00:00:00')`,
		`INSERT INTO oauth_access_tokens (hash, client_id, scopes, family_id, issued_at, expires_at) VALUES ('h1', 'c1', '', 'f1', '2026-01-01 00:00:00', '2026-01-01 01:00:00')`,
		`INSERT INTO oauth_refresh_tokens (hash, client_id, scopes, family_id, issued_at, expires_at) VALUES ('r1', 'c1', '', 'f1', '2026-01-01 00:00:00', '2026-01-01 01:00:00')`,
	)

	name := p.mustGenerate(evolveBase + "      - {name: tier, type: text, default: pro}\n")
	sqlText := p.read("migrations/" + name)
	for _, want := range []string{"-- +goose NO TRANSACTION", "PRAGMA foreign_keys = OFF;", "CREATE TABLE oauth_clients_new"} {
		if !strings.Contains(sqlText, want) {
			t.Fatalf("%s does not contain %q:\n%s", name, want, sqlText)
		}
	}
	p.migrate(db, true)
	for table, want := range map[string]int{"oauth_clients": 1, "oauth_families": 1, "oauth_access_tokens": 1, "oauth_refresh_tokens": 1} {
		if got := count(t, db, "SELECT COUNT(*) FROM "+table); got != want {
			t.Errorf("after the rebuild, %s has %d rows, want %d", table, got, want)
		}
	}
	if n := count(t, db, "SELECT COUNT(*) FROM pragma_foreign_key_check"); n != 0 {
		t.Errorf("foreign key check finds %d violations", n)
	}
	exec(t, db, `INSERT INTO oauth_clients (id, secret_hash, name, redirect_uris, grant_types, scopes, created_at) VALUES ('c2', '', '', '', '', '', '2026-01-01 00:00:00')`)
	if n := count(t, db, "SELECT COUNT(*) FROM oauth_clients WHERE id = 'c2' AND tier = 'pro'"); n != 1 {
		t.Errorf("the new default does not apply")
	}
	if n := count(t, db, "SELECT COUNT(*) FROM pragma_foreign_keys"); n != 1 {
		t.Errorf("foreign keys are off after the migration")
	}

	p.migrate(db, false) // Down rebuilds back, and keeps the rows too
	if got := count(t, db, "SELECT COUNT(*) FROM oauth_access_tokens"); got != 1 {
		t.Errorf("after down, oauth_access_tokens has %d rows, want 1", got)
	}
	exec(t, db, `INSERT INTO oauth_clients (id, secret_hash, name, redirect_uris, grant_types, scopes, created_at) VALUES ('c3', '', '', '', '', '', '2026-01-01 00:00:00')`)
	if n := count(t, db, "SELECT COUNT(*) FROM oauth_clients WHERE id = 'c3' AND tier = 'free'"); n != 1 {
		t.Errorf("after down, the old default does not apply")
	}
}

// TestSQLiteAddColumnWithNowDefault: SQLite's ADD COLUMN refuses a
// non-constant default, so the table is rebuilt instead.
func TestSQLiteAddColumnWithNowDefault(t *testing.T) {
	p := newProject(t)
	p.mustGenerate(evolveBase + "      - {name: tier, type: text, default: free}\n")
	db := sqliteDB(t)
	p.migrate(db, true)
	exec(t, db, `INSERT INTO oauth_clients (id, secret_hash, name, redirect_uris, grant_types, scopes, created_at) VALUES ('c1', '', '', '', '', '', '2026-01-01 00:00:00')`)
	p.mustGenerate(evolveBase + "      - {name: tier, type: text, default: free}\n      - {name: seen_at, type: time, default: now}\n")
	p.migrate(db, true)
	if n := count(t, db, "SELECT COUNT(*) FROM oauth_clients WHERE seen_at IS NOT NULL"); n != 1 {
		t.Errorf("seen_at not filled in on the existing row")
	}
}

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
