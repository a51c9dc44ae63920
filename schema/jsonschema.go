package schema

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"slices"
)

// SchemaURL is where editors find the JSON Schema; `oauthgen init` writes
// it in a yaml-language-server modeline at the top of oauthgen.yaml.
const SchemaURL = "https://raw.githubusercontent.com/oauthgen/oauthgen/main/schema/oauthgen.schema.json"

//go:embed oauthgen.schema.json
var jsonSchemaFile []byte

// JSONSchema returns the JSON Schema (draft-07, the draft
// yaml-language-server supports best) of oauthgen.yaml: keys, kinds,
// descriptions and defaults. It checks shapes, not the rules across keys;
// Parse is the authority.
func JSONSchema() []byte { return bytes.Clone(jsonSchemaFile) }

// generateJSONSchema renders declarationSpec as a JSON Schema. The file
// oauthgen.schema.json is its output, kept equal by TestJSONSchemaInSync
// (go test ./schema -update rewrites it).
func generateJSONSchema() ([]byte, error) {
	root := jsonSchemaOf(declarationSpec)
	root["$schema"] = "http://json-schema.org/draft-07/schema#"
	root["$id"] = SchemaURL
	root["title"] = "oauthgen.yaml"
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false) // keep "<", ">" and "&" readable in descriptions
	enc.SetIndent("", "  ")
	if err := enc.Encode(root); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func jsonSchemaOf(s *spec) map[string]any {
	m := map[string]any{}
	if s.doc != "" {
		m["description"] = s.doc
	}
	if s.def != nil {
		m["default"] = s.def
	}
	switch s.kind {
	case kindObject:
		m["type"] = "object"
		if s.nullable {
			m["type"] = []string{"object", "null"}
		}
		props := map[string]any{}
		var required []string
		for _, f := range s.fields {
			props[f.key] = jsonSchemaOf(f.spec)
			if f.required {
				required = append(required, f.key)
			}
		}
		m["properties"] = props
		m["additionalProperties"] = false
		if len(required) > 0 {
			m["required"] = required
		}
		if s.minProps > 0 {
			m["minProperties"] = s.minProps
		}
	case kindMap:
		m["type"] = "object"
		props := map[string]any{}
		for _, k := range s.keys {
			p := jsonSchemaOf(s.elem)
			if s.keyDoc != nil {
				p["description"] = s.keyDoc(k)
			}
			props[k] = p
		}
		m["properties"] = props
		m["additionalProperties"] = false
	case kindList:
		m["type"] = "array"
		m["items"] = jsonSchemaOf(s.elem)
		if s.minItems > 0 {
			m["minItems"] = s.minItems
		}
		if s.unique {
			m["uniqueItems"] = true
		}
	case kindBool:
		m["type"] = "boolean"
	case kindInt:
		m["type"] = "integer"
		if s.max > 0 {
			if s.min == s.max {
				m["const"] = s.min
			} else {
				m["minimum"], m["maximum"] = s.min, s.max
			}
		}
	case kindString:
		m["type"] = "string"
		if len(s.enum) > 0 {
			m["enum"] = slices.Clone(s.enum)
		}
	case kindDuration:
		m["type"] = "string"
		m["pattern"] = durationPattern
	case kindLiteral:
		m["type"] = []string{"string", "number", "boolean", "null"}
	}
	if s.pattern != "" {
		m["pattern"] = s.pattern
	}
	if s.maxLen > 0 {
		m["maxLength"] = s.maxLen
	}
	return m
}
