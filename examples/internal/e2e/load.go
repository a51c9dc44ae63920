package e2e

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"golang.org/x/net/html"
	"golang.org/x/oauth2"
)

// WriteTimeout is the example server's http.Server WriteTimeout
// (oauthserver/serve.go): no request may take longer.
const WriteTimeout = 30 * time.Second

// Request is one HTTP request of a Load.
type Request struct {
	// Step is what was asked: "client_credentials", "password",
	// "refresh_token", "authorization_code" (token requests), or
	// "authorize" (the consent page and its form).
	Step       string
	Start, End time.Time
	// Status is 0 when no response came (the server died, or the
	// connection broke).
	Status int
	// JSON says whether the body was a JSON object with an "error" member,
	// for a status other than 200.
	JSON bool
	// Body is the start of a non-200 response body, for messages.
	Body string
	// RedirectError is the error a consent form's redirect carries
	// (RFC 6749 §4.1.2.1), such as server_error.
	RedirectError string
	Err           error
}

// ok says whether the request did what it asked.
func (r Request) ok() bool {
	if r.Step == "authorize" && isRedirect(r.Status) {
		return r.Err == nil && r.RedirectError == ""
	}
	return r.Err == nil && r.Status == http.StatusOK
}

// Chain is a refresh token chain: a grant whose client keeps refreshing
// with the last refresh token it holds, one request at a time.
type Chain struct {
	ID int
	// Origin is the grant that started it: "password" or
	// "authorization_code".
	Origin string
	// Held is the refresh token the client holds: the one from its last
	// 200, or the one it sent when that request got no token.
	Held string
	// Refreshes counts the refreshes answered with 200.
	Refreshes int
	// Interrupted says why the last refresh gave no token: "" when it did,
	// "no response", or the 5xx status.
	Interrupted string
	// Failed is an answer no correct server gives to this client (a 4xx);
	// such a chain is reported once and not continued.
	Failed string
}

// Issued is an access token the load received with a 200.
type Issued struct {
	Access string
	Grant  string
	Chain  *Chain // nil for client_credentials
}

// Load is a mixed token load on an example server, as Setup registered
// its clients: client_credentials ("svc"), password grants each followed
// by a chain of refreshes, and authorization codes obtained through the
// consent form and redeemed ("app"). Workers run until Stop; every request
// and what it gave is recorded for the checks.
type Load struct {
	base, appSecret string
	client          *http.Client

	mu       sync.Mutex
	requests []Request
	issued   []Issued
	chains   []*Chain

	stop chan struct{}
	wg   sync.WaitGroup
}

// chainLength is how many refreshes a chain makes before its worker starts
// another: many chains, each with a history.
const chainLength = 20

// StartLoad starts workers on the server at base: a quarter of them
// client_credentials, half password + refresh chains, a quarter
// authorization codes.
func StartLoad(base, appSecret string, workers int) *Load {
	l := &Load{
		base: base, appSecret: appSecret,
		// A request that takes longer than the server's write timeout is a
		// hang; the margin lets it be measured rather than cut.
		client: &http.Client{
			Timeout:       WriteTimeout + 5*time.Second,
			Transport:     &http.Transport{MaxIdleConnsPerHost: workers},
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
		stop: make(chan struct{}),
	}
	for i := range workers {
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			switch i % 4 {
			case 0:
				l.clientCredentials()
			case 1, 2:
				l.refreshChains()
			case 3:
				l.codes()
			}
		}()
	}
	return l
}

// Stop ends the load and waits for the requests in flight.
func (l *Load) Stop() {
	close(l.stop)
	l.wg.Wait()
	l.client.CloseIdleConnections()
}

// Requests, Issued and Chains return what the load recorded; call them
// after Stop.
func (l *Load) Requests() []Request { return l.requests }
func (l *Load) Issued() []Issued    { return l.issued }
func (l *Load) Chains() []*Chain    { return l.chains }

func (l *Load) stopped() bool {
	select {
	case <-l.stop:
		return true
	default:
		return false
	}
}

