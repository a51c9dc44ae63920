// Package serverkit is what the harness's servers (servers/…) share: the
// flags naming the one client, and serving until SIGTERM.
package serverkit

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"
)

// Flags every server takes.
var (
	Addr     = flag.String("addr", "127.0.0.1:8080", "listen `ADDRESS`")
	ClientID = flag.String("client-id", "bench", "the one client's `ID`")
	Secret   = flag.String("secret", "", "the one client's `SECRET` (client_secret_basic)")
)

// Me is the protected resource the peers guard: the floors' /me answers
// the same JSON, without the token's details the peers do not expose alike.
var Me = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	json.NewEncoder(w).Encode(map[string]string{"scope": "read"})
})

// Routes puts token at POST /token and protected at GET /me.
func Routes(token, protected http.Handler) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("POST /token", token)
	mux.Handle("GET /me", protected)
	return mux
}

// Serve serves h on *Addr until SIGTERM or SIGINT; it exits the process
// on failure.
func Serve(name string, h http.Handler) {
	if *Secret == "" {
		fail(name, fmt.Errorf("-secret is required"))
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	srv := &http.Server{Addr: *Addr, Handler: h, ReadHeaderTimeout: 5 * time.Second, IdleTimeout: 2 * time.Minute}
	errc := make(chan error, 1)
	go func() { errc <- srv.ListenAndServe() }()
	select {
	case err := <-errc:
		fail(name, err)
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	srv.Shutdown(shutdown)
}

func fail(name string, err error) {
	fmt.Fprintf(os.Stderr, "%s: %v\n", name, err)
	os.Exit(1)
}

// Check exits the process when err is not nil.
func Check(name string, err error) {
	if err != nil {
		fail(name, err)
	}
}
