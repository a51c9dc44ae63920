package generator

import (
	"github.com/dave/jennifer/jen"

	"github.com/oauthgen/oauthgen/schema"
)

// emitExtraStruct writes <Record>Extra, the declared extra columns of a
// table, and reports whether the table has any.
func (g *storeGen) emitExtraStruct(t *Table) bool {
	extras := t.Extras()
	if len(extras) == 0 {
		return false
	}
	rec := recordName(t.Kind)
	var fields []jen.Code
	for _, c := range extras {
		typ := jen.Id(goTypes[c.Type])
		if c.Type == TypeTime {
			typ = jen.Qual(timePkg, "Time")
		}
		if c.Nullable {
			typ = jen.Op("*").Add(typ)
		}
		fields = append(fields, jen.Comment(c.GoName+" is the column "+c.Name+"."), jen.Id(c.GoName).Add(typ))
	}
	g.f.Comment(rec + "Extra holds the extra columns oauthgen.yaml declares for " + t.Kind + ".")
	g.f.Type().Id(rec + "Extra").Struct(fields...)
	g.f.Line()
	return true
}

// emitClients writes the client record, its registration and the
// runtime.ClientStore method.
func (g *storeGen) emitClients() {
	f, t := g.f, g.p.Table(schema.TableClients)
	extra := g.emitExtraStruct(t)

	if extra {
		f.Comment("Client is a registered client with its extra columns.")
	} else {
		f.Comment("Client is a registered client.")
	}
	f.Type().Id("Client").StructFunc(func(s *jen.Group) {
		s.Add(rt("Client"))
		if extra {
			s.Id("ClientExtra")
		}
	})
	f.Line()

	f.Comment("NewClient describes a client to register with CreateClient.")
	f.Type().Id("NewClient").StructFunc(func(s *jen.Group) {
		s.Comment("ID is the client identifier; empty generates a random one.")
		s.Id("ID").String()
		s.Comment("Public clients (browser and native apps) get no secret and must use PKCE.")
		s.Id("Public").Bool()
		s.Comment("Name is shown to users on consent pages.")
		s.Id("Name").String()
		s.Comment("RedirectURIs are the registered redirection endpoints, matched exactly.")
		s.Id("RedirectURIs").Index().String()
		s.Comment("GrantTypes the client may use, as grant_type values.")
		s.Id("GrantTypes").Index().String()
		s.Comment("Scopes the client may be granted; empty means any the server knows.")
		s.Id("Scopes").Index().String()
		s.Comment("AccessTokenLifetime and RefreshTokenLifetime override the server's when")
		s.Comment("not zero.")
		s.List(jen.Id("AccessTokenLifetime"), jen.Id("RefreshTokenLifetime")).Qual(timePkg, "Duration")
		s.Comment("ResourceServer lets the client introspect every client's tokens, not")
		s.Comment("only its own (RFC 7662 §2.1).")
		s.Id("ResourceServer").Bool()
		if extra {
			s.Id("ClientExtra")
		}
	})
	f.Line()

	f.Comment("CreateClient registers a client. It returns the client and, for a")
	f.Comment("confidential client, its secret: show it once, only its SHA-256 is kept.")
	f.Comment("runtime.ValidateClient's error if nc is not a valid registration.")
	f.Func().Params(recv()).Id("CreateClient").Params(ctxParam(), jen.Id("nc").Id("NewClient")).
		Params(jen.Op("*").Id("Client"), jen.String(), jen.Error()).BlockFunc(func(b *jen.Group) {
		b.Id("c").Op(":=").Op("&").Id("Client").ValuesFunc(func(v *jen.Group) {
			v.Line().Id("Client").Op(":").Add(rt("Client")).Values(
				jen.Line().Id("ID").Op(":").Id("nc").Dot("ID"),
				jen.Line().Id("Name").Op(":").Id("nc").Dot("Name"),
				jen.Line().Id("RedirectURIs").Op(":").Id("nc").Dot("RedirectURIs"),
				jen.Line().Id("GrantTypes").Op(":").Id("nc").Dot("GrantTypes"),
				jen.Line().Id("Scopes").Op(":").Id("nc").Dot("Scopes"),
				jen.Line().Id("AccessTokenLifetime").Op(":").Id("nc").Dot("AccessTokenLifetime"),
				jen.Line().Id("RefreshTokenLifetime").Op(":").Id("nc").Dot("RefreshTokenLifetime"),
				jen.Line().Id("CreatedAt").Op(":").Qual(timePkg, "Now").Call().Dot("UTC").Call(),
				jen.Line().Id("ResourceServer").Op(":").Id("nc").Dot("ResourceServer"),
				jen.Line(),
			)
			if extra {
				v.Line().Id("ClientExtra").Op(":").Id("nc").Dot("ClientExtra")
			}
			v.Line()
		})
		b.If(jen.Id("c").Dot("ID").Op("==").Lit("")).Block(jen.Id("c").Dot("ID").Op("=").Add(rt("NewID")).Call())
		b.Var().Id("secret").String()
		b.If(jen.Op("!").Id("nc").Dot("Public")).Block(
			jen.List(jen.Id("secret"), jen.Id("c").Dot("SecretHash")).Op("=").Add(rt("NewClientSecret")).Call(),
		)
		b.If(jen.Err().Op(":=").Id("s").Dot("ImportClient").Call(jen.Id("ctx"), jen.Id("c")), jen.Err().Op("!=").Nil()).Block(
			jen.Return(jen.Nil(), jen.Lit(""), jen.Err()),
		)
		b.Return(jen.Id("c"), jen.Id("secret"), jen.Nil())
	})
	f.Line()

	f.Comment("ImportClient stores c as given, SecretHash included: the hex SHA-256 of a")
	f.Comment("secret, or a bcrypt or argon2id hash of one issued elsewhere.")
	f.Comment("runtime.ErrDuplicate if the id is taken; runtime.ValidateClient's error")
	f.Comment("if c is not a valid registration.")
	pre, args := g.createArgs(t, "c", jen.Err())
	body := append(append([]jen.Code{validateClient()}, pre...), g.beginChange(jen.Err())...)
	body = append(body,
		jen.If(jen.Err().Op(":=").Add(g.callOn(jen.Id("q"), "CreateClient", args...)), jen.Err().Op("!=").Nil()).Block(jen.Return(g.use("duplicate", jen.Err()))),
		commitChange(),
	)
	f.Func().Params(recv()).Id("ImportClient").Params(ctxParam(), jen.Id("c").Op("*").Id("Client")).Error().Block(body...)
	f.Line()

	f.Comment("GetClient returns the client with that id, or runtime.ErrNotFound.")
	f.Func().Params(recv()).Id("GetClient").Params(ctxParam(), jen.Id("id").String()).Params(jen.Op("*").Add(rt("Client")), jen.Error()).Block(
		jen.List(jen.Id("c"), jen.Err()).Op(":=").Id("s").Dot("Client").Call(jen.Id("ctx"), jen.Id("id")),
		jen.If(jen.Err().Op("!=").Nil()).Block(jen.Return(jen.Nil(), jen.Err())),
		jen.Return(jen.Op("&").Id("c").Dot("Client"), jen.Nil()),
	)
	f.Line()

	f.Comment("Client returns the client with that id and its extra columns, or")
	f.Comment("runtime.ErrNotFound.")
	f.Func().Params(recv()).Id("Client").Params(ctxParam(), jen.Id("id").String()).Params(jen.Op("*").Id("Client"), jen.Error()).Block(
		jen.List(jen.Id("row"), jen.Err()).Op(":=").Add(g.call("GetClient", arg{"id", jen.Id("id")})),
		jen.If(jen.Err().Op("!=").Nil()).Block(jen.Return(jen.Nil(), g.use("notFound", jen.Err()))),
		jen.Return(jen.Id("clientFromRow").Call(jen.Id("row")), jen.Nil()),
	)
	f.Line()

	f.Comment("ListClients returns every client, by id.")
	f.Func().Params(recv()).Id("ListClients").Params(ctxParam()).Params(jen.Index().Op("*").Id("Client"), jen.Error()).Block(
		g.listBody("ListClients", "Client", "clientFromRow")...,
	)
	f.Line()

	f.Comment("UpdateClient saves c, but for its secret and creation time, which stay.")
	f.Comment("runtime.ErrNotFound if there is no such client; runtime.ValidateClient's")
	f.Comment("error if c is not a valid registration.")
	_, upd := g.createArgs(t, "c", jen.Err())
	upd = without(upd, "secret_hash", "created_at")
	upd = append(upd[1:], upd[0]) // the id is the WHERE clause's, after the SET's
	body = append([]jen.Code{validateClient()}, g.beginChange(jen.Err())...)
	body = append(body,
		jen.List(jen.Id("n"), jen.Err()).Op(":=").Add(g.callOn(jen.Id("q"), "UpdateClient", upd...)),
		jen.If(jen.Err().Op("!=").Nil()).Block(jen.Return(jen.Err())),
		jen.If(jen.Id("n").Op("==").Lit(0)).Block(
			jen.Return(g.use("missing", jen.Id("ctx"), jen.Id("q").Dot("ClientExists"), jen.Id("c").Dot("ID"), jen.Nil())),
		),
		commitChange(),
	)
	f.Func().Params(recv()).Id("UpdateClient").Params(ctxParam(), jen.Id("c").Op("*").Id("Client")).Error().Block(body...)
	f.Line()

	f.Comment("RotateClientSecret gives the client a new secret and returns it, to show")
	f.Comment("once; the old secret stops working at once. A public client becomes")
	f.Comment("confidential.")
	body = append([]jen.Code{jen.List(jen.Id("secret"), jen.Id("hash")).Op(":=").Add(rt("NewClientSecret")).Call()}, g.beginChange(jen.Lit(""), jen.Err())...)
	body = append(body,
		jen.List(jen.Id("n"), jen.Err()).Op(":=").Add(g.callOn(jen.Id("q"), "SetClientSecretHash", arg{"secret_hash", jen.Id("hash")}, arg{"id", jen.Id("id")})),
		jen.If(jen.Err().Op("!=").Nil()).Block(jen.Return(jen.Lit(""), jen.Err())),
		jen.If(jen.Id("n").Op("==").Lit(0)).Block(jen.Return(jen.Lit(""), rt("ErrNotFound"))),
		commitChangeOr(jen.Lit(""), jen.Err()),
		jen.Return(jen.Id("secret"), jen.Nil()),
	)
	f.Func().Params(recv()).Id("RotateClientSecret").Params(ctxParam(), jen.Id("id").String()).Params(jen.String(), jen.Error()).Block(body...)
	f.Line()

	f.Comment("DeleteClient deletes the client and, by cascade, its tokens and codes.")
	f.Comment("runtime.ErrNotFound if there is no such client.")
	body = append(g.beginChange(jen.Err()),
		jen.List(jen.Id("n"), jen.Err()).Op(":=").Add(g.callOn(jen.Id("q"), "DeleteClient", arg{"id", jen.Id("id")})),
		jen.If(jen.Err().Op("!=").Nil()).Block(jen.Return(jen.Err())),
		jen.If(jen.Id("n").Op("==").Lit(0)).Block(jen.Return(rt("ErrNotFound"))),
		commitChange(),
	)
	f.Func().Params(recv()).Id("DeleteClient").Params(ctxParam(), jen.Id("id").String()).Error().Block(body...)
	f.Line()

	vals := g.recordValues(t, "row")
	f.Func().Id("clientFromRow").Params(jen.Id("row").Qual(g.db, "Client")).Op("*").Id("Client").Block(
		jen.Return(jen.Op("&").Id("Client").ValuesFunc(func(v *jen.Group) {
			v.Line().Id("Client").Op(":").Add(rt("Client")).Values(vals[inRuntime]...)
			if extra {
				v.Line().Id("ClientExtra").Op(":").Id("ClientExtra").Values(vals[inExtra]...)
			}
			v.Line()
		})),
	)
	f.Line()
}

