package e2e

import (
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"
)

// noRedirect is an HTTP client that returns redirects instead of following
// them: the test reads the code from the Location, as a client would.
var noRedirect = &http.Client{
	Timeout:       30 * time.Second,
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

// Do sends a request (a form body when form is not nil) and returns the
// response and its body.
func Do(t *testing.T, method, u string, form url.Values, header http.Header) (*http.Response, string) {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := noRedirect.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(b)
}

// Form is an HTML form as a browser sees it.
type Form struct {
	// Action is the absolute URL the form posts to.
	Action string
	// Method is the form's method, upper case.
	Method string
	// Fields are the named inputs and their values, as the page set them.
	Fields url.Values
	// Buttons are the submit buttons' name=value pairs; "" stands for a
	// submit button without a name, which sends nothing of its own.
	Buttons []string
}

// Page is an HTML page fetched by Get.
type Page struct {
	URL  string
	Resp *http.Response
	Body string
}

// Get fetches a page, not following redirects.
func Get(t *testing.T, u string) Page {
	t.Helper()
	resp, body := Do(t, http.MethodGet, u, nil, nil)
	return Page{URL: u, Resp: resp, Body: body}
}

// Form parses the page's only form, failing the test without one.
func (p Page) Form(t *testing.T) *Form {
	t.Helper()
	doc, err := html.Parse(strings.NewReader(p.Body))
	if err != nil {
		t.Fatal(err)
	}
	var forms []*html.Node
	for n := range doc.Descendants() {
		if n.Type == html.ElementNode && n.Data == "form" {
			forms = append(forms, n)
		}
	}
	if len(forms) != 1 {
		t.Fatalf("%s: want one form, found %d:\n%s", p.URL, len(forms), p.Body)
	}
	base, err := url.Parse(p.URL)
	if err != nil {
		t.Fatal(err)
	}
	action, err := base.Parse(attr(forms[0], "action")) // "" is the page itself, as in a browser
	if err != nil {
		t.Fatal(err)
	}
	f := &Form{Action: action.String(), Method: strings.ToUpper(attr(forms[0], "method")), Fields: url.Values{}}
	for n := range forms[0].Descendants() {
		if n.Type != html.ElementNode {
			continue
		}
		submit := n.Data == "button" && attr(n, "type") != "button" || n.Data == "input" && attr(n, "type") == "submit"
		switch {
		case submit && attr(n, "name") == "":
			f.Buttons = append(f.Buttons, "")
		case submit:
			f.Buttons = append(f.Buttons, attr(n, "name")+"="+attr(n, "value"))
		case n.Data == "input" && attr(n, "name") != "":
			f.Fields.Add(attr(n, "name"), attr(n, "value"))
		}
	}
	return f
}

func attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

// Submit posts the form as a browser would after the user typed fill and
// clicked the button name=value ("" for one without a name); the button
// must be on the page.
func (f *Form) Submit(t *testing.T, fill map[string]string, button string) Page {
	t.Helper()
	if f.Method != http.MethodPost {
		t.Fatalf("form method %q, want POST", f.Method)
	}
	if !slices.Contains(f.Buttons, button) {
		t.Fatalf("no button %s among %v", button, f.Buttons)
	}
	values := url.Values{}
	for k, vs := range f.Fields {
		values[k] = slices.Clone(vs)
	}
	for k, v := range fill {
		if !values.Has(k) {
			t.Fatalf("the form has no field %q: %v", k, f.Fields)
		}
		values.Set(k, v)
	}
	if name, value, ok := strings.Cut(button, "="); ok {
		values.Set(name, value)
	}
	resp, body := Do(t, http.MethodPost, f.Action, values, nil)
	return Page{URL: f.Action, Resp: resp, Body: body}
}

// DeviceSignIn is the device page's first step, as a person does it: on
// page (the sign-in form, user_code prefilled or not), type fill
// (user_code, username, password) and press Continue. It returns the
// page that answers: the decision step after a good sign-in with a known
// code, else the sign-in form again with a message.
func DeviceSignIn(t *testing.T, page Page, fill map[string]string) Page {
	t.Helper()
	return page.Form(t).Submit(t, fill, "")
}

// DecideDevice is both steps of the device page: sign in with fill, check
// that the decision step shows client (its name) before anything is
// decided, then press decision=approve or decision=deny. It returns the
// page that answers the decision.
func DecideDevice(t *testing.T, page Page, fill map[string]string, client, decision string) Page {
	t.Helper()
	step := DeviceSignIn(t, page, fill)
	form := step.Form(t)
	if step.Resp.StatusCode != http.StatusOK || !strings.Contains(step.Body, client) || form.Fields.Get("ticket") == "" || form.Fields.Has("password") {
		t.Fatalf("device page: want the decision step naming %s, got %d:\n%s", client, step.Resp.StatusCode, step.Body)
	}
	return form.Submit(t, nil, "decision="+decision)
}

// Location returns where a page redirects, failing the test unless it
// does: 302 after a GET, 303 after a POST (RFC 9700 §4.12).
func (p Page) Location(t *testing.T) string {
	t.Helper()
	loc := p.Resp.Header.Get("Location")
	want := http.StatusFound
	if p.Resp.Request != nil && p.Resp.Request.Method == http.MethodPost {
		want = http.StatusSeeOther
	}
	if p.Resp.StatusCode != want || loc == "" {
		t.Fatalf("want a redirect, got %d %v:\n%s", p.Resp.StatusCode, p.Resp.Header, p.Body)
	}
	return loc
}

// Redirect returns the query of a page's redirect, failing without one.
func (p Page) Redirect(t *testing.T) url.Values {
	t.Helper()
	loc, err := url.Parse(p.Location(t))
	if err != nil {
		t.Fatal(err)
	}
	return loc.Query()
}

// CheckPageHeaders checks what every HTML page must send: no framing
// (clickjacking of the consent form), no caching.
func CheckPageHeaders(t *testing.T, p Page) {
	t.Helper()
	h := p.Resp.Header
	if h.Get("X-Frame-Options") != "DENY" || !strings.Contains(h.Get("Content-Security-Policy"), "frame-ancestors 'none'") ||
		h.Get("Cache-Control") != "no-store" || !strings.HasPrefix(h.Get("Content-Type"), "text/html") {
		t.Errorf("%s: headers %v", p.URL, h)
	}
}

// Me calls GET /me with a token ("" for none) and returns the status and
// the decoded body.
func Me(t *testing.T, base, token string) (int, map[string]string) {
	t.Helper()
	h := http.Header{}
	if token != "" {
		h.Set("Authorization", "Bearer "+token)
	}
	resp, body := Do(t, http.MethodGet, base+"/me", nil, h)
	m := map[string]string{}
	json.Unmarshal([]byte(body), &m) // an error answer has no body
	m["WWW-Authenticate"] = resp.Header.Get("WWW-Authenticate")
	return resp.StatusCode, m
}

// basic is client_secret_basic's credentials: form-encoded, then base64
// (RFC 6749 §2.3.1).
func basic(id, secret string) http.Header {
	cred := base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(id) + ":" + url.QueryEscape(secret)))
	return http.Header{"Authorization": {"Basic " + cred}}
}

// jsonBody decodes a JSON object, failing the test on anything else.
func jsonBody(t *testing.T, body string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(body), &m); err != nil {
		t.Fatalf("not a JSON object: %q", body)
	}
	return m
}
