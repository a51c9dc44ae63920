package runtimetest

import (
	"testing"
	"time"

	"github.com/oauthgen/oauthgen/runtime"
)

func accessTokenTests() []subtest {
	return append([]subtest{
		{"round_trip", testAccessTokenRoundTrip},
		{"unknown", testAccessTokenUnknown},
		{"duplicate", testAccessTokenDuplicate},
	}, revocationTests(accessOps)...)
}

func refreshTokenTests() []subtest {
	return append([]subtest{
		{"round_trip", testRefreshTokenRoundTrip},
		{"unknown", testRefreshTokenUnknown},
		{"duplicate", testRefreshTokenDuplicate},
		{"consume", testRefreshTokenConsume},
		{"consume_twice", testRefreshTokenConsumeTwice},
		{"consume_unknown", testRefreshTokenConsumeUnknown},
		{"consume_then_revoke", testRefreshTokenConsumeThenRevoke},
		{"concurrent_consume", testRefreshTokenConcurrentConsume},
		{"reuse_interval", testRefreshTokenReuseInterval},
		{"concurrent_reuse", testRefreshTokenConcurrentReuse},
	}, revocationTests(refreshOps)...)
}

// manyScopes holds scopes of every shape RFC 6749 §3.3 allows, a comma
// included: lists must not be stored comma-joined.
var manyScopes = []string{"openid", "profile", "read,write", "urn:example:api", "https://api.example/full_access"}

func testAccessTokenRoundTrip(t *testing.T, e *env) {
	s := need[runtime.AccessTokenStore](e)
	client, user := e.client(), e.user()
	fam := e.family(client, user)
	cases := []struct {
		name string
		tok  runtime.AccessToken
	}{
		{"user_and_family", runtime.AccessToken{Hash: e.hash(), ClientID: client, UserID: user, Scopes: manyScopes,
			FamilyID: fam, IssuedAt: t0, ExpiresAt: at(time.Hour)}},
		{"without_user_or_family", runtime.AccessToken{Hash: e.hash(), ClientID: client, Scopes: []string{"read"},
			IssuedAt: at(time.Second), ExpiresAt: at(time.Hour + time.Second)}},
		{"user_without_family", runtime.AccessToken{Hash: e.hash(), ClientID: client, UserID: user, Scopes: []string{"openid"},
			IssuedAt: at(2 * time.Second), ExpiresAt: at(2*time.Hour + 2*time.Second)}},
		{"nil_scopes", runtime.AccessToken{Hash: e.hash(), ClientID: client, UserID: user, FamilyID: fam,
			IssuedAt: at(3 * time.Second), ExpiresAt: at(time.Minute)}},
		{"empty_scopes", runtime.AccessToken{Hash: e.hash(), ClientID: client, Scopes: []string{},
			IssuedAt: at(4 * time.Second), ExpiresAt: at(time.Minute)}},
		// Stores never judge expiry: the engine does, with its own clock.
		{"expired", runtime.AccessToken{Hash: e.hash(), ClientID: client, UserID: user, Scopes: []string{"read"},
			FamilyID: fam, IssuedAt: past.Add(-time.Hour), ExpiresAt: past}},
	}
	for _, tc := range cases {
		must(t, "Issue(AccessToken, "+tc.name+")", e.create(&runtime.Issuance{AccessToken: &tc.tok}))
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := s.GetAccessToken(e.ctx, tc.tok.Hash)
			must(t, "GetAccessToken", err)
			diff(t, "GetAccessToken", &tc.tok, got)
		})
	}
}

func testAccessTokenUnknown(t *testing.T, e *env) {
	s := need[runtime.AccessTokenStore](e)
	tok := &runtime.AccessToken{Hash: e.hash(), ClientID: e.client(), IssuedAt: t0, ExpiresAt: at(time.Hour)}
	must(t, "Issue(AccessToken)", e.create(&runtime.Issuance{AccessToken: tok}))
	for _, hash := range []string{runtime.HashToken("unknown"), "", tok.Hash[:32]} {
		_, err := s.GetAccessToken(e.ctx, hash)
		wantErr(t, "GetAccessToken("+quote(hash)+")", err, runtime.ErrNotFound)
	}
}

