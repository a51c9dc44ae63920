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

// runUserFKDrop migrates to version 1 (the older oauthgen's schema), issues
// tokens to a user of the table, migrates to the end, and checks them.
func runUserFKDrop(t *testing.T, s stepStore, cfg runtime.Config, dialect goose.Dialect, db *sql.DB, migrations fs.FS, versionTable string) {
	ctx := context.Background()
	p, err := goose.NewProvider(dialect, db, migrations, goose.WithTableName(versionTable))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.UpTo(ctx, 1); err != nil {
		t.Fatal(err)
	}
	srv, err := runtime.NewServer(withIssuer(cfg), s)
	if err != nil {
		t.Fatal(err)
	}
	createUser(t, s, "bob", "correct horse")
	client, secret := createClient(t, s, false, []string{"password", "refresh_token"}, nil)
	bob := postToken(t, srv, url.Values{"grant_type": {"password"}, "client_id": {client}, "client_secret": {secret},
		"username": {"bob"}, "password": {"correct horse"}})
	// Version 1 still refuses ids of no user: the foreign keys are there.
	public, _ := createClient(t, s, true, []string{"authorization_code"}, []string{"https://app.example/cb"})
	if _, err := tryAuthorize(srv, public, "alice"); err == nil {
		t.Fatal("before the migration a code for alice was issued: the seed has no user foreign keys")
	}

	if err := s.Migrate(ctx); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	if _, err := srv.AuthenticateRequest(bearer(bob.AccessToken)); err != nil {
		t.Errorf("bob's access token no longer authenticates: %v", err)
	}
	postToken(t, srv, url.Values{"grant_type": {"refresh_token"}, "client_id": {client}, "client_secret": {secret}, "refresh_token": {bob.RefreshToken}})
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
