#!/usr/bin/env bash
# Per-core comparison (issue 13): gocached, memcached 1.6.45 and Debian's
# memcached 1.6.18, each with -t 1 pinned to one CPU, loaded by
# `gocached bench` pinned to the other, one request per round trip.
#
#   scripts/percore.sh                # text, meta, binary × 1, 4, 64, 512 conns
#   PERCORE_PROTOS=text PERCORE_CONNS="4 64" PERCORE_MULTI_CONNS= scripts/percore.sh
#
# For each protocol and connection count, and for text multi-gets of 50 keys
# and pipelines of 16 at PERCORE_MULTI_CONNS connections: gocached ÷ each memcached in
# alternating rounds (ABBA, `gocached bench --compare`): throughput, server
# CPU per op (from /proc/<pid>/stat), p50 and p99. Then, for each server on
# its own, `perf stat -C <server cpu>` over a fixed number of requests:
# syscalls, reads, writes, epoll waits and context switches per operation.
# Prints a markdown table and keeps every JSON in $PERCORE_OUT.
#
# Environment:
#   PERCORE_SERVER_CPU=1 PERCORE_LOAD_CPU=0   CPUs (default: the last and the first)
#   PERCORE_ROUND=3s PERCORE_ROUNDS=6         ABBA rounds per server
#   PERCORE_OPS=300000                        requests of each perf stat run
#   PERCORE_OUT=bin/percore                   results directory
# Every server listens on 127.0.0.1 and is killed on exit.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"

ncpu=$(nproc)
SCPU="${PERCORE_SERVER_CPU:-$((ncpu - 1))}"
LCPU="${PERCORE_LOAD_CPU:-0}"
PROTOS="${PERCORE_PROTOS:-text meta binary}"
CONNS="${PERCORE_CONNS:-1 4 64 512}"
MULTI_CONNS="${PERCORE_MULTI_CONNS:-4 64}"
ROUND="${PERCORE_ROUND:-3s}"
ROUNDS="${PERCORE_ROUNDS:-6}"
OPS="${PERCORE_OPS:-300000}"
OUT="${PERCORE_OUT:-bin/percore}"
[ "$SCPU" != "$LCPU" ] || { echo "percore: server and load need different CPUs (nproc $ncpu)" >&2; exit 1; }
for c in taskset perf python3; do
	command -v "$c" >/dev/null || { echo "percore: $c missing" >&2; exit 1; }
done
MC18=/usr/bin/memcached
[ -x "$MC18" ] || { echo "percore: $MC18 missing (make interop installs it)" >&2; exit 1; }
MC145="$(bash scripts/mc145.sh)/memcached"

mkdir -p bin "$OUT"
go build -o bin/gocached .
GC="$repo/bin/gocached"
BENCH=(taskset -c "$LCPU" "$GC" bench)

pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT
user=()
[ "$(id -u)" != 0 ] || user=(-u root)
ports=($("$GC" bench freeport -n 3))
start() { # name port binary args...
	local name=$1 port=$2 bin=$3
	shift 3
	taskset -c "$SCPU" "$bin" -p "$port" -l 127.0.0.1 -U 0 -t 1 -m 1024 -c 4096 "$@" >"$OUT/$name.log" 2>&1 &
	pids+=($!)
	eval "pid_$name=$!"
	for _ in $(seq 100); do
		"$GC" bench -s "127.0.0.1:$port" -c 1 -n 1 >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	echo "percore: $name did not start:" >&2
	cat "$OUT/$name.log" >&2
	exit 1
}
start gocached "${ports[0]}" "$GC"
start mc145 "${ports[1]}" "$MC145" "${user[@]}"
start mc18 "${ports[2]}" "$MC18" "${user[@]}"
declare -A port=([gocached]=${ports[0]} [mc145]=${ports[1]} [mc18]=${ports[2]})
declare -A pid=([gocached]=$pid_gocached [mc145]=$pid_mc145 [mc18]=$pid_mc18)

for s in gocached mc145 mc18; do # every key present: gets hit
	"${BENCH[@]}" -s "127.0.0.1:${port[$s]}" --prefill-only --json >/dev/null
done

