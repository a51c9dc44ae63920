package runtime_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/oauthgen/oauthgen/runtime"
	"github.com/oauthgen/oauthgen/runtime/runtimetest"
)

// countingStore counts the reads the engine keeps in memory, over a
// MemoryStore (a ChangeCounter). mode makes ChangeCount fail (countError)
// or not know (countUnknown); frozen keeps its count still, as a store
// whose count lags the writes would.
type countingStore struct {
	*runtimetest.MemoryStore
	getClient, failures, failuresOf, changeCount atomic.Int64
	mode                                         atomic.Int32
	frozen                                       bool
}

const (
	countKnown = iota
	countError
	countUnknown
)

func (s *countingStore) GetClient(ctx context.Context, id string) (*runtime.Client, error) {
	s.getClient.Add(1)
	return s.MemoryStore.GetClient(ctx, id)
}

func (s *countingStore) Failures(ctx context.Context, key string, since time.Time) (int, time.Time, error) {
	s.failures.Add(1)
	return s.MemoryStore.Failures(ctx, key, since)
}

func (s *countingStore) FailuresOf(ctx context.Context, keys []string, since time.Time) ([]int, []time.Time, error) {
	s.failuresOf.Add(1)
	return s.MemoryStore.FailuresOf(ctx, keys, since)
}

func (s *countingStore) ChangeCount(ctx context.Context) (uint64, bool, error) {
	s.changeCount.Add(1)
	switch {
	case s.mode.Load() == countError:
		return 0, false, errors.New("count unreadable")
	case s.mode.Load() == countUnknown:
		return 0, false, nil
	case s.frozen:
		return 1, true, nil
	}
	return s.MemoryStore.ChangeCount(ctx)
}

// newCountingFixture is a fixture over a countingStore that is also the
// Throttle's Limiter unless separateLimiter.
func newCountingFixture(t *testing.T, cs *countingStore, separateLimiter bool, mutate ...func(*runtime.Config)) *fixture {
	t.Helper()
	if !separateLimiter {
		mutate = append(mutate, func(c *runtime.Config) { c.Throttle.Limiter = cs })
	}
	return newFixtureStore(t, func(m *runtimetest.MemoryStore) runtime.Store {
		cs.MemoryStore = m
		return cs
	}, mutate...)
}

// ccFrom is a client_credentials request with Basic credentials from remote.
func ccFrom(f *fixture, id, secret, remote string) response {
	req := basic(formRequest("/token", ccForm), id, secret)
	req.RemoteAddr = remote
	return f.serve(req)
}

