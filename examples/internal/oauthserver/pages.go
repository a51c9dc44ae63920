package oauthserver

import (
	"embed"
	"errors"
	"html/template"
	"net/http"
	"net/url"

	"github.com/oauthgen/oauthgen/runtime"
)

//go:embed templates/*.html
var templateFS embed.FS

var templates = template.Must(template.ParseFS(templateFS, "templates/*.html"))

// maxFormBytes bounds the bodies of the pages' forms: a few short fields.
const maxFormBytes = 64 << 10

// pages are the HTML the application owns: login and consent, the device
// verification page, the demo callback. The forms carry the user's
// password; there is no session, so no cookie for a cross-site request
// to ride on.
type pages struct {
	srv *runtime.Server
	// The forms' actions: the endpoints' paths under the issuer's.
	authorizeAction, deviceAction string
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
	if r.Method == http.MethodPost {
		r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	}
	req, err := p.srv.ValidateAuthorizationRequest(r)
	if err != nil {
		p.srv.WriteAuthorizationError(w, r, err)
		return
	}
	if r.Method == http.MethodGet {
		p.render(w, http.StatusOK, "consent", p.consent(req, "", ""))
		return
	}
	username := r.PostFormValue("username")
	switch r.PostFormValue("decision") {
	case "deny": // no sign-in needed to say no
		p.srv.DenyAuthorization(w, r, req)
		return
	case "approve":
	default:
		p.render(w, http.StatusUnprocessableEntity, "consent", p.consent(req, username, "Choose Allow or Deny."))
		return
	}
	user, err := p.srv.AuthenticateUser(r.Context(), username, r.PostFormValue("password"))
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

// devicePage is the device verification page's data.
type devicePage struct {
	Action   string
	UserCode string
	Username string
	Request  *runtime.DeviceRequest
	Error    string
}

// deviceForm asks for a user code, prefilled from ?user_code= (the
// verification_uri_complete the device showed), and then says which
// client asks for what.
func (p *pages) deviceForm(w http.ResponseWriter, r *http.Request) {
	page := p.device(r.URL.Query().Get("user_code"), "")
	if page.UserCode == "" {
		p.render(w, http.StatusOK, "device", page)
		return
	}
	req, err := p.srv.LookupUserCode(r.Context(), page.UserCode)
	switch {
	case errors.Is(err, runtime.ErrConsumed):
		p.render(w, http.StatusOK, "message", message("Already answered", "This device request was already allowed or denied."))
		return
	case errors.Is(err, runtime.ErrNotFound):
		page.Error = "That code is unknown or has expired. Check the code on your device."
	case err != nil:
		p.render(w, http.StatusInternalServerError, "message", message("Something went wrong", "Try again later."))
		return
	}
	page.Request = req
	p.render(w, http.StatusOK, "device", page)
}

// deviceDecision signs the user in and allows or denies the device.
func (p *pages) deviceDecision(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	page := p.device(r.PostFormValue("user_code"), r.PostFormValue("username"))
	decision := r.PostFormValue("decision")
	if decision != "approve" && decision != "deny" {
		page.Error = "Choose Allow or Deny."
		p.render(w, http.StatusUnprocessableEntity, "device", page)
		return
	}
	req, err := p.srv.LookupUserCode(r.Context(), page.UserCode)
	switch {
	case errors.Is(err, runtime.ErrNotFound):
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
	page.Request = req
	// Denying needs a sign-in too: user codes are short, and anyone could
	// otherwise refuse devices by guessing them.
	user, err := p.srv.AuthenticateUser(r.Context(), page.Username, r.PostFormValue("password"))
	if errors.Is(err, runtime.ErrInvalidCredentials) {
		page.Error = "Wrong username or password."
		p.render(w, http.StatusUnprocessableEntity, "device", page)
		return
	}
	if err != nil {
		p.render(w, http.StatusInternalServerError, "message", message("Something went wrong", "Try again later."))
		return
	}
	if decision == "approve" {
		err = p.srv.ApproveDevice(r.Context(), page.UserCode, user.ID, nil)
	} else {
		err = p.srv.DenyDevice(r.Context(), page.UserCode)
	}
	switch {
	case errors.Is(err, runtime.ErrConsumed), errors.Is(err, runtime.ErrNotFound): // decided or expired meanwhile
		p.render(w, http.StatusConflict, "message", message("Not recorded", "This device request can no longer be answered."))
	case err != nil:
		p.render(w, http.StatusInternalServerError, "message", message("Something went wrong", "Try again later."))
	case decision == "approve":
		p.render(w, http.StatusOK, "message", message("Device connected", "You can return to your device."))
	default:
		p.render(w, http.StatusOK, "message", message("Device denied", "The device will not get access."))
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
