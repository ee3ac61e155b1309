package main

import (
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/urfave/cli/v2"
)

// parse runs the flag parser on args and returns the config it built.
func parse(t *testing.T, args ...string) (got string, cfgErr error) {
	t.Helper()
	app := newApp()
	app.Action = func(c *cli.Context) error {
		cfg, _, err := configFrom(c)
		got = strings.Join([]string{
			strconv.Itoa(cfg.Port), strconv.Itoa(cfg.MemoryLimitMB), strconv.Itoa(cfg.MaxItemSize),
			strconv.Itoa(cfg.Threads), strconv.Itoa(cfg.Verbosity), strconv.FormatBool(cfg.NoCAS),
			strconv.FormatBool(cfg.NoEvictions), cfg.IdleTimeout.String(), strconv.Itoa(cfg.SlabAutomove),
			strings.Join(cfg.Listen, "+"),
		}, " ")
		return err
	}
	err := app.Run(append([]string{"gocached"}, args...))
	return got, err
}

func TestFlags(t *testing.T) {
	tests := []struct {
		args    []string
		want    string
		wantErr string
	}{
		{nil, "11211 64 1048576 4 0 false false 0s 1 ", ""},
		{[]string{"-p", "11311", "-m", "1024", "-I", "2m", "-t", "8", "-vv", "-C", "-M"}, "11311 1024 2097152 8 2 true true 0s 1 ", ""},
		{[]string{"--port=1", "--memory-limit=8", "--max-item-size=512k", "-vvv"}, "1 8 524288 4 3 false false 0s 1 ", ""},
		{[]string{"-l", "127.0.0.1,::1", "-l", "10.0.0.1:5"}, "11211 64 1048576 4 0 false false 0s 1 127.0.0.1+::1+10.0.0.1:5", ""},
		{[]string{"-o", "idle_timeout=30,slab_automove=2", "-o", "hashpower=20"}, "11211 64 1048576 4 0 false false 30s 2 ", ""},
		{[]string{"-o", "no_such_thing"}, "", `illegal suboption "no_such_thing"`},
		{[]string{"-o", "idle_timeout=x"}, "", "bad value"},
		{[]string{"-c", "0"}, "", "maximum connections must be greater than 0"},
		{[]string{"-t", "0"}, "", "number of threads must be greater than 0"},
		{[]string{"-f", "1"}, "", "factor must be greater than 1"},
		{[]string{"-I", "512"}, "", "item max size cannot be less than 1024 bytes"},
		{[]string{"-m", "1", "-I", "1m"}, "", "1/2 of memory max"},
		{[]string{"-B", "http"}, "", "invalid value for binding protocol"},
		{[]string{"-S", "-U", "11211", "--sasl-pwdb", "x"}, "", "cannot enable UDP"},
		{[]string{"-U", "11311"}, "11311 64 1048576 4 0 false false 0s 1 ", ""},
		{[]string{"-U", "11311", "-p", "11411"}, "11411 64 1048576 4 0 false false 0s 1 ", ""},
		{[]string{"-U", "0"}, "11211 64 1048576 4 0 false false 0s 1 ", ""},
		{[]string{"-S"}, "", "needs a password file"},
	}
	for _, tc := range tests {
		got, err := parse(t, tc.args...)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("%v: error %v, want %q", tc.args, err, tc.wantErr)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("%v:\n got %q (%v)\nwant %q", tc.args, got, err, tc.want)
		}
	}
}

// freePort is a loopback TCP port nothing listens on.
func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
}

