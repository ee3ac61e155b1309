package client

import (
	"context"
	"sync"
)

// pool holds one server's connections: up to maxIdle idle ones, at most
// maxOpen in all (0 = no cap). Callers over the cap wait for a returned
// or closed connection, bounded by their context.
type pool struct {
	mu      sync.Mutex
	idle    []*conn // LIFO
	open    int
	waiters []chan *conn // nil sent = "a slot is free, dial"
	closed  bool
}

// get returns an idle connection, or dials a new one within the caps.
func (n *node) get(ctx context.Context) (*conn, error) {
	p := &n.pool
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil, ErrClosed // the node left the cluster
	}
	if k := len(p.idle); k > 0 {
		cn := p.idle[k-1]
		p.idle[k-1] = nil
		p.idle = p.idle[:k-1]
		p.mu.Unlock()
		cn.reused = true
		return cn, nil
	}
	max := n.c.cfg.MaxOpenConns
	if max == 0 || p.open < max {
		p.open++
		p.mu.Unlock()
		return n.dial(ctx)
	}
	ch := make(chan *conn, 1)
	p.waiters = append(p.waiters, ch)
	p.mu.Unlock()
	select {
	case cn := <-ch:
		if cn != nil {
			cn.reused = true
			return cn, nil
		}
		return n.dial(ctx) // the slot was handed over
	case <-ctx.Done():
		p.mu.Lock()
		for i, w := range p.waiters {
			if w == ch {
				p.waiters = append(p.waiters[:i], p.waiters[i+1:]...)
				p.mu.Unlock()
				return nil, ctx.Err()
			}
		}
		p.mu.Unlock()
		// Handed something just now: give it back.
		if cn := <-ch; cn != nil {
			n.put(cn)
		} else {
			n.release()
		}
		return nil, ctx.Err()
	}
}

// dial opens a connection; the caller already holds an open slot.
func (n *node) dial(ctx context.Context) (*conn, error) {
	nc, err := n.c.dialServer(ctx, n.name, n.addr)
	if err != nil {
		n.release()
		return nil, &NodeError{Addr: n.name, Op: "dial", Err: err}
	}
	return newConn(nc, n), nil
}

// put returns a connection after a request: to a waiter, to the idle
// list, or closed when it is bad or the idle list is full.
func (n *node) put(cn *conn) {
	if cn.bad {
		cn.nc.Close()
		n.release()
		return
	}
	p := &n.pool
	p.mu.Lock()
	if !p.closed {
		if len(p.waiters) > 0 {
			w := p.waiters[0]
			p.waiters = p.waiters[1:]
			p.mu.Unlock()
			w <- cn
			return
		}
		if len(p.idle) < n.c.cfg.MaxIdleConns {
			p.idle = append(p.idle, cn)
			p.mu.Unlock()
			return
		}
	}
	p.mu.Unlock()
	cn.nc.Close()
	n.release()
}

// release gives back the open slot of a closed (or never opened)
// connection, handing it to a waiter if there is one.
func (n *node) release() {
	p := &n.pool
	p.mu.Lock()
	if len(p.waiters) > 0 {
		w := p.waiters[0]
		p.waiters = p.waiters[1:]
		p.mu.Unlock()
		w <- nil
		return
	}
	p.open--
	p.mu.Unlock()
}

// drainIdle closes the idle connections (after a failure they are most
// likely broken too).
func (n *node) drainIdle() {
	p := &n.pool
	p.mu.Lock()
	idle := p.idle
	p.idle = nil
	p.open -= len(idle)
	p.mu.Unlock()
	for _, cn := range idle {
		cn.nc.Close()
	}
}

// closePool closes idle connections and makes busy ones close when
// returned.
func (n *node) closePool() {
	n.pool.mu.Lock()
	n.pool.closed = true
	n.pool.mu.Unlock()
	n.drainIdle()
}

// poolStats reports open and idle connections.
func (n *node) poolStats() (open, idle int) {
	n.pool.mu.Lock()
	defer n.pool.mu.Unlock()
	return n.pool.open, len(n.pool.idle)
}
