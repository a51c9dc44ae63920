package runtime_test

import (
	"context"
	"net/http/httptest"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/oauthgen/oauthgen/runtime"
	"github.com/oauthgen/oauthgen/runtime/runtimetest"
)

// race sends form to the token endpoint from n goroutines released at
// once and returns each one's response.
func race(f *fixture, n int, form url.Values) []response {
	start := make(chan struct{})
	out := make([]response, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req := postReq("conf", confSecret, form)
			<-start
			rec := httptest.NewRecorder()
			f.mux.ServeHTTP(rec, req)
			out[i] = decode(f.t, rec)
		}()
	}
	close(start)
	wg.Wait()
	return out
}

// TestConcurrentRedemption: 200 authorization codes and 200 refresh
// tokens, each redeemed by 8 concurrent requests against the reference
// store. Exactly one of each 8 succeeds; the others are invalid_grant, and
// since a lost race is a replay, the winner's tokens end up revoked.
func TestConcurrentRedemption(t *testing.T) {
	const items, racers = 200, 8
	if testing.Short() {
		t.Skip("short")
	}

	check := func(t *testing.T, f *fixture, what string, forms []url.Values) {
		t.Helper()
		var wg sync.WaitGroup
		results := make([][]response, len(forms))
		for i, form := range forms {
			wg.Add(1)
			go func() {
				defer wg.Done()
				results[i] = race(f, racers, form)
			}()
		}
		wg.Wait()
		for i, rs := range results {
			var wins int
			var winner string
			for _, r := range rs {
				switch {
				case r.Status == 200:
					wins++
					winner = r.str("access_token")
				case r.Status != 400 || r.str("error") != "invalid_grant":
					t.Errorf("%s %d: loser got %d %s", what, i, r.Status, r.Raw)
				}
			}
			if wins != 1 {
				t.Errorf("%s %d: %d successes, want exactly 1", what, i, wins)
				continue
			}
			if f.active(winner) {
				t.Errorf("%s %d: the winner's token survived the replays", what, i)
			}
		}
	}

	for _, gated := range []bool{false, true} {
		name := "reference_store"
		if gated {
			// Every racer reads the record before any consumes it: only
			// the store's atomic consume can tell them apart.
			name = "all_read_before_any_consumes"
		}
		t.Run(name, func(t *testing.T) {
			var gs *gatedStore
			f := newFixtureStore(t, func(m *runtimetest.MemoryStore) runtime.Store {
				gs = &gatedStore{MemoryStore: m, n: racers, gates: map[string]*gate{}}
				return gs
			})
			codes := make([]url.Values, items)
			for i := range codes {
				codes[i] = vals("grant_type", "authorization_code", "code", f.code(), "redirect_uri", redirectURI, "code_verifier", verifier)
			}
			refreshes := make([]url.Values, items)
			for i := range refreshes {
				// The extension grant issues refresh tokens without
				// hashing a password, which keeps this quick.
				rt := f.mustToken("conf", confSecret, vals("grant_type", extGrant, "assertion", "alice")).str("refresh_token")
				refreshes[i] = vals("grant_type", "refresh_token", "refresh_token", rt)
			}
			gs.on.Store(gated)
			t.Run("authorization_codes", func(t *testing.T) { check(t, f, "code", codes) })
			t.Run("refresh_tokens", func(t *testing.T) { check(t, f, "refresh token", refreshes) })
		})
	}
}

// gatedStore holds each GetAuthorizationCode and GetRefreshToken until n
// callers have read the same record (or a second has passed).
type gatedStore struct {
	*runtimetest.MemoryStore
	n     int
	on    atomic.Bool
	mu    sync.Mutex
	gates map[string]*gate
}

type gate struct {
	count int
	open  chan struct{}
}

func (s *gatedStore) wait(hash string) {
	if !s.on.Load() {
		return
	}
	s.mu.Lock()
	g := s.gates[hash]
	if g == nil {
		g = &gate{open: make(chan struct{})}
		s.gates[hash] = g
	}
	g.count++
	if g.count == s.n {
		close(g.open)
	}
	s.mu.Unlock()
	select {
	case <-g.open:
	case <-time.After(time.Second):
	}
}

func (s *gatedStore) GetAuthorizationCode(ctx context.Context, hash string) (*runtime.AuthorizationCode, error) {
	c, err := s.MemoryStore.GetAuthorizationCode(ctx, hash)
	s.wait(hash)
	return c, err
}

func (s *gatedStore) GetRefreshToken(ctx context.Context, hash string) (*runtime.RefreshToken, error) {
	t, err := s.MemoryStore.GetRefreshToken(ctx, hash)
	s.wait(hash)
	return t, err
}
