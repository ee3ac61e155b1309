package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"os/user"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/gocached/gocached/server"
	"github.com/urfave/cli/v2"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

const memcachedVersion = "1.6.45"

func daemonFlags() []cli.Flag {
	d := server.DefaultConfig()
	return append([]cli.Flag{
		&cli.IntFlag{Name: "port", Aliases: []string{"p"}, Value: d.Port, Usage: "TCP port to listen on (0 = off, -1 = any free port)"},
		&cli.IntFlag{Name: "udp-port", Aliases: []string{"U"}, Value: 0, Usage: "UDP port to listen on (0 = off, the default: UDP is open to reflection attacks)"},
		&cli.StringFlag{Name: "unix-socket", Aliases: []string{"s"}, Usage: "unix socket path to listen on (disables TCP)"},
		&cli.StringFlag{Name: "unix-mask", Aliases: []string{"a"}, Value: "0700", Usage: "access mask for the unix socket, in octal"},
		&cli.StringSliceFlag{Name: "listen", Aliases: []string{"l"}, Usage: "interface to listen on, `ADDR[:PORT]`; repeat or comma-separate for several (default: all)"},
		&cli.IntFlag{Name: "memory-limit", Aliases: []string{"m"}, Value: d.MemoryLimitMB, Usage: "item memory in megabytes"},
		&cli.IntFlag{Name: "conn-limit", Aliases: []string{"c"}, Value: d.MaxConns, Usage: "max simultaneous connections"},
		&cli.IntFlag{Name: "threads", Aliases: []string{"t"}, Value: d.Threads, Usage: "OS threads running Go code (GOMAXPROCS)"},
		&cli.StringFlag{Name: "max-item-size", Aliases: []string{"I"}, Value: "1m", Usage: "max item size, bytes with optional k/m/g suffix (min 1k, max 1g)"},
		&cli.Float64Flag{Name: "slab-growth-factor", Aliases: []string{"f"}, Value: d.GrowthFactor, Usage: "chunk size growth factor between slab classes"},
		&cli.IntFlag{Name: "slab-min-size", Aliases: []string{"n"}, Value: d.MinChunk, Usage: "min space for key, value and flags in the smallest class"},
		&cli.BoolFlag{Name: "verbose", Aliases: []string{"v"}, Count: new(int), Usage: "verbose (-v errors and warnings, -vv also client commands, -vvv everything)"},
		&cli.BoolFlag{Name: "disable-evictions", Aliases: []string{"M"}, Usage: "return an error on memory exhausted instead of evicting items"},
		&cli.BoolFlag{Name: "disable-cas", Aliases: []string{"C"}, Usage: "disable use of CAS"},
		&cli.IntFlag{Name: "max-reqs-per-event", Aliases: []string{"R"}, Value: d.ReqsPerEvent, Usage: "requests a connection handles before yielding to others"},
		&cli.StringFlag{Name: "protocol", Aliases: []string{"B"}, Value: d.Protocol, Usage: "protocol: auto (detected per connection), ascii or binary"},
		&cli.IntFlag{Name: "listen-backlog", Aliases: []string{"b"}, Value: d.Backlog, Usage: "listen backlog (accepted and ignored: Go uses the kernel's somaxconn)"},
		&cli.BoolFlag{Name: "daemon", Aliases: []string{"d"}, Usage: "run as a daemon in the background"},
		&cli.StringFlag{Name: "pidfile", Aliases: []string{"P"}, Usage: "write the process id to `FILE`"},
		&cli.StringFlag{Name: "user", Aliases: []string{"u"}, Usage: "switch to `USER` after opening the listeners"},
		&cli.BoolFlag{Name: "enable-shutdown", Aliases: []string{"A"}, Usage: "enable the ascii shutdown command"},
		&cli.BoolFlag{Name: "disable-flush-all", Aliases: []string{"F"}, Usage: "disable the flush_all command"},
		&cli.BoolFlag{Name: "enable-sasl", Aliases: []string{"S"}, Usage: "require binary SASL PLAIN authentication (forces -B binary)"},
		&cli.StringFlag{Name: "sasl-pwdb", EnvVars: []string{"MEMCACHED_SASL_PWDB"}, Usage: "SASL password `FILE`, lines user:password (memcached's MEMCACHED_SASL_PWDB)"},
		&cli.StringFlag{Name: "auth-file", Aliases: []string{"Y"}, Usage: "ascii authentication `FILE`, lines user:password (forces -B ascii)"},
		&cli.StringFlag{Name: "cluster-config", Usage: "answer ElastiCache's \"config get cluster\" with `NODES`: host|ip|port or host:port, comma-separated, or @FILE (reread when it changes)"},
		&cli.BoolFlag{Name: "disable-dumping", Aliases: []string{"X"}, Usage: "disable stats cachedump, stats detail and lru_crawler metadump"},
		&cli.BoolFlag{Name: "disable-watch", Aliases: []string{"W"}, Usage: "disable the watch command (live logging)"},
		&cli.StringFlag{Name: "memory-file", Aliases: []string{"e"}, Usage: "restartable cache: item memory in `FILE` (on tmpfs); a graceful stop (SIGTERM, SIGUSR1, shutdown graceful) lets the next start with the same options resume it"},
		&cli.BoolFlag{Name: "lock-memory", Aliases: []string{"k"}, Usage: "IGNORED (warns): lock down all paged memory; gocached does not mlock"},
		&cli.BoolFlag{Name: "enable-coredumps", Aliases: []string{"r"}, Usage: "IGNORED (warns): maximize core file limit; Go writes cores only with GOTRACEBACK=crash"},
		&cli.BoolFlag{Name: "enable-largepages", Aliases: []string{"L"}, Usage: "IGNORED (warns): large memory pages; Go's runtime uses transparent huge pages as the kernel allows"},
		&cli.StringFlag{Name: "prefix-delimiter", Aliases: []string{"D"}, Usage: "use <char> as the key prefix delimiter of per-prefix stats (stats detail), and turn them on"},
		&cli.IntFlag{Name: "napi-ids", Aliases: []string{"N"}, Usage: "IGNORED (warns): NAPI-id thread selection; Go schedules connections itself"},
		&cli.BoolFlag{Name: "license", Aliases: []string{"i"}, Usage: "print gocached's and memcached's licence notes and exit"},
		&cli.StringSliceFlag{Name: "extended", Aliases: []string{"o"}, Usage: "extended options, `KEY[=VALUE][,...]` (see below)"},
	}, tlsFlags()...)
}

