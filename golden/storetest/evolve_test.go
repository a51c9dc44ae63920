package storetest_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	my1 "github.com/oauthgen/oauthgen/golden/evolve_mysql/steps/01"
	my2 "github.com/oauthgen/oauthgen/golden/evolve_mysql/steps/02"
	my3 "github.com/oauthgen/oauthgen/golden/evolve_mysql/steps/03"
	my4 "github.com/oauthgen/oauthgen/golden/evolve_mysql/steps/04"
	my5 "github.com/oauthgen/oauthgen/golden/evolve_mysql/steps/05"
	my6 "github.com/oauthgen/oauthgen/golden/evolve_mysql/steps/06"
	my7 "github.com/oauthgen/oauthgen/golden/evolve_mysql/steps/07"
	pg1 "github.com/oauthgen/oauthgen/golden/evolve_postgres/steps/01"
	pg2 "github.com/oauthgen/oauthgen/golden/evolve_postgres/steps/02"
	pg3 "github.com/oauthgen/oauthgen/golden/evolve_postgres/steps/03"
	pg4 "github.com/oauthgen/oauthgen/golden/evolve_postgres/steps/04"
	pg5 "github.com/oauthgen/oauthgen/golden/evolve_postgres/steps/05"
	pg6 "github.com/oauthgen/oauthgen/golden/evolve_postgres/steps/06"
	pg7 "github.com/oauthgen/oauthgen/golden/evolve_postgres/steps/07"
	sq1 "github.com/oauthgen/oauthgen/golden/evolve_sqlite/steps/01"
	sq2 "github.com/oauthgen/oauthgen/golden/evolve_sqlite/steps/02"
	sq3 "github.com/oauthgen/oauthgen/golden/evolve_sqlite/steps/03"
	sq4 "github.com/oauthgen/oauthgen/golden/evolve_sqlite/steps/04"
	sq5 "github.com/oauthgen/oauthgen/golden/evolve_sqlite/steps/05"
	sq6 "github.com/oauthgen/oauthgen/golden/evolve_sqlite/steps/06"
	sq7 "github.com/oauthgen/oauthgen/golden/evolve_sqlite/steps/07"
	"github.com/oauthgen/oauthgen/internal/testdb"
	"github.com/oauthgen/oauthgen/runtime"
)

// stepStore is what the evolution test needs of each step's Store.
type stepStore interface {
	runtime.Store
	Migrate(context.Context) error
	MigrateDown(context.Context) error
	Close() error
}

// evolveStep is one step of a golden evolve_* sequence: its Store, opened
// on the database every step shares, and its declared configuration.
type evolveStep struct {
	open   func(t *testing.T) stepStore
	config func() runtime.Config
}

func sqliteStep[S stepStore](path string, open func(string) (S, error), config func() runtime.Config) evolveStep {
	return evolveStep{config: config, open: func(t *testing.T) stepStore {
		s, err := open(path)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}}
}

func mysqlStep[S stepStore](dsn string, open func(string) (S, error), config func() runtime.Config) evolveStep {
	return sqliteStep(dsn, open, config) // same shape: Open(dsn string)
}

func postgresStep[S stepStore](dsn string, newStore func(*pgxpool.Pool) S, config func() runtime.Config) evolveStep {
	return evolveStep{config: config, open: func(t *testing.T) stepStore {
		pool, err := pgxpool.New(context.Background(), dsn)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(pool.Close)
		s := newStore(pool)
		t.Cleanup(func() { s.Close() })
		return s
	}}
}

