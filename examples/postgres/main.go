// Command postgres is an OAuth 2.0 authorization server on PostgreSQL, built on
// the Store oauthgen generates from oauthgen.yaml. It was scaffolded by
// `oauthgen init --server --dialect postgres --access-tokens jwt --signing-algorithm ES256`: it is yours to edit.
//
//	go generate ./... && go run . serve
//
// After editing oauthgen.yaml, run go generate again.
package main

//go:generate go tool oauthgen generate

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/oauthgen/oauthgen/examples/postgres/oauthstore"
	"github.com/oauthgen/oauthgen/runtime"
)

func main() {
	app := newApp()
	if err := app.RunContext(context.Background(), os.Args); err != nil {
		var exit cli.ExitCoder
		if errors.As(err, &exit) {
			fmt.Fprintln(os.Stderr, exit.Error())
			os.Exit(exit.ExitCode())
		}
		fmt.Fprintln(os.Stderr, app.Name+":", err)
		os.Exit(1)
	}
}

// name is the command's name in usage and messages.
const name = "postgres"

// dbFlag is --db. The application and each command that opens the
// database have it, so it may come before the command or after it.
func dbFlag() *cli.StringFlag {
	return &cli.StringFlag{Name: "db", Usage: "PostgreSQL `DSN`, a URL or key=value pairs (default: $DATABASE_URL)"}
}

// newApp returns the command line: serve, client create, user create.
func newApp() *cli.App {
	return &cli.App{
		Name:  name,
		Usage: "an OAuth 2.0 authorization server on PostgreSQL",
		// The DSN from the environment keeps its password out of ps.
		Flags:           []cli.Flag{&cli.StringFlag{Name: "db", EnvVars: []string{"DATABASE_URL"}, Usage: dbFlag().Usage}},
		HideHelpCommand: true,
		// Repeated flags, each value whole: a redirect URI may hold commas
		// (https://a.example/cb?a=1,2), and splitting it would register two.
		DisableSliceFlagSeparator: true,
		Commands: []*cli.Command{
			{
				Name:  "serve",
				Usage: "migrate the database and serve the authorization server",
				UsageText: name + " serve [--addr 127.0.0.1:8080] [--issuer URL] [--db DSN]\n\n" +
					"On a database without clients it creates a demo client and user and prints curl lines to try.",
				Flags: []cli.Flag{
					&cli.StringFlag{Name: "addr", Value: "127.0.0.1:8080", Usage: "listen `ADDRESS` (port 0 picks a free one)"},
					&cli.StringFlag{Name: "issuer", Usage: "public `URL` of the server, as clients reach it (default: http://ADDRESS)"},
					dbFlag(),
					// From the environment, it stays out of ps.
					&cli.StringFlag{Name: "page-secret", EnvVars: []string{pageSecretEnv}, Usage: "`SECRET` (at least 32 bytes) signing the device page's tickets; the same on every instance behind a load balancer (default: a random one per process)"},
					&cli.StringFlag{Name: "key-encryption-key-file", Usage: "`FILE` holding the base64 of the 32-byte key that seals the signing keys of ID tokens and JWT access tokens; the same on every instance (default: $" + runtime.KeyEncryptionKeyEnv + ")"},
				},
				Action: func(c *cli.Context) error {
					return withStore(c, func(store *oauthstore.Store) error {
						return serve(c.Context, store, serveOptions{Addr: c.String("addr"), Issuer: c.String("issuer"), Out: c.App.Writer, PageSecret: c.String("page-secret"),
							KeyEncryptionKeyFile: c.String("key-encryption-key-file")})
					})
				},
			},
			{
				Name:  "client",
				Usage: "manage clients",
				Subcommands: []*cli.Command{{
					Name:  "create",
					Usage: "register a client",
					UsageText: name + " client create --id ID [--secret S] [--public] --grant G... --scope S... [--redirect-uri U...] [--name N] [--resource-server]\n\n" +
						"Examples:\n" +
						"   " + name + " client create --id billing --grant client_credentials --scope read\n" +
						"   " + name + " client create --id spa --public --grant authorization_code --grant refresh_token \\\n" +
						"       --scope read --redirect-uri https://spa.example/callback --name 'My SPA'",
					Flags: []cli.Flag{
						&cli.StringFlag{Name: "id", Required: true, Usage: "client identifier"},
						&cli.StringFlag{Name: "secret", Usage: "secret to use (default: a generated one, printed once)"},
						&cli.BoolFlag{Name: "public", Usage: "a public client: no secret, PKCE required"},
						&cli.StringSliceFlag{KeepSpace: true, Name: "grant", Required: true, Usage: "grant type the client may use (repeat); device_code is short for its URN"},
						&cli.StringSliceFlag{KeepSpace: true, Name: "scope", Usage: "scope the client may be granted (repeat; none: any the server knows)"},
						&cli.StringSliceFlag{KeepSpace: true, Name: "redirect-uri", Usage: "registered redirect URI (repeat)"},
						&cli.StringFlag{Name: "name", Usage: "name shown on the consent page"},
						&cli.BoolFlag{Name: "resource-server", Usage: "may introspect every client's tokens, not only its own"},
						dbFlag(),
					},
					Action: createClient,
				}},
			},
			{
				Name:  "user",
				Usage: "manage users",
				Subcommands: []*cli.Command{{
					Name:      "create",
					Usage:     "create a user",
					UsageText: name + " user create --username U --password P",
					Flags: []cli.Flag{
						&cli.StringFlag{Name: "username", Required: true},
						&cli.StringFlag{Name: "password", Required: true, Usage: "stored as an argon2id hash"},
						dbFlag(),
					},
					Action: createUser,
				}},
			},
		},
	}
}

