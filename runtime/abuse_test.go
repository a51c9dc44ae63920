package runtime_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	goruntime "runtime"
	"runtime/debug"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/oauthgen/oauthgen/runtime"
	"github.com/oauthgen/oauthgen/runtime/runtimetest"
)

// The abuse suite: one test per item of issue 8 that the runtime owns,
// asserting the figures the issue asks for.

// manyScopes returns n distinct scope tokens, space-separated.
func manyScopes(n int) string {
	var b strings.Builder
	for i := range n {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString("s" + strconv.Itoa(i))
	}
	return b.String()
}

// timed runs fn and returns how long it took.
func timed(fn func()) time.Duration {
	start := time.Now()
	fn()
	return time.Since(start)
}

// Item 1: 50k distinct scopes cost next to nothing and get invalid_scope
// with a short description; ParseScope itself is linear.
func TestAbuseScopeFlood(t *testing.T) {
	const n = 50_000
	scopes := manyScopes(n)
	const bound = 50 * time.Millisecond

	t.Run("ParseScope_linear", func(t *testing.T) {
		// Growth, not wall time: fifty times the scopes must cost far
		// less than the 2,500 times a rescan would (maps and caches make
		// linear work grow somewhat faster than the input).
		const factor = 50
		small := manyScopes(n / factor)
		var got []string
		fastest := func(fn func()) time.Duration {
			best := time.Hour
			for range 7 {
				goruntime.GC()
				best = min(best, timed(fn))
			}
			return best
		}
		dSmall := fastest(func() { runtime.ParseScope(small) })
		dLarge := fastest(func() { got, _ = runtime.ParseScope(scopes) })
		ratio := float64(dLarge) / float64(dSmall)
		t.Logf("ParseScope: %d scopes %v, %d scopes %v (×%.1f)", n/factor, dSmall, n, dLarge, ratio)
		if len(got) != n {
			t.Fatalf("got %d scopes", len(got))
		}
		if ratio > 10*factor && !raceEnabled {
			t.Errorf("%d× the scopes cost ×%.1f, want about linear (< ×%d)", factor, ratio, 10*factor)
		}
	})

	t.Run("authorize", func(t *testing.T) {
		f := newFixture(t)
		p := url.Values{"response_type": {"code"}, "client_id": {"conf"}, "redirect_uri": {redirectURI}, "state": {"st"},
			"code_challenge": {runtime.S256Challenge(verifier)}, "code_challenge_method": {"S256"}, "scope": {scopes}}
		req := httptest.NewRequest(http.MethodGet, "/authorize?"+p.Encode(), nil)
		var err error
		d := timed(func() { _, err = f.srv.ValidateAuthorizationRequest(req) })
		t.Logf("ValidateAuthorizationRequest, %d scopes (%d bytes of query): %v", n, len(req.URL.RawQuery), d)
		if d > bound && !raceEnabled {
			t.Errorf("took %v, want < %v", d, bound)
		}
		rec := httptest.NewRecorder()
		f.srv.WriteAuthorizationError(rec, req, err)
		loc, _ := url.Parse(rec.Header().Get("Location"))
		q := loc.Query()
		if q.Get("error") != runtime.InvalidScope || q.Get("state") != "st" {
			t.Fatalf("redirect %s, want error=invalid_scope with state", loc)
		}
		if desc := q.Get("error_description"); len(desc) > 256 || strings.Contains(desc, "s1 s2") {
			t.Errorf("error_description echoes the input (%d bytes): %.80q", len(desc), desc)
		}
	})

	t.Run("token_default_limit", func(t *testing.T) {
		f := newFixture(t)
		var res response
		d := timed(func() {
			res = f.post("/token", "conf", confSecret, url.Values{"grant_type": {"client_credentials"}, "scope": {scopes}})
		})
		t.Logf("token endpoint, %d scopes, default body limit: %v: %d %s", n, d, res.Status, res.Raw)
		if res.Status != 400 || res.str("error") != runtime.InvalidRequest || !strings.Contains(res.str("error_description"), "request body too large") {
			t.Errorf("got %d %s, want invalid_request: request body too large", res.Status, res.Raw)
		}
		if d > bound && !raceEnabled {
			t.Errorf("took %v, want < %v", d, bound)
		}
	})

	t.Run("token_raised_body_limit", func(t *testing.T) {
		f := newFixture(t, func(c *runtime.Config) { c.Limits.MaxBodyBytes = 1 << 20; c.Limits.MaxValueBytes = 1 << 20 })
		var res response
		d := timed(func() {
			res = f.post("/token", "conf", confSecret, url.Values{"grant_type": {"client_credentials"}, "scope": {scopes}})
		})
		t.Logf("token endpoint, %d scopes, 1 MiB limits: %v: %d %s", n, d, res.Status, res.Raw)
		if res.Status != 400 || res.str("error") != runtime.InvalidScope {
			t.Errorf("got %d %s, want invalid_scope", res.Status, res.Raw)
		}
		if d > bound && !raceEnabled {
			t.Errorf("took %v, want < %v", d, bound)
		}
	})

	t.Run("device_authorization_13k", func(t *testing.T) {
		f := newFixture(t, func(c *runtime.Config) { c.Limits.MaxBodyBytes = 1 << 20 })
		var res response
		d := timed(func() {
			res = f.post("/device_authorization", "public", "", url.Values{"scope": {manyScopes(13_000)}})
		})
		t.Logf("device authorization, 13k scopes: %v: %d %s", d, res.Status, res.Raw)
		if res.str("error") != runtime.InvalidScope || d > bound && !raceEnabled {
			t.Errorf("got %d %s in %v, want invalid_scope in < %v", res.Status, res.Raw, d, bound)
		}
	})

	t.Run("limits", func(t *testing.T) {
		f := newFixture(t)
		for _, tc := range []struct {
			name string
			form url.Values
			code string
			desc string
		}{
			{"65_scopes", url.Values{"scope": {manyScopes(65)}}, runtime.InvalidScope, "too many scopes: at most 64"},
			{"64_scopes_pass_the_limit", url.Values{"scope": {manyScopes(64)}}, runtime.InvalidScope, "unknown scope s0"},
			{"long_value", url.Values{"assertion": {strings.Repeat("a", 4097)}}, runtime.InvalidRequest, "parameter assertion is too long"},
			{"many_parameters", func() url.Values {
				v := url.Values{}
				for i := range 70 {
					v.Set("p"+strconv.Itoa(i), "x")
				}
				return v
			}(), runtime.InvalidRequest, "too many parameters: at most 64"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				form := cloneValues(tc.form)
				form.Set("grant_type", "client_credentials")
				res := f.post("/token", "conf", confSecret, form)
				if res.str("error") != tc.code || !strings.Contains(res.str("error_description"), tc.desc) {
					t.Errorf("got %d %s, want %s %q", res.Status, res.Raw, tc.code, tc.desc)
				}
			})
		}
	})
}

