package storetest_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"testing"

	um1 "github.com/oauthgen/oauthgen/golden/evolve_users_mysql/steps/01"
	um2 "github.com/oauthgen/oauthgen/golden/evolve_users_mysql/steps/02"
	up1 "github.com/oauthgen/oauthgen/golden/evolve_users_postgres/steps/01"
	up2 "github.com/oauthgen/oauthgen/golden/evolve_users_postgres/steps/02"
	us1 "github.com/oauthgen/oauthgen/golden/evolve_users_sqlite/steps/01"
	us2 "github.com/oauthgen/oauthgen/golden/evolve_users_sqlite/steps/02"
	"github.com/oauthgen/oauthgen/internal/testdb"
	"github.com/oauthgen/oauthgen/runtime"
)

// TestEvolveUsers is the newcomer's path of the golden evolve_users_*
// sequences: tokens, codes and families are issued to user ids of the
// application's own login ("alice") with no users table, then password is
// enabled, which adds one. The migration applies on a database holding
// them, and every one of them still works through the engine.
func TestEvolveUsers(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) {
		db := testdb.SQLite(t)
		runEvolveUsers(t, sqliteForeignKeyCheck, sqliteStep(db, us1.Open, us1.Config), sqliteStep(db, us2.Open, us2.Config))
	})
	t.Run("postgres", func(t *testing.T) {
		dsn := testdb.Postgres(t)
		runEvolveUsers(t, nil, postgresStep(dsn, up1.New, up1.Config), postgresStep(dsn, up2.New, up2.Config))
	})
	t.Run("mysql", func(t *testing.T) {
		dsn := testdb.MySQL(t)
		runEvolveUsers(t, nil, mysqlStep(dsn, um1.Open, um1.Config), mysqlStep(dsn, um2.Open, um2.Config))
	})
}

// aliceRecords is what step 1 left in the database for "alice", each
// record in the state it is used from in step 2.
type aliceRecords struct {
	accessTokens  []string // of a code flow and a device flow
	refreshClient string
	refreshToken  string // not yet used
	codeClient    string
	code          pendingCode // issued, not redeemed
	deviceClient  string
	deviceCode    string // approved, not yet polled
}

type pendingCode struct{ code, verifier string }

// issueToAlice creates every kind of user-bound record for "alice" through
// the engine, as the application's login would. It is the one place the
// test creates records, whatever the store contract looks like.
func issueToAlice(t *testing.T, srv *runtime.Server, s stepStore) aliceRecords {
	t.Helper()
	var r aliceRecords
	r.refreshClient, _ = createClient(t, s, true, []string{"authorization_code", "refresh_token"}, []string{"https://app.example/cb"})
	flow := codeFlow(t, srv, r.refreshClient) // family, access and refresh token, consumed code
	r.accessTokens = append(r.accessTokens, flow.AccessToken)
	r.refreshToken = flow.RefreshToken
	if r.refreshToken == "" {
		t.Fatal("no refresh token from the code flow")
	}
	r.codeClient, _ = createClient(t, s, true, []string{"authorization_code"}, []string{"https://app.example/cb"})
	r.code = authorize(t, srv, r.codeClient)

	deviceClient, _ := createClient(t, s, true, []string{runtime.GrantDeviceCode}, nil)
	r.accessTokens = append(r.accessTokens, deviceFlow(t, srv, deviceClient).AccessToken)
	r.deviceClient, _ = createClient(t, s, true, []string{runtime.GrantDeviceCode}, nil)
	var userCode string
	r.deviceCode, userCode = deviceAuthorization(t, srv, r.deviceClient)
	if err := srv.ApproveDevice(context.Background(), userCode, "alice", nil); err != nil {
		t.Fatal(err)
	}
	return r
}

