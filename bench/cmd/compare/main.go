// Command compare is the HTTP compare harness: it builds and starts, one
// after the other, the quickstart (SQLite file), the postgres example, the
// peers (go-oauth2, fosite) and the floor servers (servers/), each as its
// own process on a loopback port; drives each with the same load (a
// client_credentials token request at POST /token, then a bearer-protected
// GET /me) from the load generator in this process; and prints one table
// with every oauthgen figure as a ratio of each peer's and of its floor.
//
// From the repository's root:
//
//	bench/compare.sh                       # everything, about 3 minutes
//	bench/compare.sh -only quickstart,floor-sqlite -duration 10s
//	bench/compare.sh -only quickstart -profile /tmp/prof   # pprof profiles
//
// The load generator runs in this process and shares the machine's CPUs
// with the server: see -load-procs and -server-procs.
package main

import (
	"bytes"
	"cmp"
	"context"
	crand "crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/oauthgen/oauthgen/bench/internal/load"
)

// The one client every server knows: client_secret_basic, scope read.
const (
	clientID = "bench"
	secret   = "a-secret-of-forty-three-characters-long-xyz"
)

// defaultPostgres is the DSN used without OAUTHGEN_TEST_POSTGRES.
const defaultPostgres = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

var (
	duration    = flag.Duration("duration", 5*time.Second, "measured time of each phase")
	warmup      = flag.Duration("warmup", time.Second, "load before each phase's measurement, not counted")
	conns       = flag.Int("conns", 16, "concurrent keep-alive connections")
	loadProcs   = flag.Int("load-procs", 1, "GOMAXPROCS of the load generator (this process)")
	serverProcs = flag.Int("server-procs", 0, "GOMAXPROCS of each server; 0 leaves Go's default (the CPU count)")
	only        = flag.String("only", "", "comma-separated subjects to run (default: all)")
	profileDir  = flag.String("profile", "", "`DIR`: run the servers built with net/http/pprof and save CPU and allocation profiles of each phase there (SUBJECT.PHASE.cpu.pprof)")
	keep        = flag.Bool("keep", false, "keep the work directory (binaries, databases, server logs)")
	sliceCount  = flag.Int("slices", 5, "measure an oauthgen subject and its floor in this many slices of each phase, taking turns; both run all along")
	rounds      = flag.Int("rounds", 1, "measure every subject this many times, interleaved, and report each figure's median: the machine's speed drifts over minutes")
)

// subject is one server the harness measures.
type subject struct {
	name  string
	about string
	// start returns the command serving on addr; setup work (a client, a
	// schema) is done before it returns, cleanup after the server stops.
	start func(ctx context.Context, w *work, addr string) (cmd *exec.Cmd, cleanup func(), err error)
	pg    bool // needs PostgreSQL
}

// work is the run's shared state: where binaries and files go.
type work struct {
	root, bench, dir string // repository, bench module, work directory
	pgDSN            string // empty: PostgreSQL unreachable
}

func (w *work) bin(name string) string { return filepath.Join(w.dir, "bin", name) }

