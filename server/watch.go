package server

import (
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gocached/gocached/protocol"
	"github.com/gocached/gocached/store"
)

// watchHub is memcached's logger as `watch` sees it: connections that
// asked for log streams get one line per event, memcached 1.6.45's text.
// Each watcher has a buffer of watcher_logbuf_size bytes; a line that does
// not fit is skipped and counted, and "skipped=N" is sent once there is
// room again. Nothing is formatted while no watcher wants the stream: the
// cost then is one atomic load per event.
type watchHub struct {
	streams atomic.Uint32 // the union of the watchers' streams
	gid     atomic.Uint64 // memcached's global log entry id
	skipped atomic.Uint64 // log_watcher_skipped
	sent    atomic.Uint64 // log_watcher_sent

	mu      sync.Mutex
	ws      []*watcher
	bufSize int
	// onStreams is told the union of streams whenever it changes (the
	// server turns the store's eviction log on and off with it).
	onStreams func(uint32)
}

// watcher is one watching connection's buffer and writer.
type watcher struct {
	hub     *watchHub
	nc      net.Conn
	streams uint32

	mu      sync.Mutex
	wake    *sync.Cond
	buf     []byte
	lines   uint64
	skipped uint64
	closed  bool
}

// maxWatchers is memcached's WATCHER_LIMIT.
const maxWatchers = 20

// on reports whether some watcher wants stream.
func (h *watchHub) on(stream uint32) bool { return h.streams.Load()&stream != 0 }

// count is log_watchers.
func (h *watchHub) count() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.ws)
}

// add starts a watcher on nc, nil when there are maxWatchers already. As
// memcached's logger_add_watcher, its OK is the first thing it writes, so
// a client that has read the OK sees every event after it.
func (h *watchHub) add(nc net.Conn, streams uint32) *watcher {
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.ws) >= maxWatchers {
		return nil
	}
	w := &watcher{hub: h, nc: nc, streams: streams, buf: append([]byte(nil), protocol.OK...)}
	w.wake = sync.NewCond(&w.mu)
	h.ws = append(h.ws, w)
	h.recount()
	go w.run()
	return w
}

// remove stops w (its connection closed).
func (h *watchHub) remove(w *watcher) {
	h.mu.Lock()
	for i, x := range h.ws {
		if x == w {
			h.ws = append(h.ws[:i], h.ws[i+1:]...)
			break
		}
	}
	h.recount()
	h.mu.Unlock()
	w.mu.Lock()
	w.closed = true
	w.wake.Signal()
	w.mu.Unlock()
}

func (h *watchHub) recount() {
	var u uint32
	for _, w := range h.ws {
		u |= w.streams
	}
	h.streams.Store(u)
	if h.onStreams != nil {
		h.onStreams(u)
	}
}

// line starts a log line of kind: "ts=... gid=... type=<kind>".
func (h *watchHub) line(kind string) []byte {
	now := time.Now()
	return protocol.AppendLogHead(make([]byte, 0, 160), now.Unix(), now.Nanosecond()/1000, h.gid.Add(1), kind)
}

// send hands a finished line (without its LF) to every watcher of stream.
func (h *watchHub) send(stream uint32, line []byte) {
	line = append(line, '\n')
	h.mu.Lock()
	for _, w := range h.ws {
		if w.streams&stream != 0 {
			w.push(line)
		}
	}
	h.mu.Unlock()
}

func (w *watcher) push(line []byte) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return
	}
	if !w.noteSkipped(len(line)) || len(w.buf)+len(line) > w.hub.bufSize {
		w.skipped++
		w.hub.skipped.Add(1)
		return
	}
	w.buf = append(w.buf, line...)
	w.lines++
	w.wake.Signal()
}

// noteSkipped buffers "skipped=N" for the lines skipped so far, if it
// fits with room bytes more (w.mu held); false when it does not. As
// memcached's logger, the line goes out as soon as there is room, not
// only with the next event (t/watcher.t waits for it).
func (w *watcher) noteSkipped(room int) bool {
	if w.skipped == 0 {
		return true
	}
	skip := "skipped=" + strconv.FormatUint(w.skipped, 10) + "\n"
	if len(w.buf)+len(skip)+room > w.hub.bufSize {
		return false
	}
	w.buf = append(w.buf, skip...)
	w.skipped = 0
	return true
}

