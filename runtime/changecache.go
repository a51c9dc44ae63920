package runtime

import (
	"context"
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
// Cached *Client values are shared by every request that reads them: the
// engine never changes a *Client it got from the store, and hands
// application code (hooks, AuthorizationRequest, DeviceRequest) a copy.
type changeCache struct {
	counter ChangeCounter
	counts  bool // failure counts too: the Limiter is the store

	// reads shares ChangeCount reads between concurrent requests (read).
	reads   sync.Mutex
	running *countRead // the read in progress, if any
	next    *countRead // the read that follows it, waited for by later requests

	mu sync.Mutex
	n  uint64 // the count every entry was read under
	// drops grows with each of the engine's own limiter writes: a failure
	// count read from the store meanwhile may predate the write, even
	// under the same n (a store whose count follows commits late), so it
	// is not kept.
	drops    uint64
	clients  map[string]*Client // by the id asked for
	failures map[string]cachedFailures
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
	return &changeCache{
		counter:  counter,
		counts:   lim != nil && sameValue(lim, store),
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
type snapshot struct {
	cache *changeCache
	n     uint64
	ok    bool
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
	return context.WithValue(ctx, snapshotKey{}, snapshot{c, n, ok})
}

// count returns the snapshot in ctx, or a new one.
func (c *changeCache) count(ctx context.Context) (uint64, bool) {
	if snap, ok := ctx.Value(snapshotKey{}).(snapshot); ok && snap.cache == c {
		return snap.n, snap.ok
	}
	return c.read(ctx)
}

// read takes a snapshot. An error is not the request's failure: the reads
// that follow go to the store and meet any real trouble there.
//
// Concurrent requests share reads, as a group commit shares a commit: a
// request that finds a read running (begun before it arrived, so perhaps
// before a change it must see) waits for the next read to begin and end,
// and every request waiting by then takes its answer. Each request still
// gets a count read wholly after it arrived; under load, SQLite and MySQL
// answer one ChangeCount per batch of requests instead of one each.
func (c *changeCache) read(ctx context.Context) (uint64, bool) {
	c.reads.Lock()
	running := c.running
	if running == nil {
		// Nothing runs: read now, for the requests waiting on next too
		// (whose first may not have woken yet).
		r := c.next
		if r == nil {
			r = &countRead{done: make(chan struct{})}
		}
		c.running, c.next = r, nil
		c.reads.Unlock()
		return c.lead(ctx, r)
	}
	next := c.next
	if next == nil {
		next = &countRead{done: make(chan struct{})}
		c.next = next
	}
	c.reads.Unlock()
	testHookCountJoined()
	select {
	case <-running.done:
	case <-ctx.Done():
		return 0, false
	}
	c.reads.Lock()
	if c.next == next {
		// Nobody has begun next (a read begun since would have taken it):
		// the first of its requests to wake up reads for all of them.
		c.next, c.running = nil, next
		c.reads.Unlock()
		return c.lead(ctx, next)
	}
	c.reads.Unlock()
	select {
	case <-next.done:
		return next.n, next.ok
	case <-ctx.Done():
		return 0, false
	}
}

// lead makes the read r, which c.running holds, for every request waiting
// on it.
func (c *changeCache) lead(ctx context.Context, r *countRead) (uint64, bool) {
	n, ok, err := c.counter.ChangeCount(ctx)
	r.n, r.ok = n, ok && err == nil
	c.reads.Lock()
	c.running = nil
	c.reads.Unlock()
	close(r.done)
	return r.n, r.ok
}

// testHookCountJoined runs when a request has joined the next read.
var testHookCountJoined = func() {}

// countRead is one ChangeCount shared by the requests waiting on it; n
// and ok are set before done is closed.
type countRead struct {
	done chan struct{}
	n    uint64
	ok   bool
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
