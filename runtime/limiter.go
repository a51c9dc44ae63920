package runtime

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"
)

// Limiter counts failed attempts per key (a client id, a username, a
// source address), for throttling guessing (see ThrottleConfig). The
// engine decides the delays from the counts; a Limiter only keeps them,
// so each method is one statement on a table with one row per key
// (key, failures, last_failure):
//
//   - Failures: SELECT failures, last_failure WHERE key = ? AND last_failure >= since;
//   - AddFailure: an upsert setting failures to 1 when last_failure < since,
//     else failures + 1, and last_failure to now, returning failures;
//   - Reset: DELETE WHERE key = ?;
//   - Purge: DELETE WHERE last_failure < before.
//
// Implementations must be safe for concurrent use; AddFailure must be
// atomic (two concurrent calls count two failures).
// runtimetest.TestLimiter checks an implementation.
type Limiter interface {
	// Failures returns key's failures in a row and the time of the last
	// one; 0 and the zero time when it has none at or after since.
	Failures(ctx context.Context, key string, since time.Time) (n int, last time.Time, err error)
	// AddFailure counts a failure of key at now and returns key's
	// failures in a row: 1 when it had none at or after since.
	AddFailure(ctx context.Context, key string, now, since time.Time) (n int, err error)
	// Reset forgets key's failures.
	Reset(ctx context.Context, key string) error
	// Purge forgets the keys whose last failure is before before.
	Purge(ctx context.Context, before time.Time) error
}

// BatchLimiter is a Limiter that reads several keys' counts at once: one
// round trip instead of one per key on every throttled attempt (a client
// and its source address). The engine uses it when its Limiter has it.
type BatchLimiter interface {
	Limiter
	// FailuresOf is Failures for each of keys, results in keys' order:
	// SELECT key, failures, last_failure WHERE key IN (…) AND last_failure >= since.
	FailuresOf(ctx context.Context, keys []string, since time.Time) (n []int, last []time.Time, err error)
}

// ErrTooManyAttempts is matched (errors.Is) by the errors of throttled
// attempts: AuthenticateUser, AuthenticateLogin, CheckLogin and
// LookupUserCodeFrom return it, as an *Error with status 429; RetryAfter
// says when to try again.
var ErrTooManyAttempts = errors.New("oauthgen: too many failed attempts")

// ErrBusy is matched (errors.Is) by the errors of verifications refused
// because the hashing budget stayed full (HashingConfig): an *Error
// temporarily_unavailable with status 503; RetryAfter says when to retry.
var ErrBusy = errors.New("oauthgen: too many verifications in progress")

// RetryAfter returns how long the client should wait before trying again
// after err (ErrTooManyAttempts, ErrBusy), and zero for other errors: for
// a page's "try again in N seconds".
func RetryAfter(err error) time.Duration {
	var e *Error
	if errors.As(err, &e) {
		return e.RetryAfter
	}
	return 0
}

// MemoryLimiter is a Limiter in process memory, for a single instance. It
// keeps at most MaxKeys keys (forgetting the oldest entries beyond), so
// many identifiers cannot exhaust memory.
type MemoryLimiter struct {
	mu      sync.Mutex
	keys    map[string]limitEntry
	maxKeys int
}

type limitEntry struct {
	n    int
	last time.Time
}

// DefaultMemoryLimiterKeys is NewMemoryLimiter's bound on keys.
const DefaultMemoryLimiterKeys = 100_000

// NewMemoryLimiter returns an empty MemoryLimiter keeping at most
// DefaultMemoryLimiterKeys keys.
func NewMemoryLimiter() *MemoryLimiter {
	return &MemoryLimiter{keys: map[string]limitEntry{}, maxKeys: DefaultMemoryLimiterKeys}
}

// Failures implements Limiter.
func (m *MemoryLimiter) Failures(_ context.Context, key string, since time.Time) (int, time.Time, error) {
	m.mu.Lock()
	e, ok := m.keys[key]
	m.mu.Unlock()
	if !ok || e.last.Before(since) {
		return 0, time.Time{}, nil
	}
	return e.n, e.last, nil
}

