package generator

import (
	"github.com/dave/jennifer/jen"

	"github.com/oauthgen/oauthgen/schema"
)

// txCode is how the Store's dialect begins, rolls back and commits a
// transaction named tx; committed names the commit in comments.
type txCode struct {
	begin, rollback, commit jen.Code
	committed               string
}

// tx returns the dialect's transaction statements. PostgreSQL and MySQL
// run at READ COMMITTED (see emitIssue); SQLite's writer connection
// begins IMMEDIATE by its DSN (_txlock=immediate).
func (g *storeGen) tx() txCode {
	ctx := jen.Id("ctx")
	switch g.p.Dialect {
	case schema.Postgres:
		return txCode{
			begin:     jen.Id("s").Dot("pool").Dot("BeginTx").Call(ctx, jen.Qual(pgxPkg, "TxOptions").Values(jen.Id("IsoLevel").Op(":").Qual(pgxPkg, "ReadCommitted"))),
			rollback:  jen.Id("tx").Dot("Rollback").Call(ctx),
			commit:    jen.Id("tx").Dot("Commit").Call(ctx),
			committed: "Commit",
		}
	case schema.MySQL:
		return txCode{
			begin:     jen.Id("s").Dot("db").Dot("BeginTx").Call(ctx, jen.Op("&").Qual(sqlPkg, "TxOptions").Values(jen.Id("Isolation").Op(":").Qual(sqlPkg, "LevelReadCommitted"))),
			rollback:  jen.Id("tx").Dot("Rollback").Call(),
			commit:    jen.Id("tx").Dot("Commit").Call(),
			committed: "Commit",
		}
	}
	return txCode{
		begin:     jen.Id("s").Dot("db").Dot("BeginTx").Call(ctx, jen.Nil()),
		rollback:  jen.Id("tx").Dot("Rollback").Call(),
		commit:    jen.Id("tx").Dot("Commit").Call(),
		committed: "Commit",
	}
}

// issueTx is SQLite's issuance transaction, an issueTx (emitIssueTx).
func (g *storeGen) issueTx() txCode {
	return txCode{
		begin:     jen.Id("s").Dot("beginIssue").Call(jen.Id("ctx")),
		rollback:  jen.Id("tx").Dot("rollback").Call(),
		commit:    jen.Id("tx").Dot("commit").Call(),
		committed: "commit",
	}
}

