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

	"github.com/oauthgen/oauthgen/runtime"
)

// ServeOptions configure Serve.
type ServeOptions struct {
	// Addr to listen on; port 0 picks a free one.
	Addr string
	// Issuer is the server's public URL; empty means http://Addr.
	Issuer string
	// Out receives the address line and, on a new database, the demo.
	Out io.Writer
}

// Serve serves the authorization server until SIGINT or SIGTERM, then
// shuts down gracefully.
func Serve(ctx context.Context, b Backend, opts ServeOptions) error {
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))

	ln, err := net.Listen("tcp", opts.Addr)
	if err != nil {
		return err
	}
	base := "http://" + ln.Addr().String()
	issuer := strings.TrimSuffix(opts.Issuer, "/")
	if issuer == "" {
		issuer = base
	}
	srv, err := b.NewServer(func(c *runtime.Config) {
		c.Issuer = issuer
		c.Logger = logger
	})
	if err != nil {
		ln.Close()
		return err
	}
	n, err := b.CountClients(ctx)
	if err != nil {
		ln.Close()
		return err
	}
	if n == 0 {
		if err := seedDemo(ctx, b, issuer, opts.Out); err != nil {
			ln.Close()
			return err
		}
	}
	fmt.Fprintf(opts.Out, "listening on %s (issuer %s)\n", base, issuer)

	server := &http.Server{
		Handler:           logRequests(logger, Routes(srv)),
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		WriteTimeout:      writeTimeout,
		IdleTimeout:       idleTimeout,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	errc := make(chan error, 1)
	go func() { errc <- server.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	logger.Info("shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	if err := server.Shutdown(shutdownCtx); err != nil {
		return err
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// Demo client identifiers.
const (
	demoClient       = "demo"
	demoPublicClient = "demo-public"
	demoUser         = "alice"
)

// seedDemo creates a demo client, a public client and a user on a new
// database, and prints how to try every grant with them.
func seedDemo(ctx context.Context, b Backend, issuer string, out io.Writer) error {
	callback := issuer + "/callback"
	secret, err := b.CreateClient(ctx, NewClient{
		ID: demoClient, Name: "Demo confidential client",
		GrantTypes:   []string{runtime.GrantClientCredentials, runtime.GrantPassword, runtime.GrantAuthorizationCode, runtime.GrantRefreshToken},
		Scopes:       []string{"read", "write"},
		RedirectURIs: []string{callback},
	}, "")
	if err != nil {
		return err
	}
	if _, err := b.CreateClient(ctx, NewClient{
		ID: demoPublicClient, Name: "Demo app", Public: true,
		GrantTypes:   []string{runtime.GrantAuthorizationCode, runtime.GrantRefreshToken, runtime.GrantDeviceCode},
		Scopes:       []string{"read", "write"},
		RedirectURIs: []string{callback},
	}, ""); err != nil {
		return err
	}
	password := runtime.NewToken()[:16]
	if _, err := b.CreateUser(ctx, demoUser, password); err != nil {
		return err
	}
	verifier := runtime.NewToken() + runtime.NewToken()[:10] // 53 characters, within RFC 7636's 43–128
	tokenFrom := func(args string) string {
		return fmt.Sprintf("curl -s %s %s/token | sed -E 's/.*\"access_token\":\"([^\"]*)\".*/\\1/'", args, issuer)
	}
	basic := fmt.Sprintf("-u '%s:%s'", demoClient, secret)
	authorize := fmt.Sprintf("%s/authorize?response_type=code&client_id=%s&redirect_uri=%s&scope=read&state=xyz&code_challenge=%s&code_challenge_method=S256",
		issuer, demoPublicClient, callback, runtime.S256Challenge(verifier))
	fmt.Fprintf(out, `A new database: created a demo client and a demo user (shown once).

  client  %s         secret %s
  client  %s  (public: authorization code with PKCE, device flow)
  user    %s        password %s

Try it:

  # client_credentials: a token for the client itself
  curl -s %s -d grant_type=client_credentials -d scope=read %s/token

  # call the protected /me with a token
  TOKEN=$(%s); curl -s -H "Authorization: Bearer $TOKEN" %s/me

  # password grant, with a refresh token
  curl -s %s -d grant_type=password -d username=%s -d password=%s -d 'scope=read write' %s/token

  # device flow: start it, then open %s/device and enter the user code
  curl -s -d client_id=%s -d scope=read %s/device_authorization

  # authorization code with PKCE: open this in a browser and sign in as %s,
  %s
  # then exchange the code the callback page shows (code_verifier=%s)

`,
		demoClient, secret, demoPublicClient, demoUser, password,
		basic, issuer,
		tokenFrom(basic+" -d grant_type=client_credentials -d scope=read"), issuer,
		basic, demoUser, password, issuer,
		issuer, demoPublicClient, issuer,
		demoUser, authorize, verifier)
	return nil
}