// AddFailure implements Limiter.
func (m *MemoryLimiter) AddFailure(_ context.Context, key string, now, since time.Time) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	e, ok := m.keys[key]
	if !ok && len(m.keys) >= m.maxKeys {
		m.evict(since)
	}
	if !ok || e.last.Before(since) {
		e.n = 0
	}
	e.n++
	e.last = now
	m.keys[key] = e
	return e.n, nil
}

// evict makes room: entries older than since first, then any (map order
// is random, so an attacker cannot pick which).
func (m *MemoryLimiter) evict(since time.Time) {
	for k, e := range m.keys {
		if e.last.Before(since) {
			delete(m.keys, k)
		}
	}
	for k := range m.keys {
		if len(m.keys) < m.maxKeys {
			break
		}
		delete(m.keys, k)
	}
}

// FailuresOf implements BatchLimiter.
func (m *MemoryLimiter) FailuresOf(_ context.Context, keys []string, since time.Time) ([]int, []time.Time, error) {
	n, last := make([]int, len(keys)), make([]time.Time, len(keys))
	m.mu.Lock()
	for i, k := range keys {
		if e, ok := m.keys[k]; ok && !e.last.Before(since) {
			n[i], last[i] = e.n, e.last
		}
	}
	m.mu.Unlock()
	return n, last, nil
}

// Reset implements Limiter.
func (m *MemoryLimiter) Reset(_ context.Context, key string) error {
	m.mu.Lock()
	delete(m.keys, key)
	m.mu.Unlock()
	return nil
}

// Purge implements Limiter.
func (m *MemoryLimiter) Purge(_ context.Context, before time.Time) error {
	m.mu.Lock()
	for k, e := range m.keys {
		if e.last.Before(before) {
			delete(m.keys, k)
		}
	}
	m.mu.Unlock()
	return nil
}

// throttle is ThrottleConfig with its defaults, parsed.
type throttle struct {
	lim               Limiter // nil when disabled
	free              int
	base, max, window time.Duration
	proxies           []netip.Prefix
}

func newThrottle(c ThrottleConfig) (throttle, []error) {
	var problems []error
	t := throttle{lim: c.Limiter, free: c.Free, base: c.BaseDelay, max: c.MaxDelay, window: c.Window}
	if c.Disabled {
		t.lim = nil
	} else if t.lim == nil {
		t.lim = NewMemoryLimiter()
	}
	def := func(name string, d *time.Duration, v time.Duration) {
		switch {
		case *d < 0:
			problems = append(problems, fmt.Errorf("Throttle.%s is negative (%v)", name, *d))
		case *d == 0:
			*d = v
		}
	}
	def("BaseDelay", &t.base, DefaultThrottleBaseDelay)
	def("MaxDelay", &t.max, DefaultThrottleMaxDelay)
	def("Window", &t.window, DefaultThrottleWindow)
	switch {
	case t.free < 0:
		problems = append(problems, fmt.Errorf("Throttle.Free is negative (%d)", t.free))
	case t.free == 0:
		t.free = DefaultThrottleFree
	}
	for _, p := range c.TrustedProxies {
		prefix, err := netip.ParsePrefix(p)
		if err != nil {
			addr, err2 := netip.ParseAddr(p)
			if err2 != nil {
				problems = append(problems, fmt.Errorf("Throttle.TrustedProxies: %q is neither a CIDR nor an address", p))
				continue
			}
			prefix = netip.PrefixFrom(addr.Unmap(), addr.Unmap().BitLen())
		}
		t.proxies = append(t.proxies, prefix.Masked())
	}
	return t, problems
}

// delay is how long a key with n failures in a row stays blocked after
// its last one.
func (t *throttle) delay(n int) time.Duration {
	if n < t.free {
		return 0
	}
	d := t.base
	for i := t.free; i < n && d < t.max; i++ {
		d *= 2
	}
	return min(d, t.max)
}