// emitIssueTx writes issueTx, the transaction of SQLite's issuances: a
// sql.Tx's work without database/sql's goroutines.
func (g *storeGen) emitIssueTx() {
	f := g.f
	tx := func() *jen.Statement { return jen.Id("tx") }
	bg := jen.Qual(ctxPkg, "Background").Call()
	f.Comment("issueTx is an IMMEDIATE transaction on a connection of the writer pool,")
	f.Comment("held until commit or rollback: what a sql.Tx does, without the goroutine")
	f.Comment("database/sql starts per transaction, and per query in one, to watch its")
	f.Comment("context, which costs more than SQLite's BEGIN and COMMIT.")
	f.Type().Id("issueTx").Struct(
		jen.Id("conn").Op("*").Qual(sqlPkg, "Conn"),
		jen.Id("q").Op("*").Qual(g.db, "Queries").Comment("the transaction's queries"),
		jen.Id("done").Bool().Comment("committed or rolled back"),
	)
	f.Line()
	f.Comment("beginIssue begins an issueTx, whose statements run under ctx. It takes the")
	f.Comment("write lock at once, so it never fails half-way to upgrade a read lock.")
	f.Func().Params(recv()).Id("beginIssue").Params(ctxParam()).Params(jen.Op("*").Id("issueTx"), jen.Error()).Block(
		jen.List(jen.Id("conn"), jen.Err()).Op(":=").Id("s").Dot("db").Dot("Conn").Call(jen.Id("ctx")),
		jen.If(jen.Err().Op("!=").Nil()).Block(jen.Return(jen.Nil(), jen.Err())),
		jen.If(jen.List(jen.Id("_"), jen.Err()).Op(":=").Id("conn").Dot("ExecContext").Call(jen.Id("ctx"), jen.Lit("BEGIN IMMEDIATE")), jen.Err().Op("!=").Nil()).Block(
			jen.Id("conn").Dot("Close").Call(),
			jen.Return(jen.Nil(), jen.Err()),
		),
		jen.Return(jen.Op("&").Id("issueTx").Values(jen.Id("conn").Op(":").Id("conn"), jen.Id("q").Op(":").Qual(g.db, "New").Call(jen.Id("conn"))), jen.Nil()),
	)
	f.Line()
	f.Comment("commit commits tx and gives its connection back. A COMMIT that fails is")
	f.Comment("rolled back, as mattn/go-sqlite3's Tx does.")
	f.Func().Params(tx().Op("*").Id("issueTx")).Id("commit").Params().Error().Block(
		jen.If(jen.List(jen.Id("_"), jen.Err()).Op(":=").Add(tx()).Dot("conn").Dot("ExecContext").Call(bg.Clone(), jen.Lit("COMMIT")), jen.Err().Op("!=").Nil()).Block(
			tx().Dot("rollback").Call(),
			jen.Return(jen.Err()),
		),
		tx().Dot("done").Op("=").True(),
		tx().Dot("conn").Dot("Close").Call(),
		jen.Return(jen.Nil()),
	)
	f.Line()
	f.Comment("rollback rolls tx back and gives its connection back; a no-op after")
	f.Comment("commit. A connection still in a transaction then is closed, lest the next")
	f.Comment("writer's statements join it.")
	f.Func().Params(tx().Op("*").Id("issueTx")).Id("rollback").Params().Block(
		jen.If(tx().Dot("done")).Block(jen.Return()),
		tx().Dot("done").Op("=").True(),
		tx().Dot("conn").Dot("ExecContext").Call(bg.Clone(), jen.Lit("ROLLBACK")).Comment("fails if SQLite rolled back already"),
		tx().Dot("conn").Dot("Raw").Call(jen.Func().Params(jen.Id("dc").Any()).Error().Block(
			jen.If(jen.List(jen.Id("c"), jen.Id("ok")).Op(":=").Id("dc").Assert(jen.Op("*").Qual(sqlite3Pkg, "SQLiteConn")), jen.Id("ok").Op("&&").Id("c").Dot("AutoCommit").Call()).Block(jen.Return(jen.Nil())),
			jen.Return(jen.Qual("database/sql/driver", "ErrBadConn")),
		)),
		tx().Dot("conn").Dot("Close").Call(),
	)
	f.Line()
}

// issuanceRecords are the records of a runtime.Issuance, in the order
// Issue creates them: the family before the records that name it.
var issuanceRecords = []struct{ kind, field, rec string }{
	{schema.TableFamilies, "Family", "f"},
	{schema.TableAuthorizationCodes, "AuthorizationCode", "c"},
	{schema.TableDeviceCodes, "DeviceCode", "d"},
	{schema.TableAccessTokens, "AccessToken", "t"},
	{schema.TableRefreshTokens, "RefreshToken", "t"},
}

