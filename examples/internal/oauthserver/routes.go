package oauthserver

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/oauthgen/oauthgen/runtime"
)

// Routes returns every endpoint, at its path relative to the issuer: for
// an issuer with a path (https://example.com/oauth) the endpoints are
// under that path, and the metadata is also where RFC 8414 §3.1 puts it
// (/.well-known/oauth-authorization-server/oauth). The OAuth endpoints
// check their own methods, so that a wrong one gets the RFC's JSON error
// rather than the mux's 405.
func Routes(srv *runtime.Server) (http.Handler, error) {
	cfg := srv.Config()
	issuer, err := url.Parse(cfg.Issuer)
	if err != nil {
		return nil, err
	}
	prefix := strings.TrimSuffix(issuer.Path, "/")
	e := cfg.Endpoints
	p := &pages{srv: srv, authorizeAction: prefix + e.Authorization, deviceAction: prefix + e.Verification}

	mux := http.NewServeMux()
	mux.Handle(runtime.MetadataPath, srv.MetadataHandler())
	mux.Handle(e.Token, srv.TokenHandler())
	mux.Handle(e.Revocation, srv.RevocationHandler())
	mux.Handle(e.Introspection, srv.IntrospectionHandler())
	if cfg.DeviceCode != nil {
		mux.Handle(e.DeviceAuthorization, srv.DeviceAuthorizationHandler())
		mux.HandleFunc("GET "+e.Verification, p.deviceForm)
		mux.HandleFunc("POST "+e.Verification, p.deviceDecision)
	}
	if cfg.AuthorizationCode != nil {
		mux.HandleFunc("GET "+e.Authorization, p.authorize)
		mux.HandleFunc("POST "+e.Authorization, p.authorize)
		mux.HandleFunc("GET "+CallbackPath, p.callback)
	}
	mux.Handle("GET /me", srv.RequireToken("read")(http.HandlerFunc(me)))
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
// its query or body, which carry codes, user codes and credentials.
func logRequests(logger *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(rec, r)
		logger.Info("request", "method", r.Method, "path", r.URL.Path, "status", rec.status,
			"duration", time.Since(start).Round(time.Microsecond))
	})
}
