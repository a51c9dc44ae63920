package schema

import (
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// loader holds what one Parse learns: positions, the YAML tag of each
// literal, and the errors found so far.
type loader struct {
	file string
	// pos is where each path was written: the key of a mapping entry, the
	// item of a list.
	pos map[string]Position
	// tags is the resolved YAML tag of each kindLiteral value ("!!int"),
	// so a default can be checked against its column's type.
	tags map[string]string
	// written marks the paths present in the file (absent ones were
	// defaulted).
	written map[string]bool
	// failed marks paths whose value could not be decoded; later checks
	// that touch them stay quiet rather than pile on. below marks the
	// paths with a failure at or under them, so touched is O(depth).
	failed   map[string]bool
	below    map[string]bool
	errs     ErrorList
	warnings ErrorList
}

func newLoader(file string) *loader {
	return &loader{
		file:    file,
		pos:     map[string]Position{},
		tags:    map[string]string{},
		written: map[string]bool{},
		failed:  map[string]bool{},
		below:   map[string]bool{},
	}
}

// errorAt records an error at an explicit position.
func (l *loader) errorAt(p Position, path, format string, args ...any) {
	if !p.IsValid() {
		p = Position{Line: 1, Column: 1}
	}
	l.errs = append(l.errs, &Error{File: l.file, Pos: p, Path: path, Msg: fmt.Sprintf(format, args...)})
}

// errorf records an error about path, at its position.
func (l *loader) errorf(path, format string, args ...any) {
	l.errorAt(l.at(path), path, format, args...)
}

// fail records a decoding error about path and marks it failed.
func (l *loader) fail(path, format string, args ...any) {
	l.markFailed(path)
	l.errorf(path, format, args...)
}

// warnf records a warning about path.
func (l *loader) warnf(path, format string, args ...any) {
	l.warnings = append(l.warnings, &Error{File: l.file, Pos: l.at(path), Path: path, Msg: fmt.Sprintf(format, args...)})
}

// at is the position of path, or of its nearest written ancestor.
func (l *loader) at(path string) Position {
	for {
		if p, ok := l.pos[path]; ok {
			return p
		}
		if path == "" {
			return Position{Line: 1, Column: 1}
		}
		path = parentPath(path)
	}
}

// markFailed records that the value at path could not be decoded.
func (l *loader) markFailed(path string) {
	l.failed[path] = true
	for p := path; ; p = parentPath(p) {
		l.below[p] = true
		if p == "" {
			return
		}
	}
}

// touched reports whether a value at, under or above path failed to
// decode, so that a rule about path would judge a half-read value.
func (l *loader) touched(path string) bool {
	if l.below[path] {
		return true
	}
	for p := path; p != ""; {
		p = parentPath(p)
		if l.failed[p] {
			return true
		}
	}
	return false
}

// failedAt reports whether the value at path, or one holding it, failed
// to decode; unlike touched, failures below path do not count.
func (l *loader) failedAt(path string) bool {
	for p := path; ; p = parentPath(p) {
		if l.failed[p] {
			return true
		}
		if p == "" {
			return false
		}
	}
}

// firstAt says where the first of two duplicates is, seen from the
// second: "line 9", or "column 11" when both are on one line.
func firstAt(first, dup Position) string {
	if first.Line == dup.Line {
		return fmt.Sprintf("column %d", first.Column)
	}
	return fmt.Sprintf("line %d", first.Line)
}

// firstAtPath is firstAt for two paths.
func (l *loader) firstAtPath(first, dup string) string { return firstAt(l.at(first), l.at(dup)) }

func nodePos(n *yaml.Node) Position { return Position{Line: n.Line, Column: n.Column} }

// describe renders a YAML value for "got …" in messages.
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.AliasNode:
		return "an alias"
	case yaml.DocumentNode:
		return "a document"
	}
	switch n.ShortTag() {
	case "!!str":
		return quote(n.Value)
	case "!!null":
		if n.Value == "" {
			return "nothing"
		}
		return n.Value
	}
	if r := []rune(n.Value); len(r) > 48 {
		return string(r[:48]) + "…"
	}
	return n.Value
}