// pause after a failed request, so a dead server is not spun on.
func (l *Load) pause() {
	select {
	case <-l.stop:
	case <-time.After(25 * time.Millisecond):
	}
}

func (l *Load) clientCredentials() {
	for !l.stopped() {
		tok, ok := l.token("client_credentials", basic("svc", svcSecret), url.Values{"grant_type": {"client_credentials"}, "scope": {"read"}})
		if !ok {
			l.pause()
			continue
		}
		l.record(Issued{Access: tok.AccessToken, Grant: "client_credentials"})
	}
}

func (l *Load) refreshChains() {
	app := basic("app", l.appSecret)
	for !l.stopped() {
		tok, ok := l.token("password", app, url.Values{"grant_type": {"password"}, "username": {user}, "password": {password}, "scope": {"read"}})
		if !ok {
			l.pause()
			continue
		}
		c := l.newChain("password", tok)
		for range chainLength {
			if l.stopped() || !l.refresh(c) {
				break
			}
		}
	}
}

// refresh makes one refresh of the chain and reports whether it gave a
// token.
func (l *Load) refresh(c *Chain) bool {
	tok, ok, status := l.tokenStatus("refresh_token", basic("app", l.appSecret), url.Values{"grant_type": {"refresh_token"}, "refresh_token": {c.Held}})
	switch {
	case ok:
		c.Held, c.Interrupted = tok.RefreshToken, ""
		c.Refreshes++
		l.record(Issued{Access: tok.AccessToken, Grant: "refresh_token", Chain: c})
		return true
	case status == 0:
		c.Interrupted = "no response"
	case status >= 500:
		c.Interrupted = fmt.Sprint(status)
	default:
		c.Failed = fmt.Sprintf("refresh %d answered %d", c.Refreshes+1, status)
	}
	l.pause()
	return false
}

func (l *Load) codes() {
	conf := oauth2.Config{ClientID: "app", Scopes: []string{"read"}, RedirectURL: appRedirect,
		Endpoint: oauth2.Endpoint{AuthURL: l.base + "/authorize"}}
	for !l.stopped() {
		verifier := oauth2.GenerateVerifier()
		code, ok := l.consent(conf.AuthCodeURL("s", oauth2.S256ChallengeOption(verifier)))
		if !ok {
			l.pause()
			continue
		}
		tok, ok := l.token("authorization_code", basic("app", l.appSecret), url.Values{"grant_type": {"authorization_code"},
			"code": {code}, "redirect_uri": {appRedirect}, "code_verifier": {verifier}})
		if !ok {
			l.pause() // a code whose answer was lost is not redeemed again: that is a replay
			continue
		}
		l.newChain("authorization_code", tok)
	}
}

// consent gets the consent page, signs in and approves, and returns the
// code from the redirect.
func (l *Load) consent(authorizeURL string) (string, bool) {
	status, body, loc := l.do("authorize", http.MethodGet, authorizeURL, nil, nil)
	if status != http.StatusOK {
		return "", false
	}
	action, fields, err := consentForm(authorizeURL, body)
	if err != nil {
		l.note(Request{Step: "authorize", Start: time.Now(), End: time.Now(), Status: status, Err: err})
		return "", false
	}
	fields.Set("username", user)
	fields.Set("password", password)
	fields.Set("decision", "approve")
	if status, _, loc = l.do("authorize", http.MethodPost, action, fields, nil); !isRedirect(status) {
		return "", false
	}
	u, err := url.Parse(loc) // do recorded an error or a redirect without a code
	if err != nil {
		return "", false
	}
	code := u.Query().Get("code")
	return code, code != ""
}

