package generator

import (
	"github.com/dave/jennifer/jen"

	"github.com/oauthgen/oauthgen/schema"
)

// groupCommit is what a dialect's group commit does its own way. The rest,
// the queue and its leader, is the same code on both.
type groupCommit struct {
	// lone: only lone access tokens queue, sent by Issue (emitIssue);
	// otherwise every issuance does, and entry is Issue.
	lone bool
	// queueDoc is issueQueue's comment: why the dialect groups.
	queueDoc []string
	// entry is the method callers queue through, with its comment.
	entry    string
	entryDoc []string
	// yield: a leader that finds itself alone yields once before taking
	// the queue, for the callers a few microseconds behind.
	yield bool
	// commitDoc is commitBatch's comment.
	commitDoc []string
	// alone applies p's issuance by itself; aloneDoc is issueAlone's comment.
	alone    jen.Code
	aloneDoc []string
	// tryBatch writes tryBatch, which applies a batch all or none.
	tryBatch func(*storeGen)
}

// groupCommit returns the dialect's group commit, or nil: SQLite queues
// every issuance (one writer, and a COMMIT costs more than a token's
// INSERT); PostgreSQL queues lone access tokens (emitIssue), the one
// issuance that is a single INSERT, which a pgx batch can carry.
func (g *storeGen) groupCommit() *groupCommit {
	p := jen.Id("p")
	switch {
	case g.p.Dialect == schema.SQLite:
		return &groupCommit{
			queueDoc: []string{
				"issueQueue is Issue's group commit: on SQLite's one writer connection, a",
				"commit costs more than a token's INSERT, so issuances that arrive while",
				"another commits share the next transaction.",
			},
			entry: "Issue",
			entryDoc: []string{
				"Issue applies is in one transaction: the Consume first, then the records,",
				"the family before those that name it. Either all of it is visible",
				"afterwards or none of it: runtime.ErrConsumed if the Consume lost,",
				"runtime.ErrNotFound if its record does not exist, runtime.ErrDuplicate if",
				"a key exists. It returns once that transaction committed.",
				"",
				"Issuances that arrive together share a transaction (a group commit); one",
				"that fails in it rolls it back, and each of them then runs alone, so a",
				"caller's result never depends on the others'.",
			},
			yield: true,
			commitDoc: []string{
				"commitBatch applies batch in one transaction and tells each caller the",
				"result. A caller that gave up already is left out. If anything fails, the",
				"transaction is rolled back and each issuance runs alone (issueNow).",
			},
			alone: jen.Id("s").Dot("issueNow").Call(jen.Qual(ctxPkg, "WithoutCancel").Call(p.Clone().Dot("ctx")), p.Clone().Dot("is")),
			aloneDoc: []string{
				"issueAlone applies p's issuance in a transaction of its own and tells p.",
				"Without p's cancellation, as in a batch: mattn/go-sqlite3 runs each",
				"statement whose context can end on a goroutine of its own, to interrupt",
				"it, which costs more than the statement; and p's caller waits for its",
				"result whatever its context does.",
			},
			tryBatch: (*storeGen).emitSQLiteTryBatch,
		}
	case g.batchesAccessTokens():
		return &groupCommit{
			lone: true,
			queueDoc: []string{
				"issueQueue is the group commit of lone access tokens: PostgreSQL's cost per",
				"transaction (its commit, the client row's FOR KEY SHARE lock taken by the",
				"foreign key) exceeds an INSERT's, so tokens that arrive while a batch",
				"commits share the next one.",
			},
			entry: "issueGrouped",
			entryDoc: []string{
				"issueGrouped applies is, an access token alone, through the group commit:",
				"tokens that arrive together are inserted by one batch, in one round trip",
				"and one transaction. A batch that fails is applied not at all, and each",
				"of its tokens is then inserted alone, so a caller's result never depends",
				"on the others'. It returns once its token's INSERT committed.",
			},
			yield: false,
			commitDoc: []string{
				"commitBatch inserts batch's tokens in one transaction and tells each caller",
				"the result. A caller that gave up already is left out. If anything fails,",
				"none of them is stored, and each is inserted alone (issueAlone).",
			},
			alone:    jen.Id("s").Dot("issue").Call(p.Clone().Dot("ctx"), jen.Id("s").Dot("write"), p.Clone().Dot("is")),
			aloneDoc: []string{"issueAlone inserts p's access token by itself and tells p."},
			tryBatch: (*storeGen).emitPostgresTryBatch,
		}
	}
	return nil
}

