// Package load drives an HTTP/1.1 server with one request, repeated over a
// fixed number of keep-alive connections for a fixed time, as wrk does.
//
// It speaks HTTP/1.1 over raw TCP rather than through net/http's client:
// the request is serialized once, and each response is read by its status
// line and Content-Length only. The load generator shares the CPU with the
// server it measures; net/http's client would take several times more of
// it per request (header maps, goroutines per connection, allocations) and
// leave less to the server.
package load

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"strconv"
	"sync"
	"time"
)

// Config is one phase of load.
type Config struct {
	Addr     string        // host:port
	Request  []byte        // one complete serialized HTTP/1.1 request
	Status   int           // the status every response must have
	Conns    int           // concurrent keep-alive connections
	Duration time.Duration // how long to measure
	Warmup   time.Duration // load before measuring, not counted
}

// Result is what one phase measured.
type Result struct {
	OK       int           // responses with Config.Status
	Failed   int           // other statuses, connection and protocol errors
	FirstErr error         // the first failure, to say what went wrong
	Elapsed  time.Duration // the measured time
	P50, P99 time.Duration // latency of the responses counted in OK

	latencies []time.Duration // of the responses counted in OK: for Merge
}

// PerSecond is the rate of good responses.
func (r Result) PerSecond() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.OK) / r.Elapsed.Seconds()
}

// Request serializes an HTTP/1.1 request with the given headers (each
// "Name: value") and body; Host and, with a body, Content-Length are added.
func Request(method, addr, path string, body string, headers ...string) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s %s HTTP/1.1\r\nHost: %s\r\n", method, path, addr)
	for _, h := range headers {
		b.WriteString(h + "\r\n")
	}
	if body != "" {
		fmt.Fprintf(&b, "Content-Length: %d\r\n", len(body))
	}
	b.WriteString("\r\n" + body)
	return b.Bytes()
}

// Run applies the load of cfg and measures it.
func Run(ctx context.Context, cfg Config) Result {
	if cfg.Warmup > 0 {
		phase(ctx, cfg, cfg.Warmup)
	}
	return phase(ctx, cfg, cfg.Duration)
}

// worker is one connection's tally; latencies of good responses only.
type worker struct {
	latencies []time.Duration
	failed    int
	firstErr  error
}

func phase(ctx context.Context, cfg Config, d time.Duration) Result {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	workers := make([]worker, cfg.Conns)
	var wg sync.WaitGroup
	start := time.Now()
	for i := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			workers[i].run(ctx, cfg)
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	tallies := make([]Result, len(workers))
	for i, w := range workers {
		tallies[i] = Result{Failed: w.failed, FirstErr: w.firstErr, latencies: w.latencies}
	}
	r := Merge(tallies...) // the connections, taken as one
	r.Elapsed = elapsed
	return r
}

// setLatencies sets OK and the percentiles from sorted latencies.
func (r *Result) setLatencies(sorted []time.Duration) {
	r.latencies = sorted
	r.OK = len(sorted)
	r.P50, r.P99 = 0, 0
	if len(sorted) > 0 {
		r.P50 = sorted[len(sorted)*50/100]
		r.P99 = sorted[min(len(sorted)*99/100, len(sorted)-1)]
	}
}

// Merge is the result of the phases rs taken as one: their counts and
// measured times added, their latencies' percentiles taken over all of
// them, the first failure the first of rs that had one.
func Merge(rs ...Result) Result {
	var m Result
	var all []time.Duration
	for _, r := range rs {
		all = append(all, r.latencies...)
		m.Failed += r.Failed
		m.Elapsed += r.Elapsed
		if m.FirstErr == nil {
			m.FirstErr = r.FirstErr
		}
	}
	slices.Sort(all)
	m.setLatencies(all)
	return m
}

// run sends the request over one connection until ctx ends, reconnecting
// after errors and when the server closes the connection.
func (w *worker) run(ctx context.Context, cfg Config) {
	w.latencies = make([]time.Duration, 0, 1<<14)
	var c net.Conn
	var br *bufio.Reader
	defer func() {
		if c != nil {
			c.Close()
		}
	}()
	// A past deadline set when ctx ends interrupts a request waiting for a
	// slow server (fosite at bcrypt's default cost).
	stop := func() bool { return false }
	defer func() { stop() }()
	for ctx.Err() == nil {
		if c == nil {
			var err error
			c, err = (&net.Dialer{}).DialContext(ctx, "tcp", cfg.Addr)
			if err != nil {
				if ctx.Err() == nil {
					w.fail(err)
					time.Sleep(10 * time.Millisecond)
				}
				continue
			}
			br = bufio.NewReaderSize(c, 16<<10)
			conn := c
			stop()
			stop = context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
		}
		t0 := time.Now()
		status, keep, err := roundTrip(c, br, cfg.Request)
		elapsed := time.Since(t0)
		switch {
		case err != nil:
			if ctx.Err() == nil { // not the deadline we set ourselves
				w.fail(err)
			}
		case status != cfg.Status:
			w.fail(fmt.Errorf("status %d, want %d", status, cfg.Status))
		default:
			w.latencies = append(w.latencies, elapsed)
		}
		if err != nil || !keep {
			c.Close()
			c = nil
		}
	}
}

func (w *worker) fail(err error) {
	w.failed++
	if w.firstErr == nil {
		w.firstErr = err
	}
}

var errChunked = errors.New("chunked response: the load generator reads Content-Length bodies only")

// roundTrip writes req and reads one response: its status, whether the
// connection stays open, and its body discarded.
func roundTrip(c net.Conn, br *bufio.Reader, req []byte) (status int, keep bool, err error) {
	if _, err := c.Write(req); err != nil {
		return 0, false, err
	}
	line, err := br.ReadSlice('\n')
	if err != nil {
		return 0, false, err
	}
	// "HTTP/1.1 200 OK\r\n"
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.")) {
		return 0, false, fmt.Errorf("bad status line %q", line)
	}
	status, err = strconv.Atoi(string(line[9:12]))
	if err != nil {
		return 0, false, fmt.Errorf("bad status line %q", line)
	}
	keep = line[7] == '1'
	length := -1
	for {
		h, err := br.ReadSlice('\n')
		if err != nil {
			return 0, false, err
		}
		h = bytes.TrimRight(h, "\r\n")
		if len(h) == 0 {
			break
		}
		name, value, _ := bytes.Cut(h, []byte(":"))
		value = bytes.TrimSpace(value)
		switch {
		case bytes.EqualFold(name, []byte("Content-Length")):
			if length, err = strconv.Atoi(string(value)); err != nil {
				return 0, false, fmt.Errorf("bad Content-Length %q", value)
			}
		case bytes.EqualFold(name, []byte("Connection")) && bytes.EqualFold(value, []byte("close")):
			keep = false
		case bytes.EqualFold(name, []byte("Transfer-Encoding")):
			return 0, false, errChunked
		}
	}
	switch {
	case length > 0:
		if _, err := br.Discard(length); err != nil {
			return 0, false, err
		}
	case length < 0 && status != 204 && status != 304:
		// No length: the body runs to the end of the connection.
		if _, err := io.Copy(io.Discard, br); err != nil {
			return 0, false, err
		}
		keep = false
	}
	return status, keep, nil
}