func TestChangeCache(t *testing.T) {
	t.Run("changed_secret_refused_at_once", func(t *testing.T) {
		f := newFixture(t)
		f.mustToken("conf", confSecret, ccForm)
		conf, err := f.store.GetClient(t.Context(), "conf")
		if err != nil {
			t.Fatal(err)
		}
		conf.SecretHash = runtime.HashToken("rotated")
		if err := f.store.UpdateClient(conf); err != nil {
			t.Fatal(err)
		}
		if res := f.post("/token", "conf", confSecret, ccForm); res.Status != http.StatusBadRequest || res.str("error") != runtime.InvalidClient {
			t.Errorf("old secret after the rotation: %d %s, want invalid_client", res.Status, res.Raw)
		}
		f.mustToken("conf", "rotated", ccForm)
	})

	t.Run("deleted_client_refused_at_once", func(t *testing.T) {
		f := newFixture(t)
		f.mustToken("other", otherSecret, ccForm)
		if err := f.store.DeleteClient("other"); err != nil {
			t.Fatal(err)
		}
		if res := f.post("/token", "other", otherSecret, ccForm); res.str("error") != runtime.InvalidClient {
			t.Errorf("deleted client: %d %s, want invalid_client", res.Status, res.Raw)
		}
		if res := f.post("/introspect", "other", otherSecret, vals("token", "x")); res.str("error") != runtime.InvalidClient {
			t.Errorf("deleted client at introspection: %d %s, want invalid_client", res.Status, res.Raw)
		}
	})

	// The secret rotates while the engine reads the client: what it read
	// is kept under the count from before the read, so the next request,
	// which sees the new count, reads again.
	t.Run("change_racing_read", func(t *testing.T) {
		rs := &racingStore{}
		f := newFixtureStore(t, func(m *runtimetest.MemoryStore) runtime.Store {
			rs.MemoryStore = m
			return rs
		})
		rs.during = func() {
			conf, err := f.store.GetClient(context.Background(), "conf")
			if err != nil {
				t.Error(err)
				return
			}
			conf.SecretHash = runtime.HashToken("rotated")
			if err := f.store.UpdateClient(conf); err != nil {
				t.Error(err)
			}
		}
		f.mustToken("conf", confSecret, ccForm) // read before the rotation landed
		if res := f.post("/token", "conf", confSecret, ccForm); res.str("error") != runtime.InvalidClient {
			t.Errorf("old secret after the rotation: %d %s, want invalid_client", res.Status, res.Raw)
		}
	})

	t.Run("one_read_while_unchanged", func(t *testing.T) {
		cs := &countingStore{}
		f := newCountingFixture(t, cs, false)
		for range 20 {
			f.mustToken("conf", confSecret, ccForm)
		}
		// The store checks the count at Issue: only the first request reads it.
		if g, b, one, c := cs.getClient.Load(), cs.failuresOf.Load(), cs.failures.Load(), cs.changeCount.Load(); g != 1 || b != 1 || one != 0 || c != 1 {
			t.Errorf("20 token requests: %d GetClient, %d FailuresOf, %d Failures, %d ChangeCount; want 1, 1, 0, 1", g, b, one, c)
		}
		// A write anywhere in the count reads them again, once: the next
		// Issue fails and its request runs again on a count read for it.
		if err := f.store.AddClient(&runtime.Client{ID: "new"}); err != nil {
			t.Fatal(err)
		}
		for range 5 {
			f.mustToken("conf", confSecret, ccForm)
		}
		if g, b, c := cs.getClient.Load(), cs.failuresOf.Load(), cs.changeCount.Load(); g != 2 || b != 2 || c != 2 {
			t.Errorf("5 more after a change: %d GetClient, %d FailuresOf, %d ChangeCount in all; want 2, 2, 2", g, b, c)
		}
	})

	t.Run("counts_of_another_limiter_not_kept", func(t *testing.T) {
		cs := &countingStore{}
		lim := &batchCountingLimiter{MemoryLimiter: runtime.NewMemoryLimiter()}
		f := newCountingFixture(t, cs, true, func(c *runtime.Config) { c.Throttle.Limiter = lim })
		for range 10 {
			f.mustToken("conf", confSecret, ccForm)
		}
		if g, b := cs.getClient.Load(), lim.batchReads.Load(); g != 1 || b != 10 {
			t.Errorf("10 token requests: %d GetClient, %d FailuresOf of the separate limiter; want 1, 10", g, b)
		}
	})

	for _, tc := range []struct {
		name string
		mode int32
	}{{"count_error_reads_through", countError}, {"count_unknown_reads_through", countUnknown}} {
		t.Run(tc.name, func(t *testing.T) {
			cs := &countingStore{}
			cs.mode.Store(tc.mode)
			f := newCountingFixture(t, cs, false)
			for range 10 {
				f.mustToken("conf", confSecret, ccForm)
			}
			if g, b := cs.getClient.Load(), cs.failuresOf.Load(); g != 10 || b != 10 {
				t.Errorf("10 token requests: %d GetClient, %d FailuresOf; want 10 each", g, b)
			}
		})
	}

	// Throttling through a store that is the Limiter: each failure is
	// seen by the next attempt, whether the store's count moves (as it
	// must) or lags (frozen): the engine forgets what it wrote itself.
	for _, frozen := range []bool{false, true} {
		t.Run("failures_seen_frozen_"+strconv.FormatBool(frozen), func(t *testing.T) {
			cs := &countingStore{frozen: frozen}
			f := newCountingFixture(t, cs, false)
			f.mustToken("conf", confSecret, ccForm) // counts in memory
			var statuses []int
			for range 8 {
				statuses = append(statuses, ccFrom(f, "conf", "wrong", "192.0.2.7:1000").Status)
			}
			if want := append(slices.Repeat([]int{401}, 5), 429, 429, 429); !slices.Equal(statuses, want) {
				t.Errorf("statuses %v, want %v", statuses, want)
			}
			if res := ccFrom(f, "conf", confSecret, "192.0.2.7:1000"); res.Status != http.StatusTooManyRequests {
				t.Errorf("right secret from the blocked address: %d", res.Status)
			}
			// Elsewhere it succeeds, and that success clears the id's count.
			if res := ccFrom(f, "conf", confSecret, "198.51.100.1:1"); res.Status != http.StatusOK {
				t.Errorf("right secret from another address: %d %s", res.Status, res.Raw)
			}
			var after []int
			for range 5 {
				after = append(after, ccFrom(f, "conf", "wrong", "198.51.100.2:1").Status)
			}
			if want := slices.Repeat([]int{401}, 5); !slices.Equal(after, want) {
				t.Errorf("wrong secrets after the reset: %v, want %v", after, want)
			}
		})
	}

	t.Run("password_failures_seen", func(t *testing.T) {
		cs := &countingStore{}
		f := newCountingFixture(t, cs, false)
		var statuses []int
		for i := range 7 {
			req := formRequest("/token", vals("grant_type", "password", "client_id", "public", "username", "bob", "password", "wrong"))
			req.RemoteAddr = "203.0.113." + strconv.Itoa(i) + ":1"
			statuses = append(statuses, f.serve(req).Status)
		}
		if want := append(slices.Repeat([]int{400}, 5), 429, 429); !slices.Equal(statuses, want) {
			t.Errorf("statuses %v, want %v", statuses, want)
		}
	})

	// Many clients and source addresses with no change between them: the
	// memory stays bounded.
	t.Run("bounded", func(t *testing.T) {
		const n = 10_000
		cs := &countingStore{}
		f := newCountingFixture(t, cs, false)
		for i := range n {
			if err := f.store.AddClient(&runtime.Client{ID: "pub-" + strconv.Itoa(i), GrantTypes: []string{runtime.GrantDeviceCode}}); err != nil {
				t.Fatal(err)
			}
		}
		maxClients, maxFailures := 0, 0
		for i := range n {
			req := formRequest("/token", vals("grant_type", "client_credentials", "client_id", "pub-"+strconv.Itoa(i)))
			req.RemoteAddr = "10." + strconv.Itoa(i>>8) + "." + strconv.Itoa(i&0xff) + ".1:1"
			if res := f.serve(req); res.str("error") != runtime.UnauthorizedClient {
				t.Fatalf("request %d: %d %s, want unauthorized_client", i, res.Status, res.Raw)
			}
			c, fl := runtime.CachedForTest(f.srv)
			maxClients, maxFailures = max(maxClients, c), max(maxFailures, fl)
		}
		t.Logf("%d clients from %d addresses: at most %d clients and %d counts kept", n, n, maxClients, maxFailures)
		if maxClients > 4096 || maxFailures > 4096 {
			t.Errorf("kept up to %d clients and %d counts, want at most 4096 each", maxClients, maxFailures)
		}
		if maxClients == 0 || maxFailures == 0 {
			t.Errorf("kept %d clients and %d counts: the cache was not used", maxClients, maxFailures)
		}
	})
}

