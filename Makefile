# gocached: the two commands are `make run` and `make test`.
GO      ?= go
BIN     := bin/gocached
ARGS    ?= -p 11211 -m 64 -v

.PHONY: build run test race interop soak bench lint fuzz clean

build:
	$(GO) build -o $(BIN) .

run: build
	./$(BIN) $(ARGS)

# Unit and in-process integration tests, with the race detector; then the
# allocation tests, which the race detector's own allocations make skip, on
# their own without it (a SKIP there fails the target).
ALLOC_TESTS := NoAllocation|DoNotAllocate|DoesNotAllocate|NoAllocs
test:
	$(GO) vet ./...
	$(GO) test -race -count=1 ./...
	@mkdir -p bin
	$(GO) test -count=1 -run '$(ALLOC_TESTS)' -v ./protocol/ ./server/ ./store/ > bin/alloc-tests.log 2>&1 || { cat bin/alloc-tests.log; exit 1; }
	@grep -E '^(--- |ok|FAIL)' bin/alloc-tests.log
	@! grep -q -- '--- SKIP' bin/alloc-tests.log

# Tests against Debian's memcached and libmemcached-tools (installed when missing).
interop:
	bash scripts/interop.sh

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

lint:
	gofmt -l . | (! grep .)
	$(GO) vet ./...
	$(GO) run honnef.co/go/tools/cmd/staticcheck@v0.8.2 ./...

# Short fuzzing session of every protocol parser, then of whole connections
# (text and binary streams through the server).
fuzz:
	$(GO) test -run '^$$' -fuzz FuzzTextLine -fuzztime 20s ./protocol/
	$(GO) test -run '^$$' -fuzz FuzzUDPHeader -fuzztime 20s ./protocol/
	$(GO) test -run '^$$' -fuzz FuzzBinaryRequest -fuzztime 20s ./protocol/
	$(GO) test -run '^$$' -fuzz FuzzMetaFlags -fuzztime 20s ./protocol/
	$(GO) test -run '^$$' -fuzz FuzzText -fuzztime 45s ./server/
	$(GO) test -run '^$$' -fuzz FuzzBinary -fuzztime 45s -fuzzminimizetime 3s ./server/

clean:
	rm -rf bin