echo "percore: servers on CPU $SCPU, load on CPU $LCPU; $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); $(uname -r)" >&2
{
	echo "| workload | conns | vs | throughput | server CPU/op | p50 | p99 | gocached p50/p99 µs | memcached p50/p99 µs |"
	echo "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"
} >"$OUT/ratios.md"
# Each case: name|connections|bench flags. One request per round trip for
# every protocol and connection count, then multi-gets and pipelines.
cases=()
for proto in $PROTOS; do
	for conns in $CONNS; do
		cases+=("$proto|$conns|-P $proto")
	done
done
for conns in $MULTI_CONNS; do
	cases+=("text multiget 50|$conns|-P text --multiget 50" "text pipeline 16|$conns|-P text --pipeline 16")
done
for c in "${cases[@]}"; do
	IFS='|' read -r name conns flags <<<"$c"
	for ref in mc145 mc18; do
		f="$OUT/${name// /-}-$conns-$ref.json"
		# shellcheck disable=SC2086
		"${BENCH[@]}" -s "127.0.0.1:${port[gocached]}" --name gocached --server-pid "${pid[gocached]}" \
			--compare "127.0.0.1:${port[$ref]}" --compare-name "$ref" --compare-pid "${pid[$ref]}" \
			$flags -c "$conns" -t "$((${ROUND%s} * ROUNDS))s" --rounds "$ROUNDS" --json >"$f"
		python3 - "$f" "$name" "$conns" "$ref" >>"$OUT/ratios.md" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
r, s = d["ratios"], d["servers"]
lat = lambda x: "%.0f / %.0f" % (x["latency_us"]["p50"], x["latency_us"]["p99"])
print("| %s | %s | %s | %.2f | %.2f | %.2f | %.2f | %s | %s |" % (sys.argv[2], sys.argv[3], sys.argv[4],
      r["ops_per_sec"], r["cpu_per_op"], r["p50"], r["p99"], lat(s[0]), lat(s[1])))
EOF
		tail -1 "$OUT/ratios.md" >&2
	done
done

events=raw_syscalls:sys_enter,syscalls:sys_enter_read,syscalls:sys_enter_recvfrom,syscalls:sys_enter_write,syscalls:sys_enter_sendto,syscalls:sys_enter_sendmsg,syscalls:sys_enter_epoll_wait,syscalls:sys_enter_epoll_pwait,sched:sched_switch
{
	echo "| protocol | conns | server | syscalls/op | reads/op (read, recvfrom) | writes/op (write, sendto, sendmsg) | epoll waits/op | context switches/op |"
	echo "| --- | --- | --- | --- | --- | --- | --- | --- |"
} >"$OUT/syscalls.md"
for proto in $PROTOS; do
	for conns in $CONNS; do
		for s in gocached mc145 mc18; do
			f="$OUT/perf-$proto-$conns-$s"
			perf stat -C "$SCPU" -x, -o "$f.csv" -e "$events" -- \
				"${BENCH[@]}" -s "127.0.0.1:${port[$s]}" -P "$proto" -c "$conns" -n "$OPS" --json >"$f.json"
			python3 - "$f" "$proto" "$conns" "$s" >>"$OUT/syscalls.md" <<'EOF'
import json, sys
f = sys.argv[1]
ops = json.load(open(f + ".json"))["servers"][0]["ops"]
n = {}
for line in open(f + ".csv"):
    p = line.strip().split(",")
    if len(p) > 2 and p[0].isdigit():
        n[p[2]] = int(p[0])
g = lambda k: n.get(k, 0) / ops
sc = lambda *ks: sum(g("syscalls:sys_enter_" + k) for k in ks)
print("| %s | %s | %s | %.2f | %.2f | %.2f | %.2f | %.2f |" % (sys.argv[2], sys.argv[3], sys.argv[4],
      g("raw_syscalls:sys_enter"), sc("read", "recvfrom"), sc("write", "sendto", "sendmsg"),
      sc("epoll_wait", "epoll_pwait"), g("sched:sched_switch")))
EOF
			tail -1 "$OUT/syscalls.md" >&2
		done
	done
done
echo
echo "Ratios are gocached ÷ memcached (ABBA, $ROUNDS rounds of $ROUND each, \`gocached bench\`: 90/10 get/set of 100-byte values, 100 000 keys prefilled; one request per round trip but for the multiget and pipeline rows; a multi-get counts as one operation)."
echo
cat "$OUT/ratios.md"
echo
echo "Per operation on the server's CPU (\`perf stat -C $SCPU\`, $OPS requests each server on its own):"
echo
cat "$OUT/syscalls.md"
