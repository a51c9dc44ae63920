package runtime_test

import (
	"testing"

	"github.com/oauthgen/oauthgen/runtime"
)

// TestIntrospectionAuthorization is RFC 7662 §2.1 and §4: the server
// decides who may see which token. A client sees its own access and
// refresh tokens; another client's look like unknown ones; a client
// declared a resource server sees every client's.
func TestIntrospectionAuthorization(t *testing.T) {
	f := newFixture(t)
	const rsSecret = "resource-server-secret"
	if err := f.store.AddClient(&runtime.Client{ID: "rs", SecretHash: runtime.HashToken(rsSecret),
		GrantTypes: []string{runtime.GrantClientCredentials}, ResourceServer: true}); err != nil {
		t.Fatal(err)
	}
	at, rt := f.passwordTokens("read") // issued to "conf"
	ccOther := f.mustToken("other", otherSecret, ccForm).str("access_token")

	for _, c := range []struct {
		name, caller, secret, token, hint string
		active                            bool
	}{
		{"own_access_token", "conf", confSecret, at, "", true},
		{"own_refresh_token", "conf", confSecret, rt, "refresh_token", true},
		{"other_clients_access_token", "other", otherSecret, at, "", false},
		{"other_clients_refresh_token", "other", otherSecret, rt, "refresh_token", false},
		{"other_clients_refresh_token_no_hint", "other", otherSecret, rt, "", false},
		{"client_credentials_only_client", "imported", bcryptSecret, at, "", false},
		{"not_its_own_reversed", "conf", confSecret, ccOther, "", false},
		{"resource_server_access_token", "rs", rsSecret, at, "", true},
		{"resource_server_refresh_token", "rs", rsSecret, rt, "refresh_token", true},
		{"resource_server_other_client", "rs", rsSecret, ccOther, "", true},
	} {
		t.Run(c.name, func(t *testing.T) {
			form := vals("token", c.token)
			if c.hint != "" {
				form.Set("token_type_hint", c.hint)
			}
			res := f.post("/introspect", c.caller, c.secret, form)
			if res.Status != 200 {
				t.Fatalf("%d %s", res.Status, res.Raw)
			}
			if !c.active {
				// Exactly the answer for an unknown token: nothing says the
				// token exists, nor whose it is.
				if res.Raw != "{\"active\":false}\n" {
					t.Errorf("got %s, want {\"active\":false}", res.Raw)
				}
				return
			}
			if res.Body["active"] != true || res.str("client_id") == "" {
				t.Errorf("got %s, want an active token", res.Raw)
			}
		})
	}
}
