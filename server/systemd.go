package server

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// systemd integration without libsystemd: socket activation
// (LISTEN_PID/LISTEN_FDS, descriptors from 3 on) and readiness
// notification (sd_notify's datagram to $NOTIFY_SOCKET).

const listenFDsStart = 3

// SystemdListeners returns the sockets systemd passed to this process, or
// nil when it passed none. The environment variables are cleared so that
// children do not inherit them.
func SystemdListeners() ([]net.Listener, error) {
	pid, err := strconv.Atoi(os.Getenv("LISTEN_PID"))
	if err != nil || pid != os.Getpid() {
		return nil, nil
	}
	n, err := strconv.Atoi(os.Getenv("LISTEN_FDS"))
	if err != nil || n <= 0 {
		return nil, fmt.Errorf("systemd: bad LISTEN_FDS %q", os.Getenv("LISTEN_FDS"))
	}
	os.Unsetenv("LISTEN_PID")
	os.Unsetenv("LISTEN_FDS")
	os.Unsetenv("LISTEN_FDNAMES")
	fds := make([]int, n)
	for i := range fds {
		fds[i] = listenFDsStart + i
	}
	return listenersFromFDs(fds)
}

func listenersFromFDs(fds []int) ([]net.Listener, error) {
	var ls []net.Listener
	for _, fd := range fds {
		syscall.CloseOnExec(fd)
		f := os.NewFile(uintptr(fd), "systemd-socket-"+strconv.Itoa(fd))
		l, err := net.FileListener(f)
		f.Close() // FileListener dups the descriptor
		if err != nil {
			for _, l := range ls {
				l.Close()
			}
			return nil, fmt.Errorf("systemd: fd %d is not a stream listener: %w", fd, err)
		}
		ls = append(ls, l)
	}
	return ls, nil
}

// SystemdNotify sends state (e.g. "READY=1") to the service manager. It
// does nothing when the process was not started with Type=notify.
func SystemdNotify(state string) error {
	path := os.Getenv("NOTIFY_SOCKET")
	if path == "" {
		return nil
	}
	if strings.HasPrefix(path, "@") {
		path = "\x00" + path[1:] // abstract socket
	} else if !strings.HasPrefix(path, "/") {
		return errors.New("systemd: NOTIFY_SOCKET is neither a path nor abstract")
	}
	conn, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		return err
	}
	defer conn.Close()
	_, err = conn.Write([]byte(state))
	return err
}
