package runtimetest

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/oauthgen/oauthgen/runtime"
)

// The suite is only as good as the bugs it catches. Each mutant is a
// MemoryStore with one bug a generated store could plausibly have, and the
// named subtest of TestStore must fail on it. TestStore takes a real
// *testing.T, so each mutant runs in a child process (TestMutant) whose
// failure is the expected outcome.
var mutants = []struct {
	name  string
	fails string // subtest of TestStore that must fail
	wrap  func(m *MemoryStore) runtime.Store
}{
	{"read_then_write_consume", "AuthorizationCode/concurrent_consume", func(m *MemoryStore) runtime.Store { return racyConsume{m} }},
	{"family_not_joined_access", "AccessToken/revoked_family", func(m *MemoryStore) runtime.Store { return noFamilyJoin{m} }},
	{"family_not_joined_refresh", "RefreshToken/revoked_family", func(m *MemoryStore) runtime.Store { return noFamilyJoin{m} }},
	{"revoke_overwrites_time", "RefreshToken/revoke_twice", func(m *MemoryStore) runtime.Store { return revokeOverwrites{m} }},
	{"comma_joined_scopes", "AccessToken/round_trip", func(m *MemoryStore) runtime.Store { return commaScopes{m} }},
	{"second_precision", "AuthorizationCode/round_trip", func(m *MemoryStore) runtime.Store { return secondPrecision{m} }},
	{"prefix_username", "User/unknown_username", func(m *MemoryStore) runtime.Store { return prefixUsername{m} }},
	{"poll_unknown_ok", "DeviceCode/poll_unknown", func(m *MemoryStore) runtime.Store { return pollUnknownOK{m} }},
	{"decide_any_state", "DeviceCode/decide_twice", func(m *MemoryStore) runtime.Store { return decideAnyState{m} }},
	{"consume_unapproved_device", "DeviceCode/consume_pending", func(m *MemoryStore) runtime.Store { return consumeUnapproved{m} }},
	{"create_overwrites", "RefreshToken/duplicate", func(m *MemoryStore) runtime.Store { return createOverwrites{m} }},
	{"filters_expired", "DeviceCode/round_trip", func(m *MemoryStore) runtime.Store { return filtersExpired{m} }},
	{"driver_not_found_error", "Client/unknown", func(m *MemoryStore) runtime.Store { return driverError{m} }},
	{"not_atomic", "Issue/fault/refresh_rotation/refresh_token", func(m *MemoryStore) runtime.Store { return notAtomic{m} }},
	{"not_atomic_duplicate", "Issue/duplicate_writes_nothing", func(m *MemoryStore) runtime.Store { return notAtomic{m} }},
	{"strict_reuse", "RefreshToken/reuse_interval", func(m *MemoryStore) runtime.Store { return strictReuse{m} }},
	{"poll_without_cas", "DeviceCode/concurrent_poll", func(m *MemoryStore) runtime.Store { return pollNoCAS{m} }},
	{"frozen_change_count", "ChangeCount/client_write", func(m *MemoryStore) runtime.Store { return frozenCount{m} }},
	{"count_misses_failures", "ChangeCount/failure_writes", func(m *MemoryStore) runtime.Store { return clientsOnlyCount{m} }},
	{"ignores_if_change_count", "ChangeCount/issue_if_change_count", func(m *MemoryStore) runtime.Store { return ignoresIfChangeCount{m} }},
}

func TestSuiteCatchesMutants(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the suite in child processes")
	}
	for _, m := range mutants {
		t.Run(m.name, func(t *testing.T) {
			t.Parallel()
			cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^TestMutant$", "-test.v", "-test.count=1")
			cmd.Env = append(os.Environ(), "RUNTIMETEST_MUTANT="+m.name)
			out, err := cmd.CombinedOutput()
			if _, ok := errors.AsType[*exec.ExitError](err); !ok {
				t.Fatalf("suite on mutant: error = %v, want a failing exit\n%s", err, out)
			}
			if !strings.Contains(string(out), "--- FAIL: TestMutant/"+m.fails+" ") {
				t.Errorf("TestStore/%s did not fail on the mutant; output:\n%s", m.fails, out)
			}
		})
	}
}

// TestMutant runs the suite on the mutant RUNTIMETEST_MUTANT names; it is
// meant to fail, and only TestSuiteCatchesMutants runs it.
func TestMutant(t *testing.T) {
	name := os.Getenv("RUNTIMETEST_MUTANT")
	if name == "" {
		t.Skip("run by TestSuiteCatchesMutants")
	}
	for _, m := range mutants {
		if m.name == name {
			TestStore(t, func(t *testing.T) Harness {
				s := NewMemoryStore()
				return memoryHarness(m.wrap(s), s)
			})
			return
		}
	}
	t.Fatalf("no mutant %q", name)
}

