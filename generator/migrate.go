package generator

import (
	"fmt"
	"slices"
	"strings"

	"github.com/oauthgen/oauthgen/schema"
)

// op is one schema change. Up and Down are rendered from the dialect's DDL
// templates; Down undoes Up, so a migration's Down runs its ops' Downs in
// reverse order.
type op struct {
	up, down step
	// noTx marks changes that must run with foreign keys off, outside
	// goose's transaction (a SQLite rebuild of a referenced table).
	noTx bool
}

// step names a DDL template and its data.
type step struct {
	tmpl string
	data any
}

// Template data of the DDL steps.
type (
	tableData  struct{ T *TableState }
	renameData struct{ From, To string }
	columnData struct {
		Table string
		C     ColumnState
	}
	fkData struct {
		Table string
		FK    ForeignKey
	}
	indexData struct {
		Table string
		I     Index
		// TextColumns need a prefix length to be indexed (MySQL).
		TextColumns map[string]bool
	}
	rebuildData struct{ From, To *TableState }
)

// diff is the result of comparing the locked schema with the Plan's.
type diff struct {
	ops   []op
	state *SchemaState
	// slug names the change for the migration's file name.
	slug []string
}

// diffSchemas compares the schema the previous migrations produced (old,
// nil before the first run) with the one the declaration needs, and
// returns the ops that turn one into the other. Unsafe changes are
// refused with errors positioned in the declaration.
func diffSchemas(d *schema.Declaration, old *SchemaState, want *SchemaState) (*diff, error) {
	out := &diff{state: &SchemaState{}}
	var errs schema.ErrorList
	if old == nil {
		old = &SchemaState{}
	}
	matched := map[string]bool{} // old table names accounted for
	for _, w := range want.Tables {
		o := old.TableOfKind(w.Kind)
		if o == nil {
			out.ops = append(out.ops, op{up: step{"create_table", tableData{w}}, down: step{"drop_table", tableData{w}}})
			out.state.Tables = append(out.state.Tables, w)
			continue
		}
		matched[o.Name] = true
		cur := o
		if o.Name != w.Name {
			from := d.Storage.Tables[w.Kind].RenamedFrom
			if from != o.Name {
				errs = append(errs, d.Errorf(tablePath(d, w.Kind),
					"table %s is %q in the database but %q here; to rename it, set storage.tables.%s.renamed_from: %s",
					w.Kind, o.Name, w.Name, w.Kind, o.Name))
				continue
			}
			out.ops = append(out.ops, op{up: step{"rename_table", renameData{o.Name, w.Name}}, down: step{"rename_table", renameData{w.Name, o.Name}}})
			cur = renamedTable(o, w.Name)
		}
		ops, final, es := alterTable(d, old, cur, w)
		if len(es) > 0 {
			errs = append(errs, es...)
			continue
		}
		out.ops = append(out.ops, ops...)
		out.state.Tables = append(out.state.Tables, final)
	}
	// Tables of disabled grants stay, with their data, unless dropped.
	var drops []op
	for i := len(old.Tables) - 1; i >= 0; i-- {
		o := old.Tables[i]
		if matched[o.Name] {
			continue
		}
		if dropRequested(d, o.Kind) && len(out.state.referencedBy(o.Name)) == 0 && !keptReferrer(old, matched, o) {
			drops = append(drops, op{up: step{"drop_table", tableData{o}}, down: step{"create_table", tableData{o}}})
			continue
		}
		out.state.Tables = append(out.state.Tables, o)
	}
	out.ops = append(out.ops, drops...)
	if len(errs) > 0 {
		slices.SortStableFunc(errs, func(a, b *schema.Error) int {
			if a.Pos.Line != b.Pos.Line {
				return a.Pos.Line - b.Pos.Line
			}
			return a.Pos.Column - b.Pos.Column
		})
		return nil, errs
	}
	out.state.Tables = orderTables(out.state.Tables)
	return out, nil
}

// keptReferrer reports whether a table that stays references o.
func keptReferrer(old *SchemaState, matched map[string]bool, o *TableState) bool {
	for _, r := range old.referencedBy(o.Name) {
		if !matched[r.Name] {
			return true
		}
	}
	return false
}

// dropRequested reports whether the declaration disables, with drop: true,
// a grant that needed a table of that kind.
func dropRequested(d *schema.Declaration, kind string) bool {
	for _, g := range tableGrants[kind] {
		if b := d.Grants.Grant(g); b != nil && !b.Enabled && b.Drop {
			return true
		}
	}
	return false
}