// emitIssue writes Issue (runtime.IssuanceStore), its body issue, and
// consume; and the group commit of lone access tokens, where Issue sends
// them to one (PostgreSQL's; SQLite's is emitted with Open, as every
// issuance goes through it).
func (g *storeGen) emitIssue() {
	f := g.f
	tx := g.tx()
	name := "Issue"
	if g.p.Dialect == schema.SQLite {
		// Issue queues for a group commit (emitGroupCommit); issueNow is
		// one issuance committed alone, as Issue is on the other dialects.
		name = "issueNow"
		f.Comment("issueNow applies is alone, as Issue promises: in one transaction (an")
		f.Comment("issueTx), or one INSERT when that is all it is.")
	} else {
		f.Comment("Issue applies is in one transaction: the Consume first, then the records,")
		f.Comment("the family before those that name it. Either all of it is visible")
		f.Comment("afterwards or none of it: runtime.ErrConsumed if the Consume lost,")
		f.Comment("runtime.ErrNotFound if its record does not exist, runtime.ErrDuplicate if")
		f.Comment("a key exists.")
		f.Comment("")
		f.Comment("The transaction runs at READ COMMITTED, which is enough: single use is a")
		f.Comment("conditional UPDATE (… AND consumed_at IS NULL), which locks the row and,")
		f.Comment("after waiting for a concurrent winner, re-checks the condition on the row")
		f.Comment("as that winner committed it; exactly one caller changes it. Nothing else")
		f.Comment("is read that a stronger level would protect, and READ COMMITTED takes no")
		f.Comment("gap locks, so concurrent issuances and purges do not deadlock over them.")
	}
	only := jen.Id("is").Dot("Consume").Op("==").Nil()
	for _, r := range issuanceRecords {
		if r.field != "AccessToken" {
			only = only.Op("&&").Id("is").Dot(r.field).Op("==").Nil()
		}
	}
	comment := []jen.Code{
		jen.Comment("An access token alone (client credentials, implicit) is one INSERT,"),
		jen.Comment("atomic by itself: no transaction to pay for."),
	}
	lone := jen.Id("s").Dot("issue").Call(jen.Id("ctx"), jen.Id("s").Dot("write"), jen.Id("is"))
	gc := g.groupCommit()
	if gc != nil && gc.lone {
		// Lone access tokens share batches; nothing else waits for them.
		only = jen.Id("is").Dot("AccessToken").Op("!=").Nil().Op("&&").Add(only)
		comment = []jen.Code{
			jen.Comment("An access token alone (client credentials, implicit) is one INSERT,"),
			jen.Comment("atomic by itself: it joins the group commit, not a transaction of its own."),
		}
		lone = jen.Id("s").Dot(gc.entry).Call(jen.Id("ctx"), jen.Id("is"))
	}
	queries := jen.Id("s").Dot("write").Dot("WithTx").Call(jen.Id("tx"))
	if g.p.Dialect == schema.SQLite {
		tx = g.issueTx()
		queries = jen.Id("tx").Dot("q")
	}
	var checks []jen.Code
	if g.p.IssueChecksChangeCount() {
		// The count is compared by a lone access token's INSERT itself, or
		// first in the transaction.
		want := jen.Id("is").Dot("IfChangeCount")
		only = jen.Id("is").Dot("AccessToken").Op("!=").Nil().Op("&&").Add(only)
		comment = []jen.Code{
			jen.Comment("An access token alone (client credentials, implicit) is one INSERT,"),
			jen.Comment("atomic by itself, and it compares IfChangeCount: no transaction to pay for."),
		}
		lone = jen.If(want.Clone().Op("!=").Nil()).Block(
			jen.Return(jen.Id("s").Dot("createAccessTokenIfUnchanged").Call(jen.Id("ctx"), jen.Id("is").Dot("AccessToken"), jen.Op("*").Add(want.Clone()))),
		).Line().Return(jen.Id("s").Dot("createAccessToken").Call(jen.Id("ctx"), jen.Id("s").Dot("write"), jen.Id("is").Dot("AccessToken")))
		checks = []jen.Code{
			jen.If(want.Clone().Op("!=").Nil()).Block(g.compareCount(jen.Id("ctx"), queries, want.Clone(), jen.Id("n"))...),
		}
	} else {
		lone = jen.Return(lone)
	}
	f.Func().Params(recv()).Id(name).Params(ctxParam(), jen.Id("is").Op("*").Add(rt("Issuance"))).Error().Block(
		append(append(comment,
			jen.If(only).Block(lone),
			jen.List(jen.Id("tx"), jen.Err()).Op(":=").Add(tx.begin),
			jen.If(jen.Err().Op("!=").Nil()).Block(jen.Return(jen.Err())),
			jen.Defer().Add(tx.rollback).Comment("a no-op after "+tx.committed),
		), append(checks,
			jen.If(jen.Err().Op(":=").Id("s").Dot("issue").Call(jen.Id("ctx"), queries, jen.Id("is")), jen.Err().Op("!=").Nil()).Block(jen.Return(jen.Err())),
			jen.Return(tx.commit),
		)...)...)
	f.Line()

	var body []jen.Code
	body = append(body,
		jen.If(jen.Id("is").Dot("Consume").Op("!=").Nil()).Block(
			jen.If(jen.Err().Op(":=").Id("consume").Call(jen.Id("ctx"), jen.Id("q"), jen.Id("is").Dot("Consume")), jen.Err().Op("!=").Nil()).Block(jen.Return(jen.Err())),
		),
	)
	for _, r := range issuanceRecords {
		field := jen.Id("is").Dot(r.field)
		if !g.p.Has(r.kind) {
			body = append(body, jen.If(field.Clone().Op("!=").Nil()).Block(
				jen.Return(jen.Qual("errors", "New").Call(jen.Lit("this store keeps no "+kindWords(r.kind)+"s: oauthgen.yaml enables no grant that issues them"))),
			))
			continue
		}
		body = append(body, jen.If(field.Clone().Op("!=").Nil()).Block(
			jen.If(jen.Err().Op(":=").Id("s").Dot("create"+recordName(r.kind)).Call(jen.Id("ctx"), jen.Id("q"), field), jen.Err().Op("!=").Nil()).Block(jen.Return(jen.Err())),
		))
	}
	f.Comment("issue writes is through q, in Issue's order.")
	f.Func().Params(recv()).Id("issue").Params(ctxParam(), jen.Id("q").Op("*").Qual(g.db, "Queries"), jen.Id("is").Op("*").Add(rt("Issuance"))).Error().Block(
		append(body, jen.Return(jen.Nil()))...,
	)
	f.Line()
	if g.p.Dialect == schema.SQLite {
		g.emitIssueTx()
	}
	if g.p.IssueChecksChangeCount() {
		g.emitCreateIfUnchanged()
	}
	g.emitConsume()
	if gc != nil && gc.lone {
		g.emitGroupCommit(gc)
	}
}

