package generator

import (
	"bytes"
	"errors"
	"fmt"
	"go/format"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"text/template"

	"github.com/oauthgen/oauthgen/schema"
	"github.com/oauthgen/oauthgen/templates"
)

// ServerOptions describe the server `oauthgen init --server` scaffolds.
type ServerOptions struct {
	// Dialect of the declaration.
	Dialect schema.Dialect
	// Grants are the grant keys to enable; none: DefaultServerGrants.
	Grants []string
	// Config is the declaration's file name, in the package's folder
	// (default oauthgen.yaml).
	Config string
	// ImportPath is the import path of the package's folder; the command
	// is named after its last element, and the generated Store is its
	// oauthstore subpackage.
	ImportPath string
	// Features: OpenID Connect (the login page is the OpenID Provider's)
	// and the access token format.
	Features
}

// DefaultServerGrants are the grants of a server scaffolded without
// --grant: the quickstart's, every grant but implicit.
var DefaultServerGrants = []string{
	schema.GrantAuthorizationCode, schema.GrantClientCredentials, schema.GrantPassword,
	schema.GrantRefreshToken, schema.GrantDeviceCode,
}

// ScaffoldFile is one file of a scaffolded server.
type ScaffoldFile struct {
	// Path is relative to the package's folder, with slashes.
	Path string
	Data []byte
}

// serverData is what the server templates see.
type serverData struct {
	Name, Dialect, DialectName, Config, StoreImport string
	// InitFlags are the flags of `oauthgen init --server` that scaffold
	// this server again; GenerateFlags those of its go:generate line.
	InitFlags, GenerateFlags string
	// Enabled grants.
	AC, CC, PW, RT, DC, IM bool
	// OpenID: openid_connect is declared. JWT: access_tokens.format jwt.
	OpenID, JWT bool
	// AuthorizePage: the login and consent page (authorization code,
	// implicit). Public: a public demo client (authorization code, device
	// flow). Pages: any HTML page at all.
	AuthorizePage, Public, Pages bool
	// ConfidentialGrants and PublicGrants are the demo clients' grants,
	// as Go expressions.
	ConfidentialGrants, PublicGrants string
}

// ScaffoldServer renders the server package `oauthgen init --server`
// writes: the declaration, main.go (the CLI), serve.go, demo.go and, with
// grants a person approves, pages.go and its templates. The Go files are
// gofmt'd; the declaration is parsed before it is returned.
func ScaffoldServer(opts ServerOptions) ([]ScaffoldFile, error) {
	grants := opts.Grants
	if len(grants) == 0 {
		grants = DefaultServerGrants
	}
	if opts.Config == "" {
		opts.Config = "oauthgen.yaml"
	}
	if opts.ImportPath == "" {
		return nil, errors.New("no import path for the server package")
	}
	has := func(g string) bool { return slices.Contains(grants, g) }
	d := serverData{
		Name: path.Base(opts.ImportPath), Dialect: string(opts.Dialect), Config: opts.Config,
		StoreImport: opts.ImportPath + "/oauthstore",
		AC:          has(schema.GrantAuthorizationCode), CC: has(schema.GrantClientCredentials), PW: has(schema.GrantPassword),
		RT: has(schema.GrantRefreshToken), DC: has(schema.GrantDeviceCode), IM: has(schema.GrantImplicit),
	}
	d.OpenID, d.JWT = opts.OpenID, opts.AccessTokens == "jwt"
	d.DialectName = map[string]string{"sqlite": "SQLite", "postgres": "PostgreSQL", "mysql": "MySQL"}[d.Dialect]
	d.AuthorizePage = d.AC || d.IM
	d.Public = d.AC || d.DC
	d.Pages = d.AuthorizePage || d.DC
	if d.Pages && !d.PW {
		return nil, errors.New("the scaffolded pages sign users in against the users table, which the password grant brings: add --grant password " +
			"(or scaffold with it, then map your own users table with storage.users)")
	}
	if opts.Dialect != schema.SQLite {
		d.InitFlags = " --dialect " + d.Dialect
	}
	if !slices.Equal(grants, DefaultServerGrants) {
		for _, g := range grants {
			d.InitFlags += " --grant " + g
		}
	}
	if d.OpenID {
		d.InitFlags += " --openid"
	}
	if d.JWT {
		d.InitFlags += " --access-tokens jwt"
	}
	if a := opts.SigningAlgorithm; a != "" && a != schema.AlgRS256 {
		d.InitFlags += " --signing-algorithm " + a
	}
	if opts.Config != "oauthgen.yaml" {
		d.GenerateFlags = " --config " + opts.Config
	}
	d.ConfidentialGrants = goGrants(map[string]bool{
		"GrantClientCredentials": d.CC, "GrantPassword": d.PW, "GrantAuthorizationCode": d.AC, "GrantRefreshToken": d.RT,
	}, "GrantClientCredentials", "GrantPassword", "GrantAuthorizationCode", "GrantRefreshToken")
	d.PublicGrants = goGrants(map[string]bool{
		"GrantAuthorizationCode": d.AC, "GrantRefreshToken": d.RT, "GrantDeviceCode": d.DC,
	}, "GrantAuthorizationCode", "GrantRefreshToken", "GrantDeviceCode")

	decl, err := scaffoldDeclaration(opts.Dialect, grants, opts.Features, true)
	if err != nil {
		return nil, err
	}
	files := []ScaffoldFile{{Path: opts.Config, Data: decl}}
	goFiles := []string{"main.go", "serve.go", "demo.go", "keys.go"}
	if d.Pages {
		goFiles = append(goFiles, "pages.go")
	}
	for _, name := range goFiles {
		src, err := renderServerFile(name, d)
		if err != nil {
			return nil, err
		}
		files = append(files, ScaffoldFile{Path: name, Data: src})
	}
	if d.Pages {
		pages := []string{"layout.html", "message.html"}
		if d.AuthorizePage {
			pages = append(pages, "consent.html")
		}
		if d.AC {
			pages = append(pages, "callback.html")
		}
		if d.DC {
			pages = append(pages, "device.html")
		}
		for _, name := range pages {
			b, err := fs.ReadFile(templates.Server, "server/pages/"+name)
			if err != nil {
				return nil, err
			}
			files = append(files, ScaffoldFile{Path: "pages/" + name, Data: b})
		}
	}
	slices.SortFunc(files, func(a, b ScaffoldFile) int { return strings.Compare(a.Path, b.Path) })
	return files, nil
}

