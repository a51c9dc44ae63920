package runtime_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/oauthgen/oauthgen/runtime"
	"github.com/oauthgen/oauthgen/runtime/runtimetest"
)

// Test clients, users and secrets. confSecret holds the characters that
// client_secret_basic must form-urlencode (RFC 6749 §2.3.1).
const (
	confSecret   = "p:a%s+s w0rd"
	otherSecret  = "other-secret"
	bcryptSecret = "imported-secret"
	alicePass    = "correct horse"
	bobPass      = "battery staple"
	redirectURI  = "https://app.example/cb"
	extGrant     = "urn:example:params:oauth:grant-type:test"
	// verifier is a valid PKCE code_verifier (43 unreserved characters).
	verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
)

var allGrants = []string{
	runtime.GrantAuthorizationCode, runtime.GrantClientCredentials, runtime.GrantPassword,
	runtime.GrantRefreshToken, runtime.GrantDeviceCode, runtime.GrantImplicit, extGrant,
}

// aliceHash is argon2id (bob's is bcrypt): computed once, it is slow on purpose.
var aliceHash = sync.OnceValue(func() string { return runtime.HashPassword(alicePass) })

// clock is a settable clock for Config.Now.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// syncBuffer is a log sink safe for concurrent handlers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// fixture is a Server over a MemoryStore seeded with clients and users,
// served by httptest, with a test application mounted at /authorize (it
// approves as alice) and a protected resource at /resource.
type fixture struct {
	t     testing.TB
	srv   *runtime.Server
	store *runtimetest.MemoryStore
	clock *clock
	http  *httptest.Server
	logs  *syncBuffer
	mux   http.Handler
}

// baseConfig enables every grant.
func baseConfig() runtime.Config {
	return runtime.Config{
		AuthorizationCode: &runtime.AuthorizationCodeGrant{},
		ClientCredentials: &runtime.ClientCredentialsGrant{},
		Password:          &runtime.PasswordGrant{},
		RefreshToken:      &runtime.RefreshTokenGrant{},
		DeviceCode:        &runtime.DeviceCodeGrant{Interval: time.Second},
		Implicit:          &runtime.ImplicitGrant{},
		Extensions: map[string]runtime.ExtensionGrant{
			extGrant: testExtension,
		},
		Scopes:        []string{"read", "write", "admin"},
		DefaultScopes: []string{"read"},
		AppPages:      runtime.AppPages{Authorization: true, Verification: true}, // the fixture serves both
	}
}

// testExtension grants what its "assertion" parameter names: "alice"
// for alice, anything else is refused.
func testExtension(ctx context.Context, req *runtime.ExtensionRequest) (*runtime.ExtensionResult, error) {
	if req.Form.Has("client_secret") {
		return nil, runtime.NewError(runtime.InvalidRequest, "the client secret reached the hook")
	}
	switch req.Form.Get("assertion") {
	case "alice":
		return &runtime.ExtensionResult{UserID: "u-alice", Scopes: req.Scopes, RefreshToken: true,
			Extra: map[string]any{"issued_token_type": "urn:ietf:params:oauth:token-type:access_token", "access_token": "not-this"}}, nil
	case "boom":
		return nil, errors.New("database on fire")
	case "nil":
		return nil, nil
	}
	return nil, runtime.NewError(runtime.InvalidGrant, "bad assertion")
}

func newFixture(t testing.TB, mutate ...func(*runtime.Config)) *fixture {
	t.Helper()
	return newFixtureStore(t, nil, mutate...)
}

// newFixtureStore is newFixture with the Server's store wrapped, to
// inject faults; the fixture seeds and inspects the MemoryStore beneath.
func newFixtureStore(t testing.TB, wrap func(*runtimetest.MemoryStore) runtime.Store, mutate ...func(*runtime.Config)) *fixture {
	t.Helper()
	f := &fixture{
		t:     t,
		store: runtimetest.NewMemoryStore(),
		clock: &clock{t: time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)},
		logs:  &syncBuffer{},
	}
	var handler http.Handler
	f.http = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		handler.ServeHTTP(w, r)
	}))
	t.Cleanup(f.http.Close)

	cfg := baseConfig()
	cfg.Issuer = f.http.URL
	cfg.Now = f.clock.Now
	cfg.Logger = slog.New(slog.NewTextHandler(f.logs, nil))
	for _, m := range mutate {
		m(&cfg)
	}
	var store runtime.Store = f.store
	if wrap != nil {
		store = wrap(f.store)
	}
	srv, err := runtime.NewServer(cfg, store)
	if err != nil {
		t.Fatalf("NewServer: %v", err)
	}
	f.srv = srv
	f.seed()

	mux := http.NewServeMux()
	mux.Handle("/", srv.Handler())
	mux.HandleFunc("/authorize", func(w http.ResponseWriter, r *http.Request) {
		req, err := srv.ValidateAuthorizationRequest(r)
		if err != nil {
			srv.WriteAuthorizationError(w, r, err)
			return
		}
		srv.CompleteAuthorization(w, r, req, "u-alice", nil)
	})
	mux.Handle("/resource", srv.RequireToken("read")(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok, _ := runtime.TokenFromContext(r.Context())
		json.NewEncoder(w).Encode(map[string]any{"client": tok.ClientID, "user": tok.UserID, "scopes": tok.Scopes})
	})))
	f.mux = mux
	handler = mux
	return f
}

