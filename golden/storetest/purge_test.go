package storetest_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	mysqlstore "github.com/oauthgen/oauthgen/golden/every_grant_mysql"
	pgstore "github.com/oauthgen/oauthgen/golden/every_grant_postgres"
	sqlitestore "github.com/oauthgen/oauthgen/golden/every_grant_sqlite"
	"github.com/oauthgen/oauthgen/runtime"
)

// purger is the generated Stores' PurgeExpired.
type purger interface {
	runtime.Store
	runtime.FamilyStore
	runtime.RefreshTokenStore
	PurgeExpired(ctx context.Context, before time.Time) (int64, error)
}

// TestPurgeExpired: expired tokens and codes go, live ones stay, and a
// family goes once nothing of it is left. Times compare correctly in every
// dialect's storage (SQLite keeps them as text).
func TestPurgeExpired(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) {
		s := openSQLite(t, sqlitestore.Open, "")
		testPurge(t, s, func(ctx context.Context, c *runtime.Client) error {
			return s.ImportClient(ctx, &sqlitestore.Client{Client: *c})
		})
	})
	t.Run("postgres", func(t *testing.T) {
		s, _ := openPostgres(t, pgstore.New, (*pgstore.Store).Migrate, "")
		testPurge(t, s, func(ctx context.Context, c *runtime.Client) error {
			return s.ImportClient(ctx, &pgstore.Client{Client: *c})
		})
	})
	t.Run("mysql", func(t *testing.T) {
		s, _ := openMySQL(t, mysqlstore.Open, (*mysqlstore.Store).Migrate, (*mysqlstore.Store).Close)
		testPurge(t, s, func(ctx context.Context, c *runtime.Client) error {
			return s.ImportClient(ctx, &mysqlstore.Client{Client: *c})
		})
	})
}

