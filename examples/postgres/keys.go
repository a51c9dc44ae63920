package main

import (
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/oauthgen/oauthgen/runtime"
)

// signsTokens reports whether the server signs anything (ID tokens, JWT
// access tokens), and so needs a key-encryption key.
func signsTokens(cfg runtime.Config) bool {
	return cfg.OpenID != nil || cfg.AccessTokenFormat == runtime.AccessTokenJWT
}

// keyEncryptionKey returns the 32-byte key that seals the signing keys'
// private halves in the database (AES-256-GCM), from file when given
// (--key-encryption-key-file: the base64 of 32 random bytes, as
// `openssl rand -base64 32` prints). nil means: the runtime reads
// OAUTHGEN_KEY_ENCRYPTION_KEY. The key never goes to the database, to
// oauthgen.yaml or to the log; every instance needs the same one.
//
// With neither it refuses to start: on a shared database, a key drawn
// here would differ on every instance and seal keys no other could use.
func keyEncryptionKey(file string) ([]byte, error) {
	if file != "" {
		return readKeyFile(file)
	}
	if os.Getenv(runtime.KeyEncryptionKeyEnv) != "" {
		return nil, nil
	}
	return nil, errors.New("tokens are signed (openid_connect or access_tokens.format jwt in oauthgen.yaml) and no key-encryption key was given: " +
		"set " + runtime.KeyEncryptionKeyEnv + " to the base64 of 32 random bytes (openssl rand -base64 32), or --key-encryption-key-file FILE; " +
		"every instance needs the same one")
}

// readKeyFile reads a key-encryption key file: the base64 of 32 bytes.
// Its errors never quote the file's content.
func readKeyFile(file string) ([]byte, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("key-encryption key: %w", err)
	}
	key, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(b)))
	if err != nil || len(key) != 32 {
		return nil, fmt.Errorf("key-encryption key file %s: want the base64 of 32 bytes (openssl rand -base64 32)", file)
	}
	return key, nil
}