// licenseText is -i's answer (memcached prints its and libevent's).
const licenseText = `gocached: a memcached-compatible cache daemon, written in Go.
It reimplements memcached's protocols and flags; it contains no memcached
or libevent code. memcached is Copyright (c) 2003 Danga Interactive, Inc.,
BSD licence; see https://github.com/memcached/memcached/blob/master/LICENSE.`

// ignoredFlags are memcached flags gocached accepts without effect; the
// daemon names them in its start-up warning.
var ignoredFlags = []struct{ name, short string }{
	{"lock-memory", "k"}, {"enable-coredumps", "r"}, {"enable-largepages", "L"},
	{"napi-ids", "N"},
}

func extendedHelp() string {
	keys := make([]string, 0, len(extendedOptions))
	for k := range extendedOptions {
		keys = append(keys, k)
	}
	sortStrings(keys)
	var b strings.Builder
	for _, k := range keys {
		if _, ext := extstoreOptions[k]; ext {
			continue
		}
		fmt.Fprintf(&b, "\n  %-18s %s", k, extendedOptions[k].help)
	}
	fmt.Fprintf(&b, "\n  %-18s %s", "ext_*", noExtstore+": every ext_ option memcached takes")
	return b.String()
}

func sortStrings(a []string) {
	for i := 1; i < len(a); i++ {
		for j := i; j > 0 && a[j] < a[j-1]; j-- {
			a[j], a[j-1] = a[j-1], a[j]
		}
	}
}

// parseSize reads -I: bytes with an optional k, m or g suffix.
func parseSize(s string) (int, error) {
	s = strings.TrimSpace(strings.ToLower(s))
	mult := 1
	switch {
	case strings.HasSuffix(s, "k"):
		mult, s = 1<<10, s[:len(s)-1]
	case strings.HasSuffix(s, "m"):
		mult, s = 1<<20, s[:len(s)-1]
	case strings.HasSuffix(s, "g"):
		mult, s = 1<<30, s[:len(s)-1]
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("invalid size %q", s)
	}
	return n * mult, nil
}

