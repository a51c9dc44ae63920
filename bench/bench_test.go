// Package bench measures oauthgen beside its peers, in one process, on the
// same requests: `go test -bench . -count 6` and benchstat (see run.sh).
// It is its own module so that the peers never become dependencies of
// oauthgen itself.
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

	"github.com/go-oauth2/oauth2/v4/manage"
	"github.com/go-oauth2/oauth2/v4/models"
	"github.com/go-oauth2/oauth2/v4/server"
	"github.com/go-oauth2/oauth2/v4/store"

	oauthstore "github.com/oauthgen/oauthgen/golden/every_grant_sqlite"
	"github.com/oauthgen/oauthgen/runtime"
	"github.com/oauthgen/oauthgen/runtime/runtimetest"
)

// subject is one library set up to answer the same two requests.
type subject struct {
	token     http.Handler // the token endpoint
	protected http.Handler // a resource that validates a bearer token
}

const clientID = "svc"

var ok = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })

// oauthgenSubject is the runtime over store, one confidential client with
// a 256-bit secret stored as SHA-256.
func oauthgenSubject(b *testing.B, s runtime.Store, addClient func(*runtime.Client) error) (subject, string) {
	secret, hash := runtime.NewClientSecret()
	if err := addClient(&runtime.Client{ID: clientID, SecretHash: hash, GrantTypes: []string{"client_credentials"}, Scopes: []string{"read"}}); err != nil {
		b.Fatal(err)
	}
	srv, err := runtime.NewServer(runtime.Config{ClientCredentials: &runtime.ClientCredentialsGrant{}, Scopes: []string{"read"}}, s)
	if err != nil {
		b.Fatal(err)
	}
	return subject{token: srv.TokenHandler(), protected: srv.RequireToken("read")(ok)}, secret
}

func oauthgenMemory(b *testing.B) (subject, string) {
	m := runtimetest.NewMemoryStore()
	return oauthgenSubject(b, m, m.AddClient)
}

func oauthgenSQLite(b *testing.B) (subject, string) {
	s, err := oauthstore.Open(filepath.Join(b.TempDir(), "bench.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	if err := s.Migrate(context.Background()); err != nil {
		b.Fatal(err)
	}
	return oauthgenSubject(b, s, func(c *runtime.Client) error {
		return s.ImportClient(context.Background(), &oauthstore.Client{Client: *c})
	})
}

// goOAuth2 is go-oauth2/oauth2 v4 with its in-memory token and client
// stores (it keeps tokens and client secrets as they are, unhashed).
func goOAuth2(b *testing.B) (subject, string) {
	const secret = "a-secret-of-forty-three-characters-long-xyz"
	manager := manage.NewDefaultManager()
	manager.MustTokenStorage(store.NewMemoryTokenStore())
	clients := store.NewClientStore()
	clients.Set(clientID, &models.Client{ID: clientID, Secret: secret, Domain: "http://localhost"})
	manager.MapClientStorage(clients)
	srv := server.NewDefaultServer(manager)
	srv.SetClientInfoHandler(server.ClientBasicHandler)
	return subject{
		token: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { srv.HandleTokenRequest(w, r) }),
		protected: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if _, err := srv.ValidationBearerToken(r); err != nil {
				http.Error(w, err.Error(), http.StatusUnauthorized)
				return
			}
			ok(w, r)
		}),
	}, secret
}

var subjects = []struct {
	name string
	new  func(*testing.B) (subject, string)
}{
	{"oauthgen-memory", oauthgenMemory},
	{"go-oauth2-memory", goOAuth2},
	{"oauthgen-sqlite", oauthgenSQLite},
}

func tokenRequest(secret string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/token", strings.NewReader(url.Values{"grant_type": {"client_credentials"}, "scope": {"read"}}.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(clientID+":"+secret)))
	return r
}

func issue(b *testing.B, s subject, secret string) string {
	w := httptest.NewRecorder()
	s.token.ServeHTTP(w, tokenRequest(secret))
	var resp struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &resp); err != nil || w.Code != http.StatusOK || resp.AccessToken == "" {
		b.Fatalf("token request: %d %s", w.Code, w.Body)
	}
	return resp.AccessToken
}

// BenchmarkClientCredentials issues a token: client_secret_basic, one scope.
func BenchmarkClientCredentials(b *testing.B) {
	for _, sub := range subjects {
		b.Run(sub.name, func(b *testing.B) {
			s, secret := sub.new(b)
			b.ReportAllocs()
			for b.Loop() {
				issue(b, s, secret)
			}
		})
	}
}

// BenchmarkBearer validates a bearer token on a protected request.
func BenchmarkBearer(b *testing.B) {
	for _, sub := range subjects {
		b.Run(sub.name, func(b *testing.B) {
			s, secret := sub.new(b)
			token := issue(b, s, secret)
			b.ReportAllocs()
			for b.Loop() {
				r := httptest.NewRequest(http.MethodGet, "/resource", nil)
				r.Header.Set("Authorization", "Bearer "+token)
				w := httptest.NewRecorder()
				s.protected.ServeHTTP(w, r)
				if w.Code != http.StatusNoContent {
					b.Fatalf("protected request: %d %s", w.Code, w.Body)
				}
			}
		})
	}
}
