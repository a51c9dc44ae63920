package runtimetest

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/oauthgen/oauthgen/runtime"
)

// Harness is what TestStore needs from a store under test.
type Harness struct {
	// Store is the store under test. It may also implement any of the
	// other store interfaces (UserStore, FamilyStore, RefreshTokenStore,
	// AuthorizationCodeStore, DeviceCodeStore); the subtests of one it
	// lacks are skipped with a message naming the interface.
	Store runtime.Store
	// AddClient stores c as given, SecretHash included. Required: there is
	// no method to register clients in the store interfaces.
	AddClient func(ctx context.Context, c *runtime.Client) error
	// AddUser stores a user and returns the id the store gave it. Nil if
	// the store has no users; then tokens name made-up user ids, and a
	// store that implements runtime.UserStore fails the suite.
	AddUser func(ctx context.Context, username, passwordHash string) (id string, err error)
	// Fail injects faults into the store's writes. Nil skips the
	// fault-injection subtests with a message.
	Fail FailFunc
	// OpenID says the store keeps AuthorizationCode.Nonce and AuthTime
	// (a store generated with OpenID Connect); false skips their subtest.
	OpenID bool
	// SetUserClaims sets a user's OpenID Connect claims (standard names),
	// for the runtime.UserClaimsStore subtests; nil skips them. A
	// generated store writes the mapped user columns.
	SetUserClaims func(ctx context.Context, userID string, claims map[string]any) error
}

// TestStore is the conformance suite of the store interfaces in
// runtime/store.go: the behaviour their doc comments promise, spelled out
// as subtests named after it (TestStore/AccessToken/revoked_family). Every
// store must pass it: MemoryStore, and each generated SQL store.
//
// newHarness is called once per leaf subtest, with that subtest's t, and
// must return a fresh, empty store (a new database or schema for SQL
// stores; register its teardown with t.Cleanup).
//
// Beyond the doc comments, the suite holds stores to the following, which
// the engine relies on:
//   - Every field round-trips. Times compare at microsecond precision (the
//     suite's times are UTC with whole microseconds, so rounding and
//     truncating stores agree); durations are whole seconds; lists keep
//     their order, may hold any RFC 6749 scope or redirect URI (commas
//     included), and an empty list may come back nil.
//   - Keys are opaque strings: an unknown one, in whatever format, is
//     runtime.ErrNotFound, never a parse error. Username lookups are exact
//     (whether they also ignore case is the store's business and untested).
//   - A refused create leaves nothing behind, not even under its other key.
//   - Stores never judge expiry: the engine has its own clock, so an
//     expired record reads back and consumes like any other.
//   - Revoking what is already revoked keeps the first revocation time; a
//     token revoked on its own keeps its own time after its family is
//     revoked; a token created into a revoked family reads back revoked.
//   - PollDeviceCode on an unknown hash is runtime.ErrNotFound, like every
//     other write; polls are recorded in any state. What a denial does to a
//     device authorization's Scopes is up to the store.
//   - Single use holds under contention: for authorization codes, refresh
//     tokens, device codes and device decisions, 32 goroutines per record,
//     4 records at once, are released together; exactly one per record gets
//     nil and the rest runtime.ErrConsumed (never a lock or busy error), and
//     the record keeps the winner's time.
//   - A runtime.ChangeCounter's count grows after a client is added and,
//     when the store is also a runtime.Limiter, after AddFailure and
//     Reset; it may follow the write by moments (countWait), not forever.
func TestStore(t *testing.T, newHarness func(t *testing.T) Harness) {
	groups := []struct {
		name  string
		tests []subtest
	}{
		{"Client", clientTests()},
		{"User", userTests()},
		{"Family", familyTests()},
		{"AccessToken", accessTokenTests()},
		{"RefreshToken", refreshTokenTests()},
		{"AuthorizationCode", authorizationCodeTests()},
		{"DeviceCode", deviceCodeTests()},
		{"Issue", issueTests()},
		{"SigningKey", signingKeyTests()},
		{"OpenID", openIDTests()},
		{"ChangeCount", changeCountTests()},
	}
	for _, g := range groups {
		t.Run(g.name, func(t *testing.T) {
			for _, st := range g.tests {
				t.Run(st.name, func(t *testing.T) {
					st.run(t, newEnv(t, newHarness))
				})
			}
		})
	}
}

// subtest is one behaviour the suite checks, against a fresh store.
type subtest struct {
	name string
	run  func(t *testing.T, e *env)
}

// env is one leaf subtest's store and the helpers that fill it. Keys are
// numbered from a counter, so a failing run is reproducible.
type env struct {
	t   *testing.T
	ctx context.Context
	h   Harness
	seq *int // shared with sub's copies, so keys stay unique
}

func newEnv(t *testing.T, newHarness func(t *testing.T) Harness) *env {
	t.Helper()
	h := newHarness(t)
	if h.Store == nil {
		t.Fatal("Harness.Store is nil")
	}
	if h.AddClient == nil {
		t.Fatal("Harness.AddClient is nil")
	}
	if _, ok := h.Store.(runtime.UserStore); ok && h.AddUser == nil {
		t.Fatal("Harness.AddUser is nil, but the store implements runtime.UserStore")
	}
	return &env{t: t, ctx: t.Context(), h: h, seq: new(int)}
}