// configFrom turns the command line into a server.Config, and names the
// options it accepted for compatibility that have no effect (the daemon
// warns of them once).
func configFrom(c *cli.Context) (cfg server.Config, ignored []string, err error) {
	cfg = server.DefaultConfig()
	cfg.Version = memcachedVersion
	// memcached's own test suite runs gocached as memcached-debug, whose
	// debugtime command moves the clock (scripts/mctest.sh sets this).
	cfg.DebugCommands = os.Getenv("GOCACHED_MEMCACHED_DEBUG") == "1"
	cfg.Port = c.Int("port")
	cfg.UDPPort = c.Int("udp-port")
	if cfg.UDPPort != 0 && c.IsSet("udp-port") && !c.IsSet("port") {
		cfg.Port = cfg.UDPPort // memcached: -U without -p puts TCP on the same port
	}
	cfg.UnixSocket = c.String("unix-socket")
	mask, err := strconv.ParseUint(c.String("unix-mask"), 8, 32)
	if err != nil {
		return cfg, nil, fmt.Errorf("-a: invalid unix mask %q", c.String("unix-mask"))
	}
	cfg.UnixMask = uint32(mask)
	cfg.Listen = c.StringSlice("listen")
	cfg.MemoryLimitMB = c.Int("memory-limit")
	cfg.MaxConns = c.Int("conn-limit")
	cfg.Threads = c.Int("threads")
	if cfg.MaxItemSize, err = parseSize(c.String("max-item-size")); err != nil {
		return cfg, nil, fmt.Errorf("-I: %w", err)
	}
	cfg.GrowthFactor = c.Float64("slab-growth-factor")
	cfg.MinChunk = c.Int("slab-min-size")
	cfg.Verbosity = c.Count("verbose")
	cfg.NoEvictions = c.Bool("disable-evictions")
	cfg.NoCAS = c.Bool("disable-cas")
	cfg.ReqsPerEvent = c.Int("max-reqs-per-event")
	if cfg.ReqsPerEvent <= 0 {
		return cfg, nil, errors.New("-R: number of requests per event must be greater than 0")
	}
	cfg.Protocol = c.String("protocol")
	cfg.WatchDisabled = c.Bool("disable-watch")
	cfg.SASL = c.Bool("enable-sasl")
	cfg.SASLPassFile = c.String("sasl-pwdb")
	cfg.AuthFile = c.String("auth-file")
	if cfg.SASL {
		if cfg.UDPPort != 0 {
			return cfg, nil, errors.New("cannot enable UDP while using binary SASL authentication")
		}
		if cfg.SASLPassFile == "" {
			return cfg, nil, errors.New("-S needs a password file: --sasl-pwdb FILE or MEMCACHED_SASL_PWDB")
		}
		cfg.Protocol = "binary"
	}
	if cfg.AuthFile != "" {
		cfg.Protocol = "ascii"
	}
	if spec := c.String("cluster-config"); spec != "" {
		if cfg.Cluster, err = server.NewClusterConfig(spec); err != nil {
			return cfg, nil, fmt.Errorf("--cluster-config: %w", err)
		}
	}
	cfg.Backlog = c.Int("listen-backlog")
	cfg.EnableShutdown = c.Bool("enable-shutdown")
	cfg.FlushDisabled = c.Bool("disable-flush-all")
	cfg.DumpDisabled = c.Bool("disable-dumping")
	applyTLSFlags(c, &cfg)
	for _, item := range c.StringSlice("extended") {
		for _, kv := range strings.Split(item, ",") {
			kv = strings.TrimSpace(kv)
			if kv == "" {
				continue
			}
			k, v, _ := strings.Cut(kv, "=")
			opt, ok := extendedOptions[k]
			if !ok {
				return cfg, nil, fmt.Errorf("illegal suboption %q", kv)
			}
			if err := opt.apply(&cfg, v); err != nil {
				return cfg, nil, fmt.Errorf("-o %s: %w", k, err)
			}
			if opt.ignored {
				ignored = append(ignored, "-o "+k)
			}
		}
	}
	if err := checkExtended(&cfg); err != nil {
		return cfg, nil, err
	}
	for _, f := range ignoredFlags {
		if c.IsSet(f.name) {
			ignored = append(ignored, "-"+f.short)
		}
	}
	cfg.MemoryFile = c.String("memory-file")
	if c.IsSet("napi-ids") && c.Int("napi-ids") <= 0 {
		return cfg, nil, errors.New("maximum number of NAPI IDs must be greater than 0")
	}
	if c.IsSet("napi-ids") && c.Int("napi-ids") > cfg.Threads {
		return cfg, nil, fmt.Errorf("number of napi_ids(%d) cannot be greater than number of threads(%d)", c.Int("napi-ids"), cfg.Threads)
	}
	if c.IsSet("prefix-delimiter") {
		d := c.String("prefix-delimiter")
		if d == "" {
			return cfg, nil, errors.New("no delimiter specified")
		}
		cfg.PrefixDelimiter, cfg.DetailEnabled = d[0], true // memcached: -D turns detail on
	}
	return cfg, ignored, cfg.Validate()
}

