package main

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"errors"
	"fmt"
	"html/template"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/oauthgen/oauthgen/runtime"
)

// The pages' templates: pages/layout.html defines the head and foot
// every page shares.
//
//go:embed pages/*.html
var pageFS embed.FS

var templates = template.Must(template.ParseFS(pageFS, "pages/*.html"))

// pages are the HTML a person sees, which the application owns. The
// forms carry the user's password; there is no session, so no cookie for
// a cross-site request to ride on, and cross-origin POSTs are refused all
// the same.
type pages struct {
	srv *runtime.Server
	// The forms' actions: the endpoints' paths under the issuer's.
	authorizeAction, deviceAction string
	csrf                          *http.CrossOriginProtection
	// ticketKey signs the device page's tickets (see deviceTicketKey).
	ticketKey []byte
	now       func() time.Time
}

// newPages returns the pages of srv, whose endpoints are under prefix
// (the issuer's path), signing device page tickets with ticketKey.
func newPages(srv *runtime.Server, prefix string, ticketKey []byte) *pages {
	cfg := srv.Config()
	e := cfg.Endpoints
	p := &pages{srv: srv, authorizeAction: prefix + e.Authorization, deviceAction: prefix + e.Verification, ticketKey: ticketKey, now: cfg.Now}
	if p.now == nil {
		p.now = time.Now
	}
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

// refusal is the answer to an attempt the runtime refused for now: too
// many failed attempts (429), or too many sign-ins being checked at once
// (503). It sets Retry-After and returns the status and the message the
// page shows; ok is false for any other error.
func refusal(w http.ResponseWriter, err error) (status int, msg string, ok bool) {
	switch {
	case errors.Is(err, runtime.ErrTooManyAttempts):
		status, msg = http.StatusTooManyRequests, "Too many attempts; try again in %s."
	case errors.Is(err, runtime.ErrBusy):
		status, msg = http.StatusServiceUnavailable, "Too many sign-ins at once; try again in %s."
	default:
		return 0, "", false
	}
	secs := max(1, int64((runtime.RetryAfter(err)+time.Second-1)/time.Second))
	w.Header().Set("Retry-After", strconv.FormatInt(secs, 10))
	wait := strconv.FormatInt(secs, 10) + " seconds"
	if secs == 1 {
		wait = "1 second"
	}
	return status, fmt.Sprintf(msg, wait), true
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
//
// The pages keep no session: no cookie, so nothing for a cross-site
// request to ride on and nothing to log out of. Every authorization is a
// fresh sign-in and a fresh consent, in one form, and srv.Interaction
// sees it so: on GET nobody is signed in, so prompt=none is answered
// login_required at once (OpenID Connect Core §3.1.2.6: the client then
// shows the page itself); on POST the user has just signed in and
// consented, which satisfies prompt=login, prompt=consent and any
// max_age, and auth_time is that sign-in. To remember sign-ins, keep a
// session (a signed cookie) and give Interaction its user, AuthTime and
// remembered consent instead.
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
		if _, err := p.srv.Interaction(req, runtime.Session{}); err != nil {
			// prompt=none: redirected to the client with login_required.
			p.srv.WriteAuthorizationError(w, r, err)
			return
		}
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
	if status, msg, ok := refusal(w, err); ok {
		p.render(w, status, "consent", p.consent(req, username, msg))
		return
	}
	if err != nil { // logged by the runtime
		p.render(w, http.StatusInternalServerError, "message", message("Something went wrong", "Try again later."))
		return
	}
	// With a sign-in and a consent given just now, Interaction asks for
	// nothing more (InteractionNone); it records auth_time for the ID token.
	if _, err := p.srv.Interaction(req, runtime.Session{
		UserID: user.ID, AuthTime: p.now(), LoggedInNow: true, Consented: true, ConsentedNow: true,
	}); err != nil {
		p.srv.WriteAuthorizationError(w, r, err)
		return
	}
	// Writes the redirect with the code, or with the error; either way
	// the client hears of it, and the runtime logged any failure.
	p.srv.CompleteAuthorization(w, r, req, user.ID, nil)
}

// signIn checks a username and password with the runtime, which
// throttles failures per username and per source address (an error
// matching runtime.ErrTooManyAttempts) and bounds the memory of password
// hashing (runtime.ErrBusy); a success is never delayed. Empty ones are
// refused before any lookup: no guess was made, so none is counted.
func (p *pages) signIn(r *http.Request, username, password string) (*runtime.User, error) {
	if username == "" || password == "" {
		return nil, runtime.ErrInvalidCredentials
	}
	return p.srv.AuthenticateLogin(r, username, password)
}

// isURLEncoded reports whether the request body is declared
// application/x-www-form-urlencoded.
func isURLEncoded(r *http.Request) bool {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return err == nil && mt == "application/x-www-form-urlencoded"
}

// readForm reads a page's POST body with the runtime's ReadForm:
// application/x-www-form-urlencoded only, within the runtime's
// Config.Limits (body size, parameter count and lengths). Never
// Request.ParseMultipartForm (nor FormValue and PostFormValue, which
// call it): a multipart body is spooled to temporary files, and anyone
// may post to these pages. On failure it has answered, and returns
// false. The parsed form is left in r.PostForm, where
// ValidateAuthorizationRequest finds it.
func (p *pages) readForm(w http.ResponseWriter, r *http.Request) (url.Values, bool) {
	if !isURLEncoded(r) {
		p.render(w, http.StatusUnsupportedMediaType, "message", message("Unsupported form", "This page takes forms sent as application/x-www-form-urlencoded, as browsers send them."))
		return nil, false
	}
	// A declared length over the limit is refused unread, as too large;
	// a longer body than declared, or a chunked one, is cut at the limit
	// by ReadForm, whose error says so.
	if r.ContentLength > p.srv.Config().Limits.MaxBodyBytes {
		p.render(w, http.StatusRequestEntityTooLarge, "message", message("Form too large", "The form sent is larger than this page accepts."))
		return nil, false
	}
	form, err := p.srv.ReadForm(w, r)
	if e, ok := errors.AsType[*runtime.Error](err); ok {
		p.render(w, http.StatusBadRequest, "message", message("Form not understood", "The form could not be read: "+e.Description+"."))
		return nil, false
	}
	if err != nil {
		p.render(w, http.StatusBadRequest, "message", message("Form not received", "The form could not be read. Try again."))
		return nil, false
	}
	return form, true
}

// The device page has two steps, so that the user sees which client asks
// before allowing it (RFC 8628 §5.4: a code typed in may come from an
// attacker's device), and so that the page is no oracle for guessed
// codes (§5.1):
//
//  1. deviceForm shows a form for the user code, prefilled from
//     ?user_code=, and a sign-in; it looks nothing up. deviceSignIn signs
//     the user in, and only then looks the code up (guesses throttled per
//     source address).
//  2. It answers with the client's name and scopes, Allow and Deny, and a
//     ticket in place of the password: the user's id and an expiry for
//     this user code, signed (HMAC-SHA256) with ticketKey.
//     deviceDecision checks the ticket and records the decision.

// ticketLifetime is how long the second step stays valid: long enough to
// read it, short enough that a page left open does not approve later.
const ticketLifetime = 5 * time.Minute

// pageSecretEnv names the environment variable holding the secret the
// device page's tickets are signed with (serve --page-secret).
const pageSecretEnv = "OAUTHGEN_PAGE_SECRET"

// minPageSecret is the shortest secret accepted: 32 bytes, as from
// `openssl rand -base64 32`.
const minPageSecret = 32

// deviceTicketKey returns the key that signs the device page's tickets,
// and whether it was drawn at random. Every instance behind a load
// balancer must accept the tickets of the others, since the second step
// may reach another instance than the first: the key is derived from a
// secret the operator gives every instance (--page-secret, or
// OAUTHGEN_PAGE_SECRET, kept out of ps like the DSN). This needs no table
// and no write, and rotating the secret only sends users who are between
// the two steps back to sign in. Without a secret the key is random and
// lives as long as the process: right for a single instance, wrong for
// several (a ticket from one is refused by the others).
func deviceTicketKey(secret string) (key []byte, random bool, err error) {
	if secret == "" {
		key = make([]byte, sha256.Size)
		rand.Read(key)
		return key, true, nil
	}
	if len(secret) < minPageSecret {
		return nil, false, fmt.Errorf("the page secret (--page-secret, %s) must be at least %d bytes, e.g. from openssl rand -base64 32", pageSecretEnv, minPageSecret)
	}
	// A key of its own, so the same secret could sign something else
	// without one kind of token passing for the other.
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte("oauthgen device page ticket key v1"))
	return m.Sum(nil), false, nil
}

