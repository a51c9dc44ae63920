// Package storetest_test runs the store conformance suite against every
// golden Store. It is apart from the golden tests because the generator
// (through sqlc) and the generated SQLite stores register the same
// database/sql driver name, "sqlite3", and so cannot share a binary.
package storetest_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	ccstore "github.com/oauthgen/oauthgen/golden/client_credentials_sqlite"
	namedstore "github.com/oauthgen/oauthgen/golden/custom_names_mysql"
	mysqlstore "github.com/oauthgen/oauthgen/golden/every_grant_mysql"
	pgstore "github.com/oauthgen/oauthgen/golden/every_grant_postgres"
	sqlitestore "github.com/oauthgen/oauthgen/golden/every_grant_sqlite"
	acctstore "github.com/oauthgen/oauthgen/golden/existing_accounts_postgres"
	uuidstore "github.com/oauthgen/oauthgen/golden/existing_users_postgres"
	appstore "github.com/oauthgen/oauthgen/golden/existing_users_sqlite"
	"github.com/oauthgen/oauthgen/internal/testdb"
	"github.com/oauthgen/oauthgen/runtime"
	"github.com/oauthgen/oauthgen/runtime/runtimetest"
)

// storeCases maps every golden case with a Store to a harness over a real
// database: the conformance suite runs against each generated Store.
var storeCases = map[string]func(t *testing.T) func(t *testing.T) runtimetest.Harness{
	"client_credentials_sqlite": func(*testing.T) func(*testing.T) runtimetest.Harness {
		return func(t *testing.T) runtimetest.Harness {
			s := openSQLite(t, ccstore.Open, "")
			return runtimetest.Harness{
				Store: s,
				AddClient: func(ctx context.Context, c *runtime.Client) error {
					return s.ImportClient(ctx, &ccstore.Client{Client: *c})
				},
				Fail: failer(sqlExec(s.DB()), sqliteFaults, defaultTables),
			}
		}
	},
	"every_grant_sqlite": func(*testing.T) func(*testing.T) runtimetest.Harness {
		return func(t *testing.T) runtimetest.Harness {
			s := openSQLite(t, sqlitestore.Open, "")
			return runtimetest.Harness{
				Store: s,
				AddClient: func(ctx context.Context, c *runtime.Client) error {
					return s.ImportClient(ctx, &sqlitestore.Client{Client: *c})
				},
				Fail: failer(sqlExec(s.DB()), sqliteFaults, defaultTables),
				AddUser: func(ctx context.Context, username, hash string) (string, error) {
					u := &sqlitestore.User{User: runtime.User{ID: runtime.NewID(), Username: username, PasswordHash: hash}, CreatedAt: time.Now()}
					return u.ID, s.ImportUser(ctx, u)
				},
			}
		}
	},
	"existing_users_sqlite": func(*testing.T) func(*testing.T) runtimetest.Harness {
		return func(t *testing.T) runtimetest.Harness {
			s := openSQLite(t, appstore.Open, "CREATE TABLE accounts (account_id INTEGER PRIMARY KEY, email TEXT NOT NULL UNIQUE, pw_hash TEXT NOT NULL)")
			return runtimetest.Harness{
				Store: s,
				AddClient: func(ctx context.Context, c *runtime.Client) error {
					return s.ImportClient(ctx, &appstore.Client{Client: *c})
				},
				Fail: failer(sqlExec(s.DB()), sqliteFaults, defaultTables),
				AddUser: func(ctx context.Context, username, hash string) (string, error) {
					var id string
					err := s.DB().QueryRowContext(ctx, "INSERT INTO accounts (email, pw_hash) VALUES (?, ?) RETURNING CAST(account_id AS TEXT)", username, hash).Scan(&id)
					return id, err
				},
			}
		}
	},
	"every_grant_postgres": func(t *testing.T) func(*testing.T) runtimetest.Harness {
		s, dsn := openPostgres(t, pgstore.New, (*pgstore.Store).Migrate, "")
		return func(t *testing.T) runtimetest.Harness {
			testdb.ClearPostgres(context.Background(), t, dsn)
			return runtimetest.Harness{
				Store: s,
				AddClient: func(ctx context.Context, c *runtime.Client) error {
					return s.ImportClient(ctx, &pgstore.Client{Client: *c})
				},
				Fail: failer(pgExec(s.Pool()), postgresFaults, defaultTables),
				AddUser: func(ctx context.Context, username, hash string) (string, error) {
					u := &pgstore.User{User: runtime.User{ID: runtime.NewID(), Username: username, PasswordHash: hash}, CreatedAt: time.Now()}
					return u.ID, s.ImportUser(ctx, u)
				},
			}
		}
	},
	"existing_users_postgres": func(t *testing.T) func(*testing.T) runtimetest.Harness {
		s, dsn := openPostgres(t, uuidstore.New, (*uuidstore.Store).Migrate,
			"CREATE TABLE app_users (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), login text NOT NULL UNIQUE, password_digest text NOT NULL)")
		return func(t *testing.T) runtimetest.Harness {
			testdb.ClearPostgres(context.Background(), t, dsn)
			return runtimetest.Harness{
				Store: s,
				AddClient: func(ctx context.Context, c *runtime.Client) error {
					return s.ImportClient(ctx, &uuidstore.Client{Client: *c})
				},
				Fail: failer(pgExec(s.Pool()), postgresFaults, defaultTables),
				AddUser: func(ctx context.Context, username, hash string) (string, error) {
					var id string
					err := s.Pool().QueryRow(ctx, "INSERT INTO app_users (login, password_digest) VALUES ($1, $2) RETURNING id::text", username, hash).Scan(&id)
					return id, err
				},
			}
		}
	},
	"existing_accounts_postgres": func(t *testing.T) func(*testing.T) runtimetest.Harness {
		s, dsn := openPostgres(t, acctstore.New, (*acctstore.Store).Migrate, accountsTable)
		return func(t *testing.T) runtimetest.Harness {
			testdb.ClearPostgres(context.Background(), t, dsn)
			return runtimetest.Harness{
				Store: s,
				AddClient: func(ctx context.Context, c *runtime.Client) error {
					return s.ImportClient(ctx, &acctstore.Client{Client: *c})
				},
				Fail: failer(pgExec(s.Pool()), postgresFaults, defaultTables),
				AddUser: func(ctx context.Context, username, hash string) (string, error) {
					var id string
					err := s.Pool().QueryRow(ctx, "INSERT INTO accounts (email, pw_hash) VALUES ($1, $2) RETURNING account_id::text", username, hash).Scan(&id)
					return id, err
				},
			}
		}
	},
	"every_grant_mysql": func(t *testing.T) func(*testing.T) runtimetest.Harness {
		s, dsn := openMySQL(t, mysqlstore.Open, (*mysqlstore.Store).Migrate, (*mysqlstore.Store).Close)
		return func(t *testing.T) runtimetest.Harness {
			testdb.ClearMySQL(context.Background(), t, dsn)
			return runtimetest.Harness{
				Store: s,
				AddClient: func(ctx context.Context, c *runtime.Client) error {
					return s.ImportClient(ctx, &mysqlstore.Client{Client: *c})
				},
				Fail: failer(sqlExec(s.DB()), mysqlFaults, defaultTables),
				AddUser: func(ctx context.Context, username, hash string) (string, error) {
					u := &mysqlstore.User{User: runtime.User{ID: runtime.NewID(), Username: username, PasswordHash: hash}, CreatedAt: time.Now()}
					return u.ID, s.ImportUser(ctx, u)
				},
			}
		}
	},
	"custom_names_mysql": func(t *testing.T) func(*testing.T) runtimetest.Harness {
		s, dsn := openMySQL(t, namedstore.Open, (*namedstore.Store).Migrate, (*namedstore.Store).Close)
		return func(t *testing.T) runtimetest.Harness {
			testdb.ClearMySQL(context.Background(), t, dsn)
			return runtimetest.Harness{
				Store: s,
				AddClient: func(ctx context.Context, c *runtime.Client) error {
					return s.ImportClient(ctx, &namedstore.Client{Client: *c})
				},
				Fail: failer(sqlExec(s.DB()), mysqlFaults, tableNames{
					runtimetest.RecordFamily:            "idp_families",
					runtimetest.RecordAuthorizationCode: "idp_authorization_codes",
					runtimetest.RecordAccessToken:       "idp_bearer_tokens",
					runtimetest.RecordRefreshToken:      "idp_refresh_tokens",
				}),
				AddUser: func(ctx context.Context, username, hash string) (string, error) {
					u := &namedstore.User{User: runtime.User{ID: runtime.NewID(), Username: username, PasswordHash: hash}, CreatedAt: time.Now()}
					return u.ID, s.ImportUser(ctx, u)
				},
			}
		}
	},
}

