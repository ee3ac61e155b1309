package server

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gocached/gocached/internal/hotkeys"
	"github.com/gocached/gocached/protocol"
	"github.com/gocached/gocached/store"
	"go.uber.org/zap"
)

// Server is a running daemon: its store, listeners and connections.
type Server struct {
	cfg    Config
	detail prefixStats // stats detail
	watch  watchHub    // watch
	// The LRU crawler's settings, which lru_crawler enable|disable|sleep|
	// tocrawl change at run time.
	crawlerOn                    atomic.Bool
	crawlerSleep, crawlerToCrawl atomic.Uint32
	lru                          atomic.Pointer[lruShown] // lru tune, temp_ttl
	lruMu                        sync.Mutex               // serializes their changes
	log                          *zap.Logger
	store                        *store.Store
	start                        time.Time

	mu          sync.Mutex
	listeners   []net.Listener
	listenerIDs []int64
	plainTCP    []net.Addr // TCP listeners that speak plaintext (tls.go: PlaintextTCPAddrs)
	conns       map[*conn]struct{}
	nextID      int64

	shutting    atomic.Bool
	stopping    chan struct{} // closed by Shutdown
	stopOnce    sync.Once
	connFreed   chan struct{} // a connection closed: accepting may resume
	connWG      sync.WaitGroup
	acceptWG    sync.WaitGroup
	udp         []*udpSocket // -U sockets (udp.go)
	udpWG       sync.WaitGroup
	shutdownReq chan string
	verbosity   atomic.Int32
	automove    atomic.Int32
	stats       serverStats
	bufs        *bufferPool // every connection's read and reply buffers
	idle        *idler      // parks idle connections (park.go); nil until Serve, or when unavailable
	idleOnce    sync.Once
	closeStore  sync.Once
	keepCache   atomic.Bool               // Shutdown saves the cache for a restart (restart.go)
	sasl        *passwords                // -S password file
	asciiAuth   atomic.Pointer[passwords] // -Y users; nil when ascii auth is off; swapped by ReloadAuth

	lat     *latencies       // per-command histograms; nil unless cfg.Latency
	hot     *hotkeys.Tracker // nil unless cfg.HotKeySample > 0
	hotRate uint32           // cfg.HotKeySample
	latRate uint32           // cfg.LatencySample or its default
	metrics *metricsEndpoint // -o metrics_listen (metrics.go); nil when off
	tls     tlsState         // -Z certificates and stats (tls.go)
}

type serverStats struct {
	currConns, totalConns, rejected atomic.Int64
	panics                          atomic.Uint64 // recovered in connections (stats: recovered_panics)
	lastPanicLog                    atomic.Int64  // unix nanoseconds
	listenDisabled                  atomic.Uint64 // accept paused: out of file descriptors
	listenDisabledUS                atomic.Uint64
	connYields, idleKicks           atomic.Uint64
	authCmds, authErrors            atomic.Uint64
	// Bumped on every read, write or meta command: striped by connection.
	bytesRead, bytesWritten stripedCounter
	cmdMeta                 stripedCounter
	writes                  stripedCounter // write calls, for tests of batching
}

const counterStripes = 16 // a power of two

// stripedCounter is a counter that many connections bump on every request.
// Each connection adds to one of several cells, each on its own cache
// line, so that cores do not contend for one line; Load sums the cells.
type stripedCounter struct {
	cells [counterStripes]struct {
		v atomic.Uint64
		_ [56]byte
	}
}

// Add adds n on the cell of the connection with this id.
func (c *stripedCounter) Add(id int64, n uint64) { c.cells[id&(counterStripes-1)].v.Add(n) }

// Load is the counter's value.
func (c *stripedCounter) Load() uint64 {
	var sum uint64
	for i := range c.cells {
		sum += c.cells[i].v.Load()
	}
	return sum
}

