package runtime_test

import (
	"net/http"
	"net/url"
	"testing"
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
