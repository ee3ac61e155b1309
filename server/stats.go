package server

import (
	"cmp"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/gocached/gocached/protocol"
)

// statWriter appends stats in the form of either protocol: text
// "STAT name value" lines, or (bin) one binary Stat response packet per
// stat with the name as key and the value as value, as memcached's
// append_stats. Every stats group is written once, for both.
type statWriter struct {
	b      []byte
	bin    bool
	opaque uint32 // bin: the request's opaque, echoed in every packet
}

func (w *statWriter) str(name, v string) {
	if w.bin {
		w.b = protocol.AppendBinaryStat(w.b, w.opaque, name, v)
		return
	}
	w.b = protocol.AppendStat(w.b, name, v)
}

// end terminates a group: END in text, an empty Stat packet in binary.
func (w *statWriter) end() {
	if w.bin {
		w.b = protocol.AppendBinaryStat(w.b, w.opaque, "", "")
		return
	}
	w.b = append(w.b, protocol.End...)
}

func (w *statWriter) u(name string, v uint64) { w.str(name, strconv.FormatUint(v, 10)) }
func (w *statWriter) i(name string, v int64)  { w.str(name, strconv.FormatInt(v, 10)) }

func (w *statWriter) b01(name string, v bool) {
	if v {
		w.str(name, "1")
	} else {
		w.str(name, "0")
	}
}

func (w *statWriter) yesno(name string, v bool) {
	if v {
		w.str(name, "yes")
	} else {
		w.str(name, "no")
	}
}

func timeval(tv syscall.Timeval) string {
	us := strconv.FormatInt(int64(tv.Usec), 10)
	for len(us) < 6 {
		us = "0" + us
	}
	return strconv.FormatInt(int64(tv.Sec), 10) + "." + us
}

func (c *conn) cmdStats(t *protocol.Tokens) action {
	s := c.s
	if t.Count() == 2 {
		w := statWriter{b: c.out}
		s.writeGeneralStats(&w)
		w.end()
		c.out = w.b
		return actMore
	}
	w := statWriter{b: c.out}
	switch protocol.StatsSubcommand(t.T[1], "latency", "hotkeys") {
	case "reset":
		s.resetStats()
		c.out = append(c.out, protocol.Reset...)
		return actMore
	case "settings":
		s.writeSettings(&w)
	case "items":
		s.writeItems(&w)
	case "slabs":
		s.writeSlabs(&w)
	case "sizes":
		w.str("sizes_status", "disabled")
	case "extstore": // memcached built with extstore and none configured: no lines

	case "conns":
		s.writeConns(&w)
	case "latency":
		s.writeLatency(&w)
	case "hotkeys":
		s.writeHotKeys(&w, t)
	case "detail":
		if s.cfg.DumpDisabled {
			c.out = append(c.out, "CLIENT_ERROR stats detail not allowed\r\n"...)
			return actMore
		}
		c.cmdStatsDetail(t)
		return actMore
	case "cachedump":
		if s.cfg.DumpDisabled {
			c.out = append(c.out, "CLIENT_ERROR stats cachedump not allowed\r\n"...)
			return actMore
		}
		id, limit, errLine := protocol.ParseCacheDump(t)
		if errLine != nil {
			c.out = append(c.out, errLine...)
			return actMore
		}
		start := len(c.out)
		s.store.CacheDump(int(id), int(limit), func(key []byte, nbytes int, unixExp int64) bool {
			line := len(c.out)
			c.out = protocol.AppendCacheDumpItem(c.out, key, nbytes, unixExp)
			if len(c.out)-start > protocol.CacheDumpLimit {
				c.out = c.out[:line]
				return false
			}
			return true
		})
		c.out = append(c.out, protocol.End...)
		return actMore
	default:
		c.out = append(c.out, protocol.Error...)
		return actMore
	}
	w.end()
	c.out = w.b
	return actMore
}

func (s *Server) resetStats() {
	s.store.ResetStats()
	s.detail.clear()
	s.stats.totalConns.Store(0)
	s.stats.rejected.Store(0)
	s.stats.bytesRead.Reset()
	s.stats.bytesWritten.Reset()
	s.stats.connYields.Store(0)
	s.stats.idleKicks.Store(0)
	s.stats.authCmds.Store(0)
	s.stats.authErrors.Store(0)
	s.stats.cmdMeta.Reset()
	if s.lat != nil {
		s.lat.reset()
	}
}

