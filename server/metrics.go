package server

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strconv"
	"syscall"
	"time"

	"github.com/gocached/gocached/internal/hotkeys"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.uber.org/zap"
)

// The Prometheus endpoint (-o metrics_listen): plain HTTP on its own
// listener, /metrics in the text format. Every figure memcached_exporter
// makes of memcached's stats, under its names and labels, so that its
// dashboards and alerts work unchanged; then gocached's own (gocached_*):
// latency histograms, hot keys, slab memory, connection buffers; and the
// Go runtime's and the process's (go_*, process_*).
//
// client_golang only runs when Prometheus scrapes: the collector reads
// the server's own counters (the same as `stats`) and builds constant
// metrics from them, so the request path never touches it.

type metricsEndpoint struct {
	ln  net.Listener
	srv *http.Server
}

// metricsMaxInFlight bounds concurrent scrapes; more are answered 503.
const metricsMaxInFlight = 4

// ListenMetrics opens -o metrics_listen and serves /metrics in the
// background until Shutdown; Listen calls it, a caller that only Serves
// its own listeners (systemd sockets) calls it itself. Without
// metrics_listen, or once started, it does nothing.
func (s *Server) ListenMetrics() error {
	if s.cfg.MetricsListen == "" || s.metrics != nil {
		return nil
	}
	ln, err := net.Listen("tcp", s.cfg.MetricsListen)
	if err != nil {
		return errors.New("metrics_listen: " + err.Error())
	}
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(&collector{s: s},
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{
		MaxRequestsInFlight: metricsMaxInFlight,
		Timeout:             10 * time.Second,
		ErrorLog:            zap.NewStdLog(s.log),
	}))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/" {
			http.NotFound(w, r)
			return
		}
		_, _ = w.Write([]byte("gocached: see /metrics\n"))
	})
	m := &metricsEndpoint{ln: ln, srv: &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 5 * time.Second,
		WriteTimeout:      15 * time.Second,
		IdleTimeout:       time.Minute,
		MaxHeaderBytes:    8 << 10,
	}}
	s.metrics = m
	go func() {
		if err := m.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Warn("metrics endpoint stopped", zap.Error(err))
		}
	}()
	return nil
}

func (s *Server) stopMetrics(ctx context.Context) {
	if s.metrics == nil {
		return
	}
	if err := s.metrics.srv.Shutdown(ctx); err != nil {
		s.metrics.srv.Close()
	}
}

// MetricsAddr is the address /metrics is served on; nil when off.
func (s *Server) MetricsAddr() net.Addr {
	if s.metrics == nil {
		return nil
	}
	return s.metrics.ln.Addr()
}

// metricDef is one metric family: name, help and variable labels.
type metricDef struct {
	name, help string
	labels     []string
}

