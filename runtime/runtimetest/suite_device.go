package runtimetest

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/oauthgen/oauthgen/runtime"
)

// Device authorizations move pending → approved → consumed, or
// pending → denied; polls are recorded in any state.
func deviceCodeTests() []subtest {
	return []subtest{
		{"round_trip", testDeviceRoundTrip},
		{"by_user_code", testDeviceByUserCode},
		{"unknown", testDeviceUnknown},
		{"duplicate_hash", testDeviceDuplicateHash},
		{"duplicate_user_code", testDeviceDuplicateUserCode},
		{"approve", testDeviceApprove},
		{"deny", testDeviceDeny},
		{"decide_twice", testDeviceDecideTwice},
		{"decide_unknown", testDeviceDecideUnknown},
		{"poll", testDevicePoll},
		{"poll_unknown", testDevicePollUnknown},
		{"concurrent_poll", testDeviceConcurrentPoll},
		{"consume", testDeviceConsume},
		{"consume_twice", testDeviceConsumeTwice},
		{"consume_pending", testDeviceConsumePending},
		{"consume_denied", testDeviceConsumeDenied},
		{"consume_unknown", testDeviceConsumeUnknown},
		{"concurrent_decide", testDeviceConcurrentDecide},
		{"concurrent_consume", testDeviceConcurrentConsume},
	}
}

func testDeviceRoundTrip(t *testing.T, e *env) {
	s := need[runtime.DeviceCodeStore](e)
	client := e.client()
	cases := []struct {
		name string
		dc   runtime.DeviceCode
	}{
		{"pending", runtime.DeviceCode{Hash: e.hash(), UserCodeHash: runtime.HashToken("BCDF-GHJK"), ClientID: client,
			Scopes: manyScopes, Status: runtime.DevicePending, FamilyID: e.family(client, ""),
			Interval: 5 * time.Second, IssuedAt: t0, ExpiresAt: at(10 * time.Minute)}},
		{"nil_scopes", runtime.DeviceCode{Hash: e.hash(), UserCodeHash: runtime.HashToken("LMNP-QRST"), ClientID: client,
			Status: runtime.DevicePending, FamilyID: e.family(client, ""),
			Interval: 7 * time.Second, IssuedAt: at(time.Second), ExpiresAt: at(10*time.Minute + time.Second)}},
		{"empty_scopes", runtime.DeviceCode{Hash: e.hash(), UserCodeHash: runtime.HashToken("VWXZ-BCDF"), ClientID: client,
			Scopes: []string{}, Status: runtime.DevicePending, FamilyID: e.family(client, ""),
			Interval: 5 * time.Second, IssuedAt: at(2 * time.Second), ExpiresAt: at(time.Hour)}},
		// Stores never judge expiry: the engine does, with its own clock.
		{"expired", runtime.DeviceCode{Hash: e.hash(), UserCodeHash: runtime.HashToken("GHJK-LMNP"), ClientID: client,
			Scopes: []string{"read"}, Status: runtime.DevicePending, FamilyID: e.family(client, ""),
			Interval: 5 * time.Second, IssuedAt: past.Add(-10 * time.Minute), ExpiresAt: past}},
	}
	for _, tc := range cases {
		must(t, "Issue(DeviceCode, "+tc.name+")", e.create(&runtime.Issuance{DeviceCode: &tc.dc}))
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := s.GetDeviceCode(e.ctx, tc.dc.Hash)
			must(t, "GetDeviceCode", err)
			diff(t, "GetDeviceCode", &tc.dc, got)
		})
	}
}

func testDeviceByUserCode(t *testing.T, e *env) {
	s := need[runtime.DeviceCodeStore](e)
	client := e.client()
	for _, want := range []*runtime.DeviceCode{e.deviceCode(client), e.deviceCode(client)} {
		got, err := s.GetDeviceCodeByUserCode(e.ctx, want.UserCodeHash)
		must(t, "GetDeviceCodeByUserCode", err)
		diff(t, "GetDeviceCodeByUserCode", want, got)
	}
}