// emitGroupCommit writes the group commit: concurrent issuances queue, and
// one of them (the leader) commits everything queued in one transaction,
// whose commit is then paid once for all of them. Each caller returns only
// after the transaction holding its records committed. An error in a batch
// rolls it back and runs each of its issuances alone, so that every caller
// gets exactly the result it would have got alone.
func (g *storeGen) emitGroupCommit(gc *groupCommit) {
	f := g.f
	pending := func() *jen.Statement { return jen.Op("*").Id("pendingIssue") }
	comment := func(lines []string) {
		for _, l := range lines {
			f.Comment(l)
		}
	}
	if g.groupsLookups() {
		f.Comment("maxBatch bounds a batch: how many lone access tokens one transaction")
		f.Comment("commits, how many lookups one round trip reads.")
	} else {
		f.Comment("maxBatch bounds how many issuances one transaction commits.")
	}
	f.Const().Id("maxBatch").Op("=").Lit(64)
	f.Line()
	issues := leaderQueue{typ: "issueQueue", field: "issues", pending: "pendingIssue"}
	g.emitQueueType(issues, gc.queueDoc)
	f.Comment("pendingIssue is one Issue call waiting in the queue.")
	f.Type().Id("pendingIssue").Struct(
		jen.Id("ctx").Qual(ctxPkg, "Context"),
		jen.Id("is").Op("*").Add(rt("Issuance")),
		jen.Id("done").Chan().Error().Comment("its result, or errLead; buffered"),
	)
	f.Line()
	f.Comment("errLead tells a queued caller to lead: to serve the next batch.")
	f.Var().Id("errLead").Op("=").Qual("errors", "New").Call(jen.Lit("lead the next batch"))
	f.Line()
	f.Comment("issuePanic is a panic while applying one issuance (in a NewAccessTokenExtra")
	f.Comment("hook, say), carried to its caller, which panics with it in its own")
	f.Comment("goroutine, as it would have without the group commit. The leader goes on.")
	f.Type().Id("issuePanic").Struct(jen.Id("value").Any())
	f.Line()
	f.Func().Params(jen.Id("issuePanic")).Id("Error").Params().String().Block(jen.Return(jen.Lit("panic while applying an issuance")))
	f.Line()
	f.Comment("issueResult is what Issue returns for err: err, or its panic, raised again.")
	f.Func().Id("issueResult").Params(jen.Err().Error()).Error().Block(
		jen.If(jen.List(jen.Id("p"), jen.Id("ok")).Op(":=").Err().Assert(jen.Id("issuePanic")), jen.Id("ok")).Block(jen.Panic(jen.Id("p").Dot("value"))),
		jen.Return(jen.Err()),
	)
	f.Line()
	f.Comment("issueRecovered runs f and returns a panic in it as an issuePanic. A")
	f.Comment("transaction f began is rolled back by f's deferred Rollback.")
	f.Func().Id("issueRecovered").Params(jen.Id("f").Func().Params().Error()).Params(jen.Err().Error()).Block(
		jen.Defer().Func().Params().Block(
			jen.If(jen.Id("v").Op(":=").Recover(), jen.Id("v").Op("!=").Nil()).Block(jen.Err().Op("=").Id("issuePanic").Values(jen.Id("v"))),
		).Call(),
		jen.Return(jen.Id("f").Call()),
	)
	f.Line()

	var wait []jen.Code
	if gc.yield {
		wait = []jen.Code{jen.If(jen.Len(jen.Id("q").Dot("queue")).Op("==").Lit(1)).Block(
			jen.Comment("Alone: let the callers about to queue run first, to share this"),
			jen.Comment("COMMIT, the largest single cost of a token request."),
			jen.Id("q").Dot("mu").Dot("Unlock").Call(),
			jen.Qual("runtime", "Gosched").Call(),
			jen.Id("q").Dot("mu").Dot("Lock").Call(),
		)}
	}
	comment(gc.entryDoc)
	f.Func().Params(recv()).Id(gc.entry).Params(ctxParam(), jen.Id("is").Op("*").Add(rt("Issuance"))).Error().Block(
		issues.lead(
			jen.Values(jen.Id("ctx").Op(":").Id("ctx"), jen.Id("is").Op(":").Id("is"), jen.Id("done").Op(":").Make(jen.Chan().Error(), jen.Lit(1))),
			wait,
			jen.Id("s").Dot("commitBatch").Call(jen.Id("batch")),
			func(err jen.Code) jen.Code { return jen.Return(jen.Id("issueResult").Call(err)) },
		)...,
	)
	f.Line()

	comment(gc.commitDoc)
	f.Func().Params(recv()).Id("commitBatch").Params(jen.Id("batch").Index().Add(pending())).Block(
		jen.Id("live").Op(":=").Id("batch").Index(jen.Empty(), jen.Lit(0)),
		jen.For(jen.List(jen.Id("_"), jen.Id("p")).Op(":=").Range().Id("batch")).Block(
			jen.If(jen.Err().Op(":=").Id("p").Dot("ctx").Dot("Err").Call(), jen.Err().Op("!=").Nil()).Block(
				jen.Id("p").Dot("done").Op("<-").Err(),
				jen.Continue(),
			),
			jen.Id("live").Op("=").Append(jen.Id("live"), jen.Id("p")),
		),
		jen.Switch(jen.Len(jen.Id("live"))).Block(
			jen.Case(jen.Lit(0)).Block(jen.Return()),
			jen.Case(jen.Lit(1)).Block(
				jen.Id("s").Dot("issueAlone").Call(jen.Id("live").Index(jen.Lit(0))),
				jen.Return(),
			),
		),
		jen.If(jen.Id("issueRecovered").Call(jen.Func().Params().Error().Block(jen.Return(jen.Id("s").Dot("tryBatch").Call(jen.Id("live"))))).Op("==").Nil()).Block(
			jen.For(jen.List(jen.Id("_"), jen.Id("p")).Op(":=").Range().Id("live")).Block(jen.Id("p").Dot("done").Op("<-").Nil()),
			jen.Return(),
		),
		jen.For(jen.List(jen.Id("_"), jen.Id("p")).Op(":=").Range().Id("live")).Block(
			jen.Id("s").Dot("issueAlone").Call(jen.Id("p")),
		),
	)
	f.Line()

	comment(gc.aloneDoc)
	f.Func().Params(recv()).Id("issueAlone").Params(jen.Id("p").Add(pending())).Block(
		jen.Id("p").Dot("done").Op("<-").Id("issueRecovered").Call(jen.Func().Params().Error().Block(
			jen.Return(gc.alone),
		)),
	)
	f.Line()
	gc.tryBatch(g)
}

