package storetest_test

import (
	"context"
	"encoding/json"
	"slices"
	"testing"
	"time"

	sqlitestore "github.com/oauthgen/oauthgen/golden/every_grant_sqlite"
	"github.com/oauthgen/oauthgen/internal/testdb"
)

// TestListColumnsReadAsJSON writes list columns as something other than the
// Store might (spaces, escapes, HTML characters, damaged values) and reads
// them back: the Store's reflection-free reader must give what
// json.Unmarshal gives, and a value that is not an array of strings must
// read as one empty item, as before.
func TestListColumnsReadAsJSON(t *testing.T) {
	ctx := context.Background()
	s, err := sqlitestore.Open(testdb.SQLite(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	for i, raw := range []string{
		`[]`, `["read"]`, `["read","write"]`, `[""]`, `["",""]`, `["a b","c,d"]`,
		`[ "read" ]`, `["read", "write"]`, `["a\"b"]`, `["\u0072ead"]`, `["<x>&"]`, `["é"]`,
		`["read",]`, `["read"`, `read`, ``, `[1]`, `null`, `["a""b"]`, `[,"a"]`, `["a",,"b"]`,
	} {
		id := "c" + string(rune('a'+i))
		if _, err := s.DB().ExecContext(ctx, `INSERT INTO oauth_clients (id, secret_hash, name, redirect_uris, grant_types, scopes, created_at) VALUES (?, '', '', '[]', '[]', ?, ?)`,
			id, raw, time.Now().UTC()); err != nil {
			t.Fatal(err)
		}
		c, err := s.GetClient(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		var want []string
		if err := json.Unmarshal([]byte(raw), &want); err != nil || want == nil {
			want = []string{""}
		}
		if !slices.Equal(c.Scopes, want) || (c.Scopes == nil) != (want == nil) {
			t.Errorf("scopes stored as %#q read as %q, want %q", raw, c.Scopes, want)
		}
	}
	// What the Store writes it reads back, plain or not, stored as the
	// bytes json.Marshal writes.
	for _, scopes := range [][]string{{"read"}, {"read", "write", "a,b"}, {"<x>&", "~!"}} {
		c, _, err := s.CreateClient(ctx, sqlitestore.NewClient{Scopes: scopes, GrantTypes: []string{"client_credentials"}})
		if err != nil {
			t.Fatal(err)
		}
		got, err := s.GetClient(ctx, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got.Scopes, scopes) {
			t.Errorf("scopes %q read back as %q", scopes, got.Scopes)
		}
		var raw string
		if err := s.DB().QueryRowContext(ctx, "SELECT scopes FROM oauth_clients WHERE id = ?", c.ID).Scan(&raw); err != nil {
			t.Fatal(err)
		}
		if b, _ := json.Marshal(scopes); raw != string(b) {
			t.Errorf("scopes %q stored as %#q, json.Marshal writes %#q", scopes, raw, b)
		}
	}
}
