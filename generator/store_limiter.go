package generator

import (
	"github.com/dave/jennifer/jen"

	"github.com/oauthgen/oauthgen/schema"
)

// tableLimits is the kind of the limiter's table: the failed attempts
// runtime.Throttle counts, one row per key. Every declaration has it, so
// that limits hold across the instances behind a load balancer. It is not
// a declaration table kind: its name is table_prefix + "limits".
const tableLimits = "limits"

func init() { recordNames[tableLimits] = "Limit" } // sqlc's model of a row

// limitsTable adds the limiter's table.
func (b *tableBuilder) limitsTable() {
	t := &Table{Kind: tableLimits, Name: b.d.Storage.TablePrefix + tableLimits, Columns: []*Column{
		b.col("id", TypeKey, false),
		b.col("failures", TypeInt64, false),
		b.col("last_failure", TypeTime, false),
		// The start of the window the last failure was counted in.
		b.col("window_start", TypeTime, false),
	}}
	t.PrimaryKey = []string{"id"}
	b.tables = append(b.tables, t)
	b.index(t, "last_failure") // PurgeLimits
}

// emitLimiter writes the runtime.Limiter methods over the limits table.
func (g *storeGen) emitLimiter() {
	if !g.p.Has(tableLimits) {
		return
	}
	f := g.f
	f.Comment("limiterRetention is how long PurgeExpired keeps a key's count after its")
	f.Comment("last failure: longer than runtime.DefaultThrottleWindow, after which the")
	f.Comment("count no longer matters. A longer Throttle.Window needs Purge with its own")
	f.Comment("cut-off instead.")
	f.Const().Id("limiterRetention").Op("=").Lit(24).Op("*").Qual(timePkg, "Hour")
	f.Line()
	f.Comment("maxLimitKey is the longest key stored as it is; longer ones (a long client")
	f.Comment("id) are stored as their SHA-256, within the id column's size.")
	f.Const().Id("maxLimitKey").Op("=").Lit(128)
	f.Line()
	f.Comment("limitKey is the id under which key's count is stored.")
	f.Func().Id("limitKey").Params(jen.Id("key").String()).String().Block(
		jen.If(jen.Len(jen.Id("key")).Op("<=").Id("maxLimitKey")).Block(jen.Return(jen.Id("key"))),
		jen.Id("sum").Op(":=").Qual("crypto/sha256", "Sum256").Call(jen.Index().Byte().Call(jen.Id("key"))),
		jen.Return(jen.Lit("sha256:").Op("+").Qual("encoding/hex", "EncodeToString").Call(jen.Id("sum").Index(jen.Op(":")))),
	)
	f.Line()

	f.Comment("Failures implements runtime.Limiter: key's failures in a row and the time")
	f.Comment("of the last one, or 0 and the zero time when it has none at or after since.")
	f.Func().Params(recv()).Id("Failures").Params(ctxParam(), jen.Id("key").String(), jen.Id("since").Qual(timePkg, "Time")).
		Params(jen.Int(), jen.Qual(timePkg, "Time"), jen.Error()).Block(
		jen.List(jen.Id("row"), jen.Err()).Op(":=").Add(g.call("LimitFailures",
			arg{"id", jen.Id("limitKey").Call(jen.Id("key"))}, arg{"since", jen.Id("since").Dot("UTC").Call()})),
		jen.If(jen.Err().Op("!=").Nil()).Block(
			jen.If(jen.Err().Op("=").Add(g.use("notFound", jen.Err())), jen.Qual("errors", "Is").Call(jen.Err(), rt("ErrNotFound"))).Block(
				jen.Return(jen.Lit(0), jen.Qual(timePkg, "Time").Values(), jen.Nil())),
			jen.Return(jen.Lit(0), jen.Qual(timePkg, "Time").Values(), jen.Err()),
		),
		jen.Return(jen.Int().Call(jen.Id("row").Dot("Failures")), jen.Id("row").Dot("LastFailure").Dot("UTC").Call(), jen.Nil()),
	)
	f.Line()

	f.Comment("FailuresOf implements runtime.BatchLimiter: Failures for each of keys, in")
	f.Comment("one statement.")
	f.Func().Params(recv()).Id("FailuresOf").Params(ctxParam(), jen.Id("keys").Index().String(), jen.Id("since").Qual(timePkg, "Time")).
		Params(jen.Index().Int(), jen.Index().Qual(timePkg, "Time"), jen.Error()).Block(
		jen.Id("n").Op(",").Id("last").Op(":=").Make(jen.Index().Int(), jen.Len(jen.Id("keys"))).Op(",").Make(jen.Index().Qual(timePkg, "Time"), jen.Len(jen.Id("keys"))),
		jen.If(jen.Len(jen.Id("keys")).Op("==").Lit(0)).Block(jen.Return(jen.Id("n"), jen.Id("last"), jen.Nil())),
		jen.Id("ids").Op(":=").Make(jen.Index().String(), jen.Len(jen.Id("keys"))),
		jen.For(jen.List(jen.Id("i"), jen.Id("k")).Op(":=").Range().Id("keys")).Block(
			jen.Id("ids").Index(jen.Id("i")).Op("=").Id("limitKey").Call(jen.Id("k")),
		),
		jen.List(jen.Id("rows"), jen.Err()).Op(":=").Add(g.call("LimitFailuresOf",
			arg{"ids", jen.Id("ids")}, arg{"since", jen.Id("since").Dot("UTC").Call()})),
		jen.If(jen.Err().Op("!=").Nil()).Block(jen.Return(jen.Nil(), jen.Nil(), jen.Err())),
		jen.For(jen.List(jen.Id("_"), jen.Id("row")).Op(":=").Range().Id("rows")).Block(
			jen.For(jen.List(jen.Id("i"), jen.Id("id")).Op(":=").Range().Id("ids")).Block(
				jen.If(jen.Id("id").Op("==").Id("row").Dot("ID")).Block(
					jen.Id("n").Index(jen.Id("i")).Op(",").Id("last").Index(jen.Id("i")).Op("=").
						Int().Call(jen.Id("row").Dot("Failures")).Op(",").Id("row").Dot("LastFailure").Dot("UTC").Call(),
				),
			),
		),
		jen.Return(jen.Id("n"), jen.Id("last"), jen.Nil()),
	)
	f.Line()

	add := g.callOn(jen.Id("q"), "AddLimitFailure",
		arg{"id", jen.Id("limitKey").Call(jen.Id("key"))}, arg{"now", jen.Id("now").Dot("UTC").Call()},
		arg{"since", jen.Id("since").Dot("UTC").Call()})
	body := g.beginChange(jen.Lit(0), jen.Err())
	if g.p.Dialect == schema.MySQL {
		body = append(body,
			jen.List(jen.Id("res"), jen.Err()).Op(":=").Add(add),
			jen.If(jen.Err().Op("!=").Nil()).Block(jen.Return(jen.Lit(0), jen.Err())),
			jen.Comment("1 row affected: inserted, the first failure; 2: updated, and the"),
			jen.Comment("statement's LAST_INSERT_ID(expr) is the new count."),
			jen.List(jen.Id("rows"), jen.Err()).Op(":=").Id("res").Dot("RowsAffected").Call(),
			jen.If(jen.Err().Op("!=").Nil()).Block(jen.Return(jen.Lit(0), jen.Err())),
			jen.Id("n").Op(":=").Int64().Call(jen.Lit(1)),
			jen.If(jen.Id("rows").Op("!=").Lit(1)).Block(
				jen.If(jen.List(jen.Id("n"), jen.Err()).Op("=").Id("res").Dot("LastInsertId").Call(), jen.Err().Op("!=").Nil()).Block(jen.Return(jen.Lit(0), jen.Err())),
			),
		)
	} else {
		body = append(body,
			jen.List(jen.Id("n"), jen.Err()).Op(":=").Add(add),
			jen.If(jen.Err().Op("!=").Nil()).Block(jen.Return(jen.Lit(0), jen.Err())),
		)
	}
	body = append(body,
		commitChangeOr(jen.Lit(0), jen.Err()),
		jen.Return(jen.Int().Call(jen.Id("n")), jen.Nil()),
	)
	f.Comment("AddFailure implements runtime.Limiter: it counts a failure of key at now in")
	f.Comment("one atomic upsert and returns key's failures in a row, 1 when it had none")
	f.Comment("at or after since.")
	f.Func().Params(recv()).Id("AddFailure").Params(ctxParam(), jen.Id("key").String(), jen.List(jen.Id("now"), jen.Id("since")).Qual(timePkg, "Time")).
		Params(jen.Int(), jen.Error()).Block(body...)
	f.Line()

	f.Comment("Reset implements runtime.Limiter: it forgets key's failures.")
	f.Func().Params(recv()).Id("Reset").Params(ctxParam(), jen.Id("key").String()).Error().Block(
		append(g.beginChange(jen.Err()),
			jen.List(jen.Id("n"), jen.Err()).Op(":=").Add(g.callOn(jen.Id("q"), "ResetLimit", arg{"id", jen.Id("limitKey").Call(jen.Id("key"))})),
			jen.If(jen.Err().Op("!=").Nil().Op("||").Id("n").Op("==").Lit(0)).Block(jen.Return(jen.Err()).Comment("no count to forget: no change")),
			commitChange(),
		)...,
	)
	f.Line()

	f.Comment("Purge implements runtime.Limiter: it forgets the keys whose last failure")
	f.Comment("is before before, purgeBatch rows per transaction.")
	f.Func().Params(recv()).Id("Purge").Params(ctxParam(), jen.Id("before").Qual(timePkg, "Time")).Error().Block(
		jen.For().Block(
			jen.List(jen.Id("n"), jen.Err()).Op(":=").Id("s").Dot("purgeLimitBatch").Call(jen.Id("ctx"), jen.Id("before").Dot("UTC").Call()),
			jen.If(jen.Err().Op("!=").Nil().Op("||").Id("n").Op("<").Id("purgeBatch")).Block(jen.Return(jen.Err())),
		),
	)
	f.Line()

	f.Comment("purgeLimitBatch forgets up to purgeBatch keys whose last failure is before")
	f.Comment("before, in a transaction that counts the change if there was one.")
	f.Func().Params(recv()).Id("purgeLimitBatch").Params(ctxParam(), jen.Id("before").Qual(timePkg, "Time")).Params(jen.Int64(), jen.Error()).Block(
		append(g.beginChange(jen.Lit(0), jen.Err()),
			jen.List(jen.Id("n"), jen.Err()).Op(":=").Add(g.callOn(jen.Id("q"), "PurgeLimits", arg{"before", jen.Id("before")})),
			jen.If(jen.Err().Op("!=").Nil().Op("||").Id("n").Op("==").Lit(0)).Block(jen.Return(jen.Lit(0), jen.Err())),
			commitChangeOr(jen.Lit(0), jen.Err()),
			jen.Return(jen.Id("n"), jen.Nil()),
		)...,
	)
	f.Line()

	f.Comment("purgeLimits is PurgeExpired's step for the limiter: one batch of the counts")
	f.Comment("older than limiterRetention before before.")
	f.Func().Params(recv()).Id("purgeLimits").Params(ctxParam(), jen.Id("before").Qual(timePkg, "Time")).Params(jen.Int64(), jen.Error()).Block(
		jen.Return(jen.Id("s").Dot("purgeLimitBatch").Call(jen.Id("ctx"), jen.Id("before").Dot("Add").Call(jen.Op("-").Id("limiterRetention")))),
	)
	f.Line()
}
