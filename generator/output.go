package generator

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/aymanbagabas/go-udiff"
)

// paths returns the output's file paths, sorted.
func (o *Output) paths() []string {
	out := make([]string, 0, len(o.Files))
	for p := range o.Files {
		out = append(out, p)
	}
	slices.Sort(out)
	return out
}

// Write writes the output. Every file is written whole or not at all (a
// temporary file renamed over the old one); files whose content is
// unchanged are left alone, so their modification times stay.
func (o *Output) Write() error {
	for _, name := range o.paths() {
		path := filepath.Join(o.Dir, filepath.FromSlash(name))
		if old, err := os.ReadFile(path); err == nil && bytes.Equal(old, o.Files[name]) {
			continue
		}
		if err := writeAtomic(path, o.Files[name]); err != nil {
			return err
		}
	}
	for _, name := range o.Remove {
		if err := os.Remove(filepath.Join(o.Dir, filepath.FromSlash(name))); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	return nil
}

func writeAtomic(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, err = f.Write(data)
	if err == nil {
		err = f.Chmod(0o644)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
	}
	return err
}

// Check compares the output with what is on disk and returns a unified
// diff of every difference ("" when the output is up to date).
func (o *Output) Check() (string, error) {
	var b strings.Builder
	for _, name := range o.paths() {
		path := filepath.Join(o.Dir, filepath.FromSlash(name))
		old, err := os.ReadFile(path)
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return "", err
		}
		if bytes.Equal(old, o.Files[name]) && err == nil {
			continue
		}
		b.WriteString(udiff.Unified(filepath.ToSlash(path)+" (on disk)", filepath.ToSlash(path)+" (generated)", string(old), string(o.Files[name])))
	}
	for _, name := range o.Remove {
		path := filepath.Join(o.Dir, filepath.FromSlash(name))
		if old, err := os.ReadFile(path); err == nil {
			b.WriteString(udiff.Unified(filepath.ToSlash(path)+" (on disk)", "/dev/null", string(old), ""))
		}
	}
	return b.String(), nil
}

// Strays returns the files in the output folder that oauthgen did not
// write, slash-separated and relative to Dir, sorted: a hand-written file
// there is compiled into the generated package (or, under migrations/,
// embedded and run) and is lost when the folder is regenerated from
// scratch. It looks at the folders oauthgen writes into (Dir, migrations/,
// sqlcdb/), not at other subfolders, and ignores dot files (editors',
// version control's) and the declaration itself when out is ".".
func (o *Output) Strays() ([]string, error) {
	ours := map[string]bool{}
	dirs := map[string]bool{".": true}
	for name := range o.Files {
		ours[name] = true
		dirs[path.Dir(name)] = true
	}
	for _, name := range o.Remove {
		ours[name] = true // reported by Check as a file to delete
	}
	decl := ""
	if o.Declaration != "" {
		if abs, err := filepath.Abs(o.Declaration); err == nil {
			decl = abs
		}
	}
	var strays []string
	for dir := range dirs {
		entries, err := os.ReadDir(filepath.Join(o.Dir, filepath.FromSlash(dir)))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		for _, e := range entries {
			name := path.Join(dir, e.Name())
			if e.IsDir() || strings.HasPrefix(e.Name(), ".") || ours[name] {
				continue
			}
			if abs, err := filepath.Abs(filepath.Join(o.Dir, filepath.FromSlash(name))); err == nil && abs == decl {
				continue
			}
			strays = append(strays, name)
		}
	}
	slices.Sort(strays)
	return strays, nil
}
