package load

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestRun counts good responses, bodies included, over keep-alive
// connections, and counts a wrong status as a failure.
func TestRun(t *testing.T) {
	var served, conns atomic.Int64
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		served.Add(1)
		if r.Header.Get("Authorization") != "Bearer t" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		if r.Method == http.MethodPost {
			if b, _ := io.ReadAll(r.Body); string(b) != "a=b" {
				w.WriteHeader(http.StatusBadRequest)
				return
			}
		}
		w.Write([]byte(strings.Repeat("x", 100)))
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	defer srv.Close()
	addr := strings.TrimPrefix(srv.URL, "http://")

	r := Run(context.Background(), Config{
		Addr: addr, Request: Request("POST", addr, "/x", "a=b", "Authorization: Bearer t"),
		Status: 200, Conns: 3, Duration: 200 * time.Millisecond, Warmup: 50 * time.Millisecond,
	})
	if r.OK < 10 || r.Failed != 0 || r.FirstErr != nil {
		t.Fatalf("good requests: %+v", r)
	}
	if r.P50 <= 0 || r.P99 < r.P50 || r.PerSecond() <= 0 {
		t.Errorf("latencies: %+v", r)
	}
	if int64(r.OK) > served.Load() {
		t.Errorf("counted %d responses, server served %d", r.OK, served.Load())
	}
	// Keep-alive: one connection per worker and phase (warmup, measure).
	if n := conns.Load(); n > 6 {
		t.Errorf("%d connections for 3 workers in 2 phases: keep-alive broken", n)
	}

	r = Run(context.Background(), Config{
		Addr: addr, Request: Request("GET", addr, "/x", "", "Authorization: Bearer bad"),
		Status: 200, Conns: 2, Duration: 100 * time.Millisecond,
	})
	if r.OK != 0 || r.Failed == 0 || r.FirstErr == nil || !strings.Contains(r.FirstErr.Error(), "status 401") {
		t.Fatalf("refused requests: %+v", r)
	}
}

// TestRunSlowServer ends a phase on time though the server has not
// answered: the fosite subject at bcrypt's default cost is that slow.
func TestRunSlowServer(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-release }))
	defer srv.Close()
	defer close(release)
	addr := strings.TrimPrefix(srv.URL, "http://")
	start := time.Now()
	r := Run(context.Background(), Config{Addr: addr, Request: Request("GET", addr, "/", ""), Status: 200, Conns: 2, Duration: 100 * time.Millisecond})
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("phase of 100ms took %v", d)
	}
	if r.OK != 0 || r.Failed != 0 {
		t.Errorf("unanswered requests counted: %+v", r)
	}
}

// TestMerge adds the counts and times of slices of a phase and takes the
// percentiles over all their latencies, not of their percentiles.
func TestMerge(t *testing.T) {
	ms := time.Millisecond
	var a, b Result
	a.setLatencies(slices.Repeat([]time.Duration{1 * ms}, 50))
	a.Elapsed, a.Failed = time.Second, 1
	b.setLatencies(append(slices.Repeat([]time.Duration{9 * ms}, 49), 50*ms))
	b.Elapsed, b.Failed, b.FirstErr = 3*time.Second, 2, io.EOF
	m := Merge(a, b)
	if m.OK != 100 || m.Failed != 3 || m.Elapsed != 4*time.Second || m.FirstErr != io.EOF {
		t.Errorf("counts: %+v", m)
	}
	if m.PerSecond() != 25 {
		t.Errorf("PerSecond = %v, want 25", m.PerSecond())
	}
	// Sorted together: 50 × 1 ms, 49 × 9 ms, 50 ms.
	if m.P50 != 9*ms || m.P99 != 50*ms {
		t.Errorf("P50, P99 = %v, %v; want 9ms, 50ms", m.P50, m.P99)
	}
	if one := Merge(b); one.OK != b.OK || one.P50 != b.P50 || one.P99 != b.P99 {
		t.Errorf("Merge of one result: %+v, want %+v", one, b)
	}
}