// Reset zeroes the counter (stats reset).
func (c *stripedCounter) Reset() {
	for i := range c.cells {
		c.cells[i].v.Store(0)
	}
}

// notePanic records a panic recovered while serving a connection, which
// is then closed: counted in stats (recovered_panics), logged with its
// stack the first time and then at most once a minute, so that a client
// that can trigger one cannot flood the log.
func (s *Server) notePanic(where string, r any) {
	n := s.stats.panics.Add(1)
	now := time.Now().UnixNano()
	last := s.stats.lastPanicLog.Load()
	if n > 1 && now-last < int64(time.Minute) || !s.stats.lastPanicLog.CompareAndSwap(last, now) {
		return
	}
	s.log.Error(where+" panic; the connection was closed", zap.Any("panic", r), zap.Uint64("panics_so_far", n), zap.Stack("stack"))
}

// Panics is how many panics connections have recovered from; tests require 0.
func (s *Server) Panics() uint64 { return s.stats.panics.Load() }

// New builds a server and its store from cfg. Nothing listens until
// Listen or Serve.
func New(cfg Config, log *zap.Logger) (*Server, error) {
	if log == nil {
		log = zap.NewNop()
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	var sasl *passwords
	if cfg.SASL {
		if cfg.SASLPassFile == "" {
			return nil, errors.New("SASL needs a password file (--sasl-pwdb or MEMCACHED_SASL_PWDB)")
		}
		var err error
		if sasl, err = loadPasswords(cfg.SASLPassFile); err != nil {
			return nil, fmt.Errorf("SASL password file: %w", err)
		}
	}
	st, err := store.New(store.Options{
		MemoryLimit:     int64(cfg.MemoryLimitMB) << 20,
		MaxItemSize:     cfg.MaxItemSize,
		GrowthFactor:    cfg.GrowthFactor,
		MinChunk:        cfg.MinChunk,
		NoEvictions:     cfg.NoEvictions,
		NoCAS:           cfg.NoCAS,
		HashPower:       cfg.HashPower,
		SlabAutomove:    cfg.automove(),
		AutomoveWindow:  atoiSetting(cfg.Setting("slab_automove_window")),
		Now:             cfg.now,
		MemoryFile:      cfg.MemoryFile,
		RestartProgress: restartProgress(log),
		NoAutoCrawl:     cfg.Setting("lru_crawler") == "no",
		// memcached without its LRU maintainer (no_modern, no_lru_maintainer)
		// keeps the flat LRU of 1.4: so does gocached, in place of S3-FIFO.
		FlatLRU: cfg.Reported["lru_maintainer_thread"] == "no", // explicit only: "no" is also the reported default
		TempLRU: cfg.tempLRU(),
		TempTTL: uint32(max(atoiSetting(cfg.Setting("temporary_ttl")), 0)),
	})
	if err != nil {
		return nil, err
	}
	logRestart(st.Restart(), int64(cfg.MemoryLimitMB)<<20, log)
	s := &Server{
		detail:      prefixStats{delim: cfg.prefixDelimiter()},
		cfg:         cfg,
		log:         log,
		store:       st,
		start:       time.Now(),
		conns:       make(map[*conn]struct{}),
		shutdownReq: make(chan string, 1),
		stopping:    make(chan struct{}),
		connFreed:   make(chan struct{}, 1),
		sasl:        sasl,
		bufs:        newBufferPool(int64(cfg.ReadBufLimitMB) << 20),
	}
	if cfg.AuthFile != "" {
		if err := s.ReloadAuth(); err != nil {
			st.Close()
			return nil, err
		}
	}
	if cfg.Latency {
		s.lat = newLatencies()
		s.latRate = uint32(cfg.LatencySample)
		if s.latRate == 0 {
			s.latRate = DefaultLatencySample
		}
	}
	if cfg.HotKeySample > 0 {
		s.hot = hotkeys.New(hotkeys.Config{SampleRate: cfg.HotKeySample})
		s.hotRate = uint32(cfg.HotKeySample)
	}
	if cfg.TLS.Enabled {
		if err := s.ReloadCerts(); err != nil {
			st.Close()
			return nil, err
		}
	}
	s.verbosity.Store(int32(cfg.Verbosity))
	s.automove.Store(int32(cfg.automove()))
	s.crawlerOn.Store(cfg.Setting("lru_crawler") != "no")
	s.crawlerSleep.Store(uint32(atoiSetting(cfg.Setting("lru_crawler_sleep"))))
	s.crawlerToCrawl.Store(uint32(atoiSetting(cfg.Setting("lru_crawler_tocrawl"))))
	s.initLRUShown()
	s.watch.bufSize = atoiSetting(cfg.Setting("watcher_logbuf_size"))
	s.watch.onStreams = s.watchStreams
	s.detail.on.Store(cfg.DetailEnabled)
	return s, nil
}

// Store is the server's cache.
func (s *Server) Store() *store.Store { return s.store }

// ReloadAuth rereads the ascii auth file (-Y), as memcached does on SIGHUP.
// When it cannot be read or names no user, the users already loaded stay
// and the error says why. Without -Y it does nothing.
func (s *Server) ReloadAuth() error {
	if s.cfg.AuthFile == "" {
		return nil
	}
	p, err := loadPasswords(s.cfg.AuthFile)
	if err == nil && len(p.users) == 0 {
		err = fmt.Errorf("%s: no users", s.cfg.AuthFile)
	}
	if err != nil {
		return fmt.Errorf("auth file: %w", err)
	}
	s.asciiAuth.Store(p)
	return nil
}

// ShutdownRequested delivers "shutdown" or "graceful" when a client sends
// the shutdown command (only with -A).
func (s *Server) ShutdownRequested() <-chan string { return s.shutdownReq }

// Listen opens the configured listeners and serves them in the background.
func (s *Server) Listen() error {
	var ls []net.Listener
	fail := func(err error) error {
		for _, l := range ls {
			l.Close()
		}
		return err
	}
	var modes []tlsMode
	if s.cfg.UnixSocket != "" {
		_ = os.Remove(s.cfg.UnixSocket)
		// As memcached, the socket is created with -a's mode (umask), not
		// chmod'ed to it after others could connect.
		old := syscall.Umask(int(^s.cfg.UnixMask & 0o777))
		l, err := net.Listen("unix", s.cfg.UnixSocket)
		syscall.Umask(old)
		if err != nil {
			return fail(err)
		}
		if err := os.Chmod(s.cfg.UnixSocket, os.FileMode(s.cfg.UnixMask)); err != nil {
			l.Close()
			return fail(err)
		}
		ls = append(ls, l)
		modes = append(modes, tlsOff)
	} else if s.cfg.Port != 0 {
		for _, sp := range s.cfg.listenSpecs(s.cfg.Port) {
			l, err := listenTCP(sp.addr)
			if err != nil {
				return fail(fmt.Errorf("failed to listen on TCP %s: %w", sp.addr, err))
			}
			ls = append(ls, l)
			modes = append(modes, sp.tls)
		}
	}
	var us []*udpSocket
	if s.cfg.UnixSocket == "" && s.cfg.UDPPort != 0 {
		// UDP binds the -l addresses as TCP does; a unix socket disables
		// both, as in memcached.
		var err error
		if us, err = s.listenUDP(); err != nil {
			return fail(err)
		}
	}
	// Every socket is bound and none served yet: the daemon gives up root
	// here (-u), so that no request is ever handled as root.
	if s.cfg.BeforeServe != nil {
		if err := s.cfg.BeforeServe(); err != nil {
			for _, u := range us {
				u.pc.Close()
			}
			return fail(err)
		}
	}
	// With -p 0 and no -U nor -s memcached runs with no listener at all
	// (t/issue_67.t), and so does gocached.
	if err := s.ListenMetrics(); err != nil {
		for _, u := range us {
			u.pc.Close()
		}
		return fail(err)
	}
	for i, l := range ls {
		s.serve(l, modes[i])
	}
	s.serveUDP(us)
	return nil
}

// listenTCP listens on addr as memcached does: SO_KEEPALIVE with the
// system's timings on the listening socket, which accepted connections
// inherit, instead of Go's per-connection keep-alive of 15 s (four
// setsockopt calls on every accept). Go sets TCP_NODELAY on each accepted
// connection itself, as memcached's listener has it.
func listenTCP(addr string) (net.Listener, error) {
	lc := net.ListenConfig{KeepAlive: -1, Control: func(_, _ string, rc syscall.RawConn) error {
		var serr error
		if err := rc.Control(func(fd uintptr) {
			serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_KEEPALIVE, 1)
		}); err != nil {
			return err
		}
		return serr
	}}
	return lc.Listen(context.Background(), ipNetwork("tcp", addr), addr)
}