// run writes what is buffered until the watcher is removed or a write
// fails (then the connection is closed, and its reader removes it).
func (w *watcher) run() {
	var out []byte
	for {
		w.mu.Lock()
		w.noteSkipped(0) // the last write made room
		for len(w.buf) == 0 && !w.closed {
			w.wake.Wait()
		}
		if w.closed {
			w.mu.Unlock()
			return
		}
		out, w.buf = w.buf, out[:0]
		lines := w.lines
		w.lines = 0
		w.mu.Unlock()
		_ = w.nc.SetWriteDeadline(time.Now().Add(30 * time.Second))
		if _, err := w.nc.Write(out); err != nil {
			w.nc.Close()
			return
		}
		w.hub.sent.Add(lines)
	}
}

// Log points. Each is called only when its stream is watched.

// logGet is an item fetch: found or not, the item's class and value size
// (looked up again when found).
func (c *conn) logGet(key []byte, found bool) {
	h := &c.s.watch
	cls, size := 0, 0
	if found {
		found, cls, size = c.itemInfo(key)
	}
	status := "not_found"
	if found {
		status = "found"
	}
	l := protocol.AppendURIKey(h.line("item_get"), key)
	l = protocol.AppendLogWord(l, "status", status)
	l = protocol.AppendLogField(l, "clsid", int64(cls))
	l = protocol.AppendLogField(l, "cfd", c.id)
	l = protocol.AppendLogField(l, "size", int64(size))
	h.send(protocol.WatchFetchers, l)
}

// logStore is a storage command's outcome.
func (c *conn) logStore(key []byte, status, cmd string, exptime uint32, flags uint32, size int) {
	h := &c.s.watch
	ttl := int64(0)
	if exptime != 0 {
		ttl = int64(uint32(exptime - c.s.store.Now()))
	}
	l := protocol.AppendURIKey(h.line("item_store"), key)
	l = protocol.AppendLogWord(l, "status", status)
	l = protocol.AppendLogWord(l, "cmd", cmd)
	l = protocol.AppendLogField(l, "ttl", ttl)
	l = protocol.AppendLogField(l, "clsid", int64(c.s.store.MemcachedClassOf(len(key), flags, size)))
	l = protocol.AppendLogField(l, "cfd", c.id)
	l = protocol.AppendLogField(l, "size", int64(size))
	h.send(protocol.WatchMutations, l)
}

// logDelete is an item removed by delete or md (cmd).
func (c *conn) logDelete(key []byte, cmd string, cls, size int) {
	h := &c.s.watch
	l := protocol.AppendURIKey(h.line("deleted"), key)
	l = protocol.AppendLogWord(l, "cmd", cmd)
	l = protocol.AppendLogField(l, "clsid", int64(cls))
	l = protocol.AppendLogField(l, "size", int64(size))
	h.send(protocol.WatchDeletions, l)
}

// storeEvents writes what the store tells of (store.Events) to the
// watchers: evictions, and page moves as sysevents.
type storeEvents struct{ h *watchHub }

// Evicted is a live item the store evicted for memory.
func (e storeEvents) Evicted(ev *store.Eviction) {
	if !e.h.on(protocol.WatchEvictions) {
		return
	}
	fetch := "no"
	if ev.Fetched {
		fetch = "yes"
	}
	l := protocol.AppendURIKey(e.h.line("eviction"), ev.Key)
	l = protocol.AppendLogWord(l, "fetch", fetch)
	l = protocol.AppendLogField(l, "ttl", ev.TTL)
	l = protocol.AppendLogField(l, "la", int64(ev.LastAccess))
	l = protocol.AppendLogField(l, "clsid", int64(ev.Class))
	l = protocol.AppendLogField(l, "size", int64(ev.Size))
	e.h.send(protocol.WatchEvictions, l)
}

// PageMoved is memcached's slab_move sysevent.
func (e storeEvents) PageMoved(src, dst int, ok bool) {
	if !e.h.on(protocol.WatchSysEvents) {
		return
	}
	state := "fail"
	if ok {
		state = "ok"
	}
	l := protocol.AppendLogField(e.h.line("slab_move"), "src", int64(src))
	l = protocol.AppendLogField(l, "dst", int64(dst))
	l = protocol.AppendLogWord(l, "state", state)
	e.h.send(protocol.WatchSysEvents, l)
}

