package golden_test

import (
	"errors"
	"flag"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/oauthgen/oauthgen/generator"
)

var update = flag.Bool("update", false, "rewrite the golden outputs from a fresh generation")

// modulePath is the import path of this folder.
const modulePath = "github.com/oauthgen/oauthgen/golden"

// Files of a case folder that are input, not output.
const (
	declFile   = "oauthgen.yaml"
	stderrFile = "stderr.txt"
	// seedDir holds files copied into the output folder before the step
	// generates: the lock and migrations an older oauthgen wrote.
	seedDir = "seed"
)

// goldenCase is a folder of golden/: one declaration beside its output,
// a sequence of steps (steps/01, steps/02, …), or an invalid declaration
// beside the error it gets (invalid/<name>).
type goldenCase struct {
	name  string
	dir   string
	steps []string // step folders, in order; empty for a one-step case
}

// findCases walks golden/ for cases.
func findCases(t *testing.T) []goldenCase {
	t.Helper()
	var cases []goldenCase
	entries, err := os.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if !e.IsDir() || e.Name() == "storetest" {
			continue
		}
		if e.Name() == "invalid" {
			invalid, err := os.ReadDir("invalid")
			if err != nil {
				t.Fatal(err)
			}
			for _, i := range invalid {
				if i.IsDir() {
					cases = append(cases, goldenCase{name: "invalid/" + i.Name(), dir: filepath.Join("invalid", i.Name())})
				}
			}
			continue
		}
		c := goldenCase{name: e.Name(), dir: e.Name()}
		if steps, err := os.ReadDir(filepath.Join(e.Name(), "steps")); err == nil {
			for _, s := range steps {
				if s.IsDir() {
					c.steps = append(c.steps, filepath.Join(e.Name(), "steps", s.Name()))
				}
			}
		} else if _, err := os.Stat(filepath.Join(e.Name(), declFile)); err != nil {
			t.Fatalf("%s: neither %s nor steps/: not a golden case", e.Name(), declFile)
		}
		cases = append(cases, c)
	}
	if len(cases) == 0 {
		t.Fatal("no golden cases")
	}
	return cases
}

// TestGolden generates every case from scratch and compares the whole
// output tree with the folder's, or the error with stderr.txt. Run
// `go test ./golden -update` to rewrite them after a change to oauthgen.
func TestGolden(t *testing.T) {
	for _, c := range findCases(t) {
		t.Run(c.name, func(t *testing.T) {
			if len(c.steps) == 0 {
				runSteps(t, []string{c.dir})
				return
			}
			runSteps(t, c.steps)
		})
	}
}

// runSteps generates each step's declaration in turn in one scratch
// folder, as a user editing oauthgen.yaml and running generate would, and
// compares the folder after each step with the step's.
func runSteps(t *testing.T, steps []string) {
	root, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	work := t.TempDir()
	for _, step := range steps {
		stepDir := filepath.Join(root, step)
		decl, err := os.ReadFile(filepath.Join(stepDir, declFile))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(work, declFile), decl, 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(filepath.Join(stepDir, seedDir)); err == nil {
			writeTree(t, work, readTree(t, filepath.Join(stepDir, seedDir)))
		}
		t.Chdir(work) // errors name the declaration as a user running generate sees it
		importPath := path.Join(modulePath, filepath.ToSlash(step))
		out, err := generator.Generate(declFile, generator.Options{ImportPath: importPath})
		if err != nil {
			t.Chdir(root)
			checkStderr(t, stepDir, err)
			return // a refused step ends its sequence
		}
		again, err := generator.Generate(declFile, generator.Options{ImportPath: importPath})
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(out.Files, again.Files); diff != "" {
			t.Fatalf("%s: generating twice differs (-first +second):\n%s", step, diff)
		}
		if err := out.Write(); err != nil {
			t.Fatal(err)
		}
		t.Chdir(root)
		if _, err := os.Stat(filepath.Join(stepDir, stderrFile)); err == nil {
			t.Fatalf("%s: want the error in %s, got none", step, stderrFile)
		}
		got := readTree(t, work)
		if *update {
			writeTree(t, stepDir, got)
		} else if diff := cmp.Diff(readTree(t, stepDir), got); diff != "" {
			t.Errorf("%s: output differs (-want +got); if the change is intended, run go test ./golden -update:\n%s", step, diff)
		}
		// Idempotence: generating over its own output changes nothing.
		over, err := generator.Generate(filepath.Join(work, declFile), generator.Options{ImportPath: importPath})
		if err != nil {
			t.Fatal(err)
		}
		if over.Migration != "" {
			t.Errorf("%s: regenerating over the output added migration %s", step, over.Migration)
		}
		if diff, err := over.Check(); err != nil || diff != "" {
			t.Errorf("%s: regenerating over the output changes it (err %v):\n%s", step, err, diff)
		}
	}
}

// checkStderr compares a generation error with the step's stderr.txt.
func checkStderr(t *testing.T, stepDir string, err error) {
	t.Helper()
	got := err.Error() + "\n"
	wantPath := filepath.Join(stepDir, stderrFile)
	if *update {
		if werr := os.WriteFile(wantPath, []byte(got), 0o644); werr != nil {
			t.Fatal(werr)
		}
		return
	}
	want, rerr := os.ReadFile(wantPath)
	if errors.Is(rerr, fs.ErrNotExist) {
		t.Fatalf("%s: unexpected error:\n%s", stepDir, got)
	}
	if rerr != nil {
		t.Fatal(rerr)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("%s: error differs (-want +got):\n%s", stepDir, diff)
	}
}

// readTree reads a case folder's output: every file but its inputs.
func readTree(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			if rel == "steps" || rel == seedDir {
				return filepath.SkipDir
			}
			return nil
		}
		if rel == declFile || rel == stderrFile || strings.HasPrefix(path.Base(rel), ".") {
			return nil
		}
		b, err := os.ReadFile(p)
		out[rel] = string(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// writeTree makes dir's output exactly files (-update).
func writeTree(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name := range readTree(t, dir) {
		if _, ok := files[name]; !ok {
			if err := os.Remove(filepath.Join(dir, filepath.FromSlash(name))); err != nil {
				t.Fatal(err)
			}
		}
	}
	names := make([]string, 0, len(files))
	for name := range files {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(files[name]), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
