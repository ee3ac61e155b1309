//go:build interop

package interop

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gocached/gocached/internal/promtest"
	dto "github.com/prometheus/client_model/go"
)

// TestMemcachedExporter scrapes prometheus/memcached_exporter (v0.14.4,
// built by scripts/exporter.sh) pointed at memcached 1.6.18 and at
// gocached after the same traffic, and requires the same metric families
// with the same label names and, for the labelled families whose label
// values name commands or states, the same label values (slab class ids
// are not compared: which class an item lands in follows each daemon's
// item header size, see README's compatibility table). It
// then requires gocached's own /metrics (-o metrics_listen) to carry every
// family the exporter derives from gocached's stats, with the same labels,
// so that dashboards and alerts built on the exporter work on either.
func TestMemcachedExporter(t *testing.T) {
	exporter := os.Getenv("MEMCACHED_EXPORTER")
	if exporter == "" {
		t.Fatal("MEMCACHED_EXPORTER is not set (scripts/interop.sh builds it with scripts/exporter.sh)")
	}
	metricsPort, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	metricsAddr := net.JoinHostPort("127.0.0.1", strconv.Itoa(metricsPort))

	// memcached with its LRU maintainer (its default: the segmented LRU's
	// figures are exported only then), unlike the differential tests.
	mcb := memcachedBinary(t)
	mcb.extra = nil
	if os.Geteuid() == 0 {
		mcb.extra = []string{"-u", "root"}
	}
	mc := startServer(t, mcb, flagsDefault...)
	gc := startServer(t, candidateBinary(t), append(append([]string{}, flagsDefault...), "-o", "metrics_listen="+metricsAddr)...)
	for _, s := range []*server{mc, gc} {
		exporterTraffic(t, s)
	}

	want := scrapeExporter(t, exporter, mc)
	got := scrapeExporter(t, exporter, gc)
	if len(want) < 30 {
		t.Fatalf("exporter on memcached gave only %d families: %v", len(want), familyNames(want))
	}
	for _, name := range unionNames(want, got) {
		w, inW := want[name]
		g, inG := got[name]
		switch {
		case !inG:
			t.Errorf("%s: exported for memcached, not for gocached", name)
		case !inW:
			t.Errorf("%s: exported for gocached, not for memcached", name)
		default:
			if wl, gl := labelNames(w), labelNames(g); wl != gl {
				t.Errorf("%s: labels %s for memcached, %s for gocached", name, wl, gl)
			}
			if wv, gv := labelValues(w, "command", "status", "state"), labelValues(g, "command", "status", "state"); wv != gv {
				t.Errorf("%s: label values\nmemcached: %s\ngocached:  %s", name, wv, gv)
			}
		}
	}
	// Counters the traffic moved must have moved on gocached too.
	for _, c := range []struct{ family, command, status string }{
		{"memcached_commands_total", "get", "hit"},
		{"memcached_commands_total", "get", "miss"},
		{"memcached_commands_total", "set", "hit"},
		{"memcached_commands_total", "incr", "hit"},
		{"memcached_commands_total", "delete", "hit"},
		{"memcached_commands_total", "touch", "hit"},
	} {
		if v, _ := promtest.Value(got, c.family, "command", c.command, "status", c.status); v <= 0 {
			t.Errorf("gocached %s{command=%q,status=%q} = %v after traffic", c.family, c.command, c.status, v)
		}
	}

	// gocached's native endpoint: every family the exporter shows for it
	// (its own up/scrape figures aside), with the same label names.
	native := promtest.Scrape(t, "http://"+metricsAddr+"/metrics")
	for name, fam := range got {
		// The exporter's own figures: its up gauge, scrape counters and
		// the exporter process's Go, process and HTTP handler metrics.
		if name == "memcached_up" || !strings.HasPrefix(name, "memcached_") || strings.HasPrefix(name, "memcached_exporter_") {
			continue
		}
		n, ok := native[name]
		if !ok {
			t.Errorf("%s: exported by memcached_exporter, missing from gocached's /metrics", name)
			continue
		}
		if el, nl := labelNames(fam), labelNames(n); el != nl {
			t.Errorf("%s: labels %s from the exporter, %s from gocached's /metrics", name, el, nl)
		}
	}
	t.Logf("%d exporter families identical in names and labels; all present in gocached's /metrics", len(want))
}

