//go:build interop

package interop

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	gcclient "github.com/gocached/gocached/client"
)

// TestClientTwemproxy: three gocached processes with nutcracker (md5,
// ketama) in front. Keys set through nutcracker are found by the Go
// client directly on the nodes its ring names (and libmemcached names),
// and keys set by the Go client are found through nutcracker.
func TestClientTwemproxy(t *testing.T) {
	cand := candidateBinary(t)
	var lines []nutcrackerLine
	var addrs []string
	for i := 0; i < 3; i++ {
		s := startServer(t, cand, flagsDefault...)
		addrs = append(addrs, s.addr)
		lines = append(lines, nutcrackerLine{addr: s.addr, weight: 1})
	}
	p := startNutcracker(t, lines, 0)
	c, err := gcclient.New(gcclient.Config{Servers: addrs})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	keys := ringKeys(1000)
	setAll(t, p.addr, keys, "via-nutcracker")
	var nodes []gcclient.Node
	for _, a := range addrs {
		nodes = append(nodes, gcclient.Node{Addr: a, Weight: 1})
	}
	lm := libmemcachedMap(t, libmemcachedTool(t), nodes, keys)
	onNode := map[string]map[string]string{}
	for _, a := range addrs {
		onNode[a] = present(t, a, keys)
	}
	for i, k := range keys {
		it, err := c.Get(ctx, k)
		if err != nil || string(it.Value) != "via-nutcracker" {
			t.Fatalf("key %q set through nutcracker: client Get %v %v", k, it, err)
		}
		owner, _ := c.Lookup(k)
		if _, ok := onNode[owner][k]; !ok || owner != lm[i] {
			t.Fatalf("key %q: client ring %s, libmemcached %s, present there %v", k, owner, lm[i], ok)
		}
	}
	// And back: the client's writes are read through nutcracker.
	for _, k := range keys[:300] {
		if err := c.Set(ctx, &gcclient.Item{Key: k, Value: []byte("via-client:" + k)}); err != nil {
			t.Fatal(err)
		}
	}
	back := present(t, p.addr, keys[:300])
	for _, k := range keys[:300] {
		if back[k] != "via-client:"+k {
			t.Fatalf("key %q set by the client reads %q through nutcracker", k, back[k])
		}
	}
	unique := map[string]bool{}
	for _, k := range keys {
		unique[k] = true
	}
	m, err := c.GetMulti(ctx, keys)
	if err != nil || len(m) != len(unique) {
		t.Fatalf("GetMulti: %d of %d, %v", len(m), len(unique), err)
	}
	t.Logf("%d keys agree between nutcracker, libmemcached and the Go client over %s", len(keys), strings.Join(addrs, ", "))
}