// subjects in the order they run and are shown.
var subjects = []subject{
	{name: "quickstart", about: "examples/quickstart: generated SQLite store, request logging on (to a file)",
		start: func(ctx context.Context, w *work, addr string) (*exec.Cmd, func(), error) {
			db := filepath.Join(w.dir, "quickstart.db")
			if err := createClient(ctx, w.bin("quickstart"), "--db", db); err != nil {
				return nil, nil, err
			}
			return exec.Command(w.bin("quickstart"), "--db", db, "serve", "--addr", addr), removeSQLite(db), nil
		}},
	{name: "postgres", pg: true, about: "examples/postgres: generated PostgreSQL store (pgx), request logging on (to a file)",
		start: func(ctx context.Context, w *work, addr string) (*exec.Cmd, func(), error) {
			dsn, drop, err := newSchema(ctx, w.pgDSN)
			if err != nil {
				return nil, nil, err
			}
			if err := createClient(ctx, w.bin("postgres"), "--db", dsn); err != nil {
				drop()
				return nil, nil, err
			}
			// It signs JWT access tokens, so it refuses to start without
			// a key-encryption key: a fresh one, in a 0600 file.
			kek := make([]byte, 32)
			crand.Read(kek)
			kekFile := filepath.Join(w.dir, "postgres.kek")
			if err := os.WriteFile(kekFile, []byte(base64.StdEncoding.EncodeToString(kek)), 0o600); err != nil {
				drop()
				return nil, nil, err
			}
			return exec.Command(w.bin("postgres"), "--db", dsn, "serve", "--addr", addr, "--key-encryption-key-file", kekFile), drop, nil
		}},
	{name: "go-oauth2", about: "go-oauth2 v4.5.4, memory stores, plaintext secret",
		start: peer("go-oauth2")},
	{name: "fosite-bcrypt4", about: "fosite v0.49.0, memory store, bcrypt cost 4",
		start: peer("fosite", "-bcrypt-cost", "4")},
	{name: "fosite-default", about: "fosite v0.49.0, memory store, bcrypt at its default cost (12)",
		start: peer("fosite")},
	{name: "floor-memory", about: "bare net/http, map: 32 random bytes, SHA-256, JSON",
		start: peer("floor-memory")},
	{name: "floor-sqlite", about: "bare net/http + SQLite WAL, 1 writer conn: 1 INSERT / 1 SELECT",
		start: func(ctx context.Context, w *work, addr string) (*exec.Cmd, func(), error) {
			db := filepath.Join(w.dir, "floor.db")
			return exec.Command(w.bin("floor-sqlite"), "-db", db, "-addr", addr, "-client-id", clientID, "-secret", secret), removeSQLite(db), nil
		}},
	{name: "floor-pgx", pg: true, about: "bare net/http + pgx pool: 1 INSERT / 1 SELECT",
		start: func(ctx context.Context, w *work, addr string) (*exec.Cmd, func(), error) {
			dsn, drop, err := newSchema(ctx, w.pgDSN)
			if err != nil {
				return nil, nil, err
			}
			return exec.Command(w.bin("floor-pgx"), "-dsn", dsn, "-addr", addr, "-client-id", clientID, "-secret", secret), drop, nil
		}},
}

// ratios: each oauthgen subject against each other subject; the floor first.
var ratios = []struct{ of, floor string }{
	{"quickstart", "floor-sqlite"},
	{"postgres", "floor-pgx"},
}

func peer(bin string, args ...string) func(context.Context, *work, string) (*exec.Cmd, func(), error) {
	return func(_ context.Context, w *work, addr string) (*exec.Cmd, func(), error) {
		return exec.Command(w.bin(bin), append(args, "-addr", addr, "-client-id", clientID, "-secret", secret)...), nil, nil
	}
}

// createClient registers the client through an example's CLI.
func createClient(ctx context.Context, bin string, dbFlags ...string) error {
	args := append(dbFlags, "client", "create", "--id", clientID, "--secret", secret, "--grant", "client_credentials", "--scope", "read")
	out, err := exec.CommandContext(ctx, bin, args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s client create: %v: %s", filepath.Base(bin), err, out)
	}
	return nil
}

// removeSQLite returns the removal of a SQLite database's files, so that
// every round starts from an empty one.
func removeSQLite(db string) func() {
	return func() {
		for _, suffix := range []string{"", "-wal", "-shm", ".kek"} {
			os.Remove(db + suffix)
		}
	}
}

// newSchema creates a schema of its own on the PostgreSQL server and
// returns a DSN whose search_path is that schema, and its drop.
func newSchema(ctx context.Context, dsn string) (string, func(), error) {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return "", nil, err
	}
	defer conn.Close(ctx)
	schema := fmt.Sprintf("oauthgen_bench_%d", time.Now().UnixNano())
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		return "", nil, err
	}
	drop := func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if conn, err := pgx.Connect(ctx, dsn); err == nil {
			conn.Exec(ctx, "DROP SCHEMA "+schema+" CASCADE")
			conn.Close(ctx)
		}
	}
	u, err := url.Parse(dsn)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return strings.TrimSpace(dsn) + " search_path=" + schema, drop, nil
	}
	q := u.Query()
	q.Set("search_path", schema) // pgx sends unknown keys as run-time parameters
	u.RawQuery = q.Encode()
	return u.String(), drop, nil
}

func main() {
	flag.Parse()
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "compare:", err)
		os.Exit(1)
	}
}

