package runtime_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/oauthgen/oauthgen/runtime"
	"github.com/oauthgen/oauthgen/runtime/runtimetest"
)

// errFire is what a failing store returns; it must reach the log and never
// a client.
var errFire = errors.New("disk on fire at /var/db/INTERNAL")

// faultStore fails the one method named in fail; every other call goes to
// the MemoryStore. dupUserCodes makes that many CreateDeviceCode calls
// report a user code collision first.
type faultStore struct {
	m            *runtimetest.MemoryStore
	fail         atomic.Value // string
	dupUserCodes atomic.Int32
	mu           sync.Mutex
	calls        []string
}

func (s *faultStore) err(name string) error {
	s.mu.Lock()
	s.calls = append(s.calls, name)
	s.mu.Unlock()
	if f, _ := s.fail.Load().(string); f == name {
		return errFire
	}
	return nil
}

func (s *faultStore) GetClient(ctx context.Context, id string) (*runtime.Client, error) {
	if err := s.err("GetClient"); err != nil {
		return nil, err
	}
	return s.m.GetClient(ctx, id)
}

func (s *faultStore) GetUserByUsername(ctx context.Context, u string) (*runtime.User, error) {
	if err := s.err("GetUserByUsername"); err != nil {
		return nil, err
	}
	return s.m.GetUserByUsername(ctx, u)
}

func (s *faultStore) GetUser(ctx context.Context, id string) (*runtime.User, error) {
	if err := s.err("GetUser"); err != nil {
		return nil, err
	}
	return s.m.GetUser(ctx, id)
}

func (s *faultStore) RevokeFamily(ctx context.Context, id string, at time.Time) error {
	if err := s.err("RevokeFamily"); err != nil {
		return err
	}
	return s.m.RevokeFamily(ctx, id, at)
}

func (s *faultStore) GetAccessToken(ctx context.Context, h string) (*runtime.AccessToken, error) {
	if err := s.err("GetAccessToken"); err != nil {
		return nil, err
	}
	return s.m.GetAccessToken(ctx, h)
}

func (s *faultStore) RevokeAccessToken(ctx context.Context, h string, at time.Time) error {
	if err := s.err("RevokeAccessToken"); err != nil {
		return err
	}
	return s.m.RevokeAccessToken(ctx, h, at)
}

func (s *faultStore) GetRefreshToken(ctx context.Context, h string) (*runtime.RefreshToken, error) {
	if err := s.err("GetRefreshToken"); err != nil {
		return nil, err
	}
	return s.m.GetRefreshToken(ctx, h)
}

func (s *faultStore) RevokeRefreshToken(ctx context.Context, h string, at time.Time) error {
	if err := s.err("RevokeRefreshToken"); err != nil {
		return err
	}
	return s.m.RevokeRefreshToken(ctx, h, at)
}

func (s *faultStore) GetAuthorizationCode(ctx context.Context, h string) (*runtime.AuthorizationCode, error) {
	if err := s.err("GetAuthorizationCode"); err != nil {
		return nil, err
	}
	return s.m.GetAuthorizationCode(ctx, h)
}

func (s *faultStore) GetDeviceCode(ctx context.Context, h string) (*runtime.DeviceCode, error) {
	if err := s.err("GetDeviceCode"); err != nil {
		return nil, err
	}
	return s.m.GetDeviceCode(ctx, h)
}

func (s *faultStore) GetDeviceCodeByUserCode(ctx context.Context, h string) (*runtime.DeviceCode, error) {
	if err := s.err("GetDeviceCodeByUserCode"); err != nil {
		return nil, err
	}
	return s.m.GetDeviceCodeByUserCode(ctx, h)
}

func (s *faultStore) DecideDeviceCode(ctx context.Context, h string, d runtime.DeviceDecision) error {
	if err := s.err("DecideDeviceCode"); err != nil {
		return err
	}
	return s.m.DecideDeviceCode(ctx, h, d)
}

