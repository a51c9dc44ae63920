// Package peers sets up oauthgen's peers, go-oauth2 and fosite, to answer
// the two requests the benchmarks make: a client_credentials token request
// (client_secret_basic, scope "read") and a bearer-protected resource. The
// in-process benchmarks (bench_test.go) and the HTTP servers the compare
// harness starts (servers/) share it, so both measure the same setup.
package peers

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"sync"
	"time"
	"unsafe"

	"github.com/go-oauth2/oauth2/v4"
	"github.com/go-oauth2/oauth2/v4/manage"
	"github.com/go-oauth2/oauth2/v4/models"
	"github.com/go-oauth2/oauth2/v4/server"
	"github.com/go-oauth2/oauth2/v4/store"
	"github.com/ory/fosite"
	"github.com/ory/fosite/compose"
	"github.com/ory/fosite/storage"
	"github.com/tidwall/buntdb"
)

// Scope is the one scope the client asks for and the resource requires.
const Scope = "read"

// Handlers are one library's token endpoint and protected resource.
type Handlers struct {
	Token     http.Handler
	Protected http.Handler // answers next after validating the token
	Close     func() error // releases what the library keeps running
}

// GoOAuth2 is go-oauth2/oauth2 v4: the default manager and server, its
// in-memory (buntdb) token store and map client store, client_secret_basic.
// The client's secret is stored in plaintext, as go-oauth2 does.
func GoOAuth2(clientID, secret string, next http.Handler) (Handlers, error) {
	manager := manage.NewDefaultManager()
	tokens, err := store.NewMemoryTokenStore()
	if err != nil {
		return Handlers{}, err
	}
	manager.MapTokenStorage(tokens)
	clients := store.NewClientStore()
	if err := clients.Set(clientID, &models.Client{ID: clientID, Secret: secret}); err != nil {
		return Handlers{}, err
	}
	manager.MapClientStorage(clients)
	srv := server.NewDefaultServer(manager)
	srv.SetClientInfoHandler(server.ClientBasicHandler)
	return Handlers{
		Token: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if err := srv.HandleTokenRequest(w, r); err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
			}
		}),
		Protected: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			ti, err := srv.ValidationBearerToken(r)
			if err != nil {
				http.Error(w, err.Error(), http.StatusUnauthorized)
				return
			}
			// ValidationBearerToken checks no scope; the others do.
			if !slices.Contains(strings.Fields(ti.GetScope()), Scope) {
				http.Error(w, "insufficient_scope", http.StatusForbidden)
				return
			}
			next.ServeHTTP(w, r)
		}),
		Close: func() error { return closeBuntDB(tokens) },
	}, nil
}

// closeBuntDB closes the buntdb database behind go-oauth2's memory token
// store, which has no Close of its own. Left open, buntdb's background
// goroutine keeps the database, and every token stored in it, alive to the
// end of the process: hundreds of megabytes by the end of a benchmark run,
// which slow the garbage collector, and so every benchmark after it.
func closeBuntDB(ts oauth2.TokenStore) error {
	v := reflect.ValueOf(ts).Elem().FieldByName("db")
	db, ok := reflect.NewAt(v.Type(), unsafe.Pointer(v.UnsafeAddr())).Elem().Interface().(*buntdb.DB)
	if !ok {
		return fmt.Errorf("go-oauth2's token store is a %T without a *buntdb.DB in db", ts)
	}
	return db.Close()
}

// SHA256Hasher checks client secrets as oauthgen does (SHA-256, constant
// time), in place of fosite's default bcrypt.
type SHA256Hasher struct{}

func (SHA256Hasher) Compare(_ context.Context, hash, data []byte) error {
	sum := sha256.Sum256(data)
	if subtle.ConstantTimeCompare(hash, sum[:]) != 1 {
		return errors.New("secret mismatch")
	}
	return nil
}

func (SHA256Hasher) Hash(_ context.Context, data []byte) ([]byte, error) {
	sum := sha256.Sum256(data)
	return sum[:], nil
}

// rsaKey is the key ComposeAllEnabled wants for OpenID Connect; made once,
// since benchmarks run their setup several times.
var rsaKey = sync.OnceValues(func() (*rsa.PrivateKey, error) { return rsa.GenerateKey(rand.Reader, 2048) })

// FositeHasher chooses how fosite checks client secrets.
type FositeHasher struct {
	SHA256     bool // SHA256Hasher, as oauthgen does
	BCryptCost int  // otherwise fosite's bcrypt at this cost; 0: fosite's default (12)
}

// Fosite is ory/fosite: compose.ComposeAllEnabled over its in-memory store,
// HMAC-SHA512/256 opaque tokens; the token endpoint is written as fosite's
// examples write it, the protected resource validates with IntrospectToken.
func Fosite(clientID, secret string, h FositeHasher, next http.Handler) (Handlers, error) {
	key, err := rsaKey()
	if err != nil {
		return Handlers{}, err
	}
	config := &fosite.Config{
		AccessTokenLifespan: time.Hour,
		GlobalSecret:        []byte("a-global-secret-of-32-bytes-long"),
		HashCost:            h.BCryptCost,
	}
	if h.SHA256 {
		config.ClientSecretsHasher = SHA256Hasher{}
	}
	ctx := context.Background()
	hash, err := config.GetSecretsHasher(ctx).Hash(ctx, []byte(secret))
	if err != nil {
		return Handlers{}, err
	}
	st := storage.NewMemoryStore()
	st.Clients[clientID] = &fosite.DefaultClient{ID: clientID, Secret: hash, GrantTypes: []string{"client_credentials"}, Scopes: []string{Scope}}
	provider := compose.ComposeAllEnabled(config, st, key)
	return Handlers{
		Token: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			ctx := r.Context()
			ar, err := provider.NewAccessRequest(ctx, r, new(fosite.DefaultSession))
			if err != nil {
				provider.WriteAccessError(ctx, w, ar, err)
				return
			}
			for _, s := range ar.GetRequestedScopes() {
				ar.GrantScope(s)
			}
			resp, err := provider.NewAccessResponse(ctx, ar)
			if err != nil {
				provider.WriteAccessError(ctx, w, ar, err)
				return
			}
			provider.WriteAccessResponse(ctx, w, ar, resp)
		}),
		Protected: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			token := fosite.AccessTokenFromRequest(r)
			if _, _, err := provider.IntrospectToken(r.Context(), token, fosite.AccessToken, new(fosite.DefaultSession), Scope); err != nil {
				http.Error(w, err.Error(), http.StatusUnauthorized)
				return
			}
			next.ServeHTTP(w, r)
		}),
		Close: func() error { return nil },
	}, nil
}
