package main

import (
	"net"
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
		cfg, err := configFrom(c)
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

// TestSIGTERMStopsCleanly starts the daemon in-process and stops it the
// way systemd does.
func TestSIGTERMStopsCleanly(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	done := make(chan error, 1)
	go func() {
		done <- newApp().Run([]string{"gocached", "-p", strconv.Itoa(port), "-l", "127.0.0.1", "-m", "8"})
	}()
	var c net.Conn
	for i := 0; i < 100; i++ {
		if c, err = net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(port)); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Write([]byte("version\r\n")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 64)
	n, _ := c.Read(buf)
	if string(buf[:n]) != "VERSION 1.6.18\r\n" {
		t.Fatalf("version: %q", buf[:n])
	}
	if err := syscall.Kill(syscall.Getpid(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("daemon returned %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("daemon did not stop on SIGTERM")
	}
	if _, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(port)); err == nil {
		t.Fatal("still listening after SIGTERM")
	}
}
