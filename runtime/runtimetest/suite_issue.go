package runtimetest

import (
	"errors"
	"testing"
	"time"

	"github.com/oauthgen/oauthgen/runtime"
)

// issueTests check that an Issuance is all or nothing.
func issueTests() []subtest {
	tests := []subtest{{"duplicate_writes_nothing", testIssueDuplicateWritesNothing}}
	for _, sh := range issueShapes {
		for _, f := range sh.faults {
			name := string(f.Record)
			if f.Consume {
				name = "consume"
			}
			tests = append(tests, subtest{"fault/" + sh.name + "/" + name, func(t *testing.T, e *env) { testIssueFault(t, e, sh, f) }})
		}
	}
	return tests
}

// issueShape is one kind of request the engine commits with Issue: it
// makes the records the request starts from and the Issuance it commits.
type issueShape struct {
	name   string
	faults []Fault
	make   func(e *env) *runtime.Issuance
}

var (
	consumeFaults = func(r Record) []Fault {
		return []Fault{{Record: r, Consume: true}, {Record: RecordAccessToken}, {Record: RecordRefreshToken}}
	}
	issueShapes = []issueShape{
		{"code_redemption", consumeFaults(RecordAuthorizationCode), func(e *env) *runtime.Issuance {
			client, user := e.client(), e.user()
			c := e.code(client, user)
			return e.tokens(client, user, c.FamilyID, &runtime.Consumption{Kind: runtime.ConsumeAuthorizationCode, Hash: c.Hash, At: at(time.Minute)})
		}},
		{"refresh_rotation", consumeFaults(RecordRefreshToken), func(e *env) *runtime.Issuance {
			client, user := e.client(), e.user()
			rt := e.refreshToken(client, user)
			return e.tokens(client, user, rt.FamilyID, &runtime.Consumption{Kind: runtime.ConsumeRefreshToken, Hash: rt.Hash, At: at(time.Minute)})
		}},
		{"device_redemption", consumeFaults(RecordDeviceCode), func(e *env) *runtime.Issuance {
			client, user := e.client(), e.user()
			dc := e.approvedDeviceCode(client, user)
			return e.tokens(client, user, dc.FamilyID, &runtime.Consumption{Kind: runtime.ConsumeDeviceCode, Hash: dc.Hash, At: at(time.Minute)})
		}},
		{"password", []Fault{{Record: RecordFamily}, {Record: RecordAccessToken}, {Record: RecordRefreshToken}}, func(e *env) *runtime.Issuance {
			need[runtime.RefreshTokenStore](e)
			client, user := e.client(), e.user()
			f := &runtime.Family{ID: runtime.NewID(), ClientID: client, UserID: user, CreatedAt: t0}
			is := e.tokens(client, user, f.ID, nil)
			is.Family = f
			return is
		}},
		{"authorization", []Fault{{Record: RecordFamily}, {Record: RecordAuthorizationCode}}, func(e *env) *runtime.Issuance {
			need[runtime.AuthorizationCodeStore](e)
			client, user := e.client(), e.user()
			f := &runtime.Family{ID: runtime.NewID(), ClientID: client, UserID: user, CreatedAt: t0}
			return &runtime.Issuance{Family: f, AuthorizationCode: &runtime.AuthorizationCode{
				Hash: e.hash(), ClientID: client, UserID: user, RedirectURI: "https://app.example/cb",
				Scopes: []string{"read"}, FamilyID: f.ID, IssuedAt: t0, ExpiresAt: at(5 * time.Minute)}}
		}},
		{"device_authorization", []Fault{{Record: RecordFamily}, {Record: RecordDeviceCode}}, func(e *env) *runtime.Issuance {
			need[runtime.DeviceCodeStore](e)
			client := e.client()
			f := &runtime.Family{ID: runtime.NewID(), ClientID: client, CreatedAt: t0}
			dc := e.newDeviceCode(client)
			dc.FamilyID = f.ID
			return &runtime.Issuance{Family: f, DeviceCode: dc}
		}},
		{"client_credentials", []Fault{{Record: RecordAccessToken}}, func(e *env) *runtime.Issuance {
			return e.tokens(e.client(), "", "", nil)
		}},
	}
)

// tokens is the Issuance of a token response in a family: an access token,
// and a refresh token when there is a family and the store keeps them.
func (e *env) tokens(clientID, userID, familyID string, consume *runtime.Consumption) *runtime.Issuance {
	is := &runtime.Issuance{Consume: consume, AccessToken: &runtime.AccessToken{
		Hash: e.hash(), ClientID: clientID, UserID: userID, Scopes: []string{"read"},
		FamilyID: familyID, IssuedAt: at(time.Minute), ExpiresAt: at(time.Hour)}}
	if _, ok := e.h.Store.(runtime.RefreshTokenStore); ok && familyID != "" {
		is.RefreshToken = &runtime.RefreshToken{Hash: e.hash(), ClientID: clientID, UserID: userID,
			Scopes: []string{"read"}, FamilyID: familyID, IssuedAt: at(time.Minute), ExpiresAt: at(24 * time.Hour)}
	}
	return is
}

