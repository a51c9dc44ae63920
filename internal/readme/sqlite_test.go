package readme_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"time"

	oauthstore "github.com/oauthgen/oauthgen/golden/every_grant_sqlite"
	"github.com/oauthgen/oauthgen/runtime"
)

// storeAPI is README.md's "The Store's API" block; every_grant_sqlite
// declares the display_name extra column the block sets.
func storeAPI(ctx context.Context, name string, imported *oauthstore.Client) error {
	// README:begin
	store, err := oauthstore.Open("auth.db") // WAL, busy timeout, foreign keys, one writer + readers
	if err != nil {
		return err
	}
	defer store.Close()
	if err := store.Migrate(ctx); err != nil { // goose, from the embedded migrations
		return err
	}
	srv, err := oauthstore.NewServer(store, func(c *runtime.Config) {
		c.Issuer = "https://auth.example.com"
		c.Logger = slog.Default()
		// The pages you serve yourself (see Mounting): metadata advertises only these.
		c.AppPages = runtime.AppPages{Authorization: true, Verification: true}
	})

	client, secret, err := store.CreateClient(ctx, oauthstore.NewClient{
		Name: "Web app", GrantTypes: []string{"authorization_code", "refresh_token"},
		RedirectURIs: []string{"https://app.example.com/callback"}, Scopes: []string{"read"},
		// Only with extra columns: ClientExtra exists when oauthgen.yaml declares
		// storage.extra_columns.clients (here display_name).
		ClientExtra: oauthstore.ClientExtra{DisplayName: &name},
	}) // secret is shown once; only its SHA-256 is kept
	user, err := store.CreateUser(ctx, oauthstore.NewUser{Username: "ada", Password: "…"}) // argon2id

	err = store.ImportClient(ctx, imported)       // bring clients with bcrypt/argon2id secret hashes
	n, err := store.PurgeExpired(ctx, time.Now()) // delete what expired; run daily
	// README:end
	_, _, _, _, _ = srv, client, secret, user, n
	return err
}

// mount is README.md's "Mounting the endpoints" block.
func mount(srv *runtime.Server, yourSession func(*http.Request) (string, bool), renderLogin func(http.ResponseWriter, url.Values)) http.Handler {
	// README:begin
	mux := http.NewServeMux()
	mux.Handle("POST /token", srv.TokenHandler())
	mux.Handle("POST /revoke", srv.RevocationHandler())
	mux.Handle("POST /introspect", srv.IntrospectionHandler())
	mux.Handle("POST /device_authorization", srv.DeviceAuthorizationHandler())
	mux.Handle("GET /.well-known/oauth-authorization-server", srv.MetadataHandler())
	// or all of those at once, at Config.Endpoints paths: mux.Handle("/", srv.Handler())

	// The authorization endpoint: you own login and consent.
	mux.HandleFunc("/authorize", func(w http.ResponseWriter, r *http.Request) {
		req, err := srv.ValidateAuthorizationRequest(r) // errors before the redirect URI is trusted are not redirected
		if err != nil {
			srv.WriteAuthorizationError(w, r, err)
			return
		}
		userID, ok := yourSession(r) // log in, show req.Client.Name and req.Scopes
		if !ok {
			renderLogin(w, req.Params()) // carry req.Params() as hidden fields
			return
		}
		// Or srv.DenyAuthorization(w, r, req). Either writes the response,
		// a redirect with the error included, so an error is only to log.
		if err := srv.CompleteAuthorization(w, r, req, userID, req.Scopes); err != nil {
			slog.WarnContext(r.Context(), "authorization failed", "err", err)
		}
	})

	// Protected resources (RFC 6750).
	mux.Handle("GET /api/me", srv.RequireToken("read")(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok, _ := runtime.TokenFromContext(r.Context()) // tok.ClientID, tok.UserID, tok.Scopes, tok.ExpiresAt
		fmt.Fprintln(w, tok.UserID)
	})))
	// README:end
	return mux
}