func (f *fixture) seed() {
	f.t.Helper()
	bc, err := bcrypt.GenerateFromPassword([]byte(bcryptSecret), bcrypt.MinCost)
	if err != nil {
		f.t.Fatal(err)
	}
	bobHash, err := bcrypt.GenerateFromPassword([]byte(bobPass), bcrypt.MinCost)
	if err != nil {
		f.t.Fatal(err)
	}
	clients := []*runtime.Client{
		{ID: "conf", Name: "Confidential", SecretHash: runtime.HashToken(confSecret), RedirectURIs: []string{redirectURI}, GrantTypes: allGrants},
		{ID: "other", Name: "Other", SecretHash: runtime.HashToken(otherSecret), RedirectURIs: []string{redirectURI, "https://other.example/cb"}, GrantTypes: allGrants},
		{ID: "imported", SecretHash: string(bc), GrantTypes: []string{runtime.GrantClientCredentials}},
		{ID: "public", RedirectURIs: []string{"http://127.0.0.1/cb"}, GrantTypes: []string{runtime.GrantAuthorizationCode, runtime.GrantRefreshToken, runtime.GrantDeviceCode, runtime.GrantPassword}},
		{ID: "limited", SecretHash: runtime.HashToken(otherSecret), Scopes: []string{"read"}, GrantTypes: []string{runtime.GrantClientCredentials},
			AccessTokenLifetime: time.Minute},
		{ID: "nogrants", SecretHash: runtime.HashToken(otherSecret), RedirectURIs: []string{redirectURI}},
		{ID: "noredirect", GrantTypes: []string{runtime.GrantAuthorizationCode}},
		{ID: "implicit-only", RedirectURIs: []string{redirectURI + "?app=1"}, GrantTypes: []string{runtime.GrantImplicit}},
		{ID: "badredirect", RedirectURIs: []string{"/relative"}, GrantTypes: []string{runtime.GrantAuthorizationCode}},
	}
	for _, c := range clients {
		if err := f.store.AddClient(c); err != nil {
			f.t.Fatal(err)
		}
	}
	for _, u := range []*runtime.User{
		{ID: "u-alice", Username: "alice", PasswordHash: aliceHash()},
		{ID: "u-bob", Username: "bob", PasswordHash: string(bobHash)},
	} {
		if err := f.store.AddUser(u); err != nil {
			f.t.Fatal(err)
		}
	}
}

// response is a recorded response with its JSON body decoded.
type response struct {
	Status int
	Header http.Header
	Body   map[string]any
	Raw    string
}

func (r response) str(key string) string {
	s, _ := r.Body[key].(string)
	return s
}

// serve runs a request through the fixture's handlers without a network.
func (f *fixture) serve(req *http.Request) response {
	rec := httptest.NewRecorder()
	f.mux.ServeHTTP(rec, req)
	return decode(f.t, rec)
}

func newRecorder() *httptest.ResponseRecorder { return httptest.NewRecorder() }

// decode reads a recorded response, its JSON body included.
func decode(t testing.TB, rec *httptest.ResponseRecorder) response {
	t.Helper()
	res := response{Status: rec.Code, Header: rec.Header(), Raw: rec.Body.String()}
	if strings.HasPrefix(rec.Header().Get("Content-Type"), "application/json") {
		if err := json.Unmarshal(rec.Body.Bytes(), &res.Body); err != nil {
			t.Fatalf("response is not JSON: %v: %q", err, rec.Body.String())
		}
	}
	return res
}

// formRequest builds a form POST.
func formRequest(path string, form url.Values) *http.Request {
	req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return req
}

