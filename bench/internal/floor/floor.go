// Package floor is the least an OAuth server must do for the two requests
// the compare harness makes, with no framework: check the client's secret,
// mint 32 random bytes, store their SHA-256, answer JSON; for a bearer
// token, hash it, look it up, check expiry and scope, answer JSON. With a
// durable store it is one INSERT per token and one SELECT per bearer check.
// What oauthgen does beyond that is what its ratios to a floor measure.
package floor

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"time"
)

// Record is what a token grants.
type Record struct {
	ClientID  string
	Scope     string
	ExpiresAt time.Time
}

// Store keeps tokens by the SHA-256 of their value.
type Store interface {
	Put(ctx context.Context, hash []byte, r Record) error
	// Get returns found false for an unknown hash.
	Get(ctx context.Context, hash []byte) (r Record, found bool, err error)
}

// Lifetime of the tokens issued.
const Lifetime = time.Hour

// Handler serves POST /token (client_credentials, client_secret_basic) for
// one client and GET /me, which needs the scope "read".
func Handler(clientID, secret string, s Store) http.Handler {
	secretHash := sha256.Sum256([]byte(secret))
	mux := http.NewServeMux()
	mux.HandleFunc("POST /token", func(w http.ResponseWriter, r *http.Request) {
		id, sec, ok := r.BasicAuth()
		got := sha256.Sum256([]byte(sec))
		if !ok || id != clientID || subtle.ConstantTimeCompare(got[:], secretHash[:]) != 1 {
			w.Header().Set("WWW-Authenticate", `Basic realm="token"`)
			writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "invalid_client"})
			return
		}
		if r.PostFormValue("grant_type") != "client_credentials" {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": "unsupported_grant_type"})
			return
		}
		scope := r.PostFormValue("scope")
		if scope == "" {
			scope = "read"
		}
		if scope != "read" {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_scope"})
			return
		}
		var raw [32]byte
		rand.Read(raw[:])
		token := base64.RawURLEncoding.EncodeToString(raw[:])
		hash := sha256.Sum256([]byte(token))
		if err := s.Put(r.Context(), hash[:], Record{ClientID: id, Scope: scope, ExpiresAt: time.Now().Add(Lifetime)}); err != nil {
			writeJSON(w, http.StatusInternalServerError, map[string]string{"error": "server_error"})
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		writeJSON(w, http.StatusOK, tokenResponse{token, "Bearer", int(Lifetime.Seconds()), scope})
	})
	mux.HandleFunc("GET /me", func(w http.ResponseWriter, r *http.Request) {
		token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || token == "" {
			unauthorized(w)
			return
		}
		hash := sha256.Sum256([]byte(token))
		rec, found, err := s.Get(r.Context(), hash[:])
		switch {
		case err != nil:
			writeJSON(w, http.StatusInternalServerError, map[string]string{"error": "server_error"})
			return
		case !found || !time.Now().Before(rec.ExpiresAt):
			unauthorized(w)
			return
		case !slices.Contains(strings.Fields(rec.Scope), "read"):
			w.Header().Set("WWW-Authenticate", `Bearer error="insufficient_scope", scope="read"`)
			w.WriteHeader(http.StatusForbidden)
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		writeJSON(w, http.StatusOK, meResponse{rec.ClientID, rec.Scope})
	})
	return mux
}

type tokenResponse struct {
	AccessToken string `json:"access_token"`
	TokenType   string `json:"token_type"`
	ExpiresIn   int    `json:"expires_in"`
	Scope       string `json:"scope"`
}

type meResponse struct {
	ClientID string `json:"client_id"`
	Scope    string `json:"scope"`
}

func unauthorized(w http.ResponseWriter) {
	w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
	w.WriteHeader(http.StatusUnauthorized)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}
