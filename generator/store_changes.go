package generator

import (
	"github.com/dave/jennifer/jen"

	"github.com/oauthgen/oauthgen/schema"
)

// tableChanges is the kind of ChangeCount's table on SQLite and MySQL: one
// row (id 1) whose count every write of clients or limiter counts
// increments in its transaction, so that every process sharing the
// database sees the count move when the write commits. PostgreSQL has no
// such table: its writes notify a channel (Plan.ChangesChannel) that each
// Store listens on. It is not a declaration table kind: its name is
// table_prefix + "changes".
const tableChanges = "changes"

func init() { recordNames[tableChanges] = "Change" } // sqlc's model of a row

// changesTable adds ChangeCount's table, on the dialects that count in one.
func (b *tableBuilder) changesTable() {
	if b.dialect == schema.Postgres {
		return
	}
	t := &Table{Kind: tableChanges, Name: b.d.Storage.TablePrefix + tableChanges, Columns: []*Column{
		b.col("id", TypeInt64, false),
		b.col("count", TypeInt64, false),
	}}
	t.PrimaryKey = []string{"id"}
	b.tables = append(b.tables, t)
}

// changesChannel names the PostgreSQL channel after the table prefix, as
// the version table is named: channels are per database, not per schema,
// and stores of different prefixes need not wake each other. Stores of
// one prefix in several schemas share it, which costs only extra counts.
func changesChannel(prefix string) string {
	if prefix == "" {
		return "oauthgen_" + tableChanges
	}
	return prefix + tableChanges
}

// beginChange begins the transaction of a write of clients or limiter
// counts, with q its queries; the write ends with s.commitChange. errOut
// are the method's results when the transaction cannot begin.
func (g *storeGen) beginChange(errOut ...jen.Code) []jen.Code {
	tx := g.tx()
	return []jen.Code{
		jen.List(jen.Id("tx"), jen.Err()).Op(":=").Add(tx.begin),
		jen.If(jen.Err().Op("!=").Nil()).Block(jen.Return(errOut...)),
		jen.Defer().Add(tx.rollback).Comment("a no-op after Commit"),
		jen.Id("q").Op(":=").Id("s").Dot("write").Dot("WithTx").Call(jen.Id("tx")),
	}
}

// commitChange is `return s.commitChange(ctx, tx)`.
func commitChange() jen.Code {
	return jen.Return(jen.Id("s").Dot("commitChange").Call(jen.Id("ctx"), jen.Id("tx")))
}

// commitChangeOr returns errOut when s.commitChange fails.
func commitChangeOr(errOut ...jen.Code) jen.Code {
	return jen.If(jen.Err().Op(":=").Id("s").Dot("commitChange").Call(jen.Id("ctx"), jen.Id("tx")), jen.Err().Op("!=").Nil()).Block(jen.Return(errOut...))
}

