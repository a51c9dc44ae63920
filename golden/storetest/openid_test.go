package storetest_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/aes"
	"crypto/cipher"
	"crypto/x509"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	jose "github.com/go-jose/go-jose/v4"
	"github.com/jackc/pgx/v5/pgxpool"
	"golang.org/x/oauth2"

	oidcmysql "github.com/oauthgen/oauthgen/golden/openid_mysql"
	oidcpg "github.com/oauthgen/oauthgen/golden/openid_postgres"
	oidcsqlite "github.com/oauthgen/oauthgen/golden/openid_sqlite"
	"github.com/oauthgen/oauthgen/internal/testdb"
	"github.com/oauthgen/oauthgen/runtime"
	"github.com/oauthgen/oauthgen/runtime/runtimetest"
)

// oidcKEK is the key-encryption key of these tests.
var oidcKEK = []byte("fedcba9876543210fedcba9876543210")

// claimColumns are the users columns openid_* map to claims.
var claimColumns = []struct{ claim, column string }{
	{"name", "full_name"}, {"preferred_username", "handle"}, {"email", "email"}, {"email_verified", "email_verified"},
}

// setClaims writes claims into the mapped columns with SQL, as an
// application would; placeholder formats the n-th parameter.
func setClaims(exec func(ctx context.Context, sql string, args ...any) error, placeholder func(int) string) func(context.Context, string, map[string]any) error {
	return func(ctx context.Context, userID string, claims map[string]any) error {
		var sets []string
		var args []any
		for i, c := range claimColumns {
			sets = append(sets, c.column+" = "+placeholder(i+1))
			args = append(args, claims[c.claim]) // nil: NULL
		}
		args = append(args, userID)
		return exec(ctx, "UPDATE oauth_users SET "+strings.Join(sets, ", ")+" WHERE id = "+placeholder(len(args)), args...)
	}
}

func qmark(int) string    { return "?" }
func dollar(n int) string { return "$" + strconv.Itoa(n) }
func sqlArgs(db *sql.DB) func(context.Context, string, ...any) error {
	return func(ctx context.Context, q string, args ...any) error {
		_, err := db.ExecContext(ctx, q, args...)
		return err
	}
}
func pgArgs(pool *pgxpool.Pool) func(context.Context, string, ...any) error {
	return func(ctx context.Context, q string, args ...any) error {
		_, err := pool.Exec(ctx, q, args...)
		return err
	}
}

func init() {
	storeCases["openid_sqlite"] = func(*testing.T) func(*testing.T) runtimetest.Harness {
		return func(t *testing.T) runtimetest.Harness {
			s := openSQLite(t, oidcsqlite.Open, "")
			return runtimetest.Harness{
				Store:  s,
				OpenID: true,
				AddClient: func(ctx context.Context, c *runtime.Client) error {
					return s.ImportClient(ctx, &oidcsqlite.Client{Client: *c})
				},
				AddUser: func(ctx context.Context, username, hash string) (string, error) {
					u := &oidcsqlite.User{User: runtime.User{ID: runtime.NewID(), Username: username, PasswordHash: hash}, CreatedAt: time.Now()}
					return u.ID, s.ImportUser(ctx, u)
				},
				SetUserClaims: setClaims(sqlArgs(s.DB()), qmark),
				Fail:          failer(sqlExec(s.DB()), sqliteFaults, defaultTables),
			}
		}
	}
	storeCases["openid_postgres"] = func(t *testing.T) func(*testing.T) runtimetest.Harness {
		s, dsn := openPostgres(t, oidcpg.New, (*oidcpg.Store).Migrate, "")
		return func(t *testing.T) runtimetest.Harness {
			testdb.ClearPostgres(context.Background(), t, dsn)
			return runtimetest.Harness{
				Store:  s,
				OpenID: true,
				AddClient: func(ctx context.Context, c *runtime.Client) error {
					return s.ImportClient(ctx, &oidcpg.Client{Client: *c})
				},
				AddUser: func(ctx context.Context, username, hash string) (string, error) {
					u := &oidcpg.User{User: runtime.User{ID: runtime.NewID(), Username: username, PasswordHash: hash}, CreatedAt: time.Now()}
					return u.ID, s.ImportUser(ctx, u)
				},
				SetUserClaims: setClaims(pgArgs(s.Pool()), dollar),
				Fail:          failer(pgExec(s.Pool()), postgresFaults, defaultTables),
			}
		}
	}
	storeCases["openid_mysql"] = func(t *testing.T) func(*testing.T) runtimetest.Harness {
		s, dsn := openMySQL(t, oidcmysql.Open, (*oidcmysql.Store).Migrate, (*oidcmysql.Store).Close)
		return func(t *testing.T) runtimetest.Harness {
			testdb.ClearMySQL(context.Background(), t, dsn)
			return runtimetest.Harness{
				Store:  s,
				OpenID: true,
				AddClient: func(ctx context.Context, c *runtime.Client) error {
					return s.ImportClient(ctx, &oidcmysql.Client{Client: *c})
				},
				AddUser: func(ctx context.Context, username, hash string) (string, error) {
					u := &oidcmysql.User{User: runtime.User{ID: runtime.NewID(), Username: username, PasswordHash: hash}, CreatedAt: time.Now()}
					return u.ID, s.ImportUser(ctx, u)
				},
				SetUserClaims: setClaims(sqlArgs(s.DB()), qmark),
				Fail:          failer(sqlExec(s.DB()), mysqlFaults, defaultTables),
			}
		}
	}
}

