package schema

import (
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// testdata/valid/NAME.yaml parses, and NAME.json is the declaration it
// gives (defaults applied) with its warnings; testdata/invalid/NAME.yaml
// fails with exactly the errors in NAME.err. -update rewrites both.
func TestTestdata(t *testing.T) {
	for _, dir := range []string{"valid", "invalid"} {
		files, err := filepath.Glob(filepath.Join("testdata", dir, "*.yaml"))
		if err != nil || len(files) == 0 {
			t.Fatalf("no testdata/%s/*.yaml (%v)", dir, err)
		}
		for _, file := range files {
			name := strings.TrimSuffix(filepath.Base(file), ".yaml")
			t.Run(dir+"/"+name, func(t *testing.T) {
				data, err := os.ReadFile(file)
				if err != nil {
					t.Fatal(err)
				}
				d, err := Parse("oauthgen.yaml", data)
				var got, golden string
				if dir == "valid" {
					if err != nil {
						t.Fatalf("unexpected errors:\n%v", err)
					}
					got, golden = declarationJSON(t, d), strings.TrimSuffix(file, ".yaml")+".json"
				} else {
					if err == nil {
						t.Fatalf("no error")
					}
					if d != nil {
						t.Errorf("a declaration and an error")
					}
					checkErrorList(t, err)
					got, golden = err.Error()+"\n", strings.TrimSuffix(file, ".yaml")+".err"
				}
				if *update {
					if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
						t.Fatal(err)
					}
					return
				}
				want, err := os.ReadFile(golden)
				if err != nil {
					t.Fatalf("%v (run go test ./schema -update)", err)
				}
				if got != string(want) {
					t.Errorf("%s differs (-want +got):\n%s", golden, lineDiff(string(want), got))
				}
			})
		}
	}
}

// declarationJSON renders what a valid declaration gives, for goldens.
func declarationJSON(t *testing.T, d *Declaration) string {
	t.Helper()
	out := struct {
		Declaration *Declaration `json:"declaration"`
		Warnings    []string     `json:"warnings,omitempty"`
	}{Declaration: d}
	for _, w := range d.Warnings {
		out.Warnings = append(out.Warnings, w.Error())
	}
	b, err := json.MarshalIndent(out, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return string(b) + "\n"
}

// lineDiff shows the lines only in want (-) and only in got (+).
func lineDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	var b strings.Builder
	for _, l := range w {
		if !slices.Contains(g, l) {
			b.WriteString("-" + l + "\n")
		}
	}
	for _, l := range g {
		if !slices.Contains(w, l) {
			b.WriteString("+" + l + "\n")
		}
	}
	return b.String()
}

// checkErrorList asserts what every Parse error promises: an ErrorList of
// positioned errors, sorted, without duplicates.
func checkErrorList(t *testing.T, err error) {
	t.Helper()
	var list ErrorList
	if !errors.As(err, &list) || len(list) == 0 {
		t.Fatalf("error %T is not a non-empty ErrorList: %v", err, err)
	}
	for i, e := range list {
		if e == nil {
			t.Fatalf("nil *Error in the list")
		}
		if e.Pos.Line < 1 || e.Pos.Column < 1 {
			t.Errorf("error without a position: %v", e)
		}
		if e.Msg == "" {
			t.Errorf("error without a message: %#v", e)
		}
		if i > 0 {
			p := list[i-1]
			if p.Pos.Line > e.Pos.Line || (p.Pos.Line == e.Pos.Line && p.Pos.Column > e.Pos.Column) {
				t.Errorf("errors not sorted: %v before %v", p, e)
			}
			if *p == *e {
				t.Errorf("duplicate error: %v", e)
			}
		}
	}
}

