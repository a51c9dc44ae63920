package runtimetest

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/oauthgen/oauthgen/runtime"
)

// The compiler checks MemoryStore against every store interface, so a
// change to the contract breaks this build before any test runs.
var (
	_ runtime.Store                  = (*MemoryStore)(nil)
	_ runtime.ClientStore            = (*MemoryStore)(nil)
	_ runtime.UserStore              = (*MemoryStore)(nil)
	_ runtime.FamilyStore            = (*MemoryStore)(nil)
	_ runtime.AccessTokenStore       = (*MemoryStore)(nil)
	_ runtime.RefreshTokenStore      = (*MemoryStore)(nil)
	_ runtime.AuthorizationCodeStore = (*MemoryStore)(nil)
	_ runtime.DeviceCodeStore        = (*MemoryStore)(nil)
	_ runtime.IssuanceStore          = (*MemoryStore)(nil)
	_ runtime.SigningKeyStore        = (*MemoryStore)(nil)
	_ runtime.UserClaimsStore        = (*MemoryStore)(nil)
	_ runtime.ChangeCounter          = (*MemoryStore)(nil)
	_ runtime.ChangeCountIssuer      = (*MemoryStore)(nil)
	_ runtime.BatchLimiter           = (*MemoryStore)(nil)
	_ FailFunc                       = (*MemoryStore)(nil).Fail
)

// MemoryStore is an in-memory store implementing every interface in
// runtime/store.go, for the engine's unit tests and as the reference the
// generated stores are measured against (it passes TestStore).
//
// It is safe for concurrent use: one mutex guards everything, so each
// method, consuming included, is atomic. Records go in and come out as
// copies (slices too): a caller cannot change stored state except through
// the methods.
//
// Like the generated SQL stores, which have foreign keys, it refuses to
// create a record that names an unknown client or family, with an error
// that is none of runtime's sentinel errors (the engine treats it as a
// server failure). User ids are not checked: they are opaque to token
// records. Seed clients and users with AddClient and AddUser; change
// clients with UpdateClient and DeleteClient. An empty FamilyID references
// nothing and is always accepted.
//
// Like a generated store, it is also a runtime.BatchLimiter (a
// runtime.MemoryLimiter inside) and a runtime.ChangeCounter whose count
// grows with every write of a client or a failure count.
//
// The zero value is not usable; call NewMemoryStore.
type MemoryStore struct {
	mu sync.Mutex

	clients   map[string]*runtime.Client            // by ID
	users     map[string]*runtime.User              // by ID
	usernames map[string]string                     // Username → ID
	families  map[string]*runtime.Family            // by ID
	access    map[string]*runtime.AccessToken       // by Hash
	refresh   map[string]*runtime.RefreshToken      // by Hash
	codes     map[string]*runtime.AuthorizationCode // by Hash
	devices   map[string]*runtime.DeviceCode        // by Hash
	userCodes map[string]string                     // UserCodeHash → Hash
	faults    map[Fault]bool                        // writes that fail (Fail)

	signingKeys []*runtime.SigningKey     // memory_oidc.go
	claims      map[string]map[string]any // user ID → claims; memory_oidc.go

	limits  *runtime.MemoryLimiter
	changes atomic.Uint64 // ChangeCount; grown after each write it counts
}

// NewMemoryStore returns an empty MemoryStore.
func NewMemoryStore() *MemoryStore {
	return &MemoryStore{
		clients:   make(map[string]*runtime.Client),
		users:     make(map[string]*runtime.User),
		usernames: make(map[string]string),
		families:  make(map[string]*runtime.Family),
		access:    make(map[string]*runtime.AccessToken),
		refresh:   make(map[string]*runtime.RefreshToken),
		codes:     make(map[string]*runtime.AuthorizationCode),
		devices:   make(map[string]*runtime.DeviceCode),
		userCodes: make(map[string]string),
		faults:    make(map[Fault]bool),
		limits:    runtime.NewMemoryLimiter(),
	}
}

// Fail is the store's FailFunc: the writes f describes fail inside Issue
// until heal is called.
func (s *MemoryStore) Fail(t *testing.T, f Fault) (heal func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults[f] = true
	return func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		delete(s.faults, f)
	}
}

