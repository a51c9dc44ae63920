package storetest_test

import (
	"context"
	"database/sql"
	"fmt"
	"io/fs"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"

	fkm "github.com/oauthgen/oauthgen/golden/evolve_userfk_mysql/steps/01"
	fkp "github.com/oauthgen/oauthgen/golden/evolve_userfk_postgres/steps/01"
	fks "github.com/oauthgen/oauthgen/golden/evolve_userfk_sqlite/steps/01"
	"github.com/oauthgen/oauthgen/internal/testdb"
	"github.com/oauthgen/oauthgen/runtime"
)

// TestEvolveUserForeignKeysDropped runs the golden evolve_userfk_* case: a
// database an older oauthgen migrated, whose token tables have foreign keys
// from user_id to oauth_users, takes the migration that drops them. The
// rows of a user of the table survive (SQLite rebuilds every token table),
// and afterwards user ids of no row of the table ("alice") can be issued.
func TestEvolveUserForeignKeysDropped(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) {
		s, err := fks.Open(testdb.SQLite(t))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		runUserFKDrop(t, s, fks.Config(), goose.DialectSQLite3, s.DB(), fks.Migrations(), fks.VersionTable)
		checkDownRollsBack(t, s)
	})
	t.Run("postgres", func(t *testing.T) {
		s, err := fkp.Open(context.Background(), testdb.Postgres(t))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		db := stdlib.OpenDBFromPool(s.Pool())
		t.Cleanup(func() { db.Close() })
		runUserFKDrop(t, s, fkp.Config(), goose.DialectPostgres, db, fkp.Migrations(), fkp.VersionTable)
	})
	t.Run("mysql", func(t *testing.T) {
		s, err := fkm.Open(testdb.MySQL(t))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		runUserFKDrop(t, s, fkm.Config(), goose.DialectMySQL, s.DB(), fkm.Migrations(), fkm.VersionTable)
	})
}

// runUserFKDrop migrates to version 1 (the older oauthgen's schema, which
// the Store of today no longer reads: lists were space-joined text, and
// clients had no resource_server), writes rows as that oauthgen did, with
// SQL, migrates to the end, and checks them: the lists are converted
// (runs of whitespace split items, as strings.Fields did), bob's token
// still authenticates, and user ids of no row of the table ("alice") can
// now be issued.
func runUserFKDrop(t *testing.T, s stepStore, cfg runtime.Config, dialect goose.Dialect, db *sql.DB, migrations fs.FS, versionTable string) {
	ctx := context.Background()
	p, err := goose.NewProvider(dialect, db, migrations, goose.WithTableName(versionTable))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.UpTo(ctx, 1); err != nil {
		t.Fatal(err)
	}
	exec := func(query string, args ...any) error {
		if dialect == goose.DialectPostgres {
			for i := 1; strings.Contains(query, "?"); i++ {
				query = strings.Replace(query, "?", fmt.Sprintf("$%d", i), 1)
			}
		}
		_, err := db.ExecContext(ctx, query, args...)
		return err
	}
	bobID := createUser(t, s, "bob", "correct horse")
	now := time.Now().UTC().Truncate(time.Second)
	must(t, exec("INSERT INTO oauth_clients (id, secret_hash, name, redirect_uris, grant_types, scopes, access_token_lifetime_seconds, refresh_token_lifetime_seconds, created_at) VALUES (?, ?, ?, ?, ?, ?, 0, 0, ?)",
		"old", runtime.HashToken("old secret"), "Old", " https://old.example/cb\thttps://old.example/b ", "password  refresh_token", "read\twrite ", now))
	token := runtime.NewToken()
	must(t, exec("INSERT INTO oauth_access_tokens (hash, client_id, user_id, scopes, issued_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)",
		runtime.HashToken(token), "old", bobID, "read write", now, now.Add(time.Hour)))
	// Version 1 still refuses ids of no user: the foreign keys are there.
	if err := exec("INSERT INTO oauth_access_tokens (hash, client_id, user_id, scopes, issued_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)",
		runtime.HashToken(runtime.NewToken()), "old", "alice", "read", now, now.Add(time.Hour)); err == nil {
		t.Fatal("before the migration a token for alice was stored: the seed has no user foreign keys")
	}

	if err := s.Migrate(ctx); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	srv, err := runtime.NewServer(withIssuer(cfg), s)
	if err != nil {
		t.Fatal(err)
	}
	c, err := s.GetClient(ctx, "old")
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"https://old.example/cb", "https://old.example/b"}; !slices.Equal(c.RedirectURIs, want) {
		t.Errorf("converted redirect URIs = %q, want %q", c.RedirectURIs, want)
	}
	if want := []string{"password", "refresh_token"}; !slices.Equal(c.GrantTypes, want) {
		t.Errorf("converted grant types = %q, want %q", c.GrantTypes, want)
	}
	if want := []string{"read", "write"}; !slices.Equal(c.Scopes, want) {
		t.Errorf("converted scopes = %q, want %q", c.Scopes, want)
	}
	if c.ResourceServer {
		t.Error("a client from before resource_server is a resource server")
	}
	at, err := srv.AuthenticateRequest(bearer(token))
	if err != nil {
		t.Fatalf("bob's access token no longer authenticates: %v", err)
	}
	if want := []string{"read", "write"}; !slices.Equal(at.Scopes, want) {
		t.Errorf("bob's converted token scopes = %q, want %q", at.Scopes, want)
	}
	bob := postToken(t, srv, url.Values{"grant_type": {"password"}, "client_id": {"old"}, "client_secret": {"old secret"},
		"username": {"bob"}, "password": {"correct horse"}})
	postToken(t, srv, url.Values{"grant_type": {"refresh_token"}, "client_id": {"old"}, "client_secret": {"old secret"}, "refresh_token": {bob.RefreshToken}})
	public, _ := createClient(t, s, true, []string{"authorization_code"}, []string{"https://app.example/cb"})
	alice := codeFlow(t, srv, public)
	if _, err := srv.AuthenticateRequest(bearer(alice.AccessToken)); err != nil {
		t.Errorf("alice's access token does not authenticate: %v", err)
	}
}

