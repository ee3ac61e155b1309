package server

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gocached/gocached/internal/promtest"
	dto "github.com/prometheus/client_model/go"
)

// observed is a test server with every observability feature on.
func observed(t testing.TB, sample int) *Server {
	return testServer(t, func(c *Config) {
		c.MetricsListen = "127.0.0.1:0"
		c.Latency = true
		c.LatencySample = 1 // every batch timed: exact counts
		c.HotKeySample = sample
	})
}

// scrape fetches /metrics and parses it with Prometheus's own text parser.
func scrape(t testing.TB, s *Server) map[string]*dto.MetricFamily {
	t.Helper()
	return promtest.Scrape(t, "http://"+s.MetricsAddr().String()+"/metrics")
}

// exporterMetrics is every metric memcached_exporter makes of memcached's
// stats, stats settings, stats items and stats slabs (extstore and proxy
// apart: gocached has neither), with its labels.
var exporterMetrics = map[string][]string{
	"memcached_up":                                  nil,
	"memcached_uptime_seconds":                      nil,
	"memcached_time_seconds":                        nil,
	"memcached_version":                             {"version"},
	"memcached_process_user_cpu_seconds_total":      nil,
	"memcached_process_system_cpu_seconds_total":    nil,
	"memcached_read_bytes_total":                    nil,
	"memcached_written_bytes_total":                 nil,
	"memcached_current_connections":                 nil,
	"memcached_max_connections":                     nil,
	"memcached_connections_total":                   nil,
	"memcached_connections_rejected_total":          nil,
	"memcached_connections_yielded_total":           nil,
	"memcached_connections_listener_disabled_total": nil,
	"memcached_current_bytes":                       nil,
	"memcached_limit_bytes":                         nil,
	"memcached_commands_total":                      {"command", "status"},
	"memcached_current_items":                       nil,
	"memcached_items_total":                         nil,
	"memcached_items_evicted_total":                 nil,
	"memcached_items_reclaimed_total":               nil,
	"memcached_item_too_large_total":                nil,
	"memcached_item_no_memory_total":                nil,
	"memcached_direct_reclaims_total":               nil,
	"memcached_lru_crawler_enabled":                 nil,
	"memcached_lru_crawler_sleep":                   nil,
	"memcached_lru_crawler_to_crawl":                nil,
	"memcached_lru_crawler_maintainer_thread":       nil,
	"memcached_lru_crawler_hot_percent":             nil,
	"memcached_lru_crawler_warm_percent":            nil,
	"memcached_lru_crawler_hot_max_factor":          nil,
	"memcached_lru_crawler_warm_max_factor":         nil,
	"memcached_lru_crawler_starts_total":            nil,
	"memcached_lru_crawler_reclaimed_total":         nil,
	"memcached_lru_crawler_items_checked_total":     nil,
	"memcached_lru_crawler_moves_to_cold_total":     nil,
	"memcached_lru_crawler_moves_to_warm_total":     nil,
	"memcached_lru_crawler_moves_within_lru_total":  nil,
	"memcached_malloced_bytes":                      nil,
	"memcached_accepting_connections":               nil,
	"memcached_slab_current_items":                  {"slab"},
	"memcached_slab_items_age_seconds":              {"slab"},
	"memcached_slab_items_crawler_reclaimed_total":  {"slab"},
	"memcached_slab_items_evicted_total":            {"slab"},
	"memcached_slab_items_evicted_nonzero_total":    {"slab"},
	"memcached_slab_items_evicted_time_seconds":     {"slab"},
	"memcached_slab_items_evicted_unfetched_total":  {"slab"},
	"memcached_slab_items_expired_unfetched_total":  {"slab"},
	"memcached_slab_items_outofmemory_total":        {"slab"},
	"memcached_slab_items_reclaimed_total":          {"slab"},
	"memcached_slab_items_tailrepairs_total":        {"slab"},
	"memcached_slab_items_moves_to_cold":            {"slab"},
	"memcached_slab_items_moves_to_warm":            {"slab"},
	"memcached_slab_items_moves_within_lru":         {"slab"},
	"memcached_slab_hot_items":                      {"slab"},
	"memcached_slab_warm_items":                     {"slab"},
	"memcached_slab_cold_items":                     {"slab"},
	"memcached_slab_temporary_items":                {"slab"},
	"memcached_slab_hot_age_seconds":                {"slab"},
	"memcached_slab_warm_age_seconds":               {"slab"},
	"memcached_slab_lru_hits_total":                 {"slab", "lru"},
	"memcached_slab_mem_requested_bytes":            {"slab"},
	"memcached_slab_commands_total":                 {"slab", "command", "status"},
	"memcached_slab_chunk_size_bytes":               {"slab"},
	"memcached_slab_chunks_per_page":                {"slab"},
	"memcached_slab_current_pages":                  {"slab"},
	"memcached_slab_current_chunks":                 {"slab"},
	"memcached_slab_chunks_used":                    {"slab"},
	"memcached_slab_chunks_free":                    {"slab"},
	"memcached_slab_chunks_free_end":                {"slab"},
}

