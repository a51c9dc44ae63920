package runtime

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sync"
	"time"
)

// maxCached bounds each map of a changeCache: a flood of client ids or
// source addresses clears it rather than growing it.
const maxCached = 4096

// changeCache keeps what the store said about clients, and about failure
// counts when the Throttle's Limiter is the store itself, between
// requests, for as long as the store's ChangeCount stays the same: with
// it, a token request costs one ChangeCount instead of two reads.
//
// Every entry was read after a snapshot of the count showed c.n, so it is
// at least as new as the state at that count; it is used only by requests
// whose snapshot shows c.n too. A snapshot with another count drops
// everything. Missing clients (ErrNotFound) and errors are never kept.
//
// When the store is a ChangeCountIssuer, a token request skips even that
// read: it runs on the count the last read returned (assume), and its
// Issue applies only if the count is still that one; otherwise, or when
// it would answer an error or write a failure count, it reads the count
// (confirm), and runs again on that read if the count moved.
//
// Cached *Client values are shared by every request that reads them: the
// engine never changes a *Client it got from the store, and hands
// application code (hooks, AuthorizationRequest, DeviceRequest) a copy.
type changeCache struct {
	counter ChangeCounter
	counts  bool // failure counts too: the Limiter is the store
	issuer  bool // the store's Issue checks IfChangeCount: token requests may assume

	mu sync.Mutex
	n  uint64 // the count every entry was read under
	// drops grows with each of the engine's own limiter writes: a failure
	// count read from the store meanwhile may predate the write, even
	// under the same n (a store whose count follows commits late), so it
	// is not kept.
	drops    uint64
	clients  map[string]*Client // by the id asked for
	failures map[string]cachedFailures
	// latest is the highest count ChangeCount reads returned, while
	// known: the count token requests assume. forget clears known and grows gen,
	// so that a read begun before it does not set known again.
	latest uint64
	known  bool
	gen    uint64
}

// cachedFailures is what Failures(key, since) returned: still the answer
// for any later since (the limiter counts failures at or after since).
type cachedFailures struct {
	n           int
	last, since time.Time
}

// at answers Failures(key, since) from the entry, if it can.
func (f cachedFailures) at(since time.Time) (n int, last time.Time, ok bool) {
	switch {
	case since.Before(f.since):
		return 0, time.Time{}, false
	case f.n == 0 || f.last.Before(since):
		return 0, time.Time{}, true
	}
	return f.n, f.last, true
}

// newChangeCache returns the cache of a server over store, or nil when the
// store cannot tell its changes. lim is the server's Limiter (nil when
// throttling is off).
func newChangeCache(store Store, lim Limiter) *changeCache {
	counter, ok := store.(ChangeCounter)
	if !ok {
		return nil
	}
	issuer, _ := store.(ChangeCountIssuer)
	return &changeCache{
		counter:  counter,
		counts:   lim != nil && sameValue(lim, store),
		issuer:   issuer != nil && issuer.IssueChecksChangeCount(),
		clients:  map[string]*Client{},
		failures: map[string]cachedFailures{},
	}
}

// sameValue reports whether a and b are the same value: the same pointer,
// for the usual store. Values of types == would panic on are never the same.
func sameValue(a, b any) bool {
	t := reflect.TypeOf(a)
	return t != nil && t == reflect.TypeOf(b) && t.Comparable() && a == b
}

type snapshotKey struct{}

// snapshot is a change count taken at the start of a request; ok is false
// when the store could not tell it (then the request reads through).
// assumed is set when n was not read for the request (changeCache.issuer).
type snapshot struct {
	cache   *changeCache
	n       uint64
	ok      bool
	assumed *assumption
}

// assumption is how a token request running on an assumed count stands.
// A request runs in one goroutine.
type assumption struct {
	// confirmed: a read (or Issue's check) showed the count unchanged
	// during the request; from then on it is as good as a snapshot.
	confirmed bool
	// changed: a read or Issue showed another count, or could not tell;
	// the request must write nothing more and run again (errRedo).
	changed bool
}

