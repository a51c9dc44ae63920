package generator

import (
	"github.com/dave/jennifer/jen"

	"github.com/oauthgen/oauthgen/schema"
)

// Import paths of the database drivers.
const (
	sqlite3Pkg = "github.com/mattn/go-sqlite3"
	pgxPkg     = "github.com/jackc/pgx/v5"
	pgconnPkg  = "github.com/jackc/pgx/v5/pgconn"
	pgxpoolPkg = "github.com/jackc/pgx/v5/pgxpool"
	pgxstdPkg  = "github.com/jackc/pgx/v5/stdlib"
	mysqlPkg   = "github.com/go-sql-driver/mysql"
	gooseLock  = "github.com/pressly/goose/v3/lock"
	embedPkg   = "embed"
	fsPkg      = "io/fs"
)

var dialectNames = map[schema.Dialect]string{schema.SQLite: "SQLite", schema.Postgres: "PostgreSQL", schema.MySQL: "MySQL"}

// emitStore writes the package doc, the Store type, its constructors,
// Migrate and Close, and the compile-time interface assertions.
func (g *storeGen) emitStore() {
	p, f := g.p, g.f
	name := dialectNames[p.Dialect]
	f.PackageComment("Package " + p.Package + " stores OAuth 2.0 clients, users and tokens in " + name + " for the")
	f.PackageComment("oauthgen runtime, as declared in oauthgen.yaml. Regenerate it with")
	f.PackageComment("`go generate`; do not edit it.")
	f.Anon(embedPkg)

	f.Comment("migrations are the goose migrations, oldest first.")
	f.Comment("")
	f.Comment("//go:embed migrations/*.sql")
	f.Var().Id("migrations").Qual(embedPkg, "FS")
	f.Line()
	f.Comment("VersionTable is the table goose records applied migrations in.")
	f.Const().Id("VersionTable").Op("=").Lit(p.VersionTable)
	f.Line()

	var fields []jen.Code
	switch p.Dialect {
	case schema.Postgres:
		fields = append(fields, jen.Id("pool").Op("*").Qual(pgxpoolPkg, "Pool"))
	default:
		fields = append(fields,
			jen.Id("db").Op("*").Qual(sqlPkg, "DB").Comment("writes, and reads when there is no reader"),
		)
		if p.Dialect == schema.SQLite {
			fields = append(fields, jen.Id("reader").Op("*").Qual(sqlPkg, "DB").Comment("reads; nil when New was given one handle"))
			fields = append(fields, jen.Id("issues").Id("issueQueue").Comment("Issue's group commit"))
			if g.poolsLookups() {
				fields = append(fields, jen.Id("lookups").Op("*").Id("lookupPool").Comment("GetAccessToken's connections; nil after New"))
			}
		}
	}
	fields = append(fields,
		jen.Id("write").Op("*").Qual(g.db, "Queries"),
		jen.Id("read").Op("*").Qual(g.db, "Queries"),
		jen.Id("close").Func().Params().Error().Comment("set by Open: Close releases what Open opened"),
	)
	if p.Dialect == schema.Postgres {
		fields = append(fields, jen.Id("changes").Id("changeListener").Comment("ChangeCount's"))
		if g.batchesAccessTokens() {
			fields = append(fields, jen.Id("issues").Id("issueQueue").Comment("the group commit of lone access tokens"))
		}
		if g.groupsLookups() {
			fields = append(fields, jen.Id("lookups").Id("lookupQueue").Comment("GetAccessToken's batches"))
		}
	}
	for _, t := range p.Tables {
		if t.Kind == schema.TableAccessTokens || t.Kind == schema.TableRefreshTokens {
			if len(t.Extras()) > 0 {
				rec := recordName(t.Kind)
				fields = append(fields, jen.Line(),
					jen.Comment("New"+rec+"Extra, when set, gives the declared extra columns of each"),
					jen.Comment(kindWords(t.Kind)+" the runtime creates; ctx is the request's."),
					jen.Id("New"+rec+"Extra").Func().Params(jen.Qual(ctxPkg, "Context"), jen.Op("*").Add(rt(rec))).Id(rec+"Extra"))
			}
		}
	}
	f.Comment("Store keeps oauthgen's records in " + name + ". It implements the runtime's store")
	f.Comment("interfaces for the grants declared in oauthgen.yaml. It is safe for concurrent use.")
	f.Type().Id("Store").Struct(fields...)
	f.Line()

	var asserts []jen.Code
	for _, iface := range p.Interfaces() {
		asserts = append(asserts, jen.Id("_").Add(rt(iface)).Op("=").Parens(jen.Op("*").Id("Store")).Parens(jen.Nil()))
	}
	f.Var().Defs(asserts...)
	f.Line()

	switch p.Dialect {
	case schema.SQLite:
		g.emitSQLiteOpen()
	case schema.Postgres:
		g.emitPostgresOpen()
	case schema.MySQL:
		g.emitMySQLOpen()
	}

	var stop []jen.Code
	if p.Dialect == schema.Postgres {
		f.Comment("Close stops the listener ChangeCount started and closes the pool Open")
		f.Comment("opened; after New the pool stays open.")
		stop = append(stop, jen.Id("s").Dot("changes").Dot("stop").Call())
	} else {
		f.Comment("Close closes the database handles Open opened; after New it does nothing.")
	}
	f.Func().Params(recv()).Id("Close").Params().Error().Block(append(stop,
		jen.If(jen.Id("s").Dot("close").Op("==").Nil()).Block(jen.Return(jen.Nil())),
		jen.Return(jen.Id("s").Dot("close").Call()),
	)...)
	f.Line()

	f.Comment("Migrations returns the goose migrations, to apply with your own tooling.")
	f.Func().Id("Migrations").Params().Qual(fsPkg, "FS").Block(
		jen.List(jen.Id("sub"), jen.Err()).Op(":=").Qual(fsPkg, "Sub").Call(jen.Id("migrations"), jen.Lit("migrations")),
		jen.If(jen.Err().Op("!=").Nil()).Block(jen.Panic(jen.Err()).Comment("the folder is embedded: cannot happen")),
		jen.Return(jen.Id("sub")),
	)
	f.Line()

	for _, m := range []struct{ name, doc, call string }{
		{"Migrate", "Migrate applies the migrations that have not run yet.", "Up"},
		{"MigrateDown", "MigrateDown rolls back the most recent migration.", "Down"},
	} {
		body := []jen.Code{
			jen.List(jen.Id("p"), jen.Id("done"), jen.Err()).Op(":=").Id("s").Dot("migrator").Call(),
			jen.If(jen.Err().Op("!=").Nil()).Block(jen.Return(jen.Err())),
			jen.Defer().Id("done").Call(),
			jen.List(jen.Id("_"), jen.Err()).Op("=").Id("p").Dot(m.call).Call(jen.Id("ctx")),
		}
		if p.Dialect == schema.SQLite {
			body = append(body, jen.If(jen.Err().Op("!=").Nil()).Block(jen.Id("s").Dot("restoreWriter").Call(jen.Id("ctx"))))
		}
		f.Comment(m.doc)
		f.Func().Params(recv()).Id(m.name).Params(ctxParam()).Error().Block(append(body, jen.Return(jen.Err()))...)
		f.Line()
	}
	if p.Dialect == schema.SQLite {
		g.emitRestoreWriter()
	}
	g.emitMigrator()
}