// Application code gets its own copy of a client: what it does to it
// never reaches the next request, which may share the cached one.
func TestChangeCacheHooksGetCopies(t *testing.T) {
	spoil := func(c *runtime.Client) {
		clear(c.GrantTypes)
		clear(c.RedirectURIs)
		clear(c.Scopes)
		c.SecretHash = "spoiled"
	}
	twice := func(t *testing.T, f *fixture, form url.Values) {
		t.Helper()
		for range 2 {
			f.mustToken("conf", confSecret, form)
		}
	}
	t.Run("client_credentials_user", func(t *testing.T) {
		f := newFixture(t, func(c *runtime.Config) {
			c.ClientCredentials.User = func(_ context.Context, c *runtime.Client) (string, error) { spoil(c); return "", nil }
		})
		twice(t, f, ccForm)
	})
	t.Run("validate_scope", func(t *testing.T) {
		f := newFixture(t, func(c *runtime.Config) {
			c.ValidateScope = func(_ context.Context, req runtime.ScopeRequest) ([]string, error) {
				spoil(req.Client)
				return req.Requested, nil
			}
		})
		twice(t, f, ccForm)
	})
	t.Run("extension", func(t *testing.T) {
		f := newFixture(t, func(c *runtime.Config) {
			c.Extensions[extGrant] = func(ctx context.Context, req *runtime.ExtensionRequest) (*runtime.ExtensionResult, error) {
				spoil(req.Client)
				return testExtension(ctx, req)
			}
		})
		twice(t, f, vals("grant_type", extGrant, "assertion", "alice"))
	})
	t.Run("authorization_request", func(t *testing.T) {
		f := newFixture(t)
		q := url.Values{"response_type": {"code"}, "client_id": {"conf"}, "redirect_uri": {redirectURI},
			"code_challenge": {runtime.S256Challenge(verifier)}, "code_challenge_method": {"S256"}}
		for range 2 {
			req, err := f.srv.ValidateAuthorizationRequest(httptest.NewRequest(http.MethodGet, "/authorize?"+q.Encode(), nil))
			if err != nil {
				t.Fatalf("ValidateAuthorizationRequest: %v", err)
			}
			spoil(req.Client)
		}
		f.mustToken("conf", confSecret, ccForm)
	})
	t.Run("device_request", func(t *testing.T) {
		f := newFixture(t)
		for range 2 {
			_, userCode := f.deviceStart("read")
			req, err := f.srv.LookupUserCode(t.Context(), userCode)
			if err != nil {
				t.Fatalf("LookupUserCode: %v", err)
			}
			spoil(req.Client)
		}
	})
}

