package runtime

import (
	"cmp"
	"context"
	"crypto"
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// KeyEncryptionKeyEnv is the environment variable NewServer reads the
// key-encryption key from (base64, 32 bytes) when
// SigningKeysConfig.KeyEncryptionKey is nil.
const KeyEncryptionKeyEnv = "OAUTHGEN_KEY_ENCRYPTION_KEY"

// Defaults of SigningKeysConfig's zero values.
const (
	// RS256 is the one algorithm every OpenID relying party (Core §15.1,
	// Discovery §3) and every RFC 9068 resource server (§2.1) supports.
	DefaultSigningAlgorithm = "RS256"
	DefaultRotateEvery      = 720 * time.Hour
	DefaultRetireAfter      = 168 * time.Hour
	DefaultKeyRefresh       = time.Minute
	DefaultJWKSMaxAge       = 5 * time.Minute
	DefaultPropagationDelay = time.Hour
	DefaultIDTokenLifetime  = time.Hour
)

// SigningKeyPurgeCutoff is when, for a store's PurgeExpired at now, a
// signing key may be deleted: once a key of a later generation became
// active before the cutoff. The JWKS publishes a key until RetireAfter
// after its successor became active (keyring.refresh), so such a key has
// left every JWKS and every token it signed has expired; the newest key
// that became active before the cutoff, and all later ones, are kept.
func SigningKeyPurgeCutoff(now time.Time, cfg SigningKeysConfig) time.Time {
	retire := cfg.RetireAfter
	if retire <= 0 {
		retire = DefaultRetireAfter
	}
	return now.Add(-retire)
}

// signingAlgorithms are the supported JWS algorithms.
var signingAlgorithms = []string{"ES256", "RS256", "EdDSA"}

// kekFromEnv decodes the key-encryption key of the environment.
func kekFromEnv() ([]byte, error) {
	v := os.Getenv(KeyEncryptionKeyEnv)
	if v == "" {
		return nil, fmt.Errorf("no key-encryption key: set SigningKeys.KeyEncryptionKey or %s (base64 of 32 random bytes)", KeyEncryptionKeyEnv)
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(v); err == nil {
			return b, nil
		}
	}
	return nil, fmt.Errorf("%s is not base64", KeyEncryptionKeyEnv)
}

// sealAAD binds a sealed private key to its record: a sealed key copied
// into another row (another kid or generation) does not open.
func sealAAD(kid string, generation int64) []byte {
	return []byte("oauthgen signing key v1\x00" + kid + "\x00" + strconv.FormatInt(generation, 10))
}

// sealPrivateKey encrypts a PKCS #8 private key with AES-256-GCM under
// kek: a random 12-byte nonce, then the ciphertext and tag.
func sealPrivateKey(kek []byte, kid string, generation int64, pkcs8 []byte) ([]byte, error) {
	aead, err := newAEAD(kek)
	if err != nil {
		return nil, err
	}
	nonce := make([]byte, aead.NonceSize(), aead.NonceSize()+len(pkcs8)+aead.Overhead())
	rand.Read(nonce)
	return aead.Seal(nonce, nonce, pkcs8, sealAAD(kid, generation)), nil
}

// openPrivateKey reverses sealPrivateKey.
func openPrivateKey(kek []byte, kid string, generation int64, sealed []byte) ([]byte, error) {
	aead, err := newAEAD(kek)
	if err != nil {
		return nil, err
	}
	if len(sealed) < aead.NonceSize()+aead.Overhead() {
		return nil, errors.New("sealed private key too short")
	}
	n := aead.NonceSize()
	out, err := aead.Open(nil, sealed[:n], sealed[n:], sealAAD(kid, generation))
	if err != nil {
		return nil, errors.New("sealed private key does not open: wrong key-encryption key, or the record was altered")
	}
	return out, nil
}

func newAEAD(kek []byte) (cipher.AEAD, error) {
	if len(kek) != 32 {
		return nil, fmt.Errorf("key-encryption key is %d bytes, want 32 (AES-256)", len(kek))
	}
	block, err := aes.NewCipher(kek)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// newSigningKey generates a key of the algorithm and returns its record,
// the private key sealed under kek.
func newSigningKey(alg string, kek []byte, generation int64, created, activeFrom time.Time) (*SigningKey, error) {
	var priv crypto.Signer
	var err error
	switch alg {
	case "ES256":
		priv, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case "RS256":
		priv, err = rsa.GenerateKey(rand.Reader, 2048)
	case "EdDSA":
		_, priv, err = ed25519.GenerateKey(rand.Reader)
	default:
		return nil, fmt.Errorf("unsupported signing algorithm %q", alg)
	}
	if err != nil {
		return nil, err
	}
	kid := NewID()
	pub, err := json.Marshal(jose.JSONWebKey{Key: priv.Public(), KeyID: kid, Algorithm: alg, Use: "sig"})
	if err != nil {
		return nil, err
	}
	pkcs8, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return nil, err
	}
	sealed, err := sealPrivateKey(kek, kid, generation, pkcs8)
	clear(pkcs8)
	if err != nil {
		return nil, err
	}
	return &SigningKey{
		ID:               kid,
		Generation:       generation,
		Algorithm:        alg,
		PublicJWK:        pub,
		SealedPrivateKey: sealed,
		CreatedAt:        created,
		ActiveFrom:       activeFrom,
	}, nil
}

// loadedKey is a stored key, opened.
type loadedKey struct {
	rec    *SigningKey
	public jose.JSONWebKey
	// private is nil for a key whose private half did not open (a record
	// sealed under another key-encryption key): it is published but never
	// signs.
	private any
	// retireAt is when the key leaves the JWKS: RetireAfter after its
	// successor became active; zero while it has none.
	retireAt time.Time

	// signers are built once per token type: go-jose prepares the key
	// for each new signer.
	signersMu sync.Mutex
	signers   map[string]jose.Signer
}

// keyring caches the store's signing keys, rereads them every
// RefreshEvery, and creates the next key when rotation is due. Several
// instances may share the store: the database decides which one creates
// a generation (ErrDuplicate for the others, which read it back).
type keyring struct {
	store  SigningKeyStore
	cfg    SigningKeysConfig
	now    func() time.Time
	logger func(ctx context.Context, msg string, args ...any)

	mu       sync.Mutex
	keys     []*loadedKey // by generation
	loadedAt time.Time    // zero: never loaded
	// opened caches signers by kid: a key is opened once per process.
	opened map[string]*loadedKey
}

// signer returns the key that signs at now (the newest active one),
// creating the first or the next key when due.
func (k *keyring) signer(ctx context.Context) (*loadedKey, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	now := k.now()
	if err := k.refresh(ctx, now, false); err != nil {
		return nil, err
	}
	if err := k.rotate(ctx, now); err != nil {
		return nil, err
	}
	for _, lk := range slices.Backward(k.keys) {
		if !lk.rec.ActiveFrom.After(now) && lk.private != nil {
			return lk, nil
		}
	}
	return nil, errors.New("no signing key is active")
}

// published returns the keys the JWKS holds at now: pending ones (so
// verifiers have them before they sign), the active one, and retired ones
// until their tokens have expired.
func (k *keyring) published(ctx context.Context) ([]jose.JSONWebKey, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	now := k.now()
	if err := k.refresh(ctx, now, false); err != nil {
		return nil, err
	}
	if err := k.rotate(ctx, now); err != nil {
		return nil, err
	}
	var out []jose.JSONWebKey
	for _, lk := range k.keys {
		if lk.retireAt.IsZero() || now.Before(lk.retireAt) {
			out = append(out, lk.public)
		}
	}
	return out, nil
}

// refresh rereads the keys when the cache is older than RefreshEvery, or
// when force is set. The caller holds k.mu.
func (k *keyring) refresh(ctx context.Context, now time.Time, force bool) error {
	if !force && !k.loadedAt.IsZero() && now.Sub(k.loadedAt) < k.cfg.RefreshEvery {
		return nil
	}
	recs, err := k.store.SigningKeys(ctx)
	if err != nil {
		return fmt.Errorf("read signing keys: %w", err)
	}
	slices.SortFunc(recs, func(a, b *SigningKey) int { return cmp.Compare(a.Generation, b.Generation) })
	if k.opened == nil {
		k.opened = map[string]*loadedKey{}
	}
	keys := make([]*loadedKey, 0, len(recs))
	for _, rec := range recs {
		lk := k.opened[rec.ID]
		if lk == nil {
			lk, err = k.open(ctx, rec)
			if err != nil {
				// A record that cannot be read is left out: it cannot be
				// published either.
				k.logger(ctx, "oauthgen: unusable signing key", "kid", rec.ID, "generation", rec.Generation, "error", err)
				continue
			}
			if lk.private != nil {
				k.opened[rec.ID] = lk
			}
		}
		keys = append(keys, lk)
	}
	for i, lk := range keys {
		lk.retireAt = time.Time{}
		if i+1 < len(keys) {
			lk.retireAt = keys[i+1].rec.ActiveFrom.Add(k.cfg.RetireAfter)
		}
	}
	k.keys, k.loadedAt = keys, now
	return nil
}

// open parses a record's public key and opens its private key.
func (k *keyring) open(ctx context.Context, rec *SigningKey) (*loadedKey, error) {
	lk := &loadedKey{rec: rec}
	if err := lk.public.UnmarshalJSON(rec.PublicJWK); err != nil {
		return nil, fmt.Errorf("public JWK: %w", err)
	}
	if !lk.public.IsPublic() || lk.public.KeyID != rec.ID {
		return nil, errors.New("public JWK is not a public key with the record's kid")
	}
	pkcs8, err := openPrivateKey(k.cfg.KeyEncryptionKey, rec.ID, rec.Generation, rec.SealedPrivateKey)
	if err != nil {
		k.logger(ctx, "oauthgen: signing key published but not used to sign", "kid", rec.ID, "error", err)
		return lk, nil
	}
	priv, err := x509.ParsePKCS8PrivateKey(pkcs8)
	clear(pkcs8)
	if err != nil {
		return nil, fmt.Errorf("private key: %w", err)
	}
	if !slices.Contains(signingAlgorithms, rec.Algorithm) {
		return nil, fmt.Errorf("unsupported algorithm %q", rec.Algorithm)
	}
	lk.private = priv
	return lk, nil
}

// sign returns the compact JWS of payload with the JOSE header typ.
func (lk *loadedKey) sign(typ string, payload []byte) (string, error) {
	signer, err := lk.signer(typ)
	if err != nil {
		return "", err
	}
	jws, err := signer.Sign(payload)
	if err != nil {
		return "", err
	}
	return jws.CompactSerialize()
}

// signer returns the key's signer of tokens with the JOSE header typ.
// A jose.Signer is safe for concurrent use.
func (lk *loadedKey) signer(typ string) (jose.Signer, error) {
	lk.signersMu.Lock()
	defer lk.signersMu.Unlock()
	if s := lk.signers[typ]; s != nil {
		return s, nil
	}
	s, err := jose.NewSigner(jose.SigningKey{
		Algorithm: jose.SignatureAlgorithm(lk.rec.Algorithm),
		Key:       jose.JSONWebKey{Key: lk.private, KeyID: lk.rec.ID, Algorithm: lk.rec.Algorithm},
	}, (&jose.SignerOptions{}).WithType(jose.ContentType(typ)))
	if err != nil {
		return nil, err
	}
	if lk.signers == nil {
		lk.signers = map[string]jose.Signer{}
	}
	lk.signers[typ] = s
	return s, nil
}

// rotate creates the first key (active at once: nothing was published
// before it), or the next one once the newest is within PropagationDelay
// of the end of its RotateEvery; the new key becomes active at that end,
// or PropagationDelay from now if no instance ran at the time. The caller
// holds k.mu.
func (k *keyring) rotate(ctx context.Context, now time.Time) error {
	var next *SigningKey
	var err error
	if len(k.keys) == 0 {
		next, err = newSigningKey(k.cfg.Algorithm, k.cfg.KeyEncryptionKey, 1, now, now)
	} else {
		newest := k.keys[len(k.keys)-1].rec
		due := newest.ActiveFrom.Add(k.cfg.RotateEvery)
		if now.Before(due.Add(-k.cfg.PropagationDelay)) {
			return nil
		}
		activeFrom := due
		if earliest := now.Add(k.cfg.PropagationDelay); activeFrom.Before(earliest) {
			activeFrom = earliest
		}
		next, err = newSigningKey(k.cfg.Algorithm, k.cfg.KeyEncryptionKey, newest.Generation+1, now, activeFrom)
	}
	if err != nil {
		return fmt.Errorf("create signing key: %w", err)
	}
	switch err := k.store.AddSigningKey(ctx, next); {
	case err == nil, errors.Is(err, ErrDuplicate):
		// Ours, or another instance's of the same generation: read back
		// whichever the store kept.
	default:
		return fmt.Errorf("store signing key: %w", err)
	}
	return k.refresh(ctx, now, true)
}
