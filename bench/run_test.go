package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gocached/gocached/internal/servertest"
	"github.com/gocached/gocached/server"
)

// startServer runs an in-process gocached on a loopback port.
func startServer(t *testing.T, memMB int) string {
	return servertest.Addr(servertest.Start(t, func(c *server.Config) { c.MemoryLimitMB = memMB }))
}

func small() Workload {
	w := DefaultWorkload()
	w.Conns = 4
	w.Keys = 500
	w.Duration = 0
	w.Ops = 2000
	w.Rounds = 2
	w.Timeout = 5 * time.Second
	return w
}

// The same workload against two servers in alternating rounds: each
// server gets its op budget, every round, and the ratios.
func TestCompareTwoServers(t *testing.T) {
	a, b := startServer(t, 16), startServer(t, 16)
	for _, proto := range []string{"text", "meta"} {
		t.Run(proto, func(t *testing.T) {
			w := small()
			w.Protocol = proto
			w.Prefill = true
			w.Verify = true
			w.KeyPrefix = proto + ":"
			w.MultiGet = 3
			w.Pipeline = 4
			rep, err := Run(context.Background(), Options{Workload: w, Targets: []Target{{Name: "a", Addr: a}, {Name: "b", Addr: b}}})
			if err != nil {
				t.Fatal(err)
			}
			if len(rep.Servers) != 2 || rep.Ratios == nil {
				t.Fatalf("want two results and ratios, got %d, %v", len(rep.Servers), rep.Ratios)
			}
			for _, r := range rep.Servers {
				if r.Ops != uint64(w.Ops) || r.Gets+r.Sets != r.Ops {
					t.Errorf("%s: %d ops (%d gets, %d sets), want %d", r.Name, r.Ops, r.Gets, r.Sets, w.Ops)
				}
				if r.ErrorCount != 0 || r.BadValues != 0 {
					t.Errorf("%s: errors %v, bad values %d", r.Name, r.Errors, r.BadValues)
				}
				if r.HitRatio != 1 || r.KeysRequested != 3*r.Gets {
					t.Errorf("%s: hit ratio %v over %d keys for %d gets; prefilled, every key should hit", r.Name, r.HitRatio, r.KeysRequested, r.Gets)
				}
				if len(r.Rounds) != 2 || r.Rounds[0].Ops+r.Rounds[1].Ops != r.Ops {
					t.Errorf("%s: rounds %+v", r.Name, r.Rounds)
				}
				if r.Prefill == nil || r.Prefill.Items != w.Keys || len(r.Prefill.Errors) != 0 {
					t.Errorf("%s: prefill %+v", r.Name, r.Prefill)
				}
				if r.Latency.P50 <= 0 || r.Latency.P50 > r.Latency.P99 || r.Latency.P99 > r.Latency.Max {
					t.Errorf("%s: latencies out of order %+v", r.Name, r.Latency)
				}
				// Both servers live in this process: its pid is found
				// from the port.
				if r.PID != os.Getpid() || r.Server.RSSEnd <= 0 {
					t.Errorf("%s: pid %d rss %d (error %q)", r.Name, r.PID, r.Server.RSSEnd, r.Server.Error)
				}
			}
			if g := rep.Servers[0].Gets + rep.Servers[1].Gets; g == 0 {
				t.Fatal("no gets")
			}
		})
	}
}

// Verify catches a value that is not the one the workload set.
func TestVerifyCountsWrongValues(t *testing.T) {
	addr := startServer(t, 16)
	w := small()
	w.Prefill = true
	w.Verify = true
	w.Keys = 100
	w.Gets, w.Sets = 1, 0
	w.Dist = "seq"
	w.Ops = 100
	w.Rounds = 1
	// Prefill first, then overwrite three keys behind the tool's back.
	pre := w
	pre.Ops = 0
	if _, err := Run(context.Background(), Options{Workload: pre, Targets: []Target{{Addr: addr}}}); err != nil {
		t.Fatal(err)
	}
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	for _, k := range []int{3, 50, 99} {
		fmt.Fprintf(nc, "set %s%d 0 0 5 noreply\r\nWRONG\r\n", w.KeyPrefix, k)
	}
	fmt.Fprintf(nc, "delete %s7\r\n", w.KeyPrefix)
	buf := make([]byte, 64)
	if n, err := nc.Read(buf); err != nil || string(buf[:n]) != "DELETED\r\n" {
		t.Fatalf("delete: %q %v", buf[:n], err)
	}
	w.Prefill = false
	rep, err := Run(context.Background(), Options{Workload: w, Targets: []Target{{Addr: addr}}})
	if err != nil {
		t.Fatal(err)
	}
	r := rep.Servers[0]
	if r.Hits != 99 || r.BadValues != 3 || r.KeysRequested != 100 {
		t.Fatalf("hits %d bad %d requested %d; want 99, 3, 100", r.Hits, r.BadValues, r.KeysRequested)
	}
}

