package server

import (
	"encoding/binary"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gocached/gocached/protocol"
)

// udpTestServer starts a server with UDP on a free loopback port.
func udpTestServer(t testing.TB, edit func(*Config)) *Server {
	t.Helper()
	return testServer(t, func(cfg *Config) {
		cfg.UDPPort = -1
		cfg.Threads = 2
		if edit != nil {
			edit(cfg)
		}
	})
}

// udpClient is a UDP socket connected to a server's first UDP address.
type udpClient struct {
	t   testing.TB
	c   *net.UDPConn
	buf []byte
}

func dialUDP(t testing.TB, s *Server) *udpClient {
	t.Helper()
	addrs := s.UDPAddrs()
	if len(addrs) == 0 {
		t.Fatal("server has no UDP socket")
	}
	c, err := net.DialUDP("udp", nil, addrs[0].(*net.UDPAddr))
	if err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadBuffer(4 << 20) // a 100 KB reply arrives in one burst
	t.Cleanup(func() { c.Close() })
	return &udpClient{t: t, c: c, buf: make([]byte, 64<<10)}
}

// frame is a datagram: the 8-byte header, then payload.
func frame(id, seq, total, reserved uint16, payload string) []byte {
	b := make([]byte, 8, 8+len(payload))
	binary.BigEndian.PutUint16(b[0:], id)
	binary.BigEndian.PutUint16(b[2:], seq)
	binary.BigEndian.PutUint16(b[4:], total)
	binary.BigEndian.PutUint16(b[6:], reserved)
	return append(b, payload...)
}

func (u *udpClient) sendRaw(b []byte) {
	u.t.Helper()
	if _, err := u.c.Write(b); err != nil {
		u.t.Fatal(err)
	}
}

// dgram is a reply datagram.
type dgram struct {
	id, seq, total, reserved uint16
	data                     string
}

// String is how tables write a datagram: "seq/total payload".
func (d dgram) String() string { return fmt.Sprintf("%d/%d %s", d.seq, d.total, d.data) }

// recv reads one datagram; ok is false when none came within timeout.
func (u *udpClient) recv(timeout time.Duration) (dgram, bool) {
	u.t.Helper()
	_ = u.c.SetReadDeadline(time.Now().Add(timeout))
	n, err := u.c.Read(u.buf)
	if err != nil {
		if ne, ok := err.(net.Error); ok && ne.Timeout() {
			return dgram{}, false
		}
		u.t.Fatal(err)
	}
	if n < 8 {
		u.t.Fatalf("reply datagram of %d bytes", n)
	}
	if n > protocol.UDPMaxPayload {
		u.t.Fatalf("reply datagram of %d bytes, over %d", n, protocol.UDPMaxPayload)
	}
	b := u.buf[:n]
	return dgram{
		id:       binary.BigEndian.Uint16(b[0:]),
		seq:      binary.BigEndian.Uint16(b[2:]),
		total:    binary.BigEndian.Uint16(b[4:]),
		reserved: binary.BigEndian.Uint16(b[6:]),
		data:     string(b[8:]),
	}, true
}

// exchange sends payload followed by the mn sentinel in one datagram with
// request id id, and returns the reply datagrams that came before MN's.
func (u *udpClient) exchange(id uint16, payload string) []dgram {
	u.t.Helper()
	u.sendRaw(frame(id, 0, 1, 0, payload+"mn\r\n"))
	var out []dgram
	for {
		d, ok := u.recv(5 * time.Second)
		if !ok {
			u.t.Fatalf("%q: no MN reply; got %v", payload, out)
		}
		if d.id != id || d.reserved != 0 {
			u.t.Fatalf("%q: datagram with id %d reserved %d, want id %d reserved 0", payload, d.id, d.reserved, id)
		}
		if d.data == "MN\r\n" && d.seq == 0 && d.total == 1 {
			return out
		}
		out = append(out, d)
	}
}