// emitRestoreWriter writes restoreWriter, which SQLite's Migrate and
// MigrateDown call when a migration failed.
func (g *storeGen) emitRestoreWriter() {
	f := g.f
	ctx := jen.Id("ctx")
	exec := func(sql string) *jen.Statement {
		return jen.Id("conn").Dot("ExecContext").Call(ctx, jen.Lit(sql))
	}
	f.Comment("restoreWriter undoes what a failed migration leaves on the connection it")
	f.Comment("ran on, the one writer connection (goose runs a migration on one")
	f.Comment("connection; the most recently released is the one taken next). A table")
	f.Comment("rebuild turns foreign keys off and runs its own BEGIN … COMMIT: when one of")
	f.Comment("its statements fails, the transaction may still be open and the PRAGMA")
	f.Comment("foreign_keys = ON after the COMMIT never runs. So: roll back, turn foreign")
	f.Comment("keys on, and if they still read off, close the connection, so that the")
	f.Comment("next one opens as the DSN says.")
	f.Func().Params(recv()).Id("restoreWriter").Params(ctxParam()).Block(
		ctx.Clone().Op("=").Qual(ctxPkg, "WithoutCancel").Call(ctx),
		jen.List(jen.Id("conn"), jen.Err()).Op(":=").Id("s").Dot("db").Dot("Conn").Call(ctx),
		jen.If(jen.Err().Op("!=").Nil()).Block(jen.Return()),
		jen.Defer().Id("conn").Dot("Close").Call(),
		jen.Add(exec("ROLLBACK")).Comment("an error when no transaction is open: nothing to undo"),
		jen.Var().Id("on").Int(),
		jen.If(
			jen.List(jen.Id("_"), jen.Err()).Op(":=").Add(exec("PRAGMA foreign_keys = ON")),
			jen.Err().Op("==").Nil().Op("&&").
				Id("conn").Dot("QueryRowContext").Call(ctx, jen.Lit("PRAGMA foreign_keys")).Dot("Scan").Call(jen.Op("&").Id("on")).Op("==").Nil().Op("&&").
				Id("on").Op("==").Lit(1),
		).Block(jen.Return()),
		jen.Id("conn").Dot("Raw").Call(jen.Func().Params(jen.Any()).Error().Block(jen.Return(jen.Qual("database/sql/driver", "ErrBadConn")))),
	)
	f.Line()
}

