package main

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"
)

// recordingWriter keeps what is written to it. Each write takes a while
// first, as a file's or a pipe's may, and the writes fail says fail.
type recordingWriter struct {
	mu     sync.Mutex
	buf    bytes.Buffer
	writes int
	fail   func(write int) bool
}

func (w *recordingWriter) Write(p []byte) (int, error) {
	time.Sleep(time.Duration(rand.IntN(200)) * time.Microsecond)
	w.mu.Lock()
	defer w.mu.Unlock()
	w.writes++
	if w.fail != nil && w.fail(w.writes) {
		return 0, errors.New("disk full")
	}
	return w.buf.Write(p)
}

func (w *recordingWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

// TestBufferedLogKeepsEveryLineInOrder: lines logged by many goroutines,
// while flushes run from the tick, from full buffers and from the loggers
// themselves, all come out whole, once, each goroutine's in its order.
func TestBufferedLogKeepsEveryLineInOrder(t *testing.T) {
	const goroutines, lines = 8, 2000
	w := &recordingWriter{}
	b := newBufferedLog(w)
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range lines {
				fmt.Fprintf(b, "%d %d %s\n", g, i, strings.Repeat("x", 1+rand.IntN(100)))
				if i%100 == 0 {
					b.flush()
				}
			}
		}()
	}
	wg.Wait()
	b.Close()

	next := make([]int, goroutines)
	for _, line := range strings.Split(strings.TrimSuffix(w.String(), "\n"), "\n") {
		var g, i int
		var pad string
		if _, err := fmt.Sscanf(line, "%d %d %s", &g, &i, &pad); err != nil || strings.Trim(pad, "x") != "" {
			t.Fatalf("line %q is not one of the lines logged (%v)", line, err)
		}
		if g < 0 || g >= goroutines || i != next[g] {
			t.Fatalf("line %q: want goroutine %d's line %d first", line, g, next[g])
		}
		next[g]++
	}
	for g, n := range next {
		if n != lines {
			t.Errorf("goroutine %d: %d of its %d lines written", g, n, lines)
		}
	}
}

// TestBufferedLogGoesOnAfterAFailedWrite: a failed write loses its lines
// only; later lines are written.
func TestBufferedLogGoesOnAfterAFailedWrite(t *testing.T) {
	w := &recordingWriter{fail: func(write int) bool { return write == 1 }}
	b := newBufferedLog(w)
	b.Write([]byte("lost\n"))
	b.flush()
	b.Write([]byte("kept\n"))
	b.Close()
	if got := w.String(); got != "kept\n" {
		t.Errorf("written %q, want %q", got, "kept\n")
	}
}

// blockingWriter holds every write until release is closed, telling
// entered of the first.
type blockingWriter struct {
	recordingWriter
	entered chan struct{} // of capacity 1
	release chan struct{}
}

func (w *blockingWriter) Write(p []byte) (int, error) {
	select {
	case w.entered <- struct{}{}:
	default:
	}
	<-w.release
	return w.recordingWriter.Write(p)
}

// TestBufferedLogLinesWaitForNoWrite: a line is logged while a flush's
// write is stuck (a slow disk, a full pipe), and comes out after it.
func TestBufferedLogLinesWaitForNoWrite(t *testing.T) {
	w := &blockingWriter{entered: make(chan struct{}, 1), release: make(chan struct{})}
	b := newBufferedLog(w)
	b.Write([]byte("first\n"))
	go b.flush()
	<-w.entered

	logged := make(chan struct{})
	go func() {
		b.Write([]byte("second\n"))
		close(logged)
	}()
	select {
	case <-logged:
	case <-time.After(10 * time.Second):
		t.Error("logging a line waited for a write in progress")
	}
	close(w.release)
	<-logged
	b.Close()
	if got, want := w.String(), "first\nsecond\n"; got != want {
		t.Errorf("written %q, want %q", got, want)
	}
}
