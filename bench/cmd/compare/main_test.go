package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseVmHWM(t *testing.T) {
	got, err := parseVmHWM([]byte("Name:\tquickstart\nVmPeak:\t 1250000 kB\nVmHWM:\t   51234 kB\nVmRSS:\t   40000 kB\n"))
	if err != nil || got != 51234<<10 {
		t.Errorf("parseVmHWM = %d, %v; want %d", got, err, 51234<<10)
	}
	if _, err := parseVmHWM([]byte("Name:\tx\n")); err == nil {
		t.Error("no VmHWM line: no error")
	}
}

// TestSubjectsBuildable checks that every subject has its main package
// (servers/…, or examples/…), and that every ratio names known subjects.
func TestSubjectsBuildable(t *testing.T) {
	known := map[string]bool{}
	for _, s := range subjects {
		known[s.name] = true
		dir := filepath.Join("..", "..", serverPackage(s.name))
		if serverPackage(s.name) == "" {
			dir = filepath.Join("..", "..", "..", "examples", s.name)
		}
		if _, err := os.Stat(filepath.Join(dir, "main.go")); err != nil {
			t.Errorf("subject %s: %v", s.name, err)
		}
	}
	for _, r := range ratios {
		if !known[r.of] || !known[r.floor] {
			t.Errorf("ratio %s / %s names an unknown subject", r.of, r.floor)
		}
	}
}

// TestRunningThreads sees this process's own thread running as it asks.
func TestRunningThreads(t *testing.T) {
	n, err := runningThreads(os.Getpid())
	if err != nil || n < 1 {
		t.Errorf("runningThreads(self) = %d, %v; want at least 1", n, err)
	}
	if _, err := runningThreads(-1); err == nil {
		t.Error("no error for a process that does not exist")
	}
}

// TestGroups pairs each oauthgen subject with its floor, in the order
// selected, whichever comes first, and leaves every other subject alone.
func TestGroups(t *testing.T) {
	pick := func(ns ...string) []subject {
		var out []subject
		for _, n := range ns {
			out = append(out, subject{name: n})
		}
		return out
	}
	for _, tc := range []struct {
		selected []string
		want     string
	}{
		{[]string{"quickstart", "postgres", "go-oauth2", "floor-sqlite", "floor-pgx"}, "[quickstart floor-sqlite] [postgres floor-pgx] [go-oauth2]"},
		{[]string{"floor-sqlite", "go-oauth2", "quickstart"}, "[floor-sqlite quickstart] [go-oauth2]"},
		{[]string{"quickstart", "floor-pgx"}, "[quickstart] [floor-pgx]"},
	} {
		var got []string
		for _, g := range groups(pick(tc.selected...)) {
			got = append(got, "["+names(g)+"]")
		}
		if s := strings.ReplaceAll(strings.Join(got, " "), " and ", " "); s != tc.want {
			t.Errorf("groups(%v) = %s, want %s", tc.selected, s, tc.want)
		}
	}
}
