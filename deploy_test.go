package main

import (
	"encoding/json"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/gocached/gocached/internal/promtest"
	"github.com/gocached/gocached/internal/servertest"
	"github.com/gocached/gocached/server"
)

// metricName finds the metric names in a PromQL expression: ours and
// those of the Go and process collectors (label names, functions and
// label values never start so).
var metricName = regexp.MustCompile(`\b(?:memcached|gocached|go|process)_[a-zA-Z0-9_]+`)

// served are the metric families a gocached with every observability
// feature on serves at /metrics, after a little traffic.
func served(t *testing.T) map[string]bool {
	t.Helper()
	s := servertest.Start(t, func(c *server.Config) {
		c.MetricsListen, c.Latency, c.LatencySample, c.HotKeySample = "127.0.0.1:0", true, 1, 1
	})
	port := s.Addrs()[0].String()[strings.LastIndexByte(s.Addrs()[0].String(), ':')+1:]
	roundTrip(t, port, "set k 0 0 1\r\nx\r\nget k\r\n")
	fams := promtest.Scrape(t, "http://"+s.MetricsAddr().String()+"/metrics")
	names := map[string]bool{}
	for n := range fams {
		names[n] = true
	}
	return names
}

// exists: name is a family, or a histogram's or summary's series of one.
func exists(names map[string]bool, name string) bool {
	for _, suffix := range []string{"", "_bucket", "_count", "_sum"} {
		if base, ok := strings.CutSuffix(name, suffix); ok && names[base] {
			return true
		}
	}
	return false
}

// TestDeployMetricNames: every metric the alert rules and the Grafana
// dashboard in deploy/ use is served by /metrics, and each file has what
// it is for (the four alerts of issue 12; a panel per topic).
func TestDeployMetricNames(t *testing.T) {
	names := served(t)
	rules, err := os.ReadFile("deploy/prometheus-alerts.yml")
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Panels []struct {
			Title   string
			Targets []struct{ Expr string }
		}
	}
	raw, err := os.ReadFile("deploy/grafana-dashboard.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &dash); err != nil {
		t.Fatalf("grafana-dashboard.json: %v", err)
	}
	var dashExprs []string
	for _, p := range dash.Panels {
		for _, tg := range p.Targets {
			dashExprs = append(dashExprs, tg.Expr)
		}
	}
	cases := []struct {
		file     string
		text     string
		mustHave []string // alert names or panel titles
	}{
		{"prometheus-alerts.yml", yamlWithoutComments(string(rules)), []string{"alert: GocachedHitRatioDropped", "alert: GocachedEvictionsRising",
			"alert: GocachedConnectionsNearLimit", "alert: GocachedMemoryNearLimit"}},
		{"grafana-dashboard.json", strings.Join(dashExprs, "\n"), nil},
	}
	for _, c := range cases {
		used := metricName.FindAllString(c.text, -1)
		if len(used) < 5 {
			t.Errorf("%s: only %d metric names found", c.file, len(used))
		}
		for _, n := range used {
			if !exists(names, n) {
				t.Errorf("%s uses %s, which /metrics does not serve", c.file, n)
			}
		}
		for _, m := range c.mustHave {
			if !strings.Contains(c.text, m) {
				t.Errorf("%s lacks %q", c.file, m)
			}
		}
	}
	var titles []string
	for _, p := range dash.Panels {
		titles = append(titles, p.Title)
	}
	for _, want := range []string{"Get hit ratio", "Evictions per second", "Hot keys, last 10 s (gocached)", "Server-side latency p50 / p99 (gocached)"} {
		if !slices.Contains(titles, want) {
			t.Errorf("dashboard has no panel %q (has %v)", want, titles)
		}
	}
}

// yamlWithoutComments drops the comment lines, which may name things that
// are not metrics.
func yamlWithoutComments(s string) string {
	var keep []string
	for _, l := range strings.Split(s, "\n") {
		if !strings.HasPrefix(strings.TrimSpace(l), "#") {
			keep = append(keep, l)
		}
	}
	return strings.Join(keep, "\n")
}
