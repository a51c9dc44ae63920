package schema

import (
	"slices"
	"strings"
	"time"
)

// minRotateEvery is the shortest signing_keys.rotate_every: the runtime
// creates the next key an hour (its propagation delay) before it signs.
const minRotateEvery = 2 * time.Hour

// validateOpenID checks openid_connect, access_tokens and signing_keys,
// and fills what defaults depend on other keys: signing_keys when tokens
// are signed, the preferred_username claim.
func (l *loader) validateOpenID(d *Declaration) {
	grantsOK := l.grantsKnown()
	if o := d.OpenIDConnect; o != nil && !l.failedAt("openid_connect") {
		if grantsOK && !d.Grants.AuthorizationCode.On() {
			l.errorf("openid_connect", "OpenID Connect needs grants.authorization_code: ID tokens are issued for a signed-in user")
		}
		if p := "openid_connect.id_token_lifetime"; l.ok(p) {
			switch v := o.IDTokenLifetime.Duration; {
			case v <= 0 || v%time.Second != 0:
				l.errorf(p, "want a positive whole number of seconds, got %s", o.IDTokenLifetime)
			case v > 24*time.Hour:
				l.errorf(p, "want at most 24h, got %s", o.IDTokenLifetime)
			}
		}
		l.validateClaims(d, grantsOK)
	}
	signs := d.SignsTokens()
	if d.SigningKeys == nil {
		if signs {
			d.SigningKeys = &SigningKeys{Algorithm: AlgRS256, RotateEvery: Duration{720 * time.Hour}, RetireAfter: Duration{168 * time.Hour}}
		}
		return
	}
	if l.failedAt("signing_keys") {
		return
	}
	if !signs && !l.failedAt("openid_connect") && !l.failedAt("access_tokens") {
		l.warnf("signing_keys", "nothing is signed: declare openid_connect or access_tokens.format: jwt, or remove signing_keys")
	}
	k := d.SigningKeys
	if p := "signing_keys.rotate_every"; l.ok(p) && k.RotateEvery.Duration < minRotateEvery {
		l.errorf(p, "want at least %s: the next key is published an hour before it signs, so verifiers have it first; got %s", Duration{minRotateEvery}, k.RotateEvery)
	}
	if p := "signing_keys.retire_after"; l.ok(p) {
		// A key must stay published until the last token it signed expired.
		var longest time.Duration
		var what string
		if d.JWTAccessTokens() && l.ok("lifetimes.access_token") && d.Lifetimes.AccessToken.Duration > longest {
			longest, what = d.Lifetimes.AccessToken.Duration, "lifetimes.access_token"
		}
		if o := d.OpenIDConnect; o != nil && l.ok("openid_connect.id_token_lifetime") && o.IDTokenLifetime.Duration > longest {
			longest, what = o.IDTokenLifetime.Duration, "openid_connect.id_token_lifetime"
		}
		switch {
		case k.RetireAfter.Duration <= 0:
			l.errorf(p, "want a positive duration, got %s", k.RetireAfter)
		case k.RetireAfter.Duration < longest:
			l.errorf(p, "%s is shorter than %s (%s): a key would leave the JWKS while tokens it signed are still valid", k.RetireAfter, what, Duration{longest})
		}
	}
}

// validateClaims checks that each claim's column exists in the users
// table with a type that fits, and defaults preferred_username to the
// username column.
func (l *loader) validateClaims(d *Declaration, grantsOK bool) {
	o := d.OpenIDConnect
	base := "openid_connect.claims"
	if l.failedAt(base) || l.failedAt("storage.users") || !grantsOK {
		return
	}
	u := d.Storage.Users
	if !d.UsesUsers() {
		if len(o.Claims) > 0 {
			l.errorf(base, "claims are read from the users table, and there is none: declare grants.password (a generated users table) or map yours with storage.users")
		}
		return
	}
	if o.Claims == nil {
		o.Claims = map[string]string{}
	}
	if _, ok := o.Claims["preferred_username"]; !ok {
		if u != nil {
			o.Claims["preferred_username"] = u.Username
		} else {
			o.Claims["preferred_username"] = "username"
		}
	}
	for _, claim := range sortedKeys(o.Claims) {
		col := o.Claims[claim]
		p := base + "." + claim
		if !l.ok(p) {
			continue
		}
		want := ClaimTypes(claim)
		if u != nil {
			// Your table: oauthgen cannot see it, only refuse the columns
			// that are certainly wrong.
			if col == u.ID.Column || col == u.PasswordHash {
				l.errorf(p, "%q is the users table's id or password hash column, not a %s", col, claim)
			}
			if col == u.Username && !slices.Contains(want, TypeText) {
				l.errorf(p, "%q is the username column (text); %s needs a %s column", col, claim, strings.Join(want, " or "))
			}
			continue
		}
		typ := ""
		switch col {
		case "username":
			typ = TypeText
		case "id", "password_hash", "created_at":
			l.errorf(p, "%q is a built-in column of the users table that cannot back %s", col, claim)
			continue
		default:
			for _, c := range d.Storage.ExtraColumns[TableUsers] {
				if c.Name == col {
					typ = c.Type
				}
			}
		}
		switch {
		case typ == "":
			l.errorf(p, "the users table has no column %q: declare it in storage.extra_columns.users (type %s, nullable: true)", col, strings.Join(want, " or "))
		case !slices.Contains(want, typ):
			l.errorf(p, "column %q is %s; %s needs %s", col, typ, claim, strings.Join(want, " or "))
		}
	}
}

func sortedKeys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