// renderServerFile renders server/<name>.tmpl and gofmts it.
func renderServerFile(name string, d serverData) ([]byte, error) {
	t, err := template.ParseFS(templates.Server, "server/"+name+".tmpl")
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if err := t.Execute(&buf, d); err != nil {
		return nil, err
	}
	src, err := format.Source(buf.Bytes())
	if err != nil {
		return nil, fmt.Errorf("%s: %w\n%s", name, err, buf.Bytes())
	}
	return src, nil
}

// goGrants lists the runtime constants named in order whose grant is on,
// as Go source: "runtime.GrantPassword, runtime.GrantRefreshToken".
func goGrants(on map[string]bool, order ...string) string {
	var out []string
	for _, c := range order {
		if on[c] {
			out = append(out, "runtime."+c)
		}
	}
	return strings.Join(out, ", ")
}

// ExistError is WriteServer's refusal: files it would have written exist.
type ExistError struct{ Paths []string }

func (e *ExistError) Error() string {
	return "not overwriting what exists: " + strings.Join(e.Paths, ", ") + "; nothing written (scaffold into a new folder with --config DIR/oauthgen.yaml)"
}

// WriteServer scaffolds the server package into the folder of config (the
// declaration's path), finding its import path from the nearest go.mod,
// and returns the paths it wrote. It never overwrites a file: if any of
// them exists, it writes nothing and returns an *ExistError naming them.
func WriteServer(config string, opts ServerOptions) ([]string, error) {
	dir := filepath.Dir(config)
	importPath, err := importPathOf(dir)
	if err != nil {
		return nil, err
	}
	opts.ImportPath, opts.Config = importPath, filepath.Base(config)
	files, err := ScaffoldServer(opts)
	if err != nil {
		return nil, err
	}
	var exist, written []string
	for _, f := range files {
		p := filepath.Join(dir, filepath.FromSlash(f.Path))
		if _, err := os.Lstat(p); err == nil {
			exist = append(exist, p)
		} else if !errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
	}
	if len(exist) > 0 {
		return nil, &ExistError{Paths: exist}
	}
	for _, f := range files {
		p := filepath.Join(dir, filepath.FromSlash(f.Path))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return written, err
		}
		// O_EXCL: a file created since the check above is not overwritten either.
		w, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if err != nil {
			return written, err
		}
		_, err = w.Write(f.Data)
		if cerr := w.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return written, err
		}
		written = append(written, p)
	}
	return written, nil
}
