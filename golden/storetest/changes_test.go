package storetest_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	goruntime "runtime"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	mysqlstore "github.com/oauthgen/oauthgen/golden/every_grant_mysql"
	pgstore "github.com/oauthgen/oauthgen/golden/every_grant_postgres"
	sqlitestore "github.com/oauthgen/oauthgen/golden/every_grant_sqlite"
	"github.com/oauthgen/oauthgen/internal/testdb"
	"github.com/oauthgen/oauthgen/runtime"
)

// changeWait bounds the wait for another Store's change to reach a
// PostgreSQL listener: a notification's round trip, normally milliseconds.
const changeWait = 5 * time.Second

// handle is one generated Store of the change tests, with its client
// writes: each golden package has its own Client types.
type handle struct {
	store interface {
		runtime.Store
		runtime.ChangeCounter
		runtime.Limiter
		runtime.BatchLimiter
		runtime.FamilyStore
		runtime.RefreshTokenStore
		PurgeExpired(ctx context.Context, before time.Time) (int64, error)
	}
	createClient, updateClient, rotateSecret, deleteClient func(ctx context.Context, id string) error
	// forgetChanges deletes the changes table's row by hand, as a database
	// whose clients were all written around the Store has none; nil on
	// PostgreSQL, which has no such table.
	forgetChanges func(ctx context.Context) error
}

// forgetChanges is handle.forgetChanges of a Store on database/sql.
func forgetChanges(db *sql.DB) func(ctx context.Context) error {
	return func(ctx context.Context) error {
		_, err := db.ExecContext(ctx, "DELETE FROM oauth_changes")
		return err
	}
}

func sqliteHandle(s *sqlitestore.Store) handle {
	return handle{store: s,
		createClient: func(ctx context.Context, id string) error {
			_, _, err := s.CreateClient(ctx, sqlitestore.NewClient{ID: id, Name: id, GrantTypes: []string{"client_credentials", "refresh_token"}})
			return err
		},
		updateClient: func(ctx context.Context, id string) error {
			c, err := s.Client(ctx, id)
			if err != nil {
				return err
			}
			c.Name += " renamed"
			return s.UpdateClient(ctx, c)
		},
		rotateSecret: func(ctx context.Context, id string) error {
			_, err := s.RotateClientSecret(ctx, id)
			return err
		},
		deleteClient:  s.DeleteClient,
		forgetChanges: forgetChanges(s.DB()),
	}
}

func postgresHandle(s *pgstore.Store) handle {
	return handle{store: s,
		createClient: func(ctx context.Context, id string) error {
			_, _, err := s.CreateClient(ctx, pgstore.NewClient{ID: id, Name: id, GrantTypes: []string{"client_credentials", "refresh_token"}})
			return err
		},
		updateClient: func(ctx context.Context, id string) error {
			c, err := s.Client(ctx, id)
			if err != nil {
				return err
			}
			c.Name += " renamed"
			return s.UpdateClient(ctx, c)
		},
		rotateSecret: func(ctx context.Context, id string) error {
			_, err := s.RotateClientSecret(ctx, id)
			return err
		},
		deleteClient: s.DeleteClient,
	}
}

func mysqlHandle(s *mysqlstore.Store) handle {
	return handle{store: s,
		createClient: func(ctx context.Context, id string) error {
			_, _, err := s.CreateClient(ctx, mysqlstore.NewClient{ID: id, Name: id, GrantTypes: []string{"client_credentials", "refresh_token"}})
			return err
		},
		updateClient: func(ctx context.Context, id string) error {
			c, err := s.Client(ctx, id)
			if err != nil {
				return err
			}
			c.Name += " renamed"
			return s.UpdateClient(ctx, c)
		},
		rotateSecret: func(ctx context.Context, id string) error {
			_, err := s.RotateClientSecret(ctx, id)
			return err
		},
		deleteClient:  s.DeleteClient,
		forgetChanges: forgetChanges(s.DB()),
	}
}

