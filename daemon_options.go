package main

import (
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/gocached/gocached/server"
)

// extendedOption is one -o key, with memcached 1.6.45's checks of its
// value. Ignored ones are accepted so memcached's command lines start
// gocached, and the daemon names them in one warning line at start; the
// values they were given are still what `stats settings` reports.
type extendedOption struct {
	apply   func(cfg *server.Config, v string) error
	help    string
	ignored bool
}

func intOpt(set func(cfg *server.Config, n int)) func(*server.Config, string) error {
	return func(cfg *server.Config, v string) error {
		n, err := strconv.Atoi(v)
		if err != nil {
			return fmt.Errorf("bad value %q", v)
		}
		set(cfg, n)
		return nil
	}
}

func noValue(set func(cfg *server.Config)) func(*server.Config, string) error {
	return func(cfg *server.Config, _ string) error { set(cfg); return nil }
}

// atoi is C's atoi: leading digits, 0 when there are none.
func atoi(v string) int {
	i := 0
	if i < len(v) && (v[i] == '-' || v[i] == '+') {
		i++
	}
	for i < len(v) && v[i] >= '0' && v[i] <= '9' {
		i++
	}
	n, _ := strconv.Atoi(v[:i])
	return n
}

// reported is an option gocached has no mechanism for: its value must
// pass check (memcached's rule and message), which returns what `stats
// settings` shows under the setting's name.
func reported(setting string, check func(v string) (string, error)) func(*server.Config, string) error {
	return func(cfg *server.Config, v string) error {
		shown, err := check(v)
		if err != nil {
			return err
		}
		if cfg.Reported == nil {
			cfg.Reported = map[string]string{}
		}
		cfg.Reported[setting] = shown
		return nil
	}
}

// intIn accepts memcached's atoi'd integers within [lo, hi].
func intIn(name string, lo, hi int, msg string) func(string) (string, error) {
	return func(v string) (string, error) {
		if v == "" {
			return "", fmt.Errorf("missing %s argument", name)
		}
		n := atoi(v)
		if n < lo || n > hi {
			return "", errors.New(msg)
		}
		return strconv.Itoa(n), nil
	}
}

// uintKB accepts an unsigned number of kilobytes and shows it in bytes.
func uintKB(name string, mult uint64) func(string) (string, error) {
	return func(v string) (string, error) {
		if v == "" {
			return "", fmt.Errorf("missing %s argument", name)
		}
		n, err := strconv.ParseUint(v, 10, 32)
		if err != nil {
			return "", fmt.Errorf("could not parse argument to %s", name)
		}
		return strconv.FormatUint(n*mult, 10), nil
	}
}

// floatIn accepts a float above lo and at most hi.
func floatIn(name string, lo, hi float64, prec int, msg string) func(string) (string, error) {
	return func(v string) (string, error) {
		if v == "" {
			return "", fmt.Errorf("missing %s argument", name)
		}
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || f <= lo || f > hi {
			return "", errors.New(msg)
		}
		return strconv.FormatFloat(f, 'f', prec, 64), nil
	}
}

// shows accepts a valueless option and shows a fixed value.
func shows(shown string) func(string) (string, error) {
	return func(string) (string, error) { return shown, nil }
}

func oneOf(name string, values ...string) func(string) (string, error) {
	return func(v string) (string, error) {
		for _, ok := range values {
			if v == ok {
				return v, nil
			}
		}
		if v == "" {
			return "", fmt.Errorf("missing %s argument", name)
		}
		return "", fmt.Errorf("unknown %s option %q", name, v)
	}
}

func anyValue(name string) func(string) (string, error) {
	return func(v string) (string, error) {
		if v == "" {
			return "", fmt.Errorf("missing %s argument", name)
		}
		return v, nil
	}
}

const (
	noLRUStructure = "ignored: gocached evicts S3-FIFO's way (a small and a main queue per slab class), without memcached's hot/warm/cold segments"
	noExtstore     = "ignored: gocached has no external storage (extstore)"
	noSandbox      = "ignored: gocached has no system-call sandbox to drop privileges into"
)