// rss returns the process's resident set size in bytes.
func rss(t testing.TB) int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		t.Skipf("no /proc/self/status: %v", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10
		}
	}
	t.Skip("no VmRSS")
	return 0
}

// Item 2: 128 concurrent failed logins (argon2id: alice and unknown
// users) stay under 300 MiB of RSS; excess waits, then gets a clean 503
// with Retry-After; good logins still succeed.
func TestAbuseConcurrentFailedLogins(t *testing.T) {
	f := newFixture(t, func(c *runtime.Config) {
		c.Throttle.Disabled = true // every attempt reaches the hashing
		c.Hashing.MaxWait = time.Minute
	})
	aliceHash()          // made before measuring
	debug.FreeOSMemory() // what earlier tests left is not this test's
	var peak atomic.Int64
	stop := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		for {
			if r := rss(t); r > peak.Load() {
				peak.Store(r)
			}
			select {
			case <-stop:
				return
			case <-time.After(5 * time.Millisecond):
			}
		}
	}()
	before := rss(t)
	var wg sync.WaitGroup
	var refused, other atomic.Int64
	start := time.Now()
	for i := range 128 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			username := "alice"
			if i%2 == 1 {
				username = "nobody" + strconv.Itoa(i)
			}
			res := f.post("/token", "public", "", url.Values{"grant_type": {"password"}, "username": {username}, "password": {"wrong"}})
			switch {
			case res.Status == 400 && res.str("error") == runtime.InvalidGrant:
				refused.Add(1)
			default:
				other.Add(1)
				t.Errorf("%s: %d %s", username, res.Status, res.Raw)
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	close(stop)
	<-sampled
	t.Logf("128 concurrent failed logins in %v: %d invalid_grant; RSS before %d MiB, peak %d MiB",
		elapsed, refused.Load(), before>>20, peak.Load()>>20)
	// A server idles at well under 60 MiB: growth under 240 MiB keeps it
	// under 300 MiB.
	if growth := peak.Load() - before; !raceEnabled && (growth > 240<<20 || peak.Load() > 300<<20 && before < 60<<20) {
		t.Errorf("RSS grew by %d MiB to %d MiB, want < 240 MiB and < 300 MiB", growth>>20, peak.Load()>>20)
	}
	res := f.post("/token", "public", "", url.Values{"grant_type": {"password"}, "username": {"alice"}, "password": {alicePass}})
	if res.Status != 200 {
		t.Errorf("good login after the flood: %d %s", res.Status, res.Raw)
	}

	t.Run("excess_gets_503_retry_after", func(t *testing.T) {
		f := newFixture(t, func(c *runtime.Config) {
			c.Throttle.Disabled = true
			c.Hashing.MemoryBytes = 1 // one verification at a time
			c.Hashing.MaxWait = 50 * time.Millisecond
		})
		var wg sync.WaitGroup
		var ok, busy atomic.Int64
		for range 16 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				res := f.post("/token", "public", "", url.Values{"grant_type": {"password"}, "username": {"alice"}, "password": {alicePass}})
				switch {
				case res.Status == 200:
					ok.Add(1)
				case res.Status == 503 && res.str("error") == runtime.TemporarilyUnavailable && res.Header.Get("Retry-After") == "1":
					busy.Add(1)
				default:
					t.Errorf("%d %v %s", res.Status, res.Header, res.Raw)
				}
			}()
		}
		wg.Wait()
		t.Logf("16 concurrent good logins, budget of one, 50 ms wait: %d succeeded, %d got 503 Retry-After: 1", ok.Load(), busy.Load())
		if ok.Load() == 0 || busy.Load() == 0 {
			t.Errorf("want some successes and some 503s")
		}
		// Once the flood is over, a good login goes through (after at
		// most the Retry-After it was told).
		var err error
		for range 5 {
			if _, err = f.srv.AuthenticateUser(context.Background(), "alice", alicePass); runtime.RetryAfter(err) == 0 {
				break
			}
			time.Sleep(runtime.RetryAfter(err))
		}
		if err != nil {
			t.Errorf("good login once idle: %v", err)
		}
	})
}

