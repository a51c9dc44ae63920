package storetest_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

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
	post := func(form url.Values) (int, map[string]any) {
		r := httptest.NewRequest(http.MethodPost, "/token", strings.NewReader(form.Encode()))
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
		for b.Loop() {
			if code, body := post(url.Values{"grant_type": {"client_credentials"}}); code != http.StatusOK {
				b.Fatalf("%d %v", code, body)
			}
		}
	})
	b.Run("grant=refresh_token", func(b *testing.B) {
		code, body := post(url.Values{"grant_type": {"password"}, "username": {"bench"}, "password": {"bench-password"}})
		if code != http.StatusOK {
			b.Fatalf("%d %v", code, body)
		}
		refresh, _ := body["refresh_token"].(string)
		b.ReportAllocs()
		for b.Loop() {
			code, body := post(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refresh}})
			if code != http.StatusOK {
				b.Fatalf("%d %v", code, body)
			}
			refresh, _ = body["refresh_token"].(string)
		}
	})
}
