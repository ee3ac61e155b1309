package main

import (
	"strings"
	"testing"

	"github.com/gocached/gocached/server"
	"github.com/urfave/cli/v2"
)

// TestMetricsOptions: -o metrics_listen turns on latency and hot keys at
// their defaults; the other options change or switch them off in any order.
func TestMetricsOptions(t *testing.T) {
	cases := []struct {
		opts                 string
		listen               string
		latency              bool
		latSample, hotSample int
		wantErr              string
	}{
		{"", "", false, 0, 0, ""},
		{"metrics_listen=127.0.0.1:9150", "127.0.0.1:9150", true, 0, server.DefaultHotKeySample, ""},
		{"metrics_listen=:9150,hot_keys_sample=10", ":9150", true, 0, 10, ""},
		{"hot_keys_sample=0,metrics_listen=:9150", ":9150", true, 0, -1, ""},
		{"metrics_listen=:9150,hot_keys_sample=0", ":9150", true, 0, -1, ""},
		{"latency,latency_sample=1", "", true, 1, 0, ""},
		{"hot_keys_sample=50", "", false, 0, 50, ""},
		{"hot_keys_sample=-3", "", false, 0, 0, "bad value"},
		{"latency_sample=-1", "", true, 0, 0, "latency_sample must not be negative"},
		{"metrics_listen=", "", false, 0, 0, "wants ADDR:PORT"},
	}
	for _, tc := range cases {
		var cfg server.Config
		app := newApp()
		app.Action = func(c *cli.Context) error {
			var err error
			cfg, _, err = configFrom(c)
			return err
		}
		args := []string{"gocached"}
		if tc.opts != "" {
			args = append(args, "-o", tc.opts)
		}
		err := app.Run(args)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("%q: error %v, want %q", tc.opts, err, tc.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("%q: %v", tc.opts, err)
			continue
		}
		if cfg.MetricsListen != tc.listen || cfg.Latency != tc.latency || cfg.LatencySample != tc.latSample || cfg.HotKeySample != tc.hotSample {
			t.Errorf("%q: listen %q latency %v/%d hot %d, want %q %v/%d %d", tc.opts, cfg.MetricsListen, cfg.Latency,
				cfg.LatencySample, cfg.HotKeySample, tc.listen, tc.latency, tc.latSample, tc.hotSample)
		}
	}
}