// TestMetricsExporterNames: every memcached_exporter metric is in /metrics
// with exactly the exporter's labels, and gocached's own and the Go
// runtime's are there too.
func TestMetricsExporterNames(t *testing.T) {
	s := observed(t, 1)
	c := dial(t, s)
	c.reply("set a 0 0 1\r\nx\r\nget a\r\nget b\r\n")
	// A command's duration is recorded once its reply is written: the
	// client may scrape first.
	var fams map[string]*dto.MetricFamily
	waitFor(t, "command durations recorded", func() bool {
		fams = scrape(t, s)
		return fams["gocached_command_duration_seconds"] != nil
	})
	for name, labels := range exporterMetrics {
		f := fams[name]
		if f == nil || len(f.Metric) == 0 {
			t.Errorf("%s missing", name)
			continue
		}
		for _, m := range f.Metric {
			var got []string
			for _, l := range m.Label {
				got = append(got, l.GetName())
			}
			want := slices.Clone(labels)
			slices.Sort(got)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Errorf("%s has labels %v, want %v", name, got, want)
				break
			}
		}
	}
	for _, name := range []string{"gocached_command_duration_seconds", "gocached_hot_key_requests_per_second",
		"gocached_slab_memory_bytes", "gocached_connection_buffer_bytes", "go_goroutines", "go_gc_duration_seconds",
		"process_resident_memory_bytes"} {
		if fams[name] == nil {
			t.Errorf("%s missing", name)
		}
	}
	if f := fams["gocached_command_duration_seconds"]; f != nil && f.GetType() != dto.MetricType_HISTOGRAM {
		t.Errorf("gocached_command_duration_seconds is a %v", f.GetType())
	}
}

