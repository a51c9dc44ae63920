package oauthserver

import (
	"embed"
	"html/template"
	"net/http"
	"net/url"

	"github.com/oauthgen/oauthgen/runtime"
)

//go:embed templates/*.html
var templateFS embed.FS

var templates = template.Must(template.ParseFS(templateFS, "templates/*.html"))

// pages renders the HTML the application owns: login and consent, the
// device verification page, the demo callback.
type pages struct {
	srv *runtime.Server
}

// render writes a page with headers that keep it out of frames and caches.
func (p *pages) render(w http.ResponseWriter, status int, name string, data any) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Frame-Options", "DENY") // clickjacking: consent must not be framed
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'")
	h.Set("Referrer-Policy", "no-referrer")
	w.WriteHeader(status)
	templates.ExecuteTemplate(w, name+".html", data) // a write error means the client left
}

// consent is the login and consent page's data.
type consent struct {
	Client string
	Scopes []string
	Params url.Values
	Error  string
}

func consentPage(req *runtime.AuthorizationRequest, errMsg string) consent {
	name := req.Client.Name
	if name == "" {
		name = req.Client.ID
	}
	return consent{Client: name, Scopes: req.Scopes, Params: req.Params(), Error: errMsg}
}

// devicePage is the device verification page's data.
type devicePage struct {
	UserCode string
	Request  *runtime.DeviceRequest
	Error    string
}

// messagePage is a page with a title and a line.
type messagePage struct{ Title, Text string }

func message(title, text string) messagePage { return messagePage{title, text} }
