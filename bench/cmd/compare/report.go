package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"time"
)

// printReport writes the run's conditions, the figures of every subject
// and the ratios of the oauthgen subjects to each other one, as Markdown.
func printReport(out io.Writer, selected []subject, results map[string]measurement, rounds map[string][]measurement) {
	procs := "Go's default (the CPU count)"
	if *serverProcs > 0 {
		procs = fmt.Sprint(*serverProcs)
	}
	fmt.Fprintf(out, "%s; %d CPUs (%s), %s %s/%s; load average before: %s\n",
		time.Now().UTC().Format("2006-01-02 15:04 MST"), runtime.NumCPU(), cpuModel(), runtime.Version(), runtime.GOOS, runtime.GOARCH, loadBefore)
	fmt.Fprintf(out, "Command: bench/compare.sh %s\n", strings.Join(os.Args[1:], " "))
	fmt.Fprintf(out, "Load: %d keep-alive connections, %v warmup + %v per phase; POST /token (client_credentials, client_secret_basic, scope read), then GET /me with one token.\n",
		*conns, *warmup, *duration)
	fmt.Fprintf(out, "The load generator runs on the same machine, GOMAXPROCS=%d; each server GOMAXPROCS=%s: they share the CPUs.\n", *loadProcs, procs)
	if n := len(rounds[selected[0].name]); n > 1 {
		fmt.Fprintf(out, "%d rounds, every subject once per round in the order below, reversed every other round; each figure is the median round's (peak RSS: the highest).\n", n)
	}
	for _, g := range groups(selected) {
		if len(g) > 1 && *sliceCount > 1 && *profileDir == "" {
			fmt.Fprintf(out, "%s run at once: each phase of theirs is measured in %d slices of %v (each after %v of warmup), taking turns, first-last-last-first.\n",
				names(g), *sliceCount, *duration/time.Duration(*sliceCount), *warmup/time.Duration(*sliceCount))
		}
	}
	fmt.Fprintln(out)

	fmt.Fprintln(out, "| server | tokens/s | token p50 | token p99 | bearer/s | bearer p50 | bearer p99 | peak RSS | failed |")
	fmt.Fprintln(out, "|---|---|---|---|---|---|---|---|---|")
	for _, s := range selected {
		m := results[s.name]
		fmt.Fprintf(out, "| %s | %.0f | %s | %s | %.0f | %s | %s | %s | %d |\n", s.name,
			m.token.PerSecond(), ms(m.token.P50), ms(m.token.P99),
			m.bearer.PerSecond(), ms(m.bearer.P50), ms(m.bearer.P99), mib(m.peakRSS), m.token.Failed+m.bearer.Failed)
	}
	fmt.Fprintln(out)
	for _, s := range selected {
		fmt.Fprintf(out, "- %s: %s\n", s.name, s.about)
	}

	var rows []string
	for _, r := range ratios {
		of, ok := results[r.of]
		if !ok {
			continue
		}
		others := []string{r.floor}
		for _, s := range selected {
			if s.name != r.of && s.name != r.floor && !isOAuthgen(s.name) {
				others = append(others, s.name)
			}
		}
		for _, o := range others {
			m, ok := results[o]
			if !ok {
				continue
			}
			label := r.of + " / " + o
			if o == r.floor {
				label = "**" + label + "** (its floor)"
			}
			rows = append(rows, fmt.Sprintf("| %s | %s | %s | %s | %s | %s |", label,
				ratio(of.token.PerSecond(), m.token.PerSecond()), ratio(of.bearer.PerSecond(), m.bearer.PerSecond()),
				ratio(seconds(of.token.P99), seconds(m.token.P99)), ratio(seconds(of.bearer.P99), seconds(m.bearer.P99)),
				ratio(float64(of.peakRSS), float64(m.peakRSS))))
		}
	}
	if len(rows) == 0 {
		return
	}
	fmt.Fprintln(out, "\nRatios, same run (throughput: above 1 is oauthgen faster; p99 and RSS: below 1 is oauthgen better):")
	fmt.Fprintln(out)
	fmt.Fprintln(out, "| oauthgen / other | tokens/s | bearer/s | token p99 | bearer p99 | peak RSS |")
	fmt.Fprintln(out, "|---|---|---|---|---|---|")
	for _, r := range rows {
		fmt.Fprintln(out, r)
	}
	printCPU(out, selected, results)
	printRoundRatios(out, rounds)
}