// oidcStore is a generated openid_* Store with what these tests need.
type oidcStore struct {
	store    runtime.Store
	config   runtime.Config
	addUser  func(ctx context.Context, u runtime.User) error
	setClaim func(context.Context, string, map[string]any) error
	// keyRows returns every column of every signing_keys row, as bytes.
	keyRows func(ctx context.Context) ([][]byte, error)
	// newInstance opens a second Store on the same database.
	newInstance func(t *testing.T) runtime.Store
}

// sqlRows reads every column of a query's rows as bytes.
func sqlRows(db *sql.DB) func(ctx context.Context) ([][]byte, error) {
	return func(ctx context.Context) ([][]byte, error) {
		rows, err := db.QueryContext(ctx, "SELECT * FROM oauth_signing_keys")
		if err != nil {
			return nil, err
		}
		defer rows.Close()
		cols, _ := rows.Columns()
		var out [][]byte
		for rows.Next() {
			vals := make([]sql.RawBytes, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				return nil, err
			}
			for _, v := range vals {
				out = append(out, bytes.Clone(v))
			}
		}
		return out, rows.Err()
	}
}

func openIDStores() map[string]func(t *testing.T) *oidcStore {
	return map[string]func(t *testing.T) *oidcStore{
		"sqlite": func(t *testing.T) *oidcStore {
			s := openSQLite(t, oidcsqlite.Open, "")
			return &oidcStore{store: s, config: oidcsqlite.Config(),
				addUser: func(ctx context.Context, u runtime.User) error {
					return s.ImportUser(ctx, &oidcsqlite.User{User: u, CreatedAt: time.Now()})
				},
				setClaim: setClaims(sqlArgs(s.DB()), qmark), keyRows: sqlRows(s.DB())}
		},
		"postgres": func(t *testing.T) *oidcStore {
			s, dsn := openPostgres(t, oidcpg.New, (*oidcpg.Store).Migrate, "")
			return &oidcStore{store: s, config: oidcpg.Config(),
				addUser: func(ctx context.Context, u runtime.User) error {
					return s.ImportUser(ctx, &oidcpg.User{User: u, CreatedAt: time.Now()})
				},
				setClaim: setClaims(pgArgs(s.Pool()), dollar),
				keyRows: func(ctx context.Context) ([][]byte, error) {
					rows, err := s.Pool().Query(ctx, "SELECT id, generation::text, algorithm, public_jwk, sealed_private_key, created_at::text, active_from::text FROM oauth_signing_keys")
					if err != nil {
						return nil, err
					}
					defer rows.Close()
					var out [][]byte
					for rows.Next() {
						out = append(out, bytes.Clone(rows.RawValues()[0]), bytes.Clone(rows.RawValues()[3]), bytes.Clone(rows.RawValues()[4]))
					}
					return out, rows.Err()
				},
				newInstance: func(t *testing.T) runtime.Store {
					pool, err := pgxpool.New(context.Background(), dsn)
					if err != nil {
						t.Fatal(err)
					}
					t.Cleanup(pool.Close)
					s := oidcpg.New(pool)
					t.Cleanup(func() { s.Close() })
					return s
				}}
		},
		"mysql": func(t *testing.T) *oidcStore {
			s, _ := openMySQL(t, oidcmysql.Open, (*oidcmysql.Store).Migrate, (*oidcmysql.Store).Close)
			return &oidcStore{store: s, config: oidcmysql.Config(),
				addUser: func(ctx context.Context, u runtime.User) error {
					return s.ImportUser(ctx, &oidcmysql.User{User: u, CreatedAt: time.Now()})
				},
				setClaim: setClaims(sqlArgs(s.DB()), qmark), keyRows: sqlRows(s.DB())}
		},
	}
}

