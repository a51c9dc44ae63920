package main

import (
	"embed"
	"errors"
	"html/template"
	"io"
	"mime"
	"net/http"
	"net/url"

	"github.com/oauthgen/oauthgen/runtime"
)

// The pages' templates: pages/layout.html defines the head and foot
// every page shares.
//
//go:embed pages/*.html
var pageFS embed.FS

var templates = template.Must(template.ParseFS(pageFS, "pages/*.html"))

// maxFormBytes bounds the bodies of the pages' forms: a few short fields.
const maxFormBytes = 64 << 10

// pages are the HTML a person sees, which the application owns. The
// forms carry the user's password; there is no session, so no cookie for a cross-site request
// to ride on, and cross-origin POSTs are refused all the same.
type pages struct {
	srv *runtime.Server
	// The forms' actions: the endpoints' paths under the issuer's.
	authorizeAction, deviceAction string
	csrf                          *http.CrossOriginProtection
}

// newPages returns the pages of srv, whose endpoints are under prefix
// (the issuer's path).
func newPages(srv *runtime.Server, prefix string) *pages {
	e := srv.Config().Endpoints
	p := &pages{srv: srv, authorizeAction: prefix + e.Authorization, deviceAction: prefix + e.Verification}
	p.csrf = http.NewCrossOriginProtection()
	p.csrf.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.render(w, http.StatusForbidden, "message", message("Request refused", "This form was sent from another site."))
	}))
	return p
}

// handler serves a page, refusing a POST that a browser says comes from
// another origin (Sec-Fetch-Site, Origin): a form on another site must
// not sign the user in, or decide, on their behalf.
func (p *pages) handler(page http.HandlerFunc) http.Handler {
	return p.csrf.Handler(page)
}

// render writes a page with headers that keep it out of frames (a framed
// consent page could be clickjacked) and out of caches.
func (p *pages) render(w http.ResponseWriter, status int, name string, data any) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	// No form-action: browsers apply it to the redirect that follows the
	// consent form, which goes to the client.
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'")
	w.WriteHeader(status)
	templates.ExecuteTemplate(w, name+".html", data) // data is ours: an error here means the client left
}

// consentPage is the login and consent page's data.
type consentPage struct {
	Action   string
	Client   string
	Host     string // where the answer goes, so the user sees it
	Scopes   []string
	Params   url.Values
	Username string
	Error    string
}

func (p *pages) consent(req *runtime.AuthorizationRequest, username, errMsg string) consentPage {
	name := req.Client.Name
	if name == "" {
		name = req.Client.ID
	}
	var host string
	if u, err := url.Parse(req.RedirectURI); err == nil {
		host = u.Host
	}
	return consentPage{
		Action: p.authorizeAction,
		Client: name, Host: host, Scopes: req.Scopes, Params: req.Params(),
		Username: username, Error: errMsg,
	}
}

// authorize is the authorization endpoint: GET shows the login and
// consent page; POST, the page's form, checks the request again, signs
// the user in and records the decision.
func (p *pages) authorize(w http.ResponseWriter, r *http.Request) {
	var form url.Values
	if r.Method == http.MethodPost && isURLEncoded(r) {
		var ok bool
		if form, ok = p.readForm(w, r); !ok {
			return
		}
	}
	// Another content type: the runtime refuses it (invalid_request)
	// without reading the body.
	req, err := p.srv.ValidateAuthorizationRequest(r)
	if err != nil {
		p.srv.WriteAuthorizationError(w, r, err)
		return
	}
	if r.Method == http.MethodGet {
		p.render(w, http.StatusOK, "consent", p.consent(req, "", ""))
		return
	}
	username := form.Get("username")
	switch form.Get("decision") {
	case "deny": // no sign-in needed to say no
		p.srv.DenyAuthorization(w, r, req)
		return
	case "approve":
	default:
		p.render(w, http.StatusUnprocessableEntity, "consent", p.consent(req, username, "Choose Allow or Deny."))
		return
	}
	user, err := p.signIn(r, username, form.Get("password"))
	if errors.Is(err, runtime.ErrInvalidCredentials) {
		p.render(w, http.StatusUnprocessableEntity, "consent", p.consent(req, username, "Wrong username or password."))
		return
	}
	if err != nil { // logged by the runtime
		p.render(w, http.StatusInternalServerError, "message", message("Something went wrong", "Try again later."))
		return
	}
	// Writes the redirect with the code, or with the error; either way
	// the client hears of it, and the runtime logged any failure.
	p.srv.CompleteAuthorization(w, r, req, user.ID, nil)
}

// signIn checks a username and password; empty ones are refused before
// any lookup.
func (p *pages) signIn(r *http.Request, username, password string) (*runtime.User, error) {
	if username == "" || password == "" {
		return nil, runtime.ErrInvalidCredentials
	}
	return p.srv.AuthenticateUser(r.Context(), username, password)
}

// isURLEncoded reports whether the request body is declared
// application/x-www-form-urlencoded.
func isURLEncoded(r *http.Request) bool {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return err == nil && mt == "application/x-www-form-urlencoded"
}

