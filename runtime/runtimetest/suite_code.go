package runtimetest

import (
	"testing"
	"time"

	"github.com/oauthgen/oauthgen/runtime"
)

func authorizationCodeTests() []subtest {
	return []subtest{
		{"round_trip", testCodeRoundTrip},
		{"unknown", testCodeUnknown},
		{"duplicate", testCodeDuplicate},
		{"consume", testCodeConsume},
		{"consume_twice", testCodeConsumeTwice},
		{"consume_unknown", testCodeConsumeUnknown},
		{"concurrent_consume", testCodeConcurrentConsume},
	}
}

// A PKCE S256 challenge (RFC 7636 appendix B) and a plain one: 43 to 128
// unreserved characters.
const (
	s256Challenge  = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
	plainChallenge = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk.~dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk.~dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWF"
)

func testCodeRoundTrip(t *testing.T, e *env) {
	s := need[runtime.AuthorizationCodeStore](e)
	client, user := e.client(), e.user()
	fam := e.family(client, user)
	cases := []struct {
		name string
		code runtime.AuthorizationCode
	}{
		{"pkce_s256", runtime.AuthorizationCode{Hash: e.hash(), ClientID: client, UserID: user,
			RedirectURI: "https://app.example/cb?a=1,2&b=%20x", Scopes: manyScopes,
			CodeChallenge: s256Challenge, CodeChallengeMethod: "S256",
			FamilyID: fam, IssuedAt: t0, ExpiresAt: at(5 * time.Minute)}},
		{"pkce_plain_128", runtime.AuthorizationCode{Hash: e.hash(), ClientID: client, UserID: user,
			RedirectURI: "com.example.app:/oauth2redirect", Scopes: []string{"openid"},
			CodeChallenge: plainChallenge, CodeChallengeMethod: "plain",
			FamilyID: e.family(client, user), IssuedAt: at(time.Second), ExpiresAt: at(5*time.Minute + time.Second)}},
		// No PKCE, and no redirect_uri: the client's only registered one is used.
		{"no_pkce_no_redirect", runtime.AuthorizationCode{Hash: e.hash(), ClientID: client, UserID: user,
			Scopes: []string{"read"}, FamilyID: e.family(client, user),
			IssuedAt: at(2 * time.Second), ExpiresAt: at(5*time.Minute + 2*time.Second)}},
		{"nil_scopes", runtime.AuthorizationCode{Hash: e.hash(), ClientID: client, UserID: user,
			RedirectURI: "https://app.example/cb", FamilyID: e.family(client, user),
			IssuedAt: at(3 * time.Second), ExpiresAt: at(time.Minute)}},
		{"empty_scopes", runtime.AuthorizationCode{Hash: e.hash(), ClientID: client, UserID: user,
			RedirectURI: "https://app.example/cb", Scopes: []string{}, FamilyID: e.family(client, user),
			IssuedAt: at(4 * time.Second), ExpiresAt: at(time.Minute)}},
		// Stores never judge expiry: the engine does, with its own clock.
		{"expired", runtime.AuthorizationCode{Hash: e.hash(), ClientID: client, UserID: user,
			Scopes: []string{"read"}, CodeChallenge: s256Challenge, CodeChallengeMethod: "S256",
			FamilyID: e.family(client, user), IssuedAt: past.Add(-5 * time.Minute), ExpiresAt: past}},
	}
	for _, tc := range cases {
		must(t, "Issue(AuthorizationCode, "+tc.name+")", e.create(&runtime.Issuance{AuthorizationCode: &tc.code}))
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := s.GetAuthorizationCode(e.ctx, tc.code.Hash)
			must(t, "GetAuthorizationCode", err)
			diff(t, "GetAuthorizationCode", &tc.code, got)
		})
	}
}

func testCodeUnknown(t *testing.T, e *env) {
	s := need[runtime.AuthorizationCodeStore](e)
	code := e.code(e.client(), e.user())
	for _, hash := range []string{runtime.HashToken("unknown"), "", code.Hash[:32]} {
		_, err := s.GetAuthorizationCode(e.ctx, hash)
		wantErr(t, "GetAuthorizationCode("+quote(hash)+")", err, runtime.ErrNotFound)
	}
}

