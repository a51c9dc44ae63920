package oauthserver

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/oauthgen/oauthgen/runtime"
)

// Timeouts of the HTTP server: enough for slow clients, not for slowloris.
const (
	readHeaderTimeout = 5 * time.Second
	readTimeout       = 15 * time.Second
	writeTimeout      = 30 * time.Second
	idleTimeout       = 2 * time.Minute
	shutdownTimeout   = 10 * time.Second
)

// purgeEvery is how often serve deletes expired tokens, codes and device
// authorizations. Expired rows are never used; this only keeps the tables
// small. With several instances each purges: the deletes are idempotent.
const purgeEvery = time.Hour

// ServeOptions configure Serve.
type ServeOptions struct {
	// Addr to listen on; port 0 picks a free one.
	Addr string
	// Issuer is the server's public URL; empty means http://Addr.
	Issuer string
	// Out receives the demo, on a new database, then the line
	// "listening on http://HOST:PORT (issuer URL)".
	Out io.Writer
}

// Serve serves the authorization server until SIGINT or SIGTERM, then
// shuts down gracefully: it stops accepting, lets requests in flight
// finish (up to shutdownTimeout) and returns nil.
func Serve(ctx context.Context, b Backend, opts ServeOptions) error {
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))

	ln, err := net.Listen("tcp", opts.Addr)
	if err != nil {
		return err
	}
	defer ln.Close() // after Serve returns it is closed already; this covers early returns
	issuer := strings.TrimSuffix(opts.Issuer, "/")
	if issuer == "" {
		if issuer, err = defaultIssuer(ln.Addr()); err != nil {
			return err
		}
	}
	srv, err := b.NewServer(func(c *runtime.Config) {
		c.Issuer = issuer
		c.Logger = logger
		// Routes serves the login and consent page and the device page
		// with their grants; metadata advertises only what is served.
		c.AppPages = runtime.AppPages{Authorization: c.AuthorizationCode != nil, Verification: c.DeviceCode != nil}
	})
	if err != nil {
		return err
	}
	handler, err := Routes(srv)
	if err != nil {
		return err
	}
	n, err := b.CountClients(ctx)
	if err != nil {
		return err
	}
	if n == 0 {
		if err := seedDemo(ctx, b, issuer, opts.Out, logger); err != nil {
			return err
		}
	}
	fmt.Fprintf(opts.Out, "listening on http://%s (issuer %s)\n", ln.Addr(), issuer)

	server := &http.Server{
		Handler:           logRequests(logger, handler),
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		WriteTimeout:      writeTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	errc := make(chan error, 1)
	go func() { errc <- server.Serve(ln) }()
	purgeCtx, stopPurging := context.WithCancel(ctx)
	purged := make(chan struct{})
	go func() {
		defer close(purged)
		purgeExpired(purgeCtx, b, logger)
	}()
	defer func() { stopPurging(); <-purged }() // the caller closes the database next
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	stop() // a second signal ends the process at once
	logger.Info("shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	if err := server.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// defaultIssuer is http://ADDR for a listener on a specific address. On
// every interface (":8080", "0.0.0.0:8080") there is no address clients
// are known to use, so the issuer must be given.
func defaultIssuer(addr net.Addr) (string, error) {
	if tcp, ok := addr.(*net.TCPAddr); ok && tcp.IP.IsUnspecified() {
		return "", errors.New("listening on every interface: set --issuer to the URL clients reach this server at (https, or http on a loopback address)")
	}
	return "http://" + addr.String(), nil
}

// purgeExpired deletes expired records now and every purgeEvery until ctx
// ends.
func purgeExpired(ctx context.Context, b Backend, logger *slog.Logger) {
	t := time.NewTicker(purgeEvery)
	defer t.Stop()
	for {
		n, err := b.PurgeExpired(ctx, time.Now())
		switch {
		case ctx.Err() != nil:
			return
		case err != nil:
			logger.Warn("purge expired records", "err", err)
		case n > 0:
			logger.Info("purged expired records", "rows", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