// emitSQLiteOpen writes Open and New for SQLite.
func (g *storeGen) emitSQLiteOpen() {
	f := g.f
	f.Comment("Open opens, creating it if needed, the SQLite database at path: WAL, so")
	f.Comment("readers never block the writer; a busy timeout; foreign keys on; and one")
	f.Comment("writer connection, as SQLite allows one writer at a time anyway, beside a")
	f.Comment("pool of readers. Call Migrate before first use.")
	// _stmt_cache_size: the driver keeps each connection's statements by
	// their text, so the queries of Issue's transaction, which run
	// unprepared, are compiled once per connection, not at every token.
	dsn := jen.Lit("file:").Op("+").Qual("net/url", "PathEscape").Call(jen.Id("path")).Op("+").
		Lit("?_journal_mode=WAL&_busy_timeout=10000&_foreign_keys=on&_synchronous=NORMAL&_txlock=immediate&_stmt_cache_size=64")
	pooled := g.poolsLookups()
	body := []jen.Code{
		jen.Id("dsn").Op(":=").Add(dsn),
		jen.List(jen.Id("db"), jen.Err()).Op(":=").Qual(sqlPkg, "Open").Call(jen.Lit("sqlite3"), jen.Id("dsn")),
		jen.If(jen.Err().Op("!=").Nil()).Block(jen.Return(jen.Nil(), jen.Err())),
		jen.Id("db").Dot("SetMaxOpenConns").Call(jen.Lit(1)),
		jen.List(jen.Id("reader"), jen.Err()).Op(":=").Qual(sqlPkg, "Open").Call(jen.Lit("sqlite3"), jen.Id("dsn")),
		jen.If(jen.Err().Op("!=").Nil()).Block(jen.Id("db").Dot("Close").Call(), jen.Return(jen.Nil(), jen.Err())),
		jen.Comment("Keep every reader open: a connection closed when idle is opened again,"),
		jen.Comment("with its schema read and its statements prepared again, under load."),
		jen.Id("reader").Dot("SetMaxOpenConns").Call(jen.Id("readers")),
		jen.Id("reader").Dot("SetMaxIdleConns").Call(jen.Id("readers")),
	}
	handles := []jen.Code{jen.Id("db").Dot("Close").Call(), jen.Id("reader").Dot("Close").Call()}
	closes := []jen.Code{jen.Id("reader").Dot("Close").Call(), jen.Id("db").Dot("Close").Call()}
	if pooled {
		body = append(body,
			jen.List(jen.Id("lookups"), jen.Err()).Op(":=").Qual(sqlPkg, "Open").Call(jen.Lit("sqlite3"), jen.Id("dsn")),
			jen.If(jen.Err().Op("!=").Nil()).Block(jen.Id("db").Dot("Close").Call(), jen.Id("reader").Dot("Close").Call(), jen.Return(jen.Nil(), jen.Err())),
		)
		handles = append(handles, jen.Id("lookups").Dot("Close").Call())
		closes = append([]jen.Code{jen.Id("lookups").Dot("Close").Call()}, closes...)
	}
	body = append(body,
		jen.Comment("Fail now, not at the first request, if the file cannot be opened."),
		jen.If(jen.Err().Op(":=").Id("db").Dot("Ping").Call(), jen.Err().Op("!=").Nil()).Block(
			append(handles, jen.Return(jen.Nil(), jen.Err()))...,
		),
		jen.List(jen.Id("write"), jen.Id("read")).Op(":=").Op("&").Id("preparedDB").Values(jen.Id("db").Op(":").Id("db")).Op(",").Op("&").Id("preparedDB").Values(jen.Id("db").Op(":").Id("reader"), jen.Id("rowsUncancelled").Op(":").True()),
	)
	fields := []jen.Code{
		jen.Line().Id("db").Op(":").Id("db"),
		jen.Line().Id("reader").Op(":").Id("reader"),
		jen.Line().Id("write").Op(":").Qual(g.db, "New").Call(jen.Id("write")),
		jen.Line().Id("read").Op(":").Qual(g.db, "New").Call(jen.Id("read")),
	}
	closeBody := []jen.Code{jen.Id("write").Dot("close").Call(), jen.Id("read").Dot("close").Call()}
	if pooled {
		fields = append(fields, jen.Line().Id("lookups").Op(":").Id("newLookupPool").Call(jen.Id("lookups"), jen.Id("readers")))
		closeBody = append(closeBody, jen.Id("s").Dot("lookups").Dot("close").Call())
	}
	body = append(body,
		jen.Id("s").Op(":=").Op("&").Id("Store").Values(append(fields, jen.Line())...),
		jen.Id("s").Dot("close").Op("=").Func().Params().Error().Block(
			append(closeBody, jen.Return(jen.Qual("errors", "Join").Call(closes...)))...,
		),
		jen.Return(jen.Id("s"), jen.Nil()),
	)
	f.Func().Id("Open").Params(jen.Id("path").String()).Params(jen.Op("*").Id("Store"), jen.Error()).Block(body...)
	f.Line()
	f.Comment("New returns a Store using db, opened with the mattn/go-sqlite3 driver, for")
	f.Comment("everything. Open foreign keys on (_foreign_keys=on): cascades depend on them;")
	f.Comment("and transactions immediate (_txlock=immediate), as Issue's must take the")
	f.Comment("write lock when they begin.")
	f.Func().Id("New").Params(jen.Id("db").Op("*").Qual(sqlPkg, "DB")).Op("*").Id("Store").Block(
		jen.Id("q").Op(":=").Qual(g.db, "New").Call(jen.Id("db")),
		jen.Return(jen.Op("&").Id("Store").Values(jen.Id("db").Op(":").Id("db"), jen.Id("write").Op(":").Id("q"), jen.Id("read").Op(":").Id("q"))),
	)
	f.Line()
	f.Comment("DB returns the handle writes go through.")
	f.Func().Params(recv()).Id("DB").Params().Op("*").Qual(sqlPkg, "DB").Block(jen.Return(jen.Id("s").Dot("db")))
	f.Line()
	f.Comment("readers is how many connections Open keeps for reads, and for bearer checks")
	f.Comment("(lookupPool): each holds one for a single indexed SELECT.")
	f.Const().Id("readers").Op("=").Lit(8)
	f.Line()
	f.Anon(sqlite3Pkg)
	g.emitPreparedDB()
	g.emitGroupCommit(g.groupCommit())
}

