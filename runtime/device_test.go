package runtime_test

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/oauthgen/oauthgen/runtime"
)

// deviceStart runs a device authorization for the public client.
func (f *fixture) deviceStart(scope string) (deviceCode, userCode string) {
	f.t.Helper()
	res := f.post("/device_authorization", "public", "", vals("scope", scope))
	if res.Status != http.StatusOK {
		f.t.Fatalf("device authorization: %d %s", res.Status, res.Raw)
	}
	return res.str("device_code"), res.str("user_code")
}

func (f *fixture) poll(deviceCode string) response {
	return f.post("/token", "public", "", vals("grant_type", runtime.GrantDeviceCode, "device_code", deviceCode))
}

// TestDevice is RFC 8628.
func TestDevice(t *testing.T) {
	ctx := context.Background()

	t.Run("authorization_response", func(t *testing.T) {
		f := newFixture(t)
		res := f.post("/device_authorization", "public", "", vals("scope", "read write"))
		noStore(t, res)
		uc := res.str("user_code")
		want := map[string]any{
			"device_code":               res.str("device_code"),
			"user_code":                 uc,
			"verification_uri":          f.http.URL + "/device",
			"verification_uri_complete": f.http.URL + "/device?user_code=" + uc,
			"expires_in":                600.0,
			"interval":                  1.0,
		}
		if diff := cmp.Diff(want, res.Body); diff != "" {
			t.Errorf("response (-want +got):\n%s", diff)
		}
		if len(uc) != 9 || uc[4] != '-' || strings.Trim(strings.ReplaceAll(uc, "-", ""), runtime.DefaultUserCodeCharset) != "" {
			t.Errorf("user code %q is not XXXX-XXXX over the default alphabet", uc)
		}
		d, err := f.store.GetDeviceCode(ctx, runtime.HashToken(res.str("device_code")))
		if err != nil {
			t.Fatal(err)
		}
		if d.UserCodeHash != runtime.HashToken(runtime.NormalizeUserCode(uc)) || d.FamilyID == "" || d.Status != runtime.DevicePending ||
			!cmp.Equal(d.Scopes, []string{"read", "write"}) || d.Interval != time.Second {
			t.Errorf("stored = %+v", d)
		}
	})

	t.Run("approve_and_redeem_once", func(t *testing.T) {
		f := newFixture(t)
		dc, uc := f.deviceStart("read write")
		if err := f.srv.ApproveDevice(ctx, uc, "u-bob", nil); err != nil {
			t.Fatal(err)
		}
		res := f.poll(dc)
		if res.Status != 200 || res.str("scope") != "read write" || res.str("refresh_token") == "" {
			t.Fatalf("%d %s", res.Status, res.Raw)
		}
		at, _ := f.store.GetAccessToken(ctx, runtime.HashToken(res.str("access_token")))
		d, _ := f.store.GetDeviceCode(ctx, runtime.HashToken(dc))
		if at.UserID != "u-bob" || at.FamilyID != d.FamilyID {
			t.Errorf("token = %+v", at)
		}
		// A second redemption is a replay: the tokens of the first die.
		if r := f.poll(dc); r.str("error") != "invalid_grant" {
			t.Errorf("second redemption: %s", r.Raw)
		}
		if f.active(res.str("access_token")) {
			t.Error("token of the first redemption still active")
		}
	})

	t.Run("slow_down", func(t *testing.T) {
		f := newFixture(t, func(c *runtime.Config) { c.DeviceCode.Interval = 5 * time.Second })
		dc, _ := f.deviceStart("read")
		steps := []struct {
			wait     time.Duration
			code     string
			interval time.Duration
		}{
			{0, "authorization_pending", 5 * time.Second},
			{time.Second, "slow_down", 10 * time.Second},
			{5 * time.Second, "slow_down", 15 * time.Second}, // 5s < 10s
			{15 * time.Second, "authorization_pending", 15 * time.Second},
			{15 * time.Second, "authorization_pending", 15 * time.Second},
		}
		for i, s := range steps {
			f.clock.Add(s.wait)
			res := f.poll(dc)
			d, _ := f.store.GetDeviceCode(ctx, runtime.HashToken(dc))
			if res.str("error") != s.code || d.Interval != s.interval || !d.LastPolledAt.Equal(f.clock.Now()) {
				t.Errorf("poll %d: %s, interval %v, last poll %v", i, res.Raw, d.Interval, d.LastPolledAt)
			}
		}
	})

	t.Run("lookup_user_code_forms", func(t *testing.T) {
		f := newFixture(t)
		_, uc := f.deviceStart("read")
		plain := strings.ReplaceAll(uc, "-", "")
		for _, typed := range []string{uc, strings.ToLower(uc), plain, " " + plain[:4] + " " + plain[4:] + "\n", strings.ToLower(plain[:2]) + "-" + plain[2:]} {
			req, err := f.srv.LookupUserCode(ctx, typed)
			if err != nil {
				t.Errorf("%q: %v", typed, err)
				continue
			}
			if req.UserCode != uc || req.Client.ID != "public" || !req.ExpiresAt.Equal(f.clock.Now().Add(10*time.Minute)) {
				t.Errorf("%q: %+v", typed, req)
			}
		}
	})

	t.Run("lookup_errors", func(t *testing.T) {
		f := newFixture(t)
		_, uc := f.deviceStart("read")
		for _, typed := range []string{"", "BCDF-GHJK", strings.Repeat("B", 100), "---"} {
			if _, err := f.srv.LookupUserCode(ctx, typed); !errors.Is(err, runtime.ErrNotFound) {
				t.Errorf("%q: err = %v, want ErrNotFound", typed, err)
			}
		}
		if err := f.srv.DenyDevice(ctx, uc); err != nil {
			t.Fatal(err)
		}
		if _, err := f.srv.LookupUserCode(ctx, uc); !errors.Is(err, runtime.ErrConsumed) {
			t.Errorf("decided: err = %v, want ErrConsumed", err)
		}
		if err := f.srv.ApproveDevice(ctx, uc, "u-alice", nil); !errors.Is(err, runtime.ErrConsumed) {
			t.Errorf("approve after deny: err = %v, want ErrConsumed", err)
		}
		_, uc2 := f.deviceStart("read")
		f.clock.Add(11 * time.Minute)
		if _, err := f.srv.LookupUserCode(ctx, uc2); !errors.Is(err, runtime.ErrNotFound) {
			t.Errorf("expired: err = %v, want ErrNotFound", err)
		}
	})

	t.Run("approve_errors", func(t *testing.T) {
		f := newFixture(t)
		_, uc := f.deviceStart("read")
		var e *runtime.Error
		if err := f.srv.ApproveDevice(ctx, uc, "u-alice", []string{"write"}); !errors.As(err, &e) || e.Code != runtime.InvalidScope {
			t.Errorf("wider scope: err = %v", err)
		}
		if err := f.srv.ApproveDevice(ctx, uc, "", nil); !errors.As(err, &e) || e.Code != runtime.ServerError {
			t.Errorf("no user: err = %v", err)
		}
		if err := f.srv.ApproveDevice(ctx, "nope", "u-alice", nil); !errors.Is(err, runtime.ErrNotFound) {
			t.Errorf("unknown: err = %v", err)
		}
		if err := f.srv.DenyDevice(ctx, "nope"); !errors.Is(err, runtime.ErrNotFound) {
			t.Errorf("deny unknown: err = %v", err)
		}
	})

	t.Run("custom_alphabet", func(t *testing.T) {
		f := newFixture(t, func(c *runtime.Config) { c.DeviceCode.UserCodeCharset = "0123456789"; c.DeviceCode.UserCodeLength = 12 })
		_, uc := f.deviceStart("read")
		if len(uc) != 14 || uc[4] != '-' || uc[9] != '-' || strings.Trim(strings.ReplaceAll(uc, "-", ""), "0123456789") != "" {
			t.Errorf("user code = %q", uc)
		}
	})

	for _, c := range []struct {
		name   string
		config func(*runtime.Config)
		req    *http.Request
		status int
		code   string
	}{
		{"client_not_allowed", nil, postReq("limited", otherSecret, vals()), 400, "unauthorized_client"},
		{"unknown_scope", nil, postReq("public", "", vals("scope", "nuke")), 400, "invalid_scope"},
		{"malformed_scope", nil, postReq("public", "", vals("scope", " read")), 400, "invalid_scope"},
		{"no_client", nil, postReq("", "", vals()), 400, "invalid_client"},
		{"wrong_secret_basic", nil, basicReq("conf", "x", vals()), 401, "invalid_client"},
		{"method_get", nil, func() *http.Request { r := postReq("public", "", vals()); r.Method = http.MethodGet; return r }(), 400, "invalid_request"},
		{"disabled", func(c *runtime.Config) { c.DeviceCode = nil }, postReq("public", "", vals()), 400, "unsupported_grant_type"},
	} {
		t.Run("error_"+c.name, func(t *testing.T) {
			var mutate []func(*runtime.Config)
			if c.config != nil {
				mutate = append(mutate, c.config)
			}
			f := newFixture(t, mutate...)
			rec := response{}
			c.req.URL, _ = url.Parse("/device_authorization")
			if c.config != nil {
				// Handler does not mount a disabled endpoint; the handler
				// itself still answers.
				r := newRecorder()
				f.srv.DeviceAuthorizationHandler().ServeHTTP(r, c.req)
				rec = decode(t, r)
			} else {
				rec = f.serve(c.req)
			}
			if rec.Status != c.status || rec.str("error") != c.code {
				t.Errorf("got %d %s, want %d %s", rec.Status, rec.Raw, c.status, c.code)
			}
			noStore(t, rec)
		})
	}
}
