package generator

import (
	"github.com/dave/jennifer/jen"

	"github.com/oauthgen/oauthgen/schema"
)

// emitCreate writes the unexported method Issue stores a record of kind
// with: one INSERT through q, the transaction's queries. The record's
// extra columns come from the Store's New<Record>Extra hook, if any.
// Where the group commit batches access tokens, their columns come from a
// function of their own (emitParams), which the batch shares.
func (g *storeGen) emitCreate(kind, rec string) {
	recType := recordName(kind)
	method := "create" + recType
	query := "Create" + recType
	var body []jen.Code
	if kind == schema.TableAccessTokens && g.batchesAccessTokens() {
		name, fails := g.emitParams(kind, rec)
		call := jen.Id("s").Dot(name).Call(jen.Id("ctx"), jen.Id(rec))
		if fails {
			body = []jen.Code{
				jen.List(jen.Id("arg"), jen.Err()).Op(":=").Add(call),
				jen.If(jen.Err().Op("!=").Nil()).Block(jen.Return(jen.Err())),
			}
			call = jen.Id("arg")
		}
		body = append(body, jen.Return(g.use("duplicate", jen.Id("q").Dot(query).Call(jen.Id("ctx"), call))))
	} else {
		pre, args, _ := g.issueArgs(kind, rec, []jen.Code{jen.Err()})
		body = append(pre, jen.Return(g.use("duplicate", g.callOn(jen.Id("q"), query, args...))))
	}
	g.f.Comment(method + " stores " + rec + " through q; runtime.ErrDuplicate if a key exists.")
	g.f.Func().Params(recv()).Id(method).Params(ctxParam(), jen.Id("q").Op("*").Qual(g.db, "Queries"), jen.Id(rec).Op("*").Add(rt(recType))).Error().Block(body...)
	g.f.Line()
}

// issueArgs are the Create<Record> query's arguments for rec and the
// statements computing them, which return errReturn on a failure; fails
// if a conversion can fail (an int64 user id that does not parse).
func (g *storeGen) issueArgs(kind, rec string, errReturn []jen.Code) (pre []jen.Code, args []arg, fails bool) {
	t := g.p.Table(kind)
	recType := recordName(kind)
	if len(t.Extras()) > 0 {
		pre = append(pre,
			jen.Var().Id("extra").Id(recType+"Extra"),
			jen.If(jen.Id("s").Dot("New"+recType+"Extra").Op("!=").Nil()).Block(
				jen.Id("extra").Op("=").Id("s").Dot("New"+recType+"Extra").Call(jen.Id("ctx"), jen.Id(rec)),
			),
		)
	}
	for _, b := range g.bindings(t) {
		src := jen.Id(rec).Dot(b.field)
		if b.where == inExtra {
			src = jen.Id("extra").Dot(b.field)
		}
		p, v := g.toColumn(b, src, errReturn)
		pre = append(pre, p...)
		args = append(args, arg{b.column, v})
		fails = fails || len(p) > 0 // toColumn's statements are its checks
	}
	return pre, args, fails
}

// paramsFail reports whether <record>Params (emitParams) returns an error
// too: whether computing the record's arguments can fail.
func (g *storeGen) paramsFail(kind string) bool {
	_, _, fails := g.issueArgs(kind, "r", nil)
	return fails
}

// emitParams writes <record>Params, the Create<Record> query's arguments
// for one record, and returns its name; fails if it returns an error too.
func (g *storeGen) emitParams(kind, rec string) (name string, fails bool) {
	recType := recordName(kind)
	params := g.q("Create" + recType + "Params")
	pre, args, fails := g.issueArgs(kind, rec, []jen.Code{params.Clone().Values(), jen.Err()})
	results := params.Clone()
	ret := []jen.Code{g.params("Create"+recType, args...)}
	if fails {
		results = jen.Params(params.Clone(), jen.Error())
		ret = append(ret, jen.Nil())
	}
	name = lowerFirst(recType) + "Params"
	if len(g.p.Table(kind).Extras()) > 0 {
		g.f.Comment(name + " are " + rec + "'s columns, the extra ones from")
		g.f.Comment("New" + recType + "Extra, called with ctx (" + rec + "'s request's).")
	} else {
		g.f.Comment(name + " are " + rec + "'s columns.")
	}
	g.f.Func().Params(recv()).Id(name).Params(ctxParam(), jen.Id(rec).Op("*").Add(rt(recType))).Add(results).Block(
		append(pre, jen.Return(ret...))...,
	)
	g.f.Line()
	return name, fails
}

