package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/urfave/cli/v2"
	"golang.org/x/sys/unix"
)

// gocached top: a live view of a cache fleet from `stats` alone, so it
// works against plain memcached too; from gocached it adds latency
// percentiles (stats latency) and hot keys (stats hotkeys). No curses:
// ANSI clear and redraw each interval.

func topCommand() *cli.Command {
	return &cli.Command{
		Name:      "top",
		Usage:     "live view of servers: ops/s by command, hit ratio, evictions, connections, memory, latency, hot keys",
		ArgsUsage: " ",
		Flags: []cli.Flag{
			&cli.StringSliceFlag{Name: "servers", Aliases: []string{"s"}, Value: cli.NewStringSlice("127.0.0.1:11211"), Usage: "`HOST:PORT[,HOST:PORT...]` to watch"},
			&cli.DurationFlag{Name: "delay", Aliases: []string{"d"}, Value: time.Second, Usage: "time between refreshes"},
			&cli.IntFlag{Name: "iterations", Aliases: []string{"n"}, Usage: "refresh this many times, then exit (0: until q or SIGINT)"},
			&cli.BoolFlag{Name: "once", Usage: "print one view (rates over one --delay) without clearing the screen, and exit"},
			&cli.IntFlag{Name: "hot", Value: 5, Usage: "hot keys shown per server"},
		},
		Action: func(c *cli.Context) error {
			var addrs []string
			for _, s := range c.StringSlice("servers") {
				for _, a := range strings.Split(s, ",") {
					if a = strings.TrimSpace(a); a != "" {
						addrs = append(addrs, a)
					}
				}
			}
			if len(addrs) == 0 {
				return errors.New("top: no servers (-s HOST:PORT)")
			}
			n := c.Int("iterations")
			if c.Bool("once") {
				n = 1
			}
			return runTop(os.Stdin, os.Stdout, topOptions{addrs: addrs, delay: c.Duration("delay"), n: n, ansi: !c.Bool("once"), hot: c.Int("hot")})
		},
	}
}

type topOptions struct {
	addrs []string
	delay time.Duration
	n     int  // frames; 0 = until stopped
	ansi  bool // clear and redraw
	hot   int
}

const (
	ansiClear      = "\x1b[H\x1b[2J"
	ansiHideCursor = "\x1b[?25l"
	ansiShowCursor = "\x1b[?25h"
)

// runTop polls every server each delay and draws a frame, until n frames
// are drawn, q is typed on a terminal stdin, or SIGINT/SIGTERM arrives.
func runTop(in *os.File, out io.Writer, o topOptions) error {
	stop := make(chan struct{}, 1)
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	defer signal.Stop(sigs)
	if o.ansi {
		if restore, err := rawTerminal(in); err == nil {
			defer restore()
			go readQuit(in, stop)
		}
		io.WriteString(out, ansiHideCursor)
		defer io.WriteString(out, ansiShowCursor+"\n")
	}
	servers := make([]*topServer, len(o.addrs))
	for i, a := range o.addrs {
		servers[i] = &topServer{addr: a}
		defer servers[i].close()
	}
	poll := func() {
		for _, s := range servers {
			s.poll()
		}
	}
	poll() // the first sample: rates need two
	t := time.NewTicker(o.delay)
	defer t.Stop()
	for frame := 0; o.n == 0 || frame < o.n; frame++ {
		select {
		case <-t.C:
		case <-stop:
			return nil
		case <-sigs:
			return nil
		}
		poll()
		var b bytes.Buffer
		if o.ansi {
			b.WriteString(ansiClear)
		}
		renderTop(&b, servers, o, time.Now())
		if _, err := out.Write(b.Bytes()); err != nil {
			return err
		}
	}
	return nil
}

// readQuit signals stop when q (or ^C, ^D) is typed.
func readQuit(in *os.File, stop chan<- struct{}) {
	buf := make([]byte, 16)
	for {
		n, err := in.Read(buf)
		if bytes.ContainsAny(buf[:n], "qQ\x03\x04") || err != nil {
			stop <- struct{}{}
			return
		}
	}
}

// rawTerminal turns off line buffering and echo on a terminal, so that q
// is read as typed; signals (^C) stay on. It fails when f is no terminal.
func rawTerminal(f *os.File) (restore func(), err error) {
	fd := int(f.Fd())
	old, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	if err != nil {
		return nil, err
	}
	raw := *old
	raw.Lflag &^= unix.ICANON | unix.ECHO
	raw.Cc[unix.VMIN], raw.Cc[unix.VTIME] = 1, 0
	if err := unix.IoctlSetTermios(fd, unix.TCSETS, &raw); err != nil {
		return nil, err
	}
	return func() { _ = unix.IoctlSetTermios(fd, unix.TCSETS, old) }, nil
}

