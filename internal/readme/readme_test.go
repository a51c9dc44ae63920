// Package readme_test keeps the README's Go snippets compiling: each
// ```go block of README.md is the body of a function in this package,
// between "// README:begin" and "// README:end" lines, compiled against
// a golden Store, and TestSnippetsMatchREADME checks that the README
// blocks and those regions are the same text. Editing either alone fails
// go test ./...
package readme_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// snippetFiles hold the regions, one golden Store per file (each imports
// its Store as oauthstore).
var snippetFiles = []string{"sqlite_test.go", "postgres_test.go"}

var goBlock = regexp.MustCompile("(?ms)^```go\n(.*?)^```\n")

func TestSnippetsMatchREADME(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	var blocks []string
	for _, m := range goBlock.FindAllStringSubmatch(string(readme), -1) {
		blocks = append(blocks, m[1])
	}
	if len(blocks) == 0 {
		t.Fatal("no ```go blocks in README.md")
	}
	regions := map[string]string{} // text → where
	for _, name := range snippetFiles {
		src, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		for text, where := range readRegions(t, name, string(src)) {
			regions[text] = where
		}
	}
	for i, b := range blocks {
		if _, ok := regions[b]; !ok {
			t.Errorf("README.md's Go block %d is in no README:begin/end region of %v, so nothing compiles it; copy it there (one tab deeper):\n%s", i+1, snippetFiles, b)
			continue
		}
		delete(regions, b)
	}
	for text, where := range regions {
		t.Errorf("%s: region is not in README.md (edited on one side only?):\n%s", where, text)
	}
}

// readRegions returns the regions of a file, dedented by the one tab of a
// function body, keyed by where each starts.
func readRegions(t *testing.T, name, src string) map[string]string {
	t.Helper()
	out := map[string]string{}
	lines := strings.SplitAfter(src, "\n")
	for i := 0; i < len(lines); i++ {
		if strings.TrimSpace(lines[i]) != "// README:begin" {
			continue
		}
		start := i + 1
		var b strings.Builder
		for i++; i < len(lines) && strings.TrimSpace(lines[i]) != "// README:end"; i++ {
			line := lines[i]
			if strings.TrimSpace(line) == "" {
				line = "\n"
			} else if !strings.HasPrefix(line, "\t") {
				t.Fatalf("%s:%d: a region line outside a function body", name, i+1)
			} else {
				line = line[1:]
			}
			b.WriteString(line)
		}
		if i == len(lines) {
			t.Fatalf("%s:%d: README:begin without README:end", name, start)
		}
		out[b.String()] = name + ":" + strconv.Itoa(start)
	}
	if len(out) == 0 {
		t.Fatalf("%s: no README:begin/end regions", name)
	}
	return out
}