// testClock is a settable clock shared by instances.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *testClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// lockedBuffer collects logs from several goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}
func (b *lockedBuffer) String() string { b.mu.Lock(); defer b.mu.Unlock(); return b.b.String() }

// opInstance is one runtime server over a Store, served over HTTP with an
// authorization page that signs "alice" in and completes every request.
type opInstance struct {
	srv  *runtime.Server
	http *httptest.Server
}

const (
	oidcRedirect = "https://rp.example/cb"
	oidcSecret   = "rp-secret-rp-secret-rp-secret-rp"
)

// newOP serves a runtime server over store with the declared config; the
// issuer is the first instance's URL (instances share it, as behind one
// load balancer).
func newOP(t *testing.T, store runtime.Store, cfg runtime.Config, clock *testClock, logs io.Writer, issuer string, userID string, mutate func(*runtime.Config)) *opInstance {
	t.Helper()
	mux := http.NewServeMux()
	op := &opInstance{http: httptest.NewServer(mux)}
	t.Cleanup(op.http.Close)
	if issuer == "" {
		issuer = op.http.URL
	}
	cfg.Issuer = issuer
	cfg.Now = clock.Now
	cfg.Logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	cfg.SigningKeys.KeyEncryptionKey = oidcKEK
	cfg.AppPages = runtime.AppPages{Authorization: true}
	if mutate != nil {
		mutate(&cfg)
	}
	srv, err := runtime.NewServer(cfg, store)
	if err != nil {
		t.Fatal(err)
	}
	op.srv = srv
	mux.Handle("/", srv.Handler())
	mux.HandleFunc("/authorize", func(w http.ResponseWriter, r *http.Request) {
		req, err := srv.ValidateAuthorizationRequest(r)
		if err != nil {
			srv.WriteAuthorizationError(w, r, err)
			return
		}
		sess := runtime.Session{UserID: userID, AuthTime: clock.Now().Add(-time.Minute), Consented: true}
		if _, err := srv.Interaction(req, sess); err != nil {
			srv.WriteAuthorizationError(w, r, err)
			return
		}
		srv.CompleteAuthorization(w, r, req, userID, nil)
	})
	mux.Handle("/resource", srv.RequireToken()(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok, _ := runtime.TokenFromContext(r.Context())
		io.WriteString(w, tok.UserID)
	})))
	return op
}

