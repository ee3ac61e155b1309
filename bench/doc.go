// Package bench owns gocached's load generator: workloads (connections,
// pipeline depth, key space and distribution, value sizes, get:set ratio,
// multi-gets, TTLs), the client side of the text, meta and binary protocols
// it speaks, the log-linear latency histogram it measures with, the
// side-by-side comparison of two servers in alternating rounds, reading a
// server's CPU time and resident memory from /proc, and the reports it
// prints (text, JSON, SVG/PNG plots, the BENCHMARKS.md table).
//
// It is a client and nothing else: it never imports server, store or
// protocol (its tests start in-process servers, the package does not), so
// it measures any memcached-compatible daemon the same way. Everything it
// sends goes to the addresses it is given; `make bench` gives it loopback
// ports only.
package bench
