package oauthserver

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/oauthgen/oauthgen/runtime"
)

// Routes mounts every endpoint, relative to the issuer. The OAuth
// endpoints check their own methods, so that a wrong one gets the RFC's
// JSON error rather than the mux's 405.
func Routes(srv *runtime.Server) http.Handler {
	p := &pages{srv: srv}
	e := srv.Config().Endpoints
	mux := http.NewServeMux()
	mux.Handle(runtime.MetadataPath, srv.MetadataHandler())
	mux.Handle(e.Token, srv.TokenHandler())
	mux.Handle(e.Revocation, srv.RevocationHandler())
	mux.Handle(e.Introspection, srv.IntrospectionHandler())
	if srv.Config().DeviceCode != nil {
		mux.Handle(e.DeviceAuthorization, srv.DeviceAuthorizationHandler())
		mux.HandleFunc("GET "+e.Verification, p.deviceForm)
		mux.HandleFunc("POST "+e.Verification, p.deviceDecision)
	}
	mux.HandleFunc("GET "+e.Authorization, p.authorize)
	mux.HandleFunc("POST "+e.Authorization, p.authorize)
	mux.HandleFunc("GET /callback", p.callback)
	mux.Handle("GET /me", srv.RequireToken("read")(http.HandlerFunc(me)))
	return mux
}

// me answers who the token is for.
func me(w http.ResponseWriter, r *http.Request) {
	tok, _ := runtime.TokenFromContext(r.Context())
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	json.NewEncoder(w).Encode(struct {
		ClientID string `json:"client_id"`
		Sub      string `json:"sub,omitempty"`
		Scope    string `json:"scope"`
	}{tok.ClientID, tok.UserID, runtime.FormatScope(tok.Scopes)})
}

// authorize is the authorization endpoint: GET shows the login and
// consent page; POST signs the user in and records the decision.
func (p *pages) authorize(w http.ResponseWriter, r *http.Request) {
	req, err := p.srv.ValidateAuthorizationRequest(r)
	if err != nil {
		p.srv.WriteAuthorizationError(w, r, err)
		return
	}
	if r.Method == http.MethodGet {
		p.render(w, http.StatusOK, "consent", consentPage(req, ""))
		return
	}
	switch r.PostFormValue("decision") {
	case "deny":
		p.srv.DenyAuthorization(w, r, req)
		return
	case "approve":
	default:
		p.render(w, http.StatusBadRequest, "consent", consentPage(req, "Choose Allow or Deny."))
		return
	}
	user, err := p.srv.AuthenticateUser(r.Context(), r.PostFormValue("username"), r.PostFormValue("password"))
	if errors.Is(err, runtime.ErrInvalidCredentials) {
		p.render(w, http.StatusUnauthorized, "consent", consentPage(req, "Wrong username or password."))
		return
	}
	if err != nil {
		p.render(w, http.StatusInternalServerError, "message", message("Something went wrong", "Try again later."))
		return
	}
	p.srv.CompleteAuthorization(w, r, req, user.ID, req.Scopes) // writes the redirect, or the error
}

// deviceForm asks for a user code, prefilled from ?user_code=.
func (p *pages) deviceForm(w http.ResponseWriter, r *http.Request) {
	code := r.URL.Query().Get("user_code")
	page := devicePage{UserCode: code}
	if code != "" {
		if req, err := p.srv.LookupUserCode(r.Context(), code); err == nil {
			page.Request = req
		}
	}
	p.render(w, http.StatusOK, "device", page)
}

// deviceDecision signs the user in and approves or denies the device.
func (p *pages) deviceDecision(w http.ResponseWriter, r *http.Request) {
	code := r.PostFormValue("user_code")
	page := devicePage{UserCode: code}
	req, err := p.srv.LookupUserCode(r.Context(), code)
	switch {
	case errors.Is(err, runtime.ErrNotFound):
		page.Error = "That code is unknown or has expired. Check the code on your device."
		p.render(w, http.StatusBadRequest, "device", page)
		return
	case errors.Is(err, runtime.ErrConsumed):
		p.render(w, http.StatusBadRequest, "message", message("Already answered", "This device request was already approved or denied."))
		return
	case err != nil:
		p.render(w, http.StatusInternalServerError, "message", message("Something went wrong", "Try again later."))
		return
	}
	page.Request = req
	user, err := p.srv.AuthenticateUser(r.Context(), r.PostFormValue("username"), r.PostFormValue("password"))
	if err != nil {
		page.Error = "Wrong username or password."
		p.render(w, http.StatusUnauthorized, "device", page)
		return
	}
	switch r.PostFormValue("decision") {
	case "approve":
		err = p.srv.ApproveDevice(r.Context(), code, user.ID, req.Scopes)
	case "deny":
		err = p.srv.DenyDevice(r.Context(), code)
	default:
		page.Error = "Choose Allow or Deny."
		p.render(w, http.StatusBadRequest, "device", page)
		return
	}
	if err != nil {
		p.render(w, http.StatusBadRequest, "message", message("Not recorded", "This device request can no longer be answered."))
		return
	}
	if r.PostFormValue("decision") == "approve" {
		p.render(w, http.StatusOK, "message", message("Device connected", "You can return to your device."))
		return
	}
	p.render(w, http.StatusOK, "message", message("Device denied", "The device will not get access."))
}

// callback is the demo clients' redirect URI: it shows the code to
// exchange, as a real client would receive it.
func (p *pages) callback(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	p.render(w, http.StatusOK, "callback", map[string]string{
		"Code": q.Get("code"), "State": q.Get("state"), "Error": q.Get("error"),
		"Description": q.Get("error_description"), "Issuer": p.srv.Config().Issuer,
	})
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

// logRequests logs each request's method, path, status and duration; never
// its query or body, which carry codes and credentials.
func logRequests(logger *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(rec, r)
		logger.Info("request", "method", r.Method, "path", r.URL.Path, "status", rec.status, "duration", time.Since(start).Round(time.Microsecond))
	})
}
