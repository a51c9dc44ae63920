#!/usr/bin/env bash
# Runs every benchmark COUNT times (default 6), each library side by side in
# one process, then summarizes with benchstat: one column per library
# (-col /impl, deltas against oauthgen-memory), and the ratios README.md
# reports, computed from benchstat's medians.
#
#   ./run.sh                          # about 3 minutes on 2 cores
#   COUNT=10 BENCH=Bearer ./run.sh    # more samples, one benchmark
set -euo pipefail
cd "$(dirname "$0")"

# benchstat, pinned so the summary does not change under us.
benchstat() { go run golang.org/x/perf/cmd/benchstat@v0.0.0-20260908200009-22c9c6c9d4da "$@"; }

go test -run '^$' -bench "${BENCH:-.}" -benchmem -count "${COUNT:-6}" ./... | tee bench.txt
echo
benchstat -col /impl bench.txt
echo

# Ratios of medians. og: oauthgen-memory. "less floor": both times less the
# harness floor (request, recorder, status check), the libraries' own work.
benchstat -format csv -col /impl bench.txt 2>/dev/null | awk -F, '
	function us(s) { return sprintf("%.2f µs", s * 1e6) }
	state == 0 && $1 == "" && $2 == "oauthgen-memory" {
		for (i = 2; i <= NF; i++) if ($i != "") col[$i] = i
		state = 1; next
	}
	state == 1 { state = 2; next }  # the units row: sec/op, CI, …
	state == 2 && ($1 == "" || $1 == "geomean") { exit }
	state == 2 {
		og = $col["oauthgen-memory"]; g2 = $col["go-oauth2-memory"]; fo = $col["fosite-memory"]
		sq = $col["oauthgen-sqlite"]; fl = $col["harness-floor"]
		if (!header++) {
			print "| sec/op (median) | oauthgen-memory | go-oauth2-memory | fosite-memory | oauthgen-sqlite | harness-floor | og / go-oauth2 | og / fosite | og / go-oauth2, less floor | og / fosite, less floor | sqlite / og |"
			print "|---|---|---|---|---|---|---|---|---|---|---|"
		}
		printf "| %s | %s | %s | %s | %s | %s | %.2f | %.2f | %.2f | %.2f | %.1f |\n", $1, us(og), us(g2), us(fo), us(sq), us(fl),
			og / g2, og / fo, (og - fl) / (g2 - fl), (og - fl) / (fo - fl), sq / og
	}'
