package runtimetest

import (
	"crypto/rand"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/oauthgen/oauthgen/runtime"
)

func signingKeyTests() []subtest {
	return []subtest{
		{"empty", testSigningKeysEmpty},
		{"round_trip", testSigningKeyRoundTrip},
		{"duplicate_generation", testSigningKeyDuplicateGeneration},
		{"duplicate_id", testSigningKeyDuplicateID},
		{"private_key_bytes_opaque", testSigningKeyOpaqueBytes},
		{"concurrent_generation", testSigningKeyConcurrentGeneration},
	}
}

func openIDTests() []subtest {
	return []subtest{
		{"code_nonce_auth_time", testCodeNonceAuthTime},
		{"refresh_auth_time", testRefreshTokenAuthTime},
		{"user_claims", testUserClaims},
		{"user_claims_unknown", testUserClaimsUnknown},
	}
}

// signingKey is a key record with every field set; the key material is
// arbitrary bytes (the store never parses it).
func (e *env) signingKey(gen int64) *runtime.SigningKey {
	return &runtime.SigningKey{
		ID:               e.next("kid"),
		Generation:       gen,
		Algorithm:        "ES256",
		PublicJWK:        []byte(`{"kty":"EC","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}`),
		SealedPrivateKey: []byte{0, 1, 2, 0xfe, 0xff, '\'', '"', '\\', 0x80},
		CreatedAt:        at(time.Duration(gen) * time.Hour),
		ActiveFrom:       at(time.Duration(gen)*time.Hour + 30*time.Minute),
	}
}

func sortedKeys(t *testing.T, e *env, s runtime.SigningKeyStore) []*runtime.SigningKey {
	t.Helper()
	got, err := s.SigningKeys(e.ctx)
	if err != nil {
		t.Fatalf("SigningKeys: %v", err)
	}
	slices.SortFunc(got, func(a, b *runtime.SigningKey) int { return int(a.Generation - b.Generation) })
	return got
}

func testSigningKeysEmpty(t *testing.T, e *env) {
	s := need[runtime.SigningKeyStore](e)
	if got := sortedKeys(t, e, s); len(got) != 0 {
		t.Fatalf("SigningKeys of an empty store = %d keys", len(got))
	}
}

func testSigningKeyRoundTrip(t *testing.T, e *env) {
	s := need[runtime.SigningKeyStore](e)
	var want []*runtime.SigningKey
	for gen := int64(1); gen <= 3; gen++ {
		k := e.signingKey(gen)
		if gen == 3 {
			k.Algorithm = "EdDSA"
		}
		if err := s.AddSigningKey(e.ctx, k); err != nil {
			t.Fatalf("AddSigningKey %d: %v", gen, err)
		}
		want = append(want, k)
	}
	diff(t, "SigningKeys", want, sortedKeys(t, e, s))
}

func testSigningKeyDuplicateGeneration(t *testing.T, e *env) {
	s := need[runtime.SigningKeyStore](e)
	first := e.signingKey(1)
	if err := s.AddSigningKey(e.ctx, first); err != nil {
		t.Fatal(err)
	}
	// Two instances rotating at once: the second of generation 1 loses.
	if err := s.AddSigningKey(e.ctx, e.signingKey(1)); !errors.Is(err, runtime.ErrDuplicate) {
		t.Fatalf("second key of generation 1: %v, want ErrDuplicate", err)
	}
	diff(t, "SigningKeys", []*runtime.SigningKey{first}, sortedKeys(t, e, s))
}

func testSigningKeyDuplicateID(t *testing.T, e *env) {
	s := need[runtime.SigningKeyStore](e)
	first := e.signingKey(1)
	if err := s.AddSigningKey(e.ctx, first); err != nil {
		t.Fatal(err)
	}
	again := e.signingKey(2)
	again.ID = first.ID
	if err := s.AddSigningKey(e.ctx, again); !errors.Is(err, runtime.ErrDuplicate) {
		t.Fatalf("second key with kid %s: %v, want ErrDuplicate", first.ID, err)
	}
	diff(t, "SigningKeys", []*runtime.SigningKey{first}, sortedKeys(t, e, s))
}

// Sealed keys are binary: every byte value, NUL and invalid UTF-8
// included, and sizes up to an RSA key's, come back exactly.
func testSigningKeyOpaqueBytes(t *testing.T, e *env) {
	s := need[runtime.SigningKeyStore](e)
	all := make([]byte, 256)
	for i := range all {
		all[i] = byte(i)
	}
	big := make([]byte, 4096)
	rand.Read(big)
	k1, k2 := e.signingKey(1), e.signingKey(2)
	k1.SealedPrivateKey, k2.SealedPrivateKey = all, big
	k2.Algorithm = "RS256"
	k2.PublicJWK = []byte(`{"kty":"RSA","e":"AQAB","n":"` + strings.Repeat("x", 342) + `"}`)
	for _, k := range []*runtime.SigningKey{k1, k2} {
		if err := s.AddSigningKey(e.ctx, k); err != nil {
			t.Fatal(err)
		}
	}
	diff(t, "SigningKeys", []*runtime.SigningKey{k1, k2}, sortedKeys(t, e, s))
}

