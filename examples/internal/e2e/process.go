// Package e2e drives an example server's real binary as its users would:
// the CLI, the lines `serve` prints, then every endpoint with
// golang.org/x/oauth2 as the client and the HTML pages through their
// forms. Both examples' tests run it.
package e2e

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Build compiles the example package pkg (such as ".") into a temporary
// folder and returns the binary.
func Build(t *testing.T, pkg string) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "server")
	out, err := exec.Command("go", "build", "-o", bin, pkg).CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// Run runs the binary with args, fails the test unless it succeeds, and
// returns its standard output.
func Run(t *testing.T, bin string, args ...string) string {
	t.Helper()
	out, code := RunStatus(t, bin, args...)
	if code != 0 {
		t.Fatalf("%s %s: exit status %d\n%s", filepath.Base(bin), strings.Join(args, " "), code, out)
	}
	return out
}

// RunStatus runs the binary with args and returns what it printed (both
// streams) and its exit status.
func RunStatus(t *testing.T, bin string, args ...string) (string, int) {
	t.Helper()
	out, err := exec.Command(bin, args...).CombinedOutput()
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		return string(out), exit.ExitCode()
	case err != nil:
		t.Fatal(err)
	}
	return string(out), 0
}

// Server is a running `serve`.
type Server struct {
	// URL is the address it listens on, http://127.0.0.1:PORT.
	URL string
	// Output is what it printed before it listened: the demo, on a new
	// database.
	Output string

	cmd    *exec.Cmd
	lines  chan string
	done   chan error
	stderr *syncBuffer
}

// Start starts `serve --addr 127.0.0.1:0` with args before serve (the
// database flags) and after it (--issuer); Ready waits until it listens.
// A port is picked by the server itself, so tests never race for one.
func Start(t *testing.T, bin string, before, after []string) *Server {
	t.Helper()
	args := append(append(append([]string{}, before...), "serve", "--addr", "127.0.0.1:0"), after...)
	cmd := exec.Command(bin, args...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{cmd: cmd, lines: make(chan string, 64), done: make(chan error, 1), stderr: &syncBuffer{}}
	cmd.Stderr = s.stderr
	if testing.Verbose() {
		cmd.Stderr = io.MultiWriter(s.stderr, os.Stderr)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			s.lines <- sc.Text()
		}
		close(s.lines)
		s.done <- cmd.Wait()
	}()
	t.Cleanup(func() { cmd.Process.Kill() }) // after Stop, a no-op
	return s
}

// Ready waits until the server prints "listening on URL", and keeps what
// it printed before in Output.
func (s *Server) Ready(t *testing.T) *Server {
	t.Helper()
	var out strings.Builder
	timeout := time.After(30 * time.Second)
	for s.URL == "" {
		select {
		case line, ok := <-s.lines:
			if !ok {
				t.Fatalf("serve exited before listening:\n%s%s", out.String(), s.stderr.String())
			}
			if rest, found := strings.CutPrefix(line, "listening on "); found {
				s.URL = strings.Fields(rest)[0]
				break
			}
			out.WriteString(line + "\n")
		case <-timeout:
			t.Fatalf("serve did not listen within 30s:\n%s%s", out.String(), s.stderr.String())
		}
	}
	go func() {
		for range s.lines { // keep draining, so the server never blocks on stdout
		}
	}()
	s.Output = out.String()
	return s
}

// Serve starts a server and waits until it listens.
func Serve(t *testing.T, bin string, before, after []string) *Server {
	t.Helper()
	return Start(t, bin, before, after).Ready(t)
}

// Stop sends SIGTERM and checks that the server shuts down cleanly and
// that no handler panicked meanwhile (net/http recovers handler panics
// and logs them, so only the log tells).
func (s *Server) Stop(t *testing.T) {
	t.Helper()
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-s.done:
		if err != nil {
			t.Errorf("serve after SIGTERM: %v, want a clean exit\n%s", err, s.stderr.String())
		}
	case <-time.After(15 * time.Second):
		t.Error("serve did not stop within 15s of SIGTERM")
	}
	log := s.stderr.String()
	if strings.Contains(log, "panic") {
		t.Errorf("serve's log shows a panic:\n%s", log)
	}
	if !strings.Contains(log, `msg="shutting down"`) {
		t.Errorf("serve's log does not show the graceful shutdown:\n%s", log)
	}
}

// Log returns what the server logged so far.
func (s *Server) Log() string { return s.stderr.String() }

// syncBuffer is a bytes.Buffer the process's output copier and the test
// may use at once.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
