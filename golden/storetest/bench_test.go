package storetest_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	goruntime "runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	pgstore "github.com/oauthgen/oauthgen/golden/every_grant_postgres"
	sqlitestore "github.com/oauthgen/oauthgen/golden/every_grant_sqlite"
	"github.com/oauthgen/oauthgen/internal/testdb"
	"github.com/oauthgen/oauthgen/runtime"
)

// BenchmarkSQLiteIssuance measures token requests through the runtime over
// the generated SQLite Store, on a file: client_credentials (one access
// token) and refresh rotation (consume the refresh token, store a new
// access and refresh token).
func BenchmarkSQLiteIssuance(b *testing.B) {
	ctx := context.Background()
	s, err := sqlitestore.Open(testdb.SQLite(b))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	if err := s.Migrate(ctx); err != nil {
		b.Fatal(err)
	}
	client := runtime.Client{ID: "bench", SecretHash: runtime.HashToken("bench-secret"),
		GrantTypes: []string{"client_credentials", "password", "refresh_token"}, CreatedAt: time.Now().UTC()}
	if err := s.ImportClient(ctx, &sqlitestore.Client{Client: client}); err != nil {
		b.Fatal(err)
	}
	user := runtime.User{ID: runtime.NewID(), Username: "bench", PasswordHash: runtime.HashPassword("bench-password")}
	if err := s.ImportUser(ctx, &sqlitestore.User{User: user, CreatedAt: time.Now()}); err != nil {
		b.Fatal(err)
	}
	cfg := sqlitestore.Config()
	cfg.Extensions = nil
	cfg.Issuer = "https://as.example"
	cfg.Logger = slog.New(slog.DiscardHandler)
	srv, err := runtime.NewServer(cfg, s)
	if err != nil {
		b.Fatal(err)
	}
	h := srv.TokenHandler()
	// Requests carry a cancellable context, as net/http's server gives them:
	// the database driver runs a statement whose context can end on a
	// goroutine of its own, to interrupt it.
	reqCtx, cancel := context.WithCancel(ctx)
	b.Cleanup(cancel)
	post := func(form url.Values) (int, map[string]any) {
		r := httptest.NewRequestWithContext(reqCtx, http.MethodPost, "/token", strings.NewReader(form.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		r.SetBasicAuth("bench", "bench-secret")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		var body map[string]any
		json.Unmarshal(w.Body.Bytes(), &body)
		return w.Code, body
	}
	b.Run("grant=client_credentials", func(b *testing.B) {
		b.ReportAllocs()
		defer reportCPU(b)()
		for b.Loop() {
			if code, body := post(url.Values{"grant_type": {"client_credentials"}}); code != http.StatusOK {
				b.Fatalf("%d %v", code, body)
			}
		}
	})
	// 16 requests at once, as bench/compare.sh's 16 connections: the group
	// commit's batches.
	b.Run("grant=client_credentials/parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.SetParallelism(16 / goruntime.GOMAXPROCS(0))
		defer reportCPU(b)()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if code, body := post(url.Values{"grant_type": {"client_credentials"}}); code != http.StatusOK {
					b.Errorf("%d %v", code, body)
					return
				}
			}
		})
	})
	b.Run("grant=refresh_token", func(b *testing.B) {
		code, body := post(url.Values{"grant_type": {"password"}, "username": {"bench"}, "password": {"bench-password"}})
		if code != http.StatusOK {
			b.Fatalf("%d %v", code, body)
		}
		refresh, _ := body["refresh_token"].(string)
		b.ReportAllocs()
		defer reportCPU(b)()
		for b.Loop() {
			code, body := post(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refresh}})
			if code != http.StatusOK {
				b.Fatalf("%d %v", code, body)
			}
			refresh, _ = body["refresh_token"].(string)
		}
	})
}