// errRedo ends a request attempt whose assumed count proved stale; the
// token endpoint runs it again on a count read for it, so it never
// reaches a client.
var errRedo = &Error{Code: ServerError, cause: errors.New("oauthgen: change count moved under the request")}

// assume returns ctx carrying an assumed snapshot of the count the last
// read returned, when the store checks it at Issue and such a count is
// known; else ctx and nil.
func (s *Server) assume(ctx context.Context) (context.Context, *assumption) {
	c := s.changes
	if c == nil || !c.issuer {
		return ctx, nil
	}
	c.mu.Lock()
	n, known := c.latest, c.known
	c.mu.Unlock()
	if !known {
		return ctx, nil
	}
	a := &assumption{}
	return context.WithValue(ctx, snapshotKey{}, snapshot{c, n, true, a}), a
}

// assumed returns the assumption of ctx's snapshot and its count, or nil.
func (s *Server) assumed(ctx context.Context) (*assumption, uint64) {
	snap, ok := ctx.Value(snapshotKey{}).(snapshot)
	if !ok || snap.assumed == nil || snap.cache != s.changes {
		return nil, 0
	}
	return snap.assumed, snap.n
}

// confirm reports whether the request may go on writing: true unless it
// runs on an assumed count that a read now shows moved (or cannot tell),
// which marks it changed. Called before writes a second run would repeat
// or misjudge (failure counts, polls, revocations, extension hooks).
func (s *Server) confirm(ctx context.Context) bool {
	a, n := s.assumed(ctx)
	switch {
	case a == nil || a.confirmed:
		return true
	case a.changed:
		return false
	}
	if m, ok := s.changes.read(ctx); ok && m == n {
		a.confirmed = true
		return true
	}
	a.changed = true
	return false
}

// forget stops token requests assuming the last count read: it is known
// to be stale.
func (c *changeCache) forget() {
	c.mu.Lock()
	c.known = false
	c.gen++
	c.mu.Unlock()
}

// snapshot returns ctx carrying a snapshot of the store's change count,
// for every cached read of the request. Taken before the request's first
// read of the store, so that what the request reads is at least as new
// as the count it is kept under.
func (s *Server) snapshot(ctx context.Context) context.Context {
	c := s.changes
	if c == nil {
		return ctx
	}
	if snap, ok := ctx.Value(snapshotKey{}).(snapshot); ok && snap.cache == c {
		return ctx
	}
	n, ok := c.read(ctx)
	return context.WithValue(ctx, snapshotKey{}, snapshot{c, n, ok, nil})
}

// count returns the snapshot in ctx, or a new one.
func (c *changeCache) count(ctx context.Context) (uint64, bool) {
	if snap, ok := ctx.Value(snapshotKey{}).(snapshot); ok && snap.cache == c {
		return snap.n, snap.ok
	}
	return c.read(ctx)
}

// read takes a snapshot. An error is not the request's failure: the reads
// that follow go to the store and meet any real trouble there. A store
// that checks counts at Issue learns the count read here, for the token
// requests that assume it, unless forget was called meanwhile.
func (c *changeCache) read(ctx context.Context) (uint64, bool) {
	var gen uint64
	if c.issuer {
		c.mu.Lock()
		gen = c.gen
		c.mu.Unlock()
	}
	n, ok, err := c.counter.ChangeCount(ctx)
	ok = ok && err == nil
	if c.issuer && ok {
		c.mu.Lock()
		// Reads may finish out of order: keep the newest count.
		if c.gen == gen && (!c.known || n > c.latest) {
			c.latest, c.known = n, true
		}
		c.mu.Unlock()
	}
	return n, ok
}

// lock locks c for a request whose snapshot shows n: entries read under
// another count are dropped.
func (c *changeCache) lock(n uint64) {
	c.mu.Lock()
	if n != c.n {
		clear(c.clients)
		clear(c.failures)
		c.n = n
	}
}