// topServer is one watched server: its connection, its last two samples.
type topServer struct {
	addr       string
	nc         net.Conn
	br         *bufio.Reader
	err        error
	cur, prev  map[string]string
	curT, prvT time.Time
	latency    map[string]string // stats latency; nil when the server has none (memcached)
	hot        map[string]string // stats hotkeys; nil likewise
}

func (s *topServer) close() {
	if s.nc != nil {
		s.nc.Close()
	}
}

func (s *topServer) poll() {
	if s.nc == nil {
		nc, err := net.DialTimeout("tcp", s.addr, 2*time.Second)
		if err != nil {
			s.err, s.cur, s.prev = err, nil, nil
			return
		}
		s.nc, s.br = nc, bufio.NewReader(nc)
	}
	st, err := s.stats("stats")
	if err == nil {
		s.prev, s.prvT = s.cur, s.curT
		s.cur, s.curT = st, time.Now()
		s.latency, err = s.optional("stats latency", "latency")
	}
	if err == nil {
		s.hot, err = s.optional("stats hotkeys", "hotkeys_status")
	}
	s.err = err
	if err != nil {
		s.nc.Close()
		s.nc, s.cur, s.prev = nil, nil, nil
	}
}

// optional is a gocached-only stats group: nil when the server does not
// know it (memcached answers ERROR) or has it off ("STAT <off> disabled").
func (s *topServer) optional(cmd, off string) (map[string]string, error) {
	m, err := s.stats(cmd)
	if errors.Is(err, errUnknownStats) {
		return nil, nil
	}
	if err != nil || m[off] == "disabled" {
		return nil, err
	}
	return m, nil
}

var errUnknownStats = errors.New("unknown stats group")

// stats sends cmd and reads its STAT lines up to END.
func (s *topServer) stats(cmd string) (map[string]string, error) {
	_ = s.nc.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := io.WriteString(s.nc, cmd+"\r\n"); err != nil {
		return nil, err
	}
	m := map[string]string{}
	for {
		line, err := s.br.ReadString('\n')
		if err != nil {
			return nil, err
		}
		line = strings.TrimRight(line, "\r\n")
		switch {
		case line == "END":
			return m, nil
		case line == "ERROR" || strings.HasPrefix(line, "CLIENT_ERROR") || strings.HasPrefix(line, "SERVER_ERROR"):
			return nil, errUnknownStats
		}
		if f := strings.SplitN(line, " ", 3); len(f) == 3 && f[0] == "STAT" {
			m[f[1]] = f[2]
		}
	}
}

func (s *topServer) num(m map[string]string, names ...string) float64 {
	var v float64
	for _, n := range names {
		x, _ := strconv.ParseFloat(m[n], 64)
		v += x
	}
	return v
}

// rate is the per-second change of the sum of names; ok false before two
// samples.
func (s *topServer) rate(names ...string) (float64, bool) {
	if s.prev == nil || s.cur == nil {
		return 0, false
	}
	dt := s.curT.Sub(s.prvT).Seconds()
	if dt <= 0 {
		return 0, false
	}
	d := s.num(s.cur, names...) - s.num(s.prev, names...)
	if d < 0 { // stats reset or restart
		d = 0
	}
	return d / dt, true
}

func fmtRate(v float64, ok bool) string {
	if !ok {
		return "-"
	}
	return humanCount(v)
}

func humanCount(v float64) string {
	switch {
	case v >= 1e9:
		return strconv.FormatFloat(v/1e9, 'f', 1, 64) + "G"
	case v >= 1e6:
		return strconv.FormatFloat(v/1e6, 'f', 1, 64) + "M"
	case v >= 1e4:
		return strconv.FormatFloat(v/1e3, 'f', 1, 64) + "k"
	}
	return strconv.FormatFloat(v, 'f', 0, 64)
}

func humanBytes(v float64) string {
	const k = 1024
	switch {
	case v >= k*k*k:
		return strconv.FormatFloat(v/(k*k*k), 'f', 1, 64) + "G"
	case v >= k*k:
		return strconv.FormatFloat(v/(k*k), 'f', 1, 64) + "M"
	case v >= k:
		return strconv.FormatFloat(v/k, 'f', 1, 64) + "K"
	}
	return strconv.FormatFloat(v, 'f', 0, 64) + "B"
}

const topRow = "%-21s %-8s %8s %8s %8s %8s %6s %7s %11s %15s %13s %13s\n"

