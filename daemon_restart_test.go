package main

import (
	"bytes"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gocached/gocached/slab"
)

// memoryFile is a path for -e on tmpfs (/dev/shm) when there is one, else
// in the test's directory.
func memoryFile(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if ok, _ := slab.OnMemoryFS("/dev/shm"); ok {
		if d, err := os.MkdirTemp("/dev/shm", "gocached-daemon-test-"); err == nil {
			t.Cleanup(func() { os.RemoveAll(d) })
			dir = d
		}
	}
	return filepath.Join(dir, "memory_file")
}

// TestRestartWarmStops: with -e, each graceful way of stopping (SIGTERM as
// systemd sends, SIGUSR1 and shutdown graceful as memcached's) lets the
// next start serve the cache; SIGINT and plain shutdown do not.
func TestRestartWarmStops(t *testing.T) {
	tests := []struct {
		name string
		stop func(t *testing.T, port string)
		warm bool
	}{
		{"SIGTERM", signalStop(syscall.SIGTERM), true},
		{"SIGUSR1", signalStop(syscall.SIGUSR1), true},
		{"shutdown graceful", commandStop("shutdown graceful\r\n"), true},
		{"SIGINT", signalStop(syscall.SIGINT), false},
		{"shutdown", commandStop("shutdown\r\n"), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			file := memoryFile(t)
			port, done := startDaemon(t, "-e", file, "-A")
			if got := roundTrip(t, port, "set k 7 0 5\r\nhello\r\n"); got != "STORED\r\n" {
				t.Fatalf("set: %q", got)
			}
			if got := readUntilEnd(t, port, "stats settings\r\n"); !strings.Contains(got, "STAT memory_file "+file+"\r\n") {
				t.Errorf("stats settings do not name the memory file: %q", got)
			}
			tc.stop(t, port)
			waitStopped(t, done)

			port, done = startDaemon(t, "-e", file, "-A")
			want := "END\r\n"
			if tc.warm {
				want = "VALUE k 7 5\r\nhello\r\nEND\r\n"
			}
			if got := roundTrip(t, port, "get k\r\n"); got != want {
				t.Errorf("get after the restart: %q, want %q", got, want)
			}
			stopDaemon(t, port, done)
		})
	}
}

// readUntilEnd sends req on a new connection and reads up to END.
func readUntilEnd(t *testing.T, port, req string) string {
	t.Helper()
	c := send(t, port, req)
	defer c.Close()
	var got []byte
	buf := make([]byte, 4096)
	for !bytes.HasSuffix(got, []byte("END\r\n")) {
		n, err := c.Read(buf)
		got = append(got, buf[:n]...)
		if err != nil {
			break
		}
	}
	return string(got)
}

func signalStop(sig syscall.Signal) func(*testing.T, string) {
	return func(t *testing.T, _ string) {
		if err := syscall.Kill(syscall.Getpid(), sig); err != nil {
			t.Fatal(err)
		}
	}
}

func commandStop(cmd string) func(*testing.T, string) {
	return func(t *testing.T, port string) {
		c := send(t, port, cmd)
		defer c.Close()
		_, _ = c.Read(make([]byte, 64)) // the daemon closes the connection
	}
}

// TestRestartSecondDaemonRefuses: a second daemon on a memory file in use
// does not start.
func TestRestartSecondDaemonRefuses(t *testing.T) {
	file := memoryFile(t)
	port, done := startDaemon(t, "-e", file)
	err := newApp().Run([]string{"gocached", "-p", "0", "-m", "8", "-e", file})
	if err == nil || !strings.Contains(err.Error(), "in use by another process") {
		t.Fatalf("second daemon on %s: %v, want it refused", file, err)
	}
	if got := roundTrip(t, port, "version\r\n"); !strings.HasPrefix(got, "VERSION ") {
		t.Fatalf("the first daemon stopped serving: %q", got)
	}
	stopDaemon(t, port, done)
}

// TestRestartLogsWhy: a child daemon's start-up log says why it starts
// empty (no metadata after a SIGKILL, options changed) or that it resumed,
// at the default verbosity.
func TestRestartLogsWhy(t *testing.T) {
	file := memoryFile(t)
	tests := []struct {
		name string
		args []string
		stop syscall.Signal // how this run ends
		want string
	}{
		{"first start", []string{"-m", "8"}, syscall.SIGTERM, "no metadata file"},
		{"same options", []string{"-m", "8"}, syscall.SIGKILL, "cache resumed"},
		{"after SIGKILL", []string{"-m", "8"}, syscall.SIGTERM, "no metadata file"},
		{"-m changed", []string{"-m", "16"}, syscall.SIGTERM, "settings changed: memory_limit was 8388608, now 16777216"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			log := runChild(t, append([]string{"-e", file}, tc.args...), tc.stop)
			if !strings.Contains(log, tc.want) {
				t.Fatalf("start-up log does not say %q:\n%s", tc.want, log)
			}
		})
	}
}

// runChild starts the daemon as a child process, stores a key once it
// listens, stops it with sig and returns what it logged.
func runChild(t *testing.T, args []string, sig syscall.Signal) string {
	t.Helper()
	port := freePort(t)
	var stderr bytes.Buffer
	cmd := exec.Command(os.Args[0], append([]string{"-p", port, "-l", "127.0.0.1"}, args...)...)
	cmd.Env = append(os.Environ(), "GOCACHED_TEST_DAEMON=1")
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	for i := 0; ; i++ {
		c, err := net.Dial("tcp", "127.0.0.1:"+port)
		if err == nil {
			c.Close()
			break
		}
		if i == 200 {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
			t.Fatalf("child daemon did not listen:\n%s", stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if got := roundTrip(t, port, "set k 0 0 1\r\nv\r\n"); got != "STORED\r\n" {
		t.Errorf("set: %q", got)
	}
	_ = cmd.Process.Signal(sig)
	if err := cmd.Wait(); err != nil && sig != syscall.SIGKILL {
		t.Fatalf("child daemon: %v\n%s", err, stderr.String())
	}
	return stderr.String()
}
