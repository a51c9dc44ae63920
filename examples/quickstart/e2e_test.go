package main_test

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/oauthgen/oauthgen/examples/internal/e2e"
)

// TestQuickstart builds the quickstart and, on a new SQLite file: follows
// the demo `serve` prints (its curl lines run as printed); registers
// clients and a user with the CLI while the server runs; drives every
// endpoint and page; restarts on the same database; and serves under an
// issuer with a path, behind a proxy.
func TestQuickstart(t *testing.T) {
	bin := e2e.Build(t, ".")
	db := []string{"--db", filepath.Join(t.TempDir(), "quickstart.db")}

	s := e2e.Serve(t, bin, db, nil)
	e2e.CheckDemo(t, s.Output)
	appSecret := e2e.Setup(t, bin, db...) // SQLite in WAL mode: the CLI and the server share the file
	e2e.Flows(t, s.URL, appSecret)
	log := s.Log()
	if !strings.Contains(log, "method=POST path=/token status=200") {
		t.Errorf("the request log shows no method, path and status:\n%s", log)
	}
	for _, secret := range []string{appSecret, "pw-bob-123", "user_code", "code_challenge"} {
		if strings.Contains(log, secret) {
			t.Errorf("the log shows %q: queries and forms must stay out of it:\n%s", secret, log)
		}
	}
	s.Stop(t)

	lb := e2e.NewBalancer(t)
	s = e2e.Serve(t, bin, db, []string{"--issuer", lb.URL + "/oauth"})
	if s.Output != "" {
		t.Errorf("serve printed a demo on a database that has clients:\n%s", s.Output)
	}
	lb.Add(t, s.URL)
	e2e.IssuerPath(t, lb.URL+"/oauth", appSecret)
	s.Stop(t)
}