// ticket returns a ticket saying that userID signed in and looked up
// userCode: base64url(userID).expiry.base64url(HMAC).
func (p *pages) ticket(userCode, userID string) string {
	exp := p.now().Add(ticketLifetime).Unix()
	return base64.RawURLEncoding.EncodeToString([]byte(userID)) + "." + strconv.FormatInt(exp, 10) + "." + p.ticketMAC(userCode, userID, exp)
}

// ticketMAC signs the hash of the normalized user code (fixed length),
// the expiry and the user id, in that order, after a label.
func (p *pages) ticketMAC(userCode, userID string, exp int64) string {
	m := hmac.New(sha256.New, p.ticketKey)
	fmt.Fprintf(m, "device ticket v1\x00%s\x00%d\x00%s", runtime.HashToken(runtime.NormalizeUserCode(userCode)), exp, userID)
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// checkTicket returns the user id of a ticket issued for userCode, unless
// it is malformed, forged, for another code, or expired.
func (p *pages) checkTicket(ticket, userCode string) (userID string, ok bool) {
	parts := strings.Split(ticket, ".")
	if len(parts) != 3 {
		return "", false
	}
	id, err := base64.RawURLEncoding.DecodeString(parts[0])
	if err != nil || len(id) == 0 {
		return "", false
	}
	exp, err := strconv.ParseInt(parts[1], 10, 64)
	if err != nil {
		return "", false
	}
	if !hmac.Equal([]byte(parts[2]), []byte(p.ticketMAC(userCode, string(id), exp))) {
		return "", false
	}
	if !p.now().Before(time.Unix(exp, 0)) {
		return "", false
	}
	return string(id), true
}

// devicePage is the device page's data: the sign-in step, or, with a
// Ticket, the decision step.
type devicePage struct {
	Action   string
	UserCode string
	Username string
	Error    string
	// The decision step: the ticket standing for the sign-in, and who
	// asks for what.
	Ticket string
	Client string
	Scopes []string
}

func (p *pages) device(userCode, username string) devicePage {
	return devicePage{Action: p.deviceAction, UserCode: userCode, Username: username}
}

// deviceForm is GET: the sign-in step, the user code prefilled from
// ?user_code= (the verification_uri_complete the device showed). Whether
// a code exists, and which client it is for, is told only to a signed-in
// user.
func (p *pages) deviceForm(w http.ResponseWriter, r *http.Request) {
	p.render(w, http.StatusOK, "device", p.device(r.URL.Query().Get("user_code"), ""))
}

// devicePost is POST: the decision step's form when it carries a
// ticket, else the sign-in step's.
func (p *pages) devicePost(w http.ResponseWriter, r *http.Request) {
	form, ok := p.readForm(w, r)
	if !ok {
		return
	}
	if form.Has("ticket") {
		p.deviceDecision(w, r, form)
		return
	}
	p.deviceSignIn(w, r, form)
}

// deviceSignIn signs the user in, then looks the user code up and shows
// the decision step. The order matters: before sign-in, every code gets
// the same answer, known or not.
func (p *pages) deviceSignIn(w http.ResponseWriter, r *http.Request, form url.Values) {
	page := p.device(form.Get("user_code"), form.Get("username"))
	user, err := p.signIn(r, page.Username, form.Get("password"))
	if errors.Is(err, runtime.ErrInvalidCredentials) {
		page.Error = "Wrong username or password."
		p.render(w, http.StatusUnprocessableEntity, "device", page)
		return
	}
	if status, msg, ok := refusal(w, err); ok {
		page.Error = msg
		p.render(w, status, "device", page)
		return
	}
	if err != nil {
		p.render(w, http.StatusInternalServerError, "message", message("Something went wrong", "Try again later."))
		return
	}
	// Guesses by signed-in users are throttled per source address: an
	// unknown or expired code counts, and a blocked address is refused
	// before the lookup, for every code.
	req, err := p.srv.LookupUserCodeFrom(r, page.UserCode)
	if p.lookupFailed(w, &page, err) {
		return
	}
	page.Ticket = p.ticket(page.UserCode, user.ID)
	page.UserCode = req.UserCode
	page.Client, page.Scopes = clientName(req.Client), req.Scopes
	p.render(w, http.StatusOK, "device", page)
}

// deviceDecision checks the decision step's ticket, then allows or
// denies the device. A ticket that does not hold (expired, forged, for
// another code) sends the user back to sign in.
func (p *pages) deviceDecision(w http.ResponseWriter, r *http.Request, form url.Values) {
	page := p.device(form.Get("user_code"), "")
	userID, ok := p.checkTicket(form.Get("ticket"), page.UserCode)
	if !ok {
		page.Error = "Your sign-in for this code has expired. Sign in again."
		p.render(w, http.StatusUnprocessableEntity, "device", page)
		return
	}
	req, err := p.srv.LookupUserCode(r.Context(), page.UserCode)
	if p.lookupFailed(w, &page, err) {
		return
	}
	decision := form.Get("decision")
	if decision != "approve" && decision != "deny" {
		page.Ticket, page.UserCode = form.Get("ticket"), req.UserCode
		page.Client, page.Scopes = clientName(req.Client), req.Scopes
		page.Error = "Choose Allow or Deny."
		p.render(w, http.StatusUnprocessableEntity, "device", page)
		return
	}
	if decision == "approve" {
		err = p.srv.ApproveDevice(r.Context(), page.UserCode, userID, nil)
	} else {
		err = p.srv.DenyDevice(r.Context(), page.UserCode)
	}
	client := clientName(req.Client)
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

// lookupFailed answers a failed user code lookup, and reports whether it
// did. Unknown and expired codes get one message.
func (p *pages) lookupFailed(w http.ResponseWriter, page *devicePage, err error) bool {
	if status, msg, ok := refusal(w, err); ok {
		page.Error = msg
		p.render(w, status, "device", *page)
		return true
	}
	switch {
	case err == nil:
		return false
	case errors.Is(err, runtime.ErrNotFound): // unknown and expired alike
		page.Error = "That code is unknown or has expired. Check the code on your device."
		p.render(w, http.StatusUnprocessableEntity, "device", *page)
	case errors.Is(err, runtime.ErrConsumed):
		p.render(w, http.StatusConflict, "message", message("Already answered", "This device request was already allowed or denied."))
	default:
		p.render(w, http.StatusInternalServerError, "message", message("Something went wrong", "Try again later."))
	}
	return true
}

// clientName is how the pages name a client: its name, else its id.
func clientName(c *runtime.Client) string {
	if c.Name != "" {
		return c.Name
	}
	return c.ID
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