// Tokens issued from many goroutines while clients and counts change: run
// with -race. Every right secret succeeds throughout, and a rotation made
// after the churn is seen by the very next request.
func TestChangeCacheConcurrent(t *testing.T) {
	f := newCountingFixture(t, &countingStore{}, false)
	const workers, each = 8, 40
	var wg sync.WaitGroup
	var bad atomic.Int64
	for w := range workers {
		wg.Go(func() {
			remote := "192.0.2." + strconv.Itoa(w+1) + ":1"
			for i := range each {
				switch {
				case w == 0:
					// Changes clients: "other" back and forth, new ones.
					other, err := f.store.GetClient(context.Background(), "other")
					if err != nil {
						bad.Add(1)
						return
					}
					other.Name = "other " + strconv.Itoa(i)
					if f.store.UpdateClient(other) != nil || f.store.AddClient(&runtime.Client{ID: "churn-" + strconv.Itoa(i)}) != nil {
						bad.Add(1)
					}
				case w == 1:
					// Changes counts: wrong secrets for another client,
					// from its own address.
					if res := ccFrom(f, "limited", "wrong", remote); res.Status != 401 && res.Status != 429 {
						bad.Add(1)
					}
				default:
					if res := ccFrom(f, []string{"conf", "other"}[i%2], []string{confSecret, otherSecret}[i%2], remote); res.Status != http.StatusOK {
						t.Errorf("worker %d request %d: %d %s", w, i, res.Status, res.Raw)
					}
				}
			}
		})
	}
	wg.Wait()
	if bad.Load() != 0 {
		t.Fatalf("%d unexpected results from the writers", bad.Load())
	}
	conf, err := f.store.GetClient(t.Context(), "conf")
	if err != nil {
		t.Fatal(err)
	}
	conf.SecretHash = runtime.HashToken("rotated")
	if err := f.store.UpdateClient(conf); err != nil {
		t.Fatal(err)
	}
	if res := ccFrom(f, "conf", confSecret, "192.0.2.200:1"); res.Status != http.StatusUnauthorized {
		t.Errorf("old secret after the rotation: %d %s, want 401", res.Status, res.Raw)
	}
}

// racingStore runs during once, inside the first GetClient, after the
// client was read: a change that commits while the engine reads.
type racingStore struct {
	*runtimetest.MemoryStore
	once   sync.Once
	during func()
}

func (s *racingStore) GetClient(ctx context.Context, id string) (*runtime.Client, error) {
	c, err := s.MemoryStore.GetClient(ctx, id)
	s.once.Do(s.during)
	return c, err
}

// issueRecorder records what Issue returned, over a MemoryStore.
type issueRecorder struct {
	*runtimetest.MemoryStore
	mu      sync.Mutex
	results []error
}

func (s *issueRecorder) Issue(ctx context.Context, is *runtime.Issuance) error {
	err := s.MemoryStore.Issue(ctx, is)
	s.mu.Lock()
	s.results = append(s.results, err)
	s.mu.Unlock()
	return err
}

