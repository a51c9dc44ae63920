package generator

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/dave/jennifer/jen"

	"github.com/oauthgen/oauthgen/schema"
)

const driverPkg = "database/sql/driver"

// poolsLookups reports whether GetAccessToken, the bearer check, runs
// through a lookupPool: SQLite's, where database/sql's share of a lookup
// (its connection pool, Rows, the reflection of Scan, a goroutine per
// cancellable query) cost as much CPU as SQLite's own work (measured).
func (g *storeGen) poolsLookups() bool {
	return g.p.Dialect == schema.SQLite && g.p.Query("GetAccessToken") != nil
}

// driverSQL is q's statement as sqlc passes it to the SQLite driver:
// each sqlc.arg(name) becomes ?N, N its parameter's position.
func driverSQL(q *Query) string {
	s := strings.TrimSuffix(q.SQL, ";")
	for i, name := range q.Params {
		s = strings.ReplaceAll(s, "sqlc.arg("+name+")", "?"+strconv.Itoa(i+1))
	}
	return s
}

// rawString is a raw string literal of s, as sqlc writes its queries.
func rawString(s string) jen.Code {
	if strings.Contains(s, "`") {
		return jen.Lit(s)
	}
	return jen.Op("`" + s + "`")
}

// selectNames are the result column names of a SELECT the generator wrote:
// each item's alias, or the column it names.
func selectNames(sql string) ([]string, error) {
	list, ok := strings.CutPrefix(sql, "SELECT ")
	if !ok {
		return nil, fmt.Errorf("not a SELECT: %q", sql)
	}
	list, _, ok = strings.Cut(list, "\nFROM ")
	if !ok {
		return nil, fmt.Errorf("no FROM on a line of its own: %q", sql)
	}
	var names []string
	for _, item := range strings.Split(list, ", ") {
		if _, alias, ok := strings.Cut(item, " AS "); ok {
			item = alias
		} else if i := strings.LastIndexByte(item, '.'); i >= 0 {
			item = item[i+1:]
		}
		names = append(names, item)
	}
	return names, nil
}

// emitPooledLookup writes GetAccessToken and getAccessToken, which reads
// its row through the lookup pool when Open made one.
func (g *storeGen) emitPooledLookup() {
	f := g.f
	qry := g.p.Query("GetAccessToken")
	names, err := selectNames(qry.SQL)
	if err != nil {
		panic("generator: GetAccessToken: " + err.Error()) // a bug in the queries template, caught by golden tests
	}
	tokens := g.p.Table(schema.TableAccessTokens)
	var scans []jen.Code
	for i, name := range names {
		nullable := true // family_revoked_at, from a LEFT JOIN
		field := goName(name)
		if c := tokens.Column(name); c != nil {
			nullable, field = c.Nullable, c.GoName
		}
		scan := "scanColumn"
		if nullable {
			scan = "scanNullColumn"
		}
		scans = append(scans, jen.Line().Id(scan).Call(jen.Op("&").Id("row").Dot(field), jen.Id("v").Index(jen.Lit(i))))
	}

	f.Comment("GetAccessToken returns the access token with that hash, or")
	f.Comment("runtime.ErrNotFound.")
	f.Func().Params(recv()).Id("GetAccessToken").Params(ctxParam(), jen.Id("hash").String()).Params(jen.Op("*").Add(rt("AccessToken")), jen.Error()).Block(
		jen.List(jen.Id("row"), jen.Err()).Op(":=").Id("s").Dot("getAccessToken").Call(jen.Id("ctx"), jen.Id("hash")),
		jen.If(jen.Err().Op("!=").Nil()).Block(jen.Return(jen.Nil(), g.use("notFound", jen.Err()))),
		jen.Return(jen.Op("&").Add(rt("AccessToken")).Values(g.recordFields(schema.TableAccessTokens, "hash", jen.Id("hash"))...), jen.Nil()),
	)
	f.Line()

	f.Comment("getAccessToken runs GetAccessToken's query: through the lookup pool when")
	f.Comment("Open made one, else through sqlc's code.")
	f.Func().Params(recv()).Id("getAccessToken").Params(ctxParam(), jen.Id("hash").String()).Params(g.q("GetAccessTokenRow"), jen.Error()).Block(
		jen.If(jen.Id("s").Dot("lookups").Op("==").Nil()).Block(
			jen.Return(g.call("GetAccessToken", arg{"hash", jen.Id("hash")})),
		),
		jen.Var().Id("row").Add(g.q("GetAccessTokenRow")),
		jen.Err().Op(":=").Id("s").Dot("lookups").Dot("lookUp").Call(jen.Id("ctx"), jen.Id("hash"),
			jen.Func().Params(jen.Id("v").Index().Qual(driverPkg, "Value")).Error().Block(
				jen.Return(jen.Qual("errors", "Join").Call(append(scans, jen.Line())...)),
			)),
		jen.Return(jen.Id("row"), jen.Err()),
	)
	f.Line()

	f.Comment("accessTokenLookup is GetAccessToken's query as sqlc runs it, for the")
	f.Comment("lookup pool's statements.")
	f.Const().Id("accessTokenLookup").Op("=").Add(rawString(driverSQL(qry)))
	f.Line()
	g.emitLookupPool(len(names))
}

