//go:build interop

package interop

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	gcclient "github.com/gocached/gocached/client"
	gcserver "github.com/gocached/gocached/server"
)

// Helpers that ask the real tools where keys live: libmemcached 1.1.4
// through client/testdata/gen/libmemcached_ring.c, and nutcracker 0.5.0
// running in front of one backend per node.

// ringKeys returns the deterministic key set of the ring vectors: plain
// "key:N" names, libmemcached's wrap-around key, and seeded random keys
// of every printable non-space byte, 1 to 250 bytes long.
func ringKeys(n int) []string {
	keys := []string{"VDEAAAAA", "foo", "bar", "a", strings.Repeat("k", 250)}
	for i := 0; len(keys) < n/2; i++ {
		keys = append(keys, "key:"+strconv.Itoa(i))
	}
	r := rand.New(rand.NewPCG(5, 11211))
	for len(keys) < n {
		l := 1 + r.IntN(24)
		if r.IntN(20) == 0 {
			l = 1 + r.IntN(250)
		}
		b := make([]byte, l)
		for i := range b {
			b[i] = byte('!' + r.IntN('~'-'!'+1))
		}
		keys = append(keys, string(b))
	}
	return keys
}

// libmemcachedTool compiles the libmemcached ring program once per test
// binary into a temporary directory.
func libmemcachedTool(t *testing.T) string {
	t.Helper()
	gcc, err := exec.LookPath("gcc")
	if err != nil {
		t.Fatal("gcc not on PATH: ", err)
	}
	if _, err := os.Stat("/usr/include/libmemcached-1.0/memcached.h"); err != nil {
		t.Fatal("libmemcached-dev is not installed (scripts/interop.sh installs it)")
	}
	src, err := filepath.Abs("../client/testdata/gen/libmemcached_ring.c")
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(t.TempDir(), "libmemcached_ring")
	out, err := exec.Command(gcc, "-O2", "-Wall", "-o", bin, src, "-lmemcached").CombinedOutput()
	if err != nil {
		t.Fatalf("gcc %s: %v\n%s", src, err, out)
	}
	return bin
}

// libmemcachedMap runs the compiled tool over keys and returns the
// server of each key.
func libmemcachedMap(t *testing.T, tool string, nodes []gcclient.Node, keys []string) []string {
	t.Helper()
	var args []string
	for _, n := range nodes {
		args = append(args, n.Addr+":"+strconv.Itoa(n.Weight))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, tool, args...)
	cmd.Stdin = strings.NewReader(strings.Join(keys, "\n") + "\n")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", tool, strings.Join(args, " "), err, stderr.String())
	}
	got := make([]string, 0, len(keys))
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 4096), 1<<20)
	for sc.Scan() {
		f := strings.Split(sc.Text(), "\t")
		if len(f) != 3 {
			t.Fatalf("libmemcached_ring printed %q", sc.Text())
		}
		if f[0] != keys[len(got)] {
			t.Fatalf("libmemcached_ring answered key %q for %q", f[0], keys[len(got)])
		}
		got = append(got, f[1])
	}
	if len(got) != len(keys) {
		t.Fatalf("libmemcached_ring answered %d of %d keys", len(got), len(keys))
	}
	return got
}

// backend is a node's listening address for nutcracker to forward to.
type backend struct {
	addr string // 127.0.0.1:port
	stop func()
}

// inProcessBackends starts n small gocached servers in this process on
// free loopback ports.
func inProcessBackends(t *testing.T, n int) []backend {
	t.Helper()
	out := make([]backend, n)
	for i := range out {
		out[i] = *inProcessBackendAt(t, -1)
	}
	return out
}

// inProcessBackendAt starts a small gocached server in this process on
// 127.0.0.1:port (-1: any free port), stopped at test end.
func inProcessBackendAt(t *testing.T, port int) *backend {
	t.Helper()
	cfg := gcserver.DefaultConfig()
	cfg.Port = port
	cfg.Listen = []string{"127.0.0.1"}
	cfg.MemoryLimitMB = 8
	cfg.Threads = 1
	s, err := gcserver.New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Listen(); err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	stop := func() {
		once.Do(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_ = s.Shutdown(ctx)
		})
	}
	t.Cleanup(stop)
	return &backend{addr: s.Addrs()[0].String(), stop: stop}
}

func netListen(addr string) (net.Listener, error) { return net.Listen("tcp", addr) }

// proxy is a running nutcracker.
type proxy struct {
	addr string
	cmd  *exec.Cmd
	done chan struct{}
	log  string
}

// nutcrackerLine is one entry of a nutcracker servers list.
type nutcrackerLine struct {
	addr   string // where nutcracker connects
	weight int
	name   string // optional node name: the ring hashes it instead of addr
}

