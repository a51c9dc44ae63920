package runtime_test

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/oauthgen/oauthgen/runtime"
)

// TestHashToken: the lowercase hex SHA-256 of the whole token, whatever
// its length.
func TestHashToken(t *testing.T) {
	known := map[string]string{
		"":    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
		"abc": "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
	}
	for token, want := range known {
		if got := runtime.HashToken(token); got != want {
			t.Errorf("HashToken(%q) = %s, want %s", token, got, want)
		}
	}
	for _, n := range []int{1, 43, 63, 64, 65, 128, 1000} {
		token := strings.Repeat("x", n-1) + "y"
		sum := sha256.Sum256([]byte(token))
		if got, want := runtime.HashToken(token), hex.EncodeToString(sum[:]); got != want {
			t.Errorf("HashToken of %d bytes = %s, want %s", n, got, want)
		}
	}
}