// runEvolveUsers runs the sequence; fkCheck, when not nil, checks the
// database's foreign keys after the migration and after step 2's writes.
func runEvolveUsers(t *testing.T, fkCheck func(*testing.T, stepStore), step1, step2 evolveStep) {
	ctx := context.Background()
	s1 := step1.open(t)
	if err := s1.Migrate(ctx); err != nil {
		t.Fatalf("step 1: migrate: %v", err)
	}
	srv1, err := runtime.NewServer(withIssuer(step1.config()), s1)
	if err != nil {
		t.Fatal(err)
	}
	alice := issueToAlice(t, srv1, s1)

	s2 := step2.open(t)
	if err := s2.Migrate(ctx); err != nil {
		t.Fatalf("step 2 (password enabled): migrate over alice's records: %v", err)
	}
	if fkCheck != nil {
		fkCheck(t, s2)
	}
	srv2, err := runtime.NewServer(withIssuer(step2.config()), s2)
	if err != nil {
		t.Fatal(err)
	}
	for _, tok := range alice.accessTokens {
		if _, err := srv2.AuthenticateRequest(bearer(tok)); err != nil {
			t.Errorf("alice's access token no longer authenticates: %v", err)
		}
	}
	refreshed := postToken(t, srv2, url.Values{"grant_type": {"refresh_token"}, "client_id": {alice.refreshClient}, "refresh_token": {alice.refreshToken}})
	if _, err := srv2.AuthenticateRequest(bearer(refreshed.AccessToken)); err != nil {
		t.Errorf("the token of alice's refresh does not authenticate: %v", err)
	}
	postToken(t, srv2, url.Values{
		"grant_type": {"authorization_code"}, "client_id": {alice.codeClient}, "code": {alice.code.code},
		"redirect_uri": {"https://app.example/cb"}, "code_verifier": {alice.code.verifier},
	})
	postToken(t, srv2, url.Values{"grant_type": {runtime.GrantDeviceCode}, "client_id": {alice.deviceClient}, "device_code": {alice.deviceCode}})
	if fkCheck != nil {
		fkCheck(t, s2)
	}

	// A user of the new table signs in with password; deleting them
	// deletes their tokens (nothing cascades from users any more) and
	// leaves alice's.
	bobID := createUser(t, s2, "bob", "correct horse")
	pwClient, pwSecret := createClient(t, s2, false, []string{"password", "refresh_token"}, nil)
	bob := postToken(t, srv2, url.Values{"grant_type": {"password"}, "client_id": {pwClient}, "client_secret": {pwSecret},
		"username": {"bob"}, "password": {"correct horse"}})
	if bob.RefreshToken == "" {
		t.Fatal("no refresh token from the password grant")
	}
	if err := s2.(interface {
		DeleteUser(context.Context, string) error
	}).DeleteUser(ctx, bobID); err != nil {
		t.Fatal(err)
	}
	if _, err := srv2.AuthenticateRequest(bearer(bob.AccessToken)); err == nil {
		t.Error("a deleted user's access token still authenticates")
	}
	if code, body := tokenStatus(srv2, url.Values{"grant_type": {"refresh_token"}, "client_id": {pwClient}, "client_secret": {pwSecret},
		"refresh_token": {bob.RefreshToken}}); code != http.StatusBadRequest || !strings.Contains(body, "invalid_grant") {
		t.Errorf("a deleted user's refresh token: %d %s, want 400 invalid_grant", code, body)
	}
	if _, err := srv2.AuthenticateRequest(bearer(refreshed.AccessToken)); err != nil {
		t.Errorf("deleting bob removed alice's token: %v", err)
	}

	// Down drops the users table; alice's tokens stay, for step 1's Store.
	if err := s2.MigrateDown(ctx); err != nil {
		t.Fatalf("down: %v", err)
	}
	srv1, err = runtime.NewServer(withIssuer(step1.config()), step1.open(t))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := srv1.AuthenticateRequest(bearer(refreshed.AccessToken)); err != nil {
		t.Errorf("after down, alice's token no longer authenticates: %v", err)
	}
}

// sqliteForeignKeyCheck fails the test if PRAGMA foreign_key_check reports
// rows. (PostgreSQL and MySQL check foreign keys on every write.)
func sqliteForeignKeyCheck(t *testing.T, s stepStore) {
	t.Helper()
	var n int
	if err := s.(interface{ DB() *sql.DB }).DB().QueryRow("SELECT COUNT(*) FROM pragma_foreign_key_check").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Errorf("PRAGMA foreign_key_check reports %d rows", n)
	}
}

// createUser calls the step Store's typed CreateUser.
func createUser(t *testing.T, s stepStore, username, password string) string {
	t.Helper()
	m := reflect.ValueOf(s).MethodByName("CreateUser")
	nu := reflect.New(m.Type().In(1)).Elem()
	nu.FieldByName("Username").SetString(username)
	nu.FieldByName("Password").SetString(password)
	out := m.Call([]reflect.Value{reflect.ValueOf(context.Background()), nu})
	if err, _ := out[1].Interface().(error); err != nil {
		t.Fatal(err)
	}
	return out[0].Elem().FieldByName("User").Interface().(runtime.User).ID
}

// authorize gets a code for "alice" with PKCE, and does not redeem it.
func authorize(t *testing.T, srv *runtime.Server, clientID string) pendingCode {
	t.Helper()
	c, err := tryAuthorize(srv, clientID, "alice")
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// tryAuthorize gets a code for the user with PKCE.
func tryAuthorize(srv *runtime.Server, clientID, userID string) (pendingCode, error) {
	verifier := runtime.NewToken()
	q := url.Values{
		"response_type": {"code"}, "client_id": {clientID}, "redirect_uri": {"https://app.example/cb"},
		"state": {"xyz"}, "code_challenge": {runtime.S256Challenge(verifier)}, "code_challenge_method": {"S256"},
	}
	r := httptest.NewRequest(http.MethodGet, "/authorize?"+q.Encode(), nil)
	req, err := srv.ValidateAuthorizationRequest(r)
	if err != nil {
		return pendingCode{}, err
	}
	w := httptest.NewRecorder()
	if err := srv.CompleteAuthorization(w, r, req, userID, req.Scopes); err != nil {
		return pendingCode{}, err
	}
	loc, err := url.Parse(w.Header().Get("Location"))
	if err != nil || loc.Query().Get("code") == "" {
		return pendingCode{}, fmt.Errorf("authorize: %d %v", w.Code, w.Header())
	}
	return pendingCode{loc.Query().Get("code"), verifier}, nil
}

// deviceAuthorization starts the device flow.
func deviceAuthorization(t *testing.T, srv *runtime.Server, clientID string) (deviceCode, userCode string) {
	t.Helper()
	code, body := post(srv.DeviceAuthorizationHandler(), "/device_authorization", url.Values{"client_id": {clientID}})
	var auth struct {
		DeviceCode string `json:"device_code"`
		UserCode   string `json:"user_code"`
	}
	if err := json.Unmarshal([]byte(body), &auth); err != nil || code != http.StatusOK {
		t.Fatalf("device authorization: %d %s", code, body)
	}
	return auth.DeviceCode, auth.UserCode
}

// tokenStatus posts a token request and returns its status and body.
func tokenStatus(srv *runtime.Server, form url.Values) (int, string) {
	return post(srv.TokenHandler(), "/token", form)
}

func post(h http.Handler, path string, form url.Values) (int, string) {
	r := httptest.NewRequest(http.MethodPost, path, strings.NewReader(form.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w.Code, w.Body.String()
}