// startNutcracker runs nutcracker with an md5/ketama pool over servers,
// on free loopback ports, and stops it at test end.
func startNutcracker(t *testing.T, servers []nutcrackerLine, ejectAfter int) *proxy {
	t.Helper()
	bin, err := exec.LookPath("nutcracker")
	if err != nil {
		t.Fatal("nutcracker not on PATH (scripts/interop.sh installs it): ", err)
	}
	dir := t.TempDir()
	listen, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	stats, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	var y strings.Builder
	fmt.Fprintf(&y, "gocached:\n  listen: 127.0.0.1:%d\n  hash: md5\n  distribution: ketama\n  timeout: 2000\n  preconnect: false\n", listen)
	if ejectAfter > 0 {
		fmt.Fprintf(&y, "  auto_eject_hosts: true\n  server_failure_limit: %d\n  server_retry_timeout: 500\n", ejectAfter)
	} else {
		y.WriteString("  auto_eject_hosts: false\n")
	}
	y.WriteString("  servers:\n")
	for _, s := range servers {
		fmt.Fprintf(&y, "   - %s:%d", s.addr, s.weight)
		if s.name != "" {
			fmt.Fprintf(&y, " %s", s.name)
		}
		y.WriteString("\n")
	}
	conf := filepath.Join(dir, "nc.yml")
	if err := os.WriteFile(conf, []byte(y.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	p := &proxy{addr: "127.0.0.1:" + strconv.Itoa(listen), done: make(chan struct{}), log: filepath.Join(dir, "nc.log")}
	p.cmd = exec.Command(bin, "-c", conf, "-s", strconv.Itoa(stats), "-a", "127.0.0.1",
		"-o", p.log, "-p", filepath.Join(dir, "nc.pid"))
	p.cmd.SysProcAttr = childAttr()
	out := &tailBuffer{max: 16 << 10}
	p.cmd.Stdout, p.cmd.Stderr = out, out
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		_ = p.cmd.Process.Kill()
		select {
		case <-p.done:
		case <-time.After(5 * time.Second):
		}
	})
	deadline := time.Now().Add(10 * time.Second)
	for {
		select {
		case <-p.done:
			logb, _ := os.ReadFile(p.log)
			t.Fatalf("nutcracker exited: %s\nconfig:\n%s\nlog:\n%s", out.String(), y.String(), logb)
		default:
		}
		c, err := net.DialTimeout("tcp", p.addr, 200*time.Millisecond)
		if err == nil {
			c.Close()
			return p
		}
		if time.Now().After(deadline) {
			t.Fatalf("nutcracker not accepting on %s: %v", p.addr, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// setAll stores value under every key through the connection at addr,
// pipelined, and fails unless every reply is STORED.
func setAll(t *testing.T, addr string, keys []string, value string) {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(30 * time.Second))
	werr := make(chan error, 1)
	go func() {
		w := bufio.NewWriter(c)
		for _, k := range keys {
			fmt.Fprintf(w, "set %s 0 0 %d\r\n%s\r\n", k, len(value), value)
		}
		werr <- w.Flush()
	}()
	r := bufio.NewReader(c)
	for i := range keys {
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("set %q via %s: %v", keys[i], addr, err)
		}
		if line != "STORED\r\n" {
			t.Fatalf("set %q via %s: %q", keys[i], addr, line)
		}
	}
	if err := <-werr; err != nil {
		t.Fatal(err)
	}
}

// present returns the keys of keys that the server at addr holds, with
// their values, asking with multi-gets of 100 keys.
func present(t *testing.T, addr string, keys []string) map[string]string {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(30 * time.Second))
	r := bufio.NewReader(c)
	got := map[string]string{}
	for i := 0; i < len(keys); i += 100 {
		chunk := keys[i:min(i+100, len(keys))]
		if _, err := fmt.Fprintf(c, "get %s\r\n", strings.Join(chunk, " ")); err != nil {
			t.Fatal(err)
		}
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				t.Fatalf("get from %s: %v", addr, err)
			}
			if line == "END\r\n" {
				break
			}
			f := strings.Fields(line)
			if len(f) != 4 || f[0] != "VALUE" {
				t.Fatalf("get from %s: %q", addr, line)
			}
			n, _ := strconv.Atoi(f[3])
			data := make([]byte, n+2)
			if _, err := io.ReadFull(r, data); err != nil {
				t.Fatal(err)
			}
			got[f[1]] = string(data[:n])
		}
	}
	return got
}

// nutcrackerMap sends every key through a nutcracker whose ring hashes
// the nodes' names, with one in-process backend per node, and returns the
// node each key arrived at.
func nutcrackerMap(t *testing.T, nodes []gcclient.Node, keys []string) []string {
	t.Helper()
	backs := inProcessBackends(t, len(nodes))
	lines := make([]nutcrackerLine, len(nodes))
	for i, n := range nodes {
		lines[i] = nutcrackerLine{addr: backs[i].addr, weight: n.Weight, name: ringName(n.Addr)}
	}
	p := startNutcracker(t, lines, 0)
	setAll(t, p.addr, keys, "x")
	owner := make(map[string]string, len(keys))
	for i, b := range backs {
		for k := range present(t, b.addr, keys) {
			if prev, dup := owner[k]; dup {
				t.Fatalf("key %q on both %s and %s", k, prev, nodes[i].Addr)
			}
			owner[k] = nodes[i].Addr
		}
	}
	out := make([]string, len(keys))
	for i, k := range keys {
		if owner[k] == "" {
			t.Fatalf("key %q set through nutcracker is on no backend", k)
		}
		out[i] = owner[k]
	}
	for _, b := range backs {
		b.stop()
	}
	return out
}

// ringName is the node name that makes nutcracker hash a node as
// libmemcached hashes host:port (host alone on 11211).
func ringName(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil || port == "11211" {
		return host
	}
	return addr
}