// emitPostgresOpen writes Open and New for PostgreSQL.
func (g *storeGen) emitPostgresOpen() {
	f := g.f
	f.Comment("Open connects a pgx pool to the PostgreSQL database at dsn (a URL or")
	f.Comment("key=value string). Call Migrate before first use.")
	f.Func().Id("Open").Params(ctxParam(), jen.Id("dsn").String()).Params(jen.Op("*").Id("Store"), jen.Error()).Block(
		jen.List(jen.Id("pool"), jen.Err()).Op(":=").Qual(pgxpoolPkg, "New").Call(jen.Id("ctx"), jen.Id("dsn")),
		jen.If(jen.Err().Op("!=").Nil()).Block(jen.Return(jen.Nil(), jen.Err())),
		jen.Comment("Fail now, not at the first request, if the server cannot be reached."),
		jen.If(jen.Err().Op(":=").Id("pool").Dot("Ping").Call(jen.Id("ctx")), jen.Err().Op("!=").Nil()).Block(
			jen.Id("pool").Dot("Close").Call(), jen.Return(jen.Nil(), jen.Err()),
		),
		jen.Id("s").Op(":=").Id("New").Call(jen.Id("pool")),
		jen.Id("s").Dot("close").Op("=").Func().Params().Error().Block(jen.Id("pool").Dot("Close").Call(), jen.Return(jen.Nil())),
		jen.Return(jen.Id("s"), jen.Nil()),
	)
	f.Line()
	f.Comment("New returns a Store using pool. Any number of Stores, in any number of")
	f.Comment("processes, may share one database. Close stops the listener ChangeCount")
	f.Comment("starts, and leaves the pool open.")
	f.Func().Id("New").Params(jen.Id("pool").Op("*").Qual(pgxpoolPkg, "Pool")).Op("*").Id("Store").Block(
		jen.Id("q").Op(":=").Qual(g.db, "New").Call(jen.Id("pool")),
		jen.Return(jen.Op("&").Id("Store").Values(jen.Id("pool").Op(":").Id("pool"), jen.Id("write").Op(":").Id("q"), jen.Id("read").Op(":").Id("q"))),
	)
	f.Line()
	f.Comment("Pool returns the connection pool.")
	f.Func().Params(recv()).Id("Pool").Params().Op("*").Qual(pgxpoolPkg, "Pool").Block(jen.Return(jen.Id("s").Dot("pool")))
	f.Line()
}

