package runtimetest

import (
	"testing"
	"time"

	"github.com/oauthgen/oauthgen/runtime"
)

// tokenOps adapts access and refresh tokens to the revocation tests they
// share, so both kinds are held to the same rules.
type tokenOps struct {
	// create stores a token and returns its hash.
	create func(clientID, userID, familyID string) string
	// revokedAt reads a token back and returns its RevokedAt.
	revokedAt func(hash string) time.Time
	// revoke revokes a token on its own.
	revoke func(hash string, at time.Time) error
	// familyOptional: the kind may have no family (access tokens).
	familyOptional bool
}

func accessOps(e *env) tokenOps {
	e.t.Helper()
	s := need[runtime.AccessTokenStore](e)
	return tokenOps{
		create: func(clientID, userID, familyID string) string {
			e.t.Helper()
			tok := &runtime.AccessToken{Hash: e.hash(), ClientID: clientID, UserID: userID, Scopes: []string{"read"},
				FamilyID: familyID, IssuedAt: t0, ExpiresAt: at(time.Hour)}
			must(e.t, "Issue(AccessToken)", e.create(&runtime.Issuance{AccessToken: tok}))
			return tok.Hash
		},
		revokedAt: func(hash string) time.Time {
			e.t.Helper()
			tok, err := s.GetAccessToken(e.ctx, hash)
			must(e.t, "GetAccessToken", err)
			return tok.RevokedAt
		},
		revoke: func(hash string, at time.Time) error {
			return s.RevokeAccessToken(e.ctx, hash, at)
		},
		familyOptional: true,
	}
}

func refreshOps(e *env) tokenOps {
	e.t.Helper()
	s := need[runtime.RefreshTokenStore](e)
	return tokenOps{
		create: func(clientID, userID, familyID string) string {
			e.t.Helper()
			tok := &runtime.RefreshToken{Hash: e.hash(), ClientID: clientID, UserID: userID, Scopes: []string{"read"},
				FamilyID: familyID, IssuedAt: t0, ExpiresAt: at(24 * time.Hour)}
			must(e.t, "Issue(RefreshToken)", e.create(&runtime.Issuance{RefreshToken: tok}))
			return tok.Hash
		},
		revokedAt: func(hash string) time.Time {
			e.t.Helper()
			tok, err := s.GetRefreshToken(e.ctx, hash)
			must(e.t, "GetRefreshToken", err)
			return tok.RevokedAt
		},
		revoke: func(hash string, at time.Time) error {
			return s.RevokeRefreshToken(e.ctx, hash, at)
		},
	}
}

// revocationTests are the revocation subtests of one token kind.
func revocationTests(ops func(e *env) tokenOps) []subtest {
	return []subtest{
		{"revoke", func(t *testing.T, e *env) { testRevoke(t, e, ops(e)) }},
		{"revoke_twice", func(t *testing.T, e *env) { testRevokeTwice(t, e, ops(e)) }},
		{"revoke_unknown", func(t *testing.T, e *env) { testRevokeUnknown(t, e, ops(e)) }},
		{"revoked_family", func(t *testing.T, e *env) { testRevokedFamily(t, e, ops(e)) }},
	}
}

func testRevoke(t *testing.T, e *env, ops tokenOps) {
	client, user := e.client(), e.user()
	fam := e.family(client, user)
	a, b := ops.create(client, user, fam), ops.create(client, user, fam)
	sameTime(t, "RevokedAt before revoking", time.Time{}, ops.revokedAt(a))
	must(t, "revoke", ops.revoke(a, at(time.Minute)))
	sameTime(t, "RevokedAt of the revoked token", at(time.Minute), ops.revokedAt(a))
	sameTime(t, "RevokedAt of a token of the same family", time.Time{}, ops.revokedAt(b))
}

func testRevokeTwice(t *testing.T, e *env, ops tokenOps) {
	client, user := e.client(), e.user()
	a := ops.create(client, user, e.family(client, user))
	must(t, "revoke", ops.revoke(a, at(time.Minute)))
	wantErr(t, "revoke again", ops.revoke(a, at(2*time.Minute)), nil)
	sameTime(t, "RevokedAt after revoking twice", at(time.Minute), ops.revokedAt(a))
}

func testRevokeUnknown(t *testing.T, e *env, ops tokenOps) {
	client := e.client()
	ops.create(client, "", e.family(client, ""))
	for _, hash := range []string{runtime.HashToken("unknown"), ""} {
		wantErr(t, "revoke("+quote(hash)+")", ops.revoke(hash, t0), runtime.ErrNotFound)
	}
}

func testRevokedFamily(t *testing.T, e *env, ops tokenOps) {
	fs := need[runtime.FamilyStore](e)
	client, user := e.client(), e.user()
	other := e.client()
	fam, sibling, unrelated := e.family(client, user), e.family(client, user), e.family(other, "")

	inFamily := []string{ops.create(client, user, fam), ops.create(client, user, fam)}
	revokedFirst := ops.create(client, user, fam)
	inSibling := ops.create(client, user, sibling)
	inUnrelated := ops.create(other, "", unrelated)
	var noFamily string
	if ops.familyOptional {
		noFamily = ops.create(client, user, "")
	}

	own, revoked := at(time.Minute), at(2*time.Minute)
	must(t, "revoke", ops.revoke(revokedFirst, own))
	must(t, "RevokeFamily", fs.RevokeFamily(e.ctx, fam, revoked))

	for i, h := range inFamily {
		sameTime(t, "RevokedAt of token "+string(rune('a'+i))+" of the revoked family", revoked, ops.revokedAt(h))
	}
	sameTime(t, "RevokedAt of a token revoked before its family", own, ops.revokedAt(revokedFirst))
	sameTime(t, "RevokedAt of a token of another family of the same client and user", time.Time{}, ops.revokedAt(inSibling))
	sameTime(t, "RevokedAt of a token of another client's family", time.Time{}, ops.revokedAt(inUnrelated))
	if noFamily != "" {
		sameTime(t, "RevokedAt of a token without family", time.Time{}, ops.revokedAt(noFamily))
	}

	// A token issued into a family that is already revoked is born revoked.
	late := ops.create(client, user, fam)
	sameTime(t, "RevokedAt of a token created after its family was revoked", revoked, ops.revokedAt(late))

	// Revoking the family again changes nothing.
	wantErr(t, "RevokeFamily(again)", fs.RevokeFamily(e.ctx, fam, at(3*time.Minute)), nil)
	sameTime(t, "RevokedAt after revoking the family twice", revoked, ops.revokedAt(inFamily[0]))
}
