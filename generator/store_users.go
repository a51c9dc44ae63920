package generator

import (
	"github.com/dave/jennifer/jen"

	"github.com/oauthgen/oauthgen/schema"
)

// userKey converts the string user id named id into the users table's key
// type for a lookup; an id that cannot be a key is runtime.ErrNotFound.
func (g *storeGen) userKey(id string, notFound ...jen.Code) (pre []jen.Code, key jen.Code) {
	switch g.p.Users.IDType {
	case TypeInt64:
		return []jen.Code{
			jen.List(jen.Id("key"), jen.Err()).Op(":=").Qual("strconv", "ParseInt").Call(jen.Id(id), jen.Lit(10), jen.Lit(64)),
			jen.If(jen.Err().Op("!=").Nil()).Block(jen.Return(notFound...)),
		}, jen.Id("key")
	case TypeUUID:
		return []jen.Code{
			jen.If(jen.Op("!").Add(g.use("validUUID", jen.Id(id)))).Block(jen.Return(notFound...)),
		}, jen.Id(id)
	}
	return nil, jen.Id(id)
}

// emitUsers writes the runtime.UserStore methods and, when oauthgen owns the
// users table, the user record and its management.
func (g *storeGen) emitUsers() {
	f, u := g.f, g.p.Users
	t := u.Table
	if !u.Generated {
		vals := g.recordValues(t, "row")
		conv := func(query, param string) []jen.Code {
			var pre []jen.Code
			key := jen.Code(jen.Id(param))
			if param == "id" {
				pre, key = g.userKey("id", jen.Nil(), rt("ErrNotFound"))
			}
			return append(pre,
				jen.List(jen.Id("row"), jen.Err()).Op(":=").Add(g.call(query, arg{param, key})),
				jen.If(jen.Err().Op("!=").Nil()).Block(jen.Return(jen.Nil(), g.use("notFound", jen.Err()))),
				jen.Return(jen.Op("&").Add(rt("User")).Values(vals[inRuntime]...), jen.Nil()),
			)
		}
		f.Comment("GetUser returns the user with that id from " + t.Name + ", or runtime.ErrNotFound.")
		f.Func().Params(recv()).Id("GetUser").Params(ctxParam(), jen.Id("id").String()).Params(jen.Op("*").Add(rt("User")), jen.Error()).Block(conv("GetUser", "id")...)
		f.Line()
		f.Comment("GetUserByUsername returns the user with that username from " + t.Name + ", or")
		f.Comment("runtime.ErrNotFound.")
		f.Func().Params(recv()).Id("GetUserByUsername").Params(ctxParam(), jen.Id("username").String()).Params(jen.Op("*").Add(rt("User")), jen.Error()).Block(conv("GetUserByUsername", "username")...)
		f.Line()
		return
	}

	extra := g.emitExtraStruct(t)
	if extra {
		f.Comment("User is a user of the " + t.Name + " table, with its extra columns.")
	} else {
		f.Comment("User is a user of the " + t.Name + " table.")
	}
	f.Type().Id("User").StructFunc(func(s *jen.Group) {
		s.Add(rt("User"))
		s.Comment("CreatedAt is when the user was created.")
		s.Id("CreatedAt").Qual(timePkg, "Time")
		if extra {
			s.Id("UserExtra")
		}
	})
	f.Line()
	f.Comment("NewUser describes a user to create with CreateUser.")
	f.Type().Id("NewUser").StructFunc(func(s *jen.Group) {
		s.Comment("Username is what the user signs in with; unique.")
		s.Id("Username").String()
		s.Comment("Password is hashed with argon2id; only the hash is kept.")
		s.Id("Password").String()
		if extra {
			s.Id("UserExtra")
		}
	})
	f.Line()

	f.Comment("CreateUser creates a user with a random id. runtime.ErrDuplicate if the")
	f.Comment("username is taken; runtime.CheckCredentials' error for an empty username")
	f.Comment("or password.")
	f.Func().Params(recv()).Id("CreateUser").Params(ctxParam(), jen.Id("nu").Id("NewUser")).Params(jen.Op("*").Id("User"), jen.Error()).Block(
		jen.If(jen.Err().Op(":=").Add(rt("CheckCredentials")).Call(jen.Id("nu").Dot("Username"), jen.Id("nu").Dot("Password")), jen.Err().Op("!=").Nil()).Block(
			jen.Return(jen.Nil(), jen.Err()),
		),
		jen.Id("u").Op(":=").Op("&").Id("User").ValuesFunc(func(v *jen.Group) {
			v.Line().Id("User").Op(":").Add(rt("User")).Values(
				jen.Line().Id("ID").Op(":").Add(rt("NewID")).Call(),
				jen.Line().Id("Username").Op(":").Id("nu").Dot("Username"),
				jen.Line().Id("PasswordHash").Op(":").Add(rt("HashPassword")).Call(jen.Id("nu").Dot("Password")),
				jen.Line(),
			)
			v.Line().Id("CreatedAt").Op(":").Qual(timePkg, "Now").Call().Dot("UTC").Call()
			if extra {
				v.Line().Id("UserExtra").Op(":").Id("nu").Dot("UserExtra")
			}
			v.Line()
		}),
		jen.If(jen.Err().Op(":=").Id("s").Dot("ImportUser").Call(jen.Id("ctx"), jen.Id("u")), jen.Err().Op("!=").Nil()).Block(
			jen.Return(jen.Nil(), jen.Err()),
		),
		jen.Return(jen.Id("u"), jen.Nil()),
	)
	f.Line()

	f.Comment("ImportUser stores u as given, PasswordHash included: a bcrypt or argon2id")
	f.Comment("hash from another system. runtime.ErrDuplicate if the id or username is")
	f.Comment("taken.")
	pre, args := g.createArgs(t, "u", jen.Err())
	f.Func().Params(recv()).Id("ImportUser").Params(ctxParam(), jen.Id("u").Op("*").Id("User")).Error().Block(
		append(pre, jen.Return(g.use("duplicate", g.call("CreateUser", args...))))...,
	)
	f.Line()

	lookup := func(name, param, query string) {
		f.Func().Params(recv()).Id(name).Params(ctxParam(), jen.Id(param).String()).Params(jen.Op("*").Id("User"), jen.Error()).Block(
			jen.List(jen.Id("row"), jen.Err()).Op(":=").Add(g.call(query, arg{param, jen.Id(param)})),
			jen.If(jen.Err().Op("!=").Nil()).Block(jen.Return(jen.Nil(), g.use("notFound", jen.Err()))),
			jen.Return(jen.Id("userFromRow").Call(jen.Id("row")), jen.Nil()),
		)
		f.Line()
	}
	runtimeLookup := func(name, param, via string) {
		f.Func().Params(recv()).Id(name).Params(ctxParam(), jen.Id(param).String()).Params(jen.Op("*").Add(rt("User")), jen.Error()).Block(
			jen.List(jen.Id("u"), jen.Err()).Op(":=").Id("s").Dot(via).Call(jen.Id("ctx"), jen.Id(param)),
			jen.If(jen.Err().Op("!=").Nil()).Block(jen.Return(jen.Nil(), jen.Err())),
			jen.Return(jen.Op("&").Id("u").Dot("User"), jen.Nil()),
		)
		f.Line()
	}
	f.Comment("User returns the user with that id and its extra columns, or")
	f.Comment("runtime.ErrNotFound.")
	lookup("User", "id", "GetUser")
	f.Comment("UserByUsername returns the user with that username and its extra columns,")
	f.Comment("or runtime.ErrNotFound.")
	lookup("UserByUsername", "username", "GetUserByUsername")
	f.Comment("GetUser returns the user with that id, or runtime.ErrNotFound.")
	runtimeLookup("GetUser", "id", "User")
	f.Comment("GetUserByUsername returns the user with that username, or runtime.ErrNotFound.")
	runtimeLookup("GetUserByUsername", "username", "UserByUsername")

	f.Comment("ListUsers returns every user, by username.")
	f.Func().Params(recv()).Id("ListUsers").Params(ctxParam()).Params(jen.Index().Op("*").Id("User"), jen.Error()).Block(
		g.listBody("ListUsers", "User", "userFromRow")...,
	)
	f.Line()

	f.Comment("UpdateUser saves u's username and extra columns; its password and creation")
	f.Comment("time stay. runtime.ErrNotFound if there is no such user.")
	_, upd := g.createArgs(t, "u", jen.Err())
	upd = without(upd, "password_hash", "created_at")
	upd = append(upd[1:], upd[0])
	f.Func().Params(recv()).Id("UpdateUser").Params(ctxParam(), jen.Id("u").Op("*").Id("User")).Error().Block(
		g.changeBodyErr(g.call("UpdateUser", upd...), "UserExists", jen.Id("u").Dot("ID"), jen.Nil(), g.use("duplicate", jen.Err()))...,
	)
	f.Line()

	f.Comment("SetUserPassword replaces the user's password. runtime.ErrNotFound if there")
	f.Comment("is no such user; runtime.CheckCredentials' error for an empty password.")
	f.Func().Params(recv()).Id("SetUserPassword").Params(ctxParam(), jen.List(jen.Id("id"), jen.Id("password")).String()).Error().Block(
		append([]jen.Code{
			jen.Comment("The id stands in for the username, which this method does not change."),
			jen.If(jen.Err().Op(":=").Add(rt("CheckCredentials")).Call(jen.Id("id"), jen.Id("password")), jen.Err().Op("!=").Nil()).Block(jen.Return(jen.Err())),
		}, g.changeBody(g.call("SetUserPasswordHash",
			arg{"password_hash", rt("HashPassword").Call(jen.Id("password"))}, arg{"id", jen.Id("id")}), "UserExists", jen.Id("id"), jen.Nil())...)...,
	)
	f.Line()

	f.Comment("DeleteUser deletes the user and, in the same transaction, the families,")
	f.Comment("tokens and codes issued for them: token tables have no foreign key to")
	f.Comment("users (their user ids may predate this table), so nothing cascades.")
	f.Comment("runtime.ErrNotFound if there is no such user.")
	f.Func().Params(recv()).Id("DeleteUser").Params(ctxParam(), jen.Id("id").String()).Error().Block(g.deleteUserBody()...)
	f.Line()

	vals := g.recordValues(t, "row")
	f.Func().Id("userFromRow").Params(jen.Id("row").Qual(g.db, "User")).Op("*").Id("User").Block(
		jen.Return(jen.Op("&").Id("User").ValuesFunc(func(v *jen.Group) {
			v.Line().Id("User").Op(":").Add(rt("User")).Values(vals[inRuntime]...)
			for _, c := range vals[inRecord][:len(vals[inRecord])-1] { // fields inline, without the closing line
				v.Add(c)
			}
			if extra {
				v.Line().Id("UserExtra").Op(":").Id("UserExtra").Values(vals[inExtra]...)
			}
			v.Line()
		})),
	)
	f.Line()
}