// TestMetricsCountersMove: each kind of traffic moves its counters by
// what it did.
func TestMetricsCountersMove(t *testing.T) {
	s := observed(t, 1)
	c := dial(t, s)
	c.reply("set seed 0 0 1\r\n5\r\n")
	cases := []struct {
		req    string
		metric string
		labels []string
		delta  float64
	}{
		{"get seed\r\n", "memcached_commands_total", []string{"command", "get", "status", "hit"}, 1},
		{"get nope nope2\r\n", "memcached_commands_total", []string{"command", "get", "status", "miss"}, 2},
		{"set k 0 0 2\r\nab\r\n", "memcached_commands_total", []string{"command", "set", "status", "hit"}, 1},
		{"incr seed 1\r\n", "memcached_commands_total", []string{"command", "incr", "status", "hit"}, 1},
		{"decr nope 1\r\n", "memcached_commands_total", []string{"command", "decr", "status", "miss"}, 1},
		{"delete seed\r\n", "memcached_commands_total", []string{"command", "delete", "status", "hit"}, 1},
		{"touch nope 0\r\n", "memcached_commands_total", []string{"command", "touch", "status", "miss"}, 1},
		{"set k2 0 0 1\r\nz\r\n", "memcached_items_total", nil, 1},
		{"get a b c\r\n", "gocached_command_duration_seconds", []string{"command", "get"}, 1},
		{"mg k v\r\nmg k v\r\n", "gocached_command_duration_seconds", []string{"command", "mg"}, 2},
		{"set k3 0 0 1\r\nz\r\n", "gocached_command_duration_seconds", []string{"command", "set"}, 1},
		{"version\r\n", "memcached_read_bytes_total", nil, float64(len("version\r\nmn\r\n"))},
	}
	for _, tc := range cases {
		before, _ := promtest.Value(scrape(t, s), tc.metric, tc.labels...)
		c.reply(tc.req)
		var after float64
		var ok bool
		waitFor(t, tc.req+" counted", func() bool { // (after its reply was written)
			after, ok = promtest.Value(scrape(t, s), tc.metric, tc.labels...)
			return ok && after-before >= tc.delta
		}, func() string {
			if !ok {
				return fmt.Sprintf("%s%v missing", tc.metric, tc.labels)
			}
			return fmt.Sprintf("%s moved by %v, want %v", tc.metric, after-before, tc.delta)
		})
		if after-before != tc.delta {
			t.Errorf("%q: %s%v moved by %v, want %v", tc.req, tc.metric, tc.labels, after-before, tc.delta)
		}
	}
	// New connections: the scrapes above are HTTP, not counted.
	before, _ := promtest.Value(scrape(t, s), "memcached_connections_total")
	dial(t, s).reply("version\r\n")
	if after, _ := promtest.Value(scrape(t, s), "memcached_connections_total"); after != before+1 {
		t.Errorf("connections_total went from %v to %v on one connection", before, after)
	}
}

// statsMap sends a stats command and returns its STAT lines by name.
func statsMap(t testing.TB, c *client, cmd string) map[string]string {
	t.Helper()
	out := c.reply(cmd + "\r\n")
	m := map[string]string{}
	for _, line := range strings.Split(strings.TrimSuffix(out, "END\r\n"), "\r\n") {
		if f := strings.SplitN(line, " ", 3); len(f) == 3 && f[0] == "STAT" {
			m[f[1]] = f[2]
		}
	}
	return m
}

// TestHotKeysEndToEnd: Zipf traffic over a million keys through a real
// connection, sampled one in 5, with one key planted at 1% of the
// requests: within 5 s the planted key is in the top 10 of `stats hotkeys`
// and in /metrics.
func TestHotKeysEndToEnd(t *testing.T) {
	s := observed(t, 5)
	c := dial(t, s)
	r := rand.New(rand.NewPCG(12, 12))
	z := rand.NewZipf(r, 1.01, 1, 1_000_000-1)
	start := time.Now()
	const lines, perLine = 2000, 50
	var b strings.Builder
	for i := 0; i < lines; i++ {
		b.WriteString("get")
		for j := 0; j < perLine; j++ {
			if r.IntN(100) == 0 {
				b.WriteString(" planted")
			} else {
				b.WriteString(" k" + strconv.FormatUint(z.Uint64(), 10))
			}
		}
		b.WriteString("\r\n")
		if i%100 == 99 {
			c.reply(b.String())
			b.Reset()
		}
	}
	hk := statsMap(t, c, "stats hotkeys")
	rank := 0
	for i := 1; i <= 10; i++ {
		if strings.HasPrefix(hk["10s:requests:"+strconv.Itoa(i)], "planted ") {
			rank = i
		}
	}
	if rank == 0 {
		t.Fatalf("planted key not in the 10 s top 10: %v", hk)
	}
	if el := time.Since(start); el > 5*time.Second {
		t.Errorf("found after %v, want within 5 s", el)
	}
	est, _ := strconv.Atoi(strings.Fields(hk["10s:requests:"+strconv.Itoa(rank)])[1])
	if est < 500 || est > 2000 { // 1% of 100 000 requests
		t.Errorf("planted key estimated at %d requests, want about 1000", est)
	}
	if hk["sample_rate"] != "5" {
		t.Errorf("sample_rate %q", hk["sample_rate"])
	}
	if _, ok := promtest.Value(scrape(t, s), "gocached_hot_key_requests_per_second", "window", "10s", "key", "planted"); !ok {
		t.Error("planted key not in /metrics")
	}
}

