package storetest_test

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	em1 "github.com/oauthgen/oauthgen/golden/evolve_openid_mysql/steps/01"
	em2 "github.com/oauthgen/oauthgen/golden/evolve_openid_mysql/steps/02"
	ep1 "github.com/oauthgen/oauthgen/golden/evolve_openid_postgres/steps/01"
	ep2 "github.com/oauthgen/oauthgen/golden/evolve_openid_postgres/steps/02"
	es1 "github.com/oauthgen/oauthgen/golden/evolve_openid_sqlite/steps/01"
	es2 "github.com/oauthgen/oauthgen/golden/evolve_openid_sqlite/steps/02"
	"github.com/oauthgen/oauthgen/internal/testdb"
	"github.com/oauthgen/oauthgen/runtime"
)

// TestEvolveOpenID: a code and a refresh token issued before OpenID
// Connect was enabled survive the migration that enables it (no nonce, no
// auth_time: unknown, so the ID tokens of that refresh chain leave it
// out), and the migrated store keeps signing keys and user claims.
func TestEvolveOpenID(t *testing.T) {
	type stores struct {
		before interface {
			runtime.Store
			runtime.AuthorizationCodeStore
			Migrate(context.Context) error
		}
		after interface {
			runtime.AuthorizationCodeStore
			runtime.RefreshTokenStore
			runtime.SigningKeyStore
			runtime.UserClaimsStore
			Migrate(context.Context) error
		}
		addClient func(ctx context.Context, c *runtime.Client) error
	}
	run := func(t *testing.T, s stores) {
		ctx := context.Background()
		must(t, s.before.Migrate(ctx))
		now := time.Now().UTC().Truncate(time.Second)
		must(t, s.addClient(ctx, &runtime.Client{ID: "rp", Name: "RP", GrantTypes: []string{"authorization_code"}, RedirectURIs: []string{"https://rp.example/cb"}, CreatedAt: now}))
		fam := &runtime.Family{ID: runtime.NewID(), ClientID: "rp", UserID: "alice", CreatedAt: now}
		code := &runtime.AuthorizationCode{Hash: runtime.HashToken("code"), ClientID: "rp", UserID: "alice", Scopes: []string{"read"},
			FamilyID: fam.ID, IssuedAt: now, ExpiresAt: now.Add(5 * time.Minute)}
		refresh := &runtime.RefreshToken{Hash: runtime.HashToken("refresh"), ClientID: "rp", UserID: "alice", Scopes: []string{"read"},
			FamilyID: fam.ID, IssuedAt: now, ExpiresAt: now.Add(time.Hour)}
		must(t, s.before.Issue(ctx, &runtime.Issuance{Family: fam, AuthorizationCode: code, RefreshToken: refresh}))

		must(t, s.after.Migrate(ctx))
		got, err := s.after.GetAuthorizationCode(ctx, code.Hash)
		must(t, err)
		if got.FamilyID != fam.ID || got.Nonce != "" || !got.AuthTime.IsZero() {
			t.Fatalf("code after the migration: %+v", got)
		}
		rt, err := s.after.GetRefreshToken(ctx, refresh.Hash)
		must(t, err)
		if rt.FamilyID != fam.ID || !rt.ExpiresAt.Equal(refresh.ExpiresAt) || !rt.AuthTime.IsZero() {
			t.Fatalf("refresh token after the migration: %+v", rt)
		}
		k := &runtime.SigningKey{ID: "k1", Generation: 1, Algorithm: "ES256", PublicJWK: []byte(`{}`), SealedPrivateKey: []byte{0, 1}, CreatedAt: now, ActiveFrom: now}
		must(t, s.after.AddSigningKey(ctx, k))
		keys, err := s.after.SigningKeys(ctx)
		must(t, err)
		if len(keys) != 1 || keys[0].ID != "k1" {
			t.Fatalf("SigningKeys after the migration: %v", keys)
		}
	}
	t.Run("sqlite", func(t *testing.T) {
		path := testdb.SQLite(t)
		b, err := es1.Open(path)
		must(t, err)
		defer b.Close()
		a, err := es2.Open(path)
		must(t, err)
		defer a.Close()
		run(t, stores{b, a, func(ctx context.Context, c *runtime.Client) error {
			return b.ImportClient(ctx, &es1.Client{Client: *c})
		}})
	})
	t.Run("postgres", func(t *testing.T) {
		pool, err := pgxpool.New(context.Background(), testdb.Postgres(t))
		must(t, err)
		defer pool.Close()
		b, a := ep1.New(pool), ep2.New(pool)
		defer b.Close()
		defer a.Close()
		run(t, stores{b, a, func(ctx context.Context, c *runtime.Client) error {
			return b.ImportClient(ctx, &ep1.Client{Client: *c})
		}})
	})
	t.Run("mysql", func(t *testing.T) {
		dsn := testdb.MySQL(t)
		b, err := em1.Open(dsn)
		must(t, err)
		defer b.Close()
		a, err := em2.Open(dsn)
		must(t, err)
		defer a.Close()
		run(t, stores{b, a, func(ctx context.Context, c *runtime.Client) error {
			return b.ImportClient(ctx, &em1.Client{Client: *c})
		}})
	})
}