var (
	slabLabel = []string{"slab"}
	defs      = []metricDef{
		// memcached_exporter's, from stats.
		{"memcached_up", "Could the memcached server be reached.", nil},
		{"memcached_uptime_seconds", "Number of seconds since the server started.", nil},
		{"memcached_time_seconds", "current UNIX time according to the server.", nil},
		{"memcached_version", "The version of this memcached server.", []string{"version"}},
		{"memcached_process_user_cpu_seconds_total", "Accumulated user time for this process.", nil},
		{"memcached_process_system_cpu_seconds_total", "Accumulated system time for this process.", nil},
		{"memcached_read_bytes_total", "Total number of bytes read by this server from network.", nil},
		{"memcached_written_bytes_total", "Total number of bytes sent by this server to network.", nil},
		{"memcached_current_connections", "Current number of open connections.", nil},
		{"memcached_max_connections", "Maximum number of clients allowed.", nil},
		{"memcached_connections_total", "Total number of connections opened since the server started running.", nil},
		{"memcached_connections_rejected_total", "Total number of connections rejected due to hitting the memcached's -c limit in maxconns_fast mode.", nil},
		{"memcached_connections_yielded_total", "Total number of connections yielded running due to hitting the memcached's -R limit.", nil},
		{"memcached_connections_listener_disabled_total", "Number of times that memcached has hit its connections limit and disabled its listener.", nil},
		{"memcached_current_bytes", "Current number of bytes used to store items.", nil},
		{"memcached_limit_bytes", "Number of bytes this server is allowed to use for storage.", nil},
		{"memcached_commands_total", "Total number of all requests broken down by command (get, set, etc.) and status.", []string{"command", "status"}},
		{"memcached_current_items", "Current number of items stored by this instance.", nil},
		{"memcached_items_total", "Total number of items stored during the life of this instance.", nil},
		{"memcached_items_evicted_total", "Total number of valid items removed from cache to free memory for new items.", nil},
		{"memcached_items_reclaimed_total", "Total number of times an entry was stored using memory from an expired entry.", nil},
		{"memcached_item_too_large_total", "The number of times an item exceeded the max-item-size when being stored.", nil},
		{"memcached_item_no_memory_total", "The number of times an item could not be stored due to no more memory.", nil},
		{"memcached_direct_reclaims_total", "Times worker threads had to directly reclaim or evict items.", nil},
		{"memcached_lru_crawler_starts_total", "Times an LRU crawler was started.", nil},
		{"memcached_lru_crawler_reclaimed_total", "Total items freed by LRU Crawler.", nil},
		{"memcached_lru_crawler_items_checked_total", "Total items examined by LRU Crawler.", nil},
		{"memcached_lru_crawler_moves_to_cold_total", "Total number of items moved from HOT/WARM to COLD LRU's.", nil},
		{"memcached_lru_crawler_moves_to_warm_total", "Total number of items moved from COLD to WARM LRU.", nil},
		{"memcached_lru_crawler_moves_within_lru_total", "Total number of items reshuffled within HOT or WARM LRU's.", nil},
		{"memcached_malloced_bytes", "Number of bytes of memory allocated to slab pages.", nil},
		{"memcached_accepting_connections", "The Memcached server is currently accepting new connections.", nil},
		// From stats settings.
		{"memcached_lru_crawler_enabled", "Whether the LRU crawler is enabled.", nil},
		{"memcached_lru_crawler_sleep", "Microseconds to sleep between LRU crawls.", nil},
		{"memcached_lru_crawler_to_crawl", "Max items to crawl per slab per run.", nil},
		{"memcached_lru_crawler_maintainer_thread", "Split LRU mode and background threads.", nil},
		{"memcached_lru_crawler_hot_percent", "Percent of slab memory reserved for HOT LRU.", nil},
		{"memcached_lru_crawler_warm_percent", "Percent of slab memory reserved for WARM LRU.", nil},
		{"memcached_lru_crawler_hot_max_factor", "Set idle age of HOT LRU to COLD age * this", nil},
		{"memcached_lru_crawler_warm_max_factor", "Set idle age of WARM LRU to COLD age * this", nil},
		// From stats items, per slab class holding items.
		{"memcached_slab_current_items", "Number of items currently stored in this slab class.", slabLabel},
		{"memcached_slab_items_age_seconds", "Number of seconds the oldest item has been in the slab class.", slabLabel},
		{"memcached_slab_items_crawler_reclaimed_total", "Number of items freed by the LRU Crawler.", slabLabel},
		{"memcached_slab_items_evicted_total", "Total number of times an item had to be evicted from the LRU before it expired.", slabLabel},
		{"memcached_slab_items_evicted_nonzero_total", "Total number of times an item which had an explicit expire time set had to be evicted from the LRU before it expired.", slabLabel},
		{"memcached_slab_items_evicted_time_seconds", "Seconds since the last access for the most recent item evicted from this class.", slabLabel},
		{"memcached_slab_items_evicted_unfetched_total", "Total nmber of items evicted and never fetched.", slabLabel},
		{"memcached_slab_items_expired_unfetched_total", "Total number of valid items evicted from the LRU which were never touched after being set.", slabLabel},
		{"memcached_slab_items_outofmemory_total", "Total number of items for this slab class that have triggered an out of memory error.", slabLabel},
		{"memcached_slab_items_reclaimed_total", "Total number of items reclaimed.", slabLabel},
		{"memcached_slab_items_tailrepairs_total", "Total number of times the entries for a particular ID need repairing.", slabLabel},
		{"memcached_slab_items_moves_to_cold", "Number of items moved from HOT or WARM into COLD.", slabLabel},
		{"memcached_slab_items_moves_to_warm", "Number of items moves from COLD into WARM.", slabLabel},
		{"memcached_slab_items_moves_within_lru", "Number of times active items were bumped within HOT or WARM.", slabLabel},
		{"memcached_slab_hot_items", "Number of items presently stored in the HOT LRU.", slabLabel},
		{"memcached_slab_warm_items", "Number of items presently stored in the WARM LRU.", slabLabel},
		{"memcached_slab_cold_items", "Number of items presently stored in the COLD LRU.", slabLabel},
		{"memcached_slab_temporary_items", "Number of items presently stored in the TEMPORARY LRU.", slabLabel},
		{"memcached_slab_hot_age_seconds", "Age of the oldest item in HOT LRU.", slabLabel},
		{"memcached_slab_warm_age_seconds", "Age of the oldest item in WARM LRU.", slabLabel},
		{"memcached_slab_lru_hits_total", "Number of get_hits to the LRU.", []string{"slab", "lru"}},
		{"memcached_slab_mem_requested_bytes", "Number of bytes of memory actual items take up within a slab.", slabLabel},
		// From stats slabs, per slab class holding pages.
		{"memcached_slab_commands_total", "Total number of all requests broken down by command (get, set, etc.) and status per slab.", []string{"slab", "command", "status"}},
		{"memcached_slab_chunk_size_bytes", "Number of bytes allocated to each chunk within this slab class.", slabLabel},
		{"memcached_slab_chunks_per_page", "Number of chunks within a single page for this slab class.", slabLabel},
		{"memcached_slab_current_pages", "Number of pages allocated to this slab class.", slabLabel},
		{"memcached_slab_current_chunks", "Number of chunks allocated to this slab class.", slabLabel},
		{"memcached_slab_chunks_used", "Number of chunks allocated to an item.", slabLabel},
		{"memcached_slab_chunks_free", "Number of chunks not yet allocated items.", slabLabel},
		{"memcached_slab_chunks_free_end", "Number of free chunks at the end of the last allocated page.", slabLabel},

		// gocached's own.
		{"gocached_command_duration_seconds", "Server-side latency by command, from the request read to its reply handed to the socket.", []string{"command"}},
		{"gocached_hot_key_requests_per_second", "Estimated requests per second of the hottest keys (sampled; top 10 per window).", []string{"window", "key"}},
		{"gocached_hot_key_bytes_per_second", "Estimated value bytes per second moved by the heaviest keys (sampled; top 10 per window).", []string{"window", "key"}},
		{"gocached_hot_keys_sample_rate", "One request in this many is sampled for hot keys.", nil},
		{"gocached_hot_keys_memory_bytes", "Memory held by the hot-key summaries (fixed at start).", nil},
		{"gocached_slab_memory_bytes", "Bytes of item memory (1 MB pages) assigned to this slab class.", slabLabel},
		{"gocached_slab_evictions_total", "Items evicted from this slab class to make room (memcached_slab_items_evicted_total, under a gocached name for dashboards).", slabLabel},
		{"gocached_connection_buffers", "Connection buffers held (read: including free pooled ones; reply: in use).", []string{"buffer"}},
		{"gocached_connection_buffer_bytes", "Bytes of connection buffers held (read: including free pooled ones; reply: in use).", []string{"buffer"}},
		{"gocached_connection_buffer_oom_total", "Buffers refused by read_buf_mem_limit.", []string{"buffer"}},
		{"gocached_connection_buffer_limit_bytes", "read_buf_mem_limit in bytes (0 = none).", nil},
		{"gocached_recovered_panics_total", "Panics recovered in connections (each closed its connection; a bug).", nil},
		{"gocached_hash_bytes", "Bytes of the item index.", nil},
		{"gocached_ghost_bytes", "Bytes of the eviction's ghost table (hashes of items evicted unread; fixed at start, 1/64 of -m).", nil},
		{"gocached_tls_connections", "Open TLS connections by negotiated version (\"handshake\" before it ends); with -Z.", []string{"version"}},
		{"gocached_tls_handshake_errors_total", "TLS handshakes that failed (memcached's ssl_handshake_errors); with -Z.", nil},
		{"gocached_tls_proto_errors_total", "TLS record errors after the handshake (memcached's ssl_proto_errors); with -Z.", nil},
		{"gocached_tls_new_sessions_total", "Full TLS handshakes with ssl_session_cache on (memcached's ssl_new_sessions).", nil},
		{"gocached_tls_cert_age_seconds", "Seconds since the server certificates were last loaded (memcached's time_since_server_cert_refresh); with -Z.", nil},
	}
	descs = func() map[string]*prometheus.Desc {
		m := make(map[string]*prometheus.Desc, len(defs))
		for _, d := range defs {
			m[d.name] = prometheus.NewDesc(d.name, d.help, d.labels, nil)
		}
		return m
	}()
)

