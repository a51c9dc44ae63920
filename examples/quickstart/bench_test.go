package main

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"github.com/oauthgen/oauthgen/examples/quickstart/oauthstore"
	"github.com/oauthgen/oauthgen/runtime"
)

// BenchmarkBearerMe is the quickstart's bearer check in one process: GET
// /me with a client_credentials token, through serve's handler (the
// request log, to a bufferedLog on io.Discard; routes; RequireToken; me)
// on its SQLite store. No network: what serve adds to the runtime's work.
func BenchmarkBearerMe(b *testing.B) {
	ctx := context.Background()
	store, err := oauthstore.Open(filepath.Join(b.TempDir(), "bench.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer store.Close()
	if err := store.Migrate(ctx); err != nil {
		b.Fatal(err)
	}
	out := newBufferedLog(io.Discard)
	defer out.Close()
	logger := slog.New(slog.NewTextHandler(out, nil))
	srv, err := oauthstore.NewServer(store, func(c *runtime.Config) {
		c.Issuer = "http://127.0.0.1:8080"
		c.SigningKeys.KeyEncryptionKey = make([]byte, 32)
		c.Logger = logger
		c.Throttle.Limiter = store
		c.AppPages = runtime.AppPages{Authorization: true, Verification: true}
	})
	if err != nil {
		b.Fatal(err)
	}
	ticketKey, _, err := deviceTicketKey("")
	if err != nil {
		b.Fatal(err)
	}
	routed, err := routes(srv, ticketKey)
	if err != nil {
		b.Fatal(err)
	}
	h := logRequests(logger, out, routed)
	secret, err := registerClient(ctx, store, runtime.Client{
		ID: "bench", GrantTypes: []string{runtime.GrantClientCredentials}, Scopes: []string{"read"},
	}, false)
	if err != nil {
		b.Fatal(err)
	}

	r := httptest.NewRequest(http.MethodPost, "/token", strings.NewReader("grant_type=client_credentials&scope=read"))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.SetBasicAuth("bench", url.QueryEscape(secret))
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &tok); err != nil || w.Code != http.StatusOK {
		b.Fatalf("token: %d %s", w.Code, w.Body)
	}

	b.ReportAllocs()
	for b.Loop() {
		r, _ := http.NewRequestWithContext(ctx, http.MethodGet, "/me", nil)
		r.Header.Set("Authorization", "Bearer "+tok.AccessToken)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != http.StatusOK {
			b.Fatalf("GET /me: %d %s", w.Code, w.Body)
		}
	}
}
