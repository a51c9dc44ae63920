#!/usr/bin/env bash
# Runs the benchmarks side by side and summarizes them with benchstat.
set -euo pipefail
cd "$(dirname "$0")"
go test -run '^$' -bench . -benchmem -count "${COUNT:-6}" ./... | tee bench.txt
go run golang.org/x/perf/cmd/benchstat@latest bench.txt
