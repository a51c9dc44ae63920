package generator

import (
	"strings"
	"testing"
)

func TestGoName(t *testing.T) {
	for column, want := range map[string]string{
		"id": "ID", "client_id": "ClientID", "redirect_uris": "RedirectURIs", "redirect_uri": "RedirectURI",
		"access_token_lifetime_seconds": "AccessTokenLifetimeSeconds", "ip_address": "IpAddress", "2fa": "_2fa",
	} {
		if got := goName(column); got != want {
			t.Errorf("goName(%q) = %q, want %q", column, got, want)
		}
	}
}

// TestConstraintNames: names PostgreSQL would truncate (63 bytes) are cut
// and made unique with a hash, so two long names never collide.
func TestConstraintNames(t *testing.T) {
	short := indexName("oauth_access_tokens", []string{"family_id"}, false)
	if short != "oauth_access_tokens_family_id_idx" {
		t.Errorf("short name %q", short)
	}
	table := "a_very_long_table_prefix_for_an_application_authorization_codes"
	a := indexName(table, []string{"client_id", "expires_at"}, false)
	b := indexName(table, []string{"client_id", "issued_at"}, false)
	for _, n := range []string{a, b} {
		if len(n) > maxIdentifier || !strings.HasSuffix(n, "_idx") {
			t.Errorf("%q: %d bytes, want ≤ %d ending in _idx", n, len(n), maxIdentifier)
		}
	}
	if a == b {
		t.Errorf("two long index names collide: %q", a)
	}
	if got := constraintName(table+"_user_id", "_fkey"); len(got) > maxIdentifier || !strings.HasSuffix(got, "_fkey") {
		t.Errorf("foreign key name %q", got)
	}
}
