package e2e

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/oauth2"
)

// Balancer is a round-robin HTTP load balancer in front of server
// instances: each request goes to the next one, so every flow through it
// crosses instances at every step.
type Balancer struct {
	// URL is the balancer's address: the instances' issuer.
	URL string

	mu       sync.Mutex
	backends []*url.URL
	next     int
}

// NewBalancer starts a balancer with no instances yet; Add them once they
// listen (they need its URL as their issuer first).
func NewBalancer(t *testing.T) *Balancer {
	b := &Balancer{}
	proxy := &httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) {
		r.SetURL(b.pick())
		r.Out.Host = r.In.Host // as a balancer keeps the public host
	}}
	s := httptest.NewServer(proxy)
	t.Cleanup(s.Close)
	b.URL = s.URL
	return b
}

// Add puts an instance behind the balancer.
func (b *Balancer) Add(t *testing.T, instanceURL string) {
	u, err := url.Parse(instanceURL)
	if err != nil {
		t.Fatal(err)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.backends = append(b.backends, u)
}

func (b *Balancer) pick() *url.URL {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.backends) == 0 {
		return &url.URL{Scheme: "http", Host: "127.0.0.1:1"} // nothing there yet: 502
	}
	b.next++
	return b.backends[b.next%len(b.backends)]
}

// AcrossInstances checks, request by request, that two instances on one
// database act as one: a code issued at a is redeemed at b; a token
// issued at b is introspected and revoked at a, and then refused at b; a
// code replayed at a revokes, at b, what it gave; a refresh token issued
// at a rotates at b, and within the reuse interval a continues the family
// from the rotated one; a device started at a is signed in to on b's page,
// allowed on a's (b's ticket) and polled at a.
// The clients and user are Setup's.
func AcrossInstances(t *testing.T, a, b, appSecret string) {
	ctx := context.WithValue(context.Background(), oauth2.HTTPClient, noRedirect)
	conf := func(base, id, secret string) oauth2.Config {
		return oauth2.Config{ClientID: id, ClientSecret: secret, Scopes: []string{"read"}, RedirectURL: appRedirect,
			Endpoint: oauth2.Endpoint{AuthURL: base + "/authorize", TokenURL: base + "/token", DeviceAuthURL: base + "/device_authorization", AuthStyle: oauth2.AuthStyleInHeader}}
	}
	atA, atB := conf(a, "app", appSecret), conf(b, "app", appSecret)

	verifier := oauth2.GenerateVerifier()
	q := Get(t, atA.AuthCodeURL("s", oauth2.S256ChallengeOption(verifier))).Form(t).
		Submit(t, map[string]string{"username": user, "password": password}, "decision=approve").Redirect(t)
	tok, err := atB.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatalf("a's code at b: %v", err)
	}
	_, err = atA.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(verifier))
	wantError(t, "b's redeemed code again at a", err, "invalid_grant")
	if code, _ := Me(t, b, tok.AccessToken); code != 401 {
		t.Errorf("the replay at a did not revoke, at b, the token the code gave: %d", code)
	}

	tok, err = atB.PasswordCredentialsToken(ctx, user, password)
	if err != nil {
		t.Fatal(err)
	}
	auth := basic("app", appSecret)
	if _, body := Do(t, http.MethodPost, a+"/introspect", url.Values{"token": {tok.AccessToken}}, auth); !strings.Contains(body, `"active":true`) {
		t.Errorf("b's token introspected at a: %s", body)
	}
	if resp, _ := Do(t, http.MethodPost, a+"/revoke", url.Values{"token": {tok.AccessToken}}, auth); resp.StatusCode != 200 {
		t.Errorf("revoke at a: %d", resp.StatusCode)
	}
	if code, _ := Me(t, b, tok.AccessToken); code != 401 {
		t.Errorf("revoked at a, the token still works at b: %d", code)
	}

	first, err := atA.PasswordCredentialsToken(ctx, user, password)
	if err != nil {
		t.Fatal(err)
	}
	expired := *first
	expired.Expiry = time.Now().Add(-time.Minute)
	second, err := atB.TokenSource(ctx, &expired).Token()
	if err != nil {
		t.Fatalf("a's refresh token at b: %v", err)
	}
	// Within the reuse interval (30 s) a sees b's rotation as recent and
	// continues the family; the pair b issued stays good.
	third, err := atA.TokenSource(ctx, &expired).Token()
	if err != nil || third.RefreshToken == second.RefreshToken {
		t.Fatalf("the rotated refresh token again at a, within the reuse interval: %v", err)
	}
	for _, tok := range []*oauth2.Token{second, third} {
		if code, _ := Me(t, b, tok.AccessToken); code != 200 {
			t.Errorf("after a reuse within the interval, the family's token at b: %d, want 200", code)
		}
	}

	tv := conf(a, "tv", "")
	tv.Endpoint.AuthStyle = oauth2.AuthStyleInParams
	da, err := tv.DeviceAuth(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// Signed in at b, decided at a: the instances share the page secret,
	// so a accepts b's ticket.
	step := DeviceSignIn(t, Get(t, b+"/device?user_code="+url.QueryEscape(da.UserCode)), map[string]string{"username": user, "password": password})
	decision := step.Form(t)
	if step.Resp.StatusCode != 200 || decision.Fields.Get("ticket") == "" {
		t.Fatalf("a's device on b's page: %d\n%s", step.Resp.StatusCode, step.Body)
	}
	decision.Action = strings.Replace(decision.Action, b, a, 1)
	if p := decision.Submit(t, nil, "decision=approve"); !strings.Contains(p.Body, "Device connected") {
		t.Fatalf("b's ticket at a: %d\n%s", p.Resp.StatusCode, p.Body)
	}
	if _, err := tv.DeviceAccessToken(ctx, fastPoll(da)); err != nil {
		t.Errorf("a's device, allowed at b, polled at a: %v", err)
	}
}