// base is a valid declaration that cases extend.
const base = "version: 1\ndialect: sqlite\ngrants:\n  client_credentials: {}\n"

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		doc  string
		want []string // each an exact line of the error
	}{
		{"error_format_names_file_line_column_and_path",
			"version: 1\ndialect: sqlite\ngrants:\n  password: {}\n  refresh_token:\n    rotation: \"yes\"\n",
			[]string{`oauthgen.yaml:6:5: grants.refresh_token.rotation: want a boolean, got "yes"`}},
		{"plain_yes_is_a_string_in_yaml_1_2",
			base + "  refresh_token: {rotation: yes}\n  password: {}\n",
			[]string{`oauthgen.yaml:5:19: grants.refresh_token.rotation: want a boolean, got "yes"`}},
		{"unknown_key_suggests_nearest",
			base + "  refresh_token: {roation: true}\n  password: {}\n",
			[]string{`oauthgen.yaml:5:19: grants.refresh_token.roation: unknown key; did you mean "rotation"?`}},
		{"unknown_key_suggests_transposition",
			base + "  authorization_code: {pcke: required}\n",
			[]string{`oauthgen.yaml:5:24: grants.authorization_code.pcke: unknown key; did you mean "pkce"?`}},
		{"unknown_key_suggests_across_separators",
			base + "  clientCredentials: {}\n",
			[]string{`oauthgen.yaml:5:3: grants.clientCredentials: unknown key; did you mean "client_credentials"?`}},
		{"unknown_key_without_near_one_lists_known",
			base + "bearer: {header: true}\n",
			[]string{`oauthgen.yaml:5:10: bearer.header: unknown key; known keys: allow_form, allow_query, realm`}},
		{"misplaced_key_says_where_it_belongs",
			base + "storage: {interval: 5s}\n",
			[]string{`oauthgen.yaml:5:11: storage.interval: unknown key; "interval" belongs under grants.device_code`}},
		{"enum_suggests_nearest",
			"version: 1\ndialect: postgresql\ngrants: {password: {}}\n",
			[]string{`oauthgen.yaml:2:1: dialect: want one of sqlite, postgres, mysql; got "postgresql"; did you mean "postgres"?`}},
		{"duration_without_unit",
			base + "lifetimes: {access_token: 60}\n",
			[]string{`oauthgen.yaml:5:13: lifetimes.access_token: want a Go duration such as "1h" or "30s", got 60 (a unit is required: 60s?)`}},
		{"number_where_string_is_wanted_says_quote_it",
			base + "package: 42\n",
			[]string{`oauthgen.yaml:5:1: package: want a string, got 42 (quote it: "42")`}},
		{"enum_given_a_number",
			"version: 1\ndialect: 5\ngrants: {password: {}}\n",
			[]string{`oauthgen.yaml:2:1: dialect: want one of sqlite, postgres, mysql; got 5`}},
		{"grant_as_boolean",
			base + "  password: true\n",
			[]string{`oauthgen.yaml:5:3: grants.password: want a mapping (write {} to keep the defaults), got true`}},
		{"reuse_interval_too_long",
			base + "  password: {}\n  refresh_token: {reuse_interval: 10m}\n",
			[]string{`oauthgen.yaml:6:19: grants.refresh_token.reuse_interval: want from 0s to 5m, got 10m: longer only widens the window in which a stolen token goes unnoticed`}},
		{"reuse_interval_without_rotation",
			base + "  password: {}\n  refresh_token: {rotation: false, reuse_interval: 30s}\n",
			[]string{`oauthgen.yaml:6:36: grants.refresh_token.reuse_interval: a reuse interval needs rotation: true (without rotation a confidential client's token is never consumed)`}},
		{"null_is_not_a_boolean",
			base + "  refresh_token:\n    rotation:\n  password: {}\n",
			[]string{`oauthgen.yaml:6:5: grants.refresh_token.rotation: want a boolean, got nothing`}},
		{"duplicate_key_points_at_second",
			base + "dialect: mysql\n",
			[]string{`oauthgen.yaml:5:1: dialect: duplicate key (first at line 2)`}},
		{"duplicate_key_on_one_line",
			base + "scopes: {known: [a], known: [b]}\n",
			[]string{`oauthgen.yaml:5:22: scopes.known: duplicate key (first at column 10)`}},
		{"missing_required_keys_point_at_their_block",
			"package: store\n",
			[]string{
				`oauthgen.yaml:1:1: dialect: required: one of sqlite, postgres, mysql`,
				`oauthgen.yaml:1:1: grants: required`,
				`oauthgen.yaml:1:1: version: required; write version: 1`,
			}},
		{"users_mapping_requires_every_key",
			base + "storage:\n  users:\n    table: accounts\n",
			[]string{
				`oauthgen.yaml:6:3: storage.users.id: required`,
				`oauthgen.yaml:6:3: storage.users.password_hash: required`,
				`oauthgen.yaml:6:3: storage.users.username: required`,
			}},
		{"aliases_are_rejected",
			base + "scopes:\n  known: &s [a]\n  default: *s\n",
			[]string{`oauthgen.yaml:7:3: scopes.default: aliases (*s) are not supported; write the value out in full`}},
		{"merge_keys_are_rejected",
			base + "bearer:\n  <<: {realm: x}\n",
			[]string{`oauthgen.yaml:6:3: bearer: merge keys (<<) are not supported; write the keys out in full`}},
		{"application_tags_are_rejected",
			base + "issuer: !env ISSUER\n",
			[]string{`oauthgen.yaml:5:1: issuer: unsupported YAML tag !env`}},
		{"second_document_is_rejected",
			base + "---\nversion: 1\n",
			[]string{`oauthgen.yaml:5:1: a second YAML document; the declaration is one document (remove the --- separator)`}},
		{"empty_file",
			"",
			[]string{`oauthgen.yaml:1:1: the file is empty: write at least version, dialect and grants (oauthgen init writes a commented declaration)`}},
		{"syntax_error_has_line_and_first_column",
			"version: 1\ndialect: sqlite\n  grants: {\n",
			nil},
		{"tab_indentation",
			"version: 1\ngrants:\n\tpassword: {}\n",
			[]string{`oauthgen.yaml:3:1: YAML syntax: found character that cannot start any token (indent with spaces: YAML does not allow tabs)`}},
		{"invalid_utf8_is_positioned",
			"version: 1\ndialect: \"caf\xe9\"\n",
			[]string{`oauthgen.yaml:2:14: invalid UTF-8 (byte 0xe9); save the file as UTF-8`}},
		{"drop_needs_disabled_grant",
			base + "  password: {drop: true}\n",
			[]string{`oauthgen.yaml:5:14: grants.password.drop: drop: true drops the grant's tables and data; it needs enabled: false`}},
		{"refresh_token_needs_a_grant_that_issues_it",
			base + "  refresh_token: {}\n",
			[]string{`oauthgen.yaml:5:3: grants.refresh_token: refresh tokens are enabled but no enabled grant issues them: enable authorization_code, password, device_code or an extension grant, or disable refresh_token (client_credentials and implicit never issue refresh tokens)`}},
		{"refresh_token_is_met_by_an_extension",
			base + "  refresh_token: {}\n  extensions: [urn:example:partner]\n",
			nil},
		{"a_grant_must_be_enabled",
			"version: 1\ndialect: sqlite\ngrants:\n  password: {enabled: false}\n",
			[]string{`oauthgen.yaml:3:1: grants: no grant is enabled; declare at least one, such as client_credentials: {}`}},
		{"extension_must_be_absolute_uri",
			base + "  extensions: [partner]\n",
			[]string{`oauthgen.yaml:5:16: grants.extensions[0]: want an absolute URI such as urn:example:grant-type:partner, got "partner"`}},
		{"extension_must_not_be_a_standard_grant",
			base + "  extensions: [urn:ietf:params:oauth:grant-type:device_code]\n",
			[]string{`oauthgen.yaml:5:16: grants.extensions[0]: this is the device_code grant's type: declare grants.device_code instead`}},
		{"user_code_entropy",
			base + "  device_code: {user_code: {charset: \"0123456789\", length: 8}}\n",
			[]string{`oauthgen.yaml:5:52: grants.device_code.user_code.length: user codes of 8 characters from 10 symbols carry 26.6 bits; at least 30 are needed against guessing (RFC 8628 §5.1): use length 10 or more`}},
		{"authorization_code_lifetime_bound",
			base + "lifetimes: {authorization_code: 2h}\n",
			[]string{`oauthgen.yaml:5:13: lifetimes.authorization_code: want at most 1h, got 2h`}},
		{"default_scopes_are_known",
			base + "scopes: {known: [read, write], default: [wirte]}\n",
			[]string{`oauthgen.yaml:5:42: scopes.default[0]: default scope "wirte" is not in scopes.known; did you mean "write"?`}},
		{"column_name_reserved_word",
			base + "storage: {extra_columns: {clients: [{name: user, type: text}]}}\n",
			[]string{`oauthgen.yaml:5:38: storage.extra_columns.clients[0].name: "user" is a reserved word in PostgreSQL; oauthgen does not quote names, pick another`}},
		{"column_name_go_keyword",
			base + "storage: {extra_columns: {clients: [{name: func, type: text}]}}\n",
			[]string{`oauthgen.yaml:5:38: storage.extra_columns.clients[0].name: "func" is a Go keyword, and the generated code names variables after columns; pick another`}},
		{"column_name_builtin",
			base + "storage: {extra_columns: {access_tokens: [{name: scopes, type: text}]}}\n",
			[]string{`oauthgen.yaml:5:44: storage.extra_columns.access_tokens[0].name: "scopes" is a built-in column of the access_tokens table`}},
		{"extra_columns_on_mapped_users_name_the_owner",
			base + "  password: {}\nstorage:\n  users: {table: accounts, id: {column: id, type: int64}, username: email, password_hash: pw}\n  extra_columns:\n    users: [{name: nick, type: text}]\n",
			[]string{`oauthgen.yaml:9:5: storage.extra_columns.users: the users table is your application's (storage.users.table: accounts): add columns to it in your own migrations`}},
		{"time_default_needs_rfc3339",
			base + "storage: {extra_columns: {clients: [{name: since, type: time, default: tomorrow}]}}\n",
			[]string{`oauthgen.yaml:5:63: storage.extra_columns.clients[0].default: want an RFC 3339 timestamp such as 2024-01-02T15:04:05Z, or now; got "tomorrow"`}},
		{"table_names_are_unique_after_prefix",
			base + "storage:\n  table_prefix: x_\n  tables: {clients: {name: x_access_tokens}}\n",
			[]string{`oauthgen.yaml:7:22: storage.tables.clients.name: table name "x_access_tokens" is also the name of the access_tokens table`}},
		{"index_references_existing_columns",
			base + "storage: {indexes: {clients: [{columns: [nam]}]}}\n",
			[]string{`oauthgen.yaml:5:42: storage.indexes.clients[0].columns[0]: no column "nam" in the clients table; did you mean "name"?`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, err := Parse("oauthgen.yaml", []byte(tc.doc))
			if tc.want == nil {
				if tc.name == "syntax_error_has_line_and_first_column" {
					if err == nil || !strings.HasPrefix(err.Error(), "oauthgen.yaml:3:3: YAML syntax: ") {
						t.Errorf("got %v, want an error at 3:3", err)
					}
					return
				}
				if err != nil {
					t.Fatalf("unexpected error:\n%v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("no error; want:\n%s", strings.Join(tc.want, "\n"))
			}
			if d != nil {
				t.Errorf("Parse returned a declaration with its errors")
			}
			checkErrorList(t, err)
			if got := err.Error(); got != strings.Join(tc.want, "\n") {
				t.Errorf("got:\n%s\nwant:\n%s", got, strings.Join(tc.want, "\n"))
			}
		})
	}
}

func TestDefaults(t *testing.T) {
	d, err := Parse("oauthgen.yaml", []byte(base+"  authorization_code: {}\n  refresh_token:\n  device_code: {}\n"))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name      string
		got, want any
	}{
		{"package", d.Package, "oauthstore"},
		{"out", d.Out, "./oauthstore"},
		{"pkce", d.Grants.AuthorizationCode.PKCE, PKCEPublic},
		{"grant_enabled", d.Grants.AuthorizationCode.Enabled, true},
		{"null_grant_enabled", d.Grants.RefreshToken.Enabled, true},
		{"rotation", d.Grants.RefreshToken.Rotation, true},
		{"reuse_interval", d.Grants.RefreshToken.ReuseInterval.Duration, time.Duration(0)},
		{"interval", d.Grants.DeviceCode.Interval.Duration, 5 * time.Second},
		{"charset", d.Grants.DeviceCode.UserCode.Charset, DefaultUserCodeCharset},
		{"length", d.Grants.DeviceCode.UserCode.Length, DefaultUserCodeLength},
		{"access_token", d.Lifetimes.AccessToken.Duration, time.Hour},
		{"refresh_token", d.Lifetimes.RefreshToken.Duration, 336 * time.Hour},
		{"authorization_code", d.Lifetimes.AuthorizationCode.Duration, 5 * time.Minute},
		{"device_code", d.Lifetimes.DeviceCode.Duration, 10 * time.Minute},
		{"table_prefix", d.Storage.TablePrefix, DefaultTablePrefix},
		{"implicit_not_declared", d.Grants.Implicit == nil, true},
		{"users_not_mapped", d.Storage.Users == nil, true},
	} {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
}

func TestPackageAndOutDefaults(t *testing.T) {
	for _, tc := range []struct {
		name, doc, pkg, out string
	}{
		{"neither", base, "oauthstore", "./oauthstore"},
		{"package_gives_out", base + "package: authstore\n", "authstore", "./authstore"},
		{"out_gives_package", base + "out: ./internal/tokens/\n", "tokens", "./internal/tokens/"},
		{"both", base + "package: store\nout: gen\n", "store", "gen"},
		{"out_dot_with_package", base + "package: store\nout: .\n", "store", "."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, err := Parse("oauthgen.yaml", []byte(tc.doc))
			if err != nil {
				t.Fatal(err)
			}
			if d.Package != tc.pkg || d.Out != tc.out {
				t.Errorf("package, out = %q, %q; want %q, %q", d.Package, d.Out, tc.pkg, tc.out)
			}
		})
	}
}