func run() error {
	ctx := context.Background()
	w := &work{}
	var err error
	if w.root, err = repoRoot(); err != nil {
		return err
	}
	w.bench = filepath.Join(w.root, "bench")
	if w.dir, err = os.MkdirTemp("", "oauthgen-compare-"); err != nil {
		return err
	}
	if *keep {
		fmt.Fprintln(os.Stderr, "work directory:", w.dir)
	} else {
		defer os.RemoveAll(w.dir)
	}

	selected := subjects
	if *profileDir != "" && *only == "" {
		*only = "quickstart"
	}
	if *only != "" {
		names := strings.Split(*only, ",")
		selected = slices.DeleteFunc(slices.Clone(subjects), func(s subject) bool { return !slices.Contains(names, s.name) })
		if len(selected) != len(names) {
			return fmt.Errorf("-only %s: unknown subject (known: %s)", *only, strings.Join(subjectNames(), ", "))
		}
	}
	if slices.ContainsFunc(selected, func(s subject) bool { return s.pg }) {
		dsn := cmpOr(os.Getenv("OAUTHGEN_TEST_POSTGRES"), defaultPostgres)
		pctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		conn, err := pgx.Connect(pctx, dsn)
		cancel()
		if err != nil {
			fmt.Fprintf(os.Stderr, "PostgreSQL unreachable at %s (%v): skipping postgres and floor-pgx; set OAUTHGEN_TEST_POSTGRES to a server's DSN\n", dsn, err)
			selected = slices.DeleteFunc(selected, func(s subject) bool { return s.pg })
		} else {
			conn.Close(ctx)
			w.pgDSN = dsn
		}
	}

	start := time.Now()
	if err := build(ctx, w, selected); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "built in %v\n", time.Since(start).Round(time.Second))

	runtime.GOMAXPROCS(*loadProcs)
	all := make(map[string][]measurement)
	for round := range max(1, *rounds) {
		// Every other round in reverse: a drift of the machine's speed
		// across a round then favours no subject over the next.
		order := groups(selected)
		if round%2 == 1 {
			slices.Reverse(order)
		}
		for _, g := range order {
			ms, err := measureGroup(ctx, w, g)
			if err != nil {
				return err
			}
			for i, s := range g {
				m := ms[i]
				all[s.name] = append(all[s.name], m)
				fmt.Fprintf(os.Stderr, "round %d %-15s tokens/s %8.0f  bearer/s %8.0f  peak RSS %s\n", round+1, s.name, m.token.PerSecond(), m.bearer.PerSecond(), mib(m.peakRSS))
			}
		}
	}
	results := make(map[string]measurement)
	for name, ms := range all {
		results[name] = median(ms)
	}
	fmt.Fprintf(os.Stderr, "total %v\n\n", time.Since(start).Round(time.Second))
	printReport(os.Stdout, selected, results, all)
	return nil
}

func subjectNames() []string {
	var names []string
	for _, s := range subjects {
		names = append(names, s.name)
	}
	return names
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// repoRoot finds the repository from the working directory: the directory
// holding both go.mod and bench/go.mod.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for d := dir; ; d = filepath.Dir(d) {
		if fileExists(filepath.Join(d, "go.mod")) && fileExists(filepath.Join(d, "bench", "go.mod")) {
			return d, nil
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("run from inside the oauthgen repository (no go.mod with bench/go.mod above %s)", dir)
		}
	}
}

func fileExists(p string) bool { _, err := os.Stat(p); return err == nil }

// pprofOverlay is added to each server's package main at build time (go
// build -overlay) when profiling: the server as shipped, plus
// net/http/pprof on its own listener. No source file changes.
const pprofOverlay = `package main

import (
	"net/http"
	_ "net/http/pprof"
	"os"
)

func init() {
	if addr := os.Getenv("BENCH_PPROF_ADDR"); addr != "" {
		go http.ListenAndServe(addr, nil) // pprof's handlers are on DefaultServeMux, which the server does not use
	}
}
`

// build compiles the selected subjects' binaries into the work directory.
// With -profile, every one of them gets pprofOverlay (go build -overlay).
func build(ctx context.Context, w *work, selected []subject) error {
	bin := filepath.Join(w.dir, "bin") + string(filepath.Separator)
	var examples, servers []string
	for _, s := range selected {
		if pkg := serverPackage(s.name); pkg == "" {
			examples = append(examples, s.name)
		} else if !slices.Contains(servers, pkg) {
			servers = append(servers, pkg)
		}
	}
	var overlay []string
	if *profileDir != "" {
		dirs := make([]string, 0, len(examples)+len(servers))
		for _, ex := range examples {
			dirs = append(dirs, filepath.Join(w.root, "examples", ex))
		}
		for _, pkg := range servers {
			dirs = append(dirs, filepath.Join(w.bench, pkg))
		}
		file, err := writeOverlay(w, dirs)
		if err != nil {
			return err
		}
		overlay = []string{"-overlay", file}
	}
	for _, ex := range examples {
		args := append([]string{"build", "-o", bin + ex}, overlay...)
		if err := goCmd(ctx, w.root, append(args, "./examples/"+ex)...); err != nil {
			return err
		}
	}
	if len(servers) > 0 {
		args := append([]string{"build", "-o", bin}, overlay...)
		return goCmd(ctx, w.bench, append(args, servers...)...)
	}
	return nil
}