// compareCount reads the change count through q, under ctx, into n, and
// returns runtime.ErrChanged unless it is *want.
func (g *storeGen) compareCount(ctx, q, want, n jen.Code) []jen.Code {
	return []jen.Code{
		jen.List(n, jen.Err()).Op(":=").Id("changeCount").Call(ctx, q),
		jen.If(jen.Err().Op("!=").Nil()).Block(jen.Return(jen.Err())),
		jen.If(jen.Add(n).Op("!=").Op("*").Add(want)).Block(jen.Return(rt("ErrChanged"))),
	}
}

// emitCreateIfUnchanged writes createAccessTokenIfUnchanged, a lone access
// token's INSERT that compares the change count itself: one statement,
// atomic without a transaction (CreateAccessTokenIfUnchanged).
func (g *storeGen) emitCreateIfUnchanged() {
	pre, args, _ := g.issueArgs(schema.TableAccessTokens, "t", []jen.Code{jen.Err()})
	args = append(args, arg{"change_count", jen.Int64().Call(jen.Id("n"))})
	f := g.f
	f.Comment("createAccessTokenIfUnchanged stores t with one INSERT … SELECT, atomic as")
	f.Comment("any statement is, which inserts nothing unless the change count is n:")
	f.Comment("runtime.ErrChanged if it is not; runtime.ErrDuplicate if a key exists.")
	f.Func().Params(recv()).Id("createAccessTokenIfUnchanged").Params(ctxParam(), jen.Id("t").Op("*").Add(rt("AccessToken")), jen.Id("n").Uint64()).Error().Block(
		append(pre,
			jen.List(jen.Id("inserted"), jen.Err()).Op(":=").Add(g.callOn(jen.Id("s").Dot("write"), "CreateAccessTokenIfUnchanged", args...)),
			jen.If(jen.Err().Op("!=").Nil()).Block(jen.Return(g.use("duplicate", jen.Err()))),
			jen.If(jen.Id("inserted").Op("==").Lit(0)).Block(jen.Return(rt("ErrChanged"))),
			jen.Return(jen.Nil()),
		)...,
	)
	f.Line()
}