// TestEvolve applies the golden evolve_* steps one after the other to one
// database holding data the previous steps' Stores wrote, migrating up at
// each step (oauthgen.yaml edited, go generate, deploy): every token issued
// before still authenticates, the grants a step enables work, and the last
// step's Down returns to the schema before it.
func TestEvolve(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) {
		db := testdb.SQLite(t)
		runEvolve(t, []evolveStep{
			sqliteStep(db, sq1.Open, sq1.Config), sqliteStep(db, sq2.Open, sq2.Config), sqliteStep(db, sq3.Open, sq3.Config),
			sqliteStep(db, sq4.Open, sq4.Config), sqliteStep(db, sq5.Open, sq5.Config), sqliteStep(db, sq6.Open, sq6.Config),
			sqliteStep(db, sq7.Open, sq7.Config),
		})
	})
	t.Run("postgres", func(t *testing.T) {
		dsn := testdb.Postgres(t)
		runEvolve(t, []evolveStep{
			postgresStep(dsn, pg1.New, pg1.Config), postgresStep(dsn, pg2.New, pg2.Config), postgresStep(dsn, pg3.New, pg3.Config),
			postgresStep(dsn, pg4.New, pg4.Config), postgresStep(dsn, pg5.New, pg5.Config), postgresStep(dsn, pg6.New, pg6.Config),
			postgresStep(dsn, pg7.New, pg7.Config),
		})
	})
	t.Run("mysql", func(t *testing.T) {
		dsn := testdb.MySQL(t)
		runEvolve(t, []evolveStep{
			mysqlStep(dsn, my1.Open, my1.Config), mysqlStep(dsn, my2.Open, my2.Config), mysqlStep(dsn, my3.Open, my3.Config),
			mysqlStep(dsn, my4.Open, my4.Config), mysqlStep(dsn, my5.Open, my5.Config), mysqlStep(dsn, my6.Open, my6.Config),
			mysqlStep(dsn, my7.Open, my7.Config),
		})
	})
}

// issued is a token an earlier step issued, and how.
type issued struct {
	how, token string
}

func runEvolve(t *testing.T, steps []evolveStep) {
	ctx := context.Background()
	var tokens []issued
	var prev stepStore
	for i, st := range steps {
		n := i + 1
		s := st.open(t)
		if err := s.Migrate(ctx); err != nil {
			t.Fatalf("step %d: migrate: %v", n, err)
		}
		srv, err := runtime.NewServer(withIssuer(st.config()), s)
		if err != nil {
			t.Fatalf("step %d: %v", n, err)
		}
		for _, tok := range tokens {
			if _, err := srv.AuthenticateRequest(bearer(tok.token)); err != nil {
				t.Errorf("step %d: a token issued by %s no longer authenticates: %v", n, tok.how, err)
			}
		}
		cfg := st.config()
		// Every step issues a client_credentials token with a new client.
		ccID, ccSecret := createClient(t, s, false, []string{"client_credentials"}, nil)
		tok := postToken(t, srv, url.Values{"grant_type": {"client_credentials"}, "client_id": {ccID}, "client_secret": {ccSecret}})
		tokens = append(tokens, issued{"client_credentials at step " + itoa(n), tok.AccessToken})
		if cfg.AuthorizationCode != nil {
			grants := []string{"authorization_code"}
			if cfg.RefreshToken != nil {
				grants = append(grants, "refresh_token")
			}
			id, _ := createClient(t, s, true, grants, []string{"https://app.example/cb"})
			code := codeFlow(t, srv, id)
			tokens = append(tokens, issued{"authorization_code at step " + itoa(n), code.AccessToken})
			if cfg.RefreshToken != nil {
				if code.RefreshToken == "" {
					t.Fatalf("step %d: no refresh token from the code flow", n)
				}
				r := postToken(t, srv, url.Values{"grant_type": {"refresh_token"}, "client_id": {id}, "refresh_token": {code.RefreshToken}})
				tokens = append(tokens, issued{"refresh_token at step " + itoa(n), r.AccessToken})
			}
		}
		if cfg.DeviceCode != nil {
			id, _ := createClient(t, s, true, []string{runtime.GrantDeviceCode}, nil)
			tokens = append(tokens, issued{"device_code at step " + itoa(n), deviceFlow(t, srv, id).AccessToken})
		}
		prev = s
	}
	t.Logf("%d tokens issued over %d steps", len(tokens), len(steps))
	// Down of the last step: the previous step's Store works again.
	if err := prev.MigrateDown(ctx); err != nil {
		t.Fatalf("down: %v", err)
	}
	last := steps[len(steps)-2]
	s := last.open(t)
	if err := listClients(s); err != nil {
		t.Errorf("after down, the previous step's Store cannot read clients: %v", err)
	}
	srv, err := runtime.NewServer(withIssuer(last.config()), s)
	if err != nil {
		t.Fatal(err)
	}
	for _, tok := range tokens {
		if _, err := srv.AuthenticateRequest(bearer(tok.token)); err != nil {
			t.Errorf("after down: a token issued by %s no longer authenticates: %v", tok.how, err)
		}
	}
}

func itoa(n int) string { return string(rune('0' + n)) }

func withIssuer(cfg runtime.Config) runtime.Config {
	cfg.Issuer = "http://localhost"
	return cfg
}

