package main_test

import (
	"testing"

	"github.com/oauthgen/oauthgen/examples/internal/e2e"
	"github.com/oauthgen/oauthgen/internal/testdb"
)

// TestPostgres runs two instances of the server on one PostgreSQL schema,
// as behind a load balancer: the demo's curl lines, every flow on one, and
// codes and tokens crossing from one instance to the other.
func TestPostgres(t *testing.T) {
	dsn := testdb.Postgres(t)
	bin := e2e.Build(t, ".")

	a := e2e.Serve(t, bin, "--dsn", dsn)
	e2e.CheckDemo(t, a.Output)
	appSecret, svcSecret := e2e.Setup(t, bin, "--dsn", dsn)
	t.Setenv("DATABASE_URL", dsn) // the second instance reads the DSN from the environment
	b := e2e.Serve(t, bin)

	e2e.Flows(t, a.URL, appSecret, svcSecret)
	e2e.AcrossInstances(t, a.URL, b.URL, appSecret)
	a.Stop(t)
	b.Stop(t)
}
