package storetest_test

import (
	"context"
	"database/sql"
	"testing"

	rb1 "github.com/oauthgen/oauthgen/golden/evolve_rebuild_sqlite/steps/01"
	rb2 "github.com/oauthgen/oauthgen/golden/evolve_rebuild_sqlite/steps/02"
	rb3 "github.com/oauthgen/oauthgen/golden/evolve_rebuild_sqlite/steps/03"
	"github.com/oauthgen/oauthgen/internal/testdb"
	"github.com/oauthgen/oauthgen/runtime"
)

// TestSQLiteRebuildKeepsReferencingRows runs golden/evolve_rebuild_sqlite
// on mattn/go-sqlite3, the driver generated stores use: a new column
// default rebuilds oauth_clients, which families, tokens and codes
// reference. With foreign keys off for the rebuild nothing cascades; the
// check before COMMIT passes; foreign keys are on again afterwards; a
// column defaulting to now fills existing rows; and Down rebuilds back,
// keeping the rows too.
func TestSQLiteRebuildKeepsReferencingRows(t *testing.T) {
	ctx := context.Background()
	path := testdb.SQLite(t)
	counts := func(t *testing.T, db *sql.DB) map[string]int {
		t.Helper()
		out := map[string]int{}
		for _, table := range []string{"oauth_clients", "oauth_families", "oauth_access_tokens", "oauth_refresh_tokens", "oauth_authorization_codes"} {
			out[table] = count(t, db, "SELECT COUNT(*) FROM "+table)
		}
		return out
	}

	s1, err := rb1.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := s1.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	srv1, err := runtime.NewServer(withIssuer(rb1.Config()), s1)
	if err != nil {
		t.Fatal(err)
	}
	id, _ := createClient(t, s1, true, []string{"authorization_code", "refresh_token"}, []string{"https://app.example/cb"})
	flow := codeFlow(t, srv1, id)
	pending := authorize(t, srv1, id)
	before := counts(t, s1.DB())
	s1.Close()

	s2, err := rb2.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	if err := s2.Migrate(ctx); err != nil {
		t.Fatalf("migrate to step 2 (rebuild): %v", err)
	}
	db := s2.DB()
	if after := counts(t, db); !equalCounts(before, after) {
		t.Errorf("rows before the rebuild %v, after %v: something cascaded away", before, after)
	}
	if n := count(t, db, "SELECT COUNT(*) FROM pragma_foreign_key_check"); n != 0 {
		t.Errorf("foreign_key_check reports %d rows after the rebuild", n)
	}
	if n := count(t, db, "SELECT foreign_keys FROM pragma_foreign_keys"); n != 1 {
		t.Errorf("foreign keys are off on the writer connection after the rebuild")
	}
	srv2, err := runtime.NewServer(withIssuer(rb2.Config()), s2)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := srv2.AuthenticateRequest(bearer(flow.AccessToken)); err != nil {
		t.Errorf("the access token from before the rebuild: %v", err)
	}
	refreshed := postToken(t, srv2, map[string][]string{"grant_type": {"refresh_token"}, "client_id": {id}, "refresh_token": {flow.RefreshToken}})
	if refreshed.AccessToken == "" {
		t.Error("refresh after the rebuild gave no access token")
	}
	redeemed := postToken(t, srv2, map[string][]string{"grant_type": {"authorization_code"}, "client_id": {id}, "code": {pending.code},
		"code_verifier": {pending.verifier}, "redirect_uri": {"https://app.example/cb"}})
	if redeemed.AccessToken == "" {
		t.Error("redeeming a code issued before the rebuild gave no access token")
	}
	if got := insertWithDefaultTier(t, db, "c-after"); got != "pro" {
		t.Errorf("a client inserted without tier after the rebuild: tier %q, want the new default pro", got)
	}

	// A time column defaulting to now rebuilds again; existing rows get
	// the migration's time.
	before = counts(t, db)
	s3, err := rb3.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s3.Close()
	if err := s3.Migrate(ctx); err != nil {
		t.Fatalf("migrate to step 3 (seen_at default now): %v", err)
	}
	if after := counts(t, s3.DB()); !equalCounts(before, after) {
		t.Errorf("rows before step 3 %v, after %v", before, after)
	}
	if n := count(t, s3.DB(), "SELECT COUNT(*) FROM oauth_clients WHERE seen_at IS NULL"); n != 0 {
		t.Errorf("%d existing clients got no seen_at", n)
	}
	if err := s3.MigrateDown(ctx); err != nil {
		t.Fatalf("down from step 3: %v", err)
	}

	// Down rebuilds back: rows kept, the old default applies again.
	before = counts(t, db)
	if err := s2.MigrateDown(ctx); err != nil {
		t.Fatalf("down: %v", err)
	}
	if after := counts(t, db); !equalCounts(before, after) {
		t.Errorf("rows before Down %v, after %v", before, after)
	}
	if n := count(t, db, "SELECT foreign_keys FROM pragma_foreign_keys"); n != 1 {
		t.Errorf("foreign keys are off on the writer connection after Down")
	}
	if got := insertWithDefaultTier(t, db, "c-down"); got != "free" {
		t.Errorf("a client inserted without tier after Down: tier %q, want the old default free", got)
	}
}