func TestLoad(t *testing.T) {
	t.Run("reads_a_file", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "oauthgen.yaml")
		if err := os.WriteFile(path, []byte(base), 0o644); err != nil {
			t.Fatal(err)
		}
		d, err := Load(path)
		if err != nil {
			t.Fatal(err)
		}
		if d.File != path {
			t.Errorf("File = %q, want %q", d.File, path)
		}
		if got, want := d.OutDir(), filepath.Join(filepath.Dir(path), "oauthstore"); got != want {
			t.Errorf("OutDir() = %q, want %q", got, want)
		}
	})
	t.Run("missing_file_is_a_positionless_error_that_unwraps", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "nope.yaml")
		_, err := Load(path)
		if !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("errors.Is(%v, fs.ErrNotExist) = false", err)
		}
		if got, want := err.Error(), path+": no such file or directory"; got != want {
			t.Errorf("got %q, want %q", got, want)
		}
	})
	t.Run("errors_name_the_path_given", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "decl.yaml")
		if err := os.WriteFile(path, []byte("version: 1\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := Load(path)
		if err == nil || !strings.HasPrefix(err.Error(), path+":1:1: ") {
			t.Errorf("got %v, want errors at %s:1:1", err, path)
		}
	})
}

func TestPosAndErrorf(t *testing.T) {
	doc := base + "  refresh_token: {}\n  password: {}\nstorage:\n  extra_columns:\n    clients:\n      - {name: tier, type: int64}\n"
	d, err := Parse("oauthgen.yaml", []byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		path string
		want Position
	}{
		{"", Position{1, 1}},
		{"grants.refresh_token", Position{5, 3}},
		{"grants.refresh_token.rotation", Position{5, 3}}, // defaulted: its block
		{"storage.extra_columns.clients[0]", Position{10, 9}},
		{"storage.extra_columns.clients[0].type", Position{10, 22}},
		{"lifetimes.access_token", Position{1, 1}}, // nothing written: the file
	} {
		if got := d.Pos(tc.path); got != tc.want {
			t.Errorf("Pos(%q) = %v, want %v", tc.path, got, tc.want)
		}
	}
	e := d.Errorf("storage.extra_columns.clients[0].type", "cannot change the type of a populated column from %s to %s", "text", "int64")
	if got, want := e.Error(), "oauthgen.yaml:10:22: storage.extra_columns.clients[0].type: cannot change the type of a populated column from text to int64"; got != want {
		t.Errorf("Errorf: got %q, want %q", got, want)
	}
	var built Declaration // not loaded: no positions
	if p := built.Pos("grants"); p != (Position{}) {
		t.Errorf("Pos on a built Declaration = %v, want zero", p)
	}
	if got := built.Errorf("grants", "x").Error(); got != "grants: x" {
		t.Errorf("Errorf on a built Declaration = %q", got)
	}
}

