package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"regexp"
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

// TestRequestLineIsSlogs: logRequests' line is, byte for byte, what
// slog.NewTextHandler writes for the record it stands for, whatever the
// method, path, status, duration and time zone.
func TestRequestLineIsSlogs(t *testing.T) {
	strs := []string{
		"GET", "POST", "", "/", "/me", "/oauth/token", "/a b", "/a=b", `/a"b`, `/a\b`, "/a\tb",
		"/a\nb", "/\x00", "/\x1f", "/\x7f", "/é", "/日本", "/\xff", "/\xc3", "/\ufffd", "/\u00a0",
		"/\u2028", "/\u200b", "/\U0001F600", "/%zz", "/'", "/a,b", "/?", "/" + strings.Repeat("x", 300),
		"M ETHOD", "a=", "=", `"`, `\`,
	}
	statuses := []int{200, 204, 302, 400, 401, 404, 500, 0, -1, 999, 1 << 40}
	durations := []time.Duration{
		0, time.Nanosecond, 999, time.Microsecond, 1500 * time.Nanosecond, 999 * time.Microsecond,
		time.Millisecond, 1234567 * time.Nanosecond, time.Second, 1500 * time.Millisecond,
		2*time.Minute + 3*time.Second + 4*time.Microsecond, 100 * time.Hour, -time.Microsecond,
	}
	zones := []*time.Location{time.UTC, time.Local, time.FixedZone("", 5*3600+30*60), time.FixedZone("X", -8*3600)}
	times := []time.Time{
		time.Now(), time.Now().Round(0), time.Date(2026, 12, 2, 6, 30, 0, 0, time.UTC),
		time.Date(2026, 12, 2, 6, 30, 0, 999_999_999, time.UTC), time.Date(1999, 1, 2, 3, 4, 5, 60_000_000, time.UTC),
		time.Date(2026, 1, 1, 0, 0, 0, 1_000_000-1, time.UTC), time.Date(2026, 1, 1, 0, 0, 0, 100_000, time.UTC),
	}

	var want bytes.Buffer
	h := slog.NewTextHandler(&want, nil)
	check := func(end time.Time, method, path string, status int, d time.Duration) {
		t.Helper()
		want.Reset()
		record := slog.NewRecord(end, slog.LevelInfo, "request", 0)
		record.AddAttrs(slog.String("method", method), slog.String("path", path),
			slog.Int("status", status), slog.Duration("duration", d))
		if err := h.Handle(context.Background(), record); err != nil {
			t.Fatal(err)
		}
		if got := appendRequestLine(nil, end, method, path, status, d); string(got) != want.String() {
			t.Errorf("logRequests' line\n%q\nslog's\n%q", got, want.String())
		}
	}
	for i, s := range strs {
		check(times[i%len(times)].In(zones[i%len(zones)]), s, s, statuses[i%len(statuses)], durations[i%len(durations)])
		check(time.Now(), "GET", s, 200, time.Millisecond)
	}
	for i, status := range statuses {
		check(time.Now(), "POST", "/token", status, durations[i%len(durations)])
	}
	for i, d := range durations {
		check(time.Now(), "GET", "/me", statuses[i%len(statuses)], d)
		check(time.Now(), "GET", "/me", 200, d.Round(time.Microsecond))
	}
	for _, tm := range times {
		for _, zone := range zones {
			check(tm.In(zone), "GET", "/me", 200, time.Microsecond)
		}
	}
	for b := range 256 { // every byte, alone and in a path
		check(time.Now(), string(rune(b)), "/a"+string([]byte{byte(b)})+"b", 200, 0)
	}
	for r := rune(0x80); r < 0x3000; r++ {
		check(time.Now(), "GET", "/"+string(r), 200, 0)
	}
}

// TestLogRequestsFollowsTheLevel: a request is logged, as its line, when
// the logger logs at Info, and not at all when it logs only warnings.
func TestLogRequestsFollowsTheLevel(t *testing.T) {
	teapot := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusTeapot) })
	for _, level := range []slog.Level{slog.LevelInfo, slog.LevelWarn} {
		w := &recordingWriter{}
		b := newBufferedLog(w)
		logger := slog.New(slog.NewTextHandler(b, &slog.HandlerOptions{Level: level}))
		logRequests(logger, b, teapot).ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("PUT", "/a%20b?code=secret", nil))
		b.Close()
		got := w.String()
		line := regexp.MustCompile(`^time=\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}(Z|[+-]\d\d:\d\d) level=INFO msg=request method=PUT path="/a b" status=418 duration=[0-9.]+(µs|ms|s)\n$`)
		switch {
		case level == slog.LevelInfo && !line.MatchString(got):
			t.Errorf("logged at Info: %q, want one request line", got)
		case level == slog.LevelWarn && got != "":
			t.Errorf("logged at Warn: %q, want nothing", got)
		}
	}
}

// BenchmarkLogRequests is what logRequests adds to a request: a handler
// that does nothing, its line logged to a bufferedLog.
func BenchmarkLogRequests(b *testing.B) {
	out := newBufferedLog(io.Discard)
	defer out.Close()
	logger := slog.New(slog.NewTextHandler(out, nil))
	h := logRequests(logger, out, http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	r := httptest.NewRequest(http.MethodGet, "/me", nil)
	w := httptest.NewRecorder()
	b.ReportAllocs()
	for b.Loop() {
		h.ServeHTTP(w, r)
	}
}
