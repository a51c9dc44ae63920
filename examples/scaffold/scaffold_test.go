// Package scaffold_test is a consumer's first hour: a fresh module that
// takes oauthgen as a tool, scaffolds a server for each dialect with
// `oauthgen init --server`, generates, builds and serves it, and drives
// every grant through it as the quickstart's end-to-end test does.
package scaffold_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/oauthgen/oauthgen/examples/internal/e2e"
	"github.com/oauthgen/oauthgen/internal/testdb"
)

// goIn runs the go command in dir and fails the test unless it succeeds.
// -mod=mod lets go.sum grow from the module cache; the checkout itself is
// reached through replace, as the module proxy cannot serve it.
func goIn(t *testing.T, dir string, args ...string) string {
	t.Helper()
	start := time.Now()
	cmd := exec.Command("go", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOWORK=off")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	t.Logf("go %s (%s)", strings.Join(args, " "), time.Since(start).Round(time.Millisecond))
	return string(out)
}

// TestScaffoldedServer scaffolds a server per dialect into one fresh
// module (each in its own folder, so one go generate ./... runs both
// declarations), builds them once, and runs the end-to-end checks on
// SQLite, and on PostgreSQL and MySQL when OAUTHGEN_TEST_POSTGRES and
// OAUTHGEN_TEST_MYSQL name servers.
func TestScaffoldedServer(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a module: not in -short")
	}
	checkout, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	mod := t.TempDir()
	goIn(t, mod, "mod", "init", "example.com/authserver")
	goIn(t, mod, "mod", "edit", "-replace", "github.com/oauthgen/oauthgen="+checkout,
		"-require", "github.com/oauthgen/oauthgen@v0.0.0-00010101000000-000000000000",
		"-tool", "github.com/oauthgen/oauthgen/cmd/oauthgen")
	goIn(t, mod, "mod", "tidy")
	dialects := []string{"sqlite", "postgres", "mysql"}
	// The options of issue 11: SQLite an OpenID Provider, PostgreSQL one
	// that issues JWT access tokens too, MySQL neither.
	options := map[string][]string{"sqlite": {"--openid"}, "postgres": {"--openid", "--access-tokens", "jwt"}}
	for _, d := range dialects {
		args := append([]string{"tool", "oauthgen", "init", "--server", "--dialect", d, "--config", d + "/oauthgen.yaml"}, options[d]...)
		out := goIn(t, mod, args...)
		if !strings.Contains(out, "next: go generate ./"+d) {
			t.Errorf("init --server printed no next step:\n%s", out)
		}
	}
	out := goIn(t, mod, "generate", "./...")
	for _, d := range dialects {
		if !strings.Contains(out, d+"/oauthgen.yaml: new migration") {
			t.Errorf("go generate did not name %s/oauthgen.yaml:\n%s", d, out)
		}
	}
	goIn(t, mod, "mod", "tidy")
	goIn(t, mod, "vet", "./...")
	bin := filepath.Join(t.TempDir(), "bin")
	goIn(t, mod, "build", "-o", bin+string(filepath.Separator), "./...")

	// Scaffolding again refuses, naming what exists, and writes nothing.
	cmd := exec.Command("go", "tool", "oauthgen", "init", "--server", "--config", "sqlite/oauthgen.yaml")
	cmd.Dir = mod
	if out, err := cmd.CombinedOutput(); err == nil || !strings.Contains(string(out), "sqlite/main.go") || !strings.Contains(string(out), "nothing written") {
		t.Errorf("init --server over a scaffold: %v\n%s", err, out)
	}

	t.Run("sqlite", func(t *testing.T) {
		t.Setenv("OAUTHGEN_KEY_ENCRYPTION_KEY", "") // the demo key file beside the database
		db := filepath.Join(t.TempDir(), "auth.db")
		s := flows(t, filepath.Join(bin, "sqlite"), db, true, false)
		e2e.CheckDemoKeyFile(t, db, s.Log())
	})
	t.Run("postgres", func(t *testing.T) {
		dsn := testdb.Postgres(t)
		t.Setenv("OAUTHGEN_KEY_ENCRYPTION_KEY", "")
		if out, code := e2e.RunStatus(t, filepath.Join(bin, "postgres"), "serve", "--addr", "127.0.0.1:0", "--db", dsn); code == 0 || !strings.Contains(out, "no key-encryption key was given") {
			t.Fatalf("serve without a key-encryption key: exit %d\n%s", code, out)
		}
		t.Setenv("OAUTHGEN_KEY_ENCRYPTION_KEY", e2e.NewKeyEncryptionKey())
		flows(t, filepath.Join(bin, "postgres"), dsn, true, true)
	})
	t.Run("mysql", func(t *testing.T) {
		flows(t, filepath.Join(bin, "mysql"), testdb.MySQL(t), false, false)
	})
}

// flows serves the scaffolded server on db, follows the demo it prints,
// registers clients and a user with its CLI (--db after the command), and
// drives every grant, endpoint and page, OpenID Connect and JWT access
// tokens when scaffolded with them; then it stops it gracefully.
func flows(t *testing.T, bin, db string, openID, jwt bool) *e2e.Server {
	s := e2e.Serve(t, bin, nil, []string{"--db", db})
	e2e.CheckDemo(t, s.Output)
	appSecret := e2e.Setup(t, bin, "--db", db)
	e2e.Flows(t, s.URL, appSecret)
	if openID {
		rpSecret := e2e.SetupOpenID(t, bin, "--db", db)
		t.Run("openid", func(t *testing.T) { e2e.OpenID(t, s.URL, rpSecret, appSecret) })
	} else if resp, _ := e2e.Do(t, "GET", s.URL+"/.well-known/openid-configuration", nil, nil); resp.StatusCode != 404 {
		t.Errorf("discovery without openid_connect: %d, want 404", resp.StatusCode)
	}
	if jwt {
		t.Run("jwt_access_tokens", func(t *testing.T) { e2e.JWTAccessTokens(t, s.URL, s.URL, s.URL, appSecret) })
	}
	if log := s.Log(); !strings.Contains(log, "method=POST path=/token status=200") {
		t.Errorf("the request log shows no method, path and status:\n%s", log)
	}
	s.Stop(t)
	return s
}
