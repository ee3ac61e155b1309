# gocached: the two commands are `make run` and `make test`.
GO      ?= go
BIN     := bin/gocached
ARGS    ?= -p 11211 -m 64 -v

.PHONY: build run test race interop bench lint fuzz clean

build:
	$(GO) build -o $(BIN) .

run: build
	./$(BIN) $(ARGS)

# Unit and in-process integration tests, with the race detector.
test:
	$(GO) vet ./...
	$(GO) test -race -count=1 ./...

# Tests against Debian's memcached and libmemcached-tools (installed when missing).
interop:
	bash scripts/interop.sh

# gocached side by side with memcached 1.6.18 (gocached bench, memcslap,
# memcaslap); rewrites the results table in BENCHMARKS.md. BENCH_GO=1 adds
# the Go benchmarks of the hot paths.
bench:
	bash scripts/bench.sh

lint:
	gofmt -l . | (! grep .)
	$(GO) vet ./...
	$(GO) run honnef.co/go/tools/cmd/staticcheck@v0.8.2 ./...

# Short fuzzing sessions of the text and binary parsers.
fuzz:
	$(GO) test -run '^$$' -fuzz FuzzText -fuzztime 45s ./server/
	$(GO) test -run '^$$' -fuzz FuzzBinary -fuzztime 45s -fuzzminimizetime 3s ./server/
	$(GO) test -run '^$$' -fuzz FuzzBinaryRequest -fuzztime 30s ./protocol/

clean:
	rm -rf bin