// ipNetwork is network ("tcp" or "udp") for addr, with "4" added when
// its host is an IPv4 address: memcached binds -l 0.0.0.0 for IPv4 only,
// and reports it so (tcp:0.0.0.0:port in stats conns), where Go's "tcp"
// would take the dual-stack [::].
func ipNetwork(network, addr string) string {
	host, _, err := net.SplitHostPort(addr)
	if ip := net.ParseIP(host); err == nil && ip != nil && ip.To4() != nil {
		return network + "4"
	}
	return network
}

// listenSpec is one -l address and whether it speaks TLS.
type listenSpec struct {
	addr string
	tls  tlsMode // tlsOff or, with -Z, a TLS mode
}

// listenAddrs turns -l and a port (-p or -U; negative: any free port) into
// listen addresses, without the TLS prefixes.
func (c *Config) listenAddrs(p int) []string {
	var out []string
	for _, sp := range c.listenSpecs(p) {
		out = append(out, sp.addr)
	}
	return out
}

// listenSpecs turns -l and a port into listen addresses. An address of -l
// with its own port keeps it; one prefixed notls:, btls: or mtls: (with
// -Z) gets that TLS mode, the others TLS with -Z.
func (c *Config) listenSpecs(p int) []listenSpec {
	port := strconv.Itoa(p)
	if p < 0 {
		port = "0"
	}
	def := tlsOff
	if c.TLS.Enabled {
		def = tlsDefault
	}
	if len(c.Listen) == 0 {
		return []listenSpec{{":" + port, def}}
	}
	var out []listenSpec
	for _, item := range c.Listen {
		for _, a := range strings.Split(item, ",") {
			m, a := splitTLSPrefix(strings.TrimSpace(a))
			if m == tlsUnset {
				m = def
			}
			if a == "" {
				continue
			}
			if h, p, err := net.SplitHostPort(a); err == nil {
				out = append(out, listenSpec{net.JoinHostPort(h, p), m})
				continue
			}
			out = append(out, listenSpec{net.JoinHostPort(strings.Trim(a, "[]"), port), m})
		}
	}
	return out
}

