package runtimetest

import (
	"testing"
	"time"

	"github.com/oauthgen/oauthgen/runtime"
)

// Families have no getter: what revoking one does is checked through the
// tokens that read it back (AccessToken/revoked_family, RefreshToken/revoked_family).
func familyTests() []subtest {
	return []subtest{
		{"create", testFamilyCreate},
		{"duplicate", testFamilyDuplicate},
		{"revoke_twice", testFamilyRevokeTwice},
		{"revoke_unknown", testFamilyRevokeUnknown},
	}
}

func testFamilyCreate(t *testing.T, e *env) {
	need[runtime.FamilyStore](e)
	client := e.client()
	user := e.user()
	for _, f := range []runtime.Family{
		{ID: runtime.NewID(), ClientID: client, UserID: user, CreatedAt: t0},
		{ID: runtime.NewID(), ClientID: client, CreatedAt: at(time.Second)}, // no user: an extension grant's
		{ID: "family-with-a-non-hex-id", ClientID: client, UserID: user, CreatedAt: past},
	} {
		must(t, "Issue(Family, "+quote(f.ID)+")", e.create(&runtime.Issuance{Family: &f}))
	}
}

func testFamilyDuplicate(t *testing.T, e *env) {
	need[runtime.FamilyStore](e)
	client := e.client()
	f := &runtime.Family{ID: runtime.NewID(), ClientID: client, UserID: e.user(), CreatedAt: t0}
	must(t, "Issue(Family)", e.create(&runtime.Issuance{Family: f}))
	again := &runtime.Family{ID: f.ID, ClientID: client, CreatedAt: at(time.Second)}
	wantErr(t, "Issue(Family, same id)", e.create(&runtime.Issuance{Family: again}), runtime.ErrDuplicate)
}

func testFamilyRevokeTwice(t *testing.T, e *env) {
	fs := need[runtime.FamilyStore](e)
	f := e.family(e.client(), e.user())
	must(t, "RevokeFamily", fs.RevokeFamily(e.ctx, f, at(time.Minute)))
	wantErr(t, "RevokeFamily(again)", fs.RevokeFamily(e.ctx, f, at(2*time.Minute)), nil)
}

func testFamilyRevokeUnknown(t *testing.T, e *env) {
	fs := need[runtime.FamilyStore](e)
	e.family(e.client(), "")
	for _, id := range []string{runtime.NewID(), ""} {
		wantErr(t, "RevokeFamily("+quote(id)+")", fs.RevokeFamily(e.ctx, id, t0), runtime.ErrNotFound)
	}
}