func TestQueries(t *testing.T) {
	d, err := Parse("oauthgen.yaml", []byte(`version: 1
dialect: postgres
grants:
  extensions: [urn:z:last, urn:a:first]
  implicit: {}
  device_code: {}
  client_credentials: {}
  password: {enabled: false}
  authorization_code: {enabled: false, drop: true}
  refresh_token: {}
storage:
  table_prefix: auth_
  tables:
    clients: {name: apps}
  extra_columns:
    clients: [{name: tier, type: int64, nullable: true}]
`))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := d.EnabledGrants(), []string{"client_credentials", "refresh_token", "device_code", "implicit"}; !slices.Equal(got, want) {
		t.Errorf("EnabledGrants() = %v, want %v", got, want)
	}
	if got, want := d.GrantTypes(), []string{"client_credentials", "refresh_token", DeviceCodeGrantType, "implicit", "urn:a:first", "urn:z:last"}; !slices.Equal(got, want) {
		t.Errorf("GrantTypes() = %v, want %v", got, want)
	}
	for kind, want := range map[string]string{
		TableClients: "apps", TableAccessTokens: "auth_access_tokens", TableUsers: "auth_users",
	} {
		if got := d.TableName(kind); got != want {
			t.Errorf("TableName(%s) = %q, want %q", kind, got, want)
		}
	}
	for kind, want := range map[string]bool{
		TableClients: true, TableAccessTokens: true, TableRefreshTokens: true, TableDeviceCodes: true,
		TableFamilies: true, TableAuthorizationCodes: false, // dropped
		TableUsers: true, // password disabled but not dropped: the table stays
	} {
		if got := d.HasTable(kind); got != want {
			t.Errorf("HasTable(%s) = %v, want %v", kind, got, want)
		}
	}
	if !d.UsersGenerated() || !d.UsesUsers() {
		t.Errorf("UsersGenerated, UsesUsers = %v, %v; want true, true", d.UsersGenerated(), d.UsesUsers())
	}
	if got := d.ColumnNames(TableClients); got[len(got)-1] != "tier" || got[0] != "id" {
		t.Errorf("ColumnNames(clients) = %v", got)
	}
	if g := d.Grants.Grant("nope"); g != nil {
		t.Errorf("Grant(nope) = %v", g)
	}
	if !d.Grants.Grant(GrantPassword).KeepsTables() || d.Grants.Grant(GrantAuthorizationCode).KeepsTables() {
		t.Errorf("KeepsTables wrong for password (disabled) or authorization_code (dropped)")
	}
	cols := BuiltinColumns(TableClients)
	cols[0] = "changed"
	if BuiltinColumns(TableClients)[0] != "id" {
		t.Errorf("BuiltinColumns returns shared storage")
	}
}