// Binary against a fake binary server; a server that does not answer a
// binary probe is reported as not speaking it, not as a failure.
func TestBinaryProtocolAndUnsupported(t *testing.T) {
	fake := fakeBinary(t)
	w := small()
	w.Protocol = "binary"
	w.Prefill = true
	w.Verify = true
	w.MultiGet = 5
	w.Rounds = 1
	rep, err := Run(context.Background(), Options{Workload: w, Targets: []Target{{Name: "fake", Addr: fake}}})
	if err != nil {
		t.Fatal(err)
	}
	r := rep.Servers[0]
	if r.Unsupported != "" || r.ErrorCount != 0 || r.BadValues != 0 || r.HitRatio != 1 || r.Ops != uint64(w.Ops) {
		t.Fatalf("binary run: %+v", r)
	}
	// A plain TCP server that closes at once: the probe fails.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			nc, err := l.Accept()
			if err != nil {
				return
			}
			nc.Close()
		}
	}()
	rep, err = Run(context.Background(), Options{Workload: w, Targets: []Target{{Name: "fake", Addr: fake}, {Name: "mute", Addr: l.Addr().String()}}})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Servers[1].Unsupported == "" || rep.Ratios != nil || rep.Servers[0].Ops != uint64(w.Ops) {
		t.Fatalf("mute server: unsupported %q, ratios %v", rep.Servers[1].Unsupported, rep.Ratios)
	}
}

// Cache-aside over a Zipf key space: misses become sets, and the hit
// ratio climbs above what reads alone would give (zero).
func TestSetOnMiss(t *testing.T) {
	addr := startServer(t, 16)
	w := small()
	w.Gets, w.Sets = 1, 0
	w.Dist, w.ZipfS = "zipf", 1.2
	w.Keys = 10_000
	w.SetOnMiss = true
	w.Ops = 5000
	rep, err := Run(context.Background(), Options{Workload: w, Targets: []Target{{Addr: addr}}})
	if err != nil {
		t.Fatal(err)
	}
	r := rep.Servers[0]
	if r.Sets == 0 || r.HitRatio < 0.3 || r.Gets+r.Sets != uint64(w.Ops) {
		t.Fatalf("gets %d sets %d hit ratio %v", r.Gets, r.Sets, r.HitRatio)
	}
	// Every set follows a miss; the last misses of each connection may
	// not get theirs before the budget runs out.
	if misses := r.KeysRequested - r.Hits; r.Sets > misses || r.Sets+uint64(w.Conns*w.Pipeline) < misses {
		t.Fatalf("sets %d for %d misses", r.Sets, misses)
	}
}

func TestDurationRounds(t *testing.T) {
	a, b := startServer(t, 16), startServer(t, 16)
	w := small()
	w.Ops = 0
	w.Duration = 400 * time.Millisecond
	w.Rounds = 2
	start := time.Now()
	rep, err := Run(context.Background(), Options{Workload: w, Targets: []Target{{Addr: a}, {Addr: b}}})
	if err != nil {
		t.Fatal(err)
	}
	if el := time.Since(start); el > 5*time.Second {
		t.Fatalf("two servers × 400ms took %v", el)
	}
	for _, r := range rep.Servers {
		if len(r.Rounds) != 2 || r.Seconds < 0.35 || r.Seconds > 2 || r.Ops == 0 {
			t.Fatalf("%s: %v s in rounds %+v", r.Name, r.Seconds, r.Rounds)
		}
	}
}