// collector turns the server's counters into metrics at each scrape.
type collector struct{ s *Server }

func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range defs {
		ch <- descs[d.name]
	}
}

type emitter struct{ ch chan<- prometheus.Metric }

func (e emitter) gauge(name string, v float64, labels ...string) {
	e.ch <- prometheus.MustNewConstMetric(descs[name], prometheus.GaugeValue, v, labels...)
}

func (e emitter) counter(name string, v float64, labels ...string) {
	e.ch <- prometheus.MustNewConstMetric(descs[name], prometheus.CounterValue, v, labels...)
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

func (c *collector) Collect(ch chan<- prometheus.Metric) {
	s, e := c.s, emitter{ch}
	st := s.store.Stats()
	now := time.Now()
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	curr, _ := s.connCounts()

	e.gauge("memcached_up", 1)
	e.counter("memcached_uptime_seconds", float64(now.Sub(s.start)/time.Second))
	e.gauge("memcached_time_seconds", float64(now.Unix()))
	e.gauge("memcached_version", 1, s.cfg.Version)
	e.counter("memcached_process_user_cpu_seconds_total", tvSeconds(ru.Utime))
	e.counter("memcached_process_system_cpu_seconds_total", tvSeconds(ru.Stime))
	e.counter("memcached_read_bytes_total", float64(s.stats.bytesRead.Load()))
	e.counter("memcached_written_bytes_total", float64(s.stats.bytesWritten.Load()))
	e.gauge("memcached_current_connections", float64(curr))
	e.gauge("memcached_max_connections", float64(s.cfg.MaxConns))
	e.counter("memcached_connections_total", float64(s.stats.totalConns.Load()))
	e.counter("memcached_connections_rejected_total", float64(s.stats.rejected.Load()))
	e.counter("memcached_connections_yielded_total", float64(s.stats.connYields.Load()))
	e.counter("memcached_connections_listener_disabled_total", float64(s.stats.listenDisabled.Load()))
	e.gauge("memcached_current_bytes", float64(st.Bytes))
	e.gauge("memcached_limit_bytes", float64(st.LimitMaxbytes))
	e.gauge("memcached_current_items", float64(st.CurrItems))
	e.counter("memcached_items_total", float64(st.TotalItems))
	e.counter("memcached_items_evicted_total", float64(st.Evictions))
	e.counter("memcached_items_reclaimed_total", float64(st.Reclaimed))
	e.counter("memcached_item_too_large_total", float64(st.StoreTooLarge))
	e.counter("memcached_item_no_memory_total", float64(st.StoreNoMemory))
	e.counter("memcached_direct_reclaims_total", 0)
	e.counter("memcached_lru_crawler_starts_total", float64(st.CrawlerStarts))
	e.counter("memcached_lru_crawler_reclaimed_total", float64(st.CrawlerReclaimed))
	e.counter("memcached_lru_crawler_items_checked_total", float64(st.CrawlerItemsChecked))
	e.counter("memcached_lru_crawler_moves_to_cold_total", 0)
	e.counter("memcached_lru_crawler_moves_to_warm_total", 0)
	e.counter("memcached_lru_crawler_moves_within_lru_total", float64(st.MovesWithinLRU))
	e.gauge("memcached_malloced_bytes", float64(st.TotalMalloced))
	e.gauge("memcached_accepting_connections", b2f(!s.shutting.Load()))

	// The exporter's commands: hits and misses of stats, cas_badval,
	// cmd_flush as flush hits, and sets as cmd_set less the cas commands
	// memcached counts in it.
	cmds := []struct {
		cmd        string
		hit, miss  uint64
		missStatus bool
	}{
		{"get", st.GetHits, st.GetMisses, true}, {"delete", st.DeleteHits, st.DeleteMisses, true},
		{"incr", st.IncrHits, st.IncrMisses, true}, {"decr", st.DecrHits, st.DecrMisses, true},
		{"cas", st.CasHits, st.CasMisses, true}, {"touch", st.TouchHits, st.TouchMisses, true},
	}
	for _, x := range cmds {
		e.counter("memcached_commands_total", float64(x.hit), x.cmd, "hit")
		e.counter("memcached_commands_total", float64(x.miss), x.cmd, "miss")
	}
	e.counter("memcached_commands_total", float64(st.CasBadval), "cas", "badval")
	e.counter("memcached_commands_total", float64(st.CmdFlush), "flush", "hit")
	e.counter("memcached_commands_total", float64(st.CmdSet-st.CasMisses-st.CasHits-st.CasBadval), "set", "hit")

	// stats settings, as memcached_exporter reads them: the values stats
	// settings shows.
	for _, g := range [...]struct{ metric, setting string }{
		{"memcached_lru_crawler_enabled", "lru_crawler"},
		{"memcached_lru_crawler_sleep", "lru_crawler_sleep"},
		{"memcached_lru_crawler_to_crawl", "lru_crawler_tocrawl"},
		{"memcached_lru_crawler_maintainer_thread", "lru_maintainer_thread"},
		{"memcached_lru_crawler_hot_percent", "hot_lru_pct"},
		{"memcached_lru_crawler_warm_percent", "warm_lru_pct"},
		{"memcached_lru_crawler_hot_max_factor", "hot_max_factor"},
		{"memcached_lru_crawler_warm_max_factor", "warm_max_factor"},
	} {
		v := s.setting(g.setting)
		f, err := strconv.ParseFloat(v, 64)
		if err != nil { // yes/no
			f = 0
			if v == "yes" {
				f = 1
			}
		}
		e.gauge(g.metric, f)
	}

	for _, cs := range st.Classes {
		slab := strconv.Itoa(cs.ID)
		if cs.Items > 0 { // stats items
			e.gauge("memcached_slab_current_items", float64(cs.Items), slab)
			e.gauge("memcached_slab_items_age_seconds", float64(cs.Age), slab)
			e.counter("memcached_slab_items_crawler_reclaimed_total", float64(cs.CrawlerReclaimed), slab)
			e.counter("memcached_slab_items_evicted_total", float64(cs.Evicted), slab)
			e.counter("memcached_slab_items_evicted_nonzero_total", float64(cs.EvictedNonzero), slab)
			e.counter("memcached_slab_items_evicted_time_seconds", float64(cs.EvictedTime), slab)
			e.counter("memcached_slab_items_evicted_unfetched_total", float64(cs.EvictedUnfetched), slab)
			e.counter("memcached_slab_items_expired_unfetched_total", float64(cs.ExpiredUnfetched), slab)
			e.counter("memcached_slab_items_outofmemory_total", float64(cs.OutOfMemory), slab)
			e.counter("memcached_slab_items_reclaimed_total", float64(cs.Reclaimed), slab)
			e.counter("memcached_slab_items_tailrepairs_total", 0, slab)
			e.counter("memcached_slab_items_moves_to_cold", 0, slab)
			e.counter("memcached_slab_items_moves_to_warm", float64(cs.MovesToMain), slab)
			e.counter("memcached_slab_items_moves_within_lru", float64(cs.MovesWithinLRU), slab)
			e.gauge("memcached_slab_hot_items", float64(cs.SmallItems), slab)
			e.gauge("memcached_slab_warm_items", float64(cs.MainItems), slab)
			e.gauge("memcached_slab_cold_items", 0, slab)
			e.gauge("memcached_slab_temporary_items", float64(cs.TempItems), slab)
			e.gauge("memcached_slab_hot_age_seconds", 0, slab)
			e.gauge("memcached_slab_warm_age_seconds", 0, slab)
			e.counter("memcached_slab_lru_hits_total", 0, slab, "hot")
			e.counter("memcached_slab_lru_hits_total", 0, slab, "warm")
			e.counter("memcached_slab_lru_hits_total", float64(cs.GetHits), slab, "cold")
			e.counter("memcached_slab_lru_hits_total", 0, slab, "temporary")
			e.gauge("memcached_slab_mem_requested_bytes", float64(cs.MemRequested), slab)
		}
		if cs.TotalPages > 0 { // stats slabs
			for _, x := range []struct {
				cmd string
				v   uint64
			}{{"get", cs.GetHits}, {"delete", cs.DeleteHits}, {"incr", cs.IncrHits}, {"decr", cs.DecrHits}, {"cas", cs.CasHits}, {"touch", cs.TouchHits}} {
				e.counter("memcached_slab_commands_total", float64(x.v), slab, x.cmd, "hit")
			}
			e.counter("memcached_slab_commands_total", float64(cs.CasBadval), slab, "cas", "badval")
			e.counter("memcached_slab_commands_total", float64(cs.CmdSet-cs.CasHits-cs.CasBadval), slab, "set", "hit")
			e.gauge("memcached_slab_chunk_size_bytes", float64(cs.ChunkSize), slab)
			e.gauge("memcached_slab_chunks_per_page", float64(cs.ChunksPerPage), slab)
			e.gauge("memcached_slab_current_pages", float64(cs.TotalPages), slab)
			e.gauge("memcached_slab_current_chunks", float64(cs.TotalChunks), slab)
			e.gauge("memcached_slab_chunks_used", float64(cs.UsedChunks), slab)
			e.gauge("memcached_slab_chunks_free", float64(cs.FreeChunks), slab)
			e.gauge("memcached_slab_chunks_free_end", 0, slab)
			e.gauge("gocached_slab_memory_bytes", float64(cs.TotalPages)*(1<<20), slab)
			e.counter("gocached_slab_evictions_total", float64(cs.Evicted), slab)
		}
	}
	c.collectOwn(e)
}

// collectOwn is what memcached has no stat for.
func (c *collector) collectOwn(e emitter) {
	s := c.s
	bst := s.bufs.stats()
	e.gauge("gocached_connection_buffers", float64(bst.readCount), "read")
	e.gauge("gocached_connection_buffers", float64(bst.replyCount), "reply")
	e.gauge("gocached_connection_buffer_bytes", float64(bst.readBytes), "read")
	e.gauge("gocached_connection_buffer_bytes", float64(bst.replyBytes), "reply")
	e.counter("gocached_connection_buffer_oom_total", float64(bst.readOOM), "read")
	e.counter("gocached_connection_buffer_oom_total", float64(bst.replyOOM), "reply")
	e.gauge("gocached_connection_buffer_limit_bytes", float64(int64(s.cfg.ReadBufLimitMB)<<20))
	e.counter("gocached_recovered_panics_total", float64(s.stats.panics.Load()))
	st := s.store.Stats()
	e.gauge("gocached_hash_bytes", float64(st.HashBytes))
	e.gauge("gocached_ghost_bytes", float64(st.GhostBytes))
	s.collectTLS(e)
	if s.lat != nil {
		for k := cmdKind(0); k < numKinds; k++ {
			snap := s.lat.snapshot(k)
			if snap.total == 0 {
				continue
			}
			buckets := make(map[float64]uint64, len(latExposed))
			var cum uint64
			next := 0
			for b, n := range snap.counts[:len(latBounds)] {
				cum += n
				if next < len(latExposed) && latExposed[next] == b {
					buckets[float64(latBounds[b])/1e9] = cum
					next++
				}
			}
			e.ch <- prometheus.MustNewConstHistogram(descs["gocached_command_duration_seconds"],
				snap.total, float64(snap.sumNS)/1e9, buckets, kindNames[k])
		}
	}
	if s.hot != nil {
		e.gauge("gocached_hot_keys_sample_rate", float64(s.hot.SampleRate()))
		e.gauge("gocached_hot_keys_memory_bytes", float64(s.hot.Bytes()))
		now := nanotime()
		for wi, w := range s.hot.Windows() {
			for _, x := range []struct {
				name string
				r    hotkeys.Ranking
			}{{"gocached_hot_key_requests_per_second", hotkeys.ByRequests}, {"gocached_hot_key_bytes_per_second", hotkeys.ByBytes}} {
				seen := make(map[string]bool, hotTopN)
				for _, en := range s.hot.Top(wi, x.r, hotTopN, now) {
					k := displayKey(en.Key)
					if !seen[k] { // keys cut at hotkeys.MaxKey may meet
						seen[k] = true
						e.gauge(x.name, en.PerSecond, w.Name, k)
					}
				}
			}
		}
	}
}

func tvSeconds(tv syscall.Timeval) float64 { return float64(tv.Sec) + float64(tv.Usec)/1e6 }

// connCounts is curr_connections and connection_structures as memcached
// counts them: listeners and UDP sockets included, less one for curr.
func (s *Server) connCounts() (curr, structures int64) {
	s.mu.Lock()
	nl := int64(len(s.listeners)) + s.udpReaders()
	nconns := int64(len(s.conns))
	s.mu.Unlock()
	return nconns + nl - 1, nconns + nl
}
