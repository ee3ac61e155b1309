//go:build interop

// Package interop owns gocached's black-box interoperability tests: it
// starts real server processes (Debian's memcached 1.6.18 from PATH and the
// gocached binary named by $GOCACHED_BIN) on free 127.0.0.1 ports and talks
// to them over TCP only. It owns:
//
//   - process helpers (start a server with memcached-style flags, wait until
//     it accepts, kill it at test end);
//   - TestMemccapableASCII, which runs libmemcached's `memccapable -a`
//     against gocached;
//   - TestDifferential, which sends one seeded pseudo-random stream of
//     text and meta commands (see gen_test.go) to memcached and to gocached
//     and requires byte-identical replies per command (CAS uniques are
//     normalised to ordinals);
//   - TestDifferentialInterleaved, the same comparison over DIFF_CONNS
//     connections per server: one seeded sequence of (connection, command)
//     sent one command at a time, with scenarios whose effects cross
//     connections (store on one, cas/incr/delete on others, commands left
//     half written while others change their key);
//   - TestPipeline, the same comparison with many commands in one write;
//   - TestEdgeCases, a table of hand-written probes whose expected replies
//     were observed on memcached 1.6.18 (edgecases_test.go);
//   - the binary protocol: TestMemccapableBinary (`memccapable -b`),
//     TestBinaryMemccpRoundTrip (memccp/memccat --binary, with SASL),
//     TestBinaryDifferential and TestBinarySASLDifferential;
//   - TestUDP: reply datagrams compared with memcached's;
//   - TestPymemcache: one pymemcache session against both servers;
//   - TLS with real clients against memcached -Z and gocached -Z
//     (tls_test.go): openssl s_client sessions (TLS 1.2, 1.3, 1.1 refused,
//     plaintext on TLS and notls: ports), pymemcache with an ssl.SSLContext,
//     client certificates accepted and refused, refresh_certs rotation;
//   - the ring and client: TestRingVectors and TestRingNutcrackerUnnamed
//     (client.Ketama against libmemcached and nutcracker), TestClientTwemproxy,
//     TestClientMemcached, TestClientFailover, TestClientDiscovery;
//   - TestClientFaults (faults_test.go): three nodes under a bounded load
//     while one is SIGKILLed and restarted on its port, one SIGSTOPped and
//     continued, and one slowed by a delaying TCP proxy written in the test:
//     no call outlives its timeouts, the faulty node is ejected and
//     readmitted, errors stop at the ejection, no read returns a value its
//     writer did not store (the exact rule, stale reads after a ring change
//     included, is at checkFaultHistory; TestClientFaultsRule tests it), and
//     no goroutine is left behind.
//   - TestHostile (Linux, build tag reliability too, which make interop
//     sets; make reliability runs it alone): misbehaving clients (slowloris, endless lines,
//     huge declared sizes, clients that never read, connection storms, more
//     connections than -c, half-closed sockets, random bytes, 10 000
//     connections, all at once) against memcached and gocached in turn,
//     with a canary and a writer measuring what honest clients see; its
//     bounds are the const block of hostile_test.go, its table is
//     RELIABILITY.md. The test binary doubles as the honest clients'
//     process (TestMain, hostile_honest_test.go).
//
// `make soak` (scripts/soak.sh) runs the differential tests round after
// round with new seeds for SOAK_MINUTES; a failure prints its DIFF_SEED,
// DIFF_N and DIFF_CONNS.
//
// Every file carries the `interop` build tag, so `go test ./...` ignores the
// package; run it with scripts/interop.sh or
//
//	GOCACHED_BIN=$PWD/bin/gocached go test -tags interop -count=1 -v ./interop/...
//
// Environment:
//
//	GOCACHED_BIN  absolute path of the gocached binary (tests skip without it)
//	DIFF_SELF=1   use memcached in place of gocached everywhere (checks the
//	              harness itself: memcached against memcached must agree)
//	DIFF_REF=1.6.18  the differential tests' reference is Debian's memcached
//	              1.6.18, fed only well-formed commands (scripts/interop.sh runs
//	              them so once more); the default is MEMCACHED_REF (1.6.45)
//	DIFF_SEED     seed of the differential generator (default: time based, logged)
//	DIFF_N        commands per differential run (default 3000)
//	DIFF_CONNS    connections per server in TestDifferentialInterleaved (default 12)
//	DIFF_TRACE    file to which every differential exchange is written
//	HOSTILE_REPORT  file to which TestHostile writes RELIABILITY.md
package interop
