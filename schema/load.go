package schema

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

// Load reads the declaration at path and returns it parsed, defaulted and
// validated. Errors are an ErrorList; a file that cannot be read gives one
// Error without a position, which unwraps to the I/O error (errors.Is(err,
// fs.ErrNotExist) works).
func Load(path string) (*Declaration, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		msg := err.Error()
		if pe, ok := errors.AsType[*fs.PathError](err); ok {
			msg = pe.Err.Error() // the path is already the Error's File
		}
		return nil, ErrorList{{File: path, Msg: msg, cause: err}}
	}
	return Parse(path, data)
}

// Parse parses a declaration read from filename (used only in messages and
// as Declaration.File: out is relative to its folder). It returns the
// declaration with every default applied, or an ErrorList of every
// problem, sorted by position; never both.
func Parse(filename string, data []byte) (*Declaration, error) {
	l := newLoader(filename)
	root := l.parseYAML(data)
	if root == nil {
		return nil, sortErrors(l.errs)
	}
	d := &Declaration{File: filename}
	l.pos[""] = nodePos(root)
	l.decode(root, declarationSpec, reflect.ValueOf(d).Elem(), "")
	if !l.failed[""] {
		l.validate(d)
	}
	if len(l.errs) > 0 {
		return nil, sortErrors(l.errs)
	}
	d.positions = l.pos
	d.Warnings = sortErrors(l.warnings)
	return d, nil
}

// parseYAML checks the bytes and parses the one YAML document they must
// hold, returning its root node, or nil after recording why not.
func (l *loader) parseYAML(data []byte) *yaml.Node {
	if p, msg := badText(data); msg != "" {
		l.errorAt(p, "", "%s", msg)
		return nil
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	switch err := decodeNode(dec, &doc); {
	case errors.Is(err, io.EOF):
		l.errorAt(Position{1, 1}, "", "the file is empty: write at least version, dialect and grants (oauthgen init writes a commented declaration)")
		return nil
	case err != nil:
		l.syntaxError(data, err)
		return nil
	}
	var next yaml.Node
	switch err := decodeNode(dec, &next); {
	case errors.Is(err, io.EOF):
	case err != nil:
		l.syntaxError(data, err)
		return nil
	default:
		l.errorAt(nodePos(&next), "", "a second YAML document; the declaration is one document (remove the --- separator)")
		return nil
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 {
		l.errorAt(nodePos(&doc), "", "unexpected YAML structure")
		return nil
	}
	root := doc.Content[0]
	if root.Kind == yaml.ScalarNode && root.ShortTag() == "!!null" {
		l.errorAt(nodePos(root), "", "the declaration is empty: write at least version, dialect and grants (oauthgen init writes a commented declaration)")
		return nil
	}
	return root
}

// decodeNode decodes the next document. The YAML library reports
// malformed input as errors, but a parser bug must not become a panic in
// `oauthgen generate`: it becomes an error instead.
func decodeNode(dec *yaml.Decoder, n *yaml.Node) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("yaml: cannot parse this file (%v)", r)
		}
	}()
	return dec.Decode(n)
}

// badText finds bytes YAML does not allow, with their position: invalid
// UTF-8 and control characters. The YAML library reports them without one.
func badText(data []byte) (Position, string) {
	line, col := 1, 1
	for i := 0; i < len(data); {
		r, size := utf8.DecodeRune(data[i:])
		switch {
		case r == utf8.RuneError && size <= 1:
			return Position{line, col}, fmt.Sprintf("invalid UTF-8 (byte 0x%02x); save the file as UTF-8", data[i])
		case r == '\n':
			line, col = line+1, 0
		case r == '\t' || r == '\r' || r == 0x85 || r == 0xFEFF:
		case r < 0x20 || r == 0x7F || (r >= 0x80 && r < 0xA0) || r == 0xFFFE || r == 0xFFFF || (r >= 0xD800 && r <= 0xDFFF):
			return Position{line, col}, fmt.Sprintf("control character %U is not allowed in YAML", r)
		}
		i += size
		col++
	}
	return Position{}, ""
}

// parserProblems are the messages of the YAML parser (not its scanner),
// whose "line N" is 0-based: the library adds 1 only for scanner errors.
var parserProblems = map[string]bool{
	"did not find expected ',' or ']'":       true,
	"did not find expected ',' or '}'":       true,
	"did not find expected '-' indicator":    true,
	"did not find expected <document start>": true,
	"did not find expected <stream-start>":   true,
	"did not find expected key":              true,
	"did not find expected node content":     true,
	"found duplicate %TAG directive":         true,
	"found duplicate %YAML directive":        true,
	"found incompatible YAML document":       true,
	"found undefined tag handle":             true,
}

var (
	yamlLine   = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)
	yamlAnchor = regexp.MustCompile(`anchor '([^']*)'`)
)

// syntaxError records a YAML parse error at the best position its message
// allows: the line it names, at the line's first non-blank column.
func (l *loader) syntaxError(data []byte, err error) {
	msg := err.Error()
	line := 1
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		line, _ = strconv.Atoi(m[1])
		msg = m[2]
		if parserProblems[msg] {
			line++
		}
	} else {
		msg = strings.TrimPrefix(msg, "yaml: ")
		// "unknown anchor 'b' referenced": point at the alias.
		if m := yamlAnchor.FindStringSubmatch(msg); m != nil {
			if i := bytes.Index(data, []byte("*"+m[1])); i >= 0 {
				line = 1 + bytes.Count(data[:i], []byte("\n"))
			}
		}
	}
	lines := bytes.Split(data, []byte("\n"))
	line = max(1, min(line, len(lines)))
	col := 1
	text := lines[line-1]
	if bytes.HasPrefix(bytes.TrimLeft(text, " "), []byte("\t")) {
		msg += " (indent with spaces: YAML does not allow tabs)"
	} else if len(bytes.TrimSpace(text)) > 0 {
		col = 1 + utf8.RuneCount(text[:len(text)-len(bytes.TrimLeft(text, " \t"))])
	}
	l.errorAt(Position{line, col}, "", "YAML syntax: %s", msg)
}
