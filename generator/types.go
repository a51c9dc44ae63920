package generator

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/oauthgen/oauthgen/schema"
)

// Type is a portable column type; each dialect maps it to one SQL type,
// chosen so that sqlc gives every dialect the same Go type.
type Type int

// Portable column types.
const (
	TypeText    Type = iota + 1 // free text
	TypeKey                     // short text that is a key or indexed (ids, usernames)
	TypeHash                    // lowercase hex SHA-256
	TypeEnum                    // short fixed vocabulary (status, PKCE method)
	TypeInt64                   // 64-bit integer
	TypeFloat64                 // double precision
	TypeBool                    // boolean
	TypeTime                    // instant, stored in UTC with microseconds or better
	TypeUUID                    // UUID (a mapped users table's id)
	TypeBytes                   // opaque bytes (sealed private keys)
	TypeList                    // list of strings, kept whole (see store_lists.go)
)

// typeNames are the lock file's names of the types.
var typeNames = map[Type]string{
	TypeText: "text", TypeKey: "key", TypeHash: "hash", TypeEnum: "enum", TypeInt64: "int64",
	TypeFloat64: "float64", TypeBool: "bool", TypeTime: "time", TypeUUID: "uuid", TypeBytes: "bytes",
	TypeList: "list",
}

func (t Type) String() string { return typeNames[t] }

// sqlTypes maps each type to its SQL type, per dialect. MySQL cannot index
// TEXT without a prefix length, hence VARCHAR/CHAR for keys and hashes.
var sqlTypes = map[schema.Dialect]map[Type]string{
	schema.SQLite: {
		TypeText: "TEXT", TypeKey: "TEXT", TypeHash: "TEXT", TypeEnum: "TEXT", TypeInt64: "INTEGER",
		TypeFloat64: "REAL", TypeBool: "BOOLEAN", TypeTime: "DATETIME", TypeUUID: "TEXT", TypeBytes: "BLOB",
		TypeList: "TEXT",
	},
	schema.Postgres: {
		TypeText: "TEXT", TypeKey: "TEXT", TypeHash: "TEXT", TypeEnum: "TEXT", TypeInt64: "BIGINT",
		TypeFloat64: "DOUBLE PRECISION", TypeBool: "BOOLEAN", TypeTime: "TIMESTAMPTZ", TypeUUID: "UUID", TypeBytes: "BYTEA",
		TypeList: "TEXT[]",
	},
	schema.MySQL: {
		TypeText: "TEXT", TypeKey: "VARCHAR(255)", TypeHash: "CHAR(64)", TypeEnum: "VARCHAR(32)", TypeInt64: "BIGINT",
		TypeFloat64: "DOUBLE", TypeBool: "BOOLEAN", TypeTime: "DATETIME(6)", TypeUUID: "CHAR(36)", TypeBytes: "LONGBLOB",
		TypeList: "TEXT",
	},
}

// goTypes is the Go type sqlc gives each type (non-null form).
var goTypes = map[Type]string{
	TypeText: "string", TypeKey: "string", TypeHash: "string", TypeEnum: "string", TypeInt64: "int64",
	TypeFloat64: "float64", TypeBool: "bool", TypeTime: "time.Time", TypeUUID: "string", TypeBytes: "[]byte",
	TypeList: "string",
}

// extraTypes maps the declaration's extra column types to portable types.
var extraTypes = map[string]Type{
	schema.TypeText: TypeText, schema.TypeInt64: TypeInt64, schema.TypeFloat64: TypeFloat64,
	schema.TypeBool: TypeBool, schema.TypeTime: TypeTime,
}

// userIDTypes maps the declaration's user id types to portable types.
var userIDTypes = map[string]Type{
	schema.IDText: TypeKey, schema.IDInt64: TypeInt64, schema.IDUUID: TypeUUID,
}

// sqlDefault renders a declared default (already validated by schema) as
// a SQL literal of the dialect.
func sqlDefault(d schema.Dialect, t Type, value string) (string, error) {
	switch t {
	case TypeText:
		lit := "'" + strings.ReplaceAll(value, "'", "''") + "'"
		if d == schema.MySQL {
			return "(" + lit + ")", nil // MySQL allows TEXT defaults only as expressions
		}
		return lit, nil
	case TypeInt64:
		n, err := strconv.ParseInt(value, 10, 64)
		return strconv.FormatInt(n, 10), err
	case TypeFloat64:
		f, err := strconv.ParseFloat(value, 64)
		return strconv.FormatFloat(f, 'g', -1, 64), err
	case TypeBool:
		b, err := strconv.ParseBool(value)
		if b {
			return "TRUE", err
		}
		return "FALSE", err
	case TypeTime:
		if value == "now" {
			switch d {
			case schema.Postgres:
				return "now()", nil
			case schema.MySQL:
				return "CURRENT_TIMESTAMP(6)", nil
			}
			return "CURRENT_TIMESTAMP", nil
		}
		ts, err := time.Parse(time.RFC3339Nano, value)
		if err != nil {
			return "", err
		}
		ts = ts.UTC()
		if d == schema.Postgres {
			return "'" + ts.Format("2006-01-02 15:04:05.999999Z07:00") + "'", nil
		}
		return "'" + ts.Format("2006-01-02 15:04:05.999999") + "'", nil
	}
	return "", fmt.Errorf("type %v has no declared defaults", t)
}