// createClient calls the step Store's typed CreateClient (each step's
// NewClient is its own type, with that step's extra columns).
func createClient(t *testing.T, s stepStore, public bool, grants, redirects []string) (id, secret string) {
	t.Helper()
	m := reflect.ValueOf(s).MethodByName("CreateClient")
	nc := reflect.New(m.Type().In(1)).Elem()
	nc.FieldByName("Public").SetBool(public)
	nc.FieldByName("GrantTypes").Set(reflect.ValueOf(grants))
	nc.FieldByName("RedirectURIs").Set(reflect.ValueOf(redirects))
	nc.FieldByName("Scopes").Set(reflect.ValueOf([]string{"read", "write"}))
	out := m.Call([]reflect.Value{reflect.ValueOf(context.Background()), nc})
	if err, _ := out[2].Interface().(error); err != nil {
		t.Fatal(err)
	}
	c := out[0].Elem().FieldByName("Client").Interface().(runtime.Client)
	return c.ID, out[1].String()
}

// listClients reads every client through the Store's typed ListClients,
// which selects every column the Store knows.
func listClients(s stepStore) error {
	out := reflect.ValueOf(s).MethodByName("ListClients").Call([]reflect.Value{reflect.ValueOf(context.Background())})
	err, _ := out[1].Interface().(error)
	return err
}

func bearer(token string) *http.Request {
	r := httptest.NewRequest(http.MethodGet, "/resource", nil)
	r.Header.Set("Authorization", "Bearer "+token)
	return r
}

type tokenResponse struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
	Error        string `json:"error"`
}

func postToken(t *testing.T, srv *runtime.Server, form url.Values) tokenResponse {
	t.Helper()
	r := httptest.NewRequest(http.MethodPost, "/token", strings.NewReader(form.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	w := httptest.NewRecorder()
	srv.TokenHandler().ServeHTTP(w, r)
	var resp tokenResponse
	json.Unmarshal(w.Body.Bytes(), &resp)
	if w.Code != http.StatusOK || resp.AccessToken == "" {
		t.Fatalf("token request %s: %d %s", form.Get("grant_type"), w.Code, w.Body)
	}
	return resp
}

// codeFlow runs the authorization code grant with PKCE for a public client.
func codeFlow(t *testing.T, srv *runtime.Server, clientID string) tokenResponse {
	t.Helper()
	verifier := runtime.NewToken()
	q := url.Values{
		"response_type": {"code"}, "client_id": {clientID}, "redirect_uri": {"https://app.example/cb"},
		"state": {"xyz"}, "code_challenge": {runtime.S256Challenge(verifier)}, "code_challenge_method": {"S256"},
	}
	r := httptest.NewRequest(http.MethodGet, "/authorize?"+q.Encode(), nil)
	req, err := srv.ValidateAuthorizationRequest(r)
	if err != nil {
		t.Fatal(err)
	}
	w := httptest.NewRecorder()
	if err := srv.CompleteAuthorization(w, r, req, "alice", req.Scopes); err != nil {
		t.Fatal(err)
	}
	loc, err := url.Parse(w.Header().Get("Location"))
	if err != nil || loc.Query().Get("code") == "" {
		t.Fatalf("authorize: %d %v", w.Code, w.Header())
	}
	return postToken(t, srv, url.Values{
		"grant_type": {"authorization_code"}, "client_id": {clientID}, "code": {loc.Query().Get("code")},
		"redirect_uri": {"https://app.example/cb"}, "code_verifier": {verifier},
	})
}

// deviceFlow runs the device authorization grant, the user approving at once.
func deviceFlow(t *testing.T, srv *runtime.Server, clientID string) tokenResponse {
	t.Helper()
	r := httptest.NewRequest(http.MethodPost, "/device_authorization", strings.NewReader(url.Values{"client_id": {clientID}}.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	w := httptest.NewRecorder()
	srv.DeviceAuthorizationHandler().ServeHTTP(w, r)
	var auth struct {
		DeviceCode string `json:"device_code"`
		UserCode   string `json:"user_code"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &auth); err != nil || w.Code != http.StatusOK {
		t.Fatalf("device authorization: %d %s", w.Code, w.Body)
	}
	if err := srv.ApproveDevice(context.Background(), auth.UserCode, "alice", nil); err != nil {
		t.Fatal(err)
	}
	return postToken(t, srv, url.Values{"grant_type": {runtime.GrantDeviceCode}, "client_id": {clientID}, "device_code": {auth.DeviceCode}})
}
