# Sourced by the benchmark scripts that compare gocached with memcached
# 1.6.45 and Debian's 1.6.18 (hitratio.sh, memsweep.sh, scaling.sh): builds gocached,
# finds both memcacheds, and starts each server fresh on a free loopback
# port. Needs repo and OUT (the directory for the servers' logs); sets GC
# (the gocached binary), MC145 and MC18.
MC18=/usr/bin/memcached
[ -x "$MC18" ] || { echo "$(basename "$0"): $MC18 missing (make interop installs it)" >&2; exit 1; }
MC145="$(bash "$repo/scripts/mc145.sh")/memcached"
mkdir -p "$repo/bin" "$OUT"
(cd "$repo" && go build -o bin/gocached .)
GC="$repo/bin/gocached"
server_user=()
[ "$(id -u)" != 0 ] || server_user=(-u root)

pid="" port=""
cleanup() { [ -z "$pid" ] || kill "$pid" 2>/dev/null || true; }
trap cleanup EXIT

# start_server NAME M [FLAGS...]: starts gocached, mc145 or mc18 with -m M
# (MB) and FLAGS on a free port, its output in $OUT/NAME.log, and waits
# until it answers; sets pid and port.
start_server() {
	local name=$1 m=$2
	shift 2
	port=$("$GC" bench freeport)
	case $name in
	gocached) "$GC" -p "$port" -l 127.0.0.1 -U 0 -m "$m" "$@" >"$OUT/$name.log" 2>&1 & ;;
	mc145) "$MC145" -p "$port" -l 127.0.0.1 -U 0 -m "$m" "${server_user[@]}" "$@" >"$OUT/$name.log" 2>&1 & ;;
	mc18) "$MC18" -p "$port" -l 127.0.0.1 -U 0 -m "$m" "${server_user[@]}" "$@" >"$OUT/$name.log" 2>&1 & ;;
	*) echo "start_server: unknown server $name" >&2; exit 1 ;;
	esac
	pid=$!
	for _ in $(seq 100); do
		"$GC" bench -s "127.0.0.1:$port" -c 1 -n 1 >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	echo "start_server: $name did not answer on port $port; see $OUT/$name.log" >&2
	exit 1
}

# stop_server stops the server start_server started.
stop_server() {
	kill "$pid"
	wait "$pid" 2>/dev/null || true
	pid=""
}