// Serve accepts connections from l in the background until shutdown. With
// -Z a TCP listener speaks TLS (systemd's sockets are served this way).
func (s *Server) Serve(l net.Listener) {
	m := tlsOff
	if _, tcp := l.Addr().(*net.TCPAddr); tcp && s.cfg.TLS.Enabled {
		m = tlsDefault
	}
	s.serve(l, m)
}

func (s *Server) serve(l net.Listener, m tlsMode) {
	s.mu.Lock()
	s.listeners = append(s.listeners, l)
	s.nextID++
	s.listenerIDs = append(s.listenerIDs, s.nextID)
	if _, tcp := l.Addr().(*net.TCPAddr); tcp && m == tlsOff {
		s.plainTCP = append(s.plainTCP, l.Addr())
	}
	s.mu.Unlock()
	s.stats.totalConns.Add(1)
	s.idleOnce.Do(s.startIdler)
	s.acceptWG.Add(1)
	go s.acceptLoop(l, m)
}

// Addrs returns the listeners' addresses.
func (s *Server) Addrs() []net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []net.Addr
	for _, l := range s.listeners {
		out = append(out, l.Addr())
	}
	return out
}

func (s *Server) acceptLoop(l net.Listener, m tlsMode) {
	defer s.acceptWG.Done()
	var delay time.Duration
	var pausedAt time.Time
	for {
		nc, err := l.Accept()
		if err != nil {
			if s.shutting.Load() || errors.Is(err, net.ErrClosed) {
				return
			}
			// Out of file descriptors (EMFILE, ENFILE) and the like: as
			// memcached, stop accepting (listen_disabled_num) until a
			// connection closes, or a backoff that doubles up to a second
			// passes, and say so once.
			if delay == 0 {
				delay = 5 * time.Millisecond
				pausedAt = time.Now()
				s.stats.listenDisabled.Add(1)
				s.log.Warn("accept failed; pausing accepts until a connection closes", zap.Error(err))
			} else if delay < time.Second {
				delay *= 2
			}
			t := time.NewTimer(delay)
			select {
			case <-s.connFreed:
			case <-t.C:
			case <-s.stopping:
			}
			t.Stop()
			continue
		}
		if delay != 0 {
			s.stats.listenDisabledUS.Add(uint64(time.Since(pausedAt) / time.Microsecond))
			s.log.Info("accepting again", zap.Duration("paused", time.Since(pausedAt)))
			delay = 0
		}
		s.stats.totalConns.Add(1)
		if s.stats.currConns.Load() >= int64(s.cfg.MaxConns) {
			s.stats.rejected.Add(1)
			_ = nc.SetWriteDeadline(time.Now().Add(time.Second))
			_, _ = nc.Write(protocol.ErrTooManyConns)
			nc.Close()
			continue
		}
		c := newConn(s, s.startTLS(nc, m), l)
		s.mu.Lock()
		if s.shutting.Load() {
			s.mu.Unlock()
			nc.Close()
			return
		}
		s.conns[c] = struct{}{}
		s.stats.currConns.Add(1)
		s.connWG.Add(1)
		s.mu.Unlock()
		go c.serve()
	}
}

