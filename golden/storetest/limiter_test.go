package storetest_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	mysqlstore "github.com/oauthgen/oauthgen/golden/every_grant_mysql"
	pgstore "github.com/oauthgen/oauthgen/golden/every_grant_postgres"
	sqlitestore "github.com/oauthgen/oauthgen/golden/every_grant_sqlite"
	"github.com/oauthgen/oauthgen/internal/testdb"
	"github.com/oauthgen/oauthgen/runtime"
	"github.com/oauthgen/oauthgen/runtime/runtimetest"
)

// TestLimiter runs runtime.Limiter's conformance suite against the
// generated Store of each dialect: its limits table and upserts.
func TestLimiter(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) {
		runtimetest.TestLimiter(t, func(t *testing.T) runtime.Limiter {
			return openSQLite(t, sqlitestore.Open, "")
		})
	})
	t.Run("postgres", func(t *testing.T) {
		s, dsn := openPostgres(t, pgstore.New, (*pgstore.Store).Migrate, "")
		runtimetest.TestLimiter(t, func(t *testing.T) runtime.Limiter {
			testdb.ClearPostgres(context.Background(), t, dsn)
			return s
		})
	})
	t.Run("mysql", func(t *testing.T) {
		runtimetest.TestLimiter(t, func(t *testing.T) runtime.Limiter {
			s, err := mysqlstore.Open(testdb.MySQL(t))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			if err := s.Migrate(context.Background()); err != nil {
				t.Fatal(err)
			}
			return s
		})
	})
}

// TestLimiterSharedAcrossInstances: two runtime servers over one
// PostgreSQL database, as behind a load balancer, each with the Store as
// its Throttle.Limiter. Wrong secrets sent to one instance block the
// client at the other, and a right secret there is refused with 429.
func TestLimiterSharedAcrossInstances(t *testing.T) {
	ctx := context.Background()
	s, dsn := openPostgres(t, pgstore.New, (*pgstore.Store).Migrate, "")
	testdb.ClearPostgres(ctx, t, dsn)
	pool2, err := pgxpool.New(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool2.Close)
	s2 := pgstore.New(pool2)
	t.Cleanup(func() { s2.Close() })
	newServer := func(s *pgstore.Store) *runtime.Server {
		cfg := withIssuer(pgstore.Config())
		cfg.Throttle.Limiter = s
		srv, err := runtime.NewServer(cfg, s)
		if err != nil {
			t.Fatal(err)
		}
		return srv
	}
	a, b := newServer(s), newServer(s2)
	c, secret, err := s.CreateClient(ctx, pgstore.NewClient{Name: "svc", GrantTypes: []string{"client_credentials"}})
	if err != nil {
		t.Fatal(err)
	}
	token := func(srv *runtime.Server, secret string) *httptest.ResponseRecorder {
		form := url.Values{"grant_type": {"client_credentials"}, "client_id": {c.ID}, "client_secret": {secret}}
		r := httptest.NewRequest(http.MethodPost, "/token", strings.NewReader(form.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		r.RemoteAddr = "192.0.2.7:4000"
		w := httptest.NewRecorder()
		srv.TokenHandler().ServeHTTP(w, r)
		return w
	}
	if w := token(b, secret); w.Code != http.StatusOK {
		t.Fatalf("right secret at b before any failure: %d %s", w.Code, w.Body)
	}
	for i := 0; i < runtime.DefaultThrottleFree; i++ {
		if w := token(a, "wrong"); !strings.Contains(w.Body.String(), `"invalid_client"`) {
			t.Fatalf("wrong secret #%d at a: %d %s", i+1, w.Code, w.Body)
		}
	}
	w := token(b, secret)
	if w.Code != http.StatusTooManyRequests || w.Header().Get("Retry-After") == "" {
		t.Fatalf("right secret at b after %d failures at a: %d %s (Retry-After %q); want 429 with Retry-After",
			runtime.DefaultThrottleFree, w.Code, w.Body, w.Header().Get("Retry-After"))
	}
}