// quiet returns the datagrams that arrive until none has for wait.
func (u *udpClient) quiet(wait time.Duration) []dgram {
	u.t.Helper()
	var out []dgram
	for i := 0; i < 1000; i++ {
		d, ok := u.recv(wait)
		if !ok {
			return out
		}
		out = append(out, d)
	}
	u.t.Fatal("no end to the reply datagrams")
	return nil
}

func render(ds []dgram) string {
	var b strings.Builder
	for _, d := range ds {
		b.WriteString(d.String())
		b.WriteString("|")
	}
	return b.String()
}

func TestUDPCommands(t *testing.T) {
	s := udpTestServer(t, nil)
	u := dialUDP(t, s)
	deletes := strings.Repeat("delete nope\n", 21)
	notFound := strings.Repeat("0/1 NOT_FOUND\n|", 21)
	tests := []struct {
		name, req string
		want      string // datagrams as "seq/total payload|"; \n is \r\n
	}{
		{"set", "set a 5 0 1\nx\n", "0/1 STORED\n|"},
		{"get hit", "get a\n", "0/1 VALUE a 5 1\nx\nEND\n|"},
		{"get miss", "get nope\n", "0/1 END\n|"},
		{"set b", "set b 0 0 2\nyy\n", "0/1 STORED\n|"},
		// One response object per key; END rides on the last.
		{"multi-get", "get a b\n", "0/1 VALUE a 5 1\nx\n|0/1 VALUE b 0 2\nyy\nEND\n|"},
		{"multi-get middle miss", "get a nope b\n", "0/1 VALUE a 5 1\nx\n|0/1 VALUE b 0 2\nyy\nEND\n|"},
		{"multi-get last miss", "get a nope\n", "0/1 VALUE a 5 1\nx\n|0/1 END\n|"},
		// A first key that misses leaves an empty object at the head of
		// the batch: a bare header with total 0.
		{"multi-get first miss", "get nope a\n", "0/0 |0/1 VALUE a 5 1\nx\nEND\n|"},
		{"multi-get all miss", "get nope nada zip\n", "0/0 |0/1 END\n|"},
		{"gets", "gets a\n", ""}, // checked below: the CAS varies
		// The empty object right after a sent one is passed over.
		{"miss after reply", "delete nope\nget nope nada\n", "0/1 NOT_FOUND\n|0/1 END\n|"},
		{"miss after noreply", "set c 0 0 1 noreply\nz\nget nope nada\n", "0/0 |0/1 END\n|"},
		{"pipeline", "incr n 1\nset n 0 0 1\n9\nincr n 1\ndecr n 3\ntouch n 0\n",
			"0/1 NOT_FOUND\n|0/1 STORED\n|0/1 10\n|0/1 7\n|0/1 TOUCHED\n|"},
		{"delete", "delete c\ndelete c\n", "0/1 DELETED\n|0/1 NOT_FOUND\n|"},
		{"noreply", "set d 0 0 1 noreply\nd\ndelete d noreply\n", ""},
		{"error", "bogus\n\n", "0/1 ERROR\n|0/1 CLIENT_ERROR bad command line format\n|"},
		// A bad key drops every reply not yet sent, as memcached does.
		{"key too long", "delete nope\nget a " + strings.Repeat("k", 251) + "\n", "0/1 CLIENT_ERROR bad command line format\n\n|"}, // 1.6.45 doubles the CRLF
		{"bad data chunk", "set e 0 0 1\nxyz\n", "0/1 CLIENT_ERROR bad data chunk\n|0/1 CLIENT_ERROR bad command line format\n|"},
		{"meta quiet", "mg nope v q\nms f 1 q\nf\nmd nope q\n", "0/1 NF\n|"},
		// memcached writes what it has every -R+1 commands.
		{"yield", deletes + "get nope nada\n", notFound + "0/0 |0/1 END\n|"},
		{"no yield", deletes[len("delete nope\n"):] + "get nope nada\n", notFound[len("0/1 NOT_FOUND\n|"):] + "0/1 END\n|"},
		// A line longer than a TCP read buffer is fine in a datagram.
		{"long line", "set sp 0 0 1" + strings.Repeat(" ", 20000) + "\nx\nget sp\n", "0/1 STORED\n|0/1 VALUE sp 0 1\nx\nEND\n|"},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			u.t = t
			got := render(u.exchange(uint16(1000+i), crlf(tc.req)))
			if tc.name == "gets" {
				if !strings.HasPrefix(got, "0/1 VALUE a 5 1 ") || !strings.HasSuffix(got, "\r\nx\r\nEND\r\n|") {
					t.Errorf("got %q", got)
				}
				return
			}
			if want := crlf(tc.want); got != want {
				t.Errorf("%q\n got %q\nwant %q", tc.req, got, want)
			}
		})
	}
}

