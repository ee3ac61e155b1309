package client

import (
	"context"
	"errors"
	"sync/atomic"
	"time"
)

// node is one server: its ring name, where to dial it, its connection
// pool and its health.
type node struct {
	c      *Client
	name   string // host:port as configured (what the ring hashes)
	addr   string // where to dial; differs from name with auto discovery
	weight int
	pool   pool

	failures atomic.Int32 // consecutive failures
	ejected  atomic.Bool  // out of the ring
	retryAt  atomic.Int64 // unix nanos of the next probe while ejected
}

// exec runs one request on a connection of n: get a connection, run op,
// return the connection, account for failures. A reused connection that
// the server had closed (it restarted, or dropped idle clients) fails
// before any reply byte is read; an idempotent request is then retried
// once on a fresh connection without counting a failure. (Others are
// not: the server may have run it before closing.)
func (n *node) exec(ctx context.Context, idempotent bool, op func(cn *conn) error) error {
	for try := 0; ; try++ {
		cn, err := n.get(ctx)
		if err != nil {
			if ctx.Err() == nil && !errors.Is(err, ErrClosed) {
				n.fail()
			}
			return err
		}
		stop := cn.begin(ctx)
		err = op(cn)
		if stop != nil {
			stop()
		}
		if err == nil || !cn.bad {
			n.put(cn)
			n.ok()
			return err
		}
		stale := idempotent && cn.reused && !cn.read && !isTimeout(err)
		n.put(cn) // closes it
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if cn.ctxDL && isTimeout(err) {
			return context.DeadlineExceeded // the caller's deadline, a hair early
		}
		var ne *NodeError
		if !errors.As(err, &ne) {
			return err // a reply that desynchronised the stream, not a dead server
		}
		if stale && try == 0 {
			continue
		}
		n.fail()
		return err
	}
}

func isTimeout(err error) bool {
	var te interface{ Timeout() bool }
	return errors.As(err, &te) && te.Timeout()
}

// ok records a success.
func (n *node) ok() {
	if n.failures.Load() != 0 {
		n.failures.Store(0)
	}
}

// fail records a failure; at FailureLimit in a row the node is ejected.
func (n *node) fail() {
	n.drainIdle()
	limit := n.c.cfg.FailureLimit
	if f := n.failures.Add(1); limit > 0 && int(f) >= limit {
		n.c.eject(n)
	}
}

// probe asks the server for its version: the test for rejoining.
func (n *node) probe(ctx context.Context) error {
	return n.exec(ctx, true, func(cn *conn) error {
		cn.bw.WriteString("version\r\n")
		if err := cn.flush(); err != nil {
			return err
		}
		l, err := cn.line()
		if err != nil {
			return err
		}
		if len(l) < 8 || string(l[:8]) != "VERSION " {
			return cn.replyErr(l)
		}
		return nil
	})
}

// nextProbe is when the ejected node is probed next.
func (n *node) nextProbe() time.Time { return time.Unix(0, n.retryAt.Load()) }