// readForm reads a page's POST body: application/x-www-form-urlencoded
// only, at most maxFormBytes. Never Request.ParseMultipartForm (nor
// FormValue and PostFormValue, which call it): a multipart body is
// spooled to temporary files, and anyone may post to these pages. On
// failure it has answered, and returns false. The parsed form is left in
// r.PostForm, where ValidateAuthorizationRequest finds it.
func (p *pages) readForm(w http.ResponseWriter, r *http.Request) (url.Values, bool) {
	if !isURLEncoded(r) {
		p.render(w, http.StatusUnsupportedMediaType, "message", message("Unsupported form", "This page takes forms sent as application/x-www-form-urlencoded, as browsers send them."))
		return nil, false
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxFormBytes))
	if _, tooLarge := errors.AsType[*http.MaxBytesError](err); tooLarge {
		p.render(w, http.StatusRequestEntityTooLarge, "message", message("Form too large", "The form sent is larger than this page accepts."))
		return nil, false
	}
	if err != nil {
		p.render(w, http.StatusBadRequest, "message", message("Form not received", "The form could not be read. Try again."))
		return nil, false
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		p.render(w, http.StatusBadRequest, "message", message("Form not understood", "The form sent is not valid form encoding."))
		return nil, false
	}
	r.Body, r.PostForm = http.NoBody, form
	return form, true
}

// devicePage is the device verification page's data.
type devicePage struct {
	Action   string
	UserCode string
	Username string
	Error    string
}

// deviceForm asks for the user code, prefilled from ?user_code= (the
// verification_uri_complete the device showed), and a sign-in. It looks
// nothing up: whether a code exists, and which client it is for, is told
// only to a signed-in user (deviceDecision), so the page is no oracle for
// guessed codes.
func (p *pages) deviceForm(w http.ResponseWriter, r *http.Request) {
	p.render(w, http.StatusOK, "device", p.device(r.URL.Query().Get("user_code"), ""))
}

// deviceDecision signs the user in, then looks up the user code and
// allows or denies the device. The order matters: before sign-in, every
// code gets the same answer, known or not.
func (p *pages) deviceDecision(w http.ResponseWriter, r *http.Request) {
	form, ok := p.readForm(w, r)
	if !ok {
		return
	}
	page := p.device(form.Get("user_code"), form.Get("username"))
	decision := form.Get("decision")
	if decision != "approve" && decision != "deny" {
		page.Error = "Choose Allow or Deny."
		p.render(w, http.StatusUnprocessableEntity, "device", page)
		return
	}
	// Denying needs a sign-in too: user codes are short, and anyone could
	// otherwise refuse devices by guessing them.
	user, err := p.signIn(r, page.Username, form.Get("password"))
	if errors.Is(err, runtime.ErrInvalidCredentials) {
		page.Error = "Wrong username or password."
		p.render(w, http.StatusUnprocessableEntity, "device", page)
		return
	}
	if err != nil {
		p.render(w, http.StatusInternalServerError, "message", message("Something went wrong", "Try again later."))
		return
	}
	req, err := p.srv.LookupUserCode(r.Context(), page.UserCode)
	switch {
	case errors.Is(err, runtime.ErrNotFound): // unknown and expired alike
		page.Error = "That code is unknown or has expired. Check the code on your device."
		p.render(w, http.StatusUnprocessableEntity, "device", page)
		return
	case errors.Is(err, runtime.ErrConsumed):
		p.render(w, http.StatusConflict, "message", message("Already answered", "This device request was already allowed or denied."))
		return
	case err != nil:
		p.render(w, http.StatusInternalServerError, "message", message("Something went wrong", "Try again later."))
		return
	}
	if decision == "approve" {
		err = p.srv.ApproveDevice(r.Context(), page.UserCode, user.ID, nil)
	} else {
		err = p.srv.DenyDevice(r.Context(), page.UserCode)
	}
	client := req.Client.Name
	if client == "" {
		client = req.Client.ID
	}
	switch {
	case errors.Is(err, runtime.ErrConsumed), errors.Is(err, runtime.ErrNotFound): // decided or expired meanwhile
		p.render(w, http.StatusConflict, "message", message("Not recorded", "This device request can no longer be answered."))
	case err != nil:
		p.render(w, http.StatusInternalServerError, "message", message("Something went wrong", "Try again later."))
	case decision == "approve":
		what := "."
		if len(req.Scopes) > 0 {
			what = ": " + runtime.FormatScope(req.Scopes) + "."
		}
		p.render(w, http.StatusOK, "message", message("Device connected", client+" now has access"+what+" You can return to your device."))
	default:
		p.render(w, http.StatusOK, "message", message("Device denied", client+" will not get access."))
	}
}

func (p *pages) device(userCode, username string) devicePage {
	return devicePage{Action: p.deviceAction, UserCode: userCode, Username: username}
}

// callback is the demo clients' redirect URI: it shows the code to
// redeem, as a real client would receive it.
func (p *pages) callback(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	p.render(w, http.StatusOK, "callback", map[string]string{
		"Code": q.Get("code"), "State": q.Get("state"), "Error": q.Get("error"), "Description": q.Get("error_description"),
	})
}

// messagePage is a page with a title and a line.
type messagePage struct{ Title, Text string }

func message(title, text string) messagePage { return messagePage{title, text} }