// want names what a spec accepts, for "want …" in messages.
func want(s *spec) string {
	switch s.kind {
	case kindObject, kindMap:
		if s.nullable {
			return "a mapping (write {} to keep the defaults)"
		}
		return "a mapping"
	case kindList:
		return "a list"
	case kindBool:
		return "a boolean"
	case kindInt:
		return "an integer"
	case kindDuration:
		return `a Go duration such as "1h" or "30s"`
	case kindLiteral:
		return "a string, number, boolean or timestamp"
	}
	if len(s.enum) > 0 {
		return "one of " + strings.Join(s.enum, ", ")
	}
	return "a string"
}

// wantGot is the message for a value of the wrong kind. A list of choices
// ends with a semicolon, so the got part stays apart from it.
func wantGot(s *spec, n *yaml.Node) string {
	sep := ", "
	if s.kind == kindString && len(s.enum) > 0 {
		sep = "; "
	}
	return "want " + want(s) + sep + "got " + describe(n)
}

// scalarTags are the YAML 1.2 core tags a scalar may resolve to; anything
// else is an application tag (!env, !include) oauthgen does not know.
var scalarTags = map[string]bool{"!!str": true, "!!int": true, "!!float": true, "!!bool": true, "!!null": true, "!!timestamp": true}

// usable reports whether n can be decoded at all, recording why not.
func (l *loader) usable(n *yaml.Node, path string) bool {
	switch n.Kind {
	case yaml.AliasNode:
		l.fail(path, "aliases (*%s) are not supported; write the value out in full", n.Value)
		return false
	case yaml.ScalarNode:
		if t := n.ShortTag(); !scalarTags[t] {
			l.fail(path, "unsupported YAML tag %s", t)
			return false
		}
	case yaml.MappingNode:
		if t := n.ShortTag(); t != "!!map" {
			l.fail(path, "unsupported YAML tag %s on a mapping", t)
			return false
		}
	case yaml.SequenceNode:
		if t := n.ShortTag(); t != "!!seq" {
			l.fail(path, "unsupported YAML tag %s on a list", t)
			return false
		}
	default:
		l.fail(path, "unexpected YAML node")
		return false
	}
	return true
}

// decode reads n, the value at path, into v as s describes. v is
// addressable; the caller has recorded path's position.
func (l *loader) decode(n *yaml.Node, s *spec, v reflect.Value, path string) {
	if !l.usable(n, path) {
		return
	}
	l.written[path] = true
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" {
		switch {
		case s.kind == kindObject && s.nullable:
			v.Set(reflect.New(v.Type().Elem()))
			l.defaults(s, v.Elem(), path, nil)
		case s.kind == kindLiteral:
			// default: null is no default.
		default:
			l.fail(path, "%s", wantGot(s, n))
		}
		return
	}
	switch s.kind {
	case kindObject:
		l.decodeObject(n, s, v, path)
	case kindMap:
		l.decodeMap(n, s, v, path)
	case kindList:
		if n.Kind != yaml.SequenceNode {
			l.fail(path, "%s", wantGot(s, n))
			return
		}
		list := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
		for i, item := range n.Content {
			p := indexPath(path, i)
			l.pos[p] = nodePos(item)
			l.decode(item, s.elem, list.Index(i), p)
		}
		v.Set(list)
	default:
		l.decodeScalar(n, s, v, path)
	}
}

