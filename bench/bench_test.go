// Package bench measures oauthgen beside its peers, in one process, on the
// same requests: `go test -bench . -count 6` and benchstat (see run.sh).
// It is its own module so that the peers never become dependencies of
// oauthgen itself.
package bench

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-oauth2/oauth2/v4/manage"
	"github.com/go-oauth2/oauth2/v4/models"
	"github.com/go-oauth2/oauth2/v4/server"
	"github.com/go-oauth2/oauth2/v4/store"
	"github.com/ory/fosite"
	"github.com/ory/fosite/compose"
	"github.com/ory/fosite/storage"

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

// sha256Hasher checks client secrets as oauthgen does (SHA-256, constant
// time), in place of fosite's default bcrypt, so the token benchmark does
// not measure bcrypt.
type sha256Hasher struct{}

func (sha256Hasher) Compare(_ context.Context, hash, data []byte) error {
	sum := sha256.Sum256(data)
	if subtle.ConstantTimeCompare(hash, sum[:]) != 1 {
		return errors.New("secret mismatch")
	}
	return nil
}

func (sha256Hasher) Hash(_ context.Context, data []byte) ([]byte, error) {
	sum := sha256.Sum256(data)
	return sum[:], nil
}

// fositeSubject is ory/fosite with its in-memory store, every handler
// composed (it needs an RSA key for OpenID Connect), HMAC-SHA512/256
// opaque tokens, and client secrets checked by sha256Hasher.
func fositeSubject(b *testing.B) (subject, string) {
	const secret = "a-secret-of-forty-three-characters-long-xyz"
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		b.Fatal(err)
	}
	config := &fosite.Config{
		AccessTokenLifespan: time.Hour,
		GlobalSecret:        []byte("a-global-secret-of-32-bytes-long"),
		ClientSecretsHasher: sha256Hasher{},
	}
	hash, _ := sha256Hasher{}.Hash(context.Background(), []byte(secret))
	store := storage.NewMemoryStore()
	store.Clients[clientID] = &fosite.DefaultClient{ID: clientID, Secret: hash, GrantTypes: []string{"client_credentials"}, Scopes: []string{"read"}}
	provider := compose.ComposeAllEnabled(config, store, key)
	return subject{
		token: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			ctx := r.Context()
			ar, err := provider.NewAccessRequest(ctx, r, new(fosite.DefaultSession))
			if err != nil {
				provider.WriteAccessError(ctx, w, ar, err)
				return
			}
			for _, scope := range ar.GetRequestedScopes() {
				ar.GrantScope(scope)
			}
			resp, err := provider.NewAccessResponse(ctx, ar)
			if err != nil {
				provider.WriteAccessError(ctx, w, ar, err)
				return
			}
			provider.WriteAccessResponse(ctx, w, ar, resp)
		}),
		protected: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			token := fosite.AccessTokenFromRequest(r)
			if _, _, err := provider.IntrospectToken(r.Context(), token, fosite.AccessToken, new(fosite.DefaultSession), "read"); err != nil {
				http.Error(w, err.Error(), http.StatusUnauthorized)
				return
			}
			ok(w, r)
		}),
	}, secret
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
	{"fosite-memory", fositeSubject},
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
