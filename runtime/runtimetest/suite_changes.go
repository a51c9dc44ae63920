package runtimetest

import (
	"errors"
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
		{"issue_if_change_count", testChangeCountIssue},
		{"concurrent_issue_if_change_count", testChangeCountIssueConcurrent},
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

// changeCountIssuer returns the store as a ChangeCountIssuer, or skips: the
// engine relies on the check only for a store that says it makes it.
func (e *env) changeCountIssuer() runtime.ChangeCountIssuer {
	e.t.Helper()
	cc := need[runtime.ChangeCountIssuer](e)
	if !cc.IssueChecksChangeCount() {
		e.t.Skip("IssueChecksChangeCount is false")
	}
	return cc
}

// staleCount returns a count a client write has since left behind.
func (e *env) staleCount(cc runtime.ChangeCounter) uint64 {
	e.t.Helper()
	n := e.changeCount(cc)
	e.client()
	e.countGrows(cc, n, "AddClient")
	return n
}

// An Issuance whose IfChangeCount is stale applies nothing (its code stays
// unconsumed, its refresh token unrotated, no token stored) and returns
// ErrChanged; with the current count it applies whole.
func testChangeCountIssue(t *testing.T, e *env) {
	cc := e.changeCountIssuer()
	for _, sh := range issueShapes {
		t.Run(sh.name, func(t *testing.T) {
			e := e.sub(t)
			is := sh.make(e)
			stale := e.staleCount(cc)
			is.IfChangeCount = &stale
			wantErr(t, "Issue with a stale IfChangeCount", e.h.Store.Issue(e.ctx, is), runtime.ErrChanged)
			e.checkIssued(t, is, false)
			current := e.changeCount(cc)
			is.IfChangeCount = &current
			must(t, "Issue with the current IfChangeCount", e.h.Store.Issue(e.ctx, is))
			e.checkIssued(t, is, true)
		})
	}
}

// Concurrent issuances (which a store may commit together) succeed or
// fail each on its own count: only the stale one fails.
func testChangeCountIssueConcurrent(t *testing.T, e *env) {
	cc := e.changeCountIssuer()
	const n = 8
	var all [n]*runtime.Issuance
	for i := range all {
		all[i] = e.tokens(e.client(), "", "", nil)
	}
	stale := e.staleCount(cc)
	current := e.changeCount(cc)
	errs := make(chan error, n)
	for i, is := range all {
		is.IfChangeCount = &current
		if i == 0 {
			is.IfChangeCount = &stale
		}
		go func() { errs <- e.h.Store.Issue(e.ctx, is) }()
	}
	var changed int
	for range n {
		switch err := <-errs; {
		case errors.Is(err, runtime.ErrChanged):
			changed++
		case err != nil:
			t.Errorf("Issue with the current IfChangeCount: %v", err)
		}
	}
	if changed != 1 {
		t.Errorf("%d of %d concurrent Issues returned ErrChanged, want 1 (the stale one)", changed, n)
	}
	e.checkIssued(t, all[0], false)
	for _, is := range all[1:] {
		e.checkIssued(t, is, true)
	}
}