// changeCases open two Stores on one database per dialect, as two
// processes would: two Opens of one SQLite file, two pools on one
// PostgreSQL database, two MySQL handles. On PostgreSQL (notified) the
// other Store's changes arrive as notifications; elsewhere both read one
// count.
var changeCases = []struct {
	name     string
	notified bool
	open     func(t *testing.T) (a, b handle)
}{
	{"sqlite", false, func(t *testing.T) (handle, handle) {
		path := testdb.SQLite(t)
		open := func() *sqlitestore.Store {
			s, err := sqlitestore.Open(path)
			must(t, err)
			t.Cleanup(func() { s.Close() })
			return s
		}
		a, b := open(), open()
		must(t, a.Migrate(context.Background()))
		return sqliteHandle(a), sqliteHandle(b)
	}},
	{"postgres", true, func(t *testing.T) (handle, handle) {
		config := postgresDatabase(t)
		a, b := openPostgresStore(t, config()), openPostgresStore(t, config())
		must(t, a.Migrate(context.Background()))
		return postgresHandle(a), postgresHandle(b)
	}},
	{"mysql", false, func(t *testing.T) (handle, handle) {
		a, dsn := openMySQL(t, mysqlstore.Open, (*mysqlstore.Store).Migrate, (*mysqlstore.Store).Close)
		b, err := mysqlstore.Open(dsn)
		must(t, err)
		t.Cleanup(func() { b.Close() })
		return mysqlHandle(a), mysqlHandle(b)
	}},
}

// TestChangeCount: every write of a client or a limiter count moves
// ChangeCount at once for the Store that made it, and for another Store
// on the same database (another process) at once too where the count is
// in the database, or once the notification arrives (PostgreSQL).
func TestChangeCount(t *testing.T) {
	for _, c := range changeCases {
		t.Run(c.name, func(t *testing.T) {
			ctx := context.Background()
			a, b := c.open(t)
			handles := []handle{a, b}
			counts := make([]uint64, len(handles))
			for i, h := range handles {
				counts[i] = waitChangeCount(t, h, func(uint64) bool { return true })
			}
			now := time.Now().UTC()
			longAgo := now.Add(-48 * time.Hour) // older than PurgeExpired keeps counts
			for w, writer := range handles {
				id := fmt.Sprintf("changes-%d", w)
				key := "client:" + id
				addFailure := func(at time.Time) func() error {
					return func() error {
						_, err := writer.store.AddFailure(ctx, key, at, at.Add(-time.Hour))
						return err
					}
				}
				steps := []struct {
					name  string
					write func() error
				}{
					{"CreateClient", func() error { return writer.createClient(ctx, id) }},
					{"UpdateClient", func() error { return writer.updateClient(ctx, id) }},
					{"RotateClientSecret", func() error { return writer.rotateSecret(ctx, id) }},
					{"DeleteClient", func() error { return writer.deleteClient(ctx, id) }},
					{"AddFailure", addFailure(now)},
					{"Reset", func() error { return writer.store.Reset(ctx, key) }},
					{"AddFailure long ago", addFailure(longAgo)},
					{"Purge", func() error { return writer.store.Purge(ctx, longAgo.Add(time.Second)) }},
					{"AddFailure long ago", addFailure(longAgo)},
					{"PurgeExpired", func() error {
						n, err := writer.store.PurgeExpired(ctx, now)
						if err == nil && n != 1 {
							err = fmt.Errorf("purged %d rows, want the one count", n)
						}
						return err
					}},
				}
				for _, st := range steps {
					must(t, st.write())
					// The writer at once: its process must not wait for a round trip.
					if n := changeCount(t, writer); n <= counts[w] {
						t.Fatalf("%s through Store %d: its ChangeCount is %d, was %d before", st.name, w, n, counts[w])
					}
					for i, h := range handles {
						before := counts[i]
						if c.notified {
							// The notification reaches every listener, the
							// writer's too, after its own count.
							if i == w {
								before++
							}
							counts[i] = waitChangeCount(t, h, func(n uint64) bool { return n > before })
							continue
						}
						if counts[i] = changeCount(t, h); counts[i] <= before {
							t.Fatalf("%s through Store %d: Store %d's ChangeCount is %d, was %d before", st.name, w, i, counts[i], before)
						}
					}
				}
			}
		})
	}
}