// errInjected is the failure Fail injects.
var errInjected = errors.New("runtimetest: injected fault")

// Issue implements runtime.IssuanceStore. It checks every write first and
// applies them only when all would succeed: all or nothing, as a
// transaction would.
func (s *MemoryStore) Issue(ctx context.Context, is *runtime.Issuance) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	// Every counted write holds mu, so the count cannot move before apply.
	if n := is.IfChangeCount; n != nil && *n != s.changes.Load() {
		return runtime.ErrChanged
	}
	apply, err := s.consume(is.Consume)
	if err != nil {
		return err
	}
	// The family the issuance creates counts as existing for its records.
	family := ""
	if f := is.Family; f != nil {
		if s.faults[Fault{Record: RecordFamily}] {
			return errInjected
		}
		if _, ok := s.families[f.ID]; ok {
			return runtime.ErrDuplicate
		}
		if err := s.checkRefs("family", f.ClientID, ""); err != nil {
			return err
		}
		family = f.ID
	}
	refs := func(what string, r Record, clientID, familyID string) error {
		if s.faults[Fault{Record: r}] {
			return errInjected
		}
		if familyID == family {
			familyID = ""
		}
		return s.checkRefs(what, clientID, familyID)
	}
	if c := is.AuthorizationCode; c != nil {
		if _, ok := s.codes[c.Hash]; ok {
			return runtime.ErrDuplicate
		}
		if err := refs("authorization code", RecordAuthorizationCode, c.ClientID, c.FamilyID); err != nil {
			return err
		}
	}
	if d := is.DeviceCode; d != nil {
		if _, ok := s.devices[d.Hash]; ok {
			return runtime.ErrDuplicate
		}
		if _, ok := s.userCodes[d.UserCodeHash]; ok {
			return runtime.ErrDuplicate
		}
		if err := refs("device code", RecordDeviceCode, d.ClientID, d.FamilyID); err != nil {
			return err
		}
	}
	if t := is.AccessToken; t != nil {
		if _, ok := s.access[t.Hash]; ok {
			return runtime.ErrDuplicate
		}
		if err := refs("access token", RecordAccessToken, t.ClientID, t.FamilyID); err != nil {
			return err
		}
	}
	if t := is.RefreshToken; t != nil {
		if _, ok := s.refresh[t.Hash]; ok {
			return runtime.ErrDuplicate
		}
		if is.AccessToken != nil && is.AccessToken.Hash == t.Hash {
			return runtime.ErrDuplicate
		}
		if err := refs("refresh token", RecordRefreshToken, t.ClientID, t.FamilyID); err != nil {
			return err
		}
	}

	apply()
	if f := is.Family; f != nil {
		c := *f
		s.families[f.ID] = &c
	}
	if c := is.AuthorizationCode; c != nil {
		cc := *c
		cc.Scopes = slices.Clone(c.Scopes)
		s.codes[c.Hash] = &cc
	}
	if d := is.DeviceCode; d != nil {
		c := *d
		c.Scopes = slices.Clone(d.Scopes)
		s.devices[d.Hash] = &c
		s.userCodes[d.UserCodeHash] = d.Hash
	}
	if t := is.AccessToken; t != nil {
		c := *t
		c.Scopes = slices.Clone(t.Scopes)
		s.access[t.Hash] = &c
	}
	if t := is.RefreshToken; t != nil {
		c := *t
		c.Scopes = slices.Clone(t.Scopes)
		s.refresh[t.Hash] = &c
	}
	return nil
}

