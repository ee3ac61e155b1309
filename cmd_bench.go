package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"

	"github.com/gocached/gocached/bench"
	"github.com/urfave/cli/v2"
)

// benchCommand is `gocached bench`: the load generator of package bench,
// and its helpers for `make bench` (report, freeport).
func benchCommand() *cli.Command {
	d := bench.DefaultWorkload()
	return &cli.Command{
		Name:      "bench",
		Usage:     "load a memcached-compatible server (or two, side by side) and report throughput, latency, CPU and memory",
		UsageText: "gocached bench [--server ADDR] [--compare ADDR] [workload flags]\n   gocached bench report --results DIR --file BENCHMARKS.md\n   gocached bench freeport [-n N]",
		Description: "Every connection is a goroutine that writes --pipeline requests at once, reads their\n" +
			"replies and records each reply's latency from that write. With --compare, the same\n" +
			"workload runs against both servers in alternating rounds (ABBA) and the table shows\n" +
			"server ÷ compare ratios. Server CPU time and RSS come from /proc/<pid> (the pid is\n" +
			"found from the listening port unless given).",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "server", Aliases: []string{"s"}, Value: "127.0.0.1:11211", Usage: "server `ADDR` (host:port)"},
			&cli.StringFlag{Name: "name", Usage: "label of --server in reports (default: its address)"},
			&cli.IntFlag{Name: "server-pid", Usage: "pid of --server for CPU and RSS (0: find the process listening on its port)"},
			&cli.StringFlag{Name: "compare", Usage: "second server `ADDR`: same workload, alternating rounds, ratios server ÷ compare"},
			&cli.StringFlag{Name: "compare-name", Usage: "label of --compare in reports"},
			&cli.IntFlag{Name: "compare-pid", Usage: "pid of --compare (0: find it from the port)"},
			&cli.StringFlag{Name: "protocol", Aliases: []string{"P"}, Value: d.Protocol, Usage: "text, meta or binary"},
			&cli.IntFlag{Name: "conns", Aliases: []string{"c"}, Value: d.Conns, Usage: "connections, one goroutine each"},
			&cli.IntFlag{Name: "pipeline", Value: d.Pipeline, Usage: "requests written together per connection before reading replies"},
			&cli.Uint64Flag{Name: "keys", Aliases: []string{"k"}, Value: d.Keys, Usage: "key space size"},
			&cli.StringFlag{Name: "key-prefix", Value: d.KeyPrefix, Usage: "keys are PREFIX + decimal index"},
			&cli.StringFlag{Name: "dist", Value: d.Dist, Usage: "key distribution: uniform, zipf[:S] or seq"},
			&cli.Float64Flag{Name: "zipf-s", Value: d.ZipfS, Usage: "Zipf exponent (any s > 0)"},
			&cli.StringFlag{Name: "value-size", Value: "100", Usage: "value bytes, `N` or MIN-MAX (fixed per key)"},
			&cli.StringFlag{Name: "ratio", Value: "9:1", Usage: "`GETS:SETS`, e.g. 9:1, 1:0 (gets only), 0:1 (sets only)"},
			&cli.IntFlag{Name: "multiget", Value: d.MultiGet, Usage: "keys per get request"},
			&cli.UintFlag{Name: "ttl", Usage: "expiry of sets, seconds (0: never)"},
			&cli.DurationFlag{Name: "duration", Aliases: []string{"t"}, Value: d.Duration, Usage: "measured time per server, split into --rounds"},
			&cli.Int64Flag{Name: "ops", Aliases: []string{"n"}, Usage: "requests per server instead of a duration"},
			&cli.IntFlag{Name: "rounds", DefaultText: "1, or 6 with --compare", Usage: "measurement rounds per server"},
			&cli.BoolFlag{Name: "prefill", Usage: "set every key of the key space once before measuring"},
			&cli.BoolFlag{Name: "prefill-only", Usage: "prefill, report memory, measure nothing"},
			&cli.BoolFlag{Name: "set-on-miss", Usage: "cache-aside: set every key a single get missed"},
			&cli.BoolFlag{Name: "verify", Usage: "check that every value returned is the one set for its key"},
			&cli.Uint64Flag{Name: "seed", Value: d.Seed, Usage: "random seed (both servers get the same request sequence)"},
			&cli.DurationFlag{Name: "timeout", Value: d.Timeout, Usage: "deadline for a batch of replies"},
			&cli.IntFlag{Name: "idle", Usage: "idle mode: open `N` connections, one probe each, and report server RSS per connection"},
			&cli.DurationFlag{Name: "idle-settle", Value: d.IdleSettle, Usage: "idle mode: wait before reading RSS"},
			&cli.BoolFlag{Name: "json", Usage: "print the report as JSON instead of a table"},
			&cli.StringFlag{Name: "out", Usage: "also write the JSON report to `FILE`"},
			&cli.StringFlag{Name: "plot", Usage: "write the latency distributions to `FILE`.svg (or .png)"},
			&cli.StringFlag{Name: "tag", Usage: "label recorded in the JSON report"},
			&cli.BoolFlag{Name: "tls", Usage: "connect with TLS (a server with -Z); implied by the other --tls-* flags"},
			&cli.StringFlag{Name: "tls-ca", Usage: "PEM `FILE` of the CAs that sign the server certificate (default: the system's)"},
			&cli.StringFlag{Name: "tls-cert", Usage: "client certificate chain, PEM `FILE` (for ssl_verify_mode 2 or 3)"},
			&cli.StringFlag{Name: "tls-key", Usage: "key of --tls-cert, PEM `FILE` (default: in the --tls-cert file)"},
			&cli.BoolFlag{Name: "tls-insecure", Usage: "do not verify the server certificate"},
		},
		Action: runBench,
		Subcommands: []*cli.Command{
			{
				Name:  "report",
				Usage: "rewrite the results section of BENCHMARKS.md from a directory of `make bench` results",
				Flags: []cli.Flag{
					&cli.StringFlag{Name: "results", Required: true, Usage: "`DIR` of *.json reports, memcslap/memcaslap outputs, gctrace logs, env.txt"},
					&cli.StringFlag{Name: "file", Value: "BENCHMARKS.md", Usage: "markdown `FILE` to update between its bench markers"},
					&cli.BoolFlag{Name: "stdout", Usage: "print the section instead of writing the file"},
				},
				Action: func(c *cli.Context) error {
					sec, err := bench.RenderSuite(c.String("results"))
					if err != nil {
						return err
					}
					if c.Bool("stdout") {
						_, err = io.WriteString(os.Stdout, sec)
						return err
					}
					return bench.ReplaceSection(c.String("file"), sec)
				},
			},
			hitRatioCommand(),
			{
				Name:  "freeport",
				Usage: "print free TCP ports on 127.0.0.1, one a line",
				Flags: []cli.Flag{&cli.IntFlag{Name: "n", Value: 1, Usage: "how many"}},
				Action: func(c *cli.Context) error {
					var ls []net.Listener
					defer func() {
						for _, l := range ls {
							l.Close()
						}
					}()
					for range c.Int("n") {
						l, err := net.Listen("tcp", "127.0.0.1:0")
						if err != nil {
							return err
						}
						ls = append(ls, l)
						fmt.Println(l.Addr().(*net.TCPAddr).Port)
					}
					return nil
				},
			},
		},
	}
}