// writeGeneralStats is plain `stats`: memcached 1.6.45's fields in its order.
func (s *Server) writeGeneralStats(w *statWriter) {
	st := s.store.Stats()
	now := time.Now()
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	curr, structures := s.connCounts()

	w.i("pid", int64(os.Getpid()))
	w.i("uptime", int64(now.Sub(s.start)/time.Second))
	w.i("time", now.Unix())
	w.str("version", s.cfg.Version)
	w.str("libevent", runtime.Version())
	w.i("pointer_size", 64)
	w.str("rusage_user", timeval(ru.Utime))
	w.str("rusage_system", timeval(ru.Stime))
	w.i("max_connections", int64(s.cfg.MaxConns))
	w.i("curr_connections", curr)
	w.i("total_connections", s.stats.totalConns.Load())
	w.i("rejected_connections", s.stats.rejected.Load())
	w.i("connection_structures", structures)
	bst := s.bufs.stats()
	w.i("response_obj_oom", bst.replyOOM)
	w.i("response_obj_count", bst.replyCount)
	w.i("response_obj_bytes", bst.replyBytes)
	w.i("read_buf_count", bst.readCount)
	w.i("read_buf_bytes", bst.readBytes)
	w.i("read_buf_bytes_free", bst.readFree)
	w.i("read_buf_oom", bst.readOOM)
	w.i("reserved_fds", 0)
	w.u("cmd_get", st.CmdGet)
	w.u("cmd_set", st.CmdSet)
	w.u("cmd_flush", st.CmdFlush)
	w.u("cmd_touch", st.CmdTouch)
	w.u("cmd_meta", s.stats.cmdMeta.Load())
	w.u("get_hits", st.GetHits)
	w.u("get_misses", st.GetMisses)
	w.u("get_expired", st.GetExpired)
	w.u("get_flushed", st.GetFlushed)
	w.u("delete_misses", st.DeleteMisses)
	w.u("delete_hits", st.DeleteHits)
	w.u("incr_misses", st.IncrMisses)
	w.u("incr_hits", st.IncrHits)
	w.u("decr_misses", st.DecrMisses)
	w.u("decr_hits", st.DecrHits)
	w.u("cas_misses", st.CasMisses)
	w.u("cas_hits", st.CasHits)
	w.u("cas_badval", st.CasBadval)
	w.u("touch_hits", st.TouchHits)
	w.u("touch_misses", st.TouchMisses)
	w.u("store_too_large", st.StoreTooLarge)
	w.u("store_no_memory", st.StoreNoMemory)
	w.u("auth_cmds", s.stats.authCmds.Load())
	w.u("auth_errors", s.stats.authErrors.Load())
	if s.cfg.IdleTimeout > 0 {
		w.u("idle_kicks", s.stats.idleKicks.Load())
	}
	w.u("bytes_read", s.stats.bytesRead.Load())
	w.u("bytes_written", s.stats.bytesWritten.Load())
	w.i("limit_maxbytes", st.LimitMaxbytes)
	w.b01("accepting_conns", !s.shutting.Load())
	w.u("listen_disabled_num", s.stats.listenDisabled.Load())
	w.u("time_in_listen_disabled_us", s.stats.listenDisabledUS.Load())
	w.i("threads", int64(s.cfg.Threads))
	w.u("conn_yields", s.stats.connYields.Load())
	w.i("hash_power_level", int64(st.HashPower))
	w.i("hash_bytes", st.HashBytes)
	w.i("hash_is_expanding", 0)
	if s.cfg.SlabReassign {
		w.i("slab_reassign_rescues", 0)
		w.i("slab_reassign_chunk_rescues", 0)
		w.i("slab_reassign_inline_reclaim", 0)
		w.i("slab_reassign_busy_items", 0)
		w.i("slab_reassign_busy_deletes", 0)
		w.i("slab_reassign_busy_nomem", 0)
		w.str("slab_reassign_last_busy_status", "none")
		w.b01("slab_reassign_running", st.ReassignRunning)
		w.u("slabs_moved", st.SlabsMoved)
	}
	if s.crawlerOn.Load() {
		w.b01("lru_crawler_running", st.CrawlerRunning)
		w.u("lru_crawler_starts", st.CrawlerStarts)
	}
	maintainer := s.maintainerStats()
	if maintainer {
		w.i("lru_maintainer_juggles", 0)
	}
	w.i("malloc_fails", 0)
	w.i("log_worker_dropped", 0)
	w.i("log_worker_written", 0)
	w.u("log_watcher_skipped", s.watch.skipped.Load())
	w.u("log_watcher_sent", s.watch.sent.Load())
	w.i("log_watchers", int64(s.watch.count()))
	s.writeTLSStats(w)
	w.i("unexpected_napi_ids", 0)
	w.i("round_robin_fallback", 0)
	w.i("bytes", st.Bytes)
	w.i("curr_items", st.CurrItems)
	w.i("total_items", st.TotalItems)
	w.i("slab_global_page_pool", int64(st.PagePool))
	w.u("expired_unfetched", st.ExpiredUnfetched)
	w.u("evicted_unfetched", st.EvictedUnfetched)
	if maintainer {
		w.u("evicted_active", st.EvictedActive)
	}
	w.u("evictions", st.Evictions)
	w.u("reclaimed", st.Reclaimed)
	w.u("crawler_reclaimed", st.CrawlerReclaimed)
	w.u("crawler_items_checked", st.CrawlerItemsChecked)
	w.i("lrutail_reflocked", 0)
	if maintainer {
		w.i("moves_to_cold", 0)
		w.i("moves_to_warm", 0)
		w.u("moves_within_lru", st.MovesWithinLRU)
		w.i("direct_reclaims", 0)
		w.i("lru_bumps_dropped", 0)
	}
	// gocached's own, after all of memcached's, once there is one to
	// report (so the lines are memcached's while there is none).
	if p := s.stats.panics.Load(); p > 0 {
		w.u("recovered_panics", p)
	}
}