// TestStatsLatency: `stats latency` counts each command finished and
// gives ordered percentiles; both gocached-only stats say when they are off.
func TestStatsLatency(t *testing.T) {
	s := observed(t, 1)
	c := dial(t, s)
	for i := 0; i < 20; i++ {
		c.reply("set k 0 0 1\r\nx\r\nget k\r\n")
	}
	m := statsMap(t, c, "stats latency")
	if m["get:count"] != "20" || m["set:count"] != "20" {
		t.Errorf("counts: get %q set %q, want 20", m["get:count"], m["set:count"])
	}
	p50, err1 := strconv.ParseFloat(m["get:p50_us"], 64)
	p99, err2 := strconv.ParseFloat(m["get:p99_us"], 64)
	if err1 != nil || err2 != nil || p50 <= 0 || p99 < p50 {
		t.Errorf("get percentiles p50 %q p99 %q", m["get:p50_us"], m["get:p99_us"])
	}

	off := dial(t, testServer(t, nil))
	for cmd, want := range map[string]string{"stats latency": "STAT latency disabled\r\nEND\r\n", "stats hotkeys": "STAT hotkeys_status disabled\r\nEND\r\n"} {
		if got := off.reply(cmd + "\r\n"); got != want {
			t.Errorf("%s with the feature off: %q, want %q", cmd, got, want)
		}
	}
}

// TestLatencyQuantile checks the histogram's buckets and percentiles on
// known durations.
func TestLatencyQuantile(t *testing.T) {
	cases := []struct {
		name  string
		durNS []int64
		q     float64
		lo    float64 // the estimate is within [lo, hi] ns
		hi    float64
	}{
		{"one bucket", []int64{1500, 1500, 1500}, 0.5, 1200, 1500},
		{"p99 of a tail", append(slices.Repeat([]int64{20_000}, 99), 5_000_000), 0.99, 15_000, 20_000},
		{"p999 of a tail", append(slices.Repeat([]int64{20_000}, 990), slices.Repeat([]int64{5_000_000}, 10)...), 0.999, 4_000_000, 5_000_000},
		{"over a second", []int64{3e9}, 0.5, 1e9, 1e9},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			l := newLatencies()
			for i, d := range tc.durNS {
				l.add(int64(i), kindGet, d, 1)
			}
			snap := l.snapshot(kindGet)
			if snap.total != uint64(len(tc.durNS)) {
				t.Fatalf("count %d", snap.total)
			}
			if q := snap.quantile(tc.q); q < tc.lo || q > tc.hi {
				t.Errorf("q%.3f = %.0f ns, want in [%.0f, %.0f]", tc.q, q, tc.lo, tc.hi)
			}
		})
	}
}

// TestDisplayKey: keys that could break a STAT line or a label are quoted.
func TestDisplayKey(t *testing.T) {
	cases := map[string]string{
		"user:1":  "user:1",
		"a b":     `"a\x20b"`,
		"a\r\nb":  `"a\r\nb"`,
		"\xff":    `"\xff"`,
		`q"uote`:  `"q\"uote"`,
		"café":    `"caf\u00e9"`,
		"":        "",
		"k\x00ey": `"k\x00ey"`,
	}
	for in, want := range cases {
		if got := displayKey(in); got != want {
			t.Errorf("displayKey(%q) = %s, want %s", in, got, want)
		}
	}
}