// TestChangeCountTokens: issuing, reading, refreshing and revoking tokens
// leave ChangeCount as it is, so that a cache of clients stays valid under
// token load.
func TestChangeCountTokens(t *testing.T) {
	for _, c := range changeCases {
		t.Run(c.name, func(t *testing.T) {
			ctx := context.Background()
			a, b := c.open(t)
			before := [2]uint64{
				waitChangeCount(t, a, func(uint64) bool { return true }),
				waitChangeCount(t, b, func(uint64) bool { return true }),
			}
			var notes *pgx.Conn
			if c.notified {
				notes = listenChanges(t, a.store.(*pgstore.Store).Pool().Config().ConnConfig)
			}
			must(t, a.createClient(ctx, "app"))
			// Both counts settle: a counts its own write, then, on
			// PostgreSQL, its notification.
			settled := 1
			if c.notified {
				settled = 2
			}
			before[0] = waitChangeCount(t, a, func(n uint64) bool { return n >= before[0]+uint64(settled) })
			before[1] = waitChangeCount(t, b, func(n uint64) bool { return n > before[1] })
			if c.notified {
				drainChanges(t, notes)
			}

			now := time.Now().UTC()
			for _, h := range []handle{a, b} {
				s := h.store
				fam := &runtime.Family{ID: runtime.NewID(), ClientID: "app", CreatedAt: now}
				access := accessToken(fam.ID, now)
				refresh := &runtime.RefreshToken{Hash: runtime.HashToken(runtime.NewToken()), ClientID: "app", Scopes: []string{"read"},
					FamilyID: fam.ID, IssuedAt: now, ExpiresAt: now.Add(time.Hour)}
				must(t, s.Issue(ctx, &runtime.Issuance{Family: fam, AccessToken: access, RefreshToken: refresh}))
				must(t, s.Issue(ctx, &runtime.Issuance{AccessToken: accessToken("", now)})) // client credentials
				_, err := s.GetAccessToken(ctx, access.Hash)
				must(t, err)
				_, err = s.GetClient(ctx, "app")
				must(t, err)
				_, _, err = s.FailuresOf(ctx, []string{"client:app", "client-addr:192.0.2.1"}, now.Add(-time.Hour))
				must(t, err)
				rotated := *refresh
				rotated.Hash = runtime.HashToken(runtime.NewToken())
				must(t, s.Issue(ctx, &runtime.Issuance{
					Consume:     &runtime.Consumption{Kind: runtime.ConsumeRefreshToken, Hash: refresh.Hash, At: now},
					AccessToken: accessToken(fam.ID, now), RefreshToken: &rotated,
				}))
				_, err = s.GetRefreshToken(ctx, rotated.Hash)
				must(t, err)
				must(t, s.RevokeAccessToken(ctx, access.Hash, now))
				must(t, s.RevokeFamily(ctx, fam.ID, now))
				_, err = s.PurgeExpired(ctx, now) // nothing expired: no count goes
				must(t, err)
			}

			for i, h := range []handle{a, b} {
				n, ok, err := h.store.ChangeCount(ctx)
				if err != nil || !ok || n != before[i] {
					t.Errorf("Store %d after token requests: ChangeCount %d, %v, %v; want %d, true, nil", i, n, ok, err, before[i])
				}
			}
			if c.notified {
				// Notifications arrive after the call that sent them returned:
				// none may come before one sent now.
				_, err := notes.Exec(ctx, "NOTIFY "+markerChannel)
				must(t, err)
				if n, err := notes.WaitForNotification(ctx); err != nil || n.Channel != markerChannel {
					t.Fatalf("notification during token requests: %+v, %v", n, err)
				}
			}
		})
	}
}