// emitIssueChecks writes IssueChecksChangeCount (runtime.ChangeCountIssuer).
func (g *storeGen) emitIssueChecks() {
	f := g.f
	f.Comment("IssueChecksChangeCount implements runtime.ChangeCountIssuer: Issue compares")
	f.Comment("an Issuance's IfChangeCount with the changes table in its transaction (a")
	f.Comment("lone access token: in its INSERT), so token requests need not read")
	f.Comment("ChangeCount first.")
	f.Func().Params(recv()).Id("IssueChecksChangeCount").Params().Bool().Block(jen.Return(jen.True()))
	f.Line()
}

// emitConsume writes consume, the Consume of an Issuance.
func (g *storeGen) emitConsume() {
	f := g.f
	q := jen.Id("q")
	mark := func(query string) jen.Code {
		return jen.List(jen.Id("n"), jen.Err()).Op(":=").Add(g.callOn(q, query,
			arg{"consumed_at", g.use("nullTime", jen.Id("c").Dot("At"))}, arg{"hash", jen.Id("c").Dot("Hash")}))
	}
	done := jen.If(jen.Err().Op("!=").Nil().Op("||").Id("n").Op(">").Lit(0)).Block(jen.Return(jen.Err()))
	var cases []jen.Code
	if g.p.Has(schema.TableAuthorizationCodes) {
		cases = append(cases, jen.Case(rt("ConsumeAuthorizationCode")).Block(
			mark("ConsumeAuthorizationCode"), done,
			jen.Return(g.use("missing", jen.Id("ctx"), q.Clone().Dot("AuthorizationCodeExists"), jen.Id("c").Dot("Hash"), rt("ErrConsumed"))),
		))
	}
	if g.p.Has(schema.TableRefreshTokens) {
		cases = append(cases, jen.Case(rt("ConsumeRefreshToken")).Block(
			mark("ConsumeRefreshToken"), done,
			jen.Comment("Consumed already, or unknown. Within the reuse interval a token"),
			jen.Comment("consumed since ReuseSince is good again, and keeps its first time."),
			jen.List(jen.Id("consumedAt"), jen.Err()).Op(":=").Add(g.callOn(q, "RefreshTokenConsumedAt", arg{"hash", jen.Id("c").Dot("Hash")})),
			jen.If(jen.Err().Op("!=").Nil()).Block(jen.Return(g.use("notFound", jen.Err()))),
			jen.If(jen.Id("c").Dot("ReuseSince").Dot("IsZero").Call().Op("||").Id("consumedAt").Op("==").Nil().Op("||").
				Id("consumedAt").Dot("Before").Call(jen.Id("c").Dot("ReuseSince"))).Block(jen.Return(rt("ErrConsumed"))),
			jen.Return(jen.Nil()),
		))
	}
	if g.p.Has(schema.TableDeviceCodes) {
		cases = append(cases, jen.Case(rt("ConsumeDeviceCode")).Block(
			jen.Comment("Only an approved authorization is consumed."),
			mark("ConsumeDeviceCode"), done,
			jen.Return(g.use("missing", jen.Id("ctx"), q.Clone().Dot("DeviceCodeExists"), jen.Id("c").Dot("Hash"), rt("ErrConsumed"))),
		))
	}
	cases = append(cases, jen.Default().Block(
		jen.Return(jen.Qual("fmt", "Errorf").Call(jen.Lit("this store keeps no single-use records of kind %d"), jen.Id("c").Dot("Kind"))),
	))
	f.Comment("consume spends c in one conditional UPDATE (… AND consumed_at IS NULL):")
	f.Comment("of any number of concurrent callers exactly one changes the row; the")
	f.Comment("others find it consumed. It changes a NULL to a time, so even MySQL,")
	f.Comment("which counts rows changed rather than matched, counts the row.")
	f.Func().Id("consume").Params(ctxParam(), q.Clone().Op("*").Qual(g.db, "Queries"), jen.Id("c").Op("*").Add(rt("Consumption"))).Error().Block(
		jen.Switch(jen.Id("c").Dot("Kind")).Block(cases...),
	)
	f.Line()
}