// workloadFrom turns the flags into a bench.Workload.
func workloadFrom(c *cli.Context) (bench.Workload, error) {
	w := bench.DefaultWorkload()
	w.Protocol = c.String("protocol")
	w.Conns = c.Int("conns")
	w.Pipeline = c.Int("pipeline")
	w.Keys = c.Uint64("keys")
	w.KeyPrefix = c.String("key-prefix")
	w.Dist = c.String("dist")
	w.ZipfS = c.Float64("zipf-s")
	if name, arg, ok := strings.Cut(w.Dist, ":"); ok && name == "zipf" {
		s, err := strconv.ParseFloat(arg, 64)
		if err != nil {
			return w, fmt.Errorf("--dist %s: %v", w.Dist, err)
		}
		w.Dist, w.ZipfS = "zipf", s
	}
	var err error
	if w.ValueMin, w.ValueMax, err = bench.ParseSize(c.String("value-size")); err != nil {
		return w, err
	}
	if w.Gets, w.Sets, err = bench.ParseRatio(c.String("ratio")); err != nil {
		return w, err
	}
	w.MultiGet = c.Int("multiget")
	w.TTL = uint32(c.Uint("ttl"))
	w.Duration = c.Duration("duration")
	w.Ops = c.Int64("ops")
	if w.Ops > 0 {
		w.Duration = 0
	}
	w.Rounds = c.Int("rounds")
	if w.Rounds == 0 {
		w.Rounds = 1
		if c.String("compare") != "" {
			w.Rounds = 6
		}
	}
	w.Prefill = c.Bool("prefill") || c.Bool("prefill-only")
	if c.Bool("prefill-only") {
		w.Duration, w.Ops = 0, 0
	}
	w.SetOnMiss = c.Bool("set-on-miss")
	if w.SetOnMiss && w.MultiGet > 1 {
		return w, fmt.Errorf("--set-on-miss works with single-key gets only")
	}
	w.Verify = c.Bool("verify")
	w.Seed = c.Uint64("seed")
	w.Timeout = c.Duration("timeout")
	w.IdleConns = c.Int("idle")
	w.IdleSettle = c.Duration("idle-settle")
	return w, w.Validate()
}