// racyConsume reads, then writes: the window between lets several callers win.
type racyConsume struct{ *MemoryStore }

func (s racyConsume) Issue(ctx context.Context, is *runtime.Issuance) error {
	c := is.Consume
	if c == nil || c.Kind != runtime.ConsumeAuthorizationCode {
		return s.MemoryStore.Issue(ctx, is)
	}
	s.mu.Lock()
	code, ok := s.codes[c.Hash]
	consumed := ok && !code.ConsumedAt.IsZero()
	s.mu.Unlock()
	switch {
	case !ok:
		return runtime.ErrNotFound
	case consumed:
		return runtime.ErrConsumed
	}
	time.Sleep(5 * time.Millisecond)
	s.mu.Lock()
	code.ConsumedAt = c.At
	s.mu.Unlock()
	rest := *is
	rest.Consume = nil
	return s.MemoryStore.Issue(ctx, &rest)
}

// notAtomic writes an issuance's records one statement at a time, with no
// transaction around them: a failure leaves the first ones behind.
type notAtomic struct{ *MemoryStore }

func (s notAtomic) Issue(ctx context.Context, is *runtime.Issuance) error {
	for _, part := range []*runtime.Issuance{
		{Consume: is.Consume}, {Family: is.Family}, {AuthorizationCode: is.AuthorizationCode},
		{DeviceCode: is.DeviceCode}, {AccessToken: is.AccessToken}, {RefreshToken: is.RefreshToken},
	} {
		if err := s.MemoryStore.Issue(ctx, part); err != nil {
			return err
		}
	}
	return nil
}

// strictReuse ignores ReuseSince: every second presentation is reuse.
type strictReuse struct{ *MemoryStore }

func (s strictReuse) Issue(ctx context.Context, is *runtime.Issuance) error {
	if is.Consume != nil {
		c := *is.Consume
		c.ReuseSince = time.Time{}
		copied := *is
		copied.Consume = &c
		is = &copied
	}
	return s.MemoryStore.Issue(ctx, is)
}

// pollNoCAS records every poll, whatever LastPolledAt it was decided on.
type pollNoCAS struct{ *MemoryStore }

func (s pollNoCAS) PollDeviceCode(ctx context.Context, hash string, p runtime.DevicePoll) error {
	s.mu.Lock()
	dc, ok := s.devices[hash]
	if ok {
		p.Previous = dc.LastPolledAt
	}
	s.mu.Unlock()
	return s.MemoryStore.PollDeviceCode(ctx, hash, p)
}

// noFamilyJoin reads tokens without looking at their family.
type noFamilyJoin struct{ *MemoryStore }

func (s noFamilyJoin) GetAccessToken(ctx context.Context, hash string) (*runtime.AccessToken, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.access[hash]
	if !ok {
		return nil, runtime.ErrNotFound
	}
	c := *t
	return &c, nil
}

func (s noFamilyJoin) GetRefreshToken(ctx context.Context, hash string) (*runtime.RefreshToken, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.refresh[hash]
	if !ok {
		return nil, runtime.ErrNotFound
	}
	c := *t
	return &c, nil
}

// revokeOverwrites is UPDATE … SET revoked_at = ? without COALESCE.
type revokeOverwrites struct{ *MemoryStore }

func (s revokeOverwrites) RevokeRefreshToken(ctx context.Context, hash string, at time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.refresh[hash]
	if !ok {
		return runtime.ErrNotFound
	}
	t.RevokedAt = at
	return nil
}

// commaScopes stores scopes comma-joined.
type commaScopes struct{ *MemoryStore }

func (s commaScopes) Issue(ctx context.Context, is *runtime.Issuance) error {
	if t := is.AccessToken; t != nil && len(t.Scopes) > 0 {
		c := *t
		c.Scopes = strings.Split(strings.Join(t.Scopes, ","), ",")
		copied := *is
		copied.AccessToken = &c
		is = &copied
	}
	return s.MemoryStore.Issue(ctx, is)
}

// secondPrecision keeps whole seconds, like DATETIME without (6).
type secondPrecision struct{ *MemoryStore }