// purgeTables are the tables PurgeExpired empties of expired rows, in
// order, with their purge query; families go last, once emptied.
var purgeTables = []struct{ kind, query string }{
	{schema.TableAccessTokens, "PurgeAccessTokens"},
	{schema.TableRefreshTokens, "PurgeRefreshTokens"},
	{schema.TableAuthorizationCodes, "PurgeAuthorizationCodes"},
	{schema.TableDeviceCodes, "PurgeDeviceCodes"},
}

// emitPurge writes PurgeExpired, and purgeFamilies where families need
// a transaction of their own (PostgreSQL, MySQL).
func (g *storeGen) emitPurge() {
	f := g.f
	var purges []jen.Code
	for _, x := range purgeTables {
		if g.p.Has(x.kind) {
			purges = append(purges, jen.Line().Id("s").Dot("write").Dot(x.query))
		}
	}
	families := g.p.Has(schema.TableFamilies)
	if families {
		if g.p.Dialect == schema.SQLite {
			purges = append(purges, jen.Line().Id("s").Dot("write").Dot("PurgeFamilies"))
		} else {
			purges = append(purges, jen.Line().Id("s").Dot("purgeFamilies"))
		}
	}
	purges = append(purges, jen.Line().Id("s").Dot("purgeLimits"), jen.Line())

	f.Comment("purgeBatch is the most rows one purge statement deletes.")
	f.Const().Id("purgeBatch").Op("=").Lit(g.p.PurgeBatch)
	f.Line()
	f.Comment("PurgeExpired deletes what expired before `before`: tokens, codes, device")
	f.Comment("authorizations, then families left with nothing, and the limiter's counts")
	f.Comment("older than limiterRetention before it. It returns how many rows")
	f.Comment("went. Run it now and then (a daily job); nothing expired is ever used, so")
	f.Comment("it only saves space.")
	f.Comment("")
	f.Comment("It deletes purgeBatch rows per statement, each statement its own")
	f.Comment("transaction, so that purging a large table never holds a lock long (on")
	f.Comment("SQLite, the one writer issuance waits for). A token request racing the")
	f.Comment("purge of the record it consumes gets runtime.ErrNotFound from Issue (an")
	f.Comment("invalid_grant), never a half-done issuance: the Consume locks the record,")
	f.Comment("and a family is deleted only when no member is left.")
	body := []jen.Code{
		jen.Id("before").Op("=").Id("before").Dot("UTC").Call(),
		jen.Var().Id("total").Int64(),
		jen.For(jen.List(jen.Id("_"), jen.Id("purge")).Op(":=").Range().Index().Func().Params(jen.Qual(ctxPkg, "Context"), jen.Qual(timePkg, "Time")).Params(jen.Int64(), jen.Error()).Values(purges...)).Block(
			jen.For().Block(
				jen.List(jen.Id("n"), jen.Err()).Op(":=").Id("purge").Call(jen.Id("ctx"), jen.Id("before")),
				jen.Id("total").Op("+=").Id("n"),
				jen.If(jen.Err().Op("!=").Nil()).Block(jen.Return(jen.Id("total"), jen.Err())),
				jen.If(jen.Id("n").Op("<").Id("purgeBatch")).Block(jen.Break()),
			),
		),
	}
	if g.p.Has(schema.TableSigningKeys) {
		body = append(body,
			jen.Comment("Signing keys that have left the JWKS, by the declared retire_after."),
			jen.List(jen.Id("n"), jen.Err()).Op(":=").Id("s").Dot("write").Dot("PurgeSigningKeys").Call(jen.Id("ctx"),
				jen.Qual(runtimePkg, "SigningKeyPurgeCutoff").Call(jen.Id("before"), jen.Id("Config").Call().Dot("SigningKeys"))),
			jen.Id("total").Op("+=").Id("n"),
			jen.If(jen.Err().Op("!=").Nil()).Block(jen.Return(jen.Id("total"), jen.Err())),
		)
	}
	body = append(body, jen.Return(jen.Id("total"), jen.Nil()))
	f.Func().Params(recv()).Id("PurgeExpired").Params(ctxParam(), jen.Id("before").Qual(timePkg, "Time")).Params(jen.Int64(), jen.Error()).Block(body...)
	f.Line()
	if families && g.p.Dialect != schema.SQLite {
		g.emitPurgeFamilies()
	}
}

