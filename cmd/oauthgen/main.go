// Command oauthgen generates an OAuth 2.0 storage layer (migrations, sqlc
// queries and a typed Store for the oauthgen runtime) from oauthgen.yaml.
//
//	oauthgen init --dialect sqlite --grant authorization_code --grant refresh_token
//	oauthgen generate
//	oauthgen generate --check   # in CI: exit 1 if the output is stale
//
// Installed as a tool of your module (go get -tool
// github.com/oauthgen/oauthgen/cmd/oauthgen), from go generate:
//
//	//go:generate go tool oauthgen generate
package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	rtdebug "runtime/debug"

	"github.com/urfave/cli/v2"

	"github.com/oauthgen/oauthgen/generator"
	"github.com/oauthgen/oauthgen/schema"
)

// Exit codes.
const (
	exitOK    = 0
	exitStale = 1 // --check found a difference, or generation failed
	exitUsage = 2 // a bad declaration or bad usage
)

func main() {
	os.Exit(run(os.Args, os.Stdout, os.Stderr))
}

// run runs the CLI and returns its exit code.
func run(args []string, stdout, stderr io.Writer) int {
	code := exitOK
	app := newApp(stdout, stderr, &code)
	if err := app.Run(args); err != nil {
		var exit cli.ExitCoder
		if errors.As(err, &exit) {
			if msg := exit.Error(); msg != "" {
				fmt.Fprintln(stderr, msg)
			}
			return exit.ExitCode()
		}
		fmt.Fprintf(stderr, "oauthgen: %v\n", err)
		return exitUsage
	}
	return code
}

var configFlag = &cli.StringFlag{
	Name:    "config",
	Aliases: []string{"c"},
	Value:   "oauthgen.yaml",
	Usage:   "the declaration `FILE`",
}

