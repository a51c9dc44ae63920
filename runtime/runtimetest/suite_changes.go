package runtimetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/oauthgen/oauthgen/runtime"
)

// The engine keeps clients and failure counts in memory while a
// runtime.ChangeCounter's count stays the same: a write the count misses
// leaves a stale client or count in use until the next one.
func changeCountTests() []subtest {
	return []subtest{
		{"client_write", testChangeCountClientWrite},
		{"failure_writes", testChangeCountFailureWrites},
	}
}

func testChangeCountClientWrite(t *testing.T, e *env) {
	cc := need[runtime.ChangeCounter](e)
	n := e.changeCount(cc)
	e.client()
	e.countGrows(cc, n, "AddClient")
}

// Only for a store that is also the Limiter: then the engine caches counts.
func testChangeCountFailureWrites(t *testing.T, e *env) {
	cc := need[runtime.ChangeCounter](e)
	lim := need[runtime.Limiter](e)
	n := e.changeCount(cc)
	_, err := lim.AddFailure(e.ctx, "client:cc", t0, t0.Add(-time.Hour))
	must(t, "AddFailure", err)
	n = e.countGrows(cc, n, "AddFailure")
	_, err = lim.AddFailure(e.ctx, "client:cc", t0, t0.Add(-time.Hour))
	must(t, "AddFailure", err)
	n = e.countGrows(cc, n, "a second AddFailure")
	must(t, "Reset", lim.Reset(e.ctx, "client:cc"))
	e.countGrows(cc, n, "Reset")
}

// countWait bounds how long a count may take to show a committed write: a
// store whose count follows commits asynchronously (a listener on another
// connection) gets a moment; a store whose count never moves fails.
const countWait = 5 * time.Second

// changeCount returns the store's count, once it can tell it.
func (e *env) changeCount(cc runtime.ChangeCounter) uint64 {
	e.t.Helper()
	return e.waitCount(cc, func(uint64) bool { return true }, "ChangeCount never ok")
}

// countGrows waits for the count to grow past n after the write named by
// what, and returns it.
func (e *env) countGrows(cc runtime.ChangeCounter, n uint64, what string) uint64 {
	e.t.Helper()
	return e.waitCount(cc, func(m uint64) bool { return m > n }, fmt.Sprintf("ChangeCount stayed at %d after %s", n, what))
}

func (e *env) waitCount(cc runtime.ChangeCounter, done func(uint64) bool, failure string) uint64 {
	e.t.Helper()
	deadline := time.Now().Add(countWait)
	for {
		n, ok, err := cc.ChangeCount(e.ctx)
		must(e.t, "ChangeCount", err)
		if ok && done(n) {
			return n
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("%s (waited %v; last %d, ok %v)", failure, countWait, n, ok)
		}
		time.Sleep(time.Millisecond)
	}
}
