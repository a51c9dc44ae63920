package runtime_test

import (
	"testing"

	"github.com/oauthgen/oauthgen/runtime"
	"github.com/oauthgen/oauthgen/runtime/runtimetest"
)

func TestMemoryLimiter(t *testing.T) {
	runtimetest.TestLimiter(t, func(*testing.T) runtime.Limiter { return runtime.NewMemoryLimiter() })
}