// consentForm returns the action and hidden fields of the consent page's
// form, without failing a test: it runs on a worker.
func consentForm(pageURL, body string) (string, url.Values, error) {
	doc, err := html.Parse(strings.NewReader(body))
	if err != nil {
		return "", nil, err
	}
	for n := range doc.Descendants() {
		if n.Type != html.ElementNode || n.Data != "form" {
			continue
		}
		base, err := url.Parse(pageURL)
		if err != nil {
			return "", nil, err
		}
		action, err := base.Parse(attr(n, "action"))
		if err != nil {
			return "", nil, err
		}
		fields := url.Values{}
		for in := range n.Descendants() {
			if in.Type == html.ElementNode && in.Data == "input" && attr(in, "name") != "" && attr(in, "type") != "submit" {
				fields.Set(attr(in, "name"), attr(in, "value"))
			}
		}
		return action.String(), fields, nil
	}
	return "", nil, errors.New("the consent page has no form")
}

func (l *Load) newChain(origin string, tok tokenResponse) *Chain {
	l.mu.Lock()
	defer l.mu.Unlock()
	c := &Chain{ID: len(l.chains) + 1, Origin: origin, Held: tok.RefreshToken}
	l.chains = append(l.chains, c)
	l.issued = append(l.issued, Issued{Access: tok.AccessToken, Grant: origin, Chain: c})
	return c
}

func (l *Load) record(i Issued) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.issued = append(l.issued, i)
}

func (l *Load) note(r Request) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.requests = append(l.requests, r)
}

type tokenResponse struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
}

func (l *Load) token(step string, auth http.Header, form url.Values) (tokenResponse, bool) {
	tok, ok, _ := l.tokenStatus(step, auth, form)
	return tok, ok
}

// tokenStatus posts a token request; ok means a 200 with the tokens the
// grant must give (an access token, and a refresh token for every grant
// but client_credentials).
func (l *Load) tokenStatus(step string, auth http.Header, form url.Values) (tokenResponse, bool, int) {
	status, body, _ := l.do(step, http.MethodPost, l.base+"/token", form, auth)
	var tok tokenResponse
	if status != http.StatusOK {
		return tok, false, status
	}
	if err := json.Unmarshal([]byte(body), &tok); err != nil || tok.AccessToken == "" || (step != "client_credentials") != (tok.RefreshToken != "") {
		l.note(Request{Step: step, Start: time.Now(), End: time.Now(), Status: status, Body: clip(body),
			Err: fmt.Errorf("a 200 without the tokens the grant gives: %v", err)})
		return tok, false, status
	}
	return tok, true, status
}

// do sends a request, records it, and returns the status (0 without a
// response), the body and the Location header.
func (l *Load) do(step, method, u string, form url.Values, header http.Header) (int, string, string) {
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		panic(err) // the load builds its URLs itself
	}
	for k, v := range header {
		req.Header[k] = v
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	r := Request{Step: step, Start: time.Now()}
	resp, err := l.client.Do(req)
	var b []byte
	if err == nil {
		b, err = io.ReadAll(resp.Body)
		resp.Body.Close()
	}
	r.End = time.Now()
	if err != nil {
		r.Err = err
		l.note(r)
		return 0, "", ""
	}
	r.Status = resp.StatusCode
	if step == "authorize" && isRedirect(r.Status) {
		u, err := url.Parse(resp.Header.Get("Location"))
		switch {
		case err != nil:
			r.Err = err
		case u.Query().Has("error"):
			r.RedirectError = u.Query().Get("error")
		case u.Query().Get("code") == "":
			r.Err = fmt.Errorf("a redirect without a code nor an error: %s", u)
		}
	} else if r.Status != http.StatusOK {
		var e struct {
			Error string `json:"error"`
		}
		r.JSON = json.Unmarshal(b, &e) == nil && e.Error != ""
		r.Body = clip(string(b))
	}
	l.note(r)
	return r.Status, string(b), resp.Header.Get("Location")
}

func clip(s string) string {
	if len(s) > 200 {
		return s[:200] + "…"
	}
	return s
}

// isRedirect: the authorization response is a 302 after a GET and a 303
// after the consent form's POST (RFC 9700 §4.12).
func isRedirect(status int) bool {
	return status == http.StatusFound || status == http.StatusSeeOther
}
