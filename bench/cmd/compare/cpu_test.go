package main

import (
	"fmt"
	"testing"
	"testing/fstest"
	"time"
)

func TestParseProcessCPU(t *testing.T) {
	// utime 1234 and stime 56 ticks; a command name with a space and a ')'.
	stat := "4242 (quick) start) S 1 4242 4242 0 -1 4194560 1000 0 0 0 1234 56 0 0 20 0 8 0 100 0 0"
	got, err := parseProcessCPU([]byte(stat))
	if err != nil {
		t.Fatal(err)
	}
	if want := 1290 * 10 * time.Millisecond; got != want {
		t.Errorf("CPU %v, want %v", got, want)
	}
	if _, err := parseProcessCPU([]byte("4242 (x) S 1")); err == nil {
		t.Error("short stat accepted")
	}
}

func TestPostgresCPU(t *testing.T) {
	stat := func(name string, utime, stime int) *fstest.MapFile {
		return &fstest.MapFile{Data: []byte(fmt.Sprintf("7 (%s) S 1 7 7 0 -1 4194560 0 0 0 0 %d %d 0 0 20 0 1 0 100 0 0", name, utime, stime))}
	}
	proc := fstest.MapFS{
		"10/stat":   stat("postgres", 100, 20), // a backend
		"11/stat":   stat("postgres", 5, 5),    // a background worker
		"12/stat":   stat("quickstart", 900, 100),
		"16/stat":   stat("postgres", 700, 0), // the postgres example's binary: the server measured
		"13/stat":   stat("pg_ctl", 1, 1),
		"self/stat": stat("postgres", 1000, 0), // not a process directory
		"14/status": {Data: []byte("no stat")},
		"cpuinfo":   {Data: []byte("x")},
		"15/stat":   {Data: []byte("15 (postgres) S 1")}, // exited half-way: unreadable
	}
	if got, want := postgresCPUIn(proc, 16), 130*10*time.Millisecond; got != want {
		t.Errorf("PostgreSQL CPU %v, want %v (processes named postgres but the server)", got, want)
	}
}

func TestPostgresCPUCountsReapedChildren(t *testing.T) {
	// The postmaster (10) reaped backends that used 300 + 40 ticks.
	proc := fstest.MapFS{
		"10/stat": {Data: []byte("10 (postgres) S 1 10 10 0 -1 4194560 0 0 0 0 50 10 300 40 20 0 1 0 100 0 0")},
		"11/stat": {Data: []byte("11 (postgres) S 10 10 10 0 -1 4194560 0 0 0 0 7 3 0 0 20 0 1 0 100 0 0")},
	}
	if got, want := postgresCPUIn(proc, 0), 410*10*time.Millisecond; got != want {
		t.Errorf("PostgreSQL CPU %v, want %v (live processes and the children the postmaster reaped)", got, want)
	}
}

func TestParseMachineCPU(t *testing.T) {
	stat := "cpu  100 5 50 1000 30 2 3 10 7 0\ncpu0 50 2 25 500 15 1 1 5 3 0\nintr 1 2\n"
	busy, total, err := parseMachineCPU([]byte(stat))
	if err != nil {
		t.Fatal(err)
	}
	if busy != 170 || total != 1200 {
		t.Errorf("busy %d of %d, want 170 of 1200 (idle and iowait are not busy; guest is in user)", busy, total)
	}
	if _, _, err := parseMachineCPU([]byte("intr 1 2\n")); err == nil {
		t.Error("a stat without its cpu line accepted")
	}
}