// countingReader is an endless body that counts what was read of it.
type countingReader struct{ n atomic.Int64 }

func (c *countingReader) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = 'a'
	}
	c.n.Add(int64(len(p)))
	return len(p), nil
}

// Item 3: form endpoints and ReadForm take only urlencoded bodies within
// the limit: a 1 GiB multipart body is refused having read at most the
// limit, with no file on disk; an oversized urlencoded one is "request
// body too large".
func TestAbuseFormBodies(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	f := newFixture(t)
	const gib = 1 << 30
	multipart := func(path string) (*http.Request, *countingReader) {
		body := &countingReader{}
		head := "--b\r\nContent-Disposition: form-data; name=\"user_code\"; filename=\"x\"\r\n\r\n"
		req := httptest.NewRequest(http.MethodPost, path, io.MultiReader(strings.NewReader(head), io.LimitReader(body, gib)))
		req.Header.Set("Content-Type", "multipart/form-data; boundary=b")
		return req, body
	}
	endpoints := []string{"/token", "/revoke", "/introspect", "/device_authorization"}
	for _, path := range endpoints {
		req, body := multipart(path)
		res := f.serve(basic(req, "conf", confSecret))
		if res.Status != 400 || res.str("error") != runtime.InvalidRequest || !strings.Contains(res.str("error_description"), "application/x-www-form-urlencoded") {
			t.Errorf("%s multipart: %d %s", path, res.Status, res.Raw)
		}
		t.Logf("%s: 1 GiB multipart refused after reading %d bytes", path, body.n.Load())
	}
	// The application's pages: ValidateAuthorizationRequest (POST) and ReadForm.
	req, body := multipart("/authorize")
	if _, err := f.srv.ValidateAuthorizationRequest(req); err == nil || !strings.Contains(err.Error(), "application/x-www-form-urlencoded") {
		t.Errorf("authorize multipart: %v", err)
	}
	if _, err := f.srv.ReadForm(httptest.NewRecorder(), req); err == nil {
		t.Error("ReadForm took a multipart body")
	}
	if body.n.Load() > 0 {
		t.Errorf("read %d bytes of a refused multipart body", body.n.Load())
	}
	if entries, _ := os.ReadDir(tmp); len(entries) != 0 {
		t.Errorf("files on disk: %v", entries)
	}
	var size int64
	filepath.Walk(tmp, func(_ string, fi os.FileInfo, _ error) error {
		if fi != nil && fi.Mode().IsRegular() {
			size += fi.Size()
		}
		return nil
	})
	t.Logf("bytes of files in TMPDIR after the multipart requests: %d", size)
	if size != 0 {
		t.Errorf("%d bytes of files on disk", size)
	}

	for _, tc := range []struct {
		name string
		call func(*http.Request) error
	}{
		{"authorize", func(r *http.Request) error { _, err := f.srv.ValidateAuthorizationRequest(r); return err }},
		{"ReadForm", func(r *http.Request) error { _, err := f.srv.ReadForm(httptest.NewRecorder(), r); return err }},
		{"token", func(r *http.Request) error {
			res := f.serve(r)
			return errors.New(res.str("error_description"))
		}},
	} {
		body := &countingReader{}
		req := httptest.NewRequest(http.MethodPost, "/token", io.LimitReader(body, 10<<20))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		err := tc.call(req)
		if err == nil || !strings.Contains(err.Error(), "request body too large: at most 65536 bytes") {
			t.Errorf("%s, 10 MB urlencoded body: %v", tc.name, err)
		}
		if body.n.Load() > 2*runtime.DefaultMaxBodyBytes {
			t.Errorf("%s read %d bytes of a 10 MB body", tc.name, body.n.Load())
		}
	}
}

