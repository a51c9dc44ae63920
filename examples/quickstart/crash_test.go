package main_test

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/oauthgen/oauthgen/examples/internal/e2e"
)

// TestQuickstartCrash kills the quickstart with SIGKILL under a mixed
// load (client credentials, password grants each followed by a chain of
// refreshes, codes from the consent form redeemed), then: the SQLite file
// passes integrity_check and foreign_key_check; in it, every consumed
// code or refresh token has the tokens it issued and every token its
// consumption; restarted on the file, the server accepts every access
// token the load received, and every chain continues with the refresh
// token its client holds (from its last 200, or the one it sent when the
// answer never came).
func TestQuickstartCrash(t *testing.T) {
	bin := e2e.Build(t, ".")
	file := filepath.Join(t.TempDir(), "quickstart.db")
	db := []string{"--db", file}
	appSecret := e2e.Setup(t, bin, db...)

	s := e2e.Serve(t, bin, db, nil)
	load := e2e.StartLoad(s.URL, appSecret, 8)
	load.Busy(t, 3*time.Second)
	killed := time.Now()
	s.Kill(t)
	load.Stop()
	figures := load.Count()
	t.Logf("before the kill: %s", figures)
	e2e.CheckLoad(t, load, func(r e2e.Request) bool { return r.Status == 0 && r.End.After(killed) })

	sq := e2e.OpenSQLite(t, file)
	e2e.CheckSQLite(t, sq)
	snap := e2e.Read(t, sq)
	e2e.CheckIssuance(t, snap, load)
	sq.Close()

	s = e2e.Serve(t, bin, db, nil)
	checked := e2e.CheckTokens(t, s.URL, load, snap)
	continued := e2e.ContinueChains(t, s.URL, appSecret, load, snap)
	t.Logf("after the restart: %d access tokens checked at /me, %d of %d chains continued (%d families in the database)",
		checked, continued, figures.Chains, len(snap.Families))
	s.Stop(t)
	e2e.CheckSQLite(t, e2e.OpenSQLite(t, file))
}
