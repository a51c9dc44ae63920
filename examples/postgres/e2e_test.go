package main_test

import (
	"testing"

	"github.com/oauthgen/oauthgen/examples/internal/e2e"
	"github.com/oauthgen/oauthgen/internal/testdb"
)

// TestPostgres runs two instances on one new PostgreSQL schema behind a
// round-robin balancer, as in production: they start together (the
// migrations take turns; one instance seeds the demo), then the demo's
// curl lines and every flow go through the balancer, each request to the
// other instance, and codes, tokens, refresh tokens and device
// authorizations cross from one instance to the other.
//
// It needs OAUTHGEN_TEST_POSTGRES (a server's DSN); without it, it skips.
func TestPostgres(t *testing.T) {
	dsn := testdb.Postgres(t)
	bin := e2e.Build(t, ".")
	lb := e2e.NewBalancer(t)
	issuer := []string{"--issuer", lb.URL} // every instance has the public URL as issuer

	// Every instance has the same page secret, so that one accepts the
	// device page tickets of the other: a from the flag, b from the
	// environment.
	const pageSecret = "the instances' shared page secret, 32 bytes or more"
	a := e2e.Start(t, bin, []string{"--db", dsn}, append(issuer, "--page-secret", pageSecret))
	t.Setenv("DATABASE_URL", dsn) // b reads the DSN from the environment
	t.Setenv("OAUTHGEN_PAGE_SECRET", pageSecret)
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
	a.Stop(t)
	b.Stop(t)
}
