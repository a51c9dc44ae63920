// Command quickstart is a complete OAuth 2.0 authorization server on a
// SQLite file, built on the Store oauthgen generates from oauthgen.yaml.
// Run from the repository's root:
//
//	go generate ./examples/quickstart && go run ./examples/quickstart serve
//
// The server itself (endpoints, pages, CLI) is shared with the PostgreSQL
// example in ../internal/oauthserver; this file only opens the Store.
package main

//go:generate go run github.com/oauthgen/oauthgen/cmd/oauthgen generate

import (
	"context"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/oauthgen/oauthgen/examples/internal/oauthserver"
	"github.com/oauthgen/oauthgen/examples/quickstart/oauthstore"
	"github.com/oauthgen/oauthgen/runtime"
)

func main() {
	oauthserver.Main(oauthserver.App("quickstart", "an OAuth 2.0 authorization server on SQLite",
		[]cli.Flag{&cli.StringFlag{Name: "db", Value: "./quickstart.db", Usage: "the SQLite database `FILE`"}},
		func(c *cli.Context) (oauthserver.Backend, error) {
			s, err := oauthstore.Open(c.String("db"))
			if err != nil {
				return nil, err
			}
			return backend{s}, nil
		}))
}

// backend adapts the generated Store to the example server.
type backend struct{ *oauthstore.Store }

func (backend) Config() runtime.Config { return oauthstore.Config() }

func (b backend) NewServer(configure func(*runtime.Config)) (*runtime.Server, error) {
	return oauthstore.NewServer(b.Store, configure)
}

func (b backend) CreateClient(ctx context.Context, c oauthserver.NewClient) (string, error) {
	// display_name is the extra column oauthgen.yaml declares: a typed
	// field of the generated Client, NULL when not given.
	var extra oauthstore.ClientExtra
	if c.Name != "" {
		extra.DisplayName = &c.Name
	}
	if c.SecretHash != "" { // a secret the operator chose: store its hash as given
		return "", b.Store.ImportClient(ctx, &oauthstore.Client{Client: runtime.Client{
			ID: c.ID, SecretHash: c.SecretHash, Name: c.Name, GrantTypes: c.GrantTypes, Scopes: c.Scopes,
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