// emitMySQLOpen writes Open and New for MySQL.
func (g *storeGen) emitMySQLOpen() {
	f := g.f
	f.Comment("Open opens the MySQL or MariaDB database at dsn (go-sql-driver/mysql")
	f.Comment("syntax). It sets what the Store relies on: parseTime, UTC times, and")
	f.Comment("clientFoundRows, so that an UPDATE counts the rows it matched even when it")
	f.Comment("changed nothing (a poll that repeats the last one). Call Migrate before")
	f.Comment("first use.")
	f.Func().Id("Open").Params(jen.Id("dsn").String()).Params(jen.Op("*").Id("Store"), jen.Error()).Block(
		jen.List(jen.Id("cfg"), jen.Err()).Op(":=").Qual(mysqlPkg, "ParseDSN").Call(jen.Id("dsn")),
		jen.If(jen.Err().Op("!=").Nil()).Block(jen.Return(jen.Nil(), jen.Err())),
		jen.Id("cfg").Dot("ParseTime").Op("=").True(),
		jen.Id("cfg").Dot("Loc").Op("=").Qual(timePkg, "UTC"),
		jen.Id("cfg").Dot("ClientFoundRows").Op("=").True(),
		jen.List(jen.Id("connector"), jen.Err()).Op(":=").Qual(mysqlPkg, "NewConnector").Call(jen.Id("cfg")),
		jen.If(jen.Err().Op("!=").Nil()).Block(jen.Return(jen.Nil(), jen.Err())),
		jen.Id("db").Op(":=").Qual(sqlPkg, "OpenDB").Call(jen.Id("connector")),
		jen.Comment("Fail now, not at the first request, if the server cannot be reached."),
		jen.If(jen.Err().Op(":=").Id("db").Dot("Ping").Call(), jen.Err().Op("!=").Nil()).Block(
			jen.Id("db").Dot("Close").Call(), jen.Return(jen.Nil(), jen.Err()),
		),
		jen.Id("p").Op(":=").Op("&").Id("preparedDB").Values(jen.Id("db").Op(":").Id("db")),
		jen.Id("q").Op(":=").Qual(g.db, "New").Call(jen.Id("p")),
		jen.Id("s").Op(":=").Op("&").Id("Store").Values(jen.Id("db").Op(":").Id("db"), jen.Id("write").Op(":").Id("q"), jen.Id("read").Op(":").Id("q")),
		jen.Id("s").Dot("close").Op("=").Func().Params().Error().Block(
			jen.Id("p").Dot("close").Call(),
			jen.Return(jen.Id("db").Dot("Close").Call()),
		),
		jen.Return(jen.Id("s"), jen.Nil()),
	)
	f.Line()
	f.Comment("New returns a Store using db, opened with go-sql-driver/mysql and")
	f.Comment("parseTime=true&loc=UTC&clientFoundRows=true.")
	f.Func().Id("New").Params(jen.Id("db").Op("*").Qual(sqlPkg, "DB")).Op("*").Id("Store").Block(
		jen.Id("q").Op(":=").Qual(g.db, "New").Call(jen.Id("db")),
		jen.Return(jen.Op("&").Id("Store").Values(jen.Id("db").Op(":").Id("db"), jen.Id("write").Op(":").Id("q"), jen.Id("read").Op(":").Id("q"))),
	)
	f.Line()
	f.Comment("DB returns the database handle.")
	f.Func().Params(recv()).Id("DB").Params().Op("*").Qual(sqlPkg, "DB").Block(jen.Return(jen.Id("s").Dot("db")))
	f.Line()
	g.emitPreparedDB()
}

