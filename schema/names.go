package schema

import (
	"fmt"
	"go/token"
	"regexp"
	"strconv"
	"strings"
)

// MaxIdentifierLength is the longest table or column name oauthgen accepts:
// PostgreSQL truncates identifiers past 63 bytes (MySQL allows 64, SQLite
// more), and a silently truncated name breaks the next migration.
const MaxIdentifierLength = 63

// sqlIdentifier is the only shape of SQL name oauthgen emits unquoted and
// the same on every dialect: PostgreSQL folds unquoted names to lowercase,
// MySQL's table names follow the file system's case rules.
var sqlIdentifier = regexp.MustCompile(`^[a-z_][a-z0-9_]*$`)

// goPackageName is the ASCII subset of Go identifiers; non-ASCII package
// names are legal but invite look-alike characters.
var goPackageName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// Dialects reserving a word, as bits.
const (
	inSQLite = 1 << iota
	inPostgres
	inMySQL
)

// reserved maps each word that some dialect reserves to the dialects that
// do. oauthgen never quotes identifiers, so a name must be usable bare on
// all three: a declaration should not stop working when it changes
// dialect. Sources: SQLite's keyword list (sqlite.org/lang_keywords.html),
// PostgreSQL's "reserved" and "reserved (can be function or type)"
// keywords (Appendix C; its non-reserved keywords are valid column names),
// and MySQL 8.4's reserved words (those marked (R)).
var reserved = func() map[string]uint8 {
	m := map[string]uint8{}
	add := func(bit uint8, words string) {
		for _, w := range strings.Fields(words) {
			m[strings.ToLower(w)] |= bit
		}
	}
	add(inSQLite, `ABORT ACTION ADD AFTER ALL ALTER ALWAYS ANALYZE AND AS ASC ATTACH
		AUTOINCREMENT BEFORE BEGIN BETWEEN BY CASCADE CASE CAST CHECK COLLATE COLUMN
		COMMIT CONFLICT CONSTRAINT CREATE CROSS CURRENT CURRENT_DATE CURRENT_TIME
		CURRENT_TIMESTAMP DATABASE DEFAULT DEFERRABLE DEFERRED DELETE DESC DETACH
		DISTINCT DO DROP EACH ELSE END ESCAPE EXCEPT EXCLUDE EXCLUSIVE EXISTS EXPLAIN
		FAIL FILTER FIRST FOLLOWING FOR FOREIGN FROM FULL GENERATED GLOB GROUP GROUPS
		HAVING IF IGNORE IMMEDIATE IN INDEX INDEXED INITIALLY INNER INSERT INSTEAD
		INTERSECT INTO IS ISNULL JOIN KEY LAST LEFT LIKE LIMIT MATCH MATERIALIZED
		NATURAL NO NOT NOTHING NOTNULL NULL NULLS OF OFFSET ON OR ORDER OTHERS OUTER
		OVER PARTITION PLAN PRAGMA PRECEDING PRIMARY QUERY RAISE RANGE RECURSIVE
		REFERENCES REGEXP REINDEX RELEASE RENAME REPLACE RESTRICT RETURNING RIGHT
		ROLLBACK ROW ROWS SAVEPOINT SELECT SET TABLE TEMP TEMPORARY THEN TIES TO
		TRANSACTION TRIGGER UNBOUNDED UNION UNIQUE UPDATE USING VACUUM VALUES VIEW
		VIRTUAL WHEN WHERE WINDOW WITH WITHOUT`)
	add(inPostgres, `ALL ANALYSE ANALYZE AND ANY ARRAY AS ASC ASYMMETRIC AUTHORIZATION
		BINARY BOTH CASE CAST CHECK COLLATE COLLATION COLUMN CONCURRENTLY CONSTRAINT
		CREATE CROSS CURRENT_CATALOG CURRENT_DATE CURRENT_ROLE CURRENT_SCHEMA
		CURRENT_TIME CURRENT_TIMESTAMP CURRENT_USER DEFAULT DEFERRABLE DESC DISTINCT
		DO ELSE END EXCEPT FALSE FETCH FOR FOREIGN FREEZE FROM FULL GRANT GROUP
		HAVING ILIKE IN INITIALLY INNER INTERSECT INTO IS ISNULL JOIN LATERAL LEADING
		LEFT LIKE LIMIT LOCALTIME LOCALTIMESTAMP NATURAL NOT NOTNULL NULL OFFSET ON
		ONLY OR ORDER OUTER OVERLAPS PLACING PRIMARY REFERENCES RETURNING RIGHT
		SELECT SESSION_USER SIMILAR SOME SYMMETRIC SYSTEM_USER TABLE TABLESAMPLE THEN
		TO TRAILING TRUE UNION UNIQUE USER USING VARIADIC VERBOSE WHEN WHERE WINDOW
		WITH`)
	add(inMySQL, `ACCESSIBLE ADD ALL ALTER ANALYZE AND AS ASC ASENSITIVE BEFORE BETWEEN
		BIGINT BINARY BLOB BOTH BY CALL CASCADE CASE CHANGE CHAR CHARACTER CHECK
		COLLATE COLUMN CONDITION CONSTRAINT CONTINUE CONVERT CREATE CROSS CUBE
		CUME_DIST CURRENT_DATE CURRENT_TIME CURRENT_TIMESTAMP CURRENT_USER CURSOR
		DATABASE DATABASES DAY_HOUR DAY_MICROSECOND DAY_MINUTE DAY_SECOND DEC DECIMAL
		DECLARE DEFAULT DELAYED DELETE DENSE_RANK DESC DESCRIBE DETERMINISTIC
		DISTINCT DISTINCTROW DIV DOUBLE DROP DUAL EACH ELSE ELSEIF EMPTY ENCLOSED
		ESCAPED EXCEPT EXISTS EXIT EXPLAIN FALSE FETCH FIRST_VALUE FLOAT FLOAT4
		FLOAT8 FOR FORCE FOREIGN FROM FULLTEXT FUNCTION GENERATED GET GRANT GROUP
		GROUPING GROUPS HAVING HIGH_PRIORITY HOUR_MICROSECOND HOUR_MINUTE HOUR_SECOND
		IF IGNORE IN INDEX INFILE INNER INOUT INSENSITIVE INSERT INT INT1 INT2 INT3
		INT4 INT8 INTEGER INTERSECT INTERVAL INTO IO_AFTER_GTIDS IO_BEFORE_GTIDS IS
		ITERATE JOIN JSON_TABLE KEY KEYS KILL LAG LAST_VALUE LATERAL LEAD LEADING
		LEAVE LEFT LIBRARY LIKE LIMIT LINEAR LINES LOAD LOCALTIME LOCALTIMESTAMP LOCK
		LONG LONGBLOB LONGTEXT LOOP LOW_PRIORITY MANUAL MATCH MAXVALUE MEDIUMBLOB
		MEDIUMINT MEDIUMTEXT MIDDLEINT MINUTE_MICROSECOND MINUTE_SECOND MOD MODIFIES
		NATURAL NOT NO_WRITE_TO_BINLOG NTH_VALUE NTILE NULL NUMERIC OF ON OPTIMIZE
		OPTIMIZER_COSTS OPTION OPTIONALLY OR ORDER OUT OUTER OUTFILE OVER PARALLEL
		PARTITION PERCENT_RANK PRECISION PRIMARY PROCEDURE PURGE QUALIFY RANGE RANK
		READ READS READ_WRITE REAL RECURSIVE REFERENCES REGEXP RELEASE RENAME REPEAT
		REPLACE REQUIRE RESIGNAL RESTRICT RETURN REVOKE RIGHT RLIKE ROW ROWS
		ROW_NUMBER SCHEMA SCHEMAS SECOND_MICROSECOND SELECT SENSITIVE SEPARATOR SET
		SHOW SIGNAL SMALLINT SPATIAL SPECIFIC SQL SQLEXCEPTION SQLSTATE SQLWARNING
		SQL_BIG_RESULT SQL_CALC_FOUND_ROWS SQL_SMALL_RESULT SSL STARTING STORED
		STRAIGHT_JOIN SYSTEM TABLE TABLESAMPLE TERMINATED THEN TINYBLOB TINYINT
		TINYTEXT TO TRAILING TRIGGER TRUE UNDO UNION UNIQUE UNLOCK UNSIGNED UPDATE
		USAGE USE USING UTC_DATE UTC_TIME UTC_TIMESTAMP VALUES VARBINARY VARCHAR
		VARCHARACTER VARYING VIRTUAL WHEN WHERE WHILE WINDOW WITH WRITE XOR
		YEAR_MONTH ZEROFILL`)
	return m
}()