// Item 4: failed attempts are throttled per identifier and per source
// address, with 429 and Retry-After; successes are never slowed.
func TestAbuseThrottle(t *testing.T) {
	ccWith := func(f *fixture, id, secret, remote string, xff ...string) response {
		req := basic(formRequest("/token", url.Values{"grant_type": {"client_credentials"}}), id, secret)
		req.RemoteAddr = remote
		for _, x := range xff {
			req.Header.Add("X-Forwarded-For", x)
		}
		return f.serve(req)
	}

	t.Run("client_secret_guesses", func(t *testing.T) {
		f := newFixture(t)
		var statuses []int
		for range 20 {
			statuses = append(statuses, ccWith(f, "conf", "wrong", "192.0.2.7:1000").Status)
		}
		t.Logf("20 wrong secrets from one address: %v", statuses)
		if want := append(slices.Repeat([]int{401}, 5), slices.Repeat([]int{429}, 15)...); !slices.Equal(statuses, want) {
			t.Errorf("statuses %v, want %v", statuses, want)
		}
		res := ccWith(f, "conf", "wrong", "192.0.2.7:1000")
		if res.Header.Get("Retry-After") == "" || res.str("error") != runtime.TemporarilyUnavailable {
			t.Errorf("429 without Retry-After: %v %s", res.Header, res.Raw)
		}
		// The right secret from the blocked address is refused…
		if res := ccWith(f, "conf", confSecret, "192.0.2.7:1000"); res.Status != 429 {
			t.Errorf("blocked address: %d", res.Status)
		}
		// …from elsewhere it succeeds: issued secrets cannot be guessed,
		// so guesses must not lock the client out.
		if res := ccWith(f, "conf", confSecret, "198.51.100.1:1"); res.Status != 200 {
			t.Errorf("right secret from another address: %d %s", res.Status, res.Raw)
		}
	})

	t.Run("imported_secret_id_blocked", func(t *testing.T) {
		f := newFixture(t)
		for i := range 6 {
			ccWith(f, "imported", "wrong", "192.0.2."+strconv.Itoa(i+1)+":1")
		}
		// bcrypt secrets are worth guessing: the id is blocked from any address.
		if res := ccWith(f, "imported", bcryptSecret, "198.51.100.9:1"); res.Status != 429 || res.Header.Get("Retry-After") == "" {
			t.Errorf("blocked bcrypt client: %d %v", res.Status, res.Header)
		}
		f.clock.Add(time.Hour)
		if res := ccWith(f, "imported", bcryptSecret, "198.51.100.9:1"); res.Status != 200 {
			t.Errorf("after the delay: %d %s", res.Status, res.Raw)
		}
	})

	t.Run("password_grant", func(t *testing.T) {
		f := newFixture(t)
		pw := func(user, pass, remote string) response {
			req := formRequest("/token", url.Values{"grant_type": {"password"}, "client_id": {"public"}, "username": {user}, "password": {pass}})
			req.RemoteAddr = remote
			return f.serve(req)
		}
		var statuses []int
		for i := range 8 {
			statuses = append(statuses, pw("bob", "wrong", "203.0.113."+strconv.Itoa(i)+":1").Status)
		}
		t.Logf("8 wrong passwords for bob from 8 addresses: %v", statuses)
		if statuses[4] != 400 || statuses[5] != 429 || statuses[7] != 429 {
			t.Errorf("statuses %v: want 400 ×5, then 429", statuses)
		}
		f.clock.Add(10 * time.Minute)
		if res := pw("bob", bobPass, "203.0.113.99:1"); res.Status != 200 {
			t.Errorf("bob after the delay: %d %s", res.Status, res.Raw)
		}
		// The success cleared bob's count: one more failure is not blocked.
		if res := pw("bob", "wrong", "203.0.113.98:1"); res.Status != 400 {
			t.Errorf("first failure after a success: %d", res.Status)
		}
	})

	t.Run("login_page_helpers", func(t *testing.T) {
		f := newFixture(t)
		req := httptest.NewRequest(http.MethodPost, "/authorize", nil)
		req.RemoteAddr = "192.0.2.50:4444"
		for i := range 5 {
			if _, err := f.srv.AuthenticateLogin(req, "user"+strconv.Itoa(i), "wrong"); !errors.Is(err, runtime.ErrInvalidCredentials) {
				t.Fatalf("attempt %d: %v", i, err)
			}
		}
		_, err := f.srv.AuthenticateLogin(req, "bob", bobPass)
		if !errors.Is(err, runtime.ErrTooManyAttempts) || runtime.RetryAfter(err) <= 0 {
			t.Errorf("sixth login from the address: %v (retry after %v)", err, runtime.RetryAfter(err))
		}
		if wait, err := f.srv.CheckLogin(req, "bob"); err != nil || wait <= 0 {
			t.Errorf("CheckLogin = %v, %v; want a wait", wait, err)
		}
		other := httptest.NewRequest(http.MethodPost, "/authorize", nil)
		other.RemoteAddr = "192.0.2.51:4444"
		if _, err := f.srv.AuthenticateLogin(other, "bob", bobPass); err != nil {
			t.Errorf("bob from another address: %v", err)
		}
	})

	t.Run("user_code_guesses", func(t *testing.T) {
		f := newFixture(t)
		req := httptest.NewRequest(http.MethodGet, "/device", nil)
		req.RemoteAddr = "192.0.2.60:1"
		var throttled int
		for i := range 1000 {
			_, err := f.srv.LookupUserCodeFrom(req, fmt.Sprintf("BCDF-%04d", i))
			switch {
			case errors.Is(err, runtime.ErrTooManyAttempts):
				throttled++
			case errors.Is(err, runtime.ErrNotFound):
			default:
				t.Fatalf("guess %d: %v", i, err)
			}
		}
		t.Logf("1000 rapid wrong user codes from one address: %d refused with 429 (%.1f%%)", throttled, float64(throttled)/10)
		if throttled < 950 {
			t.Errorf("%d of 1000 throttled, want >= 950", throttled)
		}
		var e *runtime.Error
		_, err := f.srv.LookupUserCodeFrom(req, "BCDF-GHJK")
		if !errors.As(err, &e) || e.HTTPStatus() != 429 {
			t.Errorf("error %v, want a 429 *Error", err)
		}
	})

	t.Run("x_forwarded_for", func(t *testing.T) {
		for _, tc := range []struct {
			name    string
			proxies []string
			remote  string
			xff     []string
			want    string
		}{
			{"ignored_by_default", nil, "10.0.0.1:5", []string{"198.51.100.1"}, "10.0.0.1"},
			{"trusted_proxy", []string{"10.0.0.0/8"}, "10.0.0.1:5", []string{"198.51.100.1"}, "198.51.100.1"},
			{"spoofed_left_hops_ignored", []string{"10.0.0.0/8"}, "10.0.0.1:5", []string{"1.2.3.4, 198.51.100.1"}, "198.51.100.1"},
			{"chain_of_proxies", []string{"10.0.0.0/8", "192.168.1.1"}, "10.0.0.1:5", []string{"198.51.100.1, 192.168.1.1"}, "198.51.100.1"},
			{"untrusted_remote", []string{"10.0.0.0/8"}, "203.0.113.5:5", []string{"198.51.100.1"}, "203.0.113.5"},
			{"garbage_hop", []string{"10.0.0.0/8"}, "10.0.0.1:5", []string{"nonsense"}, "10.0.0.1"},
			{"ipv6", nil, "[2001:db8::1]:5", nil, "2001:db8::1"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				f := newFixture(t, func(c *runtime.Config) { c.Throttle.TrustedProxies = tc.proxies })
				req := httptest.NewRequest(http.MethodGet, "/", nil)
				req.RemoteAddr = tc.remote
				for _, x := range tc.xff {
					req.Header.Add("X-Forwarded-For", x)
				}
				if got := f.srv.SourceAddress(req).String(); got != tc.want {
					t.Errorf("SourceAddress = %s, want %s", got, tc.want)
				}
			})
		}
		if _, err := runtime.NewServer(runtime.Config{Throttle: runtime.ThrottleConfig{TrustedProxies: []string{"not-a-cidr"}}}, newFixture(t).store); err == nil {
			t.Error("NewServer accepted a malformed trusted proxy")
		}
	})

	t.Run("successes_write_nothing", func(t *testing.T) {
		lim := &countingLimiter{Limiter: runtime.NewMemoryLimiter()}
		f := newFixture(t, func(c *runtime.Config) { c.Throttle.Limiter = lim })
		for range 10 {
			f.mustToken("conf", confSecret, ccForm)
		}
		if n := lim.writes.Load(); n != 0 {
			t.Errorf("10 successful token requests made %d limiter writes", n)
		}
	})

	// Issue 9: a BatchLimiter is read once per attempt (client and
	// address together); a plain Limiter once per key, and still blocks.
	t.Run("one_read_per_attempt", func(t *testing.T) {
		lim := &batchCountingLimiter{MemoryLimiter: runtime.NewMemoryLimiter()}
		f := newFixture(t, func(c *runtime.Config) { c.Throttle.Limiter = lim })
		for range 10 {
			f.mustToken("conf", confSecret, ccForm)
		}
		if b, one := lim.batchReads.Load(), lim.reads.Load(); b != 10 || one != 0 {
			t.Errorf("10 token requests: %d FailuresOf and %d Failures calls, want 10 and 0", b, one)
		}
		if k := lim.batchKeys.Load(); k != 20 {
			t.Errorf("FailuresOf read %d keys in 10 requests, want 20 (client and address)", k)
		}
	})
	t.Run("plain_limiter_reads_each_key", func(t *testing.T) {
		lim := &countingLimiter{Limiter: runtime.NewMemoryLimiter()}
		f := newFixture(t, func(c *runtime.Config) { c.Throttle.Limiter = lim })
		var statuses []int
		for range 8 {
			statuses = append(statuses, ccWith(f, "conf", "wrong", "192.0.2.7:1000").Status)
		}
		if want := append(slices.Repeat([]int{401}, 5), slices.Repeat([]int{429}, 3)...); !slices.Equal(statuses, want) {
			t.Errorf("statuses %v, want %v", statuses, want)
		}
		if n := lim.reads.Load(); n != 16 {
			t.Errorf("8 attempts made %d Failures calls, want 16 (client and address each)", n)
		}
	})
}

