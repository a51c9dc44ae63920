package runtime_test

import (
	"context"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/oauthgen/oauthgen/runtime"
	"github.com/oauthgen/oauthgen/runtime/runtimetest"
)

// TestFailedIssueLosesNothing fails each write of each token request in
// turn: the answer is a 500, nothing was spent, and the same request then
// succeeds. A failed rotation must not log the user out.
func TestFailedIssueLosesNothing(t *testing.T) {
	type request struct {
		name string
		// prepare returns the request to send, and the access token the
		// grant started from (still active afterwards), if any.
		prepare func(f *fixture) (send func() response, before string)
		faults  []runtimetest.Fault
	}
	consumed := func(r runtimetest.Record) []runtimetest.Fault {
		return []runtimetest.Fault{{Record: r, Consume: true}, {Record: runtimetest.RecordAccessToken}, {Record: runtimetest.RecordRefreshToken}}
	}
	requests := []request{
		{"refresh", func(f *fixture) (func() response, string) {
			at, rt := f.passwordTokens("read")
			return func() response { return f.token(vals("grant_type", "refresh_token", "refresh_token", rt)) }, at
		}, consumed(runtimetest.RecordRefreshToken)},
		{"code", func(f *fixture) (func() response, string) {
			code := f.code()
			return func() response { return f.redeem(code) }, ""
		}, consumed(runtimetest.RecordAuthorizationCode)},
		{"device", func(f *fixture) (func() response, string) {
			dc, uc := f.deviceStart("read")
			if err := f.srv.ApproveDevice(context.Background(), uc, "u-alice", nil); err != nil {
				f.t.Fatal(err)
			}
			return func() response { return f.poll(dc) }, ""
		}, consumed(runtimetest.RecordDeviceCode)},
		{"password", func(f *fixture) (func() response, string) {
			return func() response { return f.token(pwForm) }, ""
		}, []runtimetest.Fault{{Record: runtimetest.RecordFamily}, {Record: runtimetest.RecordAccessToken}, {Record: runtimetest.RecordRefreshToken}}},
		{"client_credentials", func(f *fixture) (func() response, string) {
			return func() response { return f.token(ccForm) }, ""
		}, []runtimetest.Fault{{Record: runtimetest.RecordAccessToken}}},
	}
	for _, rq := range requests {
		for _, fault := range rq.faults {
			name := string(fault.Record)
			if fault.Consume {
				name = "consume"
			}
			t.Run(rq.name+"/"+name, func(t *testing.T) {
				f := newFixture(t)
				send, before := rq.prepare(f)
				heal := f.store.Fail(t, fault)
				res := send()
				heal()
				if res.Status != http.StatusInternalServerError || res.str("error") != "server_error" {
					t.Fatalf("with the %s write failing: %d %s, want 500 server_error", name, res.Status, res.Raw)
				}
				res = send()
				if res.Status != http.StatusOK || res.str("access_token") == "" {
					t.Fatalf("the same request after the fault: %d %s, want 200", res.Status, res.Raw)
				}
				if !f.active(res.str("access_token")) {
					t.Error("the access token of the retry is not active")
				}
				if before != "" && !f.active(before) {
					t.Error("the access token from before the failed request was revoked: the failure counted as reuse")
				}
			})
		}
	}
}