func testDeviceUnknown(t *testing.T, e *env) {
	s := need[runtime.DeviceCodeStore](e)
	dc := e.deviceCode(e.client())
	// The two keys are looked up apart: one is never found as the other.
	for _, hash := range []string{runtime.HashToken("unknown"), "", dc.UserCodeHash} {
		_, err := s.GetDeviceCode(e.ctx, hash)
		wantErr(t, "GetDeviceCode("+quote(hash)+")", err, runtime.ErrNotFound)
	}
	for _, hash := range []string{runtime.HashToken("unknown"), "", dc.Hash} {
		_, err := s.GetDeviceCodeByUserCode(e.ctx, hash)
		wantErr(t, "GetDeviceCodeByUserCode("+quote(hash)+")", err, runtime.ErrNotFound)
	}
}

func testDeviceDuplicateHash(t *testing.T, e *env) {
	s := need[runtime.DeviceCodeStore](e)
	client := e.client()
	first := e.deviceCode(client)
	second := e.newDeviceCode(client)
	second.Hash = first.Hash
	wantErr(t, "Issue(DeviceCode, same hash)", e.create(&runtime.Issuance{DeviceCode: second}), runtime.ErrDuplicate)
	got, err := s.GetDeviceCode(e.ctx, first.Hash)
	must(t, "GetDeviceCode", err)
	diff(t, "GetDeviceCode after a duplicate create", first, got)
	_, err = s.GetDeviceCodeByUserCode(e.ctx, second.UserCodeHash)
	wantErr(t, "GetDeviceCodeByUserCode(user code of the refused record)", err, runtime.ErrNotFound)
}

func testDeviceDuplicateUserCode(t *testing.T, e *env) {
	s := need[runtime.DeviceCodeStore](e)
	client := e.client()
	first := e.deviceCode(client)
	second := e.newDeviceCode(client)
	second.UserCodeHash = first.UserCodeHash
	wantErr(t, "Issue(DeviceCode, same user code)", e.create(&runtime.Issuance{DeviceCode: second}), runtime.ErrDuplicate)
	got, err := s.GetDeviceCodeByUserCode(e.ctx, first.UserCodeHash)
	must(t, "GetDeviceCodeByUserCode", err)
	diff(t, "GetDeviceCodeByUserCode after a duplicate create", first, got)
	_, err = s.GetDeviceCode(e.ctx, second.Hash)
	wantErr(t, "GetDeviceCode(hash of the refused record)", err, runtime.ErrNotFound)
}

func testDeviceApprove(t *testing.T, e *env) {
	s := need[runtime.DeviceCodeStore](e)
	client, user := e.client(), e.user()
	cases := []struct {
		name    string
		granted []string
	}{
		{"as_requested", []string{"openid", "read"}},
		{"narrower", []string{"read"}},
		{"none", []string{}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := e.sub(t)
			want := e.deviceCode(client)
			other := e.deviceCode(client)
			d := runtime.DeviceDecision{Status: runtime.DeviceApproved, UserID: user, Scopes: tc.granted, At: at(time.Minute)}
			must(t, "DecideDeviceCode", s.DecideDeviceCode(e.ctx, want.Hash, d))
			want.Status, want.UserID, want.Scopes, want.DecidedAt = d.Status, d.UserID, d.Scopes, d.At
			got, err := s.GetDeviceCode(e.ctx, want.Hash)
			must(t, "GetDeviceCode", err)
			diff(t, "GetDeviceCode after approval", want, got)
			got, err = s.GetDeviceCodeByUserCode(e.ctx, want.UserCodeHash)
			must(t, "GetDeviceCodeByUserCode", err)
			diff(t, "GetDeviceCodeByUserCode after approval", want, got)
			got, err = s.GetDeviceCode(e.ctx, other.Hash)
			must(t, "GetDeviceCode", err)
			diff(t, "GetDeviceCode of another device code", other, got)
		})
	}
}

// ignoreScopes: what a denial does to the requested scopes is the store's
// business, since nothing is granted.
var ignoreScopes = cmpopts.IgnoreFields(runtime.DeviceCode{}, "Scopes")

func testDeviceDeny(t *testing.T, e *env) {
	s := need[runtime.DeviceCodeStore](e)
	want := e.deviceCode(e.client())
	d := runtime.DeviceDecision{Status: runtime.DeviceDenied, UserID: e.user(), At: at(time.Minute)}
	must(t, "DecideDeviceCode", s.DecideDeviceCode(e.ctx, want.Hash, d))
	want.Status, want.UserID, want.DecidedAt = d.Status, d.UserID, d.At
	got, err := s.GetDeviceCode(e.ctx, want.Hash)
	must(t, "GetDeviceCode", err)
	diff(t, "GetDeviceCode after denial", want, got, ignoreScopes)
}