// exporterTraffic stores items in a few slab classes and runs each command
// the exporter counts, with hits and misses.
func exporterTraffic(t *testing.T, s *server) {
	t.Helper()
	var b bytes.Buffer
	for i, n := range []int{10, 100, 1000, 10000, 100000} {
		fmt.Fprintf(&b, "set k%d 0 0 %d\r\n%s\r\n", i, n, strings.Repeat("v", n))
	}
	b.WriteString("get k0 k1 nope\r\nset n 0 0 1\r\n5\r\nincr n 1\r\ndecr n 1\r\nincr nope 1\r\n")
	b.WriteString("touch k1 100\r\ntouch nope 1\r\ndelete k2\r\ndelete nope\r\n")
	b.WriteString("gets k0\r\ncas k0 0 0 1 1\r\nx\r\nappend k1 0 0 1\r\nx\r\nflush_all 1000\r\nmn\r\n")
	c, err := net.DialTimeout("tcp", s.addr, 2*time.Second)
	if err != nil {
		t.Fatalf("%s: %v", s.name, err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.Write(b.Bytes()); err != nil {
		t.Fatalf("%s: write: %v", s.name, err)
	}
	r := bufio.NewReader(c)
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("%s: reading replies: %v", s.name, err)
		}
		if line == "MN\r\n" {
			return
		}
	}
}

// scrapeExporter runs the exporter against s, scrapes it once and stops it.
func scrapeExporter(t *testing.T, exporter string, s *server) map[string]*dto.MetricFamily {
	t.Helper()
	port, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	var out tailBuffer
	out.max = 16 << 10
	cmd := exec.Command(exporter, "--memcached.address="+s.addr, "--web.listen-address="+addr)
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	}()
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("exporter for %s not listening on %s: %v\n%s", s.name, addr, err, out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	fams := promtest.Scrape(t, "http://"+addr+"/metrics")
	if v, _ := promtest.Value(fams, "memcached_up"); v != 1 {
		t.Fatalf("exporter says memcached_up=%v for %s\n%s", v, s.name, out.String())
	}
	return fams
}

func unionNames(a, b map[string]*dto.MetricFamily) []string {
	seen := map[string]bool{}
	for n := range a {
		seen[n] = true
	}
	for n := range b {
		seen[n] = true
	}
	return sortedKeys(seen)
}

func familyNames(m map[string]*dto.MetricFamily) []string {
	seen := map[string]bool{}
	for n := range m {
		seen[n] = true
	}
	return sortedKeys(seen)
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// labelNames is the sorted set of label names over the family's samples.
func labelNames(f *dto.MetricFamily) string {
	seen := map[string]bool{}
	for _, m := range f.GetMetric() {
		for _, l := range m.GetLabel() {
			seen[l.GetName()] = true
		}
	}
	return strings.Join(sortedKeys(seen), ",")
}

// labelValues is the sorted set of the named labels' value tuples.
func labelValues(f *dto.MetricFamily, names ...string) string {
	want := map[string]bool{}
	for _, n := range names {
		want[n] = true
	}
	seen := map[string]bool{}
	for _, m := range f.GetMetric() {
		var parts []string
		for _, l := range m.GetLabel() {
			if want[l.GetName()] {
				parts = append(parts, l.GetName()+"="+l.GetValue())
			}
		}
		sort.Strings(parts)
		seen[strings.Join(parts, ",")] = true
	}
	return strings.Join(sortedKeys(seen), " ")
}