// TestClientMemcached runs the client against Debian's memcached 1.6.18:
// the typed results of every operation, and GetOrLoad's stampede
// protection on memcached's own meta leases.
func TestClientMemcached(t *testing.T) {
	for _, b := range []binary{memcachedBinary(t), candidateBinary(t)} {
		t.Run(b.name, func(t *testing.T) {
			s := startServer(t, b, flagsDefault...)
			var clients []*gcclient.Client
			for i := 0; i < 3; i++ {
				c, err := gcclient.New(gcclient.Config{Servers: []string{s.addr}, LoadWait: 5 * time.Second})
				if err != nil {
					t.Fatal(err)
				}
				defer c.Close()
				clients = append(clients, c)
			}
			c := clients[0]
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			expect := func(what string, err, want error) {
				t.Helper()
				if (want == nil && err != nil) || (want != nil && !errors.Is(err, want)) {
					t.Fatalf("%s: %v, want %v", what, err, want)
				}
			}
			it := func(k, v string) *gcclient.Item { return &gcclient.Item{Key: k, Value: []byte(v), Flags: 3} }
			_, err := c.Get(ctx, "x")
			expect("get miss", err, gcclient.ErrCacheMiss)
			expect("set", c.Set(ctx, it("x", "1")), nil)
			expect("add", c.Add(ctx, it("x", "1")), gcclient.ErrNotStored)
			expect("replace", c.Replace(ctx, it("y", "1")), gcclient.ErrNotStored)
			expect("append", c.Append(ctx, it("x", "0")), nil)
			got, err := c.Get(ctx, "x")
			expect("get", err, nil)
			if string(got.Value) != "10" || got.Flags != 3 {
				t.Fatalf("get x: %+v", got)
			}
			stale := *got
			got.Value = []byte("20")
			expect("cas", c.CompareAndSwap(ctx, got), nil)
			expect("cas conflict", c.CompareAndSwap(ctx, &stale), gcclient.ErrCASConflict)
			n, err := c.Increment(ctx, "x", 5)
			expect("incr", err, nil)
			if n != 25 {
				t.Fatalf("incr: %d", n)
			}
			_, err = c.Decrement(ctx, "nope", 1)
			expect("decr miss", err, gcclient.ErrCacheMiss)
			expect("touch", c.Touch(ctx, "x", 100), nil)
			_, err = c.GetAndTouch(ctx, "x", 100)
			expect("gat", err, nil)
			expect("too large", c.Set(ctx, it("big", strings.Repeat("b", 2<<20))), gcclient.ErrServerError)
			expect("delete", c.Delete(ctx, "x"), nil)
			expect("delete miss", c.Delete(ctx, "x"), gcclient.ErrCacheMiss)
			st, err := c.Stats(ctx)
			expect("stats", err, nil)
			if st[s.addr]["version"] == "" {
				t.Fatalf("stats: %v", st)
			}

			// 60 callers over 3 clients, a 200ms loader: one load.
			var calls atomic.Int64
			var wg sync.WaitGroup
			vals := make([]string, 60)
			for i := range vals {
				wg.Add(1)
				go func() {
					defer wg.Done()
					v, err := clients[i%3].GetOrLoad(ctx, "lease", time.Minute, func(context.Context) ([]byte, error) {
						calls.Add(1)
						time.Sleep(200 * time.Millisecond)
						return []byte("loaded"), nil
					})
					if err != nil {
						t.Error(err)
					}
					vals[i] = string(v)
				}()
			}
			wg.Wait()
			if calls.Load() != 1 {
				t.Fatalf("%s: loader ran %d times, want 1", b.name, calls.Load())
			}
			for i, v := range vals {
				if v != "loaded" {
					t.Fatalf("caller %d: %q", i, v)
				}
			}
			expect("invalidate", c.Invalidate(ctx, "lease"), nil)
			v, err := clients[1].GetOrLoad(ctx, "lease", time.Minute, func(context.Context) ([]byte, error) {
				calls.Add(1)
				return []byte("reloaded"), nil
			})
			if err != nil || string(v) != "reloaded" || calls.Load() != 2 {
				t.Fatalf("after invalidate: %q %v (%d loads)", v, err, calls.Load())
			}
			expect("flush_all", c.FlushAll(ctx), nil)
		})
	}
}

