package schema

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Error is one problem in a declaration, at a place in its file:
//
//	oauthgen.yaml:12:5: grants.refresh_token.rotation: want a boolean, got "yes"
//
// Pos is zero only for a file-level failure such as an unreadable file; Path
// is empty for problems that belong to no key (a YAML syntax error).
type Error struct {
	// File is the declaration's file name, as given to Load or Parse.
	File string
	// Pos is where the problem is: the offending key, or list item.
	Pos Position
	// Path is the dotted path of the key, "[i]" for list items:
	// "storage.extra_columns.clients[0].type".
	Path string
	// Msg says what is wrong, and when it can, what to write instead.
	Msg string

	// cause is the underlying error of an I/O failure, for errors.Is.
	cause error
}

// Error formats the error as file:line:col: path: msg, leaving out the
// parts it does not have.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Pos.IsValid() {
		if e.File != "" {
			b.WriteByte(':')
		}
		b.WriteString(e.Pos.String())
	}
	if b.Len() > 0 {
		b.WriteString(": ")
	}
	if e.Path != "" {
		b.WriteString(e.Path)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Unwrap returns the underlying error of an I/O failure, or nil.
func (e *Error) Unwrap() error { return e.cause }

// ErrorList is every problem found in a declaration, sorted by position.
// Load and Parse return one (never empty) as their error.
type ErrorList []*Error

// Error returns the errors one per line.
func (l ErrorList) Error() string {
	lines := make([]string, len(l))
	for i, e := range l {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// Unwrap returns the errors, so errors.Is and errors.As see each of them.
func (l ErrorList) Unwrap() []error {
	errs := make([]error, len(l))
	for i, e := range l {
		errs[i] = e
	}
	return errs
}

// sortErrors orders errors by file position, then path and message, and
// drops exact duplicates (a rule reached twice through two paths).
func sortErrors(l ErrorList) ErrorList {
	slices.SortStableFunc(l, func(a, b *Error) int {
		return cmp.Or(
			cmp.Compare(a.File, b.File),
			cmp.Compare(a.Pos.Line, b.Pos.Line),
			cmp.Compare(a.Pos.Column, b.Pos.Column),
			cmp.Compare(a.Path, b.Path),
			cmp.Compare(a.Msg, b.Msg),
		)
	})
	return slices.CompactFunc(l, func(a, b *Error) bool {
		return a.File == b.File && a.Pos == b.Pos && a.Path == b.Path && a.Msg == b.Msg
	})
}

// IsValid reports whether p is a real place in a file (line and column ≥ 1).
func (p Position) IsValid() bool { return p.Line >= 1 && p.Column >= 1 }

// String returns "line:column".
func (p Position) String() string {
	return strconv.Itoa(p.Line) + ":" + strconv.Itoa(p.Column)
}

// Pos returns where path was written in the declaration file. A path that
// was not written (a defaulted key) gets the place of its nearest written
// ancestor, so an error about it points at the block that left it out. A
// Declaration not loaded from a file has no positions: Pos returns the
// zero Position.
func (d *Declaration) Pos(path string) Position {
	if d == nil || d.positions == nil {
		return Position{}
	}
	for {
		if p, ok := d.positions[path]; ok {
			return p
		}
		if path == "" {
			return Position{Line: 1, Column: 1}
		}
		path = parentPath(path)
	}
}

// Errorf returns an error about the key at path, placed where that key (or
// its nearest written ancestor) is in the file. The generator uses it to
// report problems only it can see, such as an unsafe schema change.
func (d *Declaration) Errorf(path, format string, args ...any) *Error {
	e := &Error{Pos: d.Pos(path), Path: path, Msg: fmt.Sprintf(format, args...)}
	if d != nil {
		e.File = d.File
	}
	return e
}

// parentPath strips the last element of a dotted path: "a.b[2]" → "a.b",
// "a.b" → "a", "a" → "".
func parentPath(path string) string {
	i := strings.LastIndexAny(path, ".[")
	if i < 0 {
		return ""
	}
	return path[:i]
}

// joinPath appends a key to a dotted path.
func joinPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// indexPath appends a list index to a path.
func indexPath(path string, i int) string {
	return path + "[" + strconv.Itoa(i) + "]"
}