// batchesAccessTokens reports whether Issue's group commit inserts lone
// access tokens by batches (CreateAccessTokens, PostgreSQL's).
func (g *storeGen) batchesAccessTokens() bool { return g.p.Query("CreateAccessTokens") != nil }

// emitGet writes a runtime Get method reading a record by one key. With
// fromRow, the conversion is that function's (shared by two getters);
// without, the query leaves the key column out and the record takes the
// key from the argument. Tokens of a family read back revoked when the
// family is.
func (g *storeGen) emitGet(kind, method, query, param, fromRow string) {
	recType := recordName(kind)
	key := lowerFirst(goName(param))
	result := jen.Code(jen.Id(fromRow).Call(jen.Id("row")))
	if fromRow == "" {
		result = jen.Op("&").Add(rt(recType)).Values(g.recordFields(kind, param, jen.Id(key))...)
	}
	g.f.Comment(method + " returns the " + kindWords(kind) + " with that " + lowerWords(param) + ", or")
	g.f.Comment("runtime.ErrNotFound.")
	g.f.Func().Params(recv()).Id(method).Params(ctxParam(), jen.Id(key).String()).Params(jen.Op("*").Add(rt(recType)), jen.Error()).Block(
		jen.List(jen.Id("row"), jen.Err()).Op(":=").Add(g.call(query, arg{param, jen.Id(key)})),
		jen.If(jen.Err().Op("!=").Nil()).Block(jen.Return(jen.Nil(), g.use("notFound", jen.Err()))),
		jen.Return(result, jen.Nil()),
	)
	g.f.Line()
}

// recordFields are the fields of a runtime record read from "row"; the
// key column's, if any, is value instead (a plain column the row lacks).
func (g *storeGen) recordFields(kind, key string, value jen.Code) []jen.Code {
	families := g.p.Has(schema.TableFamilies) && (kind == schema.TableAccessTokens || kind == schema.TableRefreshTokens)
	skip := []string{key}
	if families {
		skip = append(skip, "revoked_at")
	}
	fields := g.recordValues(g.p.Table(kind), "row", skip...)[inRuntime]
	if key != "" {
		fields = append([]jen.Code{jen.Line().Id(goName(key)).Op(":").Add(value)}, fields...)
	}
	if families {
		fields = append(fields[:len(fields)-1],
			jen.Line().Id("RevokedAt").Op(":").Add(g.use("revokedAt", jen.Id("row").Dot("RevokedAt"), jen.Id("row").Dot("FamilyRevokedAt"))),
			jen.Line())
	}
	return fields
}

// emitMark writes a method setting a timestamp column with one
// conditional UPDATE (consume, revoke). Zero rows changed means unknown
// (runtime.ErrNotFound) or already done (ifDone).
func (g *storeGen) emitMark(method, column, exists string, ifDone jen.Code, comment ...string) {
	for _, c := range comment {
		g.f.Comment(c)
	}
	g.f.Func().Params(recv()).Id(method).Params(ctxParam(), jen.Id("hash").String(), jen.Id("at").Qual(timePkg, "Time")).Error().Block(
		g.changeBody(g.call(method, arg{column, g.use("nullTime", jen.Id("at"))}, arg{"hash", jen.Id("hash")}), exists, jen.Id("hash"), ifDone)...,
	)
	g.f.Line()
}