func (s *Server) forget(c *conn) {
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
	s.stats.currConns.Add(-1)
	s.connWG.Done()
	select {
	case s.connFreed <- struct{}{}:
	default:
	}
}

// Shutdown stops accepting, lets every connection finish the requests it
// has already received, and closes it. When ctx ends first, the remaining
// connections are closed at once. The store is released afterwards.
func (s *Server) Shutdown(ctx context.Context) error {
	s.shutting.Store(true)
	s.stopOnce.Do(func() { close(s.stopping) })
	s.stopMetrics(ctx)
	s.mu.Lock()
	for _, l := range s.listeners {
		l.Close()
	}
	for c := range s.conns {
		c.wake()
	}
	s.wakeUDP()
	s.mu.Unlock()
	s.acceptWG.Wait()
	s.idleOnce.Do(func() {}) // no idler may start from now on
	if s.idle != nil {
		s.idle.close() // closes the parked connections
	}
	s.closeUDP()
	done := make(chan struct{})
	go func() {
		s.connWG.Wait()
		close(done)
	}()
	var err error
	select {
	case <-done:
	case <-ctx.Done():
		err = ctx.Err()
		s.mu.Lock()
		for c := range s.conns {
			c.closeSocket()
		}
		s.mu.Unlock()
		<-done
	}
	if s.cfg.UnixSocket != "" {
		_ = os.Remove(s.cfg.UnixSocket)
	}
	s.closeStore.Do(s.closeStoreNow)
	return err
}

func (s *Server) requestShutdown(mode string) {
	select {
	case s.shutdownReq <- mode:
	default:
	}
}