// BenchmarkSQLiteLoneAccessTokens measures Issue of lone access tokens
// (client credentials) on the generated SQLite Store, from 1, 4 and 16
// goroutines, each conditional on the change count as the runtime issues
// them (runtime.ChangeCountIssuer).
func BenchmarkSQLiteLoneAccessTokens(b *testing.B) {
	ctx := context.Background()
	s, err := sqlitestore.Open(testdb.SQLite(b))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	if err := s.Migrate(ctx); err != nil {
		b.Fatal(err)
	}
	client := runtime.Client{ID: "bench", SecretHash: runtime.HashToken("bench-secret"),
		GrantTypes: []string{"client_credentials"}, CreatedAt: time.Now().UTC()}
	if err := s.ImportClient(ctx, &sqlitestore.Client{Client: client}); err != nil {
		b.Fatal(err)
	}
	count, _, err := s.ChangeCount(ctx)
	if err != nil {
		b.Fatal(err)
	}
	reqCtx, cancel := context.WithCancel(ctx) // as a server's request's
	b.Cleanup(cancel)
	var hash atomic.Int64
	eachConcurrency(b, func() error {
		now := time.Now().UTC()
		return s.Issue(reqCtx, &runtime.Issuance{AccessToken: &runtime.AccessToken{Hash: strconv.FormatInt(hash.Add(1), 10), ClientID: "bench",
			Scopes: []string{"read"}, IssuedAt: now, ExpiresAt: now.Add(time.Hour)}, IfChangeCount: &count})
	})
}

// BenchmarkPostgresLoneAccessTokens measures Issue of lone access tokens
// (client credentials) on the generated PostgreSQL Store, from 1, 4 and 16
// goroutines: the load its group commit batches.
func BenchmarkPostgresLoneAccessTokens(b *testing.B) {
	ctx := context.Background()
	s := benchPostgresStore(b)
	var hash atomic.Int64
	eachConcurrency(b, func() error {
		now := time.Now().UTC()
		return s.Issue(ctx, &runtime.Issuance{AccessToken: &runtime.AccessToken{Hash: strconv.FormatInt(hash.Add(1), 10), ClientID: "bench",
			Scopes: []string{"read"}, IssuedAt: now, ExpiresAt: now.Add(time.Hour)}})
	})
}

// BenchmarkPostgresAccessTokenLookups measures GetAccessToken, a bearer
// check's lookup, on the generated PostgreSQL Store, from 1, 4 and 16
// goroutines: the load its grouped lookups batch. Each looks up one of
// 1024 live tokens.
func BenchmarkPostgresAccessTokenLookups(b *testing.B) {
	ctx := context.Background()
	s := benchPostgresStore(b)
	const tokens = 1024
	now := time.Now().UTC()
	for i := range tokens {
		is := &runtime.Issuance{AccessToken: &runtime.AccessToken{Hash: strconv.Itoa(i), ClientID: "bench",
			Scopes: []string{"read"}, IssuedAt: now, ExpiresAt: now.Add(time.Hour)}}
		if err := s.Issue(ctx, is); err != nil {
			b.Fatal(err)
		}
	}
	var hash atomic.Int64
	eachConcurrency(b, func() error {
		_, err := s.GetAccessToken(ctx, strconv.FormatInt(hash.Add(1)%tokens, 10))
		return err
	})
}

// benchPostgresStore is every_grant_postgres's Store in a fresh schema,
// with the client "bench".
func benchPostgresStore(b *testing.B) *pgstore.Store {
	s, _ := openPostgres(b, pgstore.New, (*pgstore.Store).Migrate, "")
	client := runtime.Client{ID: "bench", SecretHash: runtime.HashToken("bench-secret"),
		GrantTypes: []string{"client_credentials"}, CreatedAt: time.Now().UTC()}
	if err := s.ImportClient(context.Background(), &pgstore.Client{Client: client}); err != nil {
		b.Fatal(err)
	}
	return s
}

// eachConcurrency runs call b.N times from 1, 4 and 16 goroutines, a
// sub-benchmark each.
func eachConcurrency(b *testing.B, call func() error) {
	for _, goroutines := range []int{1, 4, 16} {
		b.Run(fmt.Sprintf("goroutines=%d", goroutines), func(b *testing.B) {
			b.ReportAllocs()
			defer reportCPU(b)()
			var done atomic.Int64
			errs := make(chan error, goroutines)
			for range goroutines {
				go func() {
					for done.Add(1) <= int64(b.N) {
						if err := call(); err != nil {
							errs <- err
							return
						}
					}
					errs <- nil
				}()
			}
			for range goroutines {
				if err := <-errs; err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// reportCPU starts counting the process's CPU time; the function it
// returns reports it per operation (cpu-ns/op), a steadier figure than
// the wall time where goroutines wait for SQLite's one writer. Defer it
// before the timed loop: it includes the harness's own CPU, as b.N's
// wall time does.
func reportCPU(b *testing.B) func() {
	start := cpuTime()
	return func() {
		if used := cpuTime() - start; used > 0 && b.N > 0 {
			b.ReportMetric(float64(used.Nanoseconds())/float64(b.N), "cpu-ns/op")
		}
	}
}
