package oauthserver

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/oauthgen/oauthgen/runtime"
)

// Open opens an example's Backend from its parsed flags (--db, --dsn).
type Open func(c *cli.Context) (Backend, error)

// App returns an example's command line: serve, client create, user create.
// dbFlags are the global flags open reads.
func App(name, usage string, dbFlags []cli.Flag, open Open) *cli.App {
	return &cli.App{
		Name:            name,
		Usage:           usage,
		Flags:           dbFlags,
		HideHelpCommand: true,
		// Repeated flags, each value whole: a redirect URI may hold commas
		// (https://a.example/cb?a=1,2), and splitting it would register two.
		DisableSliceFlagSeparator: true,
		Commands: []*cli.Command{
			{
				Name:  "serve",
				Usage: "migrate the database and serve the authorization server",
				UsageText: name + " serve [--addr 127.0.0.1:8080] [--issuer URL]\n\n" +
					"On a database without clients it creates a demo client and user and prints curl lines to try.",
				Flags: []cli.Flag{
					&cli.StringFlag{Name: "addr", Value: "127.0.0.1:8080", Usage: "listen `ADDRESS` (port 0 picks a free one)"},
					&cli.StringFlag{Name: "issuer", Usage: "public `URL` of the server, as clients reach it (default: http://ADDRESS)"},
				},
				Action: func(c *cli.Context) error {
					return withBackend(c, open, func(b Backend) error {
						return Serve(c.Context, b, ServeOptions{Addr: c.String("addr"), Issuer: c.String("issuer"), Out: c.App.Writer})
					})
				},
			},
			{
				Name:  "client",
				Usage: "manage clients",
				Subcommands: []*cli.Command{{
					Name:  "create",
					Usage: "register a client",
					UsageText: name + " client create --id ID [--secret S] [--public] --grant G... --scope S... [--redirect-uri U...] [--name N]\n\n" +
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
					},
					Action: func(c *cli.Context) error {
						nc := NewClient{
							ID: c.String("id"), Name: c.String("name"), Public: c.Bool("public"),
							GrantTypes: c.StringSlice("grant"), Scopes: c.StringSlice("scope"), RedirectURIs: c.StringSlice("redirect-uri"),
						}
						if s := c.String("secret"); s != "" {
							nc.SecretHash = runtime.HashToken(s) // SHA-256, as for generated secrets
						}
						return withBackend(c, open, func(b Backend) error {
							if err := checkClient(&nc, b.Config()); err != nil {
								return cli.Exit(name+": "+err.Error(), 2)
							}
							secret, err := b.CreateClient(c.Context, nc)
							if errors.Is(err, runtime.ErrDuplicate) {
								return cli.Exit(fmt.Sprintf("%s: client %q exists", name, nc.ID), 1)
							}
							if err != nil {
								return err
							}
							fmt.Fprintf(c.App.Writer, "client %s created\n", nc.ID)
							if secret != "" {
								fmt.Fprintf(c.App.Writer, "secret: %s\n(shown once: only its SHA-256 is stored)\n", secret)
							}
							return nil
						})
					},
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
					},
					Action: func(c *cli.Context) error {
						return withBackend(c, open, func(b Backend) error {
							id, err := b.CreateUser(c.Context, c.String("username"), c.String("password"))
							if errors.Is(err, runtime.ErrDuplicate) {
								return cli.Exit(fmt.Sprintf("%s: user %q exists", name, c.String("username")), 1)
							}
							if err != nil {
								return err
							}
							fmt.Fprintf(c.App.Writer, "user %s created (id %s)\n", c.String("username"), id)
							return nil
						})
					},
				}},
			},
		},
	}
}

// grantAliases are short names accepted by --grant.
var grantAliases = map[string]string{"device_code": runtime.GrantDeviceCode}

// checkClient refuses a client the server could never serve or should
// never store, with a message that says what to change, rather than
// registering it for a confusing failure at its first request. The rules
// are runtime.ValidateClient's, against the declared configuration; it
// expands grant aliases first.
func checkClient(nc *NewClient, cfg runtime.Config) error {
	if nc.Public && nc.SecretHash != "" {
		return errors.New("a public client has no secret: drop --secret or --public")
	}
	for i, g := range nc.GrantTypes {
		if full, ok := grantAliases[g]; ok {
			nc.GrantTypes[i] = full
		}
	}
	c := runtime.Client{ID: nc.ID, Name: nc.Name, SecretHash: nc.SecretHash,
		GrantTypes: nc.GrantTypes, Scopes: nc.Scopes, RedirectURIs: nc.RedirectURIs}
	if !nc.Public && c.SecretHash == "" {
		c.SecretHash = "generated" // the Store draws the secret; only "confidential" matters here
	}
	if err := runtime.ValidateClient(&c, &cfg); err != nil {
		return fmt.Errorf("invalid client (grants and scopes are declared in oauthgen.yaml):\n  %s",
			strings.ReplaceAll(err.Error(), "\n", "\n  "))
	}
	return nil
}

// withBackend opens and migrates the database, runs fn, and closes it.
func withBackend(c *cli.Context, open Open, fn func(Backend) error) error {
	b, err := open(c)
	if err != nil {
		return err
	}
	defer b.Close()
	if err := b.Migrate(c.Context); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	return fn(b)
}

// Main runs app and exits with its status: 0, 1 on failure, 2 on misuse.
func Main(app *cli.App) {
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