// emitChanges writes ChangeCount (runtime.ChangeCounter) and commitChange.
func (g *storeGen) emitChanges() {
	if g.p.Dialect == schema.Postgres {
		g.emitChangeListener()
		return
	}
	f := g.f
	f.Comment("ChangeCount implements runtime.ChangeCounter: the count of the changes")
	f.Comment("table, which every write of a client or a limiter count increments in its")
	f.Comment("own transaction, whichever process made it. Writes made around the Store")
	f.Comment("(SQL by hand) are not counted.")
	f.Func().Params(recv()).Id("ChangeCount").Params(ctxParam()).Params(jen.Uint64(), jen.Bool(), jen.Error()).Block(
		jen.List(jen.Id("n"), jen.Err()).Op(":=").Id("changeCount").Call(jen.Id("ctx"), jen.Id("s").Dot("read")),
		jen.Return(jen.Id("n"), jen.Err().Op("==").Nil(), jen.Err()),
	)
	f.Line()
	f.Comment("changeCount reads the changes table's count through q: 0 before the")
	f.Comment("first change, which creates its row.")
	f.Func().Id("changeCount").Params(ctxParam(), jen.Id("q").Op("*").Qual(g.db, "Queries")).Params(jen.Uint64(), jen.Error()).Block(
		jen.List(jen.Id("n"), jen.Err()).Op(":=").Add(g.callOn(jen.Id("q"), "ChangeCount")),
		jen.If(jen.Qual("errors", "Is").Call(jen.Err(), jen.Qual(sqlPkg, "ErrNoRows"))).Block(
			jen.Return(jen.Lit(0), jen.Nil()).Comment("nothing changed yet"),
		),
		jen.Return(jen.Uint64().Call(jen.Id("n")), jen.Err()),
	)
	f.Line()
	if g.p.IssueChecksChangeCount() {
		g.emitIssueChecks()
	}
	f.Comment("commitChange commits tx, a write of clients or limiter counts, counting it")
	f.Comment("in the same transaction: ChangeCount moves, for every process, when and")
	f.Comment("only if the write commits.")
	f.Func().Params(recv()).Id("commitChange").Params(ctxParam(), jen.Id("tx").Op("*").Qual(sqlPkg, "Tx")).Error().Block(
		jen.If(jen.Err().Op(":=").Add(g.callOn(jen.Id("s").Dot("write").Dot("WithTx").Call(jen.Id("tx")), "CountChange")), jen.Err().Op("!=").Nil()).Block(jen.Return(jen.Err())),
		jen.Return(jen.Id("tx").Dot("Commit").Call()),
	)
	f.Line()
}

