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
	return buf.Bytes(), nil
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
