package main

import (
	"bytes"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gocached/gocached/internal/servertest"
	"github.com/gocached/gocached/server"
	"golang.org/x/sys/unix"
)

// inProcessServer starts a server; observed: with latency and hot keys,
// every batch timed and every request sampled.
func inProcessServer(t *testing.T, observed bool, edit func(*server.Config)) *server.Server {
	return servertest.Start(t, func(c *server.Config) {
		if observed {
			c.Latency, c.LatencySample, c.HotKeySample = true, 1, 1
		}
		if edit != nil {
			edit(c)
		}
	})
}

// traffic sets "hot" and gets it and a missing key, until stop closes.
func traffic(t *testing.T, addr string, stop <-chan struct{}, wg *sync.WaitGroup) {
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Error(err)
		return
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer nc.Close()
		buf := make([]byte, 4096)
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			req := "set hot 0 0 5\r\nhello\r\nget hot k" + strconv.Itoa(i%50) + "\r\n"
			if _, err := nc.Write([]byte(req)); err != nil {
				return
			}
			_ = nc.SetReadDeadline(time.Now().Add(2 * time.Second))
			got := 0
			for !bytes.HasSuffix(buf[:got], []byte("END\r\n")) {
				n, err := nc.Read(buf[got:])
				if err != nil {
					return
				}
				got += n
			}
			time.Sleep(time.Millisecond)
		}
	}()
}

// TestTopOnce: one frame of `gocached top --once` for a gocached with
// latency and hot keys, one without (as memcached: stats only), and an
// address nobody listens on.
func TestTopOnce(t *testing.T) {
	observed := inProcessServer(t, true, nil).Addrs()[0].String()
	plain := inProcessServer(t, false, nil).Addrs()[0].String()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	down := l.Addr().String()
	l.Close()
	stop := make(chan struct{})
	var wg sync.WaitGroup
	traffic(t, observed, stop, &wg)
	traffic(t, plain, stop, &wg)
	defer func() { close(stop); wg.Wait() }()
	time.Sleep(100 * time.Millisecond)

	var out bytes.Buffer
	err = runTop(os.Stdin, &out, topOptions{addrs: []string{observed, plain, down}, delay: 300 * time.Millisecond, n: 1, hot: 3})
	if err != nil {
		t.Fatal(err)
	}
	frame := out.String()
	rows := map[string]string{}
	for _, line := range strings.Split(frame, "\n") {
		if f := strings.Fields(line); len(f) > 0 {
			rows[f[0]] = line
		}
	}
	cases := []struct {
		name, row string
		want      []string // in the row, in order
		not       []string
	}{
		{"observed", rows[observed], []string{"1.6.45", "us", "us"}, []string{" - "}},
		{"plain", rows[plain], []string{"1.6.45"}, nil},
		{"down", rows[down], []string{"down:"}, nil},
	}
	for _, c := range cases {
		if c.row == "" {
			t.Errorf("%s: no row in\n%s", c.name, frame)
			continue
		}
		rest := c.row
		for _, w := range c.want {
			i := strings.Index(rest, w)
			if i < 0 {
				t.Errorf("%s: %q not in row %q", c.name, w, c.row)
				break
			}
			rest = rest[i+len(w):]
		}
		for _, w := range c.not {
			if strings.Contains(c.row, w) {
				t.Errorf("%s: %q in row %q", c.name, w, c.row)
			}
		}
	}
	if !strings.Contains(frame, "HOT KEYS "+observed) || strings.Contains(frame, "HOT KEYS "+plain) {
		t.Errorf("hot keys shown for the wrong servers:\n%s", frame)
	}
	if i := strings.Index(frame, "HOT KEYS "+observed); i >= 0 {
		if f := strings.Fields(strings.Split(frame[i:], "\n")[2]); len(f) < 1 || f[0] != "hot" {
			t.Errorf("hottest key is not \"hot\":\n%s", frame[i:])
		}
	}
	if strings.Contains(frame, "\x1b[") {
		t.Error("--once output has ANSI escapes")
	}
	// The plain server's GET/s is a rate, not "-": two samples were taken;
	// its hit ratio is about 50% (get hot hits, get k<i> misses; the
	// interval may cut a pair).
	if f := strings.Fields(rows[plain]); len(f) < 7 || f[2] == "-" || f[2] == "0" {
		t.Errorf("plain server GET/s %v", f)
	} else if hit, err := strconv.ParseFloat(f[6], 64); err != nil || hit < 40 || hit > 60 {
		t.Errorf("plain server HIT%% %q, want about 50", f[6])
	}
}

