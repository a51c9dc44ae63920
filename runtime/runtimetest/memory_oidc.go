package runtimetest

import (
	"context"
	"fmt"
	"maps"
	"slices"

	"github.com/oauthgen/oauthgen/runtime"
)

// SigningKeys implements runtime.SigningKeyStore.
func (s *MemoryStore) SigningKeys(ctx context.Context) ([]*runtime.SigningKey, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]*runtime.SigningKey, len(s.signingKeys))
	for i, k := range s.signingKeys {
		out[i] = copySigningKey(k)
	}
	return out, nil
}

// AddSigningKey implements runtime.SigningKeyStore: ErrDuplicate when the
// ID or the Generation exists, as a unique index would.
func (s *MemoryStore) AddSigningKey(ctx context.Context, k *runtime.SigningKey) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, have := range s.signingKeys {
		if have.ID == k.ID || have.Generation == k.Generation {
			return runtime.ErrDuplicate
		}
	}
	s.signingKeys = append(s.signingKeys, copySigningKey(k))
	return nil
}

func copySigningKey(k *runtime.SigningKey) *runtime.SigningKey {
	c := *k
	c.PublicJWK = slices.Clone(k.PublicJWK)
	c.SealedPrivateKey = slices.Clone(k.SealedPrivateKey)
	return &c
}

// SetUserClaims sets the OpenID Connect claims of a registered user
// (standard claim names, JSON-compatible values), replacing any earlier.
func (s *MemoryStore) SetUserClaims(userID string, claims map[string]any) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.users[userID]; !ok {
		return fmt.Errorf("runtimetest: SetUserClaims: unknown user %q", userID)
	}
	if s.claims == nil {
		s.claims = make(map[string]map[string]any)
	}
	s.claims[userID] = maps.Clone(claims)
	return nil
}

// UserClaims implements runtime.UserClaimsStore. A user without claims
// set has none; an unknown user is ErrNotFound.
func (s *MemoryStore) UserClaims(ctx context.Context, userID string) (map[string]any, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.users[userID]; !ok {
		return nil, runtime.ErrNotFound
	}
	return maps.Clone(s.claims[userID]), nil
}