func testDeviceDecideTwice(t *testing.T, e *env) {
	s := need[runtime.DeviceCodeStore](e)
	client, user, other := e.client(), e.user(), e.user()
	for _, first := range []runtime.DeviceStatus{runtime.DeviceApproved, runtime.DeviceDenied} {
		t.Run(string(first), func(t *testing.T) {
			e := e.sub(t)
			dc := e.deviceCode(client)
			d := runtime.DeviceDecision{Status: first, UserID: user, Scopes: []string{"read"}, At: at(time.Minute)}
			must(t, "DecideDeviceCode", s.DecideDeviceCode(e.ctx, dc.Hash, d))
			want, err := s.GetDeviceCode(e.ctx, dc.Hash)
			must(t, "GetDeviceCode", err)
			for _, again := range []runtime.DeviceStatus{runtime.DeviceApproved, runtime.DeviceDenied} {
				d := runtime.DeviceDecision{Status: again, UserID: other, Scopes: []string{"openid"}, At: at(2 * time.Minute)}
				wantErr(t, "DecideDeviceCode("+string(again)+") after "+string(first), s.DecideDeviceCode(e.ctx, dc.Hash, d), runtime.ErrConsumed)
			}
			got, err := s.GetDeviceCode(e.ctx, dc.Hash)
			must(t, "GetDeviceCode", err)
			diff(t, "GetDeviceCode after a refused second decision", want, got)
		})
	}
}

func testDeviceDecideUnknown(t *testing.T, e *env) {
	s := need[runtime.DeviceCodeStore](e)
	dc := e.deviceCode(e.client())
	user := e.user()
	for _, hash := range []string{runtime.HashToken("unknown"), "", dc.UserCodeHash} {
		d := runtime.DeviceDecision{Status: runtime.DeviceApproved, UserID: user, At: t0}
		wantErr(t, "DecideDeviceCode("+quote(hash)+")", s.DecideDeviceCode(e.ctx, hash, d), runtime.ErrNotFound)
	}
}

func testDevicePoll(t *testing.T, e *env) {
	s := need[runtime.DeviceCodeStore](e)
	want := e.deviceCode(e.client())
	user := e.user()
	check := func(what string) {
		t.Helper()
		got, err := s.GetDeviceCode(e.ctx, want.Hash)
		must(t, "GetDeviceCode", err)
		diff(t, "GetDeviceCode "+what, want, got)
	}

	poll := func(prev, now time.Time, interval time.Duration) runtime.DevicePoll {
		return runtime.DevicePoll{Previous: prev, At: now, Interval: interval}
	}
	must(t, "PollDeviceCode", s.PollDeviceCode(e.ctx, want.Hash, poll(time.Time{}, at(5*time.Second), 5*time.Second)))
	want.LastPolledAt, want.Interval = at(5*time.Second), 5*time.Second
	check("after the first poll")

	// slow_down (RFC 8628 §3.5): the interval grows.
	must(t, "PollDeviceCode", s.PollDeviceCode(e.ctx, want.Hash, poll(at(5*time.Second), at(6*time.Second), 10*time.Second)))
	want.LastPolledAt, want.Interval = at(6*time.Second), 10*time.Second
	check("after slow_down")

	// A poll decided on a stale LastPolledAt lost to another: it changes nothing.
	wantErr(t, "PollDeviceCode(stale, never polled)", s.PollDeviceCode(e.ctx, want.Hash, poll(time.Time{}, at(7*time.Second), 5*time.Second)), runtime.ErrConsumed)
	wantErr(t, "PollDeviceCode(stale)", s.PollDeviceCode(e.ctx, want.Hash, poll(at(5*time.Second), at(7*time.Second), 5*time.Second)), runtime.ErrConsumed)
	check("after stale polls")

	d := runtime.DeviceDecision{Status: runtime.DeviceApproved, UserID: user, Scopes: []string{"read"}, At: at(10 * time.Second)}
	must(t, "DecideDeviceCode", s.DecideDeviceCode(e.ctx, want.Hash, d))
	want.Status, want.UserID, want.Scopes, want.DecidedAt = d.Status, d.UserID, d.Scopes, d.At
	must(t, "PollDeviceCode", s.PollDeviceCode(e.ctx, want.Hash, poll(at(6*time.Second), at(16*time.Second), 10*time.Second)))
	want.LastPolledAt = at(16 * time.Second)
	check("after a poll of an approved authorization")
}