// TestUDPClosing covers what ends memcached's UDP "connection": no
// sentinel can follow, so the replies are collected until quiet.
func TestUDPClosing(t *testing.T) {
	s := udpTestServer(t, nil)
	u := dialUDP(t, s)
	tests := []struct {
		name, req, want string
	}{
		// quit writes what it has (its own empty object passed over
		// after the get's, sent when alone), then the rest of the
		// datagram is dropped.
		{"quit", "get nope\nquit\nget nope\n", "0/1 END\n|"},
		{"quit alone", "quit\n", "0/0 |"},
		{"quit after reply", "delete nope\nquit\n", "0/1 NOT_FOUND\n|"},
		// A close drops the replies not yet sent, a get's too (memcached
		// 1.6.45 writes them at the end of the datagram, not after it).
		{"http", "delete nope\nGET / HTTP/1.1\nget nope\n", ""},
		{"http after get", "get nope\nGET / HTTP/1.1\n", ""},
		{"line too long", "delete nope\n" + strings.Repeat("x", 3000), ""},
		// A command that cannot finish within the datagram is dropped;
		// what came before it is sent.
		{"data cut short", "delete nope\nset x 0 0 10\nabc", "0/1 NOT_FOUND\n|"},
		{"line cut short", "delete nope\nget nope", "0/1 NOT_FOUND\n|"},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			u.t = t
			id := uint16(2000 + i)
			u.sendRaw(frame(id, 0, 1, 0, crlf(tc.req)))
			ds := u.quiet(300 * time.Millisecond)
			for _, d := range ds {
				if d.id != id {
					t.Fatalf("reply id %d, want %d", d.id, id)
				}
			}
			if got, want := render(ds), crlf(tc.want); got != want {
				t.Errorf("%q\n got %q\nwant %q", tc.req, got, want)
			}
			// The reader serves the next datagram as usual.
			if got := render(u.exchange(id, "get x\r\n")); got != "0/1 END\r\n|" {
				t.Errorf("next request: %q", got)
			}
		})
	}
}

// TestUDPDropped: what memcached ignores gets no reply, and the server
// keeps serving.
func TestUDPDropped(t *testing.T) {
	s := udpTestServer(t, nil)
	u := dialUDP(t, s)
	before := s.stats.bytesRead.Load()
	tests := []struct {
		name  string
		dgram []byte
		read  uint64 // bytes_read it adds
	}{
		{"two datagrams", frame(1, 0, 2, 0, "get a\r\n"), 15},
		{"second of two", frame(1, 1, 2, 0, "get a\r\n"), 15},
		{"total 0", frame(1, 0, 0, 0, "get a\r\n"), 15},
		{"total 256", frame(1, 0, 256, 0, "get a\r\n"), 15},
		{"header only", frame(1, 0, 1, 0, ""), 0},
		{"short", []byte("get"), 0},
		{"empty", []byte{}, 0},
	}
	var read uint64
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			u.t = t
			u.sendRaw(tc.dgram)
			if ds := u.quiet(200 * time.Millisecond); len(ds) != 0 {
				t.Errorf("got a reply: %v", ds)
			}
			read += tc.read
			if got := render(u.exchange(7, "version\r\n")); got != "0/1 VERSION 1.6.45\r\n|" {
				t.Errorf("next request: %q", got)
			}
			read += 8 + uint64(len("version\r\nmn\r\n"))
		})
	}
	if got := s.stats.bytesRead.Load() - before; got != read {
		t.Errorf("bytes_read grew by %d, want %d", got, read)
	}
	// The sequence number and the reserved field are ignored.
	u.t = t
	u.sendRaw(frame(9, 3, 1, 77, "version\r\n"))
	if d, ok := u.recv(5 * time.Second); !ok || d.String() != "0/1 VERSION 1.6.45\r\n" || d.id != 9 {
		t.Errorf("seq 3, reserved 77: got %v %v", d, ok)
	}
}

