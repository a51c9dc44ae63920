package main

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
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
// With neither, on SQLite, it uses (and first creates, 0600) a key file
// beside the database: the keys and the key that seals them then sit side
// by side, which is fine for a demo and nothing else.
func keyEncryptionKey(file, db string, logger *slog.Logger) ([]byte, error) {
	if file != "" {
		return readKeyFile(file)
	}
	if os.Getenv(runtime.KeyEncryptionKeyEnv) != "" {
		return nil, nil
	}
	file = db + ".kek"
	key, err := readKeyFile(file)
	if errors.Is(err, fs.ErrNotExist) {
		key = make([]byte, 32)
		rand.Read(key)
		err = writeKeyFile(file, key)
		if err == nil {
			logger.Warn("DEMO ONLY: created a key-encryption key in a file beside the database; in production give --key-encryption-key-file or "+
				runtime.KeyEncryptionKeyEnv+" from a secret store, never beside the database", "file", file)
		}
	} else if err == nil {
		logger.Warn("DEMO ONLY: the key-encryption key is read from a file beside the database; in production give --key-encryption-key-file or "+
			runtime.KeyEncryptionKeyEnv, "file", file)
	}
	return key, err
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

// writeKeyFile creates file, readable by its owner only, holding key in
// base64; it never replaces a file.
func writeKeyFile(file string, key []byte) error {
	f, err := os.OpenFile(file, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("key-encryption key: %w", err)
	}
	_, err = f.WriteString(base64.StdEncoding.EncodeToString(key) + "\n")
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
