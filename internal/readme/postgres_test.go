package readme_test

import (
	"context"

	"github.com/jackc/pgx/v5/pgxpool"

	oauthstore "github.com/oauthgen/oauthgen/golden/every_grant_postgres"
)

// postgresOpen is README.md's PostgreSQL block.
func postgresOpen(ctx context.Context, pool *pgxpool.Pool) (*oauthstore.Store, error) {
	// README:begin
	store, err := oauthstore.Open(ctx, "postgres://auth@db.internal:5432/auth")
	// or, sharing the pool your application has:
	store = oauthstore.New(pool)
	// README:end
	return store, err
}
