package client

import (
	"context"
	"errors"
	"math/rand/v2"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestFailover: three servers under a bounded load; one is stopped. The
// callers see errors only until the node is ejected (FailureLimit
// failures), then misses and hits on the other nodes; the node's keys move
// to the next nodes on the ring. When it is started again it rejoins
// after a probe and its keys map back to it.
func TestFailover(t *testing.T) {
	nodes := startNodes(t, 3)
	addrs := addrsOf(nodes)
	c := newClient(t, Config{Servers: addrs, FailureLimit: 2, RetryTimeout: 150 * time.Millisecond,
		ReadTimeout: 3 * time.Second, DialTimeout: time.Second})
	ctx := ctxT(t)
	victim := nodes[1]
	var keys, victimKeys []string
	for i := 0; i < 600; i++ {
		k := "fo:" + strconv.Itoa(i)
		keys = append(keys, k)
		if a, _ := c.Lookup(k); a == victim.addr {
			victimKeys = append(victimKeys, k)
		}
		if err := c.Set(ctx, &Item{Key: k, Value: []byte(k)}); err != nil {
			t.Fatal(err)
		}
	}
	if len(victimKeys) == 0 {
		t.Fatal("no key on the victim")
	}

	// Load: 4 workers, each op a get or set of a random key, for at most
	// 3 s and 200k ops in all.
	var (
		stopLoad  atomic.Bool
		ops, errs atomic.Int64
		mu        sync.Mutex
		errTimes  []time.Time
		wg        sync.WaitGroup
	)
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(w), 1))
			deadline := time.Now().Add(3 * time.Second)
			for !stopLoad.Load() && time.Now().Before(deadline) && ops.Add(1) < 200_000 {
				k := keys[r.IntN(len(keys))]
				var err error
				if r.IntN(4) == 0 {
					err = c.Set(ctx, &Item{Key: k, Value: []byte(k)})
				} else if _, err = c.Get(ctx, k); errors.Is(err, ErrCacheMiss) {
					err = nil
				}
				if err != nil {
					errs.Add(1)
					mu.Lock()
					errTimes = append(errTimes, time.Now())
					mu.Unlock()
					if !errors.Is(err, ErrServerDown) {
						t.Errorf("unexpected error: %v", err)
					}
				}
			}
		}()
	}
	time.Sleep(100 * time.Millisecond)
	victim.stop()
	stopped := time.Now()
	// Wait for the ejection.
	var ejectedAt time.Time
	for time.Since(stopped) < 2*time.Second {
		if serverStatus(c, victim.addr).Ejected {
			ejectedAt = time.Now()
			break
		}
		time.Sleep(time.Millisecond)
	}
	if ejectedAt.IsZero() {
		stopLoad.Store(true)
		wg.Wait()
		t.Fatalf("victim not ejected within 2s (errors so far %d)", errs.Load())
	}
	time.Sleep(300 * time.Millisecond) // load keeps running on the two others
	errsAtEject := len(errTimesSnapshot(&mu, &errTimes))
	stopLoad.Store(true)
	wg.Wait()
	late := 0
	var last time.Duration
	for _, et := range errTimes {
		// An op that was already on its way when the node was ejected
		// may still fail a moment later.
		if et.After(ejectedAt.Add(200 * time.Millisecond)) {
			late++
		}
		last = max(last, et.Sub(stopped))
	}
	t.Logf("%d ops, %d errors (the last %v after the stop), ejected %v after the stop",
		ops.Load(), errs.Load(), last, ejectedAt.Sub(stopped))
	if late > 0 {
		t.Errorf("%d errors after the ejection", late)
	}
	if errsAtEject > 16 {
		t.Errorf("%d errors before ejection; want a handful (failure limit 2, 4 workers)", errsAtEject)
	}
	// The victim's keys now live on the next nodes: misses, then sets work.
	for _, k := range victimKeys {
		a, err := c.Lookup(k)
		if err != nil || a == victim.addr {
			t.Fatalf("key %q still maps to %s (%v)", k, a, err)
		}
	}
	if err := c.Set(ctx, &Item{Key: victimKeys[0], Value: []byte("moved")}); err != nil {
		t.Fatalf("set of a moved key: %v", err)
	}
	// The probe keeps failing while it is down.
	time.Sleep(400 * time.Millisecond)
	if !serverStatus(c, victim.addr).Ejected {
		t.Fatal("victim rejoined while down")
	}

	// Restart: it rejoins, and its keys map back to it.
	victim.restart()
	deadline := time.Now().Add(3 * time.Second)
	for serverStatus(c, victim.addr).Ejected {
		if time.Now().After(deadline) {
			t.Fatal("victim did not rejoin within 3s of its restart")
		}
		time.Sleep(5 * time.Millisecond)
	}
	for _, k := range victimKeys {
		if a, _ := c.Lookup(k); a != victim.addr {
			t.Fatalf("key %q maps to %s after rejoin, want %s", k, a, victim.addr)
		}
	}
	if err := c.Set(ctx, &Item{Key: victimKeys[0], Value: []byte("back")}); err != nil {
		t.Fatalf("set after rejoin: %v", err)
	}
	if v, ok := rawGet(t, victim.addr, victimKeys[0]); !ok || v != "back" {
		t.Fatalf("key not on the rejoined node: %q %v", v, ok)
	}
}

func errTimesSnapshot(mu *sync.Mutex, ts *[]time.Time) []time.Time {
	mu.Lock()
	defer mu.Unlock()
	return append([]time.Time(nil), *ts...)
}

