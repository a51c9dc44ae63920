package schema

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// FuzzParse: no input panics, and every failure is an ErrorList of
// positioned, sorted, distinct errors about the file given.
//
//	go test -run='^$' -fuzz=FuzzParse -fuzztime=60s ./schema
func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob("testdata/*/*.yaml")
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	for _, s := range []string{
		base,
		base + "  refresh_token: {rotation: yes}\n",
		base + "scopes: &a {known: [a]}\nbearer: *a\n",
		base + "storage: {<<: {table_prefix: x}}\n",
		base + "? [a, b]\n: c\n",
		base + "storage: {extra_columns: {clients: [{name: a, type: time, default: 2001-12-14 21:59:43.10 -5}]}}\n",
		"%YAML 1.2\n---\n" + base,
		"{version: 1, dialect: sqlite, grants: {password: }}",
		"\ufeff" + base,
		"version: 1\r\ndialect: sqlite\r\ngrants:\r\n  password: {}\r\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		d, err := Parse("f.yaml", data)
		if err == nil {
			if d == nil {
				t.Fatal("nil declaration and nil error")
			}
			if d.Version != 1 || d.Package == "" || d.Out == "" || len(d.GrantTypes()) == 0 {
				t.Fatalf("a valid declaration without its defaults: %+v", d)
			}
			for _, kind := range TableKinds() {
				if d.TableName(kind) == "" {
					t.Fatalf("no name for the %s table", kind)
				}
				d.HasTable(kind)
			}
			if p := d.Pos("grants.x.y[3]"); !p.IsValid() {
				t.Fatalf("Pos of an unwritten path = %v", p)
			}
			return
		}
		if d != nil {
			t.Fatal("a declaration and an error")
		}
		var list ErrorList
		if !errors.As(err, &list) || len(list) == 0 {
			t.Fatalf("error is not a non-empty ErrorList: %T %v", err, err)
		}
		for i, e := range list {
			if e == nil || e.Pos.Line < 1 || e.Pos.Column < 1 || e.Msg == "" || e.File != "f.yaml" {
				t.Fatalf("error %d is not positioned or has no message: %#v", i, e)
			}
			if i > 0 {
				p := list[i-1]
				if p.Pos.Line > e.Pos.Line || (p.Pos.Line == e.Pos.Line && p.Pos.Column > e.Pos.Column) {
					t.Fatalf("errors not sorted: %v before %v", p, e)
				}
				if *p == *e {
					t.Fatalf("duplicate error: %v", e)
				}
			}
		}
	})
}