// listBody reads every row of a :many query into Store records.
func (g *storeGen) listBody(query, rec, conv string) []jen.Code {
	return []jen.Code{
		jen.List(jen.Id("rows"), jen.Err()).Op(":=").Add(g.call(query)),
		jen.If(jen.Err().Op("!=").Nil()).Block(jen.Return(jen.Nil(), jen.Err())),
		jen.Id("out").Op(":=").Make(jen.Index().Op("*").Id(rec), jen.Len(jen.Id("rows"))),
		jen.For(jen.List(jen.Id("i"), jen.Id("row")).Op(":=").Range().Id("rows")).Block(
			jen.Id("out").Index(jen.Id("i")).Op("=").Id(conv).Call(jen.Id("row")),
		),
		jen.Return(jen.Id("out"), jen.Nil()),
	}
}

// changeBody runs an :execrows UPDATE; when it changes no row, the exists
// query tells an unknown key (runtime.ErrNotFound) from a known one
// (ifExists). MySQL counts rows changed, not matched, so "no row" can mean
// "no change".
func (g *storeGen) changeBody(update jen.Code, exists string, key jen.Code, ifExists jen.Code) []jen.Code {
	return g.changeBodyErr(update, exists, key, ifExists, jen.Err())
}

// changeBodyErr is changeBody returning errOut for a failed UPDATE.
func (g *storeGen) changeBodyErr(update jen.Code, exists string, key jen.Code, ifExists, errOut jen.Code) []jen.Code {
	return []jen.Code{
		jen.List(jen.Id("n"), jen.Err()).Op(":=").Add(update),
		jen.If(jen.Err().Op("!=").Nil()).Block(jen.Return(errOut)),
		jen.If(jen.Id("n").Op(">").Lit(0)).Block(jen.Return(jen.Nil())),
		jen.Return(g.use("missing", jen.Id("ctx"), jen.Id("s").Dot("read").Dot(exists), key, ifExists)),
	}
}

// without drops the arguments of the named columns.
func without(args []arg, columns ...string) []arg {
	var out []arg
	for _, a := range args {
		if !contains(columns, a.column) {
			out = append(out, a)
		}
	}
	return out
}

// validateClient refuses, in a method storing the client c, what
// runtime.ValidateClient refuses: every way in checks the same things.
func validateClient() jen.Code {
	return jen.If(jen.Err().Op(":=").Add(rt("ValidateClient")).Call(jen.Op("&").Id("c").Dot("Client"), jen.Nil()), jen.Err().Op("!=").Nil()).Block(jen.Return(jen.Err()))
}
