package client

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// Client talks to a set of memcached-compatible servers. It is safe for
// concurrent use; make one and share it.
type Client struct {
	cfg   Config
	state atomic.Pointer[ringState]
	near  *nearCache // nil when off

	mu      sync.Mutex // serialises changes of state
	wake    chan struct{}
	done    chan struct{}
	wg      sync.WaitGroup
	closing atomic.Bool

	loads loadGroup // in-process coalescing of GetOrLoad
}

// ringState is an immutable snapshot of the servers and the ring over
// the live ones.
type ringState struct {
	nodes   []*node // every server, in configured order
	live    []*node // the ring's nodes: those not ejected
	picker  Picker  // over live
	version uint64  // cluster config version (auto discovery)
}

// New returns a client for cfg. With ConfigEndpoint set, it asks the
// endpoint for the server list first (bounded by the dial and read
// timeouts) and fails if that fails.
func New(cfg Config) (*Client, error) {
	full, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	c := &Client{cfg: full, wake: make(chan struct{}, 1), done: make(chan struct{})}
	if full.NearCache != nil {
		if c.near, err = newNearCache(*full.NearCache); err != nil {
			return nil, err
		}
	}
	nodes := full.nodes()
	addrs := staticAddrs(nodes)
	var version uint64
	if full.ConfigEndpoint != "" {
		ctx, cancel := context.WithTimeout(context.Background(), full.DialTimeout+full.ReadTimeout+full.WriteTimeout)
		cl, err := c.fetchClusterConfig(ctx, full.ConfigEndpoint, full.ConfigEndpoint)
		cancel()
		if err != nil {
			c.closeNear()
			return nil, err
		}
		nodes, addrs, version = cl.nodes(), cl.dialAddrs(), cl.Version
	}
	c.setNodes(nodes, addrs, version)
	c.wg.Add(1)
	go c.prober()
	if full.ConfigEndpoint != "" {
		c.startRefresh()
	}
	return c, nil
}

// Close closes idle connections, stops background work and makes later
// calls fail with ErrClosed. Requests in flight finish.
func (c *Client) Close() error {
	if c.closing.Swap(true) {
		return nil
	}
	close(c.done)
	c.wg.Wait()
	c.mu.Lock()
	st := c.state.Load()
	c.state.Store(&ringState{picker: NewKetama(nil)})
	c.mu.Unlock()
	for _, n := range st.nodes {
		n.closePool()
	}
	c.closeNear()
	return nil
}

func (c *Client) closeNear() {
	if c.near != nil {
		c.near.close()
	}
}

// setNodes installs a new server list, keeping the pools and health of
// servers already known by name and dial address.
func (c *Client) setNodes(list []Node, addrs []string, version uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	old := c.state.Load()
	known := map[string]*node{}
	if old != nil {
		for _, n := range old.nodes {
			known[n.name+"\x00"+n.addr] = n
		}
	}
	st := &ringState{version: version}
	for i, nd := range list {
		addr := addrs[i]
		if n, ok := known[nd.Addr+"\x00"+addr]; ok && n.weight == nd.Weight {
			delete(known, nd.Addr+"\x00"+addr)
			st.nodes = append(st.nodes, n)
			continue
		}
		st.nodes = append(st.nodes, &node{c: c, name: nd.Addr, addr: addr, weight: nd.Weight})
	}
	c.install(st)
	for _, n := range known {
		n.closePool()
	}
}

// install builds the ring over st's live nodes and publishes st. c.mu is
// held.
func (c *Client) install(st *ringState) {
	st.live = st.live[:0]
	var ring []Node
	for _, n := range st.nodes {
		if !n.ejected.Load() {
			st.live = append(st.live, n)
			ring = append(ring, Node{Addr: n.name, Weight: n.weight})
		}
	}
	st.picker = NewPicker(c.cfg.Distribution, ring)
	c.state.Store(st)
}

// rebuild recomputes the ring after an ejection or a rejoin.
func (c *Client) rebuild() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closing.Load() {
		return
	}
	old := c.state.Load()
	c.install(&ringState{nodes: old.nodes, version: old.version})
}