// pgstoreChannel is every_grant_postgres's channel. markerChannel is the
// test's own: PostgreSQL delivers the notifications of a database in commit
// order, whatever their channel, so one sent there follows those sent
// before it, which the Stores do not see.
const (
	pgstoreChannel = "oauth_changes"
	markerChannel  = "oauthgen_test_marker"
)

// TestChangeListener: PostgreSQL's listener, on a connection of its own.
// While it is down ChangeCount says so; back, it counts a change, as it
// may have missed notifications meanwhile. Close ends it, goroutine and
// connection.
func TestChangeListener(t *testing.T) {
	ctx := context.Background()
	config := postgresDatabase(t)
	admin, err := pgx.ConnectConfig(ctx, config().ConnConfig)
	must(t, err)
	t.Cleanup(func() { admin.Close(context.Background()) })
	// The listened Store connects as a role of its own, which can be kept
	// out while its listener is down.
	role := "oauthgen_listener_" + randomHex(6)
	_, err = admin.Exec(ctx, "CREATE ROLE "+role+" LOGIN")
	must(t, err)
	t.Cleanup(func() { admin.Exec(context.Background(), "DROP ROLE "+role) })
	writer := openPostgresStore(t, config())
	must(t, writer.Migrate(ctx))
	cfg := config()
	cfg.ConnConfig.User, cfg.ConnConfig.Password = role, ""
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	must(t, err)
	t.Cleanup(pool.Close)

	base := listenerGoroutines()
	s := pgstore.New(pool)
	t.Cleanup(func() { s.Close() })
	h := postgresHandle(s)
	n := waitChangeCount(t, h, func(uint64) bool { return true })
	if got := listenerGoroutines(); got != base+1 {
		t.Fatalf("%d listener goroutines while listening, want %d", got, base+1)
	}
	must(t, postgresHandle(writer).createClient(ctx, "app"))
	n = waitChangeCount(t, h, func(m uint64) bool { return m > n })

	_, err = admin.Exec(ctx, "ALTER ROLE "+role+" NOLOGIN")
	must(t, err)
	var terminated []bool
	rows, err := admin.Query(ctx, "SELECT pg_terminate_backend(pid, 10000) FROM pg_stat_activity WHERE usename = $1", role)
	must(t, err)
	terminated, err = pgx.CollectRows(rows, pgx.RowTo[bool])
	must(t, err)
	if len(terminated) != 1 || !terminated[0] {
		t.Fatalf("terminating the listener's backend: %v, want one true", terminated)
	}
	waitChangeState(t, s, "down", func(_ uint64, ok bool) bool { return !ok })
	// Nobody listens: this change's notification is lost.
	must(t, postgresHandle(writer).updateClient(ctx, "app"))
	if m, ok, err := s.ChangeCount(ctx); err != nil || ok {
		t.Fatalf("ChangeCount with the listener kept out: %d, %v, %v; want ok false", m, ok, err)
	}

	_, err = admin.Exec(ctx, "ALTER ROLE "+role+" LOGIN")
	must(t, err)
	n = waitChangeCount(t, h, func(m uint64) bool { return m > n })
	must(t, postgresHandle(writer).deleteClient(ctx, "app"))
	waitChangeCount(t, h, func(m uint64) bool { return m > n })

	must(t, s.Close())
	if m, ok, err := s.ChangeCount(ctx); err != nil || ok {
		t.Fatalf("ChangeCount after Close: %d, %v, %v; want ok false", m, ok, err)
	}
	waitFor(t, "the listener's goroutine to end", func() bool { return listenerGoroutines() == base })
	waitFor(t, "the listener's connection to close", func() bool {
		var n int
		must(t, admin.QueryRow(ctx, "SELECT count(*) FROM pg_stat_activity WHERE usename = $1", role).Scan(&n))
		return n == 0
	})
	if err := pool.Ping(ctx); err != nil {
		t.Fatalf("the pool New was given, after Close: %v; want it open", err)
	}
}