// getClient is ClientStore.GetClient through the cache.
func (s *Server) getClient(ctx context.Context, id string) (*Client, error) {
	c := s.changes
	if c == nil {
		return s.clients.GetClient(ctx, id)
	}
	n, ok := c.count(ctx)
	if !ok {
		return s.clients.GetClient(ctx, id)
	}
	c.lock(n)
	client := c.clients[id]
	c.mu.Unlock()
	if client != nil {
		return client, nil
	}
	client, err := s.clients.GetClient(ctx, id)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if c.n == n {
		if len(c.clients) >= maxCached {
			clear(c.clients)
		}
		c.clients[id] = client
	}
	c.mu.Unlock()
	return client, nil
}

// readFailures is the limiter's Failures for each of keys (at most three),
// into ns and lasts, through the cache when the limiter is the store.
func (s *Server) readFailures(ctx context.Context, keys []string, since time.Time, ns []int, lasts []time.Time) error {
	c := s.changes
	if c == nil || !c.counts {
		return s.limiterFailures(ctx, keys, since, ns, lasts)
	}
	n, ok := c.count(ctx)
	if !ok {
		return s.limiterFailures(ctx, keys, since, ns, lasts)
	}
	var buf [3]int
	missing := buf[:0] // indexes into keys
	c.lock(n)
	drops := c.drops
	for i, k := range keys {
		f, hit := c.failures[k]
		if hit {
			ns[i], lasts[i], hit = f.at(since)
		}
		if !hit {
			missing = append(missing, i)
		}
	}
	c.mu.Unlock()
	if len(missing) == 0 {
		return nil
	}
	var kbuf [3]string
	var nbuf [3]int
	var lbuf [3]time.Time
	mk := kbuf[:0]
	for _, i := range missing {
		mk = append(mk, keys[i])
	}
	mn, ml := nbuf[:len(mk)], lbuf[:len(mk)]
	if err := s.limiterFailures(ctx, mk, since, mn, ml); err != nil {
		return err
	}
	c.mu.Lock()
	keep := c.n == n && c.drops == drops
	for j, i := range missing {
		ns[i], lasts[i] = mn[j], ml[j]
		if keep {
			if _, had := c.failures[keys[i]]; !had && len(c.failures) >= maxCached {
				clear(c.failures)
			}
			c.failures[keys[i]] = cachedFailures{n: mn[j], last: ml[j], since: since}
		}
	}
	c.mu.Unlock()
	return nil
}

// limiterFailures reads keys' counts from the limiter: in one FailuresOf
// when it is a BatchLimiter and there are several keys.
func (s *Server) limiterFailures(ctx context.Context, keys []string, since time.Time, ns []int, lasts []time.Time) error {
	lim := s.throttle.lim
	if b, ok := lim.(BatchLimiter); ok && len(keys) > 1 {
		n, last, err := b.FailuresOf(ctx, keys, since)
		if err != nil {
			return err
		}
		if len(n) != len(keys) || len(last) != len(keys) {
			return fmt.Errorf("FailuresOf returned %d counts for %d keys", len(n), len(keys))
		}
		copy(ns, n)
		copy(lasts, last)
		return nil
	}
	for i, k := range keys {
		n, last, err := lim.Failures(ctx, k, since)
		if err != nil {
			return err
		}
		ns[i], lasts[i] = n, last
	}
	return nil
}

// dropFailures forgets keys' counts, around a write of them by the engine:
// before, so no request reads the old count from memory once the write may
// have landed; after, so none keeps one read meanwhile.
func (s *Server) dropFailures(keys ...string) {
	c := s.changes
	if c == nil || !c.counts {
		return
	}
	c.mu.Lock()
	c.drops++
	for _, k := range keys {
		delete(c.failures, k)
	}
	// The write moves the count: assuming the last one read would only
	// make the next Issue fail.
	c.known = false
	c.gen++
	c.mu.Unlock()
}

// clone returns a copy of c sharing nothing with it, for application code.
func (c *Client) clone() *Client {
	if c == nil {
		return nil
	}
	cc := *c
	cc.RedirectURIs = slices.Clone(c.RedirectURIs)
	cc.GrantTypes = slices.Clone(c.GrantTypes)
	cc.Scopes = slices.Clone(c.Scopes)
	return &cc
}