var extendedOptions = map[string]extendedOption{
	"idle_timeout": {apply: intOpt(func(c *server.Config, n int) { c.IdleTimeout = time.Duration(n) * time.Second }),
		help: "seconds before an idle connection is closed (0 = never)"},
	"slab_reassign":    {apply: noValue(func(c *server.Config) { c.SlabReassign = true }), help: "allow moving slab pages between classes (default)"},
	"no_slab_reassign": {apply: noValue(func(c *server.Config) { c.SlabReassign = false }), help: "never move slab pages between classes"},
	"slab_automove": {apply: func(c *server.Config, v string) error {
		c.SlabAutomove = 1
		if v != "" {
			c.SlabAutomove = atoi(v)
		}
		return nil
	}, help: "0 = manual page moves only, 1 = background balancing (default), 2 = balance before every eviction"},
	"no_slab_automove": {apply: noValue(func(c *server.Config) { c.SlabAutomove = 0 }), help: "manual page moves only (slab_automove=0)"},
	"hashpower": {apply: func(c *server.Config, v string) error {
		if v == "" {
			return errors.New("missing numeric argument for hashpower")
		}
		n := atoi(v)
		if n < 12 {
			return fmt.Errorf("initial hashtable multiplier of %d is too low", n)
		} else if n > 32 {
			return fmt.Errorf("initial hashtable multiplier of %d is too high", n)
		}
		c.HashPower = n
		return nil
	}, help: "initial index size as a power of two, 12 to 32 (default 16)"},
	"read_buf_mem_limit": {apply: func(c *server.Config, v string) error {
		if v == "" {
			return errors.New("missing read_buf_mem_limit argument")
		}
		n, err := strconv.ParseUint(v, 10, 32)
		if err != nil {
			return errors.New("could not parse argument to read_buf_mem_limit")
		}
		c.ReadBufLimitMB = int(n)
		return nil
	}, help: "megabytes of connection read and reply buffers in all (0 = no limit, the default)"},
	"resp_obj_mem_limit": {apply: func(*server.Config, string) error { return nil },
		help: "ignored, as by memcached: deprecated, see read_buf_mem_limit", ignored: true},
	"shutdown_timeout": {apply: intOpt(func(c *server.Config, n int) { c.ShutdownTimeout = time.Duration(n) * time.Second }),
		help: "gocached: seconds SIGTERM and SIGUSR1 wait for requests in flight before closing (default 10)"},
	"maxconns_fast":    {apply: noValue(func(*server.Config) {}), help: "reject connections over -c at once (always on)"},
	"no_maxconns_fast": {apply: noValue(func(*server.Config) {}), help: "ignored: connections over -c are always refused at once", ignored: true},
	"no_hashexpand":    {apply: noValue(func(*server.Config) {}), help: "ignored: the index always grows", ignored: true},
	"modern":           {apply: noValue(func(*server.Config) {}), help: "modern defaults (nothing to change, as in memcached 1.6.45)"},
	"no_modern": {apply: func(c *server.Config, _ string) error {
		c.SlabReassign, c.SlabAutomove = false, 0
		// memcached starts neither its LRU crawler nor its maintainer.
		if c.Reported == nil {
			c.Reported = map[string]string{}
		}
		c.Reported["lru_crawler"], c.Reported["lru_maintainer_thread"] = "no", "no"
		return nil
	}, help: "1.4 defaults: no page moves (no_slab_reassign, slab_automove=0), no background reclaim (no_lru_crawler); its LRU, hash and chunking parts have no gocached equivalent"},
	"slab_automove_ratio": {apply: reported("slab_automove_ratio", floatIn("slab_automove_ratio", 0, 1, 2, "slab_automove_ratio must be > 0 and < 1")),
		help: "ignored: gocached's page mover balances by eviction age, not memcached's ratio", ignored: true},
	"slab_automove_window": {apply: reported("slab_automove_window", intIn("slab_automove_window", 3, 1800, "slab_automove_window must be > 2 and < 1800")),
		help: "ignored: gocached's page mover has no window", ignored: true},
	"slab_automove_freeratio": {apply: reported("slab_automove_freeratio", floatIn("slab_automove_freeratio", -1, 1, 3, "could not parse argument to slab_automove_freeratio")),
		help: noExtstore, ignored: true},
	"tail_repair_time": {apply: reported("tail_repair_time", intIn("tail_repair_time", 10, 1<<31-1, "cannot set tail_repair_time to less than 10 seconds")),
		help: "ignored: items are never locked by a reader past its request", ignored: true},
	"hash_algorithm": {apply: reported("hash_algorithm", oneOf("hash_algorithm", "jenkins", "murmur3", "xxh3")),
		help: "ignored: gocached always hashes keys with xxhash", ignored: true},
	"lru_crawler":    {apply: reported("lru_crawler", shows("yes")), help: "background reclaim of expired items (the default)"},
	"no_lru_crawler": {apply: reported("lru_crawler", shows("no")), help: "no background reclaim of expired and flushed items"},
	"lru_crawler_sleep": {apply: reported("lru_crawler_sleep", intIn("lru_crawler_sleep", 0, 1000000, "LRU crawler sleep must be between 0 and 1 second")),
		help: "ignored: the reclaimer paces itself", ignored: true},
	"lru_crawler_tocrawl": {apply: reported("lru_crawler_tocrawl", uintKB("lru_crawler_tocrawl", 1)),
		help: "ignored: the reclaimer paces itself", ignored: true},
	"lru_maintainer":    {apply: reported("lru_maintainer_thread", shows("yes")), help: noLRUStructure, ignored: true},
	"no_lru_maintainer": {apply: reported("lru_maintainer_thread", shows("no")), help: "memcached's flat LRU of 1.4 (one queue per class, hits bump at most once a minute) in place of S3-FIFO, as memcached without its maintainer"},
	"hot_lru_pct": {apply: reported("hot_lru_pct", intIn("hot_lru_pct", 1, 79, "hot_lru_pct must be > 1 and < 80")),
		help: noLRUStructure, ignored: true},
	"warm_lru_pct": {apply: reported("warm_lru_pct", intIn("warm_lru_pct", 1, 79, "warm_lru_pct must be > 1 and < 80")),
		help: noLRUStructure, ignored: true},
	"hot_max_factor": {apply: reported("hot_max_factor", floatIn("hot_max_factor", 0, 1e308, 2, "hot_max_factor must be > 0")),
		help: noLRUStructure, ignored: true},
	"warm_max_factor": {apply: reported("warm_max_factor", floatIn("warm_max_factor", 0, 1e308, 2, "warm_max_factor must be > 0")),
		help: noLRUStructure, ignored: true},
	"temporary_ttl": {apply: reported("temporary_ttl", func(v string) (string, error) {
		if v == "" {
			return "", errors.New("missing temporary_ttl argument")
		}
		return strconv.Itoa(atoi(v)), nil
	}), help: "items stored with a TTL of at most this many seconds go to a queue of their own, never evicted for memory, only freed once expired (memcached's temp LRU)"},
	"watcher_logbuf_size": {apply: reported("watcher_logbuf_size", uintKB("watcher_logbuf_size", 1024)),
		help: "KB of log lines a watch connection may have pending (more are skipped)"},
	"worker_logbuf_size": {apply: reported("worker_logbuf_size", uintKB("worker_logbuf_size", 1024)),
		help: "ignored: gocached's log lines go straight to each watcher's buffer", ignored: true},
	"slab_sizes": {apply: reported("slab_sizes", anyValue("slab_sizes")),
		help: "ignored: slab classes follow -n and -f", ignored: true},
	"slab_chunk_max": {apply: reported("slab_chunk_max", func(v string) (string, error) {
		if v == "" {
			return "", errors.New("missing slab_chunk_max argument")
		}
		n, err := strconv.ParseInt(v, 10, 32)
		switch {
		case err != nil:
			return "", errors.New("could not parse argument to slab_chunk_max")
		case n <= 0:
			return "", errors.New("slab_chunk_max must be >= 0")
		case n > 1<<10:
			// memcached 1.6.45 refuses this ("must be specified in
			// kilobytes"); 1.6.18 read it as bytes, and configs
			// written for it (-I 2k -o slab_chunk_max=2048) keep
			// starting gocached.
			return strconv.FormatInt(n, 10), nil
		}
		return strconv.FormatInt(n<<10, 10), nil
	}), help: "ignored: gocached keeps every item in one chunk up to -I", ignored: true},
	"track_sizes":          {apply: reported("track_sizes", shows("yes")), help: "ignored: stats sizes is not tracked", ignored: true},
	"inline_ascii_resp":    {apply: noValue(func(*server.Config) {}), help: "ignored, as by memcached 1.6", ignored: true},
	"no_inline_ascii_resp": {apply: noValue(func(*server.Config) {}), help: "ignored, as by memcached 1.6", ignored: true},
	"no_chunked_items":     {apply: noValue(func(*server.Config) {}), help: "items are never chunked (always)"},
	"drop_privileges":      {apply: noValue(func(*server.Config) {}), help: noSandbox, ignored: true},
	"no_drop_privileges":   {apply: noValue(func(*server.Config) {}), help: noSandbox, ignored: true},
	"relaxed_privileges":   {apply: noValue(func(*server.Config) {}), help: noSandbox + " (memcached-debug's test option)", ignored: true},
	"sock_cookie_id":       {apply: noValue(func(*server.Config) {}), help: "ignored: sockets get no SO_MARK cookie", ignored: true},
}