func newApp(stdout, stderr io.Writer, code *int) *cli.App {
	return &cli.App{
		Name:           "oauthgen",
		Usage:          "generate a typed OAuth 2.0 storage layer from oauthgen.yaml",
		Writer:         stdout,
		ErrWriter:      stderr,
		ExitErrHandler: func(*cli.Context, error) {}, // run decides the exit code
		OnUsageError: func(_ *cli.Context, err error, _ bool) error {
			return cli.Exit("oauthgen: "+err.Error(), exitUsage)
		},
		HideHelpCommand: true,
		Commands: []*cli.Command{
			{
				Name:  "init",
				Usage: "write a commented oauthgen.yaml to start from, or a whole server with --server",
				UsageText: `oauthgen init [--server] [--dialect sqlite|postgres|mysql] [--grant GRANT]... [--openid] [--access-tokens opaque|jwt] [--signing-algorithm RS256|ES256|EdDSA] [--config FILE]

Examples:
   oauthgen init
   oauthgen init --dialect postgres --grant authorization_code --grant refresh_token
   oauthgen init --server                     # the quickstart's server, in this folder
   oauthgen init --server --dialect postgres --config cmd/authserver/oauthgen.yaml
   oauthgen init --server --openid --access-tokens jwt   # OpenID Provider, JWT access tokens
   oauthgen init --server --dialect postgres --access-tokens jwt --signing-algorithm ES256   # the postgres example`,
				Description: "Writes a declaration with every key shown and explained. With --server, also a server\n" +
					"package you own beside it (main.go: serve, client create, user create; the login, consent\n" +
					"and device pages; demo seeding), in the module of the nearest go.mod. It never overwrites\n" +
					"a file.\nGrants: " + fmt.Sprint(schema.GrantKeys()) + " (default: client_credentials; with --server,\n" +
					"every grant but implicit).",
				Flags: []cli.Flag{
					configFlag,
					&cli.StringFlag{Name: "dialect", Aliases: []string{"d"}, Value: "sqlite", Usage: "SQL dialect: sqlite, postgres or mysql"},
					&cli.StringSliceFlag{Name: "grant", Aliases: []string{"g"}, Usage: "enable `GRANT` (repeat the flag for more)"},
					&cli.BoolFlag{Name: "server", Usage: "also scaffold a server package beside the declaration"},
					&cli.BoolFlag{Name: "openid", Usage: "enable OpenID Connect (needs authorization_code): ID tokens, UserInfo, discovery; the login page is the OpenID Provider's"},
					&cli.StringFlag{Name: "access-tokens", Value: "opaque", Usage: "access token `FORMAT`: opaque, or jwt (RFC 9068, verified offline with the JWKS)"},
					&cli.StringFlag{Name: "signing-algorithm", Value: "RS256", Usage: "`ALG` of the keys that sign: RS256 (every verifier supports it), or, for JWT access tokens without --openid, ES256 or EdDSA (signing costs ~30x less CPU than RS256)"},
				},
				Action: func(c *cli.Context) error {
					path := c.String("config")
					if c.Bool("server") {
						return initServer(c, path)
					}
					out, err := generator.ScaffoldFeatures(schema.Dialect(c.String("dialect")), c.StringSlice("grant"), initFeatures(c))
					if err != nil {
						return cli.Exit("oauthgen init: "+err.Error(), exitUsage)
					}
					f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
					if errors.Is(err, fs.ErrExist) {
						return cli.Exit(fmt.Sprintf("oauthgen init: %s exists; not overwriting it", path), exitUsage)
					}
					if err != nil {
						return cli.Exit("oauthgen init: "+err.Error(), exitStale)
					}
					if _, err := f.Write(out); err != nil {
						f.Close()
						return cli.Exit("oauthgen init: "+err.Error(), exitStale)
					}
					if err := f.Close(); err != nil {
						return cli.Exit("oauthgen init: "+err.Error(), exitStale)
					}
					fmt.Fprintf(c.App.Writer, "oauthgen: wrote %s; edit it, then run oauthgen generate --config %s (go tool oauthgen … when oauthgen is a tool of your module)\n", declName(path), path)
					return nil
				},
			},
			{
				Name:  "generate",
				Usage: "generate migrations, queries, sqlc code and the Store",
				UsageText: `oauthgen generate [--config FILE] [--check]

Examples:
   oauthgen generate
   oauthgen generate --config internal/auth/oauthgen.yaml
   oauthgen generate --check     # CI: exit 1 and print a diff when the output is stale
   //go:generate go tool oauthgen generate`,
				Description: "Writes the output folder the declaration names. After a schema change it adds one\n" +
					"migration; migrations already written are never changed. Exit codes: 0 ok, 1 stale\n" +
					"(--check) or failed, 2 bad declaration or usage.",
				Flags: []cli.Flag{
					configFlag,
					&cli.BoolFlag{Name: "check", Usage: "write nothing; exit 1 with a unified diff if the output is not up to date"},
				},
				Action: func(c *cli.Context) error {
					d, err := load(c)
					if err != nil {
						return err
					}
					name := declName(c.String("config"))
					out, err := generator.GenerateFrom(d, generator.Options{})
					if err != nil {
						return generateError(name, c.String("config"), err)
					}
					// Paths in messages are relative to the declaration's
					// folder, which the line names first.
					inDecl := func(p string) string {
						if r, err := filepath.Rel(filepath.Dir(d.File), p); err == nil {
							return filepath.ToSlash(r)
						}
						return filepath.ToSlash(p)
					}
					strays, err := out.Strays()
					if err != nil {
						return cli.Exit(fmt.Sprintf("oauthgen: %s: %v", name, err), exitStale)
					}
					if c.Bool("check") {
						diff, err := out.Check()
						if err != nil {
							return cli.Exit(fmt.Sprintf("oauthgen: %s: %v", name, err), exitStale)
						}
						fmt.Fprint(c.App.Writer, diff)
						for _, f := range strays {
							fmt.Fprintf(c.App.ErrWriter, "oauthgen: %s: %s was not written by oauthgen: move it out of %s (oauthgen owns that folder) or delete it\n",
								name, inDecl(filepath.Join(out.Dir, filepath.FromSlash(f))), inDecl(out.Dir)+"/")
						}
						if diff != "" {
							return cli.Exit(fmt.Sprintf("oauthgen: %s: %s is not up to date: run oauthgen generate", name, inDecl(out.Dir)+"/"), exitStale)
						}
						if len(strays) > 0 {
							return cli.Exit("", exitStale)
						}
						return nil
					}
					if err := out.Write(); err != nil {
						return cli.Exit(fmt.Sprintf("oauthgen: %s: %v", name, err), exitStale)
					}
					if out.Migration != "" {
						fmt.Fprintf(c.App.Writer, "oauthgen: %s: new migration %s\n", name, inDecl(filepath.Join(out.Dir, "migrations", out.Migration)))
					}
					for _, f := range strays {
						fmt.Fprintf(c.App.ErrWriter, "oauthgen: %s: warning: %s was not written by oauthgen; generate --check fails while it is there\n",
							name, inDecl(filepath.Join(out.Dir, filepath.FromSlash(f))))
					}
					return nil
				},
			},
			{
				Name:      "validate",
				Usage:     "check oauthgen.yaml and print every problem",
				UsageText: "oauthgen validate [--config FILE]\n\nExample:\n   oauthgen validate --config oauthgen.yaml",
				Flags:     []cli.Flag{configFlag},
				Action: func(c *cli.Context) error {
					if _, err := load(c); err != nil {
						return err
					}
					fmt.Fprintf(c.App.Writer, "oauthgen: %s: ok\n", declName(c.String("config")))
					return nil
				},
			},
			{
				Name:      "version",
				Usage:     "print oauthgen's version",
				UsageText: "oauthgen version",
				Action: func(c *cli.Context) error {
					fmt.Fprintln(c.App.Writer, "oauthgen", version())
					return nil
				},
			},
		},
	}
}