// batchCountingLimiter counts the reads of a BatchLimiter.
type batchCountingLimiter struct {
	*runtime.MemoryLimiter
	reads, batchReads, batchKeys atomic.Int64
}

func (c *batchCountingLimiter) Failures(ctx context.Context, key string, since time.Time) (int, time.Time, error) {
	c.reads.Add(1)
	return c.MemoryLimiter.Failures(ctx, key, since)
}

func (c *batchCountingLimiter) FailuresOf(ctx context.Context, keys []string, since time.Time) ([]int, []time.Time, error) {
	c.batchReads.Add(1)
	c.batchKeys.Add(int64(len(keys)))
	return c.MemoryLimiter.FailuresOf(ctx, keys, since)
}

// countingLimiter counts the reads and writes made to a Limiter (not a
// BatchLimiter: it has only the Limiter methods).
type countingLimiter struct {
	runtime.Limiter
	reads, writes atomic.Int64
}

func (c *countingLimiter) Failures(ctx context.Context, key string, since time.Time) (int, time.Time, error) {
	c.reads.Add(1)
	return c.Limiter.Failures(ctx, key, since)
}

func (c *countingLimiter) AddFailure(ctx context.Context, key string, now, since time.Time) (int, error) {
	c.writes.Add(1)
	return c.Limiter.AddFailure(ctx, key, now, since)
}