// emitPurgeFamilies writes purgeFamilies for PostgreSQL and MySQL.
func (g *storeGen) emitPurgeFamilies() {
	f := g.f
	tx := g.tx()
	q := jen.Id("q")
	f.Comment("purgeFamilies deletes up to purgeBatch families created before `before`")
	f.Comment("that have no member left, in one transaction of two statements. One")
	f.Comment("DELETE … WHERE NOT EXISTS (member) would race issuance at READ")
	f.Comment("COMMITTED: it decides on a snapshot without the members an in-flight")
	f.Comment("Issue is inserting, waits for the lock that Issue's foreign key check")
	f.Comment("holds on the family, then deletes the family without looking again, and")
	f.Comment("the cascade takes the tokens just issued. So it first locks the")
	f.Comment("candidates (FOR UPDATE waits for those in-flight Issues to commit), then")
	f.Comment("deletes those still without members: that second statement starts after")
	f.Comment("the locks were granted, so it sees every committed member, and an Issue")
	f.Comment("that comes later waits for this transaction. An Issue that adds to an")
	f.Comment("existing family while consuming one of its members has locked it, so")
	f.Comment("such a family is never a candidate; one that consumes nothing (a refresh")
	f.Comment("without rotation) fails its foreign key if the purge took the token and")
	f.Comment("the family first, and the engine, finding the token gone, answers")
	f.Comment("invalid_grant.")
	f.Func().Params(recv()).Id("purgeFamilies").Params(ctxParam(), jen.Id("before").Qual(timePkg, "Time")).Params(jen.Int64(), jen.Error()).Block(
		jen.List(jen.Id("tx"), jen.Err()).Op(":=").Add(tx.begin),
		jen.If(jen.Err().Op("!=").Nil()).Block(jen.Return(jen.Lit(0), jen.Err())),
		jen.Defer().Add(tx.rollback).Comment("a no-op after Commit"),
		q.Clone().Op(":=").Id("s").Dot("write").Dot("WithTx").Call(jen.Id("tx")),
		jen.List(jen.Id("ids"), jen.Err()).Op(":=").Add(g.callOn(q, "LockPurgeableFamilies", arg{"before", jen.Id("before")})),
		jen.If(jen.Err().Op("!=").Nil().Op("||").Len(jen.Id("ids")).Op("==").Lit(0)).Block(jen.Return(jen.Lit(0), jen.Err())),
		jen.List(jen.Id("n"), jen.Err()).Op(":=").Add(g.callOn(q, "PurgeFamilies", arg{"ids", jen.Id("ids")})),
		jen.If(jen.Err().Op("!=").Nil()).Block(jen.Return(jen.Lit(0), jen.Err())),
		jen.If(jen.Err().Op(":=").Add(tx.commit), jen.Err().Op("!=").Nil()).Block(jen.Return(jen.Lit(0), jen.Err())),
		jen.Return(jen.Id("n"), jen.Nil()),
	)
	f.Line()
}