// watchStreams follows the watchers' streams: the store tells of events
// only while some watcher wants them.
func (s *Server) watchStreams(streams uint32) {
	if streams&(protocol.WatchEvictions|protocol.WatchSysEvents) != 0 {
		s.store.SetEvents(storeEvents{&s.watch})
	} else {
		s.store.SetEvents(nil)
	}
}

// logConn is a connection's start (reason "") or end.
func (c *conn) logConn(reason string) {
	h := &c.s.watch
	kind := "conn_new"
	if reason != "" {
		kind = "conn_close"
	}
	l := h.line(kind)
	rip, rport, transport := "unknown", 0, "local"
	if a, ok := c.nc.RemoteAddr().(*net.TCPAddr); ok {
		rip, rport, transport = a.IP.String(), a.Port, "tcp"
	}
	l = protocol.AppendLogWord(l, "rip", rip)
	l = protocol.AppendLogField(l, "rport", int64(rport))
	l = protocol.AppendLogWord(l, "transport", transport)
	if reason != "" {
		l = protocol.AppendLogWord(l, "reason", reason)
	}
	l = protocol.AppendLogField(l, "cfd", c.id)
	h.send(protocol.WatchConnEvents, l)
}

// itemInfo looks key up for a log line: whether it is there, its
// memcached class and its value's size.
func (c *conn) itemInfo(key []byte) (found bool, cls, size int) {
	found = c.s.store.Peek(key, func(it *store.Item) {
		cls, size = it.MemcachedClass(), len(it.Value())
	})
	return found, cls, size
}

// cmdWatch is `watch [streams]`: after OK the connection only receives
// log lines (its input is read and dropped) until it closes.
func (c *conn) cmdWatch(t *protocol.Tokens) action {
	switch {
	case c.s.cfg.WatchDisabled:
		c.out = append(c.out, "CLIENT_ERROR watch commands not allowed\r\n"...)
		return actMore
	case len(c.out) > 0:
		c.out = append(c.out, "ERROR cannot pipeline other commands before watch\r\n"...)
		return actMore
	}
	streams, ok := protocol.ParseWatch(t)
	if !ok {
		c.reply(protocol.Error)
		return actMore
	}
	if c.s.watch.count() >= maxWatchers {
		c.out = append(c.out, "WATCHER_TOO_MANY log watcher limit reached\r\n"...)
		return actMore
	}
	c.watchStreams = streams // the watcher writes the OK (watchHub.add)
	return actMore
}

// storeStatus is item_store's status= for a storage outcome.
func storeStatus(res store.Result, err error) string {
	switch {
	case err == store.ErrTooLarge:
		return "too_large"
	case err != nil:
		return "no_memory"
	}
	switch res {
	case store.Stored:
		return "stored"
	case store.Exists:
		return "exists"
	case store.NotFound:
		return "not_found"
	}
	return "not_stored"
}

// modeNames are item_store's cmd= names.
var modeNames = map[store.Mode]string{
	store.ModeSet: "set", store.ModeAdd: "add", store.ModeReplace: "replace",
	store.ModeAppend: "append", store.ModePrepend: "prepend", store.ModeCAS: "cas",
}

// logStorage logs what memcached's do_store_item logs around a storage
// command: the fetch of the old item (fetchers), then the outcome
// (mutations). before is the old item's presence, from beforeStore.
func (c *conn) logStorage(r *store.Request, before bool, res store.Result, err error) {
	if c.s.watch.on(protocol.WatchFetchers) {
		c.logGet(r.Key, before)
	}
	if c.s.watch.on(protocol.WatchMutations) {
		size := len(r.Value)
		if res == store.Stored && err == nil {
			size = r.Len
		}
		c.logStore(r.Key, storeStatus(res, err), modeNames[r.Mode], r.Exptime, r.Flags, size)
	}
}

// beforeStore reports whether key is there, when a fetchers watcher is to
// see the storage command's fetch of it.
func (c *conn) beforeStore(key []byte) bool {
	if !c.s.watch.on(protocol.WatchFetchers) {
		return false
	}
	found, _, _ := c.itemInfo(key)
	return found
}

// logDeletion logs a delete's (or md's) fetch and, when it removed the
// item, the deletion.
func (c *conn) logDeletion(key []byte, cmd string, found, deleted bool, cls, size int) {
	if c.s.watch.on(protocol.WatchFetchers) {
		c.logGet(key, found)
	}
	if deleted && c.s.watch.on(protocol.WatchDeletions) {
		c.logDelete(key, cmd, cls, size)
	}
}
