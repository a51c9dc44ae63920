package runtimetest

import (
	"context"
	"fmt"
	"slices"
	"sync"
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
// create a record that names an unknown client, user or family, with an
// error that is none of runtime's sentinel errors (the engine treats it as
// a server failure). Seed clients and users with AddClient and AddUser.
// Empty UserID and FamilyID values reference nothing and are always
// accepted.
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
	}
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
	return nil
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

// CreateFamily implements runtime.FamilyStore.
func (s *MemoryStore) CreateFamily(ctx context.Context, f *runtime.Family) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.families[f.ID]; ok {
		return runtime.ErrDuplicate
	}
	if err := s.checkRefs("family", f.ClientID, f.UserID, ""); err != nil {
		return err
	}
	c := *f
	s.families[f.ID] = &c
	return nil
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

// CreateAccessToken implements runtime.AccessTokenStore.
func (s *MemoryStore) CreateAccessToken(ctx context.Context, t *runtime.AccessToken) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.access[t.Hash]; ok {
		return runtime.ErrDuplicate
	}
	if err := s.checkRefs("access token", t.ClientID, t.UserID, t.FamilyID); err != nil {
		return err
	}
	c := *t
	c.Scopes = slices.Clone(t.Scopes)
	s.access[t.Hash] = &c
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

// CreateRefreshToken implements runtime.RefreshTokenStore.
func (s *MemoryStore) CreateRefreshToken(ctx context.Context, t *runtime.RefreshToken) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.refresh[t.Hash]; ok {
		return runtime.ErrDuplicate
	}
	if err := s.checkRefs("refresh token", t.ClientID, t.UserID, t.FamilyID); err != nil {
		return err
	}
	c := *t
	c.Scopes = slices.Clone(t.Scopes)
	s.refresh[t.Hash] = &c
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

// ConsumeRefreshToken implements runtime.RefreshTokenStore.
func (s *MemoryStore) ConsumeRefreshToken(ctx context.Context, hash string, at time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.refresh[hash]
	if !ok {
		return runtime.ErrNotFound
	}
	if !t.ConsumedAt.IsZero() {
		return runtime.ErrConsumed
	}
	t.ConsumedAt = at
	return nil
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

// CreateAuthorizationCode implements runtime.AuthorizationCodeStore.
func (s *MemoryStore) CreateAuthorizationCode(ctx context.Context, c *runtime.AuthorizationCode) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.codes[c.Hash]; ok {
		return runtime.ErrDuplicate
	}
	if err := s.checkRefs("authorization code", c.ClientID, c.UserID, c.FamilyID); err != nil {
		return err
	}
	cc := *c
	cc.Scopes = slices.Clone(c.Scopes)
	s.codes[c.Hash] = &cc
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

// ConsumeAuthorizationCode implements runtime.AuthorizationCodeStore.
func (s *MemoryStore) ConsumeAuthorizationCode(ctx context.Context, hash string, at time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.codes[hash]
	if !ok {
		return runtime.ErrNotFound
	}
	if !c.ConsumedAt.IsZero() {
		return runtime.ErrConsumed
	}
	c.ConsumedAt = at
	return nil
}

// CreateDeviceCode implements runtime.DeviceCodeStore.
func (s *MemoryStore) CreateDeviceCode(ctx context.Context, d *runtime.DeviceCode) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.devices[d.Hash]; ok {
		return runtime.ErrDuplicate
	}
	if _, ok := s.userCodes[d.UserCodeHash]; ok {
		return runtime.ErrDuplicate
	}
	if err := s.checkRefs("device code", d.ClientID, d.UserID, d.FamilyID); err != nil {
		return err
	}
	c := *d
	c.Scopes = slices.Clone(d.Scopes)
	s.devices[d.Hash] = &c
	s.userCodes[d.UserCodeHash] = d.Hash
	return nil
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
	if err := s.checkRefs("device decision", dc.ClientID, d.UserID, ""); err != nil {
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

// PollDeviceCode implements runtime.DeviceCodeStore. An unknown hash is
// runtime.ErrNotFound.
func (s *MemoryStore) PollDeviceCode(ctx context.Context, hash string, polledAt time.Time, interval time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	dc, ok := s.devices[hash]
	if !ok {
		return runtime.ErrNotFound
	}
	dc.LastPolledAt = polledAt
	dc.Interval = interval
	return nil
}

// ConsumeDeviceCode implements runtime.DeviceCodeStore.
func (s *MemoryStore) ConsumeDeviceCode(ctx context.Context, hash string, at time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	dc, ok := s.devices[hash]
	if !ok {
		return runtime.ErrNotFound
	}
	if dc.Status != runtime.DeviceApproved || !dc.ConsumedAt.IsZero() {
		return runtime.ErrConsumed
	}
	dc.ConsumedAt = at
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
// client, user and family that exist. The caller holds s.mu.
func (s *MemoryStore) checkRefs(what, clientID, userID, familyID string) error {
	if _, ok := s.clients[clientID]; !ok {
		return fmt.Errorf("runtimetest: %s references unknown client %q", what, clientID)
	}
	if _, ok := s.users[userID]; userID != "" && !ok {
		return fmt.Errorf("runtimetest: %s references unknown user %q", what, userID)
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
