package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// runCLI runs the command in dir and returns its exit code and output.
func runCLI(t *testing.T, dir string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	t.Chdir(dir)
	var out, errOut bytes.Buffer
	code = run(append([]string{"oauthgen"}, args...), &out, &errOut)
	return code, out.String(), errOut.String()
}

func module(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module example.com/app\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestInitGenerateCheck(t *testing.T) {
	dir := module(t)
	if code, _, errOut := runCLI(t, dir, "init", "--dialect", "postgres", "--grant", "authorization_code", "--grant", "refresh_token"); code != 0 {
		t.Fatalf("init: exit %d: %s", code, errOut)
	}
	if code, _, errOut := runCLI(t, dir, "init"); code != 2 || !strings.Contains(errOut, "exists; not overwriting") {
		t.Errorf("init over an existing file: exit %d, %q", code, errOut)
	}
	if code, out, _ := runCLI(t, dir, "validate"); code != 0 || !strings.Contains(out, "ok") {
		t.Errorf("validate: exit %d, %q", code, out)
	}
	if code, out, errOut := runCLI(t, dir, "generate"); code != 0 || !strings.Contains(out, "new migration") {
		t.Fatalf("generate: exit %d, %q %q", code, out, errOut)
	}
	if code, out, errOut := runCLI(t, dir, "generate", "--check"); code != 0 || out != "" {
		t.Errorf("check after generate: exit %d, %q %q", code, out, errOut)
	}
	// A generated file edited by hand is stale.
	store := filepath.Join(dir, "oauthstore", "store.go")
	b, _ := os.ReadFile(store)
	os.WriteFile(store, append(b, "// edited\n"...), 0o644)
	if code, out, errOut := runCLI(t, dir, "generate", "--check"); code != 1 || !strings.Contains(out, "-// edited") || !strings.Contains(errOut, "not up to date") {
		t.Errorf("check after an edit: exit %d, %q %q", code, out, errOut)
	}
	if code, _, _ := runCLI(t, dir, "generate"); code != 0 {
		t.Fatal("generate")
	}
	// A declaration edited without regenerating is stale too.
	decl, _ := os.ReadFile(filepath.Join(dir, "oauthgen.yaml"))
	decl = bytes.Replace(decl, []byte("grants:\n"), []byte("grants:\n  client_credentials: {}\n"), 1)
	os.WriteFile(filepath.Join(dir, "oauthgen.yaml"), decl, 0o644)
	if code, out, _ := runCLI(t, dir, "generate", "--check"); code != 1 || !strings.Contains(out, "ClientCredentials") {
		t.Errorf("check after a declaration edit: exit %d, %q", code, out)
	}
	// An edited migration is an error, for generate and --check alike.
	runCLI(t, dir, "generate")
	mig := filepath.Join(dir, "oauthstore", "migrations", "00001_init.sql")
	os.WriteFile(mig, []byte("-- edited\n"), 0o644)
	for _, args := range [][]string{{"generate", "--check"}, {"generate"}} {
		if code, _, errOut := runCLI(t, dir, args...); code != 1 || !strings.Contains(errOut, "edited after it was generated") {
			t.Errorf("%v with an edited migration: exit %d, %q", args, code, errOut)
		}
	}
}

func TestBadDeclaration(t *testing.T) {
	dir := module(t)
	os.WriteFile(filepath.Join(dir, "bad.yaml"), []byte("version: 1\ndialect: sqlite\ngrants:\n  client_credentials: {}\n  pasword: {}\n"), 0o644)
	for _, cmd := range []string{"validate", "generate"} {
		code, _, errOut := runCLI(t, dir, cmd, "--config", "bad.yaml")
		if code != 2 || errOut != "bad.yaml:5:3: grants.pasword: unknown key; did you mean \"password\"?\n" {
			t.Errorf("%s: exit %d, %q", cmd, code, errOut)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "oauthstore")); err == nil {
		t.Error("a bad declaration wrote output")
	}
	if code, _, errOut := runCLI(t, dir, "generate", "--config", "missing.yaml"); code != 2 || !strings.Contains(errOut, "missing.yaml") {
		t.Errorf("missing file: exit %d, %q", code, errOut)
	}
}

func TestUsage(t *testing.T) {
	dir := t.TempDir()
	if code, _, _ := runCLI(t, dir, "generate", "--nope"); code != 2 {
		t.Errorf("unknown flag: exit %d, want 2", code)
	}
	if code, _, _ := runCLI(t, dir, "init", "--dialect", "oracle"); code != 2 {
		t.Errorf("unknown dialect: exit %d, want 2", code)
	}
	if code, out, _ := runCLI(t, dir, "version"); code != 0 || !strings.HasPrefix(out, "oauthgen ") {
		t.Errorf("version: exit %d, %q", code, out)
	}
	for _, cmd := range []string{"init", "generate", "validate"} {
		if code, out, _ := runCLI(t, dir, cmd, "--help"); code != 0 || !strings.Contains(out, "oauthgen "+cmd) {
			t.Errorf("%s --help: exit %d, %q", cmd, code, out)
		}
	}
}
