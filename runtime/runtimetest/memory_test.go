package runtimetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/oauthgen/oauthgen/runtime"
)

// memoryHarness is the Harness of a fresh MemoryStore.
func memoryHarness(s runtime.Store, m *MemoryStore) Harness {
	return Harness{
		Store: s,
		AddClient: func(_ context.Context, c *runtime.Client) error {
			return m.AddClient(c)
		},
		AddUser: func(_ context.Context, username, passwordHash string) (string, error) {
			id := runtime.NewID()
			return id, m.AddUser(&runtime.User{ID: id, Username: username, PasswordHash: passwordHash})
		},
		Fail:   m.Fail,
		OpenID: true,
		SetUserClaims: func(_ context.Context, userID string, claims map[string]any) error {
			return m.SetUserClaims(userID, claims)
		},
	}
}

func TestMemoryStore(t *testing.T) {
	TestStore(t, func(t *testing.T) Harness {
		s := NewMemoryStore()
		return memoryHarness(s, s)
	})
}

// A store with only the required methods passes too: the subtests of the
// interfaces it lacks skip.
func TestMemoryStoreMinimal(t *testing.T) {
	TestStore(t, func(t *testing.T) Harness {
		s := NewMemoryStore()
		return memoryHarness(struct{ runtime.Store }{s}, s)
	})
}

// seeded returns a store with one client and one user.
func seeded(t *testing.T) *MemoryStore {
	t.Helper()
	s := NewMemoryStore()
	must(t, "AddClient", s.AddClient(&runtime.Client{ID: "c", RedirectURIs: []string{"https://a/cb"},
		GrantTypes: []string{"authorization_code"}, Scopes: []string{"read"}}))
	must(t, "AddUser", s.AddUser(&runtime.User{ID: "u", Username: "alice", PasswordHash: argon2Hash}))
	return s
}

// Neither what a caller passed in nor what it got back aliases stored state.
func TestMemoryStoreCopies(t *testing.T) {
	ctx := t.Context()
	s := seeded(t)

	c := &runtime.Client{ID: "c2", RedirectURIs: []string{"https://a/cb"}, GrantTypes: []string{"password"}, Scopes: []string{"read"}}
	must(t, "AddClient", s.AddClient(c))
	c.RedirectURIs[0], c.GrantTypes[0], c.Scopes[0], c.Name = "x", "x", "x", "x"
	got, _ := s.GetClient(ctx, "c2")
	got.RedirectURIs[0], got.GrantTypes[0], got.Scopes[0] = "y", "y", "y"
	got, _ = s.GetClient(ctx, "c2")
	diff(t, "GetClient", &runtime.Client{ID: "c2", RedirectURIs: []string{"https://a/cb"}, GrantTypes: []string{"password"}, Scopes: []string{"read"}}, got)

	u, _ := s.GetUser(ctx, "u")
	u.PasswordHash = "x"
	u, _ = s.GetUserByUsername(ctx, "alice")
	u.Username = "x"
	u, _ = s.GetUser(ctx, "u")
	diff(t, "GetUser", &runtime.User{ID: "u", Username: "alice", PasswordHash: argon2Hash}, u)

	at := &runtime.AccessToken{Hash: "a", ClientID: "c", Scopes: []string{"read"}}
	must(t, "CreateAccessToken", s.Issue(ctx, &runtime.Issuance{AccessToken: at}))
	at.Scopes[0] = "x"
	gat, _ := s.GetAccessToken(ctx, "a")
	gat.Scopes[0] = "y"
	gat, _ = s.GetAccessToken(ctx, "a")
	diff(t, "GetAccessToken", []string{"read"}, gat.Scopes)

	rt := &runtime.RefreshToken{Hash: "r", ClientID: "c", Scopes: []string{"read"}}
	must(t, "CreateRefreshToken", s.Issue(ctx, &runtime.Issuance{RefreshToken: rt}))
	rt.Scopes[0] = "x"
	grt, _ := s.GetRefreshToken(ctx, "r")
	grt.Scopes[0] = "y"
	grt, _ = s.GetRefreshToken(ctx, "r")
	diff(t, "GetRefreshToken", []string{"read"}, grt.Scopes)

	ac := &runtime.AuthorizationCode{Hash: "ac", ClientID: "c", UserID: "u", Scopes: []string{"read"}}
	must(t, "CreateAuthorizationCode", s.Issue(ctx, &runtime.Issuance{AuthorizationCode: ac}))
	ac.Scopes[0] = "x"
	gac, _ := s.GetAuthorizationCode(ctx, "ac")
	gac.Scopes[0] = "y"
	gac, _ = s.GetAuthorizationCode(ctx, "ac")
	diff(t, "GetAuthorizationCode", []string{"read"}, gac.Scopes)

	dc := &runtime.DeviceCode{Hash: "d", UserCodeHash: "uc", ClientID: "c", Scopes: []string{"read"}, Status: runtime.DevicePending}
	must(t, "CreateDeviceCode", s.Issue(ctx, &runtime.Issuance{DeviceCode: dc}))
	dc.Scopes[0] = "x"
	gdc, _ := s.GetDeviceCode(ctx, "d")
	gdc.Scopes[0] = "y"
	gdc, _ = s.GetDeviceCodeByUserCode(ctx, "uc")
	gdc.Scopes[0] = "y"
	gdc, _ = s.GetDeviceCode(ctx, "d")
	diff(t, "GetDeviceCode", []string{"read"}, gdc.Scopes)

	decision := runtime.DeviceDecision{Status: runtime.DeviceApproved, UserID: "u", Scopes: []string{"read"}}
	must(t, "DecideDeviceCode", s.DecideDeviceCode(ctx, "d", decision))
	decision.Scopes[0] = "x"
	gdc, _ = s.GetDeviceCode(ctx, "d")
	diff(t, "GetDeviceCode after a decision", []string{"read"}, gdc.Scopes)
}

