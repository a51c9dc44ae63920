package generator

import (
	"fmt"

	"github.com/oauthgen/oauthgen/schema"
)

// tableBuilder derives the Store's tables from a declaration.
type tableBuilder struct {
	d       *schema.Declaration
	dialect schema.Dialect
	tables  []*Table
	users   *Users
}

// needs reports which tables the enabled grants need.
type needs struct {
	users, families, refresh, codes, device bool
}

func needsOf(d *schema.Declaration) needs {
	g := d.Grants
	return needs{
		users:    d.UsesUsers(),
		families: g.AuthorizationCode.On() || g.RefreshToken.On() || g.DeviceCode.On(),
		refresh:  g.RefreshToken.On(),
		codes:    g.AuthorizationCode.On(),
		device:   g.DeviceCode.On(),
	}
}

func buildTables(d *schema.Declaration) ([]*Table, *Users, error) {
	b := &tableBuilder{d: d, dialect: d.Dialect}
	n := needsOf(d)
	clients := b.table(schema.TableClients,
		b.col("id", TypeKey, false),
		b.col("secret_hash", TypeText, false),
		b.col("name", TypeText, false),
		b.col("redirect_uris", TypeList, false),
		b.col("grant_types", TypeList, false),
		b.col("scopes", TypeList, false),
		b.colDefault("access_token_lifetime_seconds", TypeInt64, "0"),
		b.colDefault("refresh_token_lifetime_seconds", TypeInt64, "0"),
		b.col("created_at", TypeTime, false),
		// Added after created_at: databases created before it get it last.
		b.colDefault("resource_server", TypeBool, "FALSE"),
	)
	clients.PrimaryKey = []string{"id"}

	// user_id is opaque to the token tables: no foreign key to a users
	// table, generated or mapped, because ids may predate the table (issued
	// by the application's own login) and must survive enabling password.
	// A mapped table's typed ids keep their type, so the Store converts
	// them where it stores them.
	userType := TypeKey
	var usersTable *Table
	if n.users {
		if m := d.Storage.Users; m != nil {
			usersTable = &Table{Kind: schema.TableUsers, Name: m.Table, External: true}
			idType := userIDTypes[m.ID.Type]
			usersTable.Columns = []*Column{
				b.col(m.ID.Column, idType, false),
				b.col(m.Username, TypeKey, false),
				b.col(m.PasswordHash, TypeText, false),
			}
			usersTable.PrimaryKey = []string{m.ID.Column}
			b.tables = append(b.tables, usersTable)
			b.users = &Users{Table: usersTable, IDType: idType, ID: m.ID.Column, Username: m.Username, PasswordHash: m.PasswordHash}
		} else {
			usersTable = b.table(schema.TableUsers,
				b.col("id", TypeKey, false),
				b.col("username", TypeKey, false),
				b.col("password_hash", TypeText, false),
				b.col("created_at", TypeTime, false),
			)
			usersTable.PrimaryKey = []string{"id"}
			b.unique(usersTable, "username")
			b.users = &Users{Table: usersTable, Generated: true, IDType: TypeKey, ID: "id", Username: "username", PasswordHash: "password_hash"}
		}
		userType = b.users.IDType
	}
	userCol := func(nullable bool) *Column { return b.col("user_id", userType, nullable) }
	// Tokens are looked up by user when a user is deleted (DeleteUser
	// removes them in its transaction), so user_id is indexed then.
	refUser := func(t *Table) {
		if usersTable != nil {
			b.indexSet(t, "user_id")
		}
	}

	var families *Table
	if n.families {
		families = b.table(schema.TableFamilies,
			b.col("id", TypeKey, false),
			b.col("client_id", TypeKey, false),
			userCol(true),
			b.col("created_at", TypeTime, false),
			b.col("revoked_at", TypeTime, true),
		)
		families.PrimaryKey = []string{"id"}
		b.fk(families, "client_id", clients.Name, "id")
		refUser(families)
	}
	// token is what access and refresh tokens, codes and device codes share.
	token := func(kind string, cols ...*Column) *Table {
		t := b.table(kind, cols...)
		t.PrimaryKey = []string{"hash"}
		b.fk(t, "client_id", clients.Name, "id")
		refUser(t)
		if families != nil {
			b.fk(t, "family_id", families.Name, "id")
		}
		b.index(t, "expires_at")
		return t
	}
	familyCol := func(required bool) *Column { return b.col("family_id", TypeKey, !required) }

	token(schema.TableAccessTokens,
		b.col("hash", TypeHash, false),
		b.col("client_id", TypeKey, false),
		userCol(true),
		b.col("scopes", TypeList, false),
		familyCol(false),
		b.col("issued_at", TypeTime, false),
		b.col("expires_at", TypeTime, false),
		b.col("revoked_at", TypeTime, true),
	)
	if n.refresh {
		t := token(schema.TableRefreshTokens,
			b.col("hash", TypeHash, false),
			b.col("client_id", TypeKey, false),
			userCol(true),
			b.col("scopes", TypeList, false),
			familyCol(true),
			b.col("issued_at", TypeTime, false),
			b.col("expires_at", TypeTime, false),
			b.col("consumed_at", TypeTime, true),
			b.col("revoked_at", TypeTime, true),
		)
		if d.OpenID() {
			b.openIDRefreshColumns(t)
		}
	}
	if n.codes {
		token(schema.TableAuthorizationCodes,
			b.col("hash", TypeHash, false),
			b.col("client_id", TypeKey, false),
			userCol(false),
			b.col("redirect_uri", TypeText, false),
			b.col("scopes", TypeList, false),
			b.col("code_challenge", TypeText, false),
			b.col("code_challenge_method", TypeEnum, false),
			familyCol(true),
			b.col("issued_at", TypeTime, false),
			b.col("expires_at", TypeTime, false),
			b.col("consumed_at", TypeTime, true),
		)
		if d.OpenID() {
			b.openIDCodeColumns(b.tables[len(b.tables)-1])
		}
	}
	if n.device {
		t := token(schema.TableDeviceCodes,
			b.col("hash", TypeHash, false),
			b.col("user_code_hash", TypeHash, false),
			b.col("client_id", TypeKey, false),
			b.col("scopes", TypeList, false),
			b.col("status", TypeEnum, false),
			userCol(true),
			familyCol(true),
			b.col("interval_seconds", TypeInt64, false),
			b.col("issued_at", TypeTime, false),
			b.col("expires_at", TypeTime, false),
			b.col("last_polled_at", TypeTime, true),
			b.col("decided_at", TypeTime, true),
			b.col("consumed_at", TypeTime, true),
		)
		b.unique(t, "user_code_hash")
	}
	if d.SignsTokens() {
		b.signingKeysTable()
	}
	if usersTable != nil && usersTable.External {
		b.mappedClaimColumns(usersTable)
	}
	b.limitsTable()
	b.changesTable()
	if err := b.addExtras(); err != nil {
		return nil, nil, err
	}
	return b.tables, b.users, nil
}