// printCPU writes the CPU time per response of the server process, and of
// PostgreSQL for the servers using it: figures the machine's load moves
// less than throughput.
func printCPU(out io.Writer, selected []subject, results map[string]measurement) {
	if results[selected[0].name].tokenCPU == 0 {
		return // profiling
	}
	fmt.Fprintln(out, "\nCPU per response (user + system, µs): the server process's, and PostgreSQL's (every other")
	fmt.Fprintln(out, "process named postgres on this machine) for the servers using it:")
	fmt.Fprintln(out)
	fmt.Fprintln(out, "| server | per token | per bearer check | PostgreSQL per token | PostgreSQL per bearer check |")
	fmt.Fprintln(out, "|---|---|---|---|---|")
	for _, s := range selected {
		m := results[s.name]
		fmt.Fprintf(out, "| %s | %s | %s | %s | %s |\n", s.name, micros(cpuPer(m.tokenCPU, m.token)), micros(cpuPer(m.bearerCPU, m.bearer)),
			micros(cpuPer(m.tokenDBCPU, m.token)), micros(cpuPer(m.bearerDBCPU, m.bearer)))
	}
}

func micros(d time.Duration) string {
	if d == 0 {
		return "–"
	}
	return fmt.Sprintf("%.0f", float64(d)/float64(time.Microsecond))
}

// printRoundRatios writes each round's ratio of every oauthgen subject to
// its floor: how far the medians can be trusted.
func printRoundRatios(out io.Writer, rounds map[string][]measurement) {
	var rows []string
	for _, r := range ratios {
		of, floor := rounds[r.of], rounds[r.floor]
		if len(of) < 2 || len(of) != len(floor) {
			continue
		}
		var tokens, bearer []string
		for i := range of {
			tokens = append(tokens, ratio(of[i].token.PerSecond(), floor[i].token.PerSecond()))
			bearer = append(bearer, ratio(of[i].bearer.PerSecond(), floor[i].bearer.PerSecond()))
		}
		rows = append(rows, fmt.Sprintf("| %s / %s | %s | %s |", r.of, r.floor, strings.Join(tokens, ", "), strings.Join(bearer, ", ")))
	}
	if len(rows) == 0 {
		return
	}
	fmt.Fprintln(out, "\nEach round's ratio to the floor, measured in the same round:")
	fmt.Fprintln(out)
	fmt.Fprintln(out, "| oauthgen / floor | tokens/s, by round | bearer/s, by round |")
	fmt.Fprintln(out, "|---|---|---|")
	for _, r := range rows {
		fmt.Fprintln(out, r)
	}
}

// names joins the subjects' names: "a and b", "a, b and c".
func names(g []subject) string {
	var ns []string
	for _, s := range g {
		ns = append(ns, s.name)
	}
	if len(ns) < 2 {
		return strings.Join(ns, "")
	}
	return strings.Join(ns[:len(ns)-1], ", ") + " and " + ns[len(ns)-1]
}

func isOAuthgen(name string) bool {
	for _, r := range ratios {
		if r.of == name {
			return true
		}
	}
	return false
}

func ratio(a, b float64) string {
	if b == 0 {
		return "–"
	}
	return fmt.Sprintf("%.2f", a/b)
}

func seconds(d time.Duration) float64 { return d.Seconds() }

func ms(d time.Duration) string {
	if d == 0 {
		return "–"
	}
	return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond))
}

func mib(b int64) string { return fmt.Sprintf("%.0f MiB", float64(b)/(1<<20)) }

func cpuModel() string {
	info, _ := os.ReadFile("/proc/cpuinfo")
	for line := range bytes.Lines(info) {
		if name, value, ok := bytes.Cut(line, []byte(":")); ok && string(bytes.TrimSpace(name)) == "model name" {
			return string(bytes.TrimSpace(value))
		}
	}
	return "unknown CPU"
}

// loadBefore is the load average when the run started: other work on the
// machine skews every figure.
var loadBefore = loadAverage()

func loadAverage() string {
	b, _ := os.ReadFile("/proc/loadavg")
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}