// TestOpenIDOverGeneratedStores: on SQLite, PostgreSQL and MySQL, the
// authorization code flow with openid through golang.org/x/oauth2; go-oidc
// discovers the provider and verifies the ID token (signature from the
// JWKS over HTTP, iss, aud, exp, nonce, at_hash); UserInfo answers the
// mapped columns; the JWT access token verifies with go-jose against the
// JWKS fetched over HTTP, and a tampered one does not; RequireToken
// refuses it once revoked; the refresh grant issues a new ID token. Then
// the signing-key rows, the logs and the JWKS hold no private key.
func TestOpenIDOverGeneratedStores(t *testing.T) {
	for dialect, open := range openIDStores() {
		t.Run(dialect, func(t *testing.T) {
			ctx := context.Background()
			st := open(t)
			clock := &testClock{t: time.Now().UTC().Truncate(time.Second)}
			logs := &lockedBuffer{}
			alice := runtime.User{ID: runtime.NewID(), Username: "alice", PasswordHash: runtime.HashPassword("pw")}
			must(t, st.addUser(ctx, alice))
			must(t, st.setClaim(ctx, alice.ID, map[string]any{"name": "Alice Liddell", "preferred_username": "alice", "email": "alice@example.com", "email_verified": true}))
			op := newOP(t, st.store, st.config, clock, logs, "", alice.ID, nil)
			importClient(t, ctx, st.store, &runtime.Client{ID: "rp", SecretHash: runtime.HashToken(oidcSecret), Name: "RP",
				RedirectURIs: []string{oidcRedirect}, GrantTypes: []string{"authorization_code", "refresh_token", "client_credentials"}, CreatedAt: clock.Now()})

			octx := oidc.ClientContext(ctx, op.http.Client())
			octx = context.WithValue(octx, oauth2.HTTPClient, op.http.Client())
			provider, err := oidc.NewProvider(octx, op.http.URL)
			must(t, err)
			verifier := provider.Verifier(&oidc.Config{ClientID: "rp", Now: clock.Now})
			cfg := &oauth2.Config{ClientID: "rp", ClientSecret: oidcSecret, RedirectURL: oidcRedirect,
				Scopes: []string{oidc.ScopeOpenID, "profile", "email"}, Endpoint: provider.Endpoint()}
			cfg.Endpoint.AuthStyle = oauth2.AuthStyleInHeader

			pkce := oauth2.GenerateVerifier()
			q := visit(t, op.http.Client(), cfg.AuthCodeURL("st", oidc.Nonce("n-0S6_WzA2Mj"), oauth2.SetAuthURLParam("max_age", "600"), oauth2.S256ChallengeOption(pkce)))
			tok, err := cfg.Exchange(octx, q.Get("code"), oauth2.VerifierOption(pkce))
			must(t, err)
			raw, _ := tok.Extra("id_token").(string)
			idt, err := verifier.Verify(octx, raw)
			must(t, err)
			if idt.Subject != alice.ID || idt.Nonce != "n-0S6_WzA2Mj" {
				t.Fatalf("ID token sub %q nonce %q", idt.Subject, idt.Nonce)
			}
			must(t, idt.VerifyAccessToken(tok.AccessToken))
			// max_age makes auth_time REQUIRED (Core §2); the OP's session
			// signed in a minute before the authorization.
			authTime := idTokenAuthTime(t, idt)
			if want := clock.Now().Add(-time.Minute).Unix(); authTime != want {
				t.Fatalf("ID token auth_time %d, want %d", authTime, want)
			}

			info, err := provider.UserInfo(octx, oauth2.StaticTokenSource(tok))
			must(t, err)
			var claims map[string]any
			must(t, info.Claims(&claims))
			want := map[string]any{"sub": alice.ID, "name": "Alice Liddell", "preferred_username": "alice", "email": "alice@example.com", "email_verified": true}
			for k, v := range want {
				if claims[k] != v {
					t.Errorf("UserInfo %s = %v, want %v (all: %v)", k, claims[k], v, claims)
				}
			}

			// The access token is an RFC 9068 JWT a resource server verifies
			// offline from the JWKS.
			jwks := fetchKeySet(t, provider.Endpoint().TokenURL, op.http.URL)
			at, err := verifyJWT(jwks, tok.AccessToken, op.http.URL, clock.Now())
			must(t, err)
			if at["sub"] != alice.ID || at["client_id"] != "rp" || at["scope"] != "openid profile email" {
				t.Fatalf("access token claims %v", at)
			}
			parts := strings.Split(tok.AccessToken, ".")
			forged := parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(strings.Replace(mustDecode(t, parts[1]), alice.ID, "mallory", 1))) + "." + parts[2]
			if _, err := verifyJWT(jwks, forged, op.http.URL, clock.Now()); err == nil {
				t.Fatal("a tampered JWT access token verified")
			}
			if code := bearerStatus(t, op, tok.AccessToken); code != http.StatusOK {
				t.Fatalf("RequireToken: %d", code)
			}
			form := url.Values{"token": {tok.AccessToken}}
			res, err := op.http.Client().Do(basicPost(t, op.http.URL+"/revoke", form))
			must(t, err)
			res.Body.Close()
			if code := bearerStatus(t, op, tok.AccessToken); code != http.StatusUnauthorized {
				t.Fatalf("RequireToken after revocation: %d, want 401", code)
			}

			// Refresh: a new ID token, same sub, no nonce.
			clock.Add(time.Minute)
			tok.Expiry = time.Now().Add(-time.Hour)
			fresh, err := cfg.TokenSource(octx, tok).Token()
			must(t, err)
			idt2, err := verifier.Verify(octx, fresh.Extra("id_token").(string))
			must(t, err)
			if idt2.Subject != alice.ID {
				t.Fatalf("refreshed ID token sub %q", idt2.Subject)
			}
			// Core §12.2: the original auth_time, read back from the refresh
			// token's row, and again from its successor's.
			if got := idTokenAuthTime(t, idt2); got != authTime {
				t.Fatalf("refreshed ID token auth_time %d, want the original %d", got, authTime)
			}
			clock.Add(time.Hour)
			fresh.Expiry = time.Now().Add(-time.Hour)
			fresh2, err := cfg.TokenSource(octx, fresh).Token()
			must(t, err)
			if fresh2.RefreshToken == fresh.RefreshToken {
				t.Fatal("the refresh token was not rotated")
			}
			idt3, err := verifier.Verify(octx, fresh2.Extra("id_token").(string))
			must(t, err)
			if got := idTokenAuthTime(t, idt3); got != authTime {
				t.Fatalf("ID token of the second rotation: auth_time %d, want the original %d", got, authTime)
			}

			assertNoPrivateKeyInClear(t, ctx, st, logs.String(), op.http.URL)
		})
	}
}

