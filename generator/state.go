package generator

import (
	"slices"

	"github.com/oauthgen/oauthgen/schema"
)

// SchemaState is a database schema as the migrations leave it: what the
// lock records, and what the next run diffs against.
type SchemaState struct {
	Tables []*TableState `json:"tables"`
}

// TableState is one table of a SchemaState.
type TableState struct {
	Kind        string        `json:"kind"`
	Name        string        `json:"name"`
	Columns     []ColumnState `json:"columns"`
	PrimaryKey  []string      `json:"primary_key"`
	ForeignKeys []ForeignKey  `json:"foreign_keys,omitempty"`
	Indexes     []Index       `json:"indexes,omitempty"`
}

// ColumnState is one column of a TableState.
type ColumnState struct {
	Name     string `json:"name"`
	Type     string `json:"type"`
	SQLType  string `json:"sql_type"`
	Nullable bool   `json:"nullable,omitempty"`
	Default  string `json:"default,omitempty"`
}

// TableOfKind returns the table of that kind, or nil.
func (s *SchemaState) TableOfKind(kind string) *TableState {
	if s == nil {
		return nil
	}
	for _, t := range s.Tables {
		if t.Kind == kind {
			return t
		}
	}
	return nil
}

// Column returns the column with that name, or nil.
func (t *TableState) Column(name string) *ColumnState {
	for i := range t.Columns {
		if t.Columns[i].Name == name {
			return &t.Columns[i]
		}
	}
	return nil
}

// referencedBy lists the tables with a foreign key to table name.
func (s *SchemaState) referencedBy(name string) []*TableState {
	var out []*TableState
	for _, t := range s.Tables {
		if t.Name == name {
			continue
		}
		for _, fk := range t.ForeignKeys {
			if fk.RefTable == name {
				out = append(out, t)
				break
			}
		}
	}
	return out
}

// stateOf is the state of a Plan's own (non-external) tables.
func stateOf(tables []*Table) *SchemaState {
	s := &SchemaState{}
	for _, t := range tables {
		if t.External {
			continue
		}
		ts := &TableState{Kind: t.Kind, Name: t.Name, PrimaryKey: slices.Clone(t.PrimaryKey),
			ForeignKeys: slices.Clone(t.ForeignKeys), Indexes: slices.Clone(t.Indexes)}
		for _, c := range t.Columns {
			ts.Columns = append(ts.Columns, ColumnState{Name: c.Name, Type: c.Type.String(), SQLType: c.SQLType, Nullable: c.Nullable, Default: c.Default})
		}
		s.Tables = append(s.Tables, ts)
	}
	return s
}

// tableGrants names, for each table kind, the grants whose enabling needs it.
var tableGrants = map[string][]string{
	schema.TableUsers:              {"password"},
	schema.TableFamilies:           {"authorization_code", "refresh_token", "device_code"},
	schema.TableRefreshTokens:      {"refresh_token"},
	schema.TableAuthorizationCodes: {"authorization_code"},
	schema.TableDeviceCodes:        {"device_code"},
}