// emitFamilies writes the runtime.FamilyStore methods.
func (g *storeGen) emitFamilies() {
	g.emitCreate(schema.TableFamilies, "f")
	g.f.Comment("RevokeFamily marks the family revoked; its tokens read back revoked.")
	g.f.Comment("Revoking again keeps the first time. runtime.ErrNotFound if unknown.")
	g.f.Func().Params(recv()).Id("RevokeFamily").Params(ctxParam(), jen.Id("id").String(), jen.Id("at").Qual(timePkg, "Time")).Error().Block(
		g.changeBody(g.call("RevokeFamily", arg{"revoked_at", g.use("nullTime", jen.Id("at"))}, arg{"id", jen.Id("id")}), "FamilyExists", jen.Id("id"), jen.Nil())...,
	)
	g.f.Line()
}

// emitTokenRecord writes the typed record of a token table with extra
// columns, and its lookup.
func (g *storeGen) emitTokenRecord(kind, getQuery string) {
	t := g.p.Table(kind)
	if !g.emitExtraStruct(t) {
		return
	}
	rec := recordName(kind)
	g.f.Comment(rec + " is an issued " + kindWords(kind) + " with its extra columns.")
	g.f.Type().Id(rec).Struct(rt(rec), jen.Id(rec+"Extra"))
	g.f.Line()
	vals := g.recordValues(t, "row")
	get := g.call(getQuery, arg{"hash", jen.Id("hash")})
	if kind == schema.TableAccessTokens && g.poolsLookups() {
		get = jen.Id("s").Dot("getAccessToken").Call(jen.Id("ctx"), jen.Id("hash"))
	}
	g.f.Comment(rec + "Record returns the " + kindWords(kind) + " with that hash and its extra")
	g.f.Comment("columns, or runtime.ErrNotFound.")
	g.f.Func().Params(recv()).Id(rec+"Record").Params(ctxParam(), jen.Id("hash").String()).Params(jen.Op("*").Id(rec), jen.Error()).Block(
		jen.List(jen.Id("t"), jen.Err()).Op(":=").Id("s").Dot("Get"+rec).Call(jen.Id("ctx"), jen.Id("hash")),
		jen.If(jen.Err().Op("!=").Nil()).Block(jen.Return(jen.Nil(), jen.Err())),
		jen.List(jen.Id("row"), jen.Err()).Op(":=").Add(get),
		jen.If(jen.Err().Op("!=").Nil()).Block(jen.Return(jen.Nil(), g.use("notFound", jen.Err()))),
		jen.Return(jen.Op("&").Id(rec).Values(jen.Op("*").Id("t"), jen.Id(rec+"Extra").Values(vals[inExtra]...)), jen.Nil()),
	)
	g.f.Line()
}

// emitAccessTokens writes the runtime.AccessTokenStore methods.
func (g *storeGen) emitAccessTokens() {
	g.emitTokenRecord(schema.TableAccessTokens, "GetAccessToken")
	g.emitCreate(schema.TableAccessTokens, "t")
	switch {
	case g.groupsLookups():
		g.emitGroupedLookup()
	case g.poolsLookups():
		g.emitPooledLookup()
	default:
		g.emitGet(schema.TableAccessTokens, "GetAccessToken", "GetAccessToken", "hash", "")
	}
	g.emitMark("RevokeAccessToken", "revoked_at", "AccessTokenExists", jen.Nil(),
		"RevokeAccessToken marks the token revoked. Revoking again keeps the first",
		"time. runtime.ErrNotFound if unknown.")
}

// emitRefreshTokens writes the runtime.RefreshTokenStore methods.
func (g *storeGen) emitRefreshTokens() {
	g.emitTokenRecord(schema.TableRefreshTokens, "GetRefreshToken")
	g.emitCreate(schema.TableRefreshTokens, "t")
	g.emitGet(schema.TableRefreshTokens, "GetRefreshToken", "GetRefreshToken", "hash", "")
	g.emitMark("RevokeRefreshToken", "revoked_at", "RefreshTokenExists", jen.Nil(),
		"RevokeRefreshToken marks the token revoked. Revoking again keeps the first",
		"time. runtime.ErrNotFound if unknown.")
}

// emitAuthorizationCodes writes the runtime.AuthorizationCodeStore methods.
func (g *storeGen) emitAuthorizationCodes() {
	g.emitCreate(schema.TableAuthorizationCodes, "c")
	g.emitGet(schema.TableAuthorizationCodes, "GetAuthorizationCode", "GetAuthorizationCode", "hash", "")
}

