#!/usr/bin/env bash
# The HTTP compare harness (cmd/compare): builds the quickstart, the
# postgres example, the peers and the floor servers, measures each over
# loopback HTTP and prints one table. Flags go to cmd/compare:
#
#   bench/compare.sh                          # all subjects, about 3 minutes
#   bench/compare.sh -only quickstart,floor-sqlite
#   bench/compare.sh -profile /tmp/prof       # quickstart with pprof
#
# PostgreSQL: OAUTHGEN_TEST_POSTGRES, or postgres://postgres@127.0.0.1:5432/test;
# unreachable, the postgres subjects are skipped with a message.
set -euo pipefail
cd "$(dirname "$0")"
go build -o "${TMPDIR:-/tmp}/oauthgen-compare" ./cmd/compare
exec "${TMPDIR:-/tmp}/oauthgen-compare" "$@"
