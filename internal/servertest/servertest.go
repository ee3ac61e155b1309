// Package servertest starts an in-process gocached on a loopback port for
// the tests of packages above server (the daemon's, bench's). It is test
// support: only tests import it. (server's own tests have testServer.)
package servertest

import (
	"context"
	"testing"
	"time"

	"github.com/gocached/gocached/server"
)

// Start runs a server on a free 127.0.0.1 port with memcached's defaults
// and 16 MB of memory, changed by edit when not nil; it is shut down at
// the test's cleanup.
func Start(t testing.TB, edit func(*server.Config)) *server.Server {
	t.Helper()
	cfg := server.DefaultConfig()
	cfg.Port, cfg.Listen, cfg.MemoryLimitMB = -1, []string{"127.0.0.1"}, 16
	if edit != nil {
		edit(&cfg)
	}
	s, err := server.New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Listen(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := s.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
	})
	return s
}

// Addr is the server's first listening address, host:port.
func Addr(s *server.Server) string { return s.Addrs()[0].String() }
