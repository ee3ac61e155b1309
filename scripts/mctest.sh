#!/usr/bin/env bash
# memcached 1.6.45's own test suite (its t/*.t, Perl, prove) against
# gocached standing in for memcached-debug (part of make interop).
#
#   scripts/mctest.sh                 # every file, plaintext then over TLS
#   scripts/mctest.sh getset.t cas.t  # some files (tls/getset.t: over TLS)
#
# The t/ssl_*.t files always run with SSL_TEST=1 (without it they skip
# everything). A second pass reruns the suite with SSL_TEST=1, which makes
# memcached's harness start the daemon with -Z and the certificates in t/
# and talk to it over TLS; its files are named tls/FILE here (in the
# results). A file listed in the known failures fails over TLS for the
# same reason: tls/FILE counts as listed when FILE is (or tls/FILE itself,
# for a reason of TLS's own), and a full run does not rerun such files
# over TLS (they would only fail again, some after a timeout). The TLS pass
# adds about 2 minutes here (the first takes 3); MCTEST_SSL=0 leaves it
# out.
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

# reason NAME: the known-failures line of NAME (tls/FILE: its own, or
# FILE's); nothing when it is not listed.
reason() {
	grep "^$1[[:space:]]" "$known" || grep "^${1#tls/}[[:space:]]" "$known"
}

mkdir -p "$repo/bin"
(cd "$repo" && go build -o bin/gocached .) || exit 1

# A file is set aside when it needs the proxy or extstore (gocached has
# neither) or is not a test. Then the TLS pass: every file again as
# tls/FILE, but the ssl_*.t files, which the first pass runs over TLS.
candidates() {
	local f
	for f in "$mc"/t/*.t; do
		f="$(basename "$f")"
		case "$f" in
		proxy* | *extstore* | extstore*) continue ;;
		esac
		echo "$f"
	done
	[ "${MCTEST_SSL:-1}" = 0 ] && return
	for f in "$mc"/t/*.t; do
		f="$(basename "$f")"
		case "$f" in
		proxy* | *extstore* | extstore* | ssl_*) continue ;;
		esac
		echo "tls/$f"
	done
}

# run_suite DIR EXE NAME...: copy of t/ in DIR with EXE as memcached-debug;
# prints "pass NAME" or "fail NAME" for each (NAME: FILE, or tls/FILE for
# FILE with SSL_TEST=1; ssl_*.t always have it).
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
	# A file gocached must pass gets a second run when the first fails:
	# some of memcached's files are timing-dependent (watcher*.t wait for
	# log lines with short timeouts), and two cores shared by the suite's
	# two parallel files and their servers are not a quiet machine. A
	# failure counts when it repeats.
	local f
	for f in "$@"; do
		if [ "$exe" != "$mc/memcached-debug" ] && reason "$f" >/dev/null; then
			echo "$f $known_timeout 0"
		elif [ "$exe" != "$mc/memcached-debug" ]; then
			echo "$f $per_file 1"
		else
			echo "$f $per_file 0"
		fi
	done | xargs -P 2 -L 1 sh -c '
		f="${2#tls/}" log="out/$(echo "$2" | tr / _).log" ssl=
		case "$2" in tls/* | ssl_*) ssl=1 ;; esac
		cd "$1" || exit 1
		if SSL_TEST=$ssl timeout -k 5 "$3" prove -v "t/$f" >"$log" 2>&1; then
			echo "pass $2"
		elif [ "$4" = 1 ] && SSL_TEST=$ssl timeout -k 5 "$3" prove -v "t/$f" >"$log" 2>&1; then
			echo "pass $2"
			echo "mctest: $2 passed on its second run" >&2
		else
			echo "fail $2"
		fi
	' _ "$dir"
}

if [ "$#" -gt 0 ]; then
	files=("$@")
else
	mapfile -t files < <(candidates | while read -r f; do
		case "$f" in
		tls/*) grep -q "^${f#tls/}[[:space:]]" "$known" && ! grep -q "^$f[[:space:]]" "$known" && continue ;;
		esac
		echo "$f"
	done)
fi

# memcached's own results, once per build (v2: with the ssl_*.t files over
# TLS and the tls/ pass).
ref="$mc/.mctest-pass-v2"
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

bad=0 passed=0 counted=0 tls_passed=0 tls_counted=0
while read -r verdict f; do
	grep -qx "$f" "$ref" || continue # memcached fails it here: not counted
	case "$f" in
	tls/*)
		tls_counted=$((tls_counted + 1))
		[ "$verdict" = pass ] && tls_passed=$((tls_passed + 1))
		;;
	esac
	counted=$((counted + 1))
	listed=0
	reason "$f" >/dev/null && listed=1
	[ "$verdict" = fail ] && [ "$listed" = 1 ] && echo "mctest: $f fails (listed: $(reason "$f" | head -1 | cut -f2-))" >&2
	if [ "$verdict" = pass ]; then
		passed=$((passed + 1))
		if [ "$listed" = 1 ]; then
			echo "mctest: $f passes but is listed in $(basename "$known"): take it off the list" >&2
			bad=1
		fi
	elif [ "$listed" = 0 ]; then
		echo "mctest: $f FAILS against gocached (memcached 1.6.45 passes it); output:" >&2
		grep -vE '^ok ' "$work/out/$(echo "$f" | tr / _).log" | head -40 | sed 's/^/    /' >&2
		bad=1
	fi
done <"$work/results"
echo "mctest: gocached passes $passed of the $counted files memcached 1.6.45 passes ($(($(date +%s) - started)) s)" >&2
if [ "$tls_counted" -gt 0 ]; then
	echo "mctest: of them over TLS (SSL_TEST=1): $tls_passed of $tls_counted; the t/ssl_*.t files are in the first pass" >&2
fi
if [ "$bad" != 0 ] && [ "${MCTEST_KEEP:-0}" = 1 ]; then
	echo "mctest: outputs in $work/out" >&2
fi
exit "$bad"