// openPTY opens a pseudo-terminal pair.
func openPTY(t *testing.T) (master, slave *os.File) {
	t.Helper()
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := unix.IoctlSetPointerInt(int(m.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Fatal(err)
	}
	n, err := unix.IoctlGetInt(int(m.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Fatal(err)
	}
	s, err := os.OpenFile("/dev/pts/"+strconv.Itoa(n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close(); s.Close() })
	return m, s
}

// TestTopTerminal runs `gocached top` on a pseudo-terminal: it draws
// frames with ANSI clear and redraw, and exits with status 0, the cursor
// shown again and the terminal's line mode restored, on q and on SIGINT.
func TestTopTerminal(t *testing.T) {
	addr := inProcessServer(t, true, nil).Addrs()[0].String()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		stop func(master *os.File, p *os.Process) error
	}{
		{"q", func(m *os.File, _ *os.Process) error { _, err := m.Write([]byte("q")); return err }},
		{"SIGINT", func(_ *os.File, p *os.Process) error { return p.Signal(syscall.SIGINT) }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			master, slave := openPTY(t)
			cmd := exec.Command(exe, "top", "-s", addr, "-d", "100ms")
			cmd.Env = append(os.Environ(), "GOCACHED_TEST_DAEMON=1")
			cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, slave, slave
			cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			var mu sync.Mutex
			var out bytes.Buffer
			go func() {
				buf := make([]byte, 4096)
				for {
					n, err := master.Read(buf)
					mu.Lock()
					out.Write(buf[:n])
					mu.Unlock()
					if err != nil {
						return
					}
				}
			}()
			frames := func() int {
				mu.Lock()
				defer mu.Unlock()
				return strings.Count(out.String(), ansiClear+"gocached top - ")
			}
			deadline := time.Now().Add(5 * time.Second)
			for frames() < 3 && time.Now().Before(deadline) {
				time.Sleep(20 * time.Millisecond)
			}
			if n := frames(); n < 3 {
				_ = cmd.Process.Kill()
				t.Fatalf("%d frames drawn in 5 s:\n%q", n, out.String())
			}
			if err := c.stop(master, cmd.Process); err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("exit: %v", err)
				}
			case <-time.After(3 * time.Second):
				_ = cmd.Process.Kill()
				t.Fatal("top did not exit within 3 s")
			}
			time.Sleep(50 * time.Millisecond)
			mu.Lock()
			got := out.String()
			mu.Unlock()
			if !strings.Contains(got, ansiShowCursor) || strings.LastIndex(got, ansiShowCursor) < strings.LastIndex(got, ansiHideCursor) {
				t.Errorf("cursor not shown again at exit: %q", got[max(0, len(got)-80):])
			}
			if !strings.Contains(got, "HOT KEYS "+addr) {
				t.Errorf("no hot keys in the frames")
			}
			tio, err := unix.IoctlGetTermios(int(slave.Fd()), unix.TCGETS)
			if err != nil {
				t.Fatal(err)
			}
			if tio.Lflag&unix.ICANON == 0 || tio.Lflag&unix.ECHO == 0 {
				t.Errorf("terminal left in raw mode (lflag %#x)", tio.Lflag)
			}
		})
	}
}
