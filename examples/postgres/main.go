// Command postgres is the quickstart's authorization server on PostgreSQL:
// any number of instances may serve one database behind a load balancer.
//
//	DATABASE_URL=postgres://… go run ./examples/postgres serve
package main

//go:generate go run github.com/oauthgen/oauthgen/cmd/oauthgen generate

import (
	"context"
	"errors"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/oauthgen/oauthgen/examples/internal/oauthserver"
	"github.com/oauthgen/oauthgen/examples/postgres/oauthstore"
	"github.com/oauthgen/oauthgen/runtime"
)

func main() {
	oauthserver.Main(oauthserver.App("postgres", "an OAuth 2.0 authorization server on PostgreSQL",
		[]cli.Flag{&cli.StringFlag{Name: "dsn", EnvVars: []string{"DATABASE_URL"}, Usage: "PostgreSQL `DSN` (URL or key=value)"}},
		func(c *cli.Context) (oauthserver.Backend, error) {
			if c.String("dsn") == "" {
				return nil, errors.New("no database: set --dsn or DATABASE_URL")
			}
			s, err := oauthstore.Open(c.Context, c.String("dsn"))
			if err != nil {
				return nil, err
			}
			return backend{s}, nil
		}))
}

// backend adapts the generated Store to the example server.
type backend struct{ *oauthstore.Store }

func (b backend) NewServer(configure func(*runtime.Config)) (*runtime.Server, error) {
	return oauthstore.NewServer(b.Store, configure)
}

func (b backend) CreateClient(ctx context.Context, c oauthserver.NewClient, secretHash string) (string, error) {
	extra := oauthstore.ClientExtra{DisplayName: &c.Name}
	if secretHash != "" { // a secret the operator chose: store its hash as given
		return "", b.Store.ImportClient(ctx, &oauthstore.Client{Client: runtime.Client{
			ID: c.ID, SecretHash: secretHash, Name: c.Name, GrantTypes: c.GrantTypes, Scopes: c.Scopes,
			RedirectURIs: c.RedirectURIs, CreatedAt: time.Now().UTC(),
		}, ClientExtra: extra})
	}
	_, secret, err := b.Store.CreateClient(ctx, oauthstore.NewClient{
		ID: c.ID, Public: c.Public, Name: c.Name, GrantTypes: c.GrantTypes, Scopes: c.Scopes,
		RedirectURIs: c.RedirectURIs, ClientExtra: extra,
	})
	return secret, err
}

func (b backend) CreateUser(ctx context.Context, username, password string) (string, error) {
	u, err := b.Store.CreateUser(ctx, oauthstore.NewUser{Username: username, Password: password})
	if err != nil {
		return "", err
	}
	return u.ID, nil
}

func (b backend) CountClients(ctx context.Context) (int, error) {
	clients, err := b.Store.ListClients(ctx)
	return len(clients), err
}
