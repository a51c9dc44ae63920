package runtime_test

import (
	"testing"

	"github.com/oauthgen/oauthgen/runtime"
	"github.com/oauthgen/oauthgen/runtime/runtimetest"
)

func TestMemoryLimiter(t *testing.T) {
	runtimetest.TestLimiter(t, func(*testing.T) runtime.Limiter { return runtime.NewMemoryLimiter() })
}

func TestHashKindMemory(t *testing.T) {
	// The budget weighs an argon2id verification at its memory cost.
	h := runtime.HashPassword("pw")
	if got := runtime.HashMemoryForTest(h); got != 19<<20 {
		t.Errorf("memory of %s = %d, want 19 MiB", h, got)
	}
}
