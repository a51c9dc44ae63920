package generator

import (
	"github.com/dave/jennifer/jen"

	"github.com/oauthgen/oauthgen/schema"
)

// conv says how a record field and its column's Go type convert.
type conv int

const (
	convPlain      conv = iota // same type on both sides
	convList                   // []string ↔ the list column (store_lists.go)
	convSeconds                // time.Duration ↔ int64 seconds
	convTime                   // time.Time ↔ time.Time, stored in UTC
	convNullTime               // time.Time, zero for NULL ↔ *time.Time
	convNullString             // string, "" for NULL ↔ *string
	convUserID                 // user id string ↔ the users table's id type
	convStatus                 // runtime.DeviceStatus ↔ string
	convBytes                  // []byte ↔ string (a JSON document in a text column)
)

// where says which struct of a Store record holds a field.
type where int

const (
	inRuntime where = iota // the embedded runtime record
	inRecord               // the Store record itself (users' created_at)
	inExtra                // the embedded <Record>Extra struct
)

// binding ties a column to a record field.
type binding struct {
	column string
	field  string
	conv   conv
	where  where
	// nullable mirrors the column, for convUserID.
	nullable bool
}

// bindings lists the fields of a table's record, in column order, extra
// columns last.
func (g *storeGen) bindings(t *Table) []binding {
	b := func(column, field string, c conv) binding {
		col := t.Column(column)
		return binding{column: column, field: field, conv: c, nullable: col != nil && col.Nullable}
	}
	var out []binding
	switch t.Kind {
	case schema.TableClients:
		out = []binding{
			b("id", "ID", convPlain), b("secret_hash", "SecretHash", convPlain), b("name", "Name", convPlain),
			b("redirect_uris", "RedirectURIs", convList), b("grant_types", "GrantTypes", convList),
			b("scopes", "Scopes", convList),
			b("access_token_lifetime_seconds", "AccessTokenLifetime", convSeconds),
			b("refresh_token_lifetime_seconds", "RefreshTokenLifetime", convSeconds),
			b("created_at", "CreatedAt", convTime),
			b("resource_server", "ResourceServer", convPlain),
		}
	case schema.TableUsers:
		u := g.p.Users
		out = []binding{b(u.ID, "ID", convUserID), b(u.Username, "Username", convPlain), b(u.PasswordHash, "PasswordHash", convPlain)}
		if u.Generated {
			created := b("created_at", "CreatedAt", convTime)
			created.where = inRecord
			out = append(out, created)
		}
	case schema.TableFamilies:
		out = []binding{
			b("id", "ID", convPlain), b("client_id", "ClientID", convPlain), b("user_id", "UserID", convUserID),
			b("created_at", "CreatedAt", convTime), b("revoked_at", "RevokedAt", convNullTime),
		}
	case schema.TableAccessTokens, schema.TableRefreshTokens:
		family := convPlain
		if t.Kind == schema.TableAccessTokens {
			family = convNullString
		}
		out = []binding{
			b("hash", "Hash", convPlain), b("client_id", "ClientID", convPlain), b("user_id", "UserID", convUserID),
			b("scopes", "Scopes", convList), b("family_id", "FamilyID", family),
			b("issued_at", "IssuedAt", convTime), b("expires_at", "ExpiresAt", convTime),
		}
		if t.Kind == schema.TableRefreshTokens {
			out = append(out, b("consumed_at", "ConsumedAt", convNullTime))
		}
		out = append(out, b("revoked_at", "RevokedAt", convNullTime))
		if c := t.Column("auth_time"); t.Kind == schema.TableRefreshTokens && c != nil && !c.Extra {
			out = append(out, b("auth_time", "AuthTime", convNullTime))
		}
	case schema.TableAuthorizationCodes:
		out = []binding{
			b("hash", "Hash", convPlain), b("client_id", "ClientID", convPlain), b("user_id", "UserID", convUserID),
			b("redirect_uri", "RedirectURI", convPlain), b("scopes", "Scopes", convList),
			b("code_challenge", "CodeChallenge", convPlain), b("code_challenge_method", "CodeChallengeMethod", convPlain),
			b("family_id", "FamilyID", convPlain), b("issued_at", "IssuedAt", convTime), b("expires_at", "ExpiresAt", convTime),
			b("consumed_at", "ConsumedAt", convNullTime),
		}
		if t.Column("nonce") != nil {
			out = append(out, b("nonce", "Nonce", convNullString), b("auth_time", "AuthTime", convNullTime))
		}
	case schema.TableSigningKeys:
		out = []binding{
			b("id", "ID", convPlain), b("generation", "Generation", convPlain), b("algorithm", "Algorithm", convPlain),
			b("public_jwk", "PublicJWK", convBytes), b("sealed_private_key", "SealedPrivateKey", convPlain),
			b("created_at", "CreatedAt", convTime), b("active_from", "ActiveFrom", convTime),
		}
	case schema.TableDeviceCodes:
		out = []binding{
			b("hash", "Hash", convPlain), b("user_code_hash", "UserCodeHash", convPlain), b("client_id", "ClientID", convPlain),
			b("scopes", "Scopes", convList), b("status", "Status", convStatus), b("user_id", "UserID", convUserID),
			b("family_id", "FamilyID", convPlain), b("interval_seconds", "Interval", convSeconds),
			b("issued_at", "IssuedAt", convTime), b("expires_at", "ExpiresAt", convTime),
			b("last_polled_at", "LastPolledAt", convNullTime), b("decided_at", "DecidedAt", convNullTime),
			b("consumed_at", "ConsumedAt", convNullTime),
		}
	}
	for _, c := range t.Extras() {
		out = append(out, binding{column: c.Name, field: c.GoName, conv: convPlain, where: inExtra, nullable: c.Nullable})
	}
	return out
}

