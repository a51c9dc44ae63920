package runtimetest

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/oauthgen/oauthgen/runtime"
)

// TestLimiter is the conformance suite of runtime.Limiter: the behaviour
// its doc comment promises, as subtests named after it. Every limiter
// must pass it: runtime.MemoryLimiter, and each generated SQL limiter.
// newLimiter is called once per subtest and must return an empty limiter
// (register its teardown with t.Cleanup). Times are whole microseconds in
// UTC, as SQL stores keep them.
func TestLimiter(t *testing.T, newLimiter func(t *testing.T) runtime.Limiter) {
	ctx := context.Background()
	t0 := time.Date(2030, 1, 2, 3, 4, 5, 6000, time.UTC)
	window := time.Hour
	failures := func(t *testing.T, l runtime.Limiter, key string, now time.Time) (int, time.Time) {
		t.Helper()
		n, last, err := l.Failures(ctx, key, now.Add(-window))
		if err != nil {
			t.Fatalf("Failures(%q): %v", key, err)
		}
		return n, last
	}
	add := func(t *testing.T, l runtime.Limiter, key string, now time.Time) int {
		t.Helper()
		n, err := l.AddFailure(ctx, key, now, now.Add(-window))
		if err != nil {
			t.Fatalf("AddFailure(%q): %v", key, err)
		}
		return n
	}

	t.Run("unknown_key_has_none", func(t *testing.T) {
		l := newLimiter(t)
		if n, last := failures(t, l, "user:nobody", t0); n != 0 || !last.IsZero() {
			t.Errorf("Failures = %d, %v; want 0 and the zero time", n, last)
		}
	})
	t.Run("failures_count_in_a_row", func(t *testing.T) {
		l := newLimiter(t)
		for i := 1; i <= 3; i++ {
			if n := add(t, l, "k", t0.Add(time.Duration(i)*time.Second)); n != i {
				t.Fatalf("AddFailure #%d = %d", i, n)
			}
		}
		n, last := failures(t, l, "k", t0.Add(4*time.Second))
		if n != 3 || !last.Equal(t0.Add(3*time.Second)) {
			t.Errorf("Failures = %d, %v; want 3, %v", n, last, t0.Add(3*time.Second))
		}
	})
	t.Run("keys_are_separate", func(t *testing.T) {
		l := newLimiter(t)
		add(t, l, "a", t0)
		add(t, l, "a", t0)
		if n := add(t, l, "b", t0); n != 1 {
			t.Errorf("AddFailure(b) = %d after two of a; want 1", n)
		}
		if n, _ := failures(t, l, "a", t0); n != 2 {
			t.Errorf("Failures(a) = %d, want 2", n)
		}
	})
	t.Run("old_failures_are_forgotten", func(t *testing.T) {
		l := newLimiter(t)
		add(t, l, "k", t0)
		add(t, l, "k", t0)
		later := t0.Add(window + time.Second)
		if n, _ := failures(t, l, "k", later); n != 0 {
			t.Errorf("Failures after the window = %d, want 0", n)
		}
		if n := add(t, l, "k", later); n != 1 {
			t.Errorf("AddFailure after the window = %d, want 1 (a new run)", n)
		}
	})
	t.Run("reset_forgets_one_key", func(t *testing.T) {
		l := newLimiter(t)
		add(t, l, "a", t0)
		add(t, l, "b", t0)
		if err := l.Reset(ctx, "a"); err != nil {
			t.Fatal(err)
		}
		if err := l.Reset(ctx, "never-seen"); err != nil {
			t.Errorf("Reset of an unknown key: %v", err)
		}
		if n, _ := failures(t, l, "a", t0); n != 0 {
			t.Errorf("Failures(a) after Reset = %d", n)
		}
		if n, _ := failures(t, l, "b", t0); n != 1 {
			t.Errorf("Failures(b) = %d, want 1: Reset touched another key", n)
		}
	})
	t.Run("purge_forgets_old_keys", func(t *testing.T) {
		l := newLimiter(t)
		add(t, l, "old", t0)
		add(t, l, "new", t0.Add(time.Minute))
		if err := l.Purge(ctx, t0.Add(time.Second)); err != nil {
			t.Fatal(err)
		}
		// Failures with a since before both: only a purged key reads 0.
		if n, _, _ := l.Failures(ctx, "old", t0.Add(-window)); n != 0 {
			t.Errorf("purged key has %d failures", n)
		}
		if n, _, _ := l.Failures(ctx, "new", t0.Add(-window)); n != 1 {
			t.Errorf("kept key has %d failures, want 1", n)
		}
	})
	t.Run("concurrent_failures_all_count", func(t *testing.T) {
		l := newLimiter(t)
		const workers, each = 8, 25
		var wg sync.WaitGroup
		seen := make(chan int, workers*each)
		for w := 0; w < workers; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; i < each; i++ {
					n, err := l.AddFailure(ctx, "k", t0, t0.Add(-window))
					if err != nil {
						t.Error(err)
						return
					}
					seen <- n
				}
			}()
		}
		wg.Wait()
		close(seen)
		got := map[int]bool{}
		for n := range seen {
			if got[n] {
				t.Fatalf("two AddFailure calls returned %d: not atomic", n)
			}
			got[n] = true
		}
		if n, _ := failures(t, l, "k", t0); n != workers*each {
			t.Errorf("Failures = %d, want %d", n, workers*each)
		}
	})
	t.Run("failures_of_matches_failures", func(t *testing.T) {
		l := newLimiter(t)
		b, ok := l.(runtime.BatchLimiter)
		if !ok {
			t.Skip("not a runtime.BatchLimiter")
		}
		long := "client:" + strings.Repeat("x", 200) // stored as its hash in SQL stores
		add(t, l, "a", t0)
		add(t, l, "a", t0.Add(time.Second))
		add(t, l, long, t0.Add(2*time.Second))
		add(t, l, "old", t0.Add(-2*window))
		keys := []string{"missing", long, "a", "old"}
		now := t0.Add(3 * time.Second)
		n, last, err := b.FailuresOf(ctx, keys, now.Add(-window))
		if err != nil {
			t.Fatalf("FailuresOf: %v", err)
		}
		if len(n) != len(keys) || len(last) != len(keys) {
			t.Fatalf("FailuresOf returned %d counts and %d times for %d keys", len(n), len(last), len(keys))
		}
		want := []int{0, 1, 2, 0}
		for i, k := range keys {
			wn, wlast := failures(t, l, k, now)
			if n[i] != want[i] || n[i] != wn || !last[i].Equal(wlast) {
				t.Errorf("FailuresOf[%d] (%q) = %d, %v; Failures = %d, %v; want %d", i, k, n[i], last[i], wn, wlast, want[i])
			}
		}
		if !last[2].Equal(t0.Add(time.Second)) {
			t.Errorf("FailuresOf last of a = %v, want %v", last[2], t0.Add(time.Second))
		}
		if n, last, err := b.FailuresOf(ctx, nil, now.Add(-window)); err != nil || len(n) != 0 || len(last) != 0 {
			t.Errorf("FailuresOf(no keys) = %v, %v, %v; want nothing", n, last, err)
		}
	})
	t.Run("long_keys", func(t *testing.T) {
		l := newLimiter(t)
		// The engine's keys: a kind and 32 hex digits, or an address.
		for _, k := range []string{"user:" + fmt.Sprintf("%032x", 1), "login-addr:2001:db8::/64", "usercode-addr:192.0.2.1"} {
			if n := add(t, l, k, t0); n != 1 {
				t.Errorf("AddFailure(%q) = %d", k, n)
			}
		}
	})
}
