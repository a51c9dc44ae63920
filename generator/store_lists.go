package generator

import (
	"fmt"
	"strings"

	"github.com/dave/jennifer/jen"

	"github.com/oauthgen/oauthgen/schema"
)

// Lists (redirect URIs, grant types, scopes) are stored whole, never
// joined with a separator: a redirect URI may hold a space, a tab or a
// comma, and splitting it would make two URIs of one. PostgreSQL keeps
// them as TEXT[]; SQLite and MySQL as TEXT holding a JSON array. MySQL's
// JSON type would have the database check them, but sqlc models a column
// that ALTER … MODIFY turned into JSON as moved to the end of its table,
// so the converted tables' queries would no longer read into their model
// structs; decodeList fails closed instead. Older oauthgen stored them space-joined in TEXT:
// the lock then records type "text", and the next migration converts the
// rows (convert_list in each dialect's ddl.sql.tmpl).

// isListConversion reports whether a column the database has as
// space-joined text is now a list.
func isListConversion(was, now ColumnState) bool {
	return was.Type == TypeText.String() && now.Type == TypeList.String()
}

// listOps converts the columns of table to lists, each undone by joining
// it with spaces again.
func listOps(table string, cols []ColumnState) []op {
	var ops []op
	for _, c := range cols {
		ops = append(ops, op{up: step{"convert_list", columnData{table, c}}, down: step{"unconvert_list", columnData{table, c}}})
	}
	return ops
}

// unicodeSpaces are the characters strings.Fields (how older stores read
// lists back) splits at, as code points.
var unicodeSpaces = []rune{'\t', '\n', '\v', '\f', '\r', 0x85, 0xA0, 0x1680,
	0x2000, 0x2001, 0x2002, 0x2003, 0x2004, 0x2005, 0x2006, 0x2007, 0x2008, 0x2009, 0x200A,
	0x2028, 0x2029, 0x202F, 0x205F, 0x3000}