// TestClientDiscovery: gocached nodes started with --cluster-config
// @FILE answer "config get cluster" from a shared node file carrying its
// version. A client bootstrapped from one of them uses those nodes,
// follows a new version on Refresh, and when the configuration endpoint
// dies asks the remaining nodes instead.
func TestClientDiscovery(t *testing.T) {
	cand := candidateBinary(t)
	if selfMode() {
		t.Skip("memcached has no config get cluster")
	}
	file := filepath.Join(t.TempDir(), "nodes")
	writeNodes := func(version int, addrs ...string) {
		t.Helper()
		body := strconv.Itoa(version) + "\n" + strings.Join(addrs, " ") + "\n"
		if err := os.WriteFile(file, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		at := time.Now().Add(time.Duration(version) * time.Second) // a new mtime each time
		_ = os.Chtimes(file, at, at)
	}
	writeNodes(1, "127.0.0.1:1")
	flags := append(append([]string{}, flagsDefault...), "--cluster-config", "@"+file)
	var srvs []*server
	var addrs []string
	for i := 0; i < 3; i++ {
		s := startServer(t, cand, flags...)
		srvs = append(srvs, s)
		addrs = append(addrs, s.addr)
	}
	writeNodes(2, addrs[0], addrs[1])
	c, err := gcclient.New(gcclient.Config{ConfigEndpoint: addrs[0], RefreshInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	servers := func() string {
		var got []string
		for _, s := range c.Servers() {
			got = append(got, s.Addr)
		}
		return strings.Join(got, ",")
	}
	if got, want := servers(), strings.Join(sortedCopy(addrs[:2]), ","); got != want {
		t.Fatalf("discovered %s, want %s", got, want)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for i := 0; i < 100; i++ {
		k := "disc:" + strconv.Itoa(i)
		if err := c.Set(ctx, &gcclient.Item{Key: k, Value: []byte(k)}); err != nil {
			t.Fatal(err)
		}
		owner, _ := c.Lookup(k)
		if present(t, owner, []string{k})[k] != k {
			t.Fatalf("key %q not on %s", k, owner)
		}
	}
	writeNodes(3, addrs...)
	if changed, err := c.Refresh(ctx); err != nil || !changed {
		t.Fatalf("refresh to version 3: %v %v", changed, err)
	}
	if got, want := servers(), strings.Join(sortedCopy(addrs), ","); got != want {
		t.Fatalf("after version 3: %s, want %s", got, want)
	}
	// The endpoint node dies and leaves the list: the refresh gets the
	// new list from a remaining node.
	srvs[0].stop()
	writeNodes(4, addrs[1], addrs[2])
	if changed, err := c.Refresh(ctx); err != nil || !changed {
		t.Fatalf("refresh without the endpoint: %v %v", changed, err)
	}
	if got, want := servers(), strings.Join(sortedCopy(addrs[1:]), ","); got != want {
		t.Fatalf("after version 4: %s, want %s", got, want)
	}
}

func sortedCopy(a []string) []string {
	out := append([]string(nil), a...)
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && out[j] < out[j-1]; j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}

// TestClientFailover: three gocached processes under a bounded load; one
// is killed (SIGKILL) and started again on its port. Errors stop once
// the client ejects it; its keys go to the other nodes meanwhile and map
// back to it after it rejoins.
func TestClientFailover(t *testing.T) {
	cand := candidateBinary(t)
	var srvs []*server
	var addrs []string
	for i := 0; i < 3; i++ {
		s := startServer(t, cand, flagsDefault...)
		srvs = append(srvs, s)
		addrs = append(addrs, s.addr)
	}
	c, err := gcclient.New(gcclient.Config{Servers: addrs, FailureLimit: 2, RetryTimeout: 200 * time.Millisecond,
		DialTimeout: 200 * time.Millisecond, ReadTimeout: 500 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	victim := srvs[2]
	var keys, victimKeys []string
	for i := 0; i < 500; i++ {
		k := "failover:" + strconv.Itoa(i)
		keys = append(keys, k)
		if owner, _ := c.Lookup(k); owner == victim.addr {
			victimKeys = append(victimKeys, k)
		}
	}
	ejected := func() bool {
		for _, s := range c.Servers() {
			if s.Addr == victim.addr {
				return s.Ejected
			}
		}
		return false
	}
	var (
		stop      atomic.Bool
		ops       atomic.Int64
		mu        sync.Mutex
		errTimes  []time.Time
		wg        sync.WaitGroup
		ejectedAt atomic.Int64
	)
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			end := time.Now().Add(20 * time.Second)
			for i := w; !stop.Load() && time.Now().Before(end) && ops.Add(1) < 500_000; i += 4 {
				k := keys[i%len(keys)]
				var err error
				if i%3 == 0 {
					err = c.Set(ctx, &gcclient.Item{Key: k, Value: []byte(k)})
				} else if _, err = c.Get(ctx, k); errors.Is(err, gcclient.ErrCacheMiss) {
					err = nil
				}
				if err != nil {
					mu.Lock()
					errTimes = append(errTimes, time.Now())
					mu.Unlock()
				}
			}
		}()
	}
	time.Sleep(200 * time.Millisecond)
	killed := time.Now()
	victim.stop() // SIGKILL
	for !ejected() && time.Since(killed) < 5*time.Second {
		time.Sleep(time.Millisecond)
	}
	if !ejected() {
		stop.Store(true)
		wg.Wait()
		t.Fatal("killed node not ejected within 5s")
	}
	ejectedAt.Store(time.Now().UnixNano())
	time.Sleep(500 * time.Millisecond)
	for _, k := range victimKeys {
		if owner, _ := c.Lookup(k); owner == victim.addr {
			t.Fatalf("key %q still on the killed node", k)
		}
	}
	// Restart on the same port; the client rejoins it after a probe.
	restarted := restartServer(t, cand, victim)
	for ejected() && time.Since(killed) < 10*time.Second {
		time.Sleep(5 * time.Millisecond)
	}
	stop.Store(true)
	wg.Wait()
	if ejected() {
		t.Fatal("restarted node did not rejoin")
	}
	late := 0
	for _, et := range errTimes {
		if et.UnixNano() > ejectedAt.Load()+int64(200*time.Millisecond) {
			late++
		}
	}
	t.Logf("%d ops, %d errors, all but %d before the ejection %v after the kill", ops.Load(), len(errTimes), late,
		time.Unix(0, ejectedAt.Load()).Sub(killed))
	if late > 0 {
		t.Errorf("%d errors after the ejection", late)
	}
	for _, k := range victimKeys {
		if owner, _ := c.Lookup(k); owner != restarted.addr {
			t.Fatalf("key %q maps to %s after the rejoin", k, owner)
		}
	}
	if err := c.Set(ctx, &gcclient.Item{Key: victimKeys[0], Value: []byte("back")}); err != nil {
		t.Fatal(err)
	}
	if present(t, restarted.addr, victimKeys[:1])[victimKeys[0]] != "back" {
		t.Fatal("key not stored on the rejoined node")
	}
}

// restartServer starts b again with old's arguments (same port), once old
// has exited. The port may not be free at once: the test's own client
// sockets may hold it as an ephemeral source port for a moment, or another
// process on the machine may take it while it is unbound. A start that
// exits with "address already in use" is retried, for up to 10s in all.
func restartServer(t *testing.T, b binary, old *server) *server {
	t.Helper()
	old.stop()
	deadline := time.Now().Add(10 * time.Second)
	for {
		s, err := tryRestart(t, b, old, deadline)
		if err == nil {
			return s
		}
		if !strings.Contains(err.Error(), "in use") || time.Now().After(deadline) {
			t.Fatalf("restart on %s: %v", old.addr, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func tryRestart(t *testing.T, b binary, old *server, deadline time.Time) (*server, error) {
	s := &server{name: old.name, addr: old.addr, port: old.port, args: old.args,
		out: &tailBuffer{max: 64 << 10}, done: make(chan struct{})}
	s.cmd = exec.Command(b.path, old.args...)
	s.cmd.Stdout, s.cmd.Stderr = s.out, s.out
	s.cmd.SysProcAttr = childAttr()
	if err := s.cmd.Start(); err != nil {
		return nil, err
	}
	go func() { s.err = s.cmd.Wait(); close(s.done) }()
	t.Cleanup(s.stop)
	for {
		select {
		case <-s.done:
			return nil, fmt.Errorf("exited (%v): %s", s.err, s.out.String())
		default:
		}
		if c, err := net.DialTimeout("tcp", s.addr, 200*time.Millisecond); err == nil {
			c.Close()
			// Whoever answered, it is ours only if it is still running
			// (a server that lost the port exits at once).
			select {
			case <-s.done:
				return nil, fmt.Errorf("exited (%v): %s", s.err, s.out.String())
			case <-time.After(50 * time.Millisecond):
			}
			return s, nil
		}
		if time.Now().After(deadline) {
			s.stop()
			return nil, fmt.Errorf("not accepting after 10s: %s", s.out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}
