#!/usr/bin/env bash
# Long runs of the differential tests against memcached 1.6.18 (make soak):
# TestDifferential, TestDifferentialInterleaved, TestPipeline and
# TestBinaryDifferential, round after round with a new seed each round, for
# SOAK_MINUTES. It stops at the first failing round and prints its seed and
# the command that replays it. Not part of CI (.ci/run): it runs for half an
# hour by default; `make interop` runs the same tests once, briefly.
#
#   make soak                       # 30 minutes
#   SOAK_MINUTES=5 make soak
#   SOAK_SEED=1234 make soak        # first seed (default: time based)
#
# Environment:
#   SOAK_MINUTES  minutes during which new rounds start (default 30); the
#                 round running when time is up finishes
#   SOAK_SEED     seed of the first round; each round adds 2 (the tests run
#                 their -I 2k configuration with DIFF_SEED+1)
#   SOAK_N        DIFF_N of every round (default 20000: about a minute a round)
#   SOAK_CONNS    DIFF_CONNS values, one per round in turn (default "4 12 32")
#   SOAK_RUN      go test -run pattern (default the four tests above)
#
# Each round's log is bin/soak/round.log; a failing round's is kept as
# bin/soak/FAIL-<seed>.log. memcached must be on PATH (make interop installs
# it).
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"

minutes="${SOAK_MINUTES:-30}"
seed="${SOAK_SEED:-$(date +%s%N)}"
n="${SOAK_N:-20000}"
read -r -a conns_list <<<"${SOAK_CONNS:-4 12 32}"
run="${SOAK_RUN:-^(TestDifferential|TestDifferentialInterleaved|TestPipeline|TestBinaryDifferential)\$}"

command -v memcached >/dev/null || {
	echo "soak: memcached is not on PATH (make interop installs it)" >&2
	exit 1
}

mkdir -p bin/soak
go build -o bin/gocached .
go test -c -tags interop -o bin/soak/interop.test ./interop/
export GOCACHED_BIN="$repo/bin/gocached"

end=$((SECONDS + minutes * 60))
round=0
echo "soak: $(memcached -V) against $GOCACHED_BIN for ${minutes}m, first seed $seed, DIFF_N=$n, -run '$run'"
while [ "$SECONDS" -lt "$end" ]; do
	conns="${conns_list[$((round % ${#conns_list[@]}))]}"
	round=$((round + 1))
	start=$SECONDS
	replay="GOCACHED_BIN=\$PWD/bin/gocached DIFF_SEED=$seed DIFF_N=$n DIFF_CONNS=$conns go test -tags interop -count=1 -v -run '$run' ./interop/"
	# The tests find their testdata relative to the package directory.
	if (cd interop && DIFF_SEED="$seed" DIFF_N="$n" DIFF_CONNS="$conns" \
		../bin/soak/interop.test -test.run "$run" -test.count=1 -test.timeout 30m) >bin/soak/round.log 2>&1; then
		echo "soak: round $round seed $seed DIFF_CONNS=$conns: ok ($((SECONDS - start))s)"
	else
		cp bin/soak/round.log "bin/soak/FAIL-$seed.log"
		echo "soak: round $round FAILED: seed $seed (DIFF_SEED=$seed DIFF_N=$n DIFF_CONNS=$conns)" >&2
		# Without -v the log holds only the failing tests' output.
		grep -v -E '^\s+\S+_test\.go:[0-9]+: (started |[0-9]+ (commands|steps) )' "bin/soak/FAIL-$seed.log" | cut -c1-600 | head -60 >&2 || true
		echo "soak: full log: bin/soak/FAIL-$seed.log" >&2
		echo "soak: replay: $replay" >&2
		exit 1
	fi
	seed=$((seed + 2))
done
echo "soak: $round rounds passed in $((SECONDS / 60))m"
