package main

import (
	"bufio"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/gocached/gocached/client"
	"github.com/urfave/cli/v2"
)

// ringCommand is `gocached ring`: where each key lives on a server list,
// as libmemcached (KETAMA_WEIGHTED), twemproxy (md5/ketama) and the Go
// client place it.
func ringCommand() *cli.Command {
	return &cli.Command{
		Name:      "ring",
		Usage:     "print the server each key maps to (libmemcached/twemproxy ketama ring)",
		ArgsUsage: "KEY... (or keys on standard input, one per line)",
		Description: "Prints KEY<TAB>host:port per key. The ring is libmemcached's\n" +
			"MEMCACHED_BEHAVIOR_KETAMA_WEIGHTED and twemproxy's `hash: md5, distribution: ketama`:\n" +
			"servers are hashed by the host:port strings exactly as given (the host alone on\n" +
			"port 11211), so give them as your clients do.",
		Flags: []cli.Flag{
			&cli.StringSliceFlag{Name: "servers", Required: true, Usage: "server list, `HOST:PORT[,HOST:PORT...]` in client order (repeatable)"},
			&cli.StringFlag{Name: "weights", Usage: "relative weights, `W[,W...]`, one per server (default all 1)"},
			&cli.StringFlag{Name: "distribution", Value: "ketama", Usage: "ketama, or modulo (gomemcache's crc32 % n)"},
		},
		Action: runRing,
	}
}

func runRing(c *cli.Context) error {
	var servers []string
	for _, s := range c.StringSlice("servers") {
		for _, a := range strings.Split(s, ",") {
			if a = strings.TrimSpace(a); a != "" {
				servers = append(servers, a)
			}
		}
	}
	if len(servers) == 0 {
		return errors.New("ring: --servers is empty")
	}
	nodes := make([]client.Node, len(servers))
	for i, s := range servers {
		nodes[i] = client.Node{Addr: s, Weight: 1}
	}
	if w := c.String("weights"); w != "" {
		ws := strings.Split(w, ",")
		if len(ws) != len(nodes) {
			return fmt.Errorf("ring: %d weights for %d servers", len(ws), len(nodes))
		}
		for i, s := range ws {
			n, err := strconv.Atoi(strings.TrimSpace(s))
			if err != nil || n <= 0 {
				return fmt.Errorf("ring: weight %q is not a positive integer", s)
			}
			nodes[i].Weight = n
		}
	}
	dist, err := client.ParseDistribution(c.String("distribution"))
	if err != nil {
		return fmt.Errorf("ring: %w", err)
	}
	picker := client.NewPicker(dist, nodes)
	out := bufio.NewWriter(c.App.Writer)
	defer out.Flush()
	print := func(key string) {
		fmt.Fprintf(out, "%s\t%s\n", key, nodes[picker.Pick(key)].Addr)
	}
	if c.NArg() > 0 {
		for _, k := range c.Args().Slice() {
			print(k)
		}
		return nil
	}
	sc := bufio.NewScanner(c.App.Reader)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		if k := strings.TrimRight(sc.Text(), "\r"); k != "" {
			print(k)
		}
	}
	return sc.Err()
}
