package schema

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"go.yaml.in/yaml/v3"
)

// update rewrites golden files: oauthgen.schema.json and testdata's
// expected outputs.
var update = flag.Bool("update", false, "rewrite oauthgen.schema.json and testdata golden files")

// The committed schema is what the spec generates: editors see exactly the
// keys the decoder accepts.
func TestJSONSchemaInSync(t *testing.T) {
	got, err := generateJSONSchema()
	if err != nil {
		t.Fatal(err)
	}
	const file = "oauthgen.schema.json"
	if *update {
		if err := os.WriteFile(file, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s is stale: run go test ./schema -update", file)
	}
	if !bytes.Equal(JSONSchema(), want) {
		t.Errorf("JSONSchema() differs from %s", file)
	}
}

// The spec and the Go types describe the same keys, with matching kinds:
// the decoder sets fields by their json names, and would panic on a
// mismatch this test exists to catch.
func TestSpecMatchesGoTypes(t *testing.T) {
	durationType := reflect.TypeFor[Duration]()
	var walk func(typ reflect.Type, s *spec, path string)
	walk = func(typ reflect.Type, s *spec, path string) {
		if s.nullable && typ.Kind() != reflect.Pointer {
			t.Errorf("%s: nullable object is not a pointer field", path)
		}
		if typ.Kind() == reflect.Pointer && s.kind != kindLiteral {
			typ = typ.Elem()
		}
		ok := true
		switch s.kind {
		case kindObject:
			ok = typ.Kind() == reflect.Struct
			if !ok {
				break
			}
			fields := jsonFields(typ)
			var goKeys []string
			for k := range fields {
				goKeys = append(goKeys, k)
			}
			slices.Sort(goKeys)
			specKeys := s.fieldKeys()
			slices.Sort(specKeys)
			if !slices.Equal(goKeys, specKeys) {
				t.Errorf("%s: Go json keys %v, spec keys %v", path, goKeys, specKeys)
				return
			}
			for _, f := range s.fields {
				walk(typ.FieldByIndex(fields[f.key]).Type, f.spec, joinPath(path, f.key))
			}
		case kindMap:
			ok = typ.Kind() == reflect.Map && typ.Key().Kind() == reflect.String
			if ok {
				walk(typ.Elem(), s.elem, path+".<key>")
			}
		case kindList:
			ok = typ.Kind() == reflect.Slice
			if ok {
				walk(typ.Elem(), s.elem, path+"[]")
			}
		case kindBool:
			ok = typ.Kind() == reflect.Bool
		case kindInt:
			ok = typ.Kind() == reflect.Int
		case kindString:
			ok = typ.Kind() == reflect.String
		case kindDuration:
			ok = typ == durationType
		case kindLiteral:
			ok = typ == reflect.TypeFor[*string]()
		default:
			t.Errorf("%s: spec has no kind", path)
		}
		if !ok {
			t.Errorf("%s: Go type %v does not fit spec kind %d", path, typ, s.kind)
		}
		switch def := s.def.(type) {
		case nil:
		case bool:
			if s.kind != kindBool {
				t.Errorf("%s: bool default on kind %d", path, s.kind)
			}
		case int:
			if s.kind != kindInt {
				t.Errorf("%s: int default on kind %d", path, s.kind)
			}
		case string:
			if s.kind == kindDuration {
				if _, err := time.ParseDuration(def); err != nil {
					t.Errorf("%s: default %q: %v", path, def, err)
				}
			} else if s.kind != kindString {
				t.Errorf("%s: string default on kind %d", path, s.kind)
			} else if len(s.enum) > 0 && !slices.Contains(s.enum, def) {
				t.Errorf("%s: default %q not in enum %v", path, def, s.enum)
			}
		default:
			t.Errorf("%s: default of type %T", path, def)
		}
	}
	walk(reflect.TypeFor[Declaration](), declarationSpec, "")
}

// compileSchema compiles the committed schema, which also checks it
// against the draft-07 meta-schema.
func compileSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(JSONSchema()))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource(SchemaURL, doc); err != nil {
		t.Fatal(err)
	}
	s, err := c.Compile(SchemaURL)
	if err != nil {
		t.Fatalf("oauthgen.schema.json: %v", err)
	}
	return s
}

