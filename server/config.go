package server

import (
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/gocached/gocached/store"
)

// Config is everything the daemon is started with. Field comments name the
// memcached flag each one mirrors; defaults are memcached 1.6.18's.
type Config struct {
	Port           int      // -p, TCP port; 0 = off
	UDPPort        int      // -U, UDP port; 0 = off; negative: any free port
	UnixSocket     string   // -s, unix socket path; disables TCP
	UnixMask       uint32   // -a, socket file mode
	Listen         []string // -l, addresses to bind TCP on; empty = all
	MemoryLimitMB  int      // -m
	MaxConns       int      // -c
	Threads        int      // -t, GOMAXPROCS
	MaxItemSize    int      // -I, bytes
	GrowthFactor   float64  // -f
	MinChunk       int      // -n
	Verbosity      int      // -v count
	NoEvictions    bool     // -M
	NoCAS          bool     // -C
	ReqsPerEvent   int      // -R
	Protocol       string   // -B auto|ascii|binary
	Backlog        int      // -b
	EnableShutdown bool     // -A
	FlushDisabled  bool     // -F
	DumpDisabled   bool     // -X: no stats cachedump, stats detail
	WatchDisabled  bool     // -W: no watch
	// PrefixDelimiter (-D, default ':') ends the prefix `stats detail`
	// counts keys by; -D also turns detail on (DetailEnabled).
	PrefixDelimiter byte
	DetailEnabled   bool
	IdleTimeout     time.Duration // -o idle_timeout
	SlabReassign    bool          // -o slab_reassign
	SlabAutomove    int           // -o slab_automove
	HashPower       int           // -o hashpower
	ReadBufLimitMB  int           // -o read_buf_mem_limit: cap on connection buffer memory, MB; 0 = none
	MemoryFile      string        // -e: item memory in this file, resumed after a graceful stop (restart.go)
	// BeforeServe, when set, runs once Listen has bound the TCP, unix and
	// UDP sockets and before any is served (or the metrics listener
	// opened): the daemon drops privileges there (-u).
	BeforeServe func() error
	Version     string // reported by `version` and stats
	// DebugCommands enables memcached-debug's debugtime (the daemon sets
	// it when GOCACHED_MEMCACHED_DEBUG=1, as memcached's test suite needs).
	DebugCommands bool
	// Reported holds `stats settings` values (memcached's names) of
	// options gocached accepts without a mechanism they could tune.
	Reported map[string]string
	// ShutdownTimeout bounds how long a graceful stop (SIGTERM, SIGUSR1,
	// shutdown graceful) waits for requests in flight; -o shutdown_timeout.
	ShutdownTimeout time.Duration

	SASL         bool   // -S: binary SASL PLAIN required before commands
	SASLPassFile string // password file for SASL, lines user:password
	AuthFile     string // -Y: ascii auth file, lines user:password

	Cluster *ClusterConfig // --cluster-config: answers "config get cluster"; nil = unknown command

	// Observability (gocached only; observe.go, latency.go, metrics.go).
	MetricsListen string    // -o metrics_listen: ADDR:PORT of the Prometheus /metrics endpoint; "" = none
	Latency       bool      // per-command latency histograms (stats latency, /metrics)
	LatencySample int       // time one batch in N (counted N times); 0 = DefaultLatencySample
	HotKeySample  int       // hot keys: sample one request in N (stats hotkeys, /metrics); 0 or less = off
	TLS           TLSConfig // -Z and -o ssl_* (tls.go)

	now func() time.Time // store clock; tests replace it
	// crowdedAbove: connections holding goroutines past which idle ones
	// park at once (park.go); 0 is the default, tests lower it.
	crowdedAbove int64
}

// reportedDefaults are memcached 1.6.45's defaults of the settings in
// Config.Reported: what `stats settings` and /metrics show when an option
// was not given.
var reportedDefaults = map[string]string{
	"slab_automove_ratio": "0.80", "slab_automove_window": "10", "lru_crawler": "yes",
	"lru_crawler_sleep": "100", "lru_crawler_tocrawl": "0", "tail_repair_time": "0",
	"hash_algorithm": "xxh3", "lru_maintainer_thread": "no", "hot_lru_pct": "20",
	"warm_lru_pct": "40", "hot_max_factor": "0.20", "warm_max_factor": "2.00",
	"temporary_ttl": "61", "watcher_logbuf_size": "262144", "worker_logbuf_size": "65536",
	"track_sizes":   "no",
	"ext_item_size": "512", "ext_item_age": "4294967295", "ext_low_ttl": "0",
	"ext_recache_rate": "2000", "ext_wbuf_size": "4194304", "ext_compact_under": "0",
	"ext_drop_under": "0", "ext_max_sleep": "1000000", "ext_max_frag": "0.80",
	"slab_automove_freeratio": "0.010", "ext_drop_unread": "no",
}