// TestUDPLargeValue gets a value that takes many datagrams and puts it
// back together by sequence number.
func TestUDPLargeValue(t *testing.T) {
	s := udpTestServer(t, nil)
	value := make([]byte, 100_000)
	for i := range value {
		value[i] = 'a' + byte(i%26)
	}
	if got := dial(t, s).reply("set big 3 0 100000\r\n" + string(value) + "\r\n"); got != "STORED\r\n" {
		t.Fatalf("set: %q", got)
	}
	want := "VALUE big 3 100000\r\n" + string(value) + "\r\nEND\r\n"
	total := (len(want) + protocol.UDPDataLen - 1) / protocol.UDPDataLen
	u := dialUDP(t, s)
	u.sendRaw(frame(4242, 0, 1, 0, "get big\r\n"))
	parts := make([]string, total)
	for got := 0; got < total; got++ {
		d, ok := u.recv(5 * time.Second)
		if !ok {
			t.Fatalf("%d of %d datagrams arrived", got, total)
		}
		if d.id != 4242 || int(d.total) != total || int(d.seq) >= total || parts[d.seq] != "" {
			t.Fatalf("datagram id %d seq %d total %d, want id 4242 total %d", d.id, d.seq, d.total, total)
		}
		if int(d.seq) < total-1 && len(d.data) != protocol.UDPDataLen {
			t.Fatalf("datagram %d carries %d bytes, want %d", d.seq, len(d.data), protocol.UDPDataLen)
		}
		parts[d.seq] = d.data
	}
	if got := strings.Join(parts, ""); got != want {
		t.Fatalf("reassembled %d bytes, want %d (equal: %v)", len(got), len(want), got == want)
	}
	if ds := u.quiet(100 * time.Millisecond); len(ds) != 0 {
		t.Errorf("%d extra datagrams", len(ds))
	}
}

// TestUDPOffByDefault: nothing listens on UDP without -U.
func TestUDPOffByDefault(t *testing.T) {
	s := testServer(t, nil)
	if a := s.UDPAddrs(); len(a) != 0 {
		t.Fatalf("UDP addresses %v without -U", a)
	}
	port := s.Addrs()[0].(*net.TCPAddr).Port
	pc, err := net.ListenPacket("udp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		t.Fatalf("UDP port %d is taken: %v", port, err)
	}
	pc.Close()
}

func TestUDPListenAddrs(t *testing.T) {
	tests := []struct {
		listen []string
		port   int
		want   string
	}{
		{nil, 11211, ":11211"},
		{nil, -1, ":0"},
		{[]string{"127.0.0.1"}, 5, "127.0.0.1:5"},
		// An address with its own port keeps it, for UDP as for TCP.
		{[]string{"127.0.0.1:7,::1", "[::1]:8"}, 5, "127.0.0.1:7 [::1]:5 [::1]:8"},
	}
	for _, tc := range tests {
		cfg := Config{Listen: tc.listen, UDPPort: tc.port}
		if got := strings.Join(cfg.udpAddrs(), " "); got != tc.want {
			t.Errorf("-l %v -U %d: %q, want %q", tc.listen, tc.port, got, tc.want)
		}
	}
}

