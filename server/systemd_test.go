package server

import (
	"net"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

func TestListenersFromFDs(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	f, err := l.(*net.TCPListener).File()
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	// listenersFromFDs takes ownership of the descriptors it is given, as
	// of systemd's: hand it a duplicate.
	fd, err := syscall.Dup(int(f.Fd()))
	if err != nil {
		t.Fatal(err)
	}
	ls, err := listenersFromFDs([]int{fd})
	if err != nil {
		t.Fatal(err)
	}
	if len(ls) != 1 || ls[0].Addr().String() != l.Addr().String() {
		t.Fatalf("got %v", ls)
	}
	// The inherited socket serves gocached.
	s := testServer(t, nil)
	s.Serve(ls[0])
	c, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write([]byte("version\r\n"))
	buf := make([]byte, 32)
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, _ := c.Read(buf)
	if string(buf[:n]) != "VERSION 1.6.45\r\n" {
		t.Fatalf("reply %q", buf[:n])
	}
	reg, err := os.CreateTemp(t.TempDir(), "notasocket")
	if err != nil {
		t.Fatal(err)
	}
	defer reg.Close()
	fd2, err := syscall.Dup(int(reg.Fd()))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := listenersFromFDs([]int{fd2}); err == nil {
		t.Fatal("a regular file accepted as a listener")
	}
}

func TestSystemdListenersIgnoresOtherPID(t *testing.T) {
	t.Setenv("LISTEN_PID", "1")
	t.Setenv("LISTEN_FDS", "1")
	ls, err := SystemdListeners()
	if err != nil || ls != nil {
		t.Fatalf("got %v, %v for another process's sockets", ls, err)
	}
}

// notifySocket listens as systemd's NOTIFY_SOCKET for the test.
func notifySocket(t *testing.T) *net.UnixConn {
	t.Helper()
	path := filepath.Join(t.TempDir(), "notify")
	pc, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	t.Setenv("NOTIFY_SOCKET", path)
	return pc
}

func TestSystemdNotify(t *testing.T) {
	pc := notifySocket(t)
	if err := SystemdNotify("READY=1"); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 64)
	pc.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, _, err := pc.ReadFrom(buf)
	if err != nil || string(buf[:n]) != "READY=1" {
		t.Fatalf("got %q, %v", buf[:n], err)
	}
	t.Setenv("NOTIFY_SOCKET", "")
	if err := SystemdNotify("READY=1"); err != nil {
		t.Fatalf("without NOTIFY_SOCKET: %v", err)
	}
}
