package runtime

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"log/slog"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// keyStore is a minimal SigningKeyStore (runtimetest's MemoryStore cannot
// be imported here).
type keyStore struct {
	mu   sync.Mutex
	keys []*SigningKey
}

func (s *keyStore) SigningKeys(context.Context) ([]*SigningKey, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]*SigningKey, len(s.keys))
	for i, k := range s.keys {
		c := *k
		out[i] = &c
	}
	return out, nil
}

func (s *keyStore) AddSigningKey(_ context.Context, k *SigningKey) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, h := range s.keys {
		if h.ID == k.ID || h.Generation == k.Generation {
			return ErrDuplicate
		}
	}
	c := *k
	s.keys = append(s.keys, &c)
	return nil
}

// TestPrivateKeysNeverInClear makes a key of each algorithm and looks for
// its private half, in every encoding, in the stored record, the JWKS and
// the logs (including the log of a key that does not open).
func TestPrivateKeysNeverInClear(t *testing.T) {
	kek := bytes.Repeat([]byte{7}, 32)
	for _, alg := range signingAlgorithms {
		t.Run(alg, func(t *testing.T) {
			var logs bytes.Buffer
			logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
			store := &keyStore{}
			now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
			cfg := SigningKeysConfig{Algorithm: alg, RotateEvery: time.Hour, RetireAfter: time.Hour, RefreshEvery: time.Minute, KeyEncryptionKey: kek}
			k := &keyring{store: store, cfg: cfg, now: func() time.Time { return now }, logger: logger.WarnContext}
			lk, err := k.signer(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			pkcs8, err := x509.MarshalPKCS8PrivateKey(lk.private)
			if err != nil {
				t.Fatal(err)
			}
			privJWK, err := json.Marshal(jose.JSONWebKey{Key: lk.private})
			if err != nil {
				t.Fatal(err)
			}
			var d struct {
				D string `json:"d"`
			}
			json.Unmarshal(privJWK, &d)
			dRaw, _ := base64.RawURLEncoding.DecodeString(d.D)
			if len(dRaw) < 16 {
				t.Fatalf("no private scalar in %s", privJWK)
			}
			secrets := [][]byte{pkcs8, dRaw, []byte(d.D), []byte(hex.EncodeToString(dRaw)), []byte(base64.StdEncoding.EncodeToString(pkcs8))}

			// A second keyring with the wrong KEK logs its failure to open.
			wrong := &keyring{store: store, cfg: cfg, now: k.now, logger: logger.WarnContext}
			wrong.cfg.KeyEncryptionKey = bytes.Repeat([]byte{8}, 32)
			if _, err := wrong.signer(t.Context()); err == nil {
				t.Error("a keyring with the wrong key-encryption key signed")
			}
			pub, err := wrong.published(t.Context())
			if err != nil || len(pub) != 1 {
				t.Errorf("wrong KEK: published %d keys, %v; want the one, still verifiable", len(pub), err)
			}

			srv := &Server{keys: k, logger: logger, cfg: Config{SigningKeys: cfg}}
			rec := httptest.NewRecorder()
			srv.JWKSHandler().ServeHTTP(rec, httptest.NewRequest("GET", "/jwks", nil))
			if strings.Contains(rec.Body.String(), `"d"`) || strings.Contains(rec.Body.String(), `"p"`) {
				t.Errorf("JWKS has private members: %s", rec.Body)
			}

			recs, _ := store.SigningKeys(t.Context())
			places := map[string][]byte{"JWKS": rec.Body.Bytes(), "logs": logs.Bytes()}
			for _, r := range recs {
				places["sealed private key"] = r.SealedPrivateKey
				places["public JWK"] = r.PublicJWK
				places["record"] = []byte(strings.Join([]string{r.ID, r.Algorithm}, " "))
			}
			for where, b := range places {
				for _, s := range secrets {
					if bytes.Contains(b, s) {
						t.Errorf("the private key is in clear in the %s", where)
					}
				}
			}
			if !strings.Contains(logs.String(), "does not open") {
				t.Errorf("the wrong KEK was not logged: %s", logs.String())
			}
		})
	}
}

// TestSealedKeyBoundToRecord: a sealed private key opens only under its
// own kid and generation, and only with its KEK.
func TestSealedKeyBoundToRecord(t *testing.T) {
	kek := bytes.Repeat([]byte{1}, 32)
	sealed, err := sealPrivateKey(kek, "kid-a", 3, []byte("private"))
	if err != nil {
		t.Fatal(err)
	}
	if got, err := openPrivateKey(kek, "kid-a", 3, sealed); err != nil || string(got) != "private" {
		t.Fatalf("open = %q, %v", got, err)
	}
	for name, try := range map[string]func() ([]byte, error){
		"other kid":        func() ([]byte, error) { return openPrivateKey(kek, "kid-b", 3, sealed) },
		"other generation": func() ([]byte, error) { return openPrivateKey(kek, "kid-a", 4, sealed) },
		"other kek":        func() ([]byte, error) { return openPrivateKey(bytes.Repeat([]byte{2}, 32), "kid-a", 3, sealed) },
		"truncated":        func() ([]byte, error) { return openPrivateKey(kek, "kid-a", 3, sealed[:10]) },
	} {
		if _, err := try(); err == nil {
			t.Errorf("%s: opened", name)
		}
	}
	if _, err := sealPrivateKey(kek[:16], "k", 1, nil); err == nil {
		t.Error("a 16-byte KEK was accepted")
	}
}