// idTokenAuthTime returns the ID token's auth_time, failing without one.
func idTokenAuthTime(t *testing.T, idt *oidc.IDToken) int64 {
	t.Helper()
	var claims map[string]any
	must(t, idt.Claims(&claims))
	at, ok := claims["auth_time"].(float64)
	if !ok {
		t.Fatalf("the ID token has no auth_time: %v", claims)
	}
	return int64(at)
}

func mustDecode(t *testing.T, s string) string {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(s)
	must(t, err)
	return string(b)
}

func importClient(t *testing.T, ctx context.Context, s runtime.Store, c *runtime.Client) {
	t.Helper()
	var err error
	switch s := s.(type) {
	case *oidcsqlite.Store:
		err = s.ImportClient(ctx, &oidcsqlite.Client{Client: *c})
	case *oidcpg.Store:
		err = s.ImportClient(ctx, &oidcpg.Client{Client: *c})
	case *oidcmysql.Store:
		err = s.ImportClient(ctx, &oidcmysql.Client{Client: *c})
	default:
		t.Fatalf("no ImportClient for %T", s)
	}
	must(t, err)
}

func basicPost(t *testing.T, u string, form url.Values) *http.Request {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, u, strings.NewReader(form.Encode()))
	must(t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth("rp", oidcSecret)
	return req
}

func bearerStatus(t *testing.T, op *opInstance, token string) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, op.http.URL+"/resource", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := op.http.Client().Do(req)
	must(t, err)
	res.Body.Close()
	return res.StatusCode
}

// visit follows the authorization URL to the redirect and returns its
// query, failing on an error redirect.
func visit(t *testing.T, c *http.Client, authURL string) url.Values {
	t.Helper()
	cc := *c
	cc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	res, err := cc.Get(authURL)
	must(t, err)
	res.Body.Close()
	loc, err := url.Parse(res.Header.Get("Location"))
	must(t, err)
	q := loc.Query()
	if q.Get("code") == "" {
		t.Fatalf("authorization: %d %s", res.StatusCode, loc)
	}
	return q
}

// fetchKeySet GETs the JWKS the discovery document names, over HTTP.
func fetchKeySet(t *testing.T, _ string, issuer string) jose.JSONWebKeySet {
	t.Helper()
	var meta struct {
		JWKS string `json:"jwks_uri"`
	}
	getJSONDoc(t, issuer+"/.well-known/openid-configuration", &meta)
	var set jose.JSONWebKeySet
	getJSONDoc(t, meta.JWKS, &set)
	for _, k := range set.Keys {
		if !k.IsPublic() {
			t.Fatalf("the JWKS holds a private key (kid %s)", k.KeyID)
		}
	}
	return set
}

func getJSONDoc(t *testing.T, u string, v any) {
	t.Helper()
	res, err := http.Get(u)
	must(t, err)
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d", u, res.StatusCode)
	}
	must(t, json.NewDecoder(res.Body).Decode(v))
}