// extstoreOptions are memcached's ext_* keys, accepted and without effect;
// those `stats settings` shows have the check that gives their value there.
// The help text names them as a group: memcached's test suite takes the
// word ext_path in -h to mean that extstore is built in.
var extstoreOptions = map[string]func(string) (string, error){
	"ext_page_size": nil, "ext_threads": nil, "ext_io_depth": nil, "ext_path": nil,
	"ext_wbuf_size": uintKB("ext_wbuf_size", 1<<20), "ext_drop_unread": shows("yes"),
	"ext_item_size": anyValue("ext_item_size"), "ext_item_age": anyValue("ext_item_age"),
	"ext_low_ttl": anyValue("ext_low_ttl"), "ext_recache_rate": anyValue("ext_recache_rate"),
	"ext_compact_under": anyValue("ext_compact_under"), "ext_drop_under": anyValue("ext_drop_under"),
	"ext_max_sleep": anyValue("ext_max_sleep"), "ext_max_frag": anyValue("ext_max_frag"),
}

func init() {
	for k, check := range extstoreOptions {
		apply := func(*server.Config, string) error { return nil }
		if check != nil {
			apply = reported(k, check)
		}
		extendedOptions[k] = extendedOption{apply: apply, help: noExtstore, ignored: true}
	}
}

