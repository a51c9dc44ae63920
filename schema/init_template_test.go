package schema

import (
	"bytes"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"text/template"
)

// The scaffold `oauthgen init` writes lives in package templates; this
// test keeps it a valid declaration, for every dialect and a range of
// grant choices, showing every key the declaration has.
func TestInitTemplate(t *testing.T) {
	src, err := os.ReadFile("../templates/init/oauthgen.yaml.tmpl")
	if err != nil {
		t.Fatal(err)
	}
	tmpl, err := template.New("oauthgen.yaml").Option("missingkey=error").Parse(string(src))
	if err != nil {
		t.Fatal(err)
	}
	s := compileSchema(t)

	grantSets := [][]string{
		nil, // the scaffold falls back to client_credentials
		{GrantClientCredentials},
		{GrantAuthorizationCode},
		{GrantAuthorizationCode, GrantRefreshToken},
		{GrantPassword, GrantRefreshToken},
		{GrantDeviceCode, GrantRefreshToken},
		{GrantImplicit},
		{GrantRefreshToken, GrantAuthorizationCode, GrantClientCredentials}, // order does not matter
		GrantKeys(),
	}
	for _, dialect := range Dialects() {
		for _, grants := range grantSets {
			name := string(dialect) + "/" + strings.Join(grants, "+")
			if grants == nil {
				name = string(dialect) + "/none"
			}
			t.Run(name, func(t *testing.T) {
				var buf bytes.Buffer
				data := struct {
					Dialect string
					Grants  []string
					Server  bool // half the sets as init --server renders them: scopes declared
					OpenID  bool // init --server --openid, where authorization_code is on
					JWT     bool // init --server --access-tokens jwt
					// init --signing-algorithm ES256, with JWT access tokens and no OpenID
					SigningAlgorithm string
				}{string(dialect), grants, len(grants)%2 == 1,
					len(grants)%2 == 1 && slices.Contains(grants, GrantAuthorizationCode), len(grants)%4 == 1, ""}
				if data.JWT && !data.OpenID {
					data.SigningAlgorithm = AlgES256
				}
				if err := tmpl.Execute(&buf, data); err != nil {
					t.Fatal(err)
				}
				out := buf.Bytes()
				d, err := Parse("oauthgen.yaml", out)
				if err != nil {
					t.Fatalf("scaffold does not parse:\n%v\n\n%s", err, numbered(out))
				}
				if d.Dialect != dialect {
					t.Errorf("dialect = %s, want %s", d.Dialect, dialect)
				}
				want := slices.Clone(grants)
				if want == nil {
					want = []string{GrantClientCredentials}
				}
				slices.SortFunc(want, func(a, b string) int {
					return slices.Index(GrantKeys(), a) - slices.Index(GrantKeys(), b)
				})
				if got := d.EnabledGrants(); !slices.Equal(got, want) {
					t.Errorf("enabled grants = %v, want %v", got, want)
				}
				if a := data.SigningAlgorithm; a != "" && (d.SigningKeys == nil || d.SigningKeys.Algorithm != a) {
					t.Errorf("signing_keys = %+v, want algorithm %s", d.SigningKeys, a)
				}
				if err := s.Validate(yamlToJSON(t, out)); err != nil {
					t.Errorf("the JSON Schema rejects the scaffold: %v", err)
				}
				if bytes.Contains(out, []byte("\t")) {
					t.Errorf("scaffold contains a tab")
				}
				if bytes.Contains(out, []byte("\n\n\n")) {
					t.Errorf("scaffold has runs of blank lines:\n%s", numbered(out))
				}
			})
		}
	}

	// Uncommented, the commented-out keys give a valid declaration with
	// the same values: the scaffold shows the true defaults.
	t.Run("commented_keys_hold_the_defaults", func(t *testing.T) {
		var buf bytes.Buffer
		if err := tmpl.Execute(&buf, struct {
			Dialect string
			Grants  []string
			Server  bool
			OpenID  bool
			JWT     bool

			SigningAlgorithm string
		}{"postgres", GrantKeys(), false, false, false, ""}); err != nil {
			t.Fatal(err)
		}
		commented, err := Parse("oauthgen.yaml", buf.Bytes())
		if err != nil {
			t.Fatal(err)
		}
		head, body, _ := strings.Cut(buf.String(), "\ngrants:\n")
		key := regexp.MustCompile(`(?m)^(\s*)# ([a-z_]+:.*|- .*|  .*)$`)
		uncommented := []byte(head + "\ngrants:\n" + key.ReplaceAllString(body, "$1$2"))
		d, err := Parse("oauthgen.yaml", uncommented)
		if err != nil {
			t.Fatalf("uncommented scaffold does not parse:\n%v\n\n%s", err, numbered(uncommented))
		}
		for _, c := range []struct {
			name      string
			got, want any
		}{
			{"lifetimes", d.Lifetimes, commented.Lifetimes},
			{"authorization_code", *d.Grants.AuthorizationCode, *commented.Grants.AuthorizationCode},
			{"refresh_token", *d.Grants.RefreshToken, *commented.Grants.RefreshToken},
			{"device_code", *d.Grants.DeviceCode, *commented.Grants.DeviceCode},
			{"bearer", d.Bearer, commented.Bearer},
			{"table_prefix", d.Storage.TablePrefix, commented.Storage.TablePrefix},
		} {
			if c.got != c.want {
				t.Errorf("%s: uncommented %+v, default %+v", c.name, c.got, c.want)
			}
		}
		if len(d.Grants.Extensions) == 0 || d.Storage.Users == nil || len(d.Storage.ExtraColumns) == 0 || len(d.Storage.Indexes) == 0 {
			t.Errorf("some commented-out blocks were not uncommented:\n%s", numbered(uncommented))
		}
	})

	// Every key of the declaration appears, commented or not, so the
	// scaffold documents the whole format.
	var buf bytes.Buffer
	if err := tmpl.Execute(&buf, struct {
		Dialect string
		Grants  []string
		Server  bool
		OpenID  bool
		JWT     bool

		SigningAlgorithm string
	}{"sqlite", nil, false, false, false, ""}); err != nil {
		t.Fatal(err)
	}
	for _, key := range specKeys(declarationSpec) {
		if !regexp.MustCompile(`(?m)[\s{,]` + regexp.QuoteMeta(key) + `:`).Match(buf.Bytes()) {
			t.Errorf("the scaffold does not show the key %q", key)
		}
	}
}

// specKeys lists every fixed key of the declaration.
func specKeys(s *spec) []string {
	var keys []string
	switch s.kind {
	case kindObject:
		for _, f := range s.fields {
			keys = append(keys, f.key)
			keys = append(keys, specKeys(f.spec)...)
		}
	case kindList, kindMap:
		keys = append(keys, specKeys(s.elem)...)
	}
	return keys
}

// numbered prefixes lines with their numbers, to read errors against.
func numbered(b []byte) string {
	var out strings.Builder
	for i, line := range strings.Split(string(b), "\n") {
		fmt.Fprintf(&out, "%3d  %s\n", i+1, line)
	}
	return out.String()
}
