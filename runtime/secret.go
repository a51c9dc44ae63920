package runtime

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"
)

// NewToken returns 256 random bits, base64url-encoded without padding (43
// characters): the form of every access token, refresh token,
// authorization code, device code and issued client secret.
func NewToken() string {
	var b [32]byte
	rand.Read(b[:]) // never fails (crypto/rand, Go 1.24+)
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// NewID returns 128 random bits as 32 lowercase hex characters: an
// identifier that is unique but not secret (families, generated user ids).
func NewID() string {
	var b [16]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// HashToken returns the lowercase hex SHA-256 of a token, code or issued
// secret: the only form of it a store ever sees.
func HashToken(token string) string {
	// Through arrays on the stack: one allocation, the result's, for a
	// token of up to 64 bytes (ours have 43), where []byte(token) and
	// hex.EncodeToString would make three.
	var in [64]byte
	sum := sha256.Sum256(append(in[:0], token...))
	var out [2 * sha256.Size]byte
	hex.Encode(out[:], sum[:])
	return string(out[:])
}

// NewClientSecret returns a new client secret, to show once, and the hash
// to store as Client.SecretHash.
func NewClientSecret() (secret, hash string) {
	secret = NewToken()
	return secret, HashToken(secret)
}

// VerifyClientSecret reports whether secret matches hash: a hex SHA-256
// (issued secrets), or a bcrypt or argon2id PHC string (imported ones). An
// empty hash or secret never matches.
func VerifyClientSecret(hash, secret string) bool {
	if hash == "" || secret == "" {
		return false
	}
	if strings.HasPrefix(hash, "$") {
		return VerifyPassword(hash, secret)
	}
	return subtle.ConstantTimeCompare([]byte(HashToken(secret)), []byte(strings.ToLower(hash))) == 1
}

// argon2id parameters for new password hashes: OWASP's recommended
// minimum (19 MiB, 2 passes, 1 lane).
const (
	argonMemoryKiB = 19 * 1024
	argonTime      = 2
	argonThreads   = 1
	argonKeyLen    = 32
	argonSaltLen   = 16
)

// HashPassword returns an argon2id PHC string for password. Callers
// storing a user's password check it first with CheckCredentials: an
// empty password hashes like any other.
func HashPassword(password string) string {
	return hashArgon2id(password, argonMemoryKiB, argonTime, argonThreads, argonKeyLen)
}

func hashArgon2id(password string, m, t uint32, p uint8, keyLen uint32) string {
	salt := make([]byte, argonSaltLen)
	rand.Read(salt)
	key := argon2.IDKey([]byte(password), salt, t, m, p, keyLen)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, m, t, p,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key))
}

// ErrEmptyCredentials is CheckCredentials' error for an empty username or
// password.
var ErrEmptyCredentials = errors.New("oauthgen: username and password must not be empty")

// CheckCredentials refuses a username or password no sign-in could use:
// empty (ErrEmptyCredentials), not valid UTF-8, or holding control
// characters. Stores call it before creating a user or setting a
// password; AuthenticateUser refuses the same.
func CheckCredentials(username, password string) error {
	if username == "" || password == "" {
		return ErrEmptyCredentials
	}
	if !isUnicodeNoCRLF(username) || !isUnicodeNoCRLF(password) {
		return errors.New("oauthgen: username and password must be UTF-8 without control characters")
	}
	return nil
}

// VerifyPassword reports whether password matches a bcrypt ($2a$, $2b$,
// $2y$) or argon2id PHC hash. A malformed hash never matches.
func VerifyPassword(hash, password string) bool {
	switch {
	case strings.HasPrefix(hash, "$2a$"), strings.HasPrefix(hash, "$2b$"), strings.HasPrefix(hash, "$2y$"):
		if cost, err := bcrypt.Cost([]byte(hash)); err != nil || cost > maxBcryptCost {
			return false
		}
		return bcrypt.CompareHashAndPassword([]byte(hash), []byte(password)) == nil
	case strings.HasPrefix(hash, "$argon2id$"):
		return verifyArgon2id(hash, password)
	}
	return false
}

// Bounds on argon2id parameters read from stored hashes, so a corrupt or
// hostile row cannot make one verification allocate gigabytes.
const (
	maxArgonMemoryKiB = 1 << 20 // 1 GiB
	maxArgonTime      = 64
	maxArgonKeyLen    = 128
	maxBcryptCost     = 16 // about 5 s on current hardware
)

func verifyArgon2id(hash, password string) bool {
	// $argon2id$v=19$m=19456,t=2,p=1$<salt>$<key>
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[2] != "v="+strconv.Itoa(argon2.Version) {
		return false
	}
	var m, t uint32
	var p uint8
	params := strings.Split(parts[3], ",")
	if len(params) != 3 {
		return false
	}
	for i, dst := range []any{&m, &t, &p} {
		name, value, ok := strings.Cut(params[i], "=")
		if !ok || name != "mtp"[i:i+1] {
			return false
		}
		n, err := strconv.ParseUint(value, 10, 32)
		if err != nil || n == 0 {
			return false
		}
		switch d := dst.(type) {
		case *uint32:
			*d = uint32(n)
		case *uint8:
			if n > 255 {
				return false
			}
			*d = uint8(n)
		}
	}
	salt, err1 := base64.RawStdEncoding.DecodeString(parts[4])
	key, err2 := base64.RawStdEncoding.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(key) == 0 || len(key) > maxArgonKeyLen ||
		m > maxArgonMemoryKiB || t > maxArgonTime {
		return false
	}
	got := argon2.IDKey([]byte(password), salt, t, m, p, uint32(len(key)))
	return subtle.ConstantTimeCompare(got, key) == 1
}
