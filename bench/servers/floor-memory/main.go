// Command floor-memory is the harness's floor without a database: bare
// net/http, tokens in a map (see internal/floor).
package main

import (
	"flag"

	"github.com/oauthgen/oauthgen/bench/internal/floor"
	"github.com/oauthgen/oauthgen/bench/internal/serverkit"
)

func main() {
	flag.Parse()
	serverkit.Serve("floor-memory", floor.Handler(*serverkit.ClientID, *serverkit.Secret, floor.NewMemory()))
}