// serverPackage is the package under bench/ serving subject name; empty
// for the examples, built from the repository's root.
func serverPackage(name string) string {
	switch name {
	case "quickstart", "postgres":
		return ""
	case "fosite-bcrypt4", "fosite-default":
		return "./servers/fosite"
	}
	return "./servers/" + name
}

// writeOverlay writes pprofOverlay and an overlay file adding it to the
// package main in each of dirs.
func writeOverlay(w *work, dirs []string) (string, error) {
	src := filepath.Join(w.dir, "pprof_overlay.go")
	if err := os.WriteFile(src, []byte(pprofOverlay), 0o644); err != nil {
		return "", err
	}
	replace := make(map[string]string, len(dirs))
	for _, d := range dirs {
		replace[filepath.Join(d, "zz_bench_pprof.go")] = src
	}
	j, _ := json.Marshal(map[string]map[string]string{"Replace": replace})
	overlay := filepath.Join(w.dir, "pprof.overlay.json")
	return overlay, os.WriteFile(overlay, j, 0o644)
}

func goCmd(ctx context.Context, dir string, args ...string) error {
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("go %s (in %s): %w", strings.Join(args, " "), dir, err)
	}
	return nil
}

// measurement is one subject's results.
type measurement struct {
	token, bearer load.Result
	peakRSS       int64 // bytes, VmHWM
	// tokenCPU and bearerCPU are the server process's CPU time (user and
	// system) during each measured phase; zero when profiling.
	tokenCPU, bearerCPU time.Duration
	// tokenDBCPU and bearerDBCPU are PostgreSQL's, for a subject using it
	// (every process named postgres on this machine); else zero.
	tokenDBCPU, bearerDBCPU time.Duration
}

// cpuPer is the server's CPU time per good response of a phase.
func cpuPer(cpu time.Duration, r load.Result) time.Duration {
	if r.OK == 0 {
		return 0
	}
	return cpu / time.Duration(r.OK)
}

// median is the measurement of the median round of each phase (by
// throughput), with the highest peak RSS of all rounds.
func median(ms []measurement) measurement {
	pick := func(phase func(measurement) load.Result) load.Result {
		rs := make([]load.Result, len(ms))
		for i, m := range ms {
			rs[i] = phase(m)
		}
		slices.SortFunc(rs, func(a, b load.Result) int { return cmp.Compare(a.PerSecond(), b.PerSecond()) })
		return rs[len(rs)/2]
	}
	m := measurement{
		token:  pick(func(m measurement) load.Result { return m.token }),
		bearer: pick(func(m measurement) load.Result { return m.bearer }),
	}
	// CPU per request: the median round's, stored as CPU for m's counts.
	perReq := func(cpu func(measurement) time.Duration, phase func(measurement) load.Result, r load.Result) time.Duration {
		ds := make([]time.Duration, len(ms))
		for i, x := range ms {
			ds[i] = cpuPer(cpu(x), phase(x))
		}
		slices.Sort(ds)
		return ds[len(ds)/2] * time.Duration(r.OK)
	}
	token := func(x measurement) load.Result { return x.token }
	bearer := func(x measurement) load.Result { return x.bearer }
	m.tokenCPU = perReq(func(x measurement) time.Duration { return x.tokenCPU }, token, m.token)
	m.bearerCPU = perReq(func(x measurement) time.Duration { return x.bearerCPU }, bearer, m.bearer)
	m.tokenDBCPU = perReq(func(x measurement) time.Duration { return x.tokenDBCPU }, token, m.token)
	m.bearerDBCPU = perReq(func(x measurement) time.Duration { return x.bearerDBCPU }, bearer, m.bearer)
	for _, r := range ms {
		m.peakRSS = max(m.peakRSS, r.peakRSS)
	}
	return m
}

// server is a started subject.
type server struct {
	subject
	cmd       *exec.Cmd
	exited    chan error
	addr      string
	pprofAddr string // empty unless profiling
	token     string // the one the bearer phase presents
	logf      *os.File
	cleanup   func()
}