func (l *loader) decodeScalar(n *yaml.Node, s *spec, v reflect.Value, path string) {
	mismatch := func() { l.fail(path, "%s", wantGot(s, n)) }
	if n.Kind != yaml.ScalarNode {
		mismatch()
		return
	}
	tag := n.ShortTag()
	switch s.kind {
	case kindBool:
		b, err := strconv.ParseBool(n.Value)
		if tag != "!!bool" || err != nil {
			mismatch()
			return
		}
		v.SetBool(b)
	case kindInt:
		var i int64
		if tag != "!!int" || n.Decode(&i) != nil {
			mismatch()
			return
		}
		v.SetInt(i)
	case kindString:
		if tag != "!!str" {
			// YAML read 42 or 2024-01-02 as a number or a date; quoting
			// makes it the string the user meant (no enum value is one).
			hint := ""
			if len(s.enum) == 0 {
				hint = fmt.Sprintf(" (quote it: %q)", n.Value)
			}
			l.fail(path, "%s%s", wantGot(s, n), hint)
			return
		}
		if len(s.enum) > 0 && !contains(s.enum, n.Value) {
			msg := fmt.Sprintf("want one of %s; got %s", strings.Join(s.enum, ", "), quote(n.Value))
			if g := suggest(n.Value, s.enum); g != "" {
				msg += fmt.Sprintf("; did you mean %q?", g)
			}
			l.fail(path, "%s", msg)
			return
		}
		v.SetString(n.Value)
	case kindDuration:
		if tag != "!!str" {
			// "5" is seconds to a person but nothing to Go: say which unit.
			hint := ""
			if tag == "!!int" || tag == "!!float" {
				hint = fmt.Sprintf(" (a unit is required: %ss?)", n.Value)
			}
			l.fail(path, "want %s, got %s%s", want(s), describe(n), hint)
			return
		}
		d, err := time.ParseDuration(n.Value)
		if err != nil {
			l.fail(path, "%s", wantGot(s, n))
			return
		}
		v.Set(reflect.ValueOf(Duration{d}))
	case kindLiteral:
		l.tags[path] = tag
		lit := n.Value
		v.Set(reflect.ValueOf(&lit))
	}
}

// mapEntries walks a mapping's entries, checking each key: a plain
// string, not a merge key, not repeated. fn gets the usable ones.
func (l *loader) mapEntries(n *yaml.Node, path string, fn func(key string, k, v *yaml.Node)) {
	seen := map[string]Position{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		switch {
		case k.Kind == yaml.AliasNode:
			l.markFailed(path)
			l.errorAt(nodePos(k), path, "aliases (*%s) are not supported; write the key out", k.Value)
			continue
		case k.Kind != yaml.ScalarNode:
			l.markFailed(path)
			l.errorAt(nodePos(k), path, "want a string key, got %s", describe(k))
			continue
		case k.ShortTag() == "!!merge":
			l.markFailed(path)
			l.errorAt(nodePos(k), path, "merge keys (<<) are not supported; write the keys out in full")
			continue
		}
		key := k.Value
		if key == "" {
			l.markFailed(path)
			l.errorAt(nodePos(k), path, "empty key")
			continue
		}
		p := joinPath(path, key)
		if first, dup := seen[key]; dup {
			l.errorAt(nodePos(k), p, "duplicate key (first at %s)", firstAt(first, nodePos(k)))
			continue
		}
		seen[key] = nodePos(k)
		fn(key, k, v)
	}
}

// unknownKey reports a key s does not have, with the nearest known one.
func (l *loader) unknownKey(s *spec, known []string, k *yaml.Node, path, key string) {
	l.markFailed(path)
	msg := "unknown key"
	hint := ""
	if s.hint != nil {
		hint = s.hint(key)
	}
	switch g := suggest(key, known); {
	case g != "":
		msg += fmt.Sprintf("; did you mean %q?", g)
	case hint != "":
		msg += "; " + hint
	case s.kind == kindObject && keyElsewhere(key) != "":
		// Only for fixed keys: a table kind is known in several maps.
		msg += fmt.Sprintf("; %q belongs under %s", key, keyElsewhere(key))
	case len(known) <= 12:
		msg += "; known keys: " + strings.Join(known, ", ")
	}
	l.errorAt(nodePos(k), path, "%s", msg)
}

// keyElsewhere finds the one place in the declaration where key is known,
// for a key written under the wrong block ("rotation" under
// authorization_code). It returns "" when there is none, or several.
func keyElsewhere(key string) string {
	var found []string
	var walk func(s *spec, path string)
	walk = func(s *spec, path string) {
		switch s.kind {
		case kindObject:
			for _, f := range s.fields {
				if f.key == key {
					found = append(found, displayPath(path))
				}
				walk(f.spec, joinPath(path, f.key))
			}
		case kindList:
			walk(s.elem, path+"[]")
		case kindMap:
			if contains(s.keys, key) {
				found = append(found, displayPath(path))
			}
			walk(s.elem, joinPath(path, "<table>"))
		}
	}
	walk(declarationSpec, "")
	if len(found) == 1 {
		return found[0]
	}
	return ""
}

