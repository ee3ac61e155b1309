// Package client is gocached's Go client. It owns:
//
//   - the key distribution: a ketama ring that is bit-for-bit the one
//     libmemcached 1.1 builds with MEMCACHED_BEHAVIOR_KETAMA_WEIGHTED and
//     twemproxy builds with "hash: md5, distribution: ketama" (ring.go),
//     and gomemcache's crc32-modulo list for users migrating from it
//     (modulo.go), so Go, C/PHP and proxy clients agree where a key lives;
//   - per-server connection pools with idle and open limits and dial, read
//     and write timeouts (pool.go), the text and meta protocol requests and
//     their replies (conn.go, ops.go), pipelined multi-get fanned out to the
//     servers in parallel (multi.go);
//   - failure handling: a server failing FailureLimit times in a row leaves
//     the ring for RetryTimeout and rejoins once it answers a probe again
//     (health.go), as libmemcached's auto-eject and twemproxy's
//     server_failure_limit/server_retry_timeout;
//   - cache-aside with stampede protection on the meta protocol's
//     vivify/recache/stale flags (load.go), an optional in-process near
//     cache on ristretto (near.go), and ElastiCache-style auto discovery
//     from "config get cluster" (discovery.go);
//   - TLS to the servers and the configuration endpoint when Config.TLS
//     is set (tls.go), as ElastiCache's in-transit encryption needs.
//
// It never imports the daemon's server or store packages: it is a network
// client of any memcached-compatible server, and at most borrows
// protocol's number parsing. Every call takes a context.Context.
package client