func testCodeDuplicate(t *testing.T, e *env) {
	s := need[runtime.AuthorizationCodeStore](e)
	client, user := e.client(), e.user()
	first := e.code(client, user)
	second := &runtime.AuthorizationCode{Hash: first.Hash, ClientID: client, UserID: user, Scopes: []string{"write"},
		FamilyID: e.family(client, user), IssuedAt: at(time.Second), ExpiresAt: at(time.Hour)}
	wantErr(t, "Issue(AuthorizationCode, same hash)", e.create(&runtime.Issuance{AuthorizationCode: second}), runtime.ErrDuplicate)
	got, err := s.GetAuthorizationCode(e.ctx, first.Hash)
	must(t, "GetAuthorizationCode", err)
	diff(t, "GetAuthorizationCode after a duplicate create", first, got)
}

func testCodeConsume(t *testing.T, e *env) {
	s := need[runtime.AuthorizationCodeStore](e)
	client, user := e.client(), e.user()
	code, other := e.code(client, user), e.code(client, user)
	expired := &runtime.AuthorizationCode{Hash: e.hash(), ClientID: client, UserID: user,
		FamilyID: e.family(client, user), IssuedAt: past.Add(-5 * time.Minute), ExpiresAt: past}
	must(t, "Issue(AuthorizationCode)", e.create(&runtime.Issuance{AuthorizationCode: expired}))

	for _, want := range []*runtime.AuthorizationCode{code, expired} {
		must(t, "Issue(consume AuthorizationCode)", e.consume(runtime.ConsumeAuthorizationCode, want.Hash, at(time.Minute)))
		want.ConsumedAt = at(time.Minute)
		got, err := s.GetAuthorizationCode(e.ctx, want.Hash)
		must(t, "GetAuthorizationCode", err)
		diff(t, "GetAuthorizationCode after consuming", want, got)
	}
	got, err := s.GetAuthorizationCode(e.ctx, other.Hash)
	must(t, "GetAuthorizationCode", err)
	diff(t, "GetAuthorizationCode of another code", other, got)
}

func testCodeConsumeTwice(t *testing.T, e *env) {
	s := need[runtime.AuthorizationCodeStore](e)
	code := e.code(e.client(), e.user())
	must(t, "Issue(consume AuthorizationCode)", e.consume(runtime.ConsumeAuthorizationCode, code.Hash, at(time.Minute)))
	wantErr(t, "Issue(consume AuthorizationCode, again)", e.consume(runtime.ConsumeAuthorizationCode, code.Hash, at(2*time.Minute)), runtime.ErrConsumed)
	got, err := s.GetAuthorizationCode(e.ctx, code.Hash)
	must(t, "GetAuthorizationCode", err)
	sameTime(t, "ConsumedAt after consuming twice", at(time.Minute), got.ConsumedAt)
}

func testCodeConsumeUnknown(t *testing.T, e *env) {
	e.code(e.client(), e.user())
	for _, hash := range []string{runtime.HashToken("unknown"), ""} {
		wantErr(t, "Issue(consume AuthorizationCode, "+quote(hash)+")", e.consume(runtime.ConsumeAuthorizationCode, hash, t0), runtime.ErrNotFound)
	}
}

func testCodeConcurrentConsume(t *testing.T, e *env) {
	s := need[runtime.AuthorizationCodeStore](e)
	client, user := e.client(), e.user()
	hashes := make([]string, raceRecords)
	for i := range hashes {
		hashes[i] = e.code(client, user).Hash
	}
	winners := raceSingleUse(t, hashes, func(hash string, i int) error {
		return e.consume(runtime.ConsumeAuthorizationCode, hash, raceTime(i))
	})
	for _, hash := range hashes {
		got, err := s.GetAuthorizationCode(e.ctx, hash)
		must(t, "GetAuthorizationCode", err)
		sameTime(t, "ConsumedAt (the winner's)", winnerTime(winners[hash]), got.ConsumedAt)
	}
}

// code stores an authorization code of a new family and returns it.
func (e *env) code(clientID, userID string) *runtime.AuthorizationCode {
	e.t.Helper()
	need[runtime.AuthorizationCodeStore](e)
	c := &runtime.AuthorizationCode{Hash: e.hash(), ClientID: clientID, UserID: userID,
		RedirectURI: "https://app.example/cb", Scopes: []string{"openid", "read"},
		CodeChallenge: s256Challenge, CodeChallengeMethod: "S256",
		FamilyID: e.family(clientID, userID), IssuedAt: t0, ExpiresAt: at(5 * time.Minute)}
	must(e.t, "Issue(AuthorizationCode)", e.create(&runtime.Issuance{AuthorizationCode: c}))
	return c
}