// IsReservedWord reports whether some dialect oauthgen supports (SQLite,
// PostgreSQL, MySQL) reserves word, in any case. The generator shares it
// for names it derives (index names).
func IsReservedWord(word string) bool { return reserved[strings.ToLower(word)] != 0 }

// reservedIn names the dialects reserving word: "MySQL and PostgreSQL".
func reservedIn(word string) string {
	bits := reserved[strings.ToLower(word)]
	var names []string
	for _, d := range []struct {
		bit  uint8
		name string
	}{{inMySQL, "MySQL"}, {inPostgres, "PostgreSQL"}, {inSQLite, "SQLite"}} {
		if bits&d.bit != 0 {
			names = append(names, d.name)
		}
	}
	switch len(names) {
	case 0:
		return ""
	case 1:
		return names[0]
	default:
		return strings.Join(names[:len(names)-1], ", ") + " and " + names[len(names)-1]
	}
}

// checkSQLName returns what is wrong with name as a table or column name
// ("" when nothing is). what names it in the message: "table", "column".
func checkSQLName(what, name string) string {
	switch {
	case name == "":
		return fmt.Sprintf("want a %s name, got an empty string", what)
	case !sqlIdentifier.MatchString(name):
		return fmt.Sprintf("want a %s name of lowercase letters, digits and underscores, not starting with a digit; got %s", what, quote(name))
	case len(name) > MaxIdentifierLength:
		return fmt.Sprintf("%s name %s is %d characters; PostgreSQL keeps only %d", what, quote(name), len(name), MaxIdentifierLength)
	case IsReservedWord(name):
		return fmt.Sprintf("%s is a reserved word in %s; oauthgen does not quote names, pick another", quote(name), reservedIn(name))
	case token.IsKeyword(name):
		return fmt.Sprintf("%s is a Go keyword, and the generated code names variables after columns; pick another", quote(name))
	}
	return ""
}