// maintainerStats reports whether `stats` shows memcached's LRU maintainer
// lines: as memcached, unless -o no_lru_maintainer was given (gocached
// reports lru_maintainer_thread "no" by default, but memcached's default,
// and its lines, are "yes").
func (s *Server) maintainerStats() bool {
	return s.cfg.Reported["lru_maintainer_thread"] != "no"
}

// writeSettings is `stats settings`, memcached 1.6.18's fields in order.
func (s *Server) writeSettings(w *statWriter) {
	cfg := &s.cfg
	w.i("maxbytes", s.store.MemoryLimit())
	w.i("maxconns", int64(cfg.MaxConns))
	w.i("tcpport", int64(cfg.Port))
	w.i("udpport", int64(cfg.UDPPort))
	inter := "NULL"
	if len(cfg.Listen) > 0 {
		inter = strings.Join(cfg.Listen, ",")
	}
	w.str("inter", inter)
	w.i("verbosity", int64(s.verbosity.Load()))
	w.u("oldest", 0)
	if cfg.NoEvictions {
		w.str("evictions", "off")
	} else {
		w.str("evictions", "on")
	}
	if cfg.UnixSocket != "" {
		w.str("domain_socket", cfg.UnixSocket)
	} else {
		w.str("domain_socket", "NULL")
	}
	w.str("umask", strconv.FormatUint(uint64(cfg.UnixMask), 8))
	w.yesno("shutdown_command", cfg.EnableShutdown)
	w.str("growth_factor", strconv.FormatFloat(cfg.GrowthFactor, 'f', 2, 64))
	w.i("chunk_size", int64(cfg.MinChunk))
	w.i("num_threads", int64(cfg.Threads))
	w.i("num_threads_per_udp", int64(cfg.Threads))
	w.str("stat_key_prefix", string(s.detail.delim))
	w.yesno("detail_enabled", s.detail.on.Load())
	w.i("reqs_per_event", int64(cfg.ReqsPerEvent))
	w.yesno("cas_enabled", !cfg.NoCAS)
	w.i("tcp_backlog", int64(cfg.Backlog))
	proto := cfg.Protocol
	if proto == "auto" {
		proto = "auto-negotiate"
	}
	w.str("binding_protocol", proto)
	w.yesno("auth_enabled_sasl", cfg.SASL)
	w.yesno("auth_enabled_ascii", false)
	w.i("item_size_max", int64(cfg.MaxItemSize))
	w.yesno("maxconns_fast", true)
	w.i("hashpower_init", int64(cfg.HashPower))
	w.yesno("slab_reassign", cfg.SlabReassign)
	w.i("slab_automove", int64(s.automove.Load()))
	w.str("slab_automove_ratio", cfg.Setting("slab_automove_ratio"))
	w.str("slab_automove_window", cfg.Setting("slab_automove_window"))
	w.i("slab_chunk_max", int64(s.store.Sizes()[len(s.store.Sizes())-2]))
	w.yesno("lru_crawler", s.crawlerOn.Load())
	w.i("lru_crawler_sleep", int64(s.crawlerSleep.Load()))
	w.i("lru_crawler_tocrawl", int64(s.crawlerToCrawl.Load()))
	w.str("tail_repair_time", cfg.Setting("tail_repair_time"))
	w.yesno("flush_enabled", !cfg.FlushDisabled)
	w.yesno("dump_enabled", !cfg.DumpDisabled)
	w.str("hash_algorithm", cfg.Setting("hash_algorithm"))
	w.str("lru_maintainer_thread", cfg.Setting("lru_maintainer_thread"))
	w.yesno("lru_segmented", false)
	w.str("hot_lru_pct", s.setting("hot_lru_pct"))
	w.str("warm_lru_pct", s.setting("warm_lru_pct"))
	w.str("hot_max_factor", s.setting("hot_max_factor"))
	w.str("warm_max_factor", s.setting("warm_max_factor"))
	w.yesno("temp_lru", s.store.TempTTL() >= 0)
	w.str("temporary_ttl", s.setting("temporary_ttl"))
	w.i("idle_timeout", int64(cfg.IdleTimeout/time.Second))
	w.str("watcher_logbuf_size", cfg.Setting("watcher_logbuf_size"))
	w.str("worker_logbuf_size", cfg.Setting("worker_logbuf_size"))
	w.i("read_buf_mem_limit", int64(cfg.ReadBufLimitMB)<<20)
	w.str("track_sizes", cfg.Setting("track_sizes"))
	w.yesno("inline_ascii_response", false)
	s.writeExtSettings(w)
	s.writeTLSSettings(w)
	w.str("num_napi_ids", "0")
	w.str("memory_file", cmp.Or(cfg.MemoryFile, "(null)"))
	w.i("client_flags_size", 4)
}

