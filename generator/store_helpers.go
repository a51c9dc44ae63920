package generator

import (
	"github.com/dave/jennifer/jen"

	"github.com/oauthgen/oauthgen/schema"
)

// helper is an unexported function of store.go, emitted when a part used it.
type helper struct {
	name string
	// needs are helpers its body calls.
	needs []string
	emit  func(g *storeGen)
}

// storeHelpers are emitted in this order, each only when used.
var storeHelpers = []helper{
	{"seconds", nil, func(g *storeGen) {
		g.f.Comment("seconds stores a duration as whole seconds.")
		g.f.Func().Id("seconds").Params(jen.Id("d").Qual(timePkg, "Duration")).Int64().Block(
			jen.Return(jen.Int64().Call(jen.Id("d").Op("/").Qual(timePkg, "Second"))))
	}},
	{"duration", nil, func(g *storeGen) {
		g.f.Comment("duration reads a duration seconds stored.")
		g.f.Func().Id("duration").Params(jen.Id("n").Int64()).Qual(timePkg, "Duration").Block(
			jen.Return(jen.Qual(timePkg, "Duration").Call(jen.Id("n")).Op("*").Qual(timePkg, "Second")))
	}},
	{"nullTime", nil, func(g *storeGen) {
		g.f.Comment("nullTime stores the zero time as NULL, others in UTC.")
		g.f.Func().Id("nullTime").Params(jen.Id("t").Qual(timePkg, "Time")).Op("*").Qual(timePkg, "Time").Block(
			jen.If(jen.Id("t").Dot("IsZero").Call()).Block(jen.Return(jen.Nil())),
			jen.Id("t").Op("=").Id("t").Dot("UTC").Call(),
			jen.Return(jen.Op("&").Id("t")))
	}},
	{"timeOf", nil, func(g *storeGen) {
		g.f.Comment("timeOf reads a time nullTime stored.")
		g.f.Func().Id("timeOf").Params(jen.Id("t").Op("*").Qual(timePkg, "Time")).Qual(timePkg, "Time").Block(
			jen.If(jen.Id("t").Op("==").Nil()).Block(jen.Return(jen.Qual(timePkg, "Time").Values())),
			jen.Return(jen.Id("t").Dot("UTC").Call()))
	}},
	{"revokedAt", []string{"timeOf"}, func(g *storeGen) {
		g.f.Comment("revokedAt is when a token was revoked: by itself, or with its family.")
		g.f.Func().Id("revokedAt").Params(jen.List(jen.Id("token"), jen.Id("family")).Op("*").Qual(timePkg, "Time")).Qual(timePkg, "Time").Block(
			jen.If(jen.Id("token").Op("!=").Nil()).Block(jen.Return(jen.Id("token").Dot("UTC").Call())),
			jen.Return(jen.Id("timeOf").Call(jen.Id("family"))))
	}},
	{"nullString", nil, func(g *storeGen) {
		g.f.Comment("nullString stores the empty string as NULL.")
		g.f.Func().Id("nullString").Params(jen.Id("s").String()).Op("*").String().Block(
			jen.If(jen.Id("s").Op("==").Lit("")).Block(jen.Return(jen.Nil())),
			jen.Return(jen.Op("&").Id("s")))
	}},
	{"stringOf", nil, func(g *storeGen) {
		g.f.Comment("stringOf reads a string nullString stored.")
		g.f.Func().Id("stringOf").Params(jen.Id("s").Op("*").String()).String().Block(
			jen.If(jen.Id("s").Op("==").Nil()).Block(jen.Return(jen.Lit(""))),
			jen.Return(jen.Op("*").Id("s")))
	}},
	{"parseUserID", nil, func(g *storeGen) {
		g.f.Comment("parseUserID converts a runtime user id to the users table's integer key.")
		g.f.Func().Id("parseUserID").Params(jen.Id("id").String()).Params(jen.Int64(), jen.Error()).Block(
			jen.List(jen.Id("n"), jen.Err()).Op(":=").Qual("strconv", "ParseInt").Call(jen.Id("id"), jen.Lit(10), jen.Lit(64)),
			jen.If(jen.Err().Op("!=").Nil()).Block(jen.Return(jen.Lit(0), jen.Qual("fmt", "Errorf").Call(jen.Lit("user id %q is not an integer"), jen.Id("id")))),
			jen.Return(jen.Id("n"), jen.Nil()))
	}},
	{"parseNullUserID", []string{"parseUserID"}, func(g *storeGen) {
		g.f.Comment("parseNullUserID is parseUserID with the empty id as NULL.")
		g.f.Func().Id("parseNullUserID").Params(jen.Id("id").String()).Params(jen.Op("*").Int64(), jen.Error()).Block(
			jen.If(jen.Id("id").Op("==").Lit("")).Block(jen.Return(jen.Nil(), jen.Nil())),
			jen.List(jen.Id("n"), jen.Err()).Op(":=").Id("parseUserID").Call(jen.Id("id")),
			jen.If(jen.Err().Op("!=").Nil()).Block(jen.Return(jen.Nil(), jen.Err())),
			jen.Return(jen.Op("&").Id("n"), jen.Nil()))
	}},
	{"formatUserID", nil, func(g *storeGen) {
		g.f.Comment("formatUserID converts the users table's integer key to a runtime user id.")
		g.f.Func().Id("formatUserID").Params(jen.Id("n").Int64()).String().Block(
			jen.Return(jen.Qual("strconv", "FormatInt").Call(jen.Id("n"), jen.Lit(10))))
	}},
	{"formatNullUserID", []string{"formatUserID"}, func(g *storeGen) {
		g.f.Comment("formatNullUserID is formatUserID with NULL as the empty id.")
		g.f.Func().Id("formatNullUserID").Params(jen.Id("n").Op("*").Int64()).String().Block(
			jen.If(jen.Id("n").Op("==").Nil()).Block(jen.Return(jen.Lit(""))),
			jen.Return(jen.Id("formatUserID").Call(jen.Op("*").Id("n"))))
	}},
	{"validUUID", nil, func(g *storeGen) {
		g.f.Comment("validUUID reports whether s is a UUID in its 36-character form: anything")
		g.f.Comment("else cannot be a user id, and PostgreSQL would reject it as one.")
		g.f.Func().Id("validUUID").Params(jen.Id("s").String()).Bool().Block(
			jen.If(jen.Len(jen.Id("s")).Op("!=").Lit(36)).Block(jen.Return(jen.False())),
			jen.For(jen.List(jen.Id("i"), jen.Id("c")).Op(":=").Range().Id("s")).Block(
				jen.Switch(jen.Id("i")).Block(
					jen.Case(jen.Lit(8), jen.Lit(13), jen.Lit(18), jen.Lit(23)).Block(
						jen.If(jen.Id("c").Op("!=").LitRune('-')).Block(jen.Return(jen.False()))),
					jen.Default().Block(
						jen.If(jen.Op("!").Parens(
							jen.Id("c").Op(">=").LitRune('0').Op("&&").Id("c").Op("<=").LitRune('9').Op("||").
								Id("c").Op(">=").LitRune('a').Op("&&").Id("c").Op("<=").LitRune('f').Op("||").
								Id("c").Op(">=").LitRune('A').Op("&&").Id("c").Op("<=").LitRune('F'))).Block(jen.Return(jen.False()))),
				)),
			jen.Return(jen.True()))
	}},
	{"notFound", nil, func(g *storeGen) {
		noRows := jen.Qual(sqlPkg, "ErrNoRows")
		if g.p.Dialect == schema.Postgres {
			noRows = jen.Qual(pgxPkg, "ErrNoRows")
		}
		g.f.Comment("notFound maps the driver's \"no rows\" to runtime.ErrNotFound.")
		g.f.Func().Id("notFound").Params(jen.Err().Error()).Error().Block(
			jen.If(jen.Qual("errors", "Is").Call(jen.Err(), noRows)).Block(jen.Return(rt("ErrNotFound"))),
			jen.Return(jen.Err()))
	}},
	{"duplicate", nil, func(g *storeGen) {
		var check []jen.Code
		switch g.p.Dialect {
		case schema.SQLite:
			check = []jen.Code{
				jen.Var().Id("e").Qual(sqlite3Pkg, "Error"),
				jen.If(jen.Qual("errors", "As").Call(jen.Err(), jen.Op("&").Id("e")).Op("&&").Parens(
					jen.Id("e").Dot("ExtendedCode").Op("==").Qual(sqlite3Pkg, "ErrConstraintPrimaryKey").Op("||").
						Id("e").Dot("ExtendedCode").Op("==").Qual(sqlite3Pkg, "ErrConstraintUnique"))).Block(jen.Return(rt("ErrDuplicate"))),
			}
		case schema.Postgres:
			check = []jen.Code{
				jen.Var().Id("e").Op("*").Qual(pgconnPkg, "PgError"),
				jen.Comment("23505: unique_violation"),
				jen.If(jen.Qual("errors", "As").Call(jen.Err(), jen.Op("&").Id("e")).Op("&&").Id("e").Dot("Code").Op("==").Lit("23505")).Block(jen.Return(rt("ErrDuplicate"))),
			}
		case schema.MySQL:
			check = []jen.Code{
				jen.Var().Id("e").Op("*").Qual(mysqlPkg, "MySQLError"),
				jen.Comment("1062: ER_DUP_ENTRY"),
				jen.If(jen.Qual("errors", "As").Call(jen.Err(), jen.Op("&").Id("e")).Op("&&").Id("e").Dot("Number").Op("==").Lit(1062)).Block(jen.Return(rt("ErrDuplicate"))),
			}
		}
		g.f.Comment("duplicate maps a unique-key violation to runtime.ErrDuplicate.")
		g.f.Func().Id("duplicate").Params(jen.Err().Error()).Error().Block(append(check, jen.Return(jen.Err()))...)
	}},
	{"missing", nil, func(g *storeGen) {
		g.f.Comment("missing explains an UPDATE that changed no row: the key is unknown")
		g.f.Comment("(runtime.ErrNotFound), or known and the change already made (ifExists).")
		g.f.Func().Id("missing").Types(jen.Id("K").Any()).Params(
			ctxParam(),
			jen.Id("exists").Func().Params(jen.Qual(ctxPkg, "Context"), jen.Id("K")).Params(jen.Int64(), jen.Error()),
			jen.Id("key").Id("K"),
			jen.Id("ifExists").Error(),
		).Error().Block(
			jen.List(jen.Id("n"), jen.Err()).Op(":=").Id("exists").Call(jen.Id("ctx"), jen.Id("key")),
			jen.If(jen.Err().Op("!=").Nil()).Block(jen.Return(jen.Err())),
			jen.If(jen.Id("n").Op("==").Lit(0)).Block(jen.Return(rt("ErrNotFound"))),
			jen.Return(jen.Id("ifExists")))
	}},
}

// emitHelpers writes the helpers the other parts used.
func (g *storeGen) emitHelpers() {
	for i := len(storeHelpers) - 1; i >= 0; i-- { // a helper's needs come before it in the list
		if g.helpers[storeHelpers[i].name] {
			for _, n := range storeHelpers[i].needs {
				g.helpers[n] = true
			}
		}
	}
	for _, h := range storeHelpers {
		if g.helpers[h.name] {
			h.emit(g)
			g.f.Line()
		}
	}
}
