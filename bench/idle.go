package bench

import (
	"bufio"
	"context"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// idle opens IdleConns connections, each answering one protocol probe
// (so the server has accepted it and handled a request), leaves them idle
// for IdleSettle, and reads the server's resident memory before and
// after: the difference per connection is what an idle client costs.
// It stops at the first connection that fails (file descriptors, the
// server's -c limit) and reports how many it got.
func (s *session) idle(ctx context.Context) error {
	id := &Idle{Wanted: s.wl.IdleConns}
	s.res.Idle = id
	before := s.sample()
	id.RSSBefore = before.RSSBytes

	conns := make([]net.Conn, s.wl.IdleConns)
	var next atomic.Int64
	var failed atomic.Bool
	var mu sync.Mutex
	var wg sync.WaitGroup
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, 0, 64)
			for !failed.Load() && ctx.Err() == nil {
				i := int(next.Add(1) - 1)
				if i >= len(conns) {
					return
				}
				nc, err := s.idleDial(buf)
				if err != nil {
					if failed.CompareAndSwap(false, true) {
						mu.Lock()
						id.Error = errKind(err)
						mu.Unlock()
					}
					return
				}
				conns[i] = nc
			}
		}()
	}
	wg.Wait()
	for _, nc := range conns {
		if nc != nil {
			id.Conns++
		}
	}
	select {
	case <-time.After(s.wl.IdleSettle):
	case <-ctx.Done():
	}
	after := s.sample()
	id.RSSAfter = after.RSSBytes
	if id.Conns > 0 && before.RSSBytes > 0 {
		id.BytesPerConn = float64(after.RSSBytes-before.RSSBytes) / float64(id.Conns)
	}
	s.res.Protocol = s.codec.name()
	s.res.Server.RSSStart, s.res.Server.RSSEnd = before.RSSBytes, after.RSSBytes
	for _, nc := range conns {
		if nc != nil {
			nc.Close()
		}
	}
	// Let the server see the closes before another server is measured.
	time.Sleep(200 * time.Millisecond)
	return ctx.Err()
}

// idleDial opens one connection and completes one probe on it.
func (s *session) idleDial(buf []byte) (net.Conn, error) {
	nc, err := s.t.dial(s.wl.Timeout)
	if err != nil {
		return nil, err
	}
	_ = nc.SetDeadline(time.Now().Add(s.wl.Timeout))
	if _, err := nc.Write(s.codec.appendProbe(buf[:0])); err != nil {
		nc.Close()
		return nil, err
	}
	r := &reader{Reader: bufio.NewReaderSize(nc, 256)}
	if err := s.codec.readProbe(r); err != nil {
		nc.Close()
		return nil, err
	}
	_ = nc.SetDeadline(time.Time{})
	return nc, nil
}