// accountsTable is existing_accounts_postgres's users table, the
// application's: integer ids.
const accountsTable = "CREATE TABLE accounts (account_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, email text NOT NULL UNIQUE, pw_hash text NOT NULL)"

// TestStores runs the store conformance suite against every golden Store,
// on SQLite files and on the servers OAUTHGEN_TEST_POSTGRES and
// OAUTHGEN_TEST_MYSQL name.
func TestStores(t *testing.T) {
	stores, err := filepath.Glob("../*/store.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range stores {
		if name := filepath.Base(filepath.Dir(s)); storeCases[name] == nil {
			t.Errorf("golden case %s has a Store but no harness in storeCases", name)
		}
	}
	for name, newHarness := range storeCases {
		t.Run(name, func(t *testing.T) {
			runtimetest.TestStore(t, newHarness(t))
		})
	}
}

// storeCloser is what every generated Store has.
type storeCloser interface {
	Close() error
	Migrate(context.Context) error
}

// openSQLite opens a generated SQLite Store on a new file, runs setup (the
// application's own tables) and migrates.
func openSQLite[S storeCloser](t *testing.T, open func(string) (S, error), setup string) S {
	t.Helper()
	s, err := open(testdb.SQLite(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if setup != "" {
		if _, err := any(s).(interface{ DB() *sql.DB }).DB().Exec(setup); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return s
}

// openPostgres opens a generated PostgreSQL Store on a new schema, on a
// pool configure may change, runs setup and migrates; it returns the Store
// and the schema's DSN.
func openPostgres[S any](t testing.TB, newStore func(*pgxpool.Pool) S, migrate func(S, context.Context) error, setup string, configure ...func(*pgxpool.Config)) (S, string) {
	t.Helper()
	ctx := context.Background()
	dsn := testdb.Postgres(t)
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range configure {
		c(cfg)
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	if setup != "" {
		if _, err := pool.Exec(ctx, setup); err != nil {
			t.Fatal(err)
		}
	}
	s := newStore(pool)
	if c, ok := any(s).(interface{ Close() error }); ok {
		t.Cleanup(func() { c.Close() }) // the change listener, before the pool
	}
	if err := migrate(s, ctx); err != nil {
		t.Fatal(err)
	}
	return s, dsn
}

// openMySQL opens a generated MySQL Store on a new database and migrates;
// it returns the Store and the database's DSN.
func openMySQL[S any](t *testing.T, open func(string) (S, error), migrate func(S, context.Context) error, close func(S) error) (S, string) {
	t.Helper()
	dsn := testdb.MySQL(t)
	s, err := open(dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { close(s) })
	if err := migrate(s, context.Background()); err != nil {
		t.Fatal(err)
	}
	return s, dsn
}

// sqlExec runs statements on a database/sql handle.
func sqlExec(db *sql.DB) execFunc {
	return func(ctx context.Context, stmt string) error {
		_, err := db.ExecContext(ctx, stmt)
		return err
	}
}

// pgExec runs statements on a pgx pool.
func pgExec(pool *pgxpool.Pool) execFunc {
	return func(ctx context.Context, stmt string) error {
		_, err := pool.Exec(ctx, stmt)
		return err
	}
}