func (c *countingLimiter) Reset(ctx context.Context, key string) error {
	c.writes.Add(1)
	return c.Limiter.Reset(ctx, key)
}

// Item 8: an empty username or password never signs in, even when a user
// was stored with them.
func TestAbuseEmptyCredentials(t *testing.T) {
	f := newFixture(t)
	if err := f.store.AddUser(&runtime.User{ID: "u-empty", Username: "", PasswordHash: runtime.HashPassword("")}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ user, pass string }{{"", ""}, {"alice", ""}, {"", alicePass}} {
		if u, err := f.srv.AuthenticateUser(context.Background(), c.user, c.pass); !errors.Is(err, runtime.ErrInvalidCredentials) {
			t.Errorf("AuthenticateUser(%q, %q) = %v, %v", c.user, c.pass, u, err)
		}
	}
	if err := runtime.CheckCredentials("", ""); !errors.Is(err, runtime.ErrEmptyCredentials) {
		t.Errorf("CheckCredentials empty: %v", err)
	}
	if err := runtime.CheckCredentials("bob", "x\ny"); err == nil {
		t.Error("CheckCredentials accepted a control character")
	}
	if err := runtime.CheckCredentials("bob", "pw"); err != nil {
		t.Errorf("CheckCredentials: %v", err)
	}
}

