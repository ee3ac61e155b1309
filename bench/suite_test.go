package bench

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// writeReport stores a synthetic side-by-side report as make bench would.
func writeReport(t *testing.T, dir, tag string, g, m *Result) {
	t.Helper()
	rep := &Report{Tool: "gocached bench", Tag: tag, Command: "gocached bench --tag " + tag,
		Machine: Machine{NProc: 2, CPU: "Test CPU", Kernel: "6.0", Go: "go1.26"}, Workload: DefaultWorkload(),
		Servers: []*Result{g, m}}
	rep.Ratios = ratios(rep.Servers)
	b, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, tag+".json"), b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func res(name string, ops, p99 float64) *Result {
	return &Result{Name: name, OpsPerSec: ops, Ops: 1000, Latency: Latency{P99: p99, P999: 2 * p99},
		Server: ServerStats{CPUSeconds: 0.01, CPUPerOpUS: 10}}
}

func TestRenderSuite(t *testing.T) {
	dir := t.TempDir()
	writeReport(t, dir, "std-text", res("gocached", 120_000, 900), res("memcached", 100_000, 1000))
	mute := res("gocached", 0, 0)
	mute.Unsupported = "binary protocol probe failed: EOF"
	writeReport(t, dir, "std-binary", mute, res("memcached", 90_000, 1000))
	writeReport(t, dir, "mget50", res("gocached", 8_000, 900), res("memcached", 10_000, 1000))
	g, m := res("gocached", 0, 0), res("memcached", 0, 0)
	g.Prefill, m.Prefill = &Phase{Items: 1_000_000}, &Phase{Items: 1_000_000}
	g.Server.RSSStart, g.Server.RSSAfterPrefill = 10<<20, 10<<20+150_000_000
	m.Server.RSSStart, m.Server.RSSAfterPrefill = 5<<20, 5<<20+200_000_000
	writeReport(t, dir, "mem1m", g, m)
	gi, mi := res("gocached", 0, 0), res("memcached", 0, 0)
	gi.Idle = &Idle{Wanted: 10000, Conns: 10000, BytesPerConn: 5000}
	mi.Idle = &Idle{Wanted: 10000, Conns: 10000, BytesPerConn: 700}
	writeReport(t, dir, "idle", gi, mi)
	writeReport(t, dir, "gc", res("gocached-2GB", 1, 100), res("gocached-64MB", 1, 95))
	os.WriteFile(filepath.Join(dir, "gctrace-gocached-2GB.log"), []byte(
		"gc 1 @0.010s 1%: 0.020+1.5+0.40 ms clock, 0.04+0.1/0.2/0.3+0.8 ms cpu, 4->4->1 MB, 4 MB goal, 0 MB stacks, 0 MB globals, 2 P\n"+
			"gc 2 @1.010s 1%: 0.030+2.5+0.75 ms clock, 0.06+0.1/0.2/0.3+1.5 ms cpu, 4->4->1 MB, 4 MB goal, 0 MB stacks, 0 MB globals, 2 P\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "gctrace-gocached-64MB.log"), nil, 0o644)
	os.WriteFile(filepath.Join(dir, "memcslap-set-gocached.txt"), []byte("# memcslap --test=set\n"+
		"Time to set           16000 keys by    8 threads:     0.200 seconds.\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "memcslap-set-memcached.txt"), []byte("# memcslap --test=set\n"+
		"Time to set           16000 keys by    8 threads:     0.400 seconds.\n"), 0o644)
	// Runs add up: (300 + 300) ops in (4 + 4) s.
	os.WriteFile(filepath.Join(dir, "memcaslap-gocached-1.txt"), []byte("# memcaslap -t 4s\nRun time: 4.0s Ops: 300 TPS: 75 Net_rate: 1M/s\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "memcaslap-gocached-2.txt"), []byte("# memcaslap -t 4s\nRun time: 4.0s Ops: 300 TPS: 75 Net_rate: 1M/s\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "memcaslap-memcached-1.txt"), []byte("# memcaslap -t 4s\nRun time: 4.0s Ops: 400 TPS: 100 Net_rate: 1M/s\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "memcslap-get-gocached.txt"), []byte("# memcslap --test=get\nerror: connection refused\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "env.txt"), []byte("date: 2026-11-26 10:00 UTC\nservers: memcached 1.6.18 and gocached abc\ngc_resident: 2 GB\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "pprof-top.txt"), []byte("      flat  flat%\n 1s 50% syscall.Syscall6\n"), 0o644)

	sec, err := RenderSuite(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		MarkerBegin, MarkerEnd, "Test CPU, nproc 2", "Date: 2026-11-26 10:00 UTC",
		"| 90% get / 10% set, 100 B, 64 conns, uniform (text): throughput | 100.0k ops/s | 120.0k ops/s | 1.20 | ≥ 1.0× | met |",
		"| same: p99 latency | 1.00 ms | 900 µs | 0.90 | ≤ 1.0× | met |",
		"skipped: gocached: binary protocol probe failed: EOF",
		"| multi-get of 50 keys: throughput | 10.0k ops/s | 8.0k ops/s | 0.80 | ≥ 1.0× | **missed** |",
		"| 1.00M items of 100 B: resident memory per item | 200 B | 150 B | 0.75 | ≤ 0.8× | met |",
		"| 10000 idle connections: resident memory per connection | 700 B | 5000 B | 7.14 | ≤ 4 KB | **missed** |",
		"| gocached with 2 GB of items resident: p99.9 vs the same run at 64 MB (cells: gocached, not memcached) | 64MB: 190 µs | 2GB: 200 µs | 1.05 | ≤ 1.1× | met |",
		"| same: longest GC pause (stop-the-world, gctrace) | 64MB: no GC during the run | 2GB: 0.750 ms (2 GCs) | - | < 1 ms | met |",
		"| memcslap, sets: throughput | 40.0k ops/s | 80.0k ops/s | 2.00 | ≥ 1.0× | met |",
		"| memcaslap, 90/10 get/set: throughput (2 alternating runs each) | 100 ops/s | 75 ops/s | 0.75 | ≥ 1.0× | **missed** |",
		"| memcslap, gets | - | - | - | - | no result (gocached: memcslap-get-gocached.txt: no result in output; memcached: file does not exist) |",
		"not run (no kept64.json)",
		"- `std-text`: `gocached bench --tag std-text`",
		"syscall.Syscall6",
	} {
		if !strings.Contains(sec, want) {
			t.Errorf("section lacks %q", want)
		}
	}
	if t.Failed() {
		t.Log(sec)
	}
}

func TestReplaceSection(t *testing.T) {
	sec := MarkerBegin + "\nnew table\n" + MarkerEnd + "\n"
	doc := "# Benchmarks\n\n## Go benchmarks\n\nkeep me\n"
	once := replaceSection(doc, sec)
	if !strings.HasPrefix(once, doc) || !strings.HasSuffix(once, sec) {
		t.Fatalf("append: %q", once)
	}
	if twice := replaceSection(once, sec); twice != once {
		t.Fatalf("not idempotent:\n%q\n%q", once, twice)
	}
	old := doc + "\n<!-- bench:begin: an older marker -->\nold table\n" + MarkerEnd + "\n\n## After\n"
	got := replaceSection(old, sec)
	if strings.Contains(got, "old table") || !strings.Contains(got, "new table") || !strings.HasSuffix(got, "\n## After\n") || !strings.Contains(got, "keep me") {
		t.Fatalf("replace: %q", got)
	}
	f := filepath.Join(t.TempDir(), "B.md")
	os.WriteFile(f, []byte(old), 0o644)
	if err := ReplaceSection(f, sec); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(f)
	if string(b) != got {
		t.Fatalf("file: %q", b)
	}
}