func (s secondPrecision) Issue(ctx context.Context, is *runtime.Issuance) error {
	if c := is.AuthorizationCode; c != nil {
		cc := *c
		cc.IssuedAt, cc.ExpiresAt = c.IssuedAt.Truncate(time.Second), c.ExpiresAt.Truncate(time.Second)
		copied := *is
		copied.AuthorizationCode = &cc
		is = &copied
	}
	return s.MemoryStore.Issue(ctx, is)
}

// prefixUsername looks users up with LIKE 'name%'.
type prefixUsername struct{ *MemoryStore }

func (s prefixUsername) GetUserByUsername(ctx context.Context, username string) (*runtime.User, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for name, id := range s.usernames {
		if strings.HasPrefix(name, username) {
			u := *s.users[id]
			return &u, nil
		}
	}
	return nil, runtime.ErrNotFound
}

// pollUnknownOK ignores how many rows its UPDATE touched.
type pollUnknownOK struct{ *MemoryStore }

func (s pollUnknownOK) PollDeviceCode(ctx context.Context, hash string, p runtime.DevicePoll) error {
	if err := s.MemoryStore.PollDeviceCode(ctx, hash, p); !errors.Is(err, runtime.ErrNotFound) {
		return err
	}
	return nil
}

// decideAnyState forgets WHERE status = 'pending'.
type decideAnyState struct{ *MemoryStore }

func (s decideAnyState) DecideDeviceCode(ctx context.Context, hash string, d runtime.DeviceDecision) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	dc, ok := s.devices[hash]
	if !ok {
		return runtime.ErrNotFound
	}
	dc.Status, dc.UserID, dc.DecidedAt, dc.Scopes = d.Status, d.UserID, d.At, d.Scopes
	return nil
}

// consumeUnapproved forgets AND status = 'approved'.
type consumeUnapproved struct{ *MemoryStore }

func (s consumeUnapproved) Issue(ctx context.Context, is *runtime.Issuance) error {
	if c := is.Consume; c != nil && c.Kind == runtime.ConsumeDeviceCode {
		s.mu.Lock()
		if dc, ok := s.devices[c.Hash]; ok && dc.Status == runtime.DevicePending {
			dc.Status = runtime.DeviceApproved
			defer func() { s.mu.Lock(); dc.Status = runtime.DevicePending; s.mu.Unlock() }()
		}
		s.mu.Unlock()
	}
	return s.MemoryStore.Issue(ctx, is)
}

// createOverwrites is an upsert where an insert belongs.
type createOverwrites struct{ *MemoryStore }

func (s createOverwrites) Issue(ctx context.Context, is *runtime.Issuance) error {
	if t := is.RefreshToken; t != nil {
		s.mu.Lock()
		delete(s.refresh, t.Hash)
		s.mu.Unlock()
	}
	return s.MemoryStore.Issue(ctx, is)
}

// filtersExpired adds AND expires_at > now() to its reads.
type filtersExpired struct{ *MemoryStore }

func (s filtersExpired) GetDeviceCode(ctx context.Context, hash string) (*runtime.DeviceCode, error) {
	d, err := s.MemoryStore.GetDeviceCode(ctx, hash)
	if err == nil && d.ExpiresAt.Before(time.Now()) {
		return nil, runtime.ErrNotFound
	}
	return d, err
}

// driverError passes the driver's "no rows" through instead of ErrNotFound.
type driverError struct{ *MemoryStore }

func (s driverError) GetClient(ctx context.Context, id string) (*runtime.Client, error) {
	c, err := s.MemoryStore.GetClient(ctx, id)
	if errors.Is(err, runtime.ErrNotFound) {
		return nil, errors.New("sql: no rows in result set")
	}
	return c, err
}

// frozenCount claims to tell its changes but its count never moves: the
// engine would serve stale clients forever.
type frozenCount struct{ *MemoryStore }

func (frozenCount) ChangeCount(context.Context) (uint64, bool, error) { return 7, true, nil }

// clientsOnlyCount counts client writes but not failure counts: a server
// throttling through it would keep reading counts from before a failure.
type clientsOnlyCount struct{ *MemoryStore }

func (s clientsOnlyCount) ChangeCount(ctx context.Context) (uint64, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return uint64(len(s.clients)), true, nil
}

// ignoresIfChangeCount says its Issue checks IfChangeCount but applies the
// Issuance whatever the count.
type ignoresIfChangeCount struct{ *MemoryStore }

func (s ignoresIfChangeCount) Issue(ctx context.Context, is *runtime.Issuance) error {
	copied := *is
	copied.IfChangeCount = nil
	return s.MemoryStore.Issue(ctx, &copied)
}
