package main

import (
	"fmt"
	"strconv"

	"github.com/gocached/gocached/server"
)

// The -o options of observability (gocached only), merged into
// extendedOptions: the Prometheus endpoint, latency histograms and hot
// keys. See README's Observability section.
var metricsOptions = map[string]extendedOption{
	"metrics_listen": {apply: func(c *server.Config, v string) error {
		if v == "" {
			return fmt.Errorf("wants ADDR:PORT")
		}
		c.MetricsListen = v
		c.Latency = true
		if c.HotKeySample == 0 {
			c.HotKeySample = server.DefaultHotKeySample
		}
		return nil
	}, help: "gocached: serve Prometheus /metrics on ADDR:PORT (off by default); turns on latency histograms and hot keys"},
	"latency": {apply: noValue(func(c *server.Config) { c.Latency = true }),
		help: "gocached: per-command latency histograms without metrics_listen (stats latency, gocached top)"},
	"latency_sample": {apply: intOpt(func(c *server.Config, n int) { c.LatencySample = n }),
		help: "gocached: time one batch of requests in N, each counted N times (default " + strconv.Itoa(server.DefaultLatencySample) + "; 1 = every batch)"},
	"hot_keys_sample": {apply: func(c *server.Config, v string) error {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return fmt.Errorf("bad value %q", v)
		}
		if n == 0 {
			n = -1 // off, even with a metrics_listen after it
		}
		c.HotKeySample = n
		return nil
	}, help: "gocached: hot keys (stats hotkeys): sample one request in N (default " + strconv.Itoa(server.DefaultHotKeySample) + " with metrics_listen; 0 = off)"},
}

func init() {
	for k, o := range metricsOptions {
		extendedOptions[k] = o
	}
}