// checkExtended applies memcached's checks across options.
func checkExtended(cfg *server.Config) error {
	if atoi(cfg.Setting("hot_lru_pct"))+atoi(cfg.Setting("warm_lru_pct")) > 80 {
		return errors.New("hot_lru_pct + warm_lru_pct cannot be more than 80% combined")
	}
	// Only an explicit no_lru_maintainer counts (gocached reports "no" by default).
	if _, temp := cfg.Reported["temporary_ttl"]; temp && cfg.Reported["lru_maintainer_thread"] == "no" {
		return errors.New("temporary_ttl requires lru_maintainer to be enabled")
	}
	if v, ok := cfg.Reported["slab_chunk_max"]; ok {
		n := atoi(v)
		switch {
		case n > cfg.MaxItemSize:
			return fmt.Errorf("slab_chunk_max (bytes: %d) cannot be larger than -I (item_size_max %d)", n, cfg.MaxItemSize)
		case cfg.MaxItemSize%n != 0:
			return fmt.Errorf("-I (item_size_max: %d) must be evenly divisible by slab_chunk_max (bytes: %d)", cfg.MaxItemSize, n)
		case (1<<20)%n != 0:
			return fmt.Errorf("slab_chunk_max (bytes: %d) must divide evenly into %d (slab_page_size)", n, 1<<20)
		}
	}
	return nil
}
