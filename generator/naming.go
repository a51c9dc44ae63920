package generator

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"unicode"
)

// goNameOverrides are field names that sqlc's rule (title-case each word,
// "id" → "ID") gets wrong; they are emitted as sqlc renames.
var goNameOverrides = map[string]string{
	"redirect_uris": "RedirectURIs",
	"redirect_uri":  "RedirectURI",
}

// goName is the Go field name of a column or parameter, as sqlc names it
// with the renames of sqlcRenames.
func goName(column string) string {
	if n, ok := goNameOverrides[column]; ok {
		return n
	}
	return sqlcName(column)
}

// sqlcName is sqlc's default StructName rule with the "id" initialism.
func sqlcName(column string) string {
	var b strings.Builder
	for _, part := range strings.Split(column, "_") {
		switch {
		case part == "id":
			b.WriteString("ID")
		case part != "":
			b.WriteString(strings.ToUpper(part[:1]) + part[1:])
		}
	}
	out := b.String()
	if out != "" && unicode.IsDigit(rune(out[0])) {
		return "_" + out
	}
	return out
}

// sqlcRenames returns the renames sqlc.yaml needs: tables to their record
// names (sqlcdb.Client, …), and columns sqlc would misname.
func sqlcRenames(p *Plan) map[string]string {
	out := map[string]string{}
	for _, t := range p.Tables {
		out[t.Name] = recordName(t.Kind)
		for _, c := range t.Columns {
			if n, ok := goNameOverrides[c.Name]; ok {
				out[c.Name] = n
			}
		}
	}
	return out
}

// maxIdentifier is PostgreSQL's identifier limit, the smallest of the three.
const maxIdentifier = 63

// indexName names an index after its table and columns; names too long for
// PostgreSQL are cut and given a hash suffix so they stay unique.
func indexName(table string, columns []string, unique bool) string {
	suffix := "_idx"
	if unique {
		suffix = "_key"
	}
	return constraintName(table+"_"+strings.Join(columns, "_"), suffix)
}

// constraintName is base+suffix, shortened with a hash when too long.
func constraintName(base, suffix string) string {
	name := base + suffix
	if len(name) <= maxIdentifier {
		return name
	}
	sum := sha256.Sum256([]byte(name))
	h := hex.EncodeToString(sum[:4])
	return name[:maxIdentifier-len(h)-len(suffix)-1] + "_" + h + suffix
}
