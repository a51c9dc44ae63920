// Package bench measures oauthgen beside its peers, in one process, on the
// same requests: `go test -bench . -count 6` and benchstat (see run.sh).
// It is its own module so that the peers never become dependencies of
// oauthgen itself.
//
// Every subject answers through an http.Handler into an httptest recorder:
// no network, no listener, no TLS. Each request is built fresh, as a server
// hands each handler a fresh *http.Request, with http.NewRequestWithContext:
// httptest.NewRequest parses a serialized request and allocates a 4 KiB
// bufio.Reader, about 2 µs per request on the machine measured, the same
// for every subject, which would only blur the differences. Every
// measurement includes the remaining harness cost (request, recorder,
// status check); the harness-floor subject measures it alone, with handlers
// that do nothing.
//
// What is not the same work in every library, and matters for fairness:
//
//   - Token storage. oauthgen generates 256 random bits per token and stores
//     only its SHA-256 (runtime.HashToken); validation hashes the presented
//     token and looks the hash up. go-oauth2 (v4, default generator) makes a
//     token from an MD5-based UUID and keeps it as is, as a key into buntdb
//     (its in-memory token store), the token info marshalled to JSON and
//     unmarshalled on every lookup. fosite (HMAC strategy) signs a random
//     value with HMAC-SHA512/256, stores the session under the signature,
//     and on validation checks the HMAC before the lookup.
//   - Client secrets. oauthgen compares the SHA-256 of the secret in
//     constant time. go-oauth2 compares the stored plaintext secret with ==.
//     fosite defaults to bcrypt at cost 12, which would make the token
//     benchmark a bcrypt benchmark (195 ms per comparison on the machine
//     measured); here it is given peers.SHA256Hasher, which does what
//     oauthgen does.
//   - Scope. oauthgen's RequireToken("read") and fosite's
//     IntrospectToken(…, "read") check the token's scope; go-oauth2's
//     ValidationBearerToken does not, so its protected handler checks it.
//   - Composition. fosite is built with compose.ComposeAllEnabled (every
//     grant, OpenID Connect, PKCE; an OpenTelemetry span per call, no-op
//     without a tracer); go-oauth2's default server also allows every grant.
//     oauthgen enables only client_credentials: its grant dispatch is a
//     switch, so other grants cost it nothing on this path.
//   - Stores grow. Every issuance stores a token and none is purged while a
//     benchmark runs, in every subject alike.
package bench

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"github.com/oauthgen/oauthgen/bench/internal/peers"
	pgstore "github.com/oauthgen/oauthgen/golden/every_grant_postgres"
	oauthstore "github.com/oauthgen/oauthgen/golden/every_grant_sqlite"
	"github.com/oauthgen/oauthgen/internal/testdb"
	"github.com/oauthgen/oauthgen/runtime"
	"github.com/oauthgen/oauthgen/runtime/runtimetest"
)

// subject is one library set up to answer the same two requests.
type subject struct {
	token     http.Handler // the token endpoint
	protected http.Handler // a resource that validates a bearer token
	secret    string       // the client's secret, for client_secret_basic
}

const (
	clientID = "svc"
	scope    = "read"
	// peerSecret has the length of an oauthgen-issued secret (43 characters).
	peerSecret = "a-secret-of-forty-three-characters-long-xyz"
)

// ok is the protected resource itself: it only answers 204.
var ok = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })

// oauthgenSubject is the runtime over store: one confidential client
// allowed client_credentials and scope "read", its secret stored as SHA-256.
func oauthgenSubject(tb testing.TB, s runtime.Store, secret string) subject {
	srv, err := runtime.NewServer(runtime.Config{
		ClientCredentials: &runtime.ClientCredentialsGrant{},
		Scopes:            []string{scope},
	}, s)
	if err != nil {
		tb.Fatal(err)
	}
	return subject{token: srv.TokenHandler(), protected: srv.RequireToken(scope)(ok), secret: secret}
}