// startServer starts s and waits until it serves and has issued the token
// the bearer phase presents. On success the caller closes it.
func startServer(ctx context.Context, w *work, s subject) (sv *server, err error) {
	sv = &server{subject: s}
	defer func() {
		if err != nil {
			sv.close()
		}
	}()
	if sv.addr, err = freeAddr(); err != nil {
		return nil, err
	}
	if sv.cmd, sv.cleanup, err = s.start(ctx, w, sv.addr); err != nil {
		return nil, err
	}
	logPath := filepath.Join(w.dir, s.name+".log")
	if sv.logf, err = os.Create(logPath); err != nil {
		return nil, err
	}
	sv.cmd.Stdout, sv.cmd.Stderr = sv.logf, sv.logf
	sv.cmd.Env = os.Environ()
	if *serverProcs > 0 {
		sv.cmd.Env = append(sv.cmd.Env, fmt.Sprintf("GOMAXPROCS=%d", *serverProcs))
	}
	if *profileDir != "" {
		if sv.pprofAddr, err = freeAddr(); err != nil {
			return nil, err
		}
		sv.cmd.Env = append(sv.cmd.Env, "BENCH_PPROF_ADDR="+sv.pprofAddr)
	}
	if err := sv.cmd.Start(); err != nil {
		return nil, err
	}
	sv.exited = make(chan error, 1)
	go func() { sv.exited <- sv.cmd.Wait() }()
	if err := waitReady(sv.addr, sv.exited, logPath); err != nil {
		return nil, err
	}
	if sv.token, err = getToken(sv.addr); err != nil {
		return nil, err
	}
	return sv, nil
}

// close stops the server and removes what it stored.
func (sv *server) close() {
	if sv.exited != nil {
		stop(sv.cmd, sv.exited)
	}
	if sv.logf != nil {
		sv.logf.Close()
	}
	if sv.cleanup != nil {
		sv.cleanup()
	}
}

// phases are what each server is measured doing, in this order.
var phases = []string{"token", "bearer"}

// phaseLoad is the load of one phase on sv.
func (sv *server) phaseLoad(phase string) load.Config {
	cfg := load.Config{Addr: sv.addr, Conns: *conns, Status: http.StatusOK}
	switch phase {
	case "token":
		auth := "Authorization: Basic " + base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(clientID)+":"+url.QueryEscape(secret)))
		cfg.Request = load.Request("POST", sv.addr, "/token", "grant_type=client_credentials&scope=read",
			auth, "Content-Type: application/x-www-form-urlencoded")
	case "bearer":
		cfg.Request = load.Request("GET", sv.addr, "/me", "", "Authorization: Bearer "+sv.token)
	}
	return cfg
}

// sample is one server's figures over a slice of a phase.
type sample struct {
	result     load.Result
	cpu, dbCPU time.Duration // zero when profiling
}

// measureSlice loads sv for warmup, then measures it for d.
func (sv *server) measureSlice(ctx context.Context, phase string, d, warmup time.Duration) (sample, error) {
	cfg := sv.phaseLoad(phase)
	if warmup > 0 {
		cfg.Duration = warmup
		load.Run(ctx, cfg)
	}
	cfg.Duration = d
	if sv.pprofAddr != "" {
		r, err := profiled(ctx, sv.pprofAddr, sv.name+"."+phase, cfg)
		return sample{result: r}, err
	}
	pid := sv.cmd.Process.Pid
	before, err := processCPU(pid)
	if err != nil {
		return sample{}, err
	}
	var dbBefore time.Duration
	if sv.pg {
		dbBefore = postgresCPU(pid)
	}
	smp := sample{result: load.Run(ctx, cfg)}
	after, err := processCPU(pid)
	if err != nil {
		return sample{}, err
	}
	smp.cpu = after - before
	if sv.pg {
		smp.dbCPU = max(postgresCPU(pid)-dbBefore, 0)
	}
	return smp, nil
}