// consume checks the consumption c and returns the write that makes it.
// The caller holds s.mu.
func (s *MemoryStore) consume(c *runtime.Consumption) (apply func(), err error) {
	if c == nil {
		return func() {}, nil
	}
	var consumedAt *time.Time
	var record Record
	switch c.Kind {
	case runtime.ConsumeAuthorizationCode:
		code, ok := s.codes[c.Hash]
		if !ok {
			return nil, runtime.ErrNotFound
		}
		consumedAt, record = &code.ConsumedAt, RecordAuthorizationCode
	case runtime.ConsumeRefreshToken:
		t, ok := s.refresh[c.Hash]
		if !ok {
			return nil, runtime.ErrNotFound
		}
		consumedAt, record = &t.ConsumedAt, RecordRefreshToken
	case runtime.ConsumeDeviceCode:
		d, ok := s.devices[c.Hash]
		if !ok {
			return nil, runtime.ErrNotFound
		}
		if d.Status != runtime.DeviceApproved {
			return nil, runtime.ErrConsumed
		}
		consumedAt, record = &d.ConsumedAt, RecordDeviceCode
	default:
		return nil, fmt.Errorf("runtimetest: Issue: unknown consumption kind %d", c.Kind)
	}
	if s.faults[Fault{Record: record, Consume: true}] {
		return nil, errInjected
	}
	switch {
	case consumedAt.IsZero():
		return func() { *consumedAt = c.At }, nil
	case c.Kind == runtime.ConsumeRefreshToken && !c.ReuseSince.IsZero() && !consumedAt.Before(c.ReuseSince):
		return func() {}, nil // reused within the interval: keeps its first time
	}
	return nil, runtime.ErrConsumed
}

// AddClient registers a copy of c; runtime.ErrDuplicate if its ID exists.
func (s *MemoryStore) AddClient(c *runtime.Client) error {
	if c.ID == "" {
		return fmt.Errorf("runtimetest: AddClient: empty client ID")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.clients[c.ID]; ok {
		return runtime.ErrDuplicate
	}
	s.clients[c.ID] = cloneClient(c)
	s.changes.Add(1)
	return nil
}

// UpdateClient replaces the stored client with c's ID by a copy of c;
// runtime.ErrNotFound if there is none.
func (s *MemoryStore) UpdateClient(c *runtime.Client) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.clients[c.ID]; !ok {
		return runtime.ErrNotFound
	}
	s.clients[c.ID] = cloneClient(c)
	s.changes.Add(1)
	return nil
}

// DeleteClient deletes the client and, as the SQL stores' cascades do,
// its families, tokens, codes and device authorizations;
// runtime.ErrNotFound if there is no such client.
func (s *MemoryStore) DeleteClient(id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.clients[id]; !ok {
		return runtime.ErrNotFound
	}
	delete(s.clients, id)
	maps.DeleteFunc(s.families, func(_ string, f *runtime.Family) bool { return f.ClientID == id })
	maps.DeleteFunc(s.access, func(_ string, t *runtime.AccessToken) bool { return t.ClientID == id })
	maps.DeleteFunc(s.refresh, func(_ string, t *runtime.RefreshToken) bool { return t.ClientID == id })
	maps.DeleteFunc(s.codes, func(_ string, c *runtime.AuthorizationCode) bool { return c.ClientID == id })
	maps.DeleteFunc(s.devices, func(_ string, d *runtime.DeviceCode) bool {
		if d.ClientID == id {
			delete(s.userCodes, d.UserCodeHash)
		}
		return d.ClientID == id
	})
	s.changes.Add(1)
	return nil
}

// ChangeCount implements runtime.ChangeCounter: the number of writes of
// clients (AddClient, UpdateClient, DeleteClient) and of failure counts
// (AddFailure, Reset, Purge) so far.
func (s *MemoryStore) ChangeCount(ctx context.Context) (uint64, bool, error) {
	if err := ctx.Err(); err != nil {
		return 0, false, err
	}
	return s.changes.Load(), true, nil
}

// IssueChecksChangeCount implements runtime.ChangeCountIssuer.
func (s *MemoryStore) IssueChecksChangeCount() bool { return true }

// Failures implements runtime.Limiter.
func (s *MemoryStore) Failures(ctx context.Context, key string, since time.Time) (int, time.Time, error) {
	if err := ctx.Err(); err != nil {
		return 0, time.Time{}, err
	}
	return s.limits.Failures(ctx, key, since)
}

// FailuresOf implements runtime.BatchLimiter.
func (s *MemoryStore) FailuresOf(ctx context.Context, keys []string, since time.Time) ([]int, []time.Time, error) {
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	return s.limits.FailuresOf(ctx, keys, since)
}

// AddFailure implements runtime.Limiter.
func (s *MemoryStore) AddFailure(ctx context.Context, key string, now, since time.Time) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	s.mu.Lock() // ordered with Issue's IfChangeCount check
	defer s.mu.Unlock()
	defer s.changes.Add(1)
	return s.limits.AddFailure(ctx, key, now, since)
}