// insertWithDefaultTier inserts a client leaving tier to its column
// default (the typed Store always writes it) and returns the tier it got.
func insertWithDefaultTier(t *testing.T, db *sql.DB, id string) string {
	t.Helper()
	if _, err := db.Exec(`INSERT INTO oauth_clients (id, secret_hash, name, redirect_uris, grant_types, scopes, created_at) VALUES (?, '', '', '', '', '', '2026-01-01 00:00:00')`, id); err != nil {
		t.Fatal(err)
	}
	var tier string
	if err := db.QueryRow(`SELECT tier FROM oauth_clients WHERE id = ?`, id).Scan(&tier); err != nil {
		t.Fatal(err)
	}
	return tier
}

func equalCounts(a, b map[string]int) bool {
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return len(a) == len(b)
}

// TestSQLiteFailedRebuildRestoresWriter: a rebuild that fails half-way
// (here a stray oauth_clients_new table makes its CREATE TABLE fail after
// its BEGIN) must not leave the writer connection inside the rebuild's
// transaction or with foreign keys off: the Store keeps issuing, with
// cascades, and Migrate succeeds once the cause is gone.
func TestSQLiteFailedRebuildRestoresWriter(t *testing.T) {
	ctx := context.Background()
	path := testdb.SQLite(t)
	s1, err := rb1.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := s1.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	s1.Close()

	s2, err := rb2.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	db := s2.DB()
	if _, err := db.Exec("CREATE TABLE oauth_clients_new (stray INTEGER)"); err != nil {
		t.Fatal(err)
	}
	if err := s2.Migrate(ctx); err == nil {
		t.Fatal("Migrate over a stray oauth_clients_new succeeded; want the rebuild to fail")
	}
	if n := count(t, db, "SELECT foreign_keys FROM pragma_foreign_keys"); n != 1 {
		t.Error("foreign keys are off on the writer connection after the failed rebuild")
	}
	tx, err := db.Begin()
	if err != nil {
		t.Fatalf("a transaction on the writer connection after the failed rebuild: %v", err)
	}
	tx.Rollback()
	if _, err := db.Exec("DROP TABLE oauth_clients_new"); err != nil {
		t.Fatal(err)
	}
	if err := s2.Migrate(ctx); err != nil {
		t.Fatalf("Migrate once the stray table is gone: %v", err)
	}
	srv, err := runtime.NewServer(withIssuer(rb2.Config()), s2)
	if err != nil {
		t.Fatal(err)
	}
	id, _ := createClient(t, s2, true, []string{"authorization_code", "refresh_token"}, []string{"https://app.example/cb"})
	if flow := codeFlow(t, srv, id); flow.RefreshToken == "" {
		t.Error("the code flow after the failed rebuild gave no refresh token")
	}
	if n := count(t, db, "SELECT COUNT(*) FROM pragma_foreign_key_check"); n != 0 {
		t.Errorf("foreign_key_check reports %d rows", n)
	}
}
