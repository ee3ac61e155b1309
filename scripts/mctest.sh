#!/usr/bin/env bash
# memcached 1.6.45's own test suite (its t/*.t, Perl, prove) against
# gocached standing in for memcached-debug (part of make interop).
#
#   scripts/mctest.sh                 # every file
#   scripts/mctest.sh getset.t cas.t  # some files
#
# The files memcached 1.6.45 itself passes on this machine (proxy and
# extstore files aside) are found once by running the suite against the real
# build and cached beside it (scripts/mc145.sh). Each of those must pass
# against gocached, except the files listed with their reason in
# interop/testdata/mctest-known-failures.txt (and README's compatibility
# section); a listed file that passes is an error too, so the list stays
# true. MCTEST_KEEP=1 keeps the work directory with each file's output.
# MCTEST_TIMEOUT bounds each file (seconds, default 120), MCTEST_KNOWN_TIMEOUT
# each listed one (default 25).
set -uo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
mc="$(bash "$repo/scripts/mc145.sh")" || exit 1
known="$repo/interop/testdata/mctest-known-failures.txt"
per_file="${MCTEST_TIMEOUT:-120}"
# A listed (known failing) file only has to fail: some hang waiting for
# replies gocached does not give, so they get a short bound.
known_timeout="${MCTEST_KNOWN_TIMEOUT:-25}"

mkdir -p "$repo/bin"
(cd "$repo" && go build -o bin/gocached .) || exit 1

# A file is set aside when it needs the proxy or extstore (gocached has
# neither) or is not a test.
candidates() {
	local f
	for f in "$mc"/t/*.t; do
		f="$(basename "$f")"
		case "$f" in
		proxy* | *extstore* | extstore*) continue ;;
		esac
		echo "$f"
	done
}

# run_suite DIR EXE FILE...: copy of t/ in DIR with EXE as memcached-debug;
# prints "pass FILE" or "fail FILE" for each file.
run_suite() {
	local dir="$1" exe="$2"
	shift 2
	mkdir -p "$dir/out"
	cp -r "$mc/t" "$dir/t"
	ln -sf "$mc/timedrun" "$dir/timedrun"
	ln -sf "$mc/scripts" "$dir/scripts"
	ln -sf "$mc/doc" "$dir/doc"
	# GOCACHED_MEMCACHED_DEBUG: gocached takes memcached-debug's debugtime.
	printf '#!/bin/sh\nGOCACHED_MEMCACHED_DEBUG=1 exec %s "$@"\n' "$exe" >"$dir/memcached-debug"
	chmod 755 "$dir/memcached-debug"
	# Two files at a time: the machine has two cores.
	local f
	for f in "$@"; do
		if [ "$exe" != "$mc/memcached-debug" ] && grep -q "^$f[[:space:]]" "$known"; then
			echo "$f $known_timeout"
		else
			echo "$f $per_file"
		fi
	done | xargs -P 2 -L 1 sh -c '
		cd "$1" && if timeout -k 5 "$3" prove -v "t/$2" >"out/$2.log" 2>&1; then echo "pass $2"; else echo "fail $2"; fi
	' _ "$dir"
}

if [ "$#" -gt 0 ]; then
	files=("$@")
else
	mapfile -t files < <(candidates)
fi

# memcached's own results, once per build.
ref="$mc/.mctest-pass"
if [ ! -f "$ref" ]; then
	echo "mctest: running the suite against memcached 1.6.45 once (cached in $ref)" >&2
	w="$(mktemp -d)"
	mapfile -t all < <(candidates)
	run_suite "$w" "$mc/memcached-debug" "${all[@]}" | sort >"$w/results"
	grep '^pass ' "$w/results" | cut -d' ' -f2 >"$ref.tmp"
	grep '^fail ' "$w/results" >&2 && echo "mctest: memcached 1.6.45 itself fails the files above here" >&2
	mv "$ref.tmp" "$ref"
	rm -rf "$w"
fi

work="$(mktemp -d)"
[ "${MCTEST_KEEP:-0}" = 1 ] || trap 'rm -rf "$work"' EXIT
started=$(date +%s)
run_suite "$work" "$repo/bin/gocached" "${files[@]}" | sort -k2 >"$work/results"

bad=0 passed=0 counted=0
while read -r verdict f; do
	grep -qx "$f" "$ref" || continue # memcached fails it here: not counted
	counted=$((counted + 1))
	listed=0
	grep -q "^$f[[:space:]]" "$known" && listed=1
	[ "$verdict" = fail ] && [ "$listed" = 1 ] && echo "mctest: $f fails (listed: $(grep "^$f[[:space:]]" "$known" | cut -f2-))" >&2
	if [ "$verdict" = pass ]; then
		passed=$((passed + 1))
		if [ "$listed" = 1 ]; then
			echo "mctest: $f passes but is listed in $(basename "$known"): take it off the list" >&2
			bad=1
		fi
	elif [ "$listed" = 0 ]; then
		echo "mctest: $f FAILS against gocached (memcached 1.6.45 passes it); output:" >&2
		grep -vE '^ok ' "$work/out/$f.log" | head -40 | sed 's/^/    /' >&2
		bad=1
	fi
done <"$work/results"
echo "mctest: gocached passes $passed of the $counted files memcached 1.6.45 passes ($(($(date +%s) - started)) s)" >&2
if [ "$bad" != 0 ] && [ "${MCTEST_KEEP:-0}" = 1 ]; then
	echo "mctest: outputs in $work/out" >&2
fi
exit "$bad"