func TestIdleConnections(t *testing.T) {
	addr := startServer(t, 16)
	w := DefaultWorkload()
	w.IdleConns = 50
	w.IdleSettle = 10 * time.Millisecond
	rep, err := Run(context.Background(), Options{Workload: w, Targets: []Target{{Addr: addr}}})
	if err != nil {
		t.Fatal(err)
	}
	id := rep.Servers[0].Idle
	if id == nil || id.Conns != 50 || id.Wanted != 50 || id.RSSBefore <= 0 || id.RSSAfter <= 0 || id.Error != "" {
		t.Fatalf("idle result %+v", id)
	}
}

// The JSON report has the fields scripts and the BENCHMARKS.md renderer
// read, under stable names, and reads back into a Report.
func TestJSONShape(t *testing.T) {
	a, b := startServer(t, 16), startServer(t, 16)
	w := small()
	w.Rounds = 1
	w.Ops = 200
	rep, err := Run(context.Background(), Options{Workload: w, Tag: "shape", Command: "gocached bench",
		Targets: []Target{{Name: "gocached", Addr: a}, {Name: "memcached", Addr: b}}})
	if err != nil {
		t.Fatal(err)
	}
	raw, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{
		"tool", "tag", "command", "date", "machine.nproc", "machine.cpu",
		"workload.conns", "workload.pipeline", "workload.keys", "workload.dist", "workload.protocol", "workload.ops",
		"servers.0.name", "servers.0.addr", "servers.0.ops_per_sec", "servers.0.hit_ratio", "servers.0.errors",
		"servers.0.latency_us.p50", "servers.0.latency_us.p90", "servers.0.latency_us.p99", "servers.0.latency_us.p99_9",
		"servers.0.latency_us.max", "servers.0.server.cpu_us_per_op", "servers.0.server.rss_end", "servers.0.rounds.0.ops_per_sec",
		"servers.1.name", "ratios.ops_per_sec", "ratios.p99", "ratios.cpu_per_op",
	} {
		if _, ok := lookup(m, path); !ok {
			t.Errorf("JSON lacks %s", path)
		}
	}
	var back Report
	if err := json.Unmarshal(raw, &back); err != nil || back.Servers[1].Name != "memcached" || back.Workload.Ops != 200 {
		t.Fatalf("round trip: %v %+v", err, back.Workload)
	}
	// The plot of a real run is well-formed SVG (and PNG).
	dir := t.TempDir()
	for _, f := range []string{"p.svg", "p.png"} {
		if err := WritePlot(rep, filepath.Join(dir, f)); err != nil {
			t.Fatal(err)
		}
	}
	svg, _ := os.ReadFile(filepath.Join(dir, "p.svg"))
	if !strings.HasPrefix(string(svg), "<svg") || strings.Count(string(svg), "<polyline") != 2 || !strings.Contains(string(svg), "99%") {
		t.Fatalf("svg: %.300s", svg)
	}
	png, _ := os.ReadFile(filepath.Join(dir, "p.png"))
	if len(png) < 8 || string(png[1:4]) != "PNG" {
		t.Fatal("png has no PNG signature")
	}
}

func lookup(m any, path string) (any, bool) {
	cur := m
	for _, p := range strings.Split(path, ".") {
		switch c := cur.(type) {
		case map[string]any:
			v, ok := c[p]
			if !ok {
				return nil, false
			}
			cur = v
		case []any:
			var i int
			if _, err := fmt.Sscan(p, &i); err != nil || i >= len(c) {
				return nil, false
			}
			cur = c[i]
		default:
			return nil, false
		}
	}
	return cur, true
}

// A server that goes away mid-run costs errors, not a hang or a crash.
func TestServerGoneMidRun(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	// Answers the probe, then closes after the first request.
	go func() {
		for {
			nc, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer nc.Close()
				buf := make([]byte, 4096)
				n, _ := nc.Read(buf)
				if strings.HasPrefix(string(buf[:n]), "version") {
					nc.Write([]byte("VERSION 1.6.18\r\n"))
				}
				nc.Read(buf)
			}()
		}
	}()
	w := small()
	w.Ops = 0
	w.Duration = 300 * time.Millisecond
	w.Rounds = 1
	rep, err := Run(context.Background(), Options{Workload: w, Targets: []Target{{Addr: l.Addr().String(), PID: -1}}})
	if err != nil {
		t.Fatal(err)
	}
	r := rep.Servers[0]
	if r.ErrorCount == 0 || r.Errors["connection closed by server"] == 0 {
		t.Fatalf("errors %v", r.Errors)
	}
}