// tablePath is where a table's name is decided in the declaration.
func tablePath(d *schema.Declaration, kind string) string {
	if _, ok := d.Storage.Tables[kind]; ok {
		return "storage.tables." + kind
	}
	return "storage.table_prefix"
}

func renamedTable(t *TableState, name string) *TableState {
	c := *t
	c.Name = name
	c.ForeignKeys = slices.Clone(t.ForeignKeys)
	return &c
}

// alterTable compares one table's locked state (cur, already renamed) with
// the wanted one. Constraint and index names of matching constraints are
// kept from cur: they were created under those names.
func alterTable(d *schema.Declaration, old *SchemaState, cur, want *TableState) ([]op, *TableState, schema.ErrorList) {
	var errs schema.ErrorList
	final := *want
	final.ForeignKeys = nil
	final.Indexes = nil

	var dropIdx, addIdx []Index
	for _, w := range want.Indexes {
		if i := slices.IndexFunc(cur.Indexes, func(o Index) bool { return sameIndex(o, w) }); i >= 0 {
			final.Indexes = append(final.Indexes, cur.Indexes[i])
		} else {
			addIdx = append(addIdx, w)
			final.Indexes = append(final.Indexes, w)
		}
	}
	for _, o := range cur.Indexes {
		if !slices.ContainsFunc(want.Indexes, func(w Index) bool { return sameIndex(o, w) }) {
			dropIdx = append(dropIdx, o)
		}
	}
	var dropFK, addFK []ForeignKey
	for _, w := range want.ForeignKeys {
		if i := slices.IndexFunc(cur.ForeignKeys, func(o ForeignKey) bool { return sameFK(o, w) }); i >= 0 {
			final.ForeignKeys = append(final.ForeignKeys, cur.ForeignKeys[i])
		} else {
			addFK = append(addFK, w)
			final.ForeignKeys = append(final.ForeignKeys, w)
		}
	}
	for _, o := range cur.ForeignKeys {
		if !slices.ContainsFunc(want.ForeignKeys, func(w ForeignKey) bool { return sameFK(o, w) }) {
			dropFK = append(dropFK, o)
		}
	}

	var addCol, dropCol []ColumnState
	var nullCol, defCol [][2]ColumnState // {was, now}
	var listCol []ColumnState            // space-joined text becoming a list
	for _, w := range want.Columns {
		o := cur.Column(w.Name)
		path := columnPath(d, want.Kind, w.Name)
		switch {
		case o == nil:
			if !w.Nullable && w.Default == "" {
				errs = append(errs, d.Errorf(path,
					"column %s.%s is new on a table that may hold rows: give it a default or make it nullable", want.Kind, w.Name))
			}
			addCol = append(addCol, w)
		case isListConversion(*o, w):
			listCol = append(listCol, w)
		case o.SQLType != w.SQLType || o.Type != w.Type:
			errs = append(errs, d.Errorf(path+".type",
				"column %s.%s is %s in the database and cannot be changed to %s safely: add a new column, copy the data, then remove this one",
				want.Kind, w.Name, o.Type, w.Type))
		default:
			if o.Nullable && !w.Nullable {
				errs = append(errs, d.Errorf(path+".nullable",
					"column %s.%s may hold NULLs in the database and cannot become NOT NULL safely: keep nullable: true",
					want.Kind, w.Name))
			} else if o.Nullable != w.Nullable {
				nullCol = append(nullCol, [2]ColumnState{*o, w})
			}
			if o.Default != w.Default {
				defCol = append(defCol, [2]ColumnState{*o, w})
			}
		}
	}
	for _, o := range cur.Columns {
		if want.Column(o.Name) == nil {
			dropCol = append(dropCol, o)
		}
	}
	if len(errs) > 0 {
		return nil, nil, errs
	}

	nonConstant := slices.ContainsFunc(addCol, func(c ColumnState) bool { return c.Default == "CURRENT_TIMESTAMP" })
	if d.Dialect == schema.SQLite && (len(dropFK) > 0 || len(addFK) > 0 || len(nullCol) > 0 || len(defCol) > 0 || nonConstant) {
		// SQLite alters none of these in place (nor adds a column whose
		// default is not a constant): rebuild the table.
		to := final
		return append(listOps(cur.Name, listCol), op{
			up:   step{"rebuild_table", rebuildData{cur, &to}},
			down: step{"rebuild_table", rebuildData{&to, cur}},
			noTx: len(old.referencedBy(cur.Name)) > 0,
		}), &final, nil
	}

	// Foreign keys go after, and come off before, the indexes they use:
	// MySQL would create an index of its own for a foreign key without one,
	// and refuses to drop an index a foreign key needs.
	ops := listOps(cur.Name, listCol)
	textCols := textColumns(want, cur)
	for _, fk := range dropFK {
		ops = append(ops, op{up: step{"drop_foreign_key", fkData{cur.Name, fk}}, down: step{"add_foreign_key", fkData{cur.Name, fk}}})
	}
	for _, ix := range dropIdx {
		ops = append(ops, op{up: step{"drop_index", indexData{cur.Name, ix, textCols}}, down: step{"create_index", indexData{cur.Name, ix, textCols}}})
	}
	for _, c := range dropCol {
		ops = append(ops, op{up: step{"drop_column", columnData{cur.Name, c}}, down: step{"add_column", columnData{cur.Name, c}}})
	}
	for _, c := range addCol {
		ops = append(ops, op{up: step{"add_column", columnData{cur.Name, c}}, down: step{"drop_column", columnData{cur.Name, c}}})
	}
	for _, p := range nullCol {
		ops = append(ops, op{up: step{"set_nullable", columnData{cur.Name, p[1]}}, down: step{"set_nullable", columnData{cur.Name, p[0]}}})
	}
	for _, p := range defCol {
		ops = append(ops, op{up: step{"set_default", columnData{cur.Name, p[1]}}, down: step{"set_default", columnData{cur.Name, p[0]}}})
	}
	for _, ix := range addIdx {
		ops = append(ops, op{up: step{"create_index", indexData{cur.Name, ix, textCols}}, down: step{"drop_index", indexData{cur.Name, ix, textCols}}})
	}
	for _, fk := range addFK {
		ops = append(ops, op{up: step{"add_foreign_key", fkData{cur.Name, fk}}, down: step{"drop_foreign_key", fkData{cur.Name, fk}}})
	}
	return ops, &final, nil
}