func testPurge(t *testing.T, s purger, addClient func(context.Context, *runtime.Client) error) {
	ctx := context.Background()
	now := time.Date(2026, 11, 22, 12, 0, 0, 500_000_000, time.UTC)
	if err := addClient(ctx, &runtime.Client{ID: "c", GrantTypes: []string{"refresh_token"}, CreatedAt: now}); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"old", "live"} {
		must(t, s.Issue(ctx, &runtime.Issuance{Family: &runtime.Family{ID: f, ClientID: "c", CreatedAt: now.Add(-48 * time.Hour)}}))
	}
	// Expiries a fraction of a second either side of now catch text
	// comparisons that get sub-second digits wrong.
	for _, tok := range []struct {
		hash, family string
		expires      time.Time
	}{
		{"expired", "old", now.Add(-time.Second)},
		{"just-expired", "old", now.Add(-time.Millisecond)},
		{"live", "live", now.Add(time.Millisecond)},
	} {
		must(t, s.Issue(ctx, &runtime.Issuance{
			AccessToken:  &runtime.AccessToken{Hash: tok.hash, ClientID: "c", FamilyID: tok.family, IssuedAt: now.Add(-time.Hour), ExpiresAt: tok.expires},
			RefreshToken: &runtime.RefreshToken{Hash: tok.hash, ClientID: "c", FamilyID: tok.family, IssuedAt: now.Add(-time.Hour), ExpiresAt: tok.expires},
		}))
	}
	n, err := s.PurgeExpired(ctx, now)
	if err != nil {
		t.Fatal(err)
	}
	if n != 5 { // 2 access + 2 refresh tokens, then the emptied family
		t.Errorf("purged %d rows, want 5", n)
	}
	for _, gone := range []string{"expired", "just-expired"} {
		if _, err := s.GetAccessToken(ctx, gone); !errors.Is(err, runtime.ErrNotFound) {
			t.Errorf("access token %s: %v, want ErrNotFound", gone, err)
		}
		if _, err := s.GetRefreshToken(ctx, gone); !errors.Is(err, runtime.ErrNotFound) {
			t.Errorf("refresh token %s: %v, want ErrNotFound", gone, err)
		}
	}
	if _, err := s.GetAccessToken(ctx, "live"); err != nil {
		t.Errorf("live access token: %v", err)
	}
	if _, err := s.GetRefreshToken(ctx, "live"); err != nil {
		t.Errorf("live refresh token: %v", err)
	}
	if err := s.RevokeFamily(ctx, "old", now); !errors.Is(err, runtime.ErrNotFound) {
		t.Errorf("the emptied family: %v, want ErrNotFound (purged)", err)
	}
	if err := s.RevokeFamily(ctx, "live", now); err != nil {
		t.Errorf("the live family: %v", err)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// purgeCases are the every_grant Stores on each dialect, for the purge
// and issuance tests.
var purgeCases = []struct {
	name string
	open func(t *testing.T) (purger, func(context.Context, *runtime.Client) error)
}{
	{"sqlite", func(t *testing.T) (purger, func(context.Context, *runtime.Client) error) {
		s := openSQLite(t, sqlitestore.Open, "")
		return s, func(ctx context.Context, c *runtime.Client) error {
			return s.ImportClient(ctx, &sqlitestore.Client{Client: *c})
		}
	}},
	{"postgres", func(t *testing.T) (purger, func(context.Context, *runtime.Client) error) {
		s, _ := openPostgres(t, pgstore.New, (*pgstore.Store).Migrate, "")
		return s, func(ctx context.Context, c *runtime.Client) error {
			return s.ImportClient(ctx, &pgstore.Client{Client: *c})
		}
	}},
	{"mysql", func(t *testing.T) (purger, func(context.Context, *runtime.Client) error) {
		s, _ := openMySQL(t, mysqlstore.Open, (*mysqlstore.Store).Migrate, (*mysqlstore.Store).Close)
		return s, func(ctx context.Context, c *runtime.Client) error {
			return s.ImportClient(ctx, &mysqlstore.Client{Client: *c})
		}
	}},
}

// TestPurgeBatches: a purge larger than one batch (1000 rows a statement)
// deletes everything expired, in as many statements as it takes.
func TestPurgeBatches(t *testing.T) {
	const expired = 2*1000 + 7
	for _, pc := range purgeCases {
		t.Run(pc.name, func(t *testing.T) {
			s, addClient := pc.open(t)
			ctx := context.Background()
			now := time.Now().UTC().Truncate(time.Microsecond)
			must(t, addClient(ctx, &runtime.Client{ID: "c", SecretHash: runtime.HashToken("s"), GrantTypes: []string{"client_credentials"}, CreatedAt: now}))
			for i := range expired + 1 {
				expires := now.Add(-time.Minute)
				if i == expired {
					expires = now.Add(time.Hour)
				}
				must(t, s.Issue(ctx, &runtime.Issuance{AccessToken: &runtime.AccessToken{
					Hash: fmt.Sprint("t", i), ClientID: "c", IssuedAt: now.Add(-time.Hour), ExpiresAt: expires}}))
			}
			n, err := s.PurgeExpired(ctx, now)
			must(t, err)
			if n != expired {
				t.Errorf("purged %d rows, want %d", n, expired)
			}
			if _, err := s.GetAccessToken(ctx, fmt.Sprint("t", expired)); err != nil {
				t.Errorf("the live token: %v", err)
			}
		})
	}
}

// TestPurgeRacesIssuance runs PurgeExpired over and over while refresh
// token rotations run into the same families. Each rotated token has
// expired by the purge's clock, so the purge may delete it and then its
// family, which has no other member, while the rotation is in flight.
// Every rotation must either succeed whole, its family and new tokens
// surviving every purge after it, or find its token gone
// (runtime.ErrNotFound): never a foreign key error, never tokens issued
// into a family the purge then deletes.
func TestPurgeRacesIssuance(t *testing.T) {
	const families = 60
	for _, pc := range purgeCases {
		t.Run(pc.name, func(t *testing.T) {
			s, addClient := pc.open(t)
			ctx := context.Background()
			now := time.Now().UTC().Truncate(time.Microsecond)
			past := now.Add(-time.Hour)
			must(t, addClient(ctx, &runtime.Client{ID: "c", GrantTypes: []string{"refresh_token"}, CreatedAt: past}))
			for i := range families {
				id := fmt.Sprint("f", i)
				must(t, s.Issue(ctx, &runtime.Issuance{
					Family:       &runtime.Family{ID: id, ClientID: "c", CreatedAt: past},
					RefreshToken: &runtime.RefreshToken{Hash: "old-" + id, ClientID: "c", FamilyID: id, IssuedAt: past, ExpiresAt: now.Add(-time.Second)},
				}))
			}

			done := make(chan struct{})
			purgeErr := make(chan error, 1)
			go func() {
				defer close(purgeErr)
				for {
					select {
					case <-done:
						return
					default:
					}
					if _, err := s.PurgeExpired(ctx, now); err != nil {
						purgeErr <- err
						return
					}
				}
			}()
			rotated := make([]bool, families)
			var wg sync.WaitGroup
			errs := make(chan error, families)
			for w := range 4 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := w; i < families; i += 4 {
						id := fmt.Sprint("f", i)
						err := s.Issue(ctx, &runtime.Issuance{
							Consume:      &runtime.Consumption{Kind: runtime.ConsumeRefreshToken, Hash: "old-" + id, At: now},
							AccessToken:  &runtime.AccessToken{Hash: "at-" + id, ClientID: "c", FamilyID: id, IssuedAt: now, ExpiresAt: now.Add(time.Hour)},
							RefreshToken: &runtime.RefreshToken{Hash: "rt-" + id, ClientID: "c", FamilyID: id, IssuedAt: now, ExpiresAt: now.Add(time.Hour)},
						})
						switch {
						case err == nil:
							rotated[i] = true
						case !errors.Is(err, runtime.ErrNotFound):
							errs <- fmt.Errorf("rotation in %s: %w", id, err)
						}
					}
				}()
			}
			wg.Wait()
			close(done)
			close(errs)
			for err := range errs {
				t.Error(err)
			}
			must(t, <-purgeErr)
			// One more purge, with nothing in flight, must not change the outcome.
			_, err := s.PurgeExpired(ctx, now)
			must(t, err)
			n := 0
			for i, ok := range rotated {
				id := fmt.Sprint("f", i)
				if !ok {
					continue
				}
				n++
				if _, err := s.GetAccessToken(ctx, "at-"+id); err != nil {
					t.Errorf("access token of the rotation in %s: %v", id, err)
				}
				if _, err := s.GetRefreshToken(ctx, "rt-"+id); err != nil {
					t.Errorf("refresh token of the rotation in %s: %v", id, err)
				}
				if err := s.RevokeFamily(ctx, id, now); err != nil {
					t.Errorf("family %s after its rotation: %v", id, err)
				}
			}
			t.Logf("%d of %d rotations won the race", n, families)
		})
	}
}