// startDaemon runs the daemon in-process on a free loopback port with
// args, and returns the port and the channel its Run result arrives on.
func startDaemon(t *testing.T, args ...string) (string, <-chan error) {
	t.Helper()
	port := freePort(t)
	done := make(chan error, 1)
	go func() {
		done <- newApp().Run(append([]string{"gocached", "-p", port, "-l", "127.0.0.1", "-m", "8"}, args...))
	}()
	for i := 0; i < 100; i++ {
		if c, err := net.Dial("tcp", "127.0.0.1:"+port); err == nil {
			c.Close()
			return port, done
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatal("daemon did not start listening")
	return "", nil
}

// send sends req on a new connection, which it returns with a read
// deadline 5 s away.
func send(t *testing.T, port, req string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", "127.0.0.1:"+port)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if _, err := c.Write([]byte(req)); err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	return c
}

// roundTrip sends req on a new connection and returns the first read.
func roundTrip(t *testing.T, port, req string) string {
	t.Helper()
	c := send(t, port, req)
	defer c.Close()
	buf := make([]byte, 256)
	n, _ := c.Read(buf)
	return string(buf[:n])
}

// stopDaemon sends SIGTERM, as systemd does, and waits for Run to return.
func stopDaemon(t *testing.T, port string, done <-chan error) {
	t.Helper()
	if err := syscall.Kill(syscall.Getpid(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	waitStopped(t, done)
	if _, err := net.Dial("tcp", "127.0.0.1:"+port); err == nil {
		t.Fatal("still listening after SIGTERM")
	}
}

// waitStopped waits for the daemon's Run to return, without error.
func waitStopped(t *testing.T, done <-chan error) {
	t.Helper()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("daemon returned %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("daemon did not stop")
	}
}

// TestSIGTERMStopsCleanly starts the daemon in-process and stops it the
// way systemd does.
func TestSIGTERMStopsCleanly(t *testing.T) {
	port, done := startDaemon(t)
	if got := roundTrip(t, port, "version\r\n"); got != "VERSION 1.6.45\r\n" {
		t.Fatalf("version: %q", got)
	}
	stopDaemon(t, port, done)
}

// TestSIGHUPReloadsAuth: SIGHUP (logrotate, systemctl reload) does not stop
// the daemon; as memcached, it rereads the -Y auth file, and a file that
// cannot be used keeps the users already loaded.
func TestSIGHUPReloadsAuth(t *testing.T) {
	auth := filepath.Join(t.TempDir(), "auth")
	write := func(body string) {
		if err := os.WriteFile(auth, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("alice:one\n")
	port, done := startDaemon(t, "-Y", auth)
	login := func(user, pass string) string {
		cred := user + " " + pass
		return roundTrip(t, port, "set a 0 0 "+strconv.Itoa(len(cred))+"\r\n"+cred+"\r\n")
	}
	hup := func() {
		if err := syscall.Kill(syscall.Getpid(), syscall.SIGHUP); err != nil {
			t.Fatal(err)
		}
		time.Sleep(200 * time.Millisecond) // the signal is handled asynchronously
	}
	if got := login("alice", "one"); got != "STORED\r\n" {
		t.Fatalf("alice before reload: %q", got)
	}
	write("bob:two\n")
	hup()
	if got := login("bob", "two"); got != "STORED\r\n" {
		t.Fatalf("bob after reload: %q", got)
	}
	if got := login("alice", "one"); got != "CLIENT_ERROR authentication failure\r\n" {
		t.Fatalf("alice after reload: %q", got)
	}
	write("not a password file\n")
	hup()
	if got := login("bob", "two"); got != "STORED\r\n" {
		t.Fatalf("bob after a failed reload: %q", got)
	}
	stopDaemon(t, port, done)
}

// TestIgnoredOptionsNamed: options accepted for compatibility without
// effect are named for the start-up warning, in the order given.
func TestIgnoredOptionsNamed(t *testing.T) {
	var got []string
	app := newApp()
	app.Action = func(c *cli.Context) error {
		_, ignored, err := configFrom(c)
		got = ignored
		return err
	}
	if err := app.Run([]string{"gocached", "-o", "no_hashexpand,idle_timeout=5", "-o", "hash_algorithm=murmur3,resp_obj_mem_limit=8"}); err != nil {
		t.Fatal(err)
	}
	if want := "-o no_hashexpand, -o hash_algorithm, -o resp_obj_mem_limit"; strings.Join(got, ", ") != want {
		t.Errorf("ignored %q, want %q", strings.Join(got, ", "), want)
	}
}

// TestPortFileLines: the lines memcached writes to $MEMCACHED_PORT_FILENAME
// (t/issue_67.t reads them).
func TestPortFileLines(t *testing.T) {
	tcp4 := &net.TCPAddr{IP: net.IPv4zero, Port: 11211}
	tcp6 := &net.TCPAddr{IP: net.IPv6zero, Port: 11211}
	udp4 := &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 11222}
	unix := &net.UnixAddr{Name: "/tmp/s", Net: "unix"}
	for _, tc := range []struct {
		name     string
		tcp, udp []net.Addr
		want     string
	}{
		{"none", nil, nil, ""},
		{"tcp", []net.Addr{tcp4}, nil, "TCP INET: 11211\n"},
		{"tcp both families", []net.Addr{tcp4, tcp6}, nil, "TCP INET: 11211\nTCP INET6: 11211\n"},
		{"tcp and udp", []net.Addr{tcp4}, []net.Addr{udp4}, "TCP INET: 11211\nUDP INET: 11222\n"},
		{"unix socket left out", []net.Addr{unix}, nil, ""},
	} {
		if got := portFileLines(tc.tcp, tc.udp); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
	path := filepath.Join(t.TempDir(), "ports")
	if err := writePortFile(path, []net.Addr{tcp4}, nil); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(path); err != nil || string(b) != "TCP INET: 11211\n" {
		t.Fatalf("port file %q, %v", b, err)
	}
}