func testAccessTokenDuplicate(t *testing.T, e *env) {
	s := need[runtime.AccessTokenStore](e)
	client, user := e.client(), e.user()
	first := &runtime.AccessToken{Hash: e.hash(), ClientID: client, UserID: user, Scopes: []string{"read"},
		IssuedAt: t0, ExpiresAt: at(time.Hour)}
	must(t, "Issue(AccessToken)", e.create(&runtime.Issuance{AccessToken: first}))
	second := &runtime.AccessToken{Hash: first.Hash, ClientID: e.client(), Scopes: []string{"write"},
		IssuedAt: at(time.Second), ExpiresAt: at(2 * time.Hour)}
	wantErr(t, "Issue(AccessToken, same hash)", e.create(&runtime.Issuance{AccessToken: second}), runtime.ErrDuplicate)
	got, err := s.GetAccessToken(e.ctx, first.Hash)
	must(t, "GetAccessToken", err)
	diff(t, "GetAccessToken after a duplicate create", first, got)
}

func testRefreshTokenRoundTrip(t *testing.T, e *env) {
	s := need[runtime.RefreshTokenStore](e)
	client, user := e.client(), e.user()
	fam, userless := e.family(client, user), e.family(client, "")
	cases := []struct {
		name string
		tok  runtime.RefreshToken
	}{
		{"user_and_family", runtime.RefreshToken{Hash: e.hash(), ClientID: client, UserID: user, Scopes: manyScopes,
			FamilyID: fam, IssuedAt: t0, ExpiresAt: at(14 * 24 * time.Hour)}},
		{"without_user", runtime.RefreshToken{Hash: e.hash(), ClientID: client, Scopes: []string{"read"},
			FamilyID: userless, IssuedAt: at(time.Second), ExpiresAt: at(24*time.Hour + time.Second)}},
		{"nil_scopes", runtime.RefreshToken{Hash: e.hash(), ClientID: client, UserID: user, FamilyID: fam,
			IssuedAt: at(2 * time.Second), ExpiresAt: at(time.Hour)}},
		{"empty_scopes", runtime.RefreshToken{Hash: e.hash(), ClientID: client, UserID: user, Scopes: []string{},
			FamilyID: fam, IssuedAt: at(3 * time.Second), ExpiresAt: at(time.Hour)}},
		{"expired", runtime.RefreshToken{Hash: e.hash(), ClientID: client, UserID: user, Scopes: []string{"read"},
			FamilyID: fam, IssuedAt: past.Add(-time.Hour), ExpiresAt: past}},
	}
	for _, tc := range cases {
		must(t, "Issue(RefreshToken, "+tc.name+")", e.create(&runtime.Issuance{RefreshToken: &tc.tok}))
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := s.GetRefreshToken(e.ctx, tc.tok.Hash)
			must(t, "GetRefreshToken", err)
			diff(t, "GetRefreshToken", &tc.tok, got)
		})
	}
}

func testRefreshTokenUnknown(t *testing.T, e *env) {
	s := need[runtime.RefreshTokenStore](e)
	tok := e.refreshToken(e.client(), "")
	for _, hash := range []string{runtime.HashToken("unknown"), "", tok.Hash[:32]} {
		_, err := s.GetRefreshToken(e.ctx, hash)
		wantErr(t, "GetRefreshToken("+quote(hash)+")", err, runtime.ErrNotFound)
	}
}

func testRefreshTokenDuplicate(t *testing.T, e *env) {
	s := need[runtime.RefreshTokenStore](e)
	first := e.refreshToken(e.client(), e.user())
	client := e.client()
	second := &runtime.RefreshToken{Hash: first.Hash, ClientID: client, Scopes: []string{"write"},
		FamilyID: e.family(client, ""), IssuedAt: at(time.Second), ExpiresAt: at(2 * time.Hour)}
	wantErr(t, "Issue(RefreshToken, same hash)", e.create(&runtime.Issuance{RefreshToken: second}), runtime.ErrDuplicate)
	got, err := s.GetRefreshToken(e.ctx, first.Hash)
	must(t, "GetRefreshToken", err)
	diff(t, "GetRefreshToken after a duplicate create", first, got)
}

