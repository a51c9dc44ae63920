package floor

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
)

// TestHandler issues a token and accepts it, and refuses a bad secret, a
// wrong grant and an unknown token, over the memory and SQLite stores.
func TestHandler(t *testing.T) {
	sqlite, err := OpenSQLite(filepath.Join(t.TempDir(), "floor.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer sqlite.Close()
	for name, s := range map[string]Store{"memory": NewMemory(), "sqlite": sqlite} {
		t.Run(name, func(t *testing.T) {
			h := Handler("svc", "s3cret", s)
			do := func(r *http.Request) *httptest.ResponseRecorder {
				w := httptest.NewRecorder()
				h.ServeHTTP(w, r)
				return w
			}
			tokenReq := func(secret, grant string) *http.Request {
				r := httptest.NewRequest(http.MethodPost, "/token", strings.NewReader("grant_type="+grant+"&scope=read"))
				r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				r.SetBasicAuth("svc", secret)
				return r
			}
			meReq := func(token string) *http.Request {
				r := httptest.NewRequest(http.MethodGet, "/me", nil)
				r.Header.Set("Authorization", "Bearer "+token)
				return r
			}

			w := do(tokenReq("s3cret", "client_credentials"))
			var tok tokenResponse
			if err := json.Unmarshal(w.Body.Bytes(), &tok); err != nil || w.Code != http.StatusOK || len(tok.AccessToken) != 43 || tok.Scope != "read" {
				t.Fatalf("token: %d %s", w.Code, w.Body)
			}
			w = do(meReq(tok.AccessToken))
			var me meResponse
			if err := json.Unmarshal(w.Body.Bytes(), &me); err != nil || w.Code != http.StatusOK || me.ClientID != "svc" {
				t.Errorf("me: %d %s", w.Code, w.Body)
			}
			if w := do(tokenReq("wrong", "client_credentials")); w.Code != http.StatusUnauthorized {
				t.Errorf("bad secret: %d %s", w.Code, w.Body)
			}
			if w := do(tokenReq("s3cret", "password")); w.Code != http.StatusBadRequest {
				t.Errorf("wrong grant: %d %s", w.Code, w.Body)
			}
			if w := do(meReq(tok.AccessToken + "x")); w.Code != http.StatusUnauthorized {
				t.Errorf("unknown token: %d %s", w.Code, w.Body)
			}
		})
	}
}