// Of concurrent polls decided on the same LastPolledAt, exactly one is
// recorded: the engine answers the others slow_down.
func testDeviceConcurrentPoll(t *testing.T, e *env) {
	s := need[runtime.DeviceCodeStore](e)
	client := e.client()
	hashes := make([]string, raceRecords)
	for i := range hashes {
		hashes[i] = e.deviceCode(client).Hash
	}
	winners := raceSingleUse(t, hashes, func(hash string, i int) error {
		return s.PollDeviceCode(e.ctx, hash, runtime.DevicePoll{At: raceTime(i), Interval: 5 * time.Second})
	})
	for _, hash := range hashes {
		got, err := s.GetDeviceCode(e.ctx, hash)
		must(t, "GetDeviceCode", err)
		sameTime(t, "LastPolledAt (the winner's)", winnerTime(winners[hash]), got.LastPolledAt)
	}
}

func testDevicePollUnknown(t *testing.T, e *env) {
	s := need[runtime.DeviceCodeStore](e)
	dc := e.deviceCode(e.client())
	for _, hash := range []string{runtime.HashToken("unknown"), "", dc.UserCodeHash} {
		wantErr(t, "PollDeviceCode("+quote(hash)+")", s.PollDeviceCode(e.ctx, hash, runtime.DevicePoll{At: t0, Interval: 5 * time.Second}), runtime.ErrNotFound)
	}
}

func testDeviceConsume(t *testing.T, e *env) {
	s := need[runtime.DeviceCodeStore](e)
	want := e.approvedDeviceCode(e.client(), e.user())
	must(t, "Issue(consume DeviceCode)", e.consume(runtime.ConsumeDeviceCode, want.Hash, at(time.Minute)))
	want.ConsumedAt = at(time.Minute)
	got, err := s.GetDeviceCode(e.ctx, want.Hash)
	must(t, "GetDeviceCode", err)
	diff(t, "GetDeviceCode after consuming", want, got)
}

func testDeviceConsumeTwice(t *testing.T, e *env) {
	s := need[runtime.DeviceCodeStore](e)
	dc := e.approvedDeviceCode(e.client(), e.user())
	must(t, "Issue(consume DeviceCode)", e.consume(runtime.ConsumeDeviceCode, dc.Hash, at(time.Minute)))
	wantErr(t, "Issue(consume DeviceCode, again)", e.consume(runtime.ConsumeDeviceCode, dc.Hash, at(2*time.Minute)), runtime.ErrConsumed)
	got, err := s.GetDeviceCode(e.ctx, dc.Hash)
	must(t, "GetDeviceCode", err)
	sameTime(t, "ConsumedAt after consuming twice", at(time.Minute), got.ConsumedAt)
}

func testDeviceConsumePending(t *testing.T, e *env) {
	s := need[runtime.DeviceCodeStore](e)
	want := e.deviceCode(e.client())
	wantErr(t, "Issue(consume DeviceCode, pending)", e.consume(runtime.ConsumeDeviceCode, want.Hash, at(time.Minute)), runtime.ErrConsumed)
	got, err := s.GetDeviceCode(e.ctx, want.Hash)
	must(t, "GetDeviceCode", err)
	diff(t, "GetDeviceCode after a refused consume", want, got)
}

func testDeviceConsumeDenied(t *testing.T, e *env) {
	s := need[runtime.DeviceCodeStore](e)
	dc := e.deviceCode(e.client())
	d := runtime.DeviceDecision{Status: runtime.DeviceDenied, UserID: e.user(), At: at(time.Second)}
	must(t, "DecideDeviceCode", s.DecideDeviceCode(e.ctx, dc.Hash, d))
	want, err := s.GetDeviceCode(e.ctx, dc.Hash)
	must(t, "GetDeviceCode", err)
	wantErr(t, "Issue(consume DeviceCode, denied)", e.consume(runtime.ConsumeDeviceCode, dc.Hash, at(time.Minute)), runtime.ErrConsumed)
	got, err := s.GetDeviceCode(e.ctx, dc.Hash)
	must(t, "GetDeviceCode", err)
	diff(t, "GetDeviceCode after a refused consume", want, got)
}