// createClient is `client create`: it checks the client against the
// declared configuration, then registers it.
func createClient(c *cli.Context) error {
	client := runtime.Client{
		ID: c.String("id"), Name: c.String("name"), ResourceServer: c.Bool("resource-server"),
		GrantTypes: expandGrants(c.StringSlice("grant")), Scopes: c.StringSlice("scope"), RedirectURIs: c.StringSlice("redirect-uri"),
	}
	public := c.Bool("public")
	if s := c.String("secret"); s != "" {
		if public {
			return cli.Exit(name+": a public client has no secret: drop --secret or --public", 2)
		}
		client.SecretHash = runtime.HashToken(s) // SHA-256, as for generated secrets
	}
	if err := checkClient(client, public); err != nil {
		return cli.Exit(name+": "+err.Error(), 2)
	}
	return withStore(c, func(store *oauthstore.Store) error {
		secret, err := registerClient(c.Context, store, client, public)
		if errors.Is(err, runtime.ErrDuplicate) {
			return cli.Exit(fmt.Sprintf("%s: client %q exists", name, client.ID), 1)
		}
		if err != nil {
			return err
		}
		fmt.Fprintf(c.App.Writer, "client %s created\n", client.ID)
		if secret != "" {
			fmt.Fprintf(c.App.Writer, "secret: %s\n(shown once: only its SHA-256 is stored)\n", secret)
		}
		return nil
	})
}

// registerClient stores a client and returns the secret to show once: ""
// for a public client, or when client.SecretHash holds the hash of a
// secret the operator chose.
func registerClient(ctx context.Context, store *oauthstore.Store, client runtime.Client, public bool) (string, error) {
	if client.SecretHash != "" {
		client.CreatedAt = time.Now().UTC()
		return "", store.ImportClient(ctx, &oauthstore.Client{Client: client})
	}
	_, secret, err := store.CreateClient(ctx, oauthstore.NewClient{
		ID: client.ID, Public: public, Name: client.Name, GrantTypes: client.GrantTypes,
		Scopes: client.Scopes, RedirectURIs: client.RedirectURIs, ResourceServer: client.ResourceServer,
	})
	return secret, err
}

// grantAliases are short names accepted by --grant.
var grantAliases = map[string]string{"device_code": runtime.GrantDeviceCode}

// expandGrants replaces the short names of grants by their full ones.
func expandGrants(grants []string) []string {
	for i, g := range grants {
		if full, ok := grantAliases[g]; ok {
			grants[i] = full
		}
	}
	return grants
}

// checkClient refuses a client the server could never serve or should
// never store, with a message that says what to change, rather than
// registering it for a confusing failure at its first request. The rules
// are runtime.ValidateClient's, against the declared configuration.
func checkClient(client runtime.Client, public bool) error {
	if !public && client.SecretHash == "" {
		client.SecretHash = "generated" // the Store draws the secret; only "confidential" matters here
	}
	cfg := oauthstore.Config()
	if err := runtime.ValidateClient(&client, &cfg); err != nil {
		return fmt.Errorf("invalid client (grants and scopes are declared in oauthgen.yaml):\n  %s",
			strings.ReplaceAll(err.Error(), "\n", "\n  "))
	}
	return nil
}

// createUser is `user create`.
func createUser(c *cli.Context) error {
	username := c.String("username")
	return withStore(c, func(store *oauthstore.Store) error {
		nu := oauthstore.NewUser{Username: username, Password: c.String("password")}
		u, err := store.CreateUser(c.Context, nu)
		if errors.Is(err, runtime.ErrDuplicate) {
			return cli.Exit(fmt.Sprintf("%s: user %q exists", name, username), 1)
		}
		if err != nil {
			return err
		}
		fmt.Fprintf(c.App.Writer, "user %s created (id %s)\n", username, u.ID)
		return nil
	})
}

// withStore opens and migrates the database, runs fn, and closes it.
func withStore(c *cli.Context, fn func(*oauthstore.Store) error) error {
	store, err := openStore(c)
	if err != nil {
		return err
	}
	defer store.Close()
	if err := store.Migrate(c.Context); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	return fn(store)
}

// openStore opens the database --db names, given after the command or
// before it, or $DATABASE_URL.
func openStore(c *cli.Context) (*oauthstore.Store, error) {
	db := dbArg(c)
	if db == "" {
		return nil, cli.Exit(name+": no database: set --db or DATABASE_URL", 2)
	}
	return oauthstore.Open(c.Context, db)
}

// dbArg is --db, given after the command or before it.
func dbArg(c *cli.Context) string {
	for _, ctx := range c.Lineage() {
		if ctx.IsSet("db") {
			return ctx.String("db")
		}
	}
	return c.String("db")
}