// Item 10: 303 after a POST, nosniff everywhere, loopback ports 1–65535,
// short error descriptions.
func TestAbuseRedirectsAndHeaders(t *testing.T) {
	f := newFixture(t)
	params := url.Values{"response_type": {"code"}, "client_id": {"conf"}, "redirect_uri": {redirectURI}, "state": {"st"},
		"code_challenge": {runtime.S256Challenge(verifier)}, "code_challenge_method": {"S256"}}

	t.Run("303_after_post", func(t *testing.T) {
		post := f.serve(formRequest("/authorize", params))
		get := f.serve(httptest.NewRequest(http.MethodGet, "/authorize?"+params.Encode(), nil))
		if post.Status != http.StatusSeeOther || get.Status != http.StatusFound {
			t.Errorf("POST %d, GET %d; want 303, 302", post.Status, get.Status)
		}
		bad := cloneValues(params)
		bad.Set("scope", "nuke")
		if res := f.serve(formRequest("/authorize", bad)); res.Status != http.StatusSeeOther {
			t.Errorf("error redirect after POST: %d", res.Status)
		}
	})

	t.Run("nosniff", func(t *testing.T) {
		tok := f.mustToken("conf", confSecret, ccForm)
		for name, res := range map[string]response{
			"token":         tok,
			"token_error":   f.post("/token", "conf", "wrong", ccForm),
			"revoke":        f.post("/revoke", "conf", confSecret, url.Values{"token": {tok.str("access_token")}}),
			"introspect":    f.post("/introspect", "conf", confSecret, url.Values{"token": {tok.str("access_token")}}),
			"device":        f.post("/device_authorization", "public", "", nil),
			"redirect":      f.serve(httptest.NewRequest(http.MethodGet, "/authorize?"+params.Encode(), nil)),
			"authorize_400": f.serve(httptest.NewRequest(http.MethodGet, "/authorize?client_id=nobody", nil)),
			"bearer_none":   f.get("/resource", ""),
			"bearer_bad":    f.get("/resource", "nope"),
			"metadata":      f.get(runtime.MetadataPath, ""),
		} {
			if got := res.Header.Get("X-Content-Type-Options"); got != "nosniff" {
				t.Errorf("%s (%d): X-Content-Type-Options = %q", name, res.Status, got)
			}
		}
	})

	t.Run("loopback_port_range", func(t *testing.T) {
		for _, tc := range []struct {
			uri string
			ok  bool
		}{
			{"http://127.0.0.1:8080/cb", true},
			{"http://127.0.0.1:1/cb", true},
			{"http://127.0.0.1:65535/cb", true},
			{"http://127.0.0.1/cb", true},
			{"http://127.0.0.1:/cb", false},
			{"http://127.0.0.1:0/cb", false},
			{"http://127.0.0.1:65536/cb", false},
			{"http://127.0.0.1:99999999999/cb", false},
			{"http://127.0.0.1:+80/cb", false},
		} {
			p := url.Values{"response_type": {"code"}, "client_id": {"public"}, "redirect_uri": {tc.uri},
				"code_challenge": {runtime.S256Challenge(verifier)}, "code_challenge_method": {"S256"}}
			_, err := f.srv.ValidateAuthorizationRequest(httptest.NewRequest(http.MethodGet, "/authorize?"+p.Encode(), nil))
			if (err == nil) != tc.ok {
				t.Errorf("%s: err = %v, want ok=%v", tc.uri, err, tc.ok)
			}
		}
	})

	t.Run("error_description_truncated", func(t *testing.T) {
		long := strings.Repeat("x", 3000)
		res := f.token(url.Values{"grant_type": {"client_credentials"}, "scope": {long}})
		desc := res.str("error_description")
		t.Logf("unknown 3000-byte scope: %d-byte description %q", len(desc), desc)
		if res.str("error") != runtime.InvalidScope || len(desc) > 100 || strings.Count(desc, "x") > 41 {
			t.Errorf("got %s", res.Raw)
		}
		res = f.token(url.Values{"grant_type": {"client_credentials"}, "scope": {strings.Repeat("y", 60_000)}})
		if len(res.str("error_description")) > 100 || res.str("error") != runtime.InvalidScope {
			t.Errorf("60 KB scope: %s", res.Raw)
		}
		res = f.token(url.Values{"grant_type": {"urn:" + strings.Repeat("z", 3000)}})
		if len(res.str("error_description")) > 256 {
			t.Errorf("long grant_type echoed: %d bytes", len(res.str("error_description")))
		}
	})
}

// median runs fn n times and returns the median duration.
func median(n int, fn func()) time.Duration {
	ds := make([]time.Duration, n)
	for i := range ds {
		ds[i] = timed(fn)
	}
	sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
	return ds[n/2]
}

// interleaved times a and b alternately, n times each, and returns their
// medians: load from elsewhere on the machine hits both alike.
func interleaved(n int, a, b func()) (time.Duration, time.Duration) {
	da, db := make([]time.Duration, n), make([]time.Duration, n)
	for i := range n {
		da[i], db[i] = timed(a), timed(b)
	}
	slices.Sort(da)
	slices.Sort(db)
	return da[n/2], db[n/2]
}

// Item 10: an unknown identifier costs what a known one of the stored
// kind does: a client id with an imported bcrypt secret answers no
// faster than an unknown id, a bcrypt user no faster than an unknown
// username.
func TestAbuseDummyHashTiming(t *testing.T) {
	within := func(t *testing.T, what string, known, unknown time.Duration) {
		t.Helper()
		ratio := float64(unknown) / float64(known)
		t.Logf("%s: known %v, unknown %v (ratio %.2f)", what, known, unknown, ratio)
		if ratio < 0.5 || ratio > 2 {
			t.Errorf("%s: unknown/known = %.2f, want within 0.5–2", what, ratio)
		}
	}
	const cost = 8
	t.Run("clients_bcrypt", func(t *testing.T) {
		f := newFixture(t, func(c *runtime.Config) { c.Throttle.Disabled = true })
		h, _ := bcrypt.GenerateFromPassword([]byte("s3cret"), cost)
		if err := f.store.AddClient(&runtime.Client{ID: "bc", SecretHash: string(h), GrantTypes: []string{runtime.GrantClientCredentials}}); err != nil {
			t.Fatal(err)
		}
		try := func(id string) func() {
			return func() { f.post("/token", id, "wrong", ccForm) }
		}
		try("bc")()
		time.Sleep(500 * time.Millisecond) // the dummy is made in the background
		known, unknown := interleaved(15, try("bc"), try("nobody"))
		within(t, "client, bcrypt cost 8", known, unknown)
	})
	t.Run("users_bcrypt", func(t *testing.T) {
		f := newFixture(t, func(c *runtime.Config) { c.Throttle.Disabled = true })
		h, _ := bcrypt.GenerateFromPassword([]byte("pw"), cost)
		if err := f.store.AddUser(&runtime.User{ID: "u-carol", Username: "carol", PasswordHash: string(h)}); err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		try := func(user string) func() { return func() { f.srv.AuthenticateUser(ctx, user, "wrong") } }
		try("carol")()
		time.Sleep(500 * time.Millisecond)
		known, unknown := interleaved(15, try("carol"), try("nobody"))
		within(t, "user, bcrypt cost 8", known, unknown)
	})
}