// Setting is the `stats settings` value of an option gocached accepts
// without a mechanism of its own: the value given (memcached's checks
// passed) or memcached's default.
func (c *Config) Setting(name string) string {
	if v, ok := c.Reported[name]; ok {
		return v
	}
	return reportedDefaults[name]
}

// DefaultGrowthFactor is the default -f, memcached's 1.25. Larger caches
// can use -f 1.08 to round items up less (see store.DefaultGrowthFactor).
const DefaultGrowthFactor = store.DefaultGrowthFactor

// DefaultHotKeySample is the hot-key sampling the daemon turns on with
// -o metrics_listen: one request in 100.
const DefaultHotKeySample = 100

// DefaultShutdownTimeout is how long a graceful stop waits for requests in
// flight by default: under systemd's TimeoutStopSec of the unit in deploy/.
const DefaultShutdownTimeout = 10 * time.Second

// DefaultConfig returns memcached's defaults.
func DefaultConfig() Config {
	return Config{
		Port:            11211,
		UnixMask:        0o700,
		MemoryLimitMB:   64,
		MaxConns:        1024,
		Threads:         4,
		MaxItemSize:     1 << 20,
		GrowthFactor:    DefaultGrowthFactor,
		MinChunk:        48,
		ReqsPerEvent:    20,
		Protocol:        "auto",
		Backlog:         1024,
		SlabReassign:    true,
		SlabAutomove:    1,
		HashPower:       16,
		Version:         "1.6.45",
		ShutdownTimeout: DefaultShutdownTimeout,
		TLS:             DefaultTLSConfig(),
	}
}

// Validate checks the settings memcached refuses at startup.
func (c *Config) Validate() error {
	switch {
	case c.MaxConns <= 0:
		return errors.New("maximum connections must be greater than 0")
	case c.Threads <= 0:
		return errors.New("number of threads must be greater than 0")
	case c.GrowthFactor <= 1:
		return errors.New("factor must be greater than 1")
	case c.MinChunk <= 0:
		return errors.New("chunk size must be greater than 0")
	case c.MemoryLimitMB <= 0:
		return errors.New("memory limit must be greater than 0")
	case c.MaxItemSize < 1024:
		return errors.New("item max size cannot be less than 1024 bytes")
	case c.MaxItemSize > 1<<30:
		return errors.New("cannot set item size limit higher than 1 gigabyte")
	case int64(c.MaxItemSize) > int64(c.MemoryLimitMB)<<20/2:
		return errors.New("cannot set item size limit higher than 1/2 of memory max")
	case c.SlabAutomove < 0 || c.SlabAutomove > 2:
		return errors.New("slab_automove must be between 0 and 2")
	case c.ShutdownTimeout < 0:
		return errors.New("shutdown_timeout must not be negative")
	case c.ReadBufLimitMB < 0:
		return errors.New("could not parse argument to read_buf_mem_limit")
	case c.LatencySample < 0:
		return errors.New("latency_sample must not be negative")
	case c.HashPower < 0 || c.HashPower > 32:
		return errors.New("hashpower must be between 12 and 32")
	case c.UDPPort != 0 && c.AuthFile != "":
		// One UDP pseudo-connection serves every sender: nothing to
		// authenticate.
		return errors.New("cannot use UDP with ascii authentication enabled (-U 0 to disable)")
	case c.UDPPort != 0 && c.SASL:
		return errors.New("cannot enable UDP while using binary SASL authentication")
	}
	if err := c.TLS.validate(c); err != nil {
		return err
	}
	switch c.Protocol {
	case "auto", "ascii", "binary":
	default:
		return fmt.Errorf("invalid value for binding protocol: %s -- should be one of auto, binary, or ascii", c.Protocol)
	}
	return nil
}

func (c *Config) automove() int {
	if !c.SlabReassign {
		return 0
	}
	return c.SlabAutomove
}

// prefixDelimiter is -D's byte, memcached's ':' by default.
func (c *Config) prefixDelimiter() byte {
	if c.PrefixDelimiter == 0 {
		return ':'
	}
	return c.PrefixDelimiter
}

// atoiSetting reads a reported setting's number (0 when it is none).
// tempLRU is memcached's temp_lru: on when -o temporary_ttl was given.
func (c *Config) tempLRU() bool {
	_, ok := c.Reported["temporary_ttl"]
	return ok
}

func atoiSetting(v string) int {
	n, _ := strconv.Atoi(v)
	return n
}