// Throttle keys: a kind and a client id (not secret), a kind and the
// hash of a username (no usernames in clear in a limiter table), or a
// kind and an address. Built with one allocation: they are made on every
// token request.
func clientKey(id string) string { return "client:" + id }

func userKey(username string) string {
	sum := sha256.Sum256([]byte(username))
	var b [5 + 32]byte
	copy(b[:], "user:")
	hex.Encode(b[5:], sum[:16])
	return string(b[:])
}

func addrKey(kind string, a netip.Addr) string {
	if !a.IsValid() {
		return ""
	}
	var buf [64]byte
	b := append(append(buf[:0], kind...), "-addr:"...)
	if a.Is6() {
		// One host usually has a whole /64.
		p, _ := a.Prefix(64)
		return string(p.AppendTo(b))
	}
	return string(a.AppendTo(b))
}

// throttleState is what throttleRead found for the (at most three) keys
// of one attempt.
type throttleState struct {
	n        int
	keys     [3]string
	failures [3]int
	until    [3]time.Time // when each key's block ends; zero if it is not blocked
}

// throttleRead reads the counts of keys (empty ones skipped). Its only
// error is a limiter failure.
func (s *Server) throttleRead(ctx context.Context, keys ...string) (throttleState, *Error) {
	var st throttleState
	return st, s.throttleReadMore(ctx, &st, keys...)
}

// throttleReadMore reads the counts of more keys into st, skipping empty
// ones and those st has.
func (s *Server) throttleReadMore(ctx context.Context, st *throttleState, keys ...string) *Error {
	t := &s.throttle
	if t.lim == nil {
		return nil
	}
	var buf [len(st.keys)]string
	fresh := buf[:0]
	for _, k := range keys {
		if k != "" && !slices.Contains(st.keys[:st.n], k) && !slices.Contains(fresh, k) {
			fresh = append(fresh, k)
		}
	}
	if len(fresh) == 0 {
		return nil
	}
	now := s.now()
	since := now.Add(-t.window)
	var ns [len(st.keys)]int
	var lasts [len(st.keys)]time.Time
	if err := s.readFailures(ctx, fresh, since, ns[:len(fresh)], lasts[:len(fresh)]); err != nil {
		return s.fail(ctx, "limiter failures", err)
	}
	for i, k := range fresh {
		st.keys[st.n], st.failures[st.n] = k, ns[i]
		if d := t.delay(ns[i]); d > 0 && lasts[i].Add(d).After(now) {
			st.until[st.n] = lasts[i].Add(d)
		}
		st.n++
	}
	return nil
}

// blocked returns the 429 for the latest block among the keys at
// indexes idx (all keys when none given), or nil.
func (s *Server) blocked(st *throttleState, idx ...int) *Error {
	var until time.Time
	for i := 0; i < st.n; i++ {
		if (len(idx) == 0 || slices.Contains(idx, i)) && st.until[i].After(until) {
			until = st.until[i]
		}
	}
	if until.IsZero() {
		return nil
	}
	return tooManyAttempts(until.Sub(s.now()))
}

// throttled is throttleRead, refusing when a key is blocked.
func (s *Server) throttled(ctx context.Context, keys ...string) (throttleState, *Error) {
	st, e := s.throttleRead(ctx, keys...)
	if e != nil {
		return st, e
	}
	return st, s.blocked(&st)
}

func tooManyAttempts(wait time.Duration) *Error {
	secs := max(1, int64((wait+time.Second-1)/time.Second))
	return &Error{Code: TemporarilyUnavailable, Status: http.StatusTooManyRequests,
		Description: fmt.Sprintf("too many failed attempts; retry after %d s", secs),
		RetryAfter:  time.Duration(secs) * time.Second, cause: ErrTooManyAttempts}
}

