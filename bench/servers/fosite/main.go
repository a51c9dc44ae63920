// Command fosite serves ory/fosite v0.49.0 with its in-memory store, set up
// as the benchmarks set it up (internal/peers), client secrets checked with
// fosite's own bcrypt hasher at the cost given.
package main

import (
	"flag"

	"github.com/oauthgen/oauthgen/bench/internal/peers"
	"github.com/oauthgen/oauthgen/bench/internal/serverkit"
)

func main() {
	cost := flag.Int("bcrypt-cost", 0, "bcrypt `COST` of the client secret; 0 is fosite's default (12)")
	flag.Parse()
	h, err := peers.Fosite(*serverkit.ClientID, *serverkit.Secret, peers.FositeHasher{BCryptCost: *cost}, serverkit.Me)
	serverkit.Check("fosite", err)
	serverkit.Serve("fosite", serverkit.Routes(h.Token, h.Protected))
}
