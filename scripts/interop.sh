#!/usr/bin/env bash
# Interoperability tests: gocached against Debian's memcached 1.6.18 and
# libmemcached's memccapable (package interop/).
#
#   scripts/interop.sh                  # build bin/gocached, run all interop tests
#   scripts/interop.sh -run TestEdge    # extra arguments go to `go test`
#
# Environment (see interop/doc.go): DIFF_SEED, DIFF_N, DIFF_CONNS (connections
# per server in TestDifferentialInterleaved), DIFF_SELF=1 (memcached against
# memcached: checks the harness), DIFF_TRACE=/path/to/trace. scripts/soak.sh
# (make soak) runs the differential tests for a long time with many seeds.
#
# The tests start their own memcached/gocached processes on free 127.0.0.1
# ports and kill them when done; the system memcached service is never used
# (installing the package must not start one on 11211 either).
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"

if ! command -v memcached >/dev/null 2>&1 || ! command -v memccapable >/dev/null 2>&1 || ! /usr/bin/python3 -c "import pymemcache" 2>/dev/null ||
	! command -v nutcracker >/dev/null 2>&1 || ! command -v saslpasswd2 >/dev/null 2>&1 || [ ! -e /usr/include/libmemcached-1.0/memcached.h ] ||
	! command -v openssl >/dev/null 2>&1 || ! perl -MURI::Escape -e 1 2>/dev/null; then
	echo "interop: installing memcached libmemcached-tools python3-pymemcache nutcracker libmemcached-dev sasl2-bin openssl liburi-perl" >&2
	sudo=""
	if [ "$(id -u)" -ne 0 ]; then
		sudo="sudo"
	fi
	# Keep the package's init script from starting a system memcached:
	# a policy-rc.d that answers 101 ("action forbidden") while we install.
	policy=/usr/sbin/policy-rc.d
	made_policy=0
	if [ ! -e "$policy" ]; then
		printf '#!/bin/sh\nexit 101\n' | $sudo tee "$policy" >/dev/null
		$sudo chmod 755 "$policy"
		made_policy=1
	fi
	cleanup_policy() {
		if [ "$made_policy" = 1 ]; then
			$sudo rm -f "$policy"
		fi
	}
	trap cleanup_policy EXIT
	$sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq
	$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
		memcached libmemcached-tools python3-pymemcache nutcracker libmemcached-dev sasl2-bin openssl liburi-perl >/dev/null
	cleanup_policy
	made_policy=0
	trap - EXIT
fi
command -v memcached >/dev/null && command -v memccapable >/dev/null || {
	echo "interop: memcached/memccapable still missing after install" >&2
	exit 1
}
echo "interop: $(memcached -V), memccapable at $(command -v memccapable)" >&2

mkdir -p bin
go build -o bin/gocached .
export GOCACHED_BIN="$repo/bin/gocached"
# The reference memcached: 1.6.45 (built once, cached), whose replies
# gocached follows where they differ from Debian's 1.6.18.
MEMCACHED_REF="$(bash scripts/mc145.sh)/memcached"
export MEMCACHED_REF
# prometheus/memcached_exporter for TestMemcachedExporter (built once, cached).
MEMCACHED_EXPORTER="$(bash scripts/exporter.sh)"
export MEMCACHED_EXPORTER

# The differential tests once more against Debian's 1.6.18, fed only the
# commands both memcached versions answer alike (DIFF_REF=1.6.18, see
# diffReference in interop/server_test.go); not when arguments pick tests.
if [ "$#" -eq 0 ]; then
	DIFF_REF=1.6.18 go test -tags interop -count=1 -timeout 3m -v \
		-run 'TestDifferential$|TestDifferentialInterleaved$|TestPipeline$' ./interop/ || exit 1
fi

# Each server is started by the tests themselves; -timeout bounds the whole run.
# The reliability tag adds the hostile-client suite (TestHostile, about 4
# minutes; make reliability runs it alone).
exec go test -tags "interop reliability" -count=1 -timeout 16m -v ./interop/... "$@"