func oauthgenMemory(tb testing.TB) subject {
	m := runtimetest.NewMemoryStore()
	secret, hash := runtime.NewClientSecret()
	if err := m.AddClient(&runtime.Client{ID: clientID, SecretHash: hash, GrantTypes: []string{"client_credentials"}, Scopes: []string{scope}}); err != nil {
		tb.Fatal(err)
	}
	return oauthgenSubject(tb, m, secret)
}

// oauthgenSQLite is the runtime over golden/every_grant_sqlite's generated
// Store on a temporary file (WAL, synchronous=NORMAL, as Open sets it).
func oauthgenSQLite(tb testing.TB) subject {
	ctx := context.Background()
	s, err := oauthstore.Open(filepath.Join(tb.TempDir(), "bench.db"))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { s.Close() })
	if err := s.Migrate(ctx); err != nil {
		tb.Fatal(err)
	}
	_, secret, err := s.CreateClient(ctx, oauthstore.NewClient{ID: clientID, GrantTypes: []string{"client_credentials"}, Scopes: []string{scope}})
	if err != nil {
		tb.Fatal(err)
	}
	return oauthgenSubject(tb, s, secret)
}

// oauthgenPostgres is the runtime over golden/every_grant_postgres's
// generated Store (pgx pool) in a fresh schema on the server
// OAUTHGEN_TEST_POSTGRES names; it skips without the variable.
func oauthgenPostgres(tb testing.TB) subject {
	ctx := context.Background()
	s, err := pgstore.Open(ctx, testdb.Postgres(tb))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { s.Close() })
	if err := s.Migrate(ctx); err != nil {
		tb.Fatal(err)
	}
	_, secret, err := s.CreateClient(ctx, pgstore.NewClient{ID: clientID, GrantTypes: []string{"client_credentials"}, Scopes: []string{scope}})
	if err != nil {
		tb.Fatal(err)
	}
	return oauthgenSubject(tb, s, secret)
}

// goOAuth2 is go-oauth2/oauth2 v4 as peers.GoOAuth2 sets it up.
func goOAuth2(tb testing.TB) subject {
	h, err := peers.GoOAuth2(clientID, peerSecret, ok)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if err := h.Close(); err != nil {
			tb.Error(err)
		}
	})
	return subject{token: h.Token, protected: h.Protected, secret: peerSecret}
}

// fositeSubject is ory/fosite as peers.Fosite sets it up, client secrets
// checked with SHA-256 as oauthgen does (see the package comment).
func fositeSubject(tb testing.TB) subject {
	h, err := peers.Fosite(clientID, peerSecret, peers.FositeHasher{SHA256: true}, ok)
	if err != nil {
		tb.Fatal(err)
	}
	return subject{token: h.Token, protected: h.Protected, secret: peerSecret}
}

// harnessFloor does no OAuth at all: a canned token response and a
// protected resource that checks nothing. It measures what every other
// subject's numbers include: building the request, the recorder, the checks.
func harnessFloor(testing.TB) subject {
	body := []byte(`{"access_token":"` + peerSecret + `","token_type":"Bearer","expires_in":3600,"scope":"read"}`)
	return subject{
		token: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.Write(body)
		}),
		protected: ok,
		secret:    peerSecret,
	}
}

// subjects in the order benchstat shows them; -col /impl compares each
// with the first.
var subjects = []struct {
	name string
	new  func(testing.TB) subject
}{
	{"oauthgen-memory", oauthgenMemory},
	{"go-oauth2-memory", goOAuth2},
	{"fosite-memory", fositeSubject},
	{"oauthgen-sqlite", oauthgenSQLite},
	{"oauthgen-postgres", oauthgenPostgres},
	{"harness-floor", harnessFloor},
}

// tokenRequest is the one token request: POST /token, client_credentials,
// client_secret_basic, scope=read.
func tokenRequest(secret string) *http.Request {
	r, _ := http.NewRequestWithContext(context.Background(), http.MethodPost, "/token", strings.NewReader("grant_type=client_credentials&scope=read"))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(clientID)+":"+url.QueryEscape(secret))))
	return r
}

