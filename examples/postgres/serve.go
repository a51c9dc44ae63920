package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/oauthgen/oauthgen/examples/postgres/oauthstore"
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

// logFlushEvery is the longest a log line waits in serve's buffer: one write
// per request would cost more than the rest of its logging.
const logFlushEvery = 100 * time.Millisecond

// serveOptions configure serve.
type serveOptions struct {
	// Addr to listen on; port 0 picks a free one.
	Addr string
	// Issuer is the server's public URL; empty means http://Addr.
	Issuer string
	// Out receives the demo, on a new database, then the line
	// "listening on http://HOST:PORT (issuer URL)".
	Out io.Writer
	// PageSecret signs the device page's tickets; every instance behind
	// a load balancer needs the same (see deviceTicketKey). Empty: a
	// random key for this process only.
	PageSecret string
	// KeyEncryptionKeyFile holds the key that seals the signing keys
	// (keys.go); empty: OAUTHGEN_KEY_ENCRYPTION_KEY.
	KeyEncryptionKeyFile string
}

// serve serves the authorization server until SIGINT or SIGTERM, then
// shuts down gracefully: it stops accepting, lets requests in flight
// finish (up to shutdownTimeout) and returns nil.
func serve(ctx context.Context, store *oauthstore.Store, opts serveOptions) error {
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	logOut := newBufferedLog(os.Stderr)
	defer logOut.Close() // last: after the shutdown is logged
	logger := slog.New(slog.NewTextHandler(logOut, nil))

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
	var kek []byte // nil: the runtime reads OAUTHGEN_KEY_ENCRYPTION_KEY
	if signsTokens(oauthstore.Config()) {
		if kek, err = keyEncryptionKey(opts.KeyEncryptionKeyFile); err != nil {
			return err
		}
	}
	srv, err := oauthstore.NewServer(store, func(c *runtime.Config) {
		c.Issuer = issuer
		c.SigningKeys.KeyEncryptionKey = kek
		c.Logger = logger
		// Failed attempts are counted in the database, so that every
		// instance behind a load balancer sees the same counts.
		c.Throttle.Limiter = store
		// routes serves the login and consent page and the device page
		// with their grants; metadata advertises only what is served.
		c.AppPages = runtime.AppPages{Authorization: true, Verification: true}
	})
	if err != nil {
		return err
	}
	ticketKey, random, err := deviceTicketKey(opts.PageSecret)
	if err != nil {
		return err
	}
	if random {
		logger.Warn("no page secret: device page tickets are signed with a key of this process only; give every instance behind a load balancer the same --page-secret (or " + pageSecretEnv + ")")
	}
	handler, err := routes(srv, ticketKey)
	if err != nil {
		return err
	}
	clients, err := store.ListClients(ctx)
	if err != nil {
		return err
	}
	if len(clients) == 0 {
		if err := seedDemo(ctx, store, issuer, opts.Out, logger); err != nil {
			return err
		}
	}
	fmt.Fprintf(opts.Out, "listening on http://%s (issuer %s)\n", ln.Addr(), issuer)

	server := &http.Server{
		Handler:           logRequests(logger, logOut, handler),
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
		purgeExpired(purgeCtx, store, logger)
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
func purgeExpired(ctx context.Context, store *oauthstore.Store, logger *slog.Logger) {
	t := time.NewTicker(purgeEvery)
	defer t.Stop()
	for {
		n, err := store.PurgeExpired(ctx, time.Now())
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

// routes returns every endpoint, at its path relative to the issuer: for
// an issuer with a path (https://example.com/oauth) the endpoints are
// under that path, and the metadata is also where RFC 8414 §3.1 puts it
// (/.well-known/oauth-authorization-server/oauth). The OAuth endpoints
// check their own methods, so that a wrong one gets the RFC's JSON error
// rather than the mux's 405. ticketKey signs the device page's
// tickets.
func routes(srv *runtime.Server, ticketKey []byte) (http.Handler, error) {
	cfg := srv.Config()
	issuer, err := url.Parse(cfg.Issuer)
	if err != nil {
		return nil, err
	}
	prefix := strings.TrimSuffix(issuer.Path, "/")
	e := cfg.Endpoints
	p := newPages(srv, prefix, ticketKey)

	mux := http.NewServeMux()
	mux.Handle(runtime.MetadataPath, srv.MetadataHandler())
	mux.Handle(e.Token, srv.TokenHandler())
	mux.Handle(e.Revocation, srv.RevocationHandler())
	mux.Handle(e.Introspection, srv.IntrospectionHandler())
	mux.Handle(e.DeviceAuthorization, srv.DeviceAuthorizationHandler())
	mux.Handle("GET "+e.Verification, p.handler(p.deviceForm))
	mux.Handle("POST "+e.Verification, p.handler(p.devicePost))
	mux.Handle("GET "+e.Authorization, p.handler(p.authorize))
	mux.Handle("POST "+e.Authorization, p.handler(p.authorize))
	mux.Handle("GET "+callbackPath, p.handler(p.callback))
	mux.Handle("GET /me", srv.RequireToken("read")(http.HandlerFunc(me)))
	// OpenID Connect and JWT access tokens, when oauthgen.yaml declares
	// them: discovery (relative to the issuer's path, OpenID Connect
	// Discovery §4), UserInfo, and the keys that verify tokens.
	if signsTokens(cfg) {
		mux.Handle(e.JWKS, srv.JWKSHandler())
	}
	if cfg.OpenID != nil {
		mux.Handle(runtime.OpenIDConfigurationPath, srv.OpenIDConfigurationHandler())
		mux.Handle(e.UserInfo, srv.UserInfoHandler())
	}
	if prefix == "" {
		return mux, nil
	}
	outer := http.NewServeMux()
	outer.Handle(prefix+"/", http.StripPrefix(prefix, mux))
	outer.Handle(runtime.MetadataPath+prefix, srv.MetadataHandler())
	return outer, nil
}

// me is the protected resource: who the token is for.
func me(w http.ResponseWriter, r *http.Request) {
	tok, _ := runtime.TokenFromContext(r.Context()) // RequireToken put it there
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	json.NewEncoder(w).Encode(struct {
		ClientID string `json:"client_id"`
		Sub      string `json:"sub,omitempty"`
		Scope    string `json:"scope"`
	}{tok.ClientID, tok.UserID, runtime.FormatScope(tok.Scopes)})
}

// statusRecorder remembers the status a handler wrote.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	s.status = code
	s.ResponseWriter.WriteHeader(code)
}

// Unwrap lets http.ResponseController reach the connection.
func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// logRequests logs each request's method, path, status and duration; never
// its query or body, which carry codes, user codes and credentials. When
// logger logs at Info it appends the line to out itself: the bytes its
// handler, slog.NewTextHandler(out, nil), would write for the record
// (tested in oauthgen's examples/quickstart), for a third of the CPU of a
// slog.Record. Give logger another handler and this must call it instead.
func logRequests(logger *slog.Logger, out *bufferedLog, next http.Handler) http.Handler {
	h := logger.Handler()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(rec, r)
		if !h.Enabled(r.Context(), slog.LevelInfo) {
			return
		}
		end := time.Now()
		out.logRequest(end, r.Method, r.URL.Path, rec.status, end.Sub(start).Round(time.Microsecond))
	})
}

// appendRequestLine appends logRequests' line, as slog's text handler
// writes a record at end, level Info, message "request", with these
// attributes in this order.
func appendRequestLine(b []byte, end time.Time, method, path string, status int, d time.Duration) []byte {
	b = append(b, "time="...)
	b = appendRFC3339Millis(b, end)
	b = append(b, " level=INFO msg=request method="...)
	b = appendLogString(b, method)
	b = append(b, " path="...)
	b = appendLogString(b, path)
	b = append(b, " status="...)
	b = strconv.AppendInt(b, int64(status), 10)
	b = append(b, " duration="...)
	b = append(b, d.String()...)
	return append(b, '\n')
}

// appendRFC3339Millis is slog's: RFC 3339 with exactly three digits of
// milliseconds, truncated.
func appendRFC3339Millis(b []byte, t time.Time) []byte {
	// RFC3339Nano is formatted fastest, but drops trailing zeros: a tenth
	// of a millisecond more makes four digits, and the fourth is cut.
	const prefixLen = len("2006-01-02T15:04:05.000")
	n := len(b)
	t = t.Truncate(time.Millisecond).Add(time.Millisecond / 10)
	b = t.AppendFormat(b, time.RFC3339Nano)
	return append(b[:n+prefixLen], b[n+prefixLen+1:]...)
}

// appendLogString appends s as slog's text handler writes a string value:
// quoted with strconv.Quote when needsQuoting says so, else as it is.
func appendLogString(b []byte, s string) []byte {
	if needsQuoting(s) {
		return strconv.AppendQuote(b, s)
	}
	return append(b, s...)
}

// needsQuoting is slog's rule: the empty string; a byte below ' ', a space,
// '=' or '"' (not a backslash, nor DEL); invalid UTF-8, U+FFFD, or a rune
// that is a space or not printable.
func needsQuoting(s string) bool {
	if s == "" {
		return true
	}
	for i := 0; i < len(s); {
		b := s[i]
		if b < utf8.RuneSelf {
			if b < ' ' || b == ' ' || b == '=' || b == '"' {
				return true
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError || unicode.IsSpace(r) || !unicode.IsPrint(r) {
			return true
		}
		i += size
	}
	return false
}

// logBufferSize is how much bufferedLog gathers before the line that
// reaches it writes it out, without waiting for the tick.
const logBufferSize = 64 << 10

// bufferedLog gathers log lines and writes them out at most logFlushEvery
// later, once logBufferSize is gathered, and at Close. A flush swaps the
// gathered lines out under mu and writes them under out alone, so a line
// logged meanwhile waits for no write. A crash loses what is gathered; a
// failed write loses its lines, not the log.
type bufferedLog struct {
	w     io.Writer
	mu    sync.Mutex // guards buf
	buf   []byte
	out   sync.Mutex // held through a write: the lines go out in order
	spare []byte     // the lines last written, reused for the next; under out
	stop  chan struct{}
	done  chan struct{}
}

func newBufferedLog(w io.Writer) *bufferedLog {
	b := &bufferedLog{w: w, stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(b.done)
		tick := time.NewTicker(logFlushEvery)
		defer tick.Stop()
		for {
			select {
			case <-tick.C:
				b.flush()
			case <-b.stop:
				b.flush()
				return
			}
		}
	}()
	return b
}

func (b *bufferedLog) Write(p []byte) (int, error) {
	b.mu.Lock()
	b.buf = append(b.buf, p...)
	b.unlock()
	return len(p), nil
}

// logRequest appends logRequests' line for a request: appendRequestLine's.
func (b *bufferedLog) logRequest(end time.Time, method, path string, status int, d time.Duration) {
	b.mu.Lock()
	b.buf = appendRequestLine(b.buf, end, method, path, status, d)
	b.unlock()
}

// unlock releases mu, then writes the lines out if they fill the buffer.
func (b *bufferedLog) unlock() {
	full := len(b.buf) >= logBufferSize
	b.mu.Unlock()
	if full {
		b.flush()
	}
}

func (b *bufferedLog) flush() {
	b.out.Lock()
	defer b.out.Unlock()
	b.mu.Lock()
	lines := b.buf
	b.buf = b.spare[:0]
	b.mu.Unlock()
	if len(lines) > 0 {
		b.w.Write(lines) // its error is dropped, as slog drops a log's write error
	}
	b.spare = lines
}

// Close writes out what is buffered and stops the flushing.
func (b *bufferedLog) Close() {
	close(b.stop)
	<-b.done
}