func TestUDPConfig(t *testing.T) {
	tests := []struct {
		name string
		edit func(*Config)
		want string
	}{
		{"ascii auth", func(c *Config) { c.AuthFile = "x" }, "cannot use UDP with ascii authentication"},
		{"sasl", func(c *Config) { c.SASL = true }, "cannot enable UDP while using binary SASL"},
	}
	for _, tc := range tests {
		cfg := DefaultConfig()
		cfg.UDPPort = 11211
		tc.edit(&cfg)
		if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.name, err, tc.want)
		}
	}
	// UDP alone is enough to serve; a unix socket turns it off.
	s := udpTestServer(t, func(c *Config) { c.Port = 0 })
	if len(s.Addrs()) != 0 || len(s.UDPAddrs()) != 1 {
		t.Errorf("-p 0 -U: TCP %v, UDP %v", s.Addrs(), s.UDPAddrs())
	}
	if got := render(dialUDP(t, s).exchange(1, "version\r\n")); got != "0/1 VERSION 1.6.45\r\n|" {
		t.Errorf("-p 0: %q", got)
	}
	s = udpTestServer(t, func(c *Config) { c.UnixSocket = t.TempDir() + "/mc.sock" })
	if a := s.UDPAddrs(); len(a) != 0 {
		t.Errorf("-s -U: UDP %v", a)
	}
}

