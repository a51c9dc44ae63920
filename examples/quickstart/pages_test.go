package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/oauthgen/oauthgen/runtime"
	"github.com/oauthgen/oauthgen/runtime/runtimetest"
)

const (
	tvID     = "tv-4711"
	tvName   = "Living Room TV"
	bob      = "bob"
	bobPass  = "pw-bob-123"
	appID    = "app"
	appCB    = "https://app.example/cb"
	verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
)

// clock is a settable time for the runtime.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// pagesFixture is the example's routes on an in-memory store, with a
// device client, an authorization code client and a user.
type pagesFixture struct {
	t     *testing.T
	h     http.Handler
	clock *clock
}

func newPagesFixture(t *testing.T) *pagesFixture {
	t.Helper()
	store := runtimetest.NewMemoryStore()
	for _, c := range []*runtime.Client{
		{ID: tvID, Name: tvName, GrantTypes: []string{runtime.GrantDeviceCode}, Scopes: []string{"read"}},
		{ID: appID, SecretHash: runtime.HashToken("s"), RedirectURIs: []string{appCB}, GrantTypes: []string{runtime.GrantAuthorizationCode}},
	} {
		if err := store.AddClient(c); err != nil {
			t.Fatal(err)
		}
	}
	if err := store.AddUser(&runtime.User{ID: "u-bob", Username: bob, PasswordHash: runtime.HashPassword(bobPass)}); err != nil {
		t.Fatal(err)
	}
	clk := &clock{t: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)}
	srv, err := runtime.NewServer(runtime.Config{
		Issuer:            "https://as.example",
		AuthorizationCode: &runtime.AuthorizationCodeGrant{},
		DeviceCode:        &runtime.DeviceCodeGrant{},
		Now:               clk.Now,
		// These tests compare answers across many failed sign-ins from
		// one address; throttling them is tested on its own.
		Throttle: runtime.ThrottleConfig{Disabled: true},
	}, store)
	if err != nil {
		t.Fatal(err)
	}
	h, err := routes(srv)
	if err != nil {
		t.Fatal(err)
	}
	return &pagesFixture{t: t, h: h, clock: clk}
}

func (f *pagesFixture) do(r *http.Request) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	f.h.ServeHTTP(rec, r)
	return rec
}