// Reset implements runtime.Limiter.
func (s *MemoryStore) Reset(ctx context.Context, key string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock() // ordered with Issue's IfChangeCount check
	defer s.mu.Unlock()
	defer s.changes.Add(1)
	return s.limits.Reset(ctx, key)
}

// Purge implements runtime.Limiter.
func (s *MemoryStore) Purge(ctx context.Context, before time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock() // ordered with Issue's IfChangeCount check
	defer s.mu.Unlock()
	defer s.changes.Add(1)
	return s.limits.Purge(ctx, before)
}

// AddUser registers a copy of u; runtime.ErrDuplicate if its ID or its
// Username exists. Usernames are matched exactly (case-sensitively).
func (s *MemoryStore) AddUser(u *runtime.User) error {
	if u.ID == "" {
		return fmt.Errorf("runtimetest: AddUser: empty user ID")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.users[u.ID]; ok {
		return runtime.ErrDuplicate
	}
	if _, ok := s.usernames[u.Username]; ok {
		return runtime.ErrDuplicate
	}
	c := *u
	s.users[u.ID] = &c
	s.usernames[u.Username] = u.ID
	return nil
}

// GetClient implements runtime.ClientStore.
func (s *MemoryStore) GetClient(ctx context.Context, id string) (*runtime.Client, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.clients[id]
	if !ok {
		return nil, runtime.ErrNotFound
	}
	return cloneClient(c), nil
}

// GetUserByUsername implements runtime.UserStore.
func (s *MemoryStore) GetUserByUsername(ctx context.Context, username string) (*runtime.User, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	id, ok := s.usernames[username]
	if !ok {
		return nil, runtime.ErrNotFound
	}
	u := *s.users[id]
	return &u, nil
}

// GetUser implements runtime.UserStore.
func (s *MemoryStore) GetUser(ctx context.Context, id string) (*runtime.User, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.users[id]
	if !ok {
		return nil, runtime.ErrNotFound
	}
	c := *u
	return &c, nil
}

// RevokeFamily implements runtime.FamilyStore. Revoking an already revoked
// family keeps the first revocation time.
func (s *MemoryStore) RevokeFamily(ctx context.Context, id string, at time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	f, ok := s.families[id]
	if !ok {
		return runtime.ErrNotFound
	}
	if f.RevokedAt.IsZero() {
		f.RevokedAt = at
	}
	return nil
}

// GetAccessToken implements runtime.AccessTokenStore. RevokedAt is the
// token's own revocation time, else its family's.
func (s *MemoryStore) GetAccessToken(ctx context.Context, hash string) (*runtime.AccessToken, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.access[hash]
	if !ok {
		return nil, runtime.ErrNotFound
	}
	c := *t
	c.Scopes = slices.Clone(t.Scopes)
	c.RevokedAt = s.revokedAt(t.RevokedAt, t.FamilyID)
	return &c, nil
}

// RevokeAccessToken implements runtime.AccessTokenStore. Revoking an
// already revoked token keeps the first revocation time.
func (s *MemoryStore) RevokeAccessToken(ctx context.Context, hash string, at time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.access[hash]
	if !ok {
		return runtime.ErrNotFound
	}
	if t.RevokedAt.IsZero() {
		t.RevokedAt = at
	}
	return nil
}

// GetRefreshToken implements runtime.RefreshTokenStore. RevokedAt is the
// token's own revocation time, else its family's.
func (s *MemoryStore) GetRefreshToken(ctx context.Context, hash string) (*runtime.RefreshToken, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.refresh[hash]
	if !ok {
		return nil, runtime.ErrNotFound
	}
	c := *t
	c.Scopes = slices.Clone(t.Scopes)
	c.RevokedAt = s.revokedAt(t.RevokedAt, t.FamilyID)
	return &c, nil
}

// RevokeRefreshToken implements runtime.RefreshTokenStore. Revoking an
// already revoked token keeps the first revocation time.
func (s *MemoryStore) RevokeRefreshToken(ctx context.Context, hash string, at time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.refresh[hash]
	if !ok {
		return runtime.ErrNotFound
	}
	if t.RevokedAt.IsZero() {
		t.RevokedAt = at
	}
	return nil
}

// GetAuthorizationCode implements runtime.AuthorizationCodeStore.
func (s *MemoryStore) GetAuthorizationCode(ctx context.Context, hash string) (*runtime.AuthorizationCode, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.codes[hash]
	if !ok {
		return nil, runtime.ErrNotFound
	}
	cc := *c
	cc.Scopes = slices.Clone(c.Scopes)
	return &cc, nil
}

// GetDeviceCode implements runtime.DeviceCodeStore.
func (s *MemoryStore) GetDeviceCode(ctx context.Context, hash string) (*runtime.DeviceCode, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.deviceCopy(hash)
}

// GetDeviceCodeByUserCode implements runtime.DeviceCodeStore.
func (s *MemoryStore) GetDeviceCodeByUserCode(ctx context.Context, userCodeHash string) (*runtime.DeviceCode, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	hash, ok := s.userCodes[userCodeHash]
	if !ok {
		return nil, runtime.ErrNotFound
	}
	return s.deviceCopy(hash)
}

// DecideDeviceCode implements runtime.DeviceCodeStore. It sets Status,
// UserID and DecidedAt; on approval it also replaces Scopes with the
// granted ones, on denial it keeps the requested ones.
func (s *MemoryStore) DecideDeviceCode(ctx context.Context, hash string, d runtime.DeviceDecision) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if d.Status != runtime.DeviceApproved && d.Status != runtime.DeviceDenied {
		return fmt.Errorf("runtimetest: DecideDeviceCode: status %q is not a decision", d.Status)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	dc, ok := s.devices[hash]
	if !ok {
		return runtime.ErrNotFound
	}
	if dc.Status != runtime.DevicePending {
		return runtime.ErrConsumed
	}
	if err := s.checkRefs("device decision", dc.ClientID, ""); err != nil {
		return err
	}
	dc.Status = d.Status
	dc.UserID = d.UserID
	dc.DecidedAt = d.At
	if d.Status == runtime.DeviceApproved {
		dc.Scopes = slices.Clone(d.Scopes)
	}
	return nil
}

// PollDeviceCode implements runtime.DeviceCodeStore.
func (s *MemoryStore) PollDeviceCode(ctx context.Context, hash string, p runtime.DevicePoll) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	dc, ok := s.devices[hash]
	if !ok {
		return runtime.ErrNotFound
	}
	if !dc.LastPolledAt.Equal(p.Previous) {
		return runtime.ErrConsumed
	}
	dc.LastPolledAt = p.At
	dc.Interval = p.Interval
	return nil
}