// changeCount returns h's ChangeCount, failing the test unless it is ok.
func changeCount(t *testing.T, h handle) uint64 {
	t.Helper()
	n, ok, err := h.store.ChangeCount(context.Background())
	if err != nil || !ok {
		t.Fatalf("ChangeCount: %d, %v, %v", n, ok, err)
	}
	return n
}

// waitChangeCount polls h's ChangeCount until it is ok with a count that
// satisfies want (PostgreSQL: the listener connects, a notification
// arrives), and returns the count.
func waitChangeCount(t *testing.T, h handle, want func(uint64) bool) uint64 {
	t.Helper()
	return waitChangeState(t, h.store, "ok", func(n uint64, ok bool) bool { return ok && want(n) })
}

func waitChangeState(t *testing.T, s runtime.ChangeCounter, what string, want func(uint64, bool) bool) uint64 {
	t.Helper()
	deadline := time.Now().Add(changeWait)
	for {
		n, ok, err := s.ChangeCount(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if want(n, ok) {
			return n
		}
		if time.Now().After(deadline) {
			t.Fatalf("ChangeCount still %d, %v after %v; waiting for it %s", n, ok, changeWait, what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// waitFor polls cond until it holds, failing after changeWait.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(changeWait); !cond(); time.Sleep(2 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("waited %v for %s", changeWait, what)
		}
	}
}

// listenerGoroutines counts the goroutines of every_grant_postgres's
// change listeners.
func listenerGoroutines() int {
	buf := make([]byte, 1<<20)
	for {
		n := goruntime.Stack(buf, true)
		if n < len(buf) {
			return bytes.Count(buf[:n], []byte("every_grant_postgres.(*changeListener).run("))
		}
		buf = make([]byte, 2*len(buf))
	}
}

func accessToken(family string, now time.Time) *runtime.AccessToken {
	return &runtime.AccessToken{Hash: runtime.HashToken(runtime.NewToken()), ClientID: "app", Scopes: []string{"read"},
		FamilyID: family, IssuedAt: now, ExpiresAt: now.Add(time.Hour)}
}

// listenChanges listens on every_grant_postgres's channel and on
// markerChannel, on a connection of the test's.
func listenChanges(t *testing.T, cfg *pgx.ConnConfig) *pgx.Conn {
	t.Helper()
	conn, err := pgx.ConnectConfig(context.Background(), cfg)
	must(t, err)
	t.Cleanup(func() { conn.Close(context.Background()) })
	_, err = conn.Exec(context.Background(), "LISTEN "+pgstoreChannel+"; LISTEN "+markerChannel)
	must(t, err)
	return conn
}

// drainChanges reads the notifications sent so far, up to a marker.
func drainChanges(t *testing.T, conn *pgx.Conn) {
	t.Helper()
	ctx := context.Background()
	_, err := conn.Exec(ctx, "NOTIFY "+markerChannel)
	must(t, err)
	for {
		n, err := conn.WaitForNotification(ctx)
		must(t, err)
		if n.Channel == markerChannel {
			return
		}
	}
}

// postgresDatabase creates a database on the server OAUTHGEN_TEST_POSTGRES
// names, dropped after the test, and returns configurations for pools on
// it. Notification channels are per database: no other test's Stores
// notify the ones on it.
func postgresDatabase(t *testing.T) func() *pgxpool.Config {
	t.Helper()
	dsn := os.Getenv(testdb.PostgresEnv)
	if dsn == "" {
		t.Skipf("no PostgreSQL: set %s to run this test", testdb.PostgresEnv)
	}
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	must(t, err)
	defer conn.Close(ctx)
	name := "oauthgen_test_" + randomHex(6)
	_, err = conn.Exec(ctx, "CREATE DATABASE "+name)
	must(t, err)
	t.Cleanup(func() {
		conn, err := pgx.Connect(context.Background(), dsn)
		if err != nil {
			t.Errorf("drop database %s: %v", name, err)
			return
		}
		defer conn.Close(context.Background())
		if _, err := conn.Exec(context.Background(), "DROP DATABASE "+name+" WITH (FORCE)"); err != nil {
			t.Errorf("drop database %s: %v", name, err)
		}
	})
	return func() *pgxpool.Config {
		cfg, err := pgxpool.ParseConfig(dsn)
		must(t, err)
		cfg.ConnConfig.Database = name
		return cfg
	}
}

// openPostgresStore is New on a pool of cfg, both closed after the test.
func openPostgresStore(t *testing.T, cfg *pgxpool.Config) *pgstore.Store {
	t.Helper()
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	must(t, err)
	t.Cleanup(pool.Close)
	s := pgstore.New(pool)
	t.Cleanup(func() { s.Close() })
	return s
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// TestIssueChangedElsewhere: on a Store whose Issue checks IfChangeCount,
// a client write through another Store on the database (another process)
// makes an Issuance with the count from before it apply nothing and return
// ErrChanged; with the count after it, the Issuance applies. Both a lone
// access token (one INSERT) and a family with tokens (a transaction).
func TestIssueChangedElsewhere(t *testing.T) {
	for _, c := range changeCases {
		t.Run(c.name, func(t *testing.T) {
			ctx := context.Background()
			a, b := c.open(t)
			if ci, ok := a.store.(runtime.ChangeCountIssuer); !ok || !ci.IssueChecksChangeCount() {
				t.Skip("the Store's Issue does not check IfChangeCount")
			}
			must(t, a.createClient(ctx, "issuer"))
			now := time.Now().UTC().Truncate(time.Millisecond)
			lone := func() *runtime.Issuance {
				return &runtime.Issuance{AccessToken: &runtime.AccessToken{Hash: runtime.HashToken(runtime.NewToken()),
					ClientID: "issuer", Scopes: []string{"read"}, IssuedAt: now, ExpiresAt: now.Add(time.Hour)}}
			}
			withFamily := func() *runtime.Issuance {
				is := lone()
				f := &runtime.Family{ID: runtime.NewID(), ClientID: "issuer", CreatedAt: now}
				is.Family, is.AccessToken.FamilyID = f, f.ID
				is.RefreshToken = &runtime.RefreshToken{Hash: runtime.HashToken(runtime.NewToken()), ClientID: "issuer",
					Scopes: []string{"read"}, FamilyID: f.ID, IssuedAt: now, ExpiresAt: now.Add(24 * time.Hour)}
				return is
			}
			for _, shape := range []struct {
				name string
				make func() *runtime.Issuance
			}{{"access_token_alone", lone}, {"family_and_tokens", withFamily}} {
				old := changeCount(t, a)
				must(t, b.rotateSecret(ctx, "issuer"))
				is := shape.make()
				is.IfChangeCount = &old
				if err := a.store.Issue(ctx, is); !errors.Is(err, runtime.ErrChanged) {
					t.Fatalf("%s: Issue with the count from before another Store's write: error = %v, want ErrChanged", shape.name, err)
				}
				if _, err := a.store.GetAccessToken(ctx, is.AccessToken.Hash); !errors.Is(err, runtime.ErrNotFound) {
					t.Errorf("%s: access token after ErrChanged: error = %v, want ErrNotFound", shape.name, err)
				}
				if r := is.RefreshToken; r != nil {
					if _, err := a.store.GetRefreshToken(ctx, r.Hash); !errors.Is(err, runtime.ErrNotFound) {
						t.Errorf("%s: refresh token after ErrChanged: error = %v, want ErrNotFound", shape.name, err)
					}
				}
				current := changeCount(t, a)
				is.IfChangeCount = &current
				must(t, a.store.Issue(ctx, is))
				if _, err := a.store.GetAccessToken(ctx, is.AccessToken.Hash); err != nil {
					t.Errorf("%s: access token after Issue with the current count: %v", shape.name, err)
				}
			}
		})
	}
}

// TestIssueLoneAccessTokenIfUnchanged: a lone access token with an
// IfChangeCount (client credentials on a ChangeCountIssuer: on SQLite one
// INSERT that compares the count itself) compares the count before its
// key. A stale count is ErrChanged and stores nothing, even for a hash that
// exists; with the current count, a hash that exists is ErrDuplicate and
// the stored token stays as it was. With no change ever counted (the
// changes table without its row) the count is 0, as ChangeCount says.
func TestIssueLoneAccessTokenIfUnchanged(t *testing.T) {
	for _, c := range changeCases {
		t.Run(c.name, func(t *testing.T) {
			ctx := context.Background()
			a, _ := c.open(t)
			if ci, ok := a.store.(runtime.ChangeCountIssuer); !ok || !ci.IssueChecksChangeCount() {
				t.Skip("the Store's Issue does not check IfChangeCount")
			}
			must(t, a.createClient(ctx, "app"))
			now := time.Now().UTC().Truncate(time.Second)
			issue := func(at *runtime.AccessToken, count uint64) error {
				return a.store.Issue(ctx, &runtime.Issuance{AccessToken: at, IfChangeCount: &count})
			}
			stored := func(at *runtime.AccessToken) error {
				got, err := a.store.GetAccessToken(ctx, at.Hash)
				if err == nil && !got.ExpiresAt.Equal(at.ExpiresAt) {
					err = fmt.Errorf("expires %v, want %v", got.ExpiresAt, at.ExpiresAt)
				}
				return err
			}

			current := changeCount(t, a)
			first := accessToken("", now)
			must(t, issue(first, current))
			must(t, stored(first))

			stale := accessToken("", now)
			if err := issue(stale, current+1); !errors.Is(err, runtime.ErrChanged) {
				t.Errorf("Issue with a stale count: %v, want ErrChanged", err)
			}
			if err := stored(stale); !errors.Is(err, runtime.ErrNotFound) {
				t.Errorf("token issued with a stale count: read back %v, want ErrNotFound", err)
			}

			again := *first
			again.ExpiresAt = first.ExpiresAt.Add(time.Hour)
			if err := issue(&again, current+1); !errors.Is(err, runtime.ErrChanged) {
				t.Errorf("Issue of a stored hash with a stale count: %v, want ErrChanged (the count first)", err)
			}
			if err := issue(&again, current); !errors.Is(err, runtime.ErrDuplicate) {
				t.Errorf("Issue of a stored hash with the current count: %v, want ErrDuplicate", err)
			}
			if err := stored(first); err != nil {
				t.Errorf("token after a duplicate Issue: %v", err)
			}

			must(t, a.forgetChanges(ctx))
			if n := changeCount(t, a); n != 0 {
				t.Fatalf("ChangeCount without the changes row: %d, want 0", n)
			}
			if err := issue(accessToken("", now), 1); !errors.Is(err, runtime.ErrChanged) {
				t.Errorf("Issue with count 1 where none was counted: %v, want ErrChanged", err)
			}
			fresh := accessToken("", now)
			if err := issue(fresh, 0); err != nil {
				t.Errorf("Issue with count 0 where none was counted: %v", err)
			}
			if err := stored(fresh); err != nil {
				t.Errorf("token issued with count 0: %v", err)
			}
		})
	}
}