// bearerRequest is the one protected request: GET with the token in the
// Authorization header.
func bearerRequest(token string) *http.Request {
	r, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, "/resource", nil)
	r.Header.Set("Authorization", "Bearer "+token)
	return r
}

func serve(h http.Handler, r *http.Request) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

// issue gets a token, outside the timed loop, checking the response in full.
func issue(tb testing.TB, s subject) string {
	w := serve(s.token, tokenRequest(s.secret))
	var resp struct {
		AccessToken string `json:"access_token"`
		TokenType   string `json:"token_type"`
		Scope       string `json:"scope"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &resp); err != nil || w.Code != http.StatusOK ||
		resp.AccessToken == "" || !strings.EqualFold(resp.TokenType, "bearer") || resp.Scope != scope {
		tb.Fatalf("token request: %d %s", w.Code, w.Body)
	}
	return resp.AccessToken
}

// TestSubjects checks that every subject answers both requests as the
// benchmarks expect, and refuses a bad secret and a bad token.
func TestSubjects(t *testing.T) {
	for _, sub := range subjects {
		t.Run(sub.name, func(t *testing.T) {
			s := sub.new(t)
			token := issue(t, s)
			if w := serve(s.protected, bearerRequest(token)); w.Code != http.StatusNoContent {
				t.Errorf("protected request: %d %s", w.Code, w.Body)
			}
			if sub.name == "harness-floor" {
				return
			}
			if w := serve(s.token, tokenRequest(s.secret+"x")); w.Code != http.StatusUnauthorized && w.Code != http.StatusBadRequest {
				t.Errorf("token request with a bad secret: %d %s", w.Code, w.Body)
			}
			if w := serve(s.protected, bearerRequest(token+"x")); w.Code != http.StatusUnauthorized {
				t.Errorf("protected request with a bad token: %d %s", w.Code, w.Body)
			}
		})
	}
}

// BenchmarkClientCredentials issues a token: client_secret_basic, one scope.
func BenchmarkClientCredentials(b *testing.B) {
	for _, sub := range subjects {
		b.Run("impl="+sub.name, func(b *testing.B) {
			s := sub.new(b)
			b.ReportAllocs()
			for b.Loop() {
				if w := serve(s.token, tokenRequest(s.secret)); w.Code != http.StatusOK {
					b.Fatalf("token request: %d %s", w.Code, w.Body)
				}
			}
		})
	}
}

// BenchmarkBearer validates a bearer token on a protected request.
func BenchmarkBearer(b *testing.B) {
	for _, sub := range subjects {
		b.Run("impl="+sub.name, func(b *testing.B) {
			s := sub.new(b)
			token := issue(b, s)
			b.ReportAllocs()
			for b.Loop() {
				if w := serve(s.protected, bearerRequest(token)); w.Code != http.StatusNoContent {
					b.Fatalf("protected request: %d %s", w.Code, w.Body)
				}
			}
		})
	}
}

// BenchmarkClientCredentialsParallel is BenchmarkClientCredentials from
// GOMAXPROCS goroutines at once: contention on each store's locks (and, for
// SQLite, its single writer).
func BenchmarkClientCredentialsParallel(b *testing.B) {
	for _, sub := range subjects {
		b.Run("impl="+sub.name, func(b *testing.B) {
			s := sub.new(b)
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if w := serve(s.token, tokenRequest(s.secret)); w.Code != http.StatusOK {
						b.Errorf("token request: %d %s", w.Code, w.Body)
						return
					}
				}
			})
		})
	}
}

// BenchmarkBearerParallel is BenchmarkBearer from GOMAXPROCS goroutines at
// once, all presenting the same token.
func BenchmarkBearerParallel(b *testing.B) {
	for _, sub := range subjects {
		b.Run("impl="+sub.name, func(b *testing.B) {
			s := sub.new(b)
			token := issue(b, s)
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if w := serve(s.protected, bearerRequest(token)); w.Code != http.StatusNoContent {
						b.Errorf("protected request: %d %s", w.Code, w.Body)
						return
					}
				}
			})
		})
	}
}