func serverStatus(c *Client, addr string) ServerStatus {
	for _, s := range c.Servers() {
		if s.Addr == addr {
			return s
		}
	}
	return ServerStatus{}
}

// TestNoEjectBelowLimit: a failure limit of 3 keeps a server on the ring
// after two failures, and a success resets the count.
func TestNoEjectBelowLimit(t *testing.T) {
	dead := deadAddr(t)
	c := newClient(t, Config{Servers: []string{dead}, FailureLimit: 3, DialTimeout: 100 * time.Millisecond})
	ctx := ctxT(t)
	for i := 0; i < 2; i++ {
		if _, err := c.Get(ctx, "k"); !errors.Is(err, ErrServerDown) {
			t.Fatalf("get from a dead server: %v", err)
		}
	}
	if s := serverStatus(c, dead); s.Ejected || s.Failures != 2 {
		t.Fatalf("after 2 failures: %+v", s)
	}
	if _, err := c.Get(ctx, "k"); !errors.Is(err, ErrServerDown) {
		t.Fatalf("third get: %v", err)
	}
	if s := serverStatus(c, dead); !s.Ejected {
		t.Fatalf("after 3 failures: %+v", s)
	}
	if _, err := c.Get(ctx, "k"); !errors.Is(err, ErrNoServers) {
		t.Fatalf("get with every server ejected: %v", err)
	}
}

// deadAddr is a loopback address where nothing listens.
func deadAddr(t testing.TB) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	a := l.Addr().String()
	l.Close()
	return a
}

// silentServer accepts connections and reads but never answers.
func silentServer(t testing.TB) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var conns []net.Conn
	var mu sync.Mutex
	go func() {
		for {
			nc, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, nc)
			mu.Unlock()
			go func() {
				buf := make([]byte, 1024)
				for {
					if _, err := nc.Read(buf); err != nil {
						return
					}
				}
			}()
		}
	}()
	t.Cleanup(func() {
		l.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
	})
	return l.Addr().String()
}

// TestTimeoutsAndCancel: a caller's deadline or cancellation ends a
// request at once and is not held against the server; the client's own
// read timeout is a server failure.
func TestTimeoutsAndCancel(t *testing.T) {
	addr := silentServer(t)
	c := newClient(t, Config{Servers: []string{addr}, ReadTimeout: 150 * time.Millisecond, FailureLimit: 5})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := c.Get(ctx, "k")
	if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > time.Second {
		t.Fatalf("ctx deadline: %v after %v", err, time.Since(start))
	}
	ctx2, cancel2 := context.WithCancel(context.Background())
	time.AfterFunc(20*time.Millisecond, cancel2)
	if _, err := c.Get(ctx2, "k"); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancel: %v", err)
	}
	if s := serverStatus(c, addr); s.Failures != 0 {
		t.Fatalf("caller's deadline counted as a server failure: %+v", s)
	}
	start = time.Now()
	_, err = c.Get(context.Background(), "k")
	var ne *NodeError
	if !errors.As(err, &ne) || !isTimeout(err) || time.Since(start) > 2*time.Second {
		t.Fatalf("read timeout: %v after %v", err, time.Since(start))
	}
	if s := serverStatus(c, addr); s.Failures != 1 {
		t.Fatalf("read timeout not counted: %+v", s)
	}
}

// TestPoolLimits: MaxOpenConns caps connections under concurrency, the
// idle list keeps MaxIdleConns, and every request still succeeds.
func TestPoolLimits(t *testing.T) {
	n := startNode(t)
	c := newClient(t, Config{Servers: []string{n.addr}, MaxOpenConns: 2, MaxIdleConns: 1})
	ctx := ctxT(t)
	if err := c.Set(ctx, &Item{Key: "p", Value: []byte("v")}); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var maxOpen atomic.Int64
	for g := 0; g < 16; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 200; i++ {
				if _, err := c.Get(ctx, "p"); err != nil {
					t.Error(err)
					return
				}
				if o := int64(serverStatus(c, n.addr).Open); o > maxOpen.Load() {
					maxOpen.Store(o)
				}
			}
		}()
	}
	wg.Wait()
	s := serverStatus(c, n.addr)
	if maxOpen.Load() > 2 || s.Idle > 1 || s.Open > 2 {
		t.Fatalf("max open seen %d, now %+v", maxOpen.Load(), s)
	}
	// A waiter gives up with its context.
	c2 := newClient(t, Config{Servers: []string{silentServer(t)}, MaxOpenConns: 1, ReadTimeout: time.Second})
	go func() { _, _ = c2.Get(context.Background(), "busy") }()
	time.Sleep(50 * time.Millisecond)
	wctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := c2.Get(wctx, "k"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("waiting for a connection: %v", err)
	}
}

// TestStaleIdleConnRetried: after a server restart the idle connections
// are dead; the next request is retried on a fresh one without an error
// or a failure count.
func TestStaleIdleConnRetried(t *testing.T) {
	n := startNode(t)
	c := newClient(t, Config{Servers: []string{n.addr}})
	ctx := ctxT(t)
	if err := c.Set(ctx, &Item{Key: "k", Value: []byte("v")}); err != nil {
		t.Fatal(err)
	}
	n.stop()
	n.restart()
	if _, err := c.Get(ctx, "k"); !errors.Is(err, ErrCacheMiss) {
		t.Fatalf("get after restart: %v", err)
	}
	if s := serverStatus(c, n.addr); s.Failures != 0 {
		t.Fatalf("stale connection counted as failure: %+v", s)
	}
}