func newLogger(verbosity int) *zap.Logger {
	level := zapcore.WarnLevel
	switch {
	case verbosity >= 2:
		level = zapcore.DebugLevel
	case verbosity == 1:
		level = zapcore.InfoLevel
	}
	enc := zap.NewProductionEncoderConfig()
	enc.EncodeTime = zapcore.ISO8601TimeEncoder
	core := zapcore.NewCore(zapcore.NewConsoleEncoder(enc), zapcore.Lock(os.Stderr), level)
	return zap.New(core)
}

func runDaemon(c *cli.Context) error {
	if c.Args().Len() > 0 {
		return fmt.Errorf("unexpected argument %q", c.Args().First())
	}
	if c.Bool("license") {
		fmt.Println(licenseText)
		return nil
	}
	cfg, ignored, err := configFrom(c)
	if err != nil {
		return err
	}
	if c.Bool("daemon") && os.Getenv("GOCACHED_DAEMONIZED") == "" {
		return daemonize()
	}
	runtime.GOMAXPROCS(cfg.Threads)
	log := newLogger(cfg.Verbosity)
	defer func() { _ = log.Sync() }()

	// Signals are caught before anything listens, so a SIGTERM that
	// arrives as soon as clients can connect still stops gracefully.
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGUSR1, syscall.SIGHUP)
	defer signal.Stop(sigs)
	// As memcached: a write to a closed pipe (a log reader gone) returns
	// EPIPE instead of killing the daemon.
	signal.Ignore(syscall.SIGPIPE)
	if len(ignored) > 0 {
		log.Warn("options accepted but without effect in gocached: " + strings.Join(ignored, ", "))
	}

	// Keys and password files are read by server.New, the ports bound by
	// Listen: only then may -u give up root, before anything is served
	// (BeforeServe). A later SIGHUP or refresh_certs rereads them as that
	// user.
	drop := func() error { return nil }
	if u := c.String("user"); u != "" {
		drop = func() error { return dropPrivileges(u) }
	}
	cfg.BeforeServe = drop
	srv, err := server.New(cfg, log)
	if err != nil {
		return err
	}
	inherited, err := server.SystemdListeners()
	if err != nil {
		return err
	}
	if len(inherited) > 0 {
		// Socket activation: serve what systemd opened, ignore -p/-l/-s.
		if err := drop(); err != nil {
			return err
		}
		for _, l := range inherited {
			srv.Serve(l)
		}
		if err := srv.ListenMetrics(); err != nil {
			return err
		}
	} else if err := srv.Listen(); err != nil {
		return err
	} else if path := os.Getenv("MEMCACHED_PORT_FILENAME"); path != "" && cfg.UnixSocket == "" {
		// memcached's test hook (t/issue_67.t): the ports it listens on.
		if err := writePortFile(path, srv.Addrs(), srv.UDPAddrs()); err != nil {
			log.Warn("could not write the port file", zap.Error(err))
		}
	}
	warnUnsafe(log, &cfg, srv)
	if p := c.String("pidfile"); p != "" {
		if err := os.WriteFile(p, []byte(strconv.Itoa(os.Getpid())+"\n"), 0o644); err != nil {
			return fmt.Errorf("could not write pid file: %w", err)
		}
		defer os.Remove(p)
	}
	for _, a := range srv.Addrs() {
		log.Info("listening", zap.String("network", a.Network()), zap.String("addr", a.String()))
	}

	if err := server.SystemdNotify("READY=1\nSTATUS=serving\nMAINPID=" + strconv.Itoa(os.Getpid())); err != nil {
		log.Warn("systemd notify failed", zap.Error(err))
	}

	wait := waitForStop(srv, cfg.ShutdownTimeout, sigs, log)
	_ = server.SystemdNotify("STOPPING=1")
	stop(srv, wait, sigs, log)
	return nil
}

