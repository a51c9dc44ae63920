// Command go-oauth2 serves go-oauth2/oauth2 v4 with its in-memory stores,
// set up as the benchmarks set it up (internal/peers).
package main

import (
	"flag"

	"github.com/oauthgen/oauthgen/bench/internal/peers"
	"github.com/oauthgen/oauthgen/bench/internal/serverkit"
)

func main() {
	flag.Parse()
	h, err := peers.GoOAuth2(*serverkit.ClientID, *serverkit.Secret, serverkit.Me)
	serverkit.Check("go-oauth2", err)
	serverkit.Serve("go-oauth2", serverkit.Routes(h.Token, h.Protected))
}
