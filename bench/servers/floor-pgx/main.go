// Command floor-pgx is the harness's PostgreSQL floor: bare net/http, one
// INSERT per token and one SELECT per bearer check through a pgx pool (see
// internal/floor).
package main

import (
	"context"
	"flag"

	"github.com/oauthgen/oauthgen/bench/internal/floor"
	"github.com/oauthgen/oauthgen/bench/internal/serverkit"
)

func main() {
	dsn := flag.String("dsn", "", "PostgreSQL `DSN`; its search_path should name a schema of its own")
	flag.Parse()
	s, err := floor.OpenPostgres(context.Background(), *dsn)
	serverkit.Check("floor-pgx", err)
	defer s.Close()
	serverkit.Serve("floor-pgx", floor.Handler(*serverkit.ClientID, *serverkit.Secret, s))
}