// deleteUserBody deletes the user's rows of every table that holds user
// ids, then the user, in one transaction.
func (g *storeGen) deleteUserBody() []jen.Code {
	pg := g.p.Dialect == schema.Postgres
	var begin, rollback, commit jen.Code
	if pg {
		begin = jen.Id("s").Dot("pool").Dot("Begin").Call(jen.Id("ctx"))
		rollback = jen.Id("tx").Dot("Rollback").Call(jen.Id("ctx"))
		commit = jen.Id("tx").Dot("Commit").Call(jen.Id("ctx"))
	} else {
		begin = jen.Id("s").Dot("db").Dot("BeginTx").Call(jen.Id("ctx"), jen.Nil())
		rollback = jen.Id("tx").Dot("Rollback").Call()
		commit = jen.Id("tx").Dot("Commit").Call()
	}
	q := jen.Id("q")
	body := []jen.Code{
		jen.List(jen.Id("tx"), jen.Err()).Op(":=").Add(begin),
		jen.If(jen.Err().Op("!=").Nil()).Block(jen.Return(jen.Err())),
		jen.Defer().Add(rollback).Comment("a no-op after Commit"),
		q.Clone().Op(":=").Id("s").Dot("write").Dot("WithTx").Call(jen.Id("tx")),
	}
	for _, t := range g.p.Tables {
		name := userDeleteQuery(t)
		if g.p.Query(name) == nil {
			continue
		}
		col := t.Column("user_id")
		pre, v := g.toColumn(binding{column: "user_id", field: "UserID", conv: convUserID, nullable: col.Nullable}, jen.Id("id"), []jen.Code{jen.Err()})
		body = append(body, pre...)
		body = append(body, jen.If(jen.Err().Op(":=").Add(g.callOn(q, name, arg{"user_id", v})), jen.Err().Op("!=").Nil()).Block(jen.Return(jen.Err())))
	}
	return append(body,
		jen.List(jen.Id("n"), jen.Err()).Op(":=").Add(g.callOn(q, "DeleteUser", arg{"id", jen.Id("id")})),
		jen.If(jen.Err().Op("!=").Nil()).Block(jen.Return(jen.Err())),
		jen.If(jen.Id("n").Op("==").Lit(0)).Block(jen.Return(rt("ErrNotFound"))),
		jen.Return(commit),
	)
}