// emitMigrator writes the goose provider constructor shared by Migrate
// and MigrateDown.
func (g *storeGen) emitMigrator() {
	f := g.f
	opts := []jen.Code{jen.Qual(goosePkg, "WithTableName").Call(jen.Id("VersionTable"))}
	var body []jen.Code
	db := jen.Id("s").Dot("db")
	dialect := map[schema.Dialect]string{schema.SQLite: "DialectSQLite3", schema.Postgres: "DialectPostgres", schema.MySQL: "DialectMySQL"}[g.p.Dialect]
	done := jen.Func().Params().Block()
	if g.p.Dialect == schema.Postgres {
		body = append(body,
			jen.Id("db").Op(":=").Qual(pgxstdPkg, "OpenDBFromPool").Call(jen.Id("s").Dot("pool")),
			jen.Comment("Instances starting together take turns: an advisory lock per migration run."),
			jen.List(jen.Id("locker"), jen.Err()).Op(":=").Qual(gooseLock, "NewPostgresSessionLocker").Call(),
			jen.If(jen.Err().Op("!=").Nil()).Block(jen.Id("db").Dot("Close").Call(), jen.Return(jen.Nil(), jen.Nil(), jen.Err())),
		)
		opts = append(opts, jen.Qual(goosePkg, "WithSessionLocker").Call(jen.Id("locker")))
		db = jen.Id("db")
		done = jen.Func().Params().Block(jen.Id("db").Dot("Close").Call())
	}
	body = append(body,
		jen.List(jen.Id("p"), jen.Err()).Op(":=").Qual(goosePkg, "NewProvider").Call(
			append([]jen.Code{jen.Qual(goosePkg, dialect), db, jen.Id("Migrations").Call()}, opts...)...),
		jen.If(jen.Err().Op("!=").Nil()).BlockFunc(func(b *jen.Group) {
			if g.p.Dialect == schema.Postgres {
				b.Id("db").Dot("Close").Call()
			}
			b.Return(jen.Nil(), jen.Nil(), jen.Err())
		}),
		jen.Return(jen.Id("p"), done, jen.Nil()),
	)
	f.Func().Params(recv()).Id("migrator").Params().Params(jen.Op("*").Qual(goosePkg, "Provider"), jen.Func().Params(), jen.Error()).Block(body...)
	f.Line()
}

