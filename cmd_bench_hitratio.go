package main

import (
	"encoding/json"
	"fmt"
	"os"

	"github.com/gocached/gocached/bench"
	"github.com/urfave/cli/v2"
)

// hitRatioCommand is `gocached bench hitratio`: the cache-aside replay of
// bench.HitRatio against one server or two (the same sequence each).
func hitRatioCommand() *cli.Command {
	return &cli.Command{
		Name:  "hitratio",
		Usage: "cache-aside replay (get; set on a miss) of a seeded sequence on one connection: hit ratio of one server, or two side by side",
		Description: "Start each server fresh with the same -m: the replay fills it from empty. One connection, batches of\n" +
			"--batch gets then the misses' sets, so the figures depend on the seed and the servers' eviction only.",
		Flags: []cli.Flag{
			&cli.StringSliceFlag{Name: "server", Aliases: []string{"s"}, Required: true, Usage: "server `ADDR`; repeat to compare (ratios are first ÷ each other)"},
			&cli.IntFlag{Name: "requests", Aliases: []string{"n"}, Value: 10_000_000, Usage: "requests (gets)"},
			&cli.Uint64Flag{Name: "keys", Aliases: []string{"k"}, Value: 3_000_000, Usage: "key space of the Zipf part"},
			&cli.Float64Flag{Name: "zipf", Value: 0.9, Usage: "Zipf exponent of key popularity"},
			&cli.StringFlag{Name: "sizes", Value: "100", Usage: "value bytes with 14-byte keys, or etc: Facebook ETC key and value sizes"},
			&cli.Float64Flag{Name: "scan", Usage: "fraction of requests for one-hit-wonder keys"},
			&cli.Float64Flag{Name: "short-ttl", Usage: "fraction of the key space set with --ttl"},
			&cli.UintFlag{Name: "ttl", Value: 5, Usage: "the short TTL, seconds"},
			&cli.IntFlag{Name: "rate", Usage: "requests per second to pace to (with --short-ttl, so that TTLs pass; 0: flat out)"},
			&cli.IntFlag{Name: "batch", Value: 100, Usage: "gets written together"},
			&cli.IntFlag{Name: "max-value", Value: 500_000, Usage: "cap on ETC value sizes"},
			&cli.Uint64Flag{Name: "seed", Value: 1, Usage: "random seed"},
			&cli.BoolFlag{Name: "fill", Usage: "only set keys 0..requests-1 once each (with their --sizes), no gets: then read the server's curr_items"},
			&cli.BoolFlag{Name: "json", Usage: "print JSON"},
		},
		Action: func(c *cli.Context) error {
			h := bench.HitRatio{
				Requests: c.Int("requests"), Keys: c.Uint64("keys"), ZipfS: c.Float64("zipf"), Sizes: c.String("sizes"),
				Scan: c.Float64("scan"), ShortTTL: c.Float64("short-ttl"), TTL: uint32(c.Uint("ttl")), Rate: c.Int("rate"),
				Batch: c.Int("batch"), Seed: c.Uint64("seed"), MaxValue: c.Int("max-value"), Fill: c.Bool("fill"),
			}
			if err := h.Validate(); err != nil {
				return err
			}
			var results []bench.HitRatioResult
			for _, addr := range c.StringSlice("server") {
				r, err := bench.RunHitRatio(addr, h)
				if err != nil {
					return fmt.Errorf("%s: %w", addr, err)
				}
				results = append(results, r)
			}
			if c.Bool("json") {
				e := json.NewEncoder(os.Stdout)
				e.SetIndent("", "  ")
				return e.Encode(struct {
					Workload bench.HitRatio         `json:"workload"`
					Results  []bench.HitRatioResult `json:"results"`
				}{h, results})
			}
			for _, r := range results {
				line := fmt.Sprintf("%-22s hit %.4f  miss %.4f  gets %d  refused sets %d  %.1fs",
					r.Server, r.HitRatio, r.MissRatio(), r.Gets, r.Errors, r.Took.Seconds())
				if r != results[0] && r.MissRatio() > 0 {
					line += fmt.Sprintf("  (first's miss ratio ÷ this: %.3f)", results[0].MissRatio()/r.MissRatio())
				}
				fmt.Println(line)
			}
			return nil
		},
	}
}