// emitChangeListener writes PostgreSQL's ChangeCount: a count of the
// notifications on the changes channel, which a connection of the Store's
// own listens on, and of the Store's own writes.
func (g *storeGen) emitChangeListener() {
	f := g.f
	l := func() *jen.Statement { return jen.Id("l") }
	listenerRecv := jen.Id("l").Op("*").Id("changeListener")
	ctx := jen.Id("ctx")

	f.Comment("changesChannel is the channel that writes of clients and limiter counts")
	f.Comment("notify, and ChangeCount's listener listens on.")
	f.Const().Id("changesChannel").Op("=").Lit(g.p.ChangesChannel)
	f.Line()
	f.Comment("The change listener waits listenRetryMin before connecting again after a")
	f.Comment("failure, twice as long after each further failure in a row, up to")
	f.Comment("listenRetryMax. After listenCheck without a notification it checks its")
	f.Comment("connection: one that died without closing would miss notifications")
	f.Comment("unnoticed.")
	f.Const().Defs(
		jen.Id("listenRetryMin").Op("=").Lit(100).Op("*").Qual(timePkg, "Millisecond"),
		jen.Id("listenRetryMax").Op("=").Lit(5).Op("*").Qual(timePkg, "Second"),
		jen.Id("listenCheck").Op("=").Lit(30).Op("*").Qual(timePkg, "Second"),
	)
	f.Line()

	f.Comment("ChangeCount implements runtime.ChangeCounter. The count grows with every")
	f.Comment("notification on changesChannel, which each write of a client or a limiter")
	f.Comment("count sends as it commits, whichever process made it, and at once with")
	f.Comment("this Store's own writes. The first call starts the listener, on a")
	f.Comment("connection of its own that Close closes; ok is false until it listens,")
	f.Comment("and while it connects again. Notifications sent while nobody listened are")
	f.Comment("lost, so each new connection counts one change. Writes made around the")
	f.Comment("Store (SQL by hand) notify nothing.")
	f.Func().Params(recv()).Id("ChangeCount").Params(ctxParam()).Params(jen.Uint64(), jen.Bool(), jen.Error()).Block(
		jen.Comment("listening before count: a new connection counts before it reports listening."),
		jen.If(jen.Id("s").Dot("changes").Dot("listening").Dot("Load").Call()).Block(
			jen.Return(jen.Id("s").Dot("changes").Dot("count").Dot("Load").Call(), jen.True(), jen.Nil()),
		),
		jen.Id("s").Dot("changes").Dot("start").Call(jen.Id("s").Dot("pool")),
		jen.Return(jen.Id("s").Dot("changes").Dot("count").Dot("Load").Call(), jen.False(), jen.Nil()),
	)
	f.Line()

	f.Comment("commitChange commits tx, a write of clients or limiter counts, with a")
	f.Comment("notification on changesChannel, which PostgreSQL delivers to every")
	f.Comment("listener when, and only if, tx commits. This Store counts it at once.")
	f.Func().Params(recv()).Id("commitChange").Params(ctxParam(), jen.Id("tx").Qual(pgxPkg, "Tx")).Error().Block(
		jen.If(jen.Err().Op(":=").Add(g.callOn(jen.Id("s").Dot("write").Dot("WithTx").Call(jen.Id("tx")), "NotifyChange")), jen.Err().Op("!=").Nil()).Block(jen.Return(jen.Err())),
		jen.Err().Op(":=").Id("tx").Dot("Commit").Call(ctx),
		jen.Id("s").Dot("changes").Dot("count").Dot("Add").Call(jen.Lit(1)).Comment("even after an error: the commit may have happened"),
		jen.Return(jen.Err()),
	)
	f.Line()

	f.Comment("changeListener keeps ChangeCount's count.")
	f.Type().Id("changeListener").Struct(
		jen.Id("count").Qual("sync/atomic", "Uint64"),
		jen.Id("listening").Qual("sync/atomic", "Bool"),
		jen.Line(),
		jen.Id("mu").Qual("sync", "Mutex"),
		jen.Id("closed").Bool().Comment("by Close: start no more"),
		jen.Id("cancel").Qual(ctxPkg, "CancelFunc").Comment("stops run; nil until started"),
		jen.Id("done").Chan().Struct().Comment("closed when run returns"),
	)
	f.Line()

	f.Comment("start runs the listener on pool's configuration, unless it runs or")
	f.Comment("Close was called.")
	f.Func().Params(listenerRecv.Clone()).Id("start").Params(jen.Id("pool").Op("*").Qual(pgxpoolPkg, "Pool")).Block(
		l().Dot("mu").Dot("Lock").Call(),
		jen.Defer().Add(l()).Dot("mu").Dot("Unlock").Call(),
		jen.If(l().Dot("cancel").Op("!=").Nil().Op("||").Add(l()).Dot("closed")).Block(jen.Return()),
		jen.List(ctx.Clone(), jen.Id("cancel")).Op(":=").Qual(ctxPkg, "WithCancel").Call(jen.Qual(ctxPkg, "Background").Call()),
		jen.List(l().Dot("cancel"), l().Dot("done")).Op("=").List(jen.Id("cancel"), jen.Make(jen.Chan().Struct())),
		jen.Go().Add(l()).Dot("run").Call(ctx, jen.Id("pool").Dot("Config").Call()),
	)
	f.Line()

	f.Comment("stop stops the listener and waits for it to end.")
	f.Func().Params(listenerRecv.Clone()).Id("stop").Params().Block(
		l().Dot("mu").Dot("Lock").Call(),
		l().Dot("closed").Op("=").True(),
		jen.List(jen.Id("cancel"), jen.Id("done")).Op(":=").List(l().Dot("cancel"), l().Dot("done")),
		l().Dot("mu").Dot("Unlock").Call(),
		jen.If(jen.Id("cancel").Op("!=").Nil()).Block(
			jen.Id("cancel").Call(),
			jen.Op("<-").Id("done"),
		),
	)
	f.Line()

	f.Comment("run listens until ctx ends, connecting again after each failure.")
	f.Func().Params(listenerRecv.Clone()).Id("run").Params(ctxParam(), jen.Id("cfg").Op("*").Qual(pgxpoolPkg, "Config")).Block(
		jen.Defer().Close(l().Dot("done")),
		jen.Id("retry").Op(":=").Id("listenRetryMin"),
		jen.For().Block(
			jen.If(l().Dot("listen").Call(ctx, jen.Id("cfg"))).Block(jen.Id("retry").Op("=").Id("listenRetryMin")),
			jen.Select().Block(
				jen.Case(jen.Op("<-").Add(ctx).Dot("Done").Call()).Block(jen.Return()),
				jen.Case(jen.Op("<-").Qual(timePkg, "After").Call(jen.Id("retry"))),
			),
			jen.Id("retry").Op("=").Min(jen.Lit(2).Op("*").Id("retry"), jen.Id("listenRetryMax")),
		),
	)
	f.Line()

	f.Comment("listen connects, listens on changesChannel and counts the notifications,")
	f.Comment("until the connection fails or ctx ends. It reports whether it listened.")
	f.Func().Params(listenerRecv.Clone()).Id("listen").Params(ctxParam(), jen.Id("cfg").Op("*").Qual(pgxpoolPkg, "Config")).Bool().Block(
		jen.Id("connCfg").Op(":=").Id("cfg").Dot("ConnConfig").Dot("Copy").Call(),
		jen.If(jen.Id("cfg").Dot("BeforeConnect").Op("!=").Nil()).Block(
			jen.Comment("As the pool does: it may set credentials."),
			jen.If(jen.Err().Op(":=").Id("cfg").Dot("BeforeConnect").Call(ctx, jen.Id("connCfg")), jen.Err().Op("!=").Nil()).Block(jen.Return(jen.False())),
		),
		jen.List(jen.Id("conn"), jen.Err()).Op(":=").Qual(pgxPkg, "ConnectConfig").Call(ctx, jen.Id("connCfg")),
		jen.If(jen.Err().Op("!=").Nil()).Block(jen.Return(jen.False())),
		jen.Defer().Id("conn").Dot("Close").Call(jen.Qual(ctxPkg, "WithoutCancel").Call(ctx)),
		jen.If(
			jen.List(jen.Id("_"), jen.Err()).Op(":=").Id("conn").Dot("Exec").Call(ctx, jen.Lit("LISTEN ").Op("+").Id("changesChannel")),
			jen.Err().Op("!=").Nil(),
		).Block(jen.Return(jen.False())),
		l().Dot("count").Dot("Add").Call(jen.Lit(1)).Comment("for the changes nobody was told of"),
		l().Dot("listening").Dot("Store").Call(jen.True()),
		jen.Defer().Add(l()).Dot("listening").Dot("Store").Call(jen.False()),
		jen.For().Block(
			jen.List(jen.Id("wait"), jen.Id("cancel")).Op(":=").Qual(ctxPkg, "WithTimeout").Call(ctx, jen.Id("listenCheck")),
			jen.List(jen.Id("_"), jen.Err()).Op(":=").Id("conn").Dot("WaitForNotification").Call(jen.Id("wait")),
			jen.Id("cancel").Call(),
			jen.Switch().Block(
				jen.Case(jen.Err().Op("==").Nil()).Block(l().Dot("count").Dot("Add").Call(jen.Lit(1))),
				jen.Case(ctx.Clone().Dot("Err").Call().Op("!=").Nil().Op("||").Op("!").Qual("errors", "Is").Call(jen.Err(), jen.Qual(ctxPkg, "DeadlineExceeded"))).Block(
					jen.Return(jen.True()),
				),
				jen.Default().Block(
					jen.Comment("Quiet for listenCheck: is the connection still there?"),
					jen.List(jen.Id("check"), jen.Id("cancel")).Op(":=").Qual(ctxPkg, "WithTimeout").Call(ctx, jen.Id("listenCheck")),
					jen.Err().Op(":=").Id("conn").Dot("Ping").Call(jen.Id("check")),
					jen.Id("cancel").Call(),
					jen.If(jen.Err().Op("!=").Nil()).Block(jen.Return(jen.True())),
				),
			),
		),
	)
	f.Line()
}