// measureGroup starts the subjects of group together and measures each
// phase of theirs in -slices slices, taking turns, the first of a slice
// being the last of the one before: the machine's speed drifts over
// seconds on a VM, and taken in turns every subject of the group sees the
// same drift, so their ratios do not. A group of one, or profiling, is one
// slice. Each slice is warmed up by its share of -warmup.
func measureGroup(ctx context.Context, w *work, group []subject) ([]measurement, error) {
	servers := make([]*server, 0, len(group))
	defer func() {
		for _, sv := range servers {
			sv.close()
		}
	}()
	for _, s := range group {
		sv, err := startServer(ctx, w, s)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", s.name, err)
		}
		servers = append(servers, sv)
	}
	n := *sliceCount
	if len(servers) == 1 || *profileDir != "" {
		n = 1
	}
	ms := make([]measurement, len(servers))
	for _, phase := range phases {
		// Requests cut off at the end of a phase may still be running
		// (bcrypt at cost 12 queues seconds of work): let each server
		// finish them before the next phase starts, and the machine
		// finish what they left (PostgreSQL's autovacuum, checkpoints).
		for _, sv := range servers {
			waitIdle(sv.cmd.Process.Pid, 30*time.Second)
		}
		waitQuiet(quietFor)
		samples := make([][]sample, len(servers))
		order := make([]int, len(servers))
		for i := range order {
			order[i] = i
		}
		var last *server
		for range n {
			for _, i := range order {
				sv := servers[i]
				if last != nil {
					// What the last slice left (a WAL checkpoint, PostgreSQL's
					// autovacuum) must not run in this one.
					waitIdle(last.cmd.Process.Pid, 30*time.Second)
					waitQuiet(sliceQuietFor)
				}
				smp, err := sv.measureSlice(ctx, phase, *duration/time.Duration(n), *warmup/time.Duration(n))
				if err != nil {
					return nil, fmt.Errorf("%s, %s phase: %w", sv.name, phase, err)
				}
				samples[i] = append(samples[i], smp)
				last = sv
			}
			slices.Reverse(order)
		}
		for i, sv := range servers {
			var rs []load.Result
			var cpu, dbCPU time.Duration
			for _, smp := range samples[i] {
				rs = append(rs, smp.result)
				cpu += smp.cpu
				dbCPU += smp.dbCPU
			}
			r := load.Merge(rs...)
			ms[i].set(phase, r, cpu, dbCPU)
			if r.Failed > 0 || r.OK == 0 {
				// Shown in the table; a server too slow for one response in a
				// phase (bcrypt at cost 12, short phases) is a figure, not an error.
				fmt.Fprintf(os.Stderr, "%s, %s phase: %d good responses, %d failed (first: %v)\n", sv.name, phase, r.OK, r.Failed, r.FirstErr)
			}
		}
	}
	for i, sv := range servers {
		var err error
		if ms[i].peakRSS, err = vmHWM(sv.cmd.Process.Pid); err != nil {
			return nil, fmt.Errorf("%s: %w", sv.name, err)
		}
	}
	return ms, nil
}

// set records a phase's figures.
func (m *measurement) set(phase string, r load.Result, cpu, dbCPU time.Duration) {
	switch phase {
	case "token":
		m.token, m.tokenCPU, m.tokenDBCPU = r, cpu, dbCPU
	case "bearer":
		m.bearer, m.bearerCPU, m.bearerDBCPU = r, cpu, dbCPU
	}
}

// groups partitions selected, in order, into what measureGroup measures
// together: each oauthgen subject with its floor when both are selected,
// every other subject alone.
func groups(selected []subject) [][]subject {
	var gs [][]subject
	taken := make(map[string]bool)
	for _, s := range selected {
		if taken[s.name] {
			continue
		}
		g := []subject{s}
		for _, r := range ratios {
			partner := ""
			switch s.name {
			case r.of:
				partner = r.floor
			case r.floor:
				partner = r.of
			}
			if i := slices.IndexFunc(selected, func(o subject) bool { return o.name == partner }); i >= 0 && !taken[partner] {
				g = append(g, selected[i])
			}
		}
		for _, m := range g {
			taken[m.name] = true
		}
		gs = append(gs, g)
	}
	return gs
}

