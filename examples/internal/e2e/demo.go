package e2e

import (
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
)

// Demo is what `serve` printed on a new database.
type Demo struct {
	// Password is the demo user's.
	Password string
	// Lines are the command lines, in order: client_credentials, /me,
	// password, device start, device poll, authorization code redemption,
	// and, with OpenID Connect, UserInfo.
	Lines []string
	// AuthorizeURL is the URL to open in a browser.
	AuthorizeURL string
}

// ParseDemo reads a demo printout.
func ParseDemo(t *testing.T, out string) Demo {
	t.Helper()
	var d Demo
	m := regexp.MustCompile(`(?m)^  user    alice +password (\S+)$`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no demo user in:\n%s", out)
	}
	d.Password = m[1]
	for _, l := range strings.Split(out, "\n") {
		l = strings.TrimSpace(l)
		switch {
		case strings.HasPrefix(l, "curl ") || strings.HasPrefix(l, "TOKEN="):
			d.Lines = append(d.Lines, l)
		case strings.HasPrefix(l, "http") && strings.Contains(l, "/authorize?"):
			d.AuthorizeURL = l
		}
	}
	want := 6
	if strings.Contains(out, "/userinfo") {
		want = 7
	}
	if len(d.Lines) != want || d.AuthorizeURL == "" {
		t.Fatalf("want %d command lines and an authorization URL in the demo, got %d:\n%s", want, len(d.Lines), out)
	}
	return d
}

// CheckDemo follows a demo printout as a person would: runs each command
// line exactly as printed with sh (setting the shell variables the
// comments say to set), and does in the pages what it says to do in a
// browser.
func CheckDemo(t *testing.T, out string) {
	t.Helper()
	if _, err := exec.LookPath("curl"); err != nil {
		t.Fatal("the printed curl lines are part of the test: install curl")
	}
	d := ParseDemo(t, out)
	sh := func(line string, env ...string) map[string]any {
		t.Helper()
		cmd := exec.Command("sh", "-c", line)
		cmd.Env = append(os.Environ(), env...)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("printed line %q: %v\n%s", line, err, out)
		}
		return jsonBody(t, string(out))
	}
	hasToken := func(what string, m map[string]any) {
		t.Helper()
		if s, _ := m["access_token"].(string); s == "" {
			t.Errorf("%s: no access token: %v", what, m)
		}
	}

	hasToken("client_credentials", sh(d.Lines[0]))
	if m := sh(d.Lines[1]); m["client_id"] != "demo" || m["scope"] != "read" {
		t.Errorf("/me: %v", m)
	}
	if m := sh(d.Lines[2]); m["refresh_token"] == nil {
		t.Errorf("password grant: no refresh token: %v", m)
	}

	// Device flow: start, allow in the page, poll.
	start := sh(d.Lines[3])
	uri, _ := start["verification_uri_complete"].(string)
	page := Get(t, uri)
	if p := DecideDevice(t, page, map[string]string{"username": "alice", "password": d.Password}, "Demo app", "approve"); !strings.Contains(p.Body, "Device connected") {
		t.Fatalf("device page: %d\n%s", p.Resp.StatusCode, p.Body)
	}
	deviceCode, _ := start["device_code"].(string)
	hasToken("device flow", sh(d.Lines[4], "DEVICE_CODE="+deviceCode))

	// Authorization code: the browser part, then the callback page's code
	// into the printed redemption line.
	redirect := Get(t, d.AuthorizeURL).Form(t).Submit(t, map[string]string{"username": "alice", "password": d.Password}, "decision=approve")
	callback := Get(t, redirect.Location(t))
	CheckPageHeaders(t, callback)
	m := regexp.MustCompile(`<code>CODE=([A-Za-z0-9_-]+)</code>`).FindStringSubmatch(callback.Body)
	if m == nil {
		t.Fatalf("the callback page shows no code:\n%s", callback.Body)
	}
	redeemed := sh(d.Lines[5], "CODE="+m[1])
	hasToken("authorization code", redeemed)
	if len(d.Lines) == 7 {
		// OpenID Connect: the code of a request with scope openid gets an
		// ID token, and UserInfo answers for the demo user.
		if s, _ := redeemed["id_token"].(string); strings.Count(s, ".") != 2 {
			t.Errorf("authorization code with scope openid: no ID token: %v", redeemed)
		}
		token, _ := redeemed["access_token"].(string)
		if u := sh(d.Lines[6], "TOKEN="+token); u["sub"] == nil || u["email"] != "alice@example.com" {
			t.Errorf("userinfo: %v", u)
		}
	}
}