func displayPath(p string) string {
	if p == "" {
		return "the top level"
	}
	return p
}

func (l *loader) decodeObject(n *yaml.Node, s *spec, v reflect.Value, path string) {
	if n.Kind != yaml.MappingNode {
		l.fail(path, "%s", wantGot(s, n))
		return
	}
	if v.Kind() == reflect.Pointer {
		v.Set(reflect.New(v.Type().Elem()))
		v = v.Elem()
	}
	fields := jsonFields(v.Type())
	present := map[string]bool{}
	l.mapEntries(n, path, func(key string, k, val *yaml.Node) {
		p := joinPath(path, key)
		f := s.field(key)
		if f == nil {
			l.unknownKey(s, s.fieldKeys(), k, p, key)
			return
		}
		present[key] = true
		l.pos[p] = nodePos(k)
		l.decode(val, f.spec, v.FieldByIndex(fields[key]), p)
	})
	l.defaults(s, v, path, present)
}

// defaults fills the fields of the struct v (the object s at path) that
// the file left out, and reports the required ones.
func (l *loader) defaults(s *spec, v reflect.Value, path string, present map[string]bool) {
	fields := jsonFields(v.Type())
	for _, f := range s.fields {
		if present[f.key] {
			continue
		}
		p := joinPath(path, f.key)
		if f.required {
			l.markFailed(p)
			l.errorf(p, "%s", missing(f))
			continue
		}
		setDefault(f.spec, v.FieldByIndex(fields[f.key]))
	}
}

// missing is the error for a required key left out.
func missing(f *field) string {
	switch {
	case f.kind == kindInt && f.min == f.max && f.max > 0:
		return fmt.Sprintf("required; write %s: %d", f.key, f.min)
	case len(f.enum) > 0:
		return "required: one of " + strings.Join(f.enum, ", ")
	}
	return "required"
}

// setDefault sets v, a value the file left out, to s's default; a nested
// object (not a pointer: those stay nil when absent) gets its own defaults.
func setDefault(s *spec, v reflect.Value) {
	switch {
	case s.kind == kindObject && v.Kind() == reflect.Struct:
		fields := jsonFields(v.Type())
		for _, f := range s.fields {
			setDefault(f.spec, v.FieldByIndex(fields[f.key]))
		}
	case s.def == nil:
	case s.kind == kindDuration:
		d, _ := time.ParseDuration(s.def.(string))
		v.Set(reflect.ValueOf(Duration{d}))
	case s.kind == kindBool:
		v.SetBool(s.def.(bool))
	case s.kind == kindInt:
		v.SetInt(int64(s.def.(int)))
	case s.kind == kindString:
		v.SetString(s.def.(string))
	}
}

func (l *loader) decodeMap(n *yaml.Node, s *spec, v reflect.Value, path string) {
	if n.Kind != yaml.MappingNode {
		l.fail(path, "%s", wantGot(s, n))
		return
	}
	m := reflect.MakeMap(v.Type())
	l.mapEntries(n, path, func(key string, k, val *yaml.Node) {
		p := joinPath(path, key)
		if !contains(s.keys, key) {
			l.unknownKey(s, s.keys, k, p, key)
			return
		}
		l.pos[p] = nodePos(k)
		elem := reflect.New(v.Type().Elem()).Elem()
		l.decode(val, s.elem, elem, p)
		m.SetMapIndex(reflect.ValueOf(key), elem)
	})
	v.Set(m)
}

// jsonFields maps the json names of a struct's fields, promoted ones
// included (Grant's enabled and drop), to their indexes.
func jsonFields(t reflect.Type) map[string][]int {
	m := map[string][]int{}
	for _, f := range reflect.VisibleFields(t) {
		if f.Anonymous || !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "" || name == "-" {
			continue
		}
		m[name] = f.Index
	}
	return m
}

func contains(list []string, s string) bool { return slices.Contains(list, s) }