func TestDurationText(t *testing.T) {
	for in, want := range map[string]string{"1h": "1h", "336h": "336h", "5m": "5m", "1h30m": "1h30m", "90s": "1m30s", "1h0m5s": "1h0m5s", "0s": "0s"} {
		var d Duration
		if err := d.UnmarshalText([]byte(in)); err != nil {
			t.Fatal(err)
		}
		if got := d.String(); got != want {
			t.Errorf("Duration(%s).String() = %q, want %q", in, got, want)
		}
	}
}

func TestSuggest(t *testing.T) {
	keys := []string{"rotation", "pkce", "authorization_code", "refresh_token", "client_credentials"}
	for got, want := range map[string]string{
		"roation":            "rotation",
		"rotaton":            "rotation",
		"pcke":               "pkce",
		"PKCE":               "pkce",
		"authorizationCode":  "authorization_code",
		"authorisation_code": "authorization_code",
		"refresh":            "refresh_token",
		"client":             "client_credentials",
		"zzz":                "",
		"x":                  "",
	} {
		if s := suggest(got, keys); s != want {
			t.Errorf("suggest(%q) = %q, want %q", got, s, want)
		}
	}
}

func TestReservedWords(t *testing.T) {
	for word, want := range map[string]string{
		"order": "MySQL, PostgreSQL and SQLite",
		"user":  "PostgreSQL",
		"key":   "MySQL and SQLite",
		"rank":  "MySQL",
		"plan":  "SQLite",
	} {
		if got := reservedIn(word); got != want {
			t.Errorf("reservedIn(%q) = %q, want %q", word, got, want)
		}
	}
	// oauthgen's own names must pass its own rules.
	for _, kind := range TableKinds() {
		if msg := checkSQLName("table", DefaultTablePrefix+kind); msg != "" {
			t.Errorf("default table name: %s", msg)
		}
		if msg := checkSQLName("table", kind); msg != "" {
			t.Errorf("unprefixed table name: %s", msg)
		}
		for _, c := range BuiltinColumns(kind) {
			if msg := checkSQLName("column", c); msg != "" {
				t.Errorf("built-in column: %s", msg)
			}
		}
	}
}
