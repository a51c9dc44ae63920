package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/argon2"

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

// testPageSecret is the page secret of the fixtures' instances.
const testPageSecret = "a page secret of at least 32 bytes, as in production"

// cheapHash is an argon2id hash of password at the lowest cost, so tests
// that sign in a thousand times stay quick; the runtime reads the cost
// from the hash.
func cheapHash(password string) string {
	salt := []byte("0123456789abcdef")
	key := argon2.IDKey([]byte(password), salt, 1, 64, 1, 32)
	return fmt.Sprintf("$argon2id$v=%d$m=64,t=1,p=1$%s$%s", argon2.Version,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key))
}

// pagesFixture is the example's routes on an in-memory store, with a
// device client, an authorization code client and a user.
type pagesFixture struct {
	t     *testing.T
	h     http.Handler
	store *runtimetest.MemoryStore
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
	if err := store.AddUser(&runtime.User{ID: "u-bob", Username: bob, PasswordHash: cheapHash(bobPass)}); err != nil {
		t.Fatal(err)
	}
	f := &pagesFixture{t: t, store: store, clock: &clock{t: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)}}
	f.h = f.instance(testPageSecret)
	return f
}

// instance returns another server instance on the fixture's store and
// clock, whose device page signs tickets with secret, as serve does
// ("" for a random key).
func (f *pagesFixture) instance(secret string) http.Handler {
	f.t.Helper()
	srv, err := runtime.NewServer(runtime.Config{
		Issuer:            "https://as.example",
		AuthorizationCode: &runtime.AuthorizationCodeGrant{},
		DeviceCode:        &runtime.DeviceCodeGrant{},
		Now:               f.clock.Now,
	}, f.store)
	if err != nil {
		f.t.Fatal(err)
	}
	key, _, err := deviceTicketKey(secret)
	if err != nil {
		f.t.Fatal(err)
	}
	h, err := routes(srv, key)
	if err != nil {
		f.t.Fatal(err)
	}
	return h
}

func (f *pagesFixture) do(r *http.Request) *httptest.ResponseRecorder {
	return serveOn(f.h, r)
}

func serveOn(h http.Handler, r *http.Request) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
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

// pending reports whether the device authorization of a user code is
// still undecided.
func (f *pagesFixture) pending(userCode string) bool {
	f.t.Helper()
	d, err := f.store.GetDeviceCodeByUserCode(context.Background(), runtime.HashToken(runtime.NormalizeUserCode(userCode)))
	if err != nil {
		f.t.Fatal(err)
	}
	return d.Status == runtime.DevicePending
}

