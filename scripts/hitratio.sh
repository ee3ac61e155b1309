#!/usr/bin/env bash
# Cache-aside hit ratios at equal -m (issue 13): gocached, memcached 1.6.45
# (its default segmented LRU) and Debian's memcached 1.6.18, each started
# fresh for each workload, replayed by `gocached bench hitratio` (one
# connection, seeded: the same requests for every server).
#
#   scripts/hitratio.sh                     # every workload at -m 64
#   HR_M="64 256" HR_ONLY="etc scan" scripts/hitratio.sh
#   HR_M="16 32 64 128 256" HR_ONLY="etc scan" HR_PLOT=bin/missratio.svg scripts/hitratio.sh
#
# Environment: HR_M (-m values, MB), HR_N (requests, default 15 000 000:
# enough for the 3 M-key workloads to reach their steady state at -m 64),
# HR_ONLY (workload names), HR_OUT (results directory, default bin/hitratio),
# HR_PLOT (an SVG file: the miss ratio against -m of every workload and
# server run, scripts/missratio_plot.py).
# Prints a markdown table: hit and miss ratio of each server, and
# gocached's miss ratio ÷ each memcached's.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
MS="${HR_M:-64}"
N="${HR_N:-15000000}"
ONLY="${HR_ONLY:-}"
OUT="${HR_OUT:-bin/hitratio}"
# shellcheck source=servers.sh
. scripts/servers.sh

# name | replay flags
workloads=(
	"zipf0.7|--zipf 0.7 --sizes 100"
	"zipf0.9|--zipf 0.9 --sizes 100"
	"zipf1.1|--zipf 1.1 --sizes 100"
	"etc|--zipf 0.9 --sizes etc"
	"scan|--zipf 0.9 --sizes 100 --scan 0.3"
	"ttl|--zipf 0.9 --sizes 100 --short-ttl 0.4 --ttl 5 --rate 150000"
)

run() { # m server-name flags...
	local m=$1 name=$2
	shift 2
	start_server "$name" "$m"
	"$GC" bench hitratio -s "127.0.0.1:$port" -n "$N" "$@" --json
	stop_server
}

echo "| -m | workload | gocached hit / miss | memcached 1.6.45 hit / miss | memcached 1.6.18 hit / miss | gocached miss ÷ 1.6.45's | ÷ 1.6.18's |"
echo "| --- | --- | --- | --- | --- | --- | --- |"
for m in $MS; do
	for wl in "${workloads[@]}"; do
		name=${wl%%|*}
		flags=${wl#*|}
		[ -z "$ONLY" ] || [[ " $ONLY " == *" $name "* ]] || continue
		for s in gocached mc145 mc18; do
			# shellcheck disable=SC2086
			run "$m" "$s" $flags >"$OUT/$m-$name-$s.json"
		done
		python3 - "$OUT/$m-$name" "$m" "$name" <<'PY'
import json, sys
base, m, name = sys.argv[1:]
hr = {s: json.load(open(f"{base}-{s}.json"))["results"][0]["hit_ratio"] for s in ("gocached", "mc145", "mc18")}
cell = lambda s: "%.4f / %.4f" % (hr[s], 1 - hr[s])
ratio = lambda s: "%.3f" % ((1 - hr["gocached"]) / (1 - hr[s]))
print(f"| {m} | {name} | {cell('gocached')} | {cell('mc145')} | {cell('mc18')} | {ratio('mc145')} | {ratio('mc18')} |")
PY
	done
done
[ -z "${HR_PLOT:-}" ] || python3 scripts/missratio_plot.py "$OUT" "$HR_PLOT" $MS