// TestUDPStats: each reader is a connection, as memcached's per-thread UDP
// connections are, and bytes are counted with their headers.
func TestUDPStats(t *testing.T) {
	s := udpTestServer(t, func(c *Config) { c.Threads = 3 })
	u := dialUDP(t, s)
	u.exchange(1, "set k 0 0 1\r\nv\r\n")
	stats := func(out string) map[string]string {
		m := map[string]string{}
		for _, line := range strings.Split(out, "\r\n") {
			if f := strings.Fields(line); len(f) == 3 && f[0] == "STAT" {
				m[f[1]] = f[2]
			}
		}
		return m
	}
	// From TCP: 1 listener + 3 UDP + this client, less one, as memcached.
	tcp := dial(t, s)
	st := stats(tcp.reply("stats\r\n"))
	for k, want := range map[string]string{"curr_connections": "4", "connection_structures": "5", "total_connections": "5"} {
		if st[k] != want {
			t.Errorf("%s = %s, want %s", k, st[k], want)
		}
	}
	local := "udp:" + s.UDPAddrs()[0].String()
	var conns string
	for i := 0; i < 100; i++ { // a reader may not be back to waiting yet
		conns = tcp.reply("stats conns\r\n")
		if strings.Count(conns, ":addr "+local+"\r\n") == 3 {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if n := strings.Count(conns, ":UDP UDP\r\n"); n != 3 {
		t.Errorf("stats conns shows %d UDP connections, want 3:\n%s", n, conns)
	}
	if n := strings.Count(conns, ":addr "+local+"\r\n"); n != 3 {
		t.Errorf("stats conns: %d idle UDP connections at %s, want 3:\n%s", n, local, conns)
	}
	// From UDP: the reader answering shows the sender.
	var out strings.Builder
	for _, d := range u.exchange(2, "stats conns\r\n") {
		out.WriteString(d.data)
	}
	client := "udp:" + u.c.LocalAddr().String()
	if !strings.Contains(out.String(), ":addr "+client+"\r\n") || !strings.Contains(out.String(), ":listen_addr "+local+"\r\n") {
		t.Errorf("stats conns over UDP does not show %s on %s:\n%s", client, local, out.String())
	}
	// A reply is counted just after it is sent: let the counters settle.
	settled := func() (uint64, uint64) {
		r, w := s.stats.bytesRead.Load(), s.stats.bytesWritten.Load()
		for i := 0; i < 100; i++ {
			time.Sleep(10 * time.Millisecond)
			r2, w2 := s.stats.bytesRead.Load(), s.stats.bytesWritten.Load()
			if r2 == r && w2 == w {
				break
			}
			r, w = r2, w2
		}
		return r, w
	}
	r0, w0 := settled()
	u.exchange(3, "get k\r\n")
	r1, w1 := settled()
	if r, w := r1-r0, w1-w0; r != 8+11 || w != 8+21+8+4 {
		t.Errorf("bytes read %d written %d, want 19 and 41", r, w)
	}
}

// TestUDPConcurrent runs clients in parallel (run it with -race).
func TestUDPConcurrent(t *testing.T) {
	s := udpTestServer(t, func(c *Config) { c.Threads = 4 })
	const clients, ops = 8, 100
	var wg sync.WaitGroup
	errs := make(chan string, clients)
	for i := 0; i < clients; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			u := dialUDP(t, s)
			u.t = &failT{TB: t, errs: errs}
			defer func() { _ = recover() }() // failT's Fatal ends the goroutine
			for j := 0; j < ops; j++ {
				key := fmt.Sprintf("c%d:%d", i, j)
				val := strings.Repeat("v"+strconv.Itoa(j), j%50+1)
				id := uint16(i*ops + j)
				req := fmt.Sprintf("set %s %d 0 %d\r\n%s\r\nget %s\r\nincr %s 1\r\ndelete %s\r\n", key, j, len(val), val, key, key, key)
				want := fmt.Sprintf("0/1 STORED\r\n|0/1 VALUE %s %d %d\r\n%s\r\nEND\r\n|0/1 CLIENT_ERROR cannot increment or decrement non-numeric value\r\n|0/1 DELETED\r\n|", key, j, len(val), val)
				if j%10 == 0 {
					req = fmt.Sprintf("set %s 0 0 1\r\n7\r\nincr %s 5\r\n", key, key)
					want = "0/1 STORED\r\n|0/1 12\r\n|"
				}
				if got := render(u.exchange(id, req)); got != want {
					errs <- fmt.Sprintf("client %d op %d: got %q, want %q", i, j, got, want)
					return
				}
			}
		}(i)
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}

// failT turns Fatal in a goroutine into a reported error.
type failT struct {
	testing.TB
	errs chan string
}

func (f *failT) Fatal(args ...any) { f.errs <- fmt.Sprint(args...); panic(f) }
func (f *failT) Fatalf(format string, args ...any) {
	f.errs <- fmt.Sprintf(format, args...)
	panic(f)
}
func (f *failT) Helper() {}

// TestUDPServeUDP serves a socket made by the caller.
func TestUDPServeUDP(t *testing.T) {
	s := testServer(t, nil)
	pc, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	s.ServeUDP(pc)
	if got := render(dialUDP(t, s).exchange(1, "version\r\n")); got != "0/1 VERSION 1.6.45\r\n|" {
		t.Errorf("version: %q", got)
	}
}

// TestUDPShutdown: Shutdown stops the readers and closes the sockets.
func TestUDPShutdown(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Port, cfg.UDPPort, cfg.Threads = -1, -1, 4
	cfg.Listen = []string{"127.0.0.1"}
	cfg.MemoryLimitMB = 16
	s, err := New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Listen(); err != nil {
		t.Fatal(err)
	}
	u := dialUDP(t, s)
	if got := render(u.exchange(1, "version\r\n")); got != "0/1 VERSION 1.6.45\r\n|" {
		t.Fatalf("version: %q", got)
	}
	done := make(chan error, 1)
	go func() { done <- s.Shutdown(t.Context()) }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Shutdown did not return")
	}
	// Nothing answers: the write or the read fails (the port is closed),
	// or the read times out.
	if _, err := u.c.Write(frame(2, 0, 1, 0, "version\r\n")); err == nil {
		_ = u.c.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
		if n, err := u.c.Read(u.buf); err == nil {
			t.Errorf("reply after shutdown: %q", u.buf[:n])
		}
	}
}

// detachedReader is a reader without its goroutine, whose replies go to a
// socket nobody reads, for driving handle directly.
func detachedReader(t testing.TB, s *Server) *udpReader {
	t.Helper()
	pc, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	sink, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sink.Close() })
	u := newUDPReader(s, pc, 0)
	u.peer = sink.LocalAddr().(*net.UDPAddr).AddrPort()
	return u
}