// TestRefreshReuseInterval: within the interval, presenting the rotated
// token again (two tabs, a lost response) gets a new pair in the same
// family; after it, reuse revokes the family as before.
func TestRefreshReuseInterval(t *testing.T) {
	withInterval := func(c *runtime.Config) { c.RefreshToken.ReuseInterval = 30 * time.Second }
	refresh := func(f *fixture, rt string) response {
		return f.token(vals("grant_type", "refresh_token", "refresh_token", rt))
	}

	t.Run("sequential", func(t *testing.T) {
		f := newFixture(t, withInterval)
		at0, rt0 := f.passwordTokens("read")
		first := f.mustToken("conf", confSecret, vals("grant_type", "refresh_token", "refresh_token", rt0))
		f.clock.Add(29 * time.Second)
		again := refresh(f, rt0)
		if again.Status != http.StatusOK || again.str("refresh_token") == "" {
			t.Fatalf("rotated token within the interval: %d %s, want a new pair", again.Status, again.Raw)
		}
		for _, at := range []string{at0, first.str("access_token"), again.str("access_token")} {
			if !f.active(at) {
				t.Error("an access token of the family was revoked by a reuse within the interval")
			}
		}
		// Both new refresh tokens continue the family.
		for _, rt := range []string{first.str("refresh_token"), again.str("refresh_token")} {
			if res := refresh(f, rt); res.Status != http.StatusOK {
				t.Errorf("continuing the family: %d %s", res.Status, res.Raw)
			}
		}
		f.clock.Add(2 * time.Second) // 31 s after the rotation
		if res := refresh(f, rt0); res.str("error") != "invalid_grant" {
			t.Errorf("rotated token after the interval: %d %s, want invalid_grant", res.Status, res.Raw)
		}
		if f.active(at0) || f.active(again.str("access_token")) {
			t.Error("reuse after the interval did not revoke the family")
		}
	})

	t.Run("another_client", func(t *testing.T) {
		f := newFixture(t, withInterval)
		_, rt := f.passwordTokens("read")
		f.mustToken("conf", confSecret, vals("grant_type", "refresh_token", "refresh_token", rt))
		res := f.post("/token", "other", otherSecret, vals("grant_type", "refresh_token", "refresh_token", rt))
		if res.str("error") != "invalid_grant" {
			t.Errorf("another client presenting the rotated token: %d %s", res.Status, res.Raw)
		}
	})

	for _, tc := range []struct {
		name     string
		interval time.Duration
		wantOK   int64 // of 8 concurrent refreshes of one token
	}{
		{"concurrent_with_interval", 30 * time.Second, 8},
		{"concurrent_strict", 0, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, func(c *runtime.Config) { c.RefreshToken.ReuseInterval = tc.interval })
			at0, rt := f.passwordTokens("read")
			var ok atomic.Int64
			var wg sync.WaitGroup
			start := make(chan struct{})
			for range 8 {
				wg.Go(func() {
					<-start
					if refresh(f, rt).Status == http.StatusOK {
						ok.Add(1)
					}
				})
			}
			close(start)
			wg.Wait()
			if got := ok.Load(); tc.wantOK == 1 && got > 1 || tc.wantOK == 8 && got != 8 {
				t.Errorf("%d of 8 concurrent refreshes succeeded, want %d", got, tc.wantOK)
			}
			if revoked := !f.active(at0); revoked != (tc.interval == 0) {
				t.Errorf("family revoked = %v, want %v", revoked, tc.interval == 0)
			}
		})
	}
}

// TestRefreshNarrowsToClientScopes: a refresh never grants a scope the
// client may no longer have, once an operator narrowed it.
func TestRefreshNarrowsToClientScopes(t *testing.T) {
	f := newFixture(t)
	_, rt := f.passwordTokens("read write")
	conf, err := f.store.GetClient(t.Context(), "conf")
	if err != nil {
		t.Fatal(err)
	}
	conf.Scopes = []string{"read"}
	if err := f.store.UpdateClient(conf); err != nil {
		t.Fatal(err)
	}
	res := f.mustToken("conf", confSecret, vals("grant_type", "refresh_token", "refresh_token", rt))
	if got := res.str("scope"); got != "read" {
		t.Errorf("scope after the client was cut to read = %q, want read", got)
	}
	next := f.mustToken("conf", confSecret, vals("grant_type", "refresh_token", "refresh_token", res.str("refresh_token")))
	if got := next.str("scope"); got != "read" {
		t.Errorf("scope of the next refresh = %q, want read", got)
	}
	if res := f.token(vals("grant_type", "refresh_token", "refresh_token", next.str("refresh_token"), "scope", "write")); res.str("error") != "invalid_scope" {
		t.Errorf("asking for the cut scope: %d %s, want invalid_scope", res.Status, res.Raw)
	}
}
