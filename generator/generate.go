package generator

import (
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"golang.org/x/mod/modfile"

	"github.com/oauthgen/oauthgen/schema"
)

// Output is a generated file set, in memory until Write.
type Output struct {
	// Dir is the output folder.
	Dir string
	// Files maps slash-separated paths, relative to Dir, to contents.
	Files map[string][]byte
	// Remove lists files an earlier run generated that this one does not.
	Remove []string
	// Migration is the name of the migration this run adds, "" for none.
	Migration string
	// Declaration is the path of the declaration the output is for; it
	// may sit inside Dir (out: .) and is not a stray file there.
	Declaration string
}

// Options adjust Generate.
type Options struct {
	// ImportPath is the output package's import path; empty finds it from
	// the nearest go.mod above the output folder.
	ImportPath string
}

// Generate loads the declaration at configPath and generates its output.
// Nothing is written: see Output.Write and Output.Check. Declaration
// errors are a schema.ErrorList.
func Generate(configPath string, opts Options) (*Output, error) {
	d, err := schema.Load(configPath)
	if err != nil {
		return nil, err
	}
	return GenerateFrom(d, opts)
}

// GenerateFrom generates the output of a loaded declaration.
func GenerateFrom(d *schema.Declaration, opts Options) (*Output, error) {
	outDir := filepath.Join(filepath.Dir(d.File), filepath.FromSlash(d.Out))
	importPath := opts.ImportPath
	if importPath == "" {
		var err error
		if importPath, err = importPathOf(outDir); err != nil {
			return nil, err
		}
	}
	lock, migrations, err := readLock(outDir)
	if err != nil {
		return nil, err
	}
	if lock != nil && lock.Dialect != d.Dialect {
		return nil, d.Errorf("dialect", "the migrations in %s are for %s; a new dialect needs a new output folder", d.Out, lock.Dialect)
	}
	p, err := BuildPlan(d, importPath)
	if err != nil {
		return nil, err
	}
	var old *SchemaState
	if lock != nil {
		old = lock.Schema
	}
	df, err := diffSchemas(d, old, p.Schema)
	if err != nil {
		return nil, err
	}
	p.Schema = df.state

	out := &Output{Dir: outDir, Files: map[string][]byte{}, Declaration: d.File}
	next := &Lock{Version: lockVersion, Dialect: d.Dialect, Grants: grantNames(d), Schema: df.state, Declaration: d}
	if lock != nil {
		next.Migrations = slices.Clone(lock.Migrations)
	}
	for _, m := range next.Migrations {
		out.Files["migrations/"+m.Name] = migrations[m.Name]
	}
	if len(df.ops) > 0 {
		sql, err := migrationFile(d.Dialect, df.ops)
		if err != nil {
			return nil, err
		}
		name := fmt.Sprintf("%05d_%s.sql", len(next.Migrations)+1, migrationSlug(lock, d))
		out.Files["migrations/"+name] = sql
		out.Migration = name
		next.Migrations = append(next.Migrations, LockedFile{Name: name, SHA256: sha256Hex(sql)})
	}
	if len(next.Migrations) == 0 {
		return nil, errors.New("no migration to generate from: the declaration has no tables") // unreachable: clients always exist
	}

	out.Files["queries.sql"] = queriesFile(p)
	if ext := externalSchemaFile(p); ext != nil {
		out.Files[externalSchema] = ext
	}
	out.Files["sqlc.yaml"] = sqlcConfig(p)
	generated, err := runSQLC(out.Files)
	if err != nil {
		return nil, err
	}
	for name, b := range generated {
		out.Files[name] = b
	}
	store, err := storeFile(p)
	if err != nil {
		return nil, err
	}
	out.Files["store.go"] = store

	for name := range out.Files {
		if !strings.HasPrefix(name, "migrations/") {
			next.Files = append(next.Files, name)
		}
	}
	next.Files = append(next.Files, LockFile)
	slices.Sort(next.Files)
	if lock != nil {
		for _, f := range lock.Files {
			if !slices.Contains(next.Files, f) {
				out.Remove = append(out.Remove, f)
			}
		}
	}
	b, err := next.encode()
	if err != nil {
		return nil, err
	}
	out.Files[LockFile] = b
	return out, nil
}

// importPathOf finds the import path of dir from the nearest go.mod above it.
func importPathOf(dir string) (string, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	for d := abs; ; d = filepath.Dir(d) {
		data, err := os.ReadFile(filepath.Join(d, "go.mod"))
		if err == nil {
			mod := modfile.ModulePath(data)
			if mod == "" {
				return "", fmt.Errorf("%s: no module line", filepath.Join(d, "go.mod"))
			}
			rel, err := filepath.Rel(d, abs)
			if err != nil {
				return "", err
			}
			if rel == "." {
				return mod, nil
			}
			return path.Join(mod, filepath.ToSlash(rel)), nil
		}
		if !errors.Is(err, os.ErrNotExist) {
			return "", err
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("%s: no go.mod in this folder or above it; the generated Store is a Go package and needs a module (go mod init)", abs)
		}
	}
}

// migrationSlug names a migration after what the declaration changed
// since the last lock: enable_refresh_token, add_clients_display_name, …
func migrationSlug(prev *Lock, d *schema.Declaration) string {
	if prev == nil || prev.Declaration == nil {
		return "init"
	}
	was := prev.Declaration
	var parts []string
	for _, g := range schema.GrantKeys() {
		before, now := was.Grants.Grant(g), d.Grants.Grant(g)
		switch {
		case now.On() && !before.On():
			parts = append(parts, "enable_"+g)
		case now != nil && !now.KeepsTables() && before.KeepsTables():
			parts = append(parts, "drop_"+g)
		case !now.On() && before.On():
			parts = append(parts, "disable_"+g)
		}
	}
	if d.OpenID() && !was.OpenID() {
		parts = append(parts, "enable_openid_connect")
	}
	if d.JWTAccessTokens() && !was.JWTAccessTokens() {
		parts = append(parts, "enable_jwt_access_tokens")
	}
	for _, kind := range schema.TableKinds() {
		if was.TableName(kind) != d.TableName(kind) && d.Storage.Tables[kind].RenamedFrom != "" {
			parts = append(parts, "rename_"+kind)
		}
		cols := func(x *schema.Declaration) []string {
			var out []string
			for _, c := range x.Storage.ExtraColumns[kind] {
				out = append(out, c.Name)
			}
			return out
		}
		for _, c := range cols(d) {
			if !slices.Contains(cols(was), c) {
				parts = append(parts, "add_"+kind+"_"+c)
			}
		}
		for _, c := range cols(was) {
			if !slices.Contains(cols(d), c) {
				parts = append(parts, "drop_"+kind+"_"+c)
			}
		}
		idx := func(x *schema.Declaration) []string {
			var out []string
			for _, ix := range x.Storage.Indexes[kind] {
				out = append(out, kind+"_"+strings.Join(ix.Columns, "_"))
			}
			return out
		}
		for _, ix := range idx(d) {
			if !slices.Contains(idx(was), ix) {
				parts = append(parts, "index_"+ix)
			}
		}
		for _, ix := range idx(was) {
			if !slices.Contains(idx(d), ix) {
				parts = append(parts, "drop_index_"+ix)
			}
		}
	}
	if len(parts) == 0 {
		return "update_schema"
	}
	// Long names are cut between parts, not inside one.
	slug := slugPart(parts[0])
	for i, p := range parts[1:] {
		if len(slug)+1+len(p) > 50 {
			if i < len(parts)-1 {
				slug += "_and_more"
			}
			break
		}
		slug += "_" + slugPart(p)
	}
	return slug
}
