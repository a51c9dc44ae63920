package generator

import (
	"github.com/dave/jennifer/jen"

	"github.com/oauthgen/oauthgen/schema"
)

// groupsLookups reports whether GetAccessToken groups the lookups that
// arrive together into one pgx batch (GetAccessTokens, PostgreSQL's). Its
// queue shares maxBatch and errLead with the group commit of lone access
// tokens, which every PostgreSQL Store has.
func (g *storeGen) groupsLookups() bool { return g.p.Query("GetAccessTokens") != nil }

// emitGroupedLookup writes GetAccessToken through a leaderQueue: the
// lookups that arrive while a batch is out share the next one, sent as one
// pgx batch, one round trip, under the leader's context. A lookup the batch
// failed (the leader's context ended, the connection broke) is made again,
// alone, by its own caller under its own context; a lone lookup is the
// plain query. The single and the batch path share accessTokenFromRow.
func (g *storeGen) emitGroupedLookup() {
	f := g.f
	row := g.q("GetAccessTokenRow")
	lookups := leaderQueue{typ: "lookupQueue", field: "lookups", pending: "pendingLookup", leaves: true, recovered: "recovered"}

	f.Comment("GetAccessToken returns the access token with that hash, or")
	f.Comment("runtime.ErrNotFound. Lookups that arrive while a batch of them is out")
	f.Comment("wait for the next, which reads them all in one round trip (lookupQueue).")
	f.Func().Params(recv()).Id("GetAccessToken").Params(ctxParam(), jen.Id("hash").String()).Params(jen.Op("*").Add(rt("AccessToken")), jen.Error()).Block(
		lookups.lead(
			jen.Values(jen.Id("hash").Op(":").Id("hash"), jen.Id("done").Op(":").Make(jen.Chan().Error(), jen.Lit(1))),
			nil,
			jen.Id("recovered").Op(":=").Id("s").Dot("lookUpBatch").Call(jen.Id("ctx"), jen.Id("batch")),
			func(err jen.Code) jen.Code {
				return jen.Return(jen.Id("s").Dot("lookedUp").Call(jen.Id("ctx"), jen.Id("p"), err))
			},
		)...,
	)
	f.Line()

	g.emitQueueType(lookups, []string{
		"lookupQueue groups GetAccessToken's lookups, a bearer check each. PostgreSQL",
		"spends some 40 µs of CPU on a query that is a round trip of its own, under",
		"20 µs on each query of a batch of 4 to 16 (measured), and the Store saves",
		"a write and a read system call per query likewise: lookups that arrive",
		"while a batch is out share the next one.",
	})
	f.Comment("pendingLookup is one GetAccessToken call waiting in the queue.")
	f.Type().Id("pendingLookup").Struct(
		jen.Id("hash").String(),
		jen.Id("row").Add(row.Clone()).Comment("its row, when done gave nil"),
		jen.Id("done").Chan().Error().Comment("the lookup's error, errLookUpAlone or errLead; buffered"),
	)
	f.Line()
	f.Comment("errLookUpAlone tells a queued caller that its batch failed before its")
	f.Comment("lookup was answered: it looks its token up again, alone.")
	f.Var().Id("errLookUpAlone").Op("=").Qual("errors", "New").Call(jen.Lit("look up alone"))
	f.Line()

	f.Comment("lookUpBatch looks up the tokens of batch under ctx, the leader's: one")
	f.Comment("alone with GetAccessToken, more with one pgx batch (GetAccessTokens), and")
	f.Comment("tells each caller. A lookup that failed in a batch, for any reason but no")
	f.Comment("row, gets errLookUpAlone, so that no caller's answer depends on another's")
	f.Comment("context. A panic (in a pgx tracer, say) is returned for the leader to")
	f.Comment("raise once the lead is handed over; the callers not yet answered look")
	f.Comment("their tokens up alone.")
	f.Func().Params(recv()).Id("lookUpBatch").Params(ctxParam(), jen.Id("batch").Index().Op("*").Id("pendingLookup")).Params(jen.Id("recovered").Any()).Block(
		jen.Id("answered").Op(":=").Lit(0),
		jen.Defer().Func().Params().Block(
			jen.If(jen.Id("recovered").Op("=").Recover(), jen.Id("recovered").Op("!=").Nil()).Block(
				jen.For(jen.List(jen.Id("_"), jen.Id("p")).Op(":=").Range().Id("batch").Index(jen.Id("answered"), jen.Empty())).Block(
					jen.Id("p").Dot("done").Op("<-").Id("errLookUpAlone"),
				),
			),
		).Call(),
		jen.If(jen.Len(jen.Id("batch")).Op("==").Lit(1)).Block(
			jen.Id("p").Op(":=").Id("batch").Index(jen.Lit(0)),
			jen.Var().Err().Error(),
			jen.List(jen.Id("p").Dot("row"), jen.Err()).Op("=").Add(g.call("GetAccessToken", arg{"hash", jen.Id("p").Dot("hash")})),
			jen.Id("p").Dot("done").Op("<-").Err(),
			jen.Return(jen.Nil()),
		),
		jen.Id("hashes").Op(":=").Make(jen.Index().String(), jen.Len(jen.Id("batch"))),
		jen.For(jen.List(jen.Id("i"), jen.Id("p")).Op(":=").Range().Id("batch")).Block(
			jen.Id("hashes").Index(jen.Id("i")).Op("=").Id("p").Dot("hash"),
		),
		jen.Id("s").Dot("read").Dot("GetAccessTokens").Call(jen.Id("ctx"), jen.Id("hashes")).Dot("QueryRow").Call(
			jen.Func().Params(jen.Id("i").Int(), jen.Id("row").Add(g.q("GetAccessTokensRow")), jen.Err().Error()).Block(
				jen.If(jen.Err().Op("!=").Nil().Op("&&").Op("!").Qual("errors", "Is").Call(jen.Err(), jen.Qual(pgxPkg, "ErrNoRows"))).Block(
					jen.Err().Op("=").Id("errLookUpAlone"),
				),
				jen.Id("p").Op(":=").Id("batch").Index(jen.Id("i")),
				jen.Id("p").Dot("row").Op("=").Add(row.Clone()).Call(jen.Id("row")),
				jen.Id("p").Dot("done").Op("<-").Err(),
				jen.Id("answered").Op("++"),
			),
		),
		jen.Return(jen.Nil()),
	)
	f.Line()
	g.emitLeave(lookups)

	f.Comment("lookedUp is GetAccessToken's answer to p, whose lookup ended with err;")
	f.Comment("after errLookUpAlone, its own lookup under ctx, its caller's.")
	f.Func().Params(recv()).Id("lookedUp").Params(ctxParam(), jen.Id("p").Op("*").Id("pendingLookup"), jen.Err().Error()).Params(jen.Op("*").Add(rt("AccessToken")), jen.Error()).Block(
		jen.If(jen.Err().Op("==").Id("errLookUpAlone")).Block(
			jen.List(jen.Id("p").Dot("row"), jen.Err()).Op("=").Add(g.call("GetAccessToken", arg{"hash", jen.Id("p").Dot("hash")})),
		),
		jen.If(jen.Err().Op("!=").Nil()).Block(jen.Return(jen.Nil(), g.use("notFound", jen.Err()))),
		jen.Return(jen.Id("accessTokenFromRow").Call(jen.Id("p").Dot("hash"), jen.Id("p").Dot("row")), jen.Nil()),
	)
	f.Line()

	f.Comment("accessTokenFromRow is the access token with that hash, read as row.")
	f.Func().Id("accessTokenFromRow").Params(jen.Id("hash").String(), jen.Id("row").Add(row.Clone())).Op("*").Add(rt("AccessToken")).Block(
		jen.Return(jen.Op("&").Add(rt("AccessToken")).Values(g.recordFields(schema.TableAccessTokens, "hash", jen.Id("hash"))...)),
	)
	f.Line()
}
