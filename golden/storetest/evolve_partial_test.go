package storetest_test

import (
	"context"
	"database/sql"
	"io/fs"
	"net/url"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"

	ppg "github.com/oauthgen/oauthgen/golden/evolve_partial_postgres/steps/01"
	psq "github.com/oauthgen/oauthgen/golden/evolve_partial_sqlite/steps/01"
	"github.com/oauthgen/oauthgen/internal/testdb"
	"github.com/oauthgen/oauthgen/runtime"
)

// TestEvolvePartialIndexes runs the golden evolve_partial_* case: a
// database an older oauthgen migrated, whose user_id and family_id
// indexes cover every row, holds tokens with and without a user and a
// family, then takes the migration that makes those indexes partial. The
// tokens still authenticate and refresh, the planner still finds a
// family's tokens through the index, and Down restores the full indexes.
func TestEvolvePartialIndexes(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) {
		s, err := psq.Open(testdb.SQLite(t))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		def := func(name string) string {
			var sql string
			if err := s.DB().QueryRow("SELECT sql FROM sqlite_master WHERE type = 'index' AND name = ?", name).Scan(&sql); err != nil {
				t.Fatalf("index %s: %v", name, err)
			}
			return sql
		}
		runPartialIndexes(t, s, psq.Config(), goose.DialectSQLite3, s.DB(), psq.Migrations(), psq.VersionTable, def)
		// A family's revocation and the cascade from a family look tokens
		// up by family_id = ?, which implies the partial index's WHERE.
		var plan strings.Builder
		rows, err := s.DB().Query("EXPLAIN QUERY PLAN SELECT hash FROM oauth_access_tokens WHERE family_id = ?", "f")
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var id, parent, unused int
			var detail string
			if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
				t.Fatal(err)
			}
			plan.WriteString(detail)
		}
		rows.Close()
		if !strings.Contains(plan.String(), "oauth_access_tokens_family_id_idx") {
			t.Errorf("a lookup by family_id does not use the partial index: %s", plan.String())
		}
		if err := s.MigrateDown(context.Background()); err != nil {
			t.Fatal(err)
		}
		if d := def("oauth_access_tokens_family_id_idx"); strings.Contains(d, "WHERE") {
			t.Errorf("after Down the family_id index is still partial: %s", d)
		}
	})
	t.Run("postgres", func(t *testing.T) {
		s, err := ppg.Open(context.Background(), testdb.Postgres(t))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		db := stdlib.OpenDBFromPool(s.Pool())
		t.Cleanup(func() { db.Close() })
		def := func(name string) string {
			var sql string
			if err := db.QueryRow("SELECT indexdef FROM pg_indexes WHERE schemaname = current_schema() AND indexname = $1", name).Scan(&sql); err != nil {
				t.Fatalf("index %s: %v", name, err)
			}
			return sql
		}
		runPartialIndexes(t, s, ppg.Config(), goose.DialectPostgres, db, ppg.Migrations(), ppg.VersionTable, def)
	})
}

// runPartialIndexes migrates to version 1 (the older oauthgen's schema),
// issues a client credentials token (no user, no family) and a password
// grant's tokens (both), migrates to the end and checks the indexes and
// the tokens. def returns an index's definition.
func runPartialIndexes(t *testing.T, s stepStore, cfg runtime.Config, dialect goose.Dialect, db *sql.DB, migrations fs.FS, versionTable string, def func(string) string) {
	ctx := context.Background()
	p, err := goose.NewProvider(dialect, db, migrations, goose.WithTableName(versionTable))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.UpTo(ctx, 1); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"oauth_access_tokens_user_id_idx", "oauth_access_tokens_family_id_idx"} {
		if d := def(name); strings.Contains(d, "WHERE") {
			t.Fatalf("the seed's %s is already partial: %s", name, d)
		}
	}
	srv, err := runtime.NewServer(withIssuer(cfg), s)
	if err != nil {
		t.Fatal(err)
	}
	createUser(t, s, "bob", "correct horse")
	// The client is written as the older oauthgen's Store did: this one
	// records client writes in a table (SQLite's changes) the migration
	// has yet to create.
	id, secret := "app", "app-secret"
	lists := `'[]', '["password","refresh_token","client_credentials"]', '["read","write"]'`
	if dialect == goose.DialectPostgres {
		lists = `'{}', '{password,refresh_token,client_credentials}', '{read,write}'`
	}
	if _, err := db.ExecContext(ctx, "INSERT INTO oauth_clients (id, secret_hash, name, redirect_uris, grant_types, scopes, created_at) VALUES ('"+
		id+"', '"+runtime.HashToken(secret)+"', 'app', "+lists+", CURRENT_TIMESTAMP)"); err != nil {
		t.Fatal(err)
	}
	machine := postToken(t, srv, url.Values{"grant_type": {"client_credentials"}, "client_id": {id}, "client_secret": {secret}})
	bob := postToken(t, srv, url.Values{"grant_type": {"password"}, "client_id": {id}, "client_secret": {secret},
		"username": {"bob"}, "password": {"correct horse"}})

	if err := s.Migrate(ctx); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	for _, ix := range []struct{ name, where string }{
		{"oauth_access_tokens_user_id_idx", "user_id IS NOT NULL"},
		{"oauth_access_tokens_family_id_idx", "family_id IS NOT NULL"},
		{"oauth_families_user_id_idx", "user_id IS NOT NULL"},
		{"oauth_refresh_tokens_user_id_idx", "user_id IS NOT NULL"},
	} {
		if d := def(ix.name); !strings.Contains(d, ix.where) {
			t.Errorf("after the migration %s is %s, want it partial (%s)", ix.name, d, ix.where)
		}
	}
	if d := def("oauth_refresh_tokens_family_id_idx"); strings.Contains(d, "WHERE") {
		t.Errorf("refresh tokens always have a family, their index needs no WHERE: %s", d)
	}
	for _, tok := range []string{machine.AccessToken, bob.AccessToken} {
		if _, err := srv.AuthenticateRequest(bearer(tok)); err != nil {
			t.Errorf("a token issued before the migration no longer authenticates: %v", err)
		}
	}
	next := postToken(t, srv, url.Values{"grant_type": {"refresh_token"}, "client_id": {id}, "client_secret": {secret}, "refresh_token": {bob.RefreshToken}})
	// Reusing the spent refresh token revokes the family: its tokens are
	// found through the partial family_id index.
	if status, _ := tokenStatus(srv, url.Values{"grant_type": {"refresh_token"}, "client_id": {id}, "client_secret": {secret}, "refresh_token": {bob.RefreshToken}}); status != 400 {
		t.Fatalf("reused refresh token: status %d, want 400", status)
	}
	if _, err := srv.AuthenticateRequest(bearer(next.AccessToken)); err == nil {
		t.Error("after refresh token reuse, the family's access token still authenticates")
	}
	if _, err := srv.AuthenticateRequest(bearer(machine.AccessToken)); err != nil {
		t.Errorf("the client credentials token is revoked with a family it is not in: %v", err)
	}
}