// verifyJWT verifies an RFC 9068 access token as a resource server does.
func verifyJWT(set jose.JSONWebKeySet, token, issuer string, now time.Time) (map[string]any, error) {
	jws, err := jose.ParseSigned(token, []jose.SignatureAlgorithm{jose.ES256, jose.RS256, jose.EdDSA})
	if err != nil {
		return nil, err
	}
	h := jws.Signatures[0].Header
	if h.ExtraHeaders[jose.HeaderType] != "at+jwt" {
		return nil, fmt.Errorf("typ %v", h.ExtraHeaders[jose.HeaderType])
	}
	keys := set.Key(h.KeyID)
	if len(keys) == 0 {
		return nil, fmt.Errorf("kid %s is not in the JWKS", h.KeyID)
	}
	payload, err := jws.Verify(keys[0])
	if err != nil {
		return nil, err
	}
	var c map[string]any
	if err := json.Unmarshal(payload, &c); err != nil {
		return nil, err
	}
	if c["iss"] != issuer || c["aud"] != issuer {
		return nil, fmt.Errorf("iss %v aud %v", c["iss"], c["aud"])
	}
	if exp, _ := c["exp"].(float64); !now.Before(time.Unix(int64(exp), 0)) {
		return nil, fmt.Errorf("expired")
	}
	return c, nil
}

// assertNoPrivateKeyInClear opens each stored key with the KEK (the test
// knows it; the database does not), checks that it is the private half of
// the published key, and then that neither its PKCS #8 DER (raw, hex,
// base64) nor its JWK private members appear in any signing-key column,
// in the logs, or in the JWKS.
func assertNoPrivateKeyInClear(t *testing.T, ctx context.Context, st *oidcStore, logs, issuer string) {
	t.Helper()
	keys, err := st.store.(runtime.SigningKeyStore).SigningKeys(ctx)
	must(t, err)
	if len(keys) == 0 {
		t.Fatal("no signing key was stored")
	}
	rows, err := st.keyRows(ctx)
	must(t, err)
	res, err := http.Get(issuer + "/jwks")
	must(t, err)
	jwks, _ := io.ReadAll(res.Body)
	res.Body.Close()
	places := map[string][]byte{"logs": []byte(logs), "JWKS": jwks}
	for i, r := range rows {
		places[fmt.Sprintf("signing_keys column value %d", i)] = r
	}
	for _, k := range keys {
		pkcs8 := openSealed(t, k)
		priv, err := x509.ParsePKCS8PrivateKey(pkcs8)
		must(t, err)
		var pub jose.JSONWebKey
		must(t, pub.UnmarshalJSON(k.PublicJWK))
		if !pub.Key.(interface{ Equal(crypto.PublicKey) bool }).Equal(priv.(crypto.Signer).Public()) {
			t.Fatalf("key %s: the opened private key is not the published key's", k.ID)
		}
		jwk, err := jose.JSONWebKey{Key: priv}.MarshalJSON()
		must(t, err)
		var members map[string]any
		must(t, json.Unmarshal(jwk, &members))
		secrets := map[string][]byte{"PKCS #8 DER": pkcs8, "PKCS #8 hex": []byte(hex.EncodeToString(pkcs8)),
			"PKCS #8 base64": []byte(base64.StdEncoding.EncodeToString(pkcs8))}
		for _, m := range []string{"d", "p", "q", "dp", "dq", "qi"} {
			if v, ok := members[m].(string); ok {
				secrets["JWK "+m] = []byte(v)
			}
		}
		for what, secret := range secrets {
			for where, data := range places {
				if bytes.Contains(data, secret) {
					t.Errorf("key %s: its %s is in clear in the %s", k.ID, what, where)
				}
			}
		}
	}
}

// openSealed opens a sealed private key: AES-256-GCM under the KEK, the
// nonce first, the record's kid and generation as additional data.
func openSealed(t *testing.T, k *runtime.SigningKey) []byte {
	t.Helper()
	block, err := aes.NewCipher(oidcKEK)
	must(t, err)
	aead, err := cipher.NewGCM(block)
	must(t, err)
	n := aead.NonceSize()
	aad := []byte("oauthgen signing key v1\x00" + k.ID + "\x00" + strconv.FormatInt(k.Generation, 10))
	out, err := aead.Open(nil, k.SealedPrivateKey[:n], k.SealedPrivateKey[n:], aad)
	if err != nil {
		t.Fatalf("key %s does not open under the KEK: %v", k.ID, err)
	}
	return out
}

