package runtime

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
)

// PKCE code challenge methods (RFC 7636 §4.2).
const (
	PKCES256  = "S256"
	PKCEPlain = "plain"
)

// verifyPKCE reports whether verifier answers the challenge (RFC 7636
// §4.6), comparing in constant time.
func verifyPKCE(method, challenge, verifier string) bool {
	var want string
	switch method {
	case PKCES256:
		sum := sha256.Sum256([]byte(verifier))
		want = base64.RawURLEncoding.EncodeToString(sum[:])
	case PKCEPlain:
		want = verifier
	default:
		return false
	}
	return subtle.ConstantTimeCompare([]byte(want), []byte(challenge)) == 1
}

// S256Challenge returns the S256 code_challenge of a code_verifier (RFC
// 7636 §4.2), for clients and tests.
func S256Challenge(verifier string) string {
	sum := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}
