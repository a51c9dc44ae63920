package generator

import (
	"slices"
	"strings"

	"github.com/dave/jennifer/jen"

	"github.com/oauthgen/oauthgen/schema"
)

// Claim is an OpenID Connect claim a users column backs.
type Claim struct {
	// Name is the standard claim ("email", …).
	Name string
	// Column is the users table's column.
	Column *Column
}

// openIDCodeColumns adds what an OpenID Connect code carries to its ID
// token: nullable, so enabling OpenID Connect adds them to a table that
// holds codes.
func (b *tableBuilder) openIDCodeColumns(t *Table) {
	t.Columns = append(t.Columns, b.col("nonce", TypeText, true), b.col("auth_time", TypeTime, true))
}

// openIDRefreshColumns adds the auth_time a refresh token carries to the
// ID tokens of its refreshes (OpenID Connect Core §12.2): nullable, so
// enabling OpenID Connect adds it to a table that holds tokens, which
// then have none.
func (b *tableBuilder) openIDRefreshColumns(t *Table) {
	t.Columns = append(t.Columns, b.col("auth_time", TypeTime, true))
}

// signingKeysTable adds the table of signing keys: the database's unique
// indexes decide which instance creates a generation.
func (b *tableBuilder) signingKeysTable() {
	t := b.table(schema.TableSigningKeys,
		b.col("id", TypeKey, false),
		b.col("generation", TypeInt64, false),
		b.col("algorithm", TypeEnum, false),
		b.col("public_jwk", TypeText, false),
		b.col("sealed_private_key", TypeBytes, false),
		b.col("created_at", TypeTime, false),
		b.col("active_from", TypeTime, false),
	)
	t.PrimaryKey = []string{"id"}
	b.unique(t, "generation")
}

// claimType is the portable type that backs a claim in a mapped table.
func claimType(claim string) Type {
	switch schema.ClaimTypes(claim)[0] {
	case schema.TypeBool:
		return TypeBool
	case schema.TypeTime:
		return TypeTime
	}
	return TypeText
}

// mappedClaimColumns describes to sqlc the claim columns of the
// application's users table: nullable, of the claim's type.
func (b *tableBuilder) mappedClaimColumns(t *Table) {
	o := b.d.OpenIDConnect
	if o == nil {
		return
	}
	for _, claim := range sortedClaims(o.Claims) {
		col := o.Claims[claim]
		if t.Column(col) != nil {
			continue
		}
		t.Columns = append(t.Columns, b.col(col, claimType(claim), true))
	}
}