// IssuerPath checks a server whose issuer has a path, base
// (http://host/oauth): its endpoints and pages are under that path, their
// forms post there, and the metadata is there too and where RFC 8414 §3.1
// puts it (/.well-known/oauth-authorization-server/oauth).
func IssuerPath(t *testing.T, base, appSecret string) {
	u, err := url.Parse(base)
	if err != nil || u.Path == "" {
		t.Fatalf("%s: want an issuer with a path", base)
	}
	root := u.Scheme + "://" + u.Host
	for _, m := range []string{base + "/.well-known/oauth-authorization-server", root + "/.well-known/oauth-authorization-server" + u.Path} {
		resp, body := Do(t, http.MethodGet, m, nil, nil)
		if md := jsonBody(t, body); resp.StatusCode != 200 || md["issuer"] != base || md["token_endpoint"] != base+"/token" {
			t.Errorf("%s: %d %s", m, resp.StatusCode, body)
		}
	}
	if resp, _ := Do(t, http.MethodPost, root+"/token", url.Values{}, nil); resp.StatusCode != 404 {
		t.Errorf("%s/token: %d, want 404: endpoints live under the issuer's path", root, resp.StatusCode)
	}

	ctx := context.WithValue(context.Background(), oauth2.HTTPClient, noRedirect)
	app := oauth2.Config{ClientID: "app", ClientSecret: appSecret, Scopes: []string{"read"}, RedirectURL: appRedirect,
		Endpoint: oauth2.Endpoint{AuthURL: base + "/authorize", TokenURL: base + "/token", AuthStyle: oauth2.AuthStyleInHeader}}
	verifier := oauth2.GenerateVerifier()
	form := Get(t, app.AuthCodeURL("s", oauth2.S256ChallengeOption(verifier))).Form(t)
	if form.Action != base+"/authorize" {
		t.Errorf("the consent form posts to %s", form.Action)
	}
	q := form.Submit(t, map[string]string{"username": user, "password": password}, "decision=approve").Redirect(t)
	if q.Get("iss") != base {
		t.Errorf("iss %q, want %q", q.Get("iss"), base)
	}
	tok, err := app.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatal(err)
	}
	if code, me := Me(t, base, tok.AccessToken); code != 200 || me["client_id"] != "app" {
		t.Errorf("%s/me: %d %v", base, code, me)
	}
	if f := Get(t, base+"/device").Form(t); f.Action != base+"/device" {
		t.Errorf("the device form posts to %s", f.Action)
	}
}