// emitSQLiteTryBatch writes SQLite's tryBatch: the issuances in one
// transaction on the writer connection.
func (g *storeGen) emitSQLiteTryBatch() {
	f := g.f
	f.Comment("tryBatch applies every issuance of batch in one transaction, all or none.")
	f.Comment("One caller giving up does not cancel the others' transaction; each")
	f.Comment("issuance is written under its own caller's context (its values reach")
	f.Comment("the New…Extra hooks), without its cancellation. No issuance writes the")
	f.Comment("change count, so one read of it serves every IfChangeCount of the batch.")
	want := jen.Id("p").Dot("is").Dot("IfChangeCount")
	tx := g.issueTx()
	f.Func().Params(recv()).Id("tryBatch").Params(jen.Id("batch").Index().Op("*").Id("pendingIssue")).Error().Block(
		jen.Id("ctx").Op(":=").Qual(ctxPkg, "WithoutCancel").Call(jen.Id("batch").Index(jen.Lit(0)).Dot("ctx")),
		jen.List(jen.Id("tx"), jen.Err()).Op(":=").Add(tx.begin),
		jen.If(jen.Err().Op("!=").Nil()).Block(jen.Return(jen.Err())),
		jen.Defer().Add(tx.rollback).Comment("a no-op after "+tx.committed),
		jen.Id("q").Op(":=").Id("tx").Dot("q"),
		jen.Var().Id("count").Op("*").Uint64().Comment("read for the first IfChangeCount"),
		jen.For(jen.List(jen.Id("_"), jen.Id("p")).Op(":=").Range().Id("batch")).Block(
			jen.If(want.Clone().Op("!=").Nil()).Block(
				jen.If(jen.Id("count").Op("==").Nil()).Block(
					jen.List(jen.Id("n"), jen.Err()).Op(":=").Id("changeCount").Call(jen.Id("ctx"), jen.Id("q")),
					jen.If(jen.Err().Op("!=").Nil()).Block(jen.Return(jen.Err())),
					jen.Id("count").Op("=").Op("&").Id("n"),
				),
				jen.If(jen.Op("*").Add(want.Clone()).Op("!=").Op("*").Id("count")).Block(jen.Return(rt("ErrChanged"))),
			),
			jen.If(jen.Err().Op(":=").Id("s").Dot("issue").Call(jen.Qual(ctxPkg, "WithoutCancel").Call(jen.Id("p").Dot("ctx")), jen.Id("q"), jen.Id("p").Dot("is")), jen.Err().Op("!=").Nil()).Block(jen.Return(jen.Err())),
		),
		jen.Return(tx.commit),
	)
	f.Line()
}

