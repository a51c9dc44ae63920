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

// Backend is what the server needs of a generated Store.
type Backend interface {
	// Migrate applies the Store's migrations.
	Migrate(ctx context.Context) error
	// NewServer builds the runtime server configured as declared, adjusted
	// by configure.
	NewServer(configure func(*runtime.Config)) (*runtime.Server, error)
	// CreateClient registers a client; secretHash, when not empty, is the
	// SHA-256 of a secret the operator chose. It returns the secret to show
	// once ("" for a public client or a chosen secret).
	CreateClient(ctx context.Context, c NewClient, secretHash string) (secret string, err error)
	// CreateUser creates a user and returns its id.
	CreateUser(ctx context.Context, username, password string) (id string, err error)
	// CountClients says how many clients exist (zero: a new database).
	CountClients(ctx context.Context) (int, error)
	// Close releases the database.
	Close() error
}

// NewClient describes a client to register.
type NewClient struct {
	ID           string
	Name         string
	Public       bool
	GrantTypes   []string
	Scopes       []string
	RedirectURIs []string
}

// Timeouts of the HTTP server: enough for slow clients, not for slowloris.
const (
	readHeaderTimeout = 5 * time.Second
	readTimeout       = 15 * time.Second
	writeTimeout      = 30 * time.Second
	idleTimeout       = 2 * time.Minute
	shutdownTimeout   = 10 * time.Second
)