// emitDeviceCodes writes the runtime.DeviceCodeStore methods.
func (g *storeGen) emitDeviceCodes() {
	f := g.f
	g.emitCreate(schema.TableDeviceCodes, "d")
	g.emitGet(schema.TableDeviceCodes, "GetDeviceCode", "GetDeviceCode", "hash", "deviceCodeFromRow")
	g.emitGet(schema.TableDeviceCodes, "GetDeviceCodeByUserCode", "GetDeviceCodeByUserCode", "user_code_hash", "deviceCodeFromRow")
	f.Func().Id("deviceCodeFromRow").Params(jen.Id("row").Qual(g.db, "DeviceCode")).Op("*").Add(rt("DeviceCode")).Block(
		jen.Return(jen.Op("&").Add(rt("DeviceCode")).Values(g.recordFields(schema.TableDeviceCodes, "", nil)...)),
	)
	f.Line()

	user := binding{column: "user_id", field: "UserID", conv: convUserID, nullable: true}
	pre, userID := g.toColumn(user, jen.Id("d").Dot("UserID"), []jen.Code{jen.Err()})
	f.Comment("DecideDeviceCode records the user's decision on a pending authorization")
	f.Comment("in one conditional UPDATE: runtime.ErrConsumed if it was already decided,")
	f.Comment("runtime.ErrNotFound if unknown.")
	f.Func().Params(recv()).Id("DecideDeviceCode").Params(ctxParam(), jen.Id("hash").String(), jen.Id("d").Add(rt("DeviceDecision"))).Error().Block(
		append(pre, g.changeBody(g.call("DecideDeviceCode",
			arg{"status", jen.String().Call(jen.Id("d").Dot("Status"))},
			arg{"user_id", userID},
			arg{"scopes", g.listToColumn(jen.Id("d").Dot("Scopes"))},
			arg{"decided_at", g.use("nullTime", jen.Id("d").Dot("At"))},
			arg{"hash", jen.Id("hash")},
		), "DeviceCodeExists", jen.Id("hash"), rt("ErrConsumed"))...)...,
	)
	f.Line()

	poll := func(query string, extra ...arg) []jen.Code {
		args := append([]arg{
			{"last_polled_at", g.use("nullTime", jen.Id("p").Dot("At"))},
			{"interval_seconds", g.use("seconds", jen.Id("p").Dot("Interval"))},
			{"hash", jen.Id("hash")},
		}, extra...)
		return []jen.Code{jen.List(jen.Id("n"), jen.Err()).Op("=").Add(g.call(query, args...))}
	}
	f.Comment("PollDeviceCode records a poll in one conditional UPDATE, a compare-and-set")
	f.Comment("on the last poll time: runtime.ErrConsumed when another poll came first,")
	f.Comment("runtime.ErrNotFound if unknown. SQL's = never matches NULL, so a first")
	f.Comment("poll has a query of its own.")
	f.Func().Params(recv()).Id("PollDeviceCode").Params(ctxParam(), jen.Id("hash").String(), jen.Id("p").Add(rt("DevicePoll"))).Error().Block(
		jen.Var().Id("n").Int64(),
		jen.Var().Err().Error(),
		jen.If(jen.Id("p").Dot("Previous").Dot("IsZero").Call()).Block(poll("PollDeviceCodeFirst")...).
			Else().Block(poll("PollDeviceCode", arg{"previous", g.use("nullTime", jen.Id("p").Dot("Previous"))})...),
		jen.If(jen.Err().Op("!=").Nil()).Block(jen.Return(jen.Err())),
		jen.If(jen.Id("n").Op(">").Lit(0)).Block(jen.Return(jen.Nil())),
		jen.Return(g.use("missing", jen.Id("ctx"), jen.Id("s").Dot("read").Dot("DeviceCodeExists"), jen.Id("hash"), rt("ErrConsumed"))),
	)
	f.Line()
}

// lowerWords is a column name in words: "user code hash".
func lowerWords(column string) string {
	out := []byte(column)
	for i, c := range out {
		if c == '_' {
			out[i] = ' '
		}
	}
	return string(out)
}
