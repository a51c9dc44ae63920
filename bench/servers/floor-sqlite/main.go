// Command floor-sqlite is the harness's SQLite floor: bare net/http, one
// INSERT per token and one SELECT per bearer check on a SQLite file opened
// as the generated store opens it (see internal/floor).
package main

import (
	"flag"

	"github.com/oauthgen/oauthgen/bench/internal/floor"
	"github.com/oauthgen/oauthgen/bench/internal/serverkit"
)

func main() {
	db := flag.String("db", "floor.db", "the SQLite database `FILE`")
	flag.Parse()
	s, err := floor.OpenSQLite(*db)
	serverkit.Check("floor-sqlite", err)
	defer s.Close()
	serverkit.Serve("floor-sqlite", floor.Handler(*serverkit.ClientID, *serverkit.Secret, s))
}