// profiled runs one phase (after its warmup) while collecting a CPU profile
// of the server, and snapshots of its allocation profile before and after,
// for go tool pprof -base.
func profiled(ctx context.Context, pprofAddr, phase string, cfg load.Config) (load.Result, error) {
	if err := os.MkdirAll(*profileDir, 0o755); err != nil {
		return load.Result{}, err
	}
	save := func(path, file string) error {
		resp, err := http.Get("http://" + pprofAddr + path)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("%s: %s", path, resp.Status)
		}
		f, err := os.Create(filepath.Join(*profileDir, file))
		if err != nil {
			return err
		}
		defer f.Close()
		_, err = io.Copy(f, resp.Body)
		return err
	}
	if cfg.Warmup > 0 {
		load.Run(ctx, load.Config{Addr: cfg.Addr, Request: cfg.Request, Status: cfg.Status, Conns: cfg.Conns, Duration: cfg.Warmup})
		cfg.Warmup = 0
	}
	if err := save("/debug/pprof/allocs", phase+".allocs.before.pprof"); err != nil {
		return load.Result{}, err
	}
	cpu := make(chan error, 1)
	go func() {
		cpu <- save(fmt.Sprintf("/debug/pprof/profile?seconds=%d", int(cfg.Duration.Seconds())), phase+".cpu.pprof")
	}()
	r := load.Run(ctx, cfg)
	if err := <-cpu; err != nil {
		return r, err
	}
	return r, save("/debug/pprof/allocs", phase+".allocs.after.pprof")
}

func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// waitReady waits until the server accepts connections, or exits.
func waitReady(addr string, exited <-chan error, logPath string) error {
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-exited:
			out, _ := os.ReadFile(logPath)
			return fmt.Errorf("exited before serving (%v): %s", err, bytes.TrimSpace(out))
		default:
		}
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			c.Close()
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Errorf("not serving on %s after 60s", addr)
}

// getToken gets the token the bearer phase presents, checking the token
// response in full once.
func getToken(addr string) (string, error) {
	req, _ := http.NewRequest(http.MethodPost, "http://"+addr+"/token", strings.NewReader("grant_type=client_credentials&scope=read"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(clientID), url.QueryEscape(secret))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var tok struct {
		AccessToken string `json:"access_token"`
		TokenType   string `json:"token_type"`
		Scope       string `json:"scope"`
	}
	if err := json.Unmarshal(body, &tok); err != nil || resp.StatusCode != http.StatusOK || tok.AccessToken == "" ||
		!strings.EqualFold(tok.TokenType, "bearer") || tok.Scope != "read" {
		return "", fmt.Errorf("token request: %s %s", resp.Status, body)
	}
	return tok.AccessToken, nil
}

// stop ends the server with SIGTERM, then SIGKILL after 15 s.
func stop(cmd *exec.Cmd, exited <-chan error) {
	if cmd.ProcessState != nil {
		return
	}
	cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-exited:
	case <-time.After(15 * time.Second):
		cmd.Process.Kill()
		<-exited
	}
}

// waitIdle waits until no thread of process pid is running or runnable in
// three samples in a row, 50 ms apart, or for at most max. Thread states,
// not CPU time: on a busy machine a server starved of CPU uses little of
// it while it still has work queued.
func waitIdle(pid int, max time.Duration) {
	deadline := time.Now().Add(max)
	for quiet := 0; quiet < 3 && time.Now().Before(deadline); {
		time.Sleep(50 * time.Millisecond)
		running, err := runningThreads(pid)
		if err != nil {
			return
		}
		if running == 0 {
			quiet++
		} else {
			quiet = 0
		}
	}
}

// quietBusy is the most CPU the machine may spend, as a fraction of one
// CPU, for it to count as quiet: PostgreSQL's autovacuum and checkpoints
// after one subject's tokens must not run through the next one's phases.
const quietBusy = 0.1

// quietFor is the longest waitQuiet waits before a phase, sliceQuietFor
// between the slices of one.
const (
	quietFor      = 20 * time.Second
	sliceQuietFor = 5 * time.Second
)

// waitQuiet waits, up to max, until the whole machine spent less than
// quietBusy of a CPU in each of two consecutive 200 ms windows, and says
// so when it never did.
func waitQuiet(max time.Duration) {
	deadline := time.Now().Add(max)
	busy := 1.0
	for quiet := 0; quiet < 2; {
		if time.Now().After(deadline) {
			fmt.Fprintf(os.Stderr, "the machine is not quiet after %v (%.0f%% of a CPU busy): measuring anyway\n", max, busy*100)
			return
		}
		b0, t0, err := machineCPU()
		if err != nil {
			return
		}
		time.Sleep(200 * time.Millisecond)
		b1, t1, err := machineCPU()
		if err != nil || t1 == t0 {
			return
		}
		busy = float64(b1-b0) / float64(t1-t0) * float64(runtime.NumCPU())
		if busy < quietBusy {
			quiet++
		} else {
			quiet = 0
		}
	}
}

// machineCPU is the machine's busy and total CPU time so far, in ticks.
func machineCPU() (busy, total int64, err error) {
	stat, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, 0, err
	}
	return parseMachineCPU(stat)
}