// sub returns e for a nested subtest t, so that its helpers stop t, not the
// parent, when they fail.
func (e *env) sub(t *testing.T) *env {
	c := *e
	c.t = t
	return &c
}

// need returns the store as an S, or skips the test naming S.
func need[S any](e *env) S {
	e.t.Helper()
	s, ok := e.h.Store.(S)
	if !ok {
		e.t.Skipf("store does not implement %v", reflect.TypeFor[S]())
	}
	return s
}

// next returns a new key with that prefix.
func (e *env) next(prefix string) string {
	*e.seq++
	return fmt.Sprintf("%s-%d", prefix, *e.seq)
}

// hash returns a new token hash, in the form the engine stores.
func (e *env) hash() string { return runtime.HashToken(e.next("token")) }

// addClient stores c through the harness.
func (e *env) addClient(c *runtime.Client) {
	e.t.Helper()
	must(e.t, "AddClient", e.h.AddClient(e.ctx, c))
}

// client registers a confidential client allowed every grant and returns its ID.
func (e *env) client() string {
	e.t.Helper()
	c := &runtime.Client{
		ID:           e.next("client"),
		SecretHash:   runtime.HashToken("secret"),
		Name:         "Fixture",
		RedirectURIs: []string{"https://app.example/cb"},
		GrantTypes:   allGrantTypes,
		Scopes:       []string{"openid", "read"},
		CreatedAt:    t0,
	}
	e.addClient(c)
	return c.ID
}

// addUser stores a user through the harness and returns its id.
func (e *env) addUser(username, passwordHash string) string {
	e.t.Helper()
	id, err := e.h.AddUser(e.ctx, username, passwordHash)
	must(e.t, "AddUser", err)
	if id == "" {
		e.t.Fatal("AddUser returned an empty id")
	}
	return id
}

// user returns the id of a new user, made up when the store has no users.
func (e *env) user() string {
	e.t.Helper()
	if e.h.AddUser == nil {
		return e.next("user")
	}
	return e.addUser(e.next("user")+"@example.com", argon2Hash)
}

// family creates a family and returns its id; "" when the store keeps no
// families, so that records can still be created.
func (e *env) family(clientID, userID string) string {
	e.t.Helper()
	if _, ok := e.h.Store.(runtime.FamilyStore); !ok {
		return ""
	}
	f := &runtime.Family{ID: runtime.NewID(), ClientID: clientID, UserID: userID, CreatedAt: t0}
	must(e.t, "Issue(family)", e.create(&runtime.Issuance{Family: f}))
	return f.ID
}

// create issues records with nothing to consume.
func (e *env) create(is *runtime.Issuance) error { return e.h.Store.Issue(e.ctx, is) }

// consume spends a single-use record and issues nothing else.
func (e *env) consume(kind runtime.ConsumableKind, hash string, at time.Time) error {
	return e.h.Store.Issue(e.ctx, &runtime.Issuance{Consume: &runtime.Consumption{Kind: kind, Hash: hash, At: at}})
}

// The suite's clock. SQL stores keep microseconds, so every time has whole
// microseconds and a non-zero sub-second part, and is UTC.
var (
	// t0 is "now" for the records the suite creates.
	t0 = time.Date(2031, time.March, 14, 15, 9, 26, 535897000, time.UTC)
	// past lies before the wall clock: records expiring then are expired.
	past = time.Date(2021, time.June, 1, 12, 0, 0, 250001000, time.UTC)
)

// at returns t0 + d.
func at(d time.Duration) time.Time { return t0.Add(d) }

var allGrantTypes = []string{
	"authorization_code", "refresh_token", "client_credentials", "password",
	"urn:ietf:params:oauth:grant-type:device_code",
}

// Password hashes in the forms the engine accepts, stored and compared as
// opaque strings.
const (
	bcryptHash = "$2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy"
	argon2Hash = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$RdescudvJCsgt3ub+b+dWRWJTmaaJObGxh2Yb2CmPPs"
)

// recordOpts compare records as a store may give them back: times at
// microsecond precision in any location, an empty list as nil.
var recordOpts = cmp.Options{
	cmp.Comparer(func(a, b time.Time) bool {
		return a.Truncate(time.Microsecond).Equal(b.Truncate(time.Microsecond))
	}),
	cmpopts.EquateEmpty(),
}

// diff reports a mismatch between two records, as (-want +got).
func diff(t *testing.T, call string, want, got any, opts ...cmp.Option) {
	t.Helper()
	if d := cmp.Diff(want, got, recordOpts, cmp.Options(opts)); d != "" {
		t.Errorf("%s mismatch (-want +got):\n%s", call, d)
	}
}

// must stops the test if a call that sets up the next step failed.
func must(t *testing.T, call string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", call, err)
	}
}

// wantErr reports an error that is not (errors.Is) want.
func wantErr(t *testing.T, call string, got, want error) {
	t.Helper()
	if !errors.Is(got, want) {
		t.Errorf("%s: error = %v, want %v", call, got, want)
	}
}

// sameTime reports a time that differs from want at microsecond precision.
func sameTime(t *testing.T, what string, want, got time.Time) {
	t.Helper()
	if !want.Truncate(time.Microsecond).Equal(got.Truncate(time.Microsecond)) {
		t.Errorf("%s = %v, want %v", what, fmtTime(got), fmtTime(want))
	}
}

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return "zero"
	}
	return t.Format(time.RFC3339Nano)
}