// writeExtSettings is memcached 1.6.45's extstore lines (an extstore
// build prints them even without ext_path; gocached has no extstore and
// reports the values given or memcached's defaults).
func (s *Server) writeExtSettings(w *statWriter) {
	for _, name := range [...]string{
		"ext_item_size", "ext_item_age", "ext_low_ttl", "ext_recache_rate", "ext_wbuf_size",
		"ext_compact_under", "ext_drop_under", "ext_max_sleep", "ext_max_frag",
		"slab_automove_freeratio", "ext_drop_unread",
	} {
		w.str(name, s.cfg.Setting(name))
	}
}

// writeItems is `stats items`: classes holding items.
func (s *Server) writeItems(w *statWriter) {
	st := s.store.Stats()
	for _, cs := range st.Classes {
		if cs.Items == 0 {
			continue
		}
		p := "items:" + strconv.Itoa(cs.ID) + ":"
		w.i(p+"number", cs.Items)
		// S3-FIFO's small queue as memcached's HOT (new items), the main
		// one as WARM (items read again); nothing is COLD.
		w.i(p+"number_hot", cs.SmallItems)
		w.i(p+"number_warm", cs.MainItems)
		w.i(p+"number_cold", 0)
		if s.store.TempTTL() >= 0 {
			w.i(p+"number_temp", cs.TempItems)
		}
		w.i(p+"age_hot", 0)
		w.i(p+"age_warm", 0)
		w.u(p+"age", uint64(cs.Age))
		w.i(p+"mem_requested", cs.MemRequested)
		w.u(p+"evicted", cs.Evicted)
		w.u(p+"evicted_nonzero", cs.EvictedNonzero)
		w.u(p+"evicted_time", uint64(cs.EvictedTime))
		w.u(p+"outofmemory", cs.OutOfMemory)
		w.i(p+"tailrepairs", 0)
		w.u(p+"reclaimed", cs.Reclaimed)
		w.u(p+"expired_unfetched", cs.ExpiredUnfetched)
		w.u(p+"evicted_unfetched", cs.EvictedUnfetched)
		w.u(p+"evicted_active", cs.EvictedActive)
		w.u(p+"crawler_reclaimed", cs.CrawlerReclaimed)
		w.i(p+"crawler_items_checked", 0)
		w.i(p+"lrutail_reflocked", 0)
		w.i(p+"moves_to_cold", 0)
		w.u(p+"moves_to_warm", cs.MovesToMain)
		w.u(p+"moves_within_lru", cs.MovesWithinLRU)
		w.i(p+"direct_reclaims", 0)
		w.u(p+"hits_to_hot", 0)
		w.u(p+"hits_to_warm", 0)
		w.u(p+"hits_to_cold", cs.GetHits)
		w.u(p+"hits_to_temp", 0)
	}
}

