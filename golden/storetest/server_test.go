package storetest_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	mysqlstore "github.com/oauthgen/oauthgen/golden/every_grant_mysql"
	pgstore "github.com/oauthgen/oauthgen/golden/every_grant_postgres"
	sqlitestore "github.com/oauthgen/oauthgen/golden/every_grant_sqlite"
	"github.com/oauthgen/oauthgen/runtime"
	"github.com/oauthgen/oauthgen/runtime/runtimetest"
)

// serverCase is a runtime server over the every_grant Store of a dialect,
// with a client "app" (secret appSecret) allowed the password and
// refresh_token grants, and a user alice (password alicePassword).
type serverCase struct {
	srv  *runtime.Server
	fail runtimetest.FailFunc
}

const (
	appSecret     = "app-secret"
	alicePassword = "correct horse"
)

// serverCases open every_grant on each dialect; configure adjusts the
// generated Config.
var serverCases = []struct {
	name string
	open func(t *testing.T, configure func(*runtime.Config)) serverCase
}{
	{"sqlite", func(t *testing.T, configure func(*runtime.Config)) serverCase {
		s := openSQLite(t, sqlitestore.Open, "")
		ctx := context.Background()
		must(t, s.ImportClient(ctx, &sqlitestore.Client{Client: serverClient()}))
		must(t, s.ImportUser(ctx, &sqlitestore.User{User: serverUser(), CreatedAt: time.Now()}))
		return serverCase{newServer(t, sqlitestore.Config(), configure, s), failer(sqlExec(s.DB()), sqliteFaults, defaultTables)}
	}},
	{"postgres", func(t *testing.T, configure func(*runtime.Config)) serverCase {
		s, _ := openPostgres(t, pgstore.New, (*pgstore.Store).Migrate, "")
		ctx := context.Background()
		must(t, s.ImportClient(ctx, &pgstore.Client{Client: serverClient()}))
		must(t, s.ImportUser(ctx, &pgstore.User{User: serverUser(), CreatedAt: time.Now()}))
		return serverCase{newServer(t, pgstore.Config(), configure, s), failer(pgExec(s.Pool()), postgresFaults, defaultTables)}
	}},
	{"mysql", func(t *testing.T, configure func(*runtime.Config)) serverCase {
		s, _ := openMySQL(t, mysqlstore.Open, (*mysqlstore.Store).Migrate, (*mysqlstore.Store).Close)
		ctx := context.Background()
		must(t, s.ImportClient(ctx, &mysqlstore.Client{Client: serverClient()}))
		must(t, s.ImportUser(ctx, &mysqlstore.User{User: serverUser(), CreatedAt: time.Now()}))
		return serverCase{newServer(t, mysqlstore.Config(), configure, s), failer(sqlExec(s.DB()), mysqlFaults, defaultTables)}
	}},
}

func serverClient() runtime.Client {
	return runtime.Client{ID: "app", SecretHash: runtime.HashToken(appSecret), Name: "App",
		GrantTypes: []string{"password", "refresh_token"}, CreatedAt: time.Now().UTC()}
}

func serverUser() runtime.User {
	return runtime.User{ID: runtime.NewID(), Username: "alice", PasswordHash: runtime.HashPassword(alicePassword)}
}

func newServer(t *testing.T, cfg runtime.Config, configure func(*runtime.Config), s runtime.Store) *runtime.Server {
	t.Helper()
	cfg.Extensions = nil                       // every_grant's extension grant needs a handler this test has no use for
	cfg.Logger = slog.New(slog.DiscardHandler) // the injected failures are expected
	if cfg.Issuer == "" {
		cfg.Issuer = "https://as.example" // the device grant builds its verification URI from it
	}
	if configure != nil {
		configure(&cfg)
	}
	srv, err := runtime.NewServer(cfg, s)
	must(t, err)
	return srv
}

// tokenResult is a token endpoint response.
type tokenResult struct {
	status  int
	access  string
	refresh string
	body    string
}