func testRefreshTokenConsume(t *testing.T, e *env) {
	s := need[runtime.RefreshTokenStore](e)
	client, user := e.client(), e.user()
	tok := e.refreshToken(client, user)
	sibling := e.refreshTokenIn(client, user, tok.FamilyID)
	// Stores never judge expiry: the engine does, with its own clock.
	expired := &runtime.RefreshToken{Hash: e.hash(), ClientID: client, UserID: user, FamilyID: tok.FamilyID,
		IssuedAt: past.Add(-time.Hour), ExpiresAt: past}
	must(t, "Issue(RefreshToken)", e.create(&runtime.Issuance{RefreshToken: expired}))

	for _, want := range []*runtime.RefreshToken{tok, expired} {
		must(t, "Issue(consume RefreshToken)", e.consume(runtime.ConsumeRefreshToken, want.Hash, at(time.Minute)))
		want.ConsumedAt = at(time.Minute)
		got, err := s.GetRefreshToken(e.ctx, want.Hash)
		must(t, "GetRefreshToken", err)
		diff(t, "GetRefreshToken after consuming", want, got)
	}
	got, err := s.GetRefreshToken(e.ctx, sibling.Hash)
	must(t, "GetRefreshToken", err)
	diff(t, "GetRefreshToken of another token of the family", sibling, got)
}

func testRefreshTokenConsumeTwice(t *testing.T, e *env) {
	s := need[runtime.RefreshTokenStore](e)
	tok := e.refreshToken(e.client(), e.user())
	must(t, "Issue(consume RefreshToken)", e.consume(runtime.ConsumeRefreshToken, tok.Hash, at(time.Minute)))
	wantErr(t, "Issue(consume RefreshToken, again)", e.consume(runtime.ConsumeRefreshToken, tok.Hash, at(2*time.Minute)), runtime.ErrConsumed)
	got, err := s.GetRefreshToken(e.ctx, tok.Hash)
	must(t, "GetRefreshToken", err)
	sameTime(t, "ConsumedAt after consuming twice", at(time.Minute), got.ConsumedAt)
}

func testRefreshTokenConsumeUnknown(t *testing.T, e *env) {
	need[runtime.RefreshTokenStore](e)
	e.refreshToken(e.client(), "")
	for _, hash := range []string{runtime.HashToken("unknown"), ""} {
		wantErr(t, "Issue(consume RefreshToken, "+quote(hash)+")", e.consume(runtime.ConsumeRefreshToken, hash, t0), runtime.ErrNotFound)
	}
}

// A rotated token can still be revoked (its family's reuse is detected
// through it), and the two times are kept apart.
func testRefreshTokenConsumeThenRevoke(t *testing.T, e *env) {
	s := need[runtime.RefreshTokenStore](e)
	tok := e.refreshToken(e.client(), e.user())
	must(t, "Issue(consume RefreshToken)", e.consume(runtime.ConsumeRefreshToken, tok.Hash, at(time.Minute)))
	must(t, "RevokeRefreshToken", s.RevokeRefreshToken(e.ctx, tok.Hash, at(2*time.Minute)))
	tok.ConsumedAt, tok.RevokedAt = at(time.Minute), at(2*time.Minute)
	got, err := s.GetRefreshToken(e.ctx, tok.Hash)
	must(t, "GetRefreshToken", err)
	diff(t, "GetRefreshToken after consuming and revoking", tok, got)
}

func testRefreshTokenConcurrentConsume(t *testing.T, e *env) {
	s := need[runtime.RefreshTokenStore](e)
	client, user := e.client(), e.user()
	hashes := make([]string, raceRecords)
	for i := range hashes {
		hashes[i] = e.refreshToken(client, user).Hash
	}
	winners := raceSingleUse(t, hashes, func(hash string, i int) error {
		return e.consume(runtime.ConsumeRefreshToken, hash, raceTime(i))
	})
	for _, hash := range hashes {
		got, err := s.GetRefreshToken(e.ctx, hash)
		must(t, "GetRefreshToken", err)
		sameTime(t, "ConsumedAt (the winner's)", winnerTime(winners[hash]), got.ConsumedAt)
	}
}