// waitForStop returns when a signal or the shutdown command asks the
// daemon to stop, with how long requests in flight may take to finish:
// none for SIGINT and the plain shutdown command (memcached exits at
// once), up to -o shutdown_timeout for SIGTERM, SIGUSR1 and "shutdown
// graceful", which with -e also save the cache for the next start (memcached
// saves on SIGUSR1 and shutdown graceful only; SIGTERM too makes systemctl
// restart a warm restart). SIGHUP does not stop it: as memcached, it rereads
// the ascii auth file (a failure keeps the users already loaded).
func waitForStop(srv *server.Server, graceful time.Duration, sigs <-chan os.Signal, log *zap.Logger) time.Duration {
	for {
		select {
		case sig := <-sigs:
			switch sig {
			case syscall.SIGHUP:
				if err := srv.ReloadAuth(); err != nil {
					log.Warn("SIGHUP: could not reload the auth file; keeping the old users", zap.Error(err))
				} else {
					log.Info("SIGHUP: reloaded")
				}
				reloadCerts(srv, log)
				continue
			case syscall.SIGINT:
				log.Info("shutting down", zap.Stringer("signal", sig))
				return 0
			case syscall.SIGUSR1:
				log.Warn("Gracefully stopping")
			default:
				log.Info("shutting down", zap.Stringer("signal", sig), zap.Duration("drain", graceful))
			}
			srv.KeepCache()
			return graceful
		case mode := <-srv.ShutdownRequested():
			log.Info("shutting down", zap.String("requested_by", mode))
			if mode == "graceful" {
				srv.KeepCache()
				return graceful
			}
			return 0
		}
	}
}

// stop shuts the server down, letting requests in flight finish for at
// most wait. A SIGINT meanwhile stops it at once.
func stop(srv *server.Server, wait time.Duration, sigs <-chan os.Signal, log *zap.Logger) {
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	go func() {
		for {
			select {
			case sig := <-sigs:
				if sig == syscall.SIGINT || sig == syscall.SIGTERM {
					cancel()
					return
				}
			case <-ctx.Done():
				return
			}
		}
	}()
	if err := srv.Shutdown(ctx); err != nil && wait > 0 {
		log.Warn("connections still busy at shutdown were closed", zap.Error(err))
	}
}

// daemonize re-runs the command detached from the terminal (Go cannot
// fork), and returns in the parent.
func daemonize() error {
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	cmd := exec.Command(exe, os.Args[1:]...)
	cmd.Env = append(os.Environ(), "GOCACHED_DAEMONIZED=1")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	devnull, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	defer devnull.Close()
	cmd.Stdin, cmd.Stdout, cmd.Stderr = devnull, devnull, devnull
	if err := cmd.Start(); err != nil {
		return err
	}
	return cmd.Process.Release()
}

func dropPrivileges(name string) error {
	u, err := user.Lookup(name)
	if err != nil {
		return fmt.Errorf("can't find the user %s to switch to", name)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	if err := syscall.Setgroups([]int{gid}); err != nil {
		return fmt.Errorf("failed to drop supplementary groups: %w", err)
	}
	if err := syscall.Setgid(gid); err != nil {
		return fmt.Errorf("failed to assume identity of user %s: %w", name, err)
	}
	if err := syscall.Setuid(uid); err != nil {
		return fmt.Errorf("failed to assume identity of user %s: %w", name, err)
	}
	return nil
}

// portFileLines is what memcached writes to $MEMCACHED_PORT_FILENAME: a
// line "TCP INET: <port>" (INET6 for an IPv6 socket, UDP for UDP) per
// listening IP socket, TCP first.
func portFileLines(tcp, udp []net.Addr) string {
	var b strings.Builder
	line := func(proto string, ip net.IP, port int) {
		family := "INET"
		if ip.To4() == nil {
			family = "INET6"
		}
		fmt.Fprintf(&b, "%s %s: %d\n", proto, family, port)
	}
	for _, a := range tcp {
		if t, ok := a.(*net.TCPAddr); ok {
			line("TCP", t.IP, t.Port)
		}
	}
	for _, a := range udp {
		if u, ok := a.(*net.UDPAddr); ok {
			line("UDP", u.IP, u.Port)
		}
	}
	return b.String()
}

// writePortFile writes portFileLines to path as memcached does: into
// path.lck, then renamed, so a reader never sees half of it.
func writePortFile(path string, tcp, udp []net.Addr) error {
	if err := os.WriteFile(path+".lck", []byte(portFileLines(tcp, udp)), 0o644); err != nil {
		return err
	}
	return os.Rename(path+".lck", path)
}