// emitLookupPool writes lookupPool, its connections, and the scan helpers.
func (g *storeGen) emitLookupPool(columns int) {
	f := g.f
	ctx := jen.Id("ctx").Qual(ctxPkg, "Context")
	free := jen.Id("p").Dot("free")

	f.Comment("lookupPool keeps reader connections for GetAccessToken, the bearer check,")
	f.Comment("each with the lookup prepared on the driver's connection. A lookup through")
	f.Comment("it skips database/sql's pool, its Rows and the reflection of its Scan,")
	f.Comment("which cost as much CPU as SQLite's own work on the lookup.")
	f.Type().Id("lookupPool").Struct(
		jen.Id("db").Op("*").Qual(sqlPkg, "DB").Comment("the connections' own handle"),
		jen.Comment("free holds the connections not in use: nil is one not opened yet, or"),
		jen.Comment("closed after an error. close closes the channel."),
		jen.Id("free").Chan().Op("*").Id("lookupConn"),
		jen.Id("closing").Qual("sync", "Once"),
	)
	f.Line()
	f.Comment("lookupConn is a connection of a lookupPool, with the lookup prepared on it.")
	f.Type().Id("lookupConn").Struct(
		jen.Id("conn").Op("*").Qual(sqlPkg, "Conn"),
		jen.Id("stmt").Interface(jen.Qual(driverPkg, "Stmt"), jen.Qual(driverPkg, "StmtQueryContext")),
		jen.Id("args").Index().Qual(driverPkg, "NamedValue"),
		jen.Id("row").Index().Qual(driverPkg, "Value").Comment("the last lookup's row"),
		jen.Id("step").Func().Params(jen.Any()).Error().Comment("c.query, bound once: what Raw runs"),
	)
	f.Line()
	f.Func().Id("newLookupPool").Params(jen.Id("db").Op("*").Qual(sqlPkg, "DB"), jen.Id("size").Int()).Op("*").Id("lookupPool").Block(
		jen.Id("p").Op(":=").Op("&").Id("lookupPool").Values(jen.Id("db").Op(":").Id("db"), jen.Id("free").Op(":").Make(jen.Chan().Op("*").Id("lookupConn"), jen.Id("size"))),
		jen.For(jen.Range().Id("size")).Block(free.Clone().Op("<-").Nil()),
		jen.Return(jen.Id("p")),
	)
	f.Line()

	f.Comment("lookUp runs the lookup for key and gives scan its row, which is valid only")
	f.Comment("during the call: sql.ErrNoRows if there is none. A connection whose lookup")
	f.Comment("failed, or panicked, is closed; the next caller to take its place opens")
	f.Comment("another. The slot goes back even on a panic, or Close would wait for it.")
	f.Func().Params(jen.Id("p").Op("*").Id("lookupPool")).Id("lookUp").Params(ctx, jen.Id("key").String(), jen.Id("scan").Func().Params(jen.Index().Qual(driverPkg, "Value")).Error()).Error().Block(
		jen.Var().Id("c").Op("*").Id("lookupConn"),
		jen.Var().Id("ok").Bool(),
		jen.Select().Block(
			jen.Case(jen.List(jen.Id("c"), jen.Id("ok")).Op("=").Op("<-").Add(free.Clone())),
			jen.Default().Block(
				jen.Comment("All in use: wait, as long as the caller does. Only here: the first"),
				jen.Comment("Done of a request's context allocates its channel."),
				jen.Select().Block(
					jen.Case(jen.List(jen.Id("c"), jen.Id("ok")).Op("=").Op("<-").Add(free.Clone())),
					jen.Case(jen.Op("<-").Id("ctx").Dot("Done").Call()).Block(jen.Return(jen.Id("ctx").Dot("Err").Call())),
				),
			),
		),
		jen.If(jen.Op("!").Id("ok")).Block(jen.Return(jen.Qual(sqlPkg, "ErrConnDone")).Comment("closed")),
		jen.Id("returned").Op(":=").False(),
		jen.Defer().Func().Params().Block(
			jen.If(jen.Op("!").Id("returned").Op("&&").Id("c").Op("!=").Nil()).Block(
				jen.Id("c").Dot("close").Call().Comment("a panic, perhaps in the middle of the statement"),
				jen.Id("c").Op("=").Nil(),
			),
			free.Clone().Op("<-").Id("c"),
		).Call(),
		jen.If(jen.Id("c").Op("==").Nil()).Block(
			jen.Var().Err().Error(),
			jen.If(jen.List(jen.Id("c"), jen.Err()).Op("=").Id("p").Dot("open").Call(jen.Id("ctx")), jen.Err().Op("!=").Nil()).Block(
				jen.Return(jen.Err()),
			),
		),
		jen.Id("c").Dot("args").Index(jen.Lit(0)).Dot("Value").Op("=").Id("key"),
		jen.Err().Op(":=").Id("c").Dot("conn").Dot("Raw").Call(jen.Id("c").Dot("step")),
		jen.Switch().Block(
			jen.Case(jen.Err().Op("==").Nil()).Block(jen.Err().Op("=").Id("scan").Call(jen.Id("c").Dot("row"))),
			jen.Case(jen.Err().Op("!=").Qual(sqlPkg, "ErrNoRows")).Block(
				jen.Id("c").Dot("close").Call(),
				jen.Id("c").Op("=").Nil(),
			),
		),
		jen.Id("returned").Op("=").True(),
		jen.Return(jen.Err()),
	)
	f.Line()

	f.Comment("open takes a connection from p.db and prepares the lookup on it.")
	f.Func().Params(jen.Id("p").Op("*").Id("lookupPool")).Id("open").Params(ctx).Params(jen.Op("*").Id("lookupConn"), jen.Error()).Block(
		jen.List(jen.Id("conn"), jen.Err()).Op(":=").Id("p").Dot("db").Dot("Conn").Call(jen.Id("ctx")),
		jen.If(jen.Err().Op("!=").Nil()).Block(jen.Return(jen.Nil(), jen.Err())),
		jen.Id("c").Op(":=").Op("&").Id("lookupConn").Values(
			jen.Line().Id("conn").Op(":").Id("conn"),
			jen.Line().Id("args").Op(":").Index().Qual(driverPkg, "NamedValue").Values(jen.Values(jen.Id("Ordinal").Op(":").Lit(1))),
			jen.Line().Id("row").Op(":").Make(jen.Index().Qual(driverPkg, "Value"), jen.Lit(columns)),
			jen.Line(),
		),
		jen.Id("c").Dot("step").Op("=").Id("c").Dot("query"),
		jen.Err().Op("=").Id("conn").Dot("Raw").Call(jen.Func().Params(jen.Id("dc").Any()).Error().Block(
			jen.List(jen.Id("st"), jen.Err()).Op(":=").Id("dc").Assert(jen.Qual(driverPkg, "ConnPrepareContext")).Dot("PrepareContext").Call(jen.Id("ctx"), jen.Id("accessTokenLookup")),
			jen.If(jen.Err().Op("!=").Nil()).Block(jen.Return(jen.Err())),
			jen.Id("c").Dot("stmt").Op("=").Id("st").Assert(jen.Interface(jen.Qual(driverPkg, "Stmt"), jen.Qual(driverPkg, "StmtQueryContext"))),
			jen.Return(jen.Nil()),
		)),
		jen.If(jen.Err().Op("!=").Nil()).Block(
			jen.Id("conn").Dot("Close").Call(),
			jen.Return(jen.Nil(), jen.Err()),
		),
		jen.Return(jen.Id("c"), jen.Nil()),
	)
	f.Line()

	f.Comment("query runs the statement and reads its first row into c.row. Raw calls it")
	f.Comment("with the driver's connection, the statement's. Its context is never")
	f.Comment("cancelled: the driver would watch a cancellable one, for a read of")
	f.Comment("microseconds that never waits for the writer (WAL). Closing the rows")
	f.Comment("ends the read transaction, so the next lookup sees every commit before it.")
	f.Func().Params(jen.Id("c").Op("*").Id("lookupConn")).Id("query").Params(jen.Any()).Error().Block(
		jen.List(jen.Id("rows"), jen.Err()).Op(":=").Id("c").Dot("stmt").Dot("QueryContext").Call(jen.Qual(ctxPkg, "Background").Call(), jen.Id("c").Dot("args")),
		jen.If(jen.Err().Op("!=").Nil()).Block(jen.Return(jen.Err())),
		jen.Err().Op("=").Id("rows").Dot("Next").Call(jen.Id("c").Dot("row")),
		jen.If(jen.Id("cerr").Op(":=").Id("rows").Dot("Close").Call(), jen.Err().Op("==").Nil()).Block(jen.Err().Op("=").Id("cerr")),
		jen.If(jen.Err().Op("==").Qual("io", "EOF")).Block(jen.Return(jen.Qual(sqlPkg, "ErrNoRows"))),
		jen.Return(jen.Err()),
	)
	f.Line()

	f.Comment("close closes c's statement and gives its connection back to database/sql,")
	f.Comment("closed: a connection whose lookup failed is not trusted again.")
	f.Func().Params(jen.Id("c").Op("*").Id("lookupConn")).Id("close").Params().Block(
		jen.Id("c").Dot("conn").Dot("Raw").Call(jen.Func().Params(jen.Any()).Error().Block(
			jen.Id("c").Dot("stmt").Dot("Close").Call(),
			jen.Return(jen.Qual(driverPkg, "ErrBadConn")).Comment("Raw closes c.conn and its driver connection"),
		)),
	)
	f.Line()

	f.Comment("close closes the pool's connections, once those in use are back, and")
	f.Comment("fails the lookups after it.")
	f.Func().Params(jen.Id("p").Op("*").Id("lookupPool")).Id("close").Params().Block(
		jen.Id("p").Dot("closing").Dot("Do").Call(jen.Func().Params().Block(
			jen.For(jen.Range().Cap(free.Clone())).Block(
				jen.If(jen.Id("c").Op(":=").Op("<-").Add(free.Clone()), jen.Id("c").Op("!=").Nil()).Block(jen.Id("c").Dot("close").Call()),
			),
			jen.Close(free.Clone()),
		)),
	)
	f.Line()

	f.Comment("scanColumn stores v, a value the driver read, in dest, of the Go type sqlc")
	f.Comment("gives the column; database/sql's Scan would do the same for these types.")
	f.Func().Id("scanColumn").Types(jen.Id("T").Any()).Params(jen.Id("dest").Op("*").Id("T"), jen.Id("v").Qual(driverPkg, "Value")).Error().Block(
		jen.List(jen.Id("t"), jen.Id("ok")).Op(":=").Id("v").Assert(jen.Id("T")),
		jen.If(jen.Op("!").Id("ok")).Block(jen.Return(jen.Qual("fmt", "Errorf").Call(jen.Lit("cannot store %T in %T"), jen.Id("v"), jen.Op("*").Id("dest")))),
		jen.Op("*").Id("dest").Op("=").Id("t"),
		jen.Return(jen.Nil()),
	)
	f.Line()
	f.Comment("scanNullColumn is scanColumn for a nullable column: nil for NULL.")
	f.Func().Id("scanNullColumn").Types(jen.Id("T").Any()).Params(jen.Id("dest").Op("**").Id("T"), jen.Id("v").Qual(driverPkg, "Value")).Error().Block(
		jen.If(jen.Id("v").Op("==").Nil()).Block(
			jen.Op("*").Id("dest").Op("=").Nil(),
			jen.Return(jen.Nil()),
		),
		jen.List(jen.Id("t"), jen.Id("ok")).Op(":=").Id("v").Assert(jen.Id("T")),
		jen.If(jen.Op("!").Id("ok")).Block(jen.Return(jen.Qual("fmt", "Errorf").Call(jen.Lit("cannot store %T in %T"), jen.Id("v"), jen.Op("*").Id("dest")))),
		jen.Op("*").Id("dest").Op("=").Op("&").Id("t"),
		jen.Return(jen.Nil()),
	)
	f.Line()
}
