package runtime_test

import (
	"net/http/httptest"
	"net/url"
	"slices"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/oauthgen/oauthgen/runtime"
	"github.com/oauthgen/oauthgen/runtime/runtimetest"
)

// TestKeyRotationTwoInstances runs two Servers over one store on one
// clock for 14 hours, issuing a JWT access token every two minutes from
// each in turn, while keys rotate every 4 hours. Every token must verify,
// from issue to expiry, against the JWKS of either instance as a verifier
// caching it for its max-age would hold it; a key must leave the JWKS
// only once RetireAfter has passed since its successor became active,
// and after every token it signed expired.
func TestKeyRotationTwoInstances(t *testing.T) {
	const issuer = "https://as.example"
	keys := runtime.SigningKeysConfig{
		Algorithm:        "ES256",
		RotateEvery:      4 * time.Hour,
		PropagationDelay: 30 * time.Minute,
		RefreshEvery:     time.Minute,
		JWKSMaxAge:       5 * time.Minute,
		RetireAfter:      time.Hour,
		KeyEncryptionKey: testKEK,
	}
	const lifetime = 30 * time.Minute
	store := runtimetest.NewMemoryStore()
	if err := store.AddClient(&runtime.Client{ID: "svc", SecretHash: runtime.HashToken(otherSecret), GrantTypes: []string{runtime.GrantClientCredentials}}); err != nil {
		t.Fatal(err)
	}
	clk := &clock{t: time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)}
	var urls [2]string
	for i := range urls {
		srv, err := runtime.NewServer(runtime.Config{
			Issuer:              issuer,
			ClientCredentials:   &runtime.ClientCredentialsGrant{},
			AccessTokenFormat:   runtime.AccessTokenJWT,
			AccessTokenLifetime: lifetime,
			SigningKeys:         keys,
			Now:                 clk.Now,
		}, store)
		if err != nil {
			t.Fatal(err)
		}
		h := httptest.NewServer(srv.Handler())
		t.Cleanup(h.Close)
		urls[i] = h.URL
	}

	type issued struct {
		token    string
		kid      string
		iat, exp time.Time
	}
	var tokens []issued
	var cached [2]jose.JSONWebKeySet
	var cachedAt [2]time.Time
	published := map[string]bool{} // kid → in some instance's JWKS at the last step
	removed := map[string]time.Time{}
	firstSeen := [2]map[string]time.Time{{}, {}} // per instance, kid → first step its JWKS had it
	const step = 2 * time.Minute
	end := clk.Now().Add(14 * time.Hour)
	for i := 0; clk.Now().Before(end); i++ {
		clk.Add(step)
		now := clk.Now()
		res := postForm(t, urls[i%2]+"/token", "svc", otherSecret, url.Values{"grant_type": {"client_credentials"}})
		tok, _ := res["access_token"].(string)
		if tok == "" {
			t.Fatalf("%v: token request: %v", now, res)
		}
		jws, err := jose.ParseSigned(tok, []jose.SignatureAlgorithm{jose.ES256})
		if err != nil {
			t.Fatal(err)
		}
		tokens = append(tokens, issued{tok, jws.Signatures[0].Header.KeyID, now, now.Add(lifetime)})

		// A verifier refetches each JWKS when its copy is JWKSMaxAge old.
		for j := range cached {
			if cachedAt[j].IsZero() || now.Sub(cachedAt[j]) >= keys.JWKSMaxAge {
				cached[j], cachedAt[j] = fetchJWKS(t, urls[j]+"/jwks"), now
			}
		}
		for _, it := range tokens {
			if !now.Before(it.exp) {
				continue
			}
			for j := range cached {
				if _, err := verifyAccessToken(cached[j], it.token, issuer, now); err != nil {
					t.Fatalf("%v: token of kid %s (expires %v) against instance %d's JWKS cached at %v: %v", now, it.kid, it.exp, j, cachedAt[j], err)
				}
			}
		}

		// Track when keys leave the instances' current JWKS.
		now2 := map[string]bool{}
		for j := range urls {
			for _, k := range fetchJWKS(t, urls[j]+"/jwks").Keys {
				now2[k.KeyID] = true
				if _, ok := firstSeen[j][k.KeyID]; !ok {
					firstSeen[j][k.KeyID] = now
				}
			}
		}
		for kid := range published {
			if !now2[kid] {
				if _, ok := removed[kid]; !ok {
					removed[kid] = now
				}
			}
		}
		for kid := range now2 {
			if _, gone := removed[kid]; gone {
				t.Fatalf("%v: kid %s came back to the JWKS", now, kid)
			}
			published[kid] = true
		}
	}

	recs, err := store.SigningKeys(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	slices.SortFunc(recs, func(a, b *runtime.SigningKey) int { return int(a.Generation - b.Generation) })
	if len(recs) < 4 {
		t.Fatalf("%d keys after 14h with RotateEvery 4h: rotation did not happen", len(recs))
	}
	signed := map[string]int{}
	for _, it := range tokens {
		signed[it.kid]++
	}
	for i, k := range recs {
		if k.Generation != int64(i+1) {
			t.Errorf("generations %d: want 1, 2, 3…", k.Generation)
		}
		if signed[k.ID] == 0 && k.ActiveFrom.Before(end.Add(-step)) {
			t.Errorf("key %d (active from %v) signed nothing", k.Generation, k.ActiveFrom)
		}
		// Published by both instances at least a JWKS max-age before it
		// signed: every verifier's cached copy has it (the first key
		// excepted: nothing could be published before it).
		for _, it := range tokens {
			for j := range firstSeen {
				if seen, ok := firstSeen[j][it.kid]; it.kid == k.ID && i > 0 && (!ok || it.iat.Sub(seen) < keys.JWKSMaxAge) {
					t.Fatalf("key %d signed at %v, but instance %d published it only at %v", k.Generation, it.iat, j, seen)
				}
			}
		}
		if i+1 == len(recs) {
			continue
		}
		retireAt := recs[i+1].ActiveFrom.Add(keys.RetireAfter)
		gone, ok := removed[k.ID]
		switch {
		case ok && gone.Before(retireAt):
			t.Errorf("key %d left the JWKS at %v, before %v (successor active + RetireAfter)", k.Generation, gone, retireAt)
		case !ok && retireAt.Add(step).Before(end):
			t.Errorf("key %d is still published at %v, retired since %v", k.Generation, end, retireAt)
		}
		for _, it := range tokens {
			if it.kid == k.ID && ok && gone.Before(it.exp) {
				t.Errorf("key %d left the JWKS at %v before its token expiring %v", k.Generation, gone, it.exp)
			}
		}
	}
	t.Logf("%d tokens, %d keys, %d retired", len(tokens), len(recs), len(removed))
}
