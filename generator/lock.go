package generator

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/oauthgen/oauthgen/schema"
)

// LockFile is the lock's name inside the output folder.
const LockFile = "oauthgen.lock"

// lockVersion is the lock format's version.
const lockVersion = 1

// Lock is oauthgen.lock: what the emitted migrations produce, and what
// produced them. The next run diffs against it to write only the new
// migration. It is indented JSON with a fixed key order: deterministic,
// and readable in a pull request.
type Lock struct {
	Version int            `json:"version"`
	Dialect schema.Dialect `json:"dialect"`
	// Grants enabled when the lock was written.
	Grants []string `json:"grants"`
	// Migrations emitted so far, oldest first, with their SHA-256: they
	// are never rewritten, and an edited one is an error.
	Migrations []LockedFile `json:"migrations"`
	// Files generated besides migrations, so a later run can remove the
	// ones it no longer generates.
	Files []string `json:"files"`
	// Schema is the database schema after every migration above.
	Schema *SchemaState `json:"schema"`
	// Declaration is the declaration the lock was written from, defaults applied.
	Declaration *schema.Declaration `json:"declaration"`
}

// LockedFile is an emitted migration.
type LockedFile struct {
	Name   string `json:"name"`
	SHA256 string `json:"sha256"`
}

func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// encode renders the lock.
func (l *Lock) encode() ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(l); err != nil {
		return nil, err
	}
	out := buf.Bytes()
	for { // inner containers first: an index's columns, then the index
		next := compactLeaves(out)
		if bytes.Equal(next, out) {
			return out, nil
		}
		out = next
	}
}

// compactLeaves puts each object or array holding only scalars on one
// line when it fits, so a column or an index reads as one line of the
// lock: {"name": "id", "type": "key", "sql_type": "TEXT"}.
func compactLeaves(indented []byte) []byte {
	lines := strings.Split(string(indented), "\n")
	var out []string
	for i := 0; i < len(lines); i++ {
		line := lines[i]
		if !strings.HasSuffix(line, "{") && !strings.HasSuffix(line, "[") {
			out = append(out, line)
			continue
		}
		closing := map[byte]string{'{': "}", '[': "]"}[line[len(line)-1]]
		indent := line[:len(line)-len(strings.TrimLeft(line, " "))]
		j, parts := i+1, []string{}
		for ; j < len(lines); j++ {
			inner := strings.TrimSpace(lines[j])
			if strings.HasPrefix(lines[j], indent+closing) && len(lines[j]) > len(indent) && !strings.HasPrefix(lines[j], indent+" ") {
				break
			}
			if strings.HasSuffix(inner, "{") || strings.HasSuffix(inner, "[") || strings.HasPrefix(inner, "{") {
				parts = nil // not a leaf; a list of objects keeps one per line
				break
			}
			parts = append(parts, inner)
		}
		if parts == nil || j == len(lines) {
			out = append(out, line)
			continue
		}
		one := line + strings.Join(parts, " ") + strings.TrimLeft(lines[j], " ")
		if len(one) > 160 {
			out = append(out, line)
			continue
		}
		out = append(out, one)
		i = j
	}
	return []byte(strings.Join(out, "\n"))
}

// readLock reads the lock of an output folder and the migrations it lists,
// verifying they are unchanged. No lock and no migrations is a first run
// (nil, nil).
func readLock(outDir string) (*Lock, map[string][]byte, error) {
	data, err := os.ReadFile(filepath.Join(outDir, LockFile))
	if errors.Is(err, fs.ErrNotExist) {
		if names, _ := filepath.Glob(filepath.Join(outDir, "migrations", "*.sql")); len(names) > 0 {
			return nil, nil, fmt.Errorf("%s: migrations exist but %s does not; restore it from version control (oauthgen needs it to know what the migrations did)",
				filepath.Join(outDir, "migrations"), filepath.Join(outDir, LockFile))
		}
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, err
	}
	var l Lock
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&l); err != nil {
		return nil, nil, fmt.Errorf("%s: %v", filepath.Join(outDir, LockFile), err)
	}
	if l.Version != lockVersion {
		return nil, nil, fmt.Errorf("%s: lock version %d, this oauthgen reads version %d", filepath.Join(outDir, LockFile), l.Version, lockVersion)
	}
	migrations := map[string][]byte{}
	var problems []string
	for _, m := range l.Migrations {
		path := filepath.Join(outDir, "migrations", m.Name)
		b, err := os.ReadFile(path)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			problems = append(problems, fmt.Sprintf("%s: missing; migrations are never rewritten: restore it from version control", path))
		case err != nil:
			return nil, nil, err
		case sha256Hex(b) != m.SHA256:
			problems = append(problems, fmt.Sprintf("%s: edited after it was generated; migrations already applied somewhere must not change: restore it from version control", path))
		default:
			migrations[m.Name] = b
		}
	}
	names, _ := filepath.Glob(filepath.Join(outDir, "migrations", "*.sql"))
	for _, n := range names {
		if _, ok := migrations[filepath.Base(n)]; !ok && !slices.ContainsFunc(l.Migrations, func(m LockedFile) bool { return m.Name == filepath.Base(n) }) {
			problems = append(problems, fmt.Sprintf("%s: not written by oauthgen; put your own migrations in another folder", n))
		}
	}
	if len(problems) > 0 {
		return nil, nil, errors.New(strings.Join(problems, "\n"))
	}
	return &l, migrations, nil
}
