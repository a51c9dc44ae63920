package main_test

import (
	"path/filepath"
	"testing"

	"github.com/oauthgen/oauthgen/examples/internal/e2e"
)

// TestQuickstart builds the quickstart, serves a new database and runs the
// curl lines it prints, exactly as printed; then registers clients and a
// user with the CLI and drives every endpoint and page.
func TestQuickstart(t *testing.T) {
	bin := e2e.Build(t, ".")
	db := filepath.Join(t.TempDir(), "quickstart.db")

	s := e2e.Serve(t, bin, "--db", db)
	e2e.CheckDemo(t, s.Output)
	s.Stop(t)

	appSecret, svcSecret := e2e.Setup(t, bin, "--db", db)
	s = e2e.Serve(t, bin, "--db", db)
	if s.Output != "" {
		t.Errorf("serve printed a demo on a database that has clients:\n%s", s.Output)
	}
	e2e.Flows(t, s.URL, appSecret, svcSecret)
	s.Stop(t)
}
