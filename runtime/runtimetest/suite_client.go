package runtimetest

import (
	"errors"
	"testing"
	"time"

	"github.com/oauthgen/oauthgen/runtime"
)

func clientTests() []subtest {
	return []subtest{
		{"round_trip", testClientRoundTrip},
		{"unknown", testClientUnknown},
		{"lists_kept_whole", testClientListsKeptWhole},
	}
}

func testClientRoundTrip(t *testing.T, e *env) {
	cases := []struct {
		name   string
		client runtime.Client
	}{
		{"confidential", runtime.Client{
			ID:         "confidential",
			SecretHash: runtime.HashToken("s3cret"),
			// Consent pages show it: any Unicode, 4-byte UTF-8 included.
			Name: "Ünïcode App — 日本 🔐",
			RedirectURIs: []string{
				"https://app.example/cb",
				"https://app.example/cb?a=1,2&b=%20x", // a comma: lists are not comma-joined
				"com.example.app:/oauth2redirect",
				"http://127.0.0.1:8400/callback",
			},
			GrantTypes:           allGrantTypes,
			Scopes:               []string{"openid", "profile", "read,write", "urn:example:api"},
			AccessTokenLifetime:  90 * time.Minute,
			RefreshTokenLifetime: 30 * 24 * time.Hour,
			CreatedAt:            t0,
		}},
		{"public", runtime.Client{
			ID:           "public",
			RedirectURIs: []string{"http://localhost/cb"},
			GrantTypes:   []string{"authorization_code"},
			CreatedAt:    at(time.Second),
		}},
		{"nil_lists", runtime.Client{
			ID:         "nil-lists",
			SecretHash: runtime.HashToken("other"),
			Name:       "nil lists",
			CreatedAt:  at(2 * time.Second),
		}},
		{"empty_lists", runtime.Client{
			ID:           "empty-lists",
			SecretHash:   runtime.HashToken("another"),
			RedirectURIs: []string{},
			GrantTypes:   []string{},
			Scopes:       []string{},
			CreatedAt:    at(3 * time.Second),
		}},
		{"bcrypt_secret", runtime.Client{
			ID:         "bcrypt",
			SecretHash: bcryptHash,
			Name:       "imported",
			GrantTypes: []string{"client_credentials"},
			Scopes:     []string{"read"},
			CreatedAt:  past,
		}},
		{"argon2id_secret", runtime.Client{
			ID:                  "argon2id",
			SecretHash:          argon2Hash,
			GrantTypes:          []string{"client_credentials"},
			AccessTokenLifetime: 5 * time.Second,
			CreatedAt:           at(4 * time.Second),
		}},
	}
	// All in one store first, so each read also shows clients don't bleed
	// into one another.
	for _, tc := range cases {
		e.addClient(&tc.client)
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := e.h.Store.GetClient(e.ctx, tc.client.ID)
			must(t, "GetClient", err)
			diff(t, "GetClient", &tc.client, got)
			if got.Public() != (tc.client.SecretHash == "") {
				t.Errorf("Public() = %v, want %v", got.Public(), tc.client.SecretHash == "")
			}
		})
	}
}

func testClientUnknown(t *testing.T, e *env) {
	e.client()
	for _, id := range []string{"no-such-client", "", "client"} {
		_, err := e.h.Store.GetClient(e.ctx, id)
		wantErr(t, "GetClient("+quote(id)+")", err, runtime.ErrNotFound)
	}
}

// testClientListsKeptWhole: a list item holding a tab, a space or a comma
// is one item. A store that joined lists with a separator and split them
// when reading would turn the one URI below into two, the second an
// attacker's. The store may refuse such a client (generated stores
// validate with runtime.ValidateClient), but never store it split; the
// same list in a token's scopes, which stores do not validate, must come
// back exactly.
func testClientListsKeptWhole(t *testing.T, e *env) {
	tricky := []string{"https://good.example/cb\thttps://evil.example/steal", "https://good.example/a b", "https://good.example/cb?x=1,2"}
	c := &runtime.Client{ID: "whole", SecretHash: runtime.HashToken("s"), RedirectURIs: tricky,
		GrantTypes: []string{runtime.GrantAuthorizationCode}, Scopes: tricky, CreatedAt: t0}
	if err := e.h.AddClient(e.ctx, c); err == nil {
		got, err := e.h.Store.GetClient(e.ctx, c.ID)
		must(t, "GetClient", err)
		diff(t, "GetClient", c, got)
	} else if _, err := e.h.Store.GetClient(e.ctx, c.ID); !errors.Is(err, runtime.ErrNotFound) {
		t.Errorf("the refused client reads back: GetClient = %v, want runtime.ErrNotFound", err)
	}
	tok := runtime.AccessToken{Hash: e.hash(), ClientID: e.client(), Scopes: tricky, IssuedAt: t0, ExpiresAt: at(time.Hour)}
	must(t, "Issue", e.create(&runtime.Issuance{AccessToken: &tok}))
	got, err := e.h.Store.GetAccessToken(e.ctx, tok.Hash)
	must(t, "GetAccessToken", err)
	diff(t, "GetAccessToken", &tok, got)
}