// parseMachineCPU reads /proc/stat's first line: user nice system idle
// iowait irq softirq steal (guest time is in user already). Idle and
// iowait are not busy.
func parseMachineCPU(stat []byte) (busy, total int64, err error) {
	line, _, _ := bytes.Cut(stat, []byte("\n"))
	fields := strings.Fields(string(line))
	if len(fields) < 9 || fields[0] != "cpu" {
		return 0, 0, errors.New("/proc/stat: no cpu line")
	}
	for i, f := range fields[1:9] {
		n, err := strconv.ParseInt(f, 10, 64)
		if err != nil {
			return 0, 0, fmt.Errorf("/proc/stat: %w", err)
		}
		total += n
		if i != 3 && i != 4 {
			busy += n
		}
	}
	return busy, total, nil
}

// runningThreads counts the threads of process pid in state R.
func runningThreads(pid int) (int, error) {
	tasks, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	if err != nil {
		return 0, err
	}
	n := 0
	for _, t := range tasks {
		stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%s/stat", pid, t.Name()))
		if err != nil {
			continue // the thread ended
		}
		// The state follows the command name, in parentheses that may hold spaces.
		if _, rest, ok := bytes.Cut(stat, []byte(") ")); ok && len(rest) > 0 && rest[0] == 'R' {
			n++
		}
	}
	return n, nil
}

// postgresCPU is the CPU time so far of every process named postgres on
// this machine but server (the postgres example's binary has that name
// too): PostgreSQL's backends and background workers, and those that
// exited (an autovacuum worker, a closed connection's backend), which the
// postmaster's children's time holds once it has reaped them; zero when
// PostgreSQL runs elsewhere.
func postgresCPU(server int) time.Duration { return postgresCPUIn(os.DirFS("/proc"), server) }

// postgresCPUIn is postgresCPU over proc, a /proc file system.
func postgresCPUIn(proc fs.FS, server int) time.Duration {
	dirs, _ := fs.ReadDir(proc, ".")
	var total time.Duration
	for _, d := range dirs {
		if d.Name()[0] < '0' || d.Name()[0] > '9' || d.Name() == strconv.Itoa(server) {
			continue
		}
		stat, err := fs.ReadFile(proc, d.Name()+"/stat")
		if err != nil || !bytes.Contains(stat, []byte(" (postgres) ")) {
			continue // gone, or not PostgreSQL
		}
		if cpu, err := parseCPU(stat, true); err == nil {
			total += cpu
		}
	}
	return total
}

// processCPU is a process's user and system CPU time so far, from
// /proc/PID/stat (fields 14 and 15, in clock ticks of 1/100 s on Linux).
func processCPU(pid int) (time.Duration, error) {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	return parseProcessCPU(stat)
}

func parseProcessCPU(stat []byte) (time.Duration, error) { return parseCPU(stat, false) }

// parseCPU reads utime and stime (fields 14 and 15) of a /proc/PID/stat,
// and with children cutime and cstime too (16 and 17): the time of the
// children the process has waited for.
func parseCPU(stat []byte, children bool) (time.Duration, error) {
	// The command name (field 2) may hold spaces: count from after it.
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, errors.New("/proc/PID/stat: no command name")
	}
	fields := strings.Fields(string(stat[i+1:])) // fields[0] is field 3
	if len(fields) < 15 {
		return 0, errors.New("/proc/PID/stat: too few fields")
	}
	last := 13
	if children {
		last = 15
	}
	var ticks int64
	for _, f := range fields[11:last] {
		n, err := strconv.ParseInt(f, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("/proc/PID/stat: %w", err)
		}
		ticks += n
	}
	return time.Duration(ticks) * 10 * time.Millisecond, nil
}

// vmHWM is the peak resident set size of process pid, from /proc.
func vmHWM(pid int) (int64, error) {
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	return parseVmHWM(status)
}

func parseVmHWM(status []byte) (int64, error) {
	for line := range bytes.Lines(status) {
		if rest, ok := bytes.CutPrefix(line, []byte("VmHWM:")); ok {
			var kb int64
			if _, err := fmt.Sscanf(string(rest), "%d kB", &kb); err != nil {
				return 0, fmt.Errorf("VmHWM: %q: %w", rest, err)
			}
			return kb << 10, nil
		}
	}
	return 0, errors.New("no VmHWM in /proc/PID/status")
}
