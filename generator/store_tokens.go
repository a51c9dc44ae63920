package generator

import (
	"github.com/dave/jennifer/jen"

	"github.com/oauthgen/oauthgen/schema"
)

// emitCreate writes a runtime Create method storing a record as one row.
// hook names a Store field giving the row's extra columns, or "".
func (g *storeGen) emitCreate(kind, method, rec string) {
	t := g.p.Table(kind)
	recType := recordName(kind)
	var pre []jen.Code
	var args []arg
	hasExtra := len(t.Extras()) > 0
	if hasExtra {
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
		p, v := g.toColumn(b, src, []jen.Code{jen.Err()})
		pre = append(pre, p...)
		args = append(args, arg{b.column, v})
	}
	g.f.Comment(method + " stores " + rec + "; runtime.ErrDuplicate if its key exists.")
	g.f.Func().Params(recv()).Id(method).Params(ctxParam(), jen.Id(rec).Op("*").Add(rt(recType))).Error().Block(
		append(pre, jen.Return(g.use("duplicate", g.call(method, args...))))...,
	)
	g.f.Line()
}

// emitGet writes a runtime Get method reading a record by one key. With
// fromRow, the conversion is that function's (shared by two getters).
// Tokens of a family read back revoked when the family is.
func (g *storeGen) emitGet(kind, method, query, param, fromRow string) {
	recType := recordName(kind)
	result := jen.Code(jen.Id(fromRow).Call(jen.Id("row")))
	if fromRow == "" {
		result = jen.Op("&").Add(rt(recType)).Values(g.recordFields(kind)...)
	}
	key := lowerFirst(goName(param))
	g.f.Comment(method + " returns the " + kindWords(kind) + " with that " + lowerWords(param) + ", or")
	g.f.Comment("runtime.ErrNotFound.")
	g.f.Func().Params(recv()).Id(method).Params(ctxParam(), jen.Id(key).String()).Params(jen.Op("*").Add(rt(recType)), jen.Error()).Block(
		jen.List(jen.Id("row"), jen.Err()).Op(":=").Add(g.call(query, arg{param, jen.Id(key)})),
		jen.If(jen.Err().Op("!=").Nil()).Block(jen.Return(jen.Nil(), g.use("notFound", jen.Err()))),
		jen.Return(result, jen.Nil()),
	)
	g.f.Line()
}

// recordFields are the fields of a runtime record read from "row".
func (g *storeGen) recordFields(kind string) []jen.Code {
	families := g.p.Has(schema.TableFamilies) && (kind == schema.TableAccessTokens || kind == schema.TableRefreshTokens)
	var skip []string
	if families {
		skip = []string{"revoked_at"}
	}
	fields := g.recordValues(g.p.Table(kind), "row", skip...)[inRuntime]
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
	g.emitCreate(schema.TableFamilies, "CreateFamily", "f")
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
	g.f.Comment(rec + "Record returns the " + kindWords(kind) + " with that hash and its extra")
	g.f.Comment("columns, or runtime.ErrNotFound.")
	g.f.Func().Params(recv()).Id(rec+"Record").Params(ctxParam(), jen.Id("hash").String()).Params(jen.Op("*").Id(rec), jen.Error()).Block(
		jen.List(jen.Id("t"), jen.Err()).Op(":=").Id("s").Dot("Get"+rec).Call(jen.Id("ctx"), jen.Id("hash")),
		jen.If(jen.Err().Op("!=").Nil()).Block(jen.Return(jen.Nil(), jen.Err())),
		jen.List(jen.Id("row"), jen.Err()).Op(":=").Add(g.call(getQuery, arg{"hash", jen.Id("hash")})),
		jen.If(jen.Err().Op("!=").Nil()).Block(jen.Return(jen.Nil(), g.use("notFound", jen.Err()))),
		jen.Return(jen.Op("&").Id(rec).Values(jen.Op("*").Id("t"), jen.Id(rec+"Extra").Values(vals[inExtra]...)), jen.Nil()),
	)
	g.f.Line()
}

// emitAccessTokens writes the runtime.AccessTokenStore methods.
func (g *storeGen) emitAccessTokens() {
	g.emitTokenRecord(schema.TableAccessTokens, "GetAccessToken")
	g.emitCreate(schema.TableAccessTokens, "CreateAccessToken", "t")
	g.emitGet(schema.TableAccessTokens, "GetAccessToken", "GetAccessToken", "hash", "")
	g.emitMark("RevokeAccessToken", "revoked_at", "AccessTokenExists", jen.Nil(),
		"RevokeAccessToken marks the token revoked. Revoking again keeps the first",
		"time. runtime.ErrNotFound if unknown.")
}

// emitRefreshTokens writes the runtime.RefreshTokenStore methods.
func (g *storeGen) emitRefreshTokens() {
	g.emitTokenRecord(schema.TableRefreshTokens, "GetRefreshToken")
	g.emitCreate(schema.TableRefreshTokens, "CreateRefreshToken", "t")
	g.emitGet(schema.TableRefreshTokens, "GetRefreshToken", "GetRefreshToken", "hash", "")
	g.emitMark("ConsumeRefreshToken", "consumed_at", "RefreshTokenExists", rt("ErrConsumed"),
		"ConsumeRefreshToken marks the token rotated in one conditional UPDATE: of",
		"any number of concurrent callers exactly one gets nil, the others",
		"runtime.ErrConsumed. runtime.ErrNotFound if unknown.")
	g.emitMark("RevokeRefreshToken", "revoked_at", "RefreshTokenExists", jen.Nil(),
		"RevokeRefreshToken marks the token revoked. Revoking again keeps the first",
		"time. runtime.ErrNotFound if unknown.")
}