// testIssueFault fails one write of an Issuance: nothing may be consumed or
// created, and the same Issuance then succeeds whole.
func testIssueFault(t *testing.T, e *env, sh issueShape, f Fault) {
	if e.h.Fail == nil {
		t.Skip("Harness.Fail is nil: no fault injection")
	}
	is := sh.make(e)
	if f.Record == RecordRefreshToken && is.RefreshToken == nil {
		t.Skip("the store keeps no refresh tokens")
	}
	heal := e.h.Fail(t, f)
	err := e.h.Store.Issue(e.ctx, is)
	heal()
	if err == nil {
		t.Fatalf("Issue with a failing %+v write: error = nil", f)
	}
	for _, sentinel := range []error{runtime.ErrConsumed, runtime.ErrNotFound, runtime.ErrDuplicate} {
		if errors.Is(err, sentinel) {
			t.Errorf("Issue with a failing write: error = %v, want a failure, not %v", err, sentinel)
		}
	}
	e.checkIssued(t, is, false)
	// Anything left behind would make this a duplicate, or a second consumption.
	must(t, "Issue after the fault healed", e.h.Store.Issue(e.ctx, is))
	e.checkIssued(t, is, true)
}

// testIssueDuplicateWritesNothing: the last write of an Issuance is a
// duplicate, so none of the writes before it may remain.
func testIssueDuplicateWritesNothing(t *testing.T, e *env) {
	need[runtime.RefreshTokenStore](e)
	client, user := e.client(), e.user()
	old := e.refreshToken(client, user)
	taken := e.refreshToken(client, user)
	f := &runtime.Family{ID: runtime.NewID(), ClientID: client, UserID: user, CreatedAt: t0}
	is := e.tokens(client, user, old.FamilyID, &runtime.Consumption{Kind: runtime.ConsumeRefreshToken, Hash: old.Hash, At: at(time.Minute)})
	is.Family = f
	is.AccessToken.FamilyID, is.RefreshToken.FamilyID = f.ID, f.ID
	is.RefreshToken.Hash = taken.Hash
	wantErr(t, "Issue(duplicate refresh token)", e.h.Store.Issue(e.ctx, is), runtime.ErrDuplicate)
	is.RefreshToken = nil
	e.checkIssued(t, is, false)
}

// checkIssued checks that every record of is exists (and its consumption
// happened), or that none does. Families have no getter: one left behind
// shows when the same Issuance is retried (ErrDuplicate).
func (e *env) checkIssued(t *testing.T, is *runtime.Issuance, want bool) {
	t.Helper()
	exists := func(what string, err error) {
		t.Helper()
		switch {
		case want && err != nil:
			t.Errorf("%s after Issue: error = %v, want the record", what, err)
		case !want && !errors.Is(err, runtime.ErrNotFound):
			t.Errorf("%s after a failed Issue: error = %v, want ErrNotFound: the failure left it behind", what, err)
		}
	}
	if c := is.Consume; c != nil {
		var consumedAt time.Time
		var err error
		switch c.Kind {
		case runtime.ConsumeAuthorizationCode:
			var r *runtime.AuthorizationCode
			if r, err = need[runtime.AuthorizationCodeStore](e).GetAuthorizationCode(e.ctx, c.Hash); err == nil {
				consumedAt = r.ConsumedAt
			}
		case runtime.ConsumeRefreshToken:
			var r *runtime.RefreshToken
			if r, err = need[runtime.RefreshTokenStore](e).GetRefreshToken(e.ctx, c.Hash); err == nil {
				consumedAt = r.ConsumedAt
			}
		case runtime.ConsumeDeviceCode:
			var r *runtime.DeviceCode
			if r, err = need[runtime.DeviceCodeStore](e).GetDeviceCode(e.ctx, c.Hash); err == nil {
				consumedAt = r.ConsumedAt
			}
		}
		must(t, "reading the consumed record", err)
		if want {
			sameTime(t, "ConsumedAt", c.At, consumedAt)
		} else if !consumedAt.IsZero() {
			t.Errorf("ConsumedAt after a failed Issue = %v, want zero: the failure consumed it", fmtTime(consumedAt))
		}
	}
	if r := is.AccessToken; r != nil {
		_, err := e.h.Store.GetAccessToken(e.ctx, r.Hash)
		exists("GetAccessToken", err)
	}
	if r := is.RefreshToken; r != nil {
		_, err := need[runtime.RefreshTokenStore](e).GetRefreshToken(e.ctx, r.Hash)
		exists("GetRefreshToken", err)
	}
	if r := is.AuthorizationCode; r != nil {
		_, err := need[runtime.AuthorizationCodeStore](e).GetAuthorizationCode(e.ctx, r.Hash)
		exists("GetAuthorizationCode", err)
	}
	if r := is.DeviceCode; r != nil {
		_, err := need[runtime.DeviceCodeStore](e).GetDeviceCode(e.ctx, r.Hash)
		exists("GetDeviceCode", err)
		_, err = need[runtime.DeviceCodeStore](e).GetDeviceCodeByUserCode(e.ctx, r.UserCodeHash)
		exists("GetDeviceCodeByUserCode", err)
	}
}
