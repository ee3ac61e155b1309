#!/usr/bin/env bash
# -t 1 against -t 2 (issue 13): one server at a time, not pinned, loaded by
# `gocached bench` (not pinned either: on a 2-core machine the load shares
# the cores), 64 connections one request per round trip, then pipelines of
# 16; each thread count twice, alternating.
#
#   scripts/scaling.sh NAME BINARY [server flags]
#   scripts/scaling.sh gocached bin/gocached
#   scripts/scaling.sh mc145 "$(bash scripts/mc145.sh)/memcached"
#
# Prints one line per run: throughput and server CPU per op. The server
# listens on 127.0.0.1 and is killed after each run.
set -euo pipefail
[ $# -ge 2 ] || { echo "usage: scripts/scaling.sh NAME BINARY [server flags]" >&2; exit 2; }
name=$1 bin=$2
shift 2
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
GC="$repo/bin/gocached"
[ -x "$GC" ] || (cd "$repo" && go build -o bin/gocached .)
user=()
[ "$(id -u)" != 0 ] || user=(-u root)
out=$(mktemp -d)
pid=
cleanup() { [ -z "$pid" ] || kill "$pid" 2>/dev/null || true; rm -rf "$out"; }
trap cleanup EXIT
for t in 1 2 1 2; do
	port=$("$GC" bench freeport -n 1)
	"$bin" -p "$port" -l 127.0.0.1 -U 0 -t "$t" -m 1024 -c 4096 "${user[@]}" "$@" >"$out/server.log" 2>&1 &
	pid=$!
	sleep 0.5
	for w in "-c 64" "-c 64 --pipeline 16"; do
		# shellcheck disable=SC2086
		"$GC" bench -s "127.0.0.1:$port" --server-pid "$pid" $w -t 10s --prefill --json >"$out/run.json"
		python3 - "$out/run.json" "$name" "$t" "$w" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))["servers"][0]
print("%s -t %s %s: %.0f ops/s, %.2f µs server CPU per op" % (sys.argv[2], sys.argv[3], sys.argv[4],
      s["ops_per_sec"], s["server"]["cpu_us_per_op"]))
PY
	done
	kill "$pid"
	wait "$pid" 2>/dev/null || true
	pid=
done