func sortedClaims(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// buildClaims lists the claims the users table backs.
func buildClaims(d *schema.Declaration, users *Users) []Claim {
	if d.OpenIDConnect == nil || users == nil {
		return nil
	}
	var out []Claim
	for _, claim := range sortedClaims(d.OpenIDConnect.Claims) {
		if c := users.Table.Column(d.OpenIDConnect.Claims[claim]); c != nil {
			out = append(out, Claim{Name: claim, Column: c})
		}
	}
	return out
}

// openIDRuntime sets the OpenID Connect and signing values of Config().
func openIDRuntime(d *schema.Declaration, rc *RuntimeConfig) {
	if o := d.OpenIDConnect; o != nil {
		rc.OpenID, rc.IDTokenLifetime = true, o.IDTokenLifetime.Duration
	}
	rc.JWTAccessTokens = d.JWTAccessTokens()
	if k := d.SigningKeys; k != nil && d.SignsTokens() {
		rc.SigningAlgorithm, rc.RotateEvery, rc.RetireAfter = k.Algorithm, k.RotateEvery.Duration, k.RetireAfter.Duration
	}
}

// openIDQueries are the queries of signing keys and user claims.
func openIDQueries(p *Plan) []*Query {
	var out []*Query
	if t := p.Table(schema.TableSigningKeys); t != nil {
		cols := strings.Join(columnNames(t), ", ")
		args := make([]string, len(t.Columns))
		for i, c := range columnNames(t) {
			args[i] = "sqlc.arg(" + c + ")"
		}
		out = append(out,
			&Query{Name: "ListSigningKeys", Cmd: ":many", SQL: "SELECT " + cols + "\nFROM " + t.Name + "\nORDER BY generation;"},
			&Query{Name: "CreateSigningKey", Cmd: ":exec", Params: columnNames(t), Write: true,
				SQL: "INSERT INTO " + t.Name + " (" + cols + ")\nVALUES (" + strings.Join(args, ", ") + ");"},
			// Keys older than the newest one active before the cutoff
			// (runtime.SigningKeyPurgeCutoff). The derived table lets
			// MySQL read the table it deletes from.
			&Query{Name: "PurgeSigningKeys", Cmd: ":execrows", Params: []string{"cutoff"}, Write: true,
				SQL: "DELETE FROM " + t.Name + "\nWHERE generation < (SELECT m.g FROM (SELECT MAX(n.generation) AS g FROM " + t.Name +
					" n WHERE n.active_from < sqlc.arg(cutoff)) m);"},
		)
	}
	if len(p.Claims) > 0 {
		u := p.Users
		cols := []string{u.ID}
		for _, c := range p.Claims {
			if !slices.Contains(cols, c.Column.Name) {
				cols = append(cols, c.Column.Name)
			}
		}
		out = append(out, &Query{Name: "GetUserClaims", Cmd: ":one", Params: []string{"id"},
			SQL: "SELECT " + strings.Join(cols, ", ") + "\nFROM " + u.Table.Name + "\nWHERE " + u.ID + " = sqlc.arg(id);"})
	}
	return out
}

// emitSigningKeys writes the runtime.SigningKeyStore methods.
func (g *storeGen) emitSigningKeys() {
	t := g.p.Table(schema.TableSigningKeys)
	vals := g.recordValues(t, "row")[inRuntime]
	g.f.Comment("SigningKeys returns every stored signing key, by generation. Private keys")
	g.f.Comment("come back sealed, as the runtime stored them.")
	g.f.Func().Params(recv()).Id("SigningKeys").Params(ctxParam()).Params(jen.Index().Op("*").Add(rt("SigningKey")), jen.Error()).Block(
		jen.List(jen.Id("rows"), jen.Err()).Op(":=").Add(g.call("ListSigningKeys")),
		jen.If(jen.Err().Op("!=").Nil()).Block(jen.Return(jen.Nil(), jen.Err())),
		jen.Id("out").Op(":=").Make(jen.Index().Op("*").Add(rt("SigningKey")), jen.Len(jen.Id("rows"))),
		jen.For(jen.List(jen.Id("i"), jen.Id("row")).Op(":=").Range().Id("rows")).Block(
			jen.Id("out").Index(jen.Id("i")).Op("=").Op("&").Add(rt("SigningKey")).Values(vals...),
		),
		jen.Return(jen.Id("out"), jen.Nil()),
	)
	g.f.Line()
	pre, args := g.createArgs(t, "k", jen.Err())
	g.f.Comment("AddSigningKey stores k; runtime.ErrDuplicate when its id or generation")
	g.f.Comment("exists (another instance created that generation first).")
	g.f.Func().Params(recv()).Id("AddSigningKey").Params(ctxParam(), jen.Id("k").Op("*").Add(rt("SigningKey"))).Error().Block(
		append(pre, jen.Return(g.use("duplicate", g.call("CreateSigningKey", args...))))...,
	)
	g.f.Line()
}

// emitUserClaims writes runtime.UserClaimsStore's method.
func (g *storeGen) emitUserClaims() {
	pre, key := g.userKey("userID", jen.Nil(), rt("ErrNotFound"))
	body := append(pre,
		jen.List(jen.Id("row"), jen.Err()).Op(":=").Add(g.call("GetUserClaims", arg{"id", key})),
		jen.If(jen.Err().Op("!=").Nil()).Block(jen.Return(jen.Nil(), g.use("notFound", jen.Err()))),
		jen.Id("claims").Op(":=").Map(jen.String()).Any().Values(),
	)
	for _, c := range g.p.Claims {
		field := jen.Id("row").Dot(c.Column.GoName)
		val := field.Clone()
		if c.Column.Nullable {
			val = jen.Op("*").Add(field.Clone())
		}
		var cond *jen.Statement
		switch c.Column.Type {
		case TypeText, TypeKey:
			cond = val.Clone().Op("!=").Lit("")
		case TypeTime:
			val = jen.Parens(val).Dot("Unix").Call()
			if !c.Column.Nullable {
				val = field.Clone().Dot("Unix").Call()
			}
		}
		if c.Column.Nullable {
			nn := field.Clone().Op("!=").Nil()
			if cond != nil {
				nn = nn.Op("&&").Add(cond)
			}
			cond = nn
		}
		set := jen.Id("claims").Index(jen.Lit(c.Name)).Op("=").Add(val)
		if cond != nil {
			body = append(body, jen.If(cond).Block(set))
		} else {
			body = append(body, set)
		}
	}
	body = append(body, jen.Return(jen.Id("claims"), jen.Nil()))
	g.f.Comment("UserClaims returns the OpenID Connect claims of the user from the columns")
	g.f.Comment("oauthgen.yaml maps (openid_connect.claims); NULL and empty text are left out.")
	g.f.Comment("runtime.ErrNotFound for an unknown user.")
	g.f.Func().Params(recv()).Id("UserClaims").Params(ctxParam(), jen.Id("userID").String()).Params(jen.Map(jen.String()).Any(), jen.Error()).Block(body...)
	g.f.Line()
}

// openIDConfig are the fields of Config() for OpenID Connect, JWT access
// tokens and signing keys. The key-encryption key is never declared: the
// runtime reads it from the environment unless the server sets it.
func (g *storeGen) openIDConfig() []jen.Code {
	rc := g.p.Runtime
	var fields []jen.Code
	set := func(name string, v jen.Code) { fields = append(fields, jen.Line().Id(name).Op(":").Add(v)) }
	if rc.OpenID {
		claims := []jen.Code{}
		for _, c := range g.p.Claims {
			claims = append(claims, jen.Lit(c.Name))
		}
		set("OpenID", jen.Op("&").Add(rt("OpenIDConfig")).Values(
			jen.Line().Id("IDTokenLifetime").Op(":").Add(duration(rc.IDTokenLifetime)),
			jen.Line().Id("Claims").Op(":").Index().String().Values(claims...),
			jen.Line(),
		))
	}
	if rc.JWTAccessTokens {
		set("AccessTokenFormat", rt("AccessTokenJWT"))
	}
	if rc.SigningAlgorithm != "" {
		set("SigningKeys", rt("SigningKeysConfig").Values(
			jen.Line().Id("Algorithm").Op(":").Lit(rc.SigningAlgorithm),
			jen.Line().Id("RotateEvery").Op(":").Add(duration(rc.RotateEvery)),
			jen.Line().Id("RetireAfter").Op(":").Add(duration(rc.RetireAfter)),
			jen.Line(),
		))
	}
	return fields
}