// emitPreparedDB writes preparedDB, the sqlc DBTX Open gives the queries on
// database/sql: each query prepared once and kept, instead of parsed on
// every call (sqlite3_prepare_v2 per query; a PREPARE, EXECUTE and CLOSE
// round trip each on MySQL).
func (g *storeGen) emitPreparedDB() {
	f := g.f
	ctx := func() *jen.Statement { return jen.Id("ctx").Qual(ctxPkg, "Context") }
	query := func() *jen.Statement { return jen.Id("query").String() }
	args := func() *jen.Statement { return jen.Id("args").Op("...").Any() }
	prepare := jen.List(jen.Id("st"), jen.Err()).Op(":=").Id("p").Dot("stmt").Call(jen.Id("ctx"), jen.Id("query"))
	f.Comment("preparedDB runs each query through a statement prepared on its first use and")
	f.Comment("kept: database/sql prepares it once on each connection it runs on, so the")
	f.Comment("SQL is parsed once per connection, not on every call. Transactions (WithTx)")
	f.Comment("run their queries unprepared.")
	f.Type().Id("preparedDB").Struct(
		jen.Id("db").Op("*").Qual(sqlPkg, "DB"),
		jen.Id("stmts").Qual("sync", "Map").Comment("query text → *sql.Stmt"),
		jen.Id("rowsUncancelled").Bool().Comment("QueryRowContext ignores ctx's cancellation: see there"),
	)
	f.Line()
	f.Comment("stmt returns query's statement, preparing it the first time. A query that")
	f.Comment("fails to prepare (its table does not exist yet) is not kept.")
	f.Func().Params(jen.Id("p").Op("*").Id("preparedDB")).Id("stmt").Params(ctx(), query()).Params(jen.Op("*").Qual(sqlPkg, "Stmt"), jen.Error()).Block(
		jen.If(jen.List(jen.Id("st"), jen.Id("ok")).Op(":=").Id("p").Dot("stmts").Dot("Load").Call(jen.Id("query")), jen.Id("ok")).Block(
			jen.Return(jen.Id("st").Assert(jen.Op("*").Qual(sqlPkg, "Stmt")), jen.Nil()),
		),
		jen.List(jen.Id("st"), jen.Err()).Op(":=").Id("p").Dot("db").Dot("PrepareContext").Call(jen.Id("ctx"), jen.Id("query")),
		jen.If(jen.Err().Op("!=").Nil()).Block(jen.Return(jen.Nil(), jen.Err())),
		jen.If(jen.List(jen.Id("prev"), jen.Id("loaded")).Op(":=").Id("p").Dot("stmts").Dot("LoadOrStore").Call(jen.Id("query"), jen.Id("st")), jen.Id("loaded")).Block(
			jen.Id("st").Dot("Close").Call().Comment("another caller prepared it first"),
			jen.Return(jen.Id("prev").Assert(jen.Op("*").Qual(sqlPkg, "Stmt")), jen.Nil()),
		),
		jen.Return(jen.Id("st"), jen.Nil()),
	)
	f.Line()
	f.Func().Params(jen.Id("p").Op("*").Id("preparedDB")).Id("ExecContext").Params(ctx(), query(), args()).Params(jen.Qual(sqlPkg, "Result"), jen.Error()).Block(
		prepare.Clone(),
		jen.If(jen.Err().Op("!=").Nil()).Block(jen.Return(jen.Nil(), jen.Err())),
		jen.Return(jen.Id("st").Dot("ExecContext").Call(jen.Id("ctx"), jen.Id("args").Op("..."))),
	)
	f.Line()
	f.Func().Params(jen.Id("p").Op("*").Id("preparedDB")).Id("QueryContext").Params(ctx(), query(), args()).Params(jen.Op("*").Qual(sqlPkg, "Rows"), jen.Error()).Block(
		prepare.Clone(),
		jen.If(jen.Err().Op("!=").Nil()).Block(jen.Return(jen.Nil(), jen.Err())),
		jen.Return(jen.Id("st").Dot("QueryContext").Call(jen.Id("ctx"), jen.Id("args").Op("..."))),
	)
	f.Line()
	f.Comment("QueryRowContext runs a query that does not prepare unprepared: a *sql.Row")
	f.Comment("cannot be made to carry the error, and running it reports the same one.")
	f.Comment("")
	f.Comment("On the readers it drops ctx's cancellation. Their single-row reads take")
	f.Comment("microseconds and never wait for the writer (WAL), but with a cancellable")
	f.Comment("context database/sql starts a goroutine per query to watch it, and the")
	f.Comment("driver registers an interrupt: more work than the read itself.")
	f.Func().Params(jen.Id("p").Op("*").Id("preparedDB")).Id("QueryRowContext").Params(ctx(), query(), args()).Op("*").Qual(sqlPkg, "Row").Block(
		jen.If(jen.Id("p").Dot("rowsUncancelled")).Block(jen.Id("ctx").Op("=").Qual(ctxPkg, "WithoutCancel").Call(jen.Id("ctx"))),
		prepare.Clone(),
		jen.If(jen.Err().Op("!=").Nil()).Block(jen.Return(jen.Id("p").Dot("db").Dot("QueryRowContext").Call(jen.Id("ctx"), jen.Id("query"), jen.Id("args").Op("...")))),
		jen.Return(jen.Id("st").Dot("QueryRowContext").Call(jen.Id("ctx"), jen.Id("args").Op("..."))),
	)
	f.Line()
	f.Func().Params(jen.Id("p").Op("*").Id("preparedDB")).Id("PrepareContext").Params(ctx(), query()).Params(jen.Op("*").Qual(sqlPkg, "Stmt"), jen.Error()).Block(
		jen.Return(jen.Id("p").Dot("db").Dot("PrepareContext").Call(jen.Id("ctx"), jen.Id("query"))),
	)
	f.Line()
	f.Comment("close closes the kept statements.")
	f.Func().Params(jen.Id("p").Op("*").Id("preparedDB")).Id("close").Params().Block(
		jen.Id("p").Dot("stmts").Dot("Range").Call(jen.Func().Params(jen.Id("_"), jen.Id("st").Any()).Bool().Block(
			jen.Id("st").Assert(jen.Op("*").Qual(sqlPkg, "Stmt")).Dot("Close").Call(),
			jen.Return(jen.True()),
		)),
	)
	f.Line()
}
