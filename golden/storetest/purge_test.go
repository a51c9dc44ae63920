package storetest_test

import (
	"context"
	"errors"
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
		if err := s.CreateFamily(ctx, &runtime.Family{ID: f, ClientID: "c", CreatedAt: now.Add(-48 * time.Hour)}); err != nil {
			t.Fatal(err)
		}
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
		at := &runtime.AccessToken{Hash: tok.hash, ClientID: "c", FamilyID: tok.family, IssuedAt: now.Add(-time.Hour), ExpiresAt: tok.expires}
		if err := s.CreateAccessToken(ctx, at); err != nil {
			t.Fatal(err)
		}
		rt := &runtime.RefreshToken{Hash: tok.hash, ClientID: "c", FamilyID: tok.family, IssuedAt: now.Add(-time.Hour), ExpiresAt: tok.expires}
		if err := s.CreateRefreshToken(ctx, rt); err != nil {
			t.Fatal(err)
		}
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
