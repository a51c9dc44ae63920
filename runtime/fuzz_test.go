package runtime_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/oauthgen/oauthgen/runtime"
)

// rawRequest builds a request from untrusted parts without the checks
// httptest.NewRequest makes (it panics on a bad method or target).
func rawRequest(method, path, query, contentType, authorization, body string) *http.Request {
	h := http.Header{}
	if contentType != "" {
		h.Set("Content-Type", contentType)
	}
	if authorization != "" {
		h.Set("Authorization", authorization)
	}
	return &http.Request{
		Method:     method,
		URL:        &url.URL{Path: path, RawQuery: query},
		Proto:      "HTTP/1.1",
		ProtoMajor: 1,
		ProtoMinor: 1,
		Header:     h,
		Body:       io.NopCloser(strings.NewReader(body)),
		Host:       "as.example",
		RemoteAddr: "192.0.2.1:1234",
	}
}

// FuzzTokenRequest feeds the token endpoint arbitrary methods, content
// types, Authorization headers, bodies and queries. It must never panic
// nor answer 500, and always answer JSON with a token or an RFC error.
func FuzzTokenRequest(f *testing.F) {
	fx := newFixture(f)
	code := fx.code()
	_, rt := fx.passwordTokens("read")
	form := "application/x-www-form-urlencoded"
	basicConf := "Basic " + b64(url.QueryEscape("conf")+":"+url.QueryEscape(confSecret))
	seeds := []struct{ method, contentType, auth, body, query string }{
		{"POST", form, basicConf, "grant_type=client_credentials&scope=read", ""},
		{"POST", form, "", "grant_type=client_credentials&client_id=conf&client_secret=" + url.QueryEscape(confSecret), ""},
		{"POST", form, basicConf, "grant_type=authorization_code&code=" + code + "&redirect_uri=" + url.QueryEscape(redirectURI) + "&code_verifier=" + verifier, ""},
		{"POST", form, basicConf, "grant_type=refresh_token&refresh_token=" + rt + "&scope=read", ""},
		{"POST", form, "", "grant_type=password&client_id=public&username=bob&password=" + url.QueryEscape(bobPass), ""},
		{"POST", form, "", "grant_type=" + url.QueryEscape(runtime.GrantDeviceCode) + "&client_id=public&device_code=abc", ""},
		{"POST", form, basicConf, "grant_type=" + url.QueryEscape(extGrant) + "&assertion=alice", ""},
		{"POST", form + "; charset=utf-8", "Basic !!", "grant_type=%zz", "client_secret=x"},
		{"GET", "", "Bearer x", "", "grant_type=client_credentials"},
		{"POST", "multipart/form-data; boundary=x", "Basic " + b64(":"), "--x--", ""},
		{"PATCH", "text/plain;;", "Basic " + b64("a%:b"), "a=1&a=2&grant_type=password&grant_type=x", ""},
	}
	for _, s := range seeds {
		f.Add(s.method, s.contentType, s.auth, s.body, s.query)
	}
	h := fx.srv.TokenHandler()
	f.Fuzz(func(t *testing.T, method, contentType, auth, body, query string) {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, rawRequest(method, "/token", query, contentType, auth, body))
		if rec.Code == http.StatusInternalServerError {
			t.Fatalf("500 for %q %q %q %q %q: %s\nlog: %s", method, contentType, auth, body, query, rec.Body, fx.logs)
		}
		var resp map[string]any
		if err := json.Unmarshal(rec.Body.Bytes(), &resp); err != nil {
			t.Fatalf("not JSON: %q", rec.Body)
		}
		if (rec.Code == 200) != (resp["access_token"] != nil) || (rec.Code != 200) != (resp["error"] != nil) {
			t.Fatalf("%d %s", rec.Code, rec.Body)
		}
		// RFC 6749 §5.2: error_description is %x20-21 / %x23-5B / %x5D-7E.
		desc, _ := resp["error_description"].(string)
		if strings.ContainsFunc(desc, func(r rune) bool { return r < 0x20 || r > 0x7e || r == '"' || r == '\\' }) {
			t.Fatalf("error_description %q has characters §5.2 forbids", desc)
		}
	})
}

// FuzzBearer feeds a protected resource (query and form tokens allowed)
// arbitrary Authorization headers, queries, bodies and methods. It must
// never panic nor answer 500, and every refusal carries a challenge.
func FuzzBearer(f *testing.F) {
	fx := newFixture(f, func(c *runtime.Config) { c.Bearer.AllowForm, c.Bearer.AllowQuery = true, true })
	tok := fx.mustToken("conf", confSecret, ccForm).str("access_token")
	form := "application/x-www-form-urlencoded"
	seeds := []struct{ method, auth, query, contentType, body string }{
		{"GET", "Bearer " + tok, "", "", ""},
		{"GET", "bearer   " + tok + "==", "", "", ""},
		{"GET", "", "access_token=" + tok, "", ""},
		{"POST", "", "", form, "access_token=" + tok},
		{"GET", "", "", form, "access_token=" + tok},
		{"POST", "Bearer " + tok, "access_token=" + tok, form, "access_token=" + tok},
		{"GET", "Bearer", "", "", ""},
		{"GET", "Bearer a b", "access_token=%zz&access_token=", "", ""},
		{"PUT", "Basic Zm9vOmJhcg==", "", form + "; charset=x", "access_token=a&access_token=b"},
		{"POST", "Bearer /+=", "", "application/x-www-form-urlencoded;;", "%"},
	}
	for _, s := range seeds {
		f.Add(s.method, s.auth, s.query, s.contentType, s.body)
	}
	h := fx.srv.RequireToken("read")(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, ok := runtime.TokenFromContext(r.Context()); !ok {
			t := "no token in context"
			panic(t)
		}
		io.Copy(io.Discard, r.Body)
	}))
	f.Fuzz(func(t *testing.T, method, auth, query, contentType, body string) {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, rawRequest(method, "/resource", query, contentType, auth, body))
		switch rec.Code {
		case http.StatusOK:
		case http.StatusBadRequest, http.StatusUnauthorized, http.StatusForbidden:
			if !strings.HasPrefix(rec.Header().Get("WWW-Authenticate"), `Bearer realm="`) {
				t.Fatalf("%d without a challenge: %v", rec.Code, rec.Header())
			}
		default:
			t.Fatalf("%d for %q %q %q %q %q: %s\nlog: %s", rec.Code, method, auth, query, contentType, body, rec.Body, fx.logs)
		}
	})
}
