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
// endpoint and page; signs in with OpenID Connect (go-oidc: discovery,
// ID token, UserInfo, prompt); restarts on the same database; and serves
// under an issuer with a path, behind a proxy.
func TestQuickstart(t *testing.T) {
	bin := e2e.Build(t, ".")
	dbFile := filepath.Join(t.TempDir(), "quickstart.db")
	db := []string{"--db", dbFile}
	t.Setenv("OAUTHGEN_KEY_ENCRYPTION_KEY", "") // the demo's key file, not the environment's

	s := e2e.Serve(t, bin, db, nil)
	e2e.CheckDemo(t, s.Output)
	appSecret := e2e.Setup(t, bin, db...) // SQLite in WAL mode: the CLI and the server share the file
	e2e.Flows(t, s.URL, appSecret)
	rpSecret := e2e.SetupOpenID(t, bin, db...)
	t.Run("openid", func(t *testing.T) { e2e.OpenID(t, s.URL, rpSecret, appSecret) })
	log := s.Log()
	e2e.CheckDemoKeyFile(t, dbFile, log)
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
	// Restarted, it reads the same key file, so the signing key stored
	// under it still signs; discovery is under the issuer's path.
	t.Run("openid_issuer_path", func(t *testing.T) { e2e.OpenID(t, lb.URL+"/oauth", rpSecret, appSecret) })
	s.Stop(t)
}