// TestKeyRotationTwoInstancesPostgres: two runtime servers, each with its
// own Store and pool on ONE PostgreSQL database, share a clock that moves
// 20 minutes a step through several rotations while both issue JWT access
// tokens concurrently. At every step every token issued so far that has
// not expired verifies against the JWKS each instance serves; a key leaves
// the JWKS only after the last token it signed has expired; and keys did
// rotate and retire.
func TestKeyRotationTwoInstancesPostgres(t *testing.T) {
	st := openIDStores()["postgres"](t)
	ctx := context.Background()
	clock := &testClock{t: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)}
	logs := &lockedBuffer{}
	const lifetime = 90 * time.Minute
	mutate := func(c *runtime.Config) {
		c.AccessTokenLifetime = lifetime
		c.SigningKeys.RotateEvery = 3 * time.Hour
		c.SigningKeys.RetireAfter = 2 * time.Hour
		c.SigningKeys.PropagationDelay = time.Hour
	}
	a := newOP(t, st.store, st.config, clock, logs, "", "", mutate)
	b := newOP(t, st.newInstance(t), st.config, clock, logs, a.http.URL, "", mutate)
	importClient(t, ctx, st.store, &runtime.Client{ID: "rp", SecretHash: runtime.HashToken(oidcSecret), Name: "RP",
		GrantTypes: []string{"client_credentials"}, CreatedAt: clock.Now()})

	type issued struct {
		token, kid string
		exp        time.Time
	}
	var tokens []issued
	kidOf := func(token string) string {
		jws, err := jose.ParseSigned(token, []jose.SignatureAlgorithm{jose.ES256, jose.RS256, jose.EdDSA})
		must(t, err)
		return jws.Signatures[0].Header.KeyID
	}
	jwksOf := func(op *opInstance) jose.JSONWebKeySet {
		var set jose.JSONWebKeySet
		getJSONDoc(t, op.http.URL+"/jwks", &set)
		return set
	}
	published := map[string]bool{}
	kids := map[string]bool{}
	retired := 0
	for step := 0; step < 45; step++ { // 15 hours: five rotations
		// Both instances issue at once.
		var mu sync.Mutex
		var wg sync.WaitGroup
		for i := range 6 {
			op := a
			if i%2 == 1 {
				op = b
			}
			wg.Go(func() {
				res, err := op.http.Client().Do(basicPost(t, op.http.URL+"/token", url.Values{"grant_type": {"client_credentials"}}))
				if err != nil {
					t.Error(err)
					return
				}
				defer res.Body.Close()
				var body struct {
					AccessToken string `json:"access_token"`
					ExpiresIn   int    `json:"expires_in"`
				}
				if res.StatusCode != http.StatusOK || json.NewDecoder(res.Body).Decode(&body) != nil {
					t.Errorf("step %d: token endpoint %d", step, res.StatusCode)
					return
				}
				mu.Lock()
				tokens = append(tokens, issued{body.AccessToken, kidOf(body.AccessToken), clock.Now().Add(time.Duration(body.ExpiresIn) * time.Second)})
				mu.Unlock()
			})
		}
		wg.Wait()
		if t.Failed() {
			t.FailNow()
		}
		now := clock.Now()
		sets := []jose.JSONWebKeySet{jwksOf(a), jwksOf(b)}
		for _, tk := range tokens {
			kids[tk.kid] = true
			if !now.Before(tk.exp) {
				continue
			}
			for i, set := range sets {
				if _, err := verifyJWT(set, tk.token, a.http.URL, now); err != nil {
					t.Fatalf("step %d (%s): a token of key %s expiring %s does not verify against instance %d's JWKS: %v", step, now, tk.kid, tk.exp, i, err)
				}
			}
		}
		// A key gone from the JWKS has no live token left.
		now2 := map[string]bool{}
		for _, k := range sets[0].Keys {
			now2[k.KeyID] = true
		}
		for kid := range published {
			if now2[kid] {
				continue
			}
			retired++
			for _, tk := range tokens {
				if tk.kid == kid && now.Before(tk.exp) {
					t.Fatalf("step %d: key %s left the JWKS while a token it signed is valid until %s", step, kid, tk.exp)
				}
			}
		}
		published = now2
		clock.Add(20 * time.Minute)
	}
	if len(kids) < 4 {
		t.Fatalf("tokens were signed by %d keys; want several rotations", len(kids))
	}
	if retired == 0 {
		t.Fatal("no key was ever retired from the JWKS")
	}
	assertNoPrivateKeyInClear(t, ctx, st, logs.String(), a.http.URL)
}