// userIDInt reports whether user ids are int64 columns, which need parsing.
func (g *storeGen) userIDInt() bool { return g.p.Users != nil && g.p.Users.IDType == TypeInt64 }

// toColumn converts src, a record field, to its column's Go type. pre
// holds statements that must run first (parsing an int64 user id), which
// may return err from the enclosing function.
func (g *storeGen) toColumn(b binding, src *jen.Statement, errReturn []jen.Code) (pre []jen.Code, value jen.Code) {
	switch b.conv {
	case convList:
		return nil, g.listToColumn(src)
	case convSeconds:
		return nil, g.use("seconds", src)
	case convTime:
		return nil, src.Dot("UTC").Call()
	case convNullTime:
		return nil, g.use("nullTime", src)
	case convNullString:
		return nil, g.use("nullString", src)
	case convStatus:
		return nil, jen.String().Call(src)
	case convBytes:
		return nil, jen.String().Call(src)
	case convUserID:
		if !g.userIDInt() {
			if b.nullable {
				return nil, g.use("nullString", src)
			}
			return nil, src
		}
		fn := "parseUserID"
		if b.nullable {
			fn = "parseNullUserID"
		}
		v := jen.Id(lowerFirst(goName(b.column)))
		pre = []jen.Code{
			jen.List(v, jen.Err()).Op(":=").Add(g.use(fn, src)),
			jen.If(jen.Err().Op("!=").Nil()).Block(jen.Return(errReturn...)),
		}
		return pre, v
	}
	return nil, src
}

// fromColumn converts a row field to its record field's type.
func (g *storeGen) fromColumn(b binding, src *jen.Statement) jen.Code {
	switch b.conv {
	case convList:
		return g.listFromColumn(src)
	case convSeconds:
		return g.use("duration", src)
	case convTime:
		return src.Dot("UTC").Call()
	case convNullTime:
		return g.use("timeOf", src)
	case convNullString:
		return g.use("stringOf", src)
	case convStatus:
		return rt("DeviceStatus").Call(src)
	case convBytes:
		return jen.Index().Byte().Call(src)
	case convUserID:
		switch {
		case g.userIDInt() && b.nullable:
			return g.use("formatNullUserID", src)
		case g.userIDInt():
			return g.use("formatUserID", src)
		case b.nullable:
			return g.use("stringOf", src)
		}
	}
	return src
}

// createArgs converts a record into a create query's arguments.
func (g *storeGen) createArgs(t *Table, rec string, errReturn ...jen.Code) (pre []jen.Code, args []arg) {
	for _, b := range g.bindings(t) {
		p, v := g.toColumn(b, jen.Id(rec).Dot(b.field), errReturn)
		pre = append(pre, p...)
		args = append(args, arg{b.column, v})
	}
	return pre, args
}

// recordValues converts a row into the fields of a Store record, grouped
// by the struct that holds them.
func (g *storeGen) recordValues(t *Table, row string, skip ...string) map[where][]jen.Code {
	out := map[where][]jen.Code{}
	for _, b := range g.bindings(t) {
		if contains(skip, b.column) {
			continue
		}
		out[b.where] = append(out[b.where], jen.Line().Id(b.field).Op(":").Add(g.fromColumn(b, jen.Id(row).Dot(goName(b.column)))))
	}
	for w := range out {
		out[w] = append(out[w], jen.Line())
	}
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func lowerFirst(s string) string {
	if s == "" {
		return s
	}
	if s == "ID" {
		return "id"
	}
	return string(s[0]|0x20) + s[1:]
}