// yamlToJSON turns a YAML document into the JSON value an editor's
// language server validates.
func yamlToJSON(t *testing.T, data []byte) any {
	t.Helper()
	var v any
	if err := yaml.Unmarshal(data, &v); err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

// The schema accepts every valid declaration of testdata, and rejects the
// shape errors it can express (it does not know the rules across keys).
func TestJSONSchemaValidates(t *testing.T) {
	s := compileSchema(t)
	valid, _ := filepath.Glob("testdata/valid/*.yaml")
	if len(valid) == 0 {
		t.Fatal("no testdata/valid/*.yaml")
	}
	for _, f := range valid {
		t.Run("valid/"+strings.TrimSuffix(filepath.Base(f), ".yaml"), func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			if err := s.Validate(yamlToJSON(t, data)); err != nil {
				t.Errorf("schema rejects a valid declaration: %v", err)
			}
		})
	}

	const base = "version: 1\ndialect: sqlite\ngrants:\n  client_credentials: {}\n"
	for _, tc := range []struct{ name, doc string }{
		{"unknown_top_level_key", base + "dialekt: sqlite\n"},
		{"missing_dialect", "version: 1\ngrants: {password: {}}\n"},
		{"missing_version", "dialect: sqlite\ngrants: {password: {}}\n"},
		{"version_2", "version: 2\ndialect: sqlite\ngrants: {password: {}}\n"},
		{"unknown_dialect", "version: 1\ndialect: oracle\ngrants: {password: {}}\n"},
		{"rotation_not_boolean", base + "  refresh_token: {rotation: \"yes\"}\n"},
		{"unknown_grant", base + "  jwt_bearer: {}\n"},
		{"pkce_value", base + "  authorization_code: {pkce: sometimes}\n"},
		{"grant_as_boolean", base + "  password: true\n"},
		{"duration_without_unit", base + "lifetimes: {access_token: \"5\"}\n"},
		{"user_code_too_short", base + "  device_code: {user_code: {length: 4}}\n"},
		{"extension_not_uri", base + "  extensions: [partner]\n"},
		{"scope_with_space", base + "scopes: {known: [\"a b\"]}\n"},
		{"duplicate_scope", base + "scopes: {known: [a, a]}\n"},
		{"table_kind_unknown", base + "storage: {tables: {tokens: {name: t}}}\n"},
		{"table_name_uppercase", base + "storage: {tables: {clients: {name: Clients}}}\n"},
		{"extra_columns_on_codes", base + "storage: {extra_columns: {authorization_codes: [{name: a, type: text}]}}\n"},
		{"column_type_unknown", base + "storage: {extra_columns: {clients: [{name: a, type: string}]}}\n"},
		{"column_without_type", base + "storage: {extra_columns: {clients: [{name: a}]}}\n"},
		{"users_missing_keys", base + "storage: {users: {table: accounts}}\n"},
		{"user_id_type", base + "storage: {users: {table: a, id: {column: id, type: serial}, username: u, password_hash: p}}\n"},
		{"index_without_columns", base + "storage: {indexes: {clients: [{columns: []}]}}\n"},
		{"no_grants", "version: 1\ndialect: sqlite\ngrants: {}\n"},
		{"table_prefix_dash", base + "storage: {table_prefix: oauth-}\n"},
	} {
		t.Run("invalid/"+tc.name, func(t *testing.T) {
			if err := s.Validate(yamlToJSON(t, []byte(tc.doc))); err == nil {
				t.Errorf("schema accepts:\n%s", tc.doc)
			}
			if _, err := Parse("oauthgen.yaml", []byte(tc.doc)); err == nil {
				t.Errorf("Parse accepts what the schema rejects:\n%s", tc.doc)
			}
		})
	}
}