// writeSlabs is `stats slabs`: classes holding pages, then the totals.
func (s *Server) writeSlabs(w *statWriter) {
	st := s.store.Stats()
	active := 0
	for _, cs := range st.Classes {
		if cs.TotalPages == 0 {
			continue
		}
		active++
		p := strconv.Itoa(cs.ID) + ":"
		w.i(p+"chunk_size", int64(cs.ChunkSize))
		w.i(p+"chunks_per_page", int64(cs.ChunksPerPage))
		w.i(p+"total_pages", int64(cs.TotalPages))
		w.i(p+"total_chunks", int64(cs.TotalChunks))
		w.i(p+"used_chunks", int64(cs.UsedChunks))
		w.i(p+"free_chunks", int64(cs.FreeChunks))
		w.i(p+"free_chunks_end", 0)
		w.u(p+"get_hits", cs.GetHits)
		w.u(p+"cmd_set", cs.CmdSet)
		w.u(p+"delete_hits", cs.DeleteHits)
		w.u(p+"incr_hits", cs.IncrHits)
		w.u(p+"decr_hits", cs.DecrHits)
		w.u(p+"cas_hits", cs.CasHits)
		w.u(p+"cas_badval", cs.CasBadval)
		w.u(p+"touch_hits", cs.TouchHits)
	}
	w.i("active_slabs", int64(active))
	w.i("total_malloced", st.TotalMalloced)
}

// writeConns is `stats conns`: listeners, then clients.
func (s *Server) writeConns(w *statWriter) {
	now := time.Now().Unix()
	rel := s.store.Now() // connections note their last read on the store clock
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, l := range s.listeners {
		id := strconv.FormatInt(s.listenerIDs[i], 10)
		w.str(id+":addr", addrString(l.Addr()))
		w.str(id+":state", "conn_listening")
		w.i(id+":secs_since_last_cmd", now-s.start.Unix())
	}
	s.writeUDPConns(w, rel)
	// In connection order, as memcached lists them by fd: clients (such
	// as t/watcher_connid.t) take the last one for their own.
	conns := make([]*conn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	slices.SortFunc(conns, func(a, b *conn) int { return cmp.Compare(a.id, b.id) })
	for _, c := range conns {
		id := strconv.FormatInt(c.id, 10)
		w.str(id+":addr", addrString(c.nc.RemoteAddr()))
		w.str(id+":listen_addr", addrString(c.listener))
		w.str(id+":state", stateNames[c.state.Load()])
		w.u(id+":secs_since_last_cmd", uint64(rel-c.lastCmd.Load()))
		if v, ok := c.tlsText(); ok {
			w.str(id+":tls", v)
		}
	}
}

func addrString(a interface {
	Network() string
	String() string
}) string {
	if a == nil {
		return "unknown"
	}
	switch a.Network() {
	case "unix":
		return "unix:" + a.String()
	case "tcp", "tcp4", "tcp6":
		return "tcp:" + a.String()
	}
	return a.Network() + ":" + a.String()
}
