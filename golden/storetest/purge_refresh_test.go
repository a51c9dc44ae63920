package storetest_test

import (
	"context"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	mysqlstore "github.com/oauthgen/oauthgen/golden/every_grant_mysql"
	pgstore "github.com/oauthgen/oauthgen/golden/every_grant_postgres"
	sqlitestore "github.com/oauthgen/oauthgen/golden/every_grant_sqlite"
	"github.com/oauthgen/oauthgen/runtime"
)

// purgingStore is an every_grant Store, with its PurgeExpired.
type purgingStore interface {
	runtime.Store
	runtime.UserStore
	runtime.FamilyStore
	runtime.RefreshTokenStore
	runtime.AuthorizationCodeStore
	runtime.DeviceCodeStore
	PurgeExpired(ctx context.Context, before time.Time) (int64, error)
}

// purgeFirst runs PurgeExpired(before) at the start of Issue once armed:
// a purge job that ran between a token request's reads and its commit.
type purgeFirst struct {
	purgingStore
	before time.Time
	armed  atomic.Bool
}

func (p *purgeFirst) Issue(ctx context.Context, is *runtime.Issuance) error {
	if p.armed.Load() {
		if _, err := p.PurgeExpired(ctx, p.before); err != nil {
			return err
		}
	}
	return p.purgingStore.Issue(ctx, is)
}

// TestServerRefreshWithoutRotationRacesPurge: without rotation a refresh
// consumes nothing; it adds an access token to the family of the token
// presented. If that token expired just after it was read and a purge
// then took it and its emptied family, the refresh is an invalid_grant,
// as it would have been a moment later, not a 500 from a foreign key.
func TestServerRefreshWithoutRotationRacesPurge(t *testing.T) {
	opens := []struct {
		name string
		open func(t *testing.T) purgingStore
	}{
		{"sqlite", func(t *testing.T) purgingStore {
			s := openSQLite(t, sqlitestore.Open, "")
			must(t, s.ImportClient(context.Background(), &sqlitestore.Client{Client: serverClient()}))
			must(t, s.ImportUser(context.Background(), &sqlitestore.User{User: serverUser(), CreatedAt: time.Now()}))
			return s
		}},
		{"postgres", func(t *testing.T) purgingStore {
			s, _ := openPostgres(t, pgstore.New, (*pgstore.Store).Migrate, "")
			must(t, s.ImportClient(context.Background(), &pgstore.Client{Client: serverClient()}))
			must(t, s.ImportUser(context.Background(), &pgstore.User{User: serverUser(), CreatedAt: time.Now()}))
			return s
		}},
		{"mysql", func(t *testing.T) purgingStore {
			s, _ := openMySQL(t, mysqlstore.Open, (*mysqlstore.Store).Migrate, (*mysqlstore.Store).Close)
			must(t, s.ImportClient(context.Background(), &mysqlstore.Client{Client: serverClient()}))
			must(t, s.ImportUser(context.Background(), &mysqlstore.User{User: serverUser(), CreatedAt: time.Now()}))
			return s
		}},
	}
	for _, o := range opens {
		t.Run(o.name, func(t *testing.T) {
			ps := &purgeFirst{purgingStore: o.open(t), before: time.Now().Add(365 * 24 * time.Hour)}
			c := serverCase{srv: newServer(t, sqlitestore.Config(), func(cfg *runtime.Config) {
				cfg.RefreshToken.DisableRotation = true
			}, ps)}
			first := c.password(t)
			ps.armed.Store(true)
			res := c.token(t, refreshForm(first.refresh))
			if res.status != http.StatusBadRequest || !strings.Contains(res.body, "invalid_grant") {
				t.Fatalf("refresh whose token and family were purged meanwhile: %d %s, want 400 invalid_grant", res.status, res.body)
			}
		})
	}
}