// TestUDPNoAllocs: a datagram costs no allocation in steady state.
func TestUDPNoAllocs(t *testing.T) {
	s := udpTestServer(t, nil)
	u := detachedReader(t, s)
	run := func(req string) {
		u.handleFrame(frame(1, 0, 1, 0, req))
	}
	run("set k 0 0 100\r\n" + strings.Repeat("v", 100) + "\r\n")
	run("set l 0 0 3000\r\n" + strings.Repeat("w", 3000) + "\r\n")
	for _, req := range []string{
		"get k\r\n",
		"get k nope l\r\n",
		"set k 0 0 100\r\n" + strings.Repeat("v", 100) + "\r\n",
		"delete nope\r\nincr nope 1\r\nquit\r\n",
	} {
		d := frame(1, 0, 1, 0, req)
		if n := testing.AllocsPerRun(200, func() { u.handleFrame(d) }); n != 0 {
			t.Errorf("%q: %v allocations per datagram", req, n)
		}
	}
}

// TestUDPProtocolPerDatagram: each datagram is text or binary by its first
// byte whatever -B says, as in memcached, and nothing of one datagram's
// unfinished request reaches the next.
func TestUDPProtocolPerDatagram(t *testing.T) {
	noop := string(protocol.AppendBinaryRequest(nil, protocol.OpNoop, nil, nil, nil, 7, 0))
	for _, proto := range []string{"auto", "ascii", "binary"} {
		t.Run(proto, func(t *testing.T) {
			s := udpTestServer(t, func(c *Config) { c.Protocol = proto; c.Threads = 1 })
			u := dialUDP(t, s)
			if got := render(u.exchange(1, "version\r\n")); got != "0/1 VERSION 1.6.45\r\n|" {
				t.Errorf("text: %q", got)
			}
			u.sendRaw(frame(2, 0, 1, 0, noop))
			d, ok := u.recv(5 * time.Second)
			if !ok || len(d.data) != protocol.BinaryHeaderLen || d.data[0] != 0x81 || d.data[1] != protocol.OpNoop {
				t.Errorf("binary noop: %q %v", d.data, ok)
			}
			// A set whose value is cut short: the reply before it is
			// sent, and the next datagram (another sender) starts afresh.
			set := protocol.AppendBinaryRequest(nil, protocol.OpSet, make([]byte, 8), []byte("k"), []byte("v"), 1, 0)
			cut := protocol.AppendBinaryRequest(nil, protocol.OpSet, make([]byte, 8), []byte("k"), []byte(strings.Repeat("v", 100)), 2, 0)
			u.sendRaw(frame(3, 0, 1, 0, string(set)+string(cut[:40])))
			ds := u.quiet(300 * time.Millisecond)
			if len(ds) != 1 || len(ds[0].data) != protocol.BinaryHeaderLen || ds[0].data[1] != protocol.OpSet || ds[0].data[7] != 0 {
				t.Errorf("set, then a cut set: %v", ds)
			}
			other := dialUDP(t, s)
			other.sendRaw(frame(4, 0, 1, 0, noop))
			if ds := other.quiet(300 * time.Millisecond); len(ds) != 1 || len(ds[0].data) != protocol.BinaryHeaderLen || ds[0].data[1] != protocol.OpNoop {
				t.Errorf("next sender's noop: %v", ds)
			}
		})
	}
}

func BenchmarkUDPGetHit(b *testing.B) {
	s := udpTestServer(b, nil)
	u := detachedReader(b, s)
	u.handleFrame(frame(1, 0, 1, 0, "set user:12345:profile 0 0 100\r\n"+strings.Repeat("v", 100)+"\r\n"))
	d := frame(1, 0, 1, 0, "get user:12345:profile\r\n")
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		u.handleFrame(d)
	}
}

// handleFrame runs the datagram d as the read loop does.
func (u *udpReader) handleFrame(d []byte) {
	n := copy(u.buf, d)
	h, _ := protocol.ParseUDPHeader(u.buf[:n])
	u.handle(h, n)
}
