package storetest_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	sqlitestore "github.com/oauthgen/oauthgen/golden/every_grant_sqlite"
	"github.com/oauthgen/oauthgen/internal/testdb"
	"github.com/oauthgen/oauthgen/runtime"
)

// The SQLite Store's GetAccessToken runs on a pool of its own connections
// (lookupPool). These tests cover what the pool adds to database/sql's
// behaviour: slots that survive failed lookups, reads that see every commit
// before them, and Close with lookups in flight.

// issueToken stores an access token for client "c" and returns its hash.
func issueToken(t *testing.T, s *sqlitestore.Store, secret string) string {
	t.Helper()
	hash := runtime.HashToken(secret)
	now := time.Now().UTC()
	must(t, s.Issue(context.Background(), &runtime.Issuance{AccessToken: &runtime.AccessToken{
		Hash: hash, ClientID: "c", Scopes: []string{"read"}, IssuedAt: now, ExpiresAt: now.Add(time.Hour),
	}}))
	return hash
}

func lookupPoolStore(t *testing.T) *sqlitestore.Store {
	s := openSQLite(t, sqlitestore.Open, "")
	must(t, s.ImportClient(context.Background(), &sqlitestore.Client{Client: runtime.Client{
		ID: "c", SecretHash: runtime.HashToken("s"), GrantTypes: []string{"client_credentials"}, CreatedAt: time.Now().UTC(),
	}}))
	return s
}

// A lookup that fails to prepare (no table yet) gives its slot back: after
// more failures than the pool has connections, lookups still run.
func TestSQLiteLookupPoolFailedOpen(t *testing.T) {
	s, err := sqlitestore.Open(testdb.SQLite(t))
	must(t, err)
	defer s.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for range 20 {
		_, err := s.GetAccessToken(ctx, runtime.HashToken("x"))
		if err == nil || errors.Is(err, runtime.ErrNotFound) || errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("GetAccessToken before Migrate: %v, want the missing table's error", err)
		}
	}
	must(t, s.Migrate(ctx))
	if _, err := s.GetAccessToken(ctx, runtime.HashToken("x")); !errors.Is(err, runtime.ErrNotFound) {
		t.Fatalf("GetAccessToken after Migrate: %v, want ErrNotFound", err)
	}
}

// Every lookup sees what was committed before it began: a token issued after
// lookups missed it, and a revocation, from the first lookup after it.
func TestSQLiteLookupPoolSeesCommits(t *testing.T) {
	s := lookupPoolStore(t)
	ctx := context.Background()
	late := runtime.HashToken("late")
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			for range 50 {
				if _, err := s.GetAccessToken(ctx, late); !errors.Is(err, runtime.ErrNotFound) {
					t.Errorf("before issuing: %v", err)
					return
				}
			}
		})
	}
	wg.Wait()
	issueToken(t, s, "late")

	var revoked atomic.Bool
	stop := make(chan struct{})
	for range 16 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				after := revoked.Load()
				tok, err := s.GetAccessToken(ctx, late)
				if err != nil {
					t.Errorf("after issuing: %v", err)
					return
				}
				if after && tok.RevokedAt.IsZero() {
					t.Errorf("a lookup begun after the revocation reads the token unrevoked")
					return
				}
			}
		})
	}
	time.Sleep(20 * time.Millisecond)
	must(t, s.RevokeAccessToken(ctx, late, time.Now()))
	revoked.Store(true)
	time.Sleep(20 * time.Millisecond)
	close(stop)
	wg.Wait()
}

// Close waits for the lookups in flight, and those after it fail, at once.
func TestSQLiteLookupPoolClose(t *testing.T) {
	s := lookupPoolStore(t)
	hash := issueToken(t, s, "t")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	var looked atomic.Int64
	for range 16 {
		wg.Go(func() {
			for {
				if _, err := s.GetAccessToken(ctx, hash); err != nil {
					if errors.Is(err, context.DeadlineExceeded) {
						t.Errorf("a lookup waited past Close: %v", err)
					}
					return
				}
				looked.Add(1)
			}
		})
	}
	for looked.Load() < 100 {
		time.Sleep(time.Millisecond)
	}
	must(t, s.Close())
	wg.Wait()
	if _, err := s.GetAccessToken(ctx, hash); err == nil || errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("GetAccessToken after Close: %v, want an error at once", err)
	}
	s.Close() // again: returns
}