// refreshToken stores a refresh token of a new family and returns it.
func (e *env) refreshToken(clientID, userID string) *runtime.RefreshToken {
	e.t.Helper()
	return e.refreshTokenIn(clientID, userID, e.family(clientID, userID))
}

// refreshTokenIn stores a refresh token of that family and returns it.
func (e *env) refreshTokenIn(clientID, userID, familyID string) *runtime.RefreshToken {
	e.t.Helper()
	need[runtime.RefreshTokenStore](e)
	tok := &runtime.RefreshToken{Hash: e.hash(), ClientID: clientID, UserID: userID, Scopes: []string{"read"},
		FamilyID: familyID, IssuedAt: t0, ExpiresAt: at(24 * time.Hour)}
	must(e.t, "Issue(RefreshToken)", e.create(&runtime.Issuance{RefreshToken: tok}))
	return tok
}

// Within the reuse interval a rotated token is consumed again, keeping its
// first ConsumedAt; before the interval's start it is reuse, as ever.
func testRefreshTokenReuseInterval(t *testing.T, e *env) {
	s := need[runtime.RefreshTokenStore](e)
	tok := e.refreshToken(e.client(), e.user())
	reuse := func(now, since time.Time) error {
		return e.h.Store.Issue(e.ctx, &runtime.Issuance{Consume: &runtime.Consumption{
			Kind: runtime.ConsumeRefreshToken, Hash: tok.Hash, At: now, ReuseSince: since}})
	}
	must(t, "Issue(first consumption, with an interval)", reuse(at(time.Minute), at(time.Minute-30*time.Second)))
	must(t, "Issue(again, within the interval)", reuse(at(time.Minute+10*time.Second), at(time.Minute-20*time.Second)))
	must(t, "Issue(again, the interval starting at the consumption)", reuse(at(time.Minute+30*time.Second), at(time.Minute)))
	wantErr(t, "Issue(again, after the interval)", reuse(at(time.Minute+31*time.Second), at(time.Minute+time.Second)), runtime.ErrConsumed)
	wantErr(t, "Issue(again, strict)", e.consume(runtime.ConsumeRefreshToken, tok.Hash, at(2*time.Minute)), runtime.ErrConsumed)
	got, err := s.GetRefreshToken(e.ctx, tok.Hash)
	must(t, "GetRefreshToken", err)
	sameTime(t, "ConsumedAt after reuses", at(time.Minute), got.ConsumedAt)
	wantErr(t, "Issue(unknown, with an interval)", e.h.Store.Issue(e.ctx, &runtime.Issuance{Consume: &runtime.Consumption{
		Kind: runtime.ConsumeRefreshToken, Hash: e.hash(), At: t0, ReuseSince: past}}), runtime.ErrNotFound)
}

// Concurrent presentations within the interval all succeed (two tabs
// refreshing at once), each committing its own tokens.
func testRefreshTokenConcurrentReuse(t *testing.T, e *env) {
	s := need[runtime.RefreshTokenStore](e)
	client, user := e.client(), e.user()
	tok := e.refreshToken(client, user)
	const n = 8
	errs := make(chan error, n)
	issued := make([]*runtime.Issuance, n)
	for i := range n {
		issued[i] = e.tokens(client, user, tok.FamilyID, &runtime.Consumption{
			Kind: runtime.ConsumeRefreshToken, Hash: tok.Hash, At: raceTime(i), ReuseSince: past})
	}
	start := make(chan struct{})
	for i := range n {
		go func() { <-start; errs <- e.h.Store.Issue(e.ctx, issued[i]) }()
	}
	close(start)
	for range n {
		if err := <-errs; err != nil {
			t.Errorf("Issue within the reuse interval: error = %v, want nil", err)
		}
	}
	got, err := s.GetRefreshToken(e.ctx, tok.Hash)
	must(t, "GetRefreshToken", err)
	if got.ConsumedAt.IsZero() {
		t.Error("ConsumedAt is zero after concurrent consumptions")
	}
	for i, is := range issued {
		if _, err := s.GetRefreshToken(e.ctx, is.RefreshToken.Hash); err != nil {
			t.Errorf("new refresh token %d: error = %v", i, err)
		}
	}
}