// emitPostgresTryBatch writes PostgreSQL's tryBatch: the access tokens'
// INSERTs as one pgx batch (sqlc's CreateAccessTokens). Its Close reads
// every result, the implicit COMMIT's included.
func (g *storeGen) emitPostgresTryBatch() {
	f := g.f
	ctx := jen.Qual(ctxPkg, "WithoutCancel").Call(jen.Id("p").Dot("ctx"))
	params := g.q("CreateAccessTokensParams")
	var build []jen.Code
	if g.paramsFail(schema.TableAccessTokens) {
		build = []jen.Code{
			jen.List(jen.Id("a"), jen.Err()).Op(":=").Id("s").Dot("accessTokenParams").Call(ctx, jen.Id("p").Dot("is").Dot("AccessToken")),
			jen.If(jen.Err().Op("!=").Nil()).Block(jen.Return(jen.Err())),
			jen.Id("arg").Index(jen.Id("i")).Op("=").Add(params.Clone()).Call(jen.Id("a")),
		}
	} else {
		build = []jen.Code{
			jen.Id("arg").Index(jen.Id("i")).Op("=").Add(params.Clone()).Call(jen.Id("s").Dot("accessTokenParams").Call(ctx, jen.Id("p").Dot("is").Dot("AccessToken"))),
		}
	}
	f.Comment("tryBatch inserts the access token of every issuance of batch with one")
	f.Comment("pgx batch: one round trip, and one implicit transaction, as pgx ends the")
	f.Comment("batch with a single Sync; so all or none. One caller giving up does not")
	f.Comment("cancel the others' INSERTs; each token's columns are built under its own")
	f.Comment("caller's context (its values reach the New…Extra hooks), without its")
	f.Comment("cancellation. Close reads every result, the COMMIT's included.")
	f.Func().Params(recv()).Id("tryBatch").Params(jen.Id("batch").Index().Op("*").Id("pendingIssue")).Error().Block(
		jen.Id("arg").Op(":=").Make(jen.Index().Add(params.Clone()), jen.Len(jen.Id("batch"))),
		jen.For(jen.List(jen.Id("i"), jen.Id("p")).Op(":=").Range().Id("batch")).Block(build...),
		jen.Return(jen.Id("s").Dot("write").Dot("CreateAccessTokens").Call(jen.Qual(ctxPkg, "WithoutCancel").Call(jen.Id("batch").Index(jen.Lit(0)).Dot("ctx")), jen.Id("arg")).Dot("Close").Call()),
	)
	f.Line()
}

// leaderQueue is a queue of callers served by batches: one caller at a
// time, the leader, takes up to maxBatch of the queue and serves them all;
// callers that arrive meanwhile queue for the next batch, and the leader
// hands over to the first of them. The group commit is one; PostgreSQL's
// grouped lookups (emitGroupedLookup) another.
type leaderQueue struct {
	typ     string // the queue's type
	field   string // the Store's field that holds it
	pending string // the type of a queued call, with a done channel
	// leaves lets a queued caller whose context ends return at once: for
	// reads, where a caller gone leaves nothing half-done (the queue's
	// leave method, emitLeave).
	leaves bool
	// recovered names the variable serve sets to a panic it recovered,
	// which the leader raises again once it has handed the lead over, so
	// that a panic never leaves the queue without a leader.
	recovered string
}

// emitQueueType writes the queue's type, with its comment doc.
func (g *storeGen) emitQueueType(lq leaderQueue, doc []string) {
	for _, l := range doc {
		g.f.Comment(l)
	}
	g.f.Type().Id(lq.typ).Struct(
		jen.Id("mu").Qual("sync", "Mutex"),
		jen.Id("queue").Index().Op("*").Id(lq.pending),
		jen.Id("leading").Bool().Comment("a caller is serving a batch"),
	)
	g.f.Line()
}