// failed counts a failure on every key of st.
func (s *Server) failed(ctx context.Context, st *throttleState) *Error {
	if s.throttle.lim == nil {
		return nil
	}
	// On an assumed count that moved, st or the client may be stale: a
	// client using a secret rotated elsewhere must not be charged.
	if !s.confirm(ctx) {
		return errRedo
	}
	now := s.now()
	keys := st.keys[:st.n]
	s.dropFailures(keys...)
	defer s.dropFailures(keys...)
	for _, k := range keys {
		if _, err := s.throttle.lim.AddFailure(ctx, k, now, now.Add(-s.throttle.window)); err != nil {
			return s.fail(ctx, "limiter add failure", err)
		}
	}
	return nil
}

// succeeded clears the count of key (an identifier, never an address:
// one success from an address must not excuse its other guesses) when
// throttleRead saw failures on it; a clean success writes nothing.
func (s *Server) succeeded(ctx context.Context, st *throttleState, key string) {
	for i := 0; i < st.n; i++ {
		if st.keys[i] == key && st.failures[i] > 0 {
			s.dropFailures(key)
			if err := s.throttle.lim.Reset(ctx, key); err != nil {
				s.logger.ErrorContext(ctx, "oauthgen: limiter reset", "error", err)
			}
			s.dropFailures(key)
		}
	}
}

// SourceAddress returns the address a request came from: the
// connection's (RemoteAddr), or, when that is one of
// Throttle.TrustedProxies, the nearest address in X-Forwarded-For that is
// not a trusted proxy. The zero Addr when none parses.
func (s *Server) SourceAddress(r *http.Request) netip.Addr {
	addr := parseRemoteAddr(r.RemoteAddr)
	if !addr.IsValid() || !s.trustedProxy(addr) {
		return addr
	}
	hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			return addr // a hop the proxies did not write: stop at the last trusted one
		}
		addr = a.Unmap()
		if !s.trustedProxy(addr) {
			return addr
		}
	}
	return addr
}

func (s *Server) trustedProxy(a netip.Addr) bool {
	for _, p := range s.throttle.proxies {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

func parseRemoteAddr(remote string) netip.Addr {
	if ap, err := netip.ParseAddrPort(remote); err == nil {
		return ap.Addr().Unmap()
	}
	if a, err := netip.ParseAddr(remote); err == nil {
		return a.Unmap()
	}
	return netip.Addr{}
}

type sourceKey struct{}

// withSource returns ctx carrying r's source address, for the grants that
// throttle (the password grant) beneath the token endpoint.
func (s *Server) withSource(ctx context.Context, r *http.Request) context.Context {
	return context.WithValue(ctx, sourceKey{}, s.SourceAddress(r))
}

func sourceFrom(ctx context.Context) netip.Addr {
	a, _ := ctx.Value(sourceKey{}).(netip.Addr)
	return a
}

// CheckLogin reports whether a sign-in as username from r's source
// address would be refused now for too many failures: the time to wait,
// or zero. Pages may call it to show "try again in N seconds" before
// asking for a password; AuthenticateLogin checks the same by itself.
func (s *Server) CheckLogin(r *http.Request, username string) (time.Duration, error) {
	_, e := s.throttled(r.Context(), userKey(username), addrKey("login", s.SourceAddress(r)))
	if e != nil {
		if e.Code == ServerError {
			return 0, e
		}
		return e.RetryAfter, nil
	}
	return 0, nil
}

// LookupUserCodeFrom is LookupUserCode for a verification page, with
// guesses throttled per source address (RFC 8628 §5.1): an unknown or
// expired code counts as a failure, and once the address is blocked every
// lookup from it is refused, known codes included, with an error matching
// ErrTooManyAttempts (status 429, RetryAfter).
func (s *Server) LookupUserCodeFrom(r *http.Request, userCode string) (*DeviceRequest, error) {
	ctx := r.Context()
	st, e := s.throttled(ctx, addrKey("usercode", s.SourceAddress(r)))
	if e != nil {
		return nil, e
	}
	req, err := s.LookupUserCode(ctx, userCode)
	if errors.Is(err, ErrNotFound) {
		if e := s.failed(ctx, &st); e != nil {
			return nil, e
		}
	}
	return req, err
}
