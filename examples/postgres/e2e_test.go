package main_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/oauthgen/oauthgen/examples/internal/e2e"
	"github.com/oauthgen/oauthgen/internal/testdb"
)

// TestPostgres runs two instances on one new PostgreSQL schema behind a
// round-robin balancer, as in production: they start together (the
// migrations take turns; one instance seeds the demo), then the demo's
// curl lines and every flow go through the balancer, each request to the
// other instance, and codes, tokens, refresh tokens and device
// authorizations cross from one instance to the other. The instances sign
// JWT access tokens (ES256) with keys in the database, sealed under the
// key-encryption key both are given: each serves the same JWKS, and what
// one signs verifies against the other's.
//
// It needs OAUTHGEN_TEST_POSTGRES (a server's DSN); without it, it skips.
func TestPostgres(t *testing.T) {
	dsn := testdb.Postgres(t)
	bin := e2e.Build(t, ".")
	lb := e2e.NewBalancer(t)
	issuer := []string{"--issuer", lb.URL} // every instance has the public URL as issuer

	// Tokens are signed: without a key-encryption key, no start.
	t.Setenv("OAUTHGEN_KEY_ENCRYPTION_KEY", "")
	if out, code := e2e.RunStatus(t, bin, "--db", dsn, "serve", "--addr", "127.0.0.1:0"); code == 0 || !strings.Contains(out, "no key-encryption key was given") {
		t.Fatalf("serve without a key-encryption key: exit %d\n%s", code, out)
	}
	// Every instance has the same one: a from a file, b from the
	// environment.
	kek := e2e.NewKeyEncryptionKey()
	kekFile := filepath.Join(t.TempDir(), "kek")
	if err := os.WriteFile(kekFile, []byte(kek+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	// Every instance has the same page secret, so that one accepts the
	// device page tickets of the other: a from the flag, b from the
	// environment.
	const pageSecret = "the instances' shared page secret, 32 bytes or more"
	a := e2e.Start(t, bin, []string{"--db", dsn}, append(issuer, "--page-secret", pageSecret, "--key-encryption-key-file", kekFile))
	t.Setenv("DATABASE_URL", dsn) // b reads the DSN from the environment
	t.Setenv("OAUTHGEN_PAGE_SECRET", pageSecret)
	t.Setenv("OAUTHGEN_KEY_ENCRYPTION_KEY", kek)
	b := e2e.Start(t, bin, nil, issuer)
	a.Ready(t)
	b.Ready(t)
	lb.Add(t, a.URL)
	lb.Add(t, b.URL)
	if (a.Output == "") == (b.Output == "") {
		t.Fatalf("want exactly one instance to seed the demo; a printed:\n%s\nb printed:\n%s", a.Output, b.Output)
	}
	e2e.CheckDemo(t, a.Output+b.Output)

	appSecret := e2e.Setup(t, bin, "--db", dsn)
	e2e.Flows(t, lb.URL, appSecret)
	e2e.AcrossInstances(t, a.URL, b.URL, appSecret)
	t.Run("jwt_access_tokens", func(t *testing.T) { e2e.JWTAccessTokens(t, lb.URL, a.URL, b.URL, appSecret) })
	for _, s := range []*e2e.Server{a, b} {
		if log := s.Log(); strings.Contains(log, kek) {
			t.Error("an instance logged the key-encryption key")
		}
	}
	a.Stop(t)
	b.Stop(t)
}