// eject takes n out of the ring until a probe after RetryTimeout finds
// it answering.
func (c *Client) eject(n *node) {
	if !n.ejected.CompareAndSwap(false, true) {
		return
	}
	n.retryAt.Store(time.Now().Add(c.cfg.RetryTimeout).UnixNano())
	c.rebuild()
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// prober probes ejected nodes when their retry time comes and puts the
// ones that answer back on the ring.
func (c *Client) prober() {
	defer c.wg.Done()
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		var next time.Time
		for _, n := range c.state.Load().nodes {
			if n.ejected.Load() && (next.IsZero() || n.nextProbe().Before(next)) {
				next = n.nextProbe()
			}
		}
		wait := time.Hour
		if !next.IsZero() {
			wait = max(time.Until(next), 0)
		}
		timer.Reset(wait)
		select {
		case <-c.done:
			return
		case <-c.wake:
			continue
		case <-timer.C:
		}
		for _, n := range c.state.Load().nodes {
			if !n.ejected.Load() || time.Now().Before(n.nextProbe()) {
				continue
			}
			ctx, cancel := context.WithTimeout(context.Background(), c.cfg.DialTimeout+c.cfg.ReadTimeout)
			err := n.probe(ctx)
			cancel()
			if err != nil {
				n.retryAt.Store(time.Now().Add(c.cfg.RetryTimeout).UnixNano())
				continue
			}
			n.failures.Store(0)
			n.ejected.Store(false)
			c.rebuild()
		}
	}
}

// pick returns the node that owns key.
func (c *Client) pick(key string) (*node, error) {
	st := c.state.Load()
	i := st.picker.Pick(key)
	if i < 0 {
		if c.closing.Load() {
			return nil, ErrClosed
		}
		return nil, ErrNoServers
	}
	return st.live[i], nil
}

// Servers reports each configured server and whether it is on the ring.
func (c *Client) Servers() []ServerStatus {
	st := c.state.Load()
	onRing := make(map[*node]bool, len(st.live))
	for _, n := range st.live {
		onRing[n] = true
	}
	out := make([]ServerStatus, len(st.nodes))
	for i, n := range st.nodes {
		open, idle := n.poolStats()
		out[i] = ServerStatus{Addr: n.name, DialAddr: n.addr, Weight: n.weight, Ejected: !onRing[n],
			Failures: int(n.failures.Load()), Open: open, Idle: idle}
	}
	return out
}

// ServerStatus describes one server of the client.
type ServerStatus struct {
	Addr     string // name on the ring
	DialAddr string // where it is dialled
	Weight   int
	Ejected  bool // out of the ring (as of the ring Lookup uses) until it answers a probe
	Failures int  // consecutive failures
	Open     int  // open connections
	Idle     int  // idle connections
}

// Lookup returns the server a key belongs to now.
func (c *Client) Lookup(key string) (string, error) {
	if !ValidKey(key) {
		return "", ErrBadKey
	}
	n, err := c.pick(key)
	if err != nil {
		return "", err
	}
	return n.name, nil
}

// withKey runs op on the node owning key. When the request fails because
// its node is down and that failure (or another) has ejected the node,
// it is run once more on the key's new node, if retrying is safe: always
// for idempotent requests, and otherwise only when nothing was sent.
func (c *Client) withKey(ctx context.Context, key string, idempotent bool, op func(cn *conn) error) error {
	if !ValidKey(key) {
		return ErrBadKey
	}
	var first error
	for try := 0; ; try++ {
		n, err := c.pick(key)
		if err != nil {
			if first != nil {
				return first // every node is out: the failure says why
			}
			return err
		}
		err = n.exec(ctx, idempotent, op)
		if err == nil || try > 0 || ctx.Err() != nil || !n.ejected.Load() {
			return err
		}
		ne, ok := err.(*NodeError)
		if !ok || !(idempotent || ne.Op == "dial") {
			return err
		}
		first = err
	}
}
