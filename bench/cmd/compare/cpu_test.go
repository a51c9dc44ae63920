package main

import (
	"testing"
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