// Token requests run on the count last read, which Issue checks: changes
// made elsewhere (here: straight to the store, which the engine never
// sees) make the request run again on a count read for it.
func TestChangeCacheAssumedCount(t *testing.T) {
	const remote = "192.0.2.9:1"
	since := func(f *fixture) time.Time { return f.clock.Now().Add(-time.Hour) }

	t.Run("secret_rotated_elsewhere", func(t *testing.T) {
		f := newCountingFixture(t, &countingStore{}, false)
		ccFrom(f, "conf", confSecret, remote) // the count, and the client, in memory
		conf, err := f.store.GetClient(t.Context(), "conf")
		if err != nil {
			t.Fatal(err)
		}
		conf.SecretHash = runtime.HashToken("rotated")
		if err := f.store.UpdateClient(conf); err != nil {
			t.Fatal(err)
		}
		if res := ccFrom(f, "conf", "rotated", remote); res.Status != http.StatusOK {
			t.Fatalf("new secret: %d %s, want 200", res.Status, res.Raw)
		}
		for _, key := range []string{"client:conf", "client-addr:192.0.2.9"} {
			if n, _, err := f.store.Failures(t.Context(), key, since(f)); err != nil || n != 0 {
				t.Errorf("failures of %s after the new secret succeeded: %d, %v; want none", key, n, err)
			}
		}
	})

	t.Run("client_deleted_elsewhere", func(t *testing.T) {
		f := newCountingFixture(t, &countingStore{}, false)
		ccFrom(f, "other", otherSecret, remote)
		if err := f.store.DeleteClient("other"); err != nil {
			t.Fatal(err)
		}
		if res := ccFrom(f, "other", otherSecret, remote); res.Status != http.StatusUnauthorized || res.str("error") != runtime.InvalidClient {
			t.Errorf("deleted client: %d %s, want 401 invalid_client", res.Status, res.Raw)
		}
	})

	// An error answered from a stale client, before any write: the count
	// is read before answering it.
	t.Run("grant_allowed_elsewhere", func(t *testing.T) {
		f := newCountingFixture(t, &countingStore{}, false)
		if res := ccFrom(f, "nogrants", otherSecret, remote); res.str("error") != runtime.UnauthorizedClient {
			t.Fatalf("client without grants: %d %s, want unauthorized_client", res.Status, res.Raw)
		}
		c, err := f.store.GetClient(t.Context(), "nogrants")
		if err != nil {
			t.Fatal(err)
		}
		c.GrantTypes = []string{runtime.GrantClientCredentials}
		if err := f.store.UpdateClient(c); err != nil {
			t.Fatal(err)
		}
		if res := ccFrom(f, "nogrants", otherSecret, remote); res.Status != http.StatusOK {
			t.Errorf("after the grant was allowed elsewhere: %d %s, want 200", res.Status, res.Raw)
		}
	})

	t.Run("blocked_elsewhere", func(t *testing.T) {
		f := newCountingFixture(t, &countingStore{}, false)
		ccFrom(f, "conf", confSecret, remote)
		// Another instance saw this address guess, often.
		for range 10 {
			if _, err := f.store.AddFailure(t.Context(), "client-addr:192.0.2.9", f.clock.Now(), since(f)); err != nil {
				t.Fatal(err)
			}
		}
		if res := ccFrom(f, "conf", confSecret, remote); res.Status != http.StatusTooManyRequests {
			t.Errorf("right secret from an address blocked elsewhere: %d %s, want 429", res.Status, res.Raw)
		}
	})

	t.Run("code_redeemed_once_after_change", func(t *testing.T) {
		rec := &issueRecorder{}
		f := newFixtureStore(t, func(m *runtimetest.MemoryStore) runtime.Store {
			rec.MemoryStore = m
			return rec
		})
		code := f.code()
		f.mustToken("conf", confSecret, ccForm) // a count known
		if err := f.store.AddClient(&runtime.Client{ID: "elsewhere"}); err != nil {
			t.Fatal(err)
		}
		rec.mu.Lock()
		rec.results = nil
		rec.mu.Unlock()
		if res := f.redeem(code); res.Status != http.StatusOK {
			t.Fatalf("redeeming after a change: %d %s, want 200", res.Status, res.Raw)
		}
		rec.mu.Lock()
		results := slices.Clone(rec.results)
		rec.mu.Unlock()
		if len(results) != 2 || !errors.Is(results[0], runtime.ErrChanged) || results[1] != nil {
			t.Errorf("Issue results %v, want [ErrChanged, nil]: one stale attempt, one redo", results)
		}
		ac, err := f.store.GetAuthorizationCode(t.Context(), runtime.HashToken(code))
		if err != nil || ac.ConsumedAt.IsZero() {
			t.Fatalf("code after the redemption: %+v, %v; want consumed", ac, err)
		}
		if res := f.redeem(code); res.str("error") != runtime.InvalidGrant {
			t.Errorf("second redemption: %d %s, want invalid_grant", res.Status, res.Raw)
		}
	})
}
