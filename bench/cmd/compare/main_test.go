package main

import (
	"os"
	"path/filepath"
	"testing"
	"time"
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

// TestCPUTicks reads this process's CPU time, which grows as it works.
func TestCPUTicks(t *testing.T) {
	before, err := cpuTicks(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	for start := time.Now(); time.Since(start) < 5*time.Second; {
		now, err := cpuTicks(os.Getpid())
		if err != nil {
			t.Fatal(err)
		}
		if now > before {
			return
		}
	}
	t.Errorf("CPU ticks still %d after 5 s of work", before)
}