// basic sets client_secret_basic credentials, form-urlencoded as §2.3.1 asks.
func basic(req *http.Request, id, secret string) *http.Request {
	req.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(id)+":"+url.QueryEscape(secret))))
	return req
}

// post sends a form to path with client_secret_post credentials (none when
// id is empty; client_id alone when secret is empty).
func (f *fixture) post(path, id, secret string, form url.Values) response {
	form = cloneValues(form)
	if id != "" {
		form.Set("client_id", id)
	}
	if secret != "" {
		form.Set("client_secret", secret)
	}
	return f.serve(formRequest(path, form))
}

func cloneValues(v url.Values) url.Values {
	out := url.Values{}
	for k, vv := range v {
		out[k] = append([]string(nil), vv...)
	}
	return out
}

// token asks the token endpoint as the confidential client.
func (f *fixture) token(form url.Values) response {
	return f.post("/token", "conf", confSecret, form)
}

// mustToken asks for a token and fails the test unless it is issued.
func (f *fixture) mustToken(id, secret string, form url.Values) response {
	f.t.Helper()
	res := f.post("/token", id, secret, form)
	if res.Status != http.StatusOK {
		f.t.Fatalf("token request %v: %d %s", form, res.Status, res.Raw)
	}
	return res
}

// authorize runs the test application's authorization endpoint and
// returns the parameters of the redirect.
func (f *fixture) authorize(params url.Values) (url.Values, *url.URL) {
	f.t.Helper()
	res := f.serve(httptest.NewRequest(http.MethodGet, "/authorize?"+params.Encode(), nil))
	if res.Status != http.StatusFound {
		f.t.Fatalf("authorize %v: %d %s", params, res.Status, res.Raw)
	}
	u, err := url.Parse(res.Header.Get("Location"))
	if err != nil {
		f.t.Fatal(err)
	}
	if u.Fragment != "" {
		q, _ := url.ParseQuery(u.EscapedFragment())
		return q, u
	}
	return u.Query(), u
}

// code returns a fresh authorization code for the confidential client,
// with redirect_uri and an S256 challenge of verifier.
func (f *fixture) code(extra ...string) string {
	f.t.Helper()
	p := url.Values{
		"response_type":         {"code"},
		"client_id":             {"conf"},
		"redirect_uri":          {redirectURI},
		"scope":                 {"read write"},
		"state":                 {"xyz"},
		"code_challenge":        {runtime.S256Challenge(verifier)},
		"code_challenge_method": {"S256"},
	}
	for i := 0; i+1 < len(extra); i += 2 {
		if extra[i+1] == "" {
			p.Del(extra[i])
		} else {
			p.Set(extra[i], extra[i+1])
		}
	}
	q, _ := f.authorize(p)
	if q.Get("code") == "" {
		f.t.Fatalf("no code in %v", q)
	}
	return q.Get("code")
}

// redeem exchanges a code from f.code.
func (f *fixture) redeem(code string) response {
	return f.token(url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {redirectURI}, "code_verifier": {verifier}})
}

// passwordTokens returns an access and a refresh token for alice.
func (f *fixture) passwordTokens(scope string) (access, refresh string) {
	f.t.Helper()
	res := f.mustToken("conf", confSecret, url.Values{"grant_type": {"password"}, "username": {"alice"}, "password": {alicePass}, "scope": {scope}})
	return res.str("access_token"), res.str("refresh_token")
}

// active reports what the store says of an access token: found, and
// neither revoked nor expired.
func (f *fixture) active(access string) bool {
	f.t.Helper()
	t, err := f.store.GetAccessToken(context.Background(), runtime.HashToken(access))
	if err != nil {
		return false
	}
	return t.RevokedAt.IsZero() && f.clock.Now().Before(t.ExpiresAt)
}

// get sends a GET with an optional bearer token.
func (f *fixture) get(path, bearer string) response {
	req := httptest.NewRequest(http.MethodGet, path, nil)
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	return f.serve(req)
}

// noStore checks the headers every OAuth JSON response carries.
func noStore(t testing.TB, res response) {
	t.Helper()
	if got := res.Header.Get("Cache-Control"); got != "no-store" {
		t.Errorf("Cache-Control = %q, want no-store", got)
	}
	if got := res.Header.Get("Pragma"); got != "no-cache" {
		t.Errorf("Pragma = %q, want no-cache", got)
	}
}

func readAll(t testing.TB, r io.Reader) string {
	t.Helper()
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