// renderTop draws one frame.
func renderTop(b *bytes.Buffer, servers []*topServer, o topOptions, now time.Time) {
	fmt.Fprintf(b, "gocached top - %d server(s) - %s - every %v", len(servers), now.Format("15:04:05"), o.delay)
	if o.ansi {
		b.WriteString(" - q to quit")
	}
	b.WriteString("\n\n")
	fmt.Fprintf(b, topRow, "SERVER", "VERSION", "GET/s", "SET/s", "DELETE/s", "OTHER/s", "HIT%", "EVICT/s", "CONNS", "MEMORY", "GET p50/p99", "SET p50/p99")
	for _, s := range servers {
		if s.cur == nil {
			msg := "no reply yet"
			if s.err != nil {
				msg = s.err.Error()
			}
			fmt.Fprintf(b, "%-21s down: %s\n", s.addr, msg)
			continue
		}
		hits, okH := s.rate("get_hits")
		misses, _ := s.rate("get_misses")
		hit := "-"
		if okH && hits+misses > 0 {
			hit = strconv.FormatFloat(100*hits/(hits+misses), 'f', 1, 64)
		}
		used, limit := s.num(s.cur, "bytes"), s.num(s.cur, "limit_maxbytes")
		mem := humanBytes(used) + "/" + humanBytes(limit)
		if limit > 0 {
			mem += " " + strconv.Itoa(int(100*used/limit)) + "%"
		}
		fmt.Fprintf(b, topRow, s.addr, s.cur["version"],
			fmtRate(s.rate("cmd_get")), fmtRate(s.rate("cmd_set")), fmtRate(s.rate("delete_hits", "delete_misses")),
			fmtRate(s.rate("cmd_touch", "incr_hits", "incr_misses", "decr_hits", "decr_misses", "cmd_flush", "cmd_meta")),
			hit, fmtRate(s.rate("evictions")),
			s.cur["curr_connections"]+"/"+s.cur["max_connections"], mem,
			s.percentiles("get"), s.percentiles("set"))
	}
	for _, s := range servers {
		if s.hot == nil {
			continue
		}
		fmt.Fprintf(b, "\nHOT KEYS %s (last 10 s, sampled 1 in %s)\n", s.addr, s.hot["sample_rate"])
		byReq, byBytes := s.hotList("10s:requests:", o.hot), s.hotList("10s:bytes:", o.hot)
		fmt.Fprintf(b, "  %-40s %10s   %-40s %10s\n", "BY REQUESTS", "req/s", "BY BYTES", "bytes/s")
		for i := 0; i < len(byReq) || i < len(byBytes); i++ {
			var l, r [2]string
			if i < len(byReq) {
				l = [2]string{byReq[i].key, humanCount(byReq[i].perSec)}
			}
			if i < len(byBytes) {
				r = [2]string{byBytes[i].key, humanBytes(byBytes[i].perSec)}
			}
			fmt.Fprintf(b, "  %-40s %10s   %-40s %10s\n", l[0], l[1], r[0], r[1])
		}
	}
	if o.ansi {
		b.WriteString("\nlatency: server-side, since start or stats reset; memcached shows -\n")
	}
}

// percentiles is "p50/p99" in microseconds for a command, "-" without.
func (s *topServer) percentiles(cmd string) string {
	p50, ok1 := s.latency[cmd+":p50_us"]
	p99, ok2 := s.latency[cmd+":p99_us"]
	if !ok1 || !ok2 {
		return "-"
	}
	return trimTenths(p50) + "/" + trimTenths(p99) + "us"
}

func trimTenths(v string) string {
	f, err := strconv.ParseFloat(v, 64)
	if err != nil {
		return v
	}
	if f >= 100 {
		return strconv.FormatFloat(f, 'f', 0, 64)
	}
	return strconv.FormatFloat(f, 'f', 1, 64)
}

type hotEntry struct {
	key    string
	perSec float64
}

// hotList is the first n entries of prefix (e.g. "10s:requests:"):
// values "<key> <count> <per second>".
func (s *topServer) hotList(prefix string, n int) []hotEntry {
	var out []hotEntry
	for name, v := range s.hot {
		rank, ok := strings.CutPrefix(name, prefix)
		if !ok {
			continue
		}
		r, err := strconv.Atoi(rank)
		i := strings.LastIndexByte(v, ' ')
		if err != nil || i < 0 || r > n {
			continue
		}
		ps, _ := strconv.ParseFloat(v[i+1:], 64)
		key := v[:i]
		if j := strings.LastIndexByte(key, ' '); j >= 0 {
			key = key[:j] // the count
		}
		out = append(out, hotEntry{key: key, perSec: ps})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].perSec > out[j].perSec })
	return out
}
