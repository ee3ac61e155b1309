#!/usr/bin/env bash
# -t 1 against -t 2 (issue 13): one server at a time, not pinned, loaded by
# `gocached bench` (not pinned either: on a 2-core machine the load shares
# the cores), 64 connections one request per round trip, then pipelines of
# 16; each thread count twice, alternating.
#
#   scripts/scaling.sh                  # gocached, then memcached 1.6.45
#   scripts/scaling.sh gocached mc18    # any of gocached, mc145, mc18
#
# Prints one line per run: throughput and server CPU per op. Servers are
# started by servers.sh (127.0.0.1, -m 1024 -c 4096) and killed after each
# run; their logs go to $SCALING_OUT (default bin/scaling). Needs Debian's
# memcached as servers.sh does (make interop installs it).
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
OUT="${SCALING_OUT:-bin/scaling}"
# shellcheck source=servers.sh
. scripts/servers.sh

servers=("$@")
[ $# -gt 0 ] || servers=(gocached mc145)
for n in "${servers[@]}"; do
	for t in 1 2 1 2; do
		start_server "$n" 1024 -t "$t" -c 4096
		for w in "-c 64" "-c 64 --pipeline 16"; do
			# shellcheck disable=SC2086
			"$GC" bench -s "127.0.0.1:$port" --server-pid "$pid" $w -t 10s --prefill --json >"$OUT/run.json"
			python3 - "$OUT/run.json" "$n" "$t" "$w" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))["servers"][0]
print("%s -t %s %s: %.0f ops/s, %.2f µs server CPU per op" % (sys.argv[2], sys.argv[3], sys.argv[4],
      s["ops_per_sec"], s["server"]["cpu_us_per_op"]))
PY
		done
		stop_server
	done
done
