# gocached: the two commands are `make run` and `make test`.
GO      ?= go
BIN     := bin/gocached
ARGS    ?= -p 11211 -m 64 -v

.PHONY: build run test race interop reliability soak bench bench-percore bench-scaling bench-hitratio bench-missratio lint fuzz fuzz-short clean

build:
	$(GO) build -o $(BIN) .

run: build
	./$(BIN) $(ARGS)

# Unit and in-process integration tests, with the race detector; then the
# allocation tests, which the race detector's own allocations make skip, on
# their own without it (a SKIP there fails the target); then a few seconds of
# every fuzz target.
ALLOC_TESTS := NoAllocation|DoNotAllocate|DoesNotAllocate|NoAllocs
test:
	$(GO) vet ./...
	$(GO) test -race -count=1 ./...
	@mkdir -p bin
	$(GO) test -count=1 -run '$(ALLOC_TESTS)' -v ./protocol/ ./server/ ./store/ > bin/alloc-tests.log 2>&1 || { cat bin/alloc-tests.log; exit 1; }
	@grep -E '^(--- |ok|FAIL)' bin/alloc-tests.log
	@! grep -q -- '--- SKIP' bin/alloc-tests.log
	@$(MAKE) --no-print-directory fuzz-short

# Tests against Debian's memcached and libmemcached-tools (installed when
# missing), then memcached 1.6.45's own t/ suite against gocached
# (scripts/mctest.sh; 1.6.45 is built once by scripts/mc145.sh, cached in
# ~/.cache/gocached).
interop:
	bash scripts/interop.sh
	bash scripts/mctest.sh

# The hostile-client suite alone (TestHostile, interop/hostile_*_test.go):
# every misbehaving-client scenario against memcached 1.6.18 and gocached in
# one run, about 4 minutes; rewrites RELIABILITY.md. make interop runs it
# too, without the rewrite.
reliability:
	HOSTILE_REPORT=$(CURDIR)/RELIABILITY.md bash scripts/interop.sh -run TestHostile -timeout 14m

# Long runs of the differential tests (text, meta, many interleaved
# connections, pipelines, binary), a new seed every round, for SOAK_MINUTES
# (default 30); stops at the first failure and prints its seed. Not run by
# CI (.ci/run). See scripts/soak.sh for SOAK_SEED, SOAK_N, SOAK_CONNS.
soak:
	bash scripts/soak.sh

# gocached side by side with memcached 1.6.18 (gocached bench, memcslap,
# memcaslap); rewrites the results table in BENCHMARKS.md. BENCH_GO=1 adds
# the Go benchmarks of the hot paths.
bench:
	bash scripts/bench.sh

# Per core (issue 13): gocached, memcached 1.6.45 and 1.6.18 with -t 1
# pinned to one CPU, the load on the other; ratios, p50/p99, and syscalls
# and context switches per operation (perf stat -C), at 1, 4, 64 and 512
# connections, plus text multi-gets and pipelines at 4 and 64. About 25
# minutes.
bench-percore:
	bash scripts/percore.sh

# Cache-aside hit ratios at equal -m (Zipf, ETC sizes, scans, short TTLs),
# each server fresh per workload. About 25 minutes at HR_M=64.
bench-hitratio:
	bash scripts/hitratio.sh

# Miss ratio against cache size on the ETC and scan mixes (-m 16 to 256),
# gocached and both memcacheds, drawn to bench/results/missratio.svg. About
# 40 minutes.
bench-missratio:
	HR_M="16 32 64 128 256" HR_ONLY="etc scan" HR_OUT=bin/missratio HR_PLOT=bench/results/missratio.svg bash scripts/hitratio.sh

# -t 1 against -t 2 for gocached and memcached 1.6.45 (64 connections, one
# request per round trip and pipelines of 16). About 3 minutes.
bench-scaling:
	bash scripts/scaling.sh

lint:
	gofmt -l . | (! grep .)
	$(GO) vet ./...
	$(GO) run honnef.co/go/tools/cmd/staticcheck@v0.8.2 ./...

# Every fuzz target (package:Name), each with a seed corpus committed under
# its package's testdata/fuzz/.
FUZZ_PARSERS := protocol:FuzzTextLine protocol:FuzzUDPHeader protocol:FuzzBinaryRequest protocol:FuzzMetaFlags
FUZZ_WHOLE   := server:FuzzText server:FuzzBinary store:FuzzStoreOps

# Three seconds of each fuzz target (part of `make test`).
fuzz-short:
	GO=$(GO) bash scripts/fuzz.sh 3s $(FUZZ_PARSERS) $(FUZZ_WHOLE)

# A longer session: every protocol parser, then whole connections (text and
# binary streams through the server) and the store's operation sequences
# against its model.
fuzz:
	GO=$(GO) bash scripts/fuzz.sh 20s $(FUZZ_PARSERS)
	GO=$(GO) bash scripts/fuzz.sh 45s $(FUZZ_WHOLE)

clean:
	rm -rf bin