// Like a SQL store's foreign keys, MemoryStore refuses references to
// clients and families it does not have, with an error that is no
// sentinel. User ids are opaque.
func TestMemoryStoreReferences(t *testing.T) {
	ctx := t.Context()
	s := seeded(t)
	must(t, "CreateFamily", s.Issue(ctx, &runtime.Issuance{Family: &runtime.Family{ID: "f", ClientID: "c", UserID: "u"}}))
	tests := []struct {
		name string
		call func() error
	}{
		{"family_unknown_client", func() error {
			return s.Issue(ctx, &runtime.Issuance{Family: &runtime.Family{ID: "f2", ClientID: "nope"}})
		}},
		{"access_unknown_client", func() error {
			return s.Issue(ctx, &runtime.Issuance{AccessToken: &runtime.AccessToken{Hash: "h", ClientID: "nope"}})
		}},
		{"access_unknown_family", func() error {
			return s.Issue(ctx, &runtime.Issuance{AccessToken: &runtime.AccessToken{Hash: "h", ClientID: "c", FamilyID: "nope"}})
		}},
		{"refresh_unknown_family", func() error {
			return s.Issue(ctx, &runtime.Issuance{RefreshToken: &runtime.RefreshToken{Hash: "h", ClientID: "c", FamilyID: "nope"}})
		}},
		{"code_unknown_family", func() error {
			return s.Issue(ctx, &runtime.Issuance{AuthorizationCode: &runtime.AuthorizationCode{Hash: "h", ClientID: "c", UserID: "u", FamilyID: "nope"}})
		}},
		{"device_unknown_client", func() error {
			return s.Issue(ctx, &runtime.Issuance{DeviceCode: &runtime.DeviceCode{Hash: "h", UserCodeHash: "h", ClientID: "nope"}})
		}},
		{"decision_not_a_decision", func() error {
			must(t, "CreateDeviceCode", s.Issue(ctx, &runtime.Issuance{DeviceCode: &runtime.DeviceCode{Hash: "d2", UserCodeHash: "d2", ClientID: "c", Status: runtime.DevicePending}}))
			return s.DecideDeviceCode(ctx, "d2", runtime.DeviceDecision{Status: runtime.DevicePending, UserID: "u"})
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.call()
			if err == nil || errors.Is(err, runtime.ErrNotFound) || errors.Is(err, runtime.ErrDuplicate) || errors.Is(err, runtime.ErrConsumed) {
				t.Errorf("error = %v, want a non-sentinel error", err)
			}
		})
	}
	// Nothing was stored by the refused calls.
	if _, err := s.GetAccessToken(ctx, "h"); !errors.Is(err, runtime.ErrNotFound) {
		t.Errorf("GetAccessToken after refused creates: error = %v, want ErrNotFound", err)
	}
	if d, err := s.GetDeviceCode(ctx, "d2"); err != nil || d.Status != runtime.DevicePending {
		t.Errorf("GetDeviceCode after a refused decision = %+v, %v; want it still pending", d, err)
	}
}