// lead is the body of a method whose callers queue in lq: it queues p, the
// pending call made of values, and waits for its result, or for the lead.
// Leading, it locks the queue, runs wait (the leader may wait there for
// more callers), takes the batch, serves it with serve, and hands the lead
// over. result returns what the method returns for the error p's done gave.
func (lq leaderQueue) lead(values jen.Code, wait []jen.Code, serve jen.Code, result func(err jen.Code) jen.Code) []jen.Code {
	q := func() *jen.Statement { return jen.Id("q") }
	return append(append([]jen.Code{
		jen.Id("p").Op(":=").Op("&").Id(lq.pending).Add(values),
		q().Op(":=").Op("&").Id("s").Dot(lq.field),
		q().Dot("mu").Dot("Lock").Call(),
		q().Dot("queue").Op("=").Append(q().Dot("queue"), jen.Id("p")),
		jen.Id("lead").Op(":=").Op("!").Add(q()).Dot("leading"),
		q().Dot("leading").Op("=").True(),
		q().Dot("mu").Dot("Unlock").Call(),
		lq.follow(result),
		jen.Comment("Leading: p is first in the queue, so in this batch."),
		q().Dot("mu").Dot("Lock").Call(),
	}, wait...),
		jen.Id("batch").Op(":=").Add(q()).Dot("queue"),
		jen.If(jen.Len(jen.Id("batch")).Op(">").Id("maxBatch")).Block(jen.Id("batch").Op("=").Id("batch").Index(jen.Empty(), jen.Id("maxBatch"))),
		q().Dot("queue").Op("=").Add(q()).Dot("queue").Index(jen.Len(jen.Id("batch")), jen.Empty()),
		q().Dot("mu").Dot("Unlock").Call(),
		serve,
		jen.Comment("Hand over to the first caller queued meanwhile, if any."),
		q().Dot("mu").Dot("Lock").Call(),
		jen.If(jen.Len(q().Dot("queue")).Op(">").Lit(0)).Block(
			q().Dot("queue").Index(jen.Lit(0)).Dot("done").Op("<-").Id("errLead"),
		).Else().Block(
			q().Dot("leading").Op("=").False(),
		),
		q().Dot("mu").Dot("Unlock").Call(),
		lq.raise(),
		result(jen.Op("<-").Id("p").Dot("done")),
	)
}

// follow is what a caller that did not find the queue idle does: wait for
// its result, or for the lead; with lq.leaves, or for its context's end.
func (lq leaderQueue) follow(result func(err jen.Code) jen.Code) jen.Code {
	if !lq.leaves {
		return jen.If(jen.Op("!").Id("lead")).Block(
			jen.If(jen.Err().Op(":=").Op("<-").Id("p").Dot("done"), jen.Err().Op("!=").Id("errLead")).Block(result(jen.Err())),
		)
	}
	return jen.If(jen.Op("!").Id("lead")).Block(
		jen.Select().Block(
			jen.Case(jen.Err().Op(":=").Op("<-").Id("p").Dot("done")).Block(
				jen.If(jen.Err().Op("!=").Id("errLead")).Block(result(jen.Err())),
			),
			jen.Case(jen.Op("<-").Id("ctx").Dot("Done").Call()).Block(
				jen.Id("q").Dot("leave").Call(jen.Id("p")),
				result(jen.Id("ctx").Dot("Err").Call()),
			),
		),
	)
}

// raise is the leader's statement after the hand-over: the panic serve
// recovered, raised again in its own goroutine.
func (lq leaderQueue) raise() jen.Code {
	if lq.recovered == "" {
		return jen.Null()
	}
	return jen.If(jen.Id(lq.recovered).Op("!=").Nil()).Block(jen.Panic(jen.Id(lq.recovered)))
}

// emitLeave writes lq's leave method, for callers that give up waiting.
func (g *storeGen) emitLeave(lq leaderQueue) {
	q := func() *jen.Statement { return jen.Id("q") }
	g.f.Comment("leave takes p, whose caller gave up, out of the queue, unless a batch")
	g.f.Comment("took it already (its answer then goes unread into done's buffer). A lead")
	g.f.Comment("p was given passes to the next caller, lest the queue stay without one.")
	g.f.Func().Params(q().Op("*").Id(lq.typ)).Id("leave").Params(jen.Id("p").Op("*").Id(lq.pending)).Block(
		q().Dot("mu").Dot("Lock").Call(),
		jen.Defer().Add(q()).Dot("mu").Dot("Unlock").Call(),
		jen.Id("i").Op(":=").Qual("slices", "Index").Call(q().Dot("queue"), jen.Id("p")),
		jen.If(jen.Id("i").Op("<").Lit(0)).Block(jen.Return()),
		q().Dot("queue").Op("=").Qual("slices", "Delete").Call(q().Dot("queue"), jen.Id("i"), jen.Id("i").Op("+").Lit(1)),
		jen.Comment("Queued, p was answered nothing: done holds the lead or is empty."),
		jen.Select().Block(
			jen.Case(jen.Op("<-").Id("p").Dot("done")).Block(
				jen.If(jen.Len(q().Dot("queue")).Op(">").Lit(0)).Block(
					q().Dot("queue").Index(jen.Lit(0)).Dot("done").Op("<-").Id("errLead"),
				).Else().Block(
					q().Dot("leading").Op("=").False(),
				),
			),
			jen.Default(),
		),
	)
	g.f.Line()
}