// deviceCopy returns a copy of the device authorization with that hash.
// The caller holds s.mu.
func (s *MemoryStore) deviceCopy(hash string) (*runtime.DeviceCode, error) {
	d, ok := s.devices[hash]
	if !ok {
		return nil, runtime.ErrNotFound
	}
	c := *d
	c.Scopes = slices.Clone(d.Scopes)
	return &c, nil
}

// revokedAt is a token's effective revocation time: its own when it was
// revoked, else its family's (zero when neither was). The caller holds s.mu.
func (s *MemoryStore) revokedAt(own time.Time, familyID string) time.Time {
	if !own.IsZero() || familyID == "" {
		return own
	}
	if f, ok := s.families[familyID]; ok {
		return f.RevokedAt
	}
	return own
}

// checkRefs plays the SQL stores' foreign keys: a record may only name a
// client and family that exist. User ids are opaque: they may come from
// the application's own login, or predate a users table. The caller holds
// s.mu.
func (s *MemoryStore) checkRefs(what, clientID, familyID string) error {
	if _, ok := s.clients[clientID]; !ok {
		return fmt.Errorf("runtimetest: %s references unknown client %q", what, clientID)
	}
	if _, ok := s.families[familyID]; familyID != "" && !ok {
		return fmt.Errorf("runtimetest: %s references unknown family %q", what, familyID)
	}
	return nil
}

func cloneClient(c *runtime.Client) *runtime.Client {
	cc := *c
	cc.RedirectURIs = slices.Clone(c.RedirectURIs)
	cc.GrantTypes = slices.Clone(c.GrantTypes)
	cc.Scopes = slices.Clone(c.Scopes)
	return &cc
}