// emitAuthorizationCodes writes the runtime.AuthorizationCodeStore methods.
func (g *storeGen) emitAuthorizationCodes() {
	g.emitCreate(schema.TableAuthorizationCodes, "CreateAuthorizationCode", "c")
	g.emitGet(schema.TableAuthorizationCodes, "GetAuthorizationCode", "GetAuthorizationCode", "hash", "")
	g.emitMark("ConsumeAuthorizationCode", "consumed_at", "AuthorizationCodeExists", rt("ErrConsumed"),
		"ConsumeAuthorizationCode marks the code redeemed in one conditional UPDATE:",
		"of any number of concurrent callers exactly one gets nil, the others",
		"runtime.ErrConsumed. runtime.ErrNotFound if unknown.")
}

// emitDeviceCodes writes the runtime.DeviceCodeStore methods.
func (g *storeGen) emitDeviceCodes() {
	f := g.f
	g.emitCreate(schema.TableDeviceCodes, "CreateDeviceCode", "d")
	g.emitGet(schema.TableDeviceCodes, "GetDeviceCode", "GetDeviceCode", "hash", "deviceCodeFromRow")
	g.emitGet(schema.TableDeviceCodes, "GetDeviceCodeByUserCode", "GetDeviceCodeByUserCode", "user_code_hash", "deviceCodeFromRow")
	f.Func().Id("deviceCodeFromRow").Params(jen.Id("row").Qual(g.db, "DeviceCode")).Op("*").Add(rt("DeviceCode")).Block(
		jen.Return(jen.Op("&").Add(rt("DeviceCode")).Values(g.recordFields(schema.TableDeviceCodes)...)),
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
			arg{"scopes", g.use("joinList", jen.Id("d").Dot("Scopes"))},
			arg{"decided_at", g.use("nullTime", jen.Id("d").Dot("At"))},
			arg{"hash", jen.Id("hash")},
		), "DeviceCodeExists", jen.Id("hash"), rt("ErrConsumed"))...)...,
	)
	f.Line()

	f.Comment("PollDeviceCode records a poll and the interval the client must keep.")
	f.Comment("runtime.ErrNotFound if unknown.")
	f.Func().Params(recv()).Id("PollDeviceCode").Params(ctxParam(), jen.Id("hash").String(), jen.Id("polledAt").Qual(timePkg, "Time"), jen.Id("interval").Qual(timePkg, "Duration")).Error().Block(
		g.changeBody(g.call("PollDeviceCode",
			arg{"last_polled_at", g.use("nullTime", jen.Id("polledAt"))},
			arg{"interval_seconds", g.use("seconds", jen.Id("interval"))},
			arg{"hash", jen.Id("hash")},
		), "DeviceCodeExists", jen.Id("hash"), jen.Nil())...,
	)
	f.Line()

	g.emitMark("ConsumeDeviceCode", "consumed_at", "DeviceCodeExists", rt("ErrConsumed"),
		"ConsumeDeviceCode marks an approved authorization redeemed in one",
		"conditional UPDATE: of any number of concurrent callers exactly one gets",
		"nil, the others runtime.ErrConsumed (also when it is not approved).",
		"runtime.ErrNotFound if unknown.")
}

// emitPurge writes PurgeExpired.
func (g *storeGen) emitPurge() {
	f := g.f
	var body []jen.Code
	for _, x := range []struct{ kind, query string }{
		{schema.TableAccessTokens, "PurgeAccessTokens"},
		{schema.TableRefreshTokens, "PurgeRefreshTokens"},
		{schema.TableAuthorizationCodes, "PurgeAuthorizationCodes"},
		{schema.TableDeviceCodes, "PurgeDeviceCodes"},
		{schema.TableFamilies, "PurgeFamilies"},
	} {
		if !g.p.Has(x.kind) {
			continue
		}
		body = append(body,
			jen.List(jen.Id("n"), jen.Err()).Op("=").Add(g.call(x.query, arg{"before", jen.Id("before").Dot("UTC").Call()})),
			jen.Id("total").Op("+=").Id("n"),
			jen.If(jen.Err().Op("!=").Nil()).Block(jen.Return(jen.Id("total"), jen.Err())),
		)
	}
	f.Comment("PurgeExpired deletes what expired before `before`: tokens, codes, device")
	f.Comment("authorizations, then families left with nothing. It returns how many rows")
	f.Comment("went. Run it now and then (a daily job); nothing expired is ever used, so")
	f.Comment("it only saves space.")
	f.Func().Params(recv()).Id("PurgeExpired").Params(ctxParam(), jen.Id("before").Qual(timePkg, "Time")).Params(jen.Int64(), jen.Error()).Block(
		append([]jen.Code{jen.Var().List(jen.Id("total"), jen.Id("n")).Int64(), jen.Var().Err().Error()},
			append(body, jen.Return(jen.Id("total"), jen.Nil()))...)...,
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
