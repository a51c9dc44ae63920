package runtime_test

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/oauthgen/oauthgen/runtime"
)

// BenchmarkTokenClientCredentials is the token endpoint's hot path: a
// confidential client with an issued (SHA-256) secret asking for a token.
func BenchmarkTokenClientCredentials(b *testing.B) {
	f := newFixture(b)
	h := f.srv.TokenHandler()
	form := url.Values{"grant_type": {"client_credentials"}, "scope": {"read"}}
	b.ReportAllocs()
	for b.Loop() {
		req := basic(formRequest("/token", form), "conf", confSecret)
		rec := newRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatalf("%d %s", rec.Code, rec.Body)
		}
	}
}

// BenchmarkHashToken is the hash of a presented token, once per bearer
// check and per token request.
func BenchmarkHashToken(b *testing.B) {
	token := runtime.NewToken()
	b.ReportAllocs()
	for b.Loop() {
		runtime.HashToken(token)
	}
}
