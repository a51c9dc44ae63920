package generator

import (
	"time"

	"github.com/dave/jennifer/jen"

	"github.com/oauthgen/oauthgen/schema"
)

// emitConfig writes Config(), the runtime configuration the declaration
// describes, and NewServer.
func (g *storeGen) emitConfig() {
	rc, f := g.p.Runtime, g.f
	var fields []jen.Code
	set := func(name string, v jen.Code) { fields = append(fields, jen.Line().Id(name).Op(":").Add(v)) }
	if rc.Issuer != "" {
		set("Issuer", jen.Lit(rc.Issuer))
	}
	if rc.AuthorizationCode {
		var opts []jen.Code
		if c, ok := pkceConsts[rc.PKCE]; ok && c != "PKCEPublic" {
			opts = append(opts, jen.Id("PKCE").Op(":").Add(rt(c)))
		}
		if rc.AllowPlainPKCE {
			opts = append(opts, jen.Id("AllowPlainPKCE").Op(":").True())
		}
		if rc.RequireState {
			opts = append(opts, jen.Id("RequireState").Op(":").True())
		}
		set("AuthorizationCode", jen.Op("&").Add(rt("AuthorizationCodeGrant")).Values(opts...))
	}
	if rc.ClientCredentials {
		set("ClientCredentials", jen.Op("&").Add(rt("ClientCredentialsGrant")).Values())
	}
	if rc.Password {
		set("Password", jen.Op("&").Add(rt("PasswordGrant")).Values())
	}
	if rc.RefreshToken {
		var opts []jen.Code
		if !rc.Rotation {
			opts = append(opts, jen.Id("DisableRotation").Op(":").True())
		}
		if rc.ReuseInterval > 0 {
			opts = append(opts, jen.Id("ReuseInterval").Op(":").Add(duration(rc.ReuseInterval)))
		}
		set("RefreshToken", jen.Op("&").Add(rt("RefreshTokenGrant")).Values(opts...))
	}
	if rc.DeviceCode {
		set("DeviceCode", jen.Op("&").Add(rt("DeviceCodeGrant")).Values(
			jen.Line().Id("Interval").Op(":").Add(duration(rc.DeviceInterval)),
			jen.Line().Id("UserCodeCharset").Op(":").Lit(rc.UserCodeCharset),
			jen.Line().Id("UserCodeLength").Op(":").Lit(rc.UserCodeLength),
			jen.Line(),
		))
	}
	if rc.Implicit {
		set("Implicit", jen.Op("&").Add(rt("ImplicitGrant")).Values())
	}
	set("AccessTokenLifetime", duration(rc.AccessTokenLifetime))
	if rc.RefreshToken {
		set("RefreshTokenLifetime", duration(rc.RefreshTokenLifetime))
	}
	if rc.AuthorizationCode {
		set("AuthorizationCodeLifetime", duration(rc.AuthorizationCodeLifetime))
	}
	if rc.DeviceCode {
		set("DeviceCodeLifetime", duration(rc.DeviceCodeLifetime))
	}
	if len(rc.Scopes) > 0 {
		set("Scopes", stringSlice(rc.Scopes))
	}
	if len(rc.DefaultScopes) > 0 {
		set("DefaultScopes", stringSlice(rc.DefaultScopes))
	}
	if rc.BearerRealm != "" || rc.BearerAllowForm || rc.BearerAllowQuery {
		var opts []jen.Code
		if rc.BearerRealm != "" {
			opts = append(opts, jen.Id("Realm").Op(":").Lit(rc.BearerRealm))
		}
		if rc.BearerAllowForm {
			opts = append(opts, jen.Id("AllowForm").Op(":").True())
		}
		if rc.BearerAllowQuery {
			opts = append(opts, jen.Id("AllowQuery").Op(":").True())
		}
		set("Bearer", rt("BearerConfig").Values(opts...))
	}
	fields = append(fields, g.openIDConfig()...)
	fields = append(fields, jen.Line())

	f.Comment("Config returns the runtime configuration declared in oauthgen.yaml.")
	f.Func().Id("Config").Params().Add(rt("Config")).Block(jen.Return(rt("Config").Values(fields...)))
	f.Line()

	if len(rc.Extensions) > 0 {
		f.Comment("ExtensionGrants are the extension grant types declared in oauthgen.yaml;")
		f.Comment("NewServer needs a handler for each in Config.Extensions.")
		f.Var().Id("ExtensionGrants").Op("=").Add(stringSlice(rc.Extensions))
		f.Line()
	}

	f.Comment("NewServer returns a runtime server over s, configured as declared in")
	f.Comment("oauthgen.yaml. Each configure function may adjust the configuration first:")
	if len(rc.Extensions) > 0 {
		f.Comment("the issuer, a logger, hooks, and a handler for each of ExtensionGrants.")
	} else {
		f.Comment("the issuer, a logger, hooks.")
	}
	body := []jen.Code{
		jen.Id("cfg").Op(":=").Id("Config").Call(),
		jen.For(jen.List(jen.Id("_"), jen.Id("f")).Op(":=").Range().Id("configure")).Block(jen.Id("f").Call(jen.Op("&").Id("cfg"))),
	}
	if len(rc.Extensions) > 0 {
		body = append(body, jen.For(jen.List(jen.Id("_"), jen.Id("uri")).Op(":=").Range().Id("ExtensionGrants")).Block(
			jen.If(jen.Id("cfg").Dot("Extensions").Index(jen.Id("uri")).Op("==").Nil()).Block(
				jen.Return(jen.Nil(), jen.Qual("fmt", "Errorf").Call(jen.Lit("oauthgen.yaml declares the extension grant %s: set Config.Extensions[%q] to its handler"), jen.Id("uri"), jen.Id("uri"))),
			),
		))
	}
	body = append(body, jen.Return(rt("NewServer").Call(jen.Id("cfg"), jen.Id("s"))))
	f.Func().Id("NewServer").Params(jen.Id("s").Op("*").Id("Store"), jen.Id("configure").Op("...").Func().Params(jen.Op("*").Add(rt("Config")))).
		Params(jen.Op("*").Add(rt("Server")), jen.Error()).Block(body...)
	f.Line()
}

var pkceConsts = map[string]string{
	schema.PKCERequired: "PKCERequired",
	schema.PKCEPublic:   "PKCEPublic",
	schema.PKCEOptional: "PKCEOptional",
}

// duration writes d as a readable constant expression: 336 * time.Hour.
func duration(d time.Duration) jen.Code {
	for _, u := range []struct {
		unit time.Duration
		name string
	}{{time.Hour, "Hour"}, {time.Minute, "Minute"}, {time.Second, "Second"}, {time.Millisecond, "Millisecond"}} {
		if d%u.unit == 0 {
			if d == u.unit {
				return jen.Qual(timePkg, u.name)
			}
			return jen.Lit(int(d/u.unit)).Op("*").Qual(timePkg, u.name)
		}
	}
	return jen.Qual(timePkg, "Duration").Call(jen.Lit(int64(d)))
}

// stringSlice writes a []string literal.
func stringSlice(ss []string) jen.Code {
	items := make([]jen.Code, len(ss))
	for i, s := range ss {
		items[i] = jen.Lit(s)
	}
	return jen.Index().String().Values(items...)
}