func runBench(c *cli.Context) error {
	if c.Args().Len() > 0 {
		return fmt.Errorf("bench: unexpected argument %q (flags only; subcommands: report, freeport)", c.Args().First())
	}
	wl, err := workloadFrom(c)
	if err != nil {
		return err
	}
	tc, err := benchTLS(c)
	if err != nil {
		return err
	}
	opt := bench.Options{
		Workload: wl,
		Targets:  []bench.Target{{Name: c.String("name"), Addr: c.String("server"), PID: c.Int("server-pid"), TLS: tc}},
		Tag:      c.String("tag"),
		Command:  shellJoin(os.Args),
	}
	if a := c.String("compare"); a != "" {
		opt.Targets = append(opt.Targets, bench.Target{Name: c.String("compare-name"), Addr: a, PID: c.Int("compare-pid"), TLS: tc})
	}
	asJSON := c.Bool("json")
	// The live line goes where a person is looking: stdout, or stderr
	// when stdout carries JSON.
	if isTerminal(os.Stdout) && !asJSON {
		opt.Progress = os.Stdout
	} else if asJSON && isTerminal(os.Stderr) {
		opt.Progress = os.Stderr
	}
	ctx, stop := signal.NotifyContext(c.Context, os.Interrupt, syscall.SIGTERM)
	defer stop()
	rep, err := bench.Run(ctx, opt)
	if rep == nil {
		return err
	}
	if err != nil && err != context.Canceled {
		return err
	}
	if asJSON {
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			return err
		}
	} else {
		rep.Print(os.Stdout)
	}
	if f := c.String("out"); f != "" {
		b, err := json.MarshalIndent(rep, "", "  ")
		if err != nil {
			return err
		}
		if err := os.WriteFile(f, append(b, '\n'), 0o644); err != nil {
			return err
		}
	}
	if f := c.String("plot"); f != "" {
		if err := bench.WritePlot(rep, f); err != nil {
			return err
		}
	}
	if ctx.Err() != nil {
		return fmt.Errorf("interrupted: partial results")
	}
	return nil
}

// benchTLS is the client TLS config of the --tls* flags, nil without
// them. It is used for --server and --compare alike.
func benchTLS(c *cli.Context) (*tls.Config, error) {
	if !c.Bool("tls") && !c.IsSet("tls-ca") && !c.IsSet("tls-cert") && !c.IsSet("tls-key") && !c.Bool("tls-insecure") {
		return nil, nil
	}
	cfg := &tls.Config{InsecureSkipVerify: c.Bool("tls-insecure")}
	if f := c.String("tls-ca"); f != "" {
		pem, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("--tls-ca: %w", err)
		}
		cfg.RootCAs = x509.NewCertPool()
		if !cfg.RootCAs.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("--tls-ca %s: no PEM certificate in it", f)
		}
	}
	cert, key := c.String("tls-cert"), c.String("tls-key")
	if cert == "" && key != "" {
		return nil, fmt.Errorf("--tls-key needs --tls-cert")
	}
	if cert != "" {
		if key == "" {
			key = cert
		}
		pair, err := tls.LoadX509KeyPair(cert, key)
		if err != nil {
			return nil, fmt.Errorf("--tls-cert/--tls-key: %w", err)
		}
		cfg.Certificates = []tls.Certificate{pair}
	}
	return cfg, nil
}

func isTerminal(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// shellJoin quotes args the way a shell would need them.
func shellJoin(args []string) string {
	out := make([]string, len(args))
	for i, a := range args {
		if a == "" || strings.ContainsAny(a, " \t\"'$\\*?;&|<>()") {
			a = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
		out[i] = a
	}
	if len(out) > 0 {
		out[0] = "gocached"
	}
	return strings.Join(out, " ")
}