// load loads the declaration and prints its warnings.
func load(c *cli.Context) (*schema.Declaration, error) {
	path := c.String("config")
	name := declName(path)
	d, err := schema.Load(path)
	if err != nil {
		return nil, generateError(name, path, err)
	}
	for _, w := range relabel(d.Warnings, path, name) {
		fmt.Fprintf(c.App.ErrWriter, "warning: %v\n", w)
	}
	return d, nil
}

// generateError gives declaration errors exit code 2, and others 1. Every
// line names the declaration as name.
func generateError(name, path string, err error) error {
	var list schema.ErrorList
	var one *schema.Error
	switch {
	case errors.As(err, &list):
		return cli.Exit(relabel(list, path, name).Error(), exitUsage)
	case errors.As(err, &one):
		return cli.Exit(relabel(schema.ErrorList{one}, path, name).Error(), exitUsage)
	}
	return cli.Exit(fmt.Sprintf("oauthgen: %s: %v", name, err), exitStale)
}

// relabel names the declaration file path as name in each error.
func relabel(list schema.ErrorList, path, name string) schema.ErrorList {
	out := make(schema.ErrorList, len(list))
	for i, e := range list {
		c := *e
		if c.File == path {
			c.File = name
		}
		out[i] = &c
	}
	return out
}

// declName is how every line oauthgen prints names a declaration: its
// path from the root of its module (the folder of the nearest go.mod), so
// that the lines of several declarations generated by one
// `go generate ./...`, each run in its own folder, tell which is which.
// Outside a module it is the path as given.
func declName(path string) string {
	abs, err := filepath.Abs(path)
	if err != nil {
		return path
	}
	for dir := filepath.Dir(abs); ; dir = filepath.Dir(dir) {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			if r, err := filepath.Rel(dir, abs); err == nil {
				return filepath.ToSlash(r)
			}
			return path
		}
		if filepath.Dir(dir) == dir {
			return path
		}
	}
}

// version is the module version oauthgen was built at.
func version() string {
	if info, ok := rtdebug.ReadBuildInfo(); ok && info.Main.Version != "" {
		return info.Main.Version
	}
	return "(devel)"
}

// initFeatures are init's --openid and --access-tokens.
func initFeatures(c *cli.Context) generator.Features {
	f := generator.Features{OpenID: c.Bool("openid"), AccessTokens: c.String("access-tokens"), SigningAlgorithm: c.String("signing-algorithm")}
	if f.AccessTokens == "opaque" {
		f.AccessTokens = "" // the default: the declaration shows it commented out
	}
	return f
}

// initServer is `init --server`: the declaration and a server package in
// its folder.
func initServer(c *cli.Context, config string) error {
	written, err := generator.WriteServer(config, generator.ServerOptions{
		Dialect: schema.Dialect(c.String("dialect")), Grants: c.StringSlice("grant"), Features: initFeatures(c),
	})
	if _, exist := errors.AsType[*generator.ExistError](err); exist || (err != nil && written == nil) {
		return cli.Exit("oauthgen init: "+err.Error(), exitUsage)
	}
	for _, p := range written {
		fmt.Fprintf(c.App.Writer, "oauthgen: wrote %s\n", p)
	}
	if err != nil {
		return cli.Exit("oauthgen init: "+err.Error(), exitStale)
	}
	pkg := "./" + filepath.ToSlash(filepath.Dir(config))
	if pkg == "./." {
		pkg = "."
	}
	fmt.Fprintf(c.App.Writer, "next: go generate %s && go mod tidy && go run %s serve\n", pkg, pkg)
	return nil
}