func (s *faultStore) PollDeviceCode(ctx context.Context, h string, p runtime.DevicePoll) error {
	if err := s.err("PollDeviceCode"); err != nil {
		return err
	}
	return s.m.PollDeviceCode(ctx, h, p)
}

func (s *faultStore) Issue(ctx context.Context, is *runtime.Issuance) error {
	if err := s.err("Issue"); err != nil {
		return err
	}
	if is.DeviceCode != nil && s.dupUserCodes.Add(-1) >= 0 {
		return runtime.ErrDuplicate
	}
	return s.m.Issue(ctx, is)
}

// TestServerErrors fails each store method in turn under a request that
// needs it: the answer is server_error 500 (or a server_error redirect at
// the authorization endpoint), the cause is logged, and nothing of it
// reaches the client.
func TestServerErrors(t *testing.T) {
	type tc struct {
		method string
		// run prepares what the request needs, makes the store fail, and
		// sends the request.
		run func(f *fixture, fs *faultStore) response
	}
	failing := func(fs *faultStore, m string) { fs.fail.Store(m) }
	token := func(f *fixture, fs *faultStore, m string, form url.Values) response {
		failing(fs, m)
		return f.token(form)
	}
	refresh := func(f *fixture, fs *faultStore, m string) response {
		_, rt := f.passwordTokens("read")
		return token(f, fs, m, vals("grant_type", "refresh_token", "refresh_token", rt))
	}
	device := func(f *fixture, fs *faultStore, m string, approve bool) response {
		dc, uc := f.deviceStart("read")
		if approve {
			f.srv.ApproveDevice(context.Background(), uc, "u-alice", nil)
		}
		failing(fs, m)
		return f.poll(dc)
	}
	cases := []tc{
		{"GetClient", func(f *fixture, fs *faultStore) response { return token(f, fs, "GetClient", ccForm) }},
		{"Issue_client_credentials", func(f *fixture, fs *faultStore) response { return token(f, fs, "Issue", ccForm) }},
		{"Issue_password", func(f *fixture, fs *faultStore) response { return token(f, fs, "Issue", pwForm) }},
		{"GetUserByUsername", func(f *fixture, fs *faultStore) response { return token(f, fs, "GetUserByUsername", pwForm) }},
		{"GetRefreshToken", func(f *fixture, fs *faultStore) response { return refresh(f, fs, "GetRefreshToken") }},
		{"Issue_refresh", func(f *fixture, fs *faultStore) response { return refresh(f, fs, "Issue") }},
		{"RevokeFamily", func(f *fixture, fs *faultStore) response {
			_, rt := f.passwordTokens("read")
			f.mustToken("conf", confSecret, vals("grant_type", "refresh_token", "refresh_token", rt))
			return token(f, fs, "RevokeFamily", vals("grant_type", "refresh_token", "refresh_token", rt))
		}},
		{"GetAuthorizationCode", func(f *fixture, fs *faultStore) response {
			code := f.code()
			failing(fs, "GetAuthorizationCode")
			return f.redeem(code)
		}},
		{"Issue_code_redemption", func(f *fixture, fs *faultStore) response {
			code := f.code()
			failing(fs, "Issue")
			return f.redeem(code)
		}},
		{"Issue_authorization", func(f *fixture, fs *faultStore) response {
			failing(fs, "Issue")
			return f.serve(authorizeGet(codeParams()))
		}},
		{"GetDeviceCode", func(f *fixture, fs *faultStore) response { return device(f, fs, "GetDeviceCode", false) }},
		{"PollDeviceCode", func(f *fixture, fs *faultStore) response { return device(f, fs, "PollDeviceCode", false) }},
		{"Issue_device_redemption", func(f *fixture, fs *faultStore) response { return device(f, fs, "Issue", true) }},
		{"Issue_device_authorization", func(f *fixture, fs *faultStore) response {
			failing(fs, "Issue")
			return f.post("/device_authorization", "public", "", vals())
		}},
		{"GetAccessToken", func(f *fixture, fs *faultStore) response {
			at, _ := f.passwordTokens("read")
			failing(fs, "GetAccessToken")
			return f.get("/resource", at)
		}},
		{"GetAccessToken_introspection", func(f *fixture, fs *faultStore) response {
			at, _ := f.passwordTokens("read")
			failing(fs, "GetAccessToken")
			return f.post("/introspect", "conf", confSecret, vals("token", at))
		}},
		{"GetRefreshToken_introspection", func(f *fixture, fs *faultStore) response {
			_, rt := f.passwordTokens("read")
			failing(fs, "GetRefreshToken")
			return f.post("/introspect", "conf", confSecret, vals("token", rt))
		}},
		{"GetUser", func(f *fixture, fs *faultStore) response {
			at, _ := f.passwordTokens("read")
			failing(fs, "GetUser")
			return f.post("/introspect", "conf", confSecret, vals("token", at))
		}},
		{"GetAccessToken_revocation", func(f *fixture, fs *faultStore) response {
			at, _ := f.passwordTokens("read")
			failing(fs, "GetAccessToken")
			return f.post("/revoke", "conf", confSecret, vals("token", at))
		}},
		{"RevokeAccessToken", func(f *fixture, fs *faultStore) response {
			at, _ := f.passwordTokens("read")
			failing(fs, "RevokeAccessToken")
			return f.post("/revoke", "conf", confSecret, vals("token", at))
		}},
		{"GetRefreshToken_revocation", func(f *fixture, fs *faultStore) response {
			_, rt := f.passwordTokens("read")
			failing(fs, "GetRefreshToken")
			return f.post("/revoke", "conf", confSecret, vals("token", rt, "token_type_hint", "refresh_token"))
		}},
		{"RevokeRefreshToken", func(f *fixture, fs *faultStore) response {
			_, rt := f.passwordTokens("read")
			failing(fs, "RevokeRefreshToken")
			return f.post("/revoke", "conf", confSecret, vals("token", rt))
		}},
		{"RevokeFamily_revocation", func(f *fixture, fs *faultStore) response {
			_, rt := f.passwordTokens("read")
			failing(fs, "RevokeFamily")
			return f.post("/revoke", "conf", confSecret, vals("token", rt))
		}},
		{"extension_hook_error", func(f *fixture, fs *faultStore) response {
			return f.token(vals("grant_type", extGrant, "assertion", "boom"))
		}},
		{"extension_hook_nil_result", func(f *fixture, fs *faultStore) response {
			return f.token(vals("grant_type", extGrant, "assertion", "nil"))
		}},
		{"client_credentials_user_hook_error", func(f *fixture, fs *faultStore) response {
			return f.token(ccForm)
		}},
		{"validate_scope_malformed_answer", func(f *fixture, fs *faultStore) response {
			return f.token(pwForm)
		}},
	}
	for _, c := range cases {
		t.Run(c.method, func(t *testing.T) {
			var fs *faultStore
			f := newFixtureStore(t, func(m *runtimetest.MemoryStore) runtime.Store {
				fs = &faultStore{m: m}
				return fs
			}, func(cfg *runtime.Config) {
				switch c.method {
				case "client_credentials_user_hook_error":
					cfg.ClientCredentials.User = func(context.Context, *runtime.Client) (string, error) { return "", errFire }
				case "validate_scope_malformed_answer":
					cfg.ValidateScope = func(context.Context, runtime.ScopeRequest) ([]string, error) { return []string{"bad scope"}, nil }
				}
			})
			res := c.run(f, fs)
			if res.Status == http.StatusFound {
				loc, _ := url.Parse(res.Header.Get("Location"))
				if loc.Query().Get("error") != "server_error" || strings.Contains(loc.String(), "INTERNAL") {
					t.Errorf("redirect = %s", loc)
				}
			} else {
				if res.Status != 500 || res.str("error") != "server_error" {
					t.Errorf("got %d %s", res.Status, res.Raw)
				}
				noStore(t, res)
			}
			if strings.Contains(res.Raw, "INTERNAL") || strings.Contains(res.Raw, "fire") {
				t.Errorf("the cause leaked: %s", res.Raw)
			}
			if !strings.Contains(f.logs.String(), "level=ERROR") {
				t.Errorf("nothing logged: %s", f.logs)
			}
		})
	}

	t.Run("app_calls", func(t *testing.T) {
		var fs *faultStore
		f := newFixtureStore(t, func(m *runtimetest.MemoryStore) runtime.Store {
			fs = &faultStore{m: m}
			return fs
		})
		ctx := context.Background()
		_, uc := f.deviceStart("read")
		var e *runtime.Error
		for _, m := range []string{"GetDeviceCodeByUserCode", "GetClient"} {
			failing(fs, m)
			if _, err := f.srv.LookupUserCode(ctx, uc); !errors.As(err, &e) || e.Code != runtime.ServerError || !errors.Is(err, errFire) {
				t.Errorf("%s: LookupUserCode err = %v", m, err)
			}
		}
		failing(fs, "DecideDeviceCode")
		if err := f.srv.ApproveDevice(ctx, uc, "u-alice", nil); !errors.As(err, &e) || e.Code != runtime.ServerError {
			t.Errorf("ApproveDevice err = %v", err)
		}
		failing(fs, "GetUserByUsername")
		if _, err := f.srv.AuthenticateUser(ctx, "alice", alicePass); !errors.As(err, &e) || e.Code != runtime.ServerError {
			t.Errorf("AuthenticateUser err = %v", err)
		}
		failing(fs, "GetClient")
		if _, err := f.srv.ValidateAuthorizationRequest(authorizeGet(codeParams())); !errors.As(err, &e) || e.Code != runtime.ServerError {
			t.Errorf("ValidateAuthorizationRequest err = %v", err)
		}
		rec := httptest.NewRecorder()
		f.srv.WriteAuthorizationError(rec, authorizeGet(codeParams()), e)
		if rec.Code != 500 || rec.Header().Get("Location") != "" || strings.Contains(rec.Body.String(), "fire") {
			t.Errorf("%d %v %s", rec.Code, rec.Header(), rec.Body)
		}
	})

	t.Run("user_code_collision_retried", func(t *testing.T) {
		var fs *faultStore
		f := newFixtureStore(t, func(m *runtimetest.MemoryStore) runtime.Store {
			fs = &faultStore{m: m}
			return fs
		})
		fs.dupUserCodes.Store(3)
		if res := f.post("/device_authorization", "public", "", vals()); res.Status != 200 {
			t.Errorf("after 3 collisions: %d %s", res.Status, res.Raw)
		}
		fs.dupUserCodes.Store(5)
		if res := f.post("/device_authorization", "public", "", vals()); res.Status != 500 {
			t.Errorf("after 5 collisions: %d %s", res.Status, res.Raw)
		}
	})
}

// TestMissingInterfaces checks the application-facing calls on a server
// whose store lacks what they need.
func TestMissingInterfaces(t *testing.T) {
	srv, err := runtime.NewServer(runtime.Config{}, minimalStore{runtimetest.NewMemoryStore()})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	var e *runtime.Error
	if _, err := srv.AuthenticateUser(ctx, "a", "b"); !errors.As(err, &e) || e.Code != runtime.ServerError {
		t.Errorf("AuthenticateUser err = %v", err)
	}
	if _, err := srv.LookupUserCode(ctx, "ABCD"); !errors.As(err, &e) || e.Code != runtime.ServerError {
		t.Errorf("LookupUserCode err = %v", err)
	}
}
