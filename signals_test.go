package main

import (
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestMain lets the test binary stand in for the daemon in a child
// process (GOCACHED_TEST_DAEMON=1), for what cannot be tried in-process.
func TestMain(m *testing.M) {
	if os.Getenv("GOCACHED_TEST_DAEMON") == "1" {
		if err := newApp().Run(os.Args); err != nil {
			os.Stderr.WriteString(err.Error() + "\n")
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// stallWriter stores a 500 KB value and fetches it 200 times on a
// connection that never reads: the daemon's write to it blocks.
func stallWriter(t *testing.T, port string) net.Conn {
	t.Helper()
	value := strings.Repeat("v", 500_000)
	if got := roundTrip(t, port, "set big 0 0 500000\r\n"+value+"\r\n"); got != "STORED\r\n" {
		t.Fatalf("set: %q", got)
	}
	nc, err := net.Dial("tcp", "127.0.0.1:"+port)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	_ = nc.(*net.TCPConn).SetReadBuffer(4096)
	_ = nc.SetWriteDeadline(time.Now().Add(time.Second))
	_, _ = nc.Write([]byte(strings.Repeat("get big\r\n", 200))) // stops once the daemon stops reading
	time.Sleep(100 * time.Millisecond)
	return nc
}

// TestStopSignals: how long each way of stopping waits for a client whose
// replies are stuck (it never reads). SIGINT stops at once, as memcached;
// SIGTERM and SIGUSR1 (memcached's graceful stop) let requests in flight
// finish for at most -o shutdown_timeout; SIGINT during that wait ends it.
func TestStopSignals(t *testing.T) {
	tests := []struct {
		name     string
		signals  []syscall.Signal
		min, max time.Duration
	}{
		{"SIGINT", []syscall.Signal{syscall.SIGINT}, 0, time.Second},
		{"SIGTERM", []syscall.Signal{syscall.SIGTERM}, 1500 * time.Millisecond, 4 * time.Second},
		{"SIGUSR1", []syscall.Signal{syscall.SIGUSR1}, 1500 * time.Millisecond, 4 * time.Second},
		{"SIGTERM then SIGINT", []syscall.Signal{syscall.SIGTERM, syscall.SIGINT}, 0, 1500 * time.Millisecond},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			port, done := startDaemon(t, "-o", "shutdown_timeout=2")
			stallWriter(t, port)
			start := time.Now()
			for i, sig := range tc.signals {
				if i > 0 {
					time.Sleep(200 * time.Millisecond)
				}
				if err := syscall.Kill(syscall.Getpid(), sig); err != nil {
					t.Fatal(err)
				}
			}
			waitStopped(t, done)
			if d := time.Since(start); d < tc.min || d > tc.max {
				t.Errorf("stopped after %v, want between %v and %v", d, tc.min, tc.max)
			}
		})
	}
}

// TestBrokenLogPipe: with its stderr a pipe nobody reads any more (a log
// collector that died), the daemon keeps serving instead of dying of
// SIGPIPE when it logs.
func TestBrokenLogPipe(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
	l.Close()
	cmd := exec.Command(os.Args[0], "-p", port, "-l", "127.0.0.1", "-m", "8", "-vv")
	cmd.Env = append(os.Environ(), "GOCACHED_TEST_DAEMON=1")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() {
		// Read the first log lines, then break the pipe.
		buf := make([]byte, 64)
		_, _ = io.ReadAtLeast(stderr, buf, 1)
		stderr.Close()
		exited <- cmd.Wait()
	}()
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	var c net.Conn
	for i := 0; i < 100; i++ {
		if c, err = net.Dial("tcp", "127.0.0.1:"+port); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		t.Fatal("daemon did not start listening")
	}
	defer c.Close()
	// -vv logs every command: each one now writes to the broken pipe.
	buf := make([]byte, 64)
	for i := 0; i < 20; i++ {
		if _, err := c.Write([]byte("version\r\n")); err != nil {
			t.Fatal(err)
		}
		_ = c.SetReadDeadline(time.Now().Add(2 * time.Second))
		n, err := c.Read(buf)
		if err != nil || !strings.HasPrefix(string(buf[:n]), "VERSION ") {
			select {
			case werr := <-exited:
				t.Fatalf("the daemon died with its log pipe broken: %v", werr)
			default:
			}
			t.Fatalf("version %d: %q, %v", i, buf[:n], err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	select {
	case werr := <-exited:
		t.Fatalf("the daemon died with its log pipe broken: %v", werr)
	default:
	}
}