func testDeviceConsumeUnknown(t *testing.T, e *env) {
	need[runtime.DeviceCodeStore](e)
	dc := e.approvedDeviceCode(e.client(), e.user())
	for _, hash := range []string{runtime.HashToken("unknown"), "", dc.UserCodeHash} {
		wantErr(t, "Issue(consume DeviceCode, "+quote(hash)+")", e.consume(runtime.ConsumeDeviceCode, hash, t0), runtime.ErrNotFound)
	}
}

// The user's decision is as single-use as the code: two browser tabs
// deciding at once must not both win.
func testDeviceConcurrentDecide(t *testing.T, e *env) {
	s := need[runtime.DeviceCodeStore](e)
	client, user := e.client(), e.user()
	hashes := make([]string, raceRecords)
	for i := range hashes {
		hashes[i] = e.deviceCode(client).Hash
	}
	decision := func(i int) runtime.DeviceDecision {
		d := runtime.DeviceDecision{Status: runtime.DeviceApproved, UserID: user, Scopes: []string{"read"}, At: raceTime(i)}
		if i%2 == 1 {
			d.Status = runtime.DeviceDenied
		}
		return d
	}
	winners := raceSingleUse(t, hashes, func(hash string, i int) error {
		return s.DecideDeviceCode(e.ctx, hash, decision(i))
	})
	for _, hash := range hashes {
		got, err := s.GetDeviceCode(e.ctx, hash)
		must(t, "GetDeviceCode", err)
		if w := winners[hash]; w >= 0 {
			if d := decision(w); got.Status != d.Status {
				t.Errorf("Status = %q, want the winner's %q", got.Status, d.Status)
			}
		}
		sameTime(t, "DecidedAt (the winner's)", winnerTime(winners[hash]), got.DecidedAt)
	}
}

func testDeviceConcurrentConsume(t *testing.T, e *env) {
	s := need[runtime.DeviceCodeStore](e)
	client, user := e.client(), e.user()
	hashes := make([]string, raceRecords)
	for i := range hashes {
		hashes[i] = e.approvedDeviceCode(client, user).Hash
	}
	winners := raceSingleUse(t, hashes, func(hash string, i int) error {
		return e.consume(runtime.ConsumeDeviceCode, hash, raceTime(i))
	})
	for _, hash := range hashes {
		got, err := s.GetDeviceCode(e.ctx, hash)
		must(t, "GetDeviceCode", err)
		sameTime(t, "ConsumedAt (the winner's)", winnerTime(winners[hash]), got.ConsumedAt)
	}
}

// newDeviceCode returns a pending device authorization of a new family,
// not yet stored.
func (e *env) newDeviceCode(clientID string) *runtime.DeviceCode {
	e.t.Helper()
	return &runtime.DeviceCode{Hash: e.hash(), UserCodeHash: runtime.HashToken(e.next("USER-CODE")), ClientID: clientID,
		Scopes: []string{"openid", "read"}, Status: runtime.DevicePending, FamilyID: e.family(clientID, ""),
		Interval: 5 * time.Second, IssuedAt: t0, ExpiresAt: at(10 * time.Minute)}
}

// deviceCode stores a pending device authorization and returns it.
func (e *env) deviceCode(clientID string) *runtime.DeviceCode {
	e.t.Helper()
	need[runtime.DeviceCodeStore](e)
	dc := e.newDeviceCode(clientID)
	must(e.t, "Issue(DeviceCode)", e.create(&runtime.Issuance{DeviceCode: dc}))
	return dc
}

// approvedDeviceCode stores a device authorization, approves it, and
// returns it as it now reads.
func (e *env) approvedDeviceCode(clientID, userID string) *runtime.DeviceCode {
	e.t.Helper()
	need[runtime.DeviceCodeStore](e)
	dc := e.deviceCode(clientID)
	d := runtime.DeviceDecision{Status: runtime.DeviceApproved, UserID: userID, Scopes: []string{"read"}, At: at(30 * time.Second)}
	must(e.t, "DecideDeviceCode", need[runtime.DeviceCodeStore](e).DecideDeviceCode(e.ctx, dc.Hash, d))
	dc.Status, dc.UserID, dc.Scopes, dc.DecidedAt = d.Status, d.UserID, d.Scopes, d.At
	return dc
}