// quote writes s as a Go string literal, shortened when long so that an
// error about a pasted paragraph stays one readable line.
func quote(s string) string {
	const max = 80
	if r := []rune(s); len(r) > max {
		return strconv.Quote(string(r[:max])) + "…"
	}
	return strconv.Quote(s)
}

// suggest returns the candidate the user most likely meant by got, or ""
// when none is close: same name but for case and separators
// ("clientCredentials"), a small edit distance scaled to the name's length
// ("roation"), or an unambiguous prefix ("refresh").
func suggest(got string, candidates []string) string {
	norm := func(s string) string {
		return strings.NewReplacer("_", "", "-", "", " ", "").Replace(strings.ToLower(s))
	}
	for _, c := range candidates {
		if norm(c) == norm(got) {
			return c
		}
	}
	best, bestDist := "", -1
	for _, c := range candidates {
		d := editDistance(strings.ToLower(got), c)
		if bestDist < 0 || d < bestDist {
			best, bestDist = c, d
		}
	}
	limit := 1
	switch n := len([]rune(got)); {
	case n >= 9:
		limit = 3
	case n >= 5:
		limit = 2
	}
	if bestDist >= 0 && bestDist <= limit {
		return best
	}
	var prefixed []string
	if len(got) >= 3 {
		for _, c := range candidates {
			if strings.HasPrefix(c, strings.ToLower(got)) {
				prefixed = append(prefixed, c)
			}
		}
	}
	if len(prefixed) == 1 {
		return prefixed[0]
	}
	return ""
}

// editDistance is the optimal string alignment distance between a and b:
// insertions, deletions, substitutions and transpositions of adjacent
// runes ("pcke" is one edit from "pkce").
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	// Names are short; a long input (fuzzing, a pasted paragraph) is never
	// close to one, and a quadratic table for it is waste.
	if len(ra) > 64 || len(rb) > 64 {
		return max(len(ra), len(rb))
	}
	d := make([][]int, len(ra)+1)
	for i := range d {
		d[i] = make([]int, len(rb)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(ra); i++ {
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(ra)][len(rb)]
}