// 16 instances add generation 1 at once: exactly one wins.
func testSigningKeyConcurrentGeneration(t *testing.T, e *env) {
	s := need[runtime.SigningKeyStore](e)
	const n = 16
	keys := make([]*runtime.SigningKey, n)
	for i := range keys {
		keys[i] = e.signingKey(1)
	}
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range keys {
		wg.Go(func() {
			<-start
			errs[i] = s.AddSigningKey(e.ctx, keys[i])
		})
	}
	close(start)
	wg.Wait()
	winner := -1
	for i, err := range errs {
		switch {
		case err == nil && winner >= 0:
			t.Fatalf("AddSigningKey of generation 1 succeeded twice (%d and %d)", winner, i)
		case err == nil:
			winner = i
		case !errors.Is(err, runtime.ErrDuplicate):
			t.Fatalf("loser %d: %v, want ErrDuplicate", i, err)
		}
	}
	if winner < 0 {
		t.Fatal("no AddSigningKey succeeded")
	}
	diff(t, "SigningKeys", []*runtime.SigningKey{keys[winner]}, sortedKeys(t, e, s))
}

func testCodeNonceAuthTime(t *testing.T, e *env) {
	s := need[runtime.AuthorizationCodeStore](e)
	if !e.h.OpenID {
		t.Skip("Harness.OpenID is false: the store keeps no nonce or auth_time")
	}
	client, user := e.client(), e.user()
	code := runtime.AuthorizationCode{Hash: e.hash(), ClientID: client, UserID: user,
		Scopes: []string{"openid", "profile"}, FamilyID: e.family(client, user),
		IssuedAt: t0, ExpiresAt: at(5 * time.Minute),
		Nonce: `n-0S6_WzA2Mj "quoted" \ ` + strings.Repeat("n", 480), AuthTime: t0.Add(-time.Hour)}
	if err := e.create(&runtime.Issuance{AuthorizationCode: &code}); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetAuthorizationCode(e.ctx, code.Hash)
	if err != nil {
		t.Fatal(err)
	}
	diff(t, "GetAuthorizationCode", &code, got)
}

// testRefreshTokenAuthTime: a refresh token keeps the auth_time of its
// grant, a zero one stays zero, and both survive the token's rotation.
func testRefreshTokenAuthTime(t *testing.T, e *env) {
	s := need[runtime.RefreshTokenStore](e)
	if !e.h.OpenID {
		t.Skip("Harness.OpenID is false: the store keeps no auth_time")
	}
	client, user := e.client(), e.user()
	fam := e.family(client, user)
	with := runtime.RefreshToken{Hash: e.hash(), ClientID: client, UserID: user, Scopes: []string{"openid"},
		FamilyID: fam, IssuedAt: t0, ExpiresAt: at(24 * time.Hour), AuthTime: t0.Add(-90*time.Minute + 7*time.Microsecond)}
	without := runtime.RefreshToken{Hash: e.hash(), ClientID: client, UserID: user, Scopes: []string{"openid"},
		FamilyID: fam, IssuedAt: t0, ExpiresAt: at(24 * time.Hour)}
	for _, tok := range []*runtime.RefreshToken{&with, &without} {
		if err := e.create(&runtime.Issuance{RefreshToken: tok}); err != nil {
			t.Fatal(err)
		}
	}
	// Rotation: the successor carries the auth_time, the spent token keeps it.
	next := with
	next.Hash, next.IssuedAt = e.hash(), at(time.Minute)
	if err := e.h.Store.Issue(e.ctx, &runtime.Issuance{
		Consume:      &runtime.Consumption{Kind: runtime.ConsumeRefreshToken, Hash: with.Hash, At: at(time.Minute)},
		RefreshToken: &next,
	}); err != nil {
		t.Fatal(err)
	}
	with.ConsumedAt = at(time.Minute)
	for _, want := range []*runtime.RefreshToken{&with, &without, &next} {
		got, err := s.GetRefreshToken(e.ctx, want.Hash)
		if err != nil {
			t.Fatal(err)
		}
		diff(t, "GetRefreshToken", want, got)
	}
}

func testUserClaims(t *testing.T, e *env) {
	s := need[runtime.UserClaimsStore](e)
	if e.h.SetUserClaims == nil {
		t.Skip("Harness.SetUserClaims is nil")
	}
	user := e.user()
	want := map[string]any{"name": "Alice Liddell", "preferred_username": "alice",
		"email": "alice@example.com", "email_verified": true}
	if err := e.h.SetUserClaims(e.ctx, user, want); err != nil {
		t.Fatal(err)
	}
	got, err := s.UserClaims(e.ctx, user)
	if err != nil {
		t.Fatal(err)
	}
	diff(t, "UserClaims", want, got)
	// A user without claims has none, not an error.
	got, err = s.UserClaims(e.ctx, e.user())
	if err != nil || len(got) != 0 {
		t.Fatalf("UserClaims of a user without claims = %v, %v", got, err)
	}
}

func testUserClaimsUnknown(t *testing.T, e *env) {
	s := need[runtime.UserClaimsStore](e)
	if _, ok := e.h.Store.(runtime.UserStore); !ok {
		t.Skip("store has no users to be unknown")
	}
	if _, err := s.UserClaims(e.ctx, "no-such-user"); !errors.Is(err, runtime.ErrNotFound) {
		t.Fatalf("UserClaims of an unknown user: %v, want ErrNotFound", err)
	}
}
