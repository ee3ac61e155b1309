#!/usr/bin/env bash
# Memory per item (issue 13): gocached, memcached 1.6.45 and 1.6.18 over a
# sweep of key lengths × value sizes and Facebook's ETC mix.
#
#   scripts/memsweep.sh
#   MS_KEYS="30" MS_VALUES="100 1000" MS_ETC=0 scripts/memsweep.sh
#
# For each size, each server is started fresh twice:
#  - at -m 4096, N distinct items are set (`gocached bench hitratio --fill`,
#    one connection); overhead per item = RSS growth ÷ N − key − value;
#  - at -m 64, 4 × 64 MB of the same items are set; items kept =
#    curr_items at the end.
# Prints a markdown table with gocached ÷ each memcached.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
KEYS="${MS_KEYS:-10 30 60}"
VALUES="${MS_VALUES:-10 100 1000 10000}"
OUT="${MS_OUT:-bin/memsweep}"
# shellcheck source=servers.sh
. scripts/servers.sh

rss() { awk '/^VmRSS/ {printf "%d\n", $2 * 1024}' "/proc/$1/status"; }
stat() { # port name
	python3 - "$1" "$2" <<'PY'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(b"stats\r\n")
b = b""
while not b.endswith(b"END\r\n"):
    b += s.recv(65536)
for l in b.decode().splitlines():
    p = l.split()
    if len(p) == 3 and p[1] == sys.argv[2]:
        print(p[2])
PY
}
# one server-name m sizes n: prints "rss_growth curr_items key_value_bytes"
one() {
	local name=$1 m=$2 sizes=$3 n=$4
	start_server "$name" "$m"
	local before after items kv
	before=$(rss "$pid")
	kv=$("$GC" bench hitratio -s "127.0.0.1:$port" --fill -n "$n" --sizes "$sizes" --batch 200 --json |
		python3 -c 'import json, sys; print(json.load(sys.stdin)["results"][0]["set_bytes"])')
	sleep 0.5
	after=$(rss "$pid")
	items=$(stat "$port" curr_items)
	stop_server
	echo "$((after - before)) $items $kv"
}

echo "| key × value | items | gocached overhead B/item | 1.6.45 | 1.6.18 | ÷ 1.6.45 | ÷ 1.6.18 | items kept at -m 64: gocached | 1.6.45 | 1.6.18 | ÷ 1.6.45 | ÷ 1.6.18 |"
echo "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"
cases=()
for k in $KEYS; do for v in $VALUES; do cases+=("$k:$v"); done; done
[ "${MS_ETC:-1}" = 0 ] || cases+=("etc")
for c in "${cases[@]}"; do
	if [ "$c" = etc ]; then
		sizes=etc label="ETC mix" klen=0 vlen=0 n=1000000
		per=250 # mean item bytes, for the -m 64 fill
	else
		klen=${c%:*} vlen=${c#*:}
		# The replay's keys are INDEX: padded with k to 14 bytes (sizes N);
		# other key lengths come from ETC draws only, so key length here is
		# set through the value: a key of 14 bytes and a value of
		# klen - 14 + vlen bytes carries the same item bytes.
		sizes=$((klen - 14 + vlen)) label="${klen}×${vlen}"
		n=$((3000000000 / (klen + vlen + 100)))
		[ "$n" -le 1000000 ] || n=1000000
		per=$((klen + vlen))
	fi
	fill=$((4 * 64 * 1024 * 1024 / per))
	row=()
	for s in gocached mc145 mc18; do
		read -r growth _ kv < <(one "$s" 4096 "$sizes" "$n")
		read -r _ kept _ < <(one "$s" 64 "$sizes" "$fill")
		row+=("$growth" "$kept")
	done
	python3 - "$label" "$n" "$kv" "${row[@]}" <<'PY'
import sys
label, n, kv = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
g, gk, m5, m5k, m8, m8k = map(int, sys.argv[4:])
o = [x / n - kv / n for x in (g, m5, m8)]
print("| %s | %d | %.0f | %.0f | %.0f | %.2f | %.2f | %d | %d | %d | %.3f | %.3f |" % (
    label, n, o[0], o[1], o[2], o[0] / o[1], o[0] / o[2], gk, m5k, m8k, gk / m5k, gk / m8k))
PY
done
