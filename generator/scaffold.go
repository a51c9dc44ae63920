package generator

import (
	"bytes"
	"fmt"
	"slices"
	"text/template"

	"github.com/oauthgen/oauthgen/schema"
	"github.com/oauthgen/oauthgen/templates"
)

// Scaffold renders the commented oauthgen.yaml `oauthgen init` writes, for
// a dialect and the grant keys to enable (none: client_credentials). The
// result is parsed before it is returned, so it always loads.
func Scaffold(dialect schema.Dialect, grants []string) ([]byte, error) {
	return scaffoldDeclaration(dialect, grants, Features{}, false)
}

// Features are what `oauthgen init` enables besides grants.
type Features struct {
	// OpenID enables openid_connect (needs authorization_code); with the
	// password grant's users table, an email column backs the email claim.
	OpenID bool
	// AccessTokens is the access token format: "" or "opaque", or "jwt"
	// (RFC 9068).
	AccessTokens string
	// SigningAlgorithm is signing_keys.algorithm: "" (the default, RS256),
	// or one of schema's algorithms; it needs OpenID or JWT access tokens.
	SigningAlgorithm string
}

// ScaffoldFeatures is Scaffold with features enabled.
func ScaffoldFeatures(dialect schema.Dialect, grants []string, f Features) ([]byte, error) {
	return scaffoldDeclaration(dialect, grants, f, false)
}

// scaffoldDeclaration renders init/oauthgen.yaml.tmpl; server declares the
// scopes the scaffolded server's pages and demo use.
func scaffoldDeclaration(dialect schema.Dialect, grants []string, f Features, server bool) ([]byte, error) {
	if !slices.Contains(schema.Dialects(), dialect) {
		return nil, fmt.Errorf("unknown dialect %q: want one of %v", dialect, schema.Dialects())
	}
	for _, g := range grants {
		if !slices.Contains(schema.GrantKeys(), g) {
			return nil, fmt.Errorf("unknown grant %q: want one of %v", g, schema.GrantKeys())
		}
	}
	switch f.AccessTokens {
	case "", "opaque", "jwt":
	default:
		return nil, fmt.Errorf("unknown access token format %q: want opaque or jwt", f.AccessTokens)
	}
	switch f.SigningAlgorithm {
	case "", schema.AlgRS256:
		f.SigningAlgorithm = ""
	case schema.AlgES256, schema.AlgEdDSA:
		if f.OpenID {
			// OpenID Connect Discovery §3: an OP's ID tokens must be
			// verifiable with RS256.
			return nil, fmt.Errorf("OpenID Connect needs RS256 signing keys (Discovery §3); %s suits JWT access tokens without --openid", f.SigningAlgorithm)
		}
		if f.AccessTokens != "jwt" {
			return nil, fmt.Errorf("a signing algorithm needs --access-tokens jwt: nothing else is signed")
		}
	default:
		return nil, fmt.Errorf("unknown signing algorithm %q: want %s, %s or %s", f.SigningAlgorithm, schema.AlgRS256, schema.AlgES256, schema.AlgEdDSA)
	}
	if f.OpenID && !slices.Contains(grants, schema.GrantAuthorizationCode) {
		return nil, fmt.Errorf("OpenID Connect needs the authorization_code grant: add --grant %s", schema.GrantAuthorizationCode)
	}
	t, err := template.ParseFS(templates.Init, "init/oauthgen.yaml.tmpl")
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if err := t.Execute(&buf, map[string]any{
		"Dialect": string(dialect), "Grants": grants, "Server": server, "OpenID": f.OpenID, "JWT": f.AccessTokens == "jwt",
		"SigningAlgorithm": f.SigningAlgorithm,
	}); err != nil {
		return nil, err
	}
	if _, err := schema.Parse("oauthgen.yaml", buf.Bytes()); err != nil {
		// The template is tested for every dialect; a grant set can still
		// be one no declaration may have (refresh_token alone).
		return nil, fmt.Errorf("those grants do not make a valid declaration:\n%v", err)
	}
	return buf.Bytes(), nil
}