func (c serverCase) token(t *testing.T, form url.Values) tokenResult {
	t.Helper()
	r := httptest.NewRequest(http.MethodPost, "/token", strings.NewReader(form.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.SetBasicAuth("app", appSecret)
	w := httptest.NewRecorder()
	c.srv.TokenHandler().ServeHTTP(w, r)
	var body struct {
		AccessToken  string `json:"access_token"`
		RefreshToken string `json:"refresh_token"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil {
		t.Fatalf("token response %d is not JSON: %s", w.Code, w.Body)
	}
	return tokenResult{w.Code, body.AccessToken, body.RefreshToken, w.Body.String()}
}

func (c serverCase) password(t *testing.T) tokenResult {
	t.Helper()
	res := c.token(t, url.Values{"grant_type": {"password"}, "username": {"alice"}, "password": {alicePassword}})
	if res.status != http.StatusOK || res.refresh == "" {
		t.Fatalf("password grant: %d %s", res.status, res.body)
	}
	return res
}

func refreshForm(token string) url.Values {
	return url.Values{"grant_type": {"refresh_token"}, "refresh_token": {token}}
}

// authenticates reports whether an access token authenticates a request.
func (c serverCase) authenticates(token string) error {
	r := httptest.NewRequest(http.MethodGet, "/me", nil)
	r.Header.Set("Authorization", "Bearer "+token)
	_, err := c.srv.AuthenticateRequest(r)
	return err
}

// TestServerRefreshRetryAfterFailedWrite: the refresh token's INSERT fails
// inside the rotation's transaction, so the request is a 500 and nothing
// of it stays; the client's retry with the same refresh token then
// succeeds, and the access token it held still works.
func TestServerRefreshRetryAfterFailedWrite(t *testing.T) {
	for _, sc := range serverCases {
		t.Run(sc.name, func(t *testing.T) {
			c := sc.open(t, nil)
			first := c.password(t)
			heal := c.fail(t, runtimetest.Fault{Record: runtimetest.RecordRefreshToken})
			if res := c.token(t, refreshForm(first.refresh)); res.status != http.StatusInternalServerError {
				t.Fatalf("refresh while refresh_tokens INSERTs fail: %d %s, want 500", res.status, res.body)
			}
			heal()
			retry := c.token(t, refreshForm(first.refresh))
			if retry.status != http.StatusOK {
				t.Fatalf("retry with the same refresh token: %d %s, want 200", retry.status, retry.body)
			}
			if err := c.authenticates(first.access); err != nil {
				t.Errorf("the access token from before the failure: %v", err)
			}
			if err := c.authenticates(retry.access); err != nil {
				t.Errorf("the access token of the retry: %v", err)
			}
			if res := c.token(t, refreshForm(retry.refresh)); res.status != http.StatusOK {
				t.Errorf("refresh with the retry's refresh token: %d %s", res.status, res.body)
			}
		})
	}
}

// TestServerConcurrentRefresh: two refreshes of one token at once, as two
// browser tabs do. With a reuse interval both get a new pair; without,
// one does, the other is reuse and revokes the family, the winner's
// tokens with it.
func TestServerConcurrentRefresh(t *testing.T) {
	both := func(c serverCase, token string) [2]tokenResult {
		var out [2]tokenResult
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range out {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				out[i] = c.token(t, refreshForm(token))
			}()
		}
		close(start)
		wg.Wait()
		return out
	}
	for _, sc := range serverCases {
		t.Run(sc.name+"/reuse_interval", func(t *testing.T) {
			c := sc.open(t, func(cfg *runtime.Config) { cfg.RefreshToken.ReuseInterval = 30 * time.Second })
			first := c.password(t)
			for i, res := range both(c, first.refresh) {
				if res.status != http.StatusOK {
					t.Errorf("refresh %d: %d %s, want 200", i, res.status, res.body)
					continue
				}
				if err := c.authenticates(res.access); err != nil {
					t.Errorf("access token of refresh %d: %v", i, err)
				}
			}
		})
		t.Run(sc.name+"/strict", func(t *testing.T) {
			c := sc.open(t, nil)
			first := c.password(t)
			res := both(c, first.refresh)
			ok, refused := 0, 0
			var winner tokenResult
			for _, r := range res {
				switch {
				case r.status == http.StatusOK:
					ok++
					winner = r
				case r.status == http.StatusBadRequest && strings.Contains(r.body, "invalid_grant"):
					refused++
				default:
					t.Errorf("refresh: %d %s, want 200 or invalid_grant", r.status, r.body)
				}
			}
			if ok != 1 || refused != 1 {
				t.Fatalf("%d refreshes succeeded and %d were refused, want 1 and 1", ok, refused)
			}
			if err := c.authenticates(winner.access); err == nil {
				t.Error("the winner's access token still authenticates: the reuse did not revoke the family")
			}
		})
	}
}
