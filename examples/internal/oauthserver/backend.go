// Package oauthserver is the authorization server both examples run: the
// HTTP endpoints, the login, consent and device pages, and the CLI. Each
// example supplies a Backend over its generated Store; nothing here knows
// which database is underneath.
package oauthserver

import (
	"context"
	"time"

	"github.com/oauthgen/oauthgen/runtime"
)

// Backend is what the server needs of a generated Store. The generated
// packages differ in types (one per declaration), so each example adapts
// its Store in a few lines; most methods are the Store's own.
type Backend interface {
	// Migrate applies the Store's migrations.
	Migrate(ctx context.Context) error
	// Config is the runtime configuration the declaration describes.
	Config() runtime.Config
	// NewServer builds the runtime server configured as declared, adjusted
	// by configure.
	NewServer(configure func(*runtime.Config)) (*runtime.Server, error)
	// CreateClient registers a client and returns the secret to show once:
	// "" for a public client or when c.SecretHash was given.
	CreateClient(ctx context.Context, c NewClient) (secret string, err error)
	// CreateUser creates a user and returns its id.
	CreateUser(ctx context.Context, username, password string) (id string, err error)
	// CountClients says how many clients exist (zero: a new database).
	CountClients(ctx context.Context) (int, error)
	// PurgeExpired deletes the records that expired before `before`.
	PurgeExpired(ctx context.Context, before time.Time) (int64, error)
	// Close releases the database.
	Close() error
}

// NewClient describes a client to register.
type NewClient struct {
	ID   string
	Name string
	// SecretHash is runtime.HashToken of a secret the operator chose; empty
	// lets the Store generate one (or none, for a public client).
	SecretHash   string
	Public       bool
	GrantTypes   []string
	Scopes       []string
	RedirectURIs []string
}