// checkDownRollsBack: the Down of the migration adds the foreign keys back
// by rebuilding the token tables, and alice's rows now violate them. The
// rebuild's foreign_key_check must fail it and leave the database as it
// was: no user foreign key, alice's rows in place, still at version 2.
func checkDownRollsBack(t *testing.T, s *fks.Store) {
	ctx := context.Background()
	before := count(t, s.DB(), "SELECT COUNT(*) FROM oauth_access_tokens WHERE user_id = 'alice'")
	if before == 0 {
		t.Fatal("no access token of alice to violate the foreign keys")
	}
	err := s.MigrateDown(ctx)
	if err == nil || !strings.Contains(err.Error(), "oauthgen migration rolled back: PRAGMA foreign_key_check reports rows") {
		t.Fatalf("down over rows of no user: got %v, want the foreign_key_check rollback", err)
	}
	if n := count(t, s.DB(), "SELECT foreign_keys FROM pragma_foreign_keys"); n != 1 {
		t.Error("foreign keys are off on the writer connection after the failed down")
	}
	if n := count(t, s.DB(), "SELECT COUNT(*) FROM pragma_foreign_key_list('oauth_access_tokens') WHERE \"table\" = 'oauth_users'"); n != 0 {
		t.Errorf("after the failed down, oauth_access_tokens has %d foreign keys to oauth_users", n)
	}
	if n := count(t, s.DB(), "SELECT COUNT(*) FROM oauth_access_tokens WHERE user_id = 'alice'"); n != before {
		t.Errorf("after the failed down, alice has %d access tokens, want %d", n, before)
	}
	if n := count(t, s.DB(), "SELECT COUNT(*) FROM sqlite_master WHERE name LIKE '%_new'"); n != 0 {
		t.Errorf("after the failed down, %d half-rebuilt tables remain", n)
	}
	if n := count(t, s.DB(), "SELECT MAX(version_id) FROM "+fks.VersionTable+" WHERE is_applied"); n != 2 {
		t.Errorf("after the failed down, the version is %d, want 2", n)
	}
}

func count(t *testing.T, db *sql.DB, query string) int {
	t.Helper()
	var n int
	if err := db.QueryRow(query).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}