func sameIndex(a, b Index) bool {
	return a.Unique == b.Unique && slices.Equal(a.Columns, b.Columns) && a.Where == b.Where
}

func sameFK(a, b ForeignKey) bool {
	return a.Column == b.Column && a.RefTable == b.RefTable && a.RefColumn == b.RefColumn && a.OnDelete == b.OnDelete
}

// columnPath is where a column is declared: its extra_columns entry, or
// the table (built-in columns).
func columnPath(d *schema.Declaration, kind, name string) string {
	for i, c := range d.Storage.ExtraColumns[kind] {
		if c.Name == name {
			return fmt.Sprintf("storage.extra_columns.%s[%d]", kind, i)
		}
	}
	return tablePath(d, kind)
}

// textColumns are the columns of unbounded text type, which MySQL indexes
// by prefix.
func textColumns(ts ...*TableState) map[string]bool {
	out := map[string]bool{}
	for _, t := range ts {
		for _, c := range t.Columns {
			if c.Type == TypeText.String() {
				out[c.Name] = true
			}
		}
	}
	return out
}

// orderTables puts referenced tables before their referrers, keeping the
// given order otherwise.
func orderTables(ts []*TableState) []*TableState {
	var out []*TableState
	placed := map[string]bool{}
	for len(out) < len(ts) {
		progress := false
		for _, t := range ts {
			if placed[t.Name] {
				continue
			}
			ready := true
			for _, fk := range t.ForeignKeys {
				if fk.RefTable != t.Name && !placed[fk.RefTable] && containsTable(ts, fk.RefTable) {
					ready = false
				}
			}
			if ready {
				out = append(out, t)
				placed[t.Name] = true
				progress = true
			}
		}
		if !progress { // a cycle: cannot happen with oauthgen's tables
			for _, t := range ts {
				if !placed[t.Name] {
					out = append(out, t)
					placed[t.Name] = true
				}
			}
		}
	}
	return out
}

func containsTable(ts []*TableState, name string) bool {
	return slices.ContainsFunc(ts, func(t *TableState) bool { return t.Name == name })
}

// slugPart cleans a name for a migration file name.
func slugPart(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_' {
			return r
		}
		return '_'
	}, strings.ToLower(s))
}