// table adds a generated table. Tables are added referenced-first, the
// order migrations create them in.
func (b *tableBuilder) table(kind string, cols ...*Column) *Table {
	t := &Table{Kind: kind, Name: b.d.TableName(kind), Columns: cols}
	b.tables = append(b.tables, t)
	return t
}

func (b *tableBuilder) col(name string, t Type, nullable bool) *Column {
	return &Column{Name: name, Type: t, SQLType: sqlTypes[b.dialect][t], Nullable: nullable, GoName: goName(name)}
}

func (b *tableBuilder) colDefault(name string, t Type, def string) *Column {
	c := b.col(name, t, false)
	c.Default = def
	return c
}

func (b *tableBuilder) fk(t *Table, column, refTable, refColumn string) {
	t.ForeignKeys = append(t.ForeignKeys, ForeignKey{Name: constraintName(t.Name+"_"+column, "_fkey"), Column: column, RefTable: refTable, RefColumn: refColumn, OnDelete: "CASCADE"})
	// Referencing columns are indexed: PostgreSQL does not do it for us, and
	// cascades and family revocation look rows up by them.
	b.indexSet(t, column)
}

// indexSet indexes a column looked up only by equality: where it is
// nullable, and the dialect can, only its rows that have a value (a
// client credentials token has neither user nor family, and so updates
// neither index). Equality implies IS NOT NULL, so the planners of SQLite
// and PostgreSQL use the partial index for `col = ?` and for cascades.
func (b *tableBuilder) indexSet(t *Table, column string) {
	b.index(t, column)
	if c := t.Column(column); c != nil && c.Nullable && b.dialect != schema.MySQL {
		t.Indexes[len(t.Indexes)-1].Where = column + " IS NOT NULL"
	}
}

func (b *tableBuilder) index(t *Table, columns ...string) {
	t.Indexes = append(t.Indexes, Index{Name: indexName(t.Name, columns, false), Columns: columns})
}

func (b *tableBuilder) unique(t *Table, columns ...string) {
	t.Indexes = append(t.Indexes, Index{Name: indexName(t.Name, columns, true), Columns: columns, Unique: true})
}

// addExtras appends the declared extra columns and indexes.
func (b *tableBuilder) addExtras() error {
	for _, t := range b.tables {
		if t.External {
			continue
		}
		for i, x := range b.d.Storage.ExtraColumns[t.Kind] {
			typ, ok := extraTypes[x.Type]
			if !ok {
				return fmt.Errorf("extra column %s.%s: unknown type %q", t.Kind, x.Name, x.Type)
			}
			c := b.col(x.Name, typ, x.Nullable)
			c.Extra = true
			c.DeclPath = fmt.Sprintf("storage.extra_columns.%s[%d]", t.Kind, i)
			if x.Default != nil {
				lit, err := sqlDefault(b.dialect, typ, *x.Default)
				if err != nil {
					return fmt.Errorf("%s.default: %v", c.DeclPath, err)
				}
				c.Default = lit
			}
			t.Columns = append(t.Columns, c)
		}
		for _, ix := range b.d.Storage.Indexes[t.Kind] {
			if ix.Unique {
				b.unique(t, ix.Columns...)
			} else {
				b.index(t, ix.Columns...)
			}
		}
	}
	return nil
}
