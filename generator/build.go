package generator

import (
	"slices"

	"github.com/oauthgen/oauthgen/schema"
)

// BuildPlan derives the Plan of a validated declaration. importPath is the
// output package's import path.
func BuildPlan(d *schema.Declaration, importPath string) (*Plan, error) {
	tables, users, err := buildTables(d)
	if err != nil {
		return nil, err
	}
	p := &Plan{
		Package:    d.Package,
		ImportPath: importPath,
		Dialect:    d.Dialect,
		Tables:     tables,
		Users:      users,
		Runtime:    runtimeConfig(d),
		// Each declaration's migrations keep their own history, so two
		// stores (two prefixes) or the application's own goose can share a
		// database.
		VersionTable: d.Storage.TablePrefix + "goose_db_version",
		PurgeBatch:   1000,
	}
	if d.Storage.TablePrefix == "" {
		p.VersionTable = "oauthgen_goose_db_version"
	}
	if d.Dialect == schema.Postgres {
		p.ChangesChannel = changesChannel(d.Storage.TablePrefix)
	}
	p.Claims = buildClaims(d, users)
	openIDRuntime(d, &p.Runtime)
	p.Schema = stateOf(tables)
	if p.Queries, err = buildQueries(p); err != nil {
		return nil, err
	}
	p.Queries = append(p.Queries, openIDQueries(p)...)
	return p, nil
}

func runtimeConfig(d *schema.Declaration) RuntimeConfig {
	g := d.Grants
	rc := RuntimeConfig{
		Issuer:                    d.Issuer,
		AuthorizationCode:         g.AuthorizationCode.On(),
		ClientCredentials:         g.ClientCredentials.On(),
		Password:                  g.Password.On(),
		RefreshToken:              g.RefreshToken.On(),
		DeviceCode:                g.DeviceCode.On(),
		Implicit:                  g.Implicit.On(),
		Extensions:                slices.Clone(g.Extensions),
		AccessTokenLifetime:       d.Lifetimes.AccessToken.Duration,
		RefreshTokenLifetime:      d.Lifetimes.RefreshToken.Duration,
		AuthorizationCodeLifetime: d.Lifetimes.AuthorizationCode.Duration,
		DeviceCodeLifetime:        d.Lifetimes.DeviceCode.Duration,
		Scopes:                    slices.Clone(d.Scopes.Known),
		DefaultScopes:             slices.Clone(d.Scopes.Default),
		BearerRealm:               d.Bearer.Realm,
		BearerAllowForm:           d.Bearer.AllowForm,
		BearerAllowQuery:          d.Bearer.AllowQuery,
	}
	if c := g.AuthorizationCode; c.On() {
		rc.PKCE, rc.AllowPlainPKCE, rc.RequireState = c.PKCE, c.AllowPlainPKCE, c.RequireState
	}
	if r := g.RefreshToken; r.On() {
		rc.Rotation = r.Rotation
		rc.ReuseInterval = r.ReuseInterval.Duration
	}
	if dc := g.DeviceCode; dc.On() {
		rc.DeviceInterval = dc.Interval.Duration
		rc.UserCodeCharset = dc.UserCode.Charset
		rc.UserCodeLength = dc.UserCode.Length
	}
	return rc
}

// grantNames lists the declaration's enabled grants, as the lock records
// them and migration names mention them.
func grantNames(d *schema.Declaration) []string {
	g := d.Grants
	var out []string
	for _, x := range []struct {
		name string
		on   bool
	}{
		{"authorization_code", g.AuthorizationCode.On()},
		{"client_credentials", g.ClientCredentials.On()},
		{"password", g.Password.On()},
		{"refresh_token", g.RefreshToken.On()},
		{"device_code", g.DeviceCode.On()},
		{"implicit", g.Implicit.On()},
	} {
		if x.on {
			out = append(out, x.name)
		}
	}
	return out
}