// FuzzAuthorizeRequest feeds ValidateAuthorizationRequest arbitrary
// queries and POST bodies. It must never panic; a request that fails
// before the redirect URI is trusted is answered with a 400 JSON error,
// after it with a redirect to a registered URI only; descriptions are
// short and hold only the characters RFC 6749 §5.2 allows.
func FuzzAuthorizeRequest(f *testing.F) {
	fx := newFixture(f)
	f.Add("GET", "", "response_type=code&client_id=conf&redirect_uri=https%3A%2F%2Fapp.example%2Fcb&state=s&code_challenge="+runtime.S256Challenge(verifier)+"&code_challenge_method=S256", "")
	f.Add("POST", "application/x-www-form-urlencoded", "", "response_type=token&client_id=implicit-only&scope=read+read+write")
	f.Add("GET", "", "response_type=code&client_id=public&redirect_uri=http%3A%2F%2F127.0.0.1%3A99999999999%2Fcb", "")
	f.Add("GET", "", "client_id=conf&response_type=code&response_mode=fragment&scope=%00&state=%ff", "")
	f.Add("POST", "multipart/form-data; boundary=x", "", "--x--")
	f.Fuzz(func(t *testing.T, method, contentType, query, body string) {
		req := rawRequest(method, "/authorize", query, contentType, "", body)
		_, err := fx.srv.ValidateAuthorizationRequest(req)
		if err == nil {
			return
		}
		rec := httptest.NewRecorder()
		fx.srv.WriteAuthorizationError(rec, req, err)
		switch rec.Code {
		case http.StatusBadRequest:
		case http.StatusFound, http.StatusSeeOther:
			loc := rec.Header().Get("Location")
			if !strings.HasPrefix(loc, redirectURI) && !strings.HasPrefix(loc, "https://other.example/cb") && !strings.HasPrefix(loc, "http://127.0.0.1") {
				t.Fatalf("redirect to %q", loc)
			}
			u, perr := url.Parse(loc)
			if perr != nil {
				t.Fatalf("bad Location %q", loc)
			}
			q := u.Query()
			if u.Fragment != "" {
				q, _ = url.ParseQuery(u.Fragment)
			}
			if d := q.Get("error_description"); len(d) > 256 {
				t.Fatalf("error_description of %d bytes", len(d))
			}
			return
		default:
			t.Fatalf("status %d for %q %q %q %q: %s", rec.Code, method, contentType, query, body, rec.Body)
		}
		desc := rec.Body.String()
		if len(desc) > 512 {
			t.Fatalf("error body of %d bytes", len(desc))
		}
	})
}

// collatingStore looks usernames up as a case-insensitive, PAD SPACE
// collation does (MySQL's and MariaDB's utf8mb4_bin pads; a mapped users
// table may be case-insensitive): "BOB" and "bob  " find bob.
type collatingStore struct{ *runtimetest.MemoryStore }

func (s collatingStore) GetUserByUsername(ctx context.Context, username string) (*runtime.User, error) {
	return s.MemoryStore.GetUserByUsername(ctx, strings.ToLower(strings.TrimRight(username, " ")))
}

// Item 4, per username: spellings the store matches to one user share its
// count, or each would get its own free guesses.
func TestAbuseThrottleUsernameSpellings(t *testing.T) {
	f := newFixtureStore(t, func(m *runtimetest.MemoryStore) runtime.Store { return collatingStore{m} })
	pw := func(user, pass string, i int) response {
		req := formRequest("/token", url.Values{"grant_type": {"password"}, "client_id": {"public"}, "username": {user}, "password": {pass}})
		req.RemoteAddr = "203.0.113." + strconv.Itoa(i) + ":1" // a new address each time: only the username counts
		return f.serve(req)
	}
	var statuses []int
	for i, user := range []string{"bob", "BOB", "bob ", "Bob", "bob  ", "bOb", "bob   ", "BoB"} {
		statuses = append(statuses, pw(user, "wrong", i).Status)
	}
	t.Logf("8 wrong passwords for spellings of bob: %v", statuses)
	if want := append(slices.Repeat([]int{400}, 5), 429, 429, 429); !slices.Equal(statuses, want) {
		t.Errorf("statuses %v, want %v", statuses, want)
	}
	// bob himself is blocked too, the right password included.
	if res := pw("bob", bobPass, 50); res.Status != 429 {
		t.Errorf("bob after failures under other spellings: %d %s", res.Status, res.Raw)
	}
	f.clock.Add(time.Hour)
	if res := pw("BOB ", bobPass, 51); res.Status != 200 {
		t.Fatalf("after the delay: %d %s", res.Status, res.Raw)
	}
	// That success cleared the stored name's count too.
	if res := pw("bob", "wrong", 52); res.Status != 400 {
		t.Errorf("first failure after a success: %d", res.Status)
	}
}