// startDevice runs a device authorization and returns its user code.
func (f *pagesFixture) startDevice() string {
	f.t.Helper()
	rec := f.do(formPost("/device_authorization", url.Values{"client_id": {tvID}, "scope": {"read"}}))
	var m struct {
		UserCode string `json:"user_code"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &m); rec.Code != 200 || err != nil || m.UserCode == "" {
		f.t.Fatalf("device authorization: %d %s", rec.Code, rec.Body)
	}
	return m.UserCode
}

func formPost(path string, form url.Values) *http.Request {
	r := httptest.NewRequest(http.MethodPost, path, strings.NewReader(form.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return r
}

// sameAnswer fails unless two responses are the same but for the user
// code each echoes back in the form.
func sameAnswer(t *testing.T, what string, a, b *httptest.ResponseRecorder, codeA, codeB string) {
	t.Helper()
	ba := strings.ReplaceAll(a.Body.String(), codeA, "CODE")
	bb := strings.ReplaceAll(b.Body.String(), codeB, "CODE")
	if a.Code != b.Code || ba != bb {
		t.Errorf("%s: the answers differ:\n%d %s\n---\n%d %s", what, a.Code, ba, b.Code, bb)
	}
}

// TestDevicePageNoOracle is item 5 of issue 8: before sign-in, the device
// page answers every user code alike and never names the client; after
// sign-in, unknown and expired codes get one message; the client is named
// to the signed-in user who decided.
func TestDevicePageNoOracle(t *testing.T) {
	f := newPagesFixture(t)
	expired := f.startDevice()
	f.clock.Add(runtime.DefaultDeviceCodeLifetime + time.Minute)
	valid := f.startDevice()
	const unknown = "BCDF-GHJK"
	if valid == unknown || expired == unknown {
		t.Skip("drew the unknown code") // one chance in 20^8
	}

	get := func(code string) *httptest.ResponseRecorder {
		return f.do(httptest.NewRequest(http.MethodGet, "/device?user_code="+url.QueryEscape(code), nil))
	}
	gv, gu := get(valid), get(unknown)
	if gv.Code != 200 {
		t.Fatalf("GET: %d %s", gv.Code, gv.Body)
	}
	for _, leak := range []string{tvName, tvID, "read", "unknown", "expired"} {
		if strings.Contains(gv.Body.String(), leak) {
			t.Errorf("GET /device?user_code=VALID shows %q before sign-in:\n%s", leak, gv.Body)
		}
	}
	sameAnswer(t, "GET, valid and unknown code", gv, gu, valid, unknown)

	post := func(code, username, password, decision string) *httptest.ResponseRecorder {
		return f.do(formPost("/device", url.Values{"user_code": {code}, "username": {username}, "password": {password}, "decision": {decision}}))
	}
	for _, c := range []struct{ what, username, password, decision string }{
		{"wrong password", bob, "wrong", "approve"},
		{"wrong password, deny", bob, "wrong", "deny"},
		{"unknown user", "mallory", "x", "approve"},
		{"no credentials", "", "", "approve"},
		{"no decision", bob, bobPass, ""},
	} {
		pv, pu := post(valid, c.username, c.password, c.decision), post(unknown, c.username, c.password, c.decision)
		if pv.Code != http.StatusUnprocessableEntity || strings.Contains(pv.Body.String(), tvName) {
			t.Errorf("%s: %d\n%s", c.what, pv.Code, pv.Body)
		}
		sameAnswer(t, c.what+", valid and unknown code", pv, pu, valid, unknown)
		sameAnswer(t, c.what+", expired and unknown code", post(expired, c.username, c.password, c.decision), pu, expired, unknown)
	}

	// Signed in: unknown and expired codes get one message.
	pu, pe := post(unknown, bob, bobPass, "approve"), post(expired, bob, bobPass, "approve")
	if pu.Code != http.StatusUnprocessableEntity || !strings.Contains(pu.Body.String(), "unknown or has expired") {
		t.Errorf("signed in, unknown code: %d\n%s", pu.Code, pu.Body)
	}
	sameAnswer(t, "signed in, unknown and expired code", pu, pe, unknown, expired)

	// Signed in with the valid code: approved, and told to whom.
	done := post(strings.ToLower(strings.ReplaceAll(valid, "-", "")), bob, bobPass, "approve")
	if done.Code != 200 || !strings.Contains(done.Body.String(), "Device connected") || !strings.Contains(done.Body.String(), tvName) {
		t.Errorf("approve: %d\n%s", done.Code, done.Body)
	}
}

// repeatReader is an endless run of one byte.
type repeatReader byte

func (b repeatReader) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(b)
	}
	return len(p), nil
}

// countingReader counts what a handler read of a body.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// TestPagesRefuseMultipart is item 3 of issue 8: a 1 GiB multipart POST
// to the device or the authorization page is refused with an error,
// having read almost nothing of it, and leaves no temporary file.
func TestPagesRefuseMultipart(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp) // where mime/multipart would spool file parts
	f := newPagesFixture(t)
	code := f.startDevice()
	const size = 1 << 30
	for _, path := range []string{"/device", "/authorize"} {
		t.Run(strings.TrimPrefix(path, "/"), func(t *testing.T) {
			head := "--B\r\nContent-Disposition: form-data; name=\"user_code\"\r\n\r\n" + code + "\r\n" +
				"--B\r\nContent-Disposition: form-data; name=\"decision\"\r\n\r\napprove\r\n" +
				"--B\r\nContent-Disposition: form-data; name=\"f\"; filename=\"f\"\r\nContent-Type: application/octet-stream\r\n\r\n"
			body := &countingReader{r: io.MultiReader(strings.NewReader(head), io.LimitReader(repeatReader('A'), size), strings.NewReader("\r\n--B--\r\n"))}
			r := httptest.NewRequest(http.MethodPost, path+"?client_id="+appID+"&response_type=code", body)
			r.Header.Set("Content-Type", "multipart/form-data; boundary=B")
			r.ContentLength = int64(len(head)) + size + 9
			rec := f.do(r)
			if rec.Code < 400 || rec.Code >= 500 || rec.Header().Get("Location") != "" {
				t.Errorf("%d %v\n%s", rec.Code, rec.Header(), rec.Body)
			}
			if body.n > maxFormBytes {
				t.Errorf("read %d bytes of the body", body.n)
			}
			if entries, err := os.ReadDir(tmp); err != nil || len(entries) != 0 {
				t.Errorf("temporary files: %v %v", entries, err)
			}
		})
	}
	if rec := f.do(httptest.NewRequest(http.MethodGet, "/device", nil)); rec.Code != 200 {
		t.Errorf("the page after: %d", rec.Code)
	}
}

// TestPagesFormTooLarge: an oversized urlencoded form gets 413 and says
// so, rather than "not valid form encoding" or a page asking to choose.
func TestPagesFormTooLarge(t *testing.T) {
	f := newPagesFixture(t)
	for _, path := range []string{"/device", "/authorize"} {
		form := url.Values{"client_id": {appID}, "response_type": {"code"}, "decision": {"approve"}, "pad": {strings.Repeat("a", 10<<20)}}
		rec := f.do(formPost(path, form))
		if rec.Code != http.StatusRequestEntityTooLarge || !strings.Contains(rec.Body.String(), "too large") {
			t.Errorf("%s: %d\n%.300s", path, rec.Code, rec.Body)
		}
	}
}

// TestAuthorizePageReadsURLEncodedForm: the consent form posted back
// still signs in and redirects with a code, its fields read once by the
// page and by the runtime.
func TestAuthorizePageReadsURLEncodedForm(t *testing.T) {
	f := newPagesFixture(t)
	form := url.Values{"client_id": {appID}, "response_type": {"code"}, "redirect_uri": {appCB}, "state": {"s"},
		"code_challenge": {runtime.S256Challenge(verifier)}, "code_challenge_method": {"S256"},
		"username": {bob}, "password": {bobPass}, "decision": {"approve"}}
	rec := f.do(formPost("/authorize", form))
	loc, err := url.Parse(rec.Header().Get("Location"))
	if rec.Code/100 != 3 || err != nil || loc.Query().Get("code") == "" || loc.Query().Get("state") != "s" {
		t.Fatalf("%d %v\n%s", rec.Code, rec.Header(), rec.Body)
	}
	form.Set("password", "")
	if rec := f.do(formPost("/authorize", form)); rec.Code != http.StatusUnprocessableEntity || !strings.Contains(rec.Body.String(), "Wrong username or password") {
		t.Errorf("empty password: %d\n%s", rec.Code, rec.Body)
	}
}

// TestPagesRefuseCrossOriginPosts: a form another site posts to the
// consent or the device page (Sec-Fetch-Site: cross-site, or an Origin
// other than the page's) is refused before anyone is signed in.
func TestPagesRefuseCrossOriginPosts(t *testing.T) {
	f := newPagesFixture(t)
	code := f.startDevice()
	for _, c := range []struct {
		path string
		form url.Values
	}{
		{"/device", url.Values{"user_code": {code}, "username": {bob}, "password": {bobPass}, "decision": {"approve"}}},
		{"/authorize", url.Values{"client_id": {appID}, "response_type": {"code"}, "redirect_uri": {appCB},
			"code_challenge": {runtime.S256Challenge(verifier)}, "code_challenge_method": {"S256"},
			"username": {bob}, "password": {bobPass}, "decision": {"approve"}}},
	} {
		for _, h := range []struct{ key, value string }{{"Sec-Fetch-Site", "cross-site"}, {"Origin", "https://evil.example"}} {
			r := formPost(c.path, c.form)
			r.Header.Set(h.key, h.value)
			rec := f.do(r)
			if rec.Code != http.StatusForbidden || rec.Header().Get("Location") != "" || !strings.Contains(rec.Body.String(), "another site") {
				t.Errorf("%s with %s: %s: %d %v\n%s", c.path, h.key, h.value, rec.Code, rec.Header(), rec.Body)
			}
		}
		r := formPost(c.path, c.form)
		r.Header.Set("Sec-Fetch-Site", "same-origin")
		if rec := f.do(r); rec.Code == http.StatusForbidden {
			t.Errorf("%s, same origin: %d\n%s", c.path, rec.Code, rec.Body)
		}
	}
}
