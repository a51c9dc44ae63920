package main_test

import (
	"database/sql"
	"testing"
	"time"

	"github.com/oauthgen/oauthgen/examples/internal/e2e"
)

// TestPostgresCrash crashes the PostgreSQL server under the server's
// mixed load (client credentials, password grants each followed by a
// chain of refreshes, codes from the consent form redeemed) and brings it
// back, while the OAuth server keeps running. Meanwhile no request hangs
// and the token endpoint answers a JSON 5xx; then the server recovers by
// itself, and, as after the quickstart's crash: indexes and foreign keys
// are sound; every consumed code or refresh token has the tokens it
// issued and every token its consumption; every access token the load
// received authenticates, and every chain continues with the refresh
// token its client holds.
//
// The cluster is the test's own (initdb in a temporary folder, a free
// port on 127.0.0.1), so no other test loses its database. Without the
// PostgreSQL binaries it skips, or fails if OAUTHGEN_TEST_POSTGRES is set
// (see e2e.StartPostgres).
func TestPostgresCrash(t *testing.T) {
	pg := e2e.StartPostgres(t)
	bin := e2e.Build(t, ".")
	appSecret := e2e.Setup(t, bin, "--db", pg.DSN)
	t.Setenv("OAUTHGEN_KEY_ENCRYPTION_KEY", e2e.NewKeyEncryptionKey()) // it signs JWT access tokens

	s := e2e.Serve(t, bin, []string{"--db", pg.DSN}, nil)
	load := e2e.StartLoad(s.URL, appSecret, 8)
	load.Busy(t, 3*time.Second)
	down := time.Now()
	pg.Crash(t)
	time.Sleep(1500 * time.Millisecond) // the outage
	pg.Start(t)
	up := e2e.Recovered(t, s.URL)
	time.Sleep(time.Second) // load on the recovered database
	load.Stop()
	figures := load.Count()
	t.Logf("load: %s", figures)
	e2e.CheckOutage(t, load, down, up)

	db, err := sql.Open("pgx", pg.DSN)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	e2e.CheckPostgres(t, db)
	snap := e2e.Read(t, db)
	e2e.CheckIssuance(t, snap, load)
	checked := e2e.CheckTokens(t, s.URL, load, snap)
	continued := e2e.ContinueChains(t, s.URL, appSecret, load, snap)
	t.Logf("after the outage: %d access tokens checked at /me, %d of %d chains continued (%d families in the database)",
		checked, continued, figures.Chains, len(snap.Families))
	s.Stop(t)
}
