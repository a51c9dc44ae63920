package main

import (
	"os"
	"path/filepath"
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