func init() {
	// sqliteSpaces turns every whitespace character of the expression
	// into a space: SQLite has no regular expressions.
	sqlFuncs["sqliteSpaces"] = func(expr string) string {
		for _, r := range unicodeSpaces {
			expr = fmt.Sprintf("replace(%s, char(%d), ' ')", expr, r)
		}
		return expr
	}
	// spaceClass is a regular expression class of the whitespace
	// strings.Fields splits at (PostgreSQL's and MySQL's syntax).
	sqlFuncs["spaceClass"] = func(d string) string {
		var b strings.Builder
		b.WriteString("[[:space:]")
		esc := func(r rune) string {
			if d == string(schema.MySQL) {
				return fmt.Sprintf(`\\x{%04X}`, r)
			}
			return fmt.Sprintf(`\u%04x`, r)
		}
		for i := 5; i < len(unicodeSpaces); i++ {
			r := unicodeSpaces[i]
			b.WriteString(esc(r))
			if r == 0x2000 { // through U+200A
				b.WriteString("-" + esc(0x200A))
				i += 10
			}
		}
		b.WriteString("]")
		return b.String()
	}
	storeHelpers = append(storeHelpers,
		helper{"plainItem", nil, func(g *storeGen) {
			g.f.Comment("plainItem reports whether json.Marshal writes s as it is, between")
			g.f.Comment("quotes: printable ASCII without a quote, a backslash, or the <, > and &")
			g.f.Comment("it escapes. Scopes, grant types and most redirect URIs are plain.")
			g.f.Func().Id("plainItem").Params(jen.Id("s").String()).Bool().Block(
				jen.For(jen.Id("i").Op(":=").Lit(0), jen.Id("i").Op("<").Len(jen.Id("s")), jen.Id("i").Op("++")).Block(
					jen.Switch(jen.Id("c").Op(":=").Id("s").Index(jen.Id("i")), jen.Empty()).Block(
						jen.Case(jen.Id("c").Op("<").LitRune(' ').Op("||").Id("c").Op(">").LitRune('~'),
							jen.Id("c").Op("==").LitRune('"'), jen.Id("c").Op("==").LitRune('\\'),
							jen.Id("c").Op("==").LitRune('<'), jen.Id("c").Op("==").LitRune('>'), jen.Id("c").Op("==").LitRune('&')).Block(
							jen.Return(jen.False())))),
				jen.Return(jen.True()))
		}},
		helper{"encodeList", []string{"plainItem"}, func(g *storeGen) {
			g.f.Comment("encodeList stores a list as a JSON array: items keep any character, a")
			g.f.Comment("space, a tab or a comma included. Plain items are joined by hand, the")
			g.f.Comment("bytes json.Marshal would write, without its reflection.")
			g.f.Func().Id("encodeList").Params(jen.Id("list").Index().String()).String().Block(
				jen.If(jen.Id("list").Op("==").Nil()).Block(jen.Return(jen.Lit("[]"))),
				jen.Id("n").Op(":=").Lit(2),
				jen.For(jen.List(jen.Id("_"), jen.Id("item")).Op(":=").Range().Id("list")).Block(
					jen.If(jen.Op("!").Id("plainItem").Call(jen.Id("item"))).Block(
						jen.List(jen.Id("b"), jen.Id("_")).Op(":=").Qual("encoding/json", "Marshal").Call(jen.Id("list")).Comment("a []string always encodes"),
						jen.Return(jen.String().Call(jen.Id("b")))),
					jen.Id("n").Op("+=").Len(jen.Id("item")).Op("+").Lit(3)),
				jen.Id("b").Op(":=").Make(jen.Index().Byte(), jen.Lit(0), jen.Id("n")),
				jen.Id("b").Op("=").Append(jen.Id("b"), jen.LitRune('[')),
				jen.For(jen.List(jen.Id("i"), jen.Id("item")).Op(":=").Range().Id("list")).Block(
					jen.If(jen.Id("i").Op(">").Lit(0)).Block(jen.Id("b").Op("=").Append(jen.Id("b"), jen.LitRune(','))),
					jen.Id("b").Op("=").Append(jen.Id("b"), jen.LitRune('"')),
					jen.Id("b").Op("=").Append(jen.Id("b"), jen.Id("item").Op("...")),
					jen.Id("b").Op("=").Append(jen.Id("b"), jen.LitRune('"'))),
				jen.Id("b").Op("=").Append(jen.Id("b"), jen.LitRune(']')),
				jen.Return(jen.String().Call(jen.Id("b"))))
		}},
		helper{"plainList", []string{"plainItem"}, func(g *storeGen) {
			g.f.Comment("plainList reads, without reflection, the arrays encodeList joins by")
			g.f.Comment("hand; ok is false for anything else, which json.Unmarshal then reads.")
			g.f.Func().Id("plainList").Params(jen.Id("s").String()).Params(jen.Id("list").Index().String(), jen.Id("ok").Bool()).Block(
				jen.If(jen.Len(jen.Id("s")).Op("<").Lit(2).Op("||").Id("s").Index(jen.Lit(0)).Op("!=").LitRune('[').Op("||").Id("s").Index(jen.Len(jen.Id("s")).Op("-").Lit(1)).Op("!=").LitRune(']')).Block(
					jen.Return(jen.Nil(), jen.False())),
				jen.Id("rest").Op(":=").Id("s").Index(jen.Lit(1), jen.Len(jen.Id("s")).Op("-").Lit(1)),
				jen.Id("list").Op("=").Make(jen.Index().String(), jen.Lit(0), jen.Qual("strings", "Count").Call(jen.Id("rest"), jen.Lit("\",\"")).Op("+").Lit(1)),
				jen.For(jen.Id("rest").Op("!=").Lit("")).Block(
					jen.If(jen.Id("rest").Index(jen.Lit(0)).Op("!=").LitRune('"')).Block(jen.Return(jen.Nil(), jen.False())),
					jen.Id("end").Op(":=").Qual("strings", "IndexByte").Call(jen.Id("rest").Index(jen.Lit(1), jen.Empty()), jen.LitRune('"')),
					jen.If(jen.Id("end").Op("<").Lit(0).Op("||").Op("!").Id("plainItem").Call(jen.Id("rest").Index(jen.Lit(1), jen.Lit(1).Op("+").Id("end")))).Block(
						jen.Return(jen.Nil(), jen.False())),
					jen.Id("list").Op("=").Append(jen.Id("list"), jen.Id("rest").Index(jen.Lit(1), jen.Lit(1).Op("+").Id("end"))),
					jen.Id("rest").Op("=").Id("rest").Index(jen.Lit(2).Op("+").Id("end"), jen.Empty()),
					jen.If(jen.Id("rest").Op("==").Lit("")).Block(jen.Break()),
					jen.If(jen.Len(jen.Id("rest")).Op("<").Lit(2).Op("||").Id("rest").Index(jen.Lit(0)).Op("!=").LitRune(',')).Block(jen.Return(jen.Nil(), jen.False())),
					jen.Id("rest").Op("=").Id("rest").Index(jen.Lit(1), jen.Empty())),
				jen.Return(jen.Id("list"), jen.True()))
		}},
		helper{"decodeList", []string{"plainList"}, func(g *storeGen) {
			g.f.Comment("decodeList reads a list encodeList stored. A value that is not a JSON")
			g.f.Comment("array of strings (written by something else) reads as one empty item,")
			g.f.Comment("which matches no scope, grant type or redirect URI: a damaged row grants")
			g.f.Comment("nothing, where an empty list of scopes would mean any.")
			g.f.Func().Id("decodeList").Params(jen.Id("s").String()).Index().String().Block(
				jen.If(jen.List(jen.Id("list"), jen.Id("ok")).Op(":=").Id("plainList").Call(jen.Id("s")), jen.Id("ok")).Block(jen.Return(jen.Id("list"))),
				jen.Var().Id("list").Index().String(),
				jen.If(jen.Err().Op(":=").Qual("encoding/json", "Unmarshal").Call(jen.Index().Byte().Call(jen.Id("s")), jen.Op("&").Id("list")),
					jen.Err().Op("!=").Nil().Op("||").Id("list").Op("==").Nil()).Block(
					jen.Return(jen.Index().String().Values(jen.Lit("")))),
				jen.Return(jen.Id("list")))
		}},
		helper{"pgList", nil, func(g *storeGen) {
			g.f.Comment("pgList stores a nil list as an empty TEXT[], not NULL.")
			g.f.Func().Id("pgList").Params(jen.Id("list").Index().String()).Index().String().Block(
				jen.If(jen.Id("list").Op("==").Nil()).Block(jen.Return(jen.Index().String().Values())),
				jen.Return(jen.Id("list")))
		}},
	)
}

// listToColumn converts a record's list to its column's Go type.
func (g *storeGen) listToColumn(src jen.Code) jen.Code {
	if g.p.Dialect == schema.Postgres {
		return g.use("pgList", src)
	}
	return g.use("encodeList", src)
}

// listFromColumn converts a list column's value to a record's list.
func (g *storeGen) listFromColumn(src *jen.Statement) jen.Code {
	if g.p.Dialect == schema.Postgres {
		return src
	}
	return g.use("decodeList", src)
}