func formPost(path string, form url.Values) *http.Request {
	r := httptest.NewRequest(http.MethodPost, path, strings.NewReader(form.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return r
}

// from sets the address a request comes from.
func from(r *http.Request, addr string) *http.Request {
	r.RemoteAddr = addr
	return r
}

// signInForm is the device page's first step.
func signInForm(code, username, password string) url.Values {
	return url.Values{"user_code": {code}, "username": {username}, "password": {password}}
}

var ticketField = regexp.MustCompile(`name="ticket" value="([^"]+)"`)

// deviceTicket signs bob in on the device page's first step (on h) and
// returns the ticket of the decision step.
func (f *pagesFixture) deviceTicket(h http.Handler, code string) string {
	f.t.Helper()
	rec := serveOn(h, formPost("/device", signInForm(code, bob, bobPass)))
	m := ticketField.FindStringSubmatch(rec.Body.String())
	if rec.Code != 200 || m == nil {
		f.t.Fatalf("sign-in step: %d\n%s", rec.Code, rec.Body)
	}
	return html.UnescapeString(m[1])
}

// decide posts the device page's decision step.
func decide(code, ticket, decision string) *http.Request {
	return formPost("/device", url.Values{"user_code": {code}, "ticket": {ticket}, "decision": {decision}})
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
// to the signed-in user only.
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

	for i, c := range []struct{ what, username, password string }{
		{"wrong password", bob, "wrong"},
		{"unknown user", "mallory", "x"},
		{"no credentials", "", ""},
	} {
		// Each case from an address of its own: three failures each, under
		// the throttle's five.
		addr := fmt.Sprintf("192.0.2.%d:1", 10+i)
		post := func(code string) *httptest.ResponseRecorder {
			return f.do(from(formPost("/device", signInForm(code, c.username, c.password)), addr))
		}
		pv, pu := post(valid), post(unknown)
		if pv.Code != http.StatusUnprocessableEntity || strings.Contains(pv.Body.String(), tvName) || strings.Contains(pv.Body.String(), "ticket") {
			t.Errorf("%s: %d\n%s", c.what, pv.Code, pv.Body)
		}
		sameAnswer(t, c.what+", valid and unknown code", pv, pu, valid, unknown)
		sameAnswer(t, c.what+", expired and unknown code", post(expired), pu, expired, unknown)
	}

	// Signed in: unknown and expired codes get one message.
	signIn := func(code string) *httptest.ResponseRecorder {
		return f.do(formPost("/device", signInForm(code, bob, bobPass)))
	}
	pu, pe := signIn(unknown), signIn(expired)
	if pu.Code != http.StatusUnprocessableEntity || !strings.Contains(pu.Body.String(), "unknown or has expired") {
		t.Errorf("signed in, unknown code: %d\n%s", pu.Code, pu.Body)
	}
	sameAnswer(t, "signed in, unknown and expired code", pu, pe, unknown, expired)

	// Signed in with the valid code, typed by hand: the client and its
	// scopes are shown, and nothing is decided yet.
	typed := strings.ToLower(strings.ReplaceAll(valid, "-", ""))
	step := signIn(typed)
	body := step.Body.String()
	if step.Code != 200 || !strings.Contains(body, tvName) || !strings.Contains(body, "<code>read</code>") ||
		!strings.Contains(body, `name="decision" value="approve"`) || !strings.Contains(body, `name="decision" value="deny"`) ||
		strings.Contains(body, `name="password"`) {
		t.Fatalf("decision step: %d\n%s", step.Code, body)
	}
	if !f.pending(valid) {
		t.Fatal("signing in decided the device")
	}
	ticket := html.UnescapeString(ticketField.FindStringSubmatch(body)[1])
	done := f.do(decide(valid, ticket, "approve"))
	if done.Code != 200 || !strings.Contains(done.Body.String(), "Device connected") || !strings.Contains(done.Body.String(), tvName) {
		t.Errorf("approve: %d\n%s", done.Code, done.Body)
	}
	if again := f.do(decide(valid, ticket, "approve")); again.Code != http.StatusConflict || !strings.Contains(again.Body.String(), "Already answered") {
		t.Errorf("approve again: %d\n%s", again.Code, again.Body)
	}
}

// TestDevicePageDecisionStep: the decision step decides nothing without a
// choice, and Deny records a refusal.
func TestDevicePageDecisionStep(t *testing.T) {
	f := newPagesFixture(t)
	code := f.startDevice()
	ticket := f.deviceTicket(f.h, code)
	if rec := f.do(decide(code, ticket, "")); rec.Code != http.StatusUnprocessableEntity || !strings.Contains(rec.Body.String(), "Choose Allow or Deny") ||
		!strings.Contains(rec.Body.String(), tvName) || !f.pending(code) {
		t.Errorf("no decision: %d\n%s", rec.Code, rec.Body)
	}
	if rec := f.do(decide(code, ticket, "deny")); rec.Code != 200 || !strings.Contains(rec.Body.String(), "Device denied") || f.pending(code) {
		t.Errorf("deny: %d\n%s", rec.Code, rec.Body)
	}
}

// TestDeviceTicket: the decision step's ticket is accepted by another
// instance with the same page secret (behind a load balancer the two
// steps may reach different instances), and refused, deciding nothing,
// when it comes from an instance with another secret, has expired, was
// tampered with, or was issued for another code.
func TestDeviceTicket(t *testing.T) {
	f := newPagesFixture(t)
	refused := func(t *testing.T, h http.Handler, code, ticket string) {
		t.Helper()
		rec := serveOn(h, decide(code, ticket, "approve"))
		if rec.Code != http.StatusUnprocessableEntity || !strings.Contains(rec.Body.String(), "Sign in again") ||
			!strings.Contains(rec.Body.String(), `name="password"`) || !f.pending(code) {
			t.Errorf("%d, pending %v\n%s", rec.Code, f.pending(code), rec.Body)
		}
	}
	t.Run("another_instance_same_secret", func(t *testing.T) {
		code := f.startDevice()
		other := f.instance(testPageSecret)
		rec := serveOn(other, decide(code, f.deviceTicket(f.h, code), "approve"))
		if rec.Code != 200 || !strings.Contains(rec.Body.String(), "Device connected") || f.pending(code) {
			t.Errorf("%d\n%s", rec.Code, rec.Body)
		}
	})
	t.Run("another_secret", func(t *testing.T) {
		code := f.startDevice()
		refused(t, f.instance("another page secret, also 32 bytes or more"), code, f.deviceTicket(f.h, code))
	})
	t.Run("no_secret_random_keys", func(t *testing.T) {
		code := f.startDevice()
		a, b := f.instance(""), f.instance("")
		refused(t, b, code, f.deviceTicket(a, code))
	})
	t.Run("expired", func(t *testing.T) {
		code := f.startDevice()
		ticket := f.deviceTicket(f.h, code)
		f.clock.Add(ticketLifetime)
		refused(t, f.h, code, ticket)
	})
	t.Run("tampered", func(t *testing.T) {
		code := f.startDevice()
		ticket := f.deviceTicket(f.h, code)
		parts := strings.Split(ticket, ".")
		exp, _ := strconv.ParseInt(parts[1], 10, 64)
		for _, bad := range []string{
			base64.RawURLEncoding.EncodeToString([]byte("u-mallory")) + "." + parts[1] + "." + parts[2], // another user
			parts[0] + "." + strconv.FormatInt(exp+3600, 10) + "." + parts[2],                           // a later expiry
			parts[0] + "." + parts[1] + "." + parts[2][:len(parts[2])-2] + "AA",                         // another MAC
			parts[0] + "." + parts[1], "", "...", ticket + ".x",
		} {
			refused(t, f.h, code, bad)
		}
	})
	t.Run("another_code", func(t *testing.T) {
		mine, theirs := f.startDevice(), f.startDevice()
		refused(t, f.h, theirs, f.deviceTicket(f.h, mine))
	})
	t.Run("short_secret", func(t *testing.T) {
		if _, _, err := deviceTicketKey("short"); err == nil {
			t.Error("a 5-byte page secret was accepted")
		}
	})
}

// TestDevicePageThrottlesUserCodes is item 4 of issue 8 through the page:
// a signed-in user posting 1,000 wrong user codes from one address is
// refused with 429, Retry-After and a message for at least 95% of them;
// another address is not slowed.
func TestDevicePageThrottlesUserCodes(t *testing.T) {
	f := newPagesFixture(t)
	const attacker = "198.51.100.7:5555"
	var throttled int
	var last *httptest.ResponseRecorder
	for i := range 1000 {
		rec := f.do(from(formPost("/device", signInForm(fmt.Sprintf("BCDF-%04d", i), bob, bobPass)), attacker))
		switch rec.Code {
		case http.StatusTooManyRequests:
			throttled++
			last = rec
		case http.StatusUnprocessableEntity:
		default:
			t.Fatalf("guess %d: %d\n%s", i, rec.Code, rec.Body)
		}
	}
	t.Logf("1000 rapid wrong user codes from one address at POST /device: %d refused with 429 (%.1f%%)", throttled, float64(throttled)/10)
	if throttled < 950 {
		t.Errorf("%d of 1000 refused with 429, want >= 950", throttled)
	}
	if last == nil {
		t.Fatal("no guess was refused")
	}
	if ra, err := strconv.Atoi(last.Header().Get("Retry-After")); err != nil || ra < 1 ||
		!regexp.MustCompile(`Too many attempts; try again in \d+ seconds?\.`).MatchString(last.Body.String()) {
		t.Errorf("429 page: Retry-After %q\n%s", last.Header().Get("Retry-After"), last.Body)
	}
	// A real code from the blocked address is refused too: the block
	// tells nothing about the code.
	code := f.startDevice()
	if rec := f.do(from(formPost("/device", signInForm(code, bob, bobPass)), attacker)); rec.Code != http.StatusTooManyRequests || strings.Contains(rec.Body.String(), tvName) {
		t.Errorf("a real code from the blocked address: %d\n%s", rec.Code, rec.Body)
	}
	// bob from elsewhere is not slowed: the guesses signed in, so his
	// account is not blocked, and the address block is the attacker's.
	if rec := f.do(from(formPost("/device", signInForm(code, bob, bobPass)), "203.0.113.9:1")); rec.Code != 200 || !strings.Contains(rec.Body.String(), tvName) {
		t.Errorf("bob from another address: %d\n%s", rec.Code, rec.Body)
	}
}

// TestPagesThrottlePasswords is item 4 of issue 8 at the consent form and
// the device page's sign-in: after five wrong passwords, the next attempt
// is refused with 429, Retry-After and a message, without being checked
// (the right password too); a successful sign-in before is not slowed.
func TestPagesThrottlePasswords(t *testing.T) {
	authorizeForm := func(password string) url.Values {
		return url.Values{"client_id": {appID}, "response_type": {"code"}, "redirect_uri": {appCB}, "state": {"s"},
			"code_challenge": {runtime.S256Challenge(verifier)}, "code_challenge_method": {"S256"},
			"username": {bob}, "password": {password}, "decision": {"approve"}}
	}
	for _, c := range []struct {
		page string
		form func(password string) url.Values
		ok   int
	}{
		{"/authorize", authorizeForm, http.StatusSeeOther},
		{"/device", func(password string) url.Values { return signInForm("BCDF-GHJK", bob, password) }, http.StatusUnprocessableEntity},
	} {
		t.Run(strings.TrimPrefix(c.page, "/"), func(t *testing.T) {
			f := newPagesFixture(t)
			if rec := f.do(formPost(c.page, c.form(bobPass))); rec.Code != c.ok {
				t.Fatalf("right password: %d\n%s", rec.Code, rec.Body)
			}
			for i := range 5 {
				if rec := f.do(formPost(c.page, c.form("wrong"))); rec.Code != http.StatusUnprocessableEntity || !strings.Contains(rec.Body.String(), "Wrong username or password") {
					t.Fatalf("wrong password %d: %d\n%s", i+1, rec.Code, rec.Body)
				}
			}
			for _, pw := range []string{"wrong", bobPass} {
				rec := f.do(formPost(c.page, c.form(pw)))
				ra, err := strconv.Atoi(rec.Header().Get("Retry-After"))
				if rec.Code != http.StatusTooManyRequests || err != nil || ra < 1 || rec.Header().Get("Location") != "" ||
					!strings.Contains(rec.Body.String(), fmt.Sprintf("Too many attempts; try again in %d second", ra)) ||
					!strings.Contains(rec.Body.String(), `name="password"`) {
					t.Errorf("password %q after five failures: %d %v\n%s", pw, rec.Code, rec.Header(), rec.Body)
				}
			}
			// Once the delay has passed, the right password signs in.
			f.clock.Add(time.Minute)
			if rec := f.do(formPost(c.page, c.form(bobPass))); rec.Code != c.ok {
				t.Errorf("right password after the delay: %d\n%s", rec.Code, rec.Body)
			}
		})
	}
}

// TestRefusal: a throttled attempt is 429 and a busy one 503, each with
// Retry-After and a message in whole seconds.
func TestRefusal(t *testing.T) {
	for _, c := range []struct {
		err    error
		status int
		msg    string
	}{
		{fmt.Errorf("page: %w", runtime.ErrTooManyAttempts), 429, "Too many attempts; try again in 1 second."},
		{fmt.Errorf("page: %w", runtime.ErrBusy), 503, "Too many sign-ins at once; try again in 1 second."},
	} {
		rec := httptest.NewRecorder()
		status, msg, ok := refusal(rec, c.err)
		if !ok || status != c.status || msg != c.msg || rec.Header().Get("Retry-After") != "1" {
			t.Errorf("%v: %d %q %v, Retry-After %q", c.err, status, msg, ok, rec.Header().Get("Retry-After"))
		}
	}
	if _, _, ok := refusal(httptest.NewRecorder(), runtime.ErrInvalidCredentials); ok {
		t.Error("refusal took invalid credentials for a refusal")
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
			if body.n > runtime.DefaultMaxBodyBytes {
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