func TestMemoryStoreSeeding(t *testing.T) {
	s := seeded(t)
	tests := []struct {
		name string
		err  error
		want error
	}{
		{"duplicate_client", s.AddClient(&runtime.Client{ID: "c"}), runtime.ErrDuplicate},
		{"duplicate_user_id", s.AddUser(&runtime.User{ID: "u", Username: "bob"}), runtime.ErrDuplicate},
		{"duplicate_username", s.AddUser(&runtime.User{ID: "u2", Username: "alice"}), runtime.ErrDuplicate},
		{"other_username_case", s.AddUser(&runtime.User{ID: "u3", Username: "Alice"}), nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { wantErr(t, tc.name, tc.err, tc.want) })
	}
	for _, err := range []error{s.AddClient(&runtime.Client{}), s.AddUser(&runtime.User{Username: "carol"})} {
		if err == nil {
			t.Error("adding a record without ID: error = nil")
		}
	}
}

func TestMemoryStoreCanceledContext(t *testing.T) {
	s := seeded(t)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := s.GetClient(ctx, "c")
	wantErr(t, "GetClient", err, context.Canceled)
	wantErr(t, "Issue", s.Issue(ctx, &runtime.Issuance{Consume: &runtime.Consumption{Kind: runtime.ConsumeAuthorizationCode, Hash: "h", At: time.Now()}}), context.Canceled)
}

// MemoryStore is a Limiter too, like the generated stores.
func TestMemoryStoreLimiter(t *testing.T) {
	TestLimiter(t, func(*testing.T) runtime.Limiter { return NewMemoryStore() })
}

// UpdateClient and DeleteClient change clients behind a server's back, as
// an operator would, and grow the change count like AddClient.
func TestMemoryStoreClientWrites(t *testing.T) {
	ctx := t.Context()
	s := seeded(t)
	count := func() uint64 {
		t.Helper()
		n, ok, err := s.ChangeCount(ctx)
		if err != nil || !ok {
			t.Fatalf("ChangeCount = %d, %v, %v", n, ok, err)
		}
		return n
	}
	n := count()
	must(t, "UpdateClient", s.UpdateClient(&runtime.Client{ID: "c", Name: "renamed", GrantTypes: []string{"password"}}))
	got, err := s.GetClient(ctx, "c")
	must(t, "GetClient", err)
	diff(t, "GetClient after UpdateClient", &runtime.Client{ID: "c", Name: "renamed", GrantTypes: []string{"password"}}, got)
	if m := count(); m <= n {
		t.Errorf("ChangeCount %d after UpdateClient, was %d", m, n)
	}
	wantErr(t, "UpdateClient(unknown)", s.UpdateClient(&runtime.Client{ID: "nope"}), runtime.ErrNotFound)

	must(t, "Issue", s.Issue(ctx, &runtime.Issuance{
		Family:      &runtime.Family{ID: "f", ClientID: "c"},
		AccessToken: &runtime.AccessToken{Hash: "a", ClientID: "c", FamilyID: "f"},
		DeviceCode:  &runtime.DeviceCode{Hash: "d", UserCodeHash: "uc", ClientID: "c", FamilyID: "f", Status: runtime.DevicePending},
	}))
	n = count()
	must(t, "DeleteClient", s.DeleteClient("c"))
	if m := count(); m <= n {
		t.Errorf("ChangeCount %d after DeleteClient, was %d", m, n)
	}
	_, err = s.GetClient(ctx, "c")
	wantErr(t, "GetClient after DeleteClient", err, runtime.ErrNotFound)
	_, err = s.GetAccessToken(ctx, "a")
	wantErr(t, "GetAccessToken of a deleted client", err, runtime.ErrNotFound)
	_, err = s.GetDeviceCodeByUserCode(ctx, "uc")
	wantErr(t, "GetDeviceCodeByUserCode of a deleted client", err, runtime.ErrNotFound)
	wantErr(t, "DeleteClient twice", s.DeleteClient("c"), runtime.ErrNotFound)
}
